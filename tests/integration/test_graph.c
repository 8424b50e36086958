/* Integration: the routing graph in the running daemon (offline backend):
 * a Csound synth through a reverb plugin and straight to out (the tail is
 * there only through the reverb), refused cycles and unknown ports,
 * unloading a node others feed, and 100 rewirings of a sine through a gain
 * node with no jump beyond the fade. */
#include <check.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/rt/graph.h"
#include "protocol/wire.h"
#include "tests/support/check_main.h"
#include "tests/support/harness.h"
#include "tests/support/offline.h"

#define RATE 48000
#define DRAGONFLY_ROOM "/usr/lib/lxvst/DragonflyRoomReverb-vst.so"
#define SINE "|kfreq=440, kamp=0.5|\nasig oscili kamp, kfreq\nouts asig, asig\n"

static daemon_proc dp;
static conn c;
static offline_paths P;
static uint64_t next_id = 1000;

static void start(void) {
  const char *const extra[] = { "--ksmps", "32", NULL };

  offline_start(&dp, &c, &P, "graph", extra);
}

static void finish(void) {
  offline_finish(&dp, &c, &P);
}

static float *read_wav(sf_count_t *frames) {
  return wav_read_stereo(P.out, frames);
}

static const msgpack_object *ok_of(uint64_t id) {
  return conn_ok(&c, id);
}

static void expect_error(uint64_t id, const char *code) {
  conn_expect_error(&c, id, code);
}

static void render(uint64_t frames) {
  ok_of(conn_request(&c, "render", "u", "frames", frames));
}

static void connect_(const char *from, const char *to) {
  ok_of(conn_request(&c, "graph.connect", "ss", "from", from, "to", to));
}

static void disconnect(const char *from, const char *to) {
  ok_of(conn_request(&c, "graph.disconnect", "ss", "from", from, "to", to));
}

static void synth(double dur) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  uint64_t id = next_id++;

  ok_of(conn_request(&c, "instr.define", "ssi", "name", "sine", "body", SINE, "priority",
                     (int64_t)1));
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 5);
  sono_pack_key_uint(&pk, "id", id);
  sono_pack_key_str(&pk, "op", "synth.start");
  sono_pack_key_str(&pk, "instr", "sine");
  sono_pack_key_uint(&pk, "at", 0);
  sono_pack_key_double(&pk, "dur", dur);
  conn_send_payload(&c, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  ok_of(id);
}

static uint64_t gain_node(unsigned channels) {
  return msg_uint(ok_of(conn_request(&c, "node.new", "su", "kind", "gain", "channels",
                                     (uint64_t)channels)),
                  "node");
}

/* Energy of both channels over frames [a, b). */
static double energy(const float *d, sf_count_t a, sf_count_t b) {
  double e = 0;
  sf_count_t i;

  for (i = 2 * a; i < 2 * b; i++)
    e += (double)d[i] * d[i];
  return e;
}

/* Renders one second of a 0.2 s sine, through the reverb or not; returns
 * the energy of the last half second (the synth has long stopped). */
static double tail(bool through_reverb, double *head) {
  sf_count_t frames;
  float *d;
  double e;

  start();
  if (through_reverb) {
    const msgpack_object *ok = ok_of(conn_request(&c, "plugin.load", "s", "path", DRAGONFLY_ROOM));
    char p[32], in[32];
    uint64_t node = msg_uint(ok, "node");

    /* Csound was auto-connected to out: route it through the reverb instead
     * (the reverb was auto-connected to out). */
    disconnect("csound:out_1", "out:in_1");
    disconnect("csound:out_2", "out:in_2");
    snprintf(p, sizeof p, "%llu:in_1", (unsigned long long)node);
    snprintf(in, sizeof in, "%llu:in_2", (unsigned long long)node);
    connect_("csound:out_1", p);
    connect_("csound:out_2", in);
  }
  synth(0.2);
  render(RATE);
  finish();
  d = read_wav(&frames);
  ck_assert_int_ge(frames, RATE);
  *head = energy(d, 0, RATE / 5);
  e = energy(d, RATE / 2, RATE);
  free(d);
  return e;
}

