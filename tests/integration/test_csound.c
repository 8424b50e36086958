/* Integration: the live Csound engine in the running daemon (offline
 * backend), over the real protocol, comparing samples of the output file:
 * frequency, sample-exact set/start/stop, bundles, buses, tables, 1000
 * synths and their events, errors, automation, named channels. */
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
static uint64_t next_id = 1;

static const char *SINE = "|kfreq=440, kamp=0.5|\nasig oscili kamp, kfreq\nouts asig, asig\n";
/* upsamp, not a(): a() ramps from the previous k value over the first cycle. */
static const char *DC = "|kamp=0.1|\nasig upsamp kamp\nouts asig, asig\n";

/* A sine on the left (kside=0) or on the right (kside=1) channel only. */
static const char *SIDE =
    "|kside=0|\nasig oscili 0.5, 440\nouts asig * (1 - kside), asig * kside\n";

/* --csound-unsafe: code that builds code at run time (compilestr), which
 * confinement refuses by default (README.md, "Threat model"). */
static bool csound_unsafe;

static void start(void) {
  const char *args[12];
  int n = 0;

  snprintf(out_path, sizeof out_path, "/tmp/sonod-csound-%d-%ld.wav", getpid(), random());
  args[n++] = "--backend";
  args[n++] = "offline";
  args[n++] = "--output";
  args[n++] = out_path;
  args[n++] = "--block-size";
  args[n++] = "256";
  args[n++] = "--ksmps";
  args[n++] = "32";
  if (csound_unsafe)
    args[n++] = "--csound-unsafe";
  args[n] = NULL;
  daemon_start(&dp, args);
  conn_open(&c, dp.socket);
}

static void finish(void) {
  daemon_shutdown(&dp, &c);
}

static float *read_wav(sf_count_t *frames) {
  return wav_read_stereo(out_path, frames);
}

/* ---- building requests with nested values ---- */

typedef struct req {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  uint64_t id;
} req;

static msgpack_packer *req_begin(req *q, const char *op, uint32_t nfields) {
  msgpack_sbuffer_init(&q->sb);
  msgpack_packer_init(&q->pk, &q->sb, msgpack_sbuffer_write);
  q->id = next_id++;
  msgpack_pack_map(&q->pk, nfields + 2);
  sono_pack_key_uint(&q->pk, "id", q->id);
  sono_pack_key_str(&q->pk, "op", op);
  return &q->pk;
}

static uint64_t req_send(req *q) {
  conn_send_payload(&c, q->sb.data, q->sb.size);
  msgpack_sbuffer_destroy(&q->sb);
  return q->id;
}

static const msgpack_object *ok_of(uint64_t id) {
  return conn_ok(&c, id);
}

static const msgpack_object *expect_error(uint64_t id, const char *code) {
  return conn_expect_error(&c, id, code);
}

static void define(const char *name, const char *body, int priority) {
  ok_of(conn_request(&c, "instr.define", "ssi", "name", name, "body", body, "priority",
                     (int64_t)priority));
}

/* synth.start {instr, args: {k: v}, at, dur}; returns the synth id. */
static uint64_t synth_start(const char *instr, const char *k, double v, uint64_t at, double dur) {
  req q;
  msgpack_packer *pk = req_begin(&q, "synth.start", k ? 4 : 3);

  sono_pack_key_str(pk, "instr", instr);
  if (k != NULL) {
    sono_pack_cstr(pk, "args");
    msgpack_pack_map(pk, 1);
    sono_pack_key_double(pk, k, v);
  }
  sono_pack_key_uint(pk, "at", at);
  sono_pack_key_double(pk, "dur", dur);
  const msgpack_object *ok = ok_of(req_send(&q));
  ck_assert_uint_eq(msg_uint(ok, "frame"), at);
  return msg_uint(ok, "synth");
}

static void render(uint64_t frames) {
  ok_of(conn_request(&c, "render", "u", "frames", frames));
}

/* Frequency from the positive-going zero crossings of the left channel. */
static double freq_between(const float *d, sf_count_t a, sf_count_t b) {
  sf_count_t i, first = -1, last = -1;
  unsigned n = 0;
  double fa = 0, fb = 0;

  for (i = a; i + 1 < b; i++)
    if (d[2 * i] <= 0 && d[2 * (i + 1)] > 0) {
      double frac = -d[2 * i] / (d[2 * (i + 1)] - d[2 * i]);
      if (first < 0) {
        first = i;
        fa = (double)i + frac;
      } else {
        n++;
      }
      last = i;
      fb = (double)i + frac;
    }
  ck_assert_msg(n > 0 && last > first, "no oscillation between %ld and %ld", (long)a, (long)b);
  return n * (double)RATE / (fb - fa);
}

/* Renders 2037 frames with a sine on the left from frame 100 and one on
 * the right from 1037, in one render or split at `split`. */
static float *render_session(uint64_t split, sf_count_t *frames) {
  float *d;

  start();
  define("side", SIDE, 1);
  synth_start("side", NULL, 0, 100, -1);
  if (split > 0)
    render(split);
  synth_start("side", "kside", 1, 1037, -1);
  render(2037 - split);
  finish();
  d = read_wav(frames);
  unlink(out_path);
  return d;
}

/* A render that stops inside a k-cycle (1037 = 32 k-cycles of 32 + 13)
 * holds its last 13 frames back until the next render (or the end): Csound
 * sounds in them, a start timed where the render stopped is exact, and the
 * file equals the one rendered in one go. */
START_TEST(render_stopping_inside_a_k_cycle) {
  sf_count_t n1, n2, i;
  float *whole = render_session(0, &n1), *split = render_session(1037, &n2);
  float peak = 0;

  ck_assert_int_eq(n1, 2037);
  ck_assert_int_eq(n2, 2037);
  for (i = 1024; i < 1037; i++)
    peak = fmaxf(peak, fabsf(split[2 * i]));
  ck_assert_msg(peak > 0.1f, "Csound silent in the frames held back: peak %f", peak);
  for (i = 0; i < n1; i++) {
    ck_assert_msg(whole[2 * i] == split[2 * i] && whole[2 * i + 1] == split[2 * i + 1],
                  "frame %ld: whole %f %f, split %f %f", (long)i, whole[2 * i],
                  whole[2 * i + 1], split[2 * i], split[2 * i + 1]);
    if (i <= 1037)
      ck_assert_msg(split[2 * i + 1] == 0.0f, "right channel sounds at %ld", (long)i);
  }
  ck_assert_float_ne(split[2 * 1038 + 1], 0.0f);
  free(whole);
  free(split);
}
END_TEST

/* After a render ends inside a k-cycle (1037), a request for "now" takes
 * effect at 1037: the held frames are rendered for it, Csound rendering its
 * whole k-cycle ahead, so a Csound start timed inside the rest of that
 * k-cycle is late (refused, not moved) and one at the next k-cycle is
 * exact.  The file equals the same session timed explicitly in one go. */
START_TEST(request_for_now_after_a_render_inside_a_k_cycle) {
  sf_count_t n1, n2, i;
  float *whole, *split;
  req q;
  msgpack_packer *pk;
  const msgpack_object *ok;

  start();
  define("side", SIDE, 1);
  synth_start("side", NULL, 0, 100, -1);
  ok_of(conn_request(&c, "engine.tone", "bddui", "on", 1, "freq", 997.0, "amp", 0.25, "at",
                     (uint64_t)1037, "channel", (int64_t)1));
  synth_start("side", "kside", 1, 1056, -1);
  render(2037);
  finish();
  whole = read_wav(&n1);
  unlink(out_path);

  start();
  define("side", SIDE, 1);
  synth_start("side", NULL, 0, 100, -1);
  render(1037);
  ok = ok_of(conn_request(&c, "engine.tone", "bddi", "on", 1, "freq", 997.0, "amp", 0.25,
                          "channel", (int64_t)1));
  ck_assert_uint_eq(msg_uint(ok, "frame"), 1037);
  pk = req_begin(&q, "synth.start", 3);
  sono_pack_key_str(pk, "instr", "side");
  sono_pack_key_uint(pk, "at", 1040);
  sono_pack_key_double(pk, "dur", -1);
  expect_error(req_send(&q), "late");
  synth_start("side", "kside", 1, 1056, -1);
  render(1000);
  finish();
  split = read_wav(&n2);
  unlink(out_path);

  ck_assert_int_eq(n1, 2037);
  ck_assert_int_eq(n2, 2037);
  for (i = 0; i < n1; i++)
    ck_assert_msg(whole[2 * i] == split[2 * i] && whole[2 * i + 1] == split[2 * i + 1],
                  "frame %ld: whole %f %f, split %f %f", (long)i, whole[2 * i],
                  whole[2 * i + 1], split[2 * i], split[2 * i + 1]);
  ck_assert_float_eq(split[2 * 1037 + 1], 0.0f);
  ck_assert_float_ne(split[2 * 1038 + 1], 0.0f);
  free(whole);
  free(split);
}
END_TEST

