/* Integration: TCP with a token (--tcp-token-file).  Before hello a TCP
 * client gets unauthorized for everything and nothing it asks happens (the
 * offline render proves the tone it asked for never played); a wrong or
 * missing token closes the connection a second later; a silent connection
 * is closed after 5 s; at most 16 may wait; the right token opens everything,
 * events included; the Unix socket needs no token; bad token files stop
 * sonod with exit status 2; a non-loopback address without a token warns;
 * --max-clients refuses one connection too many. */
#include <check.h>
#include <fcntl.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "protocol/errors.h"
#include "protocol/wire.h"
#include "tests/support/check_main.h"
#include "tests/support/harness.h"

#define TOKEN "3f1c9a0b7e5d42e8a6b1c0d9e8f7a6b5"

static char tokdir[64];
static char tokfile[128];

/* A token file of the given contents and mode, in a private directory. */
static const char *token_file(const char *contents, mode_t mode) {
  int fd;

  if (tokdir[0] == '\0') {
    tmp_dir_make(tokdir, sizeof tokdir, "auth");
  }
  snprintf(tokfile, sizeof tokfile, "%s/token", tokdir);
  unlink(tokfile);
  fd = open(tokfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, contents, strlen(contents)), (ssize_t)strlen(contents));
  close(fd);
  /* chmod, not open's mode: the umask must not tighten what a test wants. */
  ck_assert_int_eq(chmod(tokfile, mode), 0);
  return tokfile;
}

static void token_dir_remove(void) {
  unlink(tokfile);
  rmdir(tokdir);
  tokdir[0] = '\0';
}

/* hello with the token as a string (tok), as an integer (tok NULL and
 * as_int), or without one. */
static uint64_t hello(conn *c, const char *tok, bool as_int) {
  if (tok != NULL)
    return conn_request(c, "hello", "us", "version", (uint64_t)1, "token", tok);
  if (as_int)
    return conn_request(c, "hello", "uu", "version", (uint64_t)1, "token", (uint64_t)42);
  return conn_request(c, "hello", "u", "version", (uint64_t)1);
}

/* A ping whose payload is about `size` bytes: a string of that many. */
static uint64_t big_ping(conn *c, size_t size) {
  char *s = malloc(size + 1);
  uint64_t id;

  memset(s, 'x', size);
  s[size] = '\0';
  id = conn_request(c, "ping", "s", "data", s);
  free(s);
  return id;
}

static float *read_wav(const char *path, sf_count_t *frames) {
  SF_INFO info;
  SNDFILE *f;
  float *data;

  memset(&info, 0, sizeof info);
  f = sf_open(path, SFM_READ, &info);
  ck_assert_msg(f != NULL, "cannot read %s", path);
  ck_assert_int_eq(info.channels, 2);
  data = malloc(sizeof(float) * (size_t)(info.frames * 2 + 1));
  ck_assert_int_eq(sf_readf_float(f, data, info.frames), info.frames);
  sf_close(f);
  *frames = info.frames;
  return data;
}

