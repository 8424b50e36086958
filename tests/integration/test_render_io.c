/* Integration: audio as data on the offline backend.  render {return: true}
 * hands back exactly the samples written to the file; render {input} feeds
 * the capture ports; --output none renders with no file; --output-format
 * pcm16 writes a WAV whose header is right between renders. */
#include <check.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "protocol/wire.h"
#include "tests/support/check_main.h"
#include "tests/support/harness.h"
#include "tests/support/offline.h"

#define RATE 48000
#define AMSYNTH "/usr/lib/vst/amsynth_vst.so"

static daemon_proc dp;
static conn c;
static offline_paths P;
static uint64_t next_id = 5000;

/* An offline daemon writing to `output` (NULL: a fresh WAV path), with
 * extra arguments (NULL-terminated, may be NULL). */
static void start(const char *output, const char *const *extra) {
  offline_start_to(&dp, &c, &P, "render-io", output, extra);
}

static void finish(void) {
  offline_finish(&dp, &c, &P);
}

static const msgpack_object *ok_of(uint64_t id) {
  return conn_ok(&c, id);
}

/* Sends render with `frames` (0: not given), `ret`, and `nin` input
 * channels of `len` samples (in: nin × len, one after the other; NULL: no
 * input) or a raw list of bins of the given byte sizes.  Returns the id. */
static uint64_t send_render(uint64_t frames, bool ret, const float *in, unsigned nin,
                            const uint32_t *bytes) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  uint64_t id = next_id++;
  unsigned k;

  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 2 + (frames > 0) + ret + (nin > 0));
  sono_pack_key_uint(&pk, "id", id);
  sono_pack_key_str(&pk, "op", "render");
  if (frames > 0)
    sono_pack_key_uint(&pk, "frames", frames);
  if (ret)
    sono_pack_key_bool(&pk, "return", true);
  if (nin > 0) {
    size_t off = 0;

    sono_pack_cstr(&pk, "input");
    msgpack_pack_array(&pk, nin);
    for (k = 0; k < nin; k++) {
      msgpack_pack_bin(&pk, bytes[k]);
      msgpack_pack_bin_body(&pk, (const char *)in + off, bytes[k]);
      off += bytes[k];
    }
  }
  conn_send_payload(&c, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  return id;
}

/* A render's returned audio: channel ch's samples, copied out of the bin
 * (msgpack leaves it unaligned) into one of four buffers used in turn. */
static const float *channel_of(const msgpack_object *ok, unsigned ch, uint64_t frames) {
  static float copies[4][65536];
  static unsigned turn;
  const msgpack_object *audio = sono_map_get(ok, "audio");
  float *out = copies[turn++ % 4];

  ck_assert_ptr_nonnull(audio);
  ck_assert_int_eq(audio->type, MSGPACK_OBJECT_ARRAY);
  ck_assert_uint_gt(audio->via.array.size, ch);
  ck_assert_int_eq(audio->via.array.ptr[ch].type, MSGPACK_OBJECT_BIN);
  ck_assert_uint_eq(audio->via.array.ptr[ch].via.bin.size, frames * sizeof(float));
  ck_assert_uint_le(frames, 65536);
  memcpy(out, audio->via.array.ptr[ch].via.bin.ptr, frames * sizeof(float));
  return out;
}

/* Renders `frames` with return; appends both channels' samples at *have
 * of l and r, and checks start and the reply's shape. */
static void render_return(uint64_t frames, uint64_t want_start, uint64_t want_frames, float *l,
                          float *r, uint64_t *have) {
  const msgpack_object *ok = ok_of(send_render(frames, true, NULL, 0, NULL));
  uint64_t got = msg_uint(ok, "frames");

  ck_assert_uint_eq(msg_uint(ok, "channels"), 2);
  ck_assert_uint_eq(msg_uint(ok, "start"), want_start);
  ck_assert_uint_eq(got, want_frames);
  ck_assert_uint_eq(msg_uint(ok, "frame"), want_start + want_frames);
  memcpy(l + *have, channel_of(ok, 0, got), got * sizeof(float));
  memcpy(r + *have, channel_of(ok, 1, got), got * sizeof(float));
  *have += got;
}