START_TEST(sine_and_set) {
  float *d;
  sf_count_t frames;
  uint64_t s;
  req q;
  msgpack_packer *pk;

  start();
  define("sine", SINE, 1);
  s = synth_start("sine", NULL, 0, 4800, -1);
  pk = req_begin(&q, "synth.set", 3);
  sono_pack_key_uint(pk, "synth", s);
  sono_pack_cstr(pk, "args");
  msgpack_pack_map(pk, 1);
  sono_pack_key_double(pk, "kfreq", 660);
  sono_pack_key_uint(pk, "at", 24000);
  ck_assert_uint_eq(msg_uint(ok_of(req_send(&q)), "frame"), 24000);
  render(48000);
  finish();
  d = read_wav(&frames);
  ck_assert_int_eq(frames, 48000);
  for (sf_count_t i = 0; i < 4800; i++)
    ck_assert_float_eq(d[2 * i], 0.0f);
  ck_assert_float_ne(d[2 * 4801], 0.0f);
  ck_assert_double_eq_tol(freq_between(d, 4800, 24000), 440.0, 1.0);
  /* k-rate parameter: from the k-cycle that holds frame 24000. */
  ck_assert_double_eq_tol(freq_between(d, 24000 + 32, 48000), 660.0, 1.0);
  free(d);
}
END_TEST

/* Compiles sent back to back to an idle offline daemon merge at once
 * (issue 17): each request is sent before any reply is read, the second
 * compile uses a global the first one declared (Csound parses it only once
 * the first is merged), and the synths they define start where asked. */
START_TEST(compile_chain_back_to_back) {
  float *d;
  sf_count_t frames;
  uint64_t ids[7];
  int n = 0;

  start();
  ids[n++] = conn_request(&c, "instr.define", "ss", "name", "sine", "body", SINE);
  ids[n++] = conn_request(&c, "csound.compile", "s", "code", "gkdc init 0.25\n");
  ids[n++] = conn_request(&c, "instr.define", "ss", "name", "dc",
                          "body", "asig upsamp gkdc\nouts asig, asig\n");
  ids[n++] = conn_request(&c, "csound.compile", "s", "code",
                          "instr 7\nasig upsamp 0.125\nouts asig, asig\nendin\n");
  ids[n++] = conn_request(&c, "synth.start", "sud", "instr", "sine", "at", (uint64_t)0, "dur", 0.1);
  ids[n++] = conn_request(&c, "synth.start", "sud", "instr", "dc", "at", (uint64_t)9600, "dur", 0.1);
  ids[n++] = conn_request(&c, "csound.event", "su", "line", "i 7 0.4 0.1", "at", (uint64_t)0);
  for (int i = 0; i < n; i++)
    ok_of(ids[i]);
  render(24000);
  finish();
  d = read_wav(&frames);
  ck_assert_int_eq(frames, 24000);
  ck_assert_double_eq_tol(freq_between(d, 0, 4800), 440.0, 1.0);
  for (sf_count_t i = 4800; i < 9600; i++)
    ck_assert_float_eq(d[2 * i], 0.0f);
  for (sf_count_t i = 9600; i < 14400; i++)
    ck_assert_float_eq_tol(d[2 * i], 0.25f, 1e-6f);
  for (sf_count_t i = 14400; i < 19200; i++)
    ck_assert_float_eq(d[2 * i], 0.0f);
  for (sf_count_t i = 19200; i < 24000; i++)
    ck_assert_float_eq_tol(d[2 * i], 0.125f, 1e-6f);
  free(d);
  unlink(out_path);
}
END_TEST

START_TEST(bundle_chord_and_stop) {
  float *d;
  sf_count_t frames;
  static const double amps[3] = { 0.125, 0.25, 0.0625 };
  const msgpack_object *ok, *results;
  uint64_t ids[3];
  req q;
  msgpack_packer *pk;

  start();
  define("dc", DC, 1);
  pk = req_begin(&q, "bundle", 2);
  sono_pack_key_uint(pk, "at", 1003);
  sono_pack_cstr(pk, "ops");
  msgpack_pack_array(pk, 3);
  for (int i = 0; i < 3; i++) {
    msgpack_pack_map(pk, 3);
    sono_pack_key_str(pk, "op", "synth.start");
    sono_pack_key_str(pk, "instr", "dc");
    sono_pack_cstr(pk, "args");
    msgpack_pack_map(pk, 1);
    sono_pack_key_double(pk, "kamp", amps[i]);
  }
  ok = ok_of(req_send(&q));
  ck_assert_uint_eq(msg_uint(ok, "frame"), 1003);
  results = sono_map_get(ok, "results");
  ck_assert_int_eq(results->type, MSGPACK_OBJECT_ARRAY);
  ck_assert_uint_eq(results->via.array.size, 3);
  for (int i = 0; i < 3; i++) {
    const msgpack_object *r = sono_map_get(&results->via.array.ptr[i], "ok");
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(msg_uint(r, "frame"), 1003);
    ids[i] = msg_uint(r, "synth");
  }
  /* All three stop at 5017 in one bundle too. */
  pk = req_begin(&q, "bundle", 2);
  sono_pack_key_uint(pk, "at", 5017);
  sono_pack_cstr(pk, "ops");
  msgpack_pack_array(pk, 3);
  for (int i = 0; i < 3; i++) {
    msgpack_pack_map(pk, 2);
    sono_pack_key_str(pk, "op", "synth.stop");
    sono_pack_key_uint(pk, "synth", ids[i]);
  }
  ok_of(req_send(&q));
  render(8192);
  finish();
  d = read_wav(&frames);
  for (sf_count_t i = 0; i < 8192; i++) {
    float want = i >= 1003 && i < 5017 ? (float)(amps[0] + amps[1] + amps[2]) : 0.0f;
    ck_assert_msg(d[2 * i] == want && d[2 * i + 1] == want, "frame %ld: %g, want %g",
                  (long)i, d[2 * i], want);
  }
  free(d);
}
END_TEST

/* A bundle with a member timed on its own, or an op a bundle does not hold,
 * is refused whole: none of its members runs, so nothing sounds. */
START_TEST(bundle_refused_whole) {
  static const char *bad_member[2] = { "at", "op" };
  static const char *want[2] = { "bad_request", "bad_value" };
  const msgpack_object *list;
  float *d;
  sf_count_t frames;
  req q;
  msgpack_packer *pk;

  start();
  define("dc", DC, 1);
  for (int b = 0; b < 2; b++) {
    pk = req_begin(&q, "bundle", 2);
    sono_pack_key_uint(pk, "at", 1000);
    sono_pack_cstr(pk, "ops");
    msgpack_pack_array(pk, 2);
    msgpack_pack_map(pk, 2);
    sono_pack_key_str(pk, "op", "synth.start");
    sono_pack_key_str(pk, "instr", "dc");
    if (b == 0) {
      msgpack_pack_map(pk, 3);
      sono_pack_key_str(pk, "op", "synth.start");
      sono_pack_key_str(pk, "instr", "dc");
      sono_pack_key_uint(pk, bad_member[b], 2000);
    } else {
      msgpack_pack_map(pk, 2);
      sono_pack_key_str(pk, "op", "instr.define");
      sono_pack_key_str(pk, "name", "x");
    }
    expect_error(req_send(&q), want[b]);
  }
  list = sono_map_get(ok_of(conn_request(&c, "synth.list", "")), "synths");
  ck_assert_uint_eq(list->via.array.size, 0);
  render(4096);
  finish();
  d = read_wav(&frames);
  ck_assert_int_eq(frames, 4096);
  for (sf_count_t i = 0; i < 2 * frames; i++)
    ck_assert_msg(d[i] == 0.0f, "sample %ld is %g: a refused bundle sounded", (long)i, d[i]);
  free(d);
}
END_TEST

