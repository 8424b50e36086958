/* test_cs_pool.c - MIDI voice pools, rendered offline: the test thread
 * plays the audio thread, handing each block's MIDI to cs_rt_midi before
 * cs_rt_process as the daemon does.  The instrument writes constants
 * (velocity on channel 1, key/128 on channel 2), so every start and stop
 * shows at its exact sample. */
#include "cs_harness.h"
#include "daemon/rtcheck/rtcheck.h"
#include "tests/support/check_main.h"

#include <check.h>
#include <math.h>
#include <string.h>

static const char *NOTE =
    "|inote=0, ivel=0, kgain=1|\n"
    "a1 upsamp ivel * kgain\n"
    "a2 upsamp inote / 128\n"
    "outs a1, a2\n";

typedef struct midi { unsigned char b[3]; unsigned off; } midi;

static void define(harness *h, const char *name, const char *body)
{
    cs_error err = { 0 };
    int rc = cs_instr_define(h->eng, name, body, NULL, 0, NULL, 1, &err);
    ck_assert_msg(rc == 0, "define %s: %d %s", name, rc, err.msg);
    h_run(h, H_BLOCK);
}

static int open_pool(harness *h, int channel, unsigned voices)
{
    cs_error err = { 0 };
    int p = -1;
    int rc = cs_pool_open(h->eng, "note", "inote", "ivel", channel, voices, &p, &err);
    ck_assert_msg(rc == 0, "pool open: %d %s", rc, err.msg);
    return p;
}

/* One block with these MIDI messages in it (offsets into the block). */
static void block(harness *h, const midi *m, unsigned n)
{
    RT_CYCLE_BEGIN();
    for (unsigned i = 0; i < n; i++)
        cs_rt_midi(h->eng, m[i].b, 3, m[i].off);
    RT_CYCLE_END();
    h_run(h, H_BLOCK);
}

static const cs_notice *nth(const harness *h, cs_notice_kind kind, unsigned k)
{
    for (size_t i = 0; i < h->nnotes; i++)
        if (h->notes[i].kind == kind && k-- == 0)
            return &h->notes[i];
    ck_abort_msg("notice %d #%u missing", kind, k);
    return NULL;
}

static void expect_stats(harness *h, int p, uint64_t dropped, unsigned sounding)
{
    cs_pool_stats st;
    ck_assert_int_eq(cs_pool_stats_get(h->eng, p, &st), 0);
    ck_assert_uint_eq(st.dropped, dropped);
    ck_assert_uint_eq(st.sounding, sounding);
}

static void near(const harness *h, unsigned ch, size_t i, double want)
{
    ck_assert_msg(fabs(h->buf[ch][i] - want) < 1e-6, "ch %u frame %zu: %f, want %f", ch, i,
                  h->buf[ch][i], want);
}

START_TEST(test_pool_sample_exact)
{
    harness *h = h_new(2, 0);
    define(h, "note", NOTE);
    int p = open_pool(h, -1, 0);
    uint64_t A = cs_engine_frame(h->eng);
    const midi on[] = { { { 0x90, 60, 127 }, 37 }, { { 0x90, 64, 64 }, 200 },
                        { { 0xB0, 7, 100 }, 201 } };          /* a CC: ignored */
    block(h, on, 3);
    uint64_t B = cs_engine_frame(h->eng);
    const midi off[] = { { { 0x80, 60, 0 }, 100 }, { { 0x90, 64, 0 }, 150 } };
    block(h, off, 2);
    h_run(h, H_BLOCK);

    near(h, 0, A + 36, 0.0);
    near(h, 0, A + 37, 1.0);
    near(h, 1, A + 37, 60.0 / 128);
    near(h, 0, A + 199, 1.0);
    near(h, 0, A + 200, 1.0 + 64.0 / 127);
    near(h, 1, A + 200, (60.0 + 64.0) / 128);
    near(h, 0, B + 99, 1.0 + 64.0 / 127);
    near(h, 0, B + 100, 64.0 / 127);          /* 60 stopped at its note-off */
    near(h, 0, B + 149, 64.0 / 127);
    near(h, 0, B + 150, 0.0);                 /* velocity 0 is a note-off */
    ck_assert_double_eq(h_peak(h, 0, B + 150, h->len), 0.0);

    ck_assert_uint_eq(h_count(h, CS_NOTICE_STARTED), 2);
    ck_assert_uint_eq(h_count(h, CS_NOTICE_ENDED), 2);
    ck_assert_uint_eq(nth(h, CS_NOTICE_STARTED, 0)->frame, A + 37);
    ck_assert_uint_eq(nth(h, CS_NOTICE_STARTED, 1)->frame, A + 200);
    ck_assert_uint_ne(nth(h, CS_NOTICE_STARTED, 0)->id, nth(h, CS_NOTICE_STARTED, 1)->id);
    expect_stats(h, p, 0, 0);
    /* Pool voices are not client synths. */
    ck_assert_uint_eq(cs_synth_count(h->eng), 0);
    h_free(h);
}
END_TEST

