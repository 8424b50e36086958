/* wire.c - msgpack helpers shared by the daemon and libsono. */
#include "protocol/wire.h"

#include "protocol/scan.h"
#include "protocol/frame.h"

#include <stdlib.h>
#include <string.h>

bool sono_str_eq(const msgpack_object *obj, const char *s) {
  size_t n = strlen(s);
  return obj->type == MSGPACK_OBJECT_STR && obj->via.str.size == n &&
         memcmp(obj->via.str.ptr, s, n) == 0;
}

const msgpack_object *sono_map_get(const msgpack_object *map, const char *key) {
  uint32_t i;

  if (map == NULL || map->type != MSGPACK_OBJECT_MAP)
    return NULL;
  for (i = 0; i < map->via.map.size; i++) {
    const msgpack_object_kv *kv = &map->via.map.ptr[i];
    if (sono_str_eq(&kv->key, key))
      return &kv->val;
  }
  return NULL;
}

static bool same_str(const msgpack_object *a, const msgpack_object *b) {
  return a->type == MSGPACK_OBJECT_STR && b->type == MSGPACK_OBJECT_STR &&
         a->via.str.size == b->via.str.size &&
         memcmp(a->via.str.ptr, b->via.str.ptr, a->via.str.size) == 0;
}

static int cmp_key(const void *pa, const void *pb) {
  const msgpack_object *a = *(const msgpack_object *const *)pa;
  const msgpack_object *b = *(const msgpack_object *const *)pb;
  uint32_t n = a->via.str.size < b->via.str.size ? a->via.str.size : b->via.str.size;
  int c = n > 0 ? memcmp(a->via.str.ptr, b->via.str.ptr, n) : 0;

  if (c != 0)
    return c;
  if (a->via.str.size != b->via.str.size)
    return a->via.str.size < b->via.str.size ? -1 : 1;
  /* Equal keys keep their order: the later one is reported. */
  return a < b ? -1 : a > b;
}

#define DUP_PAIRWISE 16

/* The keys of one map. */
static int dup_in_map(const msgpack_object_map *m, const msgpack_object **dup) {
  const msgpack_object **keys;
  uint32_t i, j, n = 0;

  if (m->size <= DUP_PAIRWISE) {
    for (i = 1; i < m->size; i++)
      for (j = 0; j < i; j++)
        if (same_str(&m->ptr[i].key, &m->ptr[j].key)) {
          *dup = &m->ptr[i].key;
          return 1;
        }
    return 0;
  }
  if ((keys = malloc(m->size * sizeof *keys)) == NULL)
    return -1;
  for (i = 0; i < m->size; i++)
    if (m->ptr[i].key.type == MSGPACK_OBJECT_STR)
      keys[n++] = &m->ptr[i].key;
  qsort(keys, n, sizeof *keys, cmp_key);
  for (i = 1; i < n; i++)
    if (same_str(keys[i], keys[i - 1])) {
      *dup = keys[i];
      free(keys);
      return 1;
    }
  free(keys);
  return 0;
}

int sono_dup_key(const msgpack_object *o, const msgpack_object **dup, bool *top) {
  uint32_t i;
  int rc;

  *top = false;
  if (o->type == MSGPACK_OBJECT_ARRAY) {
    for (i = 0; i < o->via.array.size; i++)
      if ((rc = sono_dup_key(&o->via.array.ptr[i], dup, top)) != 0) {
        *top = false;
        return rc;
      }
    return 0;
  }
  if (o->type != MSGPACK_OBJECT_MAP)
    return 0;
  if ((rc = dup_in_map(&o->via.map, dup)) != 0) {
    *top = rc == 1;
    return rc;
  }
  for (i = 0; i < o->via.map.size; i++)
    if ((rc = sono_dup_key(&o->via.map.ptr[i].val, dup, top)) != 0) {
      *top = false;
      return rc;
    }
  return 0;
}

sono_arg sono_get_uint(const msgpack_object *map, const char *key, uint64_t *out) {
  const msgpack_object *v = sono_map_get(map, key);

  if (v == NULL)
    return SONO_ARG_MISSING;
  if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
    return SONO_ARG_BAD_TYPE;
  *out = v->via.u64;
  return SONO_ARG_OK;
}

sono_arg sono_get_int(const msgpack_object *map, const char *key, int64_t *out) {
  const msgpack_object *v = sono_map_get(map, key);

  if (v == NULL)
    return SONO_ARG_MISSING;
  if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
    *out = v->via.i64;
    return SONO_ARG_OK;
  }
  if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 <= INT64_MAX) {
    *out = (int64_t)v->via.u64;
    return SONO_ARG_OK;
  }
  return SONO_ARG_BAD_TYPE;
}

sono_arg sono_get_double(const msgpack_object *map, const char *key, double *out) {
  const msgpack_object *v = sono_map_get(map, key);

  if (v == NULL)
    return SONO_ARG_MISSING;
  switch (v->type) {
  case MSGPACK_OBJECT_FLOAT32:
  case MSGPACK_OBJECT_FLOAT64:
    *out = v->via.f64;
    return SONO_ARG_OK;
  case MSGPACK_OBJECT_POSITIVE_INTEGER:
    *out = (double)v->via.u64;
    return SONO_ARG_OK;
  case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    *out = (double)v->via.i64;
    return SONO_ARG_OK;
  default:
    return SONO_ARG_BAD_TYPE;
  }
}

