/* Integration: LV2 plugins isolated (plugin.load {uri, isolate: true}) in
 * the running daemon, offline backend.  sonod-plugin-host loads the plugin
 * through the same daemon/lv2 code (lilv, the worker in the host): mda
 * DX10 (an instrument) and x42 balance (an effect fed through the graph)
 * render sample-identical isolated and in process; a state moves between
 * an in-process and an isolated convoLV2 (its impulse response loaded by
 * the worker in the host) and back; convoLV2's impulse response set by
 * its property (patch:Set through the shared region) renders, reads back
 * and is refused the same both ways; a killed host leaves a `crashed` node
 * that plugin.restart brings back with its state; the session file keeps
 * an isolated LV2 node isolated; DX10 into balance in one host group's
 * process sounds as in process.  Debian's mda-lv2 and x42-plugins
 * (scripts/setup.sh). */
#include <check.h>
#include <math.h>
#include <signal.h>
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
#define CONVO "http://gareus.org/oss/lv2/convoLV2#Mono"
#define CONVO_IR "http://gareus.org/oss/lv2/convoLV2#impulse"
#define IR_FILE "/usr/lib/lv2/zeroconvo.lv2/ir/delta-48k.wav"
#define SINE "|kfreq=440, kamp=0.5|\nasig oscili kamp, kfreq\nouts asig, asig\n"

static daemon_proc dp;
static conn c;
static offline_paths P;
static uint64_t next_id = 1000;

static void start(void) {
  offline_start(&dp, &c, &P, "lv2iso", NULL);
}

static float *finish(sf_count_t *frames) {
  float *wav;

  offline_finish(&dp, &c, &P);
  wav = wav_read_stereo(P.out, frames);
  unlink(P.out);
  return wav;
}

static const msgpack_object *ok_of(uint64_t id) { return conn_ok(&c, id); }

static void render(uint64_t frames) { conn_render(&c, frames); }

static uint64_t load(const char *uri, bool isolate) {
  const msgpack_object *ok =
      ok_of(conn_request(&c, "plugin.load", "sb", "uri", uri, "isolate", (int)isolate));

  ck_assert(msg_str_is(ok, "format", "lv2"));
  ck_assert(msg_str_is(ok, "uri", uri));
  return msg_uint(ok, "node");
}

static const msgpack_object *list_entry(uint64_t node) {
  const msgpack_object *nodes = sono_map_get(ok_of(conn_request(&c, "plugin.list", "")), "nodes");

  for (uint32_t i = 0; i < nodes->via.array.size; i++)
    if (msg_uint(&nodes->via.array.ptr[i], "node") == node)
      return &nodes->via.array.ptr[i];
  ck_abort_msg("node %lu not listed", (unsigned long)node);
  return NULL;
}

static bool listed_isolated(uint64_t node) {
  const msgpack_object *e = list_entry(node);

  ck_assert(msg_str_is(e, "format", "lv2"));
  return sono_map_get(e, "isolated")->via.boolean;
}

static double get_value(uint64_t node, const char *name) {
  return msg_double(ok_of(conn_request(&c, "plugin.get", "us", "node", node, "name", name)), "value");
}

static void notes(uint64_t node, unsigned count, const uint64_t *at, bool on) {
  ok_of(conn_send_notes(&c, next_id++, node, count, at, on, on ? 100 : 0));
}

static void rewire(const char *from, const char *to, bool on) {
  ok_of(conn_request(&c, on ? "graph.connect" : "graph.disconnect", "ss", "from", from, "to", to));
}

/* Csound's 0.5 sine (2 s from now) into the node's inputs instead of
 * the output; the node's outputs stay on out. */