START_TEST(test_pool_note_matching)
{
    /* A pool on every channel: a note-off stops only the voice of its own
     * channel and key; a repeated note-on stops the first voice. */
    harness *h = h_new(2, 0);
    define(h, "note", NOTE);
    open_pool(h, -1, 8);
    uint64_t A = cs_engine_frame(h->eng);
    const midi on[] = { { { 0x90, 60, 127 }, 10 }, { { 0x91, 60, 127 }, 20 } };
    block(h, on, 2);
    uint64_t B = cs_engine_frame(h->eng);
    const midi m2[] = { { { 0x81, 60, 0 }, 5 },            /* channel 2's 60 */
                        { { 0x90, 60, 64 }, 50 },          /* again on channel 1 */
                        { { 0x80, 61, 0 }, 60 } };         /* no such key: nothing */
    block(h, m2, 3);
    h_run(h, H_BLOCK);
    near(h, 0, A + 20, 2.0);
    near(h, 0, B + 4, 2.0);
    near(h, 0, B + 5, 1.0);
    near(h, 0, B + 49, 1.0);
    near(h, 0, B + 50, 64.0 / 127);           /* the old 60 stopped, the new started */
    near(h, 0, h->len - 1, 64.0 / 127);
    ck_assert_uint_eq(h_count(h, CS_NOTICE_STARTED), 3);
    ck_assert_uint_eq(h_count(h, CS_NOTICE_ENDED), 2);
    /* The voice's id works with the synth API: kgain of the sounding one. */
    cs_synth_id id = nth(h, CS_NOTICE_STARTED, 2)->id;
    cs_arg g = { "kgain", 0.5 };
    cs_error err;
    ck_assert_int_eq(cs_synth_set(h->eng, id, &g, 1, 0, &err), 0);
    h_run(h, H_BLOCK);
    near(h, 0, h->len - 1, 0.5 * 64.0 / 127);
    h_free(h);
}
END_TEST

START_TEST(test_pool_exhausted)
{
    harness *h = h_new(2, 0);
    define(h, "note", NOTE);
    int p = open_pool(h, 0, 2);
    uint64_t A = cs_engine_frame(h->eng);
    const midi on[] = { { { 0x90, 60, 127 }, 1 }, { { 0x90, 62, 127 }, 2 },
                        { { 0x90, 64, 127 }, 3 },          /* no voice left */
                        { { 0x91, 65, 127 }, 4 } };        /* other channel */
    block(h, on, 4);
    near(h, 0, A + 3, 2.0);
    near(h, 0, h->len - 1, 2.0);
    near(h, 1, h->len - 1, (60.0 + 62) / 128);
    expect_stats(h, p, 1, 2);
    ck_assert_uint_eq(h_count(h, CS_NOTICE_STARTED), 2);
    /* The refused key's note-off touches nothing; freed voices come back
     * once their ends were drained (h_run drains after every block). */
    const midi off[] = { { { 0x80, 64, 0 }, 0 }, { { 0x80, 60, 0 }, 8 } };
    block(h, off, 2);
    uint64_t C = cs_engine_frame(h->eng);
    const midi again[] = { { { 0x90, 67, 127 }, 16 } };
    block(h, again, 1);
    near(h, 0, C + 15, 1.0);
    near(h, 0, C + 16, 2.0);
    near(h, 1, C + 16, (62.0 + 67) / 128);
    expect_stats(h, p, 1, 2);
    h_free(h);
}
END_TEST

