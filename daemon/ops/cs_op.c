/* cs_op.c - runs a row of the Csound op tables (cs_op.h): reads its
 * arguments, makes its engine call, packs its reply or its error.  The
 * engine itself is daemon/csound/; its lifetime and events are in
 * modules/csound_ctl.c. */
#include "daemon/ops/cs_op.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/modules/csound_ctl.h"
#include "daemon/ops/cs_room.h"
#include "daemon/net/client.h"
#include "daemon/net/reply.h"
#include "protocol/errors.h"
#include "protocol/wire.h"

bool cs_op_fail(cs_cx *x, const char *code, const char *fmt, ...) {
  va_list ap;
  int n;

  x->code = code;
  n = snprintf(x->msg, sizeof x->msg, "%s: ", x->op);
  va_start(ap, fmt);
  vsnprintf(x->msg + n, sizeof x->msg - (size_t)n, fmt, ap);
  va_end(ap);
  return false;
}

#define fail cs_op_fail

/* A refusal of the Csound module as a protocol error. */
static bool cs_fail(cs_cx *x, int rc, const cs_error *e, const char *enoent) {
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
    x->line = e->line;    /* code refused before Csound saw it: the line, when known */
    break;
  case CS_EIO:
    code = SONO_E_FILE_ERROR;
    break;
  case CS_ELIMIT:
    code = SONO_E_LIMIT;
    break;
  case CS_EDENIED:
    code = SONO_E_DENIED;
    x->line = e->line;
    break;
  default:
    code = SONO_E_INTERNAL;
    break;
  }
  return fail(x, code, "%s", e->msg);
}

bool cs_ok(cs_cx *x, int rc) {
  return rc == 0 || cs_fail(x, rc, &x->e, x->row->enoent);
}

/* ---- argument readers ---- */

static bool missing(cs_cx *x, sono_arg st, const char *key, const char *type) {
  if (st == SONO_ARG_MISSING)
    return fail(x, SONO_E_MISSING_FIELD, "'%s' is required", key);
  return fail(x, SONO_E_BAD_TYPE, "'%s' must be %s", key, type);
}

/* A string argument as a NUL-terminated copy owned by x. */
static bool get_str(cs_cx *x, const char *key, bool required, const char **out) {
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
  if (x->ndups == CS_OP_MAX_DUPS || (p = strndup(s, len)) == NULL)
    return fail(x, SONO_E_INTERNAL, "out of memory");
  x->dups[x->ndups++] = p;
  *out = p;
  return true;
}

static bool get_uint(cs_cx *x, const char *key, bool required, uint64_t *out) {
  sono_arg st = sono_get_uint(x->args, key, out);

  if (st == SONO_ARG_OK || (st == SONO_ARG_MISSING && !required))
    return true;
  return missing(x, st, key, "an unsigned integer");
}

static bool get_int(cs_cx *x, const char *key, bool required, int64_t *out) {
  sono_arg st = sono_get_int(x->args, key, out);

  if (st == SONO_ARG_OK || (st == SONO_ARG_MISSING && !required))
    return true;
  return missing(x, st, key, "an integer");
}

static bool get_bool(cs_cx *x, const char *key, bool required, bool *out) {
  sono_arg st = sono_get_bool(x->args, key, out);

  if (st == SONO_ARG_OK || (st == SONO_ARG_MISSING && !required))
    return true;
  return missing(x, st, key, "a boolean");
}