static void sine_into(uint64_t node, int channels) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  uint64_t id = next_id++;
  char from[32], to[32];

  for (int ch = 1; ch <= 2; ch++) {
    snprintf(from, sizeof from, "csound:out_%d", ch);
    snprintf(to, sizeof to, "out:in_%d", ch);
    rewire(from, to, false);
    if (ch <= channels) {
      snprintf(to, sizeof to, "%llu:in_%d", (unsigned long long)node, ch);
      rewire(from, to, true);
    }
  }
  ok_of(conn_request(&c, "instr.define", "ssi", "name", "sine", "body", SINE, "priority",
                     (int64_t)1));
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 4);
  sono_pack_key_uint(&pk, "id", id);
  sono_pack_key_str(&pk, "op", "synth.start");
  sono_pack_key_str(&pk, "instr", "sine");
  sono_pack_key_double(&pk, "dur", 2.0);
  conn_send_payload(&c, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  ok_of(id);
}

/* Renders the same part in process and isolated: the two files must be
 * `frames` long and equal sample for sample.  Returns the in-process one. */
static float *same_both_ways(float *(*part)(bool, sf_count_t *), sf_count_t frames) {
  sf_count_t n_in, n_iso, i;
  float *in = part(false, &n_in), *iso = part(true, &n_iso);

  ck_assert_int_eq(n_in, frames);
  ck_assert_int_eq(n_iso, n_in);
  for (i = 0; i < 2 * n_in; i++)
    ck_assert_msg(in[i] == iso[i], "sample %ld: %.9g in process, %.9g isolated", (long)i / 2, in[i],
                  iso[i]);
  free(iso);
  return in;
}

static double energy(const float *wav, sf_count_t from, sf_count_t to) {
  double e = 0.0;

  for (sf_count_t i = 2 * from; i < 2 * to; i++)
    e += (double)wav[i] * wav[i];
  return e;
}

/* DX10: a preset (program), a parameter by name read back (through the
 * host when isolated), a chord, a parameter change between the notes. */
static float *dx10_part(bool isolate, sf_count_t *frames) {
  const uint64_t on[4] = {300, 301, 5000, 5123}, off[4] = {9000, 9001, 12000, 12345};
  const msgpack_object *ok;
  uint64_t node;

  start();
  node = load(DX10, isolate);
  ck_assert(listed_isolated(node) == isolate);
  ok_of(conn_request(&c, "plugin.program", "uu", "node", node, "program", (uint64_t)3));
  /* By port symbol, read back with its plain value and group; the port
   * groups listed (isolated: described from the plugin's data). */
  ok_of(conn_request(&c, "plugin.set", "usd", "node", node, "name", "attack", "value", 0.25));
  ok = ok_of(conn_request(&c, "plugin.get", "us", "node", node, "name", "attack"));
  ck_assert_msg(fabs(msg_double(ok, "value") - 0.25) < 1e-6, "%s: attack reads %g",
                isolate ? "isolated" : "in process", msg_double(ok, "value"));
  ck_assert(msg_str_is(ok, "symbol", "attack"));
  ck_assert(msg_str_is(ok, "group", "env"));
  ck_assert(fabs(msg_double(ok, "plain") - 0.25) < 1e-6);
  ok = ok_of(conn_request(&c, "plugin.params", "u", "node", node));
  ck_assert_uint_eq(sono_map_get(ok, "groups")->via.array.size, 2);
  ck_assert_uint_eq(sono_map_get(ok, "audio")->via.array.size, 2);
  notes(node, 4, on, true);
  notes(node, 4, off, false);
  ok_of(conn_request(&c, "plugin.set", "usdu", "node", node, "name", "Mod Init", "value", 0.8, "at",
                     (uint64_t)7000));
  render(24000);
  return finish(frames);
}

START_TEST(dx10_same_isolated_and_in_process) {
  float *in = same_both_ways(dx10_part, 24000);

  ck_assert_msg(energy(in, 0, 24000) > 1.0, "DX10 made no sound (energy %g)", energy(in, 0, 24000));
  free(in);
}
END_TEST

/* x42 balance fed a 0.5 sine through the graph, its trim and balance set. */
static float *balance_part(bool isolate, sf_count_t *frames) {
  uint64_t node;

  start();
  node = load(BALANCE, isolate);
  ck_assert(listed_isolated(node) == isolate);
  ok_of(conn_request(&c, "plugin.set", "usd", "node", node, "name", "trim", "value",
                     (-20.0 * log10(2.0) + 20.0) / 40.0));
  ok_of(conn_request(&c, "plugin.set", "usd", "node", node, "name", "balance", "value", 0.7));
  sine_into(node, 2);
  render(RATE / 2);
  return finish(frames);
}