START_TEST(test_pool_close_sounding)
{
    /* Four slots in all, every one lent to the pool: client synths must
     * wait until the closed pool's voices have ended. */
    harness *h = h_new(2, 4);
    define(h, "note", NOTE);
    int p = open_pool(h, -1, 4);
    cs_error err;
    cs_synth_id sid;
    ck_assert_int_eq(cs_synth_start(h->eng, "note", NULL, 0, 0, -1, 0, &sid, &err), CS_EAGAIN);
    ck_assert_int_eq(cs_instr_undefine(h->eng, "note", &err), CS_EBUSY);
    const midi on[] = { { { 0x90, 60, 127 }, 3 }, { { 0x90, 61, 127 }, 4 } };
    block(h, on, 2);
    cs_synth_id v0 = nth(h, CS_NOTICE_STARTED, 0)->id;
    ck_assert_int_eq(cs_pool_close(h->eng, p), 0);
    ck_assert_int_eq(cs_pool_close(h->eng, p), CS_ENOENT);
    ck_assert_uint_eq(cs_pools_closing(h->eng), 1);
    uint64_t C = cs_engine_frame(h->eng);
    const midi late[] = { { { 0x90, 62, 127 }, 0 } };      /* after the close: ignored */
    block(h, late, 1);
    near(h, 0, C - 1, 2.0);
    ck_assert_double_eq(h_peak(h, 0, C, h->len), 0.0);  /* silent from the block's start */
    ck_assert_uint_eq(h_count(h, CS_NOTICE_STARTED), 2);
    ck_assert_uint_eq(h_count(h, CS_NOTICE_ENDED), 2);
    ck_assert_uint_eq(nth(h, CS_NOTICE_ENDED, 0)->frame, C);
    ck_assert_uint_eq(cs_pools_closing(h->eng), 0);
    /* The slots are back, the voices' ids are gone. */
    ck_assert_int_eq(cs_synth_stop(h->eng, v0, 0, &err), CS_ENOENT);
    ck_assert_int_eq(cs_synth_start(h->eng, "note", NULL, 0, 0, -1, 0, &sid, &err), 0);
    /* A pool can be opened again (three slots left). */
    p = open_pool(h, -1, 3);
    expect_stats(h, p, 0, 0);
    h_free(h);
}
END_TEST

START_TEST(test_pool_close_idle)
{
    /* Closing a pool with nothing sounding returns its slots after the
     * next block, told by the audio thread's closed notice. */
    harness *h = h_new(2, 4);
    define(h, "note", NOTE);
    int p = open_pool(h, -1, 4);
    ck_assert_int_eq(cs_pool_close(h->eng, p), 0);
    h_run(h, H_BLOCK);
    ck_assert_uint_eq(cs_pools_closing(h->eng), 0);
    open_pool(h, -1, 4);
    h_free(h);
}
END_TEST

START_TEST(test_pool_bad_input)
{
    harness *h = h_new(2, 8);
    define(h, "note", NOTE);
    cs_error err;
    int p;
    ck_assert_int_eq(cs_pool_open(h->eng, "nope", NULL, NULL, -1, 0, &p, &err), CS_ENOENT);
    ck_assert_int_eq(cs_pool_open(h->eng, "note", "kx", NULL, -1, 0, &p, &err), CS_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "kx"));
    ck_assert_int_eq(cs_pool_open(h->eng, "note", NULL, "ivol", -1, 0, &p, &err), CS_EINVAL);
    ck_assert_int_eq(cs_pool_open(h->eng, "note", NULL, NULL, 16, 0, &p, &err), CS_EINVAL);
    ck_assert_int_eq(cs_pool_open(h->eng, "note", NULL, NULL, -1, 5000, &p, &err), CS_EINVAL);
    /* 32 voices asked, 8 slots in the engine. */
    ck_assert_int_eq(cs_pool_open(h->eng, "note", NULL, NULL, -1, 0, &p, &err), CS_EAGAIN);
    ck_assert_int_eq(cs_pool_stats_get(h->eng, 3, &(cs_pool_stats){ 0 }), CS_ENOENT);
    ck_assert_int_eq(cs_pool_close(h->eng, -1), CS_ENOENT);
    /* Short or non-note messages reach nothing. */
    p = open_pool(h, -1, 2);
    const unsigned char two[2] = { 0x90, 60 };
    RT_CYCLE_BEGIN();
    cs_rt_midi(h->eng, two, 2, 0);
    RT_CYCLE_END();
    const midi m[] = { { { 0xA0, 60, 100 }, 0 }, { { 0xE0, 0, 64 }, 1 } };
    block(h, m, 2);
    ck_assert_uint_eq(h_count(h, CS_NOTICE_STARTED), 0);
    ck_assert_double_eq(h_peak(h, 0, 0, h->len), 0.0);
    h_free(h);
}
END_TEST

