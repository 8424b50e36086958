/* ops_csound.c - the live Csound engine's operations: csound.*, instr.*,
 * synth.*, bundle, bus.*, table.*, channel.*.  The engine itself is daemon/csound/;
 * its lifetime and events are in csound_ctl.c.
 *
 * Each handler reads its arguments from a map and either packs exactly one
 * ok value or records an error; the same handlers serve single requests and
 * the members of a bundle.  Times: `at` (engine frame) and `delay`
 * (seconds) are turned into the Csound module's absolute frames here, on
 * the control thread; the module applies them on the audio thread. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/modules/busnode_ctl.h"
#include "daemon/modules/csound_ctl.h"
#include "daemon/modules/midi_cs.h"
#include "daemon/ops/ops.h"
#include "daemon/net/reply.h"
#include "daemon/modules/csound_state.h"
#include "daemon/session/session.h"
#include "protocol/errors.h"
#include "protocol/wire.h"

#define MAX_DUPS 64
#define MAX_ARGS 128

typedef struct cx {
  request *r;
  const msgpack_object *args;  /* the map being read */
  const char *op;
  cs_engine *eng;
  bool in_bundle;
  bool timed;                  /* the bundle's time is in at_cs/frame */
  uint64_t at_cs, frame;
  const char *code;            /* NULL = ok so far */
  char msg[2048];
  int line;                    /* csound_error: line, 0 = none */
  char *dups[MAX_DUPS];
  unsigned ndups;
} cx;

