/* bench_chain.h - what the host-overhead benchmarks (bench/vst and
 * bench/lv2) share: a chain of three plugins (an instrument, then two
 * stereo effects) run through sonod's plugin layer as the graph runs it,
 * and the paired rounds that time it against the same plugins called by a
 * bare loop of the format's own.
 *
 * Short rounds in alternating order, so that load from other processes and
 * the plugins' own state (reverb tails) hit both sides alike; the median of
 * the per-round ratios is the figure. */
#ifndef SONOD_BENCH_CHAIN_H
#define SONOD_BENCH_CHAIN_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "daemon/vst/vst.h"

#define BENCH_CHAIN_NPLUG 3
#define BENCH_ROUNDS_MAX 256

typedef struct bench_chain {
    vst_instance *inst[BENCH_CHAIN_NPLUG];
    unsigned n;                /* frames per block */
    float *mem;
    /* instrument -> a -> effect -> b -> effect -> c */
    float *a[2], *b[2], *c[2];
} bench_chain;

typedef struct bench_rounds {
    double median, q1, q3;     /* of the per-round ratios sonod / bare */
    double best_bare, best_host; /* seconds of the fastest round of each */
} bench_rounds;

/* The MIDI both sides get at frame 7 of block b: a note on or off every
 * 50 blocks, walking up two octaves. */
static inline vst_midi_msg bench_chain_note(int b)
{
    int key = 48 + (b / 50) % 24;
    return (b / 50) % 2 ? vst_midi_note_off(0, key, 0) : vst_midi_note_on(0, key, 100);
}

/* Loads the three plugins (paths or URIs) with cfg, blocks of n frames;
 * exits when one does not load. */
static inline void bench_chain_open(bench_chain *ch, const char *const what[BENCH_CHAIN_NPLUG],
                                    vst_config *cfg, unsigned n)
{
    ch->n = n;
    cfg->max_block = n;
    for (int p = 0; p < BENCH_CHAIN_NPLUG; p++) {
        char err[VST_ERR_LEN];
        if (vst_load(what[p], cfg, &ch->inst[p], err) != VST_OK) {
            fprintf(stderr, "%s\n", err);
            exit(1);
        }
    }
    if ((ch->mem = calloc(6 * (size_t)n, sizeof(float))) == NULL)
        exit(1);
    for (int k = 0; k < 2; k++) {
        ch->a[k] = ch->mem + k * n;
        ch->b[k] = ch->mem + (2 + k) * n;
        ch->c[k] = ch->mem + (4 + k) * n;
    }
}

static inline void bench_chain_close(bench_chain *ch)
{
    for (int p = 0; p < BENCH_CHAIN_NPLUG; p++)
        vst_unload(ch->inst[p]);
    free(ch->mem);
}

/* sonod's side of block k, as a graph node runs it: the transport of every
 * block, the note when due, then the three plugins in turn. */
static inline void bench_chain_host_block(bench_chain *ch, int k)
{
    unsigned n = ch->n;
    vst_transport t = {.frame = (int64_t)k * n, .sample_pos = (double)k * n,
                       .tempo = 120.0, .time_sig_num = 4, .time_sig_den = 4,
                       .playing = true};

    for (int p = 0; p < BENCH_CHAIN_NPLUG; p++)
        vst_rt_set_transport(ch->inst[p], &t);
    if (k % 50 == 0)
        vst_rt_queue_midi(ch->inst[0], 7, bench_chain_note(k));
    vst_rt_process(ch->inst[0], NULL, 0, ch->a, 2, n);
    vst_rt_process(ch->inst[1], (const float *const *)ch->a, 2, ch->b, 2, n);
    vst_rt_process(ch->inst[2], (const float *const *)ch->b, 2, ch->c, 2, n);
}

/* This thread's CPU time in seconds: on a shared, loaded machine the time
 * others take the CPU away does not count against either side. */
static inline double bench_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline int bench_chain_cmp(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* `rounds` (at most BENCH_ROUNDS_MAX) paired rounds of `blocks` blocks:
 * bare(ud, k) runs the bare loop's block k, bench_chain_host_block
 * sonod's; clock() gives seconds. */
static inline void bench_chain_rounds(bench_chain *ch, int rounds, int blocks,
                                      void (*bare)(void *ud, int k), void *ud,
                                      double (*clock)(void), bench_rounds *out)
{
    double ratio[BENCH_ROUNDS_MAX];
    int k0 = 0;

    out->best_bare = out->best_host = 1e9;
    if (rounds > BENCH_ROUNDS_MAX)
        rounds = BENCH_ROUNDS_MAX;
    for (int r = 0; r < rounds; r++) {
        double tb = 0.0, th = 0.0;
        for (int side = 0; side < 2; side++) {
            bool do_host = (side == 0) == (r % 2 == 1);
            double t0 = clock();
            for (int k = k0; k < k0 + blocks; k++)
                if (do_host)
                    bench_chain_host_block(ch, k);
                else
                    bare(ud, k);
            if (do_host)
                th = clock() - t0;
            else
                tb = clock() - t0;
        }
        k0 += blocks;
        ratio[r] = th / tb;
        if (tb < out->best_bare)
            out->best_bare = tb;
        if (th < out->best_host)
            out->best_host = th;
    }
    qsort(ratio, (size_t)rounds, sizeof ratio[0], bench_chain_cmp);
    out->median = ratio[rounds / 2];
    out->q1 = ratio[rounds / 4];
    out->q3 = ratio[3 * rounds / 4];
}

#endif
