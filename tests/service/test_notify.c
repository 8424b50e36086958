/* Service suite: sd_notify.  The test binds the datagram socket systemd
 * would, starts sonod with NOTIFY_SOCKET pointing at it, and reads what
 * arrives: READY=1 once the socket answers, STATUS= with the backend and
 * the socket, WATCHDOG=1 within the interval, STOPPING=1 on SIGTERM. */
#include <check.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/service/svc_util.h"
#include "tests/support/check_main.h"
#include "tests/support/harness.h"

typedef struct notify_rx {
  int fd;
  char dir[256];
  char path[300];      /* what NOTIFY_SOCKET says */
  char sock[300];      /* sonod's own Unix socket */
  char log[300];
  pid_t pid;
} notify_rx;

static void rx_bind(notify_rx *rx, bool abstract) {
  struct sockaddr_un sa;
  socklen_t len;

  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  svc_tmpdir(rx->dir, sizeof rx->dir);
  snprintf(rx->sock, sizeof rx->sock, "%s/sonod.sock", rx->dir);
  snprintf(rx->log, sizeof rx->log, "%s/daemon.log", rx->dir);
  if (abstract) {
    snprintf(rx->path, sizeof rx->path, "@sonod-test-notify-%ld", (long)getpid());
    memcpy(sa.sun_path + 1, rx->path + 1, strlen(rx->path) - 1);
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(rx->path));
  } else {
    snprintf(rx->path, sizeof rx->path, "%s/notify.sock", rx->dir);
    snprintf(sa.sun_path, sizeof sa.sun_path, "%.*s", (int)sizeof sa.sun_path - 1, rx->path);
    len = sizeof sa;
  }
  rx->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ck_assert_int_ge(rx->fd, 0);
  ck_assert_int_eq(bind(rx->fd, (struct sockaddr *)&sa, len), 0);
}

static void rx_start(notify_rx *rx, const char *watchdog_usec, const char *watchdog_pid) {
  char env_notify[400], env_usec[64], env_pid[64];
  const char *env[4] = { env_notify, NULL, NULL, NULL };
  const char *argv[] = { getenv("SONOD"), "--no-config", "--backend", "null",
                         "--socket", rx->sock, "-vv", NULL };
  int n = 1;

  snprintf(env_notify, sizeof env_notify, "NOTIFY_SOCKET=%s", rx->path);
  if (watchdog_usec != NULL) {
    snprintf(env_usec, sizeof env_usec, "WATCHDOG_USEC=%s", watchdog_usec);
    env[n++] = env_usec;
  }
  if (watchdog_pid != NULL) {
    snprintf(env_pid, sizeof env_pid, "WATCHDOG_PID=%s", watchdog_pid);
    env[n++] = env_pid;
  }
  rx->pid = svc_spawn(argv, env, NULL, rx->log);
}

/* The next datagram within timeout_ms into buf; false when none came. */
static bool rx_next(notify_rx *rx, char *buf, size_t size, int timeout_ms) {
  struct pollfd pfd = { rx->fd, POLLIN, 0 };
  ssize_t n;

  if (poll(&pfd, 1, timeout_ms) <= 0)
    return false;
  n = recv(rx->fd, buf, size - 1, 0);
  ck_assert_int_gt(n, 0);
  buf[n] = '\0';
  return true;
}

/* Reads until a datagram containing want arrives; fails after timeout_ms. */
static void rx_expect(notify_rx *rx, const char *want, char *buf, size_t size, int timeout_ms) {
  long deadline = svc_now_ms() + timeout_ms;

  for (;;) {
    long left = deadline - svc_now_ms();
    ck_assert_msg(left > 0 && rx_next(rx, buf, size, (int)left), "no %s from sonod (see %s)",
                  want, rx->log);
    if (strstr(buf, want) != NULL)
      return;
  }
}

/* SIGTERM (unless already sent: a second one, after sonod has let go of its
 * handler, would kill it) and the exit status. */
static int rx_stop(notify_rx *rx, bool term) {
  int status;

  if (term)
    kill(rx->pid, SIGTERM);
  status = svc_wait(rx->pid, 5000);
  close(rx->fd);
  if (rx->path[0] == '/')
    unlink(rx->path);
  return status;
}

