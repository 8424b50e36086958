/* Integration: protocol v1 over real sockets against a real daemon on the
 * null backend.  Bad input of every kind gets a coded error and the
 * connection (and the daemon) keeps working. */
#include <check.h>
#include <time.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "protocol/frame.h"
#include "protocol/wire.h"
#include "tests/support/check_main.h"
#include "tests/support/harness.h"

static daemon_proc dp;
static conn c;

static void setup(void) {
  const char *args[] = { "--backend", "null", "--block-size", "256", NULL };
  daemon_start(&dp, args);
  conn_open(&c, dp.socket);
}

static void teardown(void) {
  conn_close(&c);
  ck_assert_int_eq(daemon_stop(&dp), 0);
}

/* The connection still answers after whatever came before. */
static void assert_alive(conn *k) {
  uint64_t id = conn_request(k, "ping", "u", "data", (uint64_t)4242);
  const msgpack_object *ok = msg_ok(conn_reply(k, id, 5000));
  ck_assert_ptr_nonnull(ok);
  ck_assert_uint_eq(msg_uint(ok, "data"), 4242);
}

static void expect_error(const msgpack_object *m, const char *code, bool nil_id) {
  const msgpack_object *id = sono_map_get(m, "id");
  const char *got = msg_error_code(m);

  ck_assert_msg(got != NULL, "expected error %s, got a success", code);
  ck_assert_str_eq(got, code);
  ck_assert_ptr_nonnull(id);
  if (nil_id)
    ck_assert_int_eq(id->type, MSGPACK_OBJECT_NIL);
}

START_TEST(hello_reports_the_server) {
  uint64_t id = conn_request(&c, "hello", "us", "version", (uint64_t)1, "name", "tester");
  const msgpack_object *ok = msg_ok(conn_reply(&c, id, 5000));
  const msgpack_object_array *caps;

  ck_assert_ptr_nonnull(ok);
  ck_assert_uint_eq(msg_uint(ok, "protocol"), 1);
  ck_assert(msg_str_is(ok, "server", "sonod " SONOD_VERSION));
  ck_assert(msg_str_is(ok, "backend", "null"));
  ck_assert_uint_eq(msg_uint(ok, "sample_rate"), 48000);
  ck_assert_uint_eq(msg_uint(ok, "block_size"), 256);
  ck_assert_uint_eq(msg_uint(ok, "max_frame"), SONO_FRAME_MAX);
  ck_assert_int_eq(sono_get_array(ok, "capabilities", &caps), SONO_ARG_OK);
  ck_assert_uint_ge(caps->size, 1);
  ck_assert(sono_str_eq(&caps->ptr[0], "tone"));

  id = conn_request(&c, "hello", "u", "version", (uint64_t)2);
  expect_error(conn_reply(&c, id, 5000), "unsupported_version", false);
}
END_TEST

START_TEST(status_clock_advances) {
  uint64_t id = conn_request(&c, "status", "");
  const msgpack_object *ok = msg_ok(conn_reply(&c, id, 5000));
  uint64_t f1 = msg_uint(ok, "frame");

  ck_assert(msg_str_is(ok, "backend", "null"));
  ck_assert(msg_str_is(ok, "state", "running"));
  ck_assert_uint_eq(msg_uint(ok, "channels"), 2);
  ck_assert_uint_eq(msg_uint(ok, "clients"), 1);
  ck_assert_uint_eq(msg_uint(ok, "heap_capacity"), 4096);
  ck_assert_uint_eq(msg_uint(ok, "midi_out_dropped"), 0);
  ck_assert_uint_eq(f1 % 256, 0);
  usleep(200000);
  id = conn_request(&c, "status", "");
  ok = msg_ok(conn_reply(&c, id, 5000));
  /* 200 ms at 48 kHz is 9600 frames; allow a loaded machine its slack. */
  ck_assert_uint_gt(msg_uint(ok, "frame"), f1 + 2000);
  ck_assert_double_gt(msg_double(ok, "uptime"), 0.2);
}
END_TEST

START_TEST(malformed_msgpack) {
  static const unsigned char bad[] = { 0xc1 };               /* never used in msgpack */
  static const unsigned char cut[] = { 0x82, 0xa2, 'i', 'd' }; /* map ends early */
  static const unsigned char two[] = { 0x80, 0x80 };         /* two maps */

  conn_send_payload(&c, bad, sizeof bad);
  expect_error(conn_recv(&c, 5000), "bad_msgpack", true);
  conn_send_payload(&c, cut, sizeof cut);
  expect_error(conn_recv(&c, 5000), "bad_msgpack", true);
  conn_send_payload(&c, two, sizeof two);
  expect_error(conn_recv(&c, 5000), "bad_msgpack", true);
  assert_alive(&c);
}
END_TEST

/* A figure from /proc/PID/status in KiB: "VmPeak" (peak virtual memory),
 * "VmRSS" (resident memory). */
