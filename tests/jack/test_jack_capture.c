/* test_jack_capture.c - capture.start on the jack backend, against a real
 * jackd (dummy driver, private server name): the `capture` events of `out`
 * carry contiguous frames whose numbers match their samples (the test tone
 * is a known function of the engine frame), and a client that stops reading
 * loses blocks, counted in the next event's `dropped` and in capture.stop's
 * reply, while the engine runs on.
 *
 * Needs SONOD (the daemon binary) in the environment and jackd on PATH. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "protocol/wire.h"
#include "tests/jack/jackd_util.h"
#include "tests/support/check_main.h"
#include "tests/support/harness.h"

#define RATE 48000
#define FREQ 1000.0
#define AMP 0.5

static char server[64], jname[64], client_name[64], jlog[128];
static conn c;

/* The tone started at frame `on`: its value at engine frame f, computed as
 * rt/tone.c does. */
static float tone_at(uint64_t on, uint64_t f) {
  return (float)(AMP * sin(2.0 * M_PI * FREQ / RATE * (double)(f - on)));
}

typedef struct stream {
  uint64_t on;        /* the tone's first frame */
  uint64_t next;      /* frame the next block must start at (plus its dropped) */
  uint64_t frames;    /* frames received */
  uint64_t dropped;   /* dropped, summed over the events */
  unsigned events;
  unsigned gaps;      /* events with dropped > 0 */
} stream;

/* Checks one capture event against the stream: contiguous, and every
 * sample the tone at its frame. */
static void take(stream *s, const msgpack_object *m) {
  const msgpack_object *audio = sono_map_get(m, "audio");
  uint64_t frame = msg_uint(m, "frame"), n = msg_uint(m, "frames");
  uint64_t dropped = msg_uint(m, "dropped");

  ck_assert_uint_eq(msg_uint(m, "channels"), 2);
  ck_assert(msg_str_is(m, "node", "out"));
  ck_assert_ptr_null(sono_map_get(m, "id"));
  ck_assert_uint_eq(frame, s->next + dropped);
  ck_assert_ptr_nonnull(audio);
  ck_assert_uint_eq(audio->via.array.size, 2);
  for (unsigned ch = 0; ch < 2; ch++) {
    const msgpack_object *b = &audio->via.array.ptr[ch];
    static float x[65536];   /* the bin's samples, aligned (msgpack's are not) */

    ck_assert_int_eq(b->type, MSGPACK_OBJECT_BIN);
    ck_assert_uint_eq(b->via.bin.size, n * sizeof(float));
    ck_assert_uint_le(n, 65536);
    memcpy(x, b->via.bin.ptr, n * sizeof(float));
    for (uint64_t i = 0; i < n; i++)
      ck_assert_msg(fabsf(x[i] - tone_at(s->on, frame + i)) < 1e-6f,
                    "channel %u, frame %llu: %g, the tone there is %g", ch,
                    (unsigned long long)(frame + i), x[i], tone_at(s->on, frame + i));
  }
  s->next = frame + n;
  s->frames += n;
  s->dropped += dropped;
  s->events++;
  s->gaps += dropped > 0;
}

/* Receives until the reply to id, checking the capture events met on the
 * way.  Returns the reply. */
static const msgpack_object *reply_through(stream *s, uint64_t id) {
  for (;;) {
    const msgpack_object *m = conn_recv(&c, 10000);

    if (msg_str_is(m, "event", "capture"))
      take(s, m);
    else if (sono_map_get(m, "event") == NULL && msg_uint(m, "id") == id)
      return m;
  }
}

