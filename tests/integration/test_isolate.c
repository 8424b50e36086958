/* Integration: isolated plugins (plugin.load {isolate: true}) in the running
 * daemon, offline backend: amsynth sounds sample-identical isolated and in
 * process; a plugin whose host crashes leaves a `crashed` node, the rest of
 * the graph plays on and plugin.restart brings it back; a host that sleeps
 * past its deadline gives silence, counted, while the daemon answers; the
 * session file keeps isolation. */
#include <check.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "protocol/wire.h"
#include "tests/support/check_main.h"
#include "tests/support/harness.h"

#define AMSYNTH "/usr/lib/vst/amsynth_vst.so"

static daemon_proc dp;
static conn c;
static char out_path[400];
static char home[300];

static void start(const char *deadline_ms) {
  const char *args[16];
  int n = 0;

  home_make(home, sizeof home, "isolate");
  snprintf(out_path, sizeof out_path, "/tmp/sonod-isolate-%d-%ld.wav", getpid(), random());
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
}

static float *finish(sf_count_t *frames) {
  daemon_shutdown(&dp, &c);
  home_remove(home);
  return wav_read_stereo(out_path, frames);
}

static const msgpack_object *ok_of(uint64_t id) {
  return conn_ok(&c, id);
}

static uint64_t load(const char *path, bool isolate) {
  return conn_plugin_load(&c, path, isolate);
}

static void render(uint64_t frames) {
  ok_of(conn_request(&c, "render", "u", "frames", frames));
}

static uint64_t next_id = 1000;

/* One note on (or off) per frame in `at`, note 60 + i mod 12. */
static void notes(uint64_t node, unsigned count, const uint64_t *at, int on, int velocity) {
  ok_of(conn_send_notes(&c, next_id++, node, count, at, on, velocity));
}

static const msgpack_object *list_entry(uint64_t node) {
  const msgpack_object *nodes = sono_map_get(ok_of(conn_request(&c, "plugin.list", "")), "nodes");

  for (uint32_t i = 0; i < nodes->via.array.size; i++)
    if (msg_uint(&nodes->via.array.ptr[i], "node") == node)
      return &nodes->via.array.ptr[i];
  ck_abort_msg("node %lu not listed", (unsigned long)node);
  return NULL;
}

/* Waits (up to 10 s) for an event of `kind` on ev about `node`; returns
 * its map. */
static const msgpack_object *wait_event(conn *ev, const char *kind, uint64_t node) {
  for (int k = 0; k < 200; k++) {
    const msgpack_object *m = conn_recv(ev, 10000);

    if (msg_str_is(m, "event", kind) && msg_uint(m, "node") == node)
      return m;
  }
  ck_abort_msg("no %s event for node %lu", kind, (unsigned long)node);
  return NULL;
}

static void subscribe(conn *ev) {
  const char *kinds[] = { "plugin" };

  conn_subscribe(ev, next_id++, kinds, 1);
}

/* The same amsynth part: a program, a chord, a parameter change between
 * the notes, releases. */
static float *amsynth_render(bool isolate, sf_count_t *frames) {
  const uint64_t on[4] = { 300, 301, 5000, 5123 }, off[4] = { 9000, 9001, 12000, 12345 };
  uint64_t node;
  double v;

  start(NULL);
  node = load(AMSYNTH, isolate);
  ck_assert(list_entry(node)->type == MSGPACK_OBJECT_MAP);
  ck_assert(msg_str_is(list_entry(node), "state", "running"));
  ok_of(conn_request(&c, "plugin.program", "uu", "node", node, "program", (uint64_t)3));
  ok_of(conn_request(&c, "plugin.set", "usd", "node", node, "name", "amp_attack", "value", 0.0625));
  /* Read back through the host when isolated. */
  v = msg_double(ok_of(conn_request(&c, "plugin.get", "us", "node", node, "name", "amp_attack")),
                 "value");
  ck_assert_msg(fabs(v - 0.0625) < 1e-6, "%s: amp_attack reads %g", isolate ? "isolated" : "in process", v);
  notes(node, 4, on, 1, 100);
  notes(node, 4, off, 0, 0);
  ok_of(conn_request(&c, "plugin.set", "usdu", "node", node, "name", "filter_cutoff", "value", 0.3,
                     "at", (uint64_t)7000));
  render(24000);
  return finish(frames);
}