START_TEST(bus_chain) {
  float *d;
  sf_count_t frames;
  uint64_t bus, s1, s2;
  req q;
  msgpack_packer *pk;

  start();
  bus = msg_uint(ok_of(conn_request(&c, "bus.new", "s", "kind", "audio")), "bus");
  define("src", "|ibus=0, kamp=0.25|\nsonod_abusout ibus, upsamp(kamp)\n", 1);
  /* On the offline backend a compile merges when frames are rendered, and
   * compiles go one at a time. */
  render(256);
  define("filt", "|ibus=0|\nasig sonod_abusin ibus\nouts asig * 2, asig * 2\n", 2);
  /* The filter first, at priority 2: it still hears the source of the same cycle. */
  render(256);
  s2 = synth_start("filt", "ibus", (double)bus, 2048, -1);
  s1 = synth_start("src", "ibus", (double)bus, 2048, -1);
  (void)s1;
  (void)s2;
  render(3584);
  /* Freed by the client while synths use it: reclaimed when they end; a
   * second free is refused. */
  ok_of(conn_request(&c, "bus.free", "u", "bus", bus));
  expect_error(conn_request(&c, "bus.free", "u", "bus", bus), "busy");
  render(4096);
  finish();
  d = read_wav(&frames);
  ck_assert_int_eq(frames, 8192);
  for (sf_count_t i = 0; i < 8192; i++) {
    float want = i >= 2048 ? 0.5f : 0.0f;
    ck_assert_msg(d[2 * i] == want, "frame %ld: %g, want %g", (long)i, d[2 * i], want);
  }
  free(d);
  (void)pk;
  (void)q;
}
END_TEST

START_TEST(table_playback) {
  char wav[400];
  SF_INFO info;
  SNDFILE *f;
  float src[1000], *d;
  sf_count_t frames;
  uint64_t tab;

  for (int i = 0; i < 1000; i++)
    src[i] = (float)((i % 97) - 48) / 128.0f;
  snprintf(wav, sizeof wav, "/tmp/sonod-csound-table-%d.wav", getpid());
  memset(&info, 0, sizeof info);
  info.samplerate = RATE;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
  f = sf_open(wav, SFM_WRITE, &info);
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(sf_writef_float(f, src, 1000), 1000);
  sf_close(f);

  start();
  tab = msg_uint(ok_of(conn_request(&c, "table.read", "s", "path", wav)), "table");
  unlink(wav);
  define("play", "|itab=0|\nandx line 0, 1, 48000\nasig table andx, itab\nouts asig, asig\n", 1);
  synth_start("play", "itab", (double)tab, 2048, 1000.0 / RATE);
  render(4096);
  /* The table, read back through table.get. */
  {
    const msgpack_object *ok =
        ok_of(conn_request(&c, "table.get", "uuu", "table", tab, "start", (uint64_t)10,
                           "count", (uint64_t)5));
    const msgpack_object *data = sono_map_get(ok, "data");
    ck_assert_uint_eq(data->via.array.size, 5);
    for (int i = 0; i < 5; i++)
      ck_assert_double_eq(data->via.array.ptr[i].via.f64, src[10 + i]);
  }
  finish();
  d = read_wav(&frames);
  for (sf_count_t i = 0; i < 4096; i++) {
    float want = i >= 2048 && i < 3048 ? src[i - 2048] : 0.0f;
    ck_assert_msg(d[2 * i] == want, "frame %ld: %g, want %g", (long)i, d[2 * i], want);
  }
  free(d);
}
END_TEST

START_TEST(thousand_synths) {
  unsigned started = 0, ended = 0, i;
  bool rendered = false;
  uint64_t rid;

  start();
  {
    req q;
    msgpack_packer *pk = req_begin(&q, "subscribe", 1);
    sono_pack_cstr(pk, "events");
    msgpack_pack_array(pk, 1);
    sono_pack_cstr(pk, "synth");
    ok_of(req_send(&q));
  }
  define("tiny", "|kfreq=440|\nasig oscili 0.0001, kfreq\nouts asig, asig\n", 1);
  for (i = 0; i < 1000; i++)
    synth_start("tiny", "kfreq", 200.0 + i, 4096 + i % 256, 0.01);
  rid = conn_request(&c, "render", "u", "frames", (uint64_t)24000);
  while (!rendered || started < 1000 || ended < 1000) {
    const msgpack_object *m = conn_recv(&c, 30000);
    const msgpack_object *ev = sono_map_get(m, "event");

    if (ev != NULL) {
      if (sono_str_eq(ev, "synth.started"))
        started++;
      else if (sono_str_eq(ev, "synth.ended")) {
        ck_assert(msg_str_is(m, "reason", "ended"));
        ended++;
      }
    } else if (msg_uint(m, "id") == rid) {
      ck_assert_ptr_nonnull(msg_ok(m));
      rendered = true;
    }
  }
  ck_assert_uint_eq(started, 1000);
  ck_assert_uint_eq(ended, 1000);
  ck_assert(conn_silent(&c, 200));
  finish();
  unlink(out_path);
}
END_TEST

START_TEST(bad_input) {
  const msgpack_object *err;
  uint64_t s;
  float *d;
  sf_count_t frames;
  req q;
  msgpack_packer *pk;
  double peak = 0;

  start();
  err = expect_error(conn_request(&c, "csound.compile", "s", "code",
                                  "instr 1\na1 oscili 0.1, 440\nout a2\nendin\n"),
                     "csound_error");
  ck_assert_uint_eq(msg_uint(err, "line"), 3);
  ck_assert_ptr_nonnull(sono_map_get(err, "message"));
  expect_error(conn_request(&c, "synth.start", "s", "instr", "nosuch"), "unknown_instr");
  /* A score event for an instrument Csound does not have is refused in its
   * reply (not queued, with Csound's complaint only on a monitor); the
   * whole score is refused with it. */
  err = expect_error(conn_request(&c, "csound.event", "s", "line", "i 1 0 2 440"), "unknown_instr");
  ck_assert(sono_map_get(err, "message") != NULL &&
            memmem(sono_map_get(err, "message")->via.str.ptr,
                   sono_map_get(err, "message")->via.str.size, "instr 1 is not defined", 22));
  expect_error(conn_request(&c, "csound.score", "s", "text", "f 1 0 8 10 1\ni 2 0 1\n"),
               "unknown_instr");
  ok_of(conn_request(&c, "csound.compile", "s", "code", "instr 2\nendin\n"));
  ok_of(conn_request(&c, "csound.event", "s", "line", "i -2.5 0 1"));
  define("sine", SINE, 1);
  pk = req_begin(&q, "synth.start", 2);
  sono_pack_key_str(pk, "instr", "sine");
  sono_pack_cstr(pk, "args");
  msgpack_pack_map(pk, 1);
  sono_pack_key_double(pk, "kbogus", 1);
  expect_error(req_send(&q), "unknown_param");
  pk = req_begin(&q, "synth.start", 2);
  sono_pack_key_str(pk, "instr", "sine");
  sono_pack_cstr(pk, "args");
  msgpack_pack_map(pk, 1);
  sono_pack_key_str(pk, "kfreq", "high");
  expect_error(req_send(&q), "bad_type");
  expect_error(conn_request(&c, "synth.start", "u", "instr", (uint64_t)3), "bad_type");
  expect_error(conn_request(&c, "table.read", "s", "path", "/nonexistent/x.wav"), "file_error");
  expect_error(conn_request(&c, "bus.get", "u", "bus", (uint64_t)999999), "unknown_bus");
  expect_error(conn_request(&c, "table.free", "u", "table", (uint64_t)7777), "unknown_table");
  s = synth_start("sine", NULL, 0, 256, 0.01);
  render(2048);
  ok_of(conn_request(&c, "sync", ""));
  expect_error(conn_request(&c, "synth.stop", "u", "synth", s), "unknown_synth");
  expect_error(conn_request(&c, "synth.start", "su", "instr", "sine", "at", (uint64_t)10), "late");
  /* Still running: a new synth sounds. */
  synth_start("sine", NULL, 0, 4096, -1);
  render(8192);
  finish();
  d = read_wav(&frames);
  for (sf_count_t i = 4096; i < 8192; i++)
    peak = fmax(peak, fabs(d[2 * i]));
  ck_assert_double_gt(peak, 0.4);
  free(d);
}
END_TEST

