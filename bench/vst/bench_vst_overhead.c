/* bench_vst_overhead.c - per-block cost of sonod's VST host path compared
 * with calling the same plugins directly.
 *
 *     bench_vst_overhead [blocks_per_round] [block_size]
 *
 * Chain: amsynth (synth, 0/2) -> MaGigaverb (2/2) -> 3BandEQ (2/2), with a
 * note on/off every 50 blocks.  "bare" hands the plugins a VstEvents block
 * and calls processReplacing with fixed buffers, the least a host can do;
 * "sonod" goes through vst_rt_set_transport, vst_rt_queue_midi and
 * vst_rt_process (input copy, event sort, callback bookkeeping).  Both run
 * on the same plugin instances, in short paired rounds; the median ratio
 * is reported. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/vst/vst.h"
#include "daemon/vst/vst2_abi.h"

#define NPLUG 3
static const char *const paths[NPLUG] = {
    "/usr/lib/vst/amsynth_vst.so",
    "/usr/lib/vst/MaGigaverb-vst.so",
    "/usr/lib/vst/3BandEQ-vst.so",
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static vst_midi_msg note_for(int b)
{
    int key = 48 + (b / 50) % 24;
    return (b / 50) % 2 ? vst_midi_note_off(0, key, 0) : vst_midi_note_on(0, key, 100);
}

int main(int argc, char **argv)
{
    int blocks = argc > 1 ? atoi(argv[1]) : 200;
    unsigned n = argc > 2 ? (unsigned)atoi(argv[2]) : 256;
    vst_config cfg;
    vst_config_init(&cfg);
    cfg.sample_rate = 48000.0;
    cfg.max_block = n;
    vst_instance *inst[NPLUG];
    for (int p = 0; p < NPLUG; p++) {
        char err[VST_ERR_LEN];
        if (vst_load(paths[p], &cfg, &inst[p], err) != VST_OK) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
    }
    float *mem = calloc(6 * n, sizeof(float));
    float *a[2] = {mem, mem + n}, *b[2] = {mem + 2 * n, mem + 3 * n},
          *c[2] = {mem + 4 * n, mem + 5 * n};
    float *none[1] = {mem};

    VstMidiEvent ev;
    struct { VstInt32 num; VstIntPtr res; VstEvent *events[2]; } list = {1, 0, {(VstEvent *)&ev}};

    /* Short paired rounds in alternating order, so that load from other
     * processes and the plugins' own state (reverb tails) hit both sides
     * alike; the median of the per-round ratios is the figure. */
    enum { ROUNDS = 41 };
    double ratio[ROUNDS], best_bare = 1e9, best_host = 1e9;
    int k0 = 0;
    for (int r = 0; r < ROUNDS; r++) {
        double bare = 0.0, host = 0.0;
        for (int side = 0; side < 2; side++) {
            bool do_host = (side == 0) == (r % 2 == 1);
            double t0 = now();
            if (!do_host) {
                for (int k = k0; k < k0 + blocks; k++) {
                    AEffect *e0 = vst_get_effect(inst[0]), *e1 = vst_get_effect(inst[1]),
                            *e2 = vst_get_effect(inst[2]);
                    if (k % 50 == 0) {
                        vst_midi_msg m = note_for(k);
                        memset(&ev, 0, sizeof ev);
                        ev.type = kVstMidiType;
                        ev.byteSize = sizeof ev;
                        ev.deltaFrames = 7;
                        memcpy(ev.midiData, m.data, 3);
                        e0->dispatcher(e0, effProcessEvents, 0, 0, &list, 0.0f);
                    }
                    e0->processReplacing(e0, none, a, (VstInt32)n);
                    e1->processReplacing(e1, a, b, (VstInt32)n);
                    e2->processReplacing(e2, b, c, (VstInt32)n);
                }
                bare = now() - t0;
            } else {
                for (int k = k0; k < k0 + blocks; k++) {
                    vst_transport t = {.frame = (int64_t)k * n, .sample_pos = (double)k * n,
                                       .tempo = 120.0, .time_sig_num = 4, .time_sig_den = 4,
                                       .playing = true};
                    for (int p = 0; p < NPLUG; p++)
                        vst_rt_set_transport(inst[p], &t);
                    if (k % 50 == 0)
                        vst_rt_queue_midi(inst[0], 7, note_for(k));
                    vst_rt_process(inst[0], NULL, 0, a, 2, n);
                    vst_rt_process(inst[1], (const float *const *)a, 2, b, 2, n);
                    vst_rt_process(inst[2], (const float *const *)b, 2, c, 2, n);
                }
                host = now() - t0;
            }
        }
        k0 += blocks;
        ratio[r] = host / bare;
        if (bare < best_bare)
            best_bare = bare;
        if (host < best_host)
            best_host = host;
    }
    qsort(ratio, ROUNDS, sizeof ratio[0], cmp_double);
    printf("chain: amsynth -> MaGigaverb -> 3BandEQ, %d rounds x %d blocks of %u frames\n",
           ROUNDS, blocks, n);
    printf("bare  %.3f us/block (best round)\n", best_bare / blocks * 1e6);
    printf("sonod %.3f us/block (best round)\n", best_host / blocks * 1e6);
    printf("ratio %.4f (median of paired rounds; best rounds %.4f)\n", ratio[ROUNDS / 2],
           best_host / best_bare);
    for (int p = 0; p < NPLUG; p++)
        vst_unload(inst[p]);
    free(mem);
    return 0;
}