START_TEST(balance_same_isolated_and_in_process) {
  float *in = same_both_ways(balance_part, RATE / 2);
  double l = 0, r = 0;

  for (sf_count_t i = RATE / 4; i < RATE / 2; i++) {
    l = fmax(l, fabs(in[2 * i]));
    r = fmax(r, fabs(in[2 * i + 1]));
  }
  /* -6 dB trim on 0.5, balanced towards the right: the left is quieter. */
  ck_assert_msg(r > 0.2 && r < 0.3 && l < r, "peaks %g %g", l, r);
  free(in);
}
END_TEST

/* A copy of the node's state (plugin.state.get's data). */
static char *state_of(uint64_t node, size_t *len) {
  const msgpack_object *d =
      sono_map_get(ok_of(conn_request(&c, "plugin.state.get", "u", "node", node)), "data");
  char *copy;

  ck_assert(d != NULL && d->type == MSGPACK_OBJECT_BIN && d->via.bin.size > 0);
  copy = malloc(d->via.bin.size + 1);
  memcpy(copy, d->via.bin.ptr, d->via.bin.size);
  copy[d->via.bin.size] = '\0';
  *len = d->via.bin.size;
  return copy;
}

/* convoLV2's state names its impulse response: made in process (patch:Set),
 * restored isolated (the host's worker loads the file: the sine comes out
 * at the IR's gain, 0.5 x 0.5), read back from the host and restored in
 * process again. */
START_TEST(state_between_isolated_and_in_process) {
  uint64_t a, b, d2;
  char *st, *st2;
  size_t len, len2;
  sf_count_t frames;
  float *wav;
  double peak = 0;

  start();
  a = load(CONVO, false);
  ok_of(conn_request(&c, "plugin.set", "uss", "node", a, "property", CONVO_IR, "value", IR_FILE));
  render(1024);   /* patch:Set, the worker's load, its response: one block each */
  st = state_of(a, &len);
  ck_assert_msg(strstr(st, "delta-48k.wav") != NULL, "the state names no IR: %s", st);
  ok_of(conn_request(&c, "plugin.unload", "u", "node", a));
  b = load(CONVO, true);
  ck_assert(listed_isolated(b));
  ok_of(conn_state_set(&c, next_id++, b, st, len));
  render(1024);   /* the worker's answer reaches the plugin in its next run */
  st2 = state_of(b, &len2);
  ck_assert_msg(strstr(st2, "delta-48k.wav") != NULL, "the host's state names no IR: %s", st2);
  /* And back into the daemon. */
  d2 = load(CONVO, false);
  ok_of(conn_state_set(&c, next_id++, d2, st2, len2));
  render(1024);
  free(st);
  st = state_of(d2, &len);
  ck_assert(strstr(st, "delta-48k.wav") != NULL);
  ok_of(conn_request(&c, "plugin.unload", "u", "node", d2));
  sine_into(b, 1);
  render(RATE / 2);
  wav = finish(&frames);
  for (sf_count_t i = frames - RATE / 4; i < frames; i++)
    peak = fmax(peak, fabs(wav[2 * i]));
  ck_assert_msg(fabs(peak - 0.25) < 0.003, "isolated convoLV2 peak %g, want 0.25", peak);
  free(st);
  free(st2);
  free(wav);
}
END_TEST

/* The daemon's children: its plugin hosts. */
static unsigned children_of(pid_t pid, pid_t *out, unsigned max) {
  char cmd[96];
  unsigned n = 0;
  long v;
  FILE *f;

  snprintf(cmd, sizeof cmd, "cat /proc/%d/task/*/children", (int)pid);
  f = popen(cmd, "r");
  ck_assert_ptr_nonnull(f);
  while (n < max && fscanf(f, "%ld", &v) == 1)
    out[n++] = (pid_t)v;
  pclose(f);
  return n;
}

