/* args.c - the builder for request arguments.
 *
 * msgpack wants a map's or array's size before its elements, but callers add
 * keys one by one.  So each open container packs its elements into a buffer
 * of its own and counts them; closing it writes the header with the count
 * into the parent, followed by the buffered elements. */
#include "sono_internal.h"

#include <stdlib.h>
#include <string.h>

static int push_level(sono_args *a, bool is_map, const char *key) {
  struct sono_args_level *lv;

  if (a->depth == a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 4;
    lv = realloc(a->lv, cap * sizeof *lv);
    if (lv == NULL)
      return -1;
    a->lv = lv;
    a->cap = cap;
  }
  lv = &a->lv[a->depth];
  msgpack_sbuffer_init(&lv->sb);
  lv->count = 0;
  lv->is_map = is_map;
  lv->key = NULL;
  if (key != NULL && (lv->key = strdup(key)) == NULL)
    return -1;
  a->depth++;
  return 0;
}

sono_args *sono_args_new(void) {
  sono_args *a = calloc(1, sizeof *a);

  if (a == NULL)
    return NULL;
  if (push_level(a, true, NULL) != 0) {
    free(a);
    return NULL;
  }
  return a;
}

void sono_args_clear(sono_args *a) {
  size_t i;

  if (a == NULL)
    return;
  for (i = 0; i < a->depth; i++) {
    msgpack_sbuffer_destroy(&a->lv[i].sb);
    free(a->lv[i].key);
  }
  a->depth = 0;
  a->bad = false;
  if (push_level(a, true, NULL) != 0)
    a->bad = true;
}

void sono_args_free(sono_args *a) {
  size_t i;

  if (a == NULL)
    return;
  for (i = 0; i < a->depth; i++) {
    msgpack_sbuffer_destroy(&a->lv[i].sb);
    free(a->lv[i].key);
  }
  free(a->lv);
  free(a);
}

/* Starts one element of the innermost container: packs the key when that
 * container is a map.  Returns the packer to write the value with. */
static int begin_value(sono_args *a, const char *key, msgpack_packer *pk) {
  struct sono_args_level *lv;

  if (a == NULL || a->bad || a->depth == 0)
    goto bad;
  lv = &a->lv[a->depth - 1];
  if (lv->is_map && key == NULL)
    goto bad;
  msgpack_packer_init(pk, &lv->sb, msgpack_sbuffer_write);
  if (lv->is_map) {
    size_t n = strlen(key);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, key, n);
  }
  lv->count++;
  return 0;
bad:
  if (a != NULL)
    a->bad = true;
  return -1;
}

int sono_args_uint(sono_args *a, const char *key, uint64_t v) {
  msgpack_packer pk;
  if (begin_value(a, key, &pk) != 0)
    return -1;
  return msgpack_pack_uint64(&pk, v);
}

int sono_args_int(sono_args *a, const char *key, int64_t v) {
  msgpack_packer pk;
  if (begin_value(a, key, &pk) != 0)
    return -1;
  return msgpack_pack_int64(&pk, v);
}

int sono_args_double(sono_args *a, const char *key, double v) {
  msgpack_packer pk;
  if (begin_value(a, key, &pk) != 0)
    return -1;
  return msgpack_pack_double(&pk, v);
}

int sono_args_bool(sono_args *a, const char *key, bool v) {
  msgpack_packer pk;
  if (begin_value(a, key, &pk) != 0)
    return -1;
  return v ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
}

int sono_args_strn(sono_args *a, const char *key, const char *s, size_t n) {
  msgpack_packer pk;
  if (s == NULL || begin_value(a, key, &pk) != 0) {
    if (a != NULL)
      a->bad = true;
    return -1;
  }
  msgpack_pack_str(&pk, n);
  return msgpack_pack_str_body(&pk, s, n);
}

int sono_args_str(sono_args *a, const char *key, const char *s) {
  return sono_args_strn(a, key, s, s ? strlen(s) : 0);
}

int sono_args_bin(sono_args *a, const char *key, const void *p, size_t n) {
  msgpack_packer pk;
  if ((p == NULL && n > 0) || begin_value(a, key, &pk) != 0) {
    if (a != NULL)
      a->bad = true;
    return -1;
  }
  msgpack_pack_bin(&pk, n);
  return msgpack_pack_bin_body(&pk, p, n);
}

int sono_args_nil(sono_args *a, const char *key) {
  msgpack_packer pk;
  if (begin_value(a, key, &pk) != 0)
    return -1;
  return msgpack_pack_nil(&pk);
}

int sono_args_object(sono_args *a, const char *key, const msgpack_object *o) {
  msgpack_packer pk;
  if (o == NULL || begin_value(a, key, &pk) != 0) {
    if (a != NULL)
      a->bad = true;
    return -1;
  }
  return msgpack_pack_object(&pk, *o);
}

static int begin_container(sono_args *a, const char *key, bool is_map) {
  if (a == NULL || a->bad || a->depth == 0)
    goto bad;
  if (a->lv[a->depth - 1].is_map && key == NULL)
    goto bad;
  if (push_level(a, is_map, a->lv[a->depth - 1].is_map ? key : NULL) != 0)
    goto bad;
  return 0;
bad:
  if (a != NULL)
    a->bad = true;
  return -1;
}

int sono_args_begin_array(sono_args *a, const char *key) {
  return begin_container(a, key, false);
}

int sono_args_begin_map(sono_args *a, const char *key) {
  return begin_container(a, key, true);
}

int sono_args_end(sono_args *a) {
  struct sono_args_level *child, *parent;
  msgpack_packer pk;

  if (a == NULL || a->bad || a->depth < 2) {
    if (a != NULL)
      a->bad = true;
    return -1;
  }
  child = &a->lv[a->depth - 1];
  parent = &a->lv[a->depth - 2];
  msgpack_packer_init(&pk, &parent->sb, msgpack_sbuffer_write);
  if (parent->is_map) {
    size_t n = strlen(child->key);
    msgpack_pack_str(&pk, n);
    msgpack_pack_str_body(&pk, child->key, n);
  }
  if (child->is_map)
    msgpack_pack_map(&pk, child->count);
  else
    msgpack_pack_array(&pk, child->count);
  if (child->sb.size > 0)
    msgpack_sbuffer_write(&parent->sb, child->sb.data, child->sb.size);
  parent->count++;
  msgpack_sbuffer_destroy(&child->sb);
  free(child->key);
  a->depth--;
  return 0;
}

int sono_args_body(const sono_args *a, const char **data, size_t *len,
                   uint32_t *count) {
  if (a == NULL) {
    *data = NULL;
    *len = 0;
    *count = 0;
    return 0;
  }
  /* An open nested container or an earlier mistake: refuse to send. */
  if (a->bad || a->depth != 1)
    return -1;
  *data = a->lv[0].sb.data;
  *len = a->lv[0].sb.size;
  *count = a->lv[0].count;
  return 0;
}