/* The next csound.exit event on ev (csound.message events skipped) has
 * this reason and total, and status says the total too. */
static void expect_exit(conn *ev, const char *reason, uint64_t total) {
  const msgpack_object *m;

  do
    m = conn_recv(ev, 10000);
  while (!msg_str_is(m, "event", "csound.exit"));
  ck_assert(msg_str_is(m, "reason", reason));
  ck_assert_uint_eq(msg_uint(m, "total"), total);
  ck_assert_uint_eq(msg_uint(ok_of(conn_request(&c, "status", "")), "csound_exits"), total);
}

/* Orchestra code that stops Csound: refused with its line where the code
 * says so; where it gets through (built at run time) the engine carries on
 * and says so (csound.exit, status.csound_exits, the log).  Before, exitnow
 * left Csound's API lock held: the engine was silent for good, and sonod
 * hung at shutdown (the WAV never finished); an "e" event silenced it for
 * good while status said "running". */
START_TEST(exits_are_survived) {
  static const char *const kinds[] = { "csound" };
  const msgpack_object *m;
  conn ev;
  float *d;
  sf_count_t frames, i;

  csound_unsafe = true;
  start();
  conn_open(&ev, dp.socket);
  conn_subscribe(&ev, 1, kinds, 1);
  m = expect_error(conn_request(&c, "csound.compile", "s", "code", "instr 3\n\nexitnow\nendin\n"),
                   "bad_value");
  ck_assert_uint_eq(msg_uint(m, "line"), 3);
  m = expect_error(conn_request(&c, "csound.compile", "s", "code",
                                "instr 3\nevent_i \"e\", 0\nendin\n"), "bad_value");
  ck_assert_uint_eq(msg_uint(m, "line"), 2);
  ok_of(conn_request(&c, "csound.compile", "s", "code",
                     "instr 5\nS1 strcat \"exit\", \"now\"\n"
                     "S2 sprintf \"instr 7\\n%s\\nendin\\n\", S1\n"
                     "ires compilestr S2\nschedule 7, 0, 1\nendin\n"
                     "instr 8\nSop sprintf \"%s\", \"e\"\nevent_i Sop, 0\nendin\n"));
  render(256);
  define("dc", DC, 1);
  synth_start("dc", NULL, 0, 512, -1);
  ok_of(conn_request(&c, "csound.event", "su", "line", "i 5 0 1", "at", (uint64_t)2048));
  render(4096);
  expect_exit(&ev, "exit", 1);
  define("dc2", DC, 2);       /* merged after the exit */
  ok_of(conn_request(&c, "csound.event", "su", "line", "i 8 0 1", "at", (uint64_t)6144));
  render(4096);
  expect_exit(&ev, "score_end", 2);
  /* Alive: new synths sound. */
  synth_start("dc2", NULL, 0, 8448, -1);
  render(2048);
  conn_close(&ev);
  finish();       /* sonod exits 0 (it hung after an exitnow) */
  ck_assert(daemon_log_contains(&dp, "orchestra code stopped Csound (exit"));
  d = read_wav(&frames);
  ck_assert_int_eq(frames, 10496);
  /* Every frame: no k-cycle lost at the exits, dc2 exactly from 8448. */
  ck_assert_float_eq(d[2 * 511], 0.0f);
  for (i = 512; i < frames; i++)
    ck_assert_msg(fabs(d[2 * i] - (i >= 8448 ? 0.2 : 0.1)) < 1e-6, "frame %ld: %f", (long)i,
                  d[2 * i]);
  free(d);
  unlink(out_path);
}
END_TEST

/* Starts the daemon with ev subscribed to kinds and instr 6 compiled (each
 * note adds 1/64), one block rendered. */
static void start_instr6(conn *ev, const char *const *kinds, uint32_t nkinds) {
  start();
  conn_open(ev, dp.socket);
  conn_subscribe(ev, 1, kinds, nkinds);
  ok_of(conn_request(&c, "csound.compile", "s", "code",
                     "instr 6\nk1 = 1/64\nasig upsamp k1\nout asig\nendin\n"));
  render(256);
}

/* n lines "i 6 0 P3" into text (capacity cap). */
static void chord_text(char *text, size_t cap, int n, const char *p3) {
  size_t len = 0;

  text[0] = '\0';
  for (int i = 0; i < n; i++)
    len += (size_t)snprintf(text + len, cap - len, "i 6 0 %s\n", p3);
}

/* Frames of the left channel that must hold n/64: pairs {frame, n}. */
static void assert_64ths(const float *d, const int (*want)[2], size_t n) {
  for (size_t i = 0; i < n; i++)
    ck_assert_msg(d[2 * want[i][0]] == (float)want[i][1] / 64, "frame %d: %g, want %d/64",
                  want[i][0], d[2 * want[i][0]], want[i][1]);
}

/* A chord of 40 score notes at one frame, over the bound of 32 events due
 * in one k-cycle: all 40 sound from that frame (each adds 1/64), and the
 * k-cycle is reported: a csound.score_over event with the events beyond
 * 32, status.csound_score_over, the log.  24 notes at another frame are
 * within the bound: nothing more is reported. */
START_TEST(score_over_the_bound_is_reported) {
  static const char *const kinds[] = { "csound" };
  const msgpack_object *m;
  char text[40 * 16 + 1];
  conn ev;
  float *d;
  sf_count_t frames;

  start_instr6(&ev, kinds, 1);
  chord_text(text, sizeof text, 40, "0.01");
  ok_of(conn_request(&c, "csound.score", "su", "text", text, "at", (uint64_t)1000));
  chord_text(text, sizeof text, 24, "0.01");
  ok_of(conn_request(&c, "csound.score", "su", "text", text, "at", (uint64_t)3003));
  render(4096);
  do
    m = conn_recv(&ev, 10000);
  while (!msg_str_is(m, "event", "csound.score_over"));
  ck_assert_uint_eq(msg_uint(m, "count"), 1);
  ck_assert_uint_eq(msg_uint(m, "total"), 1);
  ck_assert_uint_eq(msg_uint(m, "events"), 8);
  ck_assert_uint_eq(msg_uint(ok_of(conn_request(&c, "status", "")), "csound_score_over"), 1);
  conn_close(&ev);
  finish();
  ck_assert(daemon_log_contains(&dp, "had more than 32 score events due at once"));
  d = read_wav(&frames);
  ck_assert_float_eq(d[2 * 999], 0.0f);
  ck_assert_float_eq(d[2 * 1000], 40.0f / 64);
  ck_assert_float_eq(d[2 * 3002], 0.0f);
  ck_assert_float_eq(d[2 * 3003], 24.0f / 64);
  free(d);
  unlink(out_path);
}
END_TEST

/* The csound.score_spread events on ev (others skipped) until their
 * `total` reaches total: their counts add up to it; *events gets their
 * events' sum, *max_delay the largest max_delay. */
