/* json_read.c - a small recursive-descent JSON reader that feeds the
 * libsono argument builder, for `sonoctl call OP '{"key": value}'`. */
#include "json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

typedef struct {
  const char *s, *p;
  sono_args *a;
  char *err;
  size_t errlen;
  int depth;
} reader;

static int fail(reader *r, const char *fmt, ...) {
  va_list ap;
  int n = snprintf(r->err, r->errlen, "JSON at offset %zu: ", (size_t)(r->p - r->s));

  if (n >= 0 && (size_t)n < r->errlen) {
    va_start(ap, fmt);
    vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
    va_end(ap);
  }
  return -1;
}

static void skip_ws(reader *r) {
  while (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')
    r->p++;
}

static int hex4(reader *r, unsigned *out) {
  unsigned v = 0;
  int i;

  for (i = 0; i < 4; i++) {
    char ch = r->p[i];
    v <<= 4;
    if (ch >= '0' && ch <= '9')
      v |= (unsigned)(ch - '0');
    else if (ch >= 'a' && ch <= 'f')
      v |= (unsigned)(ch - 'a' + 10);
    else if (ch >= 'A' && ch <= 'F')
      v |= (unsigned)(ch - 'A' + 10);
    else
      return fail(r, "bad \\u escape");
  }
  r->p += 4;
  *out = v;
  return 0;
}

static void put_utf8(char *out, size_t *n, unsigned cp) {
  if (cp < 0x80) {
    out[(*n)++] = (char)cp;
  } else if (cp < 0x800) {
    out[(*n)++] = (char)(0xc0 | cp >> 6);
    out[(*n)++] = (char)(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out[(*n)++] = (char)(0xe0 | cp >> 12);
    out[(*n)++] = (char)(0x80 | (cp >> 6 & 0x3f));
    out[(*n)++] = (char)(0x80 | (cp & 0x3f));
  } else {
    out[(*n)++] = (char)(0xf0 | cp >> 18);
    out[(*n)++] = (char)(0x80 | (cp >> 12 & 0x3f));
    out[(*n)++] = (char)(0x80 | (cp >> 6 & 0x3f));
    out[(*n)++] = (char)(0x80 | (cp & 0x3f));
  }
}

/* Reads a string literal (r->p at the opening quote) into a malloc'd buffer.
 * Unescaped text is never longer than the literal, so one allocation of the
 * remaining input length suffices. */
static int read_string(reader *r, char **out, size_t *len) {
  char *buf = malloc(strlen(r->p) + 1);
  size_t n = 0;

  if (buf == NULL)
    return fail(r, "out of memory");
  r->p++;
  for (;;) {
    unsigned char ch = (unsigned char)*r->p;
    unsigned cp, lo;

    if (ch == '\0') {
      free(buf);
      return fail(r, "unterminated string");
    }
    if (ch < 0x20) {
      free(buf);
      return fail(r, "control character in string");
    }
    r->p++;
    if (ch == '"')
      break;
    if (ch != '\\') {
      buf[n++] = (char)ch;
      continue;
    }
    ch = (unsigned char)*r->p++;
    switch (ch) {
    case '"': buf[n++] = '"'; break;
    case '\\': buf[n++] = '\\'; break;
    case '/': buf[n++] = '/'; break;
    case 'b': buf[n++] = '\b'; break;
    case 'f': buf[n++] = '\f'; break;
    case 'n': buf[n++] = '\n'; break;
    case 'r': buf[n++] = '\r'; break;
    case 't': buf[n++] = '\t'; break;
    case 'u':
      if (hex4(r, &cp) != 0) {
        free(buf);
        return -1;
      }
      /* A high surrogate must be followed by a low one. */
      if (cp >= 0xd800 && cp <= 0xdbff && r->p[0] == '\\' && r->p[1] == 'u') {
        r->p += 2;
        if (hex4(r, &lo) != 0) {
          free(buf);
          return -1;
        }
        if (lo >= 0xdc00 && lo <= 0xdfff)
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        else
          cp = 0xfffd;
      } else if (cp >= 0xd800 && cp <= 0xdfff) {
        cp = 0xfffd;
      }
      put_utf8(buf, &n, cp);
      break;
    default:
      free(buf);
      return fail(r, "bad escape '\\%c'", ch);
    }
  }
  buf[n] = '\0';
  *out = buf;
  *len = n;
  return 0;
}

static int read_value(reader *r, const char *key);

static int read_number(reader *r, const char *key) {
  const char *start = r->p;
  bool is_float = false;
  char *end;

  if (*r->p == '-')
    r->p++;
  if (*r->p < '0' || *r->p > '9')
    return fail(r, "unexpected character '%c'", *start);
  while ((*r->p >= '0' && *r->p <= '9') || *r->p == '.' || *r->p == 'e' ||
         *r->p == 'E' || *r->p == '+' || *r->p == '-') {
    if (*r->p == '.' || *r->p == 'e' || *r->p == 'E')
      is_float = true;
    r->p++;
  }
  errno = 0;
  if (!is_float && *start == '-') {
    long long v = strtoll(start, &end, 10);
    if (end == r->p && errno == 0)
      return sono_args_int(r->a, key, v);
  } else if (!is_float) {
    unsigned long long v = strtoull(start, &end, 10);
    if (end == r->p && errno == 0)
      return sono_args_uint(r->a, key, v);
  }
  /* Floats, and integers too large for 64 bits. */
  errno = 0;
  double d = strtod(start, &end);
  if (end != r->p)
    return fail(r, "malformed number");
  return sono_args_double(r->a, key, d);
}

static int read_container(reader *r, const char *key, bool is_map) {
  char close = is_map ? '}' : ']';
  bool first = true;

  if (++r->depth > MAX_DEPTH)
    return fail(r, "nested too deeply");
  r->p++;
  if ((is_map ? sono_args_begin_map(r->a, key) : sono_args_begin_array(r->a, key)) != 0)
    return fail(r, "out of memory");
  for (;;) {
    char *k = NULL;
    size_t klen;
    int rc;

    skip_ws(r);
    if (*r->p == close && first) {
      r->p++;
      break;
    }
    if (is_map) {
      if (*r->p != '"')
        return fail(r, "expected a string key");
      if (read_string(r, &k, &klen) != 0)
        return -1;
      skip_ws(r);
      if (*r->p != ':') {
        free(k);
        return fail(r, "expected ':'");
      }
      r->p++;
    }
    rc = read_value(r, k);
    free(k);
    if (rc != 0)
      return -1;
    first = false;
    skip_ws(r);
    if (*r->p == ',') {
      r->p++;
      continue;
    }
    if (*r->p == close) {
      r->p++;
      break;
    }
    return fail(r, "expected ',' or '%c'", close);
  }
  r->depth--;
  return sono_args_end(r->a);
}

static int read_value(reader *r, const char *key) {
  char *s;
  size_t n;
  int rc;

  skip_ws(r);
  switch (*r->p) {
  case '{':
    return read_container(r, key, true);
  case '[':
    return read_container(r, key, false);
  case '"':
    if (read_string(r, &s, &n) != 0)
      return -1;
    rc = sono_args_strn(r->a, key, s, n);
    free(s);
    return rc;
  case 't':
    if (strncmp(r->p, "true", 4) != 0)
      break;
    r->p += 4;
    return sono_args_bool(r->a, key, true);
  case 'f':
    if (strncmp(r->p, "false", 5) != 0)
      break;
    r->p += 5;
    return sono_args_bool(r->a, key, false);
  case 'n':
    if (strncmp(r->p, "null", 4) != 0)
      break;
    r->p += 4;
    return sono_args_nil(r->a, key);
  case '\0':
    return fail(r, "unexpected end of input");
  default:
    return read_number(r, key);
  }
  return fail(r, "unexpected character '%c'", *r->p);
}

int json_to_args(const char *text, sono_args *a, char *err, size_t errlen) {
  return json_to_args_ex(text, a, NULL, 0, NULL, err, errlen);
}

int json_to_args_ex(const char *text, sono_args *a, const char *const *keys, size_t nkeys,
                    json_span *spans, char *err, size_t errlen) {
  reader r = {text, text, a, err, errlen, 0};
  bool first = true;
  size_t i;

  for (i = 0; i < nkeys; i++)
    spans[i].start = spans[i].end = NULL;

  skip_ws(&r);
  if (*r.p != '{')
    return fail(&r, "the arguments must be a JSON object");
  r.p++;
  /* The top-level object's members are the request's own keys. */
  for (;;) {
    char *k;
    size_t klen;
    int rc;

    skip_ws(&r);
    if (*r.p == '}' && first) {
      r.p++;
      break;
    }
    if (*r.p != '"')
      return fail(&r, "expected a string key");
    if (read_string(&r, &k, &klen) != 0)
      return -1;
    skip_ws(&r);
    if (*r.p != ':') {
      free(k);
      return fail(&r, "expected ':'");
    }
    r.p++;
    skip_ws(&r);
    for (i = 0; i < nkeys; i++)
      if (strcmp(k, keys[i]) == 0)
        break;
    if (i < nkeys) {
      /* Set aside: parsed (to check it and move on) into scratch args. */
      sono_args *scratch = sono_args_new();

      if (scratch == NULL) {
        free(k);
        return fail(&r, "out of memory");
      }
      spans[i].start = r.p;
      r.a = scratch;
      rc = read_value(&r, k);
      r.a = a;
      spans[i].end = r.p;
      sono_args_free(scratch);
    } else {
      rc = read_value(&r, k);
    }
    free(k);
    if (rc != 0)
      return -1;
    first = false;
    skip_ws(&r);
    if (*r.p == ',') {
      r.p++;
      continue;
    }
    if (*r.p == '}') {
      r.p++;
      break;
    }
    return fail(&r, "expected ',' or '}'");
  }
  skip_ws(&r);
  if (*r.p != '\0')
    return fail(&r, "trailing characters");
  return 0;
}
