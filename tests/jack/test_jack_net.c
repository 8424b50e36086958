/* test_jack_net.c - two sonod "hosts" sharing a session over NetJACK2
 * (ARCHITECTURE.md, "Past one machine"), on one machine: two network
 * namespaces joined by a veth pair stand for the two hosts and their link.
 *
 *   namespace M: jackd -R -d dummy (the master) + netmanager   sonod A on it
 *   namespace S: jackd -S -R -d net -l 1 (the slave)            sonod B on it
 *
 * (A and B as in ARCHITECTURE.md's picture: host A the master, B the slave.)
 *
 * The slave finds the master by NetJACK2's own multicast discovery over the
 * veth (a route for 224.0.0.0/4 on each end), takes its rate and period,
 * and runs one cycle per packet.  Checked: the slave runs at the master's
 * rate and period; a tone played by sonod B arrives at sonod A's `in` node
 * sample for sample (float transport is exact); and the network's latency,
 * a tone sent A -> B -> A against the same tone looped back inside the
 * master, is exactly -l periods.
 *
 * Needs root (network namespaces, a veth pair), iproute2's `ip` and
 * util-linux's `nsenter`, and jackd2's net driver and netmanager; without
 * them the program exits 77 (meson: SKIP) and says why.  The namespaces
 * live as long as two holder processes that die with this program
 * (PR_SET_PDEATHSIG), so nothing outlives it: no namespace, link, route or
 * jackd.
 *
 * Needs SONOD (the daemon binary) in the environment and jackd on PATH. */
#include <check.h>
#include <fcntl.h>
#include <jack/intclient.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "protocol/wire.h"
#include "tests/jack/jackd_util.h"
#include "tests/support/harness.h"

#define RATE 48000
#define BLOCK 256
#define NET_LATENCY 1        /* the slave's -l: periods on the way back */
#define FREQ 440.0
#define AMP 0.5
#define GRAB (RATE / 2)      /* frames recorded per measurement */

static pid_t hold[2];        /* holders of the namespaces M and S */
/* The test's jackd and sonod processes, shared with the runner (a page
 * mapped before it forks the test) so that its teardown can end them when
 * the test failed half-way. */
enum { P_MASTER, P_SLAVE, P_A, P_B, P_N };
static pid_t *started;
static char why_skip[400];

static char mserver[64], sserver[64];   /* the two JACK servers */
static char aname[64], bname[64];       /* sonod A's and B's JACK clients */
static char rig[64], netname[64], mlog[128], slog[128];

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* ---- the two namespaces, made in main before the suite runs ---- */

/* A process in a new network namespace of its own, killed when this
 * program ends however it ends.  0 when unshare is refused. */
static pid_t ns_holder(void) {
  int p[2];
  char c;
  pid_t pid;

  if (pipe(p) != 0)
    return 0;
  pid = fork();
  if (pid < 0)
    return 0;
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    close(p[0]);
    if (unshare(CLONE_NEWNET) != 0)
      _exit(1);
    if (write(p[1], "k", 1) != 1)
      _exit(1);
    close(p[1]);
    for (;;)
      pause();
  }
  close(p[1]);
  if (read(p[0], &c, 1) != 1) {
    close(p[0]);
    waitpid(pid, NULL, 0);
    return 0;
  }
  close(p[0]);
  return pid;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...) {
  char cmd[600];
  va_list ap;
  int st;

  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  st = system(cmd);
  if (st != 0)
    fprintf(stderr, "test_jack_net: `%s` failed (status %d)\n", cmd, st);
  return st;
}

/* Namespace i gets its end of the veth pair as 10.253.19.(i+1)/24, up,
 * with the multicast route NetJACK2's discovery needs, and loopback up. */