/* Renders the same part in process and isolated: the two files must be
 * `frames` long and equal sample for sample.  Returns the in-process one
 * (the isolated one in *iso). */
static float *same_both_ways(float *(*part)(bool, sf_count_t *), sf_count_t frames, float **iso) {
  sf_count_t n_in, n_iso, i;
  float *in = part(false, &n_in);

  *iso = part(true, &n_iso);
  ck_assert_int_eq(n_in, frames);
  ck_assert_int_eq(n_iso, n_in);
  for (i = 0; i < 2 * n_in; i++)
    ck_assert_msg(in[i] == (*iso)[i], "sample %ld: %.9g in process, %.9g isolated", (long)i / 2,
                  in[i], (*iso)[i]);
  return in;
}

/* An amsynth part rendered both ways: the same samples, and sound. */
static void amsynth_same_both_ways(float *(*part)(bool, sf_count_t *), sf_count_t frames) {
  float *iso, *in = same_both_ways(part, frames, &iso);
  double energy = 0.0;

  for (sf_count_t i = 0; i < 2 * frames; i++)
    energy += in[i] * in[i];
  ck_assert_msg(energy > 1.0, "amsynth made no sound (energy %g)", energy);
  free(in);
  free(iso);
}

START_TEST(amsynth_same_isolated_and_in_process) {
  amsynth_same_both_ways(amsynth_render, 24000);
}
END_TEST

#define DRAGONFLY_ROOM "/usr/lib/lxvst/DragonflyRoomReverb-vst.so"

/* The test plugin's impulses (in process) through Dragonfly Room Reverb,
 * isolated or not: the reverb's input comes from another node through the
 * graph, its output is the mix. */
static float *reverb_render(bool isolate, sf_count_t *frames) {
  const uint64_t at[6] = { 100, 4000, 4001, 9000, 15000, 15555 };
  const char *tp = getenv("TESTPLUG");
  char from[32], to[32];
  uint64_t src, rev;

  ck_assert_ptr_nonnull(tp);
  start(NULL);
  src = load(tp, false);
  rev = load(DRAGONFLY_ROOM, isolate);
  for (int ch = 1; ch <= 2; ch++) {
    snprintf(from, sizeof from, "%llu:out_%d", (unsigned long long)src, ch);
    snprintf(to, sizeof to, "out:in_%d", ch);
    ok_of(conn_request(&c, "graph.disconnect", "ss", "from", from, "to", to));
    snprintf(to, sizeof to, "%llu:in_%d", (unsigned long long)rev, ch);
    ok_of(conn_request(&c, "graph.connect", "ss", "from", from, "to", to));
  }
  notes(src, 6, at, 1, 127);
  render(48000);
  return finish(frames);
}

START_TEST(reverb_same_isolated_and_in_process) {
  float *iso, *in = same_both_ways(reverb_render, 48000, &iso);
  double tail = 0.0;

  /* A reverb, not the dry impulses: sound long after the last one. */
  for (sf_count_t i = 2 * 20000; i < 2 * 30000; i++)
    tail += in[i] * in[i];
  ck_assert_msg(tail > 1e-6, "no reverb tail (energy %g)", tail);
  free(in);
  free(iso);
}
END_TEST

/* A plugin that reads the host's time every block (TP_TIME_OUT: out_2 is
 * tempo / 1000, negated while stopped), isolated or not, under a transport
 * that starts and changes tempo mid-render. */
