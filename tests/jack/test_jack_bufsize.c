/* test_jack_bufsize.c - JACK's period changing under loaded plugins, against
 * a real jackd (dummy driver, private server name) and jack_bufsize.
 *
 * The plugin is the tests/vst test plugin built with TP_BLOCK_OUT: every
 * output sample is K + (frame mod 1000) / 1000, K the block size it was
 * last prepared with (effSetBlockSize) and frame its own count of frames
 * processed; a call longer than K gives -1, a call while suspended -2.
 * sonod:out_1 is recorded by another JACK client, so the recording shows
 * what the plugin was prepared with, when, and whether any frame was lost,
 * repeated or rendered against the VST2 rules.
 *
 * Then a plugin that hangs in effSetBlockSize (TP_HANG_BLOCK), in the
 * daemon and isolated, beside the block plugin: the re-prepare runs off
 * the loop with the plugin-call deadline, so another client is answered
 * within a second all along, the hung node is reported (plugin.prepared
 * ok false; hung, or crashed and restartable) and the other one is
 * re-prepared. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

/* ---- a plugin that hangs when re-prepared ---- */

static long now_ms(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* jack_bufsize in the background: it returns once JACK has asked every
 * client, which may take a while; the test talks to sonod meanwhile. */
static void bufsize_bg(unsigned frames) {
  char cmd[200];

  snprintf(cmd, sizeof cmd, "JACK_DEFAULT_SERVER=%s jack_bufsize %u >/dev/null 2>&1 &", server,
           frames);
  ck_assert_int_eq(system(cmd), 0);
}

/* The other client: every request answered within a second, for ms. */
static void served(conn *c, long ms) {
  long end = now_ms() + ms, worst = 0;

  do {
    long t0 = now_ms();

    ck_assert_ptr_nonnull(msg_ok(conn_reply(c, conn_request(c, "ping", ""), 1000)));
    ck_assert_ptr_nonnull(msg_ok(conn_reply(c, conn_request(c, "plugin.list", ""), 1000)));
    if (now_ms() - t0 > worst)
      worst = now_ms() - t0;
    usleep(20000);
  } while (now_ms() < end);
  fprintf(stderr, "test_jack_bufsize: the other client's slowest ping + plugin.list: %ld ms\n",
          worst);
}

/* What the events said about nodes[0] (the block plugin) and nodes[1]
 * (the hanging one). */
typedef struct reprepare_news {
  bool prepared[2], ok[2], crashed, period;
  unsigned block[2];
  char msg[2][400], period_msg[400];
} reprepare_news;

/* Reads events until both nodes' plugin.prepared, the period's backend
 * event and (want_crash) nodes[1]'s plugin.crashed came. */
static void news_await(conn *ev, const uint64_t nodes[2], bool want_crash, reprepare_news *r) {
  memset(r, 0, sizeof *r);
  while (!r->prepared[0] || !r->prepared[1] || !r->period || (want_crash && !r->crashed)) {
    const msgpack_object *m = conn_recv(ev, 10000), *e = sono_map_get(m, "event");
    const msgpack_object *okv;
    const char *s;
    size_t n;

    if (e == NULL)
      continue;
    if (sono_str_eq(e, "plugin.prepared")) {
      int k = msg_uint(m, "node") == nodes[0] ? 0 : msg_uint(m, "node") == nodes[1] ? 1 : -1;

      ck_assert_int_ge(k, 0);
      ck_assert_msg(!r->prepared[k], "two plugin.prepared for node %llu",
                    (unsigned long long)nodes[k]);
      r->prepared[k] = true;
      okv = sono_map_get(m, "ok");
      ck_assert(okv != NULL && okv->type == MSGPACK_OBJECT_BOOLEAN);
      r->ok[k] = okv->via.boolean;
      r->block[k] = (unsigned)msg_uint(m, "block_size");
      ck_assert_int_eq(sono_get_str(m, "message", &s, &n), SONO_ARG_OK);
      snprintf(r->msg[k], sizeof r->msg[k], "%.*s", (int)n, s);
      fprintf(stderr, "test_jack_bufsize: node %llu prepared: %s\n",
              (unsigned long long)nodes[k], r->msg[k]);
    } else if (sono_str_eq(e, "plugin.crashed") && msg_uint(m, "node") == nodes[1]) {
      r->crashed = true;
    } else if (sono_str_eq(e, "backend") &&
               sono_get_str(m, "message", &s, &n) == SONO_ARG_OK &&
               memmem(s, n, "period is now 1024", 18) != NULL) {
      r->period = true;
      snprintf(r->period_msg, sizeof r->period_msg, "%.*s", (int)n, s);
    }
  }
}

/* status: the block size node is prepared with. */
static unsigned prepared_block(conn *c, uint64_t node) {
  const msgpack_object *o = ok(c, conn_request(c, "status", ""));
  const msgpack_object_array *arr;

  ck_assert_int_eq(sono_get_array(o, "plugins", &arr), SONO_ARG_OK);
  for (uint32_t i = 0; i < arr->size; i++)
    if (msg_uint(&arr->ptr[i], "node") == node)
      return (unsigned)msg_uint(&arr->ptr[i], "block_size");
  ck_abort_msg("node %llu is not in status's plugins", (unsigned long long)node);
  return 0;
}

/* A daemon on a fresh jackd with clients c, other and ev (plugin and
 * backend events). */
static void start_three(jackd_proc *jd, daemon_proc *dp, conn *c, conn *other, conn *ev) {
  static const char *const kinds[] = { "plugin", "backend" };
  const char *args[] = { "--backend", "jack", "--jack-server", server, "--jack-name", jname,
                         "--channels", "2", NULL };

  jackd_start(jd, server, jlog);
  daemon_start(dp, args);
  fprintf(stderr, "test_jack_bufsize: sonod log %s, jackd log %s\n", dp->log, jlog);
  conn_open(c, dp->socket);
  conn_open(other, dp->socket);
  conn_open(ev, dp->socket);
  conn_subscribe(ev, 1000, kinds, 2);
}

/* Another client still answered; then everything stops cleanly. */
static void finish(jackd_proc *jd, daemon_proc *dp, conn *c, conn *other, conn *ev) {
  served(other, 300);
  conn_close(ev);
  conn_close(other);
  daemon_shutdown(dp, c);
  jackd_stop(jd);
}

/* The block plugin and the hanging one (isolated or not) under a
 * 500 ms plugin-call deadline; the period grows from 256 to 1024 while
 * another client keeps asking. */
static void hang_in_reprepare(bool isolate, jackd_proc *jd, daemon_proc *dp, conn *c,
                              conn *other, conn *ev, uint64_t nodes[2], reprepare_news *r) {
  setenv("SONOD_PLUGIN_DEADLINE_MS", "500", 1);
  start_three(jd, dp, c, other, ev);
  unsetenv("SONOD_PLUGIN_DEADLINE_MS");
  nodes[0] = conn_plugin_load(c, getenv("TESTPLUG_BLOCK"), false);
  nodes[1] = conn_plugin_load(c, getenv("TESTPLUG_HANG_BLOCK"), isolate);
  ck_assert_uint_eq(prepared_block(c, nodes[1]), 256);

  bufsize_bg(1024);
  served(other, 2500);
  news_await(ev, nodes, isolate, r);
  /* The block plugin: re-prepared, and it says so. */
  ck_assert_msg(r->ok[0], "%s", r->msg[0]);
  ck_assert_uint_eq(r->block[0], 1024);
  ck_assert_uint_eq(prepared_block(c, nodes[0]), 1024);
  /* The hanging one: not, with a clear word. */
  ck_assert(!r->ok[1]);
  ck_assert_uint_eq(r->block[1], 256);
  ck_assert_msg(strstr(r->msg[1], "effSetBlockSize") != NULL &&
                strstr(r->msg[1], "did not return within 500 ms") != NULL, "%s", r->msg[1]);
  ck_assert_msg(strstr(r->period_msg, "1 plugin re-prepared for it") != NULL &&
                strstr(r->period_msg, "some could not be") != NULL, "%s", r->period_msg);
  ck_assert_uint_eq(msg_uint(ok(c, conn_request(c, "status", "")), "block_size"), 1024);
}

START_TEST(test_hang_in_reprepare) {
  jackd_proc jd;
  daemon_proc dp;
  conn c, other, ev;
  uint64_t nodes[2];
  reprepare_news r;
  const msgpack_object *m;
  const char *s;
  size_t n;

  hang_in_reprepare(false, &jd, &dp, &c, &other, &ev, nodes, &r);
  ck_assert_msg(strstr(r.msg[1], "unusable") != NULL, "%s", r.msg[1]);
  /* Hung: listed so, unusable (a request says which call), silent. */
  ck_assert(conn_plugin_listed_as(&c, nodes[1], "hung"));
  ck_assert(conn_plugin_listed_as(&c, nodes[0], "running"));
  ck_assert_uint_eq(prepared_block(&c, nodes[1]), 256);
  m = conn_expect_error(&c, conn_request(&c, "plugin.params", "u", "node", nodes[1]), "timeout");
  ck_assert_int_eq(sono_get_str(m, "message", &s, &n), SONO_ARG_OK);
  ck_assert_ptr_nonnull(memmem(s, n, "effSetBlockSize", 15));
  /* The block plugin still answers; the hung one is unloaded while its
   * call still sleeps (its instance stays with the call). */
  ok(&c, conn_request(&c, "plugin.params", "u", "node", nodes[0]));
  ok(&c, conn_request(&c, "plugin.unload", "u", "node", nodes[1]));
  served(&other, 300);
  conn_close(&ev);
  conn_close(&other);
  daemon_shutdown(&dp, &c);
  ck_assert(daemon_log_contains(&dp, "effSetBlockSize did not return within 500 ms"));
  jackd_stop(&jd);
}
END_TEST

START_TEST(test_hang_in_reprepare_isolated) {
  jackd_proc jd;
  daemon_proc dp;
  conn c, other, ev;
  uint64_t nodes[2];
  reprepare_news r;

  hang_in_reprepare(true, &jd, &dp, &c, &other, &ev, nodes, &r);
  ck_assert_msg(strstr(r.msg[1], "host process is killed") != NULL, "%s", r.msg[1]);
  /* Its host was killed: crashed, and a restart brings it back, prepared
   * for the new period. */
  ck_assert(r.crashed);
  ck_assert(conn_plugin_listed_as(&c, nodes[1], "crashed"));
  ok(&c, conn_request(&c, "plugin.restart", "u", "node", nodes[1]));
  ck_assert(conn_plugin_listed_as(&c, nodes[1], "running"));
  ok(&c, conn_request(&c, "plugin.params", "u", "node", nodes[1]));
  ck_assert_uint_eq(prepared_block(&c, nodes[1]), 1024);
  finish(&jd, &dp, &c, &other, &ev);
}
END_TEST

/* A node answering a request (effGetChunk, 800 ms) when the period grows
 * is re-prepared after that call, never during it: the plugin counts the
 * dispatcher calls that came in while its chunk was asked. */
START_TEST(test_reprepare_waits_for_a_call) {
  jackd_proc jd;
  daemon_proc dp;
  conn c, other, ev;
  uint64_t node, id;
  const msgpack_object *m, *data, *okv;
  uint32_t overlaps;

  start_three(&jd, &dp, &c, &other, &ev);
  node = conn_plugin_load(&c, getenv("TESTPLUG_SLOW_CHUNK"), false);
  id = conn_request(&c, "plugin.state.get", "u", "node", node);
  usleep(200000);   /* the call runs */
  bufsize_bg(1024);
  served(&other, 1500);
  m = ok(&c, id);
  data = sono_map_get(m, "data");
  ck_assert(data != NULL && data->type == MSGPACK_OBJECT_BIN && data->via.bin.size == 4);
  memcpy(&overlaps, data->via.bin.ptr, 4);
  ck_assert_msg(overlaps == 0, "%u dispatcher calls came in during effGetChunk", overlaps);
  do
    m = conn_recv(&ev, 10000);
  while (!msg_str_is(m, "event", "plugin.prepared"));
  okv = sono_map_get(m, "ok");
  ck_assert(okv != NULL && okv->type == MSGPACK_OBJECT_BOOLEAN && okv->via.boolean);
  ck_assert_uint_eq(msg_uint(m, "block_size"), 1024);
  ck_assert_uint_eq(prepared_block(&c, node), 1024);
  finish(&jd, &dp, &c, &other, &ev);
}
END_TEST

/* A plugin slow in effSetBlockSize (2 s, under the 5 s deadline) is
 * unloaded while its re-prepare runs (plugin.unload answers `busy` then;
 * state.load unloads it all the same): the round ends without it (the
 * period's report counts only the other plugin), and its instance is
 * closed when the call returns (ASan's build sees a leak or a use after
 * free); then a shutdown while another such call runs ends cleanly. */
START_TEST(test_unload_and_shutdown_during_reprepare) {
  jackd_proc jd;
  daemon_proc dp;
  conn c, other, ev;
  uint64_t a, slow;
  char msg[400];
  const msgpack_object *m, *e;
  bool prepared_a = false;

  char empty[300];

  start_three(&jd, &dp, &c, &other, &ev);
  snprintf(empty, sizeof empty, "%s/empty.sonod", dp.dir);
  ok(&c, conn_request(&c, "state.save", "s", "path", empty));
  a = conn_plugin_load(&c, getenv("TESTPLUG_BLOCK"), false);
  slow = conn_plugin_load(&c, getenv("TESTPLUG_SLOW_BLOCK"), false);
  bufsize_bg(1024);
  /* The round starts both calls at once: once the other plugin's quick one
   * has ended, the slow one runs (a fixed 300 ms was not always enough
   * under load for JACK's change to reach sonod). */
  for (int k = 0; k < 500 && prepared_block(&c, a) != 1024; k++)
    usleep(10000);
  ck_assert_uint_eq(prepared_block(&c, a), 1024);
  conn_expect_error(&c, conn_request(&c, "plugin.unload", "u", "node", slow), "busy");
  /* The slow one goes. */
  ok(&c, conn_request(&c, "state.load", "s", "path", empty));
  served(&other, 2500);   /* past the slow call's end */
  for (;;) {
    const char *str;
    size_t n;

    m = conn_recv(&ev, 10000);
    e = sono_map_get(m, "event");
    if (e != NULL && sono_str_eq(e, "plugin.prepared")) {
      ck_assert_msg(msg_uint(m, "node") == a, "plugin.prepared for the unloaded node");
      prepared_a = true;
    }
    if (e != NULL && sono_str_eq(e, "backend") &&
        sono_get_str(m, "message", &str, &n) == SONO_ARG_OK &&
        memmem(str, n, "period is now 1024", 18) != NULL) {
      snprintf(msg, sizeof msg, "%.*s", (int)n, str);
      break;
    }
  }
  ck_assert(prepared_a);
  ck_assert_msg(strstr(msg, "1 plugin re-prepared for it") != NULL &&
                strstr(msg, "could not") == NULL, "%s", msg);
  ck_assert(daemon_log_contains(&dp, "unloaded while its effSetBlockSize runs"));

  /* Again, slower, and the daemon is stopped meanwhile. */
  slow = conn_plugin_load(&c, getenv("TESTPLUG_SLOW_BLOCK"), false);
  ck_assert_uint_eq(prepared_block(&c, slow), 1024);
  bufsize_bg(2048);
  usleep(300000);
  finish(&jd, &dp, &c, &other, &ev);
}
END_TEST

static void setup_names(void) {
  jack_test_names("bufsize", server, jname, capname, jlog);
}

static void teardown_names(void) {
  jackd_clean_shm(server);
}

static Suite *make_suite(void) {
  const TTest *tests[] = { test_period_grows_and_shrinks, test_hang_in_reprepare,
                           test_hang_in_reprepare_isolated, test_reprepare_waits_for_a_call,
                           test_unload_and_shutdown_during_reprepare, NULL };

  return jack_suite("jack-bufsize", 90, setup_names, teardown_names, tests);
}

CHECK_MAIN(make_suite)
