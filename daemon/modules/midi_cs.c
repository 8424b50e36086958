/* midi_cs.c - live MIDI routed to Csound instruments: midi.route /
 * midi.unroute {to: "csound"} and their part of midi.routes and status.
 * Control thread.
 *
 * Each route owns a voice pool of the Csound module (cs_pool_open): its
 * slots are reserved here, and the audio thread starts and stops synths
 * for the route's notes itself, sample-exact in the block that carried
 * them (engine.c hands the block's MIDI to csound_rt_midi before Csound
 * renders).  Nothing of a note passes through this thread; what is left
 * here is the table of routes, the counters, and the report of refused
 * notes (every voice busy). */
#include "daemon/modules/midi_cs.h"

#include <string.h>

#include "daemon/backend/backend.h"
#include "daemon/modules/csound_ctl.h"
#include "daemon/engine/engine_ctl.h"
#include "daemon/net/events.h"
#include "daemon/base/log.h"
#include "daemon/net/reply.h"
#include "daemon/session/session.h"
#include "protocol/errors.h"
#include "protocol/wire.h"

#define MAX_CS_ROUTES 16
#define CS_NAME 64
#define REPORT_NS 1000000000ull   /* refused notes: one event a second at most */

typedef struct cs_route {
  char instr[CS_NAME], note[CS_NAME], vel[CS_NAME];   /* "" = not passed */
  int32_t channel;                                    /* -1: all */
  unsigned voices;
  int pool;
} cs_route;

static cs_route csr[MAX_CS_ROUTES];
static unsigned ncsr;
/* Counters of pools already closed, so status never goes backwards. */
static uint64_t gone_dropped, gone_failed;
static uint64_t dropped_reported, last_report_ns;

/* A string argument copied into buf; "" when absent and optional. */
static bool arg_name(request *r, const char *key, bool required, char *buf) {
  const char *s = NULL;
  size_t len = 0;

  buf[0] = '\0';
  if (!arg_str(r, key, required, &s, &len))
    return false;
  if (s == NULL)
    return true;
  if (len == 0 || len >= CS_NAME || memchr(s, '\0', len) != NULL) {
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE, "%s: '%s' must be 1 to %d bytes", r->op,
                key, CS_NAME - 1);
    return false;
  }
  memcpy(buf, s, len);
  buf[len] = '\0';
  return true;
}

static int find_route(const char *instr) {
  unsigned i;

  for (i = 0; i < ncsr; i++)
    if (strcmp(csr[i].instr, instr) == 0)
      return (int)i;
  return -1;
}

static int open_pool(const cs_route *cr, int *pool, cs_error *err) {
  return cs_pool_open(csound_ctl_engine(), cr->instr, cr->note[0] ? cr->note : NULL,
                      cr->vel[0] ? cr->vel : NULL, cr->channel, cr->voices, pool, err);
}

/* Keeps the pool's counters, then lets it go: its sounding voices stop at
 * the audio thread's next block, the slots come back after their ends. */
static void close_pool(int pool) {
  cs_engine *eng = csound_ctl_engine();
  cs_pool_stats st;

  if (cs_pool_stats_get(eng, pool, &st) == 0) {
    gone_dropped += st.dropped;
    gone_failed += st.failed;
  }
  (void)cs_pool_close(eng, pool);
}

/* The reply waits for the audio thread: {frame}, the block from which the
 * new table is in force. */
static void reply_synced(request *r) {
  rt_cmd cmd;

  memset(&cmd, 0, sizeof cmd);
  cmd.type = RT_CMD_SYNC;
  cmd.at_kind = RT_AT_NOW;
  engine_ctl_send(r, &cmd);
}

/* Makes the route nr, replacing the instrument's route if it has one:
 * checks it against the instrument's definition and opens its pool (a
 * refusal leaves the old route as it was).  0, or an error code of
 * protocol/errors.h with the reason in msg. */