static bool fail(cx *x, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool fail(cx *x, const char *code, const char *fmt, ...) {
  va_list ap;
  int n;

  x->code = code;
  n = snprintf(x->msg, sizeof x->msg, "%s: ", x->op);
  va_start(ap, fmt);
  vsnprintf(x->msg + n, sizeof x->msg - (size_t)n, fmt, ap);
  va_end(ap);
  return false;
}

/* A refusal of the Csound module as a protocol error. */
static bool cs_fail(cx *x, int rc, const cs_error *e, const char *enoent) {
  const char *code;

  switch (rc) {
  case CS_ECOMPILE:
  case CS_EHEADER:
    code = SONO_E_CSOUND_ERROR;
    x->line = e->line;
    break;
  case CS_EAGAIN:
    code = SONO_E_QUEUE_FULL;
    break;
  case CS_EBUSY:
    code = SONO_E_BUSY;
    break;
  case CS_ENOENT:
    code = enoent;
    break;
  case CS_EINVAL:
    code = SONO_E_BAD_VALUE;
    break;
  case CS_EIO:
    code = SONO_E_FILE_ERROR;
    break;
  case CS_ELIMIT:
    code = SONO_E_LIMIT;
    break;
  default:
    code = SONO_E_INTERNAL;
    break;
  }
  return fail(x, code, "%s", e->msg);
}

static bool missing(cx *x, sono_arg st, const char *key, const char *type) {
  if (st == SONO_ARG_MISSING)
    return fail(x, SONO_E_MISSING_FIELD, "'%s' is required", key);
  return fail(x, SONO_E_BAD_TYPE, "'%s' must be %s", key, type);
}

/* A string argument as a NUL-terminated copy owned by x. */
static bool get_str(cx *x, const char *key, bool required, const char **out) {
  const char *s;
  size_t len;
  sono_arg st = sono_get_str(x->args, key, &s, &len);
  char *p;

  if (st == SONO_ARG_MISSING && !required)
    return true;
  if (st != SONO_ARG_OK)
    return missing(x, st, key, "a string");
  if (memchr(s, '\0', len) != NULL)
    return fail(x, SONO_E_BAD_VALUE, "'%s' must not contain NUL bytes", key);
  if (x->ndups == MAX_DUPS || (p = strndup(s, len)) == NULL)
    return fail(x, SONO_E_INTERNAL, "out of memory");
  x->dups[x->ndups++] = p;
  *out = p;
  return true;
}

static bool get_uint(cx *x, const char *key, bool required, uint64_t *out) {
  sono_arg st = sono_get_uint(x->args, key, out);

  if (st == SONO_ARG_OK || (st == SONO_ARG_MISSING && !required))
    return true;
  return missing(x, st, key, "an unsigned integer");
}

static bool get_int(cx *x, const char *key, bool required, int64_t *out) {
  sono_arg st = sono_get_int(x->args, key, out);

  if (st == SONO_ARG_OK || (st == SONO_ARG_MISSING && !required))
    return true;
  return missing(x, st, key, "an integer");
}

static bool get_double(cx *x, const char *key, bool required, double *out) {
  double v;
  sono_arg st = sono_get_double(x->args, key, &v);

  if (st == SONO_ARG_OK) {
    if (!isfinite(v))
      return fail(x, SONO_E_BAD_VALUE, "'%s' must be finite", key);
    *out = v;
    return true;
  }
  if (st == SONO_ARG_MISSING && !required)
    return true;
  return missing(x, st, key, "a number");
}

static bool obj_number(const msgpack_object *o, double *v) {
  switch (o->type) {
  case MSGPACK_OBJECT_POSITIVE_INTEGER:
    *v = (double)o->via.u64;
    return true;
  case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    *v = (double)o->via.i64;
    return true;
  case MSGPACK_OBJECT_FLOAT32:
  case MSGPACK_OBJECT_FLOAT64:
    *v = o->via.f64;
    return isfinite(*v);
  default:
    return false;
  }
}

/* A map of name -> number ("args", "params") into cs_arg (names owned by x). */
static bool get_args(cx *x, const char *key, bool required, cs_arg *out, unsigned *n) {
  const msgpack_object *m = sono_map_get(x->args, key);
  uint32_t i;

  *n = 0;
  if (m == NULL) {
    if (required)
      return fail(x, SONO_E_MISSING_FIELD, "'%s' is required", key);
    return true;
  }
  if (m->type != MSGPACK_OBJECT_MAP)
    return fail(x, SONO_E_BAD_TYPE, "'%s' must be a map of names to numbers", key);
  if (m->via.map.size > MAX_ARGS)
    return fail(x, SONO_E_BAD_VALUE, "'%s' has more than %d entries", key, MAX_ARGS);
  for (i = 0; i < m->via.map.size; i++) {
    const msgpack_object_kv *kv = &m->via.map.ptr[i];
    char *name;

    if (kv->key.type != MSGPACK_OBJECT_STR)
      return fail(x, SONO_E_BAD_TYPE, "the keys of '%s' must be strings", key);
    if (!obj_number(&kv->val, &out[i].value))
      return fail(x, SONO_E_BAD_TYPE, "'%s.%.*s' must be a finite number", key,
                  (int)kv->key.via.str.size, kv->key.via.str.ptr);
    if (x->ndups == MAX_DUPS ||
        (name = strndup(kv->key.via.str.ptr, kv->key.via.str.size)) == NULL)
      return fail(x, SONO_E_BAD_VALUE, "too many names in one request");
    x->dups[x->ndups++] = name;
    out[i].name = name;
  }
  *n = m->via.map.size;
  return true;
}

/* at / delay -> the module's frame (at_cs) and the engine frame (frame). */
static bool get_time(cx *x, uint64_t *at_cs, uint64_t *frame) {
  bool has_at = sono_map_get(x->args, "at") != NULL;
  bool has_delay = sono_map_get(x->args, "delay") != NULL;
  uint64_t now = csound_ctl_now(x->r->d), at = now;
  double delay = 0;

  if (x->in_bundle) {
    /* h_bundle refused members with a time of their own. */
    *at_cs = x->at_cs;
    *frame = x->frame;
    return true;
  }
  if (has_at && has_delay)
    return fail(x, SONO_E_BAD_REQUEST, "give 'at' or 'delay', not both");
  if (has_at) {
    if (!get_uint(x, "at", true, &at))
      return false;
    if (at < now)
      return fail(x, SONO_E_LATE,
                  "requested time is %llu frames (%.3f ms) in the past; the engine was at "
                  "frame %llu",
                  (unsigned long long)(now - at),
                  (double)(now - at) * 1000.0 / cs_engine_sr(x->eng), (unsigned long long)now);
  } else if (has_delay) {
    if (!get_double(x, "delay", true, &delay))
      return false;
    if (delay < 0 || delay > 86400.0 * 365)
      return fail(x, SONO_E_BAD_VALUE, "'delay' must be from 0 to a year of seconds");
    at = now + (uint64_t)llround(delay * cs_engine_sr(x->eng));
  }
  *frame = at;
  *at_cs = at;
  return true;
}

static bool get_synth(cx *x, cs_synth_id *id) {
  uint64_t v;

  if (!get_uint(x, "synth", true, &v))
    return false;
  if (cs_synth_instr(x->eng, v) == NULL)
    return fail(x, SONO_E_UNKNOWN_SYNTH, "synth %llu does not exist or has ended",
                (unsigned long long)v);
  *id = v;
  return true;
}

static bool check_params(cx *x, const char *instr, const cs_arg *a, unsigned n) {
  unsigned i;

  for (i = 0; i < n; i++)
    if (!cs_instr_has_param(x->eng, instr, a[i].name))
      return fail(x, SONO_E_UNKNOWN_PARAM, "instrument '%s' has no parameter '%s'", instr,
                  a[i].name);
  return true;
}

static void pack_params(msgpack_packer *pk, cs_engine *eng, const char *instr,
                        cs_synth_id synth) {
  const char *pn;
  double def;
  uint32_t n = 0, i;

  while (cs_instr_param(eng, instr, n, &pn, &def) == 0)
    n++;
  msgpack_pack_map(pk, n);
  for (i = 0; i < n; i++) {
    double v;

    cs_instr_param(eng, instr, i, &pn, &def);
    v = def;
    if (synth != 0)
      cs_synth_get(eng, synth, pn, &v, NULL);
    sono_pack_key_double(pk, pn, v);
  }
}

static void pack_frame(msgpack_packer *pk, uint64_t frame) {
  msgpack_pack_map(pk, 1);
  sono_pack_key_uint(pk, "frame", frame);
}

/* ---- handlers: read x->args, pack one ok value or fail ---- */

static bool h_compile(cx *x, msgpack_packer *pk) {
  const char *code;
  cs_error e;
  int rc;

  if (!get_str(x, "code", true, &code))
    return false;
  memset(&e, 0, sizeof e);
  if ((rc = cs_compile(x->eng, code, &e)) != 0)
    return cs_fail(x, rc, &e, SONO_E_INTERNAL);
  state_note_compile(x->r->d, code);
  msgpack_pack_map(pk, 0);
  return true;
}

static bool h_instr_define(cx *x, msgpack_packer *pk) {
  const char *name, *body, *init = NULL;
  cs_arg a[MAX_ARGS];
  cs_param p[MAX_ARGS];
  unsigned n, i;
  int64_t prio = 1;
  cs_error e;
  int rc;

  if (!get_str(x, "name", true, &name) || !get_str(x, "body", true, &body) ||
      !get_args(x, "params", false, a, &n) || !get_str(x, "init", false, &init) ||
      !get_int(x, "priority", false, &prio))
    return false;
  if (prio < 1 || prio > 99)
    return fail(x, SONO_E_BAD_VALUE, "'priority' must be 1..99");
  for (i = 0; i < n; i++) {
    p[i].name = a[i].name;
    p[i].value = a[i].value;
  }
  memset(&e, 0, sizeof e);
  if ((rc = cs_instr_define(x->eng, name, body, p, n, init, (int)prio, &e)) != 0)
    return cs_fail(x, rc, &e, SONO_E_UNKNOWN_INSTR);
  state_note_instr(x->r->d, name, body, p, n, init, (int)prio);
  midi_cs_instr_defined(x->r->d, name);
  msgpack_pack_map(pk, 2);
  sono_pack_key_str(pk, "name", name);
  sono_pack_cstr(pk, "params");
  pack_params(pk, x->eng, name, 0);
  return true;
}

static bool h_instr_list(cx *x, msgpack_packer *pk) {
  uint32_t n = 0, i;

  while (cs_instr_name(x->eng, n) != NULL)
    n++;
  msgpack_pack_map(pk, 1);
  sono_pack_cstr(pk, "instrs");
  msgpack_pack_array(pk, n);
  for (i = 0; i < n; i++) {
    const char *name = cs_instr_name(x->eng, i);

    msgpack_pack_map(pk, 2);
    sono_pack_key_str(pk, "name", name);
    sono_pack_cstr(pk, "params");
    pack_params(pk, x->eng, name, 0);
  }
  return true;
}

static bool h_instr_undefine(cx *x, msgpack_packer *pk) {
  const char *name;
  cs_error e;
  int rc;

  if (!get_str(x, "name", true, &name))
    return false;
  if ((rc = cs_instr_undefine(x->eng, name, &e)) != 0)
    return cs_fail(x, rc, &e, SONO_E_UNKNOWN_INSTR);
  state_note_instr_undefine(x->r->d, name);
  msgpack_pack_map(pk, 0);
  return true;
}

static bool h_synth_start(cx *x, msgpack_packer *pk) {
  const char *instr;
  cs_arg a[MAX_ARGS];
  unsigned n;
  double dur = -1;
  int64_t prio = 0;
  uint64_t at, frame;
  cs_synth_id id;
  cs_error e;
  int rc;

  if (!get_str(x, "instr", true, &instr) || !get_args(x, "args", false, a, &n) ||
      !get_double(x, "dur", false, &dur) || !get_int(x, "priority", false, &prio))
    return false;
  if (!cs_instr_exists(x->eng, instr))
    return fail(x, SONO_E_UNKNOWN_INSTR, "no instrument named '%s'", instr);
  if (!check_params(x, instr, a, n))
    return false;
  if (prio < 0 || prio > 99)
    return fail(x, SONO_E_BAD_VALUE, "'priority' must be 1..99 (0 or absent: the instrument's)");
  if (!get_time(x, &at, &frame))
    return false;
  if ((rc = cs_synth_start(x->eng, instr, a, n, at, dur, (int)prio, &id, &e)) != 0)
    return cs_fail(x, rc, &e, SONO_E_UNKNOWN_INSTR);
  msgpack_pack_map(pk, 2);
  sono_pack_key_uint(pk, "synth", id);
  sono_pack_key_uint(pk, "frame", frame);
  return true;
}

static bool h_synth_set(cx *x, msgpack_packer *pk) {
  cs_synth_id id;
  cs_arg a[MAX_ARGS];
  unsigned n;
  uint64_t at, frame;
  cs_error e;
  int rc;

  if (!get_synth(x, &id) || !get_args(x, "args", true, a, &n) ||
      !check_params(x, cs_synth_instr(x->eng, id), a, n) || !get_time(x, &at, &frame))
    return false;
  if ((rc = cs_synth_set(x->eng, id, a, n, at, &e)) != 0)
    return cs_fail(x, rc, &e, SONO_E_UNKNOWN_SYNTH);
  pack_frame(pk, frame);
  return true;
}

static bool h_synth_automate(cx *x, msgpack_packer *pk) {
  static const char *const modes[] = { "linear", "exp", "cos", "smooth" };
  cs_synth_id id;
  const char *param, *mode = "linear";
  const msgpack_object_array *pts;
  sono_arg st;
  double *v;
  uint64_t at, frame;
  unsigned m, i;
  cs_error e;
  int rc;

  if (!get_synth(x, &id) || !get_str(x, "param", true, &param) ||
      !get_str(x, "mode", false, &mode))
    return false;
  if (!cs_instr_has_param(x->eng, cs_synth_instr(x->eng, id), param))
    return fail(x, SONO_E_UNKNOWN_PARAM, "instrument '%s' has no parameter '%s'",
                cs_synth_instr(x->eng, id), param);
  for (m = 0; m < 4 && strcmp(modes[m], mode) != 0; m++)
    ;
  if (m == 4)
    return fail(x, SONO_E_BAD_VALUE, "'mode' must be linear, exp, cos or smooth");
  if ((st = sono_get_array(x->args, "points", &pts)) != SONO_ARG_OK)
    return missing(x, st, "points", "an array of numbers");
  if (pts->size < 2 || pts->size % 2 != 0)
    return fail(x, SONO_E_BAD_VALUE, "'points' must hold pairs t0, v0, t1, v1, ... (at least one)");
  if (!get_time(x, &at, &frame))
    return false;
  if ((v = malloc(pts->size * sizeof *v)) == NULL)
    return fail(x, SONO_E_INTERNAL, "out of memory");
  for (i = 0; i < pts->size; i++)
    if (!obj_number(&pts->ptr[i], &v[i])) {
      free(v);
      return fail(x, SONO_E_BAD_TYPE, "'points[%u]' must be a finite number", i);
    }
  rc = cs_synth_automate(x->eng, id, param, v, pts->size / 2, (cs_auto_mode)m, at, &e);
  free(v);
  if (rc != 0)
    return cs_fail(x, rc, &e, SONO_E_UNKNOWN_SYNTH);
  pack_frame(pk, frame);
  return true;
}

static bool h_synth_stop(cx *x, msgpack_packer *pk) {
  cs_synth_id id;
  uint64_t at, frame;
  cs_error e;
  int rc;

  if (!get_synth(x, &id) || !get_time(x, &at, &frame))
    return false;
  if ((rc = cs_synth_stop(x->eng, id, at, &e)) != 0)
    return cs_fail(x, rc, &e, SONO_E_UNKNOWN_SYNTH);
  pack_frame(pk, frame);
  return true;
}

static bool h_synth_list(cx *x, msgpack_packer *pk) {
  uint32_t n = 0, i;
  cs_synth_id id;

  while (cs_synth_at(x->eng, n) != 0)
    n++;
  msgpack_pack_map(pk, 1);
  sono_pack_cstr(pk, "synths");
  msgpack_pack_array(pk, n);
  for (i = 0; i < n; i++) {
    id = cs_synth_at(x->eng, i);
    msgpack_pack_map(pk, 2);
    sono_pack_key_uint(pk, "synth", id);
    sono_pack_key_str(pk, "instr", cs_synth_instr(x->eng, id));
  }
  return true;
}

static bool h_synth_get(cx *x, msgpack_packer *pk) {
  cs_synth_id id;
  const char *instr;

  if (!get_synth(x, &id))
    return false;
  instr = cs_synth_instr(x->eng, id);
  msgpack_pack_map(pk, 3);
  sono_pack_key_uint(pk, "synth", id);
  sono_pack_key_str(pk, "instr", instr);
  sono_pack_cstr(pk, "params");
  pack_params(pk, x->eng, instr, id);
  return true;
}

static bool get_bus(cx *x, int *bus) {
  uint64_t v;

  if (!get_uint(x, "bus", true, &v))
    return false;
  if (v > INT32_MAX || cs_bus_state(x->eng, (int)v) != 1)
    return fail(x, SONO_E_UNKNOWN_BUS, "no bus %llu", (unsigned long long)v);
  *bus = (int)v;
  return true;
}

static bool h_bus_new(cx *x, msgpack_packer *pk) {
  const char *kind;
  cs_bus_kind k;
  cs_error e;
  int rc, bus = 0;

  if (!get_str(x, "kind", true, &kind))
    return false;
  if (strcmp(kind, "audio") == 0)
    k = CS_BUS_AUDIO;
  else if (strcmp(kind, "control") == 0)
    k = CS_BUS_CONTROL;
  else
    return fail(x, SONO_E_BAD_VALUE, "'kind' must be audio or control");
  if ((rc = cs_bus_new(x->eng, k, &bus, &e)) != 0)
    return cs_fail(x, rc, &e, SONO_E_UNKNOWN_BUS);
  state_note_bus(x->r->d, bus, k);
  msgpack_pack_map(pk, 2);
  sono_pack_key_uint(pk, "bus", (uint64_t)bus);
  sono_pack_key_str(pk, "kind", kind);
  return true;
}

static bool h_bus_set(cx *x, msgpack_packer *pk) {
  int bus = 0, rc;
  double value = 0;
  uint64_t at, frame;
  cs_error e;

  if (!get_bus(x, &bus) || !get_double(x, "value", true, &value) || !get_time(x, &at, &frame))
    return false;
  if ((rc = cs_bus_set(x->eng, bus, value, at, &e)) != 0)
    return cs_fail(x, rc, &e, SONO_E_UNKNOWN_BUS);
  session_changed(x->r->d);
  pack_frame(pk, frame);
  return true;
}

static bool h_bus_get(cx *x, msgpack_packer *pk) {
  int bus = 0, rc;
  double value;
  cs_error e;

  if (!get_bus(x, &bus))
    return false;
  if ((rc = cs_bus_get(x->eng, bus, &value, &e)) != 0)
    return cs_fail(x, rc, &e, SONO_E_UNKNOWN_BUS);
  msgpack_pack_map(pk, 2);
  sono_pack_key_uint(pk, "bus", (uint64_t)bus);
  sono_pack_key_double(pk, "value", value);
  return true;
}

static bool h_bus_free(cx *x, msgpack_packer *pk) {
  uint32_t node;
  uint64_t v;
  cs_error e;
  int rc;

  if (!get_uint(x, "bus", true, &v))
    return false;
  if (v <= INT32_MAX && cs_bus_state(x->eng, (int)v) == 2)
    return fail(x, SONO_E_BUSY,
                "bus %llu was already freed and is still in use by live synths; it is "
                "reclaimed when the last of them ends",
                (unsigned long long)v);
  if (v > INT32_MAX || cs_bus_state(x->eng, (int)v) != 1)
    return fail(x, SONO_E_UNKNOWN_BUS, "no bus %llu", (unsigned long long)v);
  if ((node = busnode_ctl_exposing((int)v)) != 0)
    return fail(x, SONO_E_BUSY, "bus %llu is exposed by graph node %u; node.delete it first",
                (unsigned long long)v, node);
  if ((rc = cs_bus_free(x->eng, (int)v, &e)) != 0)
    return cs_fail(x, rc, &e, SONO_E_UNKNOWN_BUS);
  state_note_bus_free(x->r->d, (int)v);
  msgpack_pack_map(pk, 0);
  return true;
}

static bool get_doubles(cx *x, const char *key, double **out, size_t *n) {
  const msgpack_object_array *a;
  sono_arg st = sono_get_array(x->args, key, &a);
  size_t i;

  if (st != SONO_ARG_OK)
    return missing(x, st, key, "an array of numbers");
  if (a->size == 0)
    return fail(x, SONO_E_BAD_VALUE, "'%s' must not be empty", key);
  if ((*out = malloc(a->size * sizeof **out)) == NULL)
    return fail(x, SONO_E_INTERNAL, "out of memory");
  for (i = 0; i < a->size; i++)
    if (!obj_number(&a->ptr[i], &(*out)[i])) {
      free(*out);
      return fail(x, SONO_E_BAD_TYPE, "'%s[%zu]' must be a finite number", key, i);
    }
  *n = a->size;
  return true;
}

static bool h_table_new(cx *x, msgpack_packer *pk) {
  uint64_t size = 0;
  double *data = NULL;
  size_t n = 0;
  bool has_size = sono_map_get(x->args, "size") != NULL;
  bool has_data = sono_map_get(x->args, "data") != NULL;
  int rc, tab = 0;
  cs_error e;

  if (has_size == has_data)
    return fail(x, SONO_E_BAD_REQUEST, "give 'size' or 'data' (one of them)");
  if (has_size && !get_uint(x, "size", true, &size))
    return false;
  if (has_data) {
    if (!get_doubles(x, "data", &data, &n))
      return false;
    size = n;
  }
  rc = cs_table_new(x->eng, (size_t)size, data, &tab, &e);
  if (rc == 0)
    state_note_table(x->r->d, tab, NULL, data, (size_t)size);
  free(data);
  if (rc != 0)
    return cs_fail(x, rc, &e, SONO_E_UNKNOWN_TABLE);
  msgpack_pack_map(pk, 2);
  sono_pack_key_uint(pk, "table", (uint64_t)tab);
  sono_pack_key_uint(pk, "size", size);
  return true;
}

static bool h_table_read(cx *x, msgpack_packer *pk) {
  const char *path;
  unsigned channels;
  double sr;
  int rc, tab = 0;
  cs_error e;

  if (!get_str(x, "path", true, &path))
    return false;
  if ((rc = cs_table_read(x->eng, path, &tab, &channels, &sr, &e)) != 0)
    return cs_fail(x, rc, &e, SONO_E_FILE_ERROR);
  state_note_table(x->r->d, tab, path, NULL, 0);
  msgpack_pack_map(pk, 3);
  sono_pack_key_uint(pk, "table", (uint64_t)tab);
  sono_pack_key_uint(pk, "channels", channels);
  sono_pack_key_double(pk, "sr", sr);
  return true;
}

static bool get_table(cx *x, int *tab) {
  uint64_t v;

  if (!get_uint(x, "table", true, &v))
    return false;
  if (v > INT32_MAX)
    return fail(x, SONO_E_UNKNOWN_TABLE, "no table %llu", (unsigned long long)v);
  *tab = (int)v;
  return true;
}

static bool h_table_get(cx *x, msgpack_packer *pk) {
  int tab = 0;
  uint64_t start = 0, count;
  long size;
  double *v;
  cs_error e;
  int rc;
  size_t i;

  if (!get_table(x, &tab) || !get_uint(x, "start", false, &start))
    return false;
  if ((size = cs_table_size(x->eng, tab, &e)) < 0)
    return cs_fail(x, (int)size, &e, SONO_E_UNKNOWN_TABLE);
  count = start < (uint64_t)size ? (uint64_t)size - start : 0;
  if (!get_uint(x, "count", false, &count))
    return false;
  if (count > 1u << 20)
    return fail(x, SONO_E_BAD_VALUE, "at most 1048576 values per table.get");
  if ((v = malloc((count ? count : 1) * sizeof *v)) == NULL)
    return fail(x, SONO_E_INTERNAL, "out of memory");
  if ((rc = cs_table_get(x->eng, tab, (size_t)start, v, (size_t)count, &e)) != 0) {
    free(v);
    return cs_fail(x, rc, &e, SONO_E_UNKNOWN_TABLE);
  }
  msgpack_pack_map(pk, 4);
  sono_pack_key_uint(pk, "table", (uint64_t)tab);
  sono_pack_key_uint(pk, "start", start);
  sono_pack_key_uint(pk, "size", (uint64_t)size);
  sono_pack_cstr(pk, "data");
  msgpack_pack_array(pk, (uint32_t)count);
  for (i = 0; i < count; i++)
    msgpack_pack_double(pk, v[i]);
  free(v);
  return true;
}

static bool h_table_set(cx *x, msgpack_packer *pk) {
  int tab = 0, rc;
  uint64_t start = 0, at, frame;
  double *data;
  size_t n;
  cs_error e;

  if (!get_table(x, &tab) || !get_uint(x, "start", false, &start) || !get_time(x, &at, &frame))
    return false;
  if (!get_doubles(x, "data", &data, &n))
    return false;
  rc = cs_table_set(x->eng, tab, (size_t)start, data, n, at, &e);
  free(data);
  if (rc != 0)
    return cs_fail(x, rc, &e, SONO_E_UNKNOWN_TABLE);
  session_changed(x->r->d);
  pack_frame(pk, frame);
  return true;
}

static bool h_table_free(cx *x, msgpack_packer *pk) {
  int tab = 0, rc;
  cs_error e;

  if (!get_table(x, &tab))
    return false;
  if ((rc = cs_table_free(x->eng, tab, &e)) != 0)
    return cs_fail(x, rc, &e, SONO_E_UNKNOWN_TABLE);
  state_note_table_free(x->r->d, tab);
  msgpack_pack_map(pk, 0);
  return true;
}

static bool h_event(cx *x, msgpack_packer *pk) {
  const char *line;
  uint64_t at, frame;
  cs_error e;
  int rc;

  if (!get_str(x, "line", true, &line) || !get_time(x, &at, &frame))
    return false;
  if ((rc = cs_event(x->eng, line, at, &e)) != 0)
    return cs_fail(x, rc, &e, SONO_E_UNKNOWN_INSTR);
  pack_frame(pk, frame);
  return true;
}

static bool h_score(cx *x, msgpack_packer *pk) {
  const char *text;
  uint64_t at, frame;
  cs_error e;
  int rc;

  if (!get_str(x, "text", true, &text) || !get_time(x, &at, &frame))
    return false;
  if ((rc = cs_score(x->eng, text, at, &e)) != 0)
    return cs_fail(x, rc, &e, SONO_E_UNKNOWN_INSTR);
  pack_frame(pk, frame);
  return true;
}

/* channel.set {name, value, at?|delay?} / channel.get {name}: Csound's named
 * control channels (the module's cs_channel.c says how they stay safe). */
static bool h_channel_set(cx *x, msgpack_packer *pk) {
  const char *name;
  double value = 0;
  uint64_t at, frame;
  cs_error e;
  int rc;

  if (!get_str(x, "name", true, &name) || !get_double(x, "value", true, &value) ||
      !get_time(x, &at, &frame))
    return false;
  if ((rc = cs_channel_set(x->eng, name, value, at, &e)) != 0)
    return cs_fail(x, rc, &e, SONO_E_INTERNAL);
  pack_frame(pk, frame);
  return true;
}

static bool h_channel_get(cx *x, msgpack_packer *pk) {
  const char *name;
  double value;
  cs_error e;
  int rc;

  if (!get_str(x, "name", true, &name))
    return false;
  if ((rc = cs_channel_get(x->eng, name, &value, &e)) != 0)
    return cs_fail(x, rc, &e, SONO_E_INTERNAL);
  msgpack_pack_map(pk, 2);
  sono_pack_key_str(pk, "name", name);
  sono_pack_key_double(pk, "value", value);
  return true;
}

/* ---- running a handler ---- */

typedef bool (*handler)(cx *x, msgpack_packer *pk);

static void cx_init(cx *x, request *r, const msgpack_object *args, const char *op) {
  memset(x, 0, sizeof *x);
  x->r = r;
  x->args = args;
  x->op = op;
  x->eng = csound_ctl_engine();
}

static void cx_done(cx *x) {
  while (x->ndups > 0)
    free(x->dups[--x->ndups]);
}

static void pack_error_map(msgpack_packer *pk, const cx *x) {
  msgpack_pack_map(pk, x->line > 0 ? 3 : 2);
  sono_pack_key_str(pk, "code", x->code);
  sono_pack_key_str(pk, "message", x->msg);
  if (x->line > 0)
    sono_pack_key_uint(pk, "line", (uint64_t)x->line);
}

static void run(request *r, handler h) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  cx x;

  cx_init(&x, r, r->args, r->op);
  if (x.eng == NULL) {
    reply_error(r->c, true, r->id, SONO_E_NOT_SUPPORTED, "%s: the Csound engine is not running",
                r->op);
    return;
  }
  reply_begin(&sb, &pk, r->id);
  if (h(&x, &pk)) {
    reply_end(r->c, &sb);
  } else {
    msgpack_sbuffer_destroy(&sb);
    sono_msg_begin(&sb, &pk);
    msgpack_pack_map(&pk, 2);
    sono_pack_key_uint(&pk, "id", r->id);
    sono_pack_cstr(&pk, "error");
    pack_error_map(&pk, &x);
    reply_end(r->c, &sb);
  }
  cx_done(&x);
  /* Compiles print on this thread; starts may already have notices. */
  csound_ctl_poll(r->d);
}

