/* schedule.h - what each client has scheduled on the audio thread: the
 * control thread's record of timed requests (an `at` ahead, or a
 * `delay`), for each client's share of the audio thread's queue and for
 * schedule.list / schedule.cancel.  Control thread only. */
#ifndef SONOD_ENGINE_SCHEDULE_H
#define SONOD_ENGINE_SCHEDULE_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/base/sonod.h"
#include "daemon/net/client.h"
#include "daemon/rt/cmd.h"

/* Timed requests one client may have waiting at once: a quarter of the
 * audio thread's queue (ENGINE_TIMED_CAPACITY), so one client cannot take
 * it all. */
#define SCHEDULE_SHARE 1024u

int schedule_init(void);
void schedule_free(void);

/* Whether c may schedule one more timed request. */
bool schedule_has_room(sonod *d, client *c);
/* A timed command is being sent for request (c, req_id, op).  at: its
 * frame (RT_AT_ABS), or where a delay is expected to land. */
void schedule_add(sonod *d, client *c, const rt_cmd *cmd, const char *op);
/* The audio thread's answer about a timed command: an error means it
 * never waited, so it is forgotten. */
void schedule_answered(sonod *d, const rt_msg *m);
/* Forgets what has become due (its frame passed). */
void schedule_expire(sonod *d);
/* schedule.list's entries for c: [{id, op, at}] in time order. */
void schedule_pack(sonod *d, client *c, msgpack_packer *pk);
/* Forgets c's request req_id (or all of c's when all); returns how many. */
unsigned schedule_forget(sonod *d, client *c, uint64_t req_id, bool all);

#endif
