/* bench_graph.c - what the routing graph and the daemon cost, measured on
 * sonod's offline backend (render as fast as the CPU allows) against bare
 * loops in this program doing the same work.
 *
 *   bench_graph --sonod PATH [--runs R] [--seconds S] [graph] [session] [host]
 *
 * graph    64 gain nodes in a chain (csound -> g1 -> ... -> g64 -> out, every
 *          gain 0.999), built through the protocol; rendering S seconds is
 *          timed (wall clock of the `render` request).  Baseline: 64
 *          multiply passes over a 2 x block buffer, as many blocks.  Also an
 *          empty daemon (csound -> out) rendered the same, so the graph's
 *          own share can be told from the daemon's fixed cost.
 * session  a 60-second session: a Csound synth (a chord of four saws through
 *          a low-pass) into MaFreeverb into out; speed as x realtime.
 * host     issue 3: amsynth -> MaGigaverb -> 3BandEQ wired through the graph,
 *          a note on/off every 50 blocks sent as timed plugin.midi, S seconds
 *          rendered; baseline: the same three plugins loaded in this process
 *          (libsonovst) and driven by their dispatcher (effProcessEvents) and
 *          processReplacing in a bare loop with the same notes and block size.
 *
 * Each run starts a fresh daemon; baseline and daemon alternate within a run,
 * and the figures are medians over the runs, ratios taken within each run.
 * The daemon writes its output to a WAV file in a temporary directory (part
 * of what it costs). */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include "bench/bench_daemon.h"
#include "clients/c/sono.h"
#include "daemon/vst/vst.h"
#include "daemon/vst/vst2_abi.h"

#define RATE 48000
#define BLOCK 256
#define CHAIN 64
#define GAIN 0.999f
#define MAX_RUNS 32

static const char *sonod_path;
static char dir[256];

/* ------------------------------------------------------------- daemon */

static const char *const block256[] = { "--block-size", "256", NULL };

static void connect_ports(bench_daemon *d, sono_args *a, const char *op, const char *from,
                          const char *to) {
  sono_args_str(a, "from", from);
  sono_args_str(a, "to", to);
  bench_call0(d, op, a);
}

/* Wall-clock time of rendering `seconds` of audio. */
static double render(bench_daemon *d, double seconds) {
  sono_args *a = sono_args_new();
  double t0, t;

  /* One block first, so that what was queued is applied before timing. */
  sono_args_uint(a, "frames", BLOCK);
  bench_call0(d, "render", a);
  sono_args_uint(a, "frames", BLOCK + (uint64_t)(seconds * RATE));
  t0 = bench_now();
  bench_call0(d, "render", a);
  t = bench_now() - t0;
  sono_args_free(a);
  return t;
}

static uint64_t load_plugin(bench_daemon *d, sono_args *a, const char *path) {
  sono_reply *r;
  uint64_t node = 0;

  sono_args_str(a, "path", path);
  sono_args_uint(a, "timeout", 60000);
  r = bench_call(d, "plugin.load", a);
  sono_reply_uint(r, "node", &node);
  sono_reply_free(r);
  return node;
}

/* -------------------------------------------------------------- graph */

/* Out of line and fed through volatile, so the compiler keeps every pass. */
static __attribute__((noinline)) void bare_passes(float *buf, float g, unsigned passes,
                                                  unsigned n) {
  unsigned p, i;

  for (p = 0; p < passes; p++)
    for (i = 0; i < n; i++)
      buf[i] *= g;
}

static volatile float sink;
static volatile float vgain = GAIN;

static double bare_chain(uint64_t blocks) {
  static float buf[2 * BLOCK];
  double t0 = bench_now();
  uint64_t b;
  unsigned i;

  for (b = 0; b < blocks; b++) {
    for (i = 0; i < 2 * BLOCK; i++)   /* a fresh block, as from csound */
      buf[i] = 0.5f;
    bare_passes(buf, vgain, CHAIN, 2 * BLOCK);
    sink += buf[b % (2 * BLOCK)];
  }
  return bench_now() - t0;
}

