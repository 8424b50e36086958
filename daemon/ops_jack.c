/* ops_jack.c - the transport, live MIDI routing and JACK freewheel:
 * transport.set / transport.get / transport.follow, midi.route /
 * midi.unroute / midi.routes, engine.freewheel.  See PROTOCOL.md,
 * "Transport and live MIDI", and ARCHITECTURE.md, "JACK".
 *
 * The routing table lives here (control thread); every change builds a
 * fresh rt_midi_routes and sends it by pointer (RT_CMD_MIDI_ROUTES); the
 * audio thread hands the old one back, freed by engine_ctl_drain. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/backend.h"
#include "daemon/csound_ctl.h"
#include "daemon/log.h"
#include "daemon/engine_ctl.h"
#include "daemon/graph_ctl.h"
#include "daemon/ops.h"
#include "daemon/reply.h"
#include "daemon/rt/xport.h"
#include "protocol/errors.h"
#include "protocol/wire.h"

#define MAX_ROUTES 256

static rt_midi_route routes[MAX_ROUTES];
static unsigned nroutes;

/* Routes to Csound instruments (control thread).  The audio thread only
 * knows that one exists (a GRAPH_ID_CSOUND entry in its table) and hands
 * every live note-on/off to midi_cs_poll through engine.midi_cs. */
#define MAX_CS_ROUTES 16
#define CS_NAME 64
typedef struct cs_route {
  char instr[CS_NAME], note[CS_NAME], vel[CS_NAME];   /* "" = not passed */
  int32_t channel;                                    /* -1: all */
  cs_synth_id active[16][128];                        /* sounding, by channel and note */
} cs_route;
static cs_route csr[MAX_CS_ROUTES];
static unsigned ncsr;
static uint64_t cs_late, cs_failed, cs_late_logged, cs_failed_logged;

/* ---- transport ---- */

static bool check_tempo(request *r, double tempo) {
  if (tempo < 1.0 || tempo > 999.0 || isnan(tempo)) {
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE, "%s: 'tempo' must be from 1 to 999 BPM",
                r->op);
    return false;
  }
  return true;
}

void op_transport_set(request *r) {
  rt_cmd cmd;
  double tempo = 0;
  uint64_t num = 0, den = 0, frame = 0;
  bool playing = false, has_tempo, has_num, has_den, has_playing, has_frame;

  memset(&cmd, 0, sizeof cmd);
  has_tempo = sono_map_get(r->args, "tempo") != NULL;
  has_num = sono_map_get(r->args, "num") != NULL;
  has_den = sono_map_get(r->args, "den") != NULL;
  has_playing = sono_map_get(r->args, "playing") != NULL;
  has_frame = sono_map_get(r->args, "frame") != NULL;
  if (!arg_double(r, "tempo", false, &tempo) || !arg_uint(r, "num", false, &num) ||
      !arg_uint(r, "den", false, &den) || !arg_bool(r, "playing", false, &playing) ||
      !arg_uint(r, "frame", false, &frame) || !arg_time(r, &cmd))
    return;
  if (has_tempo && !check_tempo(r, tempo))
    return;
  if (has_num != has_den) {
    reply_error(r->c, true, r->id, SONO_E_MISSING_FIELD,
                "transport.set: 'num' and 'den' go together");
    return;
  }
  if (has_num && (num < 1 || num > 64 || (den != 1 && den != 2 && den != 4 && den != 8 &&
                                          den != 16 && den != 32))) {
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE,
                "transport.set: 'num' must be from 1 to 64 and 'den' a power of two from 1 to 32");
    return;
  }
  if (has_frame && frame > INT64_MAX) {
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE, "transport.set: 'frame' is too large");
    return;
  }
  cmd.type = RT_CMD_TRANSPORT;
  cmd.u.xport.mask = (has_tempo ? XPORT_TEMPO : 0) | (has_num ? XPORT_SIG : 0) |
                     (has_playing ? XPORT_PLAYING : 0) | (has_frame ? XPORT_FRAME : 0);
  cmd.u.xport.tempo = tempo;
  cmd.u.xport.num = (int32_t)num;
  cmd.u.xport.den = (int32_t)den;
  cmd.u.xport.playing = playing;
  cmd.u.xport.frame = (int64_t)frame;
  engine_ctl_send(r, &cmd);
}

