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
 * on the same plugin instances, in short paired rounds timed in the
 * thread's CPU time (bench_chain.h); the median ratio is reported. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_chain.h"
#include "daemon/vst/vst.h"
#include "daemon/vst/vst2_abi.h"

static const char *const paths[BENCH_CHAIN_NPLUG] = {
    "/usr/lib/vst/amsynth_vst.so",
    "/usr/lib/vst/MaGigaverb-vst.so",
    "/usr/lib/vst/3BandEQ-vst.so",
};

/* The bare loop: the plugins' own entry points on fixed buffers. */
typedef struct bare {
    bench_chain *ch;
    VstMidiEvent ev;
    struct { VstInt32 num; VstIntPtr res; VstEvent *events[2]; } list;
    float *none[1];
} bare;

static void bare_block(void *ud, int k)
{
    bare *b = ud;
    bench_chain *ch = b->ch;
    AEffect *e0 = vst_get_effect(ch->inst[0]), *e1 = vst_get_effect(ch->inst[1]),
            *e2 = vst_get_effect(ch->inst[2]);

    if (k % 50 == 0) {
        vst_midi_msg m = bench_chain_note(k);
        memset(&b->ev, 0, sizeof b->ev);
        b->ev.type = kVstMidiType;
        b->ev.byteSize = sizeof b->ev;
        b->ev.deltaFrames = 7;
        memcpy(b->ev.midiData, m.data, 3);
        e0->dispatcher(e0, effProcessEvents, 0, 0, &b->list, 0.0f);
    }
    e0->processReplacing(e0, b->none, ch->a, (VstInt32)ch->n);
    e1->processReplacing(e1, ch->a, ch->b, (VstInt32)ch->n);
    e2->processReplacing(e2, ch->b, ch->c, (VstInt32)ch->n);
}

int main(int argc, char **argv)
{
    int blocks = argc > 1 ? atoi(argv[1]) : 200;
    unsigned n = argc > 2 ? (unsigned)atoi(argv[2]) : 256;
    enum { ROUNDS = 41 };
    vst_config cfg;
    bench_chain ch;
    bench_rounds res;
    bare b;

    vst_config_init(&cfg);
    cfg.sample_rate = 48000.0;
    bench_chain_open(&ch, paths, &cfg, n);
    memset(&b, 0, sizeof b);
    b.ch = &ch;
    b.list.num = 1;
    b.list.events[0] = (VstEvent *)&b.ev;
    b.none[0] = ch.a[0];
    bench_chain_rounds(&ch, ROUNDS, blocks, bare_block, &b, bench_cpu_now, &res);
    printf("chain: amsynth -> MaGigaverb -> 3BandEQ, %d rounds x %d blocks of %u frames\n",
           ROUNDS, blocks, n);
    printf("bare  %.3f us/block (best round)\n", res.best_bare / blocks * 1e6);
    printf("sonod %.3f us/block (best round)\n", res.best_host / blocks * 1e6);
    printf("ratio %.4f (median of paired rounds; best rounds %.4f)\n", res.median,
           res.best_host / res.best_bare);
    bench_chain_close(&ch);
    return 0;
}
