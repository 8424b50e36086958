/* sonoctl.c - the command-line client of sonod: global options, the table of
 * subcommands, and the helpers they share. */
#include "sonoctl.h"
#include "json.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const ctl_command commands[] = {
  {"status", ctl_cmd_status, "", "show the engine's state, clock and load"},
  {"hello", ctl_cmd_hello, "[--name NAME]", "show the server's version and capabilities"},
  {"ping", ctl_cmd_ping, "[-c COUNT] [-i SECONDS]", "measure request round-trip time"},
  {"sync", ctl_cmd_sync, "", "wait until earlier requests reached the audio thread"},
  {"monitor", ctl_cmd_monitor, "[-n COUNT] [KIND...]", "print events until interrupted"},
  {"tone", ctl_cmd_tone,
   "on|off [--freq HZ] [--amp A] [--channel C] [--at FRAME | --delay SEC]",
   "start or stop the built-in test tone"},
  {"render", ctl_cmd_render,
   "[--frames N | --seconds S] | PIECE.csd -o OUT.wav | SCRIPT.jsonl|.msgpack -o OUT.wav [--length S]",
   "render (offline backend), a .csd locally, or a session script on a private daemon"},
  {"record", ctl_cmd_record, "-o OUT.wav [--seconds N] [--format wav|flac] [--channels N]",
   "record the live output to a file (until Ctrl-C without --seconds)"},
  {"capture", ctl_cmd_capture,
   "NODE [--port out|in] [--seconds S | --frames N] [--block N] [-o OUT.wav]",
   "a node's audio sent back here: a float WAV written by sonoctl, or a line per block"},
  {"top", ctl_cmd_top, "[--once] [--rate HZ]", "live view: DSP load, xruns, nodes with meters"},
  {"shutdown", ctl_cmd_shutdown, "", "stop the daemon"},
  {"plugin", ctl_cmd_plugin, "VERB [ARGS]",
   "VST2 and LV2 plugins: load, restart, unload, list, params, set, get, note, cc, program, programs,\n"
   "      state, scan (plugin --help)"},
  {"state", ctl_cmd_state, "save [PATH] | load PATH | export SCRIPT.jsonl",
   "save or restore the whole session, or export it as a session script"},
  {"compile", ctl_cmd_csound, "FILE|-", "Csound: compile orchestra code into the live engine"},
  {"instr", ctl_cmd_csound, "VERB [ARGS]", "Csound instruments: define, list, undefine (instr --help)"},
  {"synth", ctl_cmd_csound, "VERB [ARGS]", "Csound synths: start, set, automate, stop, list, get"},
  {"bus", ctl_cmd_csound, "VERB [ARGS]", "Csound buses: new, get, set, free"},
  {"table", ctl_cmd_csound, "VERB [ARGS]", "Csound tables: new, read, get, set, free"},
  {"channel", ctl_cmd_csound, "VERB [ARGS]", "Csound control channels: set, get"},
  {"event", ctl_cmd_csound, "\"LINE\" [--at FRAME | --delay SEC] [--spread]",
   "Csound: one raw score line"},
  {"score", ctl_cmd_csound, "FILE|- [--at FRAME | --delay SEC] [--spread]",
   "Csound: score lines from a file"},
  {"graph", ctl_cmd_graph, "[--dot]", "show the routing graph (--dot: Graphviz)"},
  {"connect", ctl_cmd_connect, "FROM TO [--gain G]", "connect an output port to an input port"},
  {"disconnect", ctl_cmd_connect, "FROM TO", "remove a connection"},
  {"node", ctl_cmd_node, "VERB [ARGS]",
   "graph nodes: new gain|bus, delete, bypass, mute, gain (node --help)"},
  {"transport", ctl_cmd_transport, "[get] | set [--tempo BPM] [--sig N/D] [--play|--stop] [--frame F] | follow on|off", "the engine's transport (transport --help)"},
  {"midi", ctl_cmd_midi, "route|unroute NODE|csound [--channel C] [--instr NAME ...] | routes", "route live MIDI from JACK's midi_in (midi --help)"},
  {"freewheel", ctl_cmd_freewheel, "on|off", "JACK freewheel mode (render as fast as the CPU allows)"},
  {"call", ctl_cmd_call, "OP [JSON-OBJECT]", "send any request, print the reply as JSON"},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out) {
  size_t i;

  fprintf(out,
          "usage: sonoctl [OPTIONS] COMMAND [ARGS]\n"
          "\n"
          "Options:\n"
          "  -s, --socket PATH     connect to the Unix socket PATH\n"
          "  -C, --connect URI     connect to URI (unix:/path, tcp://host:port)\n"
          "  -j, --json            print replies and events as JSON, one per line\n"
          "  -t, --timeout SEC     give up waiting for a reply after SEC seconds\n"
          "  -k, --token-file PATH over TCP, authenticate with the token in PATH\n"
          "  -w, --wait SEC        retry connecting for up to SEC seconds while no\n"
          "                        daemon listens yet (default 0: fail at once)\n"
          "  -g, --get FIELD       print only FIELD of the reply (a string plain,\n"
          "                        else JSON), e.g. SYNTH=$(sonoctl -g synth synth start sine)\n"
          "  -h, --help            show this help\n"
          "  -V, --version         show the version\n"
          "\n"
          "Without --socket or --connect: $SONOD_SOCKET, else\n"
          "$XDG_RUNTIME_DIR/sonod.sock, else /run/sonod/sonod.sock.\n"
          "Without --token-file: $SONOD_TOKEN_FILE, if set.\n"
          "\n"
          "Commands:\n");
  for (i = 0; i < N_COMMANDS; i++)
    fprintf(out, "  %s%s%s\n      %s\n", commands[i].name, commands[i].args[0] ? " " : "",
            commands[i].args, commands[i].help);
}

