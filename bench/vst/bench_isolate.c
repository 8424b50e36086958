/* bench_isolate.c - the cost of isolation per plugin per cycle: the same
 * plugin in process and isolated (sonod-plugin-host, shared region, futex
 * wake and wait), in the same run.
 *
 *     bench_isolate [blocks_per_round] [block_size] [plugin.so]
 *
 * Default plugin: amsynth, a note on/off every 50 blocks.  Both instances
 * get the same calls (vst_rt_set_transport, vst_rt_queue_midi,
 * vst_rt_process) in short paired rounds, alternating which goes first;
 * the median per-round difference is the cost of isolation, also given as
 * a share of the block's period at 48 kHz.  Without realtime scheduling
 * (an ordinary user) the host's wake-up is an ordinary scheduler wake-up. */
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/vst/vst.h"

#ifndef SONOD_PLUGIN_HOST_BUILD
#define SONOD_PLUGIN_HOST_BUILD ""
#endif

static double now(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;

  return (a > b) - (a < b);
}

static vst_midi_msg note_for(int b) {
  int key = 48 + (b / 50) % 24;

  return (b / 50) % 2 ? vst_midi_note_off(0, key, 0) : vst_midi_note_on(0, key, 100);
}

static double run(vst_instance *inst, int k0, int blocks, unsigned n, float **out) {
  double t0 = now();

  for (int k = k0; k < k0 + blocks; k++) {
    vst_transport t = { .frame = (int64_t)k * n, .sample_pos = (double)k * n, .tempo = 120.0,
                        .time_sig_num = 4, .time_sig_den = 4, .playing = true };

    vst_rt_set_transport(inst, &t);
    if (k % 50 == 0)
      vst_rt_queue_midi(inst, 7, note_for(k));
    vst_rt_process(inst, NULL, 0, out, 2, n);
  }
  return now() - t0;
}

int main(int argc, char **argv) {
  int blocks = argc > 1 ? atoi(argv[1]) : 200;
  unsigned n = argc > 2 ? (unsigned)atoi(argv[2]) : 256;
  const char *path = argc > 3 ? argv[3] : "/usr/lib/vst/amsynth_vst.so";
  enum { ROUNDS = 41 };
  double diff[ROUNDS], ins[ROUNDS], isos[ROUNDS], best_in = 1e9, best_iso = 1e9, period_us = n / 48000.0 * 1e6;
  vst_instance *in, *iso;
  vst_config cfg;
  char err[VST_ERR_LEN];
  float *mem = calloc(4 * n, sizeof(float));
  float *a[2] = { mem, mem + n }, *b[2] = { mem + 2 * n, mem + 3 * n };
  int k0 = 0;

  /* Like an engine's audio thread: SCHED_FIFO 10 when allowed, as the
   * host's processing thread gets (else both run at normal priority). */
  struct sched_param sp = { .sched_priority = 10 };
  bool fifo = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0;

  if (getenv("SONOD_PLUGIN_HOST") == NULL && SONOD_PLUGIN_HOST_BUILD[0] != '\0')
    setenv("SONOD_PLUGIN_HOST", SONOD_PLUGIN_HOST_BUILD, 1);
  vst_config_init(&cfg);
  cfg.sample_rate = 48000.0;
  cfg.max_block = n;
  cfg.deadline_us = 1000000;   /* never silence: we measure, not judge */
  cfg.rt_priority = fifo ? 10 : 0;
  if (vst_load(path, &cfg, &in, err) != VST_OK) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  cfg.isolate = true;
  if (vst_load(path, &cfg, &iso, err) != VST_OK) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  for (int r = 0; r < ROUNDS; r++) {
    double t_in, t_iso;

    if (r % 2) {
      t_in = run(in, k0, blocks, n, a);
      t_iso = run(iso, k0, blocks, n, b);
    } else {
      t_iso = run(iso, k0, blocks, n, b);
      t_in = run(in, k0, blocks, n, a);
    }
    k0 += blocks;
    diff[r] = (t_iso - t_in) / blocks * 1e6;
    ins[r] = t_in / blocks * 1e6;
    isos[r] = t_iso / blocks * 1e6;
    if (t_in < best_in)
      best_in = t_in;
    if (t_iso < best_iso)
      best_iso = t_iso;
  }
  qsort(diff, ROUNDS, sizeof diff[0], cmp_double);
  qsort(ins, ROUNDS, sizeof ins[0], cmp_double);
  qsort(isos, ROUNDS, sizeof isos[0], cmp_double);
  printf("%s, %d rounds x %d blocks of %u frames (period %.0f us at 48 kHz), %s\n", path,
         ROUNDS, blocks, n, period_us, fifo ? "SCHED_FIFO 10" : "normal scheduling");
  printf("in process %.2f us/block best round, %.2f median\n", best_in / blocks * 1e6,
         ins[ROUNDS / 2]);
  printf("isolated   %.2f us/block best round, %.2f median\n", best_iso / blocks * 1e6,
         isos[ROUNDS / 2]);
  printf("isolation  %.2f us/block median (%.2f %% of the period); quartiles %.2f .. %.2f us\n",
         diff[ROUNDS / 2], diff[ROUNDS / 2] / period_us * 100.0, diff[ROUNDS / 4],
         diff[3 * ROUNDS / 4]);
  printf("missed deadlines: %u\n", vst_take_missed(iso));
  vst_unload(iso);
  vst_unload(in);
  free(mem);
  return 0;
}