#define OP(fn, h) \
  void fn(request *r) { run(r, h); }

OP(op_csound_compile, h_compile)
OP(op_instr_define, h_instr_define)
OP(op_instr_list, h_instr_list)
OP(op_instr_undefine, h_instr_undefine)
OP(op_synth_start, h_synth_start)
OP(op_synth_set, h_synth_set)
OP(op_synth_automate, h_synth_automate)
OP(op_synth_stop, h_synth_stop)
OP(op_synth_list, h_synth_list)
OP(op_synth_get, h_synth_get)
OP(op_bus_new, h_bus_new)
OP(op_bus_set, h_bus_set)
OP(op_bus_get, h_bus_get)
OP(op_bus_free, h_bus_free)
OP(op_table_new, h_table_new)
OP(op_table_read, h_table_read)
OP(op_table_get, h_table_get)
OP(op_table_set, h_table_set)
OP(op_table_free, h_table_free)
OP(op_csound_event, h_event)
OP(op_csound_score, h_score)
OP(op_channel_set, h_channel_set)
OP(op_channel_get, h_channel_get)

/* bundle {at?|delay?, ops: [{op, ...}]}: every member at the bundle's
 * frame, in order; ok {frame, results: [{ok: ...} | {error: {...}}]}. */
static bool h_bundle(cx *x, msgpack_packer *pk) {
  static const struct {
    const char *name;
    handler h;
  } members[] = {
    { "synth.start", h_synth_start },
    { "synth.set", h_synth_set },
    { "synth.automate", h_synth_automate },
    { "synth.stop", h_synth_stop },
  };
  const msgpack_object_array *ops;
  sono_arg st;
  uint64_t at, frame;
  uint32_t i;
  size_t k;

  if ((st = sono_get_array(x->args, "ops", &ops)) != SONO_ARG_OK)
    return missing(x, st, "ops", "an array of maps");
  if (!get_time(x, &at, &frame))
    return false;
  for (i = 0; i < ops->size; i++) {
    const msgpack_object *o = &ops->ptr[i];
    const msgpack_object *name = o->type == MSGPACK_OBJECT_MAP ? sono_map_get(o, "op") : NULL;

    if (name == NULL)
      return fail(x, SONO_E_BAD_TYPE, "ops[%u] must be a map with 'op'", i);
    for (k = 0; k < sizeof members / sizeof members[0]; k++)
      if (sono_str_eq(name, members[k].name))
        break;
    if (k == sizeof members / sizeof members[0])
      return fail(x, SONO_E_BAD_VALUE,
                  "ops[%u]: a bundle holds synth.start, synth.set, synth.automate and "
                  "synth.stop", i);
    /* Refused whole, before any member runs: a member timed on its own
     * would otherwise leave the rest of the chord applied without it. */
    if (sono_map_get(o, "at") != NULL || sono_map_get(o, "delay") != NULL)
      return fail(x, SONO_E_BAD_REQUEST,
                  "ops[%u]: a bundle member takes its time from the bundle (no 'at' or "
                  "'delay' of its own)", i);
  }
  msgpack_pack_map(pk, 2);
  sono_pack_key_uint(pk, "frame", frame);
  sono_pack_cstr(pk, "results");
  msgpack_pack_array(pk, ops->size);
  for (i = 0; i < ops->size; i++) {
    const msgpack_object *o = &ops->ptr[i];
    msgpack_sbuffer sub;
    msgpack_packer spk;
    cx y;

    for (k = 0; !sono_str_eq(sono_map_get(o, "op"), members[k].name); k++)
      ;
    cx_init(&y, x->r, o, members[k].name);
    y.in_bundle = true;
    y.at_cs = at;
    y.frame = frame;
    msgpack_sbuffer_init(&sub);
    msgpack_packer_init(&spk, &sub, msgpack_sbuffer_write);
    msgpack_pack_map(pk, 1);
    if (members[k].h(&y, &spk)) {
      sono_pack_cstr(pk, "ok");
      msgpack_sbuffer_write(pk->data, sub.data, sub.size);
    } else {
      sono_pack_cstr(pk, "error");
      pack_error_map(pk, &y);
    }
    msgpack_sbuffer_destroy(&sub);
    cx_done(&y);
  }
  return true;
}

OP(op_bundle, h_bundle)
