/* ops_plugin_midi.c - plugin.midi {node, events: [...]}: MIDI events for a
 * plugin node, each at a frame (at), a delay, or an offset from the first;
 * sorted and handed to the audio thread in one batch (modules/plugin_ctl.c
 * reserves the room in the plugin's event buffer).  The other plugin.*
 * ops are ops_plugin.c. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/engine/engine_ctl.h"
#include "daemon/modules/plugin_ctl.h"
#include "daemon/net/reply.h"
#include "daemon/ops/ops.h"
#include "protocol/errors.h"
#include "protocol/wire.h"

/* An event field as an int.  A value no int holds becomes INT_MIN, which
 * every MIDI range check below refuses: casting it instead would wrap
 * note 2^32 + 60 to note 60. */
static int ev_int(const msgpack_object *m, const char *key, int def, bool *ok) {
  int64_t v = def;
  sono_arg st = sono_get_int(m, key, &v);

  if (st == SONO_ARG_BAD_TYPE)
    *ok = false;
  return v < INT_MIN || v > INT_MAX ? INT_MIN : (int)v;
}

static int cmp_ev(const void *a, const void *b) {
  const rt_midi_ev *x = a, *y = b;

  if (x->t != y->t)
    return x->t < y->t ? -1 : 1;
  return x->order < y->order ? -1 : (x->order > y->order);
}

/* Parses events[i] into ev; on failure writes why into err. */
static int parse_event(request *r, const msgpack_object *m, rt_midi_ev *ev, bool *abs, char *err,
                       size_t errlen) {
  const msgpack_object *o;
  bool ok = true;
  int ch, note, vel, val;
  int ntimes = 0;
  char verr[VST_ERR_LEN];

  if (m->type != MSGPACK_OBJECT_MAP) {
    snprintf(err, errlen, "must be a map");
    return -1;
  }
  o = sono_map_get(m, "type");
  if (o == NULL || o->type != MSGPACK_OBJECT_STR) {
    snprintf(err, errlen, "needs a string 'type'");
    return -1;
  }
  ch = ev_int(m, "channel", 0, &ok);
  *abs = false;
  ev->t = 0;
  if ((o = sono_map_get(m, "at")) != NULL) {
    ntimes++;
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
      snprintf(err, errlen, "'at' must be an unsigned integer (frame)");
      return -1;
    }
    ev->t = o->via.u64;
    *abs = true;
  }
  if ((o = sono_map_get(m, "offset")) != NULL) {
    ntimes++;
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
      snprintf(err, errlen, "'offset' must be an unsigned integer (frames)");
      return -1;
    }
    ev->t = o->via.u64;
  }
  if (sono_map_get(m, "delay") != NULL) {
    double delay = -1;
    ntimes++;
    if (sono_get_double(m, "delay", &delay) != SONO_ARG_OK || !isfinite(delay) || delay < 0 ||
        delay > 86400.0 * 365) {
      snprintf(err, errlen, "'delay' must be from 0 to a year of seconds");
      return -1;
    }
    ev->t = (uint64_t)llround(delay * r->d->eng.sample_rate);
  }
  if (ntimes > 1) {
    snprintf(err, errlen, "give at most one of 'at', 'delay', 'offset'");
    return -1;
  }
  o = sono_map_get(m, "type");
  ev->sx = NULL;
  ev->msg.len = 0;
  if (sono_str_eq(o, "note_on") || sono_str_eq(o, "note_off")) {
    bool on = sono_str_eq(o, "note_on");
    note = ev_int(m, "note", -1, &ok);
    vel = ev_int(m, "velocity", on ? 100 : 64, &ok);
    if (ok)
      ev->msg = on ? vst_midi_note_on(ch, note, vel) : vst_midi_note_off(ch, note, vel);
  } else if (sono_str_eq(o, "cc")) {
    note = ev_int(m, "controller", -1, &ok);
    val = ev_int(m, "value", -1, &ok);
    if (ok)
      ev->msg = vst_midi_cc(ch, note, val);
  } else if (sono_str_eq(o, "program")) {
    val = ev_int(m, "program", -1, &ok);
    if (ok)
      ev->msg = vst_midi_program_change(ch, val);
  } else if (sono_str_eq(o, "pitch_bend")) {
    val = ev_int(m, "value", 0, &ok);
    if (ok && val >= -8192 && val <= 8191)
      ev->msg = vst_midi_pitch_bend(ch, val + 8192);
  } else if (sono_str_eq(o, "aftertouch")) {
    note = ev_int(m, "note", -1, &ok);
    val = ev_int(m, "value", -1, &ok);
    if (ok)
      ev->msg = sono_map_get(m, "note") != NULL
                  ? vst_midi_poly_aftertouch(ch, note, val)
                  : vst_midi_channel_aftertouch(ch, val);
  } else if (sono_str_eq(o, "raw")) {
    o = sono_map_get(m, "bytes");
    if (o != NULL && o->type == MSGPACK_OBJECT_BIN && o->via.bin.size >= 1 && o->via.bin.size <= 3)
      ev->msg = vst_midi_raw((const uint8_t *)o->via.bin.ptr, o->via.bin.size);
  } else if (sono_str_eq(o, "sysex")) {
    o = sono_map_get(m, "data");
    if (o == NULL || o->type != MSGPACK_OBJECT_BIN) {
      snprintf(err, errlen, "sysex needs 'data' (bin, F0 ... F7)");
      return -1;
    }
    ev->sx = vst_sysex_new((const uint8_t *)o->via.bin.ptr, o->via.bin.size, verr);
    if (ev->sx == NULL) {
      snprintf(err, errlen, "%s", verr);
      return -1;
    }
    return 0;
  } else {
    snprintf(err, errlen,
             "unknown type (note_on, note_off, cc, program, pitch_bend, aftertouch, raw, sysex)");
    return -1;
  }
  if (!ok) {
    snprintf(err, errlen, "a field has the wrong type (integers expected)");
    return -1;
  }
  if (ev->msg.len == 0) {
    snprintf(err, errlen,
             "out of range (channel 0..15, note/velocity/controller/value/program 0..127, "
             "pitch_bend -8192..8191, raw 1-3 bytes starting with a status byte)");
    return -1;
  }
  return 0;
}

