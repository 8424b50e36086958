/* Integration: VST2 plugins in the running daemon (offline backend), over
 * the real protocol: load, parameters, sample-exact MIDI, state, errors,
 * ten thousand events in one block, unload; plugin.* events; plugins that
 * crash or hang while loading. */
#include <check.h>
#include <stdint.h>
#include <libgen.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/rt/graph.h"
#include "protocol/wire.h"
#include "tests/support/check_main.h"
#include "tests/support/harness.h"
#include "tests/support/offline.h"

#define RATE 48000
#define AMSYNTH "/usr/lib/vst/amsynth_vst.so"
#define DRAGONFLY_ROOM "/usr/lib/lxvst/DragonflyRoomReverb-vst.so"

static daemon_proc dp;
static conn c;
static offline_paths P;

static void start(const char *block) {
  const char *const extra[] = { "--block-size", block, NULL };

  offline_start(&dp, &c, &P, "plugins", extra);
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
  /* The daemon still answers. */
  ck_assert_ptr_nonnull(msg_ok(conn_reply(&c, conn_request(&c, "ping", ""), 5000)));
}

static uint64_t load_iso(const char *path, uint64_t want_params, bool isolate) {
  const msgpack_object *ok = ok_of(conn_request(&c, "plugin.load", "sb", "path", path, "isolate",
                                                (int)isolate));
  ck_assert_uint_eq(msg_uint(ok, "params"), want_params);
  return msg_uint(ok, "node");
}

static uint64_t load(const char *path, uint64_t want_params) {
  return load_iso(path, want_params, false);
}

static void render(uint64_t frames) {
  ok_of(conn_request(&c, "render", "u", "frames", frames));
}

static uint64_t next_id = 1000;

/* {id, op: plugin.midi, node, events: [note_on/off ...]} with absolute times. */
static uint64_t send_notes(uint64_t node, unsigned count, const uint64_t *at, int on, int velocity) {
  return conn_send_notes(&c, next_id++, node, count, at, on, velocity);
}

/* plugin.midi with one sysex message at frame `at`. */
static uint64_t send_sysex(uint64_t node, const uint8_t *data, size_t len, uint64_t at) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  uint64_t id = next_id++;

  midi_begin(&sb, &pk, id, node, 1);
  msgpack_pack_map(&pk, 3);
  sono_pack_key_str(&pk, "type", "sysex");
  sono_pack_cstr(&pk, "data");
  msgpack_pack_bin(&pk, len);
  msgpack_pack_bin_body(&pk, data, len);
  sono_pack_key_uint(&pk, "at", at);
  return midi_send(&c, &sb, id);
}

/* plugin.midi with one note_on whose `key` is `value` (the rest valid). */
static uint64_t send_note_field(uint64_t node, const char *key, int64_t value) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  uint64_t id = next_id++;
  const char *keys[] = { "channel", "note", "velocity" };

  midi_begin(&sb, &pk, id, node, 1);
  msgpack_pack_map(&pk, 4);
  sono_pack_key_str(&pk, "type", "note_on");
  for (int k = 0; k < 3; k++) {
    sono_pack_cstr(&pk, keys[k]);
    msgpack_pack_int64(&pk, strcmp(keys[k], key) == 0 ? value : k == 0 ? 0 : 60);
  }
  return midi_send(&c, &sb, id);
}

static uint64_t send_state(uint64_t node, const void *data, size_t len) {
  return conn_state_set(&c, next_id++, node, data, len);
}

static double get_value(uint64_t node, const char *name) {
  return msg_double(ok_of(conn_request(&c, "plugin.get", "us", "node", node, "name", name)), "value");
}