static unsigned long proc_kib(pid_t pid, const char *field) {
  char path[64], line[256];
  unsigned long kib = 0;
  size_t n = strlen(field);
  FILE *f;

  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  f = fopen(path, "r");
  ck_assert_ptr_nonnull(f);
  while (fgets(line, sizeof line, f) != NULL)
    if (strncmp(line, field, n) == 0 && line[n] == ':' && sscanf(line + n + 1, "%lu", &kib) == 1)
      break;
  fclose(f);
  return kib;
}

static unsigned long vm_peak_kib(pid_t pid) {
  return proc_kib(pid, "VmPeak");
}

/* A few bytes that announce 2^28 or 2^32-1 elements: msgpack-c would
 * reserve the elements' storage first (GiBs) before finding they are not
 * there.  They are refused before it sees them, and the daemon's peak
 * memory does not move.  A frame with more values than the documented
 * 2097152, and one nested deeper than 32, are refused the same way. */
START_TEST(count_bombs_cost_nothing) {
  static const unsigned char arr32[] = { 0x83, 0xa2, 'i', 'd', 0x01, 0xa2, 'o', 'p',
                                         0xa4, 'p', 'i', 'n', 'g', 0xa4, 'd', 'a', 't', 'a',
                                         0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0 };
  static const unsigned char map28[] = { 0x83, 0xa2, 'i', 'd', 0x02, 0xa2, 'o', 'p',
                                         0xa4, 'p', 'i', 'n', 'g', 0xa4, 'd', 'a', 't', 'a',
                                         0xdf, 0x10, 0x00, 0x00, 0x00, 0xc0 };
  unsigned long before = vm_peak_kib(dp.pid);
  size_t n = 3000000, len = 18 + 5 + n;
  unsigned char *many = malloc(len), deep[64];

  conn_send_payload(&c, arr32, sizeof arr32);
  expect_error(conn_recv(&c, 5000), "bad_msgpack", true);
  conn_send_payload(&c, map28, sizeof map28);
  expect_error(conn_recv(&c, 5000), "bad_msgpack", true);
  /* {id, op: ping, data: [nil x 3 000 000]}: 3 MB of nils. */
  ck_assert_ptr_nonnull(many);
  memcpy(many, arr32, 18);
  many[18] = 0xdd;
  many[19] = (unsigned char)(n >> 24);
  many[20] = (unsigned char)(n >> 16);
  many[21] = (unsigned char)(n >> 8);
  many[22] = (unsigned char)n;
  memset(many + 23, 0xc0, n);
  conn_send_payload(&c, many, len);
  expect_error(conn_recv(&c, 10000), "bad_msgpack", true);
  free(many);
  /* 33 arrays inside the request map: 34 levels. */
  memcpy(deep, arr32, 18);
  memset(deep + 18, 0x91, 33);
  deep[18 + 33] = 0x01;
  conn_send_payload(&c, deep, 18 + 33 + 1);
  expect_error(conn_recv(&c, 5000), "bad_msgpack", true);
  assert_alive(&c);
  ck_assert_msg(vm_peak_kib(dp.pid) < before + 1024 * 1024,
                "the daemon's peak memory grew from %lu to %lu KiB", before,
                vm_peak_kib(dp.pid));
}
END_TEST

/* AddressSanitizer keeps freed memory in quarantine (256 MiB by default)
 * and adds its own per allocation, so under it resident memory says little
 * about what the daemon holds: the memory bounds are asserted by the
 * normal and RTSan builds, the ASan build checks everything else. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_BOUND(before, after, kib) ((void)(before), (void)(after), true)
#else
#define RSS_BOUND(before, after, kib) ((after) < (before) + (kib))
#endif

static unsigned long vm_rss_kib(pid_t pid) {
  return proc_kib(pid, "VmRSS");
}

static long clock_ms(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* {id, op, data: bin of `bytes` zeros}, framed. */
#define PING_BYTES (1024 * 1024)
static unsigned char *big_request(uint64_t id, const char *op, size_t bytes, size_t *len) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  char *data = calloc(1, bytes);

  ck_assert_ptr_nonnull(data);
  sono_msg_begin(&sb, &pk);
  msgpack_pack_map(&pk, 3);
  sono_pack_key_uint(&pk, "id", id);
  sono_pack_key_str(&pk, "op", op);
  sono_pack_cstr(&pk, "data");
  msgpack_pack_bin_with_body(&pk, data, bytes);
  ck_assert_int_eq(sono_msg_end(&sb), 0);
  free(data);
  *len = sb.size;
  return (unsigned char *)sb.data;
}

#if !defined(__SANITIZE_ADDRESS__)
/* Could this process (and so the daemon it started) lock all its memory? */
static bool may_lock_all(void) {
  struct rlimit rl;
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  unsigned long long eff = 0;
  bool cap = false;

  while (f != NULL && !cap && fgets(line, sizeof line, f) != NULL)
    if (sscanf(line, "CapEff: %llx", &eff) == 1)
      cap = (eff & (1ull << 14)) != 0;   /* CAP_IPC_LOCK */
  if (f != NULL)
    fclose(f);
  return cap || (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur == RLIM_INFINITY);
}
#endif

/* The daemon locks its memory when the limit allows (no page of the audio
 * thread's waits for swap or first mapping), and says so when it does not. */
