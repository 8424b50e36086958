/* test_jack_bufsize.c - JACK's period changing under loaded plugins, against
 * a real jackd (dummy driver, private server name) and jack_bufsize.
 *
 * The plugin is the tests/vst test plugin built with TP_BLOCK_OUT: every
 * output sample is K + (frame mod 1000) / 1000, K the block size it was
 * last prepared with (effSetBlockSize) and frame its own count of frames
 * processed; a call longer than K gives -1, a call while suspended -2.
 * sonod:out_1 is recorded by another JACK client, so the recording shows
 * what the plugin was prepared with, when, and whether any frame was lost,
 * repeated or rendered against the VST2 rules. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "protocol/wire.h"
#include "tests/jack/jackd_util.h"
#include "tests/support/check_main.h"
#include "tests/support/harness.h"

#define RATE 48000

static char server[64], jname[64], capname[64], jlog[128];

static const msgpack_object *ok(conn *c, uint64_t id) {
  const msgpack_object *m = conn_reply(c, id, 5000);

  ck_assert_msg(msg_error_code(m) == NULL, "request %llu failed: %s",
                (unsigned long long)id, msg_error_code(m));
  return msg_ok(m);
}

/* Waits until `frames` more frames were recorded (the capture stops
 * growing only if JACK stops: then the bound fails the test). */
static void capture_wait(size_t frames) {
  size_t want = capture_count() + frames;
  int i;

  for (i = 0; i < 1000 && capture_count() < want; i++)
    usleep(10000);
  ck_assert_uint_ge(capture_count(), want);
}

static void bufsize(unsigned frames) {
  char cmd[200];

  snprintf(cmd, sizeof cmd, "JACK_DEFAULT_SERVER=%s jack_bufsize %u >/dev/null", server, frames);
  ck_assert_int_eq(system(cmd), 0);
}

/* status: block_size, and the one plugin's prepared block size. */
static void status(conn *c, uint64_t node, unsigned *block, unsigned *prepared) {
  const msgpack_object *o = ok(c, conn_request(c, "status", ""));
  const msgpack_object_array *arr;

  *block = (unsigned)msg_uint(o, "block_size");
  ck_assert_int_eq(sono_get_array(o, "plugins", &arr), SONO_ARG_OK);
  ck_assert_uint_eq(arr->size, 1);
  ck_assert_uint_eq(msg_uint(&arr->ptr[0], "node"), node);
  *prepared = (unsigned)msg_uint(&arr->ptr[0], "block_size");
}

/* Reads events until one of `kind` whose message contains `needle`
 * arrives; copies its message.  Fails after 10 s of silence. */
static const msgpack_object *await_event(conn *ev, const char *kind, const char *needle,
                                         char *msg, size_t len) {
  for (;;) {
    const msgpack_object *m = conn_recv(ev, 10000), *e;
    const char *s;
    size_t n;

    e = sono_map_get(m, "event");
    if (e == NULL || !sono_str_eq(e, kind) || sono_get_str(m, "message", &s, &n) != SONO_ARG_OK)
      continue;
    snprintf(msg, len, "%.*s", (int)n, s);
    if (strstr(msg, needle) != NULL)
      return m;
  }
}