static int ns_configure(int i, const char *dev) {
  return sh("nsenter -t %d -n sh -c 'ip link set lo up && ip addr add 10.253.19.%d/24 dev %s && "
            "ip link set %s up && ip route add 224.0.0.0/4 dev %s'",
            (int)hold[i], i + 1, dev, dev, dev);
}

static void ns_destroy(void) {
  for (int i = 0; i < 2; i++)
    if (hold[i] > 0) {
      kill(hold[i], SIGKILL);
      waitpid(hold[i], NULL, 0);
      hold[i] = 0;
    }
}

/* Makes M and S joined by a veth pair; false (why in why_skip) when this
 * machine does not allow it. */
static bool ns_make(void) {
  const char *drivers = getenv("JACK_DRIVERS");   /* jackd2's driver folder */
  char m[16], s[16], net[300], manager[300];

  snprintf(net, sizeof net, "%s/jack_net.so", drivers ? drivers : "$JACK_DRIVERS");
  snprintf(manager, sizeof manager, "%s/netmanager.so", drivers ? drivers : "$JACK_DRIVERS");
  if (geteuid() != 0) {
    snprintf(why_skip, sizeof why_skip, "needs root (network namespaces and a veth pair)");
    return false;
  }
  if (drivers == NULL || access(net, R_OK) != 0 || access(manager, R_OK) != 0) {
    snprintf(why_skip, sizeof why_skip, "jackd2's net driver or netmanager is missing (%s)",
             net);
    return false;
  }
  if (system("ip -V >/dev/null 2>&1") != 0 || system("nsenter -V >/dev/null 2>&1") != 0) {
    snprintf(why_skip, sizeof why_skip, "needs ip (iproute2) and nsenter (util-linux)");
    return false;
  }
  hold[0] = ns_holder();
  hold[1] = ns_holder();
  if (hold[0] <= 0 || hold[1] <= 0) {
    ns_destroy();
    snprintf(why_skip, sizeof why_skip, "unshare(CLONE_NEWNET) refused");
    return false;
  }
  /* Names unique to the run: the ends are made in the namespaces directly,
   * but a parallel run must not meet them either way. */
  snprintf(m, sizeof m, "njm%d", (int)getpid() % 1000000);
  snprintf(s, sizeof s, "njs%d", (int)getpid() % 1000000);
  if (sh("ip link add %s netns %d type veth peer name %s netns %d", m, (int)hold[0], s,
         (int)hold[1]) != 0) {
    ns_destroy();
    snprintf(why_skip, sizeof why_skip, "cannot make a veth pair (no veth module?)");
    return false;
  }
  if (ns_configure(0, m) != 0 || ns_configure(1, s) != 0) {
    ns_destroy();
    snprintf(why_skip, sizeof why_skip, "cannot configure the veth pair");
    return false;
  }
  return true;
}

/* ---- requests ---- */

static const msgpack_object *ok_reply(conn *c, uint64_t id) {
  const msgpack_object *m = conn_reply(c, id, 10000);

  ck_assert_msg(msg_error_code(m) == NULL, "request %llu failed: %s", (unsigned long long)id,
                msg_error_code(m));
  return msg_ok(m);
}

static int count_ports(jack_client_t *c, const char *regex) {
  const char **ports = jack_get_ports(c, regex, NULL, 0);
  int n = 0;

  while (ports != NULL && ports[n] != NULL)
    n++;
  jack_free(ports);
  return n;
}

static void connect_ports(jack_client_t *c, const char *from, const char *to) {
  ck_assert_msg(jack_connect(c, from, to) == 0, "jack_connect %s %s failed", from, to);
}

static void graph_connect(conn *c, const char *from, const char *to) {
  ok_reply(c, conn_request(c, "graph.connect", "ss", "from", from, "to", to));
}

static uint64_t xruns_of(conn *c) {
  return msg_uint(ok_reply(c, conn_request(c, "status", "")), "xruns");
}

/* ---- recording A's `in` node ---- */

static float grabbed[GRAB];

