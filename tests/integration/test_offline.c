/* Integration: the offline backend renders to a file; the tone lands on
 * exactly the requested frames. */
#include <check.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "protocol/wire.h"
#include "tests/support/check_main.h"
#include "tests/support/harness.h"

#define RATE 48000

static daemon_proc dp;
static conn c;
static char out_path[400];

static void start(const char *length, const char *block) {
  const char *args[16];
  int n = 0;

  snprintf(out_path, sizeof out_path, "/tmp/sonod-offline-%d-%ld.wav", getpid(), random());
  args[n++] = "--backend";
  args[n++] = "offline";
  args[n++] = "--output";
  args[n++] = out_path;
  args[n++] = "--block-size";
  args[n++] = block;
  /* Csound's k-cycle must divide the block (100 frames in one test). */
  args[n++] = "--ksmps";
  args[n++] = "4";
  if (length != NULL) {
    args[n++] = "--length";
    args[n++] = length;
  }
  args[n] = NULL;
  daemon_start(&dp, args);
  conn_open(&c, dp.socket);
}

static float *read_wav(sf_count_t *frames, int *channels) {
  SF_INFO info;
  SNDFILE *f;
  float *data;

  memset(&info, 0, sizeof info);
  f = sf_open(out_path, SFM_READ, &info);
  ck_assert_msg(f != NULL, "cannot read %s: %s", out_path, sf_strerror(NULL));
  ck_assert_int_eq(info.samplerate, RATE);
  data = malloc(sizeof(float) * (size_t)(info.frames * info.channels + 1));
  ck_assert_int_eq(sf_readf_float(f, data, info.frames), info.frames);
  sf_close(f);
  *frames = info.frames;
  *channels = info.channels;
  return data;
}

START_TEST(tone_lands_on_the_exact_frame) {
  uint64_t id;
  const msgpack_object *ok;
  sf_count_t frames, i;
  int ch;
  float *data;
  const uint64_t on_at = 1000, off_at = 5037;

  start(NULL, "256");
  id = conn_request(&c, "engine.tone", "buddi", "on", 1, "at", on_at, "freq", 997.0,
                    "amp", 0.5, "channel", (int64_t)-1);
  ok = msg_ok(conn_reply(&c, id, 5000));
  ck_assert_ptr_nonnull(ok);
  ck_assert_uint_eq(msg_uint(ok, "frame"), on_at);
  id = conn_request(&c, "engine.tone", "bu", "on", 0, "at", off_at);
  ck_assert_uint_eq(msg_uint(msg_ok(conn_reply(&c, id, 5000)), "frame"), off_at);

  id = conn_request(&c, "render", "u", "frames", (uint64_t)8000);
  ck_assert_uint_eq(msg_uint(msg_ok(conn_reply(&c, id, 30000)), "frame"), 8000);
  id = conn_request(&c, "status", "");
  ok = msg_ok(conn_reply(&c, id, 5000));
  ck_assert(msg_str_is(ok, "backend", "offline"));
  id = conn_request(&c, "shutdown", "");
  conn_reply(&c, id, 5000);
  ck_assert_int_eq(daemon_wait(&dp, 10000), 0);

  data = read_wav(&frames, &ch);
  ck_assert_int_eq(ch, 2);
  ck_assert_int_eq(frames, 8000);
  for (i = 0; i < frames; i++) {
    double want = 0.0;
    if ((uint64_t)i >= on_at && (uint64_t)i < off_at)
      want = 0.5 * sin(2 * M_PI * 997.0 * (double)(i - (sf_count_t)on_at) / RATE);
    ck_assert_msg(fabs(data[2 * i] - want) < 1e-6, "frame %ld: %f, want %f", (long)i,
                  data[2 * i], want);
    ck_assert_float_eq(data[2 * i], data[2 * i + 1]);
  }
  /* Silence right up to the start, sound right after it. */
  ck_assert_float_eq(data[2 * (on_at - 1)], 0.0f);
  ck_assert_float_ne(data[2 * (on_at + 1)], 0.0f);
  ck_assert_float_ne(data[2 * (off_at - 1)], 0.0f);
  ck_assert_float_eq(data[2 * off_at], 0.0f);
  free(data);
  unlink(out_path);
}
END_TEST

START_TEST(render_to_length_then_exit) {
  uint64_t id;
  sf_count_t frames;
  int ch;
  float *data;

  start("0.5", "100");
  id = conn_request(&c, "engine.tone", "bd", "on", 1, "delay", 0.25);
  ck_assert_uint_eq(msg_uint(msg_ok(conn_reply(&c, id, 5000)), "frame"), 12000);
  id = conn_request(&c, "render", "");
  ck_assert_uint_eq(msg_uint(msg_ok(conn_reply(&c, id, 30000)), "frame"), 24000);
  ck_assert_int_eq(daemon_wait(&dp, 10000), 0);
  data = read_wav(&frames, &ch);
  ck_assert_int_eq(frames, 24000);
  ck_assert_float_eq(data[2 * 12000], 0.0f);
  ck_assert_float_eq(data[2 * 11999], 0.0f);
  ck_assert_float_ne(data[2 * 12001], 0.0f);
  free(data);
  unlink(out_path);
}
END_TEST

