/* reply.c - decoding received messages and reading their fields. */
#include "sono_internal.h"

#include "protocol/wire.h"

#include <stdlib.h>
#include <string.h>

void sono_reply_free(sono_reply *r) {
  if (r == NULL)
    return;
  msgpack_unpacked_destroy(&r->up);
  free(r->buf);
  free(r);
}

/* A NUL-terminated copy of a string object, in the reply's own zone. */
static char *zone_strdup(sono_reply *r, const msgpack_object *o) {
  char *s = msgpack_zone_malloc(r->up.zone, o->via.str.size + 1);

  if (s != NULL) {
    memcpy(s, o->via.str.ptr, o->via.str.size);
    s[o->via.str.size] = '\0';
  }
  return s;
}

static sono_reply *bad(sono_reply *r, sono_error *e, const char *why) {
  sono_err_set(e, SONO_ERR_PROTOCOL, 0, "protocol_error",
               "malformed message from the server: %s", why);
  sono_reply_free(r);
  return NULL;
}

sono_reply *sono_reply_parse(const char *payload, size_t len, sono_error *e) {
  sono_reply *r = calloc(1, sizeof *r);
  const msgpack_object *v, *code, *msg;
  size_t off = 0;

  if (r == NULL || (r->buf = malloc(len ? len : 1)) == NULL) {
    free(r);
    sono_err_set(e, SONO_ERR_NOMEM, 0, "out_of_memory", "out of memory");
    return NULL;
  }
  memcpy(r->buf, payload, len);
  msgpack_unpacked_init(&r->up);
  if (msgpack_unpack_next(&r->up, r->buf, len, &off) != MSGPACK_UNPACK_SUCCESS)
    return bad(r, e, "not msgpack");
  if (off != len)
    return bad(r, e, "trailing bytes");
  r->root = &r->up.data;
  if (r->root->type != MSGPACK_OBJECT_MAP)
    return bad(r, e, "not a map");

  v = sono_map_get(r->root, "event");
  if (v != NULL) {
    if (v->type != MSGPACK_OBJECT_STR)
      return bad(r, e, "'event' is not a string");
    r->is_event = true;
    r->kind = zone_strdup(r, v);
    r->body = r->root;
    if (r->kind == NULL)
      return bad(r, e, "out of memory");
    return r;
  }

  v = sono_map_get(r->root, "id");
  if (v != NULL && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
    r->has_id = true;
    r->id = v->via.u64;
  } else if (v == NULL || v->type != MSGPACK_OBJECT_NIL) {
    return bad(r, e, "reply without a valid 'id'");
  }

  if ((v = sono_map_get(r->root, "ok")) != NULL) {
    if (v->type != MSGPACK_OBJECT_MAP)
      return bad(r, e, "'ok' is not a map");
    r->body = v;
    return r;
  }
  if ((v = sono_map_get(r->root, "error")) != NULL) {
    if (v->type != MSGPACK_OBJECT_MAP)
      return bad(r, e, "'error' is not a map");
    code = sono_map_get(v, "code");
    msg = sono_map_get(v, "message");
    if (code == NULL || code->type != MSGPACK_OBJECT_STR)
      return bad(r, e, "error without a 'code' string");
    r->is_error = true;
    r->body = v;
    r->err_code = zone_strdup(r, code);
    r->err_message = msg != NULL && msg->type == MSGPACK_OBJECT_STR
                         ? zone_strdup(r, msg) : NULL;
    if (r->err_code == NULL)
      return bad(r, e, "out of memory");
    return r;
  }
  return bad(r, e, "neither 'event', 'ok' nor 'error'");
}

uint64_t sono_reply_id(const sono_reply *r) { return r->id; }
bool sono_reply_is_error(const sono_reply *r) { return r->is_error; }
const msgpack_object *sono_reply_root(const sono_reply *r) { return r->root; }
const msgpack_object *sono_reply_body(const sono_reply *r) { return r->body; }

const char *sono_reply_error_code(const sono_reply *r) {
  return r->is_error ? r->err_code : NULL;
}

const char *sono_reply_error_message(const sono_reply *r) {
  if (!r->is_error)
    return NULL;
  return r->err_message ? r->err_message : "";
}

/* ---- getters on any map */

const msgpack_object *sono_obj_get(const msgpack_object *map, const char *key) {
  return sono_map_get(map, key);
}

int sono_obj_uint(const msgpack_object *map, const char *key, uint64_t *out) {
  const msgpack_object *v = sono_map_get(map, key);

  if (v == NULL)
    return -1;
  if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
    *out = v->via.u64;
    return 0;
  }
  return -1;
}

int sono_obj_int(const msgpack_object *map, const char *key, int64_t *out) {
  return sono_get_int(map, key, out) == SONO_ARG_OK ? 0 : -1;
}

int sono_obj_double(const msgpack_object *map, const char *key, double *out) {
  return sono_get_double(map, key, out) == SONO_ARG_OK ? 0 : -1;
}

int sono_obj_bool(const msgpack_object *map, const char *key, bool *out) {
  return sono_get_bool(map, key, out) == SONO_ARG_OK ? 0 : -1;
}

int sono_obj_str(const msgpack_object *map, const char *key, const char **out,
                 size_t *len) {
  const char *s;
  size_t n;

  if (sono_get_str(map, key, &s, &n) != SONO_ARG_OK)
    return -1;
  *out = s;
  if (len != NULL)
    *len = n;
  return 0;
}

int sono_obj_strcpy(const msgpack_object *map, const char *key, char *buf,
                    size_t size) {
  const char *s;
  size_t n;

  if (size == 0 || sono_obj_str(map, key, &s, &n) != 0)
    return -1;
  if (n >= size)
    n = size - 1;
  memcpy(buf, s, n);
  buf[n] = '\0';
  return 0;
}

/* ---- getters on a reply's body */

const msgpack_object *sono_reply_get(const sono_reply *r, const char *key) {
  return r ? sono_map_get(r->body, key) : NULL;
}

int sono_reply_uint(const sono_reply *r, const char *key, uint64_t *out) {
  return r ? sono_obj_uint(r->body, key, out) : -1;
}

int sono_reply_int(const sono_reply *r, const char *key, int64_t *out) {
  return r ? sono_obj_int(r->body, key, out) : -1;
}

int sono_reply_double(const sono_reply *r, const char *key, double *out) {
  return r ? sono_obj_double(r->body, key, out) : -1;
}

int sono_reply_bool(const sono_reply *r, const char *key, bool *out) {
  return r ? sono_obj_bool(r->body, key, out) : -1;
}

int sono_reply_str(const sono_reply *r, const char *key, const char **out,
                   size_t *len) {
  const msgpack_object *v;
  char *s;

  if (r == NULL || (v = sono_map_get(r->body, key)) == NULL ||
      v->type != MSGPACK_OBJECT_STR)
    return -1;
  /* The reply is logically const: the copy only adds a terminator. */
  s = zone_strdup((sono_reply *)r, v);
  if (s == NULL)
    return -1;
  *out = s;
  if (len != NULL)
    *len = v->via.str.size;
  return 0;
}
