/* sonoctl_script_read.c - reading session scripts, JSON lines or msgpack
 * (sonoctl_script.h).  The whole file is read and every request checked
 * before sonoctl starts a daemon, so a bad line 900 fails at once rather
 * than after a long render. */
#include "sonoctl.h"
#include "sonoctl_script.h"
#include "json.h"
#include "protocol/wire.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const script_keys[] = {"op", "at", "frame", "as"};

/* ------------------------------------------------------------ JSON lines */

/* Reads the "op" span: a plain JSON string without escapes. */
static bool span_str(const json_span *sp, char *out, size_t len) {
  size_t n;

  if (sp->start == NULL || *sp->start != '"' || sp->end - sp->start < 2 || sp->end[-1] != '"')
    return false;
  n = (size_t)(sp->end - sp->start - 2);
  if (n == 0 || n >= len || memchr(sp->start + 1, '\\', n) != NULL)
    return false;
  memcpy(out, sp->start + 1, n);
  out[n] = '\0';
  return true;
}

static bool span_num(const json_span *sp, double *out) {
  char buf[64], *end;
  size_t n = (size_t)(sp->end - sp->start);

  if (n == 0 || n >= sizeof buf)
    return false;
  memcpy(buf, sp->start, n);
  buf[n] = '\0';
  *out = strtod(buf, &end);
  return *end == '\0' && isfinite(*out) && *out >= 0;
}

/* Parses one line into l and its arguments into l->args.  -1 with why set. */
static int parse_json(const char *text, unsigned rate, sline *l, char *why, size_t whylen) {
  json_span sp[4];
  double v;

  if (json_to_args_ex(text, l->args, script_keys, 4, sp, why, whylen) != 0)
    return -1;
  if (!span_str(&sp[0], l->op, sizeof l->op)) {
    snprintf(why, whylen, "\"op\" must be an operation name");
    return -1;
  }
  if (sp[3].start != NULL &&
      (!span_str(&sp[3], l->as, sizeof l->as) || !script_name_ok(l->as, strlen(l->as)))) {
    snprintf(why, whylen, "\"as\" must be a name: a letter or _, then letters, digits or _");
    return -1;
  }
  if (sp[1].start != NULL && sp[2].start != NULL) {
    snprintf(why, whylen, "give \"at\" (seconds) or \"frame\", not both");
    return -1;
  }
  l->frame = 0;
  if (sp[1].start != NULL) {
    if (!span_num(&sp[1], &v)) {
      snprintf(why, whylen, "\"at\" must be a number of seconds >= 0");
      return -1;
    }
    l->frame = (uint64_t)llround(v * rate);
  } else if (sp[2].start != NULL) {
    if (!span_num(&sp[2], &v) || v != floor(v)) {
      snprintf(why, whylen, "\"frame\" must be a whole number >= 0");
      return -1;
    }
    l->frame = (uint64_t)v;
  }
  l->end = strcmp(l->op, "end") == 0;
  return 0;
}

/* ---------------------------------------------------------------- msgpack */

/* The msgpack twin of parse_json: the same keys, the same rules. */
static int parse_map(const msgpack_object *o, unsigned rate, sline *l, char *why,
                     size_t whylen) {
  const char *op;
  size_t oplen;
  double at = 0, frame = 0;
  sono_arg has_at, has_frame;
  uint32_t i;

  if (o->type != MSGPACK_OBJECT_MAP) {
    snprintf(why, whylen, "a request must be a map");
    return -1;
  }
  if (sono_get_str(o, "op", &op, &oplen) != SONO_ARG_OK || oplen == 0 ||
      oplen >= sizeof l->op) {
    snprintf(why, whylen, "\"op\" must be an operation name");
    return -1;
  }
  memcpy(l->op, op, oplen);
  l->op[oplen] = '\0';
  has_at = sono_get_double(o, "at", &at);
  has_frame = sono_get_double(o, "frame", &frame);
  if (has_at == SONO_ARG_BAD_TYPE || !isfinite(at) || at < 0) {
    snprintf(why, whylen, "\"at\" must be a number of seconds >= 0");
    return -1;
  }
  if (has_frame == SONO_ARG_BAD_TYPE || !isfinite(frame) || frame < 0 || frame != floor(frame)) {
    snprintf(why, whylen, "\"frame\" must be a whole number >= 0");
    return -1;
  }
  if (has_at == SONO_ARG_OK && has_frame == SONO_ARG_OK) {
    snprintf(why, whylen, "give \"at\" (seconds) or \"frame\", not both");
    return -1;
  }
  l->frame = has_at == SONO_ARG_OK ? (uint64_t)llround(at * rate) : (uint64_t)frame;
  l->end = strcmp(l->op, "end") == 0;
  if (sono_get_str(o, "as", &op, &oplen) != SONO_ARG_MISSING) {
    if (sono_get_str(o, "as", &op, &oplen) != SONO_ARG_OK || !script_name_ok(op, oplen)) {
      snprintf(why, whylen, "\"as\" must be a name: a letter or _, then letters, digits or _");
      return -1;
    }
    memcpy(l->as, op, oplen);
    l->as[oplen] = '\0';
  }
  /* The arguments: every other key, as it is. */
  for (i = 0; i < o->via.map.size; i++) {
    const msgpack_object *k = &o->via.map.ptr[i].key;
    char key[128];

    if (k->type != MSGPACK_OBJECT_STR || k->via.str.size == 0 ||
        k->via.str.size >= sizeof key) {
      snprintf(why, whylen, "keys must be strings of 1 to %zu bytes", sizeof key - 1);
      return -1;
    }
    memcpy(key, k->via.str.ptr, k->via.str.size);
    key[k->via.str.size] = '\0';
    if (strcmp(key, "op") == 0 || strcmp(key, "at") == 0 || strcmp(key, "frame") == 0 ||
        strcmp(key, "as") == 0)
      continue;
    if (sono_args_object(l->args, key, &o->via.map.ptr[i].val) != 0) {
      snprintf(why, whylen, "out of memory");
      return -1;
    }
  }
  return 0;
}

