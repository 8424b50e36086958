/* test_hostile.c - hostile plugins against isolation (issue 16, part 4):
 * each runs isolated (plugin.load {isolate: true}) next to a well-behaved
 * bystander in the daemon, on the offline backend, with a second client.
 * For each: the daemon keeps serving the other client (every answer within
 * a second), the bystander's audio is intact sample for sample (its
 * impulses and nothing else in the rendered file), the client gets the
 * documented error or event, and the node comes back with plugin.restart
 * where that applies.  (A crash in processReplacing: test_isolate.c.)
 *
 *   hang in effGetChunk     timeout; plugin.crashed naming the call; restart
 *   crash in effGetChunk    crashed; plugin.crashed (signal 11); restart
 *   hang in effClose        the unload is answered; the host is gone soon
 *   NaN and inf output      plugin.error non_finite; the mix stays clean
 *   3 periods per call      silence, plugin.error deadline; the rest plays */
#include <check.h>
#include <math.h>
#include <signal.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "protocol/wire.h"
#include "tests/support/check_main.h"
#include "tests/support/harness.h"

#define BLOCK 256
#define NOTES 10          /* bystander impulses per stretch, every 1000 frames */
#define STRETCH 10000     /* frames rendered per stretch */

static daemon_proc dp;
static conn c, other, ev;
static char out_path[400], home[300];
static uint64_t next_id = 1000;

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void start(const char *deadline_ms) {
  const char *args[12];
  const char *kinds[] = { "plugin" };
  int n = 0;

  setenv("SONOD_PLUGIN_DEADLINE_MS", "1000", 1);
  home_make(home, sizeof home, "hostile");
  snprintf(out_path, sizeof out_path, "/tmp/sonod-hostile-%d-%ld.wav", getpid(), random());
  args[n++] = "--backend";
  args[n++] = "offline";
  args[n++] = "--output";
  args[n++] = out_path;
  args[n++] = "--block-size";
  args[n++] = "256";
  if (deadline_ms != NULL) {
    args[n++] = "--isolate-deadline-ms";
    args[n++] = deadline_ms;
  }
  args[n] = NULL;
  daemon_start(&dp, args);
  conn_open(&c, dp.socket);
  conn_open(&other, dp.socket);
  conn_open(&ev, dp.socket);
  conn_subscribe(&ev, next_id++, kinds, 1);
}

static uint64_t load(const char *env, bool isolate) {
  const char *path = getenv(env);

  ck_assert_msg(path != NULL, "%s is not set", env);
  return msg_uint(conn_ok(&c, conn_request(&c, "plugin.load", "sb", "path", path, "isolate",
                                           (int)isolate)), "node");
}

/* The other client is answered within a second, for ms milliseconds. */
static void served(long ms) {
  long end = now_ms() + ms;

  do
    ck_assert_ptr_nonnull(msg_ok(conn_reply(&other, conn_request(&other, "plugin.list", ""), 1000)));
  while (now_ms() < end);
}

/* Note-ons of velocity 127 for the bystander at from + 1000 k. */
static void bystander_notes(uint64_t node, uint64_t from) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  uint64_t id = next_id++;

  midi_begin(&sb, &pk, id, node, NOTES);
  for (unsigned k = 0; k < NOTES; k++) {
    msgpack_pack_map(&pk, 5);
    sono_pack_key_str(&pk, "type", "note_on");
    sono_pack_key_uint(&pk, "channel", 0);
    sono_pack_key_uint(&pk, "note", 60);
    sono_pack_key_uint(&pk, "velocity", 127);
    sono_pack_key_uint(&pk, "at", from + 1000 * k + 100);
  }
  conn_ok(&c, midi_send(&c, &sb, id));
}

static unsigned stretches;

