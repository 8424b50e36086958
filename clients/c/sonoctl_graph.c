/* sonoctl_graph.c - the routing graph from the command line (the graph.*
 * and node.* operations of PROTOCOL.md, section "Graph"):
 *
 *   sonoctl graph [--dot]               the graph, readable or for Graphviz
 *   sonoctl connect FROM TO [--gain G]  e.g. connect csound:out_1 4:in_1
 *   sonoctl disconnect FROM TO
 *   sonoctl node new gain [--channels N] | new bus BUS... | delete ID | bypass ID on|off |
 *                mute ID on|off | gain ID G [--at F | --delay S]
 *
 * Each command makes one connection and sends one request.  With --json
 * the reply's ok map is printed as one line of JSON (for `graph --dot`
 * too: --json wins, since the data is the same). */
#include "sonoctl.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A node's id, numeric or "out"/"in"/"csound", as text. */
static void id_text(const msgpack_object *o, char *buf, size_t size) {
  if (o == NULL)
    snprintf(buf, size, "?");
  else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
    snprintf(buf, size, "%llu", (unsigned long long)o->via.u64);
  else if (o->type == MSGPACK_OBJECT_STR)
    snprintf(buf, size, "%.*s", (int)o->via.str.size, o->via.str.ptr);
  else
    snprintf(buf, size, "?");
}

/* A node given on the command line: a number, or a name as is. */
static void args_node(sono_args *a, const char *s) {
  uint64_t id;

  if (ctl_parse_u64(s, &id))
    sono_args_uint(a, "node", id);
  else
    sono_args_str(a, "node", s);
}

static bool get_bool(const msgpack_object *m, const char *key) {
  bool v = false;

  sono_obj_bool(m, key, &v);
  return v;
}

static double get_double(const msgpack_object *m, const char *key) {
  double v = 0;

  sono_obj_double(m, key, &v);
  return v;
}

static uint64_t get_uint(const msgpack_object *m, const char *key) {
  uint64_t v = 0;

  sono_obj_uint(m, key, &v);
  return v;
}

static const msgpack_object_array *get_array(const msgpack_object *m, const char *key) {
  const msgpack_object *o = sono_obj_get(m, key);

  return o != NULL && o->type == MSGPACK_OBJECT_ARRAY ? &o->via.array : NULL;
}

/* --------------------------------------------------------------- graph */

static void print_readable(const msgpack_object *body) {
  const msgpack_object_array *nodes = get_array(body, "nodes"),
                             *conns = get_array(body, "connections"),
                             *order = get_array(body, "order");
  char id[64], name[128], from[128], to[128];
  uint32_t i;

  printf("nodes:\n");
  printf("  %-8s %-7s %-24s %3s %4s  %-8s %s\n", "ID", "KIND", "NAME", "IN", "OUT", "STATE",
         "GAIN");
  for (i = 0; nodes != NULL && i < nodes->size; i++) {
    const msgpack_object *n = &nodes->ptr[i];
    char kind[32], state[64];

    id_text(sono_obj_get(n, "id"), id, sizeof id);
    kind[0] = name[0] = '\0';
    sono_obj_strcpy(n, "kind", kind, sizeof kind);
    sono_obj_strcpy(n, "name", name, sizeof name);
    snprintf(state, sizeof state, "%s%s%s", get_bool(n, "active") ? "active" : "inactive",
             get_bool(n, "bypass") ? ",bypass" : "", get_bool(n, "mute") ? ",mute" : "");
    printf("  %-8s %-7s %-24s %3llu %4llu  %-8s %g\n", id, kind, name,
           (unsigned long long)get_uint(n, "inputs"), (unsigned long long)get_uint(n, "outputs"),
           state, get_double(n, "gain"));
  }
  printf("connections:\n");
  if (conns == NULL || conns->size == 0)
    printf("  (none)\n");
  for (i = 0; conns != NULL && i < conns->size; i++) {
    const msgpack_object *c = &conns->ptr[i];

    from[0] = to[0] = '\0';
    sono_obj_strcpy(c, "from", from, sizeof from);
    sono_obj_strcpy(c, "to", to, sizeof to);
    printf("  %-16s -> %-16s gain %g\n", from, to, get_double(c, "gain"));
  }
  printf("order:");
  for (i = 0; order != NULL && i < order->size; i++) {
    id_text(&order->ptr[i], id, sizeof id);
    printf("%s%s", i == 0 ? " " : " -> ", id);
  }
  printf("\n");
}

