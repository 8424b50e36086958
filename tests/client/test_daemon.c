/* test_daemon.c - libsono against the real sonod (null backend): typed
 * requests, a tone event at the frame the reply promised, pipelined async
 * requests, the server's error codes, and shutdown.
 *
 * Usage: test_libsono_daemon PATH-TO-SONOD */
#include "sono.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *sonod_path;

typedef struct {
  pid_t pid;
  char dir[64];
  char uri[160];
} daemon_proc;

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Starts sonod on a fresh socket (and on TCP port tcp_port, when not 0,
 * with the token in token_file, when not NULL) and waits until it accepts
 * connections. */
static void daemon_start_token(daemon_proc *d, int tcp_port, const char *token_file) {
  char sock[128], tcp[32];
  sono_conn *c = NULL;
  int i;

  snprintf(d->dir, sizeof d->dir, "/tmp/libsono-it-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(d->dir));
  snprintf(sock, sizeof sock, "%s/sonod.sock", d->dir);
  snprintf(d->uri, sizeof d->uri, "unix:%s", sock);
  d->pid = fork();
  ck_assert_int_ge(d->pid, 0);
  if (d->pid == 0) {
    /* Never outlive a test that failed before stopping us. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    snprintf(tcp, sizeof tcp, "127.0.0.1:%d", tcp_port);
    /* Never the machine's /etc/sonod/sonod.conf: the test says everything. */
    if (token_file != NULL)
      execl(sonod_path, sonod_path, "--no-config", "--backend", "null", "--socket", sock,
            "--tcp", tcp, "--tcp-token-file", token_file, (char *)NULL);
    else if (tcp_port != 0)
      execl(sonod_path, sonod_path, "--no-config", "--backend", "null", "--socket", sock,
            "--tcp", tcp, (char *)NULL);
    else
      execl(sonod_path, sonod_path, "--no-config", "--backend", "null", "--socket", sock,
            "--sample-rate", "48000", "--block-size", "256", "--channels", "2", (char *)NULL);
    _exit(127);
  }
  for (i = 0; i < 500 && c == NULL; i++) {
    c = sono_connect(d->uri, NULL);
    if (c == NULL)
      sleep_ms(10);
  }
  ck_assert_msg(c != NULL, "sonod did not come up on %s", sock);
  sono_close(c);
}

static void daemon_start_tcp(daemon_proc *d, int tcp_port) { daemon_start_token(d, tcp_port, NULL); }
static void daemon_start(daemon_proc *d) { daemon_start_tcp(d, 0); }

/* Returns the daemon's exit status (or 128 + signal). */
static int daemon_stop(daemon_proc *d, bool signal_it) {
  int status = 0;
  char sock[128];

  if (signal_it)
    kill(d->pid, SIGTERM);
  waitpid(d->pid, &status, 0);
  snprintf(sock, sizeof sock, "%s/sonod.sock", d->dir);
  unlink(sock);
  rmdir(d->dir);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static sono_conn *connect_to(daemon_proc *d) {
  sono_error e;
  sono_conn *c = sono_connect(d->uri, &e);

  ck_assert_msg(c != NULL, "%s", e.message);
  sono_set_timeout(c, 5000);
  return c;
}

START_TEST(typed_requests) {
  daemon_proc d;
  sono_hello_info h;
  sono_status st;
  sono_error e;
  uint64_t frame = 0;
  double rtt = -1;
  sono_conn *c;

  daemon_start(&d);
  c = connect_to(&d);
  ck_assert_msg(sono_hello(c, "libsono-test", &h, &e) == 0, "%s", e.message);
  ck_assert_uint_eq(h.protocol, 1);
  ck_assert_str_eq(h.backend, "null");
  ck_assert_uint_eq(h.sample_rate, 48000);
  ck_assert_uint_eq(h.block_size, 256);
  ck_assert_uint_eq(h.channels, 2);
  ck_assert_uint_eq(h.max_frame, 16777216);
  ck_assert(sono_hello_has(&h, "tone"));
  ck_assert_ptr_nonnull(strstr(h.server, "sonod"));

  ck_assert_int_eq(sono_get_status(c, &st, &e), 0);
  ck_assert_str_eq(st.backend, "null");
  ck_assert_str_eq(st.state, "running");
  ck_assert_uint_eq(st.sample_rate, 48000);
  ck_assert_uint_eq(st.block_size, 256);
  ck_assert_uint_eq(st.frame % 256, 0);
  ck_assert_uint_eq(st.heap_capacity, 4096);
  ck_assert_uint_ge(st.clients, 1);

  ck_assert_int_eq(sono_ping(c, &rtt, &e), 0);
  ck_assert(rtt > 0 && rtt < 1.0);
  ck_assert_int_eq(sono_sync(c, &frame, &e), 0);
  ck_assert_uint_ge(frame, st.frame);
  sono_close(c);
  ck_assert_int_eq(daemon_stop(&d, true), 0);
}
END_TEST

typedef struct {
  int n;
  bool on[4];
  uint64_t frame[4];
  double freq[4];
} tone_events;

static void on_tone(sono_conn *c, const char *kind, const sono_reply *ev, void *ud) {
  tone_events *t = ud;

  (void)c;
  if (strcmp(kind, "tone") != 0 || t->n == 4)
    return;
  sono_reply_bool(ev, "on", &t->on[t->n]);
  sono_reply_uint(ev, "frame", &t->frame[t->n]);
  sono_reply_double(ev, "freq", &t->freq[t->n]);
  t->n++;
}

START_TEST(tone_event_at_promised_frame) {
  static const char *const kinds[] = {"tone"};
  sono_tone_opts o = SONO_TONE_OPTS_INIT;
  tone_events t = {0};
  uint64_t on_frame, off_frame;
  daemon_proc d;
  sono_error e;
  sono_conn *c;
  int guard = 0;

  daemon_start(&d);
  c = connect_to(&d);
  sono_on_event(c, on_tone, &t);
  ck_assert_int_eq(sono_subscribe(c, kinds, 1, &e), 0);
  o.on = true;
  o.freq = 880;
  o.amp = 0.1;
  o.when = SONO_AFTER_DELAY;
  o.delay = 0.05;
  ck_assert_msg(sono_tone(c, &o, &on_frame, &e) == 0, "%s", e.message);
  o.on = false;
  o.when = SONO_AT_FRAME;
  o.at = on_frame + 4800;
  ck_assert_msg(sono_tone(c, &o, &off_frame, &e) == 0, "%s", e.message);
  ck_assert_uint_eq(off_frame, on_frame + 4800);
  while (t.n < 2 && guard++ < 50)
    ck_assert_int_ge(sono_wait(c, 200), 0);
  ck_assert_int_eq(t.n, 2);
  ck_assert(t.on[0]);
  ck_assert_uint_eq(t.frame[0], on_frame);
  ck_assert(t.freq[0] == 880.0);
  ck_assert(!t.on[1]);
  ck_assert_uint_eq(t.frame[1], off_frame);
  sono_close(c);
  ck_assert_int_eq(daemon_stop(&d, true), 0);
}
END_TEST

#define PIPELINE 2000

typedef struct {
  int done, wrong;
} echo_state;

static void on_echo(sono_conn *c, const sono_reply *r, const sono_error *err, void *ud) {
  echo_state *st = ud;
  uint64_t data;

  (void)c;
  /* Every ping carries its own id as data; the echo must match. */
  if (err != NULL || sono_reply_uint(r, "data", &data) != 0 || data != sono_reply_id(r))
    st->wrong++;
  st->done++;
}

START_TEST(pipelined_async) {
  echo_state st = {0, 0};
  sono_args *a = sono_args_new();
  daemon_proc d;
  sono_conn *c;
  int i, loops = 0;

  daemon_start(&d);
  c = connect_to(&d);
  for (i = 1; i <= PIPELINE; i++) {
    sono_args_clear(a);
    sono_args_uint(a, "data", (uint64_t)i);
    ck_assert_uint_eq(sono_send(c, "ping", a, on_echo, &st), (uint64_t)i);
  }
  sono_args_free(a);
  while (st.done < PIPELINE && loops++ < 100000) {
    struct pollfd pfd = {sono_fd(c), POLLIN | (sono_want_write(c) ? POLLOUT : 0), 0};
    ck_assert_int_eq(poll(&pfd, 1, 5000), 1);
    ck_assert_int_ge(sono_process(c), 0);
  }
  ck_assert_int_eq(st.done, PIPELINE);
  ck_assert_int_eq(st.wrong, 0);
  ck_assert_uint_eq(sono_pending(c), 0);
  sono_close(c);
  ck_assert_int_eq(daemon_stop(&d, true), 0);
}
END_TEST

START_TEST(server_errors) {
  static const char *const bogus[] = {"tone", "no-such-kind"};
  sono_args *a = sono_args_new();
  daemon_proc d;
  sono_error e;
  sono_conn *c;

  daemon_start(&d);
  c = connect_to(&d);
  sono_args_str(a, "on", "yes");
  ck_assert_int_eq(sono_call(c, "engine.tone", a, NULL, &e), -1);
  ck_assert_int_eq(e.kind, SONO_ERR_SERVER);
  ck_assert_str_eq(e.code, "bad_type");
  ck_assert(e.message[0] != '\0');
  ck_assert_int_eq(sono_call(c, "no.such.op", NULL, NULL, &e), -1);
  ck_assert_str_eq(e.code, "unknown_op");
  ck_assert_int_eq(sono_subscribe(c, bogus, 2, &e), -1);
  ck_assert_str_eq(e.code, "unknown_event");
  ck_assert_int_eq(sono_call(c, "engine.tone", NULL, NULL, &e), -1);
  ck_assert_str_eq(e.code, "missing_field");
  ck_assert_int_eq(sono_render(c, 100, 0, NULL, &e), -1);
  ck_assert_str_eq(e.code, "not_supported");
  /* Still usable. */
  ck_assert_int_eq(sono_ping(c, NULL, &e), 0);
  sono_args_free(a);
  sono_close(c);
  ck_assert_int_eq(daemon_stop(&d, true), 0);
}
END_TEST

static void on_shutdown_event(sono_conn *c, const char *kind, const sono_reply *ev,
                              void *ud) {
  char *reason = ud;
  const char *s;

  (void)c;
  if (strcmp(kind, "shutdown") == 0 && sono_reply_str(ev, "reason", &s, NULL) == 0)
    snprintf(reason, 128, "%s", s);
}

START_TEST(shutdown_reaches_subscribers) {
  static const char *const kinds[] = {"shutdown"};
  char reason[128] = "";
  daemon_proc d;
  sono_conn *watcher, *c;
  sono_error e;
  int rc, guard = 0;

  daemon_start(&d);
  watcher = connect_to(&d);
  sono_on_event(watcher, on_shutdown_event, reason);
  ck_assert_int_eq(sono_subscribe(watcher, kinds, 1, &e), 0);
  c = connect_to(&d);
  ck_assert_int_eq(sono_shutdown(c, &e), 0);
  sono_close(c);
  while ((rc = sono_wait(watcher, 200)) >= 0 && guard++ < 50)
    ;
  ck_assert_int_eq(rc, -1);
  ck_assert(reason[0] != '\0');
  ck_assert_int_eq(sono_last_error(watcher)->kind, SONO_ERR_CLOSED);
  sono_close(watcher);
  ck_assert_int_eq(daemon_stop(&d, false), 0);
}
END_TEST

/* A port that was free a moment ago. */
static int free_port(void) {
  struct sockaddr_in sa;
  socklen_t len = sizeof sa;
  int fd = socket(AF_INET, SOCK_STREAM, 0), port;

  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  getsockname(fd, (struct sockaddr *)&sa, &len);
  port = ntohs(sa.sin_port);
  close(fd);
  return port;
}

START_TEST(over_tcp) {
  char uri[64];
  daemon_proc d;
  sono_hello_info h;
  sono_error e;
  sono_conn *c = NULL;
  uint64_t frame;
  int port = free_port(), i;

  daemon_start_tcp(&d, port);
  snprintf(uri, sizeof uri, "tcp://127.0.0.1:%d", port);
  /* The Unix socket is up; TCP may follow a moment later. */
  for (i = 0; i < 200 && c == NULL; i++)
    if ((c = sono_connect(uri, &e)) == NULL)
      sleep_ms(10);
  ck_assert_msg(c != NULL, "%s", e.message);
  sono_set_timeout(c, 5000);
  ck_assert_int_eq(sono_hello(c, "tcp-test", &h, &e), 0);
  ck_assert(sono_hello_has(&h, "tcp"));
  ck_assert_int_eq(sono_sync(c, &frame, &e), 0);
  ck_assert_int_eq(sono_ping(c, NULL, &e), 0);
  sono_close(c);
  ck_assert_int_eq(daemon_stop(&d, true), 0);
}
END_TEST

/* Writes a token file; returns its path (in d's directory, made first). */
static const char *write_token(char *path, size_t size, const char *dir, const char *text,
                               mode_t mode) {
  FILE *f;

  snprintf(path, size, "%s/token-%o", dir, (unsigned)mode);
  f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
  ck_assert_int_eq(chmod(path, mode), 0);
  return path;
}

START_TEST(tcp_token) {
  char uri[64], dir[64], good[128], loose[128], token[SONO_TOKEN_MAX + 1];
  daemon_proc d;
  sono_hello_info h;
  sono_error e;
  sono_conn *c = NULL;
  uint64_t frame;
  int port = free_port(), i;

  snprintf(dir, sizeof dir, "/tmp/libsono-tok-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
  write_token(good, sizeof good, dir, "\t0123456789abcdef-libsono \n", 0600);
  write_token(loose, sizeof loose, dir, "0123456789abcdef-libsono\n", 0644);

  /* The file rules: trimmed; too open is refused with the reason. */
  ck_assert_int_eq(sono_read_token_file(good, token, sizeof token, &e), 0);
  ck_assert_str_eq(token, "0123456789abcdef-libsono");
  ck_assert_int_eq(sono_read_token_file(loose, token, sizeof token, &e), -1);
  ck_assert_int_eq(e.kind, SONO_ERR_USAGE);
  ck_assert_str_eq(e.code, "bad_token_file");
  ck_assert_ptr_nonnull(strstr(e.message, "permissions 0644 are too open"));

  daemon_start_token(&d, port, good);
  snprintf(uri, sizeof uri, "tcp://127.0.0.1:%d", port);
  for (i = 0; i < 200 && c == NULL; i++)
    if ((c = sono_connect_token(uri, "0123456789abcdef-libsono", 5000, &e)) == NULL)
      sleep_ms(10);
  ck_assert_msg(c != NULL, "%s", e.message);
  ck_assert_int_eq(sono_sync(c, &frame, &e), 0);
  /* sono_hello sends the token it was given; a second hello is fine. */
  ck_assert_int_eq(sono_hello(c, "again", &h, &e), 0);
  ck_assert_uint_eq(h.protocol, 1);
  sono_close(c);

  /* A wrong token: no connection, the server's code. */
  ck_assert_ptr_null(sono_connect_token(uri, "0123456789abcdef-libsonO", 5000, &e));
  ck_assert_int_eq(e.kind, SONO_ERR_SERVER);
  ck_assert_str_eq(e.code, "unauthorized");

  /* No token: connected, but every request is refused until a hello with
   * one; sono_set_token then makes sono_hello carry it. */
  c = sono_connect(uri, &e);
  ck_assert_ptr_nonnull(c);
  sono_set_timeout(c, 5000);
  ck_assert_int_eq(sono_ping(c, NULL, &e), -1);
  ck_assert_str_eq(e.code, "unauthorized");
  ck_assert_int_eq(sono_set_token(c, "0123456789abcdef-libsono", &e), 0);
  ck_assert_int_eq(sono_hello(c, NULL, &h, &e), 0);
  ck_assert_int_eq(sono_ping(c, NULL, &e), 0);
  sono_close(c);

  /* The Unix socket: the token is not needed, and not sent. */
  c = sono_connect_token(d.uri, "whatever, not sent over unix", 5000, &e);
  ck_assert_ptr_nonnull(c);
  ck_assert_int_eq(sono_sync(c, &frame, &e), 0);
  sono_close(c);

  ck_assert_int_eq(daemon_stop(&d, true), 0);
  unlink(good);
  unlink(loose);
  rmdir(dir);
}
END_TEST

int main(int argc, char **argv) {
  Suite *s = suite_create("libsono-daemon");
  TCase *tc = tcase_create("daemon");
  SRunner *sr;
  int failed;

  if (argc < 2) {
    fprintf(stderr, "usage: %s PATH-TO-SONOD\n", argv[0]);
    return 2;
  }
  sonod_path = argv[1];
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, typed_requests);
  tcase_add_test(tc, tone_event_at_promised_frame);
  tcase_add_test(tc, pipelined_async);
  tcase_add_test(tc, server_errors);
  tcase_add_test(tc, shutdown_reaches_subscribers);
  tcase_add_test(tc, over_tcp);
  tcase_add_test(tc, tcp_token);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
