/* test_cs_msg.c - Csound's messages from two threads.  Csound formats a
 * message in the thread that prints it; with its string callback it used one
 * buffer in the CSOUND struct for every thread, so a compile error on the
 * control thread could come back with the audio thread's text in it.  Here
 * an audio thread renders as fast as it can with an instrument that prints
 * every k-cycle, while this thread compiles faulty code again and again:
 * every error must be exactly Csound's text for that code, and the audio
 * thread's lines must arrive whole. */
#include "cs_harness.h"
#include "tests/support/check_main.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define ROUNDS 3000

static const char *PRINTER =
    "instr 7\n"
    "kc init 0\n"
    "kc += 1\n"
    "printks \"audio thread says: k-cycle %d of a printing instrument, "
    "%d again, then more text to make it long\\n\", 0, kc, kc\n"
    "endin\n";

static const char *FAULTY = "instr 8\nasig oscili 0.1, 440\nout asig, nonsense_opcode_x\nendin\n";

START_TEST(compile_errors_while_the_audio_thread_prints)
{
    harness *h = h_new(1, 0);
    cs_error err;
    char ref[sizeof err.msg], line[256];

    ck_assert_int_eq(cs_compile(h->eng, PRINTER, &err), 0);
    h_run(h, H_BLOCK);
    ck_assert_int_eq(cs_event(h->eng, "i 7 0 -1", 0, &err), 0);
    h_run(h, H_BLOCK);
    /* Csound's text for the faulty code, with nobody else printing. */
    ck_assert_int_eq(cs_compile(h->eng, FAULTY, &err), CS_ECOMPILE);
    strcpy(ref, err.msg);
    ck_assert_ptr_nonnull(strstr(ref, "nonsense_opcode_x"));
    ck_assert_ptr_null(strstr(ref, "audio thread says"));
    while (cs_message_pop(h->eng, line, sizeof line, NULL))
        ;

    h_audio *audio = h_audio_start(h->eng);
    unsigned bad = 0, lines = 0, torn = 0;
    char first_bad[sizeof err.msg] = "";
    for (int i = 0; i < ROUNDS; i++) {
        ck_assert_int_eq(cs_compile(h->eng, FAULTY, &err), CS_ECOMPILE);
        if (strcmp(err.msg, ref) != 0 && bad++ == 0)
            strcpy(first_bad, err.msg);
        while (cs_message_pop(h->eng, line, sizeof line, NULL)) {
            lines++;
            if (strncmp(line, "audio thread says: k-cycle ", 27) != 0 ||
                !strstr(line, "then more text to make it long"))
                torn++;
        }
    }
    unsigned long blocks = h_audio_stop(audio);
    ck_assert_msg(blocks > 100, "the audio thread rendered only %lu blocks", blocks);
    ck_assert_msg(lines > 100, "the audio thread printed only %u lines", lines);
    ck_assert_msg(bad == 0, "%u of %d errors differ from Csound's text; the first:\n%s\n"
                  "--- instead of:\n%s", bad, ROUNDS, first_bad, ref);
    ck_assert_msg(torn == 0, "%u of %u audio lines were torn", torn, lines);
    h_free(h);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("csound_msg");
    TCase *tc = tcase_create("messages");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, compile_errors_while_the_audio_thread_prints);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(suite)