START_TEST(nothing_before_hello_everything_after) {
  daemon_proc dp;
  conn tcp, ux;
  char port_s[32], out[128];
  const msgpack_object *m, *ev;
  const char *kinds[] = { "tone" };
  const char *tf = token_file("  " TOKEN "  \nnot the token\n", 0600);
  int port = free_tcp_port();
  uint64_t id, tone_id, sub_id, status_id, op_id, hello_id;
  sf_count_t frames, i;
  float *data;
  const char *args[] = { "--backend", "offline", "--output", out, "--block-size", "256",
                         "--tcp", port_s, "--tcp-token-file", tf, NULL };

  snprintf(port_s, sizeof port_s, "127.0.0.1:%d", port);
  snprintf(out, sizeof out, "/tmp/sonod-auth-%d.wav", getpid());
  daemon_start(&dp, args);
  conn_open(&ux, dp.socket);
  conn_open_tcp(&tcp, port);

  /* Refused, each with its own id: a tone, a subscription, status, an op
   * that does not exist (unauthorized too: no probing the op table). */
  tone_id = conn_request(&tcp, "engine.tone", "buddi", "on", 1, "at", (uint64_t)1000,
                         "freq", 997.0, "amp", 0.5, "channel", (int64_t)-1);
  sub_id = conn_request(&tcp, "subscribe", "s", "events", "tone");
  status_id = conn_request(&tcp, "status", "");
  op_id = conn_request(&tcp, "no.such.op", "");
  conn_expect_error(&tcp, tone_id, SONO_E_UNAUTHORIZED);
  conn_expect_error(&tcp, sub_id, SONO_E_UNAUTHORIZED);
  conn_expect_error(&tcp, status_id, SONO_E_UNAUTHORIZED);
  conn_expect_error(&tcp, op_id, SONO_E_UNAUTHORIZED);
  /* Before hello, 4096 bytes are the most a frame may have; the
   * connection survives the refusal. */
  big_ping(&tcp, 5000);
  m = conn_recv(&tcp, 10000);
  ck_assert_str_eq(msg_error_code(m), SONO_E_FRAME_TOO_LARGE);

  /* The Unix client needs no hello; a token it sends is ignored. */
  conn_ok(&ux, conn_request(&ux, "status", ""));
  conn_ok(&ux, hello(&ux, "not the token at all, ignored", false));
  /* The Unix client plays a tone from 2000 while the TCP client is still a
   * stranger: its refused subscription must bring it no event. */
  id = conn_request(&ux, "engine.tone", "buddi", "on", 1, "at", (uint64_t)2000, "freq", 997.0,
                    "amp", 0.5, "channel", (int64_t)-1);
  ck_assert_uint_eq(msg_uint(conn_ok(&ux, id), "frame"), 2000);
  id = conn_request(&ux, "render", "u", "frames", (uint64_t)3000);
  ck_assert_uint_eq(msg_uint(conn_ok(&ux, id), "frame"), 3000);

  /* The right token (the file's first line, trimmed).  The very next frame
   * is hello's reply: no tone event was queued for this client. */
  hello_id = hello(&tcp, TOKEN, false);
  m = conn_recv(&tcp, 10000);
  ck_assert_ptr_null(sono_map_get(m, "event"));
  ck_assert_uint_eq(msg_uint(m, "id"), hello_id);
  ck_assert_uint_eq(msg_uint(msg_ok(m), "protocol"), 1);

  /* Now everything: big frames, status, a subscription and its event, a
   * change at an exact frame. */
  m = conn_reply(&tcp, big_ping(&tcp, 100000), 10000);
  ck_assert_ptr_nonnull(msg_ok(m));
  ck_assert(msg_str_is(conn_ok(&tcp, conn_request(&tcp, "status", "")), "backend", "offline"));
  conn_subscribe(&tcp, 900001, kinds, 1);
  id = conn_request(&tcp, "engine.tone", "bu", "on", 0, "at", (uint64_t)6000);
  ck_assert_uint_eq(msg_uint(conn_ok(&tcp, id), "frame"), 6000);
  id = conn_request(&ux, "render", "u", "frames", (uint64_t)5000);
  ck_assert_uint_eq(msg_uint(conn_ok(&ux, id), "frame"), 8000);
  do
    ev = conn_recv(&tcp, 30000);
  while (sono_map_get(ev, "event") == NULL);
  ck_assert(msg_str_is(ev, "event", "tone"));
  ck_assert_uint_eq(msg_uint(ev, "frame"), 6000);

  conn_close(&tcp);
  daemon_shutdown(&dp, &ux);

  /* Silence where the stranger's tone would have started (1000), the Unix
   * client's tone from 2000, and the TCP client's stop at 6000 exactly. */
  data = read_wav(out, &frames);
  ck_assert_int_eq(frames, 8000);
  for (i = 0; i < 2000; i++)
    ck_assert_msg(data[2 * i] == 0.0f, "frame %ld sounds: %f", (long)i, data[2 * i]);
  ck_assert_float_ne(data[2 * 2001], 0.0f);
  ck_assert_float_ne(data[2 * 5999], 0.0f);
  for (i = 6000; i < frames; i++)
    ck_assert_msg(data[2 * i] == 0.0f, "frame %ld sounds: %f", (long)i, data[2 * i]);
  free(data);
  unlink(out);
  ck_assert(!daemon_log_contains(&dp, TOKEN));
  token_dir_remove();
}
END_TEST