static const char *route_make(cs_route *nr, char *msg, size_t len) {
  cs_engine *eng = csound_ctl_engine();
  cs_error err;
  int i, pool, rc;

  if (eng == NULL) {
    snprintf(msg, len, "Csound is not running in this daemon");
    return SONO_E_NOT_SUPPORTED;
  }
  if (nr->channel < -1 || nr->channel > 15) {
    snprintf(msg, len, "'channel' must be from 0 to 15 (omitted: all)");
    return SONO_E_BAD_VALUE;
  }
  if (nr->voices < 1 || nr->voices > CS_POOL_MAX_VOICES) {
    snprintf(msg, len, "'voices' must be 1 to %d", CS_POOL_MAX_VOICES);
    return SONO_E_BAD_VALUE;
  }
  if (!cs_instr_exists(eng, nr->instr)) {
    snprintf(msg, len, "no instrument '%s'", nr->instr);
    return SONO_E_UNKNOWN_INSTR;
  }
  if ((nr->note[0] && !cs_instr_has_param(eng, nr->instr, nr->note)) ||
      (nr->vel[0] && !cs_instr_has_param(eng, nr->instr, nr->vel))) {
    snprintf(msg, len, "instrument '%s' has no parameter '%s'", nr->instr,
             nr->note[0] && !cs_instr_has_param(eng, nr->instr, nr->note) ? nr->note : nr->vel);
    return SONO_E_UNKNOWN_PARAM;
  }
  /* One route per instrument: routing it again replaces it. */
  i = find_route(nr->instr);
  if (i < 0 && ncsr == MAX_CS_ROUTES) {
    snprintf(msg, len, "at most %u Csound routes", MAX_CS_ROUTES);
    return SONO_E_LIMIT;
  }
  /* The new pool first: a refusal leaves the old route as it was. */
  if ((rc = open_pool(nr, &pool, &err)) != 0) {
    snprintf(msg, len, "no voices for '%s': %s", nr->instr, err.msg);
    return rc == CS_EAGAIN || rc == CS_ELIMIT ? SONO_E_LIMIT : SONO_E_INTERNAL;
  }
  nr->pool = pool;
  if (i < 0)
    i = (int)ncsr++;
  else
    close_pool(csr[i].pool);
  csr[i] = *nr;
  return NULL;
}

void midi_cs_route(request *r, int64_t channel) {
  cs_route nr;
  uint64_t voices = CS_POOL_VOICES;
  const char *code;
  char msg[600];

  memset(&nr, 0, sizeof nr);
  if (!arg_name(r, "instr", true, nr.instr) || !arg_name(r, "note", false, nr.note) ||
      !arg_name(r, "velocity", false, nr.vel) || !arg_uint(r, "voices", false, &voices))
    return;
  nr.channel = channel < -1 || channel > 15 ? 16 : (int32_t)channel;
  nr.voices = voices > CS_POOL_MAX_VOICES ? 0 : (unsigned)voices;
  if ((code = route_make(&nr, msg, sizeof msg)) != NULL) {
    reply_error(r->c, true, r->id, code, "midi.route: %s", msg);
    return;
  }
  session_changed(r->d);
  reply_synced(r);
}

int midi_cs_restore(const char *instr, const char *note, const char *vel, int channel,
                    unsigned voices, char *msg, size_t len) {
  cs_route nr;

  memset(&nr, 0, sizeof nr);
  if (strlen(instr) >= CS_NAME || (note != NULL && strlen(note) >= CS_NAME) ||
      (vel != NULL && strlen(vel) >= CS_NAME)) {
    snprintf(msg, len, "names must be 1 to %d bytes", CS_NAME - 1);
    return -1;
  }
  snprintf(nr.instr, sizeof nr.instr, "%s", instr);
  snprintf(nr.note, sizeof nr.note, "%s", note != NULL ? note : "");
  snprintf(nr.vel, sizeof nr.vel, "%s", vel != NULL ? vel : "");
  nr.channel = channel;
  nr.voices = voices;
  return route_make(&nr, msg, len) == NULL ? 0 : -1;
}

void midi_cs_clear(void) {
  while (ncsr > 0)
    close_pool(csr[--ncsr].pool);
}

