/* test_jack.c - sonod's jack backend against a real jackd (dummy driver,
 * private server name): ports, the tone as recorded by another JACK client,
 * the server going away and coming back, and `--backend auto` without one.
 *
 * Needs SONOD (the daemon binary) in the environment and jackd on PATH. */
#include <check.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "protocol/wire.h"
#include "tests/jack/jackd_util.h"
#include "tests/support/check_main.h"
#include "tests/support/harness.h"

#define RATE 48000
#define BLOCK 256

static char server[64];     /* our jackd's name */
static char jname[64];      /* sonod's JACK client name */
static char capname[64];    /* the recording client's name */
static char jlog[128];      /* jackd's log */

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* ---- events, remembered even when they arrive while we wait for a reply ---- */

typedef struct seen {
  char kind[16];
  char backend[16];
  char state[16];
  uint64_t frame;
  bool on;
  bool taken;
} seen;

static seen events[256];
static int nevents;

static void str_field(const msgpack_object *m, const char *key, char *out, size_t len) {
  const char *s;
  size_t n;

  out[0] = '\0';
  if (sono_get_str(m, key, &s, &n) == SONO_ARG_OK)
    snprintf(out, len, "%.*s", (int)n, s);
}

static void note(const msgpack_object *m) {
  seen *ev;
  bool on = false;

  if (sono_map_get(m, "event") == NULL || nevents == (int)(sizeof events / sizeof events[0]))
    return;
  ev = &events[nevents++];
  memset(ev, 0, sizeof *ev);
  str_field(m, "event", ev->kind, sizeof ev->kind);
  str_field(m, "backend", ev->backend, sizeof ev->backend);
  str_field(m, "state", ev->state, sizeof ev->state);
  (void)sono_get_uint(m, "frame", &ev->frame);
  (void)sono_get_bool(m, "on", &on);
  ev->on = on;
}

static const msgpack_object *reply(conn *c, uint64_t id) {
  long deadline = now_ms() + 5000;

  for (;;) {
    const msgpack_object *m, *idv;
    long left = deadline - now_ms();

    ck_assert_msg(left > 0, "no reply to request %llu within 5 s", (unsigned long long)id);
    m = conn_recv(c, (int)left);
    idv = sono_map_get(m, "id");
    if (idv != NULL && idv->type == MSGPACK_OBJECT_POSITIVE_INTEGER && idv->via.u64 == id)
      return m;
    note(m);
  }
}

static const msgpack_object *ok(conn *c, uint64_t id) {
  const msgpack_object *m = reply(c, id);

  ck_assert_msg(msg_error_code(m) == NULL, "request %llu failed: %s",
                (unsigned long long)id, msg_error_code(m));
  return msg_ok(m);
}

/* The first not yet taken event of this kind (and state, when given). */
static seen *wait_event(conn *c, const char *kind, const char *state, int timeout_ms) {
  long deadline = now_ms() + timeout_ms;
  int i = 0;

  for (;;) {
    for (; i < nevents; i++)
      if (!events[i].taken && strcmp(events[i].kind, kind) == 0 &&
          (state == NULL || strcmp(events[i].state, state) == 0)) {
        events[i].taken = true;
        return &events[i];
      }
    i = 0;
    ck_assert_msg(now_ms() < deadline, "no '%s' event%s%s within %d ms", kind,
                  state ? " with state " : "", state ? state : "", timeout_ms);
    if (!conn_silent(c, 50))
      note(conn_recv(c, 1000));
  }
}

typedef struct status {
  char backend[16];
  char state[16];
  uint64_t sample_rate;
  uint64_t block_size;
  uint64_t frame;
  long at_ms;
} status;

static void get_status(conn *c, status *st) {
  const msgpack_object *o = ok(c, conn_request(c, "status", ""));

  str_field(o, "backend", st->backend, sizeof st->backend);
  str_field(o, "state", st->state, sizeof st->state);
  st->sample_rate = msg_uint(o, "sample_rate");
  st->block_size = msg_uint(o, "block_size");
  st->frame = msg_uint(o, "frame");
  st->at_ms = now_ms();
}

/* The engine clock runs at about real time: frames over 600 ms of wall
 * clock, within a factor the slowest CI box can hold. */
