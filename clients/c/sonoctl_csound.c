/* sonoctl_csound.c - the live Csound engine from the command line: `sonoctl
 * compile|instr|synth|bus|table|channel|event|score ...` (the csound.*,
 * instr.*, synth.*, bus.*, table.*, channel.* operations of PROTOCOL.md),
 * and `sonoctl render piece.csd -o out.wav`, which renders a .csd locally
 * through sonod-csd-render (README.md says why that is a separate program).
 *
 * Every family is one entry of the main table pointing at ctl_cmd_csound,
 * which picks the family by argv[0] and the verb by argv[1].  Every verb
 * makes one connection, sends one request and prints the reply: with
 * --json the reply's ok map as one line of JSON, else a human form. */
#include "sonoctl.h"
#include "json.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CODE_MAX (16u << 20)   /* a frame holds no more */

/* What a verb's options may hold; each verb says which it accepts. */
typedef struct vopts {
  ctl_when w;
  double dur;          /* --dur, <0 = until stopped */
  int priority;        /* --priority, 0 = not given */
  const char *mode;    /* --mode */
  const char *init;    /* --init FILE */
  uint64_t size, start, count;
  bool has_size, has_count;
  char **params;       /* --param k=v, in order */
  int nparams;
  char **pos;          /* positional arguments */
  int npos;
} vopts;

typedef struct verb {
  const char *name;
  int (*run)(ctl *g, const char *fam, int argc, char **argv);
  const char *args;
  const char *help;
} verb;

typedef struct family {
  const char *name;
  const verb *verbs;   /* NULL: the family is a single command */
  size_t nverbs;
  int (*run)(ctl *g, const char *fam, int argc, char **argv);
  const char *args, *help;
} family;

/* ---------------------------------------------------------------- helpers */

static int usage_err(const char *fam, const char *verb, const char *fmt, const char *arg) {
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
};

/* Parses a verb's arguments: the options it allows (letters of `allow`, all
 * taking a value, as --name VALUE or --name=VALUE, anywhere on the line) and
 * the positional arguments into o->pos.  Not getopt: a negative number
 * ("-0.5", a value or a breakpoint) must stay an argument.  "--" ends the
 * options.  Returns -1 to go on, else the exit status. */