void op_transport_follow(request *r) {
  rt_cmd cmd;
  bool on;

  memset(&cmd, 0, sizeof cmd);
  if (!arg_bool(r, "on", true, &on))
    return;
  if (on && strcmp(r->d->be->ops->name, "jack") != 0) {
    reply_error(r->c, true, r->id, SONO_E_NOT_SUPPORTED,
                "transport.follow: only the jack backend has a transport to follow");
    return;
  }
  cmd.type = RT_CMD_TRANSPORT;
  cmd.at_kind = RT_AT_NOW;
  cmd.u.xport.mask = XPORT_FOLLOW;
  cmd.u.xport.follow = on;
  engine_ctl_send(r, &cmd);
}

/* The transport as the audio thread last published it: {tempo, num, den,
 * playing, frame, ppq}, and with `full` also {follow, bar, beat,
 * engine_frame} (transport.get; status packs the short form). */
void transport_pack(sonod *d, msgpack_packer *pk, bool full) {
  engine *e = &d->eng;
  rt_xport_pub *p = &e->pub_xport;
  uint64_t pos = atomic_load_explicit(&p->pos, memory_order_relaxed);
  double tempo = (double)atomic_load_explicit(&p->tempo_mbpm, memory_order_relaxed) / 1000.0;
  uint32_t sig = atomic_load_explicit(&p->sig, memory_order_relaxed);
  unsigned num = sig >> 16, den = sig & 0xFFFF;
  double ppq = e->sample_rate ? (double)pos / e->sample_rate * tempo / 60.0 : 0.0;
  double bar_len = den ? num * 4.0 / den : 4.0;
  double bars = bar_len > 0 ? floor(ppq / bar_len) : 0;

  msgpack_pack_map(pk, full ? 10 : 6);
  sono_pack_key_double(pk, "tempo", tempo);
  sono_pack_key_uint(pk, "num", num);
  sono_pack_key_uint(pk, "den", den);
  sono_pack_key_bool(pk, "playing", atomic_load_explicit(&p->playing, memory_order_relaxed));
  if (full)
    sono_pack_key_bool(pk, "follow", atomic_load_explicit(&p->follow, memory_order_relaxed));
  sono_pack_key_uint(pk, "frame", pos);
  sono_pack_key_double(pk, "ppq", ppq);
  if (!full)
    return;
  sono_pack_key_uint(pk, "bar", (uint64_t)bars + 1);
  sono_pack_key_double(pk, "beat", (ppq - bars * bar_len) * den / 4.0 + 1.0);
  sono_pack_key_uint(pk, "engine_frame", engine_ctl_now(d));
}

void op_transport_get(request *r) {
  msgpack_sbuffer sb;
  msgpack_packer pk;

  reply_begin(&sb, &pk, r->id);
  transport_pack(r->d, &pk, true);
  reply_end(r->c, &sb);
}

/* ---- live MIDI routing ---- */

static int send_routes(request *r) {
  unsigned extra = ncsr > 0 ? 1 : 0;
  rt_midi_routes *t = malloc(sizeof *t + (nroutes + extra) * sizeof t->r[0]);
  rt_cmd cmd;

  if (t == NULL) {
    reply_error(r->c, true, r->id, SONO_E_INTERNAL, "%s: out of memory", r->op);
    return -1;
  }
  t->n = nroutes + extra;
  memcpy(t->r, routes, nroutes * sizeof routes[0]);
  if (extra) {
    t->r[nroutes].node = GRAPH_ID_CSOUND;
    t->r[nroutes].channel = -1;
  }
  memset(&cmd, 0, sizeof cmd);
  cmd.type = RT_CMD_MIDI_ROUTES;
  cmd.at_kind = RT_AT_NOW;
  cmd.u.ptr = t;
  if (engine_ctl_send(r, &cmd) != 0) {
    free(t);
    return -1;
  }
  return 0;
}

