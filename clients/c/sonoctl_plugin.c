/* sonoctl_plugin.c - `sonoctl plugin ...`: VST2 plugin nodes (the plugin.*
 * operations of PROTOCOL.md).
 *
 * One subcommand of the main table with its own small table of verbs.
 * Every verb makes one connection, sends one request (two for `note --at
 * --len`, which needs the sample rate) and prints the reply: with --json the
 * reply's ok map as one line of JSON, else a human form.
 *
 * `plugin state save` writes a file of a 20-byte header and the state blob:
 *
 *   offset 0   8 bytes  magic "SONOVST1"
 *   offset 8   uint32   kind, little-endian: 1 the plugin's chunk, 2 sonod's
 *                       parameter snapshot (plugin.state.get's "kind")
 *   offset 12  uint64   length of the blob, little-endian
 *   offset 20  the blob, exactly `length` bytes
 *
 * `plugin state load` checks all of it before sending the blob. */
#include "sonoctl.h"
#include "json.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATE_MAGIC "SONOVST1"
#define STATE_HEADER 20
#define STATE_MAX (256u << 20)  /* the daemon assembles no larger state */

typedef struct verb {
  const char *name;
  int (*run)(ctl *g, int argc, char **argv);
  const char *args;
  const char *help;
} verb;

/* ---------------------------------------------------------------- helpers */

static int verb_usage(const char *verb, const char *fmt, const char *arg) {
  fprintf(stderr, "sonoctl plugin %s: ", verb);
  fprintf(stderr, fmt, arg);
  fputs(" (see sonoctl plugin --help)\n", stderr);
  return CTL_USAGE;
}

/* --at / --delay, shared by the verbs that act at a time. */
static bool parse_when(const char *verb, int ch, const char *arg, ctl_when *w, int *rc) {
  const char *why;

  if (w->kind != 0) {
    *rc = verb_usage(verb, "give --at or --delay once, not %s", "both");
    return false;
  }
  if ((why = ctl_parse_when(w, ch, arg)) != NULL) {
    *rc = verb_usage(verb, why, arg);
    return false;
  }
  return true;
}

static bool parse_node(const char *verb, const char *s, uint64_t *node, int *rc) {
  if (!ctl_parse_u64(s, node)) {
    *rc = verb_usage(verb, "NODE is a node number, not '%s'", s);
    return false;
  }
  return true;
}

/* A parameter given as a number is an index, anything else a name. */
static void args_param(sono_args *a, const char *s) {
  uint64_t index;

  if (ctl_parse_u64(s, &index))
    sono_args_uint(a, "index", index);
  else
    sono_args_str(a, "name", s);
}

/* Options of the verbs without --at/--delay: -h, and --timeout MS when
 * timeout is not NULL (load, scan; 0 when not given).  Returns -1 to go
 * on, else the exit status. */
