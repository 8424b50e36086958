/* Integration: places where PROTOCOL.md and the daemon used to disagree
 * (issue 15), each pinned down as the document now says. */
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

static daemon_proc dp;
static conn c;
static char out_path[400];

static void start(void) {
  const char *args[] = { "--backend", "offline", "--output", out_path, "--block-size", "256",
                         "--ksmps", "4", NULL };

  snprintf(out_path, sizeof out_path, "/tmp/sonod-contract-%d-%ld.wav", getpid(), random());
  daemon_start(&dp, args);
  conn_open(&c, dp.socket);
}

static void stop(void) {
  daemon_shutdown(&dp, &c);
  unlink(out_path);
}

/* A request packed by hand: the map header says n entries after id and op. */
typedef struct req {
  msgpack_sbuffer sb;
  msgpack_packer pk;
} req;

static msgpack_packer *req_begin(req *q, uint64_t id, const char *op, uint32_t n) {
  msgpack_sbuffer_init(&q->sb);
  msgpack_packer_init(&q->pk, &q->sb, msgpack_sbuffer_write);
  msgpack_pack_map(&q->pk, n + 2);
  sono_pack_key_uint(&q->pk, "id", id);
  sono_pack_key_str(&q->pk, "op", op);
  return &q->pk;
}

static void req_send(req *q) {
  conn_send_payload(&c, q->sb.data, q->sb.size);
  msgpack_sbuffer_destroy(&q->sb);
}

static uint64_t render(uint64_t frames) {
  return msg_uint(conn_ok(&c, conn_request(&c, "render", "u", "frames", frames)), "frame");
}

/* render {frames: 0} renders nothing and says where the engine stands; it
 * is not "no frames given" (which renders to --length). */
START_TEST(render_zero_frames_renders_none) {
  start();
  ck_assert_uint_eq(render(0), 0);
  ck_assert_uint_eq(msg_uint(conn_ok(&c, conn_request(&c, "render", "d", "seconds", 0.0)),
                             "frame"), 0);
  ck_assert_uint_eq(render(512), 512);
  ck_assert_uint_eq(render(0), 512);
  /* Giving both is bad_request even when one of them is 0. */
  conn_expect_error(&c, conn_request(&c, "render", "ud", "frames", (uint64_t)0, "seconds", 0.0),
                    "bad_request");
  /* Neither: to --length, and there is none. */
  conn_expect_error(&c, conn_request(&c, "render", ""), "bad_value");
  stop();
}
END_TEST

/* status.frame is the engine clock: after a render, the render's end (the
 * frame its reply gave), not the start of its last block. */
START_TEST(status_frame_is_the_render_end) {
  const msgpack_object *ok;

  start();
  ck_assert_uint_eq(render(300), 300);   /* blocks of 256 and 44 */
  ok = conn_ok(&c, conn_request(&c, "status", ""));
  ck_assert_uint_eq(msg_uint(ok, "frame"), 300);
  ck_assert_double_eq_tol(msg_double(ok, "seconds"), 300.0 / 48000, 1e-12);
  ok = conn_ok(&c, conn_request(&c, "transport.get", ""));
  ck_assert_uint_eq(msg_uint(ok, "engine_frame"), 300);
  stop();
}
END_TEST

