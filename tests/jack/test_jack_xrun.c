/* test_jack_xrun.c - xrun reporting against a real jackd (dummy driver,
 * private server name).
 *
 * The dummy driver without realtime scheduling runs its cycles off a timer
 * and never waits for a late client: at each cycle it checks whether every
 * client finished the previous one, and when one did not, jackd logs
 * "JackEngine::XRun: client = ... was not finished" and notifies *every*
 * client's xrun callback.  So no special driver option is needed: a JACK
 * client of this test (its own thread, not sonod's) sleeps through a few
 * periods on some cycles, and sonod hears those xruns like any client.  The
 * stalls stay far below jackd's client timeout (-t, 500 ms by default), so
 * nobody is thrown out of the graph.
 *
 * Checked: `status.xruns` grows by at least what jackd reported to the
 * stalling client; subscribed clients get `xrun` events whose `xruns` is
 * the status total and whose `new` fields add up exactly; no more events
 * than ten a second over the measured span (a count, not a timing); the
 * last xruns are reported once the window passed, with no xrun after them;
 * `sonoctl top` shows the total; and the engine keeps playing afterwards
 * (a tone starts and stops on its exact frames, JACK still "running").
 *
 * Needs SONOD, SONOCTL and jackd on PATH. */
#include <check.h>
#include <inttypes.h>
#include <jack/jack.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "protocol/wire.h"
#include "tests/jack/jackd_util.h"
#include "tests/support/check_main.h"
#include "tests/support/harness.h"

#define RATE 48000
#define BLOCK 256
#define STALLS 20          /* cycles the stalling client overruns */
#define STALL_EVERY 4      /* ... one in every 4 */
#define STALL_US 12000     /* 12 ms: more than two 5.3 ms periods */
#define EVENT_GAP_MS 100   /* sonod sends at most one xrun event per 100 ms */

static char server[64];
static char jname[64];
static char stallname[64];
static char jlog[128];

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* ---- the stalling client ---- */

static jack_client_t *st_client;
static _Atomic unsigned st_cycles, st_stalls_left, st_xruns;

/* JACK's process thread of this test: sleeps on every STALL_EVERY-th cycle
 * until STALLS overruns were done. */
static int st_process(jack_nframes_t nframes, void *arg) {
  unsigned cycle = atomic_fetch_add(&st_cycles, 1);
  struct timespec ts = { 0, STALL_US * 1000L };

  (void)nframes;
  (void)arg;
  if (cycle % STALL_EVERY == 0 && atomic_load(&st_stalls_left) > 0) {
    atomic_fetch_sub(&st_stalls_left, 1);
    nanosleep(&ts, NULL);
  }
  return 0;
}

static int st_xrun(void *arg) {
  (void)arg;
  atomic_fetch_add(&st_xruns, 1);
  return 0;
}

static void staller_start(void) {
  jack_status_t status;

  atomic_store(&st_cycles, 0);
  atomic_store(&st_stalls_left, STALLS);
  atomic_store(&st_xruns, 0);
  st_client = jack_client_open(stallname, JackServerName | JackNoStartServer | JackUseExactName,
                               &status, server);
  ck_assert_msg(st_client != NULL, "cannot open JACK client %s on %s", stallname, server);
  jack_set_process_callback(st_client, st_process, NULL);
  jack_set_xrun_callback(st_client, st_xrun, NULL);
  ck_assert_int_eq(jack_activate(st_client), 0);
}

/* Closes the client; returns the xruns jackd reported to it. */
static unsigned staller_stop(void) {
  jack_client_leave(st_client, NULL);
  st_client = NULL;
  return atomic_load(&st_xruns);
}

/* ---- sonod's events, kept while we wait for replies ---- */

typedef struct xev {
  uint64_t xruns, fresh;   /* the event's `xruns` and `new` */
} xev;

static xev xevs[512];
static int nxevs;
static int ntone_on, ntone_off, nlost;
static uint64_t tone_on_frame, tone_off_frame;

static void keep_event(const msgpack_object *m) {
  uint64_t frame = 0;
  bool on = false;

  if (msg_str_is(m, "event", "xrun")) {
    ck_assert_int_lt(nxevs, (int)(sizeof xevs / sizeof xevs[0]));
    ck_assert(sono_get_uint(m, "xruns", &xevs[nxevs].xruns) == SONO_ARG_OK);
    ck_assert(sono_get_uint(m, "new", &xevs[nxevs].fresh) == SONO_ARG_OK);
    nxevs++;
  } else if (msg_str_is(m, "event", "tone")) {
    ck_assert(sono_get_bool(m, "on", &on) == SONO_ARG_OK);
    ck_assert(sono_get_uint(m, "frame", &frame) == SONO_ARG_OK);
    if (on) {
      ntone_on++;
      tone_on_frame = frame;
    } else {
      ntone_off++;
      tone_off_frame = frame;
    }
  } else if (msg_str_is(m, "event", "backend") && msg_str_is(m, "state", "lost")) {
    nlost++;
  }
}

