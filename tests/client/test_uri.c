/* test_uri.c - URI parsing, the default address, and connecting over real
 * Unix and TCP sockets. */
#include "sono.h"

#include "protocol/frame.h"
#include "protocol/wire.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static sono_uri parse_ok(const char *s) {
  sono_uri u;
  sono_error e;

  ck_assert_msg(sono_uri_parse(s, &u, &e) == 0, "%s: %s", s, e.message);
  return u;
}

static void parse_bad(const char *s) {
  sono_uri u;
  sono_error e;

  memset(&e, 0, sizeof e);
  ck_assert_msg(sono_uri_parse(s, &u, &e) == -1, "'%s' was accepted", s);
  ck_assert_int_eq(e.kind, SONO_ERR_URI);
  ck_assert_str_eq(e.code, "bad_uri");
  ck_assert(e.message[0] != '\0');
}

START_TEST(unix_forms) {
  sono_uri u;

  u = parse_ok("unix:/run/sonod/sonod.sock");
  ck_assert_int_eq(u.type, SONO_URI_UNIX);
  ck_assert_str_eq(u.path, "/run/sonod/sonod.sock");
  u = parse_ok("unix:///tmp/x.sock");
  ck_assert_int_eq(u.type, SONO_URI_UNIX);
  ck_assert_str_eq(u.path, "/tmp/x.sock");
  u = parse_ok("/tmp/bare.sock");
  ck_assert_int_eq(u.type, SONO_URI_UNIX);
  ck_assert_str_eq(u.path, "/tmp/bare.sock");
  u = parse_ok("relative.sock");
  ck_assert_str_eq(u.path, "relative.sock");
  u = parse_ok("unix:rel/dir.sock");
  ck_assert_str_eq(u.path, "rel/dir.sock");
}
END_TEST

START_TEST(tcp_forms) {
  sono_uri u;

  u = parse_ok("tcp://127.0.0.1:7000");
  ck_assert_int_eq(u.type, SONO_URI_TCP);
  ck_assert_str_eq(u.host, "127.0.0.1");
  ck_assert_str_eq(u.port, "7000");
  u = parse_ok("tcp://[::1]:7001");
  ck_assert_int_eq(u.type, SONO_URI_TCP);
  ck_assert_str_eq(u.host, "::1");
  ck_assert_str_eq(u.port, "7001");
  u = parse_ok("tcp://[fe80::1%lo]:9");
  ck_assert_str_eq(u.host, "fe80::1%lo");
  u = parse_ok("tcp://audio.example.org:sonod");
  ck_assert_str_eq(u.host, "audio.example.org");
  ck_assert_str_eq(u.port, "sonod");
  u = parse_ok("tcp://localhost:80/");
  ck_assert_str_eq(u.host, "localhost");
  ck_assert_str_eq(u.port, "80");
}
END_TEST

START_TEST(bad_uris) {
  char longpath[300];

  parse_bad("tcp://localhost");
  parse_bad("tcp://:7000");
  parse_bad("tcp://host:");
  parse_bad("tcp://::1:7000");
  parse_bad("tcp://[::1]7000");
  parse_bad("tcp://[::1");
  parse_bad("tcp://host:70/x");
  parse_bad("http://host:80");
  parse_bad("unix:");
  memset(longpath, 'a', sizeof longpath - 1);
  longpath[0] = '/';
  longpath[sizeof longpath - 1] = '\0';
  parse_bad(longpath);
}
END_TEST

START_TEST(default_address) {
  char buf[256];
  sono_uri u;

  setenv("SONOD_SOCKET", "tcp://10.0.0.1:5555", 1);
  setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
  ck_assert_str_eq(sono_default_uri(buf, sizeof buf), "tcp://10.0.0.1:5555");
  u = parse_ok(NULL);
  ck_assert_int_eq(u.type, SONO_URI_TCP);
  ck_assert_str_eq(u.host, "10.0.0.1");
  ck_assert_str_eq(u.port, "5555");

  unsetenv("SONOD_SOCKET");
  u = parse_ok("");
  ck_assert_int_eq(u.type, SONO_URI_UNIX);
  ck_assert_str_eq(u.path, "/run/user/1000/sonod.sock");

  unsetenv("XDG_RUNTIME_DIR");
  u = parse_ok(NULL);
  ck_assert_str_eq(u.path, "/run/sonod/sonod.sock");
}
END_TEST

/* ---------------------------------------------------------------- sockets */

/* Reads one frame from fd and returns its "op", checking id. */
static void expect_request(int fd, uint64_t id, const char *op) {
  unsigned char hdr[4];
  char payload[256];
  msgpack_unpacked up;
  uint64_t got;
  uint32_t n;

  ck_assert_int_eq(recv(fd, hdr, 4, MSG_WAITALL), 4);
  n = sono_frame_get_header(hdr);
  ck_assert_uint_lt(n, sizeof payload);
  ck_assert_int_eq(recv(fd, payload, n, MSG_WAITALL), (int)n);
  msgpack_unpacked_init(&up);
  ck_assert_int_eq(msgpack_unpack_next(&up, payload, n, NULL), MSGPACK_UNPACK_SUCCESS);
  ck_assert_int_eq(sono_get_uint(&up.data, "id", &got), SONO_ARG_OK);
  ck_assert_uint_eq(got, id);
  ck_assert(sono_str_eq(sono_map_get(&up.data, "op"), op));
  msgpack_unpacked_destroy(&up);
}