START_TEST(bad_hello_closes_the_connection) {
  daemon_proc dp;
  conn tcp, ux;
  char port_s[32];
  const msgpack_object *m, *err;
  const char *tf = token_file(TOKEN "\n", 0400);
  int port = free_tcp_port();
  uint64_t hid, pid;
  const char *args[] = { "--backend", "null", "--tcp", port_s, "--tcp-token-file", tf, NULL };
  /* A wrong token, the right one cut short, none, and a number. */
  const char *wrong[] = { "ffffffffffffffffffffffffffffffff", TOKEN "x", NULL, NULL };
  int k;

  snprintf(port_s, sizeof port_s, "127.0.0.1:%d", port);
  daemon_start(&dp, args);
  for (k = 0; k < 4; k++) {
    char cut[sizeof TOKEN];

    conn_open_tcp(&tcp, port);
    if (k == 1) {
      /* The right token but its last byte. */
      snprintf(cut, sizeof cut, "%s", TOKEN);
      cut[sizeof TOKEN - 2] = '\0';
      wrong[1] = cut;
    }
    /* hello and a ping in one go: the ping must never be answered. */
    hid = hello(&tcp, wrong[k], k == 3);
    pid = conn_request(&tcp, "ping", "");
    m = conn_recv(&tcp, 10000);
    ck_assert_uint_eq(msg_uint(m, "id"), hid);
    ck_assert_str_eq(msg_error_code(m), SONO_E_UNAUTHORIZED);
    err = sono_map_get(m, "error");
    ck_assert(msg_str_is(err, "message", k < 2 ? "hello: wrong token; closing the connection"
                        : "hello: this TCP socket needs a 'token' (a string); closing the connection"));
    ck_assert_msg(conn_closed_by_peer(&tcp, 10000), "case %d: the ping (%llu) got an answer", k,
                  (unsigned long long)pid);
    conn_close(&tcp);
  }
  ck_assert(daemon_log_contains(&dp, "hello with a wrong token; closing"));
  ck_assert(daemon_log_contains(&dp, "hello with no token; closing"));

  /* Still serving: the right token works on a new connection, and hello
   * and status pipelined in one go are both answered. */
  conn_open_tcp(&tcp, port);
  hid = hello(&tcp, TOKEN, false);
  pid = conn_request(&tcp, "status", "");
  ck_assert_uint_eq(msg_uint(conn_ok(&tcp, hid), "protocol"), 1);
  ck_assert(msg_str_is(conn_ok(&tcp, pid), "backend", "null"));
  /* A later hello needs no token. */
  ck_assert_uint_eq(msg_uint(conn_ok(&tcp, hello(&tcp, NULL, false)), "protocol"), 1);
  conn_close(&tcp);

  conn_open(&ux, dp.socket);
  ck_assert(msg_str_is(conn_ok(&ux, conn_request(&ux, "status", "")), "backend", "null"));
  daemon_shutdown(&dp, &ux);
  ck_assert(!daemon_log_contains(&dp, TOKEN));
  token_dir_remove();
}
END_TEST