START_TEST(amsynth_end_to_end) {
  const uint64_t n1 = 1000, n2 = 20000, unload_at = 30000, end = 36000;
  const msgpack_object *ok, *params, *data;
  uint64_t node, at, id;
  sf_count_t frames, i;
  float *wav;
  char fake[400];
  FILE *f;
  bool sound;
  void *state;
  size_t state_len;
  double attack;

  start("256");
  node = load(AMSYNTH, 41);
  ok = ok_of(conn_request(&c, "plugin.list", ""));
  params = sono_map_get(ok, "nodes");
  ck_assert_uint_eq(params->via.array.size, 1);
  ok = ok_of(conn_request(&c, "plugin.params", "u", "node", node));
  params = sono_map_get(ok, "params");
  ck_assert_uint_eq(params->via.array.size, 41);
  ck_assert(msg_str_is(&params->via.array.ptr[0], "name", "amp_attack"));
  ck_assert(msg_double(&params->via.array.ptr[0], "value") == 0.0);

  /* A note at n1, sample-exact. */
  at = n1;
  ck_assert_uint_eq(msg_uint(ok_of(send_notes(node, 1, &at, 1, 100)), "frame"), 0);
  at = n1 + 4000;
  ok_of(send_notes(node, 1, &at, 0, 0));
  render(n1 + 8000);

  /* Bad input: coded errors, and the daemon carries on. */
  /* Outside the plugin paths (confinement): refused before any scan. */
  expect_error(conn_request(&c, "plugin.load", "s", "path", "/nonexistent/x.so"), "denied");
  snprintf(fake, sizeof fake, "%s/fake.so", P.home);
  f = fopen(fake, "w");
  fputs("this is not a plugin\n", f);
  fclose(f);
  expect_error(conn_request(&c, "plugin.load", "s", "path", fake), "load_failed");
  expect_error(conn_request(&c, "plugin.params", "u", "node", (uint64_t)999), "unknown_node");
  expect_error(conn_request(&c, "plugin.get", "uu", "node", node, "index", (uint64_t)41),
               "unknown_param");
  expect_error(conn_request(&c, "plugin.set", "usd", "node", node, "name", "no_such_param", "value", 0.5),
               "unknown_param");
  expect_error(conn_request(&c, "plugin.set", "usd", "node", node, "name", "amp_attack", "value", 1.5),
               "bad_value");
  /* Integers are range-checked as sent, not after a cast that wraps them
   * (2^32 + 60 would be note 60, -2^63 note 0). */
  expect_error(send_note_field(node, "note", ((int64_t)1 << 32) + 60), "bad_value");
  expect_error(send_note_field(node, "note", INT64_MIN), "bad_value");
  expect_error(send_note_field(node, "channel", (int64_t)1 << 32), "bad_value");
  expect_error(send_note_field(node, "velocity", ((int64_t)1 << 31) + 100), "bad_value");
  ok_of(send_note_field(node, "note", 60));

  /* Set by name now, read back. */
  ok_of(conn_request(&c, "plugin.set", "usd", "node", node, "name", "amp_attack", "value", 0.25));
  ck_assert(fabs(get_value(node, "amp_attack") - 0.25) < 1e-6);

  /* State round trip (amsynth wants a named preset first). */
  ok_of(conn_request(&c, "plugin.program", "uu", "node", node, "program", (uint64_t)0));
  ok_of(conn_request(&c, "plugin.set", "usd", "node", node, "name", "amp_attack", "value", 0.125));
  ok = ok_of(conn_request(&c, "plugin.state.get", "u", "node", node));
  ck_assert(msg_str_is(ok, "kind", "chunk"));
  data = sono_map_get(ok, "data");
  ck_assert_int_eq(data->type, MSGPACK_OBJECT_BIN);
  state_len = data->via.bin.size;
  state = malloc(state_len);
  memcpy(state, data->via.bin.ptr, state_len);
  attack = get_value(node, "amp_attack");
  ok_of(conn_request(&c, "plugin.set", "usd", "node", node, "name", "amp_attack", "value", 0.75));
  ck_assert(fabs(get_value(node, "amp_attack") - 0.75) < 1e-6);
  ok_of(send_state(node, state, state_len));
  ck_assert(fabs(get_value(node, "amp_attack") - attack) < 1e-6);
  free(state);
  ok_of(conn_request(&c, "plugin.set", "usd", "node", node, "name", "amp_attack", "value", 0.0));

  /* Still sounds after all that. */
  at = n2;
  ok_of(send_notes(node, 1, &at, 1, 100));
  at = n2 + 3000;
  ok_of(send_notes(node, 1, &at, 0, 0));
  render(unload_at - (n1 + 8000));
  id = conn_request(&c, "plugin.unload", "u", "node", node);
  ck_assert_uint_eq(msg_uint(ok_of(id), "frame"), unload_at);
  expect_error(conn_request(&c, "plugin.get", "uu", "node", node, "index", (uint64_t)0),
               "unknown_node");
  ok = ok_of(conn_request(&c, "plugin.list", ""));
  ck_assert_uint_eq(sono_map_get(ok, "nodes")->via.array.size, 0);
  render(end - unload_at);
  finish();

  wav = read_wav(&frames);
  ck_assert_int_eq(frames, (sf_count_t)end);
  for (i = 0; i < (sf_count_t)n1; i++)
    ck_assert_msg(wav[2 * i] == 0.0f && wav[2 * i + 1] == 0.0f, "sound at %ld before %lu",
                  (long)i, (unsigned long)n1);
  sound = false;
  for (i = (sf_count_t)n1; i < (sf_count_t)n1 + 8; i++)
    if (wav[2 * i] != 0.0f)
      sound = true;
  ck_assert_msg(sound, "no sound within 8 frames of %lu", (unsigned long)n1);
  sound = false;
  for (i = (sf_count_t)n2; i < (sf_count_t)n2 + 64; i++)
    if (wav[2 * i] != 0.0f)
      sound = true;
  ck_assert_msg(sound, "no sound after the errors");
  /* The node fades out over GRAPH_FADE_FRAMES from the unload frame, then
   * is gone: exact silence. */
  for (i = (sf_count_t)(unload_at + GRAPH_FADE_FRAMES); i < frames; i++)
    ck_assert_msg(wav[2 * i] == 0.0f && wav[2 * i + 1] == 0.0f, "sound at %ld after unload",
                  (long)i);
  free(wav);
}
END_TEST