static const msgpack_object *wait_event(conn *ev, const char *kind, uint64_t node) {
  for (int k = 0; k < 200; k++) {
    const msgpack_object *m = conn_recv(ev, 10000);

    if (msg_str_is(m, "event", kind) && msg_uint(m, "node") == node)
      return m;
  }
  ck_abort_msg("no %s event for node %lu", kind, (unsigned long)node);
  return NULL;
}

/* Its host killed: the node is `crashed` (silent), plugin.restart brings
 * it back with the state it had, and it plays again. */
START_TEST(killed_host_crashed_then_restart) {
  const char *kinds[] = {"plugin"};
  const uint64_t on1[1] = {100}, on2[1] = {8292};
  uint64_t node;
  pid_t kids[4];
  const msgpack_object *m;
  sf_count_t frames;
  float *wav;
  conn ev;

  start();
  conn_open(&ev, dp.socket);
  conn_subscribe(&ev, next_id++, kinds, 1);
  node = load(DX10, true);
  ok_of(conn_request(&c, "plugin.program", "uu", "node", node, "program", (uint64_t)5));
  ok_of(conn_request(&c, "plugin.set", "usd", "node", node, "name", "Attack", "value", 0.125));
  notes(node, 1, on1, true);
  render(4096);
  ck_assert_uint_eq(children_of(dp.pid, kids, 4), 1);
  ck_assert_int_eq(kill(kids[0], SIGKILL), 0);
  m = wait_event(&ev, "plugin.crashed", node);
  ck_assert(msg_str_is(m, "reason", "killed by signal 9"));
  ck_assert(msg_str_is(list_entry(node), "state", "crashed"));
  render(4096);   /* silent */
  ok_of(conn_request(&c, "plugin.restart", "u", "node", node));
  ck_assert(msg_str_is(list_entry(node), "state", "running"));
  ck_assert(listed_isolated(node));
  ck_assert_msg(fabs(get_value(node, "Attack") - 0.125) < 1e-6, "Attack after restart: %g",
                get_value(node, "Attack"));
  ck_assert_uint_eq(msg_uint(ok_of(conn_request(&c, "plugin.programs", "u", "node", node)), "current"),
                   5);
  notes(node, 1, on2, true);
  render(8192);
  conn_close(&ev);
  wav = finish(&frames);
  ck_assert_int_eq(frames, 16384);
  ck_assert_msg(energy(wav, 100, 4096) > 0.1, "no sound before the kill");
  ck_assert_msg(energy(wav, 4096 + 256, 8192) == 0.0, "sound while crashed");
  ck_assert_msg(energy(wav, 8292, 16384) > 0.1, "no sound after the restart");
  free(wav);
}
END_TEST

static uint64_t load_in_group(const char *uri, const char *group) {
  const msgpack_object *ok =
      ok_of(conn_request(&c, "plugin.load", "ss", "uri", uri, "isolate", group));

  ck_assert(msg_str_is(ok, "format", "lv2"));
  return msg_uint(ok, "node");
}

/* DX10 into x42 balance; isolated: both in one host group's process. */
static float *group_part(bool isolate, sf_count_t *frames) {
  const uint64_t on[2] = {100, 3000}, off[2] = {6000, 9000};
  uint64_t synth, bal;
  pid_t kids[4];
  char a[32], b[32];

  start();
  synth = isolate ? load_in_group(DX10, "lv2s") : load(DX10, false);
  bal = isolate ? load_in_group(BALANCE, "lv2s") : load(BALANCE, false);
  if (isolate) {
    ck_assert_uint_eq(children_of(dp.pid, kids, 4), 1);
    ck_assert(msg_str_is(list_entry(synth), "host", "lv2s"));
    ck_assert(msg_str_is(list_entry(bal), "host", "lv2s"));
  }
  ok_of(conn_request(&c, "plugin.set", "usd", "node", bal, "name", "trim", "value", 0.4));
  for (int ch = 1; ch <= 2; ch++) {
    snprintf(a, sizeof a, "%llu:out_%d", (unsigned long long)synth, ch);
    snprintf(b, sizeof b, "out:in_%d", ch);
    rewire(a, b, false);
    snprintf(b, sizeof b, "%llu:in_%d", (unsigned long long)bal, ch);
    rewire(a, b, true);
  }
  notes(synth, 2, on, true);
  notes(synth, 2, off, false);
  render(12000);
  return finish(frames);
}