static void score_spread_reports(conn *ev, uint64_t total, uint64_t *events,
                                 uint64_t *max_delay) {
  uint64_t count = 0, seen = 0;

  *events = *max_delay = 0;
  while (seen < total) {
    const msgpack_object *m = conn_recv(ev, 10000);

    if (!msg_str_is(m, "event", "csound.score_spread"))
      continue;
    count += msg_uint(m, "count");
    seen = msg_uint(m, "total");
    *events += msg_uint(m, "events");
    if (msg_uint(m, "max_delay") > *max_delay)
      *max_delay = msg_uint(m, "max_delay");
  }
  ck_assert_uint_eq(count, total);
  ck_assert_uint_eq(seen, total);
}

/* The spread bound at ksmps 32: one start per 16 frames of the k-cycle
 * (CS_SPREAD_FRAMES), 2. */
#define SPREAD_BOUND 2

/* How many notes of a chord at frame `at` sound at frame i: `exact` notes
 * that may not wait and `spread` spread ones, each len frames from its
 * start.  The k-cycle of `at` starts the exact ones and the spread ones
 * that fit under SPREAD_BOUND; each next k-cycle (every 32 frames) starts
 * SPREAD_BOUND more, at its first frame. */
static int chord_level(long i, long at, int exact, int spread, long len) {
  int room = exact < SPREAD_BOUND ? SPREAD_BOUND - exact : 0;
  int first = spread < room ? spread : room, left = spread - first, n = 0;

  if (i >= at && i < at + len)
    n += exact + first;
  for (long k = at / 32 * 32 + 32; left > 0; k += 32) {
    int g = left < SPREAD_BOUND ? left : SPREAD_BOUND;

    if (i >= k && i < k + len)
      n += g;
    left -= g;
  }
  return n;
}

/* A chord of 100 notes at frame 1000 sent with spread starts 2 at 1000 (in
 * its k-cycle, 992..1023), then 2 at each next k-cycle's first frame
 * (1024, 1056, ... 2560), in score order, each lasting its p3 (0.0101 s:
 * 484 frames) from its real start; the same chord without spread at 5000
 * starts whole on its frame.  The 98 late ones are reported:
 * csound.score_spread (49 k-cycles, 98 events, max_delay 1560) and
 * status.csound_score_spread. */
START_TEST(spread_chord_starts_at_the_bound_per_k_cycle) {
  static const char *const kinds[] = { "csound" };
  const msgpack_object *m;
  char text[100 * 20 + 1];
  uint64_t events, max_delay;
  conn ev;
  float *d;
  sf_count_t frames;

  start_instr6(&ev, kinds, 1);
  chord_text(text, sizeof text, 100, "0.0101");
  ck_assert_uint_eq(msg_uint(ok_of(conn_request(&c, "csound.score", "sub", "text", text, "at",
                                                (uint64_t)1000, "spread", 1)),
                             "frame"),
                    1000);
  ok_of(conn_request(&c, "csound.score", "sub", "text", text, "at", (uint64_t)5000, "spread", 0));
  render(8192);
  score_spread_reports(&ev, 49, &events, &max_delay);
  ck_assert_uint_eq(events, 98);
  ck_assert_uint_eq(max_delay, 1560);
  m = ok_of(conn_request(&c, "status", ""));
  ck_assert_uint_eq(msg_uint(m, "csound_score_spread"), 49);
  ck_assert_uint_eq(msg_uint(m, "csound_score_over"), 1);   /* the chord at 5000 */
  conn_close(&ev);
  finish();
  d = read_wav(&frames);
  for (long i = 900; i < 3200; i++) {
    int on = chord_level(i, 1000, 0, 100, 484);

    ck_assert_msg(d[2 * i] == (float)on / 64, "frame %ld: %g, want %d/64", i, d[2 * i], on);
  }
  assert_64ths(d, (const int[][2]){ { 4999, 0 }, { 5000, 100 }, { 5483, 100 }, { 5484, 0 } },
               4);
  free(d);
  unlink(out_path);
}
END_TEST

/* The bound counts every start of the k-cycle, and starts that may not
 * wait come first, whatever the order of the requests: 9 spread notes and
 * then 1 exact one at frame 1000 start the exact one and 1 spread one
 * there, then 2 a k-cycle.  A bundle at 2000 with 7 spread synth.start
 * members and 1 exact one does the same for synths: synth.started gives
 * each real frame, and each plays its dur (0.01 s, 480 frames) from there.
 * An exact synth.start at 3000 leaves room for 1 of 3 spread notes. */
START_TEST(spread_makes_room_for_exact_starts) {
  static const char *const kinds[] = { "csound" }, *const synth_kind[] = { "synth" };
  const msgpack_object *m, *results;
  char text[10 * 20 + 1];
  uint64_t ids[8], events, max_delay;
  unsigned at[4] = { 0 }, exact_at2000 = 0, started = 0;
  conn ev, sev;
  float *d;
  sf_count_t frames;
  req q;
  msgpack_packer *pk;

  start_instr6(&ev, kinds, 1);
  conn_open(&sev, dp.socket);
  conn_subscribe(&sev, 1, synth_kind, 1);
  define("dc", DC, 1);
  chord_text(text, sizeof text, 9, "0.0101");
  ok_of(conn_request(&c, "csound.score", "sub", "text", text, "at", (uint64_t)1000, "spread", 1));
  chord_text(text, sizeof text, 1, "0.0101");
  ok_of(conn_request(&c, "csound.score", "su", "text", text, "at", (uint64_t)1000));
  pk = req_begin(&q, "bundle", 2);
  sono_pack_key_uint(pk, "at", 2000);
  sono_pack_cstr(pk, "ops");
  msgpack_pack_array(pk, 8);
  for (int i = 0; i < 8; i++) {
    msgpack_pack_map(pk, i < 7 ? 5 : 4);
    sono_pack_key_str(pk, "op", "synth.start");
    sono_pack_key_str(pk, "instr", "dc");
    sono_pack_cstr(pk, "args");
    msgpack_pack_map(pk, 1);
    sono_pack_key_double(pk, "kamp", 1.0 / 64);
    sono_pack_key_double(pk, "dur", 0.01);
    if (i < 7)
      sono_pack_key_bool(pk, "spread", true);
  }
  results = sono_map_get(ok_of(req_send(&q)), "results");
  ck_assert_uint_eq(results->via.array.size, 8);
  for (int i = 0; i < 8; i++) {
    const msgpack_object *r = sono_map_get(&results->via.array.ptr[i], "ok");

    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(msg_uint(r, "frame"), 2000);
    ids[i] = msg_uint(r, "synth");
  }
  synth_start("dc", "kamp", 1.0 / 64, 3000, 0.01);
  chord_text(text, sizeof text, 3, "0.0101");
  ok_of(conn_request(&c, "csound.score", "sub", "text", text, "at", (uint64_t)3000, "spread", 1));
  render(4096);
  while (started < 9) {
    uint64_t f;

    m = conn_recv(&sev, 10000);
    if (!msg_str_is(m, "event", "synth.started"))
      continue;
    started++;
    f = msg_uint(m, "frame");
    if (f == 3000)
      continue;
    ck_assert(f == 2000 || (f >= 2016 && f <= 2080 && f % 32 == 0));
    at[f == 2000 ? 0 : (f - 1984) / 32]++;
    exact_at2000 += msg_uint(m, "synth") == ids[7] && f == 2000;
  }
  for (int k = 0; k < 4; k++)
    ck_assert_uint_eq(at[k], 2);
  ck_assert_uint_eq(exact_at2000, 1);
  /* Score: 4 k-cycles after 1000 (8 late, the last 120 frames), 1 after
   * 3000 (2 late, 8 frames: 3000's k-cycle is 2976..3007). */
  score_spread_reports(&ev, 5, &events, &max_delay);
  ck_assert_uint_eq(events, 10);
  ck_assert_uint_eq(max_delay, 120);
  ck_assert_uint_eq(msg_uint(ok_of(conn_request(&c, "status", "")), "csound_score_spread"), 5);
  conn_close(&sev);
  conn_close(&ev);
  finish();
  d = read_wav(&frames);
  for (long i = 900; i < 2700; i++) {
    int on = chord_level(i, 1000, 1, 9, 484) + chord_level(i, 2000, 1, 7, 480);

    ck_assert_msg(d[2 * i] == (float)on / 64, "frame %ld: %g, want %d/64", i, d[2 * i], on);
  }
  /* 3000: the synth (480 frames) and 1 note (484); 3008: 2 notes. */
  assert_64ths(d,
               (const int[][2]){ { 2999, 0 }, { 3000, 2 }, { 3007, 2 }, { 3008, 4 },
                                 { 3479, 4 }, { 3480, 3 }, { 3483, 3 }, { 3484, 2 },
                                 { 3491, 2 }, { 3492, 0 } },
               10);
  free(d);
  unlink(out_path);
}
END_TEST

