/* Integration: session scripts rendered by `sonoctl render` (offline parity,
 * issue 17):
 *   - a reply named with "as" is used later as "$name" and "$name.member",
 *     and instr.define's "body_file" is read next to the script: the render
 *     equals the same requests sent by hand to an offline daemon, sample
 *     for sample;
 *   - a reference to a name no earlier line gave is refused before
 *     anything renders, naming the line;
 *   - `sonoctl state export` of a session built on a daemon, plus timed
 *     requests, renders the same samples as that daemon given the same
 *     timed requests. */
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
static char home[300], out_path[400];

static const char *SINE = "|kfreq=440|\nasig oscili 0.5, kfreq\nouts asig, asig\n";

/* An offline daemon writing home/live.wav; home is this test's HOME, a file
 * root of it and of the daemon `sonoctl render` starts. */
static void start(void) {
  const char *args[] = { "--backend", "offline", "--output", out_path, "--block-size", "256",
                         NULL };

  home_make(home, sizeof home, "script");
  snprintf(out_path, sizeof out_path, "%s/live.wav", home);
  daemon_start(&dp, args);
  conn_open(&c, dp.socket);
}

static void write_file(const char *name, const char *text) {
  char path[400];
  FILE *f;

  snprintf(path, sizeof path, "%s/%s", home, name);
  f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
}

/* Runs sonoctl ARGS (a shell fragment); returns its exit status, its
 * stdout and stderr in out. */
static int sonoctl(char *out, size_t size, const char *args) {
  char cmd[1500];
  size_t n;
  FILE *p;

  snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s 2>&1", home, getenv("SONOCTL"), args);
  p = popen(cmd, "r");
  ck_assert_ptr_nonnull(p);
  n = fread(out, 1, size - 1, p);
  out[n] = '\0';
  return pclose(p);
}

static void assert_sound(const float *d, sf_count_t from, sf_count_t to) {
  double peak = 0;

  for (sf_count_t i = 2 * from; i < 2 * to; i++)
    peak = fmax(peak, fabs(d[i]));
  ck_assert_msg(peak > 0.1, "silent in %ld..%ld", (long)from, (long)to);
}

/* The script's render and the daemon's file hold the same samples (both
 * files are removed), and there is sound in frames [from, to) and
 * [from2, to2). */
static void assert_same(const char *script_wav, sf_count_t from, sf_count_t to,
                        sf_count_t from2, sf_count_t to2) {
  char path[400];
  sf_count_t na, nb, i;
  float *a, *b;

  snprintf(path, sizeof path, "%s/%s", home, script_wav);
  a = wav_read_stereo(path, &na);
  b = wav_read_stereo(out_path, &nb);
  ck_assert_int_eq(na, nb);
  for (i = 0; i < 2 * na; i++)
    ck_assert_msg(a[i] == b[i], "sample %ld: script %g, by hand %g", (long)i, a[i], b[i]);
  assert_sound(a, from, to);
  assert_sound(a, from2, to2);
  free(a);
  free(b);
}

