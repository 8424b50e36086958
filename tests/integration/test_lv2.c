/* Integration: LV2 plugins in the running daemon (offline backend), over
 * the real protocol: plugin.load {uri}, format in replies, parameters by
 * symbol, a sample-exact note, an LV2 and a VST2 plugin in one chain with
 * a measured transfer, the session round trip, refusals (a missing
 * feature, outside the LV2 path), and plugin.scan listing LV2
 * plugins.  Debian's mda-lv2 and x42-plugins (scripts/setup.sh) and the
 * test bundle built in tests/lv2 (LV2_PATH). */
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
#include "tests/support/offline.h"

#define RATE 48000
#define DX10 "http://drobilla.net/plugins/mda/DX10"
#define BALANCE "http://gareus.org/oss/lv2/balance"
#define NEEDS_FEATURE "urn:sonod:test:needs-feature"
#define SINE "|kfreq=440, kamp=0.5|\nasig oscili kamp, kfreq\nouts asig, asig\n"

static daemon_proc dp;
static conn c;
static offline_paths P;
static uint64_t next_id = 1000;

static void start(void) {
  offline_start(&dp, &c, &P, "lv2", NULL);
}

static void finish(void) {
  offline_finish(&dp, &c, &P);
}

static const msgpack_object *ok_of(uint64_t id) { return conn_ok(&c, id); }

static void expect_error(uint64_t id, const char *code) { conn_expect_error(&c, id, code); }

static void render(uint64_t frames) { ok_of(conn_request(&c, "render", "u", "frames", frames)); }

static uint64_t load_uri(const char *uri) {
  const msgpack_object *ok = ok_of(conn_request(&c, "plugin.load", "s", "uri", uri));
  ck_assert(msg_str_is(ok, "format", "lv2"));
  ck_assert(msg_str_is(ok, "uri", uri));
  return msg_uint(ok, "node");
}

static void note(uint64_t node, const char *type, uint64_t at) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  uint64_t id = next_id++;

  midi_begin(&sb, &pk, id, node, 1);
  msgpack_pack_map(&pk, 5);
  sono_pack_key_str(&pk, "type", type);
  sono_pack_key_uint(&pk, "channel", 0);
  sono_pack_key_uint(&pk, "note", 60);
  sono_pack_key_uint(&pk, "velocity", 100);
  sono_pack_key_uint(&pk, "at", at);
  ok_of(midi_send(&c, &sb, id));
}

/* A string field as a C string (static buffer), "" when absent. */
static const char *str_of(const msgpack_object *m, const char *key) {
  static char buf[1024];
  const msgpack_object *v = sono_map_get(m, key);
  size_t n;

  buf[0] = '\0';
  if (v != NULL && v->type == MSGPACK_OBJECT_STR) {
    n = v->via.str.size < sizeof buf - 1 ? v->via.str.size : sizeof buf - 1;
    memcpy(buf, v->via.str.ptr, n);
    buf[n] = '\0';
  }
  return buf;
}

static const msgpack_object *param(uint64_t node, const char *name) {
  return ok_of(conn_request(&c, "plugin.get", "us", "node", node, "name", name));
}

/* An instrument by URI: described, listed with its format, parameters by
 * symbol with ranges, and a note at frame 1000 (inside a 256-frame block)
 * sounds from exactly that frame. */