/* Writes s as the inside of a Graphviz record label: the record syntax
 * characters and quotes escaped. */
static void dot_label_text(const char *s) {
  for (; *s != '\0'; s++) {
    if (strchr("{}|<>\"\\", *s) != NULL)
      putchar('\\');
    putchar(*s);
  }
}

/* "4:out_2" -> node "4", port "out_2". */
static void split_port(const char *p, char *node, size_t nsize, char *port, size_t psize) {
  const char *colon = strrchr(p, ':');

  if (colon == NULL) {
    snprintf(node, nsize, "%s", p);
    snprintf(port, psize, "%s", "");
    return;
  }
  snprintf(node, nsize, "%.*s", (int)(colon - p), p);
  snprintf(port, psize, "%s", colon + 1);
}

/* Nodes are records: inputs on the left, the name in the middle, outputs
 * on the right (rankdir=LR); edges go port to port. */
static void print_dot(const msgpack_object *body) {
  const msgpack_object_array *nodes = get_array(body, "nodes"),
                             *conns = get_array(body, "connections");
  char id[64], name[128], kind[32], from[128], to[128], fn[64], fp[64], tn[64], tp[64];
  uint32_t i;
  uint64_t k;

  printf("digraph sonod {\n");
  printf("  rankdir=LR;\n");
  printf("  node [shape=record, fontname=\"Helvetica\"];\n");
  for (i = 0; nodes != NULL && i < nodes->size; i++) {
    const msgpack_object *n = &nodes->ptr[i];
    uint64_t nin = get_uint(n, "inputs"), nout = get_uint(n, "outputs");

    id_text(sono_obj_get(n, "id"), id, sizeof id);
    kind[0] = name[0] = '\0';
    sono_obj_strcpy(n, "kind", kind, sizeof kind);
    sono_obj_strcpy(n, "name", name, sizeof name);
    printf("  \"%s\" [label=\"{", id);
    if (nin > 0) {
      printf("{");
      for (k = 1; k <= nin; k++)
        printf("%s<in_%llu> in_%llu", k > 1 ? "|" : "", (unsigned long long)k,
               (unsigned long long)k);
      printf("}|");
    }
    printf("%s: ", id);
    dot_label_text(name[0] != '\0' ? name : kind);
    printf("\\n%s", kind);
    if (get_bool(n, "bypass"))
      printf(" bypass");
    if (get_bool(n, "mute"))
      printf(" mute");
    if (get_double(n, "gain") != 1.0)
      printf(" gain %g", get_double(n, "gain"));
    if (nout > 0) {
      printf("|{");
      for (k = 1; k <= nout; k++)
        printf("%s<out_%llu> out_%llu", k > 1 ? "|" : "", (unsigned long long)k,
               (unsigned long long)k);
      printf("}");
    }
    printf("}\"%s];\n", get_bool(n, "active") ? "" : ", style=dashed");
  }
  for (i = 0; conns != NULL && i < conns->size; i++) {
    const msgpack_object *c = &conns->ptr[i];

    from[0] = to[0] = '\0';
    sono_obj_strcpy(c, "from", from, sizeof from);
    sono_obj_strcpy(c, "to", to, sizeof to);
    split_port(from, fn, sizeof fn, fp, sizeof fp);
    split_port(to, tn, sizeof tn, tp, sizeof tp);
    printf("  \"%s\":\"%s\" -> \"%s\":\"%s\" [label=\"%g\"];\n", fn, fp, tn, tp,
           get_double(c, "gain"));
  }
  printf("}\n");
}

