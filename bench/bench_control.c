/* bench_control.c - what a big graph costs the control thread, measured on
 * two sonod builds in the same run: the one under test and a baseline (an
 * older build, e.g. main before a change).
 *
 *   bench_control --sonod PATH --baseline PATH [--runs R] [--nodes N] [--chain K]
 *
 * The graph: N gain nodes (default 2000), the last K created (default 200)
 * in a chain csound -> g1 -> ... -> gK -> out, the rest unconnected; a
 * meter subscription to every node (meter.subscribe without `nodes`, 10 Hz).
 *
 * gain     200 `node.gain` requests on g1, one at a time: each changes the
 *          graph, so the control thread builds a new plan (sort, buffers,
 *          input lists, the worker pool's schedule); the median request.
 * meters   rendering one second (48 000 frames, 256-frame blocks): 240 meter
 *          snapshots of 2 K + 2 ports, each folded into the subscription's
 *          accumulators on the control thread (the offline renderer waits
 *          for the control thread to drain them).
 *
 * Each run starts both daemons afresh, one after the other, with the same
 * requests; figures are medians over the runs, the ratio (baseline / under
 * test) taken within each run.  The fuzzer's daemon (tests/fuzz/README.md)
 * found both costs growing with the graph: thousands of nodes from
 * `node.new` made its rate fall by half in minutes. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench_daemon.h"
#include "bench/bench_util.h"
#include "clients/c/sono.h"

#define RATE 48000
#define GAINS 200
#define MAX_RUNS 32

static const char *const block256[] = { "--block-size", "256", NULL };
static unsigned nodes = 2000, chain = 200;

static void on_event(sono_conn *c, const char *kind, const sono_reply *ev, void *ud) {
  (void)c;
  (void)kind;
  (void)ev;
  (*(unsigned long *)ud)++;
}

static void wire(bench_daemon *d, sono_args *a, const char *from, const char *to) {
  sono_args_str(a, "from", from);
  sono_args_str(a, "to", to);
  bench_call0(d, "graph.connect", a);
}

typedef struct figures {
  double gain_us;     /* median node.gain round trip */
  double render_s;    /* one second rendered with the subscription */
  unsigned long events;
} figures;

static void one_daemon(const char *sonod, const char *dir, figures *f) {
  bench_daemon d;
  sono_args *a = sono_args_new();
  uint64_t first = 0, prev = 0;
  char from[64], to[64];
  double t[GAINS], t0;
  unsigned i;

  bench_daemon_start(&d, sonod, dir, block256);
  f->events = 0;
  sono_on_event(d.c, on_event, &f->events);
  /* The unconnected nodes first: the chain's ids come last, as nodes
   * added late to a session would. */
  for (i = 0; i < nodes; i++) {
    sono_reply *r;
    uint64_t id;
    unsigned k = i - (nodes - chain);   /* place in the chain */

    sono_args_str(a, "kind", "gain");
    sono_args_uint(a, "channels", 2);
    r = bench_call(&d, "node.new", a);
    sono_reply_uint(r, "node", &id);
    sono_reply_free(r);
    if (i < nodes - chain)
      continue;
    if (k == 0)
      first = id;
    for (int ch = 1; ch <= 2; ch++) {
      if (k == 0)
        snprintf(from, sizeof from, "csound:out_%d", ch);
      else
        snprintf(from, sizeof from, "%llu:out_%d", (unsigned long long)prev, ch);
      snprintf(to, sizeof to, "%llu:in_%d", (unsigned long long)id, ch);
      wire(&d, a, from, to);
    }
    prev = id;
  }
  for (int ch = 1; ch <= 2; ch++) {
    snprintf(from, sizeof from, "%llu:out_%d", (unsigned long long)prev, ch);
    snprintf(to, sizeof to, "out:in_%d", ch);
    wire(&d, a, from, to);
  }
  sono_args_uint(a, "rate", 10);
  bench_call0(&d, "meter.subscribe", a);

  for (i = 0; i < GAINS; i++) {
    sono_args_uint(a, "node", first);
    sono_args_double(a, "gain", i % 2 ? 0.5 : 0.75);
    t0 = bench_now();
    bench_call0(&d, "node.gain", a);
    t[i] = (bench_now() - t0) * 1e6;
  }
  qsort(t, GAINS, sizeof *t, bench_cmp_double);
  f->gain_us = (t[GAINS / 2 - 1] + t[GAINS / 2]) / 2;

  /* One block first, so that what was queued is applied before timing. */
  sono_args_uint(a, "frames", 256);
  bench_call0(&d, "render", a);
  f->events = 0;
  sono_args_uint(a, "frames", RATE);
  t0 = bench_now();
  bench_call0(&d, "render", a);
  f->render_s = bench_now() - t0;
  sono_args_free(a);
  bench_daemon_stop(&d);
}

