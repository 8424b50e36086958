/* Service suite: socket activation.  sonod started by systemd's own tool,
 * systemd-socket-activate, serves the client whose connection started it,
 * on the passed socket, and leaves that socket's file alone.  Then the
 * protocol by hand: a Unix and a TCP socket together, LISTEN_PID for
 * another process, and a descriptor that is not a listening socket. */
#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
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
#include "protocol/wire.h"
#include "tests/support/harness.h"

static bool is_socket_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

static void ping_on(conn *c) {
  const msgpack_object *m;
  uint64_t id = conn_request(c, "ping", "s", "data", "activated");

  m = msg_ok(conn_reply(c, id, 10000));
  ck_assert_ptr_nonnull(m);
  ck_assert(msg_str_is(m, "data", "activated"));
}

START_TEST(systemd_socket_activate) {
  const char *tool = "/usr/bin/systemd-socket-activate";
  char dir[256], passed[300], own[300], log[300], *out;
  /* The tool hands sonod a clean environment: pass on the sanitizer
   * settings of the ASan run (-E NAME passes NAME only when it is set). */
  const char *argv[] = { tool, "-E", "ASAN_OPTIONS", "-E", "LSAN_OPTIONS", "-E", "UBSAN_OPTIONS",
                         "-l", passed, getenv("SONOD"), "--no-config",
                         "--backend", "null", "--socket", own, "-vv", NULL };
  pid_t pid;
  conn c;

  if (access(tool, X_OK) != 0) {
    fprintf(stderr, "SKIP: %s is missing (Debian package systemd)\n", tool);
    return;
  }
  svc_tmpdir(dir, sizeof dir);
  snprintf(passed, sizeof passed, "%s/s.sock", dir);
  snprintf(own, sizeof own, "%s/own.sock", dir);
  snprintf(log, sizeof log, "%s/daemon.log", dir);
  /* The tool listens, waits for the first connection, then becomes sonod
   * (same pid) with the socket as descriptor 3. */
  pid = svc_spawn(argv, NULL, NULL, log);
  ck_assert_msg(svc_wait_path(passed, 10000), "systemd-socket-activate did not listen");
  conn_open(&c, passed);
  ping_on(&c);
  ping_on(&c);
  conn_close(&c);
  ck_assert_msg(!is_socket_file(own), "sonod opened --socket despite the passed socket");

  kill(pid, SIGTERM);
  ck_assert_int_eq(svc_wait(pid, 5000), 0);
  /* The socket unit owns the file: sonod must not remove it. */
  ck_assert_msg(is_socket_file(passed), "sonod removed the passed socket file");
  out = svc_read_file(log);
  ck_assert_msg(strstr(out, "listening on unix:") != NULL, "no listening line");
  free(out);
}
END_TEST

static int listen_unix_at(const char *path) {
  struct sockaddr_un sa;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  snprintf(sa.sun_path, sizeof sa.sun_path, "%.*s", (int)sizeof sa.sun_path - 1, path);
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  ck_assert_int_eq(listen(fd, 16), 0);
  return fd;
}

static int listen_tcp_any_port(int *port) {
  struct sockaddr_in sa;
  socklen_t len = sizeof sa;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  ck_assert_int_eq(listen(fd, 16), 0);
  ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
  *port = ntohs(sa.sin_port);
  return fd;
}

/* Both kinds at once, as a socket unit with two ListenStream= lines passes
 * them.  --tcp names an address this machine does not have: were sonod to
 * bind it instead of taking the passed socket, it would fail to start. */