/* "to": a plugin node's id, as a string ("3") or a number. */
static bool arg_node(request *r, uint32_t *id) {
  const msgpack_object *v = sono_map_get(r->args, "to");
  gnode *n;

  if (v == NULL) {
    reply_error(r->c, true, r->id, SONO_E_MISSING_FIELD, "%s: 'to' is required", r->op);
    return false;
  }
  if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 < GRAPH_ID_OUT)
    *id = (uint32_t)v->via.u64;
  else if (v->type == MSGPACK_OBJECT_STR) {
    const char *s = v->via.str.ptr;
    uint32_t n2 = v->via.str.size, i;
    uint64_t x = 0;

    if (n2 == 6 && memcmp(s, "csound", 6) == 0) {
      if (csound_ctl_engine() == NULL) {
        reply_error(r->c, true, r->id, SONO_E_NOT_SUPPORTED,
                    "%s: Csound is not running in this daemon", r->op);
        return false;
      }
      *id = GRAPH_ID_CSOUND;
      return true;
    }
    for (i = 0; i < n2 && i < 10 && s[i] >= '0' && s[i] <= '9'; i++)
      x = x * 10 + (uint64_t)(s[i] - '0');
    if (n2 == 0 || i != n2 || x >= GRAPH_ID_OUT) {
      reply_error(r->c, true, r->id, SONO_E_UNKNOWN_NODE, "%s: no plugin node '%.*s'", r->op,
                  (int)n2, s);
      return false;
    }
    *id = (uint32_t)x;
  } else {
    reply_error(r->c, true, r->id, SONO_E_BAD_TYPE, "%s: 'to' must be a node id", r->op);
    return false;
  }
  n = graph_node(graph_ctl_graph(), *id);
  if (n == NULL || n->kind != GN_PLUGIN) {
    reply_error(r->c, true, r->id, SONO_E_UNKNOWN_NODE, "%s: no plugin node %u", r->op, *id);
    return false;
  }
  return true;
}

static int find_route(uint32_t node) {
  unsigned i;

  for (i = 0; i < nroutes; i++)
    if (routes[i].node == node)
      return (int)i;
  return -1;
}

/* ---- live MIDI to Csound ---- */

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

static int find_cs_route(const char *instr) {
  unsigned i;

  for (i = 0; i < ncsr; i++)
    if (strcmp(csr[i].instr, instr) == 0)
      return (int)i;
  return -1;
}

/* Stops every synth a route started (unroute, or a route replaced). */
static void cs_route_release(cs_route *cr) {
  cs_engine *eng = csound_ctl_engine();
  unsigned ch, k;

  for (ch = 0; ch < 16; ch++)
    for (k = 0; k < 128; k++)
      if (cr->active[ch][k] != 0) {
        if (eng != NULL)
          (void)cs_synth_stop(eng, cr->active[ch][k], 0, NULL);
        cr->active[ch][k] = 0;
      }
}

static void route_csound(request *r, int64_t channel) {
  cs_engine *eng = csound_ctl_engine();
  char instr[CS_NAME], note[CS_NAME], vel[CS_NAME];
  int i;

  if (!arg_name(r, "instr", true, instr) || !arg_name(r, "note", false, note) ||
      !arg_name(r, "velocity", false, vel))
    return;
  if (channel < -1 || channel > 15) {
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE,
                "midi.route: 'channel' must be from 0 to 15 (omitted: all)");
    return;
  }
  if (!cs_instr_exists(eng, instr)) {
    reply_error(r->c, true, r->id, SONO_E_UNKNOWN_INSTR, "midi.route: no instrument '%s'",
                instr);
    return;
  }
  if ((note[0] && !cs_instr_has_param(eng, instr, note)) ||
      (vel[0] && !cs_instr_has_param(eng, instr, vel))) {
    reply_error(r->c, true, r->id, SONO_E_UNKNOWN_PARAM,
                "midi.route: instrument '%s' has no parameter '%s'", instr,
                note[0] && !cs_instr_has_param(eng, instr, note) ? note : vel);
    return;
  }
  /* One route per instrument: routing it again replaces it. */
  if ((i = find_cs_route(instr)) < 0) {
    if (ncsr == MAX_CS_ROUTES) {
      reply_error(r->c, true, r->id, SONO_E_LIMIT, "midi.route: at most %u Csound routes",
                  MAX_CS_ROUTES);
      return;
    }
    i = (int)ncsr++;
    memset(&csr[i], 0, sizeof csr[i]);
  } else
    cs_route_release(&csr[i]);
  memcpy(csr[i].instr, instr, sizeof instr);
  memcpy(csr[i].note, note, sizeof note);
  memcpy(csr[i].vel, vel, sizeof vel);
  csr[i].channel = (int32_t)channel;
  send_routes(r);
}