static bool get_double(cs_cx *x, const char *key, bool required, double *out) {
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

/* The code for a value cs_op_number refused: a float that is not finite is
 * out of range (bad_value, as arg_double says), anything else the wrong
 * type. */
const char *cs_op_number_code(const msgpack_object *o) {
  return o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64 ? SONO_E_BAD_VALUE
                                                                               : SONO_E_BAD_TYPE;
}

bool cs_op_number(const msgpack_object *o, double *v) {
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
static bool get_args(cs_cx *x, const char *key, bool required, cs_arg *out, unsigned *n) {
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
  if (m->via.map.size > CS_OP_MAX_ARGS)
    return fail(x, SONO_E_BAD_VALUE, "'%s' has more than %d entries", key, CS_OP_MAX_ARGS);
  for (i = 0; i < m->via.map.size; i++) {
    const msgpack_object_kv *kv = &m->via.map.ptr[i];
    char *name;

    if (kv->key.type != MSGPACK_OBJECT_STR)
      return fail(x, SONO_E_BAD_TYPE, "the keys of '%s' must be strings", key);
    if (!cs_op_number(&kv->val, &out[i].value))
      return fail(x, cs_op_number_code(&kv->val), "'%s.%.*s' must be a finite number", key,
                  (int)kv->key.via.str.size, kv->key.via.str.ptr);
    if (x->ndups == CS_OP_MAX_DUPS ||
        (name = strndup(kv->key.via.str.ptr, kv->key.via.str.size)) == NULL)
      return fail(x, SONO_E_BAD_VALUE, "too many names in one request");
    x->dups[x->ndups++] = name;
    out[i].name = name;
  }
  *n = m->via.map.size;
  return true;
}

static bool get_array(cs_cx *x, const char *key, const char *what,
                      const msgpack_object_array **out) {
  sono_arg st = sono_get_array(x->args, key, out);

  return st == SONO_ARG_OK || missing(x, st, key, what);
}

/* A non-empty array of numbers into a->data (freed with the op). */
static bool get_nums(cs_cx *x, const char *key, bool required, cs_io *a) {
  const msgpack_object_array *arr;
  sono_arg st = sono_get_array(x->args, key, &arr);
  size_t i;

  if (st == SONO_ARG_MISSING && !required)
    return true;
  if (st != SONO_ARG_OK)
    return missing(x, st, key, "an array of numbers");
  if (arr->size == 0)
    return fail(x, SONO_E_BAD_VALUE, "'%s' must not be empty", key);
  if ((a->data = malloc(arr->size * sizeof *a->data)) == NULL)
    return fail(x, SONO_E_INTERNAL, "out of memory");
  for (i = 0; i < arr->size; i++)
    if (!cs_op_number(&arr->ptr[i], &a->data[i]))
      return fail(x, cs_op_number_code(&arr->ptr[i]), "'%s[%zu]' must be a finite number", key, i);
  a->ndata = arr->size;
  return true;
}

/* at / delay -> the module's frame (at_cs) and the engine frame (frame). */
static bool get_time(cs_cx *x, uint64_t *at_cs, uint64_t *frame) {
  bool has_at = sono_map_get(x->args, "at") != NULL;
  bool has_delay = sono_map_get(x->args, "delay") != NULL;
  uint64_t now, at;
  double delay = 0;

  if (x->in_bundle) {
    /* The bundle refused members with a time of their own. */
    *at_cs = x->at_cs;
    *frame = x->frame;
    return true;
  }
  now = at = csound_ctl_now(x->r->d);
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

static bool get_synth(cs_cx *x, cs_synth_id *id) {
  uint64_t v;

  if (!get_uint(x, "synth", true, &v))
    return false;
  if (cs_synth_instr(x->eng, v) == NULL)
    return fail(x, SONO_E_UNKNOWN_SYNTH, "synth %llu does not exist or has ended",
                (unsigned long long)v);
  *id = v;
  return true;
}

static bool get_bus(cs_cx *x, int *bus) {
  uint64_t v;

  if (!get_uint(x, "bus", true, &v))
    return false;
  if (v > INT32_MAX || cs_bus_state(x->eng, (int)v) != 1)
    return fail(x, SONO_E_UNKNOWN_BUS, "no bus %llu", (unsigned long long)v);
  *bus = (int)v;
  return true;
}

static bool get_table(cs_cx *x, int *tab) {
  uint64_t v;

  if (!get_uint(x, "table", true, &v))
    return false;
  if (v > INT32_MAX)
    return fail(x, SONO_E_UNKNOWN_TABLE, "no table %llu", (unsigned long long)v);
  *tab = (int)v;
  return true;
}

bool cs_op_check_params(cs_cx *x, const char *instr, const cs_arg *a, unsigned n) {
  unsigned i;

  for (i = 0; i < n; i++)
    if (!cs_instr_has_param(x->eng, instr, a[i].name))
      return fail(x, SONO_E_UNKNOWN_PARAM, "instrument '%s' has no parameter '%s'", instr,
                  a[i].name);
  return true;
}

void cs_op_pack_params(cs_cx *x, cs_io *a, msgpack_packer *pk) {
  const char *pn;
  double def;
  uint32_t n = 0, i;

  while (cs_instr_param(x->eng, a->instr, n, &pn, &def) == 0)
    n++;
  msgpack_pack_map(pk, n);
  for (i = 0; i < n; i++) {
    double v;

    cs_instr_param(x->eng, a->instr, i, &pn, &def);
    v = def;
    if (a->synth != 0)
      cs_synth_get(x->eng, a->synth, pn, &v, NULL);
    sono_pack_key_double(pk, pn, v);
  }
}

/* ---- running a row ---- */

static void *field(cs_io *a, size_t off) {
  return (char *)a + off;
}

static void set_default(cs_io *a, const cs_in *in) {
  switch (in->kind) {
  case CS_IN_STR:
    *(const char **)field(a, in->off) = in->sdef;
    break;
  case CS_IN_UINT:
    *(uint64_t *)field(a, in->off) = (uint64_t)in->idef;
    break;
  case CS_IN_INT:
    *(int64_t *)field(a, in->off) = in->idef;
    break;
  case CS_IN_DOUBLE:
    *(double *)field(a, in->off) = in->ddef;
    break;
  case CS_IN_BOOL:
    *(bool *)field(a, in->off) = in->idef != 0;
    break;
  default:
    break;
  }
}

static bool read_in(cs_cx *x, cs_io *a, const cs_in *in) {
  void *f = field(a, in->off);

  switch (in->kind) {
  case CS_IN_STR:
    return get_str(x, in->key, in->required, f);
  case CS_IN_UINT:
    return get_uint(x, in->key, in->required, f);
  case CS_IN_INT:
    return get_int(x, in->key, in->required, f);
  case CS_IN_DOUBLE:
    return get_double(x, in->key, in->required, f);
  case CS_IN_BOOL:
    return get_bool(x, in->key, in->required, f);
  case CS_IN_ARGS:
    return get_args(x, in->key, in->required, a->args, &a->nargs);
  case CS_IN_ARRAY:
    return get_array(x, in->key, in->what, f);
  case CS_IN_NUMS:
    return get_nums(x, in->key, in->required, a);
  case CS_IN_SYNTH:
    return get_synth(x, &a->synth);
  case CS_IN_BUS:
    return get_bus(x, &a->bus);
  case CS_IN_TABLE:
    return get_table(x, &a->table);
  case CS_IN_TIME:
    return get_time(x, &a->at, &a->frame);
  case CS_IN_CHECK:
    return in->fn(x, a);
  case CS_IN_END:
    break;
  }
  return true;
}

/* Whether entry o is in the reply (an empty OUT_TEXT_OPT is left out). */
static bool out_present(cs_io *a, const cs_out *o) {
  return o->kind != CS_OUT_TEXT_OPT || ((const char *)field(a, o->off))[0] != '\0';
}

/* The number of entries of row's reply. */
static uint32_t out_count(cs_io *a, const cs_op *row) {
  const cs_out *o;
  uint32_t n = 0;

  for (o = row->out; o->kind != CS_OUT_END; o++)
    n += out_present(a, o);
  return n;
}

static void pack_out(cs_cx *x, cs_io *a, const cs_out *o, msgpack_packer *pk) {
  void *f = field(a, o->off);

  if (!out_present(a, o))
    return;
  sono_pack_cstr(pk, o->key);
  switch (o->kind) {
  case CS_OUT_U64:
    msgpack_pack_uint64(pk, *(uint64_t *)f);
    break;
  case CS_OUT_INT:
    msgpack_pack_uint64(pk, (uint64_t)*(int *)f);
    break;
  case CS_OUT_UNSIGNED:
    msgpack_pack_uint64(pk, *(unsigned *)f);
    break;
  case CS_OUT_DOUBLE:
    msgpack_pack_double(pk, *(double *)f);
    break;
  case CS_OUT_STR:
    sono_pack_cstr(pk, *(const char **)f);
    break;
  case CS_OUT_PACK:
    o->pack(x, a, pk);
    break;
  case CS_OUT_TEXT_OPT:
    sono_pack_cstr(pk, (const char *)f);
    break;
  case CS_OUT_END:
    break;
  }
}

/* Reads, calls, packs one ok value; false with x->code set on failure. */
static bool exec(cs_cx *x, msgpack_packer *pk) {
  const cs_op *row = x->row;
  cs_io *a = &x->io;
  const cs_in *in;
  const cs_out *o;

  for (in = row->in; in->kind != CS_IN_END; in++)
    set_default(a, in);
  for (in = row->in; in->kind != CS_IN_END; in++)
    if (!read_in(x, a, in))
      return false;
  if (row->call != NULL && !row->call(x, a))
    return false;
  if (x->deferred)   /* packed when it ends */
    return true;
  msgpack_pack_map(pk, out_count(a, row));
  for (o = row->out; o->kind != CS_OUT_END; o++)
    pack_out(x, a, o, pk);
  return true;
}

static void cx_init(cs_cx *x, request *r, const cs_op *row, const msgpack_object *args) {
  memset(x, 0, sizeof *x);
  x->r = r;
  x->args = args;
  x->op = row->name;
  x->row = row;
  x->eng = csound_ctl_engine();
}

static void cx_done(cs_cx *x) {
  if (x->ran != NULL)
    x->ran->release(x->ran);
  while (x->ndups > 0)
    free(x->dups[--x->ndups]);
  free(x->io.data);
}

static void pack_error_map(msgpack_packer *pk, const cs_cx *x) {
  msgpack_pack_map(pk, x->line > 0 ? 3 : 2);
  sono_pack_key_str(pk, "code", x->code);
  sono_pack_key_str(pk, "message", x->msg);
  if (x->line > 0)
    sono_pack_key_uint(pk, "line", (uint64_t)x->line);
}

static void send_error(client *c, uint64_t id, const cs_cx *x) {
  msgpack_sbuffer sb;
  msgpack_packer pk;

  sono_msg_begin(&sb, &pk);
  msgpack_pack_map(&pk, 2);
  sono_pack_key_uint(&pk, "id", id);
  sono_pack_cstr(&pk, "error");
  pack_error_map(&pk, x);
  reply_end(c, &sb);
}

/* The deferred answer to request id of client c: row's reply from io when
 * rc is 0, else the engine's refusal e as row's error. */
static void finish(client *c, uint64_t id, const cs_op *row, int rc, const cs_error *e,
                   cs_io *io) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  const cs_out *o;
  cs_cx x;

  memset(&x, 0, sizeof x);
  x.op = row->name;
  x.row = row;
  x.eng = csound_ctl_engine();
  if (rc != 0) {
    x.e = *e;
    cs_ok(&x, rc);
    send_error(c, id, &x);
    return;
  }
  reply_begin(&sb, &pk, id);
  msgpack_pack_map(&pk, out_count(io, row));
  for (o = row->out; o->kind != CS_OUT_END; o++)
    pack_out(&x, io, o, &pk);
  reply_end(c, &sb);
}

static void deferred_run(uv_work_t *work) {
  cs_deferred *w = work->data;

  w->run(w);
  csound_ctl_work_end();
}

static void deferred_after(uv_work_t *work, int status) {
  cs_deferred *w = work->data;
  client *c = client_find(w->d, w->client);
  cs_error e;
  cs_io io;
  int rc;

  (void)status;
  memset(&e, 0, sizeof e);
  memset(&io, 0, sizeof io);
  if (csound_ctl_engine() == NULL) {   /* shut down meanwhile */
    w->discard(w);
  } else {
    while (w->again != NULL && w->again(w)) {
      /* One more parse for the same request: back to a worker. */
      csound_ctl_work_begin();
      if (uv_queue_work(w->d->loop, &w->work, deferred_run, deferred_after) == 0)
        return;   /* its client stays held */
      csound_ctl_work_end();
      w->run(w);   /* no worker: here */
    }
    rc = w->end(w, &io, &e);
    if (c != NULL)
      finish(c, w->id, w->row, rc, &e, &io);
    csound_ctl_poll(w->d);   /* what Csound printed */
  }
  if (c != NULL)
    client_resume(c);
  w->release(w);
}

bool cs_op_args_copy(cs_arg *to, const cs_arg *from, unsigned n) {
  unsigned i;

  for (i = 0; i < n; i++) {
    to[i].value = from[i].value;
    if ((to[i].name = strdup(from[i].name)) == NULL) {
      cs_op_args_free(to, i);
      return false;
    }
  }
  return true;
}

void cs_op_args_free(cs_arg *a, unsigned n) {
  while (n > 0)
    free((char *)a[--n].name);
}

bool cs_op_defer(cs_cx *x, cs_deferred *w) {
  int rc;

  w->work.data = w;
  w->d = x->r->d;
  w->client = x->r->c->id;
  w->id = x->r->id;
  w->row = x->row;
  csound_ctl_work_begin();
  if (uv_queue_work(x->r->d->loop, &w->work, deferred_run, deferred_after) == 0) {
    client_hold(x->r->c);
    x->deferred = true;
    return true;
  }
  csound_ctl_work_end();
  /* No worker: here, its results in the op's own io (what they point to
   * is released with the op, once the reply is packed). */
  w->run(w);
  while (w->again != NULL && w->again(w))
    w->run(w);
  rc = w->end(w, &x->io, &x->e);
  x->ran = w;
  return cs_ok(x, rc);
}

void cs_op_run(request *r, const cs_op *row) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  cs_cx x;

  cx_init(&x, r, row, r->args);
  if (x.eng == NULL) {
    reply_error(r->c, true, r->id, SONO_E_NOT_SUPPORTED, "%s: the Csound engine is not running",
                r->op);
    return;
  }
  if (!cs_room_admit(r, x.eng)) {   /* runs again once the queue has room */
    cx_done(&x);
    return;
  }
  reply_begin(&sb, &pk, r->id);
  if (exec(&x, &pk) && !x.deferred) {
    reply_end(r->c, &sb);
  } else {
    msgpack_sbuffer_destroy(&sb);
    if (!x.deferred)
      send_error(r->c, r->id, &x);
  }
  cx_done(&x);
  /* Compiles print on this thread; starts may already have notices. */
  csound_ctl_poll(r->d);
}

void cs_op_member(request *r, const cs_op *row, const msgpack_object *args, uint64_t at_cs,
                  uint64_t frame, msgpack_packer *pk) {
  msgpack_sbuffer sub;
  msgpack_packer spk;
  cs_cx y;

  cx_init(&y, r, row, args);
  y.in_bundle = true;
  y.at_cs = at_cs;
  y.frame = frame;
  msgpack_sbuffer_init(&sub);
  msgpack_packer_init(&spk, &sub, msgpack_sbuffer_write);
  msgpack_pack_map(pk, 1);
  if (exec(&y, &spk)) {
    sono_pack_cstr(pk, "ok");
    msgpack_sbuffer_write(pk->data, sub.data, sub.size);
  } else {
    sono_pack_cstr(pk, "error");
    pack_error_map(pk, &y);
  }
  msgpack_sbuffer_destroy(&sub);
  cx_done(&y);
}