START_TEST(unix_and_tcp_passed) {
  char dir[256], passed[300], own[300], log[300], tcp_arg[64], *out;
  const char *argv[] = { getenv("SONOD"), "--no-config", "--backend", "null",
                         "--socket", own, "--tcp", "192.0.2.1:7", "-vv", NULL };
  const char *env[] = { "LISTEN_FDS=2", "LISTEN_PID=self", "LISTEN_FDNAMES=unix:tcp", NULL };
  const msgpack_object *m, *caps;
  int fds[3], port;
  bool has_tcp = false;
  uint32_t i;
  uint64_t id;
  pid_t pid;
  conn c;

  svc_tmpdir(dir, sizeof dir);
  snprintf(passed, sizeof passed, "%s/a.sock", dir);
  snprintf(own, sizeof own, "%s/own.sock", dir);
  snprintf(log, sizeof log, "%s/daemon.log", dir);
  fds[0] = listen_unix_at(passed);
  fds[1] = listen_tcp_any_port(&port);
  fds[2] = -1;
  pid = svc_spawn(argv, env, fds, log);
  close(fds[0]);
  close(fds[1]);

  /* Connecting before sonod is up is the point of activation: the
   * connection waits in the listen queue. */
  conn_open(&c, passed);
  ping_on(&c);
  conn_close(&c);
  conn_open_tcp(&c, port);
  ping_on(&c);
  id = conn_request(&c, "hello", "");
  m = msg_ok(conn_reply(&c, id, 5000));
  ck_assert_ptr_nonnull(m);
  caps = sono_map_get(m, "capabilities");
  ck_assert_ptr_nonnull(caps);
  for (i = 0; i < caps->via.array.size; i++)
    has_tcp |= sono_str_eq(&caps->via.array.ptr[i], "tcp");
  ck_assert_msg(has_tcp, "hello does not offer tcp");
  conn_close(&c);
  ck_assert(!is_socket_file(own));

  kill(pid, SIGTERM);
  ck_assert_int_eq(svc_wait(pid, 5000), 0);
  ck_assert(is_socket_file(passed));
  snprintf(tcp_arg, sizeof tcp_arg, "tcp://127.0.0.1:%d", port);
  out = svc_read_file(log);
  ck_assert_msg(strstr(out, tcp_arg) != NULL, "%s not logged", tcp_arg);
  free(out);
}
END_TEST

/* LISTEN_PID for another process: the descriptors are not sonod's, so it
 * opens --socket as usual and never accepts on the other one. */
START_TEST(listen_pid_for_another_process) {
  char dir[256], passed[300], own[300], log[300];
  const char *argv[] = { getenv("SONOD"), "--no-config", "--backend", "null",
                         "--socket", own, "-vv", NULL };
  const char *env[] = { "LISTEN_FDS=1", "LISTEN_PID=1", NULL };
  int fds[2];
  pid_t pid;
  conn c;

  svc_tmpdir(dir, sizeof dir);
  snprintf(passed, sizeof passed, "%s/a.sock", dir);
  snprintf(own, sizeof own, "%s/own.sock", dir);
  snprintf(log, sizeof log, "%s/daemon.log", dir);
  fds[0] = listen_unix_at(passed);
  fds[1] = -1;
  pid = svc_spawn(argv, env, fds, log);
  ck_assert_msg(svc_wait_path(own, 10000), "sonod did not open its own socket");
  /* Listening starts right after the file appears; retry briefly. */
  for (int tries = 0; tries < 100; tries++) {
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    snprintf(sa.sun_path, sizeof sa.sun_path, "%.*s", (int)sizeof sa.sun_path - 1, own);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
      close(fd);
      break;
    }
    close(fd);
    usleep(10000);
  }
  conn_open(&c, own);
  ping_on(&c);
  conn_close(&c);
  conn_open(&c, passed);
  conn_request(&c, "ping", "");
  ck_assert_msg(conn_silent(&c, 300), "sonod answered on a socket meant for another process");
  conn_close(&c);
  close(fds[0]);
  kill(pid, SIGTERM);
  ck_assert_int_eq(svc_wait(pid, 5000), 0);
}
END_TEST

START_TEST(passed_descriptor_not_a_socket) {
  char dir[256], own[300], log[300], *out;
  const char *argv[] = { getenv("SONOD"), "--no-config", "--backend", "null",
                         "--socket", own, NULL };
  const char *env[] = { "LISTEN_FDS=1", "LISTEN_PID=self", NULL };
  int fds[2];
  pid_t pid;

  svc_tmpdir(dir, sizeof dir);
  snprintf(own, sizeof own, "%s/own.sock", dir);
  snprintf(log, sizeof log, "%s/daemon.log", dir);
  fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
  fds[1] = -1;
  pid = svc_spawn(argv, env, fds, log);
  close(fds[0]);
  ck_assert_int_eq(svc_wait(pid, 10000), 1);
  out = svc_read_file(log);
  ck_assert_msg(strstr(out, "not a listening stream socket") != NULL, "%s", out);
  free(out);
}
END_TEST

static Suite *activation_suite(void) {
  Suite *s = suite_create("activation");
  TCase *tc = tcase_create("core");

  tcase_add_test(tc, systemd_socket_activate);
  tcase_add_test(tc, unix_and_tcp_passed);
  tcase_add_test(tc, listen_pid_for_another_process);
  tcase_add_test(tc, passed_descriptor_not_a_socket);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(activation_suite)
