/* test_vst_nodes.c - a plugin node on the audio-thread side (rt/nodes.c)
 * with a block longer than the plugin was prepared for, and on hold.
 *
 * The plugin is testplug_block: every output sample is K + (frame mod
 * 1000) / 1000, K its block size, frame its own count; -1 for a call
 * longer than K. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/queue/fpu.h"
#include "daemon/rt/nodes.h"
#include "tests/vst/vst_test_util.h"

#define RATE 48000.0
#define PREPARED 64
#define PERIOD 256

static rt_nodes ns;
static float i0[PERIOD], i1[PERIOD], o0[PERIOD], o1[PERIOD];

static float expected(unsigned frame) {
    /* The plugin's own expression, so the comparison can be exact. */
    return (float)PREPARED + (float)(frame % 1000u) / 1000.0f;
}

static void run(rt_node *n, uint64_t start) {
    float *in[2] = {i0, i1}, *out[2] = {o0, o1};
    vst_transport t;

    memset(&t, 0, sizeof t);
    t.frame = (int64_t)start;
    VT_RT_BEGIN();
    nodes_begin(&ns, start, PERIOD, &t);
    nodes_process(&ns, n, in, 2, out, 2, 0, PERIOD, NULL);
    VT_RT_END();
}

/* n (id, inst, stereo) the only node of ns, with one live MIDI event
 * routed to it; returns the routing table to free. */
static rt_midi_routes *one_node(rt_node *n, uint32_t id, vst_instance *inst, rt_live_ev *live)
{
    rt_midi_routes *routes = calloc(1, sizeof *routes + sizeof routes->r[0]);

    ck_assert_ptr_nonnull(routes);
    memset(n, 0, sizeof *n);
    n->id = id;
    n->inst = inst;
    n->nin = n->nout = 2;
    ns.node[0] = n;
    ns.n = 1;
    routes->n = 1;
    routes->r[0].node = id;
    routes->r[0].channel = -1;
    ns.routes = routes;
    ns.live = live;
    ns.nlive = 1;
    return routes;
}

START_TEST(test_split_and_hold)
{
    vst_instance *inst = vt_load(vt_env("TESTPLUG_BLOCK"), RATE, PREPARED, 0);
    tp_stats *st = vt_stats(inst);
    static rt_midi_routes *routes;
    rt_live_ev note = {200, 3, {0x90, 60, 100}};
    rt_node n;

    routes = one_node(&n, 7, inst, &note);

    /* 256 frames for a plugin prepared for 64: four calls of 64, the
     * note in the fourth at delta 200 - 192. */
    run(&n, 0);
    ck_assert_int_eq(st->process_calls, 4);
    ck_assert_int_eq(st->last_nframes, PREPARED);
    for (unsigned i = 0; i < PERIOD; i++) {
        ck_assert_msg(o0[i] == expected(i), "frame %u: %g", i, o0[i]);
        ck_assert(o1[i] == expected(i));
    }
    ck_assert_int_eq(st->events_calls, 1);
    ck_assert_int_eq(st->nevents, 1);
    ck_assert_int_eq(st->events[0].delta, 200 - 3 * PREPARED);
    ck_assert_uint_eq(st->events[0].data[1], 60);

    /* On hold (being re-prepared): not called, silence, the note dropped. */
    atomic_store(&n.hold, true);
    o0[0] = 1.0f;
    run(&n, PERIOD);
    ck_assert_int_eq(st->process_calls, 4);
    ck_assert_int_eq(st->events_calls, 1);
    for (unsigned i = 0; i < PERIOD; i++)
        ck_assert(o0[i] == 0.0f && o1[i] == 0.0f);
    ck_assert(!atomic_load(&n.busy));

    /* Released: the plugin goes on from its own frame 256. */
    atomic_store(&n.hold, false);
    ns.nlive = 0;
    run(&n, 2 * PERIOD);
    ck_assert_int_eq(st->process_calls, 8);
    for (unsigned i = 0; i < PERIOD; i++)
        ck_assert(o0[i] == expected(PERIOD + i));

    vst_unload(inst);
    free(routes);
}
END_TEST

static rt_midi_batch *note_batch(uint32_t node, uint64_t t, uint8_t key)
{
    rt_midi_batch *b = calloc(1, sizeof *b + sizeof b->ev[0]);

    ck_assert_ptr_nonnull(b);
    b->node = node;
    b->nabs = 1;
    b->ev[0].t = t;
    b->ev[0].msg.len = 3;
    b->ev[0].msg.data[0] = 0x90;
    b->ev[0].msg.data[1] = key;
    b->ev[0].msg.data[2] = 100;
    return b;
}

static void apply(rt_cmd_type type, void *ptr, uint64_t frame)
{
    rt_cmd c;

    memset(&c, 0, sizeof c);
    c.type = type;
    c.at_kind = RT_AT_NOW;
    c.u.ptr = ptr;
    nodes_apply(&ns, &c, frame);
}

