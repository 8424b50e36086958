/* test_jack_odd.c - Csound's audio input under a JACK period that ksmps
 * does not divide, against a real jackd (dummy driver, private server
 * name, period 256) and sonod started with --ksmps 48.
 *
 * A test JACK client ("rig") writes into sonod:in_1 a signal in which
 * every frame carries its own JACK frame time, and records sonod:out_1.
 * A Csound synth passes its input straight to its output (inch -> out).
 * Every recorded frame must decode to the frame it was fed at, a constant
 * distance back: ksmps-1 frames (the FIFO's input delay) plus the rig's
 * own loop delay (0 or one period).  Before the input delay existed, the
 * k-cycle rendered ahead heard zeros past each block's end: a gap in every
 * block, which the decoding catches. */
#include <check.h>
#include <jack/jack.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "protocol/wire.h"
#include "tests/jack/jackd_util.h"
#include "tests/support/check_main.h"
#include "tests/support/harness.h"

#define BLOCK 256        /* jackd_start's period */
#define KSMPS 48         /* does not divide it */
#define REC_MAX (48000 * 4)
#define WRAP 65536u      /* the feed counts frames modulo this */

static char server[64], jname[64], rigname[64], jlog[128];

static jack_client_t *rig;
static jack_port_t *rig_feed, *rig_rec;
static float rec[REC_MAX];
static _Atomic size_t rec_len;
static _Atomic uint32_t rec_start;   /* frame time of rec[0] */
static _Atomic unsigned rig_xruns;

/* The feed at JACK frame f: (f mod WRAP + 1) / WRAP, exact in float and
 * never 0, so silence decodes to nothing. */
static float feed_at(uint32_t f) {
  return (float)(f % WRAP + 1) / (float)WRAP;
}

static int rig_process(jack_nframes_t n, void *arg) {
  float *feed = jack_port_get_buffer(rig_feed, n);
  const float *in = jack_port_get_buffer(rig_rec, n);
  uint32_t t = jack_last_frame_time(rig);
  size_t len = atomic_load(&rec_len), k;

  (void)arg;
  for (k = 0; k < n; k++)
    feed[k] = feed_at(t + (uint32_t)k);
  if (len == 0)
    atomic_store(&rec_start, t);
  for (k = 0; k < n && len + k < REC_MAX; k++)
    rec[len + k] = in[k];
  atomic_store(&rec_len, len + n < REC_MAX ? len + n : REC_MAX);
  return 0;
}

static int rig_xrun(void *arg) {
  (void)arg;
  atomic_fetch_add(&rig_xruns, 1);
  return 0;
}