START_TEST(reverb_tail_only_through_the_effect) {
  double head_dry, head_wet;
  double dry = tail(false, &head_dry);
  double wet = tail(true, &head_wet);

  fprintf(stderr, "graph: tail energy dry %g, through the reverb %g\n", dry, wet);
  ck_assert_msg(head_dry > 100 && head_wet > 1, "no sound: dry %g wet %g", head_dry, head_wet);
  ck_assert_msg(dry < 1e-9, "dry tail energy %g", dry);
  ck_assert_msg(wet > 1e-3, "reverb tail energy %g", wet);
}
END_TEST

START_TEST(errors_are_refused) {
  uint64_t a, b;
  char s1[32], s2[32], s3[32];

  start();
  a = gain_node(1);
  b = gain_node(1);
  snprintf(s1, sizeof s1, "%llu:out_1", (unsigned long long)a);
  snprintf(s2, sizeof s2, "%llu:in_1", (unsigned long long)b);
  connect_(s1, s2);
  /* b -> a would close a -> b -> a; a -> a is a cycle too. */
  snprintf(s1, sizeof s1, "%llu:out_1", (unsigned long long)b);
  snprintf(s2, sizeof s2, "%llu:in_1", (unsigned long long)a);
  expect_error(conn_request(&c, "graph.connect", "ss", "from", s1, "to", s2), "cycle");
  snprintf(s1, sizeof s1, "%llu:out_1", (unsigned long long)a);
  expect_error(conn_request(&c, "graph.connect", "ss", "from", s1, "to", s2), "cycle");
  expect_error(conn_request(&c, "graph.connect", "ss", "from", "999:out_1", "to", "out:in_1"),
               "unknown_node");
  expect_error(conn_request(&c, "graph.connect", "ss", "from", "nowhere:out_1", "to", "out:in_1"),
               "unknown_node");
  expect_error(conn_request(&c, "graph.connect", "ss", "from", "csound:out_9", "to", "out:in_1"),
               "unknown_port");
  expect_error(conn_request(&c, "graph.connect", "ss", "from", "out:in_1", "to", "out:in_1"),
               "unknown_port");
  snprintf(s3, sizeof s3, "%llu:in_2", (unsigned long long)b);
  expect_error(conn_request(&c, "graph.connect", "ss", "from", "csound:out_1", "to", s3),
               "unknown_port");
  expect_error(conn_request(&c, "graph.disconnect", "ss", "from", "in:out_1", "to", "out:in_1"),
               "not_connected");
  {
    const msgpack_object *ok = ok_of(conn_request(&c, "graph.get", ""));
    const msgpack_object *order = sono_map_get(ok, "order");
    const msgpack_object *conns = sono_map_get(ok, "connections");
    const msgpack_object *nodes = sono_map_get(ok, "nodes");

    ck_assert_ptr_nonnull(order);
    /* out, in, csound, a, b; csound -> out (2) and a -> b. */
    ck_assert_uint_eq(nodes->via.array.size, 5);
    ck_assert_uint_eq(conns->via.array.size, 3);
    ck_assert_uint_eq(order->via.array.size, 2);   /* csound, out */
    ck_assert(order->via.array.ptr[1].type == MSGPACK_OBJECT_STR);
  }
  finish();
}
END_TEST

START_TEST(unloading_a_node_others_feed) {
  const char *tp = getenv("TESTPLUG");
  const msgpack_object *ok;
  uint64_t node, g;
  char s[32], t[32];
  unsigned i;

  ck_assert_ptr_nonnull(tp);
  start();
  node = msg_uint(ok_of(conn_request(&c, "plugin.load", "s", "path", tp)), "node");
  g = gain_node(2);
  /* csound -> gain -> plugin -> out */
  for (i = 1; i <= 2; i++) {
    snprintf(s, sizeof s, "csound:out_%u", i);
    snprintf(t, sizeof t, "%llu:in_%u", (unsigned long long)g, i);
    connect_(s, t);
    snprintf(s, sizeof s, "%llu:out_%u", (unsigned long long)g, i);
    snprintf(t, sizeof t, "%llu:in_%u", (unsigned long long)node, i);
    connect_(s, t);
  }
  synth(-1);
  render(4096);
  ok_of(conn_request(&c, "plugin.unload", "u", "node", node));
  render(4096);
  ok = ok_of(conn_request(&c, "graph.get", ""));
  {
    const msgpack_object *conns = sono_map_get(ok, "connections");
    const msgpack_object *nodes = sono_map_get(ok, "nodes");
    uint32_t k;

    /* Only csound -> out and csound -> gain remain; gain is inactive. */
    ck_assert_uint_eq(nodes->via.array.size, 4);
    ck_assert_uint_eq(conns->via.array.size, 4);
    for (k = 0; k < nodes->via.array.size; k++) {
      const msgpack_object *n = &nodes->via.array.ptr[k];
      if (msg_str_is(n, "kind", "gain"))
        ck_assert(!sono_map_get(n, "active")->via.boolean);
    }
  }
  render(1024);
  finish();
}
END_TEST