static uint64_t assert_clock_runs(conn *c) {
  status a, b;
  double rate;

  get_status(c, &a);
  usleep(600000);
  get_status(c, &b);
  ck_assert_uint_gt(b.frame, a.frame);
  rate = (double)(b.frame - a.frame) / ((double)(b.at_ms - a.at_ms) / 1000.0);
  ck_assert_msg(rate > RATE * 0.5 && rate < RATE * 1.5,
                "engine clock runs at %.0f frames/s, expected about %d", rate, RATE);
  return b.frame;
}

static void assert_ports(void) {
  char want[1024], got[1024];
  char regex[80];
  int n;

  /* Outputs, inputs (--inputs defaults to 2), then the MIDI ports. */
  snprintf(regex, sizeof regex, "^%s:", jname);
  snprintf(want, sizeof want, "%s:out_1 %s:out_2 %s:in_1 %s:in_2 %s:midi_in %s:midi_out",
           jname, jname, jname, jname, jname, jname);
  n = jack_list_ports(server, regex, got, sizeof got);
  ck_assert_int_eq(n, 6);
  ck_assert_str_eq(got, want);
}

/* Checks a recording of sonod's out_1 holding one tone of `len` frames at
 * `amp`: sample by sample against the formula of PROTOCOL.md, plus its peak,
 * its frequency and the silence after the stop.  Returns NULL when it
 * matches, else what is wrong (in a static buffer). */
static const char *check_recording(const float *x, size_t n, double amp, uint64_t len) {
  const double step = 2.0 * M_PI * 440.0 / (double)RATE;
  static char why[160];
  uint64_t i, crossings = 0;
  size_t k, s0;
  double max_err = 0, peak = 0, freq, first = -1, last = -1;

  /* The tone's first sample is sin(0) = 0, so it starts one before the first
   * nonzero one. */
  for (k = 0; k < n && x[k] == 0.0f; k++)
    ;
  if (k == n || k == 0) {
    snprintf(why, sizeof why, "out_1 carried only silence (%zu samples recorded)", n);
    return k == n ? why : "the recording starts inside the tone";
  }
  s0 = k - 1;
  if (s0 + len + 512 > n) {
    snprintf(why, sizeof why, "recording too short: tone at %zu, %zu samples", s0, n);
    return why;
  }
  for (i = 0; i < len; i++) {
    float want = (float)(amp * sin(step * (double)i));
    double err = fabs((double)x[s0 + i] - want);
    if (err > max_err)
      max_err = err;
    if (fabs(x[s0 + i]) > peak)
      peak = fabs(x[s0 + i]);
    /* Upward zero crossings, placed between samples by interpolation. */
    if (i > 0 && x[s0 + i - 1] < 0.0f && x[s0 + i] >= 0.0f) {
      double a = x[s0 + i - 1], b = x[s0 + i];
      last = (double)(i - 1) + -a / (b - a);
      if (first < 0)
        first = last;
      crossings++;
    }
  }
  freq = crossings > 1 ? (double)(crossings - 1) * RATE / (last - first) : 0;
  if (max_err >= 1e-6)
    snprintf(why, sizeof why, "recorded tone differs from amp*sin by up to %g", max_err);
  else if (fabs(peak - amp) >= 1e-3)
    snprintf(why, sizeof why, "peak %f, expected %f", peak, amp);
  else if (fabs(freq - 440.0) >= 0.1)
    snprintf(why, sizeof why, "measured %.3f Hz, expected 440", freq);
  else {
    for (i = 0; i < 512; i++)
      if (x[s0 + len + i] != 0.0f) {
        snprintf(why, sizeof why, "sample %llu after the stop is %g", (unsigned long long)i,
                 (double)x[s0 + len + i]);
        return why;
      }
    return NULL;
  }
  return why;
}

/* Plays `len` frames of a 440 Hz tone at `amp` (started with a delay, then
 * stopped with an absolute `at`), records sonod's out_1 from another JACK
 * client and checks the recording.  The reply frames and the tone events
 * must match the request exactly.  A recording spoiled by an xrun (JACK
 * without realtime scheduling can fall behind on a loaded machine) is
 * retried; a wrong one without an xrun fails at once. */