int main(int argc, char **argv) {
  const char *sonod = NULL, *baseline = NULL;
  char dir[] = "/tmp/sonod-bench-control-XXXXXX";
  double gain_new[MAX_RUNS], gain_old[MAX_RUNS], gain_ratio[MAX_RUNS];
  double ren_new[MAX_RUNS], ren_old[MAX_RUNS], ren_ratio[MAX_RUNS];
  unsigned long ev_new = 0, ev_old = 0;
  int runs = 3, r, i;

  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--sonod") == 0 && i + 1 < argc)
      sonod = argv[++i];
    else if (strcmp(argv[i], "--baseline") == 0 && i + 1 < argc)
      baseline = argv[++i];
    else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
      runs = atoi(argv[++i]);
    else if (strcmp(argv[i], "--nodes") == 0 && i + 1 < argc)
      nodes = (unsigned)atoi(argv[++i]);
    else if (strcmp(argv[i], "--chain") == 0 && i + 1 < argc)
      chain = (unsigned)atoi(argv[++i]);
    else {
      fprintf(stderr, "usage: bench_control --sonod PATH --baseline PATH [--runs R] "
                      "[--nodes N] [--chain K]\n");
      return 2;
    }
  }
  if (sonod == NULL || baseline == NULL || runs < 1 || runs > MAX_RUNS || chain < 1 ||
      chain > nodes) {
    fprintf(stderr, "bench_control: --sonod and --baseline are needed; 1 <= runs <= %d, "
                    "1 <= chain <= nodes\n", MAX_RUNS);
    return 2;
  }
  bench_daemon_name("bench_control");
  if (mkdtemp(dir) == NULL) {
    perror("mkdtemp");
    return 1;
  }
  for (r = 0; r < runs; r++) {
    figures n, o;

    one_daemon(baseline, dir, &o);
    one_daemon(sonod, dir, &n);
    gain_new[r] = n.gain_us;
    gain_old[r] = o.gain_us;
    gain_ratio[r] = o.gain_us / n.gain_us;
    ren_new[r] = n.render_s;
    ren_old[r] = o.render_s;
    ren_ratio[r] = o.render_s / n.render_s;
    ev_new = n.events;
    ev_old = o.events;
    fprintf(stderr, "run %d: node.gain %.0f / %.0f us, render 1 s %.3f / %.3f s "
                    "(baseline / under test)\n",
            r + 1, o.gain_us, n.gain_us, o.render_s, n.render_s);
  }
  {
    char cmd[128];

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
      fprintf(stderr, "bench_control: could not remove %s\n", dir);
  }
  printf("%u gain nodes, %u in a chain to out, meters on every node at 10 Hz; %d runs, "
         "medians\n\n", nodes, chain, runs);
  printf("| | baseline | under test | baseline / under test |\n|---|---:|---:|---:|\n");
  printf("| `node.gain` round trip (plan rebuilt) | %.0f us | %.0f us | %.1fx |\n",
         bench_median(gain_old, runs), bench_median(gain_new, runs),
         bench_median(gain_ratio, runs));
  printf("| render 1 s with meters (%lu / %lu events) | %.3f s | %.3f s | %.1fx |\n", ev_old,
         ev_new, bench_median(ren_old, runs), bench_median(ren_new, runs),
         bench_median(ren_ratio, runs));
  return 0;
}
