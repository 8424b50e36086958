/* cs_room.c - a Csound request waits for room in the queue to the audio
 * thread instead of being refused.
 *
 * Csound ops are answered once their commands are queued, not applied, so
 * a client's window of unanswered requests does not bound what it has in
 * the queue: a burst of synth.set from one client, or one late cycle under
 * a steady stream, filled the 8 192-command ring and the next requests got
 * queue_full while the audio thread was running.  Now a request is admitted
 * only when the ring has room for everything it may queue; otherwise its
 * frame is kept first in line, the client is held (read no further, like a
 * request handled off the loop), and a timer handles it again once the
 * audio thread has made room.  Requests keep their order; the client's
 * socket buffers and then its own writes carry the back-pressure, so a
 * waiting client costs the daemon one frame.  Nobody is refused for a full
 * queue while the audio thread runs.  When it stands still (the offline
 * backend between renders, a stopped JACK server) for CS_ROOM_STALL_MS, the
 * request runs anyway and meets the full queue: queue_full, as before. */
#include "daemon/ops/cs_room.h"

#include <string.h>
#include <uv.h>

#include "daemon/base/log.h"
#include "daemon/modules/csound_ctl.h"
#include "daemon/net/client.h"
#include "protocol/wire.h"

#define CS_ROOM_TICK_MS 2
#define CS_ROOM_STALL_MS 1000

static uv_timer_t timer;
static bool timer_ready, ticking;
/* A wait ran out with the engine at stalled_pos: until it moves on, no
 * request waits (each would wait its second in turn, for nothing). */
static bool stalled;
static uint64_t stalled_pos;

/* Commands one op may queue: a start and its timed stop, and one per
 * argument of synth.set. */
static unsigned op_need(const msgpack_object *args) {
  const msgpack_object *a = args != NULL ? sono_map_get(args, "args") : NULL;

  return 2 + (a != NULL && a->type == MSGPACK_OBJECT_MAP ? a->via.map.size : 0);
}

unsigned cs_room_need(const request *r) {
  const msgpack_object *ops;
  unsigned need = 0;
  uint32_t i;

  if (strcmp(r->op, "bundle") != 0)
    return op_need(r->args);
  ops = sono_map_get(r->args, "ops");
  if (ops == NULL || ops->type != MSGPACK_OBJECT_ARRAY)
    return 0;   /* refused before anything is queued */
  for (i = 0; i < ops->via.array.size; i++) {
    const msgpack_object *m = &ops->via.array.ptr[i];
    need += op_need(m->type == MSGPACK_OBJECT_MAP ? m : NULL);
  }
  return need;
}

static void on_tick(uv_timer_t *t) {
  sonod *d = t->data;
  cs_engine *eng = csound_ctl_engine();
  uint64_t now = uv_now(d->loop), pos = eng != NULL ? cs_engine_frame(eng) : 0;
  client *c, *next;
  bool waiting = false;

  /* Oldest connections first: the list is newest first, so walk it to
   * the end and come back (a client resumed may close, so take prev
   * before handling it). */
  for (c = d->clients; c != NULL && c->next != NULL; c = c->next)
    ;
  for (; c != NULL; c = next) {
    next = c->prev;
    if (!c->room_wait || c->closing)
      continue;
    if (pos != c->room_mark) {
      c->room_mark = pos;
      c->room_mark_ns = now;
    }
    if (eng != NULL && cs_engine_cmd_space(eng) < c->room_need && now - c->room_mark_ns < CS_ROOM_STALL_MS) {
      waiting = true;
      continue;
    }
    c->room_expired = eng == NULL || cs_engine_cmd_space(eng) < c->room_need;
    if (c->room_expired) {
      stalled = true;
      stalled_pos = pos;
      log_warn("csound: the audio thread took no command for %u ms; requests that do not fit "
               "its full queue are refused (queue_full) until it runs again", CS_ROOM_STALL_MS);
    }
    c->room_wait = false;
    client_resume(c);   /* may wait again, and be counted next tick */
    waiting = waiting || c->room_wait;
  }
  if (!waiting) {
    uv_timer_stop(t);
    ticking = false;
  }
}

bool cs_room_admit(request *r, cs_engine *eng) {
  client *c = r->c;
  unsigned need = cs_room_need(r);
  size_t cap = cs_engine_cmd_capacity(eng);

  if (c->room_expired) {   /* its turn came without room: run and be refused */
    c->room_expired = false;
    return true;
  }
  /* A request bigger than half the ring could wait for ever behind a
   * steady stream: it runs now, and is refused in part if the ring fills. */
  if (need > cap / 2 || cs_engine_cmd_space(eng) >= need)
    return true;
  if (stalled && cs_engine_frame(eng) == stalled_pos)
    return true;   /* the engine stands still: refused at once */
  stalled = false;
  if (!timer_ready) {
    uv_timer_init(r->d->loop, &timer);
    uv_unref((uv_handle_t *)&timer);   /* never keeps the loop alive alone */
    timer.data = r->d;
    timer_ready = true;
  }
  if (client_retry_later(c, r->payload, r->len) != 0)
    return true;   /* out of memory: run it, queue_full tells the client */
  c->room_wait = true;
  c->room_need = need;
  c->room_mark = cs_engine_frame(eng);
  c->room_mark_ns = uv_now(r->d->loop);
  if (!ticking) {
    uv_timer_start(&timer, on_tick, CS_ROOM_TICK_MS, CS_ROOM_TICK_MS);
    ticking = true;
  }
  return false;
}

void cs_room_shutdown(void) {
  if (timer_ready) {
    uv_timer_stop(&timer);
    uv_close((uv_handle_t *)&timer, NULL);
    timer_ready = ticking = false;
  }
}
