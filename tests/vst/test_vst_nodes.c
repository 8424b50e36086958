/* test_vst_nodes.c - a plugin node on the audio-thread side (rt/nodes.c)
 * with a block longer than the plugin was prepared for, and on hold.
 *
 * The plugin is testplug_block: every output sample is K + (frame mod
 * 1000) / 1000, K its block size, frame its own count; -1 for a call
 * longer than K. */
#include <stdlib.h>
#include <string.h>

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

START_TEST(test_split_and_hold)
{
    vst_instance *inst = vt_load(vt_env("TESTPLUG_BLOCK"), RATE, PREPARED, 0);
    tp_stats *st = vt_stats(inst);
    static rt_midi_routes *routes;
    rt_live_ev note = {200, 3, {0x90, 60, 100}};
    rt_node n;

    memset(&n, 0, sizeof n);
    n.id = 7;
    n.inst = inst;
    n.nin = n.nout = 2;
    ns.node[0] = &n;
    ns.n = 1;
    routes = calloc(1, sizeof *routes + sizeof routes->r[0]);
    routes->n = 1;
    routes->r[0].node = 7;
    routes->r[0].channel = -1;
    ns.routes = routes;
    ns.live = &note;
    ns.nlive = 1;

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

int main(void)
{
    Suite *s = suite_create("vst-nodes");
    TCase *tc = tcase_create("nodes");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_split_and_hold);
    suite_add_tcase(s, tc);
    return vt_run(s);
}
