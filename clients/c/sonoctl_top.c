/* sonoctl_top.c - `sonoctl top`: a live view of the engine.
 *
 * Polls `status` (load, xruns, clients, clock, per-node load and the
 * thread it ran on, the worker threads' load) and listens
 * to `meter` events (meter.subscribe for every node) and redraws in place
 * with two ANSI sequences, cursor home and clear to the end of the screen:
 * no curses.  With stdin on a terminal it runs in raw mode to read q
 * without Enter, and restores the terminal on every way out.  --once
 * prints one frame without escape sequences (scripts and tests). */
#include "sonoctl.h"

#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define TOP_MAX_PORTS 256

typedef struct tport {
  char node[24];
  char port[16];
  double peak, rms;
} tport;

typedef struct top_state {
  tport p[TOP_MAX_PORTS];
  unsigned n;
} top_state;

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

static void obj_label(const msgpack_object *o, char *out, size_t len) {
  if (o == NULL)
    snprintf(out, len, "?");
  else if (o->type == MSGPACK_OBJECT_STR)
    snprintf(out, len, "%.*s", (int)o->via.str.size, o->via.str.ptr);
  else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
    snprintf(out, len, "%llu", (unsigned long long)o->via.u64);
  else
    snprintf(out, len, "?");
}

static double obj_num(const msgpack_object *o) {
  if (o == NULL)
    return 0;
  if (o->type == MSGPACK_OBJECT_FLOAT64 || o->type == MSGPACK_OBJECT_FLOAT32)
    return o->via.f64;
  if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
    return (double)o->via.u64;
  return 0;
}

/* Keeps the latest values of every port the events name. */
static void on_event(sono_conn *c, const char *kind, const sono_reply *ev, void *ud) {
  top_state *st = ud;
  const msgpack_object *nodes = sono_reply_get(ev, "nodes");
  uint32_t i, k;

  (void)c;
  if (strcmp(kind, "meter") != 0 || nodes == NULL || nodes->type != MSGPACK_OBJECT_ARRAY)
    return;
  for (i = 0; i < nodes->via.array.size; i++) {
    const msgpack_object *n = &nodes->via.array.ptr[i];
    const msgpack_object *ports = sono_obj_get(n, "ports");
    char node[24];

    obj_label(sono_obj_get(n, "node"), node, sizeof node);
    for (k = 0; ports != NULL && ports->type == MSGPACK_OBJECT_ARRAY && k < ports->via.array.size;
         k++) {
      const msgpack_object *p = &ports->via.array.ptr[k];
      char port[16];
      unsigned j;

      obj_label(sono_obj_get(p, "port"), port, sizeof port);
      for (j = 0; j < st->n; j++)
        if (strcmp(st->p[j].node, node) == 0 && strcmp(st->p[j].port, port) == 0)
          break;
      if (j == st->n) {
        if (st->n == TOP_MAX_PORTS)
          continue;
        st->n++;
        snprintf(st->p[j].node, sizeof st->p[j].node, "%s", node);
        snprintf(st->p[j].port, sizeof st->p[j].port, "%s", port);
      }
      st->p[j].peak = obj_num(sono_obj_get(p, "peak"));
      st->p[j].rms = obj_num(sono_obj_get(p, "rms"));
    }
  }
}

/* A 24-character bar over -60..0 dBFS: '#' up to RMS, '=' up to peak. */
static void bar(char *out, double peak, double rms) {
  double pdb = peak > 0 ? 20 * log10(peak) : -120, rdb = rms > 0 ? 20 * log10(rms) : -120;
  int i, np = (int)((pdb + 60) / 60 * 24), nr = (int)((rdb + 60) / 60 * 24);

  for (i = 0; i < 24; i++)
    out[i] = i < nr ? '#' : i < np ? '=' : '.';
  out[24] = '\0';
}

