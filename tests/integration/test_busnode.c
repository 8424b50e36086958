/* Integration: Csound audio buses as graph sources (`node.new {kind:
 * "bus"}`) in the running daemon, offline backend, every result measured
 * in the rendered file: the bused signal starts on its exact sample, a
 * reverb plugin fed by a bus node leaves a tail only for the instrument
 * that writes the bus, rewiring and deleting a sounding bus node fade
 * without a click, bad requests are refused with their codes, and a saved
 * session brings the bus node back. */
#include <check.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/rt/graph.h"
#include "protocol/wire.h"
#include "tests/support/check_main.h"
#include "tests/support/harness.h"

#define RATE 48000
#define DRAGONFLY_ROOM "/usr/lib/lxvst/DragonflyRoomReverb-vst.so"
/* Cosines (phase 0.25), so a synth's first sample is its amplitude. */
#define WET "|ibus=0, kfreq=440|\nasig oscili 0.3, kfreq, -1, 0.25\nsonod_abusout ibus, asig\n"
#define DRY "|kfreq=660|\nasig oscili 0.2, kfreq, -1, 0.25\nouts asig, asig\n"

static daemon_proc dp;
static conn c;
static char out_path[400];
static char home[300];
static uint64_t next_id = 5000;

static void start(void) {
  const char *args[] = { "--backend", "offline", "--output", out_path, "--block-size", "256",
                         "--ksmps", "32", NULL };

  home_make(home, sizeof home, "busnode");
  snprintf(out_path, sizeof out_path, "/tmp/sonod-busnode-%d-%ld.wav", getpid(), random());
  daemon_start(&dp, args);
  conn_open(&c, dp.socket);
}

static void finish(void) {
  daemon_shutdown(&dp, &c);
  home_remove(home);
}

static const msgpack_object *ok_of(uint64_t id) {
  return conn_ok(&c, id);
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

static int audio_bus(void) {
  return (int)msg_uint(ok_of(conn_request(&c, "bus.new", "s", "kind", "audio")), "bus");
}

/* node.new {kind: "bus", buses: [...]}; returns the request id. */
static uint64_t bus_node_req(const int *buses, unsigned n) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  uint64_t id = next_id++;
  unsigned k;

  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 4);
  sono_pack_key_uint(&pk, "id", id);
  sono_pack_key_str(&pk, "op", "node.new");
  sono_pack_key_str(&pk, "kind", "bus");
  sono_pack_cstr(&pk, "buses");
  msgpack_pack_array(&pk, n);
  for (k = 0; k < n; k++)
    msgpack_pack_int(&pk, buses[k]);
  conn_send_payload(&c, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  return id;
}

static uint64_t bus_node(const int *buses, unsigned n) {
  return msg_uint(ok_of(bus_node_req(buses, n)), "node");
}

static void define(const char *name, const char *body, int prio) {
  ok_of(conn_request(&c, "instr.define", "ssi", "name", name, "body", body, "priority",
                     (int64_t)prio));
  /* The offline backend merges a compile in the next k-cycle it renders. */
  render(256);
}

/* Starts instr at frame `at` (0: now) for dur seconds (-1: held), with ibus = bus
 * when bus >= 0.  Returns the synth id. */
static uint64_t synth(const char *instr, uint64_t at, double dur, int bus) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  uint64_t id = next_id++;

  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 4 + (bus >= 0) + (at > 0));
  sono_pack_key_uint(&pk, "id", id);
  sono_pack_key_str(&pk, "op", "synth.start");
  sono_pack_key_str(&pk, "instr", instr);
  if (at > 0)
    sono_pack_key_uint(&pk, "at", at);
  sono_pack_key_double(&pk, "dur", dur);
  if (bus >= 0) {
    sono_pack_cstr(&pk, "args");
    msgpack_pack_map(&pk, 1);
    sono_pack_key_double(&pk, "ibus", bus);
  }
  conn_send_payload(&c, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  return msg_uint(ok_of(id), "synth");
}

static char *port(char *buf, size_t len, uint64_t node, const char *dir, unsigned k) {
  snprintf(buf, len, "%llu:%s_%u", (unsigned long long)node, dir, k);
  return buf;
}