/* Global code runs its init pass on the audio thread when Csound merges it
 * (Csound 6.18 allows it nowhere else while it performs): a compile whose
 * global part is long, or makes a big table, is answered with a warning
 * (and logged); short global code and instruments get {}. */
START_TEST(global_code_warning) {
  const msgpack_object *ok, *w;
  char code[300 * 24];
  size_t len = 0;

  start();
  ok = ok_of(conn_request(&c, "csound.compile", "s", "code",
                          "giSmall ftgen 0, 0, 8192, 10, 1\ngkv init 0\n"
                          "instr 4\nk1 init 0\nout oscili(0.1, 440, giSmall)\nendin\n"));
  ck_assert_uint_eq(ok->via.map.size, 0);
  ok = ok_of(conn_request(&c, "csound.compile", "s", "code",
                          "\ngiBig ftgen 0, 0, 2^22, 10, 1\n"));
  w = sono_map_get(ok, "warning");
  ck_assert_ptr_nonnull(w);
  ck_assert(memmem(w->via.str.ptr, w->via.str.size, "table.new", 9) != NULL);
  ck_assert(memmem(w->via.str.ptr, w->via.str.size, "(line 2)", 8) != NULL);
  for (int i = 0; i < 300; i++)
    len += (size_t)snprintf(code + len, sizeof code - len, "gkw%d init %d\n", i, i);
  ok = ok_of(conn_request(&c, "csound.compile", "s", "code", code));
  w = sono_map_get(ok, "warning");
  ck_assert_ptr_nonnull(w);
  ck_assert(memmem(w->via.str.ptr, w->via.str.size, "300 statements", 14) != NULL);
  finish();
  ck_assert(daemon_log_contains(&dp, "csound.compile: global code runs"));
  unlink(out_path);
}
END_TEST

/* A big csound.compile is parsed off the control loop: another client's
 * pings are answered while it runs (before its reply), and the compiling
 * client's own next request is answered after it, as sent.  20000 lines
 * take Csound seconds to parse; before, every client waited for them. */
/* head, 20000 lines that take Csound over a second to parse, tail
 * (malloc'd). */
static char *big_code(const char *head, const char *tail) {
  enum { LINES = 20000 };
  size_t cap = (size_t)LINES * 32 + strlen(head) + strlen(tail) + 1, n = 0;
  char *code = malloc(cap);

  n += (size_t)snprintf(code + n, cap - n, "%s", head);
  for (int i = 0; i < LINES; i++)
    n += (size_t)snprintf(code + n, cap - n, "kv%d = %d\n", i, i);
  snprintf(code + n, cap - n, "%s", tail);
  return code;
}

/* Defines "big" at priority 1 from body, waiting as long as a loaded
 * machine may need for its parse. */
static void define_big(const char *body) {
  ck_assert_ptr_nonnull(msg_ok(conn_reply(&c, conn_request(&c, "instr.define", "ssi", "name",
                                                           "big", "body", body, "priority",
                                                           (int64_t)1), 120000)));
}

START_TEST(big_compile_off_the_loop) {
  char *code = big_code("instr 9\n", "out oscili(0.25, 1000)\nendin\n");
  uint64_t compile_id, ping_id;
  const msgpack_object *m;
  conn b;
  int i;

  start();
  conn_open(&b, dp.socket);
  compile_id = conn_request(&c, "csound.compile", "s", "code", code);
  ping_id = conn_request(&c, "ping", "");
  for (i = 0; i < 5; i++)
    ck_assert_ptr_nonnull(msg_ok(conn_reply(&b, conn_request(&b, "ping", ""), 10000)));
  /* Answered while the compile ran: its reply has not come. */
  ck_assert_msg(conn_silent(&c, 0), "the compile was answered before another client's pings");
  m = conn_recv(&c, 120000);
  ck_assert_uint_eq(msg_uint(m, "id"), compile_id);
  ck_assert_ptr_nonnull(msg_ok(m));
  m = conn_recv(&c, 10000);
  ck_assert_uint_eq(msg_uint(m, "id"), ping_id);
  /* The instrument it defined plays. */
  render(256);
  ok_of(conn_request(&c, "csound.event", "su", "line", "i 9 0 0.01", "at", (uint64_t)256));
  render(1024);
  conn_close(&b);
  finish();
  sf_count_t frames;
  float *d = read_wav(&frames);
  ck_assert_float_eq(d[2 * 255], 0.0f);
  ck_assert_float_ne(d[2 * 260], 0.0f);
  free(d);
  free(code);
  unlink(out_path);
}
END_TEST

/* While "big" is parsed for c: another client gets its pongs within a
 * second each and cannot undefine the instrument (busy). */
static void others_served_meanwhile(conn *b) {
  for (int k = 0; k < 5; k++)
    ck_assert_ptr_nonnull(msg_ok(conn_reply(b, conn_request(b, "ping", ""), 1000)));
  conn_expect_error(b, conn_request(b, "instr.undefine", "s", "name", "big"), "busy");
}

/* After a render of 1024 frames: nothing before frame 256, then amp. */
static void finish_with_dc_from_256(double amp) {
  sf_count_t frames, i;
  float *d;

  finish();
  d = read_wav(&frames);
  ck_assert_int_eq(frames, 1024);
  ck_assert_float_eq(d[2 * 255], 0.0f);
  for (i = 256; i < 256 + 480; i++)
    ck_assert_msg(fabs(d[2 * i] - amp) < 1e-6, "frame %ld: %f", (long)i, d[2 * i]);
  free(d);
  unlink(out_path);
}

/* A big instr.define is parsed off the control loop, as a big
 * csound.compile is: another client is served meanwhile (before, every
 * client waited for the 20000 lines), cannot define the name either, the
 * old definition serves until the new one is compiled, and the defining
 * client's own next request is answered after it, as sent.  The new code
 * plays. */
START_TEST(big_define_off_the_loop) {
  char *body = big_code("|kamp=0.3|\n", "asig upsamp kamp\nouts asig, asig\n");
  uint64_t define_id, ping_id;
  const msgpack_object *m;
  conn b;

  start();
  conn_open(&b, dp.socket);
  define("big", DC, 1);
  define_id = conn_request(&c, "instr.define", "ssi", "name", "big", "body", body, "priority",
                           (int64_t)1);
  ping_id = conn_request(&c, "ping", "");
  others_served_meanwhile(&b);
  conn_expect_error(&b, conn_request(&b, "instr.define", "ss", "name", "big", "body", DC), "busy");
  /* The old definition is still there. */
  m = msg_ok(conn_reply(&b, conn_request(&b, "instr.list", ""), 1000));
  ck_assert_ptr_nonnull(m);
  ck_assert_double_eq_tol(
      sono_map_get(sono_map_get(&sono_map_get(m, "instrs")->via.array.ptr[0], "params"), "kamp")
          ->via.f64, 0.1, 1e-12);
  /* All that while the definition was parsed: its reply has not come. */
  ck_assert_msg(conn_silent(&c, 0), "the definition was answered before another client's pings");
  m = conn_recv(&c, 120000);
  ck_assert_uint_eq(msg_uint(m, "id"), define_id);
  ck_assert_double_eq_tol(sono_map_get(sono_map_get(msg_ok(m), "params"), "kamp")->via.f64, 0.3,
                          1e-12);
  m = conn_recv(&c, 10000);
  ck_assert_uint_eq(msg_uint(m, "id"), ping_id);
  /* The new code plays: its default amplitude from frame 256 on. */
  synth_start("big", NULL, 0, 256, 0.01);
  render(1024);
  conn_close(&b);
  finish_with_dc_from_256(0.3);
  free(body);
}
END_TEST

