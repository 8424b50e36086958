/* sonoctl_script_refs.c - what a session script line may say about other
 * lines and files (sonoctl_script.h):
 *   "as": "lead"       names this request's reply;
 *   "$lead"            in any string value of a later request: the named
 *                      reply's first member other than "frame" (the id:
 *                      synth.start's synth, plugin.load's node, ...);
 *   "$lead.path"       a member by path: keys and array indexes, dotted
 *                      ("$sess.plugins.0.node");
 *   "$$..."            a literal string starting with "$...";
 *   "body_file": PATH  instr.define's body read from PATH (relative to the
 *                      script's folder) by sonoctl. */
#include "sonoctl.h"
#include "sonoctl_script.h"
#include "protocol/wire.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Calls fn for each member of a packed argument list (key, value). */
static int each_member(const sono_args *a,
                       int (*fn)(const char *key, const msgpack_object *v, void *ctx), void *ctx,
                       char *why, size_t whylen) {
  const char *data;
  size_t len, off = 0;
  uint32_t count, i;
  msgpack_unpacked k, v;
  int rc = 0;

  if (sono_args_body(a, &data, &len, &count) != 0) {
    snprintf(why, whylen, "bad arguments");
    return -1;
  }
  msgpack_unpacked_init(&k);
  msgpack_unpacked_init(&v);
  for (i = 0; i < count && rc == 0; i++) {
    char key[128];

    if (msgpack_unpack_next(&k, data, len, &off) != MSGPACK_UNPACK_SUCCESS ||
        msgpack_unpack_next(&v, data, len, &off) != MSGPACK_UNPACK_SUCCESS ||
        k.data.type != MSGPACK_OBJECT_STR || k.data.via.str.size >= sizeof key) {
      snprintf(why, whylen, "bad arguments");
      rc = -1;
      break;
    }
    memcpy(key, k.data.via.str.ptr, k.data.via.str.size);
    key[k.data.via.str.size] = '\0';
    rc = fn(key, &v.data, ctx);
  }
  msgpack_unpacked_destroy(&k);
  msgpack_unpacked_destroy(&v);
  return rc;
}