/* One more stretch of STRETCH frames with the bystander's notes in it. */
static void play(uint64_t bystander) {
  bystander_notes(bystander, (uint64_t)stretches * STRETCH);
  conn_ok(&c, conn_request(&c, "render", "u", "frames", (uint64_t)STRETCH));
  stretches++;
}

/* Shuts down and checks the file: the bystander's impulses (1.0 on both
 * channels) where it played them, and exactly 0 everywhere else. */
static void finish_intact(void) {
  sf_count_t frames, i;
  float *wav;

  conn_close(&ev);
  conn_close(&other);
  daemon_shutdown(&dp, &c);
  home_remove(home);
  wav = wav_read_stereo(out_path, &frames);
  unlink(out_path);
  ck_assert_int_eq(frames, (sf_count_t)stretches * STRETCH);
  for (i = 0; i < frames; i++) {
    float want = i % 1000 == 100 ? 1.0f : 0.0f;

    ck_assert_msg(wav[2 * i] == want && wav[2 * i + 1] == want,
                  "frame %ld: %g %g, want %g (the bystander's output is not intact)", (long)i,
                  wav[2 * i], wav[2 * i + 1], want);
  }
  free(wav);
  stretches = 0;
}

/* Waits (5 s) for event `kind` about node; returns it. */
static const msgpack_object *event_of(const char *kind, uint64_t node) {
  long end = now_ms() + 5000;

  while (now_ms() < end) {
    const msgpack_object *m = conn_recv(&ev, 5000);

    if (msg_str_is(m, "event", kind) && msg_uint(m, "node") == node)
      return m;
  }
  ck_abort_msg("no %s event for node %lu", kind, (unsigned long)node);
  return NULL;
}

static bool str_has(const msgpack_object *m, const char *key, const char *want) {
  m = sono_map_get(m, key);
  return m != NULL && m->type == MSGPACK_OBJECT_STR &&
         memmem(m->via.str.ptr, m->via.str.size, want, strlen(want)) != NULL;
}

static bool listed_as(uint64_t node, const char *state) {
  return conn_plugin_listed_as(&other, node, state);
}

/* plugin.restart, retried while the node is busy (its killed call's thread
 * returning); the node runs again. */
static void restart(uint64_t node) {
  const msgpack_object *m = NULL;

  for (int k = 0; k < 100; k++) {
    m = conn_reply(&c, conn_request(&c, "plugin.restart", "u", "node", node), 5000);
    if (msg_error_code(m) == NULL || strcmp(msg_error_code(m), "busy") != 0)
      break;
    usleep(20000);
  }
  ck_assert_msg(msg_ok(m) != NULL, "plugin.restart: %s", msg_error_code(m));
  ck_assert(listed_as(node, "running"));
}

START_TEST(hang_in_get_chunk) {
  uint64_t b, h, id;
  const msgpack_object *m;

  start(NULL);
  b = load("TESTPLUG", false);
  h = load("TESTPLUG_HANG_CHUNK", true);
  play(b);
  id = conn_request(&other, "plugin.state.get", "u", "node", h);
  play(b);                        /* the audio goes on meanwhile */
  m = conn_expect_error(&other, id, "timeout");
  ck_assert(str_has(m, "message", "effGetChunk"));
  m = event_of("plugin.crashed", h);
  ck_assert(str_has(m, "reason", "effGetChunk did not return within 1000 ms"));
  served(300);
  play(b);
  restart(h);
  play(b);
  finish_intact();
}
END_TEST

START_TEST(crash_in_get_chunk) {
  uint64_t b, h;
  const msgpack_object *m;

  start(NULL);
  b = load("TESTPLUG", false);
  h = load("TESTPLUG_CRASH_CHUNK", true);
  play(b);
  m = conn_expect_error(&other, conn_request(&other, "plugin.state.get", "u", "node", h),
                        "crashed");
  ck_assert(str_has(m, "message", "effGetChunk"));
  m = event_of("plugin.crashed", h);
  ck_assert(msg_str_is(m, "reason", "killed by signal 11"));
  ck_assert(listed_as(h, "crashed"));
  served(300);
  play(b);
  restart(h);
  play(b);
  finish_intact();
}
END_TEST