/* Unpacks the msgpack value at data[*off] into up and moves *off past it.
 * -1 with why set when the bytes end inside it or are not msgpack. */
static int unpack_one(const char *data, size_t size, size_t *off, msgpack_unpacked *up,
                      char *why, size_t whylen) {
  switch (msgpack_unpack_next(up, data, size, off)) {
  case MSGPACK_UNPACK_SUCCESS:
    return 0;
  case MSGPACK_UNPACK_CONTINUE:
    snprintf(why, whylen, "cut short: the file ends inside this request");
    return -1;
  default:
    snprintf(why, whylen, "not valid msgpack");
    return -1;
  }
}

/* ------------------------------------------------------------- the file */

void script_where(const script *s, const sline *l, char *out, size_t len) {
  if (s->msgpack)
    snprintf(out, len, "%s: request %u", s->path, l->lineno);
  else
    snprintf(out, len, "%s:%u", s->path, l->lineno);
}

/* Keeps a parsed request (rc 0), or prints why it was refused.  Either
 * way l->args now belongs to the script or is freed. */
static int add(script *s, sline *l, int rc, const char *why) {
  char where[400], fwhy[4400];

  if (rc == 0 && script_read_files(l, s->path, fwhy, sizeof fwhy) != 0) {
    why = fwhy;
    rc = -1;
  }
  if (rc == 0 && s->n == s->cap) {
    size_t nc = s->cap ? s->cap * 2 : 64;
    sline *v = realloc(s->v, nc * sizeof *v);

    if (v != NULL) {
      s->v = v;
      s->cap = nc;
    } else {
      why = "out of memory";
      rc = -1;
    }
  }
  if (rc != 0) {
    script_where(s, l, where, sizeof where);
    fprintf(stderr, "sonoctl render: %s: %s\n", where, why);
    sono_args_free(l->args);
    return -1;
  }
  s->v[s->n++] = *l;
  return 0;
}

/* A fresh line numbered n, with empty arguments; -1 with why set. */
static int new_line(sline *l, unsigned n, char *why, size_t whylen) {
  memset(l, 0, sizeof *l);
  l->lineno = n;
  if ((l->args = sono_args_new()) == NULL) {
    snprintf(why, whylen, "out of memory");
    return -1;
  }
  return 0;
}

static bool is_map_start(unsigned char c) {
  return (c >= 0x80 && c <= 0x8f) || c == 0xde || c == 0xdf;
}

/* data: the whole file, NUL-terminated; its lines are cut in place. */
static int load_json(script *s, char *data, size_t size, unsigned rate) {
  char *p = data, why[300];
  unsigned lineno = 0;

  while (p < data + size) {
    char *eol = memchr(p, '\n', (size_t)(data + size - p));
    char *next = eol != NULL ? eol + 1 : data + size;
    char *q = p;
    sline l;
    int rc;

    lineno++;
    if (eol == NULL)
      eol = data + size;
    *eol = '\0';
    if (eol > p && eol[-1] == '\r')
      eol[-1] = '\0';
    while (*q == ' ' || *q == '\t')
      q++;
    p = next;
    if (*q == '\0' || *q == '#')
      continue;
    rc = new_line(&l, lineno, why, sizeof why);
    if (rc == 0)
      rc = parse_json(q, rate, &l, why, sizeof why);
    if (add(s, &l, rc, why) != 0)
      return -1;
  }
  return 0;
}

static int load_msgpack(script *s, const char *data, size_t size, unsigned rate) {
  char why[300];
  msgpack_unpacked up;
  size_t off = 0;
  unsigned n = 0;
  int rc = 0;

  msgpack_unpacked_init(&up);
  while (off < size && rc == 0) {
    sline l;

    rc = new_line(&l, ++n, why, sizeof why);
    if (rc == 0)
      rc = unpack_one(data, size, &off, &up, why, sizeof why);
    if (rc == 0)
      rc = parse_map(&up.data, rate, &l, why, sizeof why);
    rc = add(s, &l, rc, why);
  }
  msgpack_unpacked_destroy(&up);
  return rc;
}

int script_load(const char *path, unsigned rate, script *s) {
  char *data;
  size_t size;
  int rc;

  memset(s, 0, sizeof *s);
  s->path = path;
  if ((data = ctl_slurp(path, 0, &size)) == NULL)
    return -1;
  s->msgpack = size > 0 && is_map_start((unsigned char)data[0]);
  /* The requests' arguments are copied out: the file is not kept. */
  rc = s->msgpack ? load_msgpack(s, data, size, rate) : load_json(s, data, size, rate);
  free(data);
  return rc;
}

void script_free(script *s) {
  size_t i;

  for (i = 0; i < s->n; i++)
    sono_args_free(s->v[i].args);
  free(s->v);
  s->v = NULL;
  s->n = s->cap = 0;
}