START_TEST(memory_is_locked_when_allowed) {
#if defined(__SANITIZE_ADDRESS__)
  ck_assert(daemon_log_contains(&dp, "memory not locked"));
#else
  if (may_lock_all())
    ck_assert_msg(proc_kib(dp.pid, "VmLck") > 1024, "VmLck %lu KiB", proc_kib(dp.pid, "VmLck"));
  else
    ck_assert(daemon_log_contains(&dp, "memory not locked"));
#endif
}
END_TEST

/* A client that sends requests and reads no replies: once its unread
 * replies pass 8 MiB the daemon stops reading from it (its writes block),
 * so it cannot grow the daemon by more than that; when it reads again,
 * every request it got through is answered, in order. */
START_TEST(unread_replies_stop_the_reading) {
  enum { N = 300 };
  unsigned long before = vm_rss_kib(dp.pid), after;
  size_t len, off = 0;
  unsigned char *frame = big_request(1, "ping", PING_BYTES, &len);
  unsigned sent = 0, answered = 0;
  long stuck_since = 0;

  ck_assert_int_eq(fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) | O_NONBLOCK), 0);
  /* Write until everything is sent or nothing has gone for a second. */
  while (sent < N) {
    ssize_t n = write(c.fd, frame + off, len - off);

    if (n > 0) {
      stuck_since = 0;
      off += (size_t)n;
      if (off == len) {
        off = 0;
        sent++;
      }
      continue;
    }
    ck_assert_msg(errno == EAGAIN || errno == EWOULDBLOCK, "write: %s", strerror(errno));
    if (stuck_since == 0)
      stuck_since = clock_ms();
    else if (clock_ms() - stuck_since > 1000)
      break;
    usleep(10000);
  }
  after = vm_rss_kib(dp.pid);
  ck_assert_msg(sent < N / 4, "the daemon read %u of %d 1 MiB requests whose replies nobody read",
                sent, N);
  ck_assert_msg(RSS_BOUND(before, after, 48 * 1024), "the daemon grew from %lu to %lu KiB", before, after);
  ck_assert_int_eq(fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) & ~O_NONBLOCK), 0);
  /* Read again: the daemon catches up, takes the rest of a frame that was
   * cut, and answers every request. */
  while (answered < sent + (off > 0)) {
    const msgpack_object *m = conn_recv(&c, 10000), *ok = msg_ok(m), *data;

    ck_assert_ptr_nonnull(ok);
    data = sono_map_get(ok, "data");
    ck_assert_int_eq(data->type, MSGPACK_OBJECT_BIN);
    ck_assert_uint_eq(data->via.bin.size, PING_BYTES);
    answered++;
    if (off > 0 && answered == sent) {
      conn_write(&c, frame + off, len - off);
      off = 0;
      sent++;
    }
  }
  free(frame);
  assert_alive(&c);
}
END_TEST

/* A subscriber that reads nothing while events trickle in, each in a
 * write of its own, costs the daemon a bounded amount of real memory: an
 * event used to hold a 4 KiB buffer while the limit counted its ~70 bytes,
 * so 8 MiB "of events" cost hundreds of MiB and none was ever discarded.
 * Past the limit events are discarded and counted, and once it reads
 * again the `client` events it got plus the `lost` counts add up to every
 * connection made. */
START_TEST(slow_subscriber_costs_bounded_memory) {
  enum { N = 20000 };
  static const char *const kinds[] = { "client" };
  unsigned long before, after;
  uint64_t got = 0, lost = 0;
  conn s, x;

  conn_open(&s, dp.socket);
  conn_subscribe(&s, 1, kinds, 1);
  before = vm_rss_kib(dp.pid);
  /* One at a time (a ping each): far below max-clients. */
  for (int i = 0; i < N / 2; i++) {
    conn_open(&x, dp.socket);
    ck_assert_ptr_nonnull(msg_ok(conn_reply(&x, conn_request(&x, "ping", ""), 5000)));
    conn_close(&x);
  }
  assert_alive(&c);
  after = vm_rss_kib(dp.pid);
  ck_assert_msg(RSS_BOUND(before, after, 24 * 1024), "the daemon grew from %lu to %lu KiB", before, after);
  while (got + lost < N) {
    const msgpack_object *m = conn_recv(&s, 10000);

    if (msg_str_is(m, "event", "client"))
      got++;
    else if (msg_str_is(m, "event", "lost"))
      lost += msg_uint(m, "count");
    else
      ck_abort_msg("unexpected frame");
  }
  ck_assert_uint_eq(got + lost, N);
  conn_close(&s);
}
END_TEST

/* Writes as much of buf as the socket takes until it takes nothing for
 * quiet_ms; returns how many bytes went. */
static size_t write_until_stuck(int fd, const unsigned char *buf, size_t len, int quiet_ms) {
  size_t off = 0;

  while (off < len) {
    struct pollfd p = { .fd = fd, .events = POLLOUT };
    ssize_t n = write(fd, buf + off, len - off);

    if (n > 0) {
      off += (size_t)n;
      continue;
    }
    ck_assert_msg(errno == EAGAIN || errno == EWOULDBLOCK, "write: %s", strerror(errno));
    if (poll(&p, 1, quiet_ms) == 0)
      break;
  }
  return off;
}

