/* bench_lv2_overhead.c - per-block cost of sonod's LV2 host path compared
 * with a bare lilv loop over the same plugins, in the same run.
 *
 *     bench_lv2_overhead [blocks_per_round] [block_size]
 *
 * Chain: mda DX10 (synth, 0/2) -> mda Delay (2/2) -> x42 fil4 stereo EQ
 * (2/2), a note on/off every 50 blocks, 48 kHz.  "bare" is the least an
 * LV2 host can do: its own instances (lilv_plugin_instantiate with the URID
 * map), every port connected once to fixed buffers (controls at their
 * defaults), each block the atom input rewritten (a MIDI event when due)
 * and the atom outputs' capacity reset, then lilv_instance_run.  "sonod"
 * goes through the path the daemon uses: vst_load with lv2_open_effect,
 * then per block vst_rt_set_transport, vst_rt_queue_midi and
 * vst_rt_process (the VST2 layer's input copy and event sort, then the LV2
 * layer: control targets, atom sequences with sample-exact MIDI and the
 * transport check, audio ports connected per call, run, MIDI out, control
 * outputs).  Short paired rounds in alternating order, timed in the
 * thread's CPU time (bench_chain.h); the median of the per-round ratios is
 * the figure. */
#include <lilv/lilv.h>
#include <lv2/atom/atom.h>
#include <lv2/core/lv2.h>
#include <lv2/midi/midi.h>
#include <lv2/urid/urid.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_chain.h"
#include "daemon/lv2/lv2.h"
#include "daemon/vst/vst.h"

static const char *const uris[BENCH_CHAIN_NPLUG] = {
    "http://drobilla.net/plugins/mda/DX10",
    "http://drobilla.net/plugins/mda/Delay",
    "http://gareus.org/oss/lv2/fil4#stereo",
};

#define SEQ_BYTES 8192

/* The bare host: one plugin's instance and what its ports point at. */
typedef struct bare {
    LilvInstance *inst;
    float *controls;
    LV2_Atom_Sequence *atom_in[4], *atom_out[4];
    int nin, nout;
    uint32_t audio_in[2], audio_out[2];
    int nain, naout;
} bare;

static LV2_URID map_midi, map_seq, map_chunk;

static void bare_open(LilvWorld *w, const char *uri, double rate, bare *b)
{
    LilvNode *u = lilv_new_uri(w, uri);
    const LilvPlugin *p = lilv_plugins_get_by_uri(lilv_world_get_all_plugins(w), u);
    lilv_node_free(u);
    if (!p) {
        fprintf(stderr, "%s is not installed\n", uri);
        exit(1);
    }
    LV2_Feature map = {LV2_URID__map, lv2_urid_map()};
    const LV2_Feature *features[] = {&map, NULL};
    memset(b, 0, sizeof *b);
    b->inst = lilv_plugin_instantiate(p, rate, features);
    if (!b->inst) {
        fprintf(stderr, "%s: cannot instantiate\n", uri);
        exit(1);
    }
    uint32_t n = lilv_plugin_get_num_ports(p);
    b->controls = calloc(n, sizeof(float));
    float *defs = calloc(n, sizeof(float));
    lilv_plugin_get_port_ranges_float(p, NULL, NULL, defs);
    LilvNode *audio = lilv_new_uri(w, LV2_CORE__AudioPort);
    LilvNode *control = lilv_new_uri(w, LV2_CORE__ControlPort);
    LilvNode *atom = lilv_new_uri(w, LV2_ATOM__AtomPort);
    LilvNode *input = lilv_new_uri(w, LV2_CORE__InputPort);
    for (uint32_t i = 0; i < n; i++) {
        const LilvPort *port = lilv_plugin_get_port_by_index(p, i);
        bool in = lilv_port_is_a(p, port, input);
        if (lilv_port_is_a(p, port, control)) {
            b->controls[i] = defs[i] == defs[i] ? defs[i] : 0.0f;
            lilv_instance_connect_port(b->inst, i, &b->controls[i]);
        } else if (lilv_port_is_a(p, port, atom)) {
            LV2_Atom_Sequence *s = calloc(1, SEQ_BYTES);
            if (in)
                b->atom_in[b->nin++] = s;
            else
                b->atom_out[b->nout++] = s;
            lilv_instance_connect_port(b->inst, i, s);
        } else if (lilv_port_is_a(p, port, audio)) {
            if (in)
                b->audio_in[b->nain++] = i;
            else
                b->audio_out[b->naout++] = i;
        }
    }
    free(defs);
    lilv_node_free(audio);
    lilv_node_free(control);
    lilv_node_free(atom);
    lilv_node_free(input);
    lilv_instance_activate(b->inst);
}