static double daemon_graph(double seconds, bool chain) {
  bench_daemon d;
  sono_args *a;
  char from[64], to[64];
  uint64_t g[CHAIN];
  int k, ch;
  double t;

  bench_daemon_start(&d, sonod_path, dir, block256);
  a = sono_args_new();
  if (chain) {
    for (k = 0; k < CHAIN; k++) {
      sono_reply *r;

      sono_args_str(a, "kind", "gain");
      sono_args_uint(a, "channels", 2);
      r = bench_call(&d, "node.new", a);
      sono_reply_uint(r, "node", &g[k]);
      sono_reply_free(r);
      sono_args_uint(a, "node", g[k]);
      sono_args_double(a, "gain", GAIN);
      bench_call0(&d, "node.gain", a);
    }
    for (ch = 1; ch <= 2; ch++) {
      snprintf(from, sizeof from, "csound:out_%d", ch);
      snprintf(to, sizeof to, "out:in_%d", ch);
      connect_ports(&d, a, "graph.disconnect", from, to);
      snprintf(to, sizeof to, "%llu:in_%d", (unsigned long long)g[0], ch);
      connect_ports(&d, a, "graph.connect", from, to);
      for (k = 0; k + 1 < CHAIN; k++) {
        snprintf(from, sizeof from, "%llu:out_%d", (unsigned long long)g[k], ch);
        snprintf(to, sizeof to, "%llu:in_%d", (unsigned long long)g[k + 1], ch);
        connect_ports(&d, a, "graph.connect", from, to);
      }
      snprintf(from, sizeof from, "%llu:out_%d", (unsigned long long)g[CHAIN - 1], ch);
      snprintf(to, sizeof to, "out:in_%d", ch);
      connect_ports(&d, a, "graph.connect", from, to);
    }
  }
  sono_args_free(a);
  t = render(&d, seconds);
  bench_daemon_stop(&d);
  return t;
}

static void bench_graph(int runs, double seconds) {
  uint64_t blocks = (uint64_t)(seconds * RATE) / BLOCK;
  double bare[MAX_RUNS], empty[MAX_RUNS], chain[MAX_RUNS], ratio[MAX_RUNS], own[MAX_RUNS];
  int r;

  for (r = 0; r < runs; r++) {
    bare[r] = bare_chain(blocks);
    empty[r] = daemon_graph(seconds, false);
    chain[r] = daemon_graph(seconds, true);
    ratio[r] = chain[r] / bare[r];
    own[r] = (chain[r] - empty[r]) / bare[r];
    fprintf(stderr, "graph run %d: bare %.4f s, empty daemon %.4f s, 64-node chain %.4f s\n", r + 1,
            bare[r], empty[r], chain[r]);
  }
  printf("### Graph: 64 gain nodes in a chain vs a bare loop\n\n");
  printf("%.0f s of audio (%llu blocks of %d frames, 2 channels), %d runs, medians.\n\n", seconds,
         (unsigned long long)blocks, BLOCK, runs);
  printf("| what | wall s | µs/block | x realtime | vs bare loop |\n|---|---:|---:|---:|---:|\n");
  double m_bare = bench_median(bare, runs), m_empty = bench_median(empty, runs);
  double m_chain = bench_median(chain, runs);

  printf("| bare loop: 64 multiply passes (baseline) | %.4f | %.2f | %.0f | 1.00× |\n",
         m_bare, m_bare / blocks * 1e6, seconds / m_bare);
  printf("| sonod, empty graph (csound → out) | %.4f | %.2f | %.0f | — |\n", m_empty,
         m_empty / blocks * 1e6, seconds / m_empty);
  printf("| sonod, csound → 64 gain nodes → out | %.4f | %.2f | %.0f | %.2f× |\n",
         m_chain, m_chain / blocks * 1e6, seconds / m_chain, bench_median(ratio, runs));
  printf("\nThe 64 nodes' own share (chain − empty daemon) is %.2f× the bare loop "
         "(median of the per-run ratios); per node and block: %.3f µs.\n\n",
         bench_median(own, runs), (m_chain - m_empty) / blocks / CHAIN * 1e6);
}

/* ------------------------------------------------------------ session */

static const char *freeverb = "/usr/lib/vst/MaFreeverb-vst.so";