/* Unfinished frames of every connection together hold at most the input
 * budget (256 MiB): 24 clients each sending a 15 MiB frame are not all
 * read; a small request is still served meanwhile; once some leave, the
 * others are read again and every frame is answered. */
START_TEST(input_budget_holds_large_frames_back) {
  enum { N = 24, BIG = 15 * 1024 * 1024 };
  conn k[N];
  size_t len, sent[N], total = 0;
  unsigned char *frame;
  unsigned done = 0, blocked = 0;
  unsigned long before = vm_rss_kib(dp.pid), after;

  /* Answered with a small unknown_op, so no large reply piles up. */
  frame = big_request(5, "no.such.op", BIG, &len);
  for (int i = 0; i < N; i++) {
    conn_open(&k[i], dp.socket);
    ck_assert_int_eq(fcntl(k[i].fd, F_SETFL, fcntl(k[i].fd, F_GETFL) | O_NONBLOCK), 0);
  }
  /* All but the last MiB of each, so every frame stays unfinished. */
  for (int i = 0; i < N; i++) {
    sent[i] = write_until_stuck(k[i].fd, frame, len - (1 << 20), 300);
    total += sent[i];
  }
  after = vm_rss_kib(dp.pid);
  for (int i = 0; i < N; i++)
    if (sent[i] == len - (1 << 20))
      done++;
    else
      blocked++;
  ck_assert_msg(blocked > 0, "all %d frames of 15 MiB were taken", N);
  ck_assert_msg(total < (size_t)290 << 20, "the daemon took %zu bytes of unfinished frames", total);
  ck_assert_msg(RSS_BOUND(before, after, 320 * 1024), "the daemon grew from %lu to %lu KiB",
                before, after);
  /* Small requests pass meanwhile. */
  assert_alive(&c);
  /* Those taken whole leave; the others are read again and every frame
   * sent to the end is answered. */
  for (int i = 0; i < N; i++)
    if (sent[i] == len - (1 << 20))
      conn_close(&k[i]);
  for (int i = 0; i < N; i++) {
    if (sent[i] == len - (1 << 20))
      continue;
    ck_assert_int_eq(fcntl(k[i].fd, F_SETFL, fcntl(k[i].fd, F_GETFL) & ~O_NONBLOCK), 0);
    conn_write(&k[i], frame + sent[i], len - sent[i]);
    ck_assert_str_eq(msg_error_code(conn_recv(&k[i], 10000)), "unknown_op");
    conn_close(&k[i]);
  }
  free(frame);
  ck_assert_uint_gt(done, 0);
}
END_TEST

/* The engine's frame now (sync answers once a block has passed). */
static uint64_t engine_frame(conn *k) {
  return msg_uint(msg_ok(conn_reply(k, conn_request(k, "sync", ""), 5000)), "frame");
}

/* Timed requests are each connection's own: a share of 1024 (one more is
 * heap_full, while another connection still schedules), listed in frame
 * order by schedule.list, cancelled one by one or all at once; a cancelled
 * tone never sounds. */