static void assert_tone_recorded(conn *c, double amp, uint64_t len) {
  char src[100];
  const char *why = NULL;
  int attempt;

  snprintf(src, sizeof src, "%s:out_1", jname);
  for (attempt = 1; attempt <= JACK_TEST_ATTEMPTS; attempt++) {
    const msgpack_object *o;
    const float *x;
    uint64_t f_on;
    unsigned xruns;
    size_t n;
    seen *ev;

    capture_start(server, capname, src);
    o = ok(c, conn_request(c, "engine.tone", "bddd", "on", 1, "freq", 440.0, "amp", amp,
                           "delay", 0.1));
    f_on = msg_uint(o, "frame");
    o = ok(c, conn_request(c, "engine.tone", "bu", "on", 0, "at", (uint64_t)(f_on + len)));
    ck_assert_uint_eq(msg_uint(o, "frame"), f_on + len);

    ev = wait_event(c, "tone", NULL, 5000);
    ck_assert(ev->on);
    ck_assert_uint_eq(ev->frame, f_on);
    ev = wait_event(c, "tone", NULL, 5000);
    ck_assert(!ev->on);
    ck_assert_uint_eq(ev->frame, f_on + len);
    usleep(150000);   /* ~28 more JACK cycles of silence into the recording */
    xruns = capture_xruns();
    x = capture_stop(&n);

    why = check_recording(x, n, amp, len);
    if (why == NULL)
      return;
    ck_assert_msg(xruns > 0, "%s (no xrun during the recording)", why);
    fprintf(stderr, "test_jack: attempt %d: %s after %u xrun(s); again\n", attempt, why, xruns);
  }
  ck_abort_msg("%s, with xruns in each of %d attempts", why, JACK_TEST_ATTEMPTS);
}

START_TEST(test_jack_backend_survives_server_restart) {
  static const char *const kinds[] = { "backend", "tone" };
  const char *args[] = { "--backend", "jack", "--jack-server", server, "--jack-name", jname,
                         NULL };
  jackd_proc jd;
  daemon_proc dp;
  conn c;
  status st;
  const msgpack_object *o;
  seen *ev;
  uint64_t frame_lost, f;
  long t0;

  nevents = 0;
  jackd_start(&jd, server, jlog);
  daemon_start(&dp, args);
  fprintf(stderr, "test_jack: sonod log %s, jackd log %s\n", dp.log, jlog);
  conn_open(&c, dp.socket);
  conn_subscribe(&c, 900000, kinds, 2);

  /* Running on JACK, at the server's rate and period. */
  get_status(&c, &st);
  ck_assert_str_eq(st.backend, "jack");
  ck_assert_str_eq(st.state, "running");
  ck_assert_uint_eq(st.sample_rate, RATE);
  ck_assert_uint_eq(st.block_size, BLOCK);
  assert_clock_runs(&c);
  assert_ports();
  assert_tone_recorded(&c, 0.5, 24000);

  /* The server goes away: clients are told, the clock keeps running. */
  jackd_stop(&jd);
  ev = wait_event(&c, "backend", NULL, 5000);
  ck_assert_str_eq(ev->backend, "jack");
  ck_assert_str_eq(ev->state, "lost");
  get_status(&c, &st);
  ck_assert_str_eq(st.backend, "jack");
  ck_assert_str_eq(st.state, "lost");
  o = ok(&c, conn_request(&c, "sync", ""));
  ck_assert_uint_ge(msg_uint(o, "frame"), st.frame);
  frame_lost = assert_clock_runs(&c);
  /* Timed requests still fire, on the internal clock. */
  o = ok(&c, conn_request(&c, "engine.tone", "bd", "on", 1, "delay", 0.05));
  f = msg_uint(o, "frame");
  ev = wait_event(&c, "tone", NULL, 5000);
  ck_assert(ev->on);
  ck_assert_uint_eq(ev->frame, f);
  ok(&c, conn_request(&c, "engine.tone", "b", "on", 0));
  ev = wait_event(&c, "tone", NULL, 5000);
  ck_assert(!ev->on);
  ck_assert(kill(dp.pid, 0) == 0);

  /* The server comes back under the same name: sonod reconnects (it retries
   * every second) and plays through it again. */
  jackd_start(&jd, server, jlog);
  t0 = now_ms();
  ev = wait_event(&c, "backend", NULL, 5000);
  ck_assert_str_eq(ev->backend, "jack");
  ck_assert_str_eq(ev->state, "running");
  ck_assert_int_lt(now_ms() - t0, 5000);
  get_status(&c, &st);
  ck_assert_str_eq(st.backend, "jack");
  ck_assert_str_eq(st.state, "running");
  ck_assert_uint_eq(st.sample_rate, RATE);
  ck_assert_uint_eq(st.block_size, BLOCK);
  ck_assert_uint_gt(st.frame, frame_lost);   /* the clock never went back */
  assert_clock_runs(&c);
  assert_ports();
  assert_tone_recorded(&c, 0.25, 4800);

  conn_close(&c);
  ck_assert_int_eq(daemon_stop(&dp), 0);
  jackd_stop(&jd);
}
END_TEST