START_TEST(host_group_of_lv2_plugins) {
  float *in = same_both_ways(group_part, 12000);

  ck_assert_msg(energy(in, 0, 12000) > 0.1, "no sound through the chain");
  free(in);
}
END_TEST

/* The session file keeps an isolated LV2 node isolated, with its values. */
START_TEST(session_keeps_isolation) {
  char saved[400];
  uint64_t node;
  const msgpack_object *nodes;

  start();
  snprintf(saved, sizeof saved, "%s/s.sonod", P.home);
  node = load(BALANCE, true);
  ok_of(conn_request(&c, "plugin.set", "usd", "node", node, "name", "Trim/Gain [dB]", "value", 0.3));
  render(256);
  ok_of(conn_request(&c, "state.save", "s", "path", saved));
  ok_of(conn_request(&c, "plugin.unload", "u", "node", node));
  ok_of(conn_request(&c, "state.load", "s", "path", saved));
  nodes = sono_map_get(ok_of(conn_request(&c, "plugin.list", "")), "nodes");
  ck_assert_uint_eq(nodes->via.array.size, 1);
  node = msg_uint(&nodes->via.array.ptr[0], "node");
  ck_assert(listed_isolated(node));
  ck_assert(msg_str_is(list_entry(node), "path", BALANCE));
  ck_assert(fabs(get_value(node, "Trim/Gain [dB]") - 0.3) < 1e-6);
  render(256);
  free(finish(&(sf_count_t){0}));
}
END_TEST

/* Control outputs both ways: x42's true-peak meter fed the 0.5 sine reads
 * the same peak at its "peak" output in process and isolated (the host
 * sends the values back after each block), plugin.params lists the same
 * outputs, and a subscriber gets plugin.output events as they move. */
#define METER "http://gareus.org/oss/lv2/meters#dBTPmono"

/* A daemon with the plugin loaded (isolated or not), and ev open and
 * subscribed to plugin events: a connection of its own, since conn_reply
 * skips the events that come before a reply. */
static uint64_t start_listening(conn *ev, const char *uri, bool isolate) {
  const char *kinds[] = {"plugin"};
  uint64_t node;

  start();
  conn_open(ev, dp.socket);
  conn_subscribe(ev, 1, kinds, 1);
  node = load(uri, isolate);
  ck_assert(listed_isolated(node) == isolate);
  return node;
}

static double meter_peak(bool isolate) {
  const msgpack_object *ok, *outs;
  uint64_t node;
  double peak, listed = -1;
  sf_count_t frames;
  conn ev;

  node = start_listening(&ev, METER, isolate);
  sine_into(node, 1);
  render(RATE / 2);
  ok = ok_of(conn_request(&c, "plugin.get", "us", "node", node, "output", "peak"));
  ck_assert(sono_map_get(ok, "output")->via.boolean);
  peak = msg_double(ok, "value");
  outs = sono_map_get(ok_of(conn_request(&c, "plugin.params", "u", "node", node)), "outputs");
  ck_assert_uint_ge(outs->via.array.size, 2);
  for (uint32_t i = 0; i < outs->via.array.size; i++)
    if (msg_str_is(&outs->via.array.ptr[i], "symbol", "peak"))
      listed = msg_double(&outs->via.array.ptr[i], "value");
  ck_assert_msg(listed == peak, "%s: plugin.params lists peak %g, plugin.get %g",
                isolate ? "isolated" : "in process", listed, peak);
  ck_assert_str_eq(msg_error_code(conn_reply(&c, conn_request(&c, "plugin.get", "us", "node", node,
                                                              "output", "nothing"), 5000)),
                   "unknown_param");
  /* The poll (every 40 ms) reports the outputs that moved: peak, from 0. */
  ck_assert_msg(conn_event_for(&ev, "plugin.output", node, "peak", 10000) != NULL,
                "%s: no plugin.output event for peak", isolate ? "isolated" : "in process");
  conn_close(&ev);
  free(finish(&frames));
  return peak;
}