/* Sends q (timed at frame 256, compiling "big" somewhere) and a ping
 * behind it: another client (b) is served while the compile runs, then
 * q's reply comes, at frame 256 (returned; valid until the next receive). */
static const msgpack_object *answered_after_others(req *q, conn *b, uint64_t *ping_id) {
  uint64_t id = req_send(q);
  const msgpack_object *m;

  *ping_id = conn_request(&c, "ping", "");
  others_served_meanwhile(b);
  ck_assert_msg(conn_silent(&c, 0), "answered before another client's pings");
  m = conn_recv(&c, 240000);
  ck_assert_uint_eq(msg_uint(m, "id"), id);
  ck_assert_uint_eq(msg_uint(msg_ok(m), "frame"), 256);
  return m;
}

/* Then the ping's reply, and DC at amp from frame 256 on. */
static void ping_then_dc_from_256(uint64_t ping_id, conn *b, double amp) {
  const msgpack_object *m = conn_recv(&c, 10000);

  ck_assert_uint_eq(msg_uint(m, "id"), ping_id);
  render(1024);
  conn_close(b);
  finish_with_dc_from_256(amp);
}

/* A synth's first start at a priority its instrument is not compiled at
 * compiles the instrument there, off the control loop too: another client
 * is served meanwhile, the starting client's reply {synth, frame} comes
 * when it is compiled, its pipelined ping after.  The synth plays from its
 * frame. */
START_TEST(big_first_start_at_a_priority_off_the_loop) {
  char *body = big_code("|kamp=0.3|\n", "asig upsamp kamp\nouts asig, asig\n");
  uint64_t ping_id;
  const msgpack_object *m;
  req q;
  msgpack_packer *pk;
  conn b;

  start();
  conn_open(&b, dp.socket);
  define_big(body);   /* compiled at priority 1 only */
  pk = req_begin(&q, "synth.start", 3);
  sono_pack_key_str(pk, "instr", "big");
  sono_pack_key_uint(pk, "priority", 7);
  sono_pack_key_uint(pk, "at", 256);
  m = answered_after_others(&q, &b, &ping_id);
  ck_assert_uint_ne(msg_uint(msg_ok(m), "synth"), 0);
  ping_then_dc_from_256(ping_id, &b, 0.3);
  free(body);
}
END_TEST

/* A bundle whose starts use "big" at two priorities it is not compiled at
 * compiles it there off the control loop, one after the other: another
 * client is served meanwhile (before, the bundle parsed both on the loop),
 * the bundle's reply comes when both are compiled, with every member's
 * result (one refused: no such instrument), its client's pipelined ping
 * after.  Both synths play from the bundle's frame. */
START_TEST(big_bundle_compiles_off_the_loop) {
  char *body = big_code("|kamp=0.3|\n", "asig upsamp kamp\nouts asig, asig\n");
  static const char *const instrs[3] = { "big", "nosuch", "big" };
  static const unsigned prios[3] = { 7, 8, 9 };
  const msgpack_object *m, *results;
  uint64_t ping_id;
  req q;
  msgpack_packer *pk;
  conn b;

  start();
  conn_open(&b, dp.socket);
  define_big(body);   /* compiled at priority 1 only */
  pk = req_begin(&q, "bundle", 2);
  sono_pack_key_uint(pk, "at", 256);
  sono_pack_cstr(pk, "ops");
  msgpack_pack_array(pk, 3);
  for (int i = 0; i < 3; i++) {
    msgpack_pack_map(pk, 3);
    sono_pack_key_str(pk, "op", "synth.start");
    sono_pack_key_str(pk, "instr", instrs[i]);
    sono_pack_key_uint(pk, "priority", prios[i]);
  }
  m = answered_after_others(&q, &b, &ping_id);
  results = sono_map_get(msg_ok(m), "results");
  ck_assert_ptr_nonnull(results);
  ck_assert_uint_eq(results->via.array.size, 3);
  ck_assert_uint_ne(msg_uint(sono_map_get(&results->via.array.ptr[0], "ok"), "synth"), 0);
  ck_assert_ptr_nonnull(sono_map_get(&results->via.array.ptr[1], "error"));
  ck_assert(msg_str_is(sono_map_get(&results->via.array.ptr[1], "error"), "code",
                       "unknown_instr"));
  ck_assert_uint_ne(msg_uint(sono_map_get(&results->via.array.ptr[2], "ok"), "synth"), 0);
  ping_then_dc_from_256(ping_id, &b, 0.6);
  free(body);
}
END_TEST

/* state.load compiles the session's code and instruments off the control
 * loop too: another client pinging every 50 ms while a session with a
 * 20000-line instrument is restored gets every pong within a second
 * (before, the loop stood still for the whole parse); the restored
 * instrument plays. */
START_TEST(big_session_restored_off_the_loop) {
  char *body = big_code("|kamp=0.3|\n", "asig upsamp kamp\nouts asig, asig\n");
  char saved[420];
  uint64_t load_id;
  const msgpack_object *m;
  unsigned pings = 0;
  conn b;

  start();
  snprintf(saved, sizeof saved, "%s.sonod", out_path);
  conn_open(&b, dp.socket);
  define_big(body);
  ok_of(conn_request(&c, "state.save", "s", "path", saved));
  define("big", DC, 1);   /* the file's body must be compiled again */
  load_id = conn_request(&c, "state.load", "s", "path", saved);
  do {
    ck_assert_ptr_nonnull(msg_ok(conn_reply(&b, conn_request(&b, "ping", ""), 1000)));
    pings++;
  } while (conn_silent(&c, 50));
  m = conn_recv(&c, 120000);
  ck_assert_uint_eq(msg_uint(m, "id"), load_id);
  ck_assert_uint_eq(msg_uint(msg_ok(m), "instrs"), 1);
  ck_assert_uint_ge(pings, 5);   /* the parse took a while: pinged throughout */
  synth_start("big", NULL, 0, 256, 0.01);
  render(1024);
  conn_close(&b);
  finish_with_dc_from_256(0.3);
  unlink(saved);
  free(body);
}
END_TEST

/* synth.automate kfreq 440 -> 880 over one second, linear: the measured
 * frequency follows the line.  Each measurement spans 20 ms around its
 * point, over which a linear sweep averages to its value at the centre. */
START_TEST(automate_linear) {
  float *d;
  sf_count_t frames;
  uint64_t s;
  req q;
  msgpack_packer *pk;
  static const double pts[4] = { 0, 440, 1, 880 };
  static const struct { double t, hz; } want[] = {
    { 0.1, 484 }, { 0.25, 550 }, { 0.5, 660 }, { 0.75, 770 }, { 0.9, 836 },
  };

  start();
  define("sine", SINE, 1);
  s = synth_start("sine", NULL, 0, 4800, -1);
  pk = req_begin(&q, "synth.automate", 5);
  sono_pack_key_uint(pk, "synth", s);
  sono_pack_key_str(pk, "param", "kfreq");
  sono_pack_cstr(pk, "points");
  msgpack_pack_array(pk, 4);
  for (int i = 0; i < 4; i++)
    msgpack_pack_double(pk, pts[i]);
  sono_pack_key_str(pk, "mode", "linear");
  sono_pack_key_uint(pk, "at", 4800);
  ck_assert_uint_eq(msg_uint(ok_of(req_send(&q)), "frame"), 4800);
  render(4800 + 72000);
  /* synth.get follows the automation: at its end value now. */
  {
    const msgpack_object *params = sono_map_get(ok_of(conn_request(&c, "synth.get", "u",
                                                                     "synth", s)),
                                                "params");
    ck_assert_double_eq_tol(sono_map_get(params, "kfreq")->via.f64, 880.0, 1e-9);
  }
  finish();
  d = read_wav(&frames);
  ck_assert_int_eq(frames, 4800 + 72000);
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    sf_count_t mid = 4800 + (sf_count_t)(want[i].t * RATE);
    double hz = freq_between(d, mid - 480, mid + 480);
    ck_assert_msg(fabs(hz - want[i].hz) <= 5.0, "at %.2f s: %.2f Hz, want %.0f ±5", want[i].t,
                  hz, want[i].hz);
  }
  /* After the last point it holds 880. */
  ck_assert_double_eq_tol(freq_between(d, 4800 + 50400, 4800 + 72000), 880.0, 1.0);
  ck_assert_double_eq_tol(freq_between(d, 4800, 4800 + 480), 442.2, 5.0);
  free(d);
}
END_TEST

