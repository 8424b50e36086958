/* sonoctl_verbs.c - reading the Csound commands' options and arguments,
 * and running a family's verb (sonoctl_verbs.h). */
#include "sonoctl_verbs.h"
#include "json.h"

#include <stdlib.h>
#include <string.h>

int usage_err(const char *fam, const char *verb, const char *fmt, const char *arg) {
  fprintf(stderr, "sonoctl %s%s%s: ", fam, verb ? " " : "", verb ? verb : "");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, " (see sonoctl %s --help)\n", fam);
  return CTL_USAGE;
}

/* Long options of the verbs: each letter is what `allow` names. */
static const struct {
  const char *name;
  int letter;
} long_opts[] = {
  {"at", 'A'}, {"delay", 'd'}, {"dur", 'D'}, {"priority", 'p'}, {"mode", 'm'},
  {"init", 'i'}, {"size", 'S'}, {"start", 's'}, {"count", 'c'}, {"param", 'P'},
  {"spread", 'r'},
};

/* Parses a verb's arguments: the options it allows (letters of `allow`, all
 * but the flag --spread taking a value, as --name VALUE or --name=VALUE,
 * anywhere on the line) and
 * the positional arguments into o->pos.  Not getopt: a negative number
 * ("-0.5", a value or a breakpoint) must stay an argument.  "--" ends the
 * options.  Returns -1 to go on, else the exit status. */
int parse_opts(const char *fam, int argc, char **argv, const char *allow, vopts *o,
                      const char *synopsis) {
  /* A family that is a single command has no verb. */
  const char *vb = strcmp(argv[0], fam) == 0 ? NULL : argv[0];
  const char *why;
  double num;
  int i, ch = 0;
  bool opts_done = false;

  memset(o, 0, sizeof *o);
  o->dur = -1;
  o->pos = calloc((size_t)argc + 1, sizeof *o->pos);
  o->params = calloc((size_t)argc + 1, sizeof *o->params);
  if (o->pos == NULL || o->params == NULL) {
    fputs("sonoctl: out of memory\n", stderr);
    return CTL_FAIL;
  }
  for (i = 1; i < argc; i++) {
    const char *arg = argv[i], *optarg, *eq;
    size_t k, len;

    if (opts_done || arg[0] != '-' || arg[1] == '\0' || ctl_parse_double(arg, &num)) {
      o->pos[o->npos++] = argv[i];
      continue;
    }
    if (strcmp(arg, "--") == 0) {
      opts_done = true;
      continue;
    }
    if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
      printf("usage: sonoctl %s%s%s %s\n", fam, vb ? " " : "", vb ? vb : "", synopsis);
      return CTL_OK;
    }
    eq = strchr(arg, '=');
    len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
    for (k = 0; k < sizeof long_opts / sizeof long_opts[0]; k++)
      if (arg[1] == '-' && strlen(long_opts[k].name) == len - 2 &&
          strncmp(arg + 2, long_opts[k].name, len - 2) == 0)
        break;
    if (k == sizeof long_opts / sizeof long_opts[0] ||
        strchr(allow, (ch = long_opts[k].letter)) == NULL)
      return usage_err(fam, vb, "unknown option '%s'", arg);
    if (ch == 'r') {
      if (eq != NULL)
        return usage_err(fam, vb, "%s takes no value", arg);
      o->spread = true;
      continue;
    }
    if (eq != NULL) {
      optarg = eq + 1;
    } else if (i + 1 < argc) {
      optarg = argv[++i];
    } else {
      return usage_err(fam, vb, "%s wants a value", arg);
    }
    switch (ch) {
    case 'A':
    case 'd':
      if (o->w.kind != 0)
        return usage_err(fam, vb, "give --at or --delay once, not %s", "both");
      if ((why = ctl_parse_when(&o->w, ch, optarg)) != NULL)
        return usage_err(fam, vb, why, optarg);
      break;
    case 'D':
      if (!ctl_parse_double(optarg, &o->dur))
        return usage_err(fam, vb, "--dur wants seconds (negative: until stopped), not '%s'",
                         optarg);
      break;
    case 'p':
      if (!ctl_parse_int(optarg, &o->priority) || o->priority < 1 || o->priority > 99)
        return usage_err(fam, vb, "--priority wants 1..99, not '%s'", optarg);
      break;
    case 'm':
      o->mode = optarg;
      break;
    case 'i':
      o->init = optarg;
      break;
    case 'S':
      if (!ctl_parse_u64(optarg, &o->size) || o->size == 0)
        return usage_err(fam, vb, "--size wants a count > 0, not '%s'", optarg);
      o->has_size = true;
      break;
    case 's':
      if (!ctl_parse_u64(optarg, &o->start))
        return usage_err(fam, vb, "--start wants an index from 0, not '%s'", optarg);
      break;
    case 'c':
      if (!ctl_parse_u64(optarg, &o->count))
        return usage_err(fam, vb, "--count wants a count, not '%s'", optarg);
      o->has_count = true;
      break;
    case 'P':
      o->params[o->nparams++] = (char *)optarg;
      break;
    default:
      break;
    }
  }
  return -1;
}