int ctl_cmd_graph(ctl *g, int argc, char **argv) {
  static const struct option opts[] = {
    {"dot", no_argument, NULL, 'D'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  bool dot = false;
  sono_reply *r;
  int ch, rc;

  while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (ch == 'D')
      dot = true;
    else if (ch == 'h')
      return ctl_help(argv[0]);
    else
      return CTL_USAGE;
  }
  if (optind != argc)
    return ctl_usage(argv[0], "no arguments expected");
  r = ctl_call(g, "graph.get", NULL, &rc);
  if (r == NULL)
    return rc;
  if (g->json)
    ctl_print_json(sono_reply_body(r));
  else if (dot)
    print_dot(sono_reply_body(r));
  else
    print_readable(sono_reply_body(r));
  sono_reply_free(r);
  return CTL_OK;
}

/* ---------------------------------------------------------- connections */

int ctl_cmd_connect(ctl *g, int argc, char **argv) {
  static const struct option opts[] = {
    {"gain", required_argument, NULL, 'g'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  bool disconnect = strcmp(argv[0], "disconnect") == 0, have_gain = false;
  double gain = 1;
  sono_args *a;
  sono_reply *r;
  char what[300];
  int ch, rc;

  while ((ch = getopt_long(argc, argv, "h", disconnect ? opts + 1 : opts, NULL)) != -1) {
    if (ch == 'g') {
      if (!ctl_parse_double(optarg, &gain))
        return ctl_usage(argv[0], "--gain wants a number, not '%s'", optarg);
      have_gain = true;
    } else if (ch == 'h') {
      return ctl_help(argv[0]);
    } else {
      return CTL_USAGE;
    }
  }
  if (argc - optind != 2)
    return ctl_usage(argv[0], "wants FROM and TO, e.g. csound:out_1 out:in_1");
  a = sono_args_new();
  if (a == NULL)
    return CTL_FAIL;
  sono_args_str(a, "from", argv[optind]);
  sono_args_str(a, "to", argv[optind + 1]);
  if (have_gain)
    sono_args_double(a, "gain", gain);
  r = ctl_send(g, disconnect ? "graph.disconnect" : "graph.connect", a, &rc);
  if (r == NULL)
    return rc;
  snprintf(what, sizeof what, "%s %s -> %s", disconnect ? "disconnected" : "connected",
           argv[optind], argv[optind + 1]);
  return ctl_print_frame(g, r, what);
}

/* ---------------------------------------------------------------- nodes */

static int node_usage(void) {
  fputs("usage: sonoctl node new gain [--channels N]\n"
        "       sonoctl node new bus BUS [BUS...]   (Csound audio buses as outputs out_1...)\n"
        "       sonoctl node delete ID\n"
        "       sonoctl node bypass ID on|off\n"
        "       sonoctl node mute ID on|off\n"
        "       sonoctl node gain ID G [--at FRAME | --delay SECONDS]\n"
        "ID is a node number, or out, in, csound (gain only)\n",
        stdout);
  return CTL_OK;
}

/* node.new {kind: "bus", buses: [...]}; -1 when the numbers are good. */
static int args_buses(const char *cmd, sono_args *a, char **bus, int n) {
  uint64_t v;
  int k;

  sono_args_str(a, "kind", "bus");
  sono_args_begin_array(a, "buses");
  for (k = 0; k < n; k++) {
    if (!ctl_parse_u64(bus[k], &v))
      return ctl_usage(cmd, "a bus is a number (bus.new's id), not '%s'", bus[k]);
    sono_args_uint(a, NULL, v);
  }
  sono_args_end(a);
  return -1;
}

int ctl_cmd_node(ctl *g, int argc, char **argv) {
  static const struct option opts[] = {
    {"channels", required_argument, NULL, 'c'},
    {"at", required_argument, NULL, 'A'},
    {"delay", required_argument, NULL, 'd'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  ctl_when w = {0, 0, 0};
  uint64_t channels = 0;
  double gain = 0;
  int ch, rc, npos;
  const char *why;
  char **pos;
  const char *verb, *op;
  sono_args *a;
  sono_reply *r;
  bool on = false;
  char what[200];

  /* Options may follow the verb's arguments: "node gain 4 0.5 --delay 1". */
  while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (ch) {
    case 'c':
      if (!ctl_parse_u64(optarg, &channels) || channels == 0)
        return ctl_usage(argv[0], "--channels wants a count from 1, not '%s'", optarg);
      break;
    case 'A':
    case 'd':
      if (w.kind != 0)
        return ctl_usage(argv[0], "give --at or --delay once");
      if ((why = ctl_parse_when(&w, ch, optarg)) != NULL)
        return ctl_usage(argv[0], why, optarg);
      break;
    case 'h':
      return node_usage();
    default:
      return CTL_USAGE;
    }
  }
  pos = argv + optind;
  npos = argc - optind;
  if (npos < 1)
    return ctl_usage(argv[0], "wants a verb: new, delete, bypass, mute, gain");
  verb = pos[0];
  a = sono_args_new();
  if (a == NULL)
    return CTL_FAIL;
  rc = -1;
  if (strcmp(verb, "new") == 0) {
    op = "node.new";
    if (npos >= 3 && strcmp(pos[1], "bus") == 0) {
      rc = args_buses(argv[0], a, pos + 2, npos - 2);
    } else if (npos != 2 || strcmp(pos[1], "gain") != 0) {
      rc = ctl_usage(argv[0], "new wants a kind: gain, or bus and the bus numbers");
    } else {
      sono_args_str(a, "kind", "gain");
      if (channels > 0)
        sono_args_uint(a, "channels", channels);
    }
    if (rc < 0 && channels > 0 && npos >= 2 && strcmp(pos[1], "bus") == 0)
      rc = ctl_usage(argv[0], "--channels is for gain nodes: a bus node has one output per bus");
  } else if (strcmp(verb, "delete") == 0) {
    op = "node.delete";
    if (npos != 2)
      rc = ctl_usage(argv[0], "delete wants a node ID");
    else
      args_node(a, pos[1]);
  } else if (strcmp(verb, "bypass") == 0 || strcmp(verb, "mute") == 0) {
    op = verb[0] == 'b' ? "node.bypass" : "node.mute";
    if (npos != 3 || !ctl_parse_onoff(pos[2], &on)) {
      rc = ctl_usage(argv[0], "%s wants a node ID and on or off", verb);
    } else {
      args_node(a, pos[1]);
      sono_args_bool(a, "on", on);
    }
  } else if (strcmp(verb, "gain") == 0) {
    op = "node.gain";
    if (npos != 3 || !ctl_parse_double(pos[2], &gain)) {
      rc = ctl_usage(argv[0], "gain wants a node ID and a gain (0..16)");
    } else {
      args_node(a, pos[1]);
      sono_args_double(a, "gain", gain);
      ctl_args_when(a, &w);
    }
  } else {
    op = NULL;
    rc = ctl_usage(argv[0], "unknown verb '%s' (new, delete, bypass, mute, gain)", verb);
  }
  if (rc < 0 && channels > 0 && strcmp(verb, "new") != 0)
    rc = ctl_usage(argv[0], "--channels is for new");
  if (rc < 0 && w.kind != 0 && strcmp(verb, "gain") != 0)
    rc = ctl_usage(argv[0], "--at and --delay are for gain");
  if (rc >= 0) {
    sono_args_free(a);
    return rc;
  }
  r = ctl_send(g, op, a, &rc);
  if (r == NULL)
    return rc;
  if (strcmp(verb, "new") == 0) {
    uint64_t node = 0;

    if (g->json) {
      ctl_print_json(sono_reply_body(r));
    } else {
      sono_reply_uint(r, "node", &node);
      printf("%llu\n", (unsigned long long)node);
    }
    sono_reply_free(r);
    return CTL_OK;
  }
  snprintf(what, sizeof what, "%s %s%s%s", op, pos[1], npos > 2 ? " " : "", npos > 2 ? pos[2] : "");
  return ctl_print_frame(g, r, what);
}