/* Takes one capture event into grabbed[] (channel 1 of `in`, frames from
 * `start` on).  False when frames were lost on the way. */
static bool take(const msgpack_object *m, uint64_t start, size_t *have) {
  const msgpack_object *audio = sono_map_get(m, "audio");
  uint64_t frame = msg_uint(m, "frame"), n = msg_uint(m, "frames");
  const msgpack_object *b;

  if (msg_uint(m, "dropped") != 0 || frame != start + *have)
    return false;
  ck_assert_ptr_nonnull(audio);
  b = &audio->via.array.ptr[0];
  ck_assert_uint_eq(b->via.bin.size, n * sizeof(float));
  if (*have + n > GRAB)
    n = GRAB - *have;
  memcpy(grabbed + *have, b->via.bin.ptr, n * sizeof(float));
  *have += n;
  return true;
}

/* Records GRAB frames of A's `in` channel 1 into grabbed[] while `start_tone`
 * (called once the capture runs) plays a tone somewhere.  Returns the
 * engine frame of grabbed[0], or UINT64_MAX when the capture lost frames. */
static uint64_t grab_in(conn *b, void (*start_tone)(uint64_t capture_frame)) {
  const msgpack_object *o;
  uint64_t cap, start;
  size_t have = 0;
  bool whole = true;

  o = ok_reply(b, conn_request(b, "capture.start", "su", "node", "in", "frames", (uint64_t)1024));
  cap = msg_uint(o, "capture");
  start = msg_uint(o, "frame");
  start_tone(start);
  while (have < GRAB) {
    const msgpack_object *m = conn_recv(b, 10000);

    if (msg_str_is(m, "event", "capture") && !take(m, start, &have)) {
      whole = false;
      break;
    }
  }
  /* The stop's reply comes after the last events; those are not needed. */
  (void)conn_reply(b, conn_request(b, "capture.stop", "u", "capture", cap), 10000);
  return whole ? start : UINT64_MAX;
}

/* The first frame of the tone in grabbed[], -1 if none: it starts with
 * sin(0) = 0, so one before the first nonzero sample. */
static long onset(void) {
  for (size_t k = 1; k < GRAB; k++)
    if (grabbed[k] != 0.0f)
      return (long)k - 1;
  return -1;
}

/* ---- the test ---- */

static conn ca, cb;
static uint64_t tone_frame;   /* where the last tone_on put its first frame */

/* Xruns either daemon's JACK server reported so far. */
static uint64_t xruns(void) {
  return xruns_of(&cb) + xruns_of(&ca);
}

static void b_tone_on(uint64_t capture_frame) {
  (void)capture_frame;
  tone_frame = msg_uint(ok_reply(&cb, conn_request(&cb, "engine.tone", "bdddi", "on", 1, "freq",
                                                   FREQ, "amp", AMP, "delay", 0.05, "channel",
                                                   (int64_t)0)),
                        "frame");
}

/* On A's clock: 4096 frames into the capture, so the grab holds it. */
static void a_tone_on(uint64_t capture_frame) {
  tone_frame = capture_frame + 4096;
  ck_assert_uint_eq(msg_uint(ok_reply(&ca, conn_request(&ca, "engine.tone", "bddui", "on", 1,
                                                        "freq", FREQ, "amp", AMP, "at",
                                                        tone_frame, "channel", (int64_t)0)),
                             "frame"),
                    tone_frame);
}

static void tone_off(conn *c) {
  ok_reply(c, conn_request(c, "engine.tone", "b", "on", 0));
}

/* B's tone as it arrives at A: the sine from its first frame on, sample
 * for sample.  NULL when it does, else what differs. */