static double session_once(double seconds) {
  bench_daemon d;
  sono_args *a = sono_args_new();
  static const double freqs[] = {110.0, 164.81, 220.0, 277.18};
  uint64_t fv = 0;
  char from[64], to[64];
  unsigned k;
  int ch;
  double t;

  bench_daemon_start(&d, sonod_path, dir, block256);
  sono_args_str(a, "name", "pad");
  sono_args_str(a, "body", "|kfreq=220, kamp=0.1|\n"
                           "a1 vco2 kamp, kfreq\n"
                           "a2 moogladder a1, 1800, 0.4\n"
                           "outs a2, a2\n");
  bench_call0(&d, "instr.define", a);
  for (k = 0; k < 4; k++) {
    sono_args_str(a, "instr", "pad");
    sono_args_begin_map(a, "args");
    sono_args_double(a, "kfreq", freqs[k]);
    sono_args_end(a);
    bench_call0(&d, "synth.start", a);
  }
  if (access(freeverb, R_OK) == 0) {
    fv = load_plugin(&d, a, freeverb);
    for (ch = 1; ch <= 2; ch++) {
      snprintf(from, sizeof from, "csound:out_%d", ch);
      snprintf(to, sizeof to, "out:in_%d", ch);
      connect_ports(&d, a, "graph.disconnect", from, to);
      /* MaFreeverb has one input: both channels sum into it. */
      snprintf(to, sizeof to, "%llu:in_1", (unsigned long long)fv);
      sono_args_double(a, "gain", 0.5);
      connect_ports(&d, a, "graph.connect", from, to);
    }
  }
  sono_args_free(a);
  t = render(&d, seconds);
  bench_daemon_stop(&d);
  return t;
}

static void bench_session(int runs) {
  double t[MAX_RUNS];
  int r;

  for (r = 0; r < runs; r++) {
    t[r] = session_once(60.0);
    fprintf(stderr, "session run %d: %.3f s for 60 s\n", r + 1, t[r]);
  }
  printf("### Render speed: a 60-second session\n\n");
  printf("Csound instrument `pad` (vco2 saw → moogladder), four synths (a chord), "
         "%s, 48 kHz, %d-frame blocks, offline backend writing a WAV file; %d runs.\n\n",
         access(freeverb, R_OK) == 0 ? "into MaFreeverb (csound → plugin → out)"
                                     : "MaFreeverb NOT INSTALLED: Csound only",
         BLOCK, runs);
  printf("| 60 s session | wall s (median) | x realtime |\n|---|---:|---:|\n");
  printf("| csound synths → MaFreeverb → out | %.3f | %.0f× |\n\n", bench_median(t, runs),
         60.0 / bench_median(t, runs));
}

/* --------------------------------------------------------------- host */

#define NPLUG 3
static const char *const host_paths[NPLUG] = {
  "/usr/lib/vst/amsynth_vst.so",
  "/usr/lib/vst/MaGigaverb-vst.so",
  "/usr/lib/vst/3BandEQ-vst.so",
};

/* As bench/vst/bench_vst_overhead.c: alternately note on and off every 50
 * blocks, 7 frames into the block. */
static vst_midi_msg note_for(uint64_t b) {
  int key = 48 + (int)((b / 50) % 24);

  return (b / 50) % 2 ? vst_midi_note_off(0, key, 0) : vst_midi_note_on(0, key, 100);
}

static double bare_host(vst_instance **inst, uint64_t blocks) {
  static float mem[6 * BLOCK];
  float *a[2] = {mem, mem + BLOCK}, *b[2] = {mem + 2 * BLOCK, mem + 3 * BLOCK},
        *c[2] = {mem + 4 * BLOCK, mem + 5 * BLOCK};
  float *none[1] = {mem};
  AEffect *e0 = vst_get_effect(inst[0]), *e1 = vst_get_effect(inst[1]),
          *e2 = vst_get_effect(inst[2]);
  VstMidiEvent ev;
  struct {
    VstInt32 num;
    VstIntPtr res;
    VstEvent *events[2];
  } list = {1, 0, {(VstEvent *)&ev, NULL}};
  uint64_t k;
  double t0 = bench_now();

  for (k = 0; k < blocks; k++) {
    if (k % 50 == 0) {
      vst_midi_msg m = note_for(k);

      memset(&ev, 0, sizeof ev);
      ev.type = kVstMidiType;
      ev.byteSize = sizeof ev;
      ev.deltaFrames = 7;
      memcpy(ev.midiData, m.data, 3);
      e0->dispatcher(e0, effProcessEvents, 0, 0, &list, 0.0f);
    }
    e0->processReplacing(e0, none, a, BLOCK);
    e1->processReplacing(e1, a, b, BLOCK);
    e2->processReplacing(e2, b, c, BLOCK);
  }
  return bench_now() - t0;
}