START_TEST(dragonfly_loads) {
  uint64_t node;
  const msgpack_object *ok;

  start("256");
  node = load(DRAGONFLY_ROOM, 17);
  ok = ok_of(conn_request(&c, "plugin.get", "us", "node", node, "name", "Dry Level"));
  ck_assert(msg_str_is(ok, "name", "Dry Level"));
  render(4800);
  ok_of(conn_request(&c, "plugin.unload", "u", "node", node));
  finish();
  free(NULL);
  unlink(P.out);
}
END_TEST

/* Ten thousand note-ons, all due in one block: the test plugin adds an
 * impulse of velocity/127 per note-on at its deltaFrames, so with velocity
 * 127 the output sums to exactly the number of events that reached it. */
START_TEST(ten_thousand_events_in_one_block) {
  const unsigned count = 10000, block = 1024;
  const char *tp = getenv("TESTPLUG");
  uint64_t node, *at;
  sf_count_t frames, i;
  float *wav;
  double sum0 = 0, sum1 = 0;
  unsigned k;

  ck_assert_ptr_nonnull(tp);
  start("1024");
  node = load(tp, 3);
  /* The test plugin's gain (param 0) only scales its (silent) input. */
  at = malloc(count * sizeof *at);
  for (k = 0; k < count; k++)
    at[k] = 2 * block + (k * 7u) % block;
  ok_of(send_notes(node, count, at, 1, 127));
  free(at);
  render(4 * block);
  ok_of(conn_request(&c, "plugin.unload", "u", "node", node));
  finish();

  wav = read_wav(&frames);
  for (i = 0; i < frames; i++) {
    if (i < 2 * (sf_count_t)block || i >= 3 * (sf_count_t)block)
      ck_assert_msg(wav[2 * i] == 0.0f, "frame %ld outside the block sounds", (long)i);
    sum0 += wav[2 * i];
    sum1 += wav[2 * i + 1];
  }
  ck_assert_msg(sum0 == count && sum1 == count, "impulses %f/%f, want %u", sum0, sum1, count);
  free(wav);
}
END_TEST

/* ---- plugin.* events (a second connection subscribes) ---- */

typedef struct pev {
  char kind[32];
  uint64_t node, frame, count;
  int64_t index;
  double value;
  char display[64], code[32];
  uint8_t bytes[16];
  size_t nbytes;
} pev;

static pev evs[256];
static unsigned nevs;

static void copy_str(const msgpack_object *m, const char *key, char *buf, size_t len) {
  const char *s;
  size_t n;

  buf[0] = '\0';
  if (sono_get_str(m, key, &s, &n) == SONO_ARG_OK)
    snprintf(buf, len, "%.*s", (int)n, s);
}

/* Reads events from ev until it has been quiet for quiet_ms. */
static void collect_events(conn *ev, int quiet_ms) {
  while (!conn_silent(ev, quiet_ms)) {
    const msgpack_object *m = conn_recv(ev, 5000), *o;
    pev *e;

    ck_assert_ptr_nonnull(sono_map_get(m, "event"));
    ck_assert_uint_lt(nevs, sizeof evs / sizeof evs[0]);
    e = &evs[nevs++];
    memset(e, 0, sizeof *e);
    copy_str(m, "event", e->kind, sizeof e->kind);
    copy_str(m, "display", e->display, sizeof e->display);
    copy_str(m, "code", e->code, sizeof e->code);
    sono_get_uint(m, "node", &e->node);
    sono_get_uint(m, "frame", &e->frame);
    sono_get_uint(m, "count", &e->count);
    sono_get_int(m, "index", &e->index);
    sono_get_double(m, "value", &e->value);
    if ((o = sono_map_get(m, "bytes")) != NULL && o->type == MSGPACK_OBJECT_BIN &&
        o->via.bin.size <= sizeof e->bytes) {
      e->nbytes = o->via.bin.size;
      memcpy(e->bytes, o->via.bin.ptr, e->nbytes);
    }
  }
}

