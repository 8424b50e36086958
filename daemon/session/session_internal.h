/* session_internal.h - what the files of daemon/session/ share; nothing
 * outside this folder includes it.  Control thread only, except
 * session_write_atomic (also on the thread pool). */
#ifndef SONOD_SESSION_INTERNAL_H
#define SONOD_SESSION_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/session/section.h"
#include "daemon/session/session.h"

/* session_file.c: the registered sections, and the file itself. */
unsigned session_nsections(void);
const session_section *session_section_at(unsigned i);
/* The whole file for the session as it is now, in a malloc'd buffer (the
 * sections' gathered data as it is: session_pack_now gathers first), to
 * be written at path (session_saving_path while the sections pack). */
char *session_file_pack(sonod *d, const char *path, size_t *len);
/* Checks a whole file's bytes and parses every section: one staged form
 * per registered section (session_staged_free frees them), or NULL with
 * the reason in err. */
void **session_file_parse(const char *buf, size_t len, char *err, size_t errlen);
void session_staged_free(void **staged);

/* session_io.c: reading and writing files. */
/* Reads path whole; NULL with the reason and errno set (ENOENT: absent). */
char *session_read_whole(const char *path, size_t *len, char *err, size_t errlen);
/* Removes the temporary files of saves of `name` in dir that a kill left
 * behind (regular files named as write_atomic names them).  Returns how
 * many. */
unsigned session_clean_temps(const char *dir, const char *name);
/* At shutdown: every section gathers, waiting here (bounded), then the
 * file is packed. */
char *session_pack_now(sonod *d, const char *path, size_t *len);
/* Writes buf to path now, on this thread, as the newest autosave.  -1 with
 * the reason in msg. */
int session_write_now(const char *path, const char *buf, size_t len, char *msg, size_t msglen);

/* session_autosave.c: whether the session changed since the last save. */
void session_set_dirty(bool dirty);

/* session_restore.c: the staged restore. */
/* Starts restoring path at start-up; false when there is nothing to
 * restore (absent, or corrupt and moved aside).  ready runs at its end. */
bool session_restore_start(sonod *d, const char *path, session_ready_cb ready);
/* Shutdown: the restore being applied, if any, is dropped (true). */
bool session_restore_abandon(void);

#endif
