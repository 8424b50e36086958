/* ops_jack.c - the transport, live MIDI routing and JACK freewheel:
 * transport.set / transport.get / transport.follow, midi.route /
 * midi.unroute / midi.routes, engine.freewheel.  See PROTOCOL.md,
 * "Transport and live MIDI", and ARCHITECTURE.md, "JACK".
 *
 * The plugin routing table: midi_ctl.c; routes to Csound instruments:
 * midi_cs.c.  Route changes arm the autosave (they are session state). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/backend/backend.h"
#include "daemon/modules/csound_ctl.h"
#include "daemon/engine/engine_ctl.h"
#include "daemon/modules/graph_ctl.h"
#include "daemon/modules/midi_cs.h"
#include "daemon/modules/midi_ctl.h"
#include "daemon/ops/ops.h"
#include "daemon/net/reply.h"
#include "daemon/session/session.h"
#include "protocol/errors.h"
#include "protocol/wire.h"

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

void op_midi_route(request *r) {
  uint32_t node;
  int64_t channel = -1;

  if (!arg_node(r, &node) || !arg_int(r, "channel", false, &channel))
    return;
  if (node == GRAPH_ID_CSOUND) {
    midi_cs_route(r, channel);
    return;
  }
  if (channel < -1 || channel > 15) {
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE,
                "midi.route: 'channel' must be from 0 to 15 (omitted: all)");
    return;
  }
  /* One route per node: routing again changes its channel. */
  if (midi_ctl_set(node, (int32_t)channel) != 0) {
    reply_error(r->c, true, r->id, SONO_E_LIMIT, "midi.route: at most %u routes",
                MIDI_MAX_ROUTES);
    return;
  }
  /* The session changed even if the send fails: the table is the truth,
   * and the next change sends all of it. */
  session_changed(r->d);
  midi_ctl_commit(r->d, r);
}

void op_midi_unroute(request *r) {
  uint32_t node;

  if (!arg_node(r, &node))
    return;
  if (node == GRAPH_ID_CSOUND) {
    midi_cs_unroute(r);
    return;
  }
  if (midi_ctl_remove(node) != 0) {
    reply_error(r->c, true, r->id, SONO_E_NOT_CONNECTED, "midi.unroute: node %u has no route",
                node);
    return;
  }
  session_changed(r->d);
  midi_ctl_commit(r->d, r);
}

void op_midi_routes(request *r) {
  msgpack_sbuffer sb;
  msgpack_packer pk;

  reply_begin(&sb, &pk, r->id);
  msgpack_pack_map(&pk, 1);
  sono_pack_cstr(&pk, "routes");
  midi_ctl_pack_routes(&pk, false);
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