static void subscribe(conn *to, const char *kind) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  uint64_t id = next_id++;

  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 3);
  sono_pack_key_uint(&pk, "id", id);
  sono_pack_key_str(&pk, "op", "subscribe");
  sono_pack_cstr(&pk, "events");
  msgpack_pack_array(&pk, 1);
  sono_pack_cstr(&pk, kind);
  conn_send_payload(to, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  ck_assert_ptr_nonnull(msg_ok(conn_reply(to, id, 5000)));
}

/* The test plugin's "Echo" (index 1) sets "Gain" (index 0) as well and
 * reports that with audioMasterAutomate, as a GUI would; note-ons come back
 * an octave up as MIDI out; sysex into it is heard (TP_SYSEX_OUT).  The
 * same, event for event and sample for sample, in process (_i 0) and
 * isolated in a host process (_i 1). */
START_TEST(plugin_events) {
  const char *tp = getenv("TESTPLUG");
  const unsigned changes = 100;
  const uint8_t sysex[] = { 0xF0, 0x7D, 0x01, 0x02, 0x03, 0x40, 0xF7 };
  const uint64_t sysex_at = 512 + 40;
  uint64_t node, at;
  unsigned k, nparam = 0, nmidi = 0, sum = 0;
  conn ev;
  const pev *last = NULL, *midi = NULL;
  sf_count_t frames;
  float *wav, want;

  ck_assert_ptr_nonnull(tp);
  start("256");
  conn_open(&ev, dp.socket);
  subscribe(&ev, "plugin");
  node = load_iso(tp, 3, _i == 1);

  /* A hundred changes due on one frame: the plugin automates Gain a hundred
   * times within one block, clients hear of it once (twice at most, should
   * a poll fall right into the middle of that block) with the last value. */
  for (k = 1; k <= changes; k++)
    ok_of(conn_request(&c, "plugin.set", "uudu", "node", node, "index", (uint64_t)1, "value",
                       0.75 * k / changes, "at", (uint64_t)100));
  render(256);
  nevs = 0;
  collect_events(&ev, 300);
  for (k = 0; k < nevs; k++) {
    ck_assert_str_eq(evs[k].kind, "plugin.param");
    ck_assert_uint_eq(evs[k].node, node);
    /* Only what the plugin did itself: index 1 was the host's own change. */
    ck_assert_int_eq(evs[k].index, 0);
    nparam++;
    last = &evs[k];
  }
  ck_assert_msg(nparam >= 1 && nparam <= 2, "%u plugin.param events for %u changes", nparam,
                changes);
  ck_assert(last->value == 0.75);
  ck_assert_str_eq(last->display, "1.500");

  /* MIDI out, with the frame of the note that caused it. */
  at = 256 + 77;
  ok_of(send_notes(node, 1, &at, 1, 100));
  render(256);
  nevs = 0;
  collect_events(&ev, 300);
  for (k = 0; k < nevs; k++)
    if (strcmp(evs[k].kind, "plugin.midi") == 0) {
      nmidi++;
      midi = &evs[k];
    }
  ck_assert_uint_eq(nmidi, 1);
  ck_assert_uint_eq(midi->node, node);
  ck_assert_uint_eq(midi->frame, at);
  ck_assert_uint_eq(midi->nbytes, 3);
  ck_assert_uint_eq(midi->bytes[0], 0x90);
  ck_assert_uint_eq(midi->bytes[1], 72);
  ck_assert_uint_eq(midi->bytes[2], 100);

  /* Sysex in, at its frame; nothing lost.  The plugin echoes it as sysex
   * out: one plugin.midi event with the whole message, at its frame. */
  ok_of(send_sysex(node, sysex, sizeof sysex, sysex_at));
  render(256);
  nevs = 0;
  nmidi = 0;
  collect_events(&ev, 300);
  for (k = 0; k < nevs; k++) {
    ck_assert_msg(strcmp(evs[k].kind, "plugin.error") != 0, "plugin.error %s", evs[k].code);
    if (strcmp(evs[k].kind, "plugin.midi") == 0) {
      nmidi++;
      midi = &evs[k];
    }
  }
  ck_assert_uint_eq(nmidi, 1);
  ck_assert_uint_eq(midi->frame, sysex_at);
  ck_assert_uint_eq(midi->nbytes, sizeof sysex);
  ck_assert_mem_eq(midi->bytes, sysex, sizeof sysex);

  ok_of(conn_request(&c, "plugin.unload", "u", "node", node));
  conn_close(&ev);
  finish();
  wav = read_wav(&frames);
  ck_assert_int_eq(frames, 256 * 3);
  for (k = 0; k < sizeof sysex; k++)
    sum += sysex[k];
  want = (float)(sizeof sysex / 1000.0 + sum / 1e6);
  ck_assert_msg(fabsf(wav[2 * sysex_at] - want) < 1e-7f && wav[2 * sysex_at + 1] == wav[2 * sysex_at],
                "sysex at %lu: %.9g, want %.9g", (unsigned long)sysex_at, wav[2 * sysex_at], want);
  ck_assert_msg(fabsf(wav[2 * (256 + 77)] - 100.0f / 127.0f) < 1e-6f, "the note: %g",
                wav[2 * (256 + 77)]);
  for (k = 0; k < (unsigned)frames; k++)
    if (k != sysex_at && k != 256 + 77)
      ck_assert_msg(wav[2 * k] == 0.0f, "frame %u sounds: %g", k, wav[2 * k]);
  free(wav);
  unlink(P.out);
}
END_TEST

