/* bench_capture.c - what capture.start costs the audio thread: the time
 * capture_rt_block (daemon/rt/capture.c) takes at a block's end, per
 * capture, copying a block into the capture's ring (`bench/run.sh capture`;
 * bench/RESULTS.md).  One thread: the ring is emptied whenever it fills,
 * as the control thread would, outside the timed part.  The node is found
 * in a plan of `nodes` nodes (the last one: the longest search), or is
 * `out` (the backend's buffers, no search). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "daemon/rt/capture.h"
#include "daemon/rt/graph.h"

#define RATE 48000
#define ROUNDS 15

static double run(unsigned channels, unsigned period, unsigned block, unsigned nodes, bool out) {
  static float bufs[64][8192];
  float *ptr[64];
  rt_gnode *gn = calloc(nodes, sizeof *gn);
  rt_plan plan;
  rt_captures cs;
  rt_capture *c = aligned_alloc(64, (sizeof *c + 63) & ~(size_t)63);
  double t, best = 1e9;
  unsigned i, r, cycles = 20000;

  memset(c, 0, sizeof *c);
  memset(&plan, 0, sizeof plan);
  memset(&cs, 0, sizeof cs);
  for (i = 0; i < channels; i++) {
    ptr[i] = bufs[i];
    for (unsigned k = 0; k < period; k++)
      bufs[i][k] = (float)k / (float)period;
  }
  for (i = 0; i < nodes; i++) {
    gn[i].gid = i + 1;
    gn[i].nout = channels;
    gn[i].outbuf = ptr;
  }
  plan.node = gn;
  plan.nnodes = nodes;
  plan.max_block = period;
  c->gid = out ? GRAPH_ID_OUT : nodes;
  c->channels = channels;
  c->block = block;
  c->ring = spsc_create(64, sizeof(capture_hdr) + (size_t)channels * block * sizeof(float));
  capture_rt_add(&cs, c);
  for (r = 0; r < ROUNDS; r++) {
    double spent = 0;

    for (i = 0; i < cycles; i++) {
      if (spsc_space(c->ring) < 2)
        spsc_release(c->ring, spsc_count(c->ring));
      t = bench_now();
      capture_rt_block(&cs, &plan, ptr, channels, period, (uint64_t)i * period);
      spent += bench_now() - t;
    }
    if (spent / cycles < best)
      best = spent / cycles;
  }
  spsc_destroy(c->ring);
  free(c);
  free(gn);
  return best * 1e9;
}

int main(void) {
  static const struct { unsigned ch, period, block, nodes; bool out; } cases[] = {
    { 2, 256, 1024, 0, true },   { 2, 256, 1024, 32, false }, { 2, 64, 1024, 32, false },
    { 2, 1024, 1024, 32, false }, { 8, 256, 1024, 32, false }, { 2, 256, 64, 32, false },
  };

  printf("capture_rt_block per capture, per cycle (best of %d rounds of 20000 cycles)\n", ROUNDS);
  printf("%-9s %-7s %-6s %-6s %10s %14s\n", "channels", "period", "block", "node", "ns/cycle",
         "% of period");
  for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    double ns = run(cases[i].ch, cases[i].period, cases[i].block, cases[i].nodes, cases[i].out);
    double period_ns = cases[i].period * 1e9 / RATE;
    char node[16];

    snprintf(node, sizeof node, cases[i].out ? "out" : "%u", cases[i].nodes);
    printf("%-9u %-7u %-6u %-6s %10.0f %13.3f%%\n", cases[i].ch, cases[i].period, cases[i].block,
           node, ns, 100.0 * ns / period_ns);
  }
  return 0;
}
