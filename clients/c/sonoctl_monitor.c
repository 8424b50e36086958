/* sonoctl_monitor.c - `sonoctl monitor`: subscribe and print events. */
#include "sonoctl.h"
#include "json.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every kind PROTOCOL.md lists; "lost" needs no subscription. */
static const char *const all_kinds[] = {"tone", "backend", "xrun", "client", "shutdown"};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig) {
  (void)sig;
  interrupted = 1;
}

typedef struct {
  ctl *g;
  uint64_t seen;
  bool saw_shutdown;
} monitor_state;

/* Human form: "tone on=true frame=24064 freq=440.0". */
static void print_event(const char *kind, const sono_reply *ev) {
  const msgpack_object *m = sono_reply_root(ev);
  uint32_t i;

  fputs(kind, stdout);
  for (i = 0; i < m->via.map.size; i++) {
    const msgpack_object *k = &m->via.map.ptr[i].key;
    const msgpack_object *v = &m->via.map.ptr[i].val;
    char *vs;

    if (k->type != MSGPACK_OBJECT_STR ||
        (k->via.str.size == 5 && memcmp(k->via.str.ptr, "event", 5) == 0))
      continue;
    printf(" %.*s=", (int)k->via.str.size, k->via.str.ptr);
    vs = json_from_msgpack(v);
    fputs(vs ? vs : "?", stdout);
    free(vs);
  }
  fputc('\n', stdout);
  fflush(stdout);
}

static void on_event(sono_conn *c, const char *kind, const sono_reply *ev, void *ud) {
  monitor_state *st = ud;

  (void)c;
  if (st->g->json)
    ctl_print_json(sono_reply_root(ev));
  else
    print_event(kind, ev);
  st->seen++;
  if (strcmp(kind, "shutdown") == 0)
    st->saw_shutdown = true;
}

int ctl_cmd_monitor(ctl *g, int argc, char **argv) {
  static const struct option opts[] = {
    {"count", required_argument, NULL, 'n'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  monitor_state st = {g, 0, false};
  struct sigaction sa;
  const char *const *kinds = all_kinds;
  size_t n_kinds = sizeof all_kinds / sizeof all_kinds[0];
  uint64_t limit = 0;
  sono_conn *c;
  sono_error e;
  int ch, rc = CTL_OK;

  while ((ch = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
    switch (ch) {
    case 'n':
      if (!ctl_parse_u64(optarg, &limit) || limit == 0)
        return ctl_usage(argv[0], "-n wants a positive count, not '%s'", optarg);
      break;
    case 'h':
      return ctl_help(argv[0]);
    default:
      return CTL_USAGE;
    }
  }
  if (optind < argc) {
    kinds = (const char *const *)&argv[optind];
    n_kinds = (size_t)(argc - optind);
  }

  if ((c = ctl_connect(g)) == NULL)
    return CTL_FAIL;
  sono_on_event(c, on_event, &st);
  if (sono_subscribe(c, kinds, n_kinds, &e) != 0) {
    sono_close(c);
    return ctl_fail(&e);
  }
  if (!g->json) {
    fputs("monitoring:", stderr);
    for (size_t i = 0; i < n_kinds; i++)
      fprintf(stderr, " %s", kinds[i]);
    fputs(" (Ctrl-C to stop)\n", stderr);
  }

  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);

  /* Wake up now and then to notice a signal: poll() restarts are invisible
   * inside libsono. */
  while (!interrupted && (limit == 0 || st.seen < limit)) {
    if (sono_wait(c, 200) < 0) {
      /* A daemon that announced its shutdown and then left is a normal end. */
      if (!st.saw_shutdown)
        rc = ctl_fail(sono_last_error(c));
      break;
    }
  }
  sono_close(c);
  return rc;
}