/* The ok map of the reply to id; events on the way are kept. */
static const msgpack_object *ok_keeping(conn *c, uint64_t id) {
  long deadline = now_ms() + 5000;

  for (;;) {
    const msgpack_object *m, *idv;

    ck_assert_msg(now_ms() < deadline, "no reply to request %llu within 5 s",
                  (unsigned long long)id);
    m = conn_recv(c, 5000);
    idv = sono_map_get(m, "id");
    if (idv != NULL && idv->type == MSGPACK_OBJECT_POSITIVE_INTEGER && idv->via.u64 == id) {
      ck_assert_msg(msg_error_code(m) == NULL, "request %llu failed: %s",
                    (unsigned long long)id, msg_error_code(m));
      return msg_ok(m);
    }
    keep_event(m);
  }
}

/* Keeps the events that arrive within ms. */
static void pump(conn *c, int ms) {
  long deadline = now_ms() + ms;

  while (now_ms() < deadline)
    if (!conn_silent(c, 20))
      keep_event(conn_recv(c, 1000));
}

static uint64_t status_xruns(conn *c) {
  const msgpack_object *o = ok_keeping(c, conn_request(c, "status", ""));

  ck_assert(msg_str_is(o, "backend", "jack"));
  ck_assert(msg_str_is(o, "state", "running"));
  return msg_uint(o, "xruns");
}

/* `sonoctl top --once`'s xruns figure. */
static uint64_t top_xruns(const char *socket) {
  char cmd[600], line[512];
  const char *at;
  uint64_t n = 0;
  FILE *p;

  snprintf(cmd, sizeof cmd, "'%s' --socket '%s' top --once", getenv("SONOCTL"), socket);
  p = popen(cmd, "r");
  ck_assert_ptr_nonnull(p);
  ck_assert_ptr_nonnull(fgets(line, sizeof line, p));
  ck_assert_int_eq(pclose(p), 0);
  at = strstr(line, "  xruns ");
  ck_assert_msg(at != NULL && sscanf(at, "  xruns %" SCNu64, &n) == 1, "top printed: %s", line);
  return n;
}