/* A tone through the out node's gain; renders of uneven lengths return
 * every sample of the file, bit for bit, and the sine the tone is. */
START_TEST(return_is_the_file) {
  static float l[8192], r[8192];
  uint64_t have = 0, i;
  sf_count_t frames;
  float *file;

  start(NULL, NULL);
  ok_of(conn_request(&c, "engine.tone", "buddi", "on", 1, "at", (uint64_t)50, "freq", 997.0,
                     "amp", 0.5, "channel", (int64_t)-1));
  /* A render without return that ends inside a Csound k-cycle (ksmps 32)
   * holds its last 4 frames back: the next render returns them first. */
  ck_assert_uint_eq(msg_uint(ok_of(send_render(100, false, NULL, 0, NULL)), "frame"), 100);
  have = 96;   /* frames 0..95 come from the file only */
  render_return(1000, 96, 1004, l, r, &have);
  render_return(777, 1100, 777, l, r, &have);
  render_return(2048, 1877, 2048, l, r, &have);
  finish();

  file = wav_read_stereo(P.out, &frames);
  ck_assert_int_eq(frames, 3925);
  for (i = 96; i < (uint64_t)frames; i++) {
    double want = i >= 50 ? 0.5 * sin(2 * M_PI * 997.0 * (double)(i - 50) / RATE) : 0.0;

    ck_assert_msg(memcmp(&l[i], &file[2 * i], sizeof(float)) == 0 &&
                      memcmp(&r[i], &file[2 * i + 1], sizeof(float)) == 0,
                  "frame %lu: returned %g %g, file %g %g", (unsigned long)i, l[i], r[i],
                  file[2 * i], file[2 * i + 1]);
    ck_assert_msg(fabs(l[i] - want) < 1e-6, "frame %lu: %g, want %g", (unsigned long)i, l[i],
                  want);
  }
  free(file);
}
END_TEST

/* The VST loader's loop, on sonod: amsynth with amp_attack 0, a note at
 * frame 3, the block back as numbers: silence before frame 3, sound from
 * it.  With --output none there is no file at all. */
START_TEST(amsynth_note_at_frame_3) {
  const msgpack_object *ok;
  const float *l;
  uint64_t node, id, i, first = 0;
  double energy = 0;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  struct stat st;

  if (access(AMSYNTH, R_OK) != 0) {
    printf("amsynth_note_at_frame_3: %s not installed, skipped\n", AMSYNTH);
    return;
  }
  start("none", NULL);
  node = msg_uint(ok_of(conn_request(&c, "plugin.load", "s", "path", AMSYNTH)), "node");
  ok_of(conn_request(&c, "plugin.set", "usd", "node", node, "name", "amp_attack", "value", 0.0));
  id = next_id++;
  midi_begin(&sb, &pk, id, node, 1);
  msgpack_pack_map(&pk, 5);
  sono_pack_key_str(&pk, "type", "note_on");
  sono_pack_key_uint(&pk, "channel", 0);
  sono_pack_key_uint(&pk, "note", 69);
  sono_pack_key_uint(&pk, "velocity", 100);
  sono_pack_key_uint(&pk, "at", 3);
  ok_of(midi_send(&c, &sb, id));

  ok = ok_of(send_render(512, true, NULL, 0, NULL));
  ck_assert_uint_eq(msg_uint(ok, "start"), 0);
  ck_assert_uint_eq(msg_uint(ok, "frames"), 512);
  l = channel_of(ok, 0, 512);
  for (i = 0; i < 3; i++)
    ck_assert_msg(l[i] == 0.0f, "frame %lu before the note: %g", (unsigned long)i, l[i]);
  for (i = 3; i < 512 && first == 0; i++)
    if (l[i] != 0.0f)
      first = i;
  for (i = 3; i < 512; i++)
    energy += (double)l[i] * l[i];
  ck_assert_msg(first >= 3 && first < 8, "the note sounds first at frame %lu", (unsigned long)first);
  ck_assert_msg(energy > 1e-3, "the note made no sound (energy %g)", energy);
  finish();
  ck_assert_int_ne(stat("none", &st), 0);
}
END_TEST