static float *time_render(bool isolate, sf_count_t *frames) {
  const char *tp = getenv("TESTPLUG_TIME");

  ck_assert_ptr_nonnull(tp);
  start(NULL);
  load(tp, isolate);
  ok_of(conn_request(&c, "transport.set", "d", "tempo", 90.0));
  ok_of(conn_request(&c, "transport.set", "bdu", "playing", 1, "tempo", 123.0, "at",
                     (uint64_t)10240));
  ok_of(conn_request(&c, "transport.set", "du", "tempo", 140.0, "at", (uint64_t)20480));
  render(30720);
  return finish(frames);
}

START_TEST(host_time_same_isolated_and_in_process) {
  float *iso, *in = same_both_ways(time_render, 30720, &iso);

  /* What the plugin read: stopped at 90, playing at 123, then 140. */
  ck_assert_float_eq_tol(iso[2 * 5000 + 1], -0.090f, 1e-6f);
  ck_assert_float_eq_tol(iso[2 * 15000 + 1], 0.123f, 1e-6f);
  ck_assert_float_eq_tol(iso[2 * 25000 + 1], 0.140f, 1e-6f);
  free(in);
  free(iso);
}
END_TEST

/* Impulses of the test plugin: a note-on of velocity 127 adds 1.0 at its
 * frame. */
static bool impulse(const float *wav, uint64_t frame, float want) {
  return fabsf(wav[2 * frame] - want) < 1e-6f;
}

START_TEST(crash_leaves_the_rest_playing) {
  const char *crashy = getenv("TESTPLUG_CRASH_AFTER");
  const char *tp = getenv("TESTPLUG");
  uint64_t a, b, at_a[40], at_b[40];
  const msgpack_object *m;
  sf_count_t frames;
  float *wav;
  conn ev;
  unsigned k;

  ck_assert_ptr_nonnull(crashy);
  ck_assert_ptr_nonnull(tp);
  start(NULL);
  conn_open(&ev, dp.socket);
  subscribe(&ev);
  a = load(crashy, true);   /* SIGSEGV in its 41st process call: block 40, frame 10240 */
  b = load(tp, false);
  ck_assert(msg_str_is(list_entry(a), "state", "running"));
  /* A parameter to come back with after the restart. */
  ok_of(conn_request(&c, "plugin.set", "uud", "node", a, "index", (uint64_t)2, "value", 0.7));
  /* a: velocity 127 (1.0) at 100 + 1000 k; b: 63.5/127 at 600 + 1000 k. */
  for (k = 0; k < 20; k++) {
    at_a[k] = 100 + 1000 * k;
    at_b[k] = 600 + 1000 * k;
  }
  notes(a, 20, at_a, 1, 127);
  notes(b, 20, at_b, 1, 127);
  render(20000);
  m = wait_event(&ev, "plugin.crashed", a);
  ck_assert(msg_str_is(m, "reason", "killed by signal 11"));
  ck_assert(msg_str_is(list_entry(a), "state", "crashed"));
  ck_assert(msg_str_is(list_entry(b), "state", "running"));
  /* Restart: it plays again (a fresh host; it will crash again after 40
   * calls, 10240 frames on). */
  /* Read while crashed: the last value seen. */
  ck_assert(fabs(msg_double(ok_of(conn_request(&c, "plugin.get", "uu", "node", a, "index",
                                               (uint64_t)2)), "value") - 0.7) < 1e-6);
  ok_of(conn_request(&c, "plugin.restart", "u", "node", a));
  ck_assert(msg_str_is(list_entry(a), "state", "running"));
  /* Its last state came back: from the new host. */
  ck_assert(fabs(msg_double(ok_of(conn_request(&c, "plugin.get", "uu", "node", a, "index",
                                               (uint64_t)2)), "value") - 0.7) < 1e-6);
  conn_expect_error(&c, conn_request(&c, "plugin.restart", "u", "node", a), "bad_value");
  conn_expect_error(&c, conn_request(&c, "plugin.restart", "u", "node", b), "bad_value");
  for (k = 0; k < 5; k++) {
    at_a[k] = 20100 + 1000 * k;
    at_b[k] = 20600 + 1000 * k;
  }
  notes(a, 5, at_a, 1, 127);
  notes(b, 5, at_b, 1, 127);
  render(5000);
  conn_close(&ev);
  wav = finish(&frames);
  ck_assert_int_eq(frames, 25000);
  for (k = 0; k < 20; k++) {
    /* Before the crash block both sound; from it on only b. */
    uint64_t fa = 100 + 1000 * k, fb = 600 + 1000 * k;

    ck_assert_msg(impulse(wav, fa, fa < 10240 ? 1.0f : 0.0f), "frame %lu: %g", (unsigned long)fa,
                  wav[2 * fa]);
    ck_assert_msg(impulse(wav, fb, 1.0f), "frame %lu: %g", (unsigned long)fb, wav[2 * fb]);
  }
  for (k = 0; k < 5; k++) {
    ck_assert_msg(impulse(wav, 20100 + 1000 * k, 1.0f), "after restart, frame %u: %g",
                  20100 + 1000 * k, wav[2 * (20100 + 1000 * k)]);
    ck_assert(impulse(wav, 20600 + 1000 * k, 1.0f));
  }
  free(wav);
}
END_TEST