START_TEST(test_capture_contiguous_then_dropped) {
  const char *args[] = { "--backend", "jack", "--jack-server", server, "--jack-name", jname, NULL };
  jackd_proc jd;
  daemon_proc dp;
  const msgpack_object *ok;
  stream s;
  uint64_t id, cap, start, before, stall_from;
  conn watch;

  memset(&s, 0, sizeof s);
  jackd_start(&jd, server, jlog);
  daemon_start(&dp, args);
  conn_open(&c, dp.socket);
  ok = msg_ok(conn_reply(&c, conn_request(&c, "status", ""), 5000));
  ck_assert(msg_str_is(ok, "backend", "jack"));

  ok = msg_ok(conn_reply(&c, conn_request(&c, "engine.tone", "bddi", "on", 1, "freq", FREQ,
                                          "amp", AMP, "channel", (int64_t)-1), 5000));
  ck_assert_ptr_nonnull(ok);
  s.on = msg_uint(ok, "frame");
  id = conn_request(&c, "capture.start", "su", "node", "out", "frames", (uint64_t)512);
  ok = msg_ok(reply_through(&s, id));
  ck_assert_ptr_nonnull(ok);
  cap = msg_uint(ok, "capture");
  start = msg_uint(ok, "frame");
  ck_assert_uint_ge(start, s.on);
  ck_assert_uint_eq(msg_uint(ok, "frames"), 512);
  s.next = start;

  /* A reader that keeps up: a second of blocks, contiguous from the
   * reply's frame, each sample the tone at its frame. */
  while (s.frames < RATE) {
    const msgpack_object *m = conn_recv(&c, 10000);

    if (msg_str_is(m, "event", "capture"))
      take(&s, m);
  }
  ck_assert_uint_eq(s.dropped, 0);

  /* A reader that stops for 4 s of the engine's time (asked on a second
   * connection: under load the dummy driver can run slower than the wall
   * clock): sonod keeps at most about the ring's worth (0.5 s) unsent,
   * plus what the socket holds, drops the rest, and says so in the next
   * event. */
  conn_open(&watch, dp.socket);
  stall_from = msg_uint(msg_ok(conn_reply(&watch, conn_request(&watch, "status", ""), 5000)),
                        "frame");
  do {
    usleep(100000);
    ok = msg_ok(conn_reply(&watch, conn_request(&watch, "status", ""), 5000));
    ck_assert_ptr_nonnull(ok);
  } while (msg_uint(ok, "frame") < stall_from + 4 * RATE);
  /* Read on until the stream is past the stall: its blocks, kept or
   * counted as dropped, then cover it.  (Drops may come in more than one
   * run: under load the control thread can empty the ring late.) */
  before = s.frames;
  while (s.next < stall_from + 4 * RATE) {
    const msgpack_object *m = conn_recv(&c, 10000);

    if (msg_str_is(m, "event", "capture"))
      take(&s, m);
  }
  ck_assert_uint_ge(s.gaps, 1);
  ck_assert_uint_gt(s.dropped, 2 * RATE);   /* most of the 4 s */
  ck_assert_uint_lt(s.frames - before, 2 * RATE);   /* what it kept is bounded */
  /* And it reads on, contiguous again, until the stop's reply. */
  id = conn_request(&c, "capture.stop", "u", "capture", cap);
  ok = msg_ok(reply_through(&s, id));
  ck_assert_ptr_nonnull(ok);
  ck_assert_uint_eq(msg_uint(ok, "frames"), s.frames);
  ck_assert_uint_ge(msg_uint(ok, "dropped"), s.dropped);
  ck_assert_uint_eq(msg_uint(ok, "frames") + msg_uint(ok, "dropped"), msg_uint(ok, "frame") - start);
  /* The engine never waited for us: it ran the 4 s while nobody read. */
  conn_close(&watch);

  daemon_shutdown(&dp, &c);
  jackd_stop(&jd);
}
END_TEST

static void setup_names(void) {
  jack_test_names("capture", server, jname, client_name, jlog);
}

static void teardown_names(void) {
  jackd_clean_shm(server);
}

static Suite *make_suite(void) {
  const TTest *tests[] = { test_capture_contiguous_then_dropped, NULL };

  return jack_suite("jack-capture", 120, setup_names, teardown_names, tests);
}

CHECK_MAIN(make_suite)