/* ---- plugins that crash or hang while loading ---- */

static const char *error_message(const msgpack_object *m) {
  static char msg[600];
  const msgpack_object *err = sono_map_get(m, "error");

  ck_assert_ptr_nonnull(err);
  copy_str(err, "message", msg, sizeof msg);
  return msg;
}

static const msgpack_object *scan_entry(const msgpack_object *plugins, const char *suffix) {
  uint32_t i;

  for (i = 0; i < plugins->via.array.size; i++) {
    char path[600];
    size_t n;

    copy_str(&plugins->via.array.ptr[i], "path", path, sizeof path);
    n = strlen(path);
    if (n >= strlen(suffix) && strcmp(path + n - strlen(suffix), suffix) == 0)
      return &plugins->via.array.ptr[i];
  }
  ck_abort_msg("plugin.scan did not list *%s", suffix);
  return NULL;
}

START_TEST(crash_and_hang_while_loading) {
  const char *tp = getenv("TESTPLUG"), *crash = getenv("TESTPLUG_CRASH"),
             *hang = getenv("TESTPLUG_HANG");
  const msgpack_object *m, *plugins, *ok;
  uint64_t node, at, id;
  sf_count_t frames;
  float *wav;
  char dir[600];
  struct timespec t0, t1;
  double took;

  ck_assert_ptr_nonnull(tp);
  ck_assert_ptr_nonnull(crash);
  ck_assert_ptr_nonnull(hang);
  start("256");
  node = load(tp, 3);
  at = 100;
  ok_of(send_notes(node, 1, &at, 1, 127));
  render(256);

  m = conn_reply(&c, conn_request(&c, "plugin.load", "s", "path", crash), 30000);
  ck_assert_str_eq(msg_error_code(m), "load_failed");
  ck_assert_msg(strstr(error_message(m), "crashed") != NULL, "message: %s", error_message(m));

  /* A hang costs the scan timeout: the request's own keeps it short. */
  clock_gettime(CLOCK_MONOTONIC, &t0);
  m = conn_reply(&c, conn_request(&c, "plugin.load", "su", "path", hang, "timeout",
                                  (uint64_t)500), 30000);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  took = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
  ck_assert_str_eq(msg_error_code(m), "load_failed");
  ck_assert_msg(strstr(error_message(m), "hung") != NULL, "message: %s", error_message(m));
  ck_assert_msg(took >= 0.45 && took < 5.0, "the hung load took %.3f s", took);
  expect_error(conn_request(&c, "plugin.load", "su", "path", hang, "timeout", (uint64_t)0),
               "bad_value");

  /* A scan of the folder reports both, and the good one. */
  snprintf(dir, sizeof dir, "%s", hang);
  m = conn_reply(&c, conn_request(&c, "plugin.scan", "su", "dir", dirname(dir), "timeout",
                                  (uint64_t)500), 30000);
  ck_assert_ptr_nonnull(msg_ok(m));
  plugins = sono_map_get(msg_ok(m), "plugins");
  ck_assert_ptr_nonnull(plugins);
  ck_assert(msg_str_is(scan_entry(plugins, "/testplug_int_hang.so"), "error", "timeout"));
  ck_assert(msg_str_is(scan_entry(plugins, "/testplug_int_crash.so"), "error", "crashed"));
  ck_assert_ptr_nonnull(sono_map_get(scan_entry(plugins, "/testplug_int.so"), "info"));

  /* Alive, and the plugin loaded before still plays. */
  ck_assert_ptr_nonnull(msg_ok(conn_reply(&c, conn_request(&c, "ping", ""), 5000)));
  ok = ok_of(conn_request(&c, "plugin.list", ""));
  ck_assert_uint_eq(sono_map_get(ok, "nodes")->via.array.size, 1);
  at = 256 + 50;
  ok_of(send_notes(node, 1, &at, 1, 127));
  render(256);
  id = conn_request(&c, "plugin.unload", "u", "node", node);
  ok_of(id);
  finish();

  wav = read_wav(&frames);
  ck_assert_int_eq(frames, 512);
  ck_assert_msg(wav[2 * 100] == 1.0f && wav[2 * 100 + 1] == 1.0f, "no impulse at 100");
  ck_assert_msg(wav[2 * 306] == 1.0f && wav[2 * 306 + 1] == 1.0f,
                "no impulse at 306 after the failed loads");
  free(wav);
}
END_TEST