START_TEST(instrument_by_uri) {
  const uint64_t n1 = 1000;
  const msgpack_object *ok, *arr;
  uint64_t node;
  sf_count_t frames, i;
  float *wav;
  bool sound = false;

  start();
  node = load_uri(DX10);
  ok = ok_of(conn_request(&c, "plugin.list", ""));
  arr = sono_map_get(ok, "nodes");
  ck_assert_uint_eq(arr->via.array.size, 1);
  ck_assert(msg_str_is(&arr->via.array.ptr[0], "format", "lv2"));
  ck_assert(msg_str_is(&arr->via.array.ptr[0], "path", DX10));
  ok = ok_of(conn_request(&c, "status", ""));
  arr = sono_map_get(ok, "plugins");
  ck_assert(msg_str_is(&arr->via.array.ptr[0], "format", "lv2"));
  ok = ok_of(conn_request(&c, "plugin.programs", "u", "node", node));
  ck_assert_uint_eq(sono_map_get(ok, "programs")->via.array.size, 32);
  /* A parameter by its port symbol, with its range. */
  ok = param(node, "Attack");
  ck_assert(msg_str_is(ok, "symbol", "attack"));
  ok_of(conn_request(&c, "plugin.set", "usd", "node", node, "name", "attack", "value", 0.5));
  ok = param(node, "attack");
  ck_assert(msg_str_is(ok, "name", "Attack"));
  ck_assert(fabs(msg_double(ok, "value") - 0.5) < 1e-6);
  ck_assert(msg_double(ok, "max") > msg_double(ok, "min"));
  ck_assert(fabs(msg_double(ok, "plain") -
                 (msg_double(ok, "min") + 0.5 * (msg_double(ok, "max") - msg_double(ok, "min")))) <
            1e-4);
  ok_of(conn_request(&c, "plugin.set", "usd", "node", node, "name", "attack", "value", 0.0));
  note(node, "note_on", n1);
  note(node, "note_off", n1 + 4000);
  render(n1 + 8000);
  finish();

  wav = wav_read_stereo(P.out, &frames);
  ck_assert_int_eq(frames, (sf_count_t)(n1 + 8000));
  for (i = 0; i < (sf_count_t)n1; i++)
    ck_assert_msg(wav[2 * i] == 0.0f && wav[2 * i + 1] == 0.0f, "sound at %ld before %lu", (long)i,
                  (unsigned long)n1);
  for (i = (sf_count_t)n1; i < (sf_count_t)n1 + 8; i++)
    sound = sound || wav[2 * i] != 0.0f;
  ck_assert_msg(sound, "no sound within 8 frames of %lu", (unsigned long)n1);
  free(wav);
  unlink(P.out);
}
END_TEST

/* The entry of array `key` in m whose field `field` is the string want. */
static const msgpack_object *entry(const msgpack_object *m, const char *key, const char *field,
                                   const char *want) {
  const msgpack_object *a = sono_map_get(m, key);

  ck_assert_msg(a != NULL && a->type == MSGPACK_OBJECT_ARRAY, "no array %s", key);
  for (uint32_t i = 0; i < a->via.array.size; i++)
    if (msg_str_is(&a->via.array.ptr[i], field, want))
      return &a->via.array.ptr[i];
  ck_abort_msg("no %s with %s %s", key, field, want);
  return NULL;
}

/* Port groups: DX10's envelope controls and its main stereo output, the
 * group of each parameter and audio port, and the audio ports' symbols and
 * designations in graph order. */
START_TEST(port_groups_reported) {
  const msgpack_object *ok, *g;
  uint64_t node;

  start();
  node = load_uri(DX10);
  ok = ok_of(conn_request(&c, "plugin.params", "u", "node", node));
  ck_assert_uint_eq(sono_map_get(ok, "groups")->via.array.size, 2);
  g = entry(ok, "groups", "symbol", "env");
  ck_assert(msg_str_is(g, "label", "Envelope"));
  ck_assert(msg_str_is(g, "direction", "input"));
  ck_assert(!sono_map_get(g, "main")->via.boolean);
  g = entry(ok, "groups", "symbol", "out");
  ck_assert(msg_str_is(g, "type", "StereoGroup"));
  ck_assert(msg_str_is(g, "direction", "output"));
  ck_assert(sono_map_get(g, "main")->via.boolean);
  g = entry(ok, "params", "symbol", "attack");
  ck_assert(msg_str_is(g, "group", "env"));
  g = entry(ok, "params", "symbol", "coarse");
  ck_assert_int_eq(sono_map_get(g, "group")->type, MSGPACK_OBJECT_NIL);
  ck_assert_uint_eq(sono_map_get(ok, "audio")->via.array.size, 2);
  g = entry(ok, "audio", "port", "out_1");
  ck_assert(msg_str_is(g, "symbol", "left_out"));
  ck_assert(msg_str_is(g, "group", "out"));
  ck_assert(msg_str_is(g, "designation", "left"));
  g = entry(ok, "audio", "port", "out_2");
  ck_assert(msg_str_is(g, "designation", "right"));
  ok = param(node, "attack");
  ck_assert(msg_str_is(ok, "group", "env"));
  finish();
  unlink(P.out);
}
END_TEST

static void connect_(const char *from, const char *to) {
  ok_of(conn_request(&c, "graph.connect", "ss", "from", from, "to", to));
}