static void unroute_csound(request *r) {
  char instr[CS_NAME];
  int i;

  if (!arg_name(r, "instr", true, instr))
    return;
  if ((i = find_cs_route(instr)) < 0) {
    reply_error(r->c, true, r->id, SONO_E_NOT_CONNECTED,
                "midi.unroute: instrument '%s' has no route", instr);
    return;
  }
  cs_route_release(&csr[i]);
  csr[i] = csr[--ncsr];
  send_routes(r);
}

static void cs_note(sonod *d, cs_engine *eng, cs_route *cr, const rt_cs_note *n, uint64_t at) {
  unsigned ch = n->status & 0x0F, key = n->note & 0x7F;
  bool on = (n->status & 0xF0) == 0x90 && n->vel > 0;
  cs_synth_id *slot = &cr->active[ch][key];
  cs_arg args[2];
  unsigned nargs = 0;
  cs_error err;

  (void)d;
  if (cr->channel >= 0 && (unsigned)cr->channel != ch)
    return;
  /* A note-off, or a note-on for a key already sounding: stop it. */
  if (*slot != 0) {
    (void)cs_synth_stop(eng, *slot, at, NULL);
    *slot = 0;
  }
  if (!on)
    return;
  if (cr->note[0]) {
    args[nargs].name = cr->note;
    args[nargs++].value = key;
  }
  if (cr->vel[0]) {
    args[nargs].name = cr->vel;
    args[nargs++].value = n->vel / 127.0;
  }
  if (cs_synth_start(eng, cr->instr, args, nargs, at, -1.0, 0, slot, &err) != 0) {
    *slot = 0;
    if (cs_failed++ == cs_failed_logged) {
      log_warn("midi: note %u on channel %u could not start '%s': %s (%llu such failures)", key,
               ch + 1, cr->instr, err.msg, (unsigned long long)cs_failed);
      cs_failed_logged = cs_failed_logged ? cs_failed_logged * 10 : 1;
    }
  }
}

/* Control thread, on every wake-up: the live notes the audio thread passed
 * on start and stop synths one period after their frame (the next block
 * at the earliest), sample-exact when this runs before that block; later
 * than that they sound as soon as possible and are counted as late. */
void midi_cs_poll(sonod *d) {
  cs_engine *eng = csound_ctl_engine();
  rt_cs_note n;
  unsigned i;

  if (d->eng.midi_cs == NULL)
    return;
  while (ring_pop(d->eng.midi_cs, &n) == 0) {
    uint64_t at;

    if (eng == NULL || ncsr == 0)
      continue;
    at = n.frame + n.period;
    if (at < cs_engine_frame(eng)) {
      if (cs_late++ == cs_late_logged) {
        log_warn("midi: a note for Csound came %llu frames late (%llu late notes so far)",
                 (unsigned long long)(cs_engine_frame(eng) - at),
                 (unsigned long long)cs_late);
        cs_late_logged = cs_late_logged ? cs_late_logged * 10 : 1;
      }
    }
    for (i = 0; i < ncsr; i++)
      cs_note(d, eng, &csr[i], &n, at);
  }
}

/* {late, dropped, failed}: notes for Csound that sounded late, were lost
 * (the audio thread's ring full) or could not start a synth. */
void midi_cs_pack_stats(sonod *d, msgpack_packer *pk) {
  msgpack_pack_map(pk, 3);
  sono_pack_key_uint(pk, "late", cs_late);
  sono_pack_key_uint(pk, "dropped",
                     atomic_load_explicit(&d->eng.pub_midi_cs_dropped, memory_order_relaxed));
  sono_pack_key_uint(pk, "failed", cs_failed);
}