START_TEST(test_period_grows_and_shrinks) {
  static const char *const kinds[] = { "plugin", "backend" };
  const char *args[] = { "--backend", "jack", "--jack-server", server, "--jack-name", jname,
                         "--channels", "2", NULL };
  char src[160], msg[400];
  const msgpack_object *m;
  const float *x;
  jackd_proc jd;
  daemon_proc dp;
  conn c, ev;
  uint64_t node;
  unsigned block, prepared, xruns, sonod_xruns0, sonod_xruns;
  size_t n, i, s0, at1024 = 0, breaks = 0, silent = 0;
  bool late;
  unsigned k_prev = 256;

  jackd_start(&jd, server, jlog);
  daemon_start(&dp, args);
  fprintf(stderr, "test_jack_bufsize: sonod log %s, jackd log %s\n", dp.log, jlog);
  conn_open(&c, dp.socket);
  conn_open(&ev, dp.socket);
  conn_subscribe(&ev, 1000, kinds, 2);

  node = msg_uint(ok(&c, conn_request(&c, "plugin.load", "s", "path",
                                      getenv("TESTPLUG_BLOCK"))), "node");
  status(&c, node, &block, &prepared);
  ck_assert_uint_eq(block, 256);
  ck_assert_uint_eq(prepared, 256);

  snprintf(src, sizeof src, "%s:out_1", jname);
  sonod_xruns0 = (unsigned)msg_uint(ok(&c, conn_request(&c, "status", "")), "xruns");
  capture_start(server, capname, src);
  capture_wait(RATE / 4);

  /* Grows: the plugin is re-prepared for 1024. */
  bufsize(1024);
  m = await_event(&ev, "plugin.prepared", "1024", msg, sizeof msg);
  ck_assert_uint_eq(msg_uint(m, "node"), node);
  ck_assert_uint_eq(msg_uint(m, "block_size"), 1024);
  ck_assert_uint_eq(msg_uint(m, "previous"), 256);
  await_event(&ev, "backend", "period is now 1024", msg, sizeof msg);
  ck_assert_msg(strstr(msg, "1 plugin re-prepared for it") != NULL, "%s", msg);
  late = strstr(msg, "after JACK restarted") != NULL;
  fprintf(stderr, "test_jack_bufsize: %s\n", msg);
  status(&c, node, &block, &prepared);
  ck_assert_uint_eq(block, 1024);
  ck_assert_uint_eq(prepared, 1024);
  capture_wait(RATE / 4);

  /* Shrinks: nothing to re-prepare (VST2 allows shorter calls). */
  bufsize(128);
  await_event(&ev, "backend", "period is now 128", msg, sizeof msg);
  ck_assert_msg(strstr(msg, "re-prepared") == NULL, "%s", msg);
  status(&c, node, &block, &prepared);
  ck_assert_uint_eq(block, 128);
  ck_assert_uint_eq(prepared, 1024);
  capture_wait(RATE / 4);
  x = capture_stop(&n);
  /* JACK tells clients of xruns asynchronously: one near the end may
   * reach the capture client only after it stopped.  sonod counts them
   * too; give the notices a moment, and take the larger count of the
   * recording's time. */
  usleep(200000);
  xruns = capture_xruns();
  sonod_xruns = (unsigned)msg_uint(ok(&c, conn_request(&c, "status", "")), "xruns") -
                sonod_xruns0;
  if (sonod_xruns > xruns)
    xruns = sonod_xruns;

  /* From where the connection's fade-in ended: K is 256, then 1024 for
   * good; never a broken call; the frame count runs on without a gap. */
  for (s0 = 0; s0 < n && !(x[s0] >= 256.0f && x[s0] < 257.0f); s0++)
    ;
  s0 += 256;
  ck_assert_uint_lt(s0, n);
  for (i = s0; i < n; i++) {
    float v = x[i];
    unsigned k = (unsigned)floorf(v);

    ck_assert_msg(v >= 0.0f, "sample %zu is %g: the plugin was called %s", i, v,
                  v == -1.0f ? "with more frames than its block size" : "while suspended");
    if (v == 0.0f && (late || xruns > 0)) {
      /* Held while re-prepared after JACK restarted, or a cycle sonod
       * did not finish in time (an xrun: JACK passes on silence). */
      silent++;
      continue;
    }
    ck_assert_msg(k == k_prev || (k_prev == 256 && k == 1024), "sample %zu: K %u after %u", i, k,
                  k_prev);
    k_prev = k;
    at1024 += k == 1024;
    if (i > s0 && x[i - 1] > 0.0f) {
      long f0 = lroundf((x[i - 1] - floorf(x[i - 1])) * 1000.0f) % 1000;
      long f1 = lroundf((v - (float)k) * 1000.0f) % 1000;

      if (f1 != (f0 + 1) % 1000 && breaks++ < 4)
        fprintf(stderr, "test_jack_bufsize: break at recorded frame %zu: %.4f after %.4f\n", i, v,
                x[i - 1]);
    }
  }
  fprintf(stderr, "test_jack_bufsize: %zu frames recorded, %zu at K 1024, %zu breaks, "
          "%zu silent, %u xruns (capture or sonod)\n", n - s0, at1024, breaks, silent, xruns);
  ck_assert_uint_ge(at1024, RATE / 2);
  if (!late && xruns == 0)
    ck_assert_uint_eq(breaks, 0);

  conn_close(&ev);
  conn_close(&c);
  ck_assert_int_eq(daemon_stop(&dp), 0);
  jackd_stop(&jd);
}
END_TEST

static void setup_names(void) {
  jack_test_names("bufsize", server, jname, capname, jlog);
}

static void teardown_names(void) {
  jackd_clean_shm(server);
}

static Suite *make_suite(void) {
  const TTest *tests[] = { test_period_grows_and_shrinks, NULL };

  return jack_suite("jack-bufsize", 90, setup_names, teardown_names, tests);
}

CHECK_MAIN(make_suite)