void op_plugin_midi(request *r) {
  pnode *n = plugin_arg_node_rt(r);
  const msgpack_object_array *arr;
  rt_midi_batch *b;
  rt_midi_ev *tmp;
  uint32_t i, nabs = 0, nrel = 0, na = 0, nr = 0;
  char err[300];
  rt_cmd cmd;
  int rc;

  if (n == NULL || !arg_array(r, "events", true, &arr))
    return;
  if (arr->size == 0) {
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE, "plugin.midi: 'events' is empty");
    return;
  }
  b = calloc(1, sizeof *b + (size_t)arr->size * sizeof(rt_midi_ev));
  tmp = malloc((size_t)arr->size * sizeof(rt_midi_ev));
  bool *isabs = malloc(arr->size * sizeof(bool));
  if (b == NULL || tmp == NULL || isabs == NULL) {
    free(b);
    free(tmp);
    free(isabs);
    reply_error(r->c, true, r->id, SONO_E_INTERNAL, "plugin.midi: out of memory");
    return;
  }
  for (i = 0; i < arr->size; i++) {
    memset(&tmp[i], 0, sizeof tmp[i]);
    tmp[i].order = i;
    if (parse_event(r, &arr->ptr[i], &tmp[i], &isabs[i], err, sizeof err) != 0) {
      uint32_t j;
      for (j = 0; j < i; j++)
        if (tmp[j].sx != NULL)
          vst_sysex_free(tmp[j].sx);
      free(b);
      free(tmp);
      free(isabs);
      reply_error(r->c, true, r->id, SONO_E_BAD_VALUE, "plugin.midi: events[%u]: %s", i, err);
      return;
    }
    if (isabs[i])
      nabs++;
    else
      nrel++;
  }
  for (i = 0; i < arr->size; i++) {
    if (isabs[i])
      b->ev[na++] = tmp[i];
    else
      b->ev[nabs + nr++] = tmp[i];
  }
  free(tmp);
  free(isabs);
  qsort(b->ev, nabs, sizeof b->ev[0], cmp_ev);
  qsort(b->ev + nabs, nrel, sizeof b->ev[0], cmp_ev);
  b->node = n->id;
  b->nabs = nabs;
  b->nrel = nrel;

  rc = plugin_ctl_reserve_events(r->d, n, arr->size);
  if (rc != 0) {
    plugin_ctl_batch_free(b);
    if (rc == -1)
      reply_error(r->c, true, r->id, SONO_E_QUEUE_FULL,
                  "plugin.midi: the queue to the audio thread is full; retry shortly");
    else
      reply_error(r->c, true, r->id, SONO_E_LIMIT,
                  "plugin.midi: cannot make room for %u more events", arr->size);
    return;
  }
  memset(&cmd, 0, sizeof cmd);
  cmd.type = RT_CMD_MIDI;
  cmd.at_kind = RT_AT_NOW;
  cmd.u.ptr = b;
  if (engine_ctl_send(r, &cmd) != 0) {
    plugin_ctl_unreserve_events(n, arr->size);
    plugin_ctl_batch_free(b);
  }
}