int want_args(const char *fam, const char *verb, int have, int min, int max) {
  if (have < min)
    return usage_err(fam, verb, "%s", "missing arguments");
  if (max >= 0 && have > max)
    return usage_err(fam, verb, "%s", "too many arguments");
  return -1;
}

/* Adds "key": {name: value, ...} from k=v strings. */
bool put_kvs(sono_args *a, const char *key, char **kvs, int n, const char *fam,
                    const char *verb, int *rc) {
  int i;

  sono_args_begin_map(a, key);
  for (i = 0; i < n; i++) {
    const char *eq = strchr(kvs[i], '=');
    double v;
    char name[256];

    if (eq == NULL || eq == kvs[i] || (size_t)(eq - kvs[i]) >= sizeof name ||
        !ctl_parse_double(eq + 1, &v)) {
      *rc = usage_err(fam, verb, "parameters are NAME=NUMBER, not '%s'", kvs[i]);
      return false;
    }
    memcpy(name, kvs[i], (size_t)(eq - kvs[i]));
    name[eq - kvs[i]] = '\0';
    sono_args_double(a, name, v);
  }
  sono_args_end(a);
  return true;
}

/* bus.get and channel.get: the reply's value alone, full precision, for
 * use in scripts. */
int send_print_value(ctl *g, const char *op, sono_args *a) {
  sono_reply *r;
  double v = 0;
  int rc;

  if ((r = ctl_send(g, op, a, &rc)) == NULL)
    return rc;
  sono_reply_double(r, "value", &v);
  if (g->json)
    ctl_print_json(sono_reply_body(r));
  else
    printf("%s\n", json_shortest((char[40]){0}, 40, v));
  sono_reply_free(r);
  return CTL_OK;
}

bool parse_id(const char *fam, const char *verb, const char *what, const char *s,
                     uint64_t *id, int *rc) {
  if (!ctl_parse_u64(s, id)) {
    char fmt[64];
    snprintf(fmt, sizeof fmt, "%s is a number, not '%%s'", what);
    *rc = usage_err(fam, verb, fmt, s);
    return false;
  }
  return true;
}

/* Prints "name=value" pairs of a params map on one line. */
void print_params(const msgpack_object *m) {
  uint32_t i;

  if (m == NULL || m->type != MSGPACK_OBJECT_MAP)
    return;
  for (i = 0; i < m->via.map.size; i++) {
    const msgpack_object *k = &m->via.map.ptr[i].key, *v = &m->via.map.ptr[i].val;
    double d = v->type == MSGPACK_OBJECT_FLOAT64 || v->type == MSGPACK_OBJECT_FLOAT32
                   ? v->via.f64
               : v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (double)v->via.u64
               : v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ? (double)v->via.i64
                                                             : 0;
    if (k->type == MSGPACK_OBJECT_STR)
      printf("%s%.*s=%s", i ? " " : "", (int)k->via.str.size, k->via.str.ptr,
             json_shortest((char[40]){0}, 40, d));
  }
}

/* Every verb starts with OPTS and frees with DONE before it returns:
 * vopts_free is also run by the cleanup attribute on every return path. */
void vopts_free(vopts *o) {
  free(o->params);
  free(o->pos);
  o->params = NULL;
  o->pos = NULL;
}

int send_id(ctl *g, const char *fam, const char *verb, const vopts *o, const char *what,
            const char *key, const char *op, const char *done) {
  sono_args *a;
  uint64_t id;
  int rc;

  if ((rc = want_args(fam, verb, o->npos, 1, 1)) >= 0 ||
      !parse_id(fam, verb, what, o->pos[0], &id, &rc))
    return rc;
  a = sono_args_new();
  sono_args_uint(a, key, id);
  ctl_args_when(a, &o->w);
  return ctl_send_print(g, op, a, done);
}

static void family_usage(const family *f, FILE *out) {
  size_t i;

  fprintf(out, "usage: sonoctl [OPTIONS] %s VERB [ARGS]\n\nVerbs:\n", f->name);
  for (i = 0; f->verbs[i].name != NULL; i++)
    fprintf(out, "  %s%s%s\n      %s\n", f->verbs[i].name, f->verbs[i].args[0] ? " " : "",
            f->verbs[i].args, f->verbs[i].help);
}

/* Runs argv[0]'s family of `families`: a single command, or the verb
 * named by argv[1]. */
int run_family(const family *families, size_t nfamilies, ctl *g, int argc, char **argv) {
  const family *f = NULL;
  size_t i;

  for (i = 0; i < nfamilies; i++)
    if (strcmp(argv[0], families[i].name) == 0)
      f = &families[i];
  if (f == NULL)
    return CTL_USAGE;
  if (f->verbs == NULL)
    return f->run(g, f->name, argc, argv);
  if (argc < 2) {
    family_usage(f, stderr);
    return CTL_USAGE;
  }
  if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
    family_usage(f, stdout);
    return CTL_OK;
  }
  for (i = 0; f->verbs[i].name != NULL; i++)
    if (strcmp(argv[1], f->verbs[i].name) == 0) {
      return f->verbs[i].run(g, f->name, argc - 1, argv + 1);
    }
  fprintf(stderr, "sonoctl %s: unknown verb '%s' (see sonoctl %s --help)\n", f->name, argv[1],
          f->name);
  return CTL_USAGE;
}
