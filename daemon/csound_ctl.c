/* csound_ctl.c - the live Csound engine in the daemon (control side).
 * See csound_ctl.h; the audio side is rt/csound_rt.c. */
#include "daemon/csound_ctl.h"

#include <csound/csound.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/backend.h"
#include "daemon/events.h"
#include "daemon/log.h"
#include "daemon/rt/csound_rt.h"
#include "protocol/wire.h"

#define SCRATCH_MIN 4096

static cs_engine *the_eng;
static rt_csound the_rt;
static uint64_t bad_reported;

cs_engine *csound_ctl_engine(void) {
  return the_eng;
}

int csound_ctl_start(sonod *d, char *err, size_t errlen) {
  cs_config cfg;
  cs_error cerr;
  unsigned ksmps = d->opt.ksmps ? d->opt.ksmps : 32;
  unsigned block = d->be->block_size, cap, ch;
  bool jack = strcmp(d->be->ops->name, "jack") == 0;

  if (block % ksmps != 0) {
    if (!jack) {
      unsigned k = ksmps;

      while (block % k != 0)
        k--;
      snprintf(err, errlen,
               "--ksmps %u does not divide the block size %u: Csound renders whole k-cycles of "
               "ksmps frames, so every block must be a multiple of it (use e.g. --ksmps %u, "
               "or --block-size %u)",
               ksmps, block, k, (block / ksmps + 1) * ksmps);
      return -1;
    }
    log_warn("csound: JACK's block of %u frames is not a multiple of --ksmps %u: Csound stays "
             "silent in such blocks (restart JACK with another buffer size or sonod with "
             "another --ksmps)", block, ksmps);
  }
  memset(&cfg, 0, sizeof cfg);
  cfg.sr = d->be->sample_rate;
  cfg.ksmps = ksmps;
  cfg.nchnls = d->opt.channels;
  /* spin/inch read the backend's inputs (JACK in_1..in_N). */
  cfg.nchnls_i = d->opt.inputs;
  /* Compiles merge in the next k-cycle.  The offline backend runs none
   * while idle, so waiting there would only stall the control thread. */
  cfg.compile_wait_ms = strcmp(d->be->ops->name, "offline") == 0 ? 1 : 1000;
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
  the_rt.scratch = calloc(the_rt.nch ? the_rt.nch : 1, sizeof(float *));
  if (the_rt.scratch == NULL) {
    snprintf(err, errlen, "csound: out of memory");
    return -1;
  }
  for (ch = 0; ch < the_rt.nch; ch++)
    if ((the_rt.scratch[ch] = calloc(cap, sizeof(float))) == NULL) {
      snprintf(err, errlen, "csound: out of memory");
      return -1;
    }
  d->eng.csound = &the_rt;
  log_info("csound: live engine at %u Hz, ksmps %u, %u channels", d->be->sample_rate, ksmps,
           d->opt.channels);
  return 0;
}

uint64_t csound_ctl_now(sonod *d) {
  (void)d;
  return cs_engine_frame(the_eng) + atomic_load_explicit(&the_rt.lag, memory_order_acquire);
}

uint64_t csound_ctl_to_cs(sonod *d, uint64_t engine_frame) {
  uint64_t lag = atomic_load_explicit(&the_rt.lag, memory_order_acquire);

  (void)d;
  return engine_frame > lag ? engine_frame - lag : 0;
}

static void synth_event(sonod *d, const cs_notice *n) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  uint64_t lag = atomic_load_explicit(&the_rt.lag, memory_order_relaxed);

  if (n->kind == CS_NOTICE_STARTED) {
    events_begin(&sb, &pk, "synth.started", 2);
  } else {
    events_begin(&sb, &pk, "synth.ended", 3);
    sono_pack_key_str(&pk, "reason", n->kind == CS_NOTICE_ENDED ? "ended"
                                     : n->code == 1                ? "cancelled"
                                                                   : "init_failed");
  }
  sono_pack_key_uint(&pk, "synth", n->id);
  sono_pack_key_uint(&pk, "frame", n->frame + lag);
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

void csound_ctl_poll(sonod *d) {
  cs_notice n;
  char line[1024];
  int attr = 0;
  uint64_t bad;

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
  bad = atomic_load_explicit(&the_rt.bad_blocks, memory_order_acquire);
  if (bad != bad_reported && (bad_reported == 0 || bad - bad_reported >= 1000)) {
    char msg[256];

    snprintf(msg, sizeof msg,
             "csound: a block of %u frames is not a multiple of ksmps %u; Csound was silent in "
             "%llu such blocks and its clock is %llu frames behind the engine's",
             atomic_load_explicit(&the_rt.bad_size, memory_order_relaxed), the_rt.ksmps,
             (unsigned long long)bad,
             (unsigned long long)atomic_load_explicit(&the_rt.lag, memory_order_relaxed));
    log_warn("%s", msg);
    events_backend(d, d->be != NULL ? d->be->state : "running", msg);
    bad_reported = bad;
  }
}

void csound_ctl_shutdown(sonod *d) {
  unsigned ch;

  if (the_eng == NULL)
    return;
  csound_ctl_poll(d);
  d->eng.csound = NULL;
  cs_engine_destroy(the_eng);
  the_eng = NULL;
  for (ch = 0; ch < the_rt.nch; ch++)
    free(the_rt.scratch[ch]);
  free(the_rt.scratch);
  the_rt.scratch = NULL;
}