/* ---------------------------------------------------------------- helpers */

int ctl_help(const char *name) {
  size_t i;

  for (i = 0; i < N_COMMANDS; i++) {
    if (strcmp(commands[i].name, name) == 0) {
      printf("usage: sonoctl [OPTIONS] %s%s%s\n%s\n", name,
             commands[i].args[0] ? " " : "", commands[i].args, commands[i].help);
      break;
    }
  }
  return CTL_OK;
}

int ctl_no_args(int argc, char **argv) {
  if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))
    return ctl_help(argv[0]);
  if (argc > 1)
    return ctl_usage(argv[0], "unexpected argument '%s'", argv[1]);
  return -1;
}

/* The token is read only for TCP: a Unix socket needs none, so a stale
 * $SONOD_TOKEN_FILE cannot break local use. */
sono_conn *ctl_connect(ctl *g) {
  char token[SONO_TOKEN_MAX + 1];
  sono_error e;
  sono_uri u;
  sono_conn *c;
  bool tcp = sono_uri_parse(g->uri, &u, NULL) == 0 && u.type == SONO_URI_TCP;

  if (tcp && g->token_file != NULL && sono_read_token_file(g->token_file, token, sizeof token, &e) != 0) {
    ctl_fail(&e);
    return NULL;
  }
  for (int waited = 0;; waited += 50) {
    static const struct timespec pause = {0, 50 * 1000 * 1000};

    c = sono_connect_token(g->uri, tcp && g->token_file != NULL ? token : NULL, g->timeout_ms, &e);
    /* Not there yet (a daemon just started): the socket file is missing,
     * or nothing accepts on it. */
    if (c != NULL || waited >= g->wait_ms || e.kind != SONO_ERR_CONNECT ||
        (e.sys_errno != ENOENT && e.sys_errno != ECONNREFUSED))
      break;
    nanosleep(&pause, NULL);
  }
  if (c == NULL) {
    ctl_fail(&e);
    return NULL;
  }
  return c;
}

int ctl_fail(const sono_error *e) {
  fprintf(stderr, "sonoctl: %s: %s\n", e->code[0] ? e->code : sono_kind_name(e->kind),
          e->message);
  if (e->kind == SONO_ERR_SERVER && strcmp(e->code, "unauthorized") == 0)
    fputs("sonoctl: sonod wants its token over TCP: --token-file PATH or $SONOD_TOKEN_FILE, "
          "a copy of the file its tcp-token-file names\n", stderr);
  return CTL_FAIL;
}

int ctl_usage(const char *cmd, const char *fmt, ...) {
  va_list ap;

  fprintf(stderr, "sonoctl %s: ", cmd);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return CTL_USAGE;
}

/* --get FIELD: print only that member of each reply. */
static const char *get_field;

void ctl_print_json(const msgpack_object *o) {
  char *s;

  if (get_field != NULL) {
    const msgpack_object *v = o->type == MSGPACK_OBJECT_MAP ? sono_obj_get(o, get_field) : NULL;

    if (v == NULL) {
      s = json_from_msgpack(o);
      fprintf(stderr, "sonoctl: --get %s: the reply has no such member: %s\n", get_field,
              s != NULL ? s : "");
      free(s);
      exit(CTL_FAIL);
    }
    if (v->type == MSGPACK_OBJECT_STR) {     /* plain, for the shell */
      printf("%.*s\n", (int)v->via.str.size, v->via.str.ptr);
      fflush(stdout);
      return;
    }
    o = v;
  }
  s = json_from_msgpack(o);

  if (s == NULL) {
    fputs("sonoctl: out of memory\n", stderr);
    exit(CTL_FAIL);
  }
  puts(s);
  fflush(stdout);
  free(s);
}