void op_midi_route(request *r) {
  uint32_t node;
  int64_t channel = -1;
  int i;

  if (!arg_node(r, &node) || !arg_int(r, "channel", false, &channel))
    return;
  if (node == GRAPH_ID_CSOUND) {
    route_csound(r, channel);
    return;
  }
  if (channel < -1 || channel > 15) {
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE,
                "midi.route: 'channel' must be from 0 to 15 (omitted: all)");
    return;
  }
  /* One route per node: routing again changes its channel. */
  if ((i = find_route(node)) < 0) {
    if (nroutes == MAX_ROUTES) {
      reply_error(r->c, true, r->id, SONO_E_LIMIT, "midi.route: at most %u routes", MAX_ROUTES);
      return;
    }
    i = (int)nroutes++;
  }
  routes[i].node = node;
  routes[i].channel = (int32_t)channel;
  send_routes(r);
}

void op_midi_unroute(request *r) {
  uint32_t node;
  int i;

  if (!arg_node(r, &node))
    return;
  if (node == GRAPH_ID_CSOUND) {
    unroute_csound(r);
    return;
  }
  if ((i = find_route(node)) < 0) {
    reply_error(r->c, true, r->id, SONO_E_NOT_CONNECTED, "midi.unroute: node %u has no route",
                node);
    return;
  }
  routes[i] = routes[--nroutes];
  send_routes(r);
}

void op_midi_routes(request *r) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  unsigned i, live = 0;
  char buf[16];

  /* A deleted node's route stays in the table, matching nothing (node ids
   * are never reused); only routes to existing nodes are listed. */
  for (i = 0; i < nroutes; i++)
    if (graph_node(graph_ctl_graph(), routes[i].node) != NULL)
      live++;
  reply_begin(&sb, &pk, r->id);
  msgpack_pack_map(&pk, 1);
  sono_pack_cstr(&pk, "routes");
  msgpack_pack_array(&pk, live + ncsr);
  for (i = 0; i < nroutes; i++) {
    if (graph_node(graph_ctl_graph(), routes[i].node) == NULL)
      continue;
    msgpack_pack_map(&pk, 2);
    sono_pack_key_str(&pk, "to", graph_node_label(routes[i].node, buf, sizeof buf));
    sono_pack_cstr(&pk, "channel");
    if (routes[i].channel < 0)
      msgpack_pack_nil(&pk);
    else
      msgpack_pack_uint32(&pk, (uint32_t)routes[i].channel);
  }
  for (i = 0; i < ncsr; i++) {
    msgpack_pack_map(&pk, 5);
    sono_pack_key_str(&pk, "to", "csound");
    sono_pack_key_str(&pk, "instr", csr[i].instr);
    sono_pack_cstr(&pk, "note");
    if (csr[i].note[0])
      sono_pack_cstr(&pk, csr[i].note);
    else
      msgpack_pack_nil(&pk);
    sono_pack_cstr(&pk, "velocity");
    if (csr[i].vel[0])
      sono_pack_cstr(&pk, csr[i].vel);
    else
      msgpack_pack_nil(&pk);
    sono_pack_cstr(&pk, "channel");
    if (csr[i].channel < 0)
      msgpack_pack_nil(&pk);
    else
      msgpack_pack_uint32(&pk, (uint32_t)csr[i].channel);
  }
  reply_end(r->c, &sb);
}

/* ---- freewheel ---- */

void op_engine_freewheel(request *r) {
  backend *b = r->d->be;
  char err[200];
  bool on;

  if (!arg_bool(r, "on", true, &on))
    return;
  if (b->ops->freewheel == NULL) {
    reply_error(r->c, true, r->id, SONO_E_NOT_SUPPORTED,
                "engine.freewheel: only the jack backend has a freewheel mode");
    return;
  }
  if (b->ops->freewheel(b, on, err, sizeof err) != 0) {
    reply_error(r->c, true, r->id, SONO_E_BUSY, "engine.freewheel: %s", err);
    return;
  }
  reply_ok_empty(r->c, r->id);
}