START_TEST(schedule_share_list_and_cancel) {
  static const char *const kinds[] = { "tone" };
  const msgpack_object *ok, *list;
  uint64_t base = engine_frame(&c) + 48000 * 60, ids[1024], soon;
  conn other;

  for (unsigned sent = 0; sent < 1024; sent += 256) {
    for (unsigned i = 0; i < 256; i++)
      ids[sent + i] = conn_request(&c, "engine.tone", "bu", "on", 1, "at",
                                   base + 2 * (1023 - sent - i));
    for (unsigned i = 0; i < 256; i++)
      ck_assert_ptr_nonnull(msg_ok(conn_reply(&c, ids[sent + i], 5000)));
  }
  expect_error(conn_reply(&c, conn_request(&c, "engine.tone", "bu", "on", 1, "at", base + 5000),
                          5000), "heap_full", false);
  conn_open(&other, dp.socket);
  ck_assert_ptr_nonnull(msg_ok(conn_reply(&other, conn_request(&other, "engine.tone", "bu", "on",
                                                               0, "at", base + 7000), 5000)));
  ok = msg_ok(conn_reply(&c, conn_request(&c, "schedule.list", ""), 5000));
  ck_assert_uint_eq(msg_uint(ok, "share"), 1024);
  list = sono_map_get(ok, "requests");
  ck_assert_uint_eq(list->via.array.size, 1024);
  /* Frame order: the last sent comes first. */
  ck_assert_uint_eq(msg_uint(&list->via.array.ptr[0], "at"), base);
  ck_assert_uint_eq(msg_uint(&list->via.array.ptr[0], "id"), ids[1023]);
  ck_assert(msg_str_is(&list->via.array.ptr[0], "op", "engine.tone"));
  ck_assert_uint_eq(msg_uint(&list->via.array.ptr[1023], "at"), base + 2046);

  ok = msg_ok(conn_reply(&c, conn_request(&c, "schedule.cancel", "u", "request", ids[5]), 5000));
  ck_assert_uint_eq(msg_uint(ok, "cancelled"), 1);
  ok = msg_ok(conn_reply(&c, conn_request(&c, "schedule.list", ""), 5000));
  ck_assert_uint_eq(sono_map_get(ok, "requests")->via.array.size, 1023);
  /* The place is free again. */
  ck_assert_ptr_nonnull(msg_ok(conn_reply(&c, conn_request(&c, "engine.tone", "bu", "on", 1, "at",
                                                           base + 9000), 5000)));
  ok = msg_ok(conn_reply(&c, conn_request(&c, "schedule.cancel", "b", "all", 1), 5000));
  ck_assert_uint_eq(msg_uint(ok, "cancelled"), 1024);
  ok = msg_ok(conn_reply(&c, conn_request(&c, "schedule.list", ""), 5000));
  ck_assert_uint_eq(sono_map_get(ok, "requests")->via.array.size, 0);
  /* The other connection's request is untouched. */
  ck_assert_uint_eq(msg_uint(msg_ok(conn_reply(&c, conn_request(&c, "status", ""), 5000)),
                             "heap_used"), 1);
  expect_error(conn_reply(&c, conn_request(&c, "schedule.cancel", ""), 5000), "bad_request", false);
  expect_error(conn_reply(&c, conn_request(&c, "schedule.cancel", "ub", "request", (uint64_t)1,
                                           "all", 1), 5000), "bad_request", false);

  /* A tone a quarter second ahead, cancelled, never sounds. */
  conn_subscribe(&c, 9, kinds, 1);
  soon = engine_frame(&c) + 12000;
  ck_assert_ptr_nonnull(msg_ok(conn_reply(&c, conn_request(&c, "engine.tone", "bu", "on", 1,
                                                           "at", soon), 5000)));
  ok = msg_ok(conn_reply(&c, conn_request(&c, "schedule.cancel", "b", "all", 1), 5000));
  ck_assert_uint_eq(msg_uint(ok, "cancelled"), 1);
  ck_assert(conn_silent(&c, 600));
  ck_assert_uint_gt(engine_frame(&c), soon);
  conn_close(&other);
}
END_TEST

/* Strings are UTF-8 in both directions: a request carrying a str that is
 * not is refused whole, so nothing of it can be echoed back. */
START_TEST(strings_must_be_utf8) {
  static const unsigned char op[] = { 0x82, 0xa2, 'i', 'd', 0x01, 0xa2, 'o', 'p',
                                      0xa4, 'p', 'i', 'n', 0xe9 };
  static const unsigned char key[] = { 0x83, 0xa2, 'i', 'd', 0x01, 0xa2, 'o', 'p',
                                       0xa4, 'p', 'i', 'n', 'g', 0xa2, 0xc3, 0x28, 0x01 };
  static const unsigned char intkey[] = { 0x83, 0xa2, 'i', 'd', 0x01, 0xa2, 'o', 'p',
                                          0xa4, 'p', 'i', 'n', 'g', 0x07, 0x01 };

  conn_send_payload(&c, op, sizeof op);
  expect_error(conn_recv(&c, 5000), "bad_msgpack", true);
  conn_send_payload(&c, key, sizeof key);
  expect_error(conn_recv(&c, 5000), "bad_msgpack", true);
  conn_send_payload(&c, intkey, sizeof intkey);
  expect_error(conn_recv(&c, 5000), "bad_msgpack", true);
  assert_alive(&c);
}
END_TEST

START_TEST(not_a_map_and_missing_id_or_op) {
  static const unsigned char arr[] = { 0x92, 0x01, 0x02 };          /* [1, 2] */
  static const unsigned char noid[] = { 0x81, 0xa2, 'o', 'p', 0xa4, 'p', 'i', 'n', 'g' };
  static const unsigned char strid[] = { 0x82, 0xa2, 'i', 'd', 0xa1, 'x',
                                         0xa2, 'o', 'p', 0xa4, 'p', 'i', 'n', 'g' };
  static const unsigned char noop[] = { 0x81, 0xa2, 'i', 'd', 0x05 };
  static const unsigned char intop[] = { 0x82, 0xa2, 'i', 'd', 0x06, 0xa2, 'o', 'p', 0x07 };
  const msgpack_object *m;

  conn_send_payload(&c, arr, sizeof arr);
  expect_error(conn_recv(&c, 5000), "bad_request", true);
  conn_send_payload(&c, noid, sizeof noid);
  expect_error(conn_recv(&c, 5000), "bad_request", true);
  conn_send_payload(&c, strid, sizeof strid);
  expect_error(conn_recv(&c, 5000), "bad_request", true);
  conn_send_payload(&c, noop, sizeof noop);
  m = conn_recv(&c, 5000);
  expect_error(m, "bad_request", false);
  ck_assert_uint_eq(msg_uint(m, "id"), 5);
  conn_send_payload(&c, intop, sizeof intop);
  m = conn_recv(&c, 5000);
  expect_error(m, "bad_request", false);
  ck_assert_uint_eq(msg_uint(m, "id"), 6);
  conn_send_payload(&c, "", 0);
  expect_error(conn_recv(&c, 5000), "bad_request", true);
  assert_alive(&c);
}
END_TEST