/* plugin.load runs in the thread pool: a load stuck in its scan does not
 * hold up anyone else. */
START_TEST(hanging_load_does_not_block) {
  const char *hang = getenv("TESTPLUG_HANG");
  const msgpack_object *m;
  uint64_t load_id;
  struct timespec t0, t1;
  double took;
  conn other;
  int i;

  ck_assert_ptr_nonnull(hang);
  start("256");
  clock_gettime(CLOCK_MONOTONIC, &t0);
  load_id = conn_request(&c, "plugin.load", "su", "path", hang, "timeout", (uint64_t)2000);
  /* Let the daemon take the request before the other client asks. */
  usleep(100 * 1000);
  conn_open(&other, dp.socket);
  for (i = 0; i < 3; i++) {
    struct timespec a, b;
    double ms;

    clock_gettime(CLOCK_MONOTONIC, &a);
    m = conn_reply(&other, conn_request(&other, i == 1 ? "status" : "ping", ""), 5000);
    clock_gettime(CLOCK_MONOTONIC, &b);
    ck_assert_ptr_nonnull(msg_ok(m));
    ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
    /* A loop blocked by the load would answer after it, 2 s in: half of
     * that tells the two apart on a loaded machine (100 ms did not). */
    ck_assert_msg(ms < 1000.0, "%s took %.1f ms while a load was in flight",
                  i == 1 ? "status" : "ping", ms);
  }
  /* The loading client itself is served too; its load reply comes later. */
  m = conn_reply(&c, conn_request(&c, "ping", ""), 1000);
  ck_assert_ptr_nonnull(msg_ok(m));
  m = conn_reply(&c, load_id, 30000);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  took = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
  ck_assert_str_eq(msg_error_code(m), "load_failed");
  ck_assert_msg(strstr(error_message(m), "hung") != NULL, "message: %s", error_message(m));
  ck_assert_msg(took >= 1.9 && took < 10.0, "the hung load took %.3f s", took);

  /* A shutdown while a load is in flight waits for it and exits cleanly. */
  conn_request(&other, "plugin.load", "su", "path", hang, "timeout", (uint64_t)500);
  usleep(50 * 1000);
  conn_close(&other);
  finish();
}
END_TEST

/* A reply larger than a frame (a plugin's 20 MB state) is never sent with
 * a wrong length: the request gets reply_too_large and the stream stays
 * whole, so the next reply on the same connection arrives intact. */
START_TEST(oversized_reply_is_refused_whole) {
  const char *big = getenv("TESTPLUG_ODD");
  const msgpack_object *m;
  uint64_t node;

  ck_assert_ptr_nonnull(big);
  start("256");
  node = msg_uint(ok_of(conn_request(&c, "plugin.load", "s", "path", big)), "node");
  m = conn_reply(&c, conn_request(&c, "plugin.state.get", "u", "node", node), 30000);
  ck_assert_str_eq(msg_error_code(m), "reply_too_large");
  ck_assert_msg(strstr(error_message(m), "20000") != NULL, "message: %s", error_message(m));
  m = conn_reply(&c, conn_request(&c, "ping", "u", "data", (uint64_t)77), 5000);
  ck_assert_uint_eq(msg_uint(msg_ok(m), "data"), 77);
  finish();
}
END_TEST

/* A state of `len` bytes read back in pages of `page` bytes. */
static unsigned char *state_pages(uint64_t node, size_t len, uint64_t page, const char *kind) {
  unsigned char *got = malloc(len);
  size_t at = 0;

  ck_assert_ptr_nonnull(got);
  while (at < len) {
    const msgpack_object *ok = ok_of(conn_request(&c, "plugin.state.get", "uuu", "node", node,
                                                  "offset", (uint64_t)at, "length", page));
    const msgpack_object *data = sono_map_get(ok, "data");

    ck_assert_uint_eq(msg_uint(ok, "total"), len);
    ck_assert_uint_eq(msg_uint(ok, "offset"), at);
    ck_assert(msg_str_is(ok, "kind", kind));
    ck_assert_int_eq(data->type, MSGPACK_OBJECT_BIN);
    ck_assert_uint_eq(data->via.bin.size, len - at < page ? len - at : page);
    memcpy(got + at, data->via.bin.ptr, data->via.bin.size);
    at += data->via.bin.size;
  }
  return got;
}