/* channel.set / channel.get: an instrument reading chnget "cutoff" follows
 * the channel from the k-cycle that holds the frame of the set; a channel
 * only an instrument writes (chnset) is readable once the audio thread has
 * bound it; a name Csound holds as another type is refused. */
START_TEST(channels) {
  float *d;
  sf_count_t frames;
  const msgpack_object *ok;
  req q;
  msgpack_packer *pk;

  start();
  define("chan", "kc chnget \"cutoff\"\nchnset kc * 2, \"twice\"\nasig upsamp kc / 1000\n"
                 "outs asig, asig\n", 1);
  ok_of(conn_request(&c, "channel.set", "sdu", "name", "cutoff", "value", 500.0, "at",
                     (uint64_t)0));
  pk = req_begin(&q, "channel.set", 3);
  sono_pack_key_str(pk, "name", "cutoff");
  sono_pack_key_double(pk, "value", 1000);
  sono_pack_key_uint(pk, "at", 4016);
  ck_assert_uint_eq(msg_uint(ok_of(req_send(&q)), "frame"), 4016);
  synth_start("chan", NULL, 0, 1024, -1);
  /* Offline and idle: 'twice' binds at once (the engine held), and holds 0
   * until a block is rendered. */
  ck_assert_double_eq(sono_map_get(ok_of(conn_request(&c, "channel.get", "s", "name", "twice")),
                                   "value")->via.f64, 0.0);
  render(8192);
  ok = ok_of(conn_request(&c, "channel.get", "s", "name", "cutoff"));
  ck_assert(msg_str_is(ok, "name", "cutoff"));
  ck_assert_double_eq(sono_map_get(ok, "value")->via.f64, 1000.0);
  ok = ok_of(conn_request(&c, "channel.get", "s", "name", "twice"));
  ck_assert_double_eq(sono_map_get(ok, "value")->via.f64, 2000.0);
  /* Errors. */
  expect_error(conn_request(&c, "channel.set", "sd", "name", "has space", "value", 1.0),
               "bad_value");
  expect_error(conn_request(&c, "channel.set", "ss", "name", "cutoff", "value", "x"),
               "bad_type");
  expect_error(conn_request(&c, "channel.get", ""), "missing_field");
  ok_of(conn_request(&c, "csound.compile", "s", "code", "chn_a \"wide\", 3\n"));
  render(256);
  ok_of(conn_request(&c, "channel.set", "sd", "name", "wide", "value", 1.0));
  render(256);
  expect_error(conn_request(&c, "channel.get", "s", "name", "wide"), "bad_value");
  expect_error(conn_request(&c, "channel.set", "sd", "name", "wide", "value", 1.0), "bad_value");
  finish();
  d = read_wav(&frames);
  ck_assert_int_eq(frames, 8192 + 512);
  for (sf_count_t i = 0; i < 8192; i++) {
    /* 4016 lies in the k-cycle 4000..4031. */
    float want = i < 1024 ? 0.0f : i < 4000 ? 0.5f : 1.0f;
    ck_assert_msg(d[2 * i] == want, "frame %ld: %g, want %g", (long)i, d[2 * i], want);
  }
  free(d);
}
END_TEST

/* Every priority 1..99 plays (numbers once overflowed Csound's 16 bits from
 * priority 33 on: SIGSEGV on the audio thread), next to user instruments
 * 1000 and 5001, which keep their own code; priority 0 and 100 are refused
 * as PROTOCOL.md says (synth.start's 0 is the instrument's own). */
START_TEST(every_priority) {
  const char *dc = "|kamp=0|\nasig upsamp kamp\nouts asig, asig\n";
  double sum = 0.125 + 0.0625;
  char name[16];
  sf_count_t n;
  float *d;
  uint64_t at = 99 * 256 + 512;

  start();
  ok_of(conn_request(&c, "csound.compile", "s", "code",
                     "instr 1000, 5001\nkv = p4\nasig upsamp kv\nouts asig, asig\nendin\n"));
  render(256);
  expect_error(conn_request(&c, "instr.define", "ssi", "name", "x", "body", dc, "priority",
                            (int64_t)0), "bad_value");
  expect_error(conn_request(&c, "instr.define", "ssi", "name", "x", "body", dc, "priority",
                            (int64_t)100), "bad_value");
  for (int p = 1; p <= 99; p++) {
    snprintf(name, sizeof name, "p%d", p);
    define(name, dc, p);
    render(256);
    synth_start(name, "kamp", p / 65536.0, at, -1);
    sum += p / 65536.0;
  }
  expect_error(conn_request(&c, "synth.start", "siu", "instr", "p1", "priority", (int64_t)100,
                            "at", at), "bad_value");
  ok_of(conn_request(&c, "synth.start", "siu", "instr", "p2", "priority", (int64_t)0, "at", at)); /* kamp 0 */
  ok_of(conn_request(&c, "csound.score", "su", "text", "i 1000 0 -1 0.125\ni 5001 0 -1 0.0625\n",
                     "at", at));
  render(1024);
  ok_of(conn_request(&c, "status", ""));
  finish();
  d = read_wav(&n);
  ck_assert_int_gt(n, (sf_count_t)at + 100);
  ck_assert_float_eq(d[2 * (at - 1)], 0.0f);
  ck_assert_msg(d[2 * (at + 100)] == (float)sum && d[2 * (at + 100) + 1] == (float)sum,
                "sum of 99 priorities and 2 user instruments: %.9g, want %.9g",
                d[2 * (at + 100)], sum);
  free(d);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("csound");
  TCase *tc = tcase_create("daemon");

  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, sine_and_set);
  tcase_add_test(tc, compile_chain_back_to_back);
  tcase_add_test(tc, bundle_chord_and_stop);
  tcase_add_test(tc, bundle_refused_whole);
  tcase_add_test(tc, bus_chain);
  tcase_add_test(tc, table_playback);
  tcase_add_test(tc, thousand_synths);
  tcase_add_test(tc, bad_input);
  tcase_add_test(tc, automate_linear);
  tcase_add_test(tc, channels);
  tcase_add_test(tc, every_priority);
  tcase_add_test(tc, exits_are_survived);
  tcase_add_test(tc, score_over_the_bound_is_reported);
  tcase_add_test(tc, spread_chord_starts_at_the_bound_per_k_cycle);
  tcase_add_test(tc, spread_makes_room_for_exact_starts);
  tcase_add_test(tc, big_compile_off_the_loop);
  tcase_add_test(tc, big_define_off_the_loop);
  tcase_add_test(tc, big_first_start_at_a_priority_off_the_loop);
  tcase_add_test(tc, big_bundle_compiles_off_the_loop);
  tcase_add_test(tc, big_session_restored_off_the_loop);
  tcase_add_test(tc, global_code_warning);
  tcase_add_test(tc, render_stopping_inside_a_k_cycle);
  tcase_add_test(tc, request_for_now_after_a_render_inside_a_k_cycle);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(suite)