bool script_name_ok(const char *s, size_t n) {
  size_t i;

  if (n == 0 || n >= SCRIPT_NAME_MAX || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
    return false;
  for (i = 1; i < n; i++)
    if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
      return false;
  return true;
}

static script_ref *find(const script_names *nm, const char *s, size_t n) {
  size_t i;

  for (i = nm->n; i-- > 0;)
    if (strlen(nm->v[i].name) == n && memcmp(nm->v[i].name, s, n) == 0)
      return &nm->v[i];
  return NULL;
}

int script_name(script_names *nm, const char *name, sono_reply *r) {
  script_ref *old = find(nm, name, strlen(name));

  if (old != NULL) {            /* named again: the later reply counts */
    sono_reply_free(old->r);
    old->r = r;
    return 0;
  }
  if (nm->n == nm->cap) {
    size_t nc = nm->cap ? nm->cap * 2 : 16;
    script_ref *v = realloc(nm->v, nc * sizeof *v);

    if (v == NULL)
      return -1;
    nm->v = v;
    nm->cap = nc;
  }
  snprintf(nm->v[nm->n].name, sizeof nm->v[nm->n].name, "%s", name);
  nm->v[nm->n++].r = r;
  return 0;
}

void script_names_free(script_names *nm) {
  size_t i;

  for (i = 0; i < nm->n; i++)
    sono_reply_free(nm->v[i].r);
  free(nm->v);
  memset(nm, 0, sizeof *nm);
}

/* The value "$name.path" stands for, or NULL with why set.  With a name
 * known but no reply yet (the check before rendering), *o is NULL. */
static int resolve(const script_names *nm, const char *s, size_t n, const msgpack_object **o,
                   char *why, size_t whylen) {
  size_t nl = 0, i;
  const msgpack_object *cur;
  script_ref *ref;

  while (nl < n && s[nl] != '.')
    nl++;
  if ((ref = find(nm, s, nl)) == NULL) {
    snprintf(why, whylen, "\"$%.*s\": no earlier request is named \"%.*s\" (\"as\": \"%.*s\")",
             (int)n, s, (int)nl, s, (int)nl, s);
    return -1;
  }
  *o = NULL;
  if (ref->r == NULL)
    return 0;
  cur = sono_reply_body(ref->r);
  if (nl == n) {
    /* The reply's id: its first member other than "frame". */
    for (i = 0; cur != NULL && cur->type == MSGPACK_OBJECT_MAP && i < cur->via.map.size; i++) {
      const msgpack_object_kv *kv = &cur->via.map.ptr[i];
      if (!(kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == 5 &&
            memcmp(kv->key.via.str.ptr, "frame", 5) == 0)) {
        *o = &kv->val;
        return 0;
      }
    }
    snprintf(why, whylen, "\"$%.*s\": the reply has nothing but a frame; name a member "
             "(\"$%.*s.frame\")", (int)n, s, (int)n, s);
    return -1;
  }
  for (i = nl; i < n && cur != NULL;) {
    char seg[128], *end;
    size_t sl = 0;
    unsigned long idx;

    i++;                        /* the dot */
    while (i + sl < n && s[i + sl] != '.')
      sl++;
    if (sl == 0 || sl >= sizeof seg)
      cur = NULL;
    else {
      memcpy(seg, s + i, sl);
      seg[sl] = '\0';
      idx = strtoul(seg, &end, 10);
      if (cur->type == MSGPACK_OBJECT_ARRAY && *end == '\0' && isdigit((unsigned char)seg[0]))
        cur = idx < cur->via.array.size ? &cur->via.array.ptr[idx] : NULL;
      else
        cur = sono_map_get(cur, seg);
    }
    i += sl;
  }
  if (cur == NULL) {
    snprintf(why, whylen, "\"$%.*s\": the reply named \"%.*s\" has no such member", (int)n, s,
             (int)nl, s);
    return -1;
  }
  *o = cur;
  return 0;
}

typedef struct bind_cx {
  const script_names *nm;
  sono_args *out;
  char *why;
  size_t whylen;
} bind_cx;

/* Is s (n bytes) a reference "$name..."?  "$$..." is not: it is escaped. */
static bool is_ref(const char *s, size_t n) {
  return n >= 2 && s[0] == '$' && (isalpha((unsigned char)s[1]) || s[1] == '_');
}

static int bind_value(bind_cx *x, const char *key, const msgpack_object *v) {
  const msgpack_object *sub;
  uint32_t i;
  int rc = 0;

  switch (v->type) {
  case MSGPACK_OBJECT_STR:
    if (v->via.str.size >= 2 && v->via.str.ptr[0] == '$' && v->via.str.ptr[1] == '$')
      return sono_args_strn(x->out, key, v->via.str.ptr + 1, v->via.str.size - 1);
    if (!is_ref(v->via.str.ptr, v->via.str.size))
      break;
    if (resolve(x->nm, v->via.str.ptr + 1, v->via.str.size - 1, &sub, x->why, x->whylen) != 0)
      return -1;
    return sub != NULL ? sono_args_object(x->out, key, sub) : sono_args_nil(x->out, key);
  case MSGPACK_OBJECT_MAP:
    rc = sono_args_begin_map(x->out, key);
    for (i = 0; rc == 0 && i < v->via.map.size; i++) {
      const msgpack_object *k = &v->via.map.ptr[i].key;
      char kb[128];

      if (k->type != MSGPACK_OBJECT_STR || k->via.str.size >= sizeof kb) {
        snprintf(x->why, x->whylen, "map keys must be strings");
        return -1;
      }
      memcpy(kb, k->via.str.ptr, k->via.str.size);
      kb[k->via.str.size] = '\0';
      rc = bind_value(x, kb, &v->via.map.ptr[i].val);
    }
    return rc != 0 ? rc : sono_args_end(x->out);
  case MSGPACK_OBJECT_ARRAY:
    rc = sono_args_begin_array(x->out, key);
    for (i = 0; rc == 0 && i < v->via.array.size; i++)
      rc = bind_value(x, NULL, &v->via.array.ptr[i]);
    return rc != 0 ? rc : sono_args_end(x->out);
  default:
    break;
  }
  return sono_args_object(x->out, key, v);
}

static int bind_member(const char *key, const msgpack_object *v, void *ctx) {
  bind_cx *x = ctx;

  if (bind_value(x, key, v) == 0)
    return 0;
  if (x->why[0] == '\0')
    snprintf(x->why, x->whylen, "out of memory");
  return -1;
}

int script_bind(const sono_args *in, const script_names *nm, sono_args **out, char *why,
                size_t whylen) {
  bind_cx x = { nm, sono_args_new(), why, whylen };

  why[0] = '\0';
  *out = NULL;
  if (x.out == NULL) {
    snprintf(why, whylen, "out of memory");
    return -1;
  }
  if (each_member(in, bind_member, &x, why, whylen) != 0) {
    sono_args_free(x.out);
    return -1;
  }
  *out = x.out;
  return 0;
}

/* ---------------------------------------------------------- body_file */

typedef struct file_cx {
  sono_args *out;
  const char *dir;          /* the script's folder, "" for the cwd */
  char *why;
  size_t whylen;
} file_cx;

static int file_member(const char *key, const msgpack_object *v, void *ctx) {
  file_cx *x = ctx;
  char path[4200];
  char *text;
  size_t size;
  int rc;

  if (strcmp(key, "body_file") != 0)
    return sono_args_object(x->out, key, v);
  if (v->type != MSGPACK_OBJECT_STR || v->via.str.size == 0 || v->via.str.size >= 4096) {
    snprintf(x->why, x->whylen, "\"body_file\" must be a path");
    return -1;
  }
  if (v->via.str.ptr[0] == '/' || x->dir[0] == '\0')
    snprintf(path, sizeof path, "%.*s", (int)v->via.str.size, v->via.str.ptr);
  else
    snprintf(path, sizeof path, "%s/%.*s", x->dir, (int)v->via.str.size, v->via.str.ptr);
  if ((text = ctl_slurp(path, 0, &size)) == NULL) {
    snprintf(x->why, x->whylen, "\"body_file\": cannot read %s", path);
    return -1;
  }
  rc = sono_args_strn(x->out, "body", text, size);
  free(text);
  return rc;
}

int script_read_files(sline *l, const char *script_path, char *why, size_t whylen) {
  char dir[4096];
  const char *slash = strrchr(script_path, '/');
  file_cx x = { NULL, dir, why, whylen };

  if (slash == NULL || strcmp(script_path, "-") == 0)
    dir[0] = '\0';
  else
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - script_path), script_path);
  if (slash == script_path)
    snprintf(dir, sizeof dir, "/");
  if ((x.out = sono_args_new()) == NULL) {
    snprintf(why, whylen, "out of memory");
    return -1;
  }
  why[0] = '\0';
  if (each_member(l->args, file_member, &x, why, whylen) != 0) {
    if (why[0] == '\0')
      snprintf(why, whylen, "out of memory");
    sono_args_free(x.out);
    return -1;
  }
  sono_args_free(l->args);
  l->args = x.out;
  return 0;
}
