/* ops_transport.c - transport.set / transport.get / transport.follow: the
 * engine's musical transport (tempo, signature, playing, position), and
 * following JACK's.  The audio side is rt/xport.c.  See PROTOCOL.md,
 * "Transport and live MIDI", and ARCHITECTURE.md, "JACK". */
#include <math.h>
#include <string.h>

#include "daemon/backend/backend.h"
#include "daemon/engine/engine_ctl.h"
#include "daemon/net/reply.h"
#include "daemon/ops/ops.h"
#include "protocol/errors.h"
#include "protocol/wire.h"

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