START_TEST(test_pool_odd_blocks)
{
    /* Blocks of 250 frames (not a multiple of ksmps 32): the module renders
     * ahead, yet a note lands on its own frame of the engine's timeline;
     * one in the frames rendered ahead starts at the first frame not
     * rendered.  Frames counted from the first odd block. */
    harness *h = h_new(2, 0);
    define(h, "note", NOTE);
    open_pool(h, -1, 4);
    enum { B = 250, N = 6 };
    static float o1[B * N], o2[B * N];
    unsigned ahead = 0;
    for (unsigned b = 0; b < N; b++) {
        float *outs[2] = { o1 + b * B, o2 + b * B };
        const unsigned char on[3] = { 0x90, (unsigned char)(60 + b), 127 };
        if (b == 2 || b == 4) {
            /* Block 2: offset 100, well past what was rendered ahead;
             * block 4: offset 0, inside it. */
            ahead = (unsigned)(cs_engine_frame(h->eng) - (uint64_t)(H_BLOCK + b * B));
            RT_CYCLE_BEGIN();
            cs_rt_midi(h->eng, on, 3, b == 2 ? 100 : 0);
            RT_CYCLE_END();
        }
        RT_CYCLE_BEGIN();
        int rc = cs_rt_process(h->eng, NULL, 0, outs, 2, B);
        RT_CYCLE_END();
        ck_assert_int_eq(rc, 0);
        h_drain(h);
    }
    ck_assert_float_eq_tol(o1[2 * B + 99], 0.0f, 1e-6f);
    ck_assert_float_eq_tol(o1[2 * B + 100], 1.0f, 1e-6f);
    ck_assert_uint_gt(ahead, 0);
    ck_assert_float_eq_tol(o1[4 * B + ahead - 1], 1.0f, 1e-6f);
    ck_assert_float_eq_tol(o1[4 * B + ahead], 2.0f, 1e-6f);
    h_free(h);
}
END_TEST

/* Fills the engine's command path (ring and timed heap) with client
 * commands for a minute ahead, as many as it takes (cs_synth_set answers
 * CS_EAGAIN when the ring is full and stays full after a block). */
static unsigned fill_commands(harness *h, cs_synth_id target)
{
    cs_arg g = { "kgain", 1 };
    cs_error err;
    uint64_t later = cs_engine_frame(h->eng) + (uint64_t)(60 * H_SR);
    unsigned queued = 0, round;
    do {
        round = 0;
        while (cs_synth_set(h->eng, target, &g, 1, later, &err) == 0)
            round++;
        ck_assert_int_eq(cs_synth_set(h->eng, target, &g, 1, later, &err), CS_EAGAIN);
        queued += round;
        h_run(h, H_BLOCK);
    } while (round > 0);
    return queued;
}

START_TEST(test_pool_full_heap)
{
    /* Live notes share the timed heap with client commands; a heap full of
     * client commands must never refuse a note-off (the note would stick)
     * nor a note-on: room is kept for the pools' voices. */
    harness *h = h_new(2, 0);
    define(h, "note", NOTE);
    int p = open_pool(h, -1, 4);
    cs_synth_id target;
    cs_error err;
    ck_assert_int_eq(cs_synth_start(h->eng, "note", NULL, 0, 0, -1, 0, &target, &err), 0);
    const midi on[] = { { { 0x90, 60, 127 }, 10 } };
    block(h, on, 1);
    near(h, 0, h->len - 1, 1.0);
    unsigned queued = fill_commands(h, target);
    ck_assert_uint_ge(queued, cs_engine_cmd_capacity(h->eng));
    uint64_t B = cs_engine_frame(h->eng);
    const midi off[] = { { { 0x80, 60, 0 }, 20 }, { { 0x90, 62, 100 }, 30 } };
    block(h, off, 2);
    near(h, 0, B + 19, 1.0);
    near(h, 0, B + 20, 0.0);                  /* stopped at its note-off */
    near(h, 0, B + 30, 100.0 / 127);          /* and a new note starts */
    uint64_t C = cs_engine_frame(h->eng);
    const midi off2[] = { { { 0x80, 62, 0 }, 40 } };
    block(h, off2, 1);
    near(h, 0, C + 39, 100.0 / 127);
    ck_assert_double_eq(h_peak(h, 0, C + 40, h->len), 0.0);
    expect_stats(h, p, 0, 0);
    ck_assert_uint_eq(h_count(h, CS_NOTICE_ENDED), 2);
    /* The client's commands were all kept: the ring is still full. */
    cs_arg g = { "kgain", 1 };
    ck_assert_int_eq(cs_synth_set(h->eng, target, &g, 1, 0, &err), CS_EAGAIN);
    h_free(h);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("csound-pool");
    TCase *tc = tcase_create("pool");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_pool_sample_exact);
    tcase_add_test(tc, test_pool_note_matching);
    tcase_add_test(tc, test_pool_exhausted);
    tcase_add_test(tc, test_pool_close_sounding);
    tcase_add_test(tc, test_pool_close_idle);
    tcase_add_test(tc, test_pool_bad_input);
    tcase_add_test(tc, test_pool_odd_blocks);
    tcase_add_test(tc, test_pool_full_heap);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(suite)