void midi_cs_unroute(request *r) {
  char instr[CS_NAME];
  int i;

  if (!arg_name(r, "instr", true, instr))
    return;
  if ((i = find_route(instr)) < 0) {
    reply_error(r->c, true, r->id, SONO_E_NOT_CONNECTED,
                "midi.unroute: instrument '%s' has no route", instr);
    return;
  }
  close_pool(csr[i].pool);
  csr[i] = csr[--ncsr];
  session_changed(r->d);
  reply_synced(r);
}

/* A redefinition may move or drop parameters and change the priority: the
 * route gets a pool built from the new template (the old one's sounding
 * voices stop).  If that fails the route goes, said in the log and as a
 * backend event. */
void midi_cs_instr_defined(sonod *d, const char *name) {
  cs_engine *eng = csound_ctl_engine();
  cs_error err;
  char msg[2300];
  int i = find_route(name), pool;

  if (i < 0 || eng == NULL)
    return;
  close_pool(csr[i].pool);
  if ((csr[i].note[0] && !cs_instr_has_param(eng, name, csr[i].note)) ||
      (csr[i].vel[0] && !cs_instr_has_param(eng, name, csr[i].vel))) {
    snprintf(err.msg, sizeof err.msg, "the new definition lacks parameter '%s' or '%s'",
             csr[i].note, csr[i].vel);
  } else if (open_pool(&csr[i], &pool, &err) == 0) {
    csr[i].pool = pool;
    return;
  }
  snprintf(msg, sizeof msg, "midi: route to Csound instrument '%s' removed: %s", name, err.msg);
  log_warn("%s", msg);
  backend_event(d, d->be != NULL ? d->be->state : "running", msg);
  csr[i] = csr[--ncsr];
}

unsigned midi_cs_count(void) {
  return ncsr;
}

void midi_cs_pack_route(msgpack_packer *pk, unsigned i) {
  const cs_route *cr = &csr[i];

  msgpack_pack_map(pk, 6);
  sono_pack_key_str(pk, "to", "csound");
  sono_pack_key_str(pk, "instr", cr->instr);
  sono_pack_cstr(pk, "note");
  if (cr->note[0])
    sono_pack_cstr(pk, cr->note);
  else
    msgpack_pack_nil(pk);
  sono_pack_cstr(pk, "velocity");
  if (cr->vel[0])
    sono_pack_cstr(pk, cr->vel);
  else
    msgpack_pack_nil(pk);
  sono_pack_cstr(pk, "channel");
  if (cr->channel < 0)
    msgpack_pack_nil(pk);
  else
    msgpack_pack_uint32(pk, (uint32_t)cr->channel);
  sono_pack_key_uint(pk, "voices", cr->voices);
}

/* Totals over every route there ever was. */
static void totals(uint64_t *dropped, uint64_t *failed, uint64_t *sounding) {
  cs_engine *eng = csound_ctl_engine();
  cs_pool_stats st;
  unsigned i;

  *dropped = gone_dropped;
  *failed = gone_failed;
  *sounding = 0;
  for (i = 0; eng != NULL && i < ncsr; i++)
    if (cs_pool_stats_get(eng, csr[i].pool, &st) == 0) {
      *dropped += st.dropped;
      *failed += st.failed;
      *sounding += st.sounding;
    }
}

void midi_cs_pack_stats(msgpack_packer *pk) {
  uint64_t dropped, failed, sounding;

  totals(&dropped, &failed, &sounding);
  msgpack_pack_map(pk, 3);
  sono_pack_key_uint(pk, "dropped", dropped);
  sono_pack_key_uint(pk, "failed", failed);
  sono_pack_key_uint(pk, "sounding", sounding);
}

void midi_cs_tick(sonod *d) {
  uint64_t dropped, failed, sounding, now;
  char msg[200];

  totals(&dropped, &failed, &sounding);
  now = sonod_now_ns();
  if (dropped == dropped_reported || now - last_report_ns < REPORT_NS)
    return;
  snprintf(msg, sizeof msg,
           "midi: %llu note-ons for Csound refused, every voice of their route busy (%llu in "
           "all; raise midi.route's 'voices')",
           (unsigned long long)(dropped - dropped_reported), (unsigned long long)dropped);
  log_warn("%s", msg);
  backend_event(d, d->be != NULL ? d->be->state : "running", msg);
  dropped_reported = dropped;
  last_report_ns = now;
}