START_TEST(rewiring_under_load_stays_smooth) {
  sf_count_t frames, i;
  uint64_t g;
  char gin1[32], gin2[32], gout1[32], gout2[32];
  float *d;
  double jump = 0;
  unsigned k;

  start();
  g = gain_node(2);
  snprintf(gin1, sizeof gin1, "%llu:in_1", (unsigned long long)g);
  snprintf(gin2, sizeof gin2, "%llu:in_2", (unsigned long long)g);
  snprintf(gout1, sizeof gout1, "%llu:out_1", (unsigned long long)g);
  snprintf(gout2, sizeof gout2, "%llu:out_2", (unsigned long long)g);
  connect_("csound:out_1", gin1);
  connect_("csound:out_2", gin2);
  connect_(gout1, "out:in_1");
  connect_(gout2, "out:in_2");
  disconnect("csound:out_1", "out:in_1");
  disconnect("csound:out_2", "out:in_2");
  synth(-1);
  render(2048);
  for (k = 0; k < 100; k++) {
    if (k % 2 == 0) {
      disconnect(gout1, "out:in_1");
      disconnect(gout2, "out:in_2");
    } else {
      connect_(gout1, "out:in_1");
      connect_(gout2, "out:in_2");
    }
    if (k % 10 == 5)
      ok_of(conn_request(&c, "node.gain", "ud", "node", g, "gain", 0.5));
    if (k % 10 == 8)
      ok_of(conn_request(&c, "node.gain", "ud", "node", g, "gain", 1.0));
    render(k % 3 == 0 ? 128 : 512);   /* some changes land mid-fade */
  }
  render(2048);
  finish();
  d = read_wav(&frames);
  /* A 440 Hz sine of 0.5 moves at most 0.029 a sample; a fade of 256
   * frames adds at most 0.5/256 = 0.002.  A cut would jump up to 0.5. */
  for (i = 1; i < frames; i++) {
    double j = fabs((double)d[2 * i] - d[2 * (i - 1)]);
    if (j > jump)
      jump = j;
  }
  fprintf(stderr, "graph: largest jump over 100 rewirings %g\n", jump);
  ck_assert_msg(jump < 0.035, "largest sample-to-sample jump %g", jump);
  ck_assert_msg(energy(d, 0, 2048) > 10, "no sound");
  free(d);
}
END_TEST

START_TEST(unloading_a_sounding_plugin_fades) {
  const char *tp = getenv("TESTPLUG");
  uint64_t node, from;
  sf_count_t frames, i;
  char in1[32], in2[32];
  double jump = 0;
  float *d;

  ck_assert_ptr_nonnull(tp);
  start();
  node = msg_uint(ok_of(conn_request(&c, "plugin.load", "s", "path", tp)), "node");
  /* csound -> plugin (the test plugin passes its input through) -> out */
  snprintf(in1, sizeof in1, "%llu:in_1", (unsigned long long)node);
  snprintf(in2, sizeof in2, "%llu:in_2", (unsigned long long)node);
  connect_("csound:out_1", in1);
  connect_("csound:out_2", in2);
  disconnect("csound:out_1", "out:in_1");
  disconnect("csound:out_2", "out:in_2");
  synth(-1);
  render(4096);
  from = msg_uint(ok_of(conn_request(&c, "plugin.unload", "u", "node", node)), "frame");
  ck_assert_uint_eq(from, 4096);
  render(4096);
  /* Gone from the graph once the fade has settled: out, in, csound. */
  ck_assert_uint_eq(sono_map_get(ok_of(conn_request(&c, "graph.get", "")), "nodes")->via.array.size,
                    3);
  finish();
  d = read_wav(&frames);
  ck_assert_msg(energy(d, 2048, 4096) > 10, "no sound through the plugin");
  for (i = 1; i < frames; i++) {
    double j = fabs((double)d[2 * i] - d[2 * (i - 1)]);
    if (j > jump)
      jump = j;
  }
  /* A cut at the unload would jump by up to the sine's 0.5. */
  ck_assert_msg(jump < 0.035, "largest sample-to-sample jump %g", jump);
  ck_assert_msg(energy(d, (sf_count_t)from, (sf_count_t)from + 64) > 0, "no fade: silent at once");
  for (i = (sf_count_t)from + GRAPH_FADE_FRAMES; i < frames; i++)
    ck_assert_msg(d[2 * i] == 0.0f && d[2 * i + 1] == 0.0f, "sound at %ld after the fade",
                  (long)i);
  free(d);
}
END_TEST

