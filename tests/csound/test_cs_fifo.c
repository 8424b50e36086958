/* test_cs_fifo.c - blocks that are not a multiple of ksmps (the FIFO in
 * cs_process_rt.c).  Csound rendered in blocks of odd sizes must give
 * exactly the samples it gives in whole k-cycles, on its main output and on
 * a tapped audio bus, with a synth starting and stopping on the same
 * frames, and its clock never more than ksmps-1 frames ahead of the frames
 * handed out. */
#include "cs_harness.h"
#include "daemon/rt/rtcheck.h"
#include "tests/support/check_main.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define CAP 512
#define TOTAL 12800

static const char *SRC =
    "|ibus=0|\n"
    "asig oscili 0.1, 440, -1, 0.25\n"
    "out asig\n"
    "sonod_abusout ibus, asig * 2\n";

typedef struct run {
  harness *h;
  float *tapbuf;          /* the tap's buffer: one block */
  float *tapped;          /* everything the tap gave, TOTAL frames */
  uint64_t at;            /* the synth's start */
} run;

/* A bus, a tap on it, the instrument (merged by one whole block), and a
 * synth from an odd frame to another. */
static void setup(run *r) {
  cs_error err = { 0 };
  cs_synth_id id = 0;
  int bus, tap;

  r->h = h_new(1, 0);
  r->tapbuf = calloc(CAP, sizeof(float));
  r->tapped = calloc(TOTAL, sizeof(float));
  ck_assert_int_eq(cs_bus_new(r->h->eng, CS_BUS_AUDIO, &bus, &err), 0);
  ck_assert_int_eq(cs_bus_tap(r->h->eng, bus, r->tapbuf, CAP, &tap, &err), 0);
  ck_assert_int_eq(cs_instr_define(r->h->eng, "src", SRC, NULL, 0, NULL, 1, &err), 0);
  h_run(r->h, H_BLOCK);
  r->at = cs_engine_frame(r->h->eng) + 1000 + 13;
  cs_arg a = { "ibus", bus };
  ck_assert_int_eq(cs_synth_start(r->h->eng, "src", &a, 1, r->at, -1, 0, &id, &err), 0);
  ck_assert_int_eq(cs_synth_stop(r->h->eng, id, r->at + 5000 + 7, &err), 0);
}

/* Renders up to TOTAL frames in blocks of the given sizes, in turn. */
static void render(run *r, const unsigned *sizes, size_t nsizes) {
  harness *h = r->h;
  size_t i = 0;

  h->buf[0] = realloc(h->buf[0], TOTAL * sizeof(float));
  h->cap = TOTAL;
  while (h->len < TOTAL) {
    unsigned n = sizes[i++ % nsizes];
    float *out[1];

    if (n > TOTAL - h->len)
      n = (unsigned)(TOTAL - h->len);
    out[0] = h->buf[0] + h->len;
    /* A realtime context under -Drtsan=true (as in h_run). */
    RT_CYCLE_BEGIN();
    int rc = cs_rt_process(h->eng, NULL, 0, out, 1, n);
    RT_CYCLE_END();
    ck_assert_int_eq(rc, 0);
    memcpy(r->tapped + h->len, r->tapbuf, n * sizeof(float));
    h->len += n;
    ck_assert_uint_ge(cs_engine_frame(h->eng), h->len);
    ck_assert_uint_lt(cs_engine_frame(h->eng), h->len + H_KSMPS);
    h_drain(h);
  }
}

START_TEST(odd_blocks_give_the_same_samples) {
  static const unsigned whole_blocks[] = { H_BLOCK };
  static const unsigned odd_blocks[] = { 100, 37, 1, 300, 13, 256, 31, 33, 64, 5 };
  run whole, odd;

  setup(&whole);
  setup(&odd);
  render(&whole, whole_blocks, 1);
  render(&odd, odd_blocks, sizeof odd_blocks / sizeof odd_blocks[0]);

  ck_assert_uint_eq(whole.at, odd.at);
  ck_assert_uint_eq(h_first_nonzero(odd.h, 0, 0), odd.at);
  for (size_t i = 0; i < TOTAL; i++) {
    ck_assert_msg(whole.h->buf[0][i] == odd.h->buf[0][i], "frame %zu: %f whole, %f in odd blocks",
                  i, whole.h->buf[0][i], odd.h->buf[0][i]);
    ck_assert_msg(whole.tapped[i] == odd.tapped[i], "tap, frame %zu: %f whole, %f in odd blocks",
                  i, whole.tapped[i], odd.tapped[i]);
    ck_assert_msg(odd.tapped[i] == 2 * odd.h->buf[0][i], "tap, frame %zu: %f, main %f", i,
                  odd.tapped[i], odd.h->buf[0][i]);
  }
  /* The stop is exact too: silent from its frame on. */
  ck_assert_float_ne(odd.h->buf[0][odd.at + 5006], 0.0f);
  ck_assert_float_eq(odd.h->buf[0][odd.at + 5007], 0.0f);
  ck_assert_uint_eq(h_count(odd.h, CS_NOTICE_STARTED), 1);
  ck_assert_uint_eq(h_count(odd.h, CS_NOTICE_ENDED), 1);
  free(whole.tapped);
  free(odd.tapped);
  h_free(whole.h);   /* frees the taps' buffers */
  h_free(odd.h);
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