/* process_replacing(inputs, outputs): the user's buffers through in → gain
 * 0.5 → out come back scaled exactly. */
START_TEST(input_through_a_gain_node) {
  static float in[2 * 1000];
  const msgpack_object *ok;
  const float *l, *r;
  uint32_t bytes[2] = { 4000, 4000 };
  uint64_t g, i;
  char gin1[40], gin2[40], gout1[40], gout2[40];

  start("none", NULL);
  g = msg_uint(ok_of(conn_request(&c, "node.new", "su", "kind", "gain", "channels", (uint64_t)2)),
               "node");
  snprintf(gin1, sizeof gin1, "%llu:in_1", (unsigned long long)g);
  snprintf(gin2, sizeof gin2, "%llu:in_2", (unsigned long long)g);
  snprintf(gout1, sizeof gout1, "%llu:out_1", (unsigned long long)g);
  snprintf(gout2, sizeof gout2, "%llu:out_2", (unsigned long long)g);
  ok_of(conn_request(&c, "graph.connect", "ss", "from", "in:out_1", "to", gin1));
  ok_of(conn_request(&c, "graph.connect", "ss", "from", "in:out_2", "to", gin2));
  ok_of(conn_request(&c, "graph.connect", "ss", "from", gout1, "to", "out:in_1"));
  ok_of(conn_request(&c, "graph.connect", "ss", "from", gout2, "to", "out:in_2"));
  ok_of(conn_request(&c, "node.gain", "ud", "node", g, "gain", 0.5));
  /* New connections and gains ramp in over 256 frames: let them settle. */
  ok_of(send_render(1024, false, NULL, 0, NULL));

  for (i = 0; i < 1000; i++) {
    in[i] = (float)sin((double)i * 0.01) * 0.8f;
    in[1000 + i] = (float)((int)(i % 37) - 18) / 19.0f;
  }
  /* frames defaults to the input's length. */
  ok = ok_of(send_render(0, true, in, 2, bytes));
  ck_assert_uint_eq(msg_uint(ok, "start"), 1024);
  ck_assert_uint_eq(msg_uint(ok, "frames"), 1000);
  l = channel_of(ok, 0, 1000);
  r = channel_of(ok, 1, 1000);
  for (i = 0; i < 1000; i++) {
    ck_assert_msg(l[i] == in[i] * 0.5f, "frame %lu left: %g, want %g", (unsigned long)i, l[i],
                  in[i] * 0.5f);
    ck_assert_msg(r[i] == in[1000 + i] * 0.5f, "frame %lu right: %g, want %g", (unsigned long)i,
                  r[i], in[1000 + i] * 0.5f);
  }
  /* Without input the capture ports are silent again. */
  ok = ok_of(send_render(256, true, NULL, 0, NULL));
  l = channel_of(ok, 0, 256);
  for (i = 0; i < 256; i++)
    ck_assert_float_eq(l[i], 0.0f);
  finish();
}
END_TEST

START_TEST(bad_input_is_refused) {
  static float in[3 * 100];
  const msgpack_object *err, *msg;
  char text[512];
  uint32_t two[2] = { 400, 400 }, three[3] = { 400, 400, 400 }, odd[2] = { 400, 399 },
           uneven[2] = { 400, 396 };
  uint64_t id;

  start("none", NULL);
  conn_expect_error(&c, send_render(0, true, in, 3, three), "bad_value");
  conn_expect_error(&c, send_render(0, true, in, 2, odd), "bad_value");
  conn_expect_error(&c, send_render(0, true, in, 2, uneven), "bad_value");
  conn_expect_error(&c, send_render(99, true, in, 2, two), "bad_value");
  id = conn_request(&c, "render", "ubs", "frames", (uint64_t)10, "return", 1, "input", "no");
  conn_expect_error(&c, id, "bad_type");
  /* 2 channels × 4 bytes: a 16 MiB frame holds about 2 million frames. */
  err = conn_expect_error(&c, send_render(3000000, true, NULL, 0, NULL), "reply_too_large");
  msg = sono_map_get(err, "message");
  ck_assert_ptr_nonnull(msg);
  ck_assert_msg(msg->via.str.size < sizeof text, "message too long");
  memcpy(text, msg->via.str.ptr, msg->via.str.size);
  text[msg->via.str.size] = '\0';
  ck_assert_msg(strstr(text, "at most 2096992 frames") != NULL, "message: %s", text);
  /* Nothing was rendered by the refusals; a good one still works. */
  ck_assert_uint_eq(msg_uint(ok_of(send_render(0, true, in, 2, two)), "start"), 0);
  finish();
}
END_TEST