START_TEST(unknown_op) {
  uint64_t id = conn_request(&c, "plugin.frobnicate", "");
  const msgpack_object *m = conn_reply(&c, id, 5000);

  expect_error(m, "unknown_op", false);
  assert_alive(&c);
}
END_TEST

START_TEST(missing_and_mistyped_fields) {
  uint64_t id;

  id = conn_request(&c, "engine.tone", "");
  expect_error(conn_reply(&c, id, 5000), "missing_field", false);
  id = conn_request(&c, "engine.tone", "s", "on", "yes");
  expect_error(conn_reply(&c, id, 5000), "bad_type", false);
  id = conn_request(&c, "engine.tone", "bs", "on", 1, "freq", "high");
  expect_error(conn_reply(&c, id, 5000), "bad_type", false);
  id = conn_request(&c, "engine.tone", "bd", "on", 1, "freq", 1e9);
  expect_error(conn_reply(&c, id, 5000), "bad_value", false);
  id = conn_request(&c, "engine.tone", "bd", "on", 1, "amp", 2.0);
  expect_error(conn_reply(&c, id, 5000), "bad_value", false);
  id = conn_request(&c, "engine.tone", "bi", "on", 1, "channel", (int64_t)2);
  expect_error(conn_reply(&c, id, 5000), "bad_value", false);
  id = conn_request(&c, "engine.tone", "bud", "on", 1, "at", (uint64_t)1, "delay", 0.1);
  expect_error(conn_reply(&c, id, 5000), "bad_request", false);
  id = conn_request(&c, "engine.tone", "bd", "on", 1, "delay", -1.0);
  expect_error(conn_reply(&c, id, 5000), "bad_value", false);
  id = conn_request(&c, "subscribe", "");
  expect_error(conn_reply(&c, id, 5000), "missing_field", false);
  id = conn_request(&c, "render", "");
  expect_error(conn_reply(&c, id, 5000), "not_supported", false);
  assert_alive(&c);
}
END_TEST

START_TEST(late_request_is_refused) {
  uint64_t id;
  const msgpack_object *m;

  /* sync is answered after a whole block: frame 1 is then in the past
   * (on a loaded machine the request could otherwise beat the first one). */
  ck_assert_ptr_nonnull(msg_ok(conn_reply(&c, conn_request(&c, "sync", ""), 5000)));
  id = conn_request(&c, "engine.tone", "bu", "on", 1, "at", (uint64_t)1);
  m = conn_reply(&c, id, 5000);

  expect_error(m, "late", false);
  assert_alive(&c);
}
END_TEST

