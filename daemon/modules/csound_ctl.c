/* csound_ctl.c - the live Csound engine in the daemon (control side).
 * See csound_ctl.h; the audio side is rt/csound_rt.c. */
#include "daemon/modules/csound_ctl.h"

#include "daemon/engine/module.h"

#include <csound/csound.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/backend/backend.h"
#include "daemon/net/events.h"
#include "daemon/base/log.h"
#include "daemon/rt/csound_rt.h"
#include "protocol/wire.h"

#define SCRATCH_MIN 4096

static cs_engine *the_eng;
static atomic_uint working;   /* compiles running on workers */

void csound_ctl_work_begin(void) {
  atomic_fetch_add(&working, 1);
}

void csound_ctl_work_end(void) {
  atomic_fetch_sub(&working, 1);
}
static rt_csound the_rt;
static uint64_t odd_reported, large_reported, exits_reported, over_reported;
static uint64_t spread_reported, spread_events_reported;

cs_engine *csound_ctl_engine(void) {
  return the_eng;
}

/* n zeroed buffers of frames floats, or NULL. */
static float **buffers(unsigned n, unsigned frames) {
  float **b = calloc(n ? n : 1, sizeof(float *));
  unsigned i;

  if (b == NULL)
    return NULL;
  for (i = 0; i < n; i++)
    if ((b[i] = calloc(frames, sizeof(float))) == NULL)
      return NULL;   /* the daemon exits: no cleanup */
  return b;
}

static void buffers_free(float **b, unsigned n) {
  unsigned i;

  if (b == NULL)
    return;
  for (i = 0; i < n; i++)
    free(b[i]);
  free(b);
}

static int backend_hold(void *be) {
  return ((backend *)be)->ops->hold(be);
}

static void backend_release(void *be) {
  ((backend *)be)->ops->release(be);
}

int csound_ctl_start(sonod *d, char *err, size_t errlen) {
  cs_config cfg;
  cs_error cerr;
  unsigned ksmps = d->opt.ksmps ? d->opt.ksmps : 32;
  unsigned block = d->be->block_size, cap;
  bool jack = strcmp(d->be->ops->name, "jack") == 0;

  if (block % ksmps != 0 && !jack) {
    unsigned k = ksmps;

    while (block % k != 0)
      k--;
    snprintf(err, errlen,
             "--ksmps %u does not divide the block size %u: choose sizes where it does (e.g. "
             "--ksmps %u, or --block-size %u) so that Csound's k-cycles line up with the blocks",
             ksmps, block, k, (block / ksmps + 1) * ksmps);
    return -1;
  }
  if (block % ksmps != 0)
    log_warn("csound: the block of %u frames is not a multiple of --ksmps %u: Csound renders "
             "through a FIFO, up to %u frames ahead of the engine (requests timed inside that "
             "window are late; its audio input is silent past a block's end)",
             block, ksmps, ksmps - 1);
  memset(&cfg, 0, sizeof cfg);
  cfg.sr = d->be->sample_rate;
  cfg.ksmps = ksmps;
  cfg.nchnls = d->opt.channels;
  /* spin/inch read the backend's inputs (JACK in_1..in_N). */
  cfg.nchnls_i = d->opt.inputs;
  /* Compiles merge in the next k-cycle.  The offline backend runs none
   * while idle: there the engine is held and compiles merge at once
   * (cs_config.hold), and waiting for a cycle would only stall the control
   * thread. */
  cfg.compile_wait_ms = strcmp(d->be->ops->name, "offline") == 0 ? 1 : 1000;
  if (d->be->ops->hold != NULL) {
    cfg.hold = backend_hold;
    cfg.release = backend_release;
    cfg.hold_ctx = d->be;
  }
  cfg.confined = !d->opt.csound_unsafe;
  cs_config_defaults(&cfg);
  if (cs_engine_create(&cfg, &the_eng, &cerr) != 0) {
    snprintf(err, errlen, "csound: %s", cerr.msg);
    return -1;
  }
  /* JACK may grow its period up to 8192 frames while we run. */
  cap = jack && block < 8192 ? 8192 : block > SCRATCH_MIN ? block : SCRATCH_MIN;
  cap = (cap + ksmps - 1) / ksmps * ksmps;
  the_rt.eng = the_eng;
  the_rt.ksmps = ksmps;
  the_rt.nch = d->opt.channels;
  the_rt.cap = cap;
  if ((the_rt.scratch = buffers(the_rt.nch, cap)) == NULL) {
    snprintf(err, errlen, "csound: out of memory");
    return -1;
  }
  d->eng.csound = &the_rt;
  log_info("csound: live engine at %u Hz, ksmps %u, %u channels", d->be->sample_rate, ksmps,
           d->opt.channels);
  return 0;
}

