/* test_cs_alloc.c - Csound's allocator from two threads.  The control
 * thread parses and compiles (csoundCompileOrcAsync) while the audio thread
 * performs, merges and starts instances: both allocate from Csound's one
 * list of blocks.  Csound 6.18's ReAlloc moves a block outside the list's
 * lock, so a neighbour relinked meanwhile (the other thread's Malloc or
 * Free) was written into freed memory or lost, and csoundDestroy, which
 * frees every block still listed, freed one twice or one never allocated
 * (bad-free / double-free under ASan in about half of the runs of pipelined
 * instr.define + synth.start).  Here an audio thread renders flat out while
 * this thread redefines an instrument with a new body and starts synths of
 * it, as fast as the engine takes them; then the engine is destroyed (six
 * times).  Run
 * under ASan (scripts/test.sh), any corruption aborts the test. */
#include "cs_harness.h"
#include "tests/support/check_main.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUNDS 400
#define ENGINES 6    /* each destroy checks the list; one in two missed it */

static void drain(cs_engine *eng)
{
    cs_notice n;
    char line[256];
    while (cs_notice_pop(eng, &n) || cs_message_pop(eng, line, sizeof line, NULL))
        ;
}

static void one_engine(void)
{
    harness *h = h_new(1, 256);
    char body[512];
    cs_error err;
    unsigned defined = 0, started = 0;

    h_audio *audio = h_audio_start(h->eng);
    for (int i = 0; i < ROUNDS; i++) {
        /* A new body each round (an identical one compiles nothing), with
         * arrays, strings and several opcodes: the parser and the merge
         * allocate, grow and free many blocks. */
        snprintf(body, sizeof body,
                 "|kamp=0.01, kfreq=%d|\n"
                 "kv[] fillarray %d, 2, 3, 4, 5, 6, 7, 8\n"
                 "Sname sprintfk \"voice %%d of %d\", kv[1]\n"
                 "a1 oscili kamp, kfreq + kv[0]\n"
                 "a2 vco2 kamp, kfreq * 1.5\n"
                 "a3 moogladder a1 + a2, 2000 + %d, 0.3\n"
                 "out a3\n", 200 + i, i, i, i);
        int rc;
        while ((rc = cs_instr_define(h->eng, "x", body, NULL, 0, NULL, 1 + i % 3, &err)) ==
               CS_EBUSY)
            drain(h->eng);
        ck_assert_msg(rc == 0, "define %d: %d %s", i, rc, err.msg);
        defined++;
        for (int k = 0; k < 4; k++) {
            cs_synth_id id;
            if (cs_synth_start(h->eng, "x", NULL, 0, 0, 0.002 * (k + 1), 0, &id, &err) == 0)
                started++;
        }
        drain(h->eng);
    }
    unsigned long blocks = h_audio_stop(audio);
    drain(h->eng);
    ck_assert_uint_eq(defined, ROUNDS);
    ck_assert_msg(started > ROUNDS, "only %u synths started", started);
    ck_assert_msg(blocks > ROUNDS, "the audio thread rendered only %lu blocks", blocks);
    /* Csound frees every block on its list here: a corrupt list is a
     * double free or a bad free. */
    h_free(h);
}

START_TEST(redefine_and_start_while_the_audio_thread_runs)
{
    for (int e = 0; e < ENGINES; e++)
        one_engine();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("csound_alloc");
    TCase *tc = tcase_create("alloc");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, redefine_and_start_while_the_audio_thread_runs);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(suite)