START_TEST(missed_deadline_is_silence_and_counted) {
  const char *sleepy = getenv("TESTPLUG_SLEEP_AFTER");
  uint64_t a, at[60];
  const msgpack_object *m;
  sf_count_t frames;
  float *wav;
  conn ev;
  unsigned k;

  ck_assert_ptr_nonnull(sleepy);
  /* Halfway to the 300 ms sleep: the first 19 calls answer well inside it
   * even on a loaded machine, the sleeping ones miss it by as much. */
  start("150");
  conn_open(&ev, dp.socket);
  subscribe(&ev);
  a = load(sleepy, true);   /* sleeps 300 ms in every process call from the 20th */
  for (k = 0; k < 60; k++)
    at[k] = 100 + 256 * k;
  notes(a, 60, at, 1, 127);
  render(60 * 256);
  m = wait_event(&ev, "plugin.error", a);
  ck_assert(msg_str_is(m, "code", "deadline"));
  ck_assert_uint_ge(msg_uint(m, "count"), 1);
  /* The daemon answers within a second meanwhile. */
  ck_assert_ptr_nonnull(msg_ok(conn_reply(&c, conn_request(&c, "ping", ""), 1000)));
  ck_assert_uint_ge(msg_uint(list_entry(a), "missed"), 1);
  ck_assert(msg_str_is(list_entry(a), "state", "running"));
  conn_close(&ev);
  wav = finish(&frames);
  ck_assert_int_eq(frames, 60 * 256);
  for (k = 0; k < 60; k++)
    ck_assert_msg(impulse(wav, at[k], k < 19 ? 1.0f : 0.0f), "block %u: %g", k, wav[2 * at[k]]);
  free(wav);
}
END_TEST

/* ---- host groups: several plugins in one host process ---- */

static uint64_t load_in(const char *path, const char *group) {
  return msg_uint(ok_of(conn_request(&c, "plugin.load", "ss", "path", path, "isolate", group)),
                  "node");
}

/* The daemon's plugin hosts. */
static unsigned host_count(void) {
  return daemon_children(&dp, NULL, 0);
}

/* Two plugins, in process or both in host group "pair": the test plugin's
 * impulses (with a parameter set between them) and the plugin that reads
 * the host's time, under a transport that starts and changes tempo. */