/* Batches are appended at the node's tail (no walk of the pending list);
 * the tail stays right when finished batches leave from the middle and
 * the end of the list, so a batch sent afterwards is still played. */
START_TEST(test_midi_batches_tail)
{
    vst_instance *inst = vt_load(vt_env("TESTPLUG"), RATE, PERIOD, 0);
    tp_stats *st = vt_stats(inst);
    rt_midi_batch *b1 = note_batch(9, 10, 60), *b2 = note_batch(9, 300, 61),
                  *b3 = note_batch(9, 20, 62), *b4 = note_batch(9, 280, 63);
    float *in[2] = {i0, i1}, *out[2] = {o0, o1};
    rt_node n;
    rt_msg m;
    vst_transport t;

    memset(&ns, 0, sizeof ns);
    memset(&t, 0, sizeof t);
    ns.from_rt = spsc_create(64, sizeof(rt_msg));
    memset(&n, 0, sizeof n);
    n.id = 9;
    n.inst = inst;
    n.nin = n.nout = 2;
    apply(RT_CMD_NODE_ADD, &n, 0);
    apply(RT_CMD_MIDI, b1, 0);
    apply(RT_CMD_MIDI, b2, 0);
    apply(RT_CMD_MIDI, b3, 0);
    ck_assert_ptr_eq(n.batches, b1);
    ck_assert_ptr_eq(n.tail, &b3->next);

    /* Block 1: b1 and b3 play and go back; b2 (300) is the last left. */
    VT_RT_BEGIN();
    nodes_begin(&ns, 0, PERIOD, &t);
    nodes_process(&ns, &n, in, 2, out, 2, 0, PERIOD, NULL);
    nodes_flush(&ns, &n);   /* the finished ones go back, as after a segment */
    VT_RT_END();
    ck_assert_int_eq(st->nevents, 2);
    ck_assert_ptr_eq(n.batches, b2);
    ck_assert_ptr_eq(n.tail, &b2->next);

    /* Block 2: b4 arrives at 256 for 280, after b2. */
    apply(RT_CMD_MIDI, b4, PERIOD);
    ck_assert_ptr_eq(n.tail, &b4->next);
    VT_RT_BEGIN();
    nodes_begin(&ns, PERIOD, PERIOD, &t);
    nodes_process(&ns, &n, in, 2, out, 2, 0, PERIOD, NULL);
    nodes_flush(&ns, &n);
    VT_RT_END();
    ck_assert_int_eq(st->nevents, 2);
    ck_assert_int_eq(st->events[0].delta, 280 - PERIOD);
    ck_assert_uint_eq(st->events[0].data[1], 63);
    ck_assert_int_eq(st->events[1].delta, 300 - PERIOD);
    ck_assert_uint_eq(st->events[1].data[1], 61);
    ck_assert_ptr_null(n.batches);
    ck_assert_ptr_eq(n.tail, &n.batches);

    while (spsc_pop(ns.from_rt, &m) == 0)
        if (m.type == RT_MSG_DONE)
            free(m.garbage);
    spsc_destroy(ns.from_rt);
    vst_unload(inst);
}
END_TEST

/* ns with the one node n for a split block at engine frame 13568, song
 * position 1000, playing at 120 BPM 4/4 (t). */
static rt_midi_routes *split_setup(rt_node *n, uint32_t id, vst_instance *inst, rt_live_ev *live,
                                   vst_transport *t)
{
    rt_midi_routes *routes;

    memset(&ns, 0, sizeof ns);
    routes = one_node(n, id, inst, live);
    ns.sample_rate = (unsigned)RATE;
    memset(t, 0, sizeof *t);
    t->frame = 13568;
    t->sample_pos = 1000.0;
    t->tempo = 120.0;
    t->time_sig_num = t->time_sig_den = 4;
    t->playing = true;
    return routes;
}

/* A block split at command frames: every process call sees the song
 * position at its own first frame, and MIDI the plugin sends is stamped
 * with its own frame. */
