/* test_cs_fifo.c - blocks that are not a multiple of ksmps (rt/csound_rt.c).
 * Csound rendered through the FIFO in blocks of odd sizes must give exactly
 * the samples it gives in whole k-cycles, with a synth starting and
 * stopping on the same frames, and its clock never more than ksmps-1
 * frames ahead of the frames handed out. */
#include "cs_harness.h"
#include "daemon/rt/csound_rt.h"
#include "daemon/rt/rtcheck.h"
#include "tests/support/check_main.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define CAP 512
#define TOTAL 12800

static const char *SINE =
    "|kfreq=440, kamp=0.1|\n"
    "asig oscili kamp, kfreq, -1, 0.25\n"
    "out asig\n";

static float **buffers(unsigned n, unsigned frames) {
  float **b = calloc(n, sizeof(float *));

  for (unsigned i = 0; i < n; i++)
    b[i] = calloc(frames, sizeof(float));
  return b;
}

static void buffers_free(float **b, unsigned n) {
  for (unsigned i = 0; i < n; i++)
    free(b[i]);
  free(b);
}

/* Defines the sine (merged by one whole block), starts it at an odd frame
 * and stops it at another; returns the start frame. */
static uint64_t play(harness *h) {
  cs_error err = { 0 };
  cs_synth_id id = 0;
  uint64_t at;

  ck_assert_int_eq(cs_instr_define(h->eng, "sine", SINE, NULL, 0, NULL, 1, &err), 0);
  h_run(h, H_BLOCK);
  at = cs_engine_frame(h->eng) + 1000 + 13;
  ck_assert_int_eq(cs_synth_start(h->eng, "sine", NULL, 0, at, -1, 0, &id, &err), 0);
  ck_assert_int_eq(cs_synth_stop(h->eng, id, at + 5000 + 7, &err), 0);
  return at;
}

/* Renders up to TOTAL frames through csound_rt_process in blocks of the
 * given sizes, in turn. */
static void run_fifo(harness *h, rt_csound *rc, const unsigned *sizes, size_t nsizes) {
  size_t i = 0;

  for (unsigned c = 0; c < h->nch; c++)
    h->buf[c] = realloc(h->buf[c], TOTAL * sizeof(float));
  h->cap = TOTAL;
  while (h->len < TOTAL) {
    unsigned n = sizes[i++ % nsizes];

    if (n > TOTAL - h->len)
      n = (unsigned)(TOTAL - h->len);
    RT_CYCLE_BEGIN();
    csound_rt_process(rc, NULL, 0, n);
    RT_CYCLE_END();
    for (unsigned c = 0; c < h->nch; c++)
      memcpy(h->buf[c] + h->len, rc->scratch[c], n * sizeof(float));
    h->len += n;
    ck_assert_uint_ge(cs_engine_frame(h->eng), h->len);
    ck_assert_uint_lt(cs_engine_frame(h->eng), h->len + H_KSMPS);
    h_drain(h);
  }
}

START_TEST(odd_blocks_give_the_same_samples) {
  static const unsigned sizes[] = { 100, 37, 1, 300, 13, 256, 31, 33, 64, 5 };
  harness *whole = h_new(1, 0), *odd = h_new(1, 0);
  rt_csound rc;
  uint64_t at_whole = play(whole), at_odd = play(odd);

  memset(&rc, 0, sizeof rc);
  rc.eng = odd->eng;
  rc.ksmps = H_KSMPS;
  rc.nch = 1;
  rc.cap = CAP;
  rc.scratch = buffers(1, CAP);
  rc.ahead = buffers(1, H_KSMPS);
  rc.inpad = buffers(1, H_KSMPS);

  h_run(whole, TOTAL - whole->len);
  run_fifo(odd, &rc, sizes, sizeof sizes / sizeof sizes[0]);

  ck_assert_uint_eq(at_whole, at_odd);
  ck_assert_uint_eq(h_first_nonzero(odd, 0, 0), at_odd);
  for (size_t i = 0; i < TOTAL; i++)
    ck_assert_msg(whole->buf[0][i] == odd->buf[0][i], "frame %zu: %f whole, %f in odd blocks", i,
                  whole->buf[0][i], odd->buf[0][i]);
  /* The stop is exact too: silent from its frame on. */
  ck_assert_float_ne(odd->buf[0][at_odd + 5006], 0.0f);
  ck_assert_float_eq(odd->buf[0][at_odd + 5007], 0.0f);
  ck_assert_uint_eq(h_count(odd, CS_NOTICE_STARTED), 1);
  ck_assert_uint_eq(h_count(odd, CS_NOTICE_ENDED), 1);
  ck_assert_uint_gt(atomic_load(&rc.odd_blocks), 0);
  ck_assert_uint_eq(atomic_load(&rc.too_large), 0);
  buffers_free(rc.scratch, 1);
  buffers_free(rc.ahead, 1);
  buffers_free(rc.inpad, 1);
  h_free(whole);
  h_free(odd);
}
END_TEST

static Suite *fifo_suite(void) {
  Suite *s = suite_create("csound fifo");
  TCase *tc = tcase_create("fifo");

  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, odd_blocks_give_the_same_samples);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(fifo_suite)