static const char *check_tone(long k) {
  const double step = 2.0 * M_PI * FREQ / RATE;
  static char why[160];
  double peak = 0, first = -1, last = -1, freq;
  unsigned crossings = 0;
  long n = GRAB - k;

  if (k < 0)
    return "A's in carried only silence";
  if (n < RATE / 8)
    return "the tone came too late into the recording";
  for (long i = 0; i < n; i++) {
    float want = (float)(AMP * sin(step * (double)i)), x = grabbed[k + i];

    if (fabsf(x - want) > 1e-6f) {
      snprintf(why, sizeof why, "frame %ld of the tone is %g at A, %g was sent", i, x, want);
      return why;
    }
    if (fabs(x) > peak)
      peak = fabs(x);
    if (i > 0 && grabbed[k + i - 1] < 0.0f && x >= 0.0f) {
      double a = grabbed[k + i - 1];
      last = (double)(i - 1) + -a / (x - a);
      if (first < 0)
        first = last;
      crossings++;
    }
  }
  freq = (double)(crossings - 1) * RATE / (last - first);
  fprintf(stderr, "test_jack_net: B's tone at A: %.3f Hz, peak %.4f over %ld frames\n", freq,
          peak, n);
  ck_assert_double_eq_tol(freq, FREQ, 0.01);
  ck_assert_double_eq_tol(peak, AMP, 1e-3);
  return NULL;
}

/* Checks that A's tone reaches A's `in` `want` frames after it starts, with
 * the JACK ports as they are wired.  A wrong delay is retried only when
 * an xrun (or frames lost on the way to the test) may have caused it. */
static void assert_loop_frames(const char *what, long want) {
  long got = -1;

  for (int attempt = 1; attempt <= JACK_TEST_ATTEMPTS; attempt++) {
    uint64_t x0 = xruns(), start = grab_in(&ca, a_tone_on);
    long k = start == UINT64_MAX ? -1 : onset();
    /* A measurement needs silence before the tone: a grab that begins with
     * sound caught an earlier tone's end still on its way round (the wait
     * below is not enough on a loaded machine), and measures nothing. */
    bool late_tail = k == 0, spoiled;

    tone_off(&ca);
    usleep(attempt * 100000);   /* the tone's end goes round: the next grab starts silent */
    spoiled = start == UINT64_MAX || xruns() != x0 || late_tail;
    got = k < 0 ? -1 : (long)(start + (uint64_t)k - tone_frame);
    fprintf(stderr, "test_jack_net: %s: %ld frames (%.2f periods)%s\n", what, got,
            (double)got / BLOCK,
            late_tail ? ", the grab began with an earlier tone's end"
                      : spoiled ? ", with xruns or frames lost" : "");
    if (got == want)
      return;
    ck_assert_msg(spoiled, "%s: %ld frames, expected %ld (no xrun, no frame lost)", what, got,
                  want);
  }
  ck_abort_msg("%s: %ld frames, expected %ld, with xruns, lost frames or an earlier tone's end "
               "in each of %d attempts", what, got, want, JACK_TEST_ATTEMPTS);
}