START_TEST(test_split_block_time)
{
    vst_instance *inst = vt_load(vt_env("TESTPLUG"), RATE, PERIOD, 0);
    tp_stats *st = vt_stats(inst);
    float *in[2] = {i0, i1}, *out[2] = {o0, o1};
    rt_live_ev note = {150, 3, {0x90, 60, 100}};
    static rt_midi_routes *routes;
    vst_midi_out mo[4];
    vst_transport t;
    rt_node n;

    routes = split_setup(&n, 5, inst, &note, &t);
    st->ntime_log = 0;

    /* Three segments: [0, 100), [100, 128), [128, 256). */
    VT_RT_BEGIN();
    nodes_begin(&ns, 13568, PERIOD, &t);
    nodes_process(&ns, &n, in, 2, out, 2, 0, 100, NULL);
    nodes_process(&ns, &n, in, 2, out, 2, 100, 28, NULL);
    for (unsigned k = 0; k < 2; k++) {
        in[k] += 128;
        out[k] += 128;
    }
    nodes_process(&ns, &n, in, 2, out, 2, 128, 128, NULL);
    VT_RT_END();
    ck_assert_int_eq(st->ntime_log, 3);
    ck_assert(st->time_log[0] == 1000.0);
    ck_assert_msg(st->time_log[1] == 1100.0, "second segment at %g", st->time_log[1]);
    ck_assert_msg(st->time_log[2] == 1128.0, "third segment at %g", st->time_log[2]);
    /* 128 frames at 120 BPM, 48 kHz: 128 / 24000 quarter notes on. */
    ck_assert(fabs(st->time_ppq - 1128.0 / 24000.0) < 1e-12);

    /* The note at offset 150 went to the third call at delta 22; its echo
     * is stamped 13568 + 150, and at 150 in the block's own MIDI out. */
    ck_assert_int_eq(st->events[0].delta, 22);
    ck_assert_uint_eq(vst_take_midi_out(inst, mo, 4), 1);
    ck_assert_msg(mo[0].frame == 13568 + 150, "midi out frame %lld", (long long)mo[0].frame);
    ck_assert_uint_eq(ns.out.n, 1);
    ck_assert_int_eq(ns.out.ev[0].delta, 150);

    /* Stopped: the position stands in every segment. */
    t.playing = false;
    st->ntime_log = 0;
    ns.nlive = 0;
    VT_RT_BEGIN();
    nodes_begin(&ns, 13568 + PERIOD, PERIOD, &t);
    nodes_process(&ns, &n, in, 2, out, 2, 0, 64, NULL);
    nodes_process(&ns, &n, in, 2, out, 2, 64, 64, NULL);
    VT_RT_END();
    ck_assert_int_eq(st->ntime_log, 2);
    ck_assert(st->time_log[0] == 1000.0 && st->time_log[1] == 1000.0);

    vst_unload(inst);
    free(routes);
}
END_TEST

/* The same for an isolated plugin (its host process runs it): every call
 * of a split block sees its own song position, through the shared region,
 * and the host's processing thread flushes denormals like the engine's
 * threads.  testplug_probe: output 1 = samplePos + offset in the call,
 * output 2 = 0.5 exactly when denormals flush.  In process, on this
 * thread with FTZ/DAZ cleared, the probe reads more than 0.5: it works. */
START_TEST(test_split_block_time_isolated)
{
    bool isolate = _i == 1;
    vst_config cfg;
    vst_instance *inst;
    float *in[2] = {i0, i1}, *out[2] = {o0, o1};
    static rt_midi_routes *routes;
    vst_transport t;
    rt_node n;

    vst_config_init(&cfg);
    cfg.sample_rate = RATE;
    cfg.max_block = PERIOD;
    cfg.isolate = isolate;
    cfg.deadline_us = 2000000;   /* a loaded machine: no silence for a late host */
    inst = vt_load_cfg(vt_env("TESTPLUG_PROBE"), &cfg);
    routes = split_setup(&n, 9, inst, NULL, &t);
    ns.nlive = 0;
    memset(o0, 0, sizeof o0);
    memset(o1, 0, sizeof o1);

    rt_fpu_clear();
    VT_RT_BEGIN();
    nodes_begin(&ns, 13568, PERIOD, &t);
    nodes_process(&ns, &n, in, 2, out, 2, 0, 100, NULL);
    for (unsigned k = 0; k < 2; k++) {
        in[k] += 100;
        out[k] += 100;
    }
    nodes_process(&ns, &n, in, 2, out, 2, 100, 28, NULL);
    for (unsigned k = 0; k < 2; k++) {
        in[k] += 28;
        out[k] += 28;
    }
    nodes_process(&ns, &n, in, 2, out, 2, 128, 128, NULL);
    VT_RT_END();
    ck_assert(vst_is_isolated(inst) == isolate);
    for (unsigned f = 0; f < PERIOD; f++) {
        ck_assert_msg(o0[f] == 1000.0f + (float)f, "%s: frame %u at song position %g",
                      isolate ? "isolated" : "in process", f, o0[f]);
        if (isolate)
            ck_assert_msg(o1[f] == 0.5f, "frame %u: the host does not flush denormals (%.9g)", f,
                          o1[f]);
        else
            ck_assert_msg(o1[f] > 0.5f, "frame %u: the probe reads %.9g with FTZ cleared", f,
                          o1[f]);
    }
    vst_unload(inst);
    free(routes);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vst-nodes");
    TCase *tc = tcase_create("nodes");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_split_and_hold);
    tcase_add_test(tc, test_midi_batches_tail);
    tcase_add_test(tc, test_split_block_time);
    tcase_add_loop_test(tc, test_split_block_time_isolated, 0, 2);
    suite_add_tcase(s, tc);
    return vt_run(s);
}