/* "main" for the audio thread, "wK" for worker K. */
static void thread_label(const msgpack_object *n, char *out, size_t len) {
  double w = obj_num(sono_obj_get(n, "worker"));

  if (w < 1)
    snprintf(out, len, "main");
  else
    snprintf(out, len, "w%u", (unsigned)w);
}

/* One line per worker thread: its share of the last block, the highest
 * since the last look, the nodes it ran, its scheduling. */
static void draw_workers(const sono_reply *status, bool ansi) {
  const msgpack_object *ws = sono_reply_get(status, "workers");
  uint64_t par = 0;
  uint32_t i;

  if (ws == NULL || ws->type != MSGPACK_OBJECT_ARRAY || ws->via.array.size == 0)
    return;
  sono_reply_uint(status, "parallel_cycles", &par);
  printf("%-10s %7s %7s %6s  %-6s %s%s\n", "WORKER", "BUSY", "MAX", "NODES", "SCHED",
         "", ansi ? "\033[K" : "");
  for (i = 0; i < ws->via.array.size; i++) {
    const msgpack_object *w = &ws->via.array.ptr[i];
    char pol[16], name[16];

    obj_label(sono_obj_get(w, "policy"), pol, sizeof pol);
    snprintf(name, sizeof name, "w%u", (unsigned)obj_num(sono_obj_get(w, "worker")));
    printf("%-10s %6.2f%% %6.2f%% %6u  %s %u%s\n", name,
           obj_num(sono_obj_get(w, "busy")) * 100, obj_num(sono_obj_get(w, "busy_max")) * 100,
           (unsigned)obj_num(sono_obj_get(w, "nodes")), pol,
           (unsigned)obj_num(sono_obj_get(w, "priority")), ansi ? "\033[K" : "");
  }
  printf("parallel blocks since start: %llu%s\n", (unsigned long long)par,
         ansi ? "\033[K" : "");
}

static double db(double x) {
  return x > 0 ? 20 * log10(x) : -INFINITY;
}

static void draw(const sono_reply *status, const top_state *st, bool ansi) {
  const msgpack_object *nodes = sono_reply_get(status, "nodes");
  double load = 0, load_max = 0, secs = 0;
  uint64_t xruns = 0, clients = 0, frame = 0;
  char be[32] = "?";
  uint32_t i;
  unsigned j;

  sono_reply_double(status, "dsp_load", &load);
  sono_reply_double(status, "dsp_load_max", &load_max);
  sono_reply_double(status, "seconds", &secs);
  sono_reply_uint(status, "xruns", &xruns);
  sono_reply_uint(status, "clients", &clients);
  sono_reply_uint(status, "frame", &frame);
  obj_label(sono_reply_get(status, "backend"), be, sizeof be);
  if (ansi)
    fputs("\033[H", stdout);
  printf("sonod %s  frame %llu (%.2f s)  DSP %5.1f%% (max %5.1f%%)  xruns %llu  clients %llu%s\n",
         be, (unsigned long long)frame, secs, load * 100, load_max * 100,
         (unsigned long long)xruns, (unsigned long long)clients, ansi ? "\033[K" : "");
  draw_workers(status, ansi);
  printf("%-10s %7s %-5s %-7s %7s %7s  %-24s%s\n", "NODE", "LOAD", "ON", "PORT", "PEAK", "RMS",
         "-60 dBFS .. 0", ansi ? "\033[K" : "");
  for (i = 0; nodes != NULL && nodes->type == MSGPACK_OBJECT_ARRAY && i < nodes->via.array.size;
       i++) {
    const msgpack_object *n = &nodes->via.array.ptr[i];
    char node[24], on[8];
    bool any = false;

    obj_label(sono_obj_get(n, "node"), node, sizeof node);
    thread_label(n, on, sizeof on);
    for (j = 0; j < st->n; j++) {
      char b[25];

      if (strcmp(st->p[j].node, node) != 0)
        continue;
      bar(b, st->p[j].peak, st->p[j].rms);
      if (!any)
        printf("%-10s %6.2f%% %-5s", node, obj_num(sono_obj_get(n, "load")) * 100, on);
      else
        printf("%-10s %7s %-5s", "", "", "");
      printf("  %-7s %7.1f %7.1f  %s%s\n", st->p[j].port, db(st->p[j].peak), db(st->p[j].rms),
             b, ansi ? "\033[K" : "");
      any = true;
    }
    if (!any)
      printf("%-10s %6.2f%% %-5s %-7s%s\n", node, obj_num(sono_obj_get(n, "load")) * 100, on,
             "-", ansi ? "\033[K" : "");
  }
  if (ansi)
    fputs("q: quit\033[J", stdout);
  fflush(stdout);
}