static void disconnect(const char *from, const char *to) {
  ok_of(conn_request(&c, "graph.disconnect", "ss", "from", from, "to", to));
}

static void port(char *buf, size_t len, uint64_t node, const char *p) {
  snprintf(buf, len, "%llu:%s", (unsigned long long)node, p);
}

/* The left channel's peak over the last quarter second of the output
 * (read, then removed); its last right sample in *right when not NULL. */
static double tail_peak(float *right) {
  sf_count_t frames, i;
  float *wav = wav_read_stereo(P.out, &frames);
  double peak = 0;

  for (i = frames - RATE / 4; i < frames; i++)
    peak = fmax(peak, fabs(wav[2 * i]));
  if (right != NULL)
    *right = wav[2 * (frames - 1) + 1];
  free(wav);
  return peak;
}

/* Instrument `name` defined with body and played for 2 s, from frame 0
 * (at0) or from now. */
static void play(const char *name, const char *body, bool at0) {
  uint64_t id = next_id++;
  msgpack_sbuffer sb;
  msgpack_packer pk;

  ok_of(conn_request(&c, "instr.define", "ssi", "name", name, "body", body, "priority",
                     (int64_t)1));
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, at0 ? 5 : 4);
  sono_pack_key_uint(&pk, "id", id);
  sono_pack_key_str(&pk, "op", "synth.start");
  sono_pack_key_str(&pk, "instr", name);
  if (at0)
    sono_pack_key_uint(&pk, "at", 0);
  sono_pack_key_double(&pk, "dur", 2.0);
  conn_send_payload(&c, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  ok_of(id);
}

/* Csound's 0.5 sine on both outputs. */
static void sine(bool at0) { play("sine", SINE, at0); }

/* csound sine (0.5) -> LV2 balance (trim -6.02 dB: x0.5) -> VST2 test
 * plugin (x2 x param 0.75 = x1.5) -> out: a peak of 0.375. */
START_TEST(lv2_and_vst2_in_one_chain) {
  uint64_t lv2, vst;
  const char *testplug = getenv("TESTPLUG");
  char a[32], b[32];
  sf_count_t frames, i;
  float *wav;
  double pk0 = 0, pk1 = 0;

  ck_assert_ptr_nonnull(testplug);
  start();
  lv2 = load_uri(BALANCE);
  ok_of(conn_request(&c, "plugin.set", "usd", "node", lv2, "name", "trim", "value",
                     (-20.0 * log10(2.0) + 20.0) / 40.0));
  vst = msg_uint(ok_of(conn_request(&c, "plugin.load", "s", "path", testplug)), "node");
  ok_of(conn_request(&c, "plugin.set", "uud", "node", vst, "index", (uint64_t)0, "value", 0.75));
  /* Both plugins were connected to out; Csound too: rewire. */
  disconnect("csound:out_1", "out:in_1");
  disconnect("csound:out_2", "out:in_2");
  port(a, sizeof a, lv2, "out_1");
  disconnect(a, "out:in_1");
  port(a, sizeof a, lv2, "out_2");
  disconnect(a, "out:in_2");
  port(b, sizeof b, lv2, "in_1");
  connect_("csound:out_1", b);
  port(b, sizeof b, lv2, "in_2");
  connect_("csound:out_2", b);
  port(a, sizeof a, lv2, "out_1");
  port(b, sizeof b, vst, "in_1");
  connect_(a, b);
  port(a, sizeof a, lv2, "out_2");
  port(b, sizeof b, vst, "in_2");
  connect_(a, b);
  sine(true);
  render(RATE * 3 / 2);
  finish();
  wav = wav_read_stereo(P.out, &frames);
  ck_assert_int_eq(frames, RATE * 3 / 2);
  for (i = RATE; i < frames; i++) {
    pk0 = fmax(pk0, fabs(wav[2 * i]));
    pk1 = fmax(pk1, fabs(wav[2 * i + 1]));
  }
  ck_assert_msg(fabs(pk0 - 0.375) < 0.004 && fabs(pk1 - 0.375) < 0.004, "peaks %g %g, want 0.375",
                pk0, pk1);
  free(wav);
  unlink(P.out);
}
END_TEST

/* Control outputs: x42's true-peak meter fed a 0.5 sine reads 0.5 at its
 * "peak" output (plugin.get {output}), plugin.params lists its outputs,
 * and a subscriber gets plugin.output events as they move. */
