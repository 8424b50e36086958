/* Integration: the live Csound engine against the csound command line.  A
 * small piece (an orchestra with p3-scaled envelopes, notes at arbitrary
 * sample times and lengths, a chord whose lines are out of score order) is
 * played live through the daemon's offline backend, with csound.score from
 * frame 0 and with one csound.event per note at its frame, and rendered by
 * `csound --sample-accurate` from a .csd with the same orchestra and score:
 * the two files must be equal sample for sample.  $CSOUND_CLI names the
 * command line (meson finds it). */
#include <check.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/check_main.h"
#include "tests/support/harness.h"

#define RATE 48000.0
#define FRAMES 300000 /* 6.25 s */

static const char *ORC =
    "sr = 48000\nksmps = 32\nnchnls = 2\n0dbfs = 1\n"
    "giWave ftgen 0, 0, 8192, 10, 1, 0.5, 0.25, 0.125\n"
    /* a-rate envelope in thirds of p3 */
    "instr 1\n"
    "aenv linseg 0, p3 * 0.1, 1, p3 * 0.6, 0.6, p3 * 0.3, 0\n"
    "asig oscili p4 * aenv, p5, giWave\n"
    "outs asig, asig * 0.5\n"
    "endin\n"
    /* k-rate envelope over p3, a filter, panned by p6 */
    "instr 2\n"
    "kenv transeg 1, p3, -3, 0\n"
    "asig poscil3 p4 * kenv, p5, giWave\n"
    "afil moogladder asig, 1500 + 3000 * kenv, 0.4\n"
    "outs afil * (1 - p6), afil * p6\n"
    "endin\n";

typedef struct note {
  int instr;
  long start;   /* sample */
  double dur;   /* p3, seconds */
  double amp, freq, pan;
} note;

/* Csound's time for a note at frame `at` with p2 0, as PROTOCOL.md gives
 * it: at / sr, moved by the fewest ulps that make (int64)(p2 * sr) == at. */
static double event_p2(long at) {
  double t = (double)at / RATE;

  for (int i = 0; i < 16 && (long)(t * RATE) != at; i++)
    t = nextafter(t, (long)(t * RATE) < at ? INFINITY : -INFINITY);
  ck_assert_int_eq((long)(t * RATE), at);
  return t;
}

static void line_of(char *buf, size_t cap, const note *n, double p2) {
  snprintf(buf, cap, "i %d %.17g %.17g %.17g %.17g %.17g\n", n->instr, p2, n->dur, n->amp,
           n->freq, n->pan);
}

/* Notes: starts in both halves of k-cycles and on them, lengths in whole
 * samples, in decimal seconds, ending on k-cycle boundaries. */
static unsigned make_notes(note *n, unsigned cap) {
  unsigned k = 0;

  srandom(14);
  while (k < cap - 2) {
    note *x = &n[k++];
    x->instr = 1 + (int)(random() % 2);
    x->start = 64 + random() % 150000;
    switch (k % 4) {
    case 0: x->dur = (double)(random() % 30000 + 100) / RATE; break;
    case 1: x->dur = (double)(random() % 3000 + 1) / 1000.0; break;
    case 2: x->start -= x->start % 32; x->dur = (double)(32 * (random() % 900 + 1)) / RATE; break;
    default: x->dur = 0.5; break;
    }
    x->amp = (double)(random() % 32 + 1) / 256.0;
    x->freq = 110.0 + (double)(random() % 2000) / 2.0;
    x->pan = (double)(random() % 9) / 8.0;
  }
  /* A chord: same instrument and start; Csound's order is by p3. */
  n[k] = (note){ 1, 100017, 0.75, 0.125, 330, 0.25 };
  n[k + 1] = (note){ 1, 100017, 0.25, 0.125, 440, 0.75 };
  return k + 2;
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");

  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(fputs(text, f) >= 0, 1);
  fclose(f);
}

static float *cli_render(const char *score, sf_count_t *frames) {
  char dir[] = "/tmp/sonod-cli-XXXXXX", csd[300], wav[300], cmd[1200];
  size_t cap = strlen(ORC) + strlen(score) + 256;
  char *text = malloc(cap);

  ck_assert_ptr_nonnull(mkdtemp(dir));
  snprintf(csd, sizeof csd, "%s/piece.csd", dir);
  snprintf(wav, sizeof wav, "%s/cli.wav", dir);
  snprintf(text, cap,
           "<CsoundSynthesizer>\n<CsInstruments>\n%s</CsInstruments>\n<CsScore>\n%s"
           "</CsScore>\n</CsoundSynthesizer>\n",
           ORC, score);
  write_file(csd, text);
  free(text);
  snprintf(cmd, sizeof cmd, "'%s' --sample-accurate -W -f -d -m0 -o '%s' '%s' >'%s/log' 2>&1",
           getenv("CSOUND_CLI"), wav, csd, dir);
  ck_assert_msg(system(cmd) == 0, "csound failed: %s", cmd);
  float *d = wav_read_stereo(wav, frames);
  unlink(csd);
  snprintf(cmd, sizeof cmd, "%s/log", dir);
  unlink(cmd);
  rmdir(dir);
  return d;
}

