/* test_cs_fifo.c - blocks that are not a multiple of ksmps (the FIFO in
 * cs_process_rt.c).  Csound rendered in blocks of odd sizes must give
 * exactly the samples it gives in whole k-cycles, on its main output and on
 * a tapped audio bus, with a synth starting and stopping on the same
 * frames, and its clock never more than ksmps-1 frames ahead of the frames
 * handed out.  Its audio input, fed through, comes out whole: on time in
 * whole k-cycles, ksmps-1 frames late (no gaps) once blocks are odd. */
#include "cs_harness.h"
#include "daemon/rtcheck/rtcheck.h"
#include "tests/support/check_main.h"

#include <check.h>
#include <stdbool.h>
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
  float *tapped;          /* everything the tap gave, TOTAL frames (or NULL) */
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

/* The test's audio input at frame f of the harness: every frame its own
 * value, exact in float and in double. */
static float input_at(size_t f) {
  return (float)(f + 1) / 65536.0f;
}

/* Renders up to TOTAL frames in blocks of the given sizes, in turn; with
 * input, the harness's frames of input_at on Csound's one input. */
static void render_in(run *r, const unsigned *sizes, size_t nsizes, bool input) {
  static float inbuf[CAP];
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
    for (unsigned f = 0; f < n; f++)
      inbuf[f] = input_at(h->len + f);
    const float *in[1] = { inbuf };
    /* A realtime context under -Drtsan=true (as in h_run). */
    RT_CYCLE_BEGIN();
    int rc = cs_rt_process(h->eng, input ? in : NULL, input ? 1 : 0, out, 1, n);
    RT_CYCLE_END();
    ck_assert_int_eq(rc, 0);
    if (r->tapped != NULL)
      memcpy(r->tapped + h->len, r->tapbuf, n * sizeof(float));
    h->len += n;
    ck_assert_uint_ge(cs_engine_frame(h->eng), h->len);
    ck_assert_uint_lt(cs_engine_frame(h->eng), h->len + H_KSMPS);
    h_drain(h);
  }
}

static void render(run *r, const unsigned *sizes, size_t nsizes) {
  render_in(r, sizes, nsizes, false);
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

/* An instrument passing Csound's input to its output from frame `at` on,
 * rendered in whole blocks and in odd ones. */
static void thru(run *r, const unsigned *sizes, size_t nsizes) {
  cs_error err = { 0 };
  cs_synth_id id = 0;

  memset(r, 0, sizeof *r);
  r->h = h_new(1, 0);
  ck_assert_int_eq(cs_instr_define(r->h->eng, "thru", "ain inch 1\nout ain\n", NULL, 0, NULL, 1,
                                   &err), 0);
  h_run(r->h, H_BLOCK);
  r->at = cs_engine_frame(r->h->eng) + 1000 + 13;
  ck_assert_int_eq(cs_synth_start(r->h->eng, "thru", NULL, 0, r->at, -1, 0, &id, &err), 0);
  render_in(r, sizes, nsizes, true);
}

START_TEST(odd_blocks_hear_input_late_but_whole) {
  static const unsigned whole_blocks[] = { H_BLOCK };
  static const unsigned odd_blocks[] = { 100, 37, 1, 300, 13, 256, 31, 33, 64, 5 };
  const unsigned delay = H_KSMPS - 1;
  run whole, odd;

  thru(&whole, whole_blocks, 1);
  thru(&odd, odd_blocks, sizeof odd_blocks / sizeof odd_blocks[0]);
  ck_assert_uint_eq(cs_engine_input_delay(whole.h->eng), 0);
  ck_assert_uint_eq(cs_engine_input_delay(odd.h->eng), delay);
  ck_assert_uint_eq(h_first_nonzero(whole.h, 0, 0), whole.at);
  ck_assert_uint_eq(h_first_nonzero(odd.h, 0, 0), odd.at);
  /* From the k-cycle after the start: in its first, partial cycle inch
   * fills from the synth's offset with the cycle's first input frames
   * (Csound's own doing, the same in both runs). */
  for (size_t i = (whole.at / H_KSMPS + 1) * H_KSMPS; i < TOTAL; i++) {
    ck_assert_msg(whole.h->buf[0][i] == input_at(i), "whole, frame %zu: %.9f, input %.9f", i,
                  whole.h->buf[0][i], input_at(i));
    ck_assert_msg(odd.h->buf[0][i] == input_at(i - delay), "odd, frame %zu: %.9f, input %.9f",
                  i, odd.h->buf[0][i], input_at(i - delay));
  }
  h_free(whole.h);
  h_free(odd.h);
}
END_TEST

static Suite *fifo_suite(void) {
  Suite *s = suite_create("csound fifo");
  TCase *tc = tcase_create("fifo");

  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, odd_blocks_give_the_same_samples);
  tcase_add_test(tc, odd_blocks_hear_input_late_but_whole);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(fifo_suite)