uint64_t csound_ctl_now(sonod *d) {
  uint64_t now = cs_engine_frame(the_eng);
  uint64_t stand = atomic_load_explicit(&d->eng.stand, memory_order_acquire);

  return stand > now ? stand : now;
}

static void synth_event(sonod *d, const cs_notice *n) {
  msgpack_sbuffer sb;
  msgpack_packer pk;

  if (n->kind == CS_NOTICE_STARTED) {
    events_begin(&sb, &pk, "synth.started", 2);
  } else {
    events_begin(&sb, &pk, "synth.ended", 3);
    sono_pack_key_str(&pk, "reason", n->kind == CS_NOTICE_ENDED ? "ended"
                                     : n->code == 1                ? "cancelled"
                                                                   : "init_failed");
  }
  sono_pack_key_uint(&pk, "synth", n->id);
  sono_pack_key_uint(&pk, "frame", n->frame);
  events_emit(d, EV_SYNTH, &sb);
}

static void message_event(sonod *d, const char *line, int attr) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  int type = attr & CSOUNDMSG_TYPE_MASK;
  const char *level = type == CSOUNDMSG_ERROR     ? "error"
                      : type == CSOUNDMSG_WARNING ? "warning"
                                                  : "info";

  if (type == CSOUNDMSG_ERROR)
    log_warn("csound: %s", line);
  else
    log_debug("csound: %s", line);
  events_begin(&sb, &pk, "csound.message", 2);
  sono_pack_key_str(&pk, "level", level);
  sono_pack_key_str(&pk, "text", line);
  events_emit(d, EV_CSOUND, &sb);
}

/* Orchestra code stopped Csound (exitnow, csoundDie, an "e" event) and the
 * engine carried on (daemon/csound/cs_guard_rt.c): the log and a
 * csound.exit event say so, once per poll however many came. */
static void exits_poll(sonod *d) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  int kind = 0;
  uint64_t n = cs_engine_exits(the_eng, &kind);
  const char *reason = kind == CS_EXIT_JUMP ? "exit" : "score_end";

  if (n == exits_reported)
    return;
  log_warn("csound: orchestra code stopped Csound (%s: %s), %llu time(s) in all; the live "
           "engine carried on", reason,
           kind == CS_EXIT_JUMP ? "exitnow, or an opcode's fatal error" : "an \"e\" event",
           (unsigned long long)n);
  events_begin(&sb, &pk, "csound.exit", 3);
  sono_pack_key_str(&pk, "reason", reason);
  sono_pack_key_uint(&pk, "count", n - exits_reported);
  sono_pack_key_uint(&pk, "total", n);
  events_emit(d, EV_CSOUND, &sb);
  exits_reported = n;
}

/* k-cycles in which more than 32 score events fell due (a big chord): all
 * were given to Csound then, none late or dropped, but Csound's cost for
 * them grows with their square: the log and a csound.score_over event say
 * so, once per poll. */