/* Energy of channel ch (0, 1) over frames [a, b). */
static double energy(const float *d, unsigned ch, sf_count_t a, sf_count_t b) {
  double e = 0;
  sf_count_t i;

  for (i = a; i < b; i++)
    e += (double)d[2 * i + ch] * d[2 * i + ch];
  return e;
}

static sf_count_t first_nonzero(const float *d, unsigned ch, sf_count_t from, sf_count_t n) {
  sf_count_t i;

  for (i = from; i < n; i++)
    if (d[2 * i + ch] != 0.0f)
      return i;
  return -1;
}

static double largest_jump(const float *d, unsigned ch, sf_count_t n) {
  double jump = 0;
  sf_count_t i;

  for (i = 1; i < n; i++) {
    double j = fabs((double)d[2 * i + ch] - d[2 * (i - 1) + ch]);
    if (j > jump)
      jump = j;
  }
  return jump;
}

/* Renders frames, keeping the largest meter peak of node's out_1 until the
 * render's reply; counts the events that list node `absent`. */
static double render_metered(uint64_t frames, uint64_t node, uint64_t absent, unsigned *seen_absent) {
  uint64_t id = conn_request(&c, "render", "u", "frames", frames);
  double peak = -1;

  for (;;) {
    const msgpack_object *m = conn_recv(&c, 30000);
    const msgpack_object *rid = sono_map_get(m, "id");
    const msgpack_object *nodes;
    uint32_t i;

    if (rid != NULL && rid->via.u64 == id) {
      ck_assert_ptr_nonnull(msg_ok(m));
      return peak;
    }
    if (!msg_str_is(m, "event", "meter"))
      continue;
    nodes = sono_map_get(m, "nodes");
    for (i = 0; i < nodes->via.array.size; i++) {
      const msgpack_object *n = &nodes->via.array.ptr[i];
      const msgpack_object *nid = sono_map_get(n, "node");
      const msgpack_object *ports = sono_map_get(n, "ports");

      if (nid->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        continue;
      if (nid->via.u64 == absent)
        (*seen_absent)++;
      if (nid->via.u64 == node && msg_double(&ports->via.array.ptr[0], "peak") > peak)
        peak = msg_double(&ports->via.array.ptr[0], "peak");
    }
  }
}

/* The node map of graph.get for node id (NULL if absent). */
static const msgpack_object *graph_node_of(const msgpack_object *ok, uint64_t id) {
  const msgpack_object *nodes = sono_map_get(ok, "nodes");
  uint32_t k;

  for (k = 0; k < nodes->via.array.size; k++) {
    const msgpack_object *n = &nodes->via.array.ptr[k];
    const msgpack_object *nid = sono_map_get(n, "id");
    if (nid->type == MSGPACK_OBJECT_POSITIVE_INTEGER && nid->via.u64 == id)
      return n;
  }
  return NULL;
}

/* A bus node straight to out:in_1 (Csound's main out only on in_2): the
 * bused synth's first sample is on channel 1 at exactly its start frame,
 * with the synth's own amplitude, and the main-out synth never reaches
 * channel 1.  A stereo bus node carries two buses on out_1 and out_2. */
START_TEST(bused_signal_starts_on_its_sample) {
  const uint64_t F = 1013, G = 3007;   /* neither on a k-cycle nor a block */
  const msgpack_object *ok, *n, *b;
  sf_count_t frames, i;
  uint64_t node, stereo;
  unsigned absent = 0;
  double peak;
  bool timed;
  uint32_t k;
  int bus, pair[2];
  char p[32];
  float *d;

  start();
  bus = audio_bus();
  pair[0] = audio_bus();
  pair[1] = audio_bus();
  define("wet", WET, 1);
  define("dry", DRY, 1);
  node = bus_node(&bus, 1);
  disconnect("csound:out_1", "out:in_1");
  connect_(port(p, sizeof p, node, "out", 1), "out:in_1");
  ok = ok_of(conn_request(&c, "graph.get", ""));
  n = graph_node_of(ok, node);
  ck_assert_ptr_nonnull(n);
  ck_assert(msg_str_is(n, "kind", "bus"));
  ck_assert_uint_eq(msg_uint(n, "outputs"), 1);
  ck_assert_uint_eq(msg_uint(n, "inputs"), 0);
  ck_assert(sono_map_get(n, "active")->via.boolean);
  b = sono_map_get(n, "buses");
  ck_assert_uint_eq(b->via.array.size, 1);
  ck_assert_uint_eq(b->via.array.ptr[0].via.u64, (uint64_t)bus);
  /* Stereo: two more buses on out_1 and out_2; unconnected, so inactive. */
  stereo = bus_node(pair, 2);
  n = graph_node_of(ok_of(conn_request(&c, "graph.get", "")), stereo);
  ck_assert_uint_eq(msg_uint(n, "outputs"), 2);
  ck_assert(!sono_map_get(n, "active")->via.boolean);

  synth("wet", F, -1, bus);
  synth("dry", G, -1, -1);
  /* Metered like any node (the unconnected one is not processed), and
   * timed in status's per-node load. */
  ok_of(conn_request(&c, "meter.subscribe", "u", "rate", (uint64_t)10));
  peak = render_metered(8192, node, stereo, &absent);
  ck_assert_msg(fabs(peak - 0.3) < 1e-3, "meter peak of the bus node %g", peak);
  ck_assert_uint_eq(absent, 0);
  ok = sono_map_get(ok_of(conn_request(&c, "status", "")), "nodes");
  for (k = 0, timed = false; k < ok->via.array.size; k++) {
    const msgpack_object *nid = sono_map_get(&ok->via.array.ptr[k], "node");
    timed |= nid->type == MSGPACK_OBJECT_POSITIVE_INTEGER && nid->via.u64 == node;
  }
  ck_assert_msg(timed, "status lists no load for the bus node");
  finish();
  d = wav_read_stereo(out_path, &frames);
  ck_assert_int_ge(frames, 8192);
  ck_assert_int_eq(first_nonzero(d, 0, 0, frames), (sf_count_t)F);
  ck_assert_float_eq_tol(d[2 * F], 0.3f, 1e-6f);
  ck_assert_int_eq(first_nonzero(d, 1, 0, frames), (sf_count_t)G);
  ck_assert_float_eq_tol(d[2 * G + 1], 0.2f, 1e-6f);
  /* Channel 1 is the 440 Hz cosine of 0.3 only: sample by sample. */
  for (i = (sf_count_t)F; i < 8192; i++) {
    double want = 0.3 * cos(2 * M_PI * 440.0 * (double)(i - (sf_count_t)F) / RATE);
    ck_assert_msg(fabs(d[2 * i] - want) < 2e-3, "frame %ld: %g, want %g", (long)i, d[2 * i],
                  want);
  }
  free(d);
}
END_TEST

/* One instrument writes a bus that goes through a real reverb plugin,
 * another goes to the main out.  The main-out note (0 to 0.2 s) leaves no
 * tail; the bused note (1.0 to 1.2 s) does. */
START_TEST(reverb_tail_only_for_the_bused_instrument) {
  uint64_t node, rev;
  sf_count_t frames;
  double head_dry, tail_dry, head_wet, tail_wet;
  char p[32], q[32];
  int bus;
  float *d;

  start();
  bus = audio_bus();
  define("wet", WET, 1);
  define("dry", DRY, 1);
  node = bus_node(&bus, 1);
  rev = msg_uint(ok_of(conn_request(&c, "plugin.load", "s", "path", DRAGONFLY_ROOM)), "node");
  /* The reverb was auto-connected to out; feed both its inputs. */
  connect_(port(p, sizeof p, node, "out", 1), port(q, sizeof q, rev, "in", 1));
  connect_(port(p, sizeof p, node, "out", 1), port(q, sizeof q, rev, "in", 2));
  synth("dry", 0, 0.2, -1);
  synth("wet", RATE, 0.2, bus);
  render(2 * RATE);
  finish();
  d = wav_read_stereo(out_path, &frames);
  ck_assert_int_ge(frames, 2 * RATE);
  head_dry = energy(d, 0, 0, RATE / 5);
  tail_dry = energy(d, 0, RATE / 2, RATE) + energy(d, 1, RATE / 2, RATE);
  head_wet = energy(d, 0, RATE, RATE + RATE / 5);
  tail_wet = energy(d, 0, RATE + RATE / 2, 2 * RATE) + energy(d, 1, RATE + RATE / 2, 2 * RATE);
  fprintf(stderr, "busnode: head dry %g wet %g; tail after dry %g, after wet %g\n", head_dry,
          head_wet, tail_dry, tail_wet);
  ck_assert_msg(head_dry > 100, "main-out note not heard: %g", head_dry);
  ck_assert_msg(head_wet > 1, "bused note not heard through the reverb: %g", head_wet);
  ck_assert_msg(tail_dry < 1e-9, "a tail after the main-out note: %g", tail_dry);
  ck_assert_msg(tail_wet > 1e-3, "no reverb tail after the bused note: %g", tail_wet);
  free(d);
}
END_TEST

/* A sounding bus node is moved from out:in_1 to out:in_2, then deleted
 * while connected: both changes fade (no step beyond the sine's own), the
 * node is gone once its fade settled, and its bus can be freed and
 * exposed again. */
START_TEST(rewiring_and_deleting_a_sounding_bus_node) {
  const msgpack_object *ok;
  uint64_t node, moved, del, again;
  sf_count_t frames, i;
  char p[32];
  int bus;
  float *d;

  start();
  bus = audio_bus();
  define("wet", WET, 1);
  node = bus_node(&bus, 1);
  connect_(port(p, sizeof p, node, "out", 1), "out:in_1");
  synth("wet", 0, -1, bus);
  render(4096);
  disconnect(port(p, sizeof p, node, "out", 1), "out:in_1");
  moved = msg_uint(ok_of(conn_request(&c, "graph.connect", "ss", "from", p, "to", "out:in_2")),
                   "frame");
  ck_assert_uint_eq(moved, 256 + 4096);   /* after the define's render */
  render(4096);
  /* Its bus cannot go while it is exposed. */
  conn_expect_error(&c, conn_request(&c, "bus.free", "u", "bus", (uint64_t)bus), "busy");
  del = msg_uint(ok_of(conn_request(&c, "node.delete", "u", "node", node)), "frame");
  ck_assert_uint_eq(del, moved + 4096);
  conn_expect_error(&c, conn_request(&c, "node.delete", "u", "node", node), "unknown_node");
  /* Nothing connects to it while it fades. */
  conn_expect_error(&c, conn_request(&c, "graph.connect", "ss", "from", p, "to", "out:in_1"),
                    "unknown_node");
  render(4096);
  ok = ok_of(conn_request(&c, "graph.get", ""));
  ck_assert_ptr_null(graph_node_of(ok, node));
  ck_assert_uint_eq(sono_map_get(ok, "nodes")->via.array.size, 3);   /* out, in, csound */
  /* Exposed again (the old taps are gone or going), then freed. */
  again = bus_node(&bus, 1);
  ck_assert_uint_ne(again, node);
  ok_of(conn_request(&c, "node.delete", "u", "node", again));   /* unconnected: at once */
  ck_assert_ptr_null(graph_node_of(ok_of(conn_request(&c, "graph.get", "")), again));
  render(256);
  ok_of(conn_request(&c, "bus.free", "u", "bus", (uint64_t)bus));
  render(256);
  finish();
  d = wav_read_stereo(out_path, &frames);
  ck_assert_int_ge(frames, (sf_count_t)del + 4096 + 512);
  /* Before the move: channel 1 only; after its fade: channel 2 only. */
  ck_assert_msg(energy(d, 0, 1024, (sf_count_t)moved) > 10, "no sound on channel 1");
  ck_assert_double_eq(energy(d, 1, 0, (sf_count_t)moved), 0);
  ck_assert_msg(energy(d, 0, (sf_count_t)moved, (sf_count_t)moved + 64) > 0, "cut, not faded");
  ck_assert_double_eq(energy(d, 0, (sf_count_t)moved + GRAPH_FADE_FRAMES, frames), 0);
  ck_assert_msg(energy(d, 1, (sf_count_t)moved + GRAPH_FADE_FRAMES, (sf_count_t)del) > 10,
                "no sound on channel 2");
  /* The delete fades out from its frame, then silence. */
  ck_assert_msg(energy(d, 1, (sf_count_t)del, (sf_count_t)del + 64) > 0, "cut, not faded");
  for (i = (sf_count_t)del + GRAPH_FADE_FRAMES; i < frames; i++)
    ck_assert_msg(d[2 * i + 1] == 0.0f, "sound at %ld after the delete's fade", (long)i);
  /* A 440 Hz cosine of 0.3 moves at most 0.0173 a sample; a cut jumps up
   * to 0.3. */
  ck_assert_msg(largest_jump(d, 0, frames) < 0.02, "channel 1 jumps %g", largest_jump(d, 0, frames));
  ck_assert_msg(largest_jump(d, 1, frames) < 0.02, "channel 2 jumps %g", largest_jump(d, 1, frames));
  free(d);
}
END_TEST

START_TEST(bad_requests_are_refused) {
  const msgpack_object *err;
  uint64_t node, id;
  int bus, kbus, pair[2], unknown = 999, big[17];
  unsigned k;
  char p[32];

  start();
  bus = audio_bus();
  kbus = (int)msg_uint(ok_of(conn_request(&c, "bus.new", "s", "kind", "control")), "bus");
  conn_expect_error(&c, conn_request(&c, "node.new", "s", "kind", "bus"), "missing_field");
  conn_expect_error(&c, conn_request(&c, "node.new", "ss", "kind", "bus", "buses", "3"),
                    "bad_type");
  conn_expect_error(&c, bus_node_req(&bus, 0), "bad_value");
  for (k = 0; k < 17; k++)
    big[k] = bus;
  conn_expect_error(&c, bus_node_req(big, 17), "bad_value");
  err = conn_expect_error(&c, bus_node_req(&unknown, 1), "unknown_bus");
  ck_assert(msg_str_is(err, "message", "node.new: no bus 999"));
  err = conn_expect_error(&c, bus_node_req(&kbus, 1), "bad_value");
  fprintf(stderr, "busnode: control bus refused: %.*s\n",
          (int)sono_map_get(err, "message")->via.str.size,
          sono_map_get(err, "message")->via.str.ptr);
  pair[0] = bus;
  pair[1] = bus;
  conn_expect_error(&c, bus_node_req(pair, 2), "bad_value");
  node = bus_node(&bus, 1);
  /* Already exposed. */
  conn_expect_error(&c, bus_node_req(&bus, 1), "busy");
  conn_expect_error(&c, conn_request(&c, "bus.free", "u", "bus", (uint64_t)bus), "busy");
  /* A source: no inputs, no bypass. */
  conn_expect_error(&c, conn_request(&c, "graph.connect", "ss", "from", "csound:out_1", "to",
                                     port(p, sizeof p, node, "in", 1)),
                    "unknown_port");
  conn_expect_error(&c, conn_request(&c, "graph.connect", "ss", "from",
                                     port(p, sizeof p, node, "out", 2), "to", "out:in_1"),
                    "unknown_port");
  conn_expect_error(&c, conn_request(&c, "node.bypass", "ub", "node", node, "on", true),
                    "bad_value");
  /* Mute and gain apply as to any node. */
  ok_of(conn_request(&c, "node.gain", "ud", "node", node, "gain", 0.5));
  ok_of(conn_request(&c, "node.mute", "ub", "node", node, "on", true));
  id = conn_request(&c, "node.new", "s", "kind", "mixer");
  conn_expect_error(&c, id, "bad_value");
  ok_of(conn_request(&c, "node.delete", "u", "node", node));
  conn_expect_error(&c, conn_request(&c, "node.delete", "u", "node", node), "unknown_node");
  render(256);
  finish();
  unlink(out_path);
}
END_TEST

/* A saved session brings a connected stereo bus node back: on a fresh
 * daemon state.load maps the saved buses to new ones, rebuilds the node
 * with its gain and connections, and the bused synth sounds through it. */
START_TEST(a_saved_bus_node_comes_back) {
  char saved[400], p[32];
  const msgpack_object *ok, *n, *ids, *b;
  uint64_t node, restored = 0, saved_bus[3], new_bus[3];
  int buses[2], second;
  unsigned nbus;
  sf_count_t frames;
  uint32_t k;
  float *d;

  snprintf(saved, sizeof saved, "/tmp/sonod-busnode-%d-%ld.sonod", getpid(), random());
  start();
  audio_bus();   /* bus 0 stays unused, so the saved ids differ from the new ones */
  buses[0] = audio_bus();
  buses[1] = audio_bus();
  define("wet", WET, 1);
  node = bus_node(buses, 2);
  connect_(port(p, sizeof p, node, "out", 2), "out:in_2");
  disconnect("csound:out_1", "out:in_1");
  disconnect("csound:out_2", "out:in_2");
  ok_of(conn_request(&c, "node.gain", "ud", "node", node, "gain", 0.5));
  ok_of(conn_request(&c, "state.save", "s", "path", saved));
  finish();
  unlink(out_path);

  start();
  /* Twice: the second load replaces the bus node the first made. */
  ok_of(conn_request(&c, "state.load", "s", "path", saved));
  render(256);
  ok = ok_of(conn_request(&c, "state.load", "s", "path", saved));
  ids = sono_map_get(ok, "bus_nodes");
  ck_assert_ptr_nonnull(ids);
  ck_assert_uint_eq(ids->via.array.size, 1);
  ck_assert_uint_eq(msg_uint(&ids->via.array.ptr[0], "saved"), node);
  restored = msg_uint(&ids->via.array.ptr[0], "node");
  ids = sono_map_get(ok, "buses");
  ck_assert_uint_eq(ids->via.array.size, 3);
  ck_assert_uint_eq(sono_map_get(ok, "gain_nodes")->via.array.size, 0);
  for (k = 0; k < 3; k++) {
    saved_bus[k] = msg_uint(&ids->via.array.ptr[k], "saved");
    new_bus[k] = msg_uint(&ids->via.array.ptr[k], "bus");
  }
  /* (ok is gone with the next reply.) */
  ok = ok_of(conn_request(&c, "graph.get", ""));
  for (k = 0, nbus = 0; k < sono_map_get(ok, "nodes")->via.array.size; k++)
    nbus += msg_str_is(&sono_map_get(ok, "nodes")->via.array.ptr[k], "kind", "bus");
  ck_assert_uint_eq(nbus, 1);
  n = graph_node_of(ok, restored);
  ck_assert_ptr_nonnull(n);
  ck_assert(msg_str_is(n, "kind", "bus"));
  ck_assert_double_eq_tol(msg_double(n, "gain"), 0.5, 1e-9);
  ck_assert(sono_map_get(n, "active")->via.boolean);
  b = sono_map_get(n, "buses");
  ck_assert_uint_eq(b->via.array.size, 2);
  /* The buses it exposes now are the new ids of the saved ones. */
  for (k = 0; k < 2; k++) {
    uint32_t j;
    bool found = false;

    for (j = 0; j < 3; j++)
      if (saved_bus[j] == (uint64_t)buses[k]) {
        ck_assert_uint_eq(new_bus[j], b->via.array.ptr[k].via.u64);
        found = true;
      }
    ck_assert(found);
  }
  second = (int)b->via.array.ptr[1].via.u64;
  synth("wet", 1000, -1, second);
  render(4096);
  finish();
  unlink(saved);
  d = wav_read_stereo(out_path, &frames);
  /* out_2 (the second bus) at gain 0.5 to out:in_2 only. */
  ck_assert_int_eq(first_nonzero(d, 1, 0, frames), 1000);
  ck_assert_float_eq_tol(d[2 * 1000 + 1], 0.15f, 1e-6f);
  ck_assert_double_eq(energy(d, 0, 0, frames), 0);
  free(d);
}
END_TEST

static Suite *busnode_suite(void) {
  Suite *s = suite_create("busnode");
  TCase *tc = tcase_create("core");

  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, bused_signal_starts_on_its_sample);
  tcase_add_test(tc, reverb_tail_only_for_the_bused_instrument);
  tcase_add_test(tc, rewiring_and_deleting_a_sounding_bus_node);
  tcase_add_test(tc, bad_requests_are_refused);
  tcase_add_test(tc, a_saved_bus_node_comes_back);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(busnode_suite)