static void rig_start(void) {
  jack_status_t st;
  char a[160], b[160];

  rig = jack_client_open(rigname, JackServerName | JackNoStartServer | JackUseExactName, &st,
                         server);
  ck_assert_ptr_nonnull(rig);
  rig_feed = jack_port_register(rig, "feed", JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
  rig_rec = jack_port_register(rig, "rec", JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
  ck_assert(rig_feed != NULL && rig_rec != NULL);
  atomic_store(&rec_len, REC_MAX);   /* not recording until reset */
  atomic_store(&rig_xruns, 0);
  jack_set_process_callback(rig, rig_process, NULL);
  jack_set_xrun_callback(rig, rig_xrun, NULL);
  ck_assert_int_eq(jack_activate(rig), 0);
  snprintf(a, sizeof a, "%s:feed", rigname);
  snprintf(b, sizeof b, "%s:in_1", jname);
  ck_assert_int_eq(jack_connect(rig, a, b), 0);
  snprintf(a, sizeof a, "%s:out_1", jname);
  snprintf(b, sizeof b, "%s:rec", rigname);
  ck_assert_int_eq(jack_connect(rig, a, b), 0);
}

/* The test has read the recording by then. */
static void rig_stop(void) {
  jack_client_leave(rig, NULL);
  rig = NULL;
}

static const msgpack_object *ok(conn *c, uint64_t id) {
  const msgpack_object *m = conn_reply(c, id, 5000);

  ck_assert_msg(msg_error_code(m) == NULL, "request %llu failed: %s",
                (unsigned long long)id, msg_error_code(m));
  return msg_ok(m);
}

START_TEST(test_csound_input_in_odd_periods) {
  const char *args[] = { "--backend", "jack", "--jack-server", server, "--jack-name", jname,
                         "--channels", "1", "--inputs", "1", "--ksmps", "48", NULL };
  jackd_proc jd;
  daemon_proc dp;
  conn c;
  const msgpack_object *o;
  size_t n, i, unfed = 0, wrong = 0, changes = 0;
  uint32_t t0;
  long delay = -1;
  unsigned xruns, sonod_xruns, k;

  jackd_start(&jd, server, jlog);
  daemon_start(&dp, args);
  fprintf(stderr, "test_jack_odd: sonod log %s, jackd log %s\n", dp.log, jlog);
  conn_open(&c, dp.socket);

  /* Set by the first block Csound renders (the first JACK cycle). */
  for (i = 0; i < 200; i++) {
    o = ok(&c, conn_request(&c, "status", ""));
    ck_assert_uint_eq(msg_uint(o, "block_size"), BLOCK);
    if (msg_uint(o, "csound_input_delay") != 0)
      break;
    usleep(50000);
  }
  ck_assert_uint_eq(msg_uint(o, "csound_input_delay"), KSMPS - 1);

  ok(&c, conn_request(&c, "instr.define", "ss", "name", "thru", "body", "ain inch 1\nout ain\n"));
  ok(&c, conn_request(&c, "synth.start", "s", "instr", "thru"));
  rig_start();
  /* Let the synth start and the connections settle, then record. */
  usleep(300000);
  sonod_xruns = (unsigned)msg_uint(ok(&c, conn_request(&c, "status", "")), "xruns");
  atomic_store(&rec_len, 0);
  for (i = 0; i < 300 && atomic_load(&rec_len) < REC_MAX / 2; i++)
    usleep(10000);
  n = atomic_load(&rec_len);
  ck_assert_uint_ge(n, REC_MAX / 2);
  t0 = atomic_load(&rec_start);
  rig_stop();
  /* JACK tells clients of xruns asynchronously: take sonod's count of
   * the recording's time too, after a moment. */
  usleep(200000);
  xruns = atomic_load(&rig_xruns);
  sonod_xruns = (unsigned)msg_uint(ok(&c, conn_request(&c, "status", "")), "xruns") - sonod_xruns;
  if (sonod_xruns > xruns)
    xruns = sonod_xruns;

  /* Each recorded frame: which fed frame it is, and how far back: ksmps-1
   * plus the rig's loop delay, whole periods (0 or 1; after an xrun JACK
   * may reorder its graph or skip frame times, so any number). */
  for (i = 0; i < n; i++) {
    uint32_t f = (uint32_t)lroundf(rec[i] * (float)WRAP);
    long d;

    if (f == 0 || rec[i] * (float)WRAP != (float)f) {
      if (unfed++ < 4)
        fprintf(stderr, "test_jack_odd: frame %zu is %g\n", i, rec[i]);
      continue;
    }
    d = (long)(((t0 + (uint32_t)i) % WRAP + WRAP - (f - 1)) % WRAP);
    if (d % BLOCK != KSMPS - 1 || (xruns == 0 && d > KSMPS - 1 + BLOCK)) {
      if (wrong++ < 4)
        fprintf(stderr, "test_jack_odd: frame %zu is %ld frames late\n", i, d);
      continue;
    }
    changes += delay >= 0 && d != delay;
    delay = d;
  }
  fprintf(stderr, "test_jack_odd: %zu frames, delay %ld, %zu unfed, %zu at another delay, "
          "%zu changes, %u xruns\n", n, delay, unfed, wrong, changes, xruns);
  ck_assert_msg(delay == KSMPS - 1 || delay == KSMPS - 1 + BLOCK || (xruns > 0 && delay >= 0),
                "delay %ld", delay);
  /* Without an xrun not a single frame is off; an xrun may drop or repeat
   * a period for every client. */
  if (xruns == 0) {
    ck_assert_uint_eq(unfed, 0);
    ck_assert_uint_eq(wrong, 0);
    ck_assert_uint_eq(changes, 0);
  } else {
    ck_assert_uint_le(unfed + wrong, (size_t)(xruns + 1) * 4 * BLOCK);
  }

  /* Csound's own clock never fell behind: the period is still odd. */
  o = ok(&c, conn_request(&c, "status", ""));
  k = (unsigned)msg_uint(o, "csound_input_delay");
  ck_assert_uint_eq(k, KSMPS - 1);
  conn_close(&c);
  ck_assert_int_eq(daemon_stop(&dp), 0);
  jackd_stop(&jd);
}
END_TEST

static void setup_names(void) {
  jack_test_names("odd", server, jname, rigname, jlog);
}

static void teardown_names(void) {
  jackd_clean_shm(server);
}

static Suite *make_suite(void) {
  const TTest *tests[] = { test_csound_input_in_odd_periods, NULL };

  return jack_suite("jack-odd-period", 120, setup_names, teardown_names, tests);
}

CHECK_MAIN(make_suite)