/* With no server answering, auto falls back to the null device. */
START_TEST(test_auto_without_server_uses_null) {
  const char *args[] = { "--backend", "auto", NULL };
  char none[64];
  daemon_proc dp;
  conn c;
  status st;

  snprintf(none, sizeof none, "sonod-none-%d", (int)getpid());
  ck_assert(!jack_server_answers(none));
  setenv("JACK_DEFAULT_SERVER", none, 1);
  daemon_start(&dp, args);
  conn_open(&c, dp.socket);
  get_status(&c, &st);
  ck_assert_str_eq(st.backend, "null");
  ck_assert_str_eq(st.state, "running");
  ck_assert_uint_eq(st.sample_rate, RATE);
  assert_clock_runs(&c);
  conn_close(&c);
  ck_assert_int_eq(daemon_stop(&dp), 0);
  ck_assert(daemon_log_contains(&dp, "no JACK server answered"));
  /* And it did not start one. */
  ck_assert(!jack_server_answers(none));
}
END_TEST

/* --backend jack insists: with no server it refuses to start. */
START_TEST(test_jack_without_server_fails) {
  char none[64], dir[64], sock[100], log[100], want[160];
  pid_t pid;
  int status;
  long deadline;
  FILE *f;
  char text[4096] = "";
  size_t n;

  snprintf(none, sizeof none, "sonod-none-%d", (int)getpid());
  tmp_dir_make(dir, sizeof dir, "jack");
  snprintf(sock, sizeof sock, "%s/s.sock", dir);
  snprintf(log, sizeof log, "%s/daemon.log", dir);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 2);
    execl(getenv("SONOD"), "sonod", "--no-config", "--backend", "jack", "--jack-server",
          none, "--socket", sock, (char *)NULL);
    _exit(127);
  }
  deadline = now_ms() + 10000;
  while (waitpid(pid, &status, WNOHANG) != pid) {
    if (now_ms() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      ck_abort_msg("sonod --backend jack kept running without a server");
    }
    usleep(10000);
  }
  ck_assert(WIFEXITED(status));
  ck_assert_int_eq(WEXITSTATUS(status), 1);
  f = fopen(log, "r");
  ck_assert_ptr_nonnull(f);
  n = fread(text, 1, sizeof text - 1, f);
  text[n] = '\0';
  fclose(f);
  ck_assert_msg(strstr(text, "cannot connect to JACK server") != NULL, "log: %s", text);
  /* Found by the server's socket missing, without entering libjack. */
  snprintf(want, sizeof want, "none is running (no /dev/shm/jack_%s_%u_0)", none,
           (unsigned)geteuid());
  ck_assert_msg(strstr(text, want) != NULL, "log: %s", text);
  ck_assert(access(sock, F_OK) != 0);
}
END_TEST

static void setup_names(void) {
  jack_test_names("jack", server, jname, capname, jlog);
}

static void teardown_names(void) {
  jackd_clean_shm(server);
}

static Suite *make_suite(void) {
  const TTest *tests[] = { test_jack_backend_survives_server_restart, test_auto_without_server_uses_null, test_jack_without_server_fails, NULL };

  return jack_suite("jack", 90, setup_names, teardown_names, tests);
}

CHECK_MAIN(make_suite)