int ctl_cmd_top(ctl *g, int argc, char **argv) {
  static const struct option opts[] = {
    {"once", no_argument, NULL, '1'},
    {"rate", required_argument, NULL, 'r'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  static top_state st;
  bool once = false, raw = false;
  uint64_t rate = 10;
  struct termios saved, t;
  struct sigaction sa;
  sono_args *a;
  sono_reply *r;
  sono_conn *c;
  sono_error e;
  int ch, rc = CTL_OK;

  while ((ch = getopt_long(argc, argv, "1r:h", opts, NULL)) != -1) {
    switch (ch) {
    case '1':
      once = true;
      break;
    case 'r':
      if (!ctl_parse_u64(optarg, &rate) || rate < 1 || rate > 60)
        return ctl_usage(argv[0], "--rate wants 1..60 Hz, not '%s'", optarg);
      break;
    case 'h':
      return ctl_help(argv[0]);
    default:
      return CTL_USAGE;
    }
  }
  if (optind < argc)
    return ctl_usage(argv[0], "unexpected argument '%s'", argv[optind]);
  if ((c = ctl_connect(g)) == NULL)
    return CTL_FAIL;
  sono_on_event(c, on_event, &st);
  if ((a = sono_args_new()) == NULL || sono_args_uint(a, "rate", rate) != 0 ||
      sono_call(c, "meter.subscribe", a, &r, &e) != 0) {
    sono_args_free(a);
    sono_close(c);
    return ctl_fail(&e);
  }
  sono_args_free(a);
  sono_reply_free(r);

  if (once) {
    /* One interval's worth of meters, if the engine is running. */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
      sono_wait(c, 50);
      clock_gettime(CLOCK_MONOTONIC, &t1);
    } while (st.n == 0 && (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 <
                              (long)(2000 / rate));
    if (sono_call(c, "status", NULL, &r, &e) != 0) {
      sono_close(c);
      return ctl_fail(&e);
    }
    draw(r, &st, false);
    sono_reply_free(r);
    sono_close(c);
    return CTL_OK;
  }

  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  if (isatty(0) && tcgetattr(0, &saved) == 0) {
    t = saved;
    t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 0;
    raw = tcsetattr(0, TCSANOW, &t) == 0;
  }
  fputs("\033[H\033[2J", stdout);
  while (!stop) {
    struct pollfd pf[2];
    int k;

    if (sono_call(c, "status", NULL, &r, &e) != 0) {
      rc = ctl_fail(&e);
      break;
    }
    draw(r, &st, true);
    sono_reply_free(r);
    /* Until the next frame: meter events and keys. */
    pf[0].fd = sono_fd(c);
    pf[0].events = POLLIN;
    pf[1].fd = raw ? 0 : -1;
    pf[1].events = POLLIN;
    k = poll(pf, 2, (int)(1000 / rate));
    if (k > 0 && (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) && sono_process(c) < 0) {
      fputs("\nsonoctl top: the connection closed\n", stderr);
      rc = CTL_FAIL;
      break;
    }
    if (k > 0 && raw && (pf[1].revents & POLLIN)) {
      char key;
      if (read(0, &key, 1) == 1 && (key == 'q' || key == 'Q' || key == 3))
        break;
    }
  }
  if (raw)
    tcsetattr(0, TCSANOW, &saved);
  fputc('\n', stdout);
  sono_close(c);
  return rc;
}