START_TEST(named_replies_and_body_file) {
  char out[4000];
  uint64_t id, synth;
  const msgpack_object *ok;

  start();
  write_file("sine.orc", SINE);
  write_file("song.jsonl",
             "{\"at\": 0, \"op\": \"instr.define\", \"name\": \"sine\", \"body_file\": \"sine.orc\"}\n"
             "{\"at\": 0.1, \"op\": \"synth.start\", \"instr\": \"sine\", \"as\": \"lead\"}\n"
             "{\"at\": 0.2, \"op\": \"synth.set\", \"synth\": \"$lead\", \"args\": {\"kfreq\": 660}}\n"
             "{\"at\": 0.3, \"op\": \"synth.stop\", \"synth\": \"$lead.synth\"}\n"
             "{\"at\": 0.4, \"op\": \"end\"}\n");
  ck_assert_msg(sonoctl(out, sizeof out, "render song.jsonl -o song.wav") == 0, "%s", out);

  /* The same by hand. */
  id = conn_request(&c, "instr.define", "ss", "name", "sine", "body", SINE);
  ck_assert_ptr_nonnull(msg_ok(conn_reply(&c, id, 10000)));
  id = conn_request(&c, "synth.start", "su", "instr", "sine", "at", (uint64_t)4800);
  ok = msg_ok(conn_reply(&c, id, 10000));
  ck_assert_ptr_nonnull(ok);
  synth = msg_uint(ok, "synth");
  {
    msgpack_sbuffer sb;
    msgpack_packer pk;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 5);
    sono_pack_key_uint(&pk, "id", 900);
    sono_pack_key_str(&pk, "op", "synth.set");
    sono_pack_key_uint(&pk, "synth", synth);
    sono_pack_cstr(&pk, "args");
    msgpack_pack_map(&pk, 1);
    sono_pack_key_uint(&pk, "kfreq", 660);
    sono_pack_key_uint(&pk, "at", 9600);
    conn_send_payload(&c, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    ck_assert_ptr_nonnull(msg_ok(conn_reply(&c, 900, 10000)));
  }
  id = conn_request(&c, "synth.stop", "uu", "synth", synth, "at", (uint64_t)14400);
  ck_assert_ptr_nonnull(msg_ok(conn_reply(&c, id, 10000)));
  id = conn_request(&c, "render", "u", "frames", (uint64_t)19200);
  ck_assert_ptr_nonnull(msg_ok(conn_reply(&c, id, 30000)));
  daemon_shutdown(&dp, &c);
  assert_same("song.wav", 4800, 9600, 9600, 14400);

  /* A name no earlier line gave (the line naming it comes later in time):
   * refused before rendering, with the line. */
  write_file("bad.jsonl",
             "{\"at\": 0, \"op\": \"instr.define\", \"name\": \"sine\", \"body_file\": \"sine.orc\"}\n"
             "{\"at\": 0.1, \"op\": \"synth.stop\", \"synth\": \"$lead\"}\n"
             "{\"at\": 0.2, \"op\": \"synth.start\", \"instr\": \"sine\", \"as\": \"lead\"}\n");
  ck_assert_int_ne(sonoctl(out, sizeof out, "render bad.jsonl -o bad.wav"), 0);
  ck_assert_msg(strstr(out, "bad.jsonl:2: \"$lead\": no earlier request is named") != NULL,
                "%s", out);
  {
    char bad[400];

    snprintf(bad, sizeof bad, "%s/bad.wav", home);
    ck_assert_int_ne(access(bad, F_OK), 0);
  }
  /* A body_file that is not there: the line, before rendering. */
  write_file("nofile.jsonl",
             "{\"at\": 0, \"op\": \"instr.define\", \"name\": \"x\", \"body_file\": \"none.orc\"}\n");
  ck_assert_int_ne(sonoctl(out, sizeof out, "render nofile.jsonl -o bad.wav"), 0);
  ck_assert_msg(strstr(out, "nofile.jsonl:1: \"body_file\": cannot read") != NULL, "%s", out);
  home_remove(home);
}
END_TEST

/* A session built live, exported, rendered again offline with timed
 * requests added: the same samples as the live daemon given those
 * requests. */
START_TEST(state_export_renders_again) {
  char out[4000], cmd[600];
  uint64_t id;
  FILE *f;

  start();
  id = conn_request(&c, "csound.compile", "s", "code", "gkamp init 0.25\n");
  ck_assert_ptr_nonnull(msg_ok(conn_reply(&c, id, 10000)));
  id = conn_request(&c, "instr.define", "ss", "name", "dc",
                    "body", "|kscale=1|\nasig upsamp gkamp * kscale\nouts asig, asig\n");
  ck_assert_ptr_nonnull(msg_ok(conn_reply(&c, id, 10000)));
  id = conn_request(&c, "instr.define", "ss", "name", "sine", "body", SINE);
  ck_assert_ptr_nonnull(msg_ok(conn_reply(&c, id, 10000)));
  snprintf(cmd, sizeof cmd, "-s '%s' state export live.jsonl", dp.socket);
  ck_assert_msg(sonoctl(out, sizeof out, cmd) == 0, "%s", out);

  /* The timed requests, live and appended to the script. */
  id = conn_request(&c, "synth.start", "sud", "instr", "dc", "at", (uint64_t)4800, "dur", 0.1);
  ck_assert_ptr_nonnull(msg_ok(conn_reply(&c, id, 10000)));
  id = conn_request(&c, "synth.start", "sud", "instr", "sine", "at", (uint64_t)12000, "dur", 0.2);
  ck_assert_ptr_nonnull(msg_ok(conn_reply(&c, id, 10000)));
  id = conn_request(&c, "render", "u", "frames", (uint64_t)24000);
  ck_assert_ptr_nonnull(msg_ok(conn_reply(&c, id, 30000)));
  daemon_shutdown(&dp, &c);
  snprintf(cmd, sizeof cmd, "%s/live.jsonl", home);
  f = fopen(cmd, "a");
  ck_assert_ptr_nonnull(f);
  fputs("{\"at\": 0.1, \"op\": \"synth.start\", \"instr\": \"dc\", \"dur\": 0.1}\n"
        "{\"at\": 0.25, \"op\": \"synth.start\", \"instr\": \"sine\", \"dur\": 0.2}\n"
        "{\"at\": 0.5, \"op\": \"end\"}\n", f);
  fclose(f);
  ck_assert_msg(sonoctl(out, sizeof out, "render live.jsonl -o again.wav") == 0, "%s", out);
  assert_same("again.wav", 4800, 9600, 12000, 21600);
  home_remove(home);
}
END_TEST

static Suite *script_suite(void) {
  Suite *s = suite_create("script");
  TCase *tc = tcase_create("core");

  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, named_replies_and_body_file);
  tcase_add_test(tc, state_export_renders_again);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(script_suite)