START_TEST(render_is_exclusive_and_checked) {
  uint64_t a, b, id;
  const msgpack_object *m;

  start(NULL, "64");
  id = conn_request(&c, "render", "");
  m = conn_reply(&c, id, 5000);
  ck_assert_str_eq(msg_error_code(m), "bad_value");
  id = conn_request(&c, "render", "ud", "frames", (uint64_t)10, "seconds", 1.0);
  ck_assert_str_eq(msg_error_code(conn_reply(&c, id, 5000)), "bad_request");
  a = conn_request(&c, "render", "d", "seconds", 20.0);
  b = conn_request(&c, "render", "u", "frames", (uint64_t)64);
  m = conn_reply(&c, b, 5000);
  ck_assert_str_eq(msg_error_code(m), "busy");
  ck_assert_uint_eq(msg_uint(msg_ok(conn_reply(&c, a, 60000)), "frame"), 20 * RATE);
  /* Relative to where the engine stands. */
  id = conn_request(&c, "render", "u", "frames", (uint64_t)64);
  ck_assert_uint_eq(msg_uint(msg_ok(conn_reply(&c, id, 5000)), "frame"), 20 * RATE + 64);
  id = conn_request(&c, "shutdown", "");
  conn_reply(&c, id, 5000);
  ck_assert_int_eq(daemon_wait(&dp, 10000), 0);
  unlink(out_path);
}
END_TEST

START_TEST(flac_output) {
  const char *args[] = { "--backend", "offline", "--output", NULL, "--length", "0.25", NULL };
  SF_INFO info;
  SNDFILE *f;
  float buf[2 * 4096];
  sf_count_t i, n, at = 0, first = -1;
  uint64_t id;

  snprintf(out_path, sizeof out_path, "/tmp/sonod-offline-%d-%ld.flac", getpid(), random());
  args[3] = out_path;
  daemon_start(&dp, args);
  conn_open(&c, dp.socket);
  id = conn_request(&c, "engine.tone", "bud", "on", 1, "at", (uint64_t)3000, "amp", 0.5);
  ck_assert_ptr_nonnull(msg_ok(conn_reply(&c, id, 5000)));
  id = conn_request(&c, "render", "");
  ck_assert_uint_eq(msg_uint(msg_ok(conn_reply(&c, id, 30000)), "frame"), 12000);
  ck_assert_int_eq(daemon_wait(&dp, 10000), 0);

  memset(&info, 0, sizeof info);
  f = sf_open(out_path, SFM_READ, &info);
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(info.format & SF_FORMAT_TYPEMASK, SF_FORMAT_FLAC);
  ck_assert_int_eq(info.frames, 12000);
  ck_assert_int_eq(info.channels, 2);
  /* 24-bit: the first nonzero sample is the tone's second, at 3001. */
  while ((n = sf_readf_float(f, buf, 4096)) > 0) {
    for (i = 0; i < n && first < 0; i++)
      if (buf[2 * i] != 0.0f)
        first = at + i;
    at += n;
  }
  sf_close(f);
  ck_assert_int_eq(first, 3001);
  unlink(out_path);
}
END_TEST

/* The file is readable between renders: its header names every frame
 * rendered so far (it said 0 until the daemon exited). */
START_TEST(header_counts_frames_between_renders) {
  uint64_t id;
  sf_count_t frames, i;
  int ch, r;
  float *data;

  start(NULL, "256");
  id = conn_request(&c, "engine.tone", "buddi", "on", 1, "at", (uint64_t)100, "freq", 440.0,
                    "amp", 0.5, "channel", (int64_t)-1);
  ck_assert_ptr_nonnull(msg_ok(conn_reply(&c, id, 5000)));
  for (r = 1; r <= 3; r++) {
    id = conn_request(&c, "render", "u", "frames", (uint64_t)3000);
    ck_assert_uint_eq(msg_uint(msg_ok(conn_reply(&c, id, 30000)), "frame"), 3000 * (uint64_t)r);
    data = read_wav(&frames, &ch);
    ck_assert_int_eq(frames, 3000 * r);
    ck_assert_int_eq(ch, 2);
    ck_assert_float_eq(data[2 * 99], 0.0f);
    for (i = 101; i < frames; i++)
      if (data[2 * i] == 0.0f && data[2 * i - 2] == 0.0f)
        ck_abort_msg("render %d: silence at frame %ld", r, (long)i);
    free(data);
  }
  daemon_shutdown(&dp, &c);
  unlink(out_path);
}
END_TEST

static void teardown(void) {
  conn_close(&c);
  if (dp.pid > 0)
    daemon_stop(&dp);
}

static Suite *offline_suite(void) {
  Suite *s = suite_create("offline");
  TCase *tc = tcase_create("render");

  tcase_set_timeout(tc, 120);
  tcase_add_checked_fixture(tc, NULL, teardown);
  tcase_add_test(tc, tone_lands_on_the_exact_frame);
  tcase_add_test(tc, render_to_length_then_exit);
  tcase_add_test(tc, render_is_exclusive_and_checked);
  tcase_add_test(tc, flac_output);
  tcase_add_test(tc, header_counts_frames_between_renders);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(offline_suite)