static int parse_opts(const char *fam, int argc, char **argv, const char *allow, vopts *o,
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

static int want_args(const char *fam, const char *verb, int have, int min, int max) {
  if (have < min)
    return usage_err(fam, verb, "%s", "missing arguments");
  if (max >= 0 && have > max)
    return usage_err(fam, verb, "%s", "too many arguments");
  return -1;
}

/* Adds "key": {name: value, ...} from k=v strings. */
static bool put_kvs(sono_args *a, const char *key, char **kvs, int n, const char *fam,
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
static int send_print_value(ctl *g, const char *op, sono_args *a) {
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

static bool parse_id(const char *fam, const char *verb, const char *what, const char *s,
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
static void print_params(const msgpack_object *m) {
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
static void vopts_free(vopts *o) {
  free(o->params);
  free(o->pos);
  o->params = NULL;
  o->pos = NULL;
}

#define OPTS(allow, synopsis)                                                   \
  vopts o __attribute__((cleanup(vopts_free)));                                 \
  int rc;                                                                       \
  if ((rc = parse_opts(fam, argc, argv, allow, &o, synopsis)) >= 0)             \
    return rc;

/* ---------------------------------------------------------------- compile */

static int f_compile(ctl *g, const char *fam, int argc, char **argv) {
  sono_args *a;
  char *code;

  OPTS("", "FILE|-")
  if ((rc = want_args(fam, NULL, o.npos, 1, 1)) >= 0)
    return rc;
  if ((code = ctl_slurp(o.pos[0], CODE_MAX, NULL)) == NULL)
    return CTL_FAIL;
  a = sono_args_new();
  sono_args_str(a, "code", code);
  free(code);
  return ctl_send_print(g, "csound.compile", a, "compiled");
}

/* ---------------------------------------------------------------- instr */

static int v_instr_define(ctl *g, const char *fam, int argc, char **argv) {
  sono_args *a;
  sono_reply *r;
  char *body, *init = NULL;

  OPTS("P:p:i:", "NAME FILE|- [--param NAME=VALUE]... [--priority N] [--init FILE]")
  if ((rc = want_args(fam, argv[0], o.npos, 2, 2)) >= 0) {
      return rc;
  }
  if ((body = ctl_slurp(o.pos[1], CODE_MAX, NULL)) == NULL ||
      (o.init != NULL && (init = ctl_slurp(o.init, CODE_MAX, NULL)) == NULL)) {
    free(body);
      return CTL_FAIL;
  }
  a = sono_args_new();
  sono_args_str(a, "name", o.pos[0]);
  sono_args_str(a, "body", body);
  if (init != NULL)
    sono_args_str(a, "init", init);
  if (o.priority > 0)
    sono_args_int(a, "priority", o.priority);
  if (o.nparams > 0 && !put_kvs(a, "params", o.params, o.nparams, fam, argv[0], &rc)) {
    sono_args_free(a);
    free(body);
    free(init);
      return rc;
  }
  free(body);
  free(init);
  if ((r = ctl_send(g, "instr.define", a, &rc)) == NULL)
    return rc;
  if (g->json) {
    ctl_print_json(sono_reply_body(r));
  } else {
    printf("defined ");
    ctl_put_str(sono_reply_body(r), "name");
    putchar(':');
    putchar(' ');
    print_params(sono_reply_get(r, "params"));
    putchar('\n');
  }
  sono_reply_free(r);
  return CTL_OK;
}

static int v_instr_list(ctl *g, const char *fam, int argc, char **argv) {
  const msgpack_object *list;
  sono_reply *r;
  uint32_t i;

  OPTS("", "")
  if ((rc = want_args(fam, argv[0], o.npos, 0, 0)) >= 0)
    return rc;
  if ((r = ctl_call(g, "instr.list", NULL, &rc)) == NULL)
    return rc;
  list = sono_reply_get(r, "instrs");
  if (g->json) {
    ctl_print_json(sono_reply_body(r));
  } else if (list == NULL || list->type != MSGPACK_OBJECT_ARRAY || list->via.array.size == 0) {
    puts("no instruments defined");
  } else {
    for (i = 0; i < list->via.array.size; i++) {
      ctl_put_str(&list->via.array.ptr[i], "name");
      fputs("  ", stdout);
      print_params(sono_obj_get(&list->via.array.ptr[i], "params"));
      putchar('\n');
    }
  }
  sono_reply_free(r);
  return CTL_OK;
}

static int v_instr_undefine(ctl *g, const char *fam, int argc, char **argv) {
  sono_args *a;

  OPTS("", "NAME")
  if ((rc = want_args(fam, argv[0], o.npos, 1, 1)) >= 0)
    return rc;
  a = sono_args_new();
  sono_args_str(a, "name", o.pos[0]);
  return ctl_send_print(g, "instr.undefine", a, "undefined");
}

/* ---------------------------------------------------------------- synth */

static int v_synth_start(ctl *g, const char *fam, int argc, char **argv) {
  sono_args *a;
  sono_reply *r;
  uint64_t id = 0, frame = 0;

  OPTS("A:d:D:p:", "INSTR [NAME=VALUE...] [--at FRAME | --delay SEC] [--dur SEC] [--priority N]")
  if ((rc = want_args(fam, argv[0], o.npos, 1, -1)) >= 0)
    return rc;
  a = sono_args_new();
  sono_args_str(a, "instr", o.pos[0]);
  if (o.npos > 1 &&
      !put_kvs(a, "args", o.pos + 1, o.npos - 1, fam, argv[0], &rc)) {
    sono_args_free(a);
    return rc;
  }
  if (o.dur >= 0)
    sono_args_double(a, "dur", o.dur);
  if (o.priority > 0)
    sono_args_int(a, "priority", o.priority);
  ctl_args_when(a, &o.w);
  if ((r = ctl_send(g, "synth.start", a, &rc)) == NULL)
    return rc;
  sono_reply_uint(r, "synth", &id);
  sono_reply_uint(r, "frame", &frame);
  if (g->json)
    ctl_print_json(sono_reply_body(r));
  else
    printf("synth %llu at frame %llu\n", (unsigned long long)id, (unsigned long long)frame);
  sono_reply_free(r);
  return CTL_OK;
}

static int v_synth_set(ctl *g, const char *fam, int argc, char **argv) {
  sono_args *a;
  uint64_t id;

  OPTS("A:d:", "SYNTH NAME=VALUE... [--at FRAME | --delay SEC]")
  if ((rc = want_args(fam, argv[0], o.npos, 2, -1)) >= 0 ||
      !parse_id(fam, argv[0], "SYNTH", o.pos[0], &id, &rc))
    return rc;
  a = sono_args_new();
  sono_args_uint(a, "synth", id);
  if (!put_kvs(a, "args", o.pos + 1, o.npos - 1, fam, argv[0], &rc)) {
    sono_args_free(a);
    return rc;
  }
  ctl_args_when(a, &o.w);
  return ctl_send_print(g, "synth.set", a, "set");
}

static int v_synth_automate(ctl *g, const char *fam, int argc, char **argv) {
  sono_args *a;
  uint64_t id;
  int i, n;

  OPTS("A:d:m:", "SYNTH PARAM T0 V0 [T1 V1...] [--mode linear|exp|cos|smooth] "
                 "[--at FRAME | --delay SEC]")
  if ((rc = want_args(fam, argv[0], o.npos, 4, -1)) >= 0 ||
      !parse_id(fam, argv[0], "SYNTH", o.pos[0], &id, &rc))
    return rc;
  n = o.npos - 2;
  if (n % 2 != 0)
    return usage_err(fam, argv[0], "%s", "points come in pairs: T0 V0 T1 V1 ...");
  a = sono_args_new();
  sono_args_uint(a, "synth", id);
  sono_args_str(a, "param", o.pos[1]);
  sono_args_begin_array(a, "points");
  for (i = 0; i < n; i++) {
    double v;
    if (!ctl_parse_double(o.pos[2 + i], &v)) {
      sono_args_free(a);
      return usage_err(fam, argv[0], "points are numbers, not '%s'", o.pos[2 + i]);
    }
    sono_args_double(a, NULL, v);
  }
  sono_args_end(a);
  if (o.mode != NULL)
    sono_args_str(a, "mode", o.mode);
  ctl_args_when(a, &o.w);
  return ctl_send_print(g, "synth.automate", a, "automated");
}

static int v_synth_stop(ctl *g, const char *fam, int argc, char **argv) {
  sono_args *a;
  uint64_t id;

  OPTS("A:d:", "SYNTH [--at FRAME | --delay SEC]")
  if ((rc = want_args(fam, argv[0], o.npos, 1, 1)) >= 0 ||
      !parse_id(fam, argv[0], "SYNTH", o.pos[0], &id, &rc))
    return rc;
  a = sono_args_new();
  sono_args_uint(a, "synth", id);
  ctl_args_when(a, &o.w);
  return ctl_send_print(g, "synth.stop", a, "stopped");
}

static int v_synth_list(ctl *g, const char *fam, int argc, char **argv) {
  const msgpack_object *list;
  sono_reply *r;
  uint32_t i;

  OPTS("", "")
  if ((rc = want_args(fam, argv[0], o.npos, 0, 0)) >= 0)
    return rc;
  if ((r = ctl_call(g, "synth.list", NULL, &rc)) == NULL)
    return rc;
  list = sono_reply_get(r, "synths");
  if (g->json) {
    ctl_print_json(sono_reply_body(r));
  } else if (list == NULL || list->type != MSGPACK_OBJECT_ARRAY || list->via.array.size == 0) {
    puts("no synths");
  } else {
    for (i = 0; i < list->via.array.size; i++) {
      uint64_t id = 0;
      sono_obj_uint(&list->via.array.ptr[i], "synth", &id);
      printf("%llu  ", (unsigned long long)id);
      ctl_put_str(&list->via.array.ptr[i], "instr");
      putchar('\n');
    }
  }
  sono_reply_free(r);
  return CTL_OK;
}

static int v_synth_get(ctl *g, const char *fam, int argc, char **argv) {
  sono_args *a;
  sono_reply *r;
  uint64_t id;

  OPTS("", "SYNTH")
  if ((rc = want_args(fam, argv[0], o.npos, 1, 1)) >= 0 ||
      !parse_id(fam, argv[0], "SYNTH", o.pos[0], &id, &rc))
    return rc;
  a = sono_args_new();
  sono_args_uint(a, "synth", id);
  if ((r = ctl_send(g, "synth.get", a, &rc)) == NULL)
    return rc;
  if (g->json) {
    ctl_print_json(sono_reply_body(r));
  } else {
    printf("synth %llu ", (unsigned long long)id);
    ctl_put_str(sono_reply_body(r), "instr");
    fputs(": ", stdout);
    print_params(sono_reply_get(r, "params"));
    putchar('\n');
  }
  sono_reply_free(r);
  return CTL_OK;
}

/* ---------------------------------------------------------------- bus */

static int v_bus_new(ctl *g, const char *fam, int argc, char **argv) {
  sono_args *a;
  sono_reply *r;
  uint64_t bus = 0;

  OPTS("", "audio|control")
  if ((rc = want_args(fam, argv[0], o.npos, 1, 1)) >= 0)
    return rc;
  a = sono_args_new();
  sono_args_str(a, "kind", o.pos[0]);
  if ((r = ctl_send(g, "bus.new", a, &rc)) == NULL)
    return rc;
  sono_reply_uint(r, "bus", &bus);
  if (g->json)
    ctl_print_json(sono_reply_body(r));
  else
    printf("bus %llu (%s)\n", (unsigned long long)bus, o.pos[0]);
  sono_reply_free(r);
  return CTL_OK;
}

static int v_bus_get(ctl *g, const char *fam, int argc, char **argv) {
  sono_args *a;
  uint64_t bus;

  OPTS("", "BUS")
  if ((rc = want_args(fam, argv[0], o.npos, 1, 1)) >= 0 ||
      !parse_id(fam, argv[0], "BUS", o.pos[0], &bus, &rc))
    return rc;
  a = sono_args_new();
  sono_args_uint(a, "bus", bus);
  return send_print_value(g, "bus.get", a);
}

static int v_bus_set(ctl *g, const char *fam, int argc, char **argv) {
  sono_args *a;
  uint64_t bus;
  double v;

  OPTS("A:d:", "BUS VALUE [--at FRAME | --delay SEC]")
  if ((rc = want_args(fam, argv[0], o.npos, 2, 2)) >= 0 ||
      !parse_id(fam, argv[0], "BUS", o.pos[0], &bus, &rc))
    return rc;
  if (!ctl_parse_double(o.pos[1], &v))
    return usage_err(fam, argv[0], "VALUE is a number, not '%s'", o.pos[1]);
  a = sono_args_new();
  sono_args_uint(a, "bus", bus);
  sono_args_double(a, "value", v);
  ctl_args_when(a, &o.w);
  return ctl_send_print(g, "bus.set", a, "set");
}

static int v_bus_free(ctl *g, const char *fam, int argc, char **argv) {
  sono_args *a;
  uint64_t bus;

  OPTS("", "BUS")
  if ((rc = want_args(fam, argv[0], o.npos, 1, 1)) >= 0 ||
      !parse_id(fam, argv[0], "BUS", o.pos[0], &bus, &rc))
    return rc;
  a = sono_args_new();
  sono_args_uint(a, "bus", bus);
  return ctl_send_print(g, "bus.free", a, "freed");
}

/* ---------------------------------------------------------------- table */

static int v_table_new(ctl *g, const char *fam, int argc, char **argv) {
  sono_args *a;
  sono_reply *r;
  uint64_t tab = 0, size = 0;
  int i, n;

  OPTS("S:", "--size N | VALUE...")
  n = o.npos;
  if (o.has_size == (n > 0))
    return usage_err(fam, argv[0], "%s", "give --size N or the values, one of them");
  a = sono_args_new();
  if (o.has_size) {
    sono_args_uint(a, "size", o.size);
  } else {
    sono_args_begin_array(a, "data");
    for (i = 0; i < n; i++) {
      double v;
      if (!ctl_parse_double(o.pos[i], &v)) {
        sono_args_free(a);
        return usage_err(fam, argv[0], "values are numbers, not '%s'", o.pos[i]);
      }
      sono_args_double(a, NULL, v);
    }
    sono_args_end(a);
  }
  if ((r = ctl_send(g, "table.new", a, &rc)) == NULL)
    return rc;
  sono_reply_uint(r, "table", &tab);
  sono_reply_uint(r, "size", &size);
  if (g->json)
    ctl_print_json(sono_reply_body(r));
  else
    printf("table %llu (%llu values)\n", (unsigned long long)tab, (unsigned long long)size);
  sono_reply_free(r);
  return CTL_OK;
}

static int v_table_read(ctl *g, const char *fam, int argc, char **argv) {
  char path[PATH_MAX];
  sono_args *a;
  sono_reply *r;
  uint64_t tab = 0, chans = 0;
  double sr = 0;

  OPTS("", "PATH")
  if ((rc = want_args(fam, argv[0], o.npos, 1, 1)) >= 0)
    return rc;
  /* The daemon has its own working directory: send an absolute path. */
  if (o.pos[0][0] != '/' && getcwd(path, sizeof path) != NULL &&
      strlen(path) + strlen(o.pos[0]) + 2 <= sizeof path) {
    strcat(path, "/");
    strcat(path, o.pos[0]);
  } else {
    snprintf(path, sizeof path, "%s", o.pos[0]);
  }
  a = sono_args_new();
  sono_args_str(a, "path", path);
  if ((r = ctl_send(g, "table.read", a, &rc)) == NULL)
    return rc;
  sono_reply_uint(r, "table", &tab);
  sono_reply_uint(r, "channels", &chans);
  sono_reply_double(r, "sr", &sr);
  if (g->json)
    ctl_print_json(sono_reply_body(r));
  else
    printf("table %llu (%llu channels, %g Hz)\n", (unsigned long long)tab,
           (unsigned long long)chans, sr);
  sono_reply_free(r);
  return CTL_OK;
}

static int v_table_get(ctl *g, const char *fam, int argc, char **argv) {
  const msgpack_object *data;
  sono_args *a;
  sono_reply *r;
  uint64_t tab;
  uint32_t i;

  OPTS("s:c:", "TABLE [--start I] [--count N]")
  if ((rc = want_args(fam, argv[0], o.npos, 1, 1)) >= 0 ||
      !parse_id(fam, argv[0], "TABLE", o.pos[0], &tab, &rc))
    return rc;
  a = sono_args_new();
  sono_args_uint(a, "table", tab);
  sono_args_uint(a, "start", o.start);
  if (o.has_count)
    sono_args_uint(a, "count", o.count);
  if ((r = ctl_send(g, "table.get", a, &rc)) == NULL)
    return rc;
  data = sono_reply_get(r, "data");
  if (g->json) {
    ctl_print_json(sono_reply_body(r));
  } else if (data != NULL && data->type == MSGPACK_OBJECT_ARRAY) {
    /* One value per line: easy to feed to other tools. */
    for (i = 0; i < data->via.array.size; i++)
      printf("%s\n", json_shortest((char[40]){0}, 40, data->via.array.ptr[i].via.f64));
  }
  sono_reply_free(r);
  return CTL_OK;
}

static int v_table_set(ctl *g, const char *fam, int argc, char **argv) {
  sono_args *a;
  uint64_t tab;
  int i;

  OPTS("s:A:d:", "TABLE VALUE... [--start I] [--at FRAME | --delay SEC]")
  if ((rc = want_args(fam, argv[0], o.npos, 2, -1)) >= 0 ||
      !parse_id(fam, argv[0], "TABLE", o.pos[0], &tab, &rc))
    return rc;
  a = sono_args_new();
  sono_args_uint(a, "table", tab);
  sono_args_uint(a, "start", o.start);
  sono_args_begin_array(a, "data");
  for (i = 1; i < o.npos; i++) {
    double v;
    if (!ctl_parse_double(o.pos[i], &v)) {
      sono_args_free(a);
      return usage_err(fam, argv[0], "values are numbers, not '%s'", o.pos[i]);
    }
    sono_args_double(a, NULL, v);
  }
  sono_args_end(a);
  ctl_args_when(a, &o.w);
  return ctl_send_print(g, "table.set", a, "set");
}

static int v_table_free(ctl *g, const char *fam, int argc, char **argv) {
  sono_args *a;
  uint64_t tab;

  OPTS("", "TABLE")
  if ((rc = want_args(fam, argv[0], o.npos, 1, 1)) >= 0 ||
      !parse_id(fam, argv[0], "TABLE", o.pos[0], &tab, &rc))
    return rc;
  a = sono_args_new();
  sono_args_uint(a, "table", tab);
  return ctl_send_print(g, "table.free", a, "freed");
}

/* ---------------------------------------------------------------- channel */

static int v_channel_set(ctl *g, const char *fam, int argc, char **argv) {
  sono_args *a;
  double v;

  OPTS("A:d:", "NAME VALUE [--at FRAME | --delay SEC]")
  if ((rc = want_args(fam, argv[0], o.npos, 2, 2)) >= 0)
    return rc;
  if (!ctl_parse_double(o.pos[1], &v))
    return usage_err(fam, argv[0], "VALUE is a number, not '%s'", o.pos[1]);
  a = sono_args_new();
  sono_args_str(a, "name", o.pos[0]);
  sono_args_double(a, "value", v);
  ctl_args_when(a, &o.w);
  return ctl_send_print(g, "channel.set", a, "set");
}

static int v_channel_get(ctl *g, const char *fam, int argc, char **argv) {
  sono_args *a;

  OPTS("", "NAME")
  if ((rc = want_args(fam, argv[0], o.npos, 1, 1)) >= 0)
    return rc;
  a = sono_args_new();
  sono_args_str(a, "name", o.pos[0]);
  return send_print_value(g, "channel.get", a);
}

/* ---------------------------------------------------------------- score */

static int f_event(ctl *g, const char *fam, int argc, char **argv) {
  sono_args *a;

  OPTS("A:d:", "\"LINE\" [--at FRAME | --delay SEC]")
  if ((rc = want_args(fam, NULL, o.npos, 1, 1)) >= 0)
    return rc;
  a = sono_args_new();
  sono_args_str(a, "line", o.pos[0]);
  ctl_args_when(a, &o.w);
  return ctl_send_print(g, "csound.event", a, "queued");
}

static int f_score(ctl *g, const char *fam, int argc, char **argv) {
  sono_args *a;
  char *text;

  OPTS("A:d:", "FILE|- [--at FRAME | --delay SEC]")
  if ((rc = want_args(fam, NULL, o.npos, 1, 1)) >= 0)
    return rc;
  if ((text = ctl_slurp(o.pos[0], CODE_MAX, NULL)) == NULL)
    return CTL_FAIL;
  a = sono_args_new();
  sono_args_str(a, "text", text);
  free(text);
  ctl_args_when(a, &o.w);
  return ctl_send_print(g, "csound.score", a, "queued");
}

/* ---------------------------------------------------------------- render */

#ifndef SONOCTL_LIBEXECDIR
#define SONOCTL_LIBEXECDIR "/usr/local/libexec"
#endif
#define RENDER_HELPER "sonod-csd-render"

int ctl_csd_render(ctl *g, const char *csd, const char *out) {
  char path[PATH_MAX], self[PATH_MAX];
  const char *env = getenv("SONOD_CSD_RENDER");
  char *args[5];
  ssize_t n;
  int k = 0;

  /* $SONOD_CSD_RENDER, then next to this sonoctl (the build tree), then
   * the installed libexec directory. */
  args[k++] = (char *)RENDER_HELPER;
  if (g->json)
    args[k++] = (char *)"--json";
  args[k++] = (char *)csd;
  args[k++] = (char *)out;
  args[k] = NULL;
  fflush(stdout);
  if (env != NULL && env[0] != '\0') {
    execv(env, args);
    fprintf(stderr, "sonoctl: not_found: cannot run $SONOD_CSD_RENDER (%s): %s\n", env,
            strerror(errno));
    return CTL_FAIL;
  }
  if ((n = readlink("/proc/self/exe", self, sizeof self - 1)) > 0) {
    char *slash;
    self[n] = '\0';
    if ((slash = strrchr(self, '/')) != NULL) {
      *slash = '\0';
      if (snprintf(path, sizeof path, "%s/%s", self, RENDER_HELPER) < (int)sizeof path &&
          access(path, X_OK) == 0)
        execv(path, args);
    }
  }
  snprintf(path, sizeof path, "%s/%s", SONOCTL_LIBEXECDIR, RENDER_HELPER);
  execv(path, args);
  fprintf(stderr, "sonoctl: not_found: cannot run %s: %s (set $SONOD_CSD_RENDER)\n", path,
          strerror(errno));
  return CTL_FAIL;
}

/* ---------------------------------------------------------------- tables */

static const verb instr_verbs[] = {
  {"define", v_instr_define, "NAME FILE|- [--param NAME=VALUE]... [--priority N] [--init FILE]",
   "define (or replace) an instrument from a file of instrument code (no instr/endin)"},
  {"list", v_instr_list, "", "list instruments and their parameter defaults"},
  {"undefine", v_instr_undefine, "NAME", "remove an instrument"},
};

static const verb synth_verbs[] = {
  {"start", v_synth_start,
   "INSTR [NAME=VALUE...] [--at FRAME | --delay SEC] [--dur SEC] [--priority N]",
   "start a synth; prints its id"},
  {"set", v_synth_set, "SYNTH NAME=VALUE... [--at FRAME | --delay SEC]",
   "set k-rate parameters"},
  {"automate", v_synth_automate,
   "SYNTH PARAM T0 V0 [T1 V1...] [--mode linear|exp|cos|smooth] [--at FRAME | --delay SEC]",
   "move a parameter along breakpoints (seconds, values)"},
  {"stop", v_synth_stop, "SYNTH [--at FRAME | --delay SEC]", "stop (or cancel) a synth"},
  {"list", v_synth_list, "", "live and pending synths: ID  INSTR"},
  {"get", v_synth_get, "SYNTH", "current parameter values"},
};

static const verb bus_verbs[] = {
  {"new", v_bus_new, "audio|control", "make a bus; prints its number"},
  {"get", v_bus_get, "BUS", "a control bus's value"},
  {"set", v_bus_set, "BUS VALUE [--at FRAME | --delay SEC]", "set a control bus"},
  {"free", v_bus_free, "BUS", "release a bus (reclaimed when its last user ends)"},
};

static const verb table_verbs[] = {
  {"new", v_table_new, "--size N | VALUE...", "a zero table of N values, or one of the values"},
  {"read", v_table_read, "PATH", "a table from a sound file (read by the daemon)"},
  {"get", v_table_get, "TABLE [--start I] [--count N]", "values, one per line"},
  {"set", v_table_set, "TABLE VALUE... [--start I] [--at FRAME | --delay SEC]", "write values"},
  {"free", v_table_free, "TABLE", "free a table"},
};

static const verb channel_verbs[] = {
  {"set", v_channel_set, "NAME VALUE [--at FRAME | --delay SEC]",
   "set a Csound control channel (chnget \"NAME\")"},
  {"get", v_channel_get, "NAME", "a control channel's value"},
};

#define VERBS(v) v, sizeof v / sizeof v[0]

static const family families[] = {
  {"compile", NULL, 0, f_compile, "FILE|-", "compile orchestra code into the live Csound"},
  {"instr", VERBS(instr_verbs), NULL, NULL, NULL},
  {"synth", VERBS(synth_verbs), NULL, NULL, NULL},
  {"bus", VERBS(bus_verbs), NULL, NULL, NULL},
  {"table", VERBS(table_verbs), NULL, NULL, NULL},
  {"channel", VERBS(channel_verbs), NULL, NULL, NULL},
  {"event", NULL, 0, f_event, "\"LINE\" [--at FRAME | --delay SEC]", "send one score line"},
  {"score", NULL, 0, f_score, "FILE|- [--at FRAME | --delay SEC]",
   "send score lines timed from --at/--delay"},
};

static void family_usage(const family *f, FILE *out) {
  size_t i;

  fprintf(out, "usage: sonoctl [OPTIONS] %s VERB [ARGS]\n\nVerbs:\n", f->name);
  for (i = 0; i < f->nverbs; i++)
    fprintf(out, "  %s%s%s\n      %s\n", f->verbs[i].name, f->verbs[i].args[0] ? " " : "",
            f->verbs[i].args, f->verbs[i].help);
}

int ctl_cmd_csound(ctl *g, int argc, char **argv) {
  const family *f = NULL;
  size_t i;

  for (i = 0; i < sizeof families / sizeof families[0]; i++)
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
  for (i = 0; i < f->nverbs; i++)
    if (strcmp(argv[1], f->verbs[i].name) == 0) {
      return f->verbs[i].run(g, f->name, argc - 1, argv + 1);
    }
  fprintf(stderr, "sonoctl %s: unknown verb '%s' (see sonoctl %s --help)\n", f->name, argv[1],
          f->name);
  return CTL_USAGE;
}