START_TEST(hang_in_close) {
  uint64_t b, h;
  pid_t kids[4];
  unsigned n;
  long t0;
  int k;

  start(NULL);
  b = load("TESTPLUG", false);
  h = load("TESTPLUG_HANG_CLOSE", true);
  n = daemon_children(&dp, kids, 4);
  ck_assert_uint_eq(n, 1);
  play(b);
  t0 = now_ms();
  conn_ok(&c, conn_request(&c, "plugin.unload", "u", "node", h));
  ck_assert_int_lt(now_ms() - t0, 1000);
  served(500);
  play(b);
  /* Its host is told to quit, then killed: gone within a few seconds. */
  for (k = 0; k < 250 && kill(kids[0], 0) == 0; k++)
    usleep(20000);
  ck_assert_msg(kill(kids[0], 0) != 0, "the host of the unloaded plugin still runs");
  play(b);
  finish_intact();
}
END_TEST

START_TEST(nan_output) {
  uint64_t b, h;
  const msgpack_object *m;

  start(NULL);
  b = load("TESTPLUG", false);
  h = load("TESTPLUG_NAN", true);
  play(b);
  m = event_of("plugin.error", h);
  ck_assert(msg_str_is(m, "code", "non_finite"));
  ck_assert_uint_gt(msg_uint(m, "count"), 0);
  ck_assert(listed_as(h, "running"));
  served(200);
  play(b);
  finish_intact();
}
END_TEST

/* Each process call takes 16 ms, three 256-frame periods at 48 kHz; the
 * deadline is one period. */
START_TEST(three_periods_per_call) {
  uint64_t b, h;
  const msgpack_object *m;

  start("6");
  b = load("TESTPLUG", false);
  h = load("TESTPLUG_SLOW3", true);
  play(b);
  m = event_of("plugin.error", h);
  ck_assert(msg_str_is(m, "code", "deadline"));
  ck_assert_uint_gt(msg_uint(m, "count"), 0);
  served(200);
  play(b);
  /* A render ends with the host still inside its last call (16 ms against
   * a 6 ms deadline), and the next, started at once, finds it busy
   * throughout: a parameter set for it waits, and reaches the plugin with
   * the host's next call (a render once it is idle) instead of being lost;
   * plugin.get answers it meanwhile. */
  for (int k = 1; k <= 5; k++) {
    double v = 0.125 * k, got;

    conn_ok(&c, conn_request(&c, "plugin.set", "uud", "node", h, "index", (uint64_t)2, "value", v));
    /* Read at once, the change still waiting for the host: what was set
     * (the host would still answer the value before). */
    got = msg_double(conn_ok(&c, conn_request(&c, "plugin.get", "uu", "node", h, "index",
                                              (uint64_t)2)), "value");
    ck_assert_msg(fabs(got - v) < 1e-6, "set %g, read back at once %g", v, got);
    play(b);
    usleep(50000);
    play(b);
    got = msg_double(conn_ok(&c, conn_request(&c, "plugin.get", "uu", "node", h, "index",
                                              (uint64_t)2)), "value");
    ck_assert_msg(fabs(got - v) < 1e-6, "set %g while the host was busy, reads %g", v, got);
  }
  ck_assert(listed_as(h, "running"));
  finish_intact();
}
END_TEST

static Suite *hostile_suite(void) {
  Suite *s = suite_create("hostile");
  TCase *tc = tcase_create("core");

  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, hang_in_get_chunk);
  tcase_add_test(tc, crash_in_get_chunk);
  tcase_add_test(tc, hang_in_close);
  tcase_add_test(tc, nan_output);
  tcase_add_test(tc, three_periods_per_call);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(hostile_suite)