START_TEST(connect_unix_socket) {
  char dir[] = "/tmp/libsono-test-XXXXXX", path[128], uri[160];
  struct sockaddr_un sa;
  sono_conn *c;
  sono_error e;
  int lfd, sfd;

  ck_assert_ptr_nonnull(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/sonod.sock", dir);
  lfd = socket(AF_UNIX, SOCK_STREAM, 0);
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  strcpy(sa.sun_path, path);
  ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
  ck_assert_int_eq(listen(lfd, 4), 0);

  /* Each spelling reaches the same socket. */
  const char *forms[3] = {"unix:%s", "%s", "unix://%s"};
  for (int i = 0; i < 3; i++) {
    snprintf(uri, sizeof uri, forms[i], path);
    c = sono_connect(uri, &e);
    ck_assert_msg(c != NULL, "%s: %s", uri, e.message);
    sfd = accept(lfd, NULL, NULL);
    ck_assert_int_ge(sfd, 0);
    ck_assert_uint_eq(sono_send(c, "status", NULL, NULL, NULL), 1);
    expect_request(sfd, 1, "status");
    sono_close(c);
    close(sfd);
  }

  /* The environment's default is honoured too. */
  setenv("SONOD_SOCKET", path, 1);
  c = sono_connect(NULL, &e);
  ck_assert_ptr_nonnull(c);
  sfd = accept(lfd, NULL, NULL);
  ck_assert_uint_eq(sono_send(c, "ping", NULL, NULL, NULL), 1);
  expect_request(sfd, 1, "ping");
  sono_close(c);
  close(sfd);
  unsetenv("SONOD_SOCKET");

  close(lfd);
  unlink(path);
  rmdir(dir);

  /* Nobody listening any more. */
  snprintf(uri, sizeof uri, "unix:%s", path);
  ck_assert_ptr_null(sono_connect(uri, &e));
  ck_assert_int_eq(e.kind, SONO_ERR_CONNECT);
  ck_assert_int_eq(e.sys_errno, ENOENT);
  ck_assert_str_eq(e.code, "connect_failed");
  ck_assert_ptr_nonnull(strstr(e.message, path));
}
END_TEST

/* Listens on an ephemeral port of addr; returns the socket and the port. */
static int listen_tcp(int family, const char *addr, int *port) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  int fd = socket(family, SOCK_STREAM, 0), one = 1;

  if (fd < 0)
    return -1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  memset(&ss, 0, sizeof ss);
  if (family == AF_INET) {
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    in->sin_family = AF_INET;
    inet_pton(AF_INET, addr, &in->sin_addr);
    len = sizeof *in;
  } else {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    in6->sin6_family = AF_INET6;
    inet_pton(AF_INET6, addr, &in6->sin6_addr);
    len = sizeof *in6;
  }
  if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 4) != 0) {
    close(fd);
    return -1;
  }
  len = sizeof ss;
  getsockname(fd, (struct sockaddr *)&ss, &len);
  *port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                  : ((struct sockaddr_in6 *)&ss)->sin6_port);
  return fd;
}

static void tcp_round(int lfd, const char *uri) {
  sono_error e;
  sono_conn *c = sono_connect(uri, &e);
  int sfd;

  ck_assert_msg(c != NULL, "%s: %s", uri, e.message);
  sfd = accept(lfd, NULL, NULL);
  ck_assert_int_ge(sfd, 0);
  ck_assert_uint_eq(sono_send(c, "hello", NULL, NULL, NULL), 1);
  ck_assert_uint_eq(sono_send(c, "ping", NULL, NULL, NULL), 2);
  expect_request(sfd, 1, "hello");
  expect_request(sfd, 2, "ping");
  sono_close(c);
  close(sfd);
}

START_TEST(connect_tcp) {
  char uri[128];
  sono_error e;
  int lfd, port;

  lfd = listen_tcp(AF_INET, "127.0.0.1", &port);
  ck_assert_int_ge(lfd, 0);
  snprintf(uri, sizeof uri, "tcp://127.0.0.1:%d", port);
  tcp_round(lfd, uri);
  snprintf(uri, sizeof uri, "tcp://localhost:%d", port);
  /* localhost may resolve to ::1 first: the library must try every address. */
  tcp_round(lfd, uri);
  close(lfd);

  /* IPv6 only where the machine has it. */
  lfd = listen_tcp(AF_INET6, "::1", &port);
  if (lfd >= 0) {
    snprintf(uri, sizeof uri, "tcp://[::1]:%d", port);
    tcp_round(lfd, uri);
    close(lfd);
  }

  ck_assert_ptr_null(sono_connect("tcp://no-such-host.invalid:1", &e));
  ck_assert_int_eq(e.kind, SONO_ERR_CONNECT);
  ck_assert_str_eq(e.code, "connect_failed");
}
END_TEST

int main(void) {
  Suite *s = suite_create("libsono-uri");
  TCase *tc = tcase_create("uri");
  SRunner *sr;
  int failed;

  tcase_set_timeout(tc, 20);
  tcase_add_test(tc, unix_forms);
  tcase_add_test(tc, tcp_forms);
  tcase_add_test(tc, bad_uris);
  tcase_add_test(tc, default_address);
  tcase_add_test(tc, connect_unix_socket);
  tcase_add_test(tc, connect_tcp);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