START_TEST(ready_status_watchdog_stopping) {
  notify_rx rx;
  char buf[2048], status_line[2048], want[400];
  long ready_at, first_ping, t0;
  int pings = 0;
  conn c;
  uint64_t id;

  rx_bind(&rx, false);
  rx_start(&rx, "200000", "self");
  rx_expect(&rx, "READY=1", buf, sizeof buf, 10000);
  ready_at = svc_now_ms();
  /* READY means listening: the first connection must succeed at once. */
  conn_open(&c, rx.sock);
  id = conn_request(&c, "ping", "");
  ck_assert_ptr_nonnull(msg_ok(conn_reply(&c, id, 5000)));
  conn_close(&c);

  /* The STATUS= line names the backend and the socket. */
  snprintf(status_line, sizeof status_line, "%s", buf);
  if (strstr(buf, "STATUS=") == NULL)
    rx_expect(&rx, "STATUS=", status_line, sizeof status_line, 2000);
  snprintf(want, sizeof want, "listening on unix:%s", rx.sock);
  ck_assert_msg(strstr(status_line, "running on null at 48000 Hz") != NULL, "%s", status_line);
  ck_assert_msg(strstr(status_line, want) != NULL, "%s", status_line);

  /* WatchdogSec=200 ms: pings every 100 ms, the first well within 200 ms
   * of READY (a little slack for loaded CI machines). */
  rx_expect(&rx, "WATCHDOG=1", buf, sizeof buf, 1000);
  first_ping = svc_now_ms() - ready_at;
  ck_assert_msg(first_ping <= 400, "first WATCHDOG=1 after %ld ms", first_ping);
  t0 = svc_now_ms();
  while (svc_now_ms() - t0 < 1000)
    if (rx_next(&rx, buf, sizeof buf, 100) && strcmp(buf, "WATCHDOG=1") == 0)
      pings++;
  ck_assert_msg(pings >= 5, "only %d watchdog pings in a second", pings);

  kill(rx.pid, SIGTERM);
  rx_expect(&rx, "STOPPING=1", buf, sizeof buf, 2000);
  t0 = svc_now_ms();
  ck_assert_int_eq(rx_stop(&rx, false), 0);
  /* Far inside systemd's stop timeout, with room for a sanitizer build's
   * exit on a loaded machine. */
  ck_assert_msg(svc_now_ms() - t0 < 10000, "exit took %ld ms after STOPPING", svc_now_ms() - t0);
}
END_TEST

/* WATCHDOG_PID naming another process: the watchdog is not ours. */
START_TEST(watchdog_for_another_pid) {
  notify_rx rx;
  char buf[2048];
  long t0;

  rx_bind(&rx, false);
  rx_start(&rx, "200000", "1");
  rx_expect(&rx, "READY=1", buf, sizeof buf, 10000);
  t0 = svc_now_ms();
  while (svc_now_ms() - t0 < 600)
    if (rx_next(&rx, buf, sizeof buf, 100))
      ck_assert_msg(strstr(buf, "WATCHDOG=1") == NULL, "pinged a watchdog meant for pid 1");
  ck_assert_int_eq(rx_stop(&rx, true), 0);
}
END_TEST

/* "@name" is the abstract namespace, as systemd hands it to some services. */
START_TEST(abstract_notify_socket) {
  notify_rx rx;
  char buf[2048];

  rx_bind(&rx, true);
  rx_start(&rx, NULL, NULL);
  rx_expect(&rx, "READY=1", buf, sizeof buf, 10000);
  ck_assert_int_eq(rx_stop(&rx, true), 0);
}
END_TEST

/* Runs sonod until SIGTERM with stderr to a file and $JOURNAL_STREAM set
 * (to that file's own device:inode when `matching`, as systemd does, else
 * to another's); returns its log. */
static char *log_with_journal_stream(bool matching) {
  char dir[256], log[300], sock[300], env_js[96];
  const char *env[] = { env_js, NULL };
  const char *argv[] = { getenv("SONOD"), "--no-config", "--backend", "null",
                         "--socket", sock, "-v", NULL };
  struct stat st;
  pid_t pid;

  svc_tmpdir(dir, sizeof dir);
  snprintf(log, sizeof log, "%s/daemon.log", dir);
  snprintf(sock, sizeof sock, "%s/sonod.sock", dir);
  svc_write_file(log, "");
  ck_assert_int_eq(stat(log, &st), 0);
  snprintf(env_js, sizeof env_js, "JOURNAL_STREAM=%llu:%llu", (unsigned long long)st.st_dev,
           (unsigned long long)st.st_ino + (matching ? 0 : 1));
  pid = svc_spawn(argv, env, NULL, log);
  ck_assert(svc_wait_path(sock, 10000));
  kill(pid, SIGTERM);
  ck_assert_int_eq(svc_wait(pid, 10000), 0);
  return svc_read_file(log);
}

/* Log lines carry the syslog priority prefix journald reads only when
 * stderr is the journal's stream; in a terminal or a file they do not. */
START_TEST(priority_prefix_only_for_the_journal) {
  char *journal = log_with_journal_stream(true), *plain = log_with_journal_stream(false);

  ck_assert_msg(strstr(journal, "<6>sonod: info: received SIGTERM") != NULL, "%s", journal);
  ck_assert_msg(strstr(plain, "\nsonod: info: received SIGTERM") != NULL ||
                strncmp(plain, "sonod: info: received SIGTERM", 29) == 0, "%s", plain);
  ck_assert_msg(strstr(plain, "<6>") == NULL && strstr(plain, "<3>") == NULL, "%s", plain);
  free(journal);
  free(plain);
}
END_TEST

static Suite *notify_suite(void) {
  Suite *s = suite_create("notify");
  TCase *tc = tcase_create("core");

  tcase_add_test(tc, ready_status_watchdog_stopping);
  tcase_add_test(tc, watchdog_for_another_pid);
  tcase_add_test(tc, abstract_notify_socket);
  tcase_add_test(tc, priority_prefix_only_for_the_journal);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(notify_suite)