sono_arg sono_get_bool(const msgpack_object *map, const char *key, bool *out) {
  const msgpack_object *v = sono_map_get(map, key);

  if (v == NULL)
    return SONO_ARG_MISSING;
  if (v->type != MSGPACK_OBJECT_BOOLEAN)
    return SONO_ARG_BAD_TYPE;
  *out = v->via.boolean;
  return SONO_ARG_OK;
}

sono_arg sono_get_str(const msgpack_object *map, const char *key,
                      const char **out, size_t *len) {
  const msgpack_object *v = sono_map_get(map, key);

  if (v == NULL)
    return SONO_ARG_MISSING;
  if (v->type != MSGPACK_OBJECT_STR)
    return SONO_ARG_BAD_TYPE;
  *out = v->via.str.ptr;
  *len = v->via.str.size;
  return SONO_ARG_OK;
}

sono_arg sono_get_array(const msgpack_object *map, const char *key,
                        const msgpack_object_array **out) {
  const msgpack_object *v = sono_map_get(map, key);

  if (v == NULL)
    return SONO_ARG_MISSING;
  if (v->type != MSGPACK_OBJECT_ARRAY)
    return SONO_ARG_BAD_TYPE;
  *out = &v->via.array;
  return SONO_ARG_OK;
}

sono_arg sono_get_map(const msgpack_object *map, const char *key,
                      const msgpack_object **out) {
  const msgpack_object *v = sono_map_get(map, key);

  if (v == NULL)
    return SONO_ARG_MISSING;
  if (v->type != MSGPACK_OBJECT_MAP)
    return SONO_ARG_BAD_TYPE;
  *out = v;
  return SONO_ARG_OK;
}

void sono_msg_begin(msgpack_sbuffer *sb, msgpack_packer *pk) {
  static const char zero[SONO_FRAME_HEADER];

  msgpack_sbuffer_init(sb);
  msgpack_sbuffer_write(sb, zero, sizeof zero);
  msgpack_packer_init(pk, sb, msgpack_sbuffer_write);
}

int sono_msg_end(msgpack_sbuffer *sb) {
  size_t len;

  if (sb->data == NULL || sb->size < SONO_FRAME_HEADER)
    return -1;
  len = sb->size - SONO_FRAME_HEADER;
  if (len > SONO_FRAME_MAX)
    return -1;
  sono_frame_put_header((unsigned char *)sb->data, (uint32_t)len);
  return 0;
}

void sono_pack_cstr(msgpack_packer *pk, const char *s) {
  size_t n = strlen(s);
  char small[512], *fixed;

  if (sono_utf8_valid(s, n)) {
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
    return;
  }
  /* Every str sonod sends is UTF-8: a plugin's Latin-1 name, or a message
   * cut in the middle of a character, is repaired, never sent as is. */
  fixed = 2 * n <= sizeof small ? small : malloc(2 * n);
  if (fixed == NULL) {
    msgpack_pack_str(pk, 0);
    return;
  }
  n = sono_utf8_repair(s, n, fixed);
  msgpack_pack_str(pk, n);
  msgpack_pack_str_body(pk, fixed, n);
  if (fixed != small)
    free(fixed);
}

void sono_pack_key_str(msgpack_packer *pk, const char *key, const char *val) {
  sono_pack_cstr(pk, key);
  sono_pack_cstr(pk, val);
}

void sono_pack_key_uint(msgpack_packer *pk, const char *key, uint64_t val) {
  sono_pack_cstr(pk, key);
  msgpack_pack_uint64(pk, val);
}

void sono_pack_key_int(msgpack_packer *pk, const char *key, int64_t val) {
  sono_pack_cstr(pk, key);
  msgpack_pack_int64(pk, val);
}

void sono_pack_key_double(msgpack_packer *pk, const char *key, double val) {
  sono_pack_cstr(pk, key);
  msgpack_pack_double(pk, val);
}

void sono_pack_key_bool(msgpack_packer *pk, const char *key, bool val) {
  sono_pack_cstr(pk, key);
  if (val)
    msgpack_pack_true(pk);
  else
    msgpack_pack_false(pk);
}

void sono_pack_audio(msgpack_packer *pk, const float *base, size_t stride, unsigned channels,
                     size_t frames) {
  unsigned k;

  msgpack_pack_array(pk, channels);
  for (k = 0; k < channels; k++) {
    msgpack_pack_bin(pk, frames * sizeof(float));
    msgpack_pack_bin_body(pk, base + (size_t)k * stride, frames * sizeof(float));
  }
}

void sono_pack_error_reply(msgpack_sbuffer *sb, bool has_id, uint64_t id,
                           const char *code, const char *message) {
  msgpack_packer pk;

  sono_msg_begin(sb, &pk);
  msgpack_pack_map(&pk, 2);
  sono_pack_cstr(&pk, "id");
  if (has_id)
    msgpack_pack_uint64(&pk, id);
  else
    msgpack_pack_nil(&pk);
  sono_pack_cstr(&pk, "error");
  msgpack_pack_map(&pk, 2);
  sono_pack_key_str(&pk, "code", code);
  sono_pack_key_str(&pk, "message", message);
  sono_msg_end(sb);
}