static void score_over_poll(sonod *d) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  uint64_t events = 0, n = cs_engine_score_over(the_eng, &events);

  if (n == over_reported)
    return;
  log_warn("csound: %llu k-cycle(s) had more than 32 score events due at once (%llu beyond "
           "32 in all): all were started on time, but Csound's cost grows with their square "
           "and may overrun the audio period", (unsigned long long)n, (unsigned long long)events);
  events_begin(&sb, &pk, "csound.score_over", 3);
  sono_pack_key_uint(&pk, "count", n - over_reported);
  sono_pack_key_uint(&pk, "total", n);
  sono_pack_key_uint(&pk, "events", events);
  events_emit(d, EV_CSOUND, &sb);
  over_reported = n;
}

/* Score events of requests with `spread` that started in a later k-cycle
 * than asked (their own had its bound of starts already, ksmps / 16): one
 * csound.score_spread event per poll says how many and by how much, so no
 * client is left believing a note sounded where it asked. */
static void score_spread_poll(sonod *d) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  uint64_t events = 0, n = cs_engine_score_spread(the_eng, &events);

  if (n == spread_reported)
    return;
  events_begin(&sb, &pk, "csound.score_spread", 4);
  sono_pack_key_uint(&pk, "count", n - spread_reported);
  sono_pack_key_uint(&pk, "total", n);
  sono_pack_key_uint(&pk, "events", events - spread_events_reported);
  sono_pack_key_uint(&pk, "max_delay", cs_engine_score_spread_max_take(the_eng));
  events_emit(d, EV_CSOUND, &sb);
  spread_reported = n;
  spread_events_reported = events;
}

void csound_ctl_poll(sonod *d) {
  cs_notice n;
  char line[1024];
  int attr = 0;
  uint64_t odd, large;

  if (the_eng == NULL)
    return;
  while (cs_notice_pop(the_eng, &n))
    if (n.kind == CS_NOTICE_STARTED || n.kind == CS_NOTICE_ENDED || n.kind == CS_NOTICE_FAILED)
      synth_event(d, &n);
  while (cs_message_pop(the_eng, line, sizeof line, &attr)) {
    size_t len = strlen(line);

    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
      line[--len] = '\0';
    if (len > 0)
      message_event(d, line, attr);
  }
  odd = atomic_load_explicit(&the_rt.odd_blocks, memory_order_acquire);
  if (odd != 0 && odd_reported == 0) {
    char msg[256];

    snprintf(msg, sizeof msg,
             "csound: a block of %u frames is not a multiple of ksmps %u; Csound renders "
             "through a FIFO, up to %u frames ahead of the engine",
             atomic_load_explicit(&the_rt.odd_size, memory_order_relaxed), the_rt.ksmps,
             the_rt.ksmps - 1);
    log_info("%s", msg);
    backend_event(d, d->be != NULL ? d->be->state : "running", msg);
    odd_reported = odd;
  }
  exits_poll(d);
  score_over_poll(d);
  score_spread_poll(d);
  large = atomic_load_explicit(&the_rt.too_large, memory_order_acquire);
  if (large != large_reported) {
    log_error("csound: %llu blocks larger than %u frames left Csound silent",
              (unsigned long long)large, the_rt.cap);
    large_reported = large;
  }
}

static void csound_ctl_shutdown(sonod *d) {
  static const struct timespec ms = { 0, 1000000 };

  if (the_eng == NULL)
    return;
  /* A parse in a worker uses the engine: it ends by itself. */
  while (atomic_load(&working) > 0)
    nanosleep(&ms, NULL);
  csound_ctl_poll(d);
  d->eng.csound = NULL;
  cs_engine_destroy(the_eng);
  the_eng = NULL;
  buffers_free(the_rt.scratch, the_rt.nch);
  the_rt.scratch = NULL;
}

/* Csound's notices and messages drained on every wake-up; the engine
 * destroyed once the audio thread has stopped. */
const engine_module csound_ctl_module = {
  .name = "csound",
  .poll = csound_ctl_poll,
  .shutdown = csound_ctl_shutdown,
};