/* plugin.state.set {node, data, offset, total}; returns the reply. */
static const msgpack_object *state_piece(uint64_t id, uint64_t node, const unsigned char *data,
                                         size_t len, uint64_t offset, uint64_t total) {
  msgpack_sbuffer sb;
  msgpack_packer pk;

  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 6);
  sono_pack_key_uint(&pk, "id", id);
  sono_pack_key_str(&pk, "op", "plugin.state.set");
  sono_pack_key_uint(&pk, "node", node);
  sono_pack_cstr(&pk, "data");
  msgpack_pack_bin(&pk, len);
  msgpack_pack_bin_body(&pk, data, len);
  sono_pack_key_uint(&pk, "offset", offset);
  sono_pack_key_uint(&pk, "total", total);
  conn_send_payload(&c, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  return conn_reply(&c, id, 30000);
}

/* A 20 MB state travels in pages: read in 8 MiB pages (every byte as the
 * plugin made it), written back in pieces the daemon assembles before the
 * plugin gets it whole (effSetChunk), read again: every byte as sent. */
START_TEST(large_state_travels_in_pages) {
  const char *big = getenv("TESTPLUG_ODD");
  const size_t len = 20000000, page = 8u * 1024u * 1024u;
  unsigned char *got, *mine;
  const msgpack_object *m;
  uint64_t node, id = 1000;
  size_t i, at;

  ck_assert_ptr_nonnull(big);
  start("256");
  node = msg_uint(ok_of(conn_request(&c, "plugin.load", "s", "path", big)), "node");
  got = state_pages(node, len, page, "chunk");
  for (i = 0; i < len; i++)
    if (got[i] != (unsigned char)(i % 251))
      ck_abort_msg("byte %zu of the state is %u, want %u", i, got[i], (unsigned)(i % 251));
  free(got);
  /* A length over the page limit gets a page. */
  m = ok_of(conn_request(&c, "plugin.state.get", "uuu", "node", node, "offset", (uint64_t)0,
                         "length", (uint64_t)len));
  ck_assert_uint_eq(sono_map_get(m, "data")->via.bin.size, page);
  m = conn_reply(&c, conn_request(&c, "plugin.state.get", "uu", "node", node,
                                  "offset", (uint64_t)len + 1), 30000);
  ck_assert_str_eq(msg_error_code(m), "bad_value");

  mine = malloc(len);
  ck_assert_ptr_nonnull(mine);
  for (i = 0; i < len; i++)
    mine[i] = (unsigned char)((i * 7 + 3) % 256);
  /* Out of order: refused, and nothing is applied. */
  m = state_piece(id++, node, mine, 100, 100, len);
  ck_assert_str_eq(msg_error_code(m), "bad_value");
  for (at = 0; at < len; at += page) {
    size_t n = len - at < page ? len - at : page;

    m = msg_ok(state_piece(id++, node, mine + at, n, at, len));
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(msg_uint(m, "received"), at + n);
    ck_assert(sono_map_get(m, "applied")->via.boolean == (at + n == len));
    if (at == 0) {
      /* A gap is refused; the pieces so far stay. */
      m = state_piece(id++, node, mine, 10, at + n + 10, len);
      ck_assert_str_eq(msg_error_code(m), "bad_value");
    }
  }
  got = state_pages(node, len, page, "chunk");
  ck_assert_msg(memcmp(got, mine, len) == 0, "the state read back is not the state sent");
  free(got);
  free(mine);
  /* The connection carries on. */
  ok_of(conn_request(&c, "ping", ""));
  finish();
}
END_TEST

/* A plugin whose name and a label are Latin-1 ("B\xe4ss", "\xb0"): sonod
 * sends them as UTF-8 ("Bäss", "°"), never as the bytes it was given. */
