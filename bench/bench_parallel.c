/* bench_parallel.c - the worker pool (issue 19): what --workers buys on
 * this machine, measured on sonod's offline backend (render as fast as
 * the CPU allows; every block timed by the daemon itself).
 *
 *   bench_parallel --sonod PATH [--runs R] [--seconds S] [--chains N]
 *                  [--max-workers W] [--capacity] [--serial]
 *
 * chains    N identical chains amsynth -> MaFreeverb -> out (a held
 *           four-note chord in every amsynth), at 256 and 64 frames, with
 *           0..W workers: throughput (x realtime), the mean and the worst
 *           block (status.dsp_load_max, as a share of the period), the
 *           worker counts alternating within each run; medians over the
 *           runs, ratios to 0 workers taken within each run.
 * capacity  the most chains whose mean block stays under 80 % of the
 *           period, for each worker count, by bisection over 1..120 (two nodes a chain; the engine holds 256).
 * serial    one chain: a Csound saw into 8 plugins (MaFreeverb and 3BandEQ
 *           in turn) into out, nothing beside it: 0 workers against W, the
 *           pool must cost nothing when the graph has no parallelism.
 *
 * BENCH_KEEP=PREFIX keeps each serial render as PREFIX-BLOCK-WORKERS.wav
 * (to compare them: they are the same bytes).
 *
 * Each measurement starts a fresh daemon (--parallel-min-us at its
 * default), loads and wires the plugins, renders one block, then renders
 * S seconds and reads status. */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include "bench/bench_daemon.h"
#include "clients/c/sono.h"

#define RATE 48000
#define MAX_RUNS 16
#define MAX_W 8

static const char *sonod_path;
static const char *amsynth = "/usr/lib/vst/amsynth_vst.so";
static const char *freeverb = "/usr/lib/vst/MaFreeverb-vst.so";
static const char *eq = "/usr/lib/vst/3BandEQ-vst.so";
static char dir[256];

/* A private offline daemon with BLOCK frames a block and W workers. */
static void start(bench_daemon *d, unsigned block, unsigned workers) {
  char bs[16], ws[16];
  const char *const extra[] = { "--block-size", bs, "--ksmps", "16", "--workers", ws, NULL };

  snprintf(bs, sizeof bs, "%u", block);
  snprintf(ws, sizeof ws, "%u", workers);
  bench_daemon_start(d, sonod_path, dir, extra);
}

static void wire(bench_daemon *d, sono_args *a, const char *op, uint64_t from, unsigned fp, uint64_t to,
                 unsigned tp) {
  char f[64], t[64];

  if (from == 0)
    snprintf(f, sizeof f, "csound:out_%u", fp);
  else
    snprintf(f, sizeof f, "%llu:out_%u", (unsigned long long)from, fp);
  if (to == 0)
    snprintf(t, sizeof t, "out:in_%u", tp);
  else
    snprintf(t, sizeof t, "%llu:in_%u", (unsigned long long)to, tp);
  sono_args_str(a, "from", f);
  sono_args_str(a, "to", t);
  bench_call0(d, op, a);
}

static uint64_t load(bench_daemon *d, sono_args *a, const char *path, uint64_t *nin, uint64_t *nout) {
  sono_reply *r;
  uint64_t node = 0;

  sono_args_str(a, "path", path);
  sono_args_uint(a, "timeout", 60000);
  r = bench_call(d, "plugin.load", a);
  sono_reply_uint(r, "node", &node);
  sono_reply_uint(r, "inputs", nin);
  sono_reply_uint(r, "outputs", nout);
  sono_reply_free(r);
  return node;
}

/* A held chord from the second block on. */
static void chord(bench_daemon *d, sono_args *a, uint64_t node, unsigned block, unsigned k) {
  static const unsigned notes[4] = { 48, 55, 60, 64 };
  unsigned i;

  sono_args_uint(a, "node", node);
  sono_args_begin_array(a, "events");
  for (i = 0; i < 4; i++) {
    sono_args_begin_map(a, NULL);
    sono_args_str(a, "type", "note_on");
    sono_args_uint(a, "note", notes[i] + k % 5);
    sono_args_uint(a, "velocity", 90);
    sono_args_uint(a, "at", block + i);
    sono_args_end(a);
  }
  sono_args_end(a);
  bench_call0(d, "plugin.midi", a);
}

/* Plugin p (pout outputs) feeds q (qin inputs): stereo to stereo, mono
 * to both, both into mono; p no longer goes to out directly (a mono
 * output went to both out inputs). */
