/* session.h - the session file (protocol/STATE.md): what state.save writes,
 * state.load and the start-up restore read back, the autosave to the state
 * directory.  The sections in it belong to the modules (section.h); this
 * is what main and the ops use.
 * Control thread only; files are written on the libuv thread pool. */
#ifndef SONOD_SESSION_H
#define SONOD_SESSION_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/base/sonod.h"

/* The autosave file inside the state directory. */
#define SESSION_FILE "session.sonod"

/* After the backend started, before the loop runs: resolves the state
 * directory ($STATE_DIRECTORY, else --state-dir), arms the autosave, and
 * unless --no-restore starts restoring session.sonod from it, the same way
 * as state.load (in stages on the loop).  ready runs once the restore is
 * over, at once when there is nothing to restore, never when a shutdown
 * came first.  A corrupt file is logged and renamed aside; sonod then
 * starts empty.  Never fails. */
typedef void (*session_ready_cb)(sonod *d);
void session_start(sonod *d, session_ready_cb ready);
/* Orderly shutdown, before the backend stops: saves synchronously when
 * autosave is on and the session changed since the last save -- unless a
 * load is half applied, which is abandoned and not saved. */
void session_shutdown(sonod *d);

/* Something that belongs to the session changed: autosave in 2 s unless
 * another change comes first.  Ignored while a load is being applied. */
void session_changed(sonod *d);

/* The autosave file's path; "" when autosave is off. */
const char *session_autosave_path(void);
/* The file a load is applying, or NULL when none is. */
const char *session_loading(void);

/* Who asked for a save or a load, handed back to its callback. */
typedef struct session_asker {
  uint32_t client;
  uint64_t req_id;
} session_asker;

/* Saves the session to path: first the sections that call code which may
 * hang gather what they need off the loop (section.h, gather; saves take
 * their turns at that), then the file is packed on the loop and written on
 * the thread pool.  done (NULL: nobody to tell) runs once the file is in
 * place (err NULL) or not (err the reason); late lists the plugin nodes
 * that did not answer within their deadline, nlate of them (saved with
 * what they last told, or by their path alone).  Saving to the autosave
 * file is an autosave, ordered with the others.  -1 when the save cannot
 * start.  Not while a load is applied. */
typedef void (*session_saved_cb)(sonod *d, session_asker who, const char *path, size_t bytes,
                                 const uint32_t *late, unsigned nlate, const char *err);
int session_save(sonod *d, const char *path, session_asker who, session_saved_cb done);

/* A load's outcome, for its callback. */
typedef struct session_restore session_restore;
const char *session_path(const session_restore *j);
/* What failed, "; "-separated, or NULL when everything was restored. */
const char *session_failures(const session_restore *j);
/* "restored N of M plugins, ...". */
void session_summary(const session_restore *j, char *out, size_t len);
/* The reply's map: every tally with reply_rank >= 0, in that order. */
void session_pack_ids(const session_restore *j, msgpack_packer *pk);

#define SESSION_E_FILE (-1)   /* the file cannot be read: err says why */
#define SESSION_E_BAD (-2)    /* not a good state file: err says why; nothing changed */
#define SESSION_E_BUSY (-3)   /* a load is being applied already */

/* Reads and checks path whole, then applies it in stages on the loop;
 * done runs once the last stage is over, then the load counts as one
 * change.  0, or a SESSION_E_* code with the reason in err. */
typedef void (*session_loaded_cb)(sonod *d, session_asker who, const session_restore *j);
int session_load(sonod *d, const char *path, session_asker who, session_loaded_cb done,
                 char *err, size_t errlen);

#endif