START_TEST(unknown_event_kind_changes_nothing) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  const msgpack_object *m, *ok;
  const msgpack_object_array *arr;

  sono_msg_begin(&sb, &pk);
  msgpack_pack_map(&pk, 3);
  sono_pack_key_uint(&pk, "id", 77);
  sono_pack_key_str(&pk, "op", "subscribe");
  sono_pack_cstr(&pk, "events");
  msgpack_pack_array(&pk, 2);
  sono_pack_cstr(&pk, "tone");
  sono_pack_cstr(&pk, "weather");
  sono_msg_end(&sb);
  conn_write(&c, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  expect_error(conn_reply(&c, 77, 5000), "unknown_event", false);

  sono_msg_begin(&sb, &pk);
  msgpack_pack_map(&pk, 3);
  sono_pack_key_uint(&pk, "id", 78);
  sono_pack_key_str(&pk, "op", "subscribe");
  sono_pack_cstr(&pk, "events");
  msgpack_pack_array(&pk, 0);
  sono_msg_end(&sb);
  conn_write(&c, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  m = conn_reply(&c, 78, 5000);
  ok = msg_ok(m);
  ck_assert_int_eq(sono_get_array(ok, "events", &arr), SONO_ARG_OK);
  ck_assert_uint_eq(arr->size, 0);
}
END_TEST

START_TEST(oversized_frame_is_skipped_not_buffered) {
  static char chunk[65536];
  size_t total = SONO_FRAME_MAX + 1, sent = 0;
  unsigned char hdr[4];

  sono_frame_put_header(hdr, (uint32_t)total);
  conn_write(&c, hdr, 4);
  expect_error(conn_recv(&c, 5000), "frame_too_large", true);
  memset(chunk, 0x90, sizeof chunk);
  while (sent < total) {
    size_t n = total - sent < sizeof chunk ? total - sent : sizeof chunk;
    conn_write(&c, chunk, n);
    sent += n;
  }
  assert_alive(&c);
}
END_TEST

START_TEST(pipelined_requests_all_answered) {
  uint64_t first = 0, id = 0;
  int i, replies = 0;
  char seen[1000] = { 0 };

  for (i = 0; i < 1000; i++) {
    id = (i % 3 == 2) ? conn_request(&c, "sync", "")
                      : conn_request(&c, "ping", "u", "data", (uint64_t)i);
    if (i == 0)
      first = id;
  }
  while (replies < 1000) {
    const msgpack_object *m = conn_recv(&c, 10000);
    uint64_t rid = msg_uint(m, "id");
    ck_assert_ptr_nonnull(msg_ok(m));
    ck_assert_uint_ge(rid, first);
    ck_assert_uint_le(rid, id);
    ck_assert_int_eq(seen[rid - first], 0);
    seen[rid - first] = 1;
    replies++;
  }
}
END_TEST

START_TEST(sync_barrier_follows_timed_request) {
  uint64_t tone, sync;
  const msgpack_object *m;
  uint64_t tone_frame;

  tone = conn_request(&c, "engine.tone", "bd", "on", 1, "delay", 0.05);
  sync = conn_request(&c, "sync", "");
  m = conn_recv(&c, 5000);
  ck_assert_uint_eq(msg_uint(m, "id"), tone);
  tone_frame = msg_uint(msg_ok(m), "frame");
  m = conn_recv(&c, 5000);
  ck_assert_uint_eq(msg_uint(m, "id"), sync);
  /* The barrier passed in the block that queued the tone. */
  ck_assert_uint_le(msg_uint(msg_ok(m), "frame"), tone_frame);
}
END_TEST

START_TEST(events_reach_subscribers_only) {
  conn other;
  uint64_t id, frame;
  const msgpack_object *m;

  conn_open(&other, dp.socket);
  {
    msgpack_sbuffer sb;
    msgpack_packer pk;
    sono_msg_begin(&sb, &pk);
    msgpack_pack_map(&pk, 3);
    sono_pack_key_uint(&pk, "id", 500);
    sono_pack_key_str(&pk, "op", "subscribe");
    sono_pack_cstr(&pk, "events");
    msgpack_pack_array(&pk, 2);
    sono_pack_cstr(&pk, "tone");
    sono_pack_cstr(&pk, "client");
    sono_msg_end(&sb);
    conn_write(&c, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
  }
  ck_assert_ptr_nonnull(msg_ok(conn_reply(&c, 500, 5000)));

  id = conn_request(&other, "engine.tone", "bd", "on", 1, "freq", 330.0);
  m = conn_reply(&other, id, 5000);
  ck_assert_ptr_nonnull(msg_ok(m));
  frame = msg_uint(msg_ok(m), "frame");
  m = conn_recv(&c, 5000);
  ck_assert(msg_str_is(m, "event", "tone"));
  ck_assert_int_eq(sono_map_get(m, "on")->via.boolean, true);
  ck_assert_double_eq(msg_double(m, "freq"), 330.0);
  ck_assert_uint_eq(msg_uint(m, "frame"), frame);
  /* The requester did not subscribe and gets nothing more. */
  ck_assert(conn_silent(&other, 200));

  conn_close(&other);
  m = conn_recv(&c, 5000);
  ck_assert(msg_str_is(m, "event", "client"));
  ck_assert(msg_str_is(m, "action", "disconnected"));
}
END_TEST

START_TEST(many_clients_at_once) {
  enum { N = 64 };
  static conn many[N];
  uint64_t ids[N];
  int i;

  for (i = 0; i < N; i++)
    conn_open(&many[i], dp.socket);
  for (i = 0; i < N; i++)
    ids[i] = conn_request(&many[i], "sync", "");
  for (i = 0; i < N; i++)
    ck_assert_ptr_nonnull(msg_ok(conn_reply(&many[i], ids[i], 10000)));
  ids[0] = conn_request(&c, "status", "");
  ck_assert_uint_eq(msg_uint(msg_ok(conn_reply(&c, ids[0], 5000)), "clients"), N + 1);
  for (i = 0; i < N; i++)
    conn_close(&many[i]);
}
END_TEST

/* Connections cost little memory while open: 200 clients that each sent
 * a 60 KiB request and got its answer hold less than 8 KiB each (one read
 * buffer serves every connection; each had a 64 KiB one, touched by such
 * a read: 10 000 churned connections cost +370 MB at peak). */
START_TEST(open_connections_cost_little) {
  enum { N = 200, BYTES = 60 * 1024 };
  static conn k[N];
  size_t len;
  unsigned char *frame = big_request(9, "ping", BYTES, &len);
  unsigned long before, after;

  assert_alive(&c);
  before = vm_rss_kib(dp.pid);
  for (int i = 0; i < N; i++) {
    conn_open(&k[i], dp.socket);
    conn_write(&k[i], frame, len);
    ck_assert_ptr_nonnull(msg_ok(conn_reply(&k[i], 9, 10000)));
  }
  after = vm_rss_kib(dp.pid);
  ck_assert_msg(RSS_BOUND(before, after, N * 8), "%d connections grew the daemon from %lu to %lu KiB",
                N, before, after);
  for (int i = 0; i < N; i++)
    conn_close(&k[i]);
  free(frame);
  assert_alive(&c);
}
END_TEST

START_TEST(client_vanishing_mid_request_costs_nothing) {
  int i;

  for (i = 0; i < 50; i++) {
    conn k;
    conn_open(&k, dp.socket);
    conn_request(&k, "sync", "");
    conn_request(&k, "engine.tone", "bd", "on", 1, "delay", 0.01);
    /* Half a frame, then gone. */
    conn_write(&k, "\x00\x00\x01\x00\x81", 5);
    conn_close(&k);
  }
  assert_alive(&c);
  /* The daemon notices each hang-up as its loop gets to it: give it time,
   * then every one of the 50 must be gone. */
  for (i = 0; i < 500; i++) {
    uint64_t id = conn_request(&c, "status", "");
    if (msg_uint(msg_ok(conn_reply(&c, id, 5000)), "clients") == 1)
      break;
    usleep(10000);
  }
  ck_assert_int_lt(i, 500);
}
END_TEST

START_TEST(shutdown_op_ends_the_daemon) {
  uint64_t id;

  id = conn_request(&c, "shutdown", "");
  ck_assert_ptr_nonnull(msg_ok(conn_reply(&c, id, 5000)));
  ck_assert_int_eq(daemon_wait(&dp, 10000), 0);
  ck_assert(access(dp.socket, F_OK) != 0);
}
END_TEST

static void no_teardown_stop(void) {
  conn_close(&c);
}

START_TEST(second_daemon_refuses_the_same_socket) {
  const char *exe = getenv("SONOD");
  char cmd[1024];

  snprintf(cmd, sizeof cmd, "'%s' --no-config --backend null --socket '%s' 2>/dev/null", exe,
           dp.socket);
  ck_assert_int_ne(system(cmd), 0);
  assert_alive(&c);
}
END_TEST

/* A first run without JACK: --backend auto falls back to the null device
 * and says, at warning level (shown without -v), that it is silent and
 * how to get sound. */
START_TEST(auto_without_jack_says_it_is_silent) {
  daemon_proc d;
  conn k;
  const char *args[] = { "--backend", "auto", NULL };
  char server[64];
  uint64_t id;

  snprintf(server, sizeof server, "sonod-none-%d", (int)getpid());
  setenv("JACK_DEFAULT_SERVER", server, 1);
  setenv("JACK_NO_START_SERVER", "1", 1);
  daemon_start(&d, args);
  conn_open(&k, d.socket);
  id = conn_request(&k, "status", "");
  ck_assert(msg_str_is(msg_ok(conn_reply(&k, id, 5000)), "backend", "null"));
  ck_assert(daemon_log_contains(&d, "warning: no JACK server answered"));
  ck_assert(daemon_log_contains(&d, "SILENT"));
  ck_assert(daemon_log_contains(&d, "jackd"));
  ck_assert(daemon_log_contains(&d, "pw-jack"));
  conn_close(&k);
  ck_assert_int_eq(daemon_stop(&d), 0);
}
END_TEST

static Suite *protocol_suite(void) {
  Suite *s = suite_create("protocol");
  TCase *tc = tcase_create("requests");
  TCase *end = tcase_create("shutdown");

  tcase_set_timeout(tc, 60);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, hello_reports_the_server);
  tcase_add_test(tc, memory_is_locked_when_allowed);
  tcase_add_test(tc, status_clock_advances);
  tcase_add_test(tc, malformed_msgpack);
  tcase_add_test(tc, count_bombs_cost_nothing);
  tcase_add_test(tc, strings_must_be_utf8);
  tcase_add_test(tc, unread_replies_stop_the_reading);
  tcase_add_test(tc, slow_subscriber_costs_bounded_memory);
  tcase_add_test(tc, input_budget_holds_large_frames_back);
  tcase_add_test(tc, schedule_share_list_and_cancel);
  tcase_add_test(tc, not_a_map_and_missing_id_or_op);
  tcase_add_test(tc, unknown_op);
  tcase_add_test(tc, missing_and_mistyped_fields);
  tcase_add_test(tc, late_request_is_refused);
  tcase_add_test(tc, unknown_event_kind_changes_nothing);
  tcase_add_test(tc, oversized_frame_is_skipped_not_buffered);
  tcase_add_test(tc, pipelined_requests_all_answered);
  tcase_add_test(tc, sync_barrier_follows_timed_request);
  tcase_add_test(tc, events_reach_subscribers_only);
  tcase_add_test(tc, many_clients_at_once);
  tcase_add_test(tc, open_connections_cost_little);
  tcase_add_test(tc, client_vanishing_mid_request_costs_nothing);
  tcase_add_test(tc, second_daemon_refuses_the_same_socket);
  suite_add_tcase(s, tc);

  tcase_set_timeout(end, 60);
  tcase_add_checked_fixture(end, setup, no_teardown_stop);
  tcase_add_test(end, shutdown_op_ends_the_daemon);
  {
    TCase *fallback = tcase_create("auto backend");
    tcase_add_test(fallback, auto_without_jack_says_it_is_silent);
    suite_add_tcase(s, fallback);
  }
  suite_add_tcase(s, end);
  return s;
}

CHECK_MAIN(protocol_suite)
