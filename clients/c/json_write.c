/* json_write.c - msgpack_object to JSON text. */
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  char *p;
  size_t len, cap;
  bool oom;
} jbuf;

static void put(jbuf *b, const char *s, size_t n) {
  if (b->oom)
    return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    char *p;
    while (cap < b->len + n + 1)
      cap *= 2;
    p = realloc(b->p, cap);
    if (p == NULL) {
      b->oom = true;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void puts_(jbuf *b, const char *s) { put(b, s, strlen(s)); }

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n) {
  size_t need, i;
  uint32_t cp;

  if (s[0] < 0x80)
    return 1;
  if ((s[0] & 0xe0) == 0xc0) {
    need = 2;
    cp = s[0] & 0x1f;
  } else if ((s[0] & 0xf0) == 0xe0) {
    need = 3;
    cp = s[0] & 0x0f;
  } else if ((s[0] & 0xf8) == 0xf0) {
    need = 4;
    cp = s[0] & 0x07;
  } else {
    return 0;
  }
  if (need > n)
    return 0;
  for (i = 1; i < need; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = cp << 6 | (s[i] & 0x3f);
  }
  /* Reject overlong forms, surrogates and values past U+10FFFF. */
  if ((need == 2 && cp < 0x80) || (need == 3 && cp < 0x800) ||
      (need == 4 && cp < 0x10000) || cp > 0x10ffff ||
      (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return need;
}

static void put_string(jbuf *b, const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0;
  char esc[8];

  put(b, "\"", 1);
  while (i < n) {
    unsigned char ch = u[i];
    size_t k;

    switch (ch) {
    case '"': puts_(b, "\\\""); i++; continue;
    case '\\': puts_(b, "\\\\"); i++; continue;
    case '\n': puts_(b, "\\n"); i++; continue;
    case '\r': puts_(b, "\\r"); i++; continue;
    case '\t': puts_(b, "\\t"); i++; continue;
    case '\b': puts_(b, "\\b"); i++; continue;
    case '\f': puts_(b, "\\f"); i++; continue;
    default: break;
    }
    if (ch < 0x20 || ch == 0x7f) {
      snprintf(esc, sizeof esc, "\\u%04x", ch);
      puts_(b, esc);
      i++;
      continue;
    }
    k = utf8_len(u + i, n - i);
    if (k == 0) {
      puts_(b, "\\ufffd");
      i++;
      continue;
    }
    put(b, s + i, k);
    i += k;
  }
  put(b, "\"", 1);
}

static void put_base64(jbuf *b, const unsigned char *p, size_t n) {
  static const char tab[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char q[4];
  size_t i;

  put(b, "\"", 1);
  for (i = 0; i + 2 < n; i += 3) {
    q[0] = tab[p[i] >> 2];
    q[1] = tab[(p[i] & 3) << 4 | p[i + 1] >> 4];
    q[2] = tab[(p[i + 1] & 15) << 2 | p[i + 2] >> 6];
    q[3] = tab[p[i + 2] & 63];
    put(b, q, 4);
  }
  if (n - i == 1) {
    q[0] = tab[p[i] >> 2];
    q[1] = tab[(p[i] & 3) << 4];
    q[2] = q[3] = '=';
    put(b, q, 4);
  } else if (n - i == 2) {
    q[0] = tab[p[i] >> 2];
    q[1] = tab[(p[i] & 3) << 4 | p[i + 1] >> 4];
    q[2] = tab[(p[i + 1] & 15) << 2];
    q[3] = '=';
    put(b, q, 4);
  }
  put(b, "\"", 1);
}

const char *json_shortest(char *s, size_t n, double d) {
  int prec;

  /* Plain notation for everyday magnitudes, even where an exponent would be
   * shorter ("440", not "4.4e+02"). */
  bool plain = fabs(d) >= 1e-4 && fabs(d) < 1e15;
  for (prec = 1; prec <= 17; prec++) {
    snprintf(s, n, "%.*g", prec, d);
    if (!isfinite(d) || (strtod(s, NULL) == d && !(plain && strchr(s, 'e') != NULL)))
      break;
  }
  return s;
}

/* The shortest form, with ".0" added to whole numbers so that floats stay
 * recognisable. */
static void put_double(jbuf *b, double d) {
  char s[40];

  if (!isfinite(d)) {
    puts_(b, "null");
    return;
  }
  json_shortest(s, sizeof s - 2, d);
  if (strpbrk(s, ".eEn") == NULL)
    strcat(s, ".0");
  puts_(b, s);
}

static void put_value(jbuf *b, const msgpack_object *o);

static void put_key(jbuf *b, const msgpack_object *k) {
  jbuf tmp = {0};

  if (k->type == MSGPACK_OBJECT_STR) {
    put_string(b, k->via.str.ptr, k->via.str.size);
    return;
  }
  put_value(&tmp, k);
  if (tmp.oom)
    b->oom = true;
  else
    put_string(b, tmp.p, tmp.len);
  free(tmp.p);
}

static void put_value(jbuf *b, const msgpack_object *o) {
  char num[32];
  uint32_t i;

  switch (o->type) {
  case MSGPACK_OBJECT_NIL:
    puts_(b, "null");
    break;
  case MSGPACK_OBJECT_BOOLEAN:
    puts_(b, o->via.boolean ? "true" : "false");
    break;
  case MSGPACK_OBJECT_POSITIVE_INTEGER:
    snprintf(num, sizeof num, "%llu", (unsigned long long)o->via.u64);
    puts_(b, num);
    break;
  case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    snprintf(num, sizeof num, "%lld", (long long)o->via.i64);
    puts_(b, num);
    break;
  case MSGPACK_OBJECT_FLOAT32:
  case MSGPACK_OBJECT_FLOAT64:
    put_double(b, o->via.f64);
    break;
  case MSGPACK_OBJECT_STR:
    put_string(b, o->via.str.ptr, o->via.str.size);
    break;
  case MSGPACK_OBJECT_BIN:
    put_base64(b, (const unsigned char *)o->via.bin.ptr, o->via.bin.size);
    break;
  case MSGPACK_OBJECT_EXT:
    snprintf(num, sizeof num, "{\"$ext\":%d,\"data\":", o->via.ext.type);
    puts_(b, num);
    put_base64(b, (const unsigned char *)o->via.ext.ptr, o->via.ext.size);
    puts_(b, "}");
    break;
  case MSGPACK_OBJECT_ARRAY:
    put(b, "[", 1);
    for (i = 0; i < o->via.array.size; i++) {
      if (i > 0)
        put(b, ",", 1);
      put_value(b, &o->via.array.ptr[i]);
    }
    put(b, "]", 1);
    break;
  case MSGPACK_OBJECT_MAP:
    put(b, "{", 1);
    for (i = 0; i < o->via.map.size; i++) {
      if (i > 0)
        put(b, ",", 1);
      put_key(b, &o->via.map.ptr[i].key);
      put(b, ":", 1);
      put_value(b, &o->via.map.ptr[i].val);
    }
    put(b, "}", 1);
    break;
  default:
    puts_(b, "null");
    break;
  }
}

char *json_from_msgpack(const msgpack_object *o) {
  jbuf b = {0};

  put_value(&b, o);
  put(&b, "", 0);
  if (b.oom) {
    free(b.p);
    return NULL;
  }
  return b.p;
}