static long clock_ms(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* The error frame a refused connection gets (no id), then the close. */
static void expect_refused(conn *c, const char *code, const char *text) {
  const msgpack_object *m = conn_recv(c, 10000), *id = sono_map_get(m, "id"), *msg;

  ck_assert(id == NULL || id->type == MSGPACK_OBJECT_NIL);
  ck_assert_str_eq(msg_error_code(m), code);
  msg = sono_map_get(sono_map_get(m, "error"), "message");
  ck_assert(msg != NULL && msg->type == MSGPACK_OBJECT_STR);
  ck_assert_msg(memmem(msg->via.str.ptr, msg->via.str.size, text, strlen(text)) != NULL,
                "message: %.*s", (int)msg->via.str.size, msg->via.str.ptr);
  ck_assert(conn_closed_by_peer(c, 10000));
}

/* Guessing the token is slow and bounded: a wrong hello is answered a
 * second later, at most 16 TCP connections may wait to authenticate (the
 * 17th is refused with `limit`), and one that never says hello is closed
 * after 5 seconds.  Right after, the right token still works. */
START_TEST(token_guessing_is_slow_and_bounded) {
  enum { WAITING = 16 };
  daemon_proc dp;
  conn tcp, idle[WAITING], extra, ux;
  char port_s[32];
  const msgpack_object *m;
  const char *tf = token_file(TOKEN "\n", 0400);
  int port = free_tcp_port();
  const char *args[] = { "--backend", "null", "--tcp", port_s, "--tcp-token-file", tf, NULL };
  long t0, took;
  uint64_t hid;

  snprintf(port_s, sizeof port_s, "127.0.0.1:%d", port);
  daemon_start(&dp, args);
  conn_open_tcp(&tcp, port);
  t0 = clock_ms();
  hid = hello(&tcp, "ffffffffffffffffffffffffffffffff", false);
  m = conn_recv(&tcp, 10000);
  took = clock_ms() - t0;
  ck_assert_uint_eq(msg_uint(m, "id"), hid);
  ck_assert_str_eq(msg_error_code(m), SONO_E_UNAUTHORIZED);
  ck_assert_msg(took >= 900, "a wrong token was answered after %ld ms", took);
  ck_assert(conn_closed_by_peer(&tcp, 10000));
  conn_close(&tcp);

  /* 16 that say nothing fill the waiting room; the 17th is refused. */
  t0 = clock_ms();
  for (int i = 0; i < WAITING; i++)
    conn_open_tcp(&idle[i], port);
  /* The daemon has taken them all once the Unix socket answers after. */
  conn_open(&ux, dp.socket);
  ck_assert_ptr_nonnull(msg_ok(conn_reply(&ux, conn_request(&ux, "sync", ""), 5000)));
  conn_open_tcp(&extra, port);
  expect_refused(&extra, SONO_E_LIMIT, "waiting to authenticate");
  conn_close(&extra);
  ck_assert(daemon_log_contains(&dp, "too many TCP connections waiting to authenticate"));

  /* After 5 s each idle one is told and closed. */
  for (int i = 0; i < WAITING; i++) {
    expect_refused(&idle[i], SONO_E_UNAUTHORIZED, "within 5 s");
    conn_close(&idle[i]);
  }
  took = clock_ms() - t0;
  ck_assert_msg(took >= 4500, "idle connections were closed after %ld ms", took);

  /* The room is free again: the right token works. */
  conn_open_tcp(&tcp, port);
  ck_assert_uint_eq(msg_uint(conn_ok(&tcp, hello(&tcp, TOKEN, false)), "protocol"), 1);
  conn_close(&tcp);
  daemon_shutdown(&dp, &ux);
  token_dir_remove();
}
END_TEST

/* --max-clients: one connection more than the limit gets `limit` and is
 * closed; once one leaves, a new one is served. */
START_TEST(max_clients_is_enforced) {
  daemon_proc dp;
  conn c[3], extra;
  const char *args[] = { "--backend", "null", "--max-clients", "3", NULL };

  daemon_start(&dp, args);
  for (int i = 0; i < 3; i++) {
    conn_open(&c[i], dp.socket);
    ck_assert_ptr_nonnull(msg_ok(conn_reply(&c[i], conn_request(&c[i], "ping", ""), 5000)));
  }
  conn_open(&extra, dp.socket);
  expect_refused(&extra, SONO_E_LIMIT, "too many connections (max-clients 3)");
  conn_close(&extra);
  ck_assert(daemon_log_contains(&dp, "too many connections"));
  conn_close(&c[2]);
  /* The daemon sees c[2] go before it answers c[0] again. */
  usleep(100 * 1000);
  ck_assert_ptr_nonnull(msg_ok(conn_reply(&c[0], conn_request(&c[0], "sync", ""), 5000)));
  conn_open(&c[2], dp.socket);
  ck_assert_ptr_nonnull(msg_ok(conn_reply(&c[2], conn_request(&c[2], "ping", ""), 5000)));
  conn_close(&c[1]);
  conn_close(&c[2]);
  daemon_shutdown(&dp, &c[0]);
}
END_TEST

/* At its file descriptor limit sonod cannot accept (libuv then closes the
 * waiting connections unanswered, calling nobody): the log says so when
 * the last descriptor is taken, and once connections end, new ones are
 * served.  (Before, the warning was written only for an accept error,
 * which libuv never reported.) */
START_TEST(fd_limit_is_logged) {
  enum { N = 60 };
  daemon_proc dp;
  conn c[N], k;
  struct rlimit rl, low;
  const char *args[] = { "--backend", "null", NULL };

  /* sonod inherits a limit of 40 (it uses about 13 when idle). */
  ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
  low = rl;
  low.rlim_cur = 40;
  ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
  daemon_start(&dp, args);
  ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
  for (int i = 0; i < N; i++)
    conn_open(&c[i], dp.socket);
  for (int i = 0; i < 50 && !daemon_log_contains(&dp, "file descriptors are in use"); i++)
    usleep(100 * 1000);
  ck_assert(daemon_log_contains(&dp, "accept: all 40 file descriptors are in use"));
  for (int i = 0; i < N; i++)
    conn_close(&c[i]);
  usleep(300 * 1000);
  conn_open(&k, dp.socket);
  ck_assert_ptr_nonnull(msg_ok(conn_reply(&k, conn_request(&k, "ping", ""), 5000)));
  daemon_shutdown(&dp, &k);
}
END_TEST

/* Runs sonod with args until it exits (it must, with a bad token file);
 * returns the exit status and its stderr in out. */
static int run_sonod(const char *const *args, char *out, size_t size) {
  const char *argv[32];
  int pipefd[2], status, n = 0;
  ssize_t got, total = 0;
  pid_t pid;

  argv[n++] = getenv("SONOD");
  argv[n++] = "--no-config";
  while (*args != NULL)
    argv[n++] = *args++;
  argv[n] = NULL;
  ck_assert_int_eq(pipe(pipefd), 0);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    dup2(pipefd[1], 2);
    close(pipefd[0]);
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  close(pipefd[1]);
  while ((got = read(pipefd[0], out + total, size - 1 - (size_t)total)) > 0)
    total += got;
  out[total] = '\0';
  close(pipefd[0]);
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

START_TEST(bad_token_files_stop_sonod) {
  static const struct { const char *contents; mode_t mode; const char *says; } cases[] = {
    { TOKEN "\n", 0644, "permissions 0644 are too open: group or others may read or change" },
    { TOKEN "\n", 0620, "permissions 0620 are too open" },
    { "", 0600, "no token on the first line" },
    { "   \n" TOKEN "\n", 0600, "no token on the first line" },
    { "short\n", 0600, "the token has 5 bytes; it must have 16 to 256" },
    { "0123456789\x01" "0123456789\n", 0600, "the token holds a control character" },
  };
  char out[4096], sock[128], conf[128], line[256];
  const char *args[8];
  size_t k;
  FILE *f;

  snprintf(sock, sizeof sock, "/tmp/sonod-auth-%d.sock", getpid());
  for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    const char *tf = token_file(cases[k].contents, cases[k].mode);
    const char *a[] = { "--backend", "null", "--socket", sock, "--tcp-token-file", tf, NULL };

    ck_assert_int_eq(run_sonod(a, out, sizeof out), 2);
    ck_assert_msg(strstr(out, "sonod: tcp-token-file ") && strstr(out, tf) &&
                  strstr(out, cases[k].says), "case %zu: %s", k, out);
    ck_assert_msg(strstr(out, TOKEN) == NULL, "the token is in the message: %s", out);
  }
  args[0] = "--backend";
  args[1] = "null";
  args[2] = "--socket";
  args[3] = sock;
  args[4] = "--tcp-token-file";
  args[5] = "/nonexistent/sonod-token";
  args[6] = NULL;
  ck_assert_int_eq(run_sonod(args, out, sizeof out), 2);
  ck_assert_msg(strstr(out, "sonod: tcp-token-file /nonexistent/sonod-token: No such file"),
                "%s", out);

  /* The config key goes through the same check. */
  snprintf(conf, sizeof conf, "%s/sonod.conf", tokdir);
  token_file(TOKEN "\n", 0640);
  f = fopen(conf, "w");
  ck_assert_ptr_nonnull(f);
  snprintf(line, sizeof line, "tcp-token-file = %s\n", tokfile);
  fputs(line, f);
  fclose(f);
  args[4] = "--config";
  args[5] = conf;
  /* run_sonod puts --no-config first; this one comes later and wins. */
  ck_assert_int_eq(run_sonod(args, out, sizeof out), 2);
  ck_assert_msg(strstr(out, "permissions 0640 are too open"), "%s", out);
  unlink(conf);
  unlink(sock);
  token_dir_remove();
}
END_TEST

/* Whether sonod warned about its TCP address (given as HOST), with or
 * without a token. */
static bool warns(const char *host, bool with_token) {
  daemon_proc dp;
  char port_s[64];
  const char *tf = token_file(TOKEN "\n", 0600);
  const char *args[] = { "--backend", "null", "--tcp", port_s, "--tcp-token-file", tf, NULL };
  bool warned;

  snprintf(port_s, sizeof port_s, "%s:%d", host, free_tcp_port());
  if (!with_token)
    args[4] = NULL;
  daemon_start(&dp, args);
  ck_assert_int_eq(daemon_stop(&dp), 0);
  warned = daemon_log_contains(&dp, "is not a loopback address and has no token: anyone who "
                                    "can reach it controls sonod");
  token_dir_remove();
  return warned;
}

START_TEST(exposed_without_token_warns) {
  ck_assert(warns("0.0.0.0", false));
  ck_assert(!warns("0.0.0.0", true));
  ck_assert(!warns("127.0.0.1", false));
}
END_TEST

static Suite *auth_suite(void) {
  Suite *s = suite_create("auth");
  TCase *tc = tcase_create("token");

  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, nothing_before_hello_everything_after);
  tcase_add_test(tc, bad_hello_closes_the_connection);
  tcase_add_test(tc, token_guessing_is_slow_and_bounded);
  tcase_add_test(tc, max_clients_is_enforced);
  tcase_add_test(tc, fd_limit_is_logged);
  tcase_add_test(tc, bad_token_files_stop_sonod);
  tcase_add_test(tc, exposed_without_token_warns);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(auth_suite)