/* Plays the notes live: by_event 0: one csound.score from frame 0 with the
 * lines in reverse order; 1: one csound.event per note at its frame. */
static float *live_render(const note *n, unsigned count, int by_event, sf_count_t *frames) {
  daemon_proc dp;
  conn c;
  char out[400], line[256];
  const char *args[] = { "--backend", "offline", "--output", out, "--block-size", "256",
                         "--ksmps", "32", NULL };

  snprintf(out, sizeof out, "/tmp/sonod-cli-live-%d-%ld.wav", getpid(), random());
  daemon_start(&dp, args);
  conn_open(&c, dp.socket);
  conn_ok(&c, conn_request(&c, "csound.compile", "s", "code", ORC));
  if (by_event) {
    for (unsigned i = 0; i < count; i++) {
      note x = n[i];
      long at = x.start;
      line_of(line, sizeof line, &x, 0);
      conn_ok(&c, conn_request(&c, "csound.event", "su", "line", line, "at", (uint64_t)at));
    }
  } else {
    size_t cap = count * 160 + 1, len = 0;
    char *text = malloc(cap);
    for (unsigned i = count; i-- > 0;) {
      line_of(line, sizeof line, &n[i], n[i].start / RATE);
      len += (size_t)snprintf(text + len, cap - len, "%s", line);
    }
    conn_ok(&c, conn_request(&c, "csound.score", "su", "text", text, "at", (uint64_t)0));
    free(text);
  }
  conn_ok(&c, conn_request(&c, "render", "u", "frames", (uint64_t)FRAMES));
  daemon_shutdown(&dp, &c);
  return wav_read_stereo(out, frames);
}

static void compare(const float *live, sf_count_t nlive, const float *cli, sf_count_t ncli) {
  sf_count_t n = nlive < ncli ? nlive : ncli, differ = 0, first = -1;
  double peak = 0;

  ck_assert_int_gt(n, 150000 + 30000);
  for (sf_count_t i = 0; i < 2 * n; i++) {
    peak = fmax(peak, fabs(cli[i]));
    if (live[i] != cli[i]) {
      if (first < 0)
        first = i / 2;
      differ++;
    }
  }
  ck_assert_msg(peak > 0.05, "the piece is silent (peak %g)", peak);
  ck_assert_msg(differ == 0, "%ld samples differ, first at frame %ld (live %.9g, cli %.9g)",
                (long)differ, (long)first, live[2 * first], cli[2 * first]);
  for (sf_count_t i = 2 * n; i < 2 * nlive; i++)
    ck_assert_msg(live[i] == 0.0f, "live sounds at frame %ld past the CLI's end", (long)i / 2);
  for (sf_count_t i = 2 * n; i < 2 * ncli; i++)
    ck_assert_msg(cli[i] == 0.0f, "cli sounds at frame %ld past the live end", (long)i / 2);
}

static void same_as_cli(int by_event) {
  note n[42];
  unsigned count = make_notes(n, 42);
  size_t cap = count * 160 + 1, len = 0;
  char *score = malloc(cap), line[256];
  sf_count_t nlive, ncli;

  for (unsigned i = 0; i < count; i++) {
    line_of(line, sizeof line, &n[i], by_event ? event_p2(n[i].start) : n[i].start / RATE);
    len += (size_t)snprintf(score + len, cap - len, "%s", line);
  }
  float *cli = cli_render(score, &ncli);
  float *live = live_render(n, count, by_event, &nlive);
  compare(live, nlive, cli, ncli);
  free(score);
  free(cli);
  free(live);
}

START_TEST(score_from_frame_0_equals_cli) {
  same_as_cli(0);
}
END_TEST

START_TEST(events_at_frames_equal_cli) {
  same_as_cli(1);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("csound_cli");
  TCase *tc = tcase_create("cli");

  tcase_set_timeout(tc, 240);
  tcase_add_test(tc, score_from_frame_0_equals_cli);
  tcase_add_test(tc, events_at_frames_equal_cli);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(suite)
