/* bench_isolate_count.c - how many isolated amsynth instances fit in one
 * period: in process, each in a host process of its own, and all in one
 * host group's process.
 *
 *     bench_isolate_count [max] [cycles] [block_size] [plugin.so]
 *
 * For each way, instances are added one at a time (each plays a held
 * three-note chord); after each, `cycles` cycles run as the audio thread
 * runs them: every instance's transport and process call, one after the
 * other, a cycle every period, on a SCHED_FIFO 10 thread when allowed (the
 * hosts' processing threads get the same).  A count fits when the 99th
 * percentile of the cycle's time is under the period at 48 kHz (and, for
 * the capacity without the machine's noise, when its median is); a way's
 * ramp ends when the median reaches the period.  Deadlines are 1 s: we
 * measure, not judge. */
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_util.h"
#include "daemon/vst/vst.h"

#ifndef SONOD_PLUGIN_HOST_BUILD
#define SONOD_PLUGIN_HOST_BUILD ""
#endif

#define MAX_INST 128

typedef struct way {
  const char *name;
  bool isolate;
  const char *group;
} way;

/* Ramps one way up until the median cycle reaches the period (or max);
 * *fit_p99: the most instances whose cycle's 99th percentile was under the
 * period, *fit_median: the same for its median. */
static void ramp(const way *w, const char *path, int max, int cycles, unsigned n, int prio,
                 int *fit_p99, int *fit_median) {
  vst_instance *inst[MAX_INST];
  vst_config cfg;
  char err[VST_ERR_LEN];
  float *mem = calloc(2 * n, sizeof(float));
  float *out[2] = { mem, mem + n };
  double *t = calloc((size_t)cycles, sizeof *t);
  double period_us = n / 48000.0 * 1e6;
  int count, loaded = 0;
  int64_t frame = 0;
  uint32_t missed = 0;

  *fit_p99 = *fit_median = 0;
  vst_config_init(&cfg);
  cfg.sample_rate = 48000.0;
  cfg.max_block = n;
  cfg.deadline_us = 1000000;
  cfg.rt_priority = prio;
  cfg.isolate = w->isolate;
  cfg.host_group = w->group;
  for (count = 1; count <= max; count++) {
    vst_instance *v;

    if (vst_load(path, &cfg, &v, err) != VST_OK) {
      fprintf(stderr, "%s: instance %d: %s\n", w->name, count, err);
      break;
    }
    inst[loaded++] = v;
    for (int k = 0; k < 3; k++)
      vst_rt_queue_midi(v, k, vst_midi_note_on(0, 48 + 4 * k + count % 12, 90));
    for (int c = 0; c < cycles; c++) {
      double t0 = bench_now();
      struct timespec next;

      for (int i = 0; i < count; i++) {
        vst_transport tr = { .frame = frame, .sample_pos = (double)frame, .tempo = 120.0,
                             .time_sig_num = 4, .time_sig_den = 4, .playing = true };

        vst_rt_set_transport(inst[i], &tr);
        vst_rt_process(inst[i], NULL, 0, out, 2, n);
      }
      t[c] = (bench_now() - t0) * 1e6;
      frame += n;
      /* Paced like an engine: the next cycle starts a period after this
       * one did (at once when this one took longer). */
      next.tv_sec = (time_t)(t0 + period_us / 1e6);
      next.tv_nsec = (long)((t0 + period_us / 1e6 - (double)next.tv_sec) * 1e9);
      clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
    qsort(t, (size_t)cycles, sizeof *t, bench_cmp_double);
    printf("%-16s %3d instances: cycle median %7.1f us, p99 %7.1f us (period %.0f us)\n",
           w->name, count, t[cycles / 2], t[cycles * 99 / 100], period_us);
    fflush(stdout);
    if (t[cycles * 99 / 100] < period_us)
      *fit_p99 = count;
    if (t[cycles / 2] >= period_us)
      break;
    *fit_median = count;
  }
  for (int i = 0; i < loaded; i++) {
    missed += vst_take_missed(inst[i]);
    vst_unload(inst[i]);
  }
  if (missed > 0)
    printf("%s: %u deadlines missed\n", w->name, missed);
  free(t);
  free(mem);
}

int main(int argc, char **argv) {
  int max = argc > 1 ? atoi(argv[1]) : MAX_INST;
  int cycles = argc > 2 ? atoi(argv[2]) : 400;
  unsigned n = argc > 3 ? (unsigned)atoi(argv[3]) : 256;
  const char *path = argc > 4 ? argv[4] : "/usr/lib/vst/amsynth_vst.so";
  const way ways[] = {
    { "in process", false, NULL },
    { "own host each", true, NULL },
    { "one group host", true, "bench" },
  };
  int fit_p99[3], fit_median[3];
  char load[64] = "?";
  FILE *f;
  struct sched_param sp = { .sched_priority = 10 };
  bool fifo = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0;

  if (max > MAX_INST)
    max = MAX_INST;
  if (getenv("SONOD_PLUGIN_HOST") == NULL && SONOD_PLUGIN_HOST_BUILD[0] != '\0')
    setenv("SONOD_PLUGIN_HOST", SONOD_PLUGIN_HOST_BUILD, 1);
  if ((f = fopen("/proc/loadavg", "r")) != NULL) {
    if (fgets(load, sizeof load, f) == NULL)
      snprintf(load, sizeof load, "?");
    fclose(f);
  }
  printf("%s, %u frames (period %.0f us at 48 kHz), %d cycles per count, %s, load %s", path, n,
         n / 48000.0 * 1e6, cycles, fifo ? "SCHED_FIFO 10" : "normal scheduling", load);
  for (int i = 0; i < 3; i++)
    ramp(&ways[i], path, max, cycles, n, fifo ? 10 : 0, &fit_p99[i], &fit_median[i]);
  for (int i = 0; i < 3; i++)
    printf("%-16s fit: %d with the cycle's p99 under the period, %d with its median\n",
           ways[i].name, fit_p99[i], fit_median[i]);
  return 0;
}
