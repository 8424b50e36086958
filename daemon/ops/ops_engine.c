/* ops_engine.c - operations on the engine itself: engine.tone (the test
 * tone), engine.freewheel (JACK's freewheel mode) and render (offline
 * rendering). */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/backend/backend.h"
#include "daemon/engine/engine_ctl.h"
#include "daemon/ops/ops.h"
#include "daemon/net/reply.h"
#include "protocol/errors.h"
#include "protocol/wire.h"

void op_engine_tone(request *r) {
  sonod *d = r->d;
  rt_cmd cmd;
  bool on;
  double freq = 440.0, amp = 0.25;
  int64_t channel = -1;

  memset(&cmd, 0, sizeof cmd);
  if (!arg_bool(r, "on", true, &on) || !arg_double(r, "freq", false, &freq) ||
      !arg_double(r, "amp", false, &amp) || !arg_int(r, "channel", false, &channel) ||
      !arg_time(r, &cmd))
    return;
  if (freq < 1.0 || freq > d->eng.sample_rate / 2.0) {
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE,
                "engine.tone: 'freq' must be from 1 to %u Hz", d->eng.sample_rate / 2);
    return;
  }
  if (amp < 0.0 || amp > 1.0) {
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE, "engine.tone: 'amp' must be from 0 to 1");
    return;
  }
  if (channel < -1 || channel >= (int64_t)d->opt.channels) {
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE,
                "engine.tone: 'channel' must be -1 (all) or from 0 to %u", d->opt.channels - 1);
    return;
  }
  cmd.type = RT_CMD_TONE;
  cmd.u.tone.on = on;
  cmd.u.tone.freq = freq;
  cmd.u.tone.amp = amp;
  cmd.u.tone.channel = (int32_t)channel;
  engine_ctl_send(r, &cmd);
}

/* render's `input`: one bin of float32 per capture channel, all the same
 * length, copied into one buffer (io->input, io->nframes).  False after
 * replying bad_value/bad_type. */
static bool render_input(request *r, const msgpack_object_array *in, render_io *io) {
  unsigned k, want = r->d->opt.inputs;
  uint32_t len;

  if (want == 0) {
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE,
                "render: 'input' given, but this daemon has no capture channels (--inputs 0)");
    return false;
  }
  if (in->size != want) {
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE,
                "render: 'input' must have one bin per capture channel: %u, not %u", want,
                in->size);
    return false;
  }
  for (k = 0; k < in->size; k++)
    if (in->ptr[k].type != MSGPACK_OBJECT_BIN) {
      reply_error(r->c, true, r->id, SONO_E_BAD_TYPE,
                  "render: 'input'[%u] must be a bin of float32 samples", k);
      return false;
    }
  len = in->ptr[0].via.bin.size;
  for (k = 0; k < in->size; k++) {
    if (in->ptr[k].via.bin.size % sizeof(float) != 0) {
      reply_error(r->c, true, r->id, SONO_E_BAD_VALUE,
                  "render: 'input'[%u] is %u bytes, not a whole number of float32 samples", k,
                  in->ptr[k].via.bin.size);
      return false;
    }
    if (in->ptr[k].via.bin.size != len) {
      reply_error(r->c, true, r->id, SONO_E_BAD_VALUE,
                  "render: 'input' channels differ in length: [0] has %u frames, [%u] %u",
                  len / (unsigned)sizeof(float), k,
                  in->ptr[k].via.bin.size / (unsigned)sizeof(float));
      return false;
    }
  }
  io->nframes = len / sizeof(float);
  io->ninput = want;
  io->input = malloc((size_t)len * want + 1);
  if (io->input == NULL) {
    reply_error(r->c, true, r->id, SONO_E_INTERNAL, "render: out of memory");
    return false;
  }
  /* The wire's float32 is little-endian, as the hosts sonod runs on. */
  for (k = 0; k < want; k++)
    memcpy(io->input + (size_t)k * io->nframes, in->ptr[k].via.bin.ptr, len);
  return true;
}

void op_render(request *r) {
  sonod *d = r->d;
  bool has_frames = sono_map_get(r->args, "frames") != NULL;
  bool has_seconds = sono_map_get(r->args, "seconds") != NULL;
  const msgpack_object_array *in = NULL;
  uint64_t frames = 0;
  double seconds = 0;
  render_io io;
  char err[256];
  int rc;

  memset(&io, 0, sizeof io);
  if (d->be->ops->render == NULL) {
    reply_error(r->c, true, r->id, SONO_E_NOT_SUPPORTED,
                "render: only the offline backend renders; this is %s", d->be->ops->name);
    return;
  }
  if (!arg_uint(r, "frames", false, &frames) || !arg_double(r, "seconds", false, &seconds) ||
      !arg_bool(r, "return", false, &io.ret) || !arg_array(r, "input", false, &in))
    return;
  /* Given is given: 0 frames renders none (and answers where the engine
   * stands); neither renders to --length. */
  if (has_frames && has_seconds) {
    reply_error(r->c, true, r->id, SONO_E_BAD_REQUEST, "render: give 'frames' or 'seconds', not both");
    return;
  }
  if (seconds < 0 || seconds > 86400.0 * 7) {
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE, "render: 'seconds' must be from 0 to a week");
    return;
  }
  if (has_seconds)
    frames = (uint64_t)llround(seconds * d->eng.sample_rate);
  else if (!has_frames)
    frames = RENDER_TO_LENGTH;
  if (in != NULL) {
    if (!render_input(r, in, &io))
      return;
    if (frames == RENDER_TO_LENGTH)
      frames = io.nframes;
    else if (frames != io.nframes) {
      reply_error(r->c, true, r->id, SONO_E_BAD_VALUE,
                  "render: %" PRIu64 " frames asked, but 'input' holds %" PRIu64, frames,
                  io.nframes);
      free(io.input);
      return;
    }
  }
  rc = d->be->ops->render(d->be, r->c->id, r->id, frames, &io, err, sizeof err);
  if (rc == RENDER_BUSY)
    reply_error(r->c, true, r->id, SONO_E_BUSY, "render: %s", err);
  else if (rc == RENDER_TOO_LARGE)
    reply_error(r->c, true, r->id, SONO_E_REPLY_TOO_LARGE, "render: %s", err);
  else if (rc != 0)
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE, "render: %s", err);
}

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
