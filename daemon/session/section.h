/* section.h - how a control-side module keeps its part of the session file.
 *
 * The session file's payload is one map with a key per section
 * (protocol/STATE.md).  A module describes its section in one
 * session_section (daemon/modules/plugin_state.c, csound_state.c, ...) and
 * main registers it at start-up (session_register), the way it registers
 * engine modules: the session layer then writes, reads and restores the
 * section through these pointers and names no module.  A new module (LV2
 * plugins, an isolated plugin host) adds a section without editing
 * daemon/session/.
 *
 * A load parses every section into its staged form before anything is
 * touched (a bad file changes nothing), then runs the restore: the steps of
 * all sections, one at a time, in ascending rank.  A step may be
 * asynchronous (plugins load on the thread pool, Csound merges a compile
 * per k-cycle): the next step starts once it called session_step_done.
 * Sections learn of each other's results through named tallies (a plugin's
 * saved node id -> the id it has now, for the graph and the MIDI routes),
 * which are also what the load reports.
 *
 * Control thread only. */
#ifndef SONOD_SESSION_SECTION_H
#define SONOD_SESSION_SECTION_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/base/sonod.h"

/* One save gathering what its sections need (session_section.gather). */
typedef struct session_gather session_gather;

/* One restore in progress (state.load, or the start-up restore). */
typedef struct session_restore session_restore;

typedef struct session_step {
  /* When: the steps of all sections run in ascending rank (ties: in the
   * order the sections were registered).  ARCHITECTURE.md, "Session
   * state", lists the ranks in use. */
  int rank;
  /* Applies this stage of the section's staged form.  Must call
   * session_step_done(j) exactly once, before returning or later from a
   * callback (a thread-pool completion, session_poll). */
  void (*run)(session_restore *j, void *staged);
} session_step;

/* Something a restore counts: the items of a kind restored, and for items
 * that get new ids, each one's saved id and the id it has now. */
typedef struct session_tally {
  const char *name;       /* the load's reply key; how steps name it */
  const char *id_key;     /* the reply lists {saved, <id_key>: now} per item; NULL: a count */
  int reply_rank;         /* the reply's keys are in this order; < 0: not in the reply */
  const char *label;      /* the summary's "N of M <label>"; NULL: not in the summary */
  unsigned (*total)(const void *staged);   /* M: how many the file has */
} session_tally;

typedef struct session_section {
  const char *key;        /* its key in the payload map */
  /* Writes the section's value (one msgpack object) from the live session,
   * on the loop: it must call no code that may hang (see gather). */
  void (*pack)(sonod *d, msgpack_packer *pk);
  /* Optional.  Before every save, gets what pack needs from code that may
   * hang (a plugin's state: on the plugin-call thread, with its deadline)
   * and keeps it where pack finds it; then calls session_gather_done(g)
   * once, on the loop, before returning or later (and once more for each
   * session_gather_hold).  An item that did not
   * answer in time is named with session_gather_late (the save still
   * happens, and its reply lists the item); pack writes it with what it
   * had.  now: the loop is ending (the save at shutdown): gather waits
   * here, bounded by the deadline, and is done before it returns. */
  void (*gather)(sonod *d, session_gather *g, bool now);
  /* Checks and reads the section's value (o NULL when the key is absent)
   * into a staged form in *staged (always one, also for nil).  -1 with the
   * reason in err; whatever was set in *staged is then freed with free. */
  int (*parse)(const msgpack_object *o, void **staged, char *err, size_t errlen);
  void (*free)(void *staged);
  const session_step *steps;
  unsigned nsteps;
  /* In the order the summary lists them. */
  const session_tally *tallies;
  unsigned ntallies;
} session_section;

#define SESSION_SECTIONS_MAX 16

/* Adds s (static storage) after the sections registered before: the payload
 * and the summary follow this order.  -1 when SESSION_SECTIONS_MAX are
 * registered already.  Before session_start. */
int session_register(const session_section *s);

/* ---- during a save ---- */

/* One more thing gathered off the loop: a session_gather_done each. */
void session_gather_hold(session_gather *g);
void session_gather_done(session_gather *g);
/* Item `id` (a plugin node) did not answer within its deadline. */
void session_gather_late(session_gather *g, uint32_t id);

/* ---- during a restore ---- */

sonod *session_sonod(const session_restore *j);
/* The step is over; the next one runs (from here, or once run returned). */
void session_step_done(session_restore *j);
/* Something was not restored: the reason joins the load's error. */
void session_failed(session_restore *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* One more item restored under tally `name` (of a registered section). */
void session_count(session_restore *j, const char *name);
/* The same for an item whose saved id is now `now`. */
void session_count_id(session_restore *j, const char *name, int64_t saved, int64_t now);
/* The id the item saved as `saved` under tally `name` has now: false when
 * it was not restored (or not yet). */
bool session_id_now(const session_restore *j, const char *name, int64_t saved, int64_t *now);
/* Calls fn(j, staged of the running step) every ms milliseconds from the
 * loop until session_poll_stop; one poll per restore at a time.  fn must
 * not touch j after a shutdown (d->stopping): the restore is freed then. */
typedef void (*session_poll_fn)(session_restore *j, void *staged);
void session_poll(session_restore *j, unsigned ms, session_poll_fn fn);
void session_poll_stop(session_restore *j);

/* ---- reading a section (err, errlen as given to parse) ---- */

/* Formats the reason into err; returns -1. */
int session_bad(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A msgpack string without NULs as a malloc'd C string; NULL otherwise. */
char *session_str(const msgpack_object *o);
/* nil or absent: true with *out left NULL; a string: true with a copy. */
bool session_opt_str(const msgpack_object *o, char **out);
bool session_num(const msgpack_object *o, double *v);
/* An integer in lo..hi. */
bool session_int(const msgpack_object *o, int64_t lo, int64_t hi, int64_t *v);
const msgpack_object_array *session_array(const msgpack_object *o);
bool session_is_map(const msgpack_object *o);
/* calloc of n (at least 1) elements; aborts when out of memory. */
void *session_calloc(size_t n, size_t size);

/* key: bin data. */
void session_pack_bin(msgpack_packer *pk, const char *key, const void *data, size_t len);
/* While a section packs: the session file it is written for (files that
 * belong to the session go beside it). */
const char *session_saving_path(void);

#endif
