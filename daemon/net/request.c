/* request.c - from a frame's bytes to a handler call. */
#include "daemon/net/request.h"

#include <math.h>
#include <string.h>

#include "daemon/net/reply.h"
#include "protocol/errors.h"
#include "protocol/scan.h"
#include "protocol/wire.h"

/* The table is the ops layer's (ops/ops.c), handed in by main: the
 * connection layer dispatches without knowing any operation. */
static const op_entry *find_op(const sonod *d, const char *name, size_t len) {
  const op_entry *e;

  for (e = d->ops; e->name != NULL; e++)
    if (strlen(e->name) == len && memcmp(e->name, name, len) == 0)
      return e;
  return NULL;
}

void request_handle(client *c, const char *payload, size_t len) {
  msgpack_unpacked msg;
  size_t off = 0;
  msgpack_unpack_return ret;
  const msgpack_object *idv;
  const char *op;
  size_t oplen;
  const op_entry *e;
  char opname[64];
  request r;
  sono_scan_result sr;
  int scan;
  const msgpack_object *dup;
  bool dup_top;

  if (len == 0) {
    reply_error(c, false, 0, SONO_E_BAD_REQUEST, "empty frame");
    return;
  }
  /* Checked before msgpack-c sees it: its unpacker allocates what a
   * container's header announces (protocol/scan.h). */
  scan = sono_scan(payload, len, &sr);
  if (scan != SONO_SCAN_OK) {
    reply_error(c, false, 0, SONO_E_BAD_MSGPACK, "%s (at byte %zu)", sono_scan_strerror(scan),
                sr.at);
    return;
  }
  msgpack_unpacked_init(&msg);
  ret = msgpack_unpack_next(&msg, payload, len, &off);
  if (ret != MSGPACK_UNPACK_SUCCESS) {
    reply_error(c, false, 0, SONO_E_BAD_MSGPACK,
                ret == MSGPACK_UNPACK_CONTINUE ? "payload ends inside a msgpack value"
                                               : "payload is not valid msgpack");
    goto done;
  }
  if (off != len) {
    reply_error(c, false, 0, SONO_E_BAD_MSGPACK,
                "%zu bytes after the request map", len - off);
    goto done;
  }
  if (msg.data.type != MSGPACK_OBJECT_MAP) {
    reply_error(c, false, 0, SONO_E_BAD_REQUEST, "a request must be a msgpack map");
    goto done;
  }
  /* One value per key, in every map: sono_map_get would take the first of
   * two, a client in another language maybe the last. */
  switch (sono_dup_key(&msg.data, &dup, &dup_top)) {
  case 1:
    idv = sono_map_get(&msg.data, "id");
    if (dup_top && sono_str_eq(dup, "id"))
      idv = NULL;
    reply_error(c, idv != NULL && idv->type == MSGPACK_OBJECT_POSITIVE_INTEGER,
                idv != NULL ? idv->via.u64 : 0, SONO_E_BAD_REQUEST,
                "the key '%.*s' appears twice in one map%s", (int)(dup->via.str.size > 64 ? 64 : dup->via.str.size),
                dup->via.str.ptr, dup_top ? " (the request)" : "");
    goto done;
  case -1:
    reply_error(c, false, 0, SONO_E_INTERNAL, "out of memory checking the request's keys");
    goto done;
  default:
    break;
  }
  idv = sono_map_get(&msg.data, "id");
  if (idv == NULL || idv->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
    reply_error(c, false, 0, SONO_E_BAD_REQUEST,
                idv == NULL ? "request has no 'id'" : "'id' must be an unsigned integer");
    goto done;
  }
  switch (sono_get_str(&msg.data, "op", &op, &oplen)) {
  case SONO_ARG_MISSING:
    reply_error(c, true, idv->via.u64, SONO_E_BAD_REQUEST, "request has no 'op'");
    goto done;
  case SONO_ARG_BAD_TYPE:
    reply_error(c, true, idv->via.u64, SONO_E_BAD_REQUEST, "'op' must be a string");
    goto done;
  default:
    break;
  }
  /* Before find_op: a stranger learns nothing, not even which ops exist. */
  if (!c->authed && !(oplen == 5 && memcmp(op, "hello", 5) == 0)) {
    reply_error(c, true, idv->via.u64, SONO_E_UNAUTHORIZED,
                "this TCP connection must first authenticate: hello {version, token}");
    goto done;
  }
  e = find_op(c->d, op, oplen);
  if (e == NULL) {
    reply_error(c, true, idv->via.u64, SONO_E_UNKNOWN_OP, "unknown op '%.*s'",
                (int)(oplen > 64 ? 64 : oplen), op);
    goto done;
  }
  if (c->d->stopping) {
    reply_error(c, true, idv->via.u64, SONO_E_SHUTTING_DOWN, "the daemon is shutting down");
    goto done;
  }
  snprintf(opname, sizeof opname, "%s", e->name);
  r.d = c->d;
  r.c = c;
  r.id = idv->via.u64;
  r.op = opname;
  r.args = &msg.data;
  r.payload = payload;
  r.len = len;
  e->fn(&r);
done:
  msgpack_unpacked_destroy(&msg);
}