START_TEST(test_xruns_counted_reported_and_survived) {
  static const char *const kinds[] = { "xrun", "tone", "backend" };
  const char *args[] = { "--backend", "jack", "--jack-server", server, "--jack-name", jname,
                         NULL };
  jackd_proc jd;
  daemon_proc dp;
  conn c, quiet;
  const msgpack_object *o;
  uint64_t x0, total, sum, f_on, shown;
  unsigned reported, stalls_done;
  long t0, t1, deadline;
  int i, nafter, rounds;

  nxevs = ntone_on = ntone_off = nlost = 0;
  jackd_start(&jd, server, jlog);
  daemon_start(&dp, args);
  fprintf(stderr, "test_jack_xrun: sonod log %s, jackd log %s\n", dp.log, jlog);
  conn_open(&c, dp.socket);
  conn_subscribe(&c, 900000, kinds, 3);
  conn_open(&quiet, dp.socket);   /* not subscribed: must hear nothing */

  /* Xruns may already have happened (a loaded machine): everything is
   * measured from here.  Any event after t0 carries more than x0. */
  t0 = now_ms();
  x0 = status_xruns(&c);

  staller_start();
  deadline = now_ms() + 10000;
  while (atomic_load(&st_stalls_left) > 0) {
    ck_assert_msg(now_ms() < deadline, "the stalling client ran only %u cycles in 10 s",
                  atomic_load(&st_cycles));
    pump(&c, 50);
  }
  pump(&c, 100);   /* ~19 clean cycles, so the last overrun's xrun is out */
  stalls_done = atomic_load(&st_cycles);
  reported = staller_stop();
  fprintf(stderr, "test_jack_xrun: %u cycles, %d stalls, jackd reported %u xruns to the "
          "stalling client\n", stalls_done, STALLS, reported);
  ck_assert_msg(reported > 0, "jackd reported no xrun for %d overrun cycles", STALLS);

  /* sonod got the same notifications (on its own notification thread, so
   * maybe a little later): its count grows by at least as much. */
  deadline = now_ms() + 5000;
  while ((total = status_xruns(&c)) - x0 < reported) {
    ck_assert_msg(now_ms() < deadline, "status.xruns grew by %llu, jackd reported %u",
                  (unsigned long long)(total - x0), reported);
    pump(&c, 50);
  }

  /* The last xruns are reported once the rate window passed, though none
   * follows.  Settled when the last event carries the status total; an
   * xrun of the loaded machine meanwhile just means one more round. */
  for (rounds = 0;; rounds++) {
    ck_assert_msg(rounds < 20, "xrun events never caught up with status.xruns");
    total = status_xruns(&c);
    if (nxevs > 0 && xevs[nxevs - 1].xruns == total)
      break;
    deadline = now_ms() + 3000;
    while (nxevs == 0 || xevs[nxevs - 1].xruns < total) {
      ck_assert_msg(now_ms() < deadline, "no xrun event with xruns >= %llu within 3 s "
                    "(last one: %llu)", (unsigned long long)total,
                    nxevs ? (unsigned long long)xevs[nxevs - 1].xruns : 0ull);
      pump(&c, 20);
    }
  }
  t1 = now_ms();

  /* Each event's `new` is the growth since the one before, so they add up
   * to the total; the first one starts from what sonod reported before we
   * subscribed, which status showed at most. */
  ck_assert_int_gt(nxevs, 0);
  ck_assert_uint_le(xevs[0].xruns - xevs[0].fresh, x0);
  sum = 0;
  for (i = 0; i < nxevs; i++) {
    ck_assert_uint_gt(xevs[i].fresh, 0);
    ck_assert_uint_le(xevs[i].fresh, xevs[i].xruns);
    if (i > 0)
      ck_assert_uint_eq(xevs[i].xruns - xevs[i - 1].xruns, xevs[i].fresh);
    sum += xevs[i].fresh;
  }
  ck_assert_uint_eq(sum, total - (xevs[0].xruns - xevs[0].fresh));

  /* Coalesced: events carrying more than x0 were all sent between t0 and
   * t1, at least EVENT_GAP_MS apart. */
  nafter = 0;
  for (i = 0; i < nxevs; i++)
    if (xevs[i].xruns > x0)
      nafter++;
  fprintf(stderr, "test_jack_xrun: %llu xruns in %ld ms reported in %d events\n",
          (unsigned long long)(total - x0), t1 - t0, nafter);
  ck_assert_int_gt(nafter, 0);
  ck_assert_int_le(nafter, 1 + (t1 - t0) / EVENT_GAP_MS);
  ck_assert_int_eq(nlost, 0);

  /* sonoctl top shows the total (or more, should the machine xrun again). */
  shown = top_xruns(dp.socket);
  ck_assert_uint_ge(shown, total);

  /* The engine still plays: a tone starts and stops on its frames. */
  o = ok_keeping(&c, conn_request(&c, "engine.tone", "bddd", "on", 1, "freq", 440.0,
                                  "amp", 0.25, "delay", 0.05));
  f_on = msg_uint(o, "frame");
  o = ok_keeping(&c, conn_request(&c, "engine.tone", "bu", "on", 0, "at", f_on + 4800));
  ck_assert_uint_eq(msg_uint(o, "frame"), f_on + 4800);
  deadline = now_ms() + 5000;
  while (ntone_off == 0) {
    ck_assert_msg(now_ms() < deadline, "the tone did not stop within 5 s");
    pump(&c, 20);
  }
  ck_assert_int_eq(ntone_on, 1);
  ck_assert_int_eq(ntone_off, 1);
  ck_assert_uint_eq(tone_on_frame, f_on);
  ck_assert_uint_eq(tone_off_frame, f_on + 4800);
  ck_assert_uint_ge(status_xruns(&c), total);
  ck_assert_int_eq(nlost, 0);
  ck_assert_msg(conn_silent(&quiet, 100), "a client without a subscription got a frame");

  conn_close(&quiet);
  conn_close(&c);
  ck_assert_int_eq(daemon_stop(&dp), 0);
  jackd_stop(&jd);
}
END_TEST

static void setup_names(void) {
  jack_test_names("xrun", server, jname, stallname, jlog);
}

static void teardown_names(void) {
  jackd_clean_shm(server);
}

static Suite *make_suite(void) {
  const TTest *tests[] = { test_xruns_counted_reported_and_survived, NULL };

  return jack_suite("jack-xrun", 60, setup_names, teardown_names, tests);
}

CHECK_MAIN(make_suite)