/* table.read's sr is an integer, as every rate sonod reports. */
START_TEST(table_read_sr_is_an_integer) {
  char wav[300];
  SF_INFO info = { .samplerate = 44100, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT };
  float data[64] = { 0.5f };
  SNDFILE *f;
  const msgpack_object *ok, *sr;

  start();
  snprintf(wav, sizeof wav, "%s/t.wav", dp.dir);
  f = sf_open(wav, SFM_WRITE, &info);
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(sf_writef_float(f, data, 64), 64);
  sf_close(f);
  ok = conn_ok(&c, conn_request(&c, "table.read", "s", "path", wav));
  sr = sono_map_get(ok, "sr");
  ck_assert_ptr_nonnull(sr);
  ck_assert_int_eq(sr->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
  ck_assert_uint_eq(sr->via.u64, 44100);
  ck_assert_uint_eq(msg_uint(ok, "channels"), 1);
  unlink(wav);
  stop();
}
END_TEST

/* A key twice in one map, at any depth, is bad_request; the id is echoed
 * unless it is the key given twice. */
START_TEST(duplicate_keys_are_refused) {
  req q;
  msgpack_packer *pk;
  const msgpack_object *m, *id;
  char key[16];

  start();
  pk = req_begin(&q, 1, "ping", 1);
  sono_pack_key_str(pk, "op", "status");
  req_send(&q);
  m = conn_expect_error(&c, 1, "bad_request");
  ck_assert_ptr_nonnull(strstr(sono_map_get(m, "message")->via.str.ptr, "'op' appears twice"));

  pk = req_begin(&q, 2, "ping", 1);
  sono_pack_key_uint(pk, "id", 3);
  req_send(&q);
  m = conn_recv(&c, 5000);
  id = sono_map_get(m, "id");
  ck_assert_ptr_nonnull(id);
  ck_assert_int_eq(id->type, MSGPACK_OBJECT_NIL);
  ck_assert_str_eq(msg_error_code(m), "bad_request");

  /* Nested: a small map inside an array inside a map. */
  pk = req_begin(&q, 4, "ping", 1);
  sono_pack_cstr(pk, "data");
  msgpack_pack_array(pk, 2);
  msgpack_pack_nil(pk);
  msgpack_pack_map(pk, 2);
  sono_pack_key_uint(pk, "a", 1);
  sono_pack_key_uint(pk, "a", 2);
  req_send(&q);
  conn_expect_error(&c, 4, "bad_request");

  /* A large map (sorted, not compared pairwise): 40 keys, the last
   * repeating the 7th; then the same without the repeat passes. */
  for (int dup = 1; dup >= 0; dup--) {
    pk = req_begin(&q, 5 + (uint64_t)dup, "ping", 1);
    sono_pack_cstr(pk, "data");
    msgpack_pack_map(pk, 40);
    for (int i = 0; i < 40; i++) {
      snprintf(key, sizeof key, "k%d", dup && i == 39 ? 6 : i);
      sono_pack_key_uint(pk, key, (uint64_t)i);
    }
    req_send(&q);
    if (dup)
      conn_expect_error(&c, 6, "bad_request");
    else
      ck_assert_ptr_nonnull(conn_ok(&c, 5));
  }
  stop();
}
END_TEST

/* A number that is not finite is bad_value wherever a number is read (it
 * is a number, out of range), never bad_type. */
START_TEST(non_finite_numbers_are_bad_value) {
  req q;
  msgpack_packer *pk;
  uint64_t synth;

  start();
  conn_ok(&c, conn_request(&c, "instr.define", "ss", "name", "beep",
                           "body", "|kamp=0.1|\nouts oscili(kamp, 440), oscili(kamp, 440)"));
  render(256);
  synth = msg_uint(conn_ok(&c, conn_request(&c, "synth.start", "s", "instr", "beep")), "synth");
  render(256);

  pk = req_begin(&q, 100, "synth.set", 2);
  sono_pack_key_uint(pk, "synth", synth);
  sono_pack_cstr(pk, "args");
  msgpack_pack_map(pk, 1);
  sono_pack_key_double(pk, "kamp", NAN);
  req_send(&q);
  conn_expect_error(&c, 100, "bad_value");

  pk = req_begin(&q, 101, "synth.start", 2);
  sono_pack_key_str(pk, "instr", "beep");
  sono_pack_cstr(pk, "args");
  msgpack_pack_map(pk, 1);
  sono_pack_key_double(pk, "kamp", INFINITY);
  req_send(&q);
  conn_expect_error(&c, 101, "bad_value");

  pk = req_begin(&q, 102, "synth.automate", 3);
  sono_pack_key_uint(pk, "synth", synth);
  sono_pack_key_str(pk, "param", "kamp");
  sono_pack_cstr(pk, "points");
  msgpack_pack_array(pk, 2);
  msgpack_pack_double(pk, 0.0);
  msgpack_pack_double(pk, -INFINITY);
  req_send(&q);
  conn_expect_error(&c, 102, "bad_value");

  pk = req_begin(&q, 103, "table.new", 1);
  sono_pack_cstr(pk, "data");
  msgpack_pack_array(pk, 1);
  msgpack_pack_double(pk, NAN);
  req_send(&q);
  conn_expect_error(&c, 103, "bad_value");

  /* A string is still the wrong type. */
  pk = req_begin(&q, 104, "synth.set", 2);
  sono_pack_key_uint(pk, "synth", synth);
  sono_pack_cstr(pk, "args");
  msgpack_pack_map(pk, 1);
  sono_pack_key_str(pk, "kamp", "loud");
  req_send(&q);
  conn_expect_error(&c, 104, "bad_type");
  stop();
}
END_TEST

/* plugin.set / plugin.get take index or name, and both is bad_request;
 * midi.route's channel -1 means all channels, as when omitted. */
START_TEST(plugin_param_and_midi_channel) {
  uint64_t node;
  char to[24];
  const msgpack_object *routes, *ch;

  start();
  node = msg_uint(conn_ok(&c, conn_request(&c, "plugin.load", "s", "path", getenv("TESTPLUG"))),
                  "node");
  conn_expect_error(&c, conn_request(&c, "plugin.set", "uisd", "node", node, "index", (int64_t)0,
                                     "name", "gain", "value", 0.5), "bad_request");
  conn_expect_error(&c, conn_request(&c, "plugin.get", "uis", "node", node, "index", (int64_t)0,
                                     "name", "gain"), "bad_request");
  conn_ok(&c, conn_request(&c, "plugin.get", "ui", "node", node, "index", (int64_t)0));

  snprintf(to, sizeof to, "%llu", (unsigned long long)node);
  conn_ok(&c, conn_request(&c, "midi.route", "si", "to", to, "channel", (int64_t)-1));
  routes = sono_map_get(conn_ok(&c, conn_request(&c, "midi.routes", "")), "routes");
  ck_assert_ptr_nonnull(routes);
  ck_assert_uint_eq(routes->via.array.size, 1);
  ch = sono_map_get(&routes->via.array.ptr[0], "channel");
  ck_assert_ptr_nonnull(ch);
  ck_assert_int_eq(ch->type, MSGPACK_OBJECT_NIL);
  conn_expect_error(&c, conn_request(&c, "midi.route", "si", "to", to, "channel", (int64_t)-2),
                    "bad_value");
  conn_expect_error(&c, conn_request(&c, "midi.route", "si", "to", to, "channel", (int64_t)16),
                    "bad_value");
  stop();
}
END_TEST

/* `client` events: connected (no name yet: it comes before any hello),
 * named (hello gave one), disconnected (with it). */
START_TEST(client_events_carry_the_hello_name) {
  static const char *const kinds[] = { "client" };
  conn other;
  const msgpack_object *m;
  uint64_t who;

  start();
  conn_subscribe(&c, 1, kinds, 1);
  conn_open(&other, dp.socket);
  m = conn_recv(&c, 5000);
  ck_assert(msg_str_is(m, "action", "connected"));
  ck_assert(msg_str_is(m, "name", ""));
  who = msg_uint(m, "client");
  conn_ok(&other, conn_request(&other, "hello", "s", "name", "bob"));
  m = conn_recv(&c, 5000);
  ck_assert(msg_str_is(m, "event", "client"));
  ck_assert(msg_str_is(m, "action", "named"));
  ck_assert(msg_str_is(m, "name", "bob"));
  ck_assert_uint_eq(msg_uint(m, "client"), who);
  /* The same name again is no news. */
  conn_ok(&other, conn_request(&other, "hello", "s", "name", "bob"));
  conn_close(&other);
  m = conn_recv(&c, 5000);
  ck_assert(msg_str_is(m, "action", "disconnected"));
  ck_assert(msg_str_is(m, "name", "bob"));
  stop();
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("contract");
  TCase *tc = tcase_create("contract");

  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, render_zero_frames_renders_none);
  tcase_add_test(tc, status_frame_is_the_render_end);
  tcase_add_test(tc, table_read_sr_is_an_integer);
  tcase_add_test(tc, duplicate_keys_are_refused);
  tcase_add_test(tc, non_finite_numbers_are_bad_value);
  tcase_add_test(tc, plugin_param_and_midi_channel);
  tcase_add_test(tc, client_events_carry_the_hello_name);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(make_suite)