START_TEST(test_netjack_two_hosts) {
  const char *master_args[] = { "-R", "-d", "dummy", "-r", "48000", "-p", "256", NULL };
  const char *slave_args[] = { "-S", "-R", "-d", "net", "-C", "2", "-P", "2", "-l", "1",
                               "-n", netname, NULL };
  const char *b_args[] = { "--backend", "jack", "--jack-server", sserver, "--jack-name", bname,
                           NULL };
  const char *a_args[] = { "--backend", "jack", "--jack-server", mserver, "--jack-name", aname,
                           NULL };
  char port[2][160], regex[100];
  jackd_proc master, slave;
  jack_client_t *rm, *rs;
  jack_intclient_t nm;
  jack_status_t status;
  daemon_proc da, db;
  const msgpack_object *o;
  const char *why = NULL;
  long t0;

  /* The master and its network manager, in M. */
  jackd_spawn_in(&master, mserver, mlog, hold[0], master_args);
  started[P_MASTER] = master.pid;
  jackd_wait_ready(&master);
  rm = jack_rig_open(mserver, rig);
  ck_assert_ptr_nonnull(rm);
  nm = jack_internal_client_load(rm, "netmanager", JackLoadName, &status, "netmanager");
  ck_assert_msg(nm != 0, "cannot load netmanager (status 0x%x)", (unsigned)status);

  /* The slave, in S: found by multicast, it appears on the master as a
   * client with two ports each way. */
  t0 = now_ms();
  jackd_spawn_in(&slave, sserver, slog, hold[1], slave_args);
  started[P_SLAVE] = slave.pid;
  /* Polled through the client the test holds: a client opened and closed
   * every 100 ms (jack_list_ports) once raced the netmanager making the
   * slave's client and was refused. */
  snprintf(regex, sizeof regex, "^%s:", netname);
  while (count_ports(rm, regex) < 4) {
    ck_assert_msg(now_ms() - t0 < 15000, "the slave did not connect within 15 s (see %s, %s)",
                  slog, mlog);
    ck_assert_msg(waitpid(slave.pid, NULL, WNOHANG) == 0, "the slave jackd exited (see %s)", slog);
    usleep(100000);
  }
  fprintf(stderr, "test_jack_net: the slave connected after %ld ms\n", now_ms() - t0);
  jackd_wait_ready(&slave);
  rs = jack_rig_open(sserver, rig);
  ck_assert_ptr_nonnull(rs);

  /* B on the slave, A on the master.  The slave runs at the master's rate
   * and period: it was given no -r or -p. */
  daemon_start(&db, b_args);
  started[P_B] = db.pid;
  daemon_start(&da, a_args);
  started[P_A] = da.pid;
  fprintf(stderr, "test_jack_net: sonod B log %s, A log %s, jackd logs %s %s\n", db.log, da.log,
          slog, mlog);
  conn_open(&cb, db.socket);
  conn_open(&ca, da.socket);
  o = ok_reply(&cb, conn_request(&cb, "status", ""));
  ck_assert(msg_str_is(o, "backend", "jack"));
  ck_assert(msg_str_is(o, "state", "running"));
  ck_assert_uint_eq(msg_uint(o, "sample_rate"), RATE);
  ck_assert_uint_eq(msg_uint(o, "block_size"), BLOCK);

  /* The wiring: B's out_1 -> the slave's system:playback_1 -> the network
   * -> NET:from_slave_1 on the master -> A's in_1; back the other way
   * A's out_1 -> NET:to_slave_1 -> system:capture_1 -> B's in_1.  B passes
   * its in_1 to its out_1; A sends its in_1 to out:in_2 (A's out_2 goes
   * nowhere: no loop), which also keeps `in` in A's plan. */
  snprintf(port[0], sizeof port[0], "%s:out_1", bname);
  connect_ports(rs, port[0], "system:playback_1");
  snprintf(port[0], sizeof port[0], "%s:in_1", bname);
  connect_ports(rs, "system:capture_1", port[0]);
  snprintf(port[0], sizeof port[0], "%s:from_slave_1", netname);
  snprintf(port[1], sizeof port[1], "%s:in_1", aname);
  connect_ports(rm, port[0], port[1]);
  snprintf(port[0], sizeof port[0], "%s:out_1", aname);
  snprintf(port[1], sizeof port[1], "%s:to_slave_1", netname);
  connect_ports(rm, port[0], port[1]);
  graph_connect(&cb, "in:out_1", "out:in_1");
  graph_connect(&ca, "in:out_1", "out:in_2");

  /* B's tone arrives at A exactly: the same floats, so its frequency and
   * level too. */
  for (int attempt = 1; attempt <= JACK_TEST_ATTEMPTS; attempt++) {
    uint64_t x0 = xruns(), start = grab_in(&ca, b_tone_on);
    bool spoiled;

    tone_off(&cb);
    usleep(100000);
    spoiled = start == UINT64_MAX || xruns() != x0;
    why = start == UINT64_MAX ? "frames lost on the way to the test" : check_tone(onset());
    if (why == NULL)
      break;
    ck_assert_msg(spoiled, "%s (no xrun, no frame lost)", why);
    fprintf(stderr, "test_jack_net: attempt %d: %s; again\n", attempt, why);
  }
  ck_assert_msg(why == NULL, "%s, in each of %d attempts", why, JACK_TEST_ATTEMPTS);

  /* The latency: A's tone round the network and back, against the same
   * loop made inside the master (A's out_1 to its own in_1, which JACK
   * runs a period late as any loop in its graph).  The difference is what
   * the network adds: -l periods (on the way back, ARCHITECTURE.md says
   * why). */
  assert_loop_frames("A -> B -> A over the network", (NET_LATENCY + 1) * BLOCK);
  snprintf(port[0], sizeof port[0], "%s:out_1", aname);
  snprintf(port[1], sizeof port[1], "%s:to_slave_1", netname);
  ck_assert_int_eq(jack_disconnect(rm, port[0], port[1]), 0);
  snprintf(port[0], sizeof port[0], "%s:from_slave_1", netname);
  snprintf(port[1], sizeof port[1], "%s:in_1", aname);
  ck_assert_int_eq(jack_disconnect(rm, port[0], port[1]), 0);
  snprintf(port[0], sizeof port[0], "%s:out_1", aname);
  connect_ports(rm, port[0], port[1]);
  assert_loop_frames("A -> A inside the master", BLOCK);

  /* Down in the order that is quick: the daemons, the network manager (a
   * master stopped with it loaded waits 6 s for its clients), the master,
   * then the slave, which goes back to waiting for one. */
  conn_close(&cb);
  conn_close(&ca);
  ck_assert_int_eq(daemon_stop(&db), 0);
  ck_assert_int_eq(daemon_stop(&da), 0);
  ck_assert_int_eq(jack_internal_client_unload(rm, nm), 0);
  jack_client_close(rm);
  jack_client_close(rs);
  jackd_stop(&master);
  jackd_stop(&slave);
}
END_TEST