static void bare_connect(bare *b, float **in, float **out)
{
    for (int k = 0; k < b->nain; k++)
        lilv_instance_connect_port(b->inst, b->audio_in[k], in[k]);
    for (int k = 0; k < b->naout; k++)
        lilv_instance_connect_port(b->inst, b->audio_out[k], out[k]);
}

/* The atom buffers for one block; a MIDI event into the first input. */
static void bare_atoms(bare *b, const vst_midi_msg *m)
{
    for (int k = 0; k < b->nin; k++) {
        LV2_Atom_Sequence *s = b->atom_in[k];
        s->atom.type = map_seq;
        s->atom.size = sizeof(LV2_Atom_Sequence_Body);
        s->body.unit = 0;
        s->body.pad = 0;
        if (k == 0 && m) {
            LV2_Atom_Event *ev = (LV2_Atom_Event *)(s + 1);
            ev->time.frames = 7;
            ev->body.type = map_midi;
            ev->body.size = m->len;
            memcpy(ev + 1, m->data, m->len);
            s->atom.size += sizeof(LV2_Atom_Event) + 8;
        }
    }
    for (int k = 0; k < b->nout; k++) {
        b->atom_out[k]->atom.type = map_chunk;
        b->atom_out[k]->atom.size = SEQ_BYTES - sizeof(LV2_Atom);
    }
}

/* The bare loop's block k: the atom buffers rewritten, then each run. */
typedef struct bare_chain {
    bare *bp;
    unsigned n;
} bare_chain;

static void bare_block(void *ud, int k)
{
    bare_chain *bc = ud;
    vst_midi_msg note = bench_chain_note(k);

    for (int p = 0; p < BENCH_CHAIN_NPLUG; p++) {
        bare_atoms(&bc->bp[p], p == 0 && k % 50 == 0 ? &note : NULL);
        lilv_instance_run(bc->bp[p].inst, bc->n);
    }
}

int main(int argc, char **argv)
{
    int blocks = argc > 1 ? atoi(argv[1]) : 200;
    unsigned n = argc > 2 ? (unsigned)atoi(argv[2]) : 256;
    const double rate = 48000.0;
    enum { ROUNDS = 101 };
    LV2_URID_Map *m = lv2_urid_map();
    map_midi = m->map(m->handle, LV2_MIDI__MidiEvent);
    map_seq = m->map(m->handle, LV2_ATOM__Sequence);
    map_chunk = m->map(m->handle, LV2_ATOM__Chunk);

    vst_config cfg;
    vst_config_init(&cfg);
    cfg.sample_rate = rate;
    cfg.open_effect = lv2_open_effect;
    bench_chain ch;
    bench_chain_open(&ch, uris, &cfg, n);
    LilvWorld *w = lilv_world_new();
    lilv_world_load_all(w);
    bare bp[BENCH_CHAIN_NPLUG];
    for (int p = 0; p < BENCH_CHAIN_NPLUG; p++)
        bare_open(w, uris[p], rate, &bp[p]);

    /* Both sides work in the same buffers. */
    bare_connect(&bp[0], NULL, ch.a);
    bare_connect(&bp[1], ch.a, ch.b);
    bare_connect(&bp[2], ch.b, ch.c);

    bare_chain bc = {bp, n};
    bench_rounds res;
    bench_chain_rounds(&ch, ROUNDS, blocks, bare_block, &bc, bench_cpu_now, &res);
    printf("chain: DX10 -> mda Delay -> fil4 stereo, %d rounds x %d blocks of %u frames\n", ROUNDS,
           blocks, n);
    printf("bare lilv %.3f us/block (best round)\n", res.best_bare / blocks * 1e6);
    printf("sonod     %.3f us/block (best round)\n", res.best_host / blocks * 1e6);
    printf("ratio %.4f (median of paired rounds; quartiles %.4f .. %.4f; best rounds %.4f)\n",
           res.median, res.q1, res.q3, res.best_host / res.best_bare);
    bench_chain_close(&ch);
    for (int p = 0; p < BENCH_CHAIN_NPLUG; p++) {
        lilv_instance_deactivate(bp[p].inst);
        lilv_instance_free(bp[p].inst);
    }
    lilv_world_free(w);
    return 0;
}