static float *pair_render(bool isolate, sf_count_t *frames) {
  const uint64_t at[6] = { 100, 4000, 4001, 9000, 15000, 15555 };
  const char *tp = getenv("TESTPLUG"), *tt = getenv("TESTPLUG_TIME");
  uint64_t a, b;

  ck_assert_ptr_nonnull(tp);
  ck_assert_ptr_nonnull(tt);
  start(NULL);
  a = isolate ? load_in(tp, "pair") : load(tp, false);
  b = isolate ? load_in(tt, "pair") : load(tt, false);
  if (isolate) {
    ck_assert_uint_eq(host_count(), 1);
    ck_assert(msg_str_is(list_entry(a), "host", "pair"));
    ck_assert(msg_str_is(list_entry(b), "host", "pair"));
  } else {
    ck_assert(sono_map_get(list_entry(a), "host")->type == MSGPACK_OBJECT_NIL);
  }
  notes(a, 6, at, 1, 127);
  ok_of(conn_request(&c, "plugin.set", "uudu", "node", a, "index", (uint64_t)0, "value", 0.3,
                     "at", (uint64_t)8000));
  ok_of(conn_request(&c, "transport.set", "d", "tempo", 90.0));
  ok_of(conn_request(&c, "transport.set", "bdu", "playing", 1, "tempo", 123.0, "at",
                     (uint64_t)10240));
  render(20480);
  return finish(frames);
}

START_TEST(group_same_as_in_process) {
  float *iso, *in = same_both_ways(pair_render, 20480, &iso);

  ck_assert(impulse(in, 100, 1.0f));
  ck_assert_float_eq_tol(in[2 * 5000 + 1], -0.090f, 1e-6f);
  free(in);
  free(iso);
}
END_TEST

/* Two amsynths in one host, against two in process. */
static float *two_amsynths(bool isolate, sf_count_t *frames) {
  const uint64_t on[3] = { 300, 301, 5000 }, off[3] = { 9000, 9001, 12000 };
  uint64_t a, b;

  start(NULL);
  a = isolate ? load_in(AMSYNTH, "synths") : load(AMSYNTH, false);
  b = isolate ? load_in(AMSYNTH, "synths") : load(AMSYNTH, false);
  if (isolate)
    ck_assert_uint_eq(host_count(), 1);
  ok_of(conn_request(&c, "plugin.program", "uu", "node", a, "program", (uint64_t)3));
  ok_of(conn_request(&c, "plugin.program", "uu", "node", b, "program", (uint64_t)7));
  notes(a, 3, on, 1, 100);
  notes(b, 3, on, 1, 90);
  notes(a, 3, off, 0, 0);
  notes(b, 3, off, 0, 0);
  render(16000);
  return finish(frames);
}

START_TEST(group_amsynths_same_as_in_process) {
  amsynth_same_both_ways(two_amsynths, 16000);
}
END_TEST

/* `count` impulses of 1.0 for each of three nodes, 1000 frames apart from
 * `from`: the first's at + 100, the second's at + 300, the third's at +
 * 600; then renders them. */
static void three_notes(uint64_t a, uint64_t g, uint64_t by, uint64_t from, unsigned count) {
  const uint64_t nodes[3] = { a, g, by }, offset[3] = { 100, 300, 600 };
  uint64_t at[20];

  for (unsigned i = 0; i < 3; i++) {
    for (unsigned k = 0; k < count; k++)
      at[k] = from + offset[i] + 1000 * k;
    notes(nodes[i], count, at, 1, 127);
  }
}

/* testplug_int_crash_after faults in its 41st process call of 256 frames. */
#define CRASH_BLOCK_START (40 * 256)
#define CRASH_BLOCK_END (41 * 256)

/* A crash in one plugin of a group takes the group's host down: both of
 * its nodes are crashed, the bystander in the daemon plays on; each is
 * restarted (the first starts a new host for the group, the second joins
 * it) and comes back with its state. */