static int verb_opts(int argc, char **argv, const char *help, uint64_t *timeout) {
  static const struct option plain[] = {
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  static const struct option timed[] = {
    {"timeout", required_argument, NULL, 'T'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  int ch;

  while ((ch = getopt_long(argc, argv, timeout ? "T:h" : "h", timeout ? timed : plain,
                           NULL)) != -1) {
    if (ch == 'h') {
      printf("usage: sonoctl plugin %s %s\n", argv[0], help);
      return CTL_OK;
    }
    if (ch != 'T')
      return CTL_USAGE;
    if (!ctl_parse_u64(optarg, timeout) || *timeout == 0)
      return verb_usage(argv[0], "--timeout wants milliseconds > 0, not '%s'", optarg);
  }
  return -1;
}

static int plain_opts(int argc, char **argv, const char *help) {
  return verb_opts(argc, argv, help, NULL);
}

static int want_args(const char *verb, int have, int min, int max) {
  if (have < min)
    return verb_usage(verb, "%s", "missing arguments");
  if (have > max)
    return verb_usage(verb, "%s", "too many arguments");
  return -1;
}


/* ---------------------------------------------------------------- verbs */

static int v_load(ctl *g, int argc, char **argv) {
  uint64_t timeout = 0;
  sono_args *a;
  sono_reply *r;
  int rc, i, n = 0, isolate = -1;
  const char *group = NULL;

  /* --isolate[=GROUP] / --in-process (the daemon's isolate-plugins
   * otherwise). */
  for (i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--isolate") == 0)
      isolate = 1;
    else if (strncmp(argv[i], "--isolate=", 10) == 0 && argv[i][10] != '\0')
      isolate = 1, group = argv[i] + 10;
    else if (strcmp(argv[i], "--in-process") == 0)
      isolate = 0;
    else
      argv[n++] = argv[i];
  }
  argc = n;
  if ((rc = verb_opts(argc, argv, "PATH [--timeout MS] [--isolate[=GROUP]|--in-process]", &timeout)) >= 0 ||
      (rc = want_args(argv[0], argc - optind, 1, 1)) >= 0)
    return rc;
  a = sono_args_new();
  sono_args_str(a, "path", argv[optind]);
  if (timeout > 0)
    sono_args_uint(a, "timeout", timeout);
  if (group != NULL)
    sono_args_str(a, "isolate", group);
  else if (isolate >= 0)
    sono_args_bool(a, "isolate", isolate == 1);
  r = ctl_send(g, "plugin.load", a, &rc);
  return r == NULL ? rc : ctl_print_reply(g, r);
}

/* A verb whose only argument is NODE: sends {node} to op.  NULL with *rc
 * the exit status when it was not sent or failed. */
static sono_reply *send_node(ctl *g, int argc, char **argv, const char *op, int *rc) {
  uint64_t node;
  sono_args *a;

  if ((*rc = plain_opts(argc, argv, "NODE")) >= 0 ||
      (*rc = want_args(argv[0], argc - optind, 1, 1)) >= 0)
    return NULL;
  if (!parse_node(argv[0], argv[optind], &node, rc))
    return NULL;
  a = sono_args_new();
  sono_args_uint(a, "node", node);
  return ctl_send(g, op, a, rc);
}

static int v_restart(ctl *g, int argc, char **argv) {
  int rc;
  sono_reply *r = send_node(g, argc, argv, "plugin.restart", &rc);

  return r == NULL ? rc : ctl_print_reply(g, r);
}

static int v_unload(ctl *g, int argc, char **argv) {
  int rc;
  sono_reply *r = send_node(g, argc, argv, "plugin.unload", &rc);

  return r == NULL ? rc : ctl_print_frame(g, r, "unloaded");
}

static int v_list(ctl *g, int argc, char **argv) {
  const msgpack_object *nodes;
  sono_reply *r;
  uint32_t i;
  int rc;

  if ((rc = plain_opts(argc, argv, "")) >= 0 || (rc = want_args(argv[0], argc - optind, 0, 0)) >= 0)
    return rc;
  if ((r = ctl_call(g, "plugin.list", NULL, &rc)) == NULL)
    return rc;
  nodes = sono_reply_get(r, "nodes");
  if (g->json) {
    ctl_print_json(sono_reply_body(r));
  } else if (nodes == NULL || nodes->type != MSGPACK_OBJECT_ARRAY || nodes->via.array.size == 0) {
    puts("no plugins loaded");
  } else {
    for (i = 0; i < nodes->via.array.size; i++) {
      const msgpack_object *n = &nodes->via.array.ptr[i];
      uint64_t id = 0;

      sono_obj_uint(n, "node", &id);
      printf("%4llu  ", (unsigned long long)id);
      ctl_put_str(n, "name");
      fputs("  ", stdout);
      ctl_put_str(n, "path");
      putchar('\n');
    }
  }
  sono_reply_free(r);
  return CTL_OK;
}

/* Calls an op that only takes the node. */
static sono_reply *node_call(ctl *g, int argc, char **argv, const char *op, int *rc) {
  uint64_t node;
  sono_args *a;
  sono_reply *r;

  if ((*rc = plain_opts(argc, argv, "NODE")) >= 0 ||
      (*rc = want_args(argv[0], argc - optind, 1, 1)) >= 0)
    return NULL;
  if (!parse_node(argv[0], argv[optind], &node, rc))
    return NULL;
  a = sono_args_new();
  sono_args_uint(a, "node", node);
  r = ctl_send(g, op, a, rc);
  return r;
}

static int v_params(ctl *g, int argc, char **argv) {
  const msgpack_object *ps;
  sono_reply *r;
  uint32_t i;
  int rc;

  if ((r = node_call(g, argc, argv, "plugin.params", &rc)) == NULL)
    return rc;
  ps = sono_reply_get(r, "params");
  if (g->json) {
    ctl_print_json(sono_reply_body(r));
  } else if (ps != NULL && ps->type == MSGPACK_OBJECT_ARRAY) {
    /* One line per parameter: index, name, value, display text and unit. */
    for (i = 0; i < ps->via.array.size; i++) {
      const msgpack_object *p = &ps->via.array.ptr[i];
      int64_t index = 0;
      double value = 0;

      sono_obj_int(p, "index", &index);
      sono_obj_double(p, "value", &value);
      printf("%4lld  ", (long long)index);
      ctl_put_str(p, "name");
      printf("  %.6f  ", value);
      ctl_put_str(p, "display");
      fputs(" ", stdout);
      ctl_put_str(p, "label");
      putchar('\n');
    }
  }
  sono_reply_free(r);
  return CTL_OK;
}

static int v_set(ctl *g, int argc, char **argv) {
  static const struct option opts[] = {
    {"at", required_argument, NULL, 'A'},
    {"delay", required_argument, NULL, 'd'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  ctl_when w = {0, 0, 0};
  uint64_t node;
  double value;
  sono_args *a;
  sono_reply *r;
  int ch, rc;

  while ((ch = getopt_long(argc, argv, "A:d:h", opts, NULL)) != -1) {
    if (ch == 'h') {
      puts("usage: sonoctl plugin set NODE NAME|INDEX VALUE [--at FRAME | --delay SEC]");
      return CTL_OK;
    }
    if (ch != 'A' && ch != 'd')
      return CTL_USAGE;
    if (!parse_when(argv[0], ch, optarg, &w, &rc))
      return rc;
  }
  if ((rc = want_args(argv[0], argc - optind, 3, 3)) >= 0)
    return rc;
  if (!parse_node(argv[0], argv[optind], &node, &rc))
    return rc;
  if (!ctl_parse_double(argv[optind + 2], &value))
    return verb_usage(argv[0], "VALUE is a number from 0 to 1, not '%s'", argv[optind + 2]);
  a = sono_args_new();
  sono_args_uint(a, "node", node);
  args_param(a, argv[optind + 1]);
  sono_args_double(a, "value", value);
  ctl_args_when(a, &w);
  r = ctl_send(g, "plugin.set", a, &rc);
  return r == NULL ? rc : ctl_print_frame(g, r, "set");
}

static int v_get(ctl *g, int argc, char **argv) {
  uint64_t node;
  sono_args *a;
  sono_reply *r;
  int rc;

  if ((rc = plain_opts(argc, argv, "NODE NAME|INDEX")) >= 0 ||
      (rc = want_args(argv[0], argc - optind, 2, 2)) >= 0)
    return rc;
  if (!parse_node(argv[0], argv[optind], &node, &rc))
    return rc;
  a = sono_args_new();
  sono_args_uint(a, "node", node);
  args_param(a, argv[optind + 1]);
  r = ctl_send(g, "plugin.get", a, &rc);
  return r == NULL ? rc : ctl_print_reply(g, r);
}

/* Adds one MIDI event map to the open "events" array. */
static void midi_event(sono_args *a, const char *type, int channel, const char *k1, int v1,
                       const char *k2, int v2, const ctl_when *w, double extra_delay,
                       uint64_t extra_frames) {
  sono_args_begin_map(a, NULL);
  sono_args_str(a, "type", type);
  sono_args_int(a, "channel", channel);
  sono_args_int(a, k1, v1);
  sono_args_int(a, k2, v2);
  if (w->kind == 'A')
    sono_args_uint(a, "at", w->at + extra_frames);
  else if (w->kind == 'd' || extra_delay > 0)
    sono_args_double(a, "delay", w->delay + extra_delay);
  sono_args_end(a);
}

/* note and cc: a plugin.midi request of one or two events. */
static int v_note_or_cc(ctl *g, int argc, char **argv, bool note) {
  static const struct option opts[] = {
    {"vel", required_argument, NULL, 'v'},
    {"channel", required_argument, NULL, 'c'},
    {"at", required_argument, NULL, 'A'},
    {"delay", required_argument, NULL, 'd'},
    {"len", required_argument, NULL, 'l'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  ctl_when w = {0, 0, 0};
  int vel = 100, channel = 0, num, value = 0, ch, rc;
  double len = -1;
  uint64_t node, len_frames = 0;
  sono_conn *c;
  sono_args *a;
  sono_reply *r;
  sono_error e;

  while ((ch = getopt_long(argc, argv, note ? "v:c:A:d:l:h" : "c:A:d:h", opts, NULL)) != -1) {
    if (!note && (ch == 'v' || ch == 'l'))
      return verb_usage(argv[0], "%s is for notes", ch == 'v' ? "--vel" : "--len");
    switch (ch) {
    case 'h':
      printf("usage: sonoctl plugin %s\n",
             note ? "note NODE NOTE [--vel V] [--channel C] [--at FRAME | --delay SEC] [--len SEC]"
                  : "cc NODE CONTROLLER VALUE [--channel C] [--at FRAME | --delay SEC]");
      return CTL_OK;
    case 'v':
      if (!ctl_parse_int(optarg, &vel) || vel < 0 || vel > 127)
        return verb_usage(argv[0], "--vel wants 0..127, not '%s'", optarg);
      break;
    case 'c':
      if (!ctl_parse_int(optarg, &channel) || channel < 0 || channel > 15)
        return verb_usage(argv[0], "--channel wants 0..15, not '%s'", optarg);
      break;
    case 'l':
      if (!ctl_parse_double(optarg, &len) || len <= 0)
        return verb_usage(argv[0], "--len wants seconds > 0, not '%s'", optarg);
      break;
    case 'A':
    case 'd':
      if (!parse_when(argv[0], ch, optarg, &w, &rc))
        return rc;
      break;
    default:
      return CTL_USAGE;
    }
  }
  if ((rc = want_args(argv[0], argc - optind, note ? 2 : 3, note ? 2 : 3)) >= 0)
    return rc;
  if (!parse_node(argv[0], argv[optind], &node, &rc))
    return rc;
  if (!ctl_parse_int(argv[optind + 1], &num) || num < 0 || num > 127)
    return verb_usage(argv[0], "wants a note or controller number 0..127, not '%s'",
                      argv[optind + 1]);
  if (!note && (!ctl_parse_int(argv[optind + 2], &value) || value < 0 || value > 127))
    return verb_usage(argv[0], "VALUE is 0..127, not '%s'", argv[optind + 2]);

  if ((c = ctl_connect(g)) == NULL)
    return CTL_FAIL;
  if (note && len > 0 && w.kind == 'A') {
    /* The note-off is a frame number too: the length in frames needs the
     * engine's rate. */
    sono_status st;
    if (sono_get_status(c, &st, &e) != 0) {
      sono_close(c);
      return ctl_fail(&e);
    }
    len_frames = (uint64_t)llround(len * (double)st.sample_rate);
  }
  a = sono_args_new();
  sono_args_uint(a, "node", node);
  sono_args_begin_array(a, "events");
  if (note) {
    midi_event(a, "note_on", channel, "note", num, "velocity", vel, &w, 0, 0);
    if (len > 0)
      midi_event(a, "note_off", channel, "note", num, "velocity", 64, &w, len, len_frames);
  } else {
    midi_event(a, "cc", channel, "controller", num, "value", value, &w, 0, 0);
  }
  sono_args_end(a);
  rc = sono_call(c, "plugin.midi", a, &r, &e);
  sono_args_free(a);
  sono_close(c);
  if (rc != 0)
    return ctl_fail(&e);
  if (g->json)
    return ctl_print_frame(g, r, "sent");
  /* The reply's frame is when the request arrived, not when the event
   * plays: say when it does. */
  {
    uint64_t frame = 0;
    char d[40];

    sono_reply_uint(r, "frame", &frame);
    if (w.kind == 'A')
      printf("%s at frame %llu\n", note ? "note" : "cc", (unsigned long long)w.at);
    else if (w.kind == 'd')
      printf("%s at frame %llu + %s s\n", note ? "note" : "cc", (unsigned long long)frame,
             json_shortest(d, sizeof d, w.delay));
    else
      printf("%s at frame %llu\n", note ? "note" : "cc", (unsigned long long)frame);
    sono_reply_free(r);
  }
  return CTL_OK;
}

static int v_note(ctl *g, int argc, char **argv) {
  return v_note_or_cc(g, argc, argv, true);
}

static int v_cc(ctl *g, int argc, char **argv) {
  return v_note_or_cc(g, argc, argv, false);
}

static int v_program(ctl *g, int argc, char **argv) {
  uint64_t node, program;
  sono_args *a;
  sono_reply *r;
  int rc;

  if ((rc = plain_opts(argc, argv, "NODE [PROGRAM]")) >= 0 ||
      (rc = want_args(argv[0], argc - optind, 1, 2)) >= 0)
    return rc;
  if (!parse_node(argv[0], argv[optind], &node, &rc))
    return rc;
  a = sono_args_new();
  sono_args_uint(a, "node", node);
  if (argc - optind == 2) {
    if (!ctl_parse_u64(argv[optind + 1], &program)) {
      sono_args_free(a);
      return verb_usage(argv[0], "PROGRAM is a number from 0, not '%s'", argv[optind + 1]);
    }
    sono_args_uint(a, "program", program);
  }
  if ((r = ctl_send(g, "plugin.program", a, &rc)) == NULL)
    return rc;
  if (g->json) {
    ctl_print_json(sono_reply_body(r));
  } else {
    int64_t cur = 0;
    sono_reply_int(r, "program", &cur);
    printf("program %lld: ", (long long)cur);
    ctl_put_str(sono_reply_body(r), "name");
    putchar('\n');
  }
  sono_reply_free(r);
  return CTL_OK;
}

static int v_programs(ctl *g, int argc, char **argv) {
  const msgpack_object *ps;
  int64_t cur = -1;
  sono_reply *r;
  uint32_t i;
  int rc;

  if ((r = node_call(g, argc, argv, "plugin.programs", &rc)) == NULL)
    return rc;
  ps = sono_reply_get(r, "programs");
  sono_reply_int(r, "current", &cur);
  if (g->json) {
    ctl_print_json(sono_reply_body(r));
  } else if (ps != NULL && ps->type == MSGPACK_OBJECT_ARRAY) {
    for (i = 0; i < ps->via.array.size; i++) {
      const msgpack_object *p = &ps->via.array.ptr[i];
      printf("%c %4u  %.*s\n", (int64_t)i == cur ? '*' : ' ', i,
             p->type == MSGPACK_OBJECT_STR ? (int)p->via.str.size : 0,
             p->type == MSGPACK_OBJECT_STR ? p->via.str.ptr : "");
    }
  }
  sono_reply_free(r);
  return CTL_OK;
}

static void put_le(unsigned char *p, uint64_t v, int n) {
  int i;

  for (i = 0; i < n; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int n) {
  uint64_t v = 0;
  int i;

  for (i = n - 1; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

/* The state comes in pages when it is large (sono_plugin_state_get). */
static int state_save(ctl *g, uint64_t node, const char *file) {
  unsigned char head[STATE_HEADER];
  char kind[16] = "";
  void *data;
  size_t len;
  sono_conn *c;
  sono_error e;
  FILE *f;

  if ((c = ctl_connect(g)) == NULL)
    return CTL_FAIL;
  if (sono_plugin_state_get(c, node, &data, &len, kind, &e) != 0) {
    ctl_fail(&e);
    sono_close(c);
    return CTL_FAIL;
  }
  sono_close(c);
  memcpy(head, STATE_MAGIC, 8);
  put_le(head + 8, strcmp(kind, "chunk") == 0 ? 1 : 2, 4);
  put_le(head + 12, len, 8);
  f = fopen(file, "wb");
  if (f == NULL || fwrite(head, 1, sizeof head, f) != sizeof head ||
      fwrite(data, 1, len, f) != len || fclose(f) != 0) {
    fprintf(stderr, "sonoctl: io_error: cannot write %s: %s\n", file, strerror(errno));
    free(data);
    return CTL_FAIL;
  }
  free(data);
  if (g->json)
    printf("{\"file\":\"%s\",\"kind\":\"%s\",\"bytes\":%zu}\n", file, kind, len);
  else
    printf("saved %zu bytes (%s) of node %llu to %s\n", len, kind, (unsigned long long)node,
           file);
  return CTL_OK;
}

static int state_load(ctl *g, uint64_t node, const char *file) {
  unsigned char head[STATE_HEADER];
  unsigned char *blob;
  uint64_t len, kind;
  sono_conn *c;
  sono_error e;
  FILE *f;
  int rc;

  if ((f = fopen(file, "rb")) == NULL) {
    fprintf(stderr, "sonoctl: io_error: cannot open %s: %s\n", file, strerror(errno));
    return CTL_FAIL;
  }
  if (fread(head, 1, sizeof head, f) != sizeof head || memcmp(head, STATE_MAGIC, 8) != 0) {
    fclose(f);
    fprintf(stderr, "sonoctl: bad_file: %s is not a plugin state file (no %s header)\n", file,
            STATE_MAGIC);
    return CTL_FAIL;
  }
  kind = get_le(head + 8, 4);
  len = get_le(head + 12, 8);
  if ((kind != 1 && kind != 2) || len > STATE_MAX) {
    fclose(f);
    fprintf(stderr, "sonoctl: bad_file: %s: kind %llu, length %llu make no sense\n", file,
            (unsigned long long)kind, (unsigned long long)len);
    return CTL_FAIL;
  }
  blob = malloc(len > 0 ? len : 1);
  /* Exactly len bytes, then the end of the file: a truncated or padded
   * file is refused rather than half-applied. */
  if (blob == NULL || fread(blob, 1, len, f) != len || fgetc(f) != EOF) {
    free(blob);
    fclose(f);
    fprintf(stderr, "sonoctl: bad_file: %s does not hold the %llu bytes its header says\n", file,
            (unsigned long long)len);
    return CTL_FAIL;
  }
  fclose(f);
  /* In pieces when it is large (sono_plugin_state_set). */
  if ((c = ctl_connect(g)) == NULL) {
    free(blob);
    return CTL_FAIL;
  }
  rc = sono_plugin_state_set(c, node, blob, len, &e);
  free(blob);
  sono_close(c);
  if (rc != 0) {
    ctl_fail(&e);
    return CTL_FAIL;
  }
  if (g->json)
    puts("{}");
  else
    printf("loaded %llu bytes (%s) into node %llu\n", (unsigned long long)len,
           kind == 1 ? "chunk" : "params", (unsigned long long)node);
  return CTL_OK;
}

static int v_state(ctl *g, int argc, char **argv) {
  uint64_t node;
  int rc;

  if ((rc = plain_opts(argc, argv, "save|load NODE FILE")) >= 0 ||
      (rc = want_args(argv[0], argc - optind, 3, 3)) >= 0)
    return rc;
  if (!parse_node(argv[0], argv[optind + 1], &node, &rc))
    return rc;
  if (strcmp(argv[optind], "save") == 0)
    return state_save(g, node, argv[optind + 2]);
  if (strcmp(argv[optind], "load") == 0)
    return state_load(g, node, argv[optind + 2]);
  return verb_usage(argv[0], "say 'save' or 'load', not '%s'", argv[optind]);
}

static int v_scan(ctl *g, int argc, char **argv) {
  const msgpack_object *ps;
  uint64_t timeout = 0;
  sono_args *a;
  sono_reply *r;
  uint32_t i;
  int rc;

  if ((rc = verb_opts(argc, argv, "[DIR] [--timeout MS]", &timeout)) >= 0 ||
      (rc = want_args(argv[0], argc - optind, 0, 1)) >= 0)
    return rc;
  a = sono_args_new();
  if (optind < argc)
    sono_args_str(a, "dir", argv[optind]);
  if (timeout > 0)
    sono_args_uint(a, "timeout", timeout);
  if ((r = ctl_send(g, "plugin.scan", a, &rc)) == NULL)
    return rc;
  ps = sono_reply_get(r, "plugins");
  if (g->json) {
    ctl_print_json(sono_reply_body(r));
  } else if (ps != NULL && ps->type == MSGPACK_OBJECT_ARRAY) {
    if (ps->via.array.size == 0)
      puts("no plugins found");
    for (i = 0; i < ps->via.array.size; i++) {
      const msgpack_object *p = &ps->via.array.ptr[i], *info = sono_obj_get(p, "info");
      bool ok = false;

      sono_obj_bool(p, "ok", &ok);
      if (ok && info != NULL) {
        fputs("ok         ", stdout);
        ctl_put_str(p, "path");
        fputs(": ", stdout);
        ctl_put_str(info, "name");
        fputs(" (", stdout);
        ctl_put_str(info, "category");
        fputs(")\n", stdout);
      } else {
        char code[32] = "";
        sono_obj_strcpy(p, "error", code, sizeof code);
        printf("%-10s ", code);
        ctl_put_str(p, "path");
        fputs(": ", stdout);
        ctl_put_str(p, "message");
        putchar('\n');
      }
    }
  }
  sono_reply_free(r);
  return CTL_OK;
}

/* ---------------------------------------------------------------- entry */

static const verb verbs[] = {
  {"load", v_load, "PATH|URI [--timeout MS] [--isolate[=GROUP]|--in-process]",
   "load a VST2 plugin (.so) or an LV2 plugin (URI or bundle) as a new node (--isolate: VST2, in a host process of its own; --isolate=GROUP: in GROUP's one host process)"},
  {"restart", v_restart, "NODE", "bring back an isolated plugin whose host crashed"},
  {"unload", v_unload, "NODE", "remove a node"},
  {"list", v_list, "", "list the loaded nodes"},
  {"params", v_params, "NODE", "list parameters: index, name, value, display, unit"},
  {"set", v_set, "NODE NAME|INDEX VALUE [--at FRAME | --delay SEC]",
   "set a parameter (0..1)"},
  {"get", v_get, "NODE NAME|INDEX", "show a parameter"},
  {"note", v_note,
   "NODE NOTE [--vel V] [--channel C] [--at FRAME | --delay SEC] [--len SEC]",
   "note on, and off after --len"},
  {"cc", v_cc, "NODE CONTROLLER VALUE [--channel C] [--at FRAME | --delay SEC]",
   "send a control change"},
  {"program", v_program, "NODE [PROGRAM]", "show or select the current program"},
  {"programs", v_programs, "NODE", "list program names (* the current one)"},
  {"state", v_state, "save|load NODE FILE", "save the plugin's state to a file, or restore it"},
  {"scan", v_scan, "[DIR] [--timeout MS]",
   "check every plugin below DIR (default: the standard VST paths, then every LV2 plugin)"},
};

#define N_VERBS (sizeof verbs / sizeof verbs[0])

static void plugin_usage(FILE *out) {
  size_t i;

  fputs("usage: sonoctl [OPTIONS] plugin VERB [ARGS]\n\nVerbs:\n", out);
  for (i = 0; i < N_VERBS; i++)
    fprintf(out, "  %s%s%s\n      %s\n", verbs[i].name, verbs[i].args[0] ? " " : "",
            verbs[i].args, verbs[i].help);
  fputs("\nNAME|INDEX: a number is an index, anything else a name.\n"
        "state files: \"SONOVST1\", kind (uint32 LE: 1 chunk, 2 params), length (uint64 LE),\n"
        "then the blob (clients/c/README.md).\n",
        out);
}

int ctl_cmd_plugin(ctl *g, int argc, char **argv) {
  size_t i;

  if (argc < 2) {
    plugin_usage(stderr);
    return CTL_USAGE;
  }
  if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
    plugin_usage(stdout);
    return CTL_OK;
  }
  for (i = 0; i < N_VERBS; i++)
    if (strcmp(argv[1], verbs[i].name) == 0) {
      optind = 0;   /* restart getopt for the verb's own options */
      return verbs[i].run(g, argc - 1, argv + 1);
    }
  fprintf(stderr, "sonoctl plugin: unknown verb '%s' (see sonoctl plugin --help)\n", argv[1]);
  return CTL_USAGE;
}