static double daemon_host(double seconds) {
  uint64_t blocks = (uint64_t)(seconds * RATE) / BLOCK, k, node[NPLUG];
  bench_daemon d;
  sono_args *a = sono_args_new();
  char from[64], to[64];
  int p, ch;
  double t;

  bench_daemon_start(&d, sonod_path, dir, block256);
  for (p = 0; p < NPLUG; p++)
    node[p] = load_plugin(&d, a, host_paths[p]);
  /* amsynth -> gigaverb -> eq -> out; csound and the first two off out. */
  for (ch = 1; ch <= 2; ch++) {
    snprintf(to, sizeof to, "out:in_%d", ch);
    snprintf(from, sizeof from, "csound:out_%d", ch);
    connect_ports(&d, a, "graph.disconnect", from, to);
    for (p = 0; p + 1 < NPLUG; p++) {
      snprintf(from, sizeof from, "%llu:out_%d", (unsigned long long)node[p], ch);
      connect_ports(&d, a, "graph.disconnect", from, to);
    }
    for (p = 0; p + 1 < NPLUG; p++) {
      snprintf(from, sizeof from, "%llu:out_%d", (unsigned long long)node[p], ch);
      snprintf(to, sizeof to, "%llu:in_%d", (unsigned long long)node[p + 1], ch);
      connect_ports(&d, a, "graph.connect", from, to);
    }
  }
  /* Every note of the render, timed, in one request; the render starts
   * one block later (render() renders one block first). */
  sono_args_uint(a, "node", node[0]);
  sono_args_begin_array(a, "events");
  for (k = 0; k < blocks; k += 50) {
    vst_midi_msg m = note_for(k);

    sono_args_begin_map(a, NULL);
    sono_args_str(a, "type", (m.data[0] & 0xf0) == 0x90 ? "note_on" : "note_off");
    sono_args_uint(a, "note", m.data[1]);
    sono_args_uint(a, "velocity", m.data[2]);
    sono_args_uint(a, "at", (k + 1) * BLOCK + 7);
    sono_args_end(a);
  }
  sono_args_end(a);
  bench_call0(&d, "plugin.midi", a);
  sono_args_free(a);
  t = render(&d, seconds);
  bench_daemon_stop(&d);
  return t;
}