/* A node that outputs NaN (and infinity) does not silence the mix: its
 * output is silenced instead, and the test tone on the outputs still
 * sounds; the node is named in a node.nonfinite event and in status, and
 * its meter shows NaN and infinity, not 0.  The node is Csound's (a
 * plugin's NaN is already made 0 in the plugin's own call, plugin.error
 * non_finite): without the graph's guard the mix is NaN for good. */
START_TEST(a_nan_node_does_not_silence_the_mix) {
  const char *kinds[] = { "node" };
  const msgpack_object *st, *nodes, *m;
  uint64_t sub = next_id++;
  sf_count_t frames, i;
  bool event = false, named = false, nan_meter = false, rendered = false;
  uint64_t rid;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  float *d;
  uint32_t k;

  start();
  conn_subscribe(&c, sub, kinds, 1);
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 4);
  sono_pack_key_uint(&pk, "id", next_id++);
  sono_pack_key_str(&pk, "op", "meter.subscribe");
  sono_pack_key_uint(&pk, "rate", 10);
  sono_pack_cstr(&pk, "nodes");
  msgpack_pack_array(&pk, 1);
  sono_pack_cstr(&pk, "csound");
  conn_send_payload(&c, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  /* NaN on out_1, +infinity on out_2, from k-rate arithmetic. */
  ok_of(conn_request(&c, "csound.compile", "s", "code",
                     "instr 9\nkz = 0\nkinf = -log(kz)\nknan = kinf - kinf\n"
                     "a1 upsamp knan\na2 upsamp kinf\nouts a1, a2\nendin\n"));
  /* After the compile's merge, in the first k-cycle. */
  ok_of(conn_request(&c, "csound.event", "su", "line", "i 9 0 -1", "at", (uint64_t)1024));
  ok_of(conn_request(&c, "engine.tone", "bddu", "on", 1, "freq", 1000.0, "amp", 0.5, "at",
                     (uint64_t)0));
  rid = conn_request(&c, "render", "u", "frames", (uint64_t)(RATE / 2));
  /* Meter events come during the render, the event with the control
   * thread's next tick. */
  while (!(event && rendered)) {
    const msgpack_object *mid;

    m = conn_recv(&c, 5000);   /* fails the test when nothing comes */
    mid = sono_map_get(m, "id");
    if (mid != NULL && mid->via.u64 == rid) {
      ck_assert_ptr_nonnull(msg_ok(m));
      rendered = true;
    } else if (msg_str_is(m, "event", "node.nonfinite")) {
      ck_assert(msg_str_is(m, "node", "csound"));
      ck_assert_uint_gt(msg_uint(m, "blocks"), 0);
      event = true;
    } else if (msg_str_is(m, "event", "meter")) {
      const msgpack_object *ns = sono_map_get(m, "nodes"), *ports;

      ports = ns != NULL && ns->via.array.size > 0 ? sono_map_get(&ns->via.array.ptr[0], "ports")
                                                 : NULL;
      if (ports != NULL && ports->via.array.size >= 2) {
        double p0 = msg_double(&ports->via.array.ptr[0], "peak");
        double p1 = msg_double(&ports->via.array.ptr[1], "peak");

        nan_meter = nan_meter || (isnan(p0) && isinf(p1));
      }
    }
  }
  ck_assert_msg(event, "no node.nonfinite event");
  ck_assert_msg(nan_meter, "the node's meter did not show NaN and infinity");
  st = ok_of(conn_request(&c, "status", ""));
  nodes = sono_map_get(st, "nodes");
  ck_assert_ptr_nonnull(nodes);
  for (k = 0; k < nodes->via.array.size; k++) {
    const msgpack_object *n = &nodes->via.array.ptr[k];

    if (msg_str_is(n, "node", "csound")) {
      ck_assert_uint_gt(msg_uint(n, "nonfinite"), 0);
      named = true;
    } else {
      ck_assert_uint_eq(msg_uint(n, "nonfinite"), 0);
    }
  }
  ck_assert(named);
  finish();
  d = read_wav(&frames);
  for (i = 0; i < 2 * frames; i++)
    ck_assert_msg(isfinite(d[i]), "sample %ld is %g", (long)i, (double)d[i]);
  ck_assert_msg(energy(d, 2048, frames) > 10, "the mix was silenced");
  free(d);
}
END_TEST