static void chain_to(bench_daemon *d, sono_args *a, uint64_t p, uint64_t pout, uint64_t q,
                     uint64_t qin) {
  unsigned ch;

  for (ch = 1; ch <= 2; ch++) {
    unsigned from = pout > 1 ? ch : 1;

    wire(d, a, "graph.disconnect", p, from, 0, ch);
    if (pout > 1 || qin > 1)
      wire(d, a, "graph.connect", p, from, q, qin > 1 ? ch : 1);
  }
}

typedef struct result {
  double xrt;        /* seconds of audio per second of wall clock */
  double mean;       /* mean block time / period */
  double worst;      /* worst block / period */
  uint64_t parallel; /* blocks on the pool */
} result;

static result render(bench_daemon *d, unsigned block, double seconds) {
  sono_args *a = sono_args_new();
  uint64_t blocks = (uint64_t)(seconds * RATE) / block, par = 0;
  double t0, t, worst = 0;
  sono_reply *r;
  result res;

  sono_args_uint(a, "frames", block);
  bench_call0(d, "render", a);
  bench_call0(d, "status", NULL);   /* resets dsp_load_max */
  sono_args_uint(a, "frames", blocks * block);
  t0 = bench_now();
  bench_call0(d, "render", a);
  t = bench_now() - t0;
  r = bench_call(d, "status", NULL);
  sono_reply_double(r, "dsp_load_max", &worst);
  sono_reply_uint(r, "parallel_cycles", &par);
  sono_reply_free(r);
  sono_args_free(a);
  res.xrt = (double)(blocks * block) / RATE / t;
  res.mean = 1.0 / res.xrt;
  res.worst = worst;
  res.parallel = par;
  return res;
}

static result chains(unsigned block, unsigned workers, unsigned n, double seconds) {
  sono_args *a = sono_args_new();
  bench_daemon d;
  unsigned k;
  result r;

  start(&d, block, workers);
  for (k = 0; k < n; k++) {
    uint64_t sin, sout, fin, fout, s = load(&d, a, amsynth, &sin, &sout),
                                   f = load(&d, a, freeverb, &fin, &fout);

    chain_to(&d, a, s, sout, f, fin);
    chord(&d, a, s, block, k);
  }
  sono_args_free(a);
  r = render(&d, block, seconds);
  bench_daemon_stop(&d);
  return r;
}

static result serial(unsigned block, unsigned workers, double seconds) {
  sono_args *a = sono_args_new();
  uint64_t nin, nout, pout = 2, prev, node;
  bench_daemon d;
  unsigned k;
  result r;

  start(&d, block, workers);
  sono_args_str(a, "name", "saw");
  sono_args_str(a, "body", "asig vco2 0.3, 110\nouts asig, asig\n");
  bench_call0(&d, "instr.define", a);
  sono_args_uint(a, "frames", block);
  bench_call0(&d, "render", a);   /* the definition is merged in the next k-cycle */
  sono_args_str(a, "instr", "saw");
  sono_args_double(a, "dur", -1);
  bench_call0(&d, "synth.start", a);
  /* csound -> 8 plugins -> out: Csound's block first, then the chain,
   * one after another. */
  prev = 0;
  for (k = 0; k < 8; k++) {
    node = load(&d, a, k % 2 ? eq : freeverb, &nin, &nout);
    chain_to(&d, a, prev, pout, node, nin);
    prev = node;
    pout = nout;
  }
  sono_args_free(a);
  r = render(&d, block, seconds);
  bench_daemon_stop(&d);
  if (getenv("BENCH_KEEP") != NULL) {
    char from[300], to[600];

    snprintf(from, sizeof from, "%s/out.wav", dir);
    snprintf(to, sizeof to, "%s-%u-%u.wav", getenv("BENCH_KEEP"), block, workers);
    rename(from, to);
  }
  return r;
}

static double median_of(const result *v, int n, int field) {
  double x[MAX_RUNS];
  int i;

  for (i = 0; i < n; i++)
    x[i] = field == 0 ? v[i].xrt : field == 1 ? v[i].mean : v[i].worst;
  return bench_median(x, n);
}

static void part_chains(unsigned block, unsigned n, unsigned maxw, int runs, double seconds) {
  result r[MAX_W + 1][MAX_RUNS];
  double ratio[MAX_W + 1][MAX_RUNS];
  unsigned w;
  int i;

  for (i = 0; i < runs; i++)
    for (w = 0; w <= maxw; w++) {
      r[w][i] = chains(block, w, n, seconds);
      ratio[w][i] = r[w][i].xrt / r[0][i].xrt;
    }
  printf("\n%u chains amsynth -> MaFreeverb, %u frames (period %.0f us), %d runs, %.1f s each\n",
         n, block, block * 1e6 / RATE, runs, seconds);
  printf("| workers | x realtime | mean block / period | worst block / period | throughput vs 0 |"
         " parallel blocks |\n|---:|---:|---:|---:|---:|---:|\n");
  for (w = 0; w <= maxw; w++)
    printf("| %u | %.1f | %.1f %% | %.1f %% | %.2fx | %llu |\n", w, median_of(r[w], runs, 0),
           100 * median_of(r[w], runs, 1), 100 * median_of(r[w], runs, 2),
           bench_median(ratio[w], runs), (unsigned long long)r[w][runs - 1].parallel);
  fflush(stdout);
}