START_TEST(latin1_names_arrive_as_utf8) {
  const char *odd = getenv("TESTPLUG_ODD");
  const msgpack_object *ok, *nodes, *params, *name, *label;
  uint64_t node;

  ck_assert_ptr_nonnull(odd);
  start("256");
  node = msg_uint(ok_of(conn_request(&c, "plugin.load", "s", "path", odd)), "node");
  ok = ok_of(conn_request(&c, "plugin.list", ""));
  nodes = sono_map_get(ok, "nodes");
  ck_assert_uint_eq(nodes->via.array.size, 1);
  name = sono_map_get(&nodes->via.array.ptr[0], "name");
  ck_assert_int_eq(name->type, MSGPACK_OBJECT_STR);
  ck_assert_uint_eq(name->via.str.size, strlen("B\xc3\xa4ss test plugin"));
  ck_assert(memcmp(name->via.str.ptr, "B\xc3\xa4ss test plugin", name->via.str.size) == 0);
  ok = ok_of(conn_request(&c, "plugin.params", "u", "node", node));
  params = sono_map_get(ok, "params");
  label = sono_map_get(&params->via.array.ptr[0], "label");
  ck_assert_int_eq(label->type, MSGPACK_OBJECT_STR);
  ck_assert_uint_eq(label->via.str.size, 2);
  ck_assert(memcmp(label->via.str.ptr, "\xc2\xb0", 2) == 0);
  finish();
}
END_TEST

/* With every place for timed requests taken (4096 tones far ahead), only
 * timed requests are refused (heap_full); everything for "now" still takes
 * effect: a plugin loads and plays, a parameter is set and reads back, MIDI
 * is accepted, the graph is rewired, and nothing the control side
 * committed to goes missing.  An `at` more than a year ahead is refused. */
START_TEST(full_timed_queue_refuses_only_timed_requests) {
  const char *tp = getenv("TESTPLUG");
  const msgpack_object *ok;
  uint64_t node, at, ids[1024];
  conn filler[4];

  ck_assert_ptr_nonnull(tp);
  start("256");
  /* Four connections, each with its whole share (1024). */
  for (unsigned k = 0; k < 4; k++) {
    conn_open(&filler[k], dp.socket);
    for (unsigned i = 0; i < 1024; i++)
      ids[i] = conn_request(&filler[k], "engine.tone", "bu", "on", (int)(i % 2), "at",
                            (uint64_t)(1000000 + 1024 * k + i));
    for (unsigned i = 0; i < 1024; i++)
      ck_assert_ptr_nonnull(msg_ok(conn_reply(&filler[k], ids[i], 10000)));
  }
  ck_assert_uint_eq(msg_uint(ok_of(conn_request(&c, "status", "")), "heap_used"), 4096);
  expect_error(conn_request(&c, "engine.tone", "bu", "on", 1, "at", (uint64_t)2000000), "heap_full");

  node = msg_uint(ok_of(conn_request(&c, "plugin.load", "s", "path", tp)), "node");
  ok = ok_of(conn_request(&c, "plugin.list", ""));
  ck_assert_uint_eq(sono_map_get(ok, "nodes")->via.array.size, 1);
  ok_of(conn_request(&c, "plugin.set", "uud", "node", node, "index", (uint64_t)0, "value", 0.25));
  ck_assert(fabs(msg_double(ok_of(conn_request(&c, "plugin.get", "uu", "node", node, "index",
                                               (uint64_t)0)), "value") - 0.25) < 1e-6);
  expect_error(conn_request(&c, "plugin.set", "uudu", "node", node, "index", (uint64_t)0, "value",
                            0.5, "at", (uint64_t)1500000), "heap_full");
  at = 100;
  ok_of(send_notes(node, 1, &at, 1, 100));
  ok_of(conn_request(&c, "graph.disconnect", "ss", "from", "csound:out_1", "to", "out:in_1"));
  ok_of(conn_request(&c, "plugin.unload", "u", "node", node));
  ok = ok_of(conn_request(&c, "plugin.list", ""));
  ck_assert_uint_eq(sono_map_get(ok, "nodes")->via.array.size, 0);
  /* A year at 48 kHz is 1 513 728 000 000 frames. */
  expect_error(conn_request(&c, "engine.tone", "bu", "on", 1, "at", (uint64_t)3000000000000ull),
               "bad_value");
  for (unsigned k = 0; k < 4; k++)
    conn_close(&filler[k]);
  finish();
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("plugins");
  TCase *tc = tcase_create("offline");

  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, amsynth_end_to_end);
  tcase_add_test(tc, dragonfly_loads);
  tcase_add_test(tc, ten_thousand_events_in_one_block);
  tcase_add_loop_test(tc, plugin_events, 0, 2);
  tcase_add_test(tc, crash_and_hang_while_loading);
  tcase_add_test(tc, hanging_load_does_not_block);
  tcase_add_test(tc, oversized_reply_is_refused_whole);
  tcase_add_test(tc, large_state_travels_in_pages);
  tcase_add_test(tc, latin1_names_arrive_as_utf8);
  tcase_add_test(tc, full_timed_queue_refuses_only_timed_requests);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(suite)