static void bench_host(int runs, double seconds) {
  uint64_t blocks = (uint64_t)(seconds * RATE) / BLOCK;
  double bare[MAX_RUNS], host[MAX_RUNS], ratio[MAX_RUNS];
  vst_instance *inst[NPLUG];
  vst_config cfg;
  char err[VST_ERR_LEN];
  int r, p;

  for (p = 0; p < NPLUG; p++)
    if (access(host_paths[p], R_OK) != 0) {
      printf("### Host overhead (issue 3)\n\nskipped: %s is not installed\n\n", host_paths[p]);
      return;
    }
  vst_config_init(&cfg);
  cfg.sample_rate = RATE;
  cfg.max_block = BLOCK;
  cfg.offline = true;   /* as the daemon's offline backend */
  for (p = 0; p < NPLUG; p++)
    if (vst_load(host_paths[p], &cfg, &inst[p], err) != VST_OK) {
      fprintf(stderr, "bench_graph: %s\n", err);
      exit(1);
    }
  for (r = 0; r < runs; r++) {
    if (r % 2 == 0) {
      bare[r] = bare_host(inst, blocks);
      host[r] = daemon_host(seconds);
    } else {
      host[r] = daemon_host(seconds);
      bare[r] = bare_host(inst, blocks);
    }
    ratio[r] = host[r] / bare[r];
    fprintf(stderr, "host run %d: bare %.4f s, sonod %.4f s, ratio %.3f\n", r + 1, bare[r],
            host[r], ratio[r]);
  }
  for (p = 0; p < NPLUG; p++)
    vst_unload(inst[p]);
  printf("### Host overhead per block (issue 3): amsynth → MaGigaverb → 3BandEQ\n\n");
  printf("%.0f s of audio (%llu blocks of %d frames), a note on/off every 50 blocks; %d runs, "
         "medians, baseline and daemon alternating.\n\n", seconds, (unsigned long long)blocks,
         BLOCK, runs);
  printf("| what | wall s | µs/block | vs bare |\n|---|---:|---:|---:|\n");
  printf("| bare loop: effProcessEvents + processReplacing ×3 (baseline) | %.4f | %.2f | 1.000 |\n",
         bench_median(bare, runs), bench_median(bare, runs) / blocks * 1e6);
  printf("| sonod offline: the chain through the graph, timed plugin.midi | %.4f | %.2f | %.3f |\n\n",
         bench_median(host, runs), bench_median(host, runs) / blocks * 1e6, bench_median(ratio, runs));
  {
    double best_bare = bare[0], best_host = host[0];

    for (r = 1; r < runs; r++) {
      best_bare = bare[r] < best_bare ? bare[r] : best_bare;
      best_host = host[r] < best_host ? host[r] : best_host;
    }
    printf("Best run of each: bare %.2f µs/block, sonod %.2f µs/block, ratio %.3f.\n\n",
           best_bare / blocks * 1e6, best_host / blocks * 1e6, best_host / best_bare);
  }
  printf("Per-run ratios:");
  for (r = 0; r < runs; r++)
    printf(" %.3f", ratio[r]);
  printf("\n\n");
}

int main(int argc, char **argv) {
  int runs = 5, i;
  double seconds = 20;
  bool graph = false, session = false, host = false;
  char home[300];

  bench_daemon_name("bench_graph");

  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--sonod") == 0 && i + 1 < argc)
      sonod_path = argv[++i];
    else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
      runs = atoi(argv[++i]);
    else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
      seconds = atof(argv[++i]);
    else if (strcmp(argv[i], "graph") == 0)
      graph = true;
    else if (strcmp(argv[i], "session") == 0)
      session = true;
    else if (strcmp(argv[i], "host") == 0)
      host = true;
    else {
      fprintf(stderr, "usage: bench_graph --sonod PATH [--runs R] [--seconds S] "
                      "[graph] [session] [host]\n");
      return 2;
    }
  }
  if (sonod_path == NULL || runs < 1 || runs > MAX_RUNS || seconds <= 0) {
    fprintf(stderr, "bench_graph: --sonod PATH is required; runs 1..%d; seconds > 0\n", MAX_RUNS);
    return 2;
  }
  if (!graph && !session && !host)
    graph = session = host = true;
  snprintf(dir, sizeof dir, "/tmp/bench-graph-XXXXXX");
  if (mkdtemp(dir) == NULL) {
    perror("mkdtemp");
    return 1;
  }
  /* amsynth reads and writes presets under $HOME: a scratch one. */
  snprintf(home, sizeof home, "%s/home", dir);
  mkdir(home, 0700);
  {
    char sub[400];

    snprintf(sub, sizeof sub, "%s/.local", home);
    mkdir(sub, 0700);
    snprintf(sub, sizeof sub, "%s/.local/share", home);
    mkdir(sub, 0700);
    snprintf(sub, sizeof sub, "%s/.config", home);
    mkdir(sub, 0700);
  }
  setenv("HOME", home, 1);
  signal(SIGPIPE, SIG_IGN);
  if (graph)
    bench_graph(runs, seconds);
  if (session)
    bench_session(runs);
  if (host)
    bench_host(runs, seconds);
  {
    char cmd[300];

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
      fprintf(stderr, "bench_graph: could not remove %s\n", dir);
  }
  return 0;
}