/* The most chains (1..120) whose mean block is under 80 % of the period. */
static unsigned capacity(unsigned block, unsigned w, double seconds) {
  unsigned lo = 1, hi = 120;

  if (chains(block, w, lo, seconds).mean > 0.8)
    return 0;
  while (lo < hi) {
    unsigned mid = (lo + hi + 1) / 2;

    if (chains(block, w, mid, seconds).mean <= 0.8)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

int main(int argc, char **argv) {
  int runs = 3, i;
  double seconds = 2;
  unsigned n = 16, maxw = 0, w;
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  bool do_chains = false, do_cap = false, do_serial = false;

  bench_daemon_name("bench_parallel");

  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--sonod") == 0 && i + 1 < argc)
      sonod_path = argv[++i];
    else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
      runs = atoi(argv[++i]);
    else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
      seconds = atof(argv[++i]);
    else if (strcmp(argv[i], "--chains") == 0 && i + 1 < argc)
      n = (unsigned)atoi(argv[++i]);
    else if (strcmp(argv[i], "--max-workers") == 0 && i + 1 < argc)
      maxw = (unsigned)atoi(argv[++i]);
    else if (strcmp(argv[i], "--capacity") == 0)
      do_cap = true;
    else if (strcmp(argv[i], "--serial") == 0)
      do_serial = true;
    else if (strcmp(argv[i], "chains") == 0)
      do_chains = true;
    else {
      fprintf(stderr, "usage: bench_parallel --sonod PATH [--runs R] [--seconds S] "
                      "[--chains N] [--max-workers W] [chains] [--capacity] [--serial]\n");
      return 2;
    }
  }
  if (!do_chains && !do_cap && !do_serial)
    do_chains = do_cap = do_serial = true;
  if (maxw == 0)
    maxw = cores > 1 ? (unsigned)cores : 1;
  if (maxw > MAX_W)
    maxw = MAX_W;
  if (runs < 1 || runs > MAX_RUNS || sonod_path == NULL || access(amsynth, R_OK) != 0 ||
      access(freeverb, R_OK) != 0 || access(eq, R_OK) != 0) {
    fprintf(stderr, "bench_parallel: needs --sonod, 1..%d runs, and amsynth, MaFreeverb and "
                    "3BandEQ in /usr/lib/vst\n", MAX_RUNS);
    return 2;
  }
  snprintf(dir, sizeof dir, "/tmp/sonod-bench-parallel-XXXXXX");
  if (mkdtemp(dir) == NULL)
    return 1;
  signal(SIGPIPE, SIG_IGN);
  printf("bench_parallel: %ld CPUs online, workers 0..%u\n", cores, maxw);
  if (do_chains) {
    part_chains(256, n, maxw, runs, seconds);
    part_chains(64, n, maxw, runs, seconds);
  }
  if (do_cap) {
    unsigned blocks[2] = { 256, 64 }, b;

    for (b = 0; b < 2; b++) {
      unsigned c0 = capacity(blocks[b], 0, seconds);

      printf("\ncapacity at %u frames, chains under 80 %% of the period:", blocks[b]);
      printf(" 0 workers %u", c0);
      for (w = 1; w <= maxw; w++) {
        unsigned c = capacity(blocks[b], w, seconds);

        printf(", %u workers %u (%.2fx)", w, c, c0 ? (double)c / c0 : 0.0);
      }
      printf("\n");
      fflush(stdout);
    }
  }
  if (do_serial) {
    unsigned blocks[2] = { 256, 64 }, b;

    for (b = 0; b < 2; b++) {
      result r[MAX_W + 1][MAX_RUNS];
      double ratio[MAX_RUNS];

      for (i = 0; i < runs; i++) {
        r[0][i] = serial(blocks[b], 0, seconds);
        r[1][i] = serial(blocks[b], maxw, seconds);
        ratio[i] = r[1][i].xrt / r[0][i].xrt;
      }
      printf("\nserial chain of 8 plugins, %u frames: 0 workers %.1fx realtime, %u workers "
             "%.1fx (%.3fx of 0 workers; %llu parallel blocks)\n",
             blocks[b], median_of(r[0], runs, 0), maxw, median_of(r[1], runs, 0),
             bench_median(ratio, runs), (unsigned long long)r[1][runs - 1].parallel);
      fflush(stdout);
    }
  }
  rmdir(dir);
  return 0;
}