START_TEST(control_outputs_same_isolated_and_in_process) {
  double in = meter_peak(false), iso = meter_peak(true);

  ck_assert_msg(fabs(in - 0.5) < 0.005, "in process: peak %g, want 0.5", in);
  ck_assert_msg(iso == in, "isolated peak %.9g, in process %.9g", iso, in);
}
END_TEST

/* convoLV2's impulse response set through its property (patch:Set), in
 * process and isolated (the message crosses to the host through the
 * shared region, the host's worker loads the file): the same render sample
 * for sample, the sine at the IR's gain; the same value read back
 * (plugin.get {property}, plugin.params, a plugin.property event from the
 * host's report), nil before; the same refusals: a path outside the roots
 * (checked in the daemon, nothing sent), an unknown property, and a path
 * whose message is longer than a property message may be. */
typedef struct prop_seen {
  char got[300], listed[300], event[300], too_long[300];
} prop_seen;

static prop_seen props_seen[2];

/* m's string field key into out (it must be one). */
static void copy_str(char *out, size_t len, const msgpack_object *m, const char *key) {
  const char *s;
  size_t n;

  ck_assert_int_eq(sono_get_str(m, key, &s, &n), SONO_ARG_OK);
  snprintf(out, len, "%.*s", (int)n, s);
}

static const char *str_field(const msgpack_object *m, const char *key) {
  static char buf[300];

  copy_str(buf, sizeof buf, m, key);
  return buf;
}

static float *convo_part(bool isolate, sf_count_t *frames) {
  prop_seen *seen = &props_seen[isolate];
  const msgpack_object *ok, *props, *m;
  char deep[4200], cmd[8600];
  uint64_t node;
  size_t at;
  conn ev;

  node = start_listening(&ev, CONVO, isolate);
  render(512);
  props = sono_map_get(ok_of(conn_request(&c, "plugin.params", "u", "node", node)), "properties");
  ck_assert_uint_eq(props->via.array.size, 1);
  ck_assert(msg_str_is(&props->via.array.ptr[0], "uri", CONVO_IR));
  ck_assert(sono_map_get(&props->via.array.ptr[0], "writable")->via.boolean);
  ok = ok_of(conn_request(&c, "plugin.get", "us", "node", node, "property", CONVO_IR));
  ck_assert(msg_str_is(ok, "range", "http://lv2plug.in/ns/ext/atom#Path"));
  ck_assert_int_eq(sono_map_get(ok, "value")->type, MSGPACK_OBJECT_NIL);
  ck_assert_str_eq(msg_error_code(conn_reply(&c, conn_request(&c, "plugin.set", "uss", "node", node,
                                                              "property", CONVO_IR, "value",
                                                              "/etc/passwd"), 5000)),
                   "denied");
  ck_assert_str_eq(msg_error_code(conn_reply(&c, conn_request(&c, "plugin.set", "uss", "node", node,
                                                              "property", "urn:nothing", "value",
                                                              IR_FILE), 5000)),
                   "unknown_param");
  /* A real file (inside the roots) whose path, about 4 070 bytes, fits
   * PATH_MAX but not a property message (4 096 bytes with its header). */
  at = (size_t)snprintf(deep, sizeof deep, "%s", P.home);
  while (at < 3800)
    at += (size_t)snprintf(deep + at, sizeof deep - at, "/%0200d", 0);
  snprintf(deep + at, sizeof deep - at, "/%0*d.wav", (int)(4065 - at), 0);
  snprintf(cmd, sizeof cmd, "mkdir -p '%.*s' && cp %s '%s'", (int)at, deep, IR_FILE, deep);
  ck_assert_int_eq(system(cmd), 0);
  ck_assert_int_eq(access(deep, R_OK), 0);
  m = conn_reply(&c, conn_request(&c, "plugin.set", "uss", "node", node, "property", CONVO_IR,
                                  "value", deep), 5000);
  ck_assert_str_eq(msg_error_code(m), "bad_value");
  copy_str(seen->too_long, sizeof seen->too_long, sono_map_get(m, "error"), "message");
  sine_into(node, 1);
  ok_of(conn_request(&c, "plugin.set", "uss", "node", node, "property", CONVO_IR, "value", IR_FILE));
  render(RATE / 2);
  ok = ok_of(conn_request(&c, "plugin.get", "us", "node", node, "property", CONVO_IR));
  copy_str(seen->got, sizeof seen->got, ok, "value");
  props = sono_map_get(ok_of(conn_request(&c, "plugin.params", "u", "node", node)), "properties");
  copy_str(seen->listed, sizeof seen->listed, &props->via.array.ptr[0], "value");
  m = conn_event_for(&ev, "plugin.property", node, NULL, 10000);
  ck_assert_msg(m != NULL, "%s: no plugin.property event", isolate ? "isolated" : "in process");
  ck_assert(msg_str_is(m, "property", CONVO_IR));
  copy_str(seen->event, sizeof seen->event, m, "value");
  conn_close(&ev);
  return finish(frames);
}