START_TEST(control_outputs) {
  const msgpack_object *ok;
  uint64_t node;
  char b[32];
  const char *kinds[] = {"plugin"};
  conn ev;

  start();
  /* Events on a connection of their own: conn_reply skips the events
   * that come before a reply. */
  conn_open(&ev, dp.socket);
  conn_subscribe(&ev, 1, kinds, 1);
  node = load_uri("http://gareus.org/oss/lv2/meters#dBTPmono");
  port(b, sizeof b, node, "in_1");
  connect_("csound:out_1", b);
  sine(true);
  render(RATE / 2);
  ok = ok_of(conn_request(&c, "plugin.get", "us", "node", node, "output", "peak"));
  ck_assert(sono_map_get(ok, "output")->via.boolean);
  ck_assert_msg(fabs(msg_double(ok, "value") - 0.5) < 0.005, "peak %g", msg_double(ok, "value"));
  ok = ok_of(conn_request(&c, "plugin.params", "u", "node", node));
  ck_assert_uint_ge(sono_map_get(ok, "outputs")->via.array.size, 2);
  expect_error(conn_request(&c, "plugin.get", "us", "node", node, "output", "nothing"),
               "unknown_param");
  /* The poll (25 Hz) reports outputs that moved: peak, from 0. */
  ck_assert_msg(conn_event_for(&ev, "plugin.output", node, "peak", 10000) != NULL,
                "no plugin.output event for peak");
  conn_close(&ev);
  finish();
  unlink(P.out);
}
END_TEST

/* A property (patch:Set) names a file: convoLV2 loads the impulse
 * response (on the offline backend its worker runs at once), and the
 * sine comes out at the IR's gain (0.5 x 0.5).  A path outside the file
 * roots and the LV2 path is refused. */
START_TEST(property_sets_a_file) {
  const char *ir = "/usr/lib/lv2/zeroconvo.lv2/ir/delta-48k.wav";
  const char *prop = "http://gareus.org/oss/lv2/convoLV2#impulse";
  const msgpack_object *ok;
  uint64_t node;
  char b[32];
  double p0;

  start();
  node = load_uri("http://gareus.org/oss/lv2/convoLV2#Mono");
  ok = ok_of(conn_request(&c, "plugin.params", "u", "node", node));
  ck_assert_uint_eq(sono_map_get(ok, "properties")->via.array.size, 1);
  ck_assert(msg_str_is(&sono_map_get(ok, "properties")->via.array.ptr[0], "uri", prop));
  expect_error(conn_request(&c, "plugin.set", "uss", "node", node, "property", prop, "value",
                            "/etc/passwd"),
               "denied");
  expect_error(conn_request(&c, "plugin.set", "uss", "node", node, "property", "urn:nothing",
                            "value", ir),
               "unknown_param");
  disconnect("csound:out_1", "out:in_1");
  disconnect("csound:out_2", "out:in_2");
  port(b, sizeof b, node, "in_1");
  connect_("csound:out_1", b);
  ok_of(conn_request(&c, "plugin.set", "uss", "node", node, "property", prop, "value", ir));
  sine(true);
  render(RATE / 2);
  finish();
  p0 = tail_peak(NULL);
  ck_assert_msg(fabs(p0 - 0.25) < 0.003, "peak %g, want 0.25", p0);
  unlink(P.out);
}
END_TEST

/* patch:Get: a property's value is what the plugin reports on its notify
 * port.  convoLV2 reports nothing before it has an impulse response, then
 * the file it loaded (from its worker's answer): plugin.get {property},
 * plugin.params and a plugin.property event say so. */