/* The data chunk's size and the RIFF size in a PCM WAV's header, against
 * the file's length: what Python's wave module reads. */
static void check_wav_header(const char *path, uint32_t want_frames) {
  unsigned char h[4096];
  FILE *f = fopen(path, "rb");
  size_t n, pos = 12;
  struct stat st;
  uint32_t riff;

  ck_assert_ptr_nonnull(f);
  n = fread(h, 1, sizeof h, f);
  fclose(f);
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert(n >= 44 && memcmp(h, "RIFF", 4) == 0 && memcmp(h + 8, "WAVE", 4) == 0);
  riff = h[4] | h[5] << 8 | h[6] << 16 | (uint32_t)h[7] << 24;
  ck_assert_uint_eq(riff + 8, (uint64_t)st.st_size);
  while (pos + 8 <= n) {
    uint32_t size = h[pos + 4] | h[pos + 5] << 8 | h[pos + 6] << 16 | (uint32_t)h[pos + 7] << 24;

    if (memcmp(h + pos, "fmt ", 4) == 0) {
      ck_assert_uint_eq(h[pos + 8] | h[pos + 9] << 8, 1);      /* PCM */
      ck_assert_uint_eq(h[pos + 22] | h[pos + 23] << 8, 16);   /* bits */
    }
    if (memcmp(h + pos, "data", 4) == 0) {
      ck_assert_uint_eq(size, want_frames * 2u * 2u);
      ck_assert_uint_eq(pos + 8 + size, (uint64_t)st.st_size);
      return;
    }
    pos += 8 + size + (size & 1);
  }
  ck_abort_msg("no data chunk in %s", path);
}

START_TEST(pcm16_header_right_between_renders) {
  const char *const extra[] = { "--output-format", "pcm16", NULL };

  start(NULL, extra);
  ok_of(conn_request(&c, "engine.tone", "bd", "on", 1, "amp", 0.5));
  ok_of(send_render(1000, false, NULL, 0, NULL));
  check_wav_header(P.out, 992);   /* 8 frames held for Csound's k-cycle */
  ok_of(send_render(2000, true, NULL, 0, NULL));
  check_wav_header(P.out, 3000);
  finish();
  check_wav_header(P.out, 3000);
  unlink(P.out);
}
END_TEST

/* Capture events as they arrive: channel 0 appended to cap_buf, checked
 * contiguous (each block's frame is the last one's end plus its dropped). */
static float cap_buf[65536];
static uint64_t cap_have, cap_next, cap_dropped;

static void take_capture(const msgpack_object *m) {
  uint64_t frame = msg_uint(m, "frame"), frames = msg_uint(m, "frames");
  uint64_t dropped = msg_uint(m, "dropped");

  ck_assert_uint_eq(frame, cap_next + dropped);
  ck_assert_uint_le(cap_have + frames, sizeof cap_buf / sizeof cap_buf[0]);
  memcpy(cap_buf + cap_have, channel_of(m, 0, frames), frames * sizeof(float));
  cap_have += frames;
  cap_next = frame + frames;
  cap_dropped += dropped;
}

/* The reply to id, taking the capture events that come first. */
static const msgpack_object *reply_taking(uint64_t id) {
  for (;;) {
    const msgpack_object *m = conn_recv(&c, 30000);

    if (msg_str_is(m, "event", "capture"))
      take_capture(m);
    else if (sono_map_get(m, "event") == NULL && msg_uint(m, "id") == id)
      return m;
  }
}

/* Offline, a capture of `out` is the rendered audio: the blocks render
 * returns, bit for bit, with no drop (the renderer waits for the ring). */