/* Switching a plugin's bypass crossfades between its output and its input:
 * the test plugin at a tenth of its input against the dry sine, switched
 * eight times while a sine plays, never jumps more than the sine moves. */
START_TEST(bypassing_a_sounding_plugin_crossfades) {
  const char *tp = getenv("TESTPLUG");
  uint64_t node, at[8];
  sf_count_t frames, i;
  char in1[32], in2[32];
  double jump = 0, wet, dry;
  unsigned t;
  float *d;

  ck_assert_ptr_nonnull(tp);
  start();
  node = msg_uint(ok_of(conn_request(&c, "plugin.load", "s", "path", tp)), "node");
  /* out = in × 2 × param0: 0.1 with param0 0.05. */
  ok_of(conn_request(&c, "plugin.set", "uud", "node", node, "index", (uint64_t)0, "value", 0.05));
  snprintf(in1, sizeof in1, "%llu:in_1", (unsigned long long)node);
  snprintf(in2, sizeof in2, "%llu:in_2", (unsigned long long)node);
  connect_("csound:out_1", in1);
  connect_("csound:out_2", in2);
  disconnect("csound:out_1", "out:in_1");
  disconnect("csound:out_2", "out:in_2");
  synth(-1);
  render(2048);
  for (t = 0; t < 8; t++) {
    at[t] = msg_uint(ok_of(conn_request(&c, "node.bypass", "ub", "node", node, "on",
                                        (bool)(t % 2 == 0))),
                     "frame");
    render(1024);
  }
  finish();
  d = read_wav(&frames);
  /* The switch changes the signal: dry (bypassed) is ten times the wet. */
  wet = energy(d, 1024, 2048);
  dry = energy(d, (sf_count_t)at[0] + GRAPH_FADE_FRAMES, (sf_count_t)at[1]);
  ck_assert_msg(wet > 0.1, "no sound through the plugin");
  ck_assert_msg(dry > 20 * wet, "bypass does not change the signal: %g vs %g", dry, wet);
  ck_assert_uint_eq(at[7], at[6] + 1024);
  for (i = 1; i < frames; i++) {
    double j = fabs((double)d[2 * i] - d[2 * (i - 1)]);
    if (j > jump)
      jump = j;
  }
  /* An immediate switch would jump by up to 0.45. */
  ck_assert_msg(jump < 0.035, "largest sample-to-sample jump %g", jump);
  free(d);
}
END_TEST

static Suite *graph_suite(void) {
  Suite *s = suite_create("graph");
  TCase *tc = tcase_create("core");

  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, reverb_tail_only_through_the_effect);
  tcase_add_test(tc, errors_are_refused);
  tcase_add_test(tc, unloading_a_node_others_feed);
  tcase_add_test(tc, rewiring_under_load_stays_smooth);
  tcase_add_test(tc, unloading_a_sounding_plugin_fades);
  tcase_add_test(tc, bypassing_a_sounding_plugin_crossfades);
  tcase_add_test(tc, a_nan_node_does_not_silence_the_mix);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(graph_suite)