START_TEST(properties_same_isolated_and_in_process) {
  float *in = same_both_ways(convo_part, 512 + RATE / 2);
  double peak = 0;

  for (sf_count_t i = 512 + RATE / 4; i < 512 + RATE / 2; i++)
    peak = fmax(peak, fabs(in[2 * i]));
  ck_assert_msg(fabs(peak - 0.25) < 0.003, "convoLV2 peak %g, want 0.25", peak);
  for (int k = 0; k < 2; k++) {
    const prop_seen *s = &props_seen[k];

    ck_assert_str_eq(s->got, IR_FILE);
    ck_assert_str_eq(s->listed, IR_FILE);
    ck_assert_str_eq(s->event, IR_FILE);
    ck_assert_msg(strstr(s->too_long, "too long") != NULL, "%s", s->too_long);
  }
  ck_assert_str_eq(props_seen[1].too_long, props_seen[0].too_long);
  free(in);
}
END_TEST

/* Changes the plugin has not taken yet are bounded, in process (the ring
 * to the audio thread) and isolated (the region's ring to the host): with
 * no block rendered, plugin.set {property} ends in queue_full; once blocks
 * have run, a change is taken again and the value reads back. */
START_TEST(property_queue_full_both_ways) {
  for (int isolate = 0; isolate < 2; isolate++) {
    const msgpack_object *m = NULL;
    sf_count_t frames;
    uint64_t node;
    int n;

    start();
    node = load(CONVO, isolate);
    for (n = 0; n < 4000; n++) {
      m = conn_reply(&c, conn_request(&c, "plugin.set", "uss", "node", node, "property", CONVO_IR,
                                      "value", IR_FILE), 5000);
      if (msg_error_code(m) != NULL)
        break;
    }
    ck_assert_msg(n > 10 && n < 4000, "%s: %d changes taken before a refusal",
                  isolate ? "isolated" : "in process", n);
    ck_assert_str_eq(msg_error_code(m), "queue_full");
    render(2048);
    ok_of(conn_request(&c, "plugin.set", "uss", "node", node, "property", CONVO_IR, "value",
                       IR_FILE));
    render(512);
    ck_assert_str_eq(str_field(ok_of(conn_request(&c, "plugin.get", "us", "node", node, "property",
                                                  CONVO_IR)),
                               "value"),
                     IR_FILE);
    free(finish(&frames));
  }
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("lv2-isolate");
  TCase *tc = tcase_create("lv2-isolate");

  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, dx10_same_isolated_and_in_process);
  tcase_add_test(tc, balance_same_isolated_and_in_process);
  tcase_add_test(tc, control_outputs_same_isolated_and_in_process);
  tcase_add_test(tc, properties_same_isolated_and_in_process);
  tcase_add_test(tc, property_queue_full_both_ways);
  tcase_add_test(tc, state_between_isolated_and_in_process);
  tcase_add_test(tc, killed_host_crashed_then_restart);
  tcase_add_test(tc, session_keeps_isolation);
  tcase_add_test(tc, host_group_of_lv2_plugins);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(suite)