START_TEST(property_read_back) {
  const char *ir = "/usr/lib/lv2/zeroconvo.lv2/ir/delta-48k.wav";
  const char *prop = "http://gareus.org/oss/lv2/convoLV2#impulse";
  const char *kinds[] = {"plugin"};
  const msgpack_object *ok, *v, *m;
  uint64_t node;
  conn ev;

  start();
  node = load_uri("http://gareus.org/oss/lv2/convoLV2#Mono");
  render(512);
  ok = ok_of(conn_request(&c, "plugin.get", "us", "node", node, "property", prop));
  ck_assert(msg_str_is(ok, "uri", prop));
  ck_assert(sono_map_get(ok, "writable")->via.boolean);
  ck_assert_int_eq(sono_map_get(ok, "value")->type, MSGPACK_OBJECT_NIL);
  expect_error(conn_request(&c, "plugin.get", "us", "node", node, "property", "urn:nothing"),
               "unknown_param");
  /* Events on a connection of their own: conn_reply skips the events
   * that come before a reply (the poll may send it before the replies
   * below). */
  conn_open(&ev, dp.socket);
  conn_subscribe(&ev, 1, kinds, 1);
  ok_of(conn_request(&c, "plugin.set", "uss", "node", node, "property", prop, "value", ir));
  render(1024);
  ok = ok_of(conn_request(&c, "plugin.get", "us", "node", node, "property", prop));
  ck_assert_str_eq(str_of(ok, "value"), ir);
  ok = ok_of(conn_request(&c, "plugin.params", "u", "node", node));
  v = &sono_map_get(ok, "properties")->via.array.ptr[0];
  ck_assert_str_eq(str_of(v, "value"), ir);
  /* The poll (25 Hz) tells subscribers. */
  m = conn_event_for(&ev, "plugin.property", node, NULL, 10000);
  ck_assert_msg(m != NULL, "no plugin.property event");
  ck_assert(msg_str_is(m, "property", prop));
  ck_assert_str_eq(str_of(m, "value"), ir);
  conn_close(&ev);
  finish();
  unlink(P.out);
}
END_TEST

/* The session file keeps an LV2 node by URI with its state: a fresh
 * daemon loading it has the same plugin and values. */
START_TEST(session_round_trip) {
  char saved[400];
  const msgpack_object *ok, *arr;
  uint64_t node;
  double trim, bal;

  start();
  snprintf(saved, sizeof saved, "%s/lv2.sonod", P.home);
  node = load_uri(BALANCE);
  ok_of(conn_request(&c, "plugin.set", "usd", "node", node, "name", "trim", "value", 0.3));
  ok_of(conn_request(&c, "plugin.set", "usd", "node", node, "name", "balance", "value", 0.8));
  render(512);
  trim = msg_double(param(node, "trim"), "plain");
  bal = msg_double(param(node, "balance"), "plain");
  ck_assert(fabs(trim - (-20.0 + 0.3 * 40.0)) < 1e-3);
  ok_of(conn_request(&c, "state.save", "s", "path", saved));
  daemon_shutdown(&dp, &c);

  {
    const char *args[] = {"--backend", "offline", "--output", P.out, NULL};
    daemon_start(&dp, args);
    conn_open(&c, dp.socket);
  }
  ok_of(conn_request(&c, "state.load", "s", "path", saved));
  ok = ok_of(conn_request(&c, "plugin.list", ""));
  arr = sono_map_get(ok, "nodes");
  ck_assert_uint_eq(arr->via.array.size, 1);
  ck_assert(msg_str_is(&arr->via.array.ptr[0], "format", "lv2"));
  ck_assert(msg_str_is(&arr->via.array.ptr[0], "path", BALANCE));
  node = msg_uint(&arr->via.array.ptr[0], "node");
  ck_assert(fabs(msg_double(param(node, "trim"), "plain") - trim) < 1e-3);
  ck_assert(fabs(msg_double(param(node, "balance"), "plain") - bal) < 1e-3);
  finish();
  unlink(P.out);
}
END_TEST

/* Whether the file at path holds the bytes needle. */
static bool file_has(const char *path, const char *needle) {
  FILE *f = fopen(path, "rb");
  static char buf[1 << 20];
  size_t n;

  ck_assert_ptr_nonnull(f);
  n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  return memmem(buf, n, needle, strlen(needle)) != NULL;
}

/* A state's files are kept with the session: convoLV2's impulse response,
 * from a folder outside the session's, is copied beside the session file
 * and named relative to it; the session folder moved elsewhere (and the
 * original file gone) still restores: the plugin reports and plays the
 * copy in the new place. */