static bool arg_fail(request *r, sono_arg st, const char *key, const char *type) {
  if (st == SONO_ARG_MISSING)
    reply_error(r->c, true, r->id, SONO_E_MISSING_FIELD, "%s: '%s' is required", r->op, key);
  else
    reply_error(r->c, true, r->id, SONO_E_BAD_TYPE, "%s: '%s' must be %s", r->op, key, type);
  return false;
}

#define ARG_BODY(call, type)                                   \
  sono_arg st = call;                                          \
  if (st == SONO_ARG_OK || (st == SONO_ARG_MISSING && !required)) \
    return true;                                               \
  return arg_fail(r, st, key, type)

bool arg_uint(request *r, const char *key, bool required, uint64_t *out) {
  ARG_BODY(sono_get_uint(r->args, key, out), "an unsigned integer");
}

bool arg_int(request *r, const char *key, bool required, int64_t *out) {
  ARG_BODY(sono_get_int(r->args, key, out), "an integer");
}

bool arg_double(request *r, const char *key, bool required, double *out) {
  double v;
  sono_arg st = sono_get_double(r->args, key, &v);

  if (st == SONO_ARG_OK) {
    if (!isfinite(v)) {
      reply_error(r->c, true, r->id, SONO_E_BAD_VALUE, "%s: '%s' must be finite", r->op, key);
      return false;
    }
    *out = v;
    return true;
  }
  if (st == SONO_ARG_MISSING && !required)
    return true;
  return arg_fail(r, st, key, "a number");
}

bool arg_bool(request *r, const char *key, bool required, bool *out) {
  ARG_BODY(sono_get_bool(r->args, key, out), "a boolean");
}

bool arg_str(request *r, const char *key, bool required, const char **out, size_t *len) {
  ARG_BODY(sono_get_str(r->args, key, out, len), "a string");
}

bool arg_array(request *r, const char *key, bool required, const msgpack_object_array **out) {
  ARG_BODY(sono_get_array(r->args, key, out), "an array");
}

bool arg_time(request *r, rt_cmd *c) {
  bool has_at = sono_map_get(r->args, "at") != NULL;
  bool has_delay = sono_map_get(r->args, "delay") != NULL;
  double delay = 0;

  c->at_kind = RT_AT_NOW;
  c->at = 0;
  if (has_at && has_delay) {
    reply_error(r->c, true, r->id, SONO_E_BAD_REQUEST, "%s: give 'at' or 'delay', not both", r->op);
    return false;
  }
  if (has_at) {
    uint64_t now = engine_clock(&r->d->eng);
    uint64_t year = (uint64_t)r->d->eng.sample_rate * 86400u * 365u;

    if (!arg_uint(r, "at", true, &c->at))
      return false;
    /* As for delay: a timed request waits at most a year, so no client
     * can park entries in the audio thread's queue forever. */
    if (c->at > now + year) {
      reply_error(r->c, true, r->id, SONO_E_BAD_VALUE,
                  "%s: 'at' must be at most a year ahead of the engine's frame %llu", r->op,
                  (unsigned long long)now);
      return false;
    }
    c->at_kind = RT_AT_ABS;
  }
  if (has_delay) {
    if (!arg_double(r, "delay", true, &delay))
      return false;
    if (delay < 0 || delay > 86400.0 * 365) {
      reply_error(r->c, true, r->id, SONO_E_BAD_VALUE,
                  "%s: 'delay' must be from 0 to a year of seconds", r->op);
      return false;
    }
    c->at_kind = RT_AT_REL;
    c->at = (uint64_t)llround(delay * r->d->eng.sample_rate);
  }
  return true;
}