static void setup_names(void) {
  char unused[64];

  jack_test_names("netm", mserver, aname, rig, mlog);
  jack_test_names("nets", sserver, bname, unused, slog);
  snprintf(netname, sizeof netname, "net-%d", (int)getpid());
}

/* Ends what a failed test left running (each pid checked to be still the
 * jackd or sonod it was), then removes the servers' files. */
static void teardown_names(void) {
  for (int i = 0; i < P_N; i++) {
    char path[64], comm[32] = "";
    FILE *f;

    snprintf(path, sizeof path, "/proc/%d/comm", (int)started[i]);
    if (started[i] > 0 && (f = fopen(path, "r")) != NULL) {
      if (fgets(comm, sizeof comm, f) != NULL &&
          strncmp(comm, i <= P_SLAVE ? "jackd" : "sonod", 5) == 0) {
        fprintf(stderr, "test_jack_net: ending %s %d, left by the test\n",
                i <= P_SLAVE ? "jackd" : "sonod", (int)started[i]);
        kill(started[i], SIGKILL);
      }
      fclose(f);
    }
    started[i] = 0;
  }
  jackd_clean_shm(mserver);
  jackd_clean_shm(sserver);
}

int main(void) {
  const TTest *tests[] = { test_netjack_two_hosts, NULL };
  SRunner *sr;
  int failed;

  started = mmap(NULL, P_N * sizeof *started, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                 -1, 0);
  if (started == MAP_FAILED)
    return EXIT_FAILURE;
  if (!ns_make()) {
    printf("SKIP: %s\n", why_skip);
    return 77;
  }
  sr = srunner_create(jack_suite("jack-net", 60, setup_names, teardown_names, tests));
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  ns_destroy();
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