START_TEST(session_keeps_state_files) {
  const char *prop = "http://gareus.org/oss/lv2/convoLV2#impulse";
  char irs[400], ir[450], proj[400], saved[450], copy[500], moved[400], cmd[1400], want[600];
  uint64_t node;
  double peak;

  /* Strict roots: the suites' /tmp is not in the LV2 path (files inside
   * it stay where they are). */
  home_make(P.home, sizeof P.home, "lv2");
  snprintf(P.out, sizeof P.out, "%s/out.wav", P.home);
  {
    const char *args[] = {"--backend", "offline", "--output", P.out, "--block-size", "256", NULL};
    daemon_start_strict(&dp, args);
    conn_open(&c, dp.socket);
  }
  snprintf(irs, sizeof irs, "%s/irs", P.home);
  snprintf(ir, sizeof ir, "%s/my-ir.wav", irs);
  snprintf(proj, sizeof proj, "%s/proj", P.home);
  snprintf(saved, sizeof saved, "%s/song.sonod", proj);
  snprintf(cmd, sizeof cmd, "mkdir -p '%s' '%s' && cp /usr/lib/lv2/zeroconvo.lv2/ir/delta-48k.wav '%s'",
           irs, proj, ir);
  ck_assert_int_eq(system(cmd), 0);
  node = load_uri("http://gareus.org/oss/lv2/convoLV2#Mono");
  ok_of(conn_request(&c, "plugin.set", "uss", "node", node, "property", prop, "value", ir));
  render(1024);
  ck_assert_str_eq(str_of(ok_of(conn_request(&c, "plugin.get", "us", "node", node, "property",
                                             prop)), "value"), ir);
  ok_of(conn_request(&c, "state.save", "s", "path", saved));
  snprintf(copy, sizeof copy, "%s.files/node-%llu/my-ir.wav", saved, (unsigned long long)node);
  ck_assert_msg(access(copy, R_OK) == 0, "no copy at %s", copy);
  snprintf(want, sizeof want, "<song.sonod.files/node-%llu/my-ir.wav>", (unsigned long long)node);
  ck_assert_msg(file_has(saved, want), "the session does not name %s", want);
  /* Saved again: the copy is reused, not copied anew. */
  ok_of(conn_request(&c, "state.save", "s", "path", saved));
  snprintf(cmd, sizeof cmd, "%s.files/node-%llu/2-my-ir.wav", saved, (unsigned long long)node);
  ck_assert(access(cmd, F_OK) != 0);
  daemon_shutdown(&dp, &c);

  snprintf(moved, sizeof moved, "%s/elsewhere", P.home);
  snprintf(cmd, sizeof cmd, "rm -r '%s' && mv '%s' '%s'", irs, proj, moved);
  ck_assert_int_eq(system(cmd), 0);
  snprintf(saved, sizeof saved, "%s/song.sonod", moved);
  {
    const char *args[] = {"--backend", "offline", "--output", P.out, "--block-size", "256", NULL};
    daemon_start_strict(&dp, args);
    conn_open(&c, dp.socket);
  }
  ok_of(conn_request(&c, "state.load", "s", "path", saved));
  node = msg_uint(&sono_map_get(ok_of(conn_request(&c, "plugin.list", "")), "nodes")->via.array.ptr[0],
                  "node");
  render(1024);   /* the patch:Get sent after the restore is answered */
  snprintf(want, sizeof want, "%s.files/node-1/my-ir.wav", saved);
  ck_assert_str_eq(str_of(ok_of(conn_request(&c, "plugin.get", "us", "node", node, "property",
                                             prop)), "value"), want);
  disconnect("csound:out_1", "out:in_1");
  disconnect("csound:out_2", "out:in_2");
  {
    char b[32];

    port(b, sizeof b, node, "in_1");
    connect_("csound:out_1", b);
  }
  sine(false);
  render(RATE / 2);
  daemon_shutdown(&dp, &c);
  peak = tail_peak(NULL);
  ck_assert_msg(fabs(peak - 0.25) < 0.003, "restored convoLV2 peak %g, want 0.25", peak);
  home_remove(P.home);
}
END_TEST

/* CV ports are graph ports: the test bundle's cv-gain multiplies its
 * audio input (in_2) by its CV input (in_1) and writes twice the CV to a
 * CV output (out_2); plugin.params says which port is which. */