START_TEST(group_crashes_together) {
  const char *crashy = getenv("TESTPLUG_CRASH_AFTER");
  const char *tp = getenv("TESTPLUG");
  uint64_t a, g, by;
  sf_count_t frames;
  float *wav;
  conn ev;
  unsigned k;

  ck_assert_ptr_nonnull(crashy);
  ck_assert_ptr_nonnull(tp);
  start(NULL);
  conn_open(&ev, dp.socket);
  subscribe(&ev);
  a = load_in(crashy, "grp");   /* SIGSEGV in its 41st process call: frame 10240 */
  g = load_in(tp, "grp");
  by = load(tp, false);
  ck_assert_uint_eq(host_count(), 1);
  /* g's state to come back with (read once: the daemon remembers it). */
  ok_of(conn_request(&c, "plugin.set", "uud", "node", g, "index", (uint64_t)2, "value", 0.7));
  ok_of(conn_request(&c, "sync", ""));
  ck_assert(fabs(msg_double(ok_of(conn_request(&c, "plugin.get", "uu", "node", g, "index",
                                               (uint64_t)2)), "value") - 0.7) < 1e-6);
  /* Impulses of 1.0: a at 100 + 1000 k, g at 300 + 1000 k, by at 600 + 1000 k.
   * The first render ends with a's crash block; the rest is rendered once
   * the host is known dead. */
  three_notes(a, g, by, 0, 20);
  render(CRASH_BLOCK_END);
  /* Both crashed events, in either order. */
  for (bool seen_a = false, seen_g = false; !seen_a || !seen_g;) {
    const msgpack_object *m = conn_recv(&ev, 10000);

    if (msg_str_is(m, "event", "plugin.crashed")) {
      seen_a = seen_a || msg_uint(m, "node") == a;
      seen_g = seen_g || msg_uint(m, "node") == g;
    }
  }
  ck_assert(msg_str_is(list_entry(a), "state", "crashed"));
  ck_assert(msg_str_is(list_entry(g), "state", "crashed"));
  ck_assert(msg_str_is(list_entry(by), "state", "running"));
  ck_assert_uint_eq(host_count(), 0);
  render(20000 - CRASH_BLOCK_END);
  ok_of(conn_request(&c, "plugin.restart", "u", "node", g));
  ok_of(conn_request(&c, "plugin.restart", "u", "node", a));
  ck_assert(msg_str_is(list_entry(a), "state", "running"));
  ck_assert(msg_str_is(list_entry(g), "state", "running"));
  ck_assert_uint_eq(host_count(), 1);   /* one host for the group again */
  ck_assert(fabs(msg_double(ok_of(conn_request(&c, "plugin.get", "uu", "node", g, "index",
                                               (uint64_t)2)), "value") - 0.7) < 1e-6);
  three_notes(a, g, by, 20000, 5);
  render(5000);
  /* Unloading one leaves the other's host running. */
  ok_of(conn_request(&c, "plugin.unload", "u", "node", a));
  ck_assert(msg_str_is(list_entry(g), "state", "running"));
  ck_assert(fabs(msg_double(ok_of(conn_request(&c, "plugin.get", "uu", "node", g, "index",
                                               (uint64_t)2)), "value") - 0.7) < 1e-6);
  ck_assert_uint_eq(host_count(), 1);
  conn_close(&ev);
  wav = finish(&frames);
  ck_assert_int_eq(frames, 25000);
  for (k = 0; k < 20; k++) {
    /* Before the crash block all three sound; after it only by.  In the
     * crash block g may have been answered: it runs on its own thread of
     * the host, which goes on answering until the kernel has taken the
     * whole process down (a sanitizer's SIGSEGV report takes long). */
    uint64_t fa = 100 + 1000 * k, fg = 300 + 1000 * k, fb = 600 + 1000 * k;
    bool g_live = fg < CRASH_BLOCK_START;

    ck_assert_msg(impulse(wav, fa, fa < CRASH_BLOCK_START ? 1.0f : 0.0f), "frame %lu: %g",
                  (unsigned long)fa, wav[2 * fa]);
    ck_assert_msg(impulse(wav, fg, g_live ? 1.0f : 0.0f) ||
                  (fg < CRASH_BLOCK_END && impulse(wav, fg, 1.0f)),
                  "frame %lu: %g", (unsigned long)fg, wav[2 * fg]);
    ck_assert_msg(impulse(wav, fb, 1.0f), "frame %lu: %g", (unsigned long)fb, wav[2 * fb]);
  }
  for (k = 0; k < 5; k++) {
    ck_assert(impulse(wav, 20100 + 1000 * k, 1.0f));
    ck_assert(impulse(wav, 20300 + 1000 * k, 1.0f));
    ck_assert(impulse(wav, 20600 + 1000 * k, 1.0f));
  }
  free(wav);
}
END_TEST