void ctl_print_table(const msgpack_object *map) {
  uint32_t i;

  if (map->type != MSGPACK_OBJECT_MAP) {
    ctl_print_json(map);
    return;
  }
  for (i = 0; i < map->via.map.size; i++) {
    const msgpack_object *k = &map->via.map.ptr[i].key;
    const msgpack_object *v = &map->via.map.ptr[i].val;
    char *ks = json_from_msgpack(k), *vs;

    if (k->type == MSGPACK_OBJECT_STR)
      printf("%-15.*s ", (int)k->via.str.size, k->via.str.ptr);
    else
      printf("%-15s ", ks ? ks : "?");
    free(ks);
    if (v->type == MSGPACK_OBJECT_STR) {
      printf("%.*s\n", (int)v->via.str.size, v->via.str.ptr);
      continue;
    }
    vs = json_from_msgpack(v);
    printf("%s\n", vs ? vs : "?");
    free(vs);
  }
  fflush(stdout);
}

bool ctl_parse_u64(const char *s, uint64_t *out) {
  char *end;
  unsigned long long v;

  if (s == NULL || *s == '\0' || *s == '-')
    return false;
  errno = 0;
  v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0')
    return false;
  *out = v;
  return true;
}

bool ctl_parse_int(const char *s, int *out) {
  char *end;
  long v;

  if (s == NULL || *s == '\0')
    return false;
  errno = 0;
  v = strtol(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < -2147483647L || v > 2147483647L)
    return false;
  *out = (int)v;
  return true;
}

bool ctl_parse_double(const char *s, double *out) {
  char *end;
  double v;

  if (s == NULL || *s == '\0')
    return false;
  errno = 0;
  v = strtod(s, &end);
  if (errno != 0 || *end != '\0' || !isfinite(v))
    return false;
  *out = v;
  return true;
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv) {
  static const struct option opts[] = {
    {"socket", required_argument, NULL, 's'},
    {"connect", required_argument, NULL, 'C'},
    {"json", no_argument, NULL, 'j'},
    {"timeout", required_argument, NULL, 't'},
    {"token-file", required_argument, NULL, 'k'},
    {"wait", required_argument, NULL, 'w'},
    {"get", required_argument, NULL, 'g'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
  };
  char sockbuf[4200];
  ctl g = {NULL, false, -1, NULL, 0};
  double secs;
  size_t i;
  int ch;

  /* "+": stop at the subcommand, whose options are its own. */
  while ((ch = getopt_long(argc, argv, "+s:C:jt:k:w:g:hV", opts, NULL)) != -1) {
    switch (ch) {
    case 's':
      /* A path is always a path here, even one that looks like a URI. */
      snprintf(sockbuf, sizeof sockbuf, "unix:%s", optarg);
      g.uri = sockbuf;
      break;
    case 'C':
      g.uri = optarg;
      break;
    case 'j':
      g.json = true;
      break;
    case 'k':
      g.token_file = optarg;
      break;
    case 't':
      if (!ctl_parse_double(optarg, &secs) || secs <= 0)
        return ctl_usage("--timeout", "'%s' is not a positive number of seconds", optarg);
      g.timeout_ms = secs * 1000 > 2e9 ? 2000000000 : (int)(secs * 1000);
      break;
    case 'g':
      get_field = optarg;
      g.json = true;
      break;
    case 'w':
      if (!ctl_parse_double(optarg, &secs) || secs < 0)
        return ctl_usage("--wait", "'%s' is not a number of seconds", optarg);
      g.wait_ms = secs * 1000 > 2e9 ? 2000000000 : (int)(secs * 1000);
      break;
    case 'h':
      usage(stdout);
      return CTL_OK;
    case 'V':
      printf("sonoctl %s (libsono %s)\n", SONOD_VERSION, SONO_LIB_VERSION);
      return CTL_OK;
    default:
      usage(stderr);
      return CTL_USAGE;
    }
  }
  if (g.token_file == NULL && getenv("SONOD_TOKEN_FILE") != NULL && getenv("SONOD_TOKEN_FILE")[0])
    g.token_file = getenv("SONOD_TOKEN_FILE");
  if (optind >= argc) {
    usage(stderr);
    return CTL_USAGE;
  }
  for (i = 0; i < N_COMMANDS; i++) {
    if (strcmp(argv[optind], commands[i].name) == 0) {
      int sub_argc = argc - optind;
      char **sub_argv = argv + optind;
      optind = 0; /* glibc: fully restart getopt for the subcommand */
      return commands[i].run(&g, sub_argc, sub_argv);
    }
  }
  fprintf(stderr, "sonoctl: unknown command '%s' (see sonoctl --help)\n", argv[optind]);
  return CTL_USAGE;
}