START_TEST(cv_ports_are_graph_ports) {
  const char *body = "|kfreq=440, kamp=0.5|\nasig oscili kamp, kfreq\naconst = 0.5\n"
                     "outs asig, aconst\n";
  const msgpack_object *ok, *a;
  uint64_t node;
  char b[32];
  double peak;
  float cv;

  start();
  node = load_uri("urn:sonod:test:cv-gain");
  ok = ok_of(conn_request(&c, "plugin.params", "u", "node", node));
  ck_assert_uint_eq(sono_map_get(ok, "audio")->via.array.size, 4);
  a = entry(ok, "audio", "port", "in_1");
  ck_assert(msg_str_is(a, "symbol", "gain_cv"));
  ck_assert(sono_map_get(a, "cv")->via.boolean);
  a = entry(ok, "audio", "port", "in_2");
  ck_assert(msg_str_is(a, "symbol", "in"));
  ck_assert(!sono_map_get(a, "cv")->via.boolean);
  a = entry(ok, "audio", "port", "out_2");
  ck_assert(msg_str_is(a, "symbol", "cv_out"));
  ck_assert(sono_map_get(a, "cv")->via.boolean);
  disconnect("csound:out_1", "out:in_1");
  disconnect("csound:out_2", "out:in_2");
  port(b, sizeof b, node, "in_1");
  connect_("csound:out_2", b);   /* 0.5, constant: the CV */
  port(b, sizeof b, node, "in_2");
  connect_("csound:out_1", b);   /* the sine */
  play("cv", body, true);
  render(RATE / 2);
  finish();
  peak = tail_peak(&cv);
  ck_assert_msg(fabs(peak - 0.25) < 0.003, "out_1 peak %g, want 0.25", peak);
  ck_assert_msg(cv == 1.0f, "the CV output is %g, want 1", cv);
}
END_TEST

/* Refusals, each with its code, and the daemon carries on. */
START_TEST(refusals) {
  const msgpack_object *m;
  uint64_t id;

  start();
  id = conn_request(&c, "plugin.load", "s", "uri", NEEDS_FEATURE);
  m = conn_reply(&c, id, 10000);
  ck_assert_str_eq(msg_error_code(m), "not_supported");
  m = sono_map_get(m, "error");
  ck_assert_msg(strstr(str_of(m, "message"), "urn:sonod:test:no-host-has-this") != NULL, "%s",
                str_of(m, "message"));
  expect_error(conn_request(&c, "plugin.load", "s", "uri", "urn:sonod:test:nothing"),
               "load_failed");
  expect_error(conn_request(&c, "plugin.load", "s", "path", "/opt/elsewhere/x.lv2"), "denied");
  expect_error(conn_request(&c, "plugin.load", "ss", "uri", DX10, "path", "/x"), "bad_request");
  load_uri(DX10);
  finish();
  unlink(P.out);
}
END_TEST

/* plugin.scan lists LV2 plugins (beside VST2 ones; here only LV2). */
START_TEST(scan_lists_lv2) {
  const msgpack_object *ok, *arr;
  uint32_t i, lv2 = 0;
  bool dx10 = false, needs = false;

  start();
  ok = conn_reply(&c, conn_request(&c, "plugin.scan", "s", "format", "lv2"), 60000);
  ck_assert_ptr_nonnull(msg_ok(ok));
  arr = sono_map_get(msg_ok(ok), "plugins");
  for (i = 0; i < arr->via.array.size; i++) {
    const msgpack_object *e = &arr->via.array.ptr[i];
    ck_assert(msg_str_is(e, "format", "lv2"));   /* only what was asked */
    lv2++;
    if (msg_str_is(e, "uri", DX10))
      dx10 = sono_map_get(e, "ok")->via.boolean;
    if (msg_str_is(e, "uri", NEEDS_FEATURE))
      needs = !sono_map_get(e, "ok")->via.boolean && msg_str_is(e, "error", "unsupported");
  }
  ck_assert_uint_gt(lv2, 50);
  ck_assert(dx10);
  ck_assert(needs);
  finish();
  unlink(P.out);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("lv2");
  TCase *tc = tcase_create("lv2");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, instrument_by_uri);
  tcase_add_test(tc, port_groups_reported);
  tcase_add_test(tc, cv_ports_are_graph_ports);
  tcase_add_test(tc, lv2_and_vst2_in_one_chain);
  tcase_add_test(tc, session_round_trip);
  tcase_add_test(tc, control_outputs);
  tcase_add_test(tc, property_sets_a_file);
  tcase_add_test(tc, property_read_back);
  tcase_add_test(tc, session_keeps_state_files);
  tcase_add_test(tc, refusals);
  tcase_add_test(tc, scan_lists_lv2);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(suite)