/* The session file records isolation: a saved isolated node comes back
 * isolated, with its parameters, beside one that was not. */
START_TEST(session_keeps_isolation) {
  const char *tp = getenv("TESTPLUG");
  char saved[400];
  uint64_t a, b, g, ids[3];
  bool iso[3], in_s[3];
  const msgpack_object *nodes;
  unsigned isolated = 0;

  ck_assert_ptr_nonnull(tp);
  start(NULL);
  snprintf(saved, sizeof saved, "%s/s.sonod", home);
  a = load(tp, true);
  b = load(tp, false);
  g = load_in(tp, "s");   /* and one in a host group */
  ok_of(conn_request(&c, "plugin.set", "uud", "node", a, "index", (uint64_t)2, "value", 0.3));
  ok_of(conn_request(&c, "plugin.set", "uud", "node", g, "index", (uint64_t)2, "value", 0.3));
  render(256);
  ok_of(conn_request(&c, "state.save", "s", "path", saved));
  ok_of(conn_request(&c, "plugin.unload", "u", "node", a));
  ok_of(conn_request(&c, "plugin.unload", "u", "node", b));
  ok_of(conn_request(&c, "plugin.unload", "u", "node", g));
  ok_of(conn_request(&c, "state.load", "s", "path", saved));
  nodes = sono_map_get(ok_of(conn_request(&c, "plugin.list", "")), "nodes");
  ck_assert_uint_eq(nodes->via.array.size, 3);
  /* (A reply lives until the next request: take what is needed first.) */
  for (uint32_t i = 0; i < 3; i++) {
    ids[i] = msg_uint(&nodes->via.array.ptr[i], "node");
    iso[i] = sono_map_get(&nodes->via.array.ptr[i], "isolated")->via.boolean;
    in_s[i] = msg_str_is(&nodes->via.array.ptr[i], "host", "s");
  }
  ck_assert(!in_s[0] && !in_s[1] && in_s[2] && iso[2]);
  for (uint32_t i = 0; i < 3; i++) {
    double v = msg_double(ok_of(conn_request(&c, "plugin.get", "uu", "node", ids[i], "index",
                                             (uint64_t)2)), "value");

    isolated += iso[i];
    if (iso[i])
      ck_assert_msg(fabs(v - 0.3) < 1e-6, "restored isolated node: index 2 = %g", v);
  }
  ck_assert_uint_eq(isolated, 2);
  render(256);
  free(finish(&(sf_count_t){ 0 }));
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("isolate");
  TCase *tc = tcase_create("isolate");

  tcase_set_timeout(tc, 120);
  if (access(AMSYNTH, R_OK) == 0)
    tcase_add_test(tc, amsynth_same_isolated_and_in_process);
  if (access(DRAGONFLY_ROOM, R_OK) == 0)
    tcase_add_test(tc, reverb_same_isolated_and_in_process);
  tcase_add_test(tc, host_time_same_isolated_and_in_process);
  tcase_add_test(tc, crash_leaves_the_rest_playing);
  tcase_add_test(tc, missed_deadline_is_silence_and_counted);
  tcase_add_test(tc, session_keeps_isolation);
  tcase_add_test(tc, group_same_as_in_process);
  if (access(AMSYNTH, R_OK) == 0)
    tcase_add_test(tc, group_amsynths_same_as_in_process);
  tcase_add_test(tc, group_crashes_together);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(suite)