START_TEST(capture_offline_is_the_render) {
  static float ret[48000];
  const msgpack_object *ok;
  uint64_t cap, i;

  start("none", NULL);
  ok_of(conn_request(&c, "engine.tone", "bdd", "on", 1, "freq", 440.0, "amp", 0.25));
  ok = ok_of(conn_request(&c, "capture.start", "su", "node", "out", "frames", (uint64_t)300));
  cap = msg_uint(ok, "capture");
  ck_assert_uint_eq(msg_uint(ok, "frame"), 0);
  ck_assert_uint_eq(msg_uint(ok, "channels"), 2);
  ck_assert_uint_eq(msg_uint(ok, "frames"), 300);
  cap_have = cap_next = cap_dropped = 0;
  /* A second of audio, more than the ring holds (0.5 s, 128 blocks of
   * 300): the renderer must wait for room. */
  for (i = 0; i < 4; i++) {
    ok = msg_ok(reply_taking(send_render(12000, true, NULL, 0, NULL)));
    ck_assert_ptr_nonnull(ok);
    memcpy(ret + i * 12000, channel_of(ok, 0, 12000), 12000 * sizeof(float));
  }
  ok = msg_ok(reply_taking(conn_request(&c, "capture.stop", "u", "capture", cap)));
  ck_assert_ptr_nonnull(ok);
  ck_assert_uint_eq(cap_have, 48000);
  ck_assert_uint_eq(cap_dropped, 0);
  ck_assert(memcmp(cap_buf, ret, sizeof ret) == 0);
  ck_assert_uint_eq(msg_uint(ok, "frames"), 48000);
  ck_assert_uint_eq(msg_uint(ok, "dropped"), 0);
  ck_assert_uint_eq(msg_uint(ok, "frame"), 48000);
  conn_expect_error(&c, conn_request(&c, "capture.stop", "u", "capture", cap), "unknown_capture");
  finish();
}
END_TEST

START_TEST(capture_refusals) {
  uint64_t ids[4];

  start("none", NULL);
  conn_expect_error(&c, conn_request(&c, "capture.start", "s", "node", "nowhere"), "unknown_node");
  conn_expect_error(&c, conn_request(&c, "capture.start", "u", "node", (uint64_t)77), "unknown_node");
  conn_expect_error(&c, conn_request(&c, "capture.start", "ss", "node", "out", "port", "side"),
                    "bad_value");
  conn_expect_error(&c, conn_request(&c, "capture.start", "su", "node", "out", "frames",
                                     (uint64_t)8), "bad_value");
  /* `in` has outputs only. */
  conn_expect_error(&c, conn_request(&c, "capture.start", "ss", "node", "in", "port", "in"),
                    "bad_value");
  conn_expect_error(&c, conn_request(&c, "capture.stop", ""), "missing_field");
  conn_expect_error(&c, conn_request(&c, "capture.stop", "u", "capture", (uint64_t)12345),
                    "unknown_capture");
  for (int i = 0; i < 4; i++)
    ids[i] = msg_uint(ok_of(conn_request(&c, "capture.start", "s", "node", i % 2 ? "in" : "out")),
                      "capture");
  conn_expect_error(&c, conn_request(&c, "capture.start", "s", "node", "csound"), "limit");
  ok_of(conn_request(&c, "capture.stop", "u", "capture", ids[1]));
  ok_of(conn_request(&c, "capture.start", "s", "node", "csound"));
  finish();
}
END_TEST

static void teardown(void) {
  conn_close(&c);
  if (dp.pid > 0)
    daemon_stop(&dp);
}

static Suite *render_io_suite(void) {
  Suite *s = suite_create("render_io");
  TCase *tc = tcase_create("render_io");

  tcase_set_timeout(tc, 120);
  tcase_add_checked_fixture(tc, NULL, teardown);
  tcase_add_test(tc, return_is_the_file);
  tcase_add_test(tc, amsynth_note_at_frame_3);
  tcase_add_test(tc, input_through_a_gain_node);
  tcase_add_test(tc, bad_input_is_refused);
  tcase_add_test(tc, pcm16_header_right_between_renders);
  tcase_add_test(tc, capture_offline_is_the_render);
  tcase_add_test(tc, capture_refusals);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(render_io_suite)
