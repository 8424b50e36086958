/* Unit: looking for a JACK 2 server's socket before entering libjack
 * (daemon/backend/jack_probe.c).  The socket a test makes is a real
 * Unix socket at the path JACK 2 would use, under a name no server has. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jack/jack.h>

#include "daemon/backend/jack_probe.h"
#include "tests/support/check_main.h"

static char name[32], where[96];

static void setup(void) {
  snprintf(name, sizeof name, "sonod-probe-%d", (int)getpid());
  snprintf(where, sizeof where, "/dev/shm/jack_%s_%u_0", name, (unsigned)geteuid());
  unsetenv("JACK_PROMISCUOUS_SERVER");
  unsetenv("JACK_DEFAULT_SERVER");
}

static void teardown(void) {
  unlink(where);
}

/* A listening socket at `where`, as a running server has. */
static int make_socket(void) {
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);

  ck_assert_int_ge(fd, 0);
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", where);
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  ck_assert_int_eq(listen(fd, 1), 0);
  return fd;
}

START_TEST(socket_there_or_not) {
  char path[256] = "";
  int fd;

  /* The Debian libjack is JACK 2's: the probe applies. */
  ck_assert_msg(strncmp(jack_get_version_string(), "1.9.", 4) == 0, "libjack %s",
                jack_get_version_string());
  ck_assert(!jack_probe_server(name, path, sizeof path));
  ck_assert_str_eq(path, where);
  fd = make_socket();
  ck_assert(jack_probe_server(name, path, sizeof path));
  close(fd);
  unlink(where);
  /* A file that is not a socket is no server. */
  fclose(fopen(where, "w"));
  ck_assert(!jack_probe_server(name, path, sizeof path));
}
END_TEST

/* No name: JACK_DEFAULT_SERVER's, as libjack takes it. */
START_TEST(default_server_from_the_environment) {
  char path[256] = "";
  int fd;

  setenv("JACK_DEFAULT_SERVER", name, 1);
  ck_assert(!jack_probe_server("", path, sizeof path));
  ck_assert_str_eq(path, where);
  fd = make_socket();
  ck_assert(jack_probe_server("", path, sizeof path));
  close(fd);
}
END_TEST

/* A promiscuous server is named by group: the probe does not guess. */
START_TEST(promiscuous_is_left_to_libjack) {
  char path[256] = "";

  setenv("JACK_PROMISCUOUS_SERVER", "audio", 1);
  ck_assert(jack_probe_server(name, path, sizeof path));
}
END_TEST

static Suite *probe_suite(void) {
  Suite *s = suite_create("jack_probe");
  TCase *t = tcase_create("core");

  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, socket_there_or_not);
  tcase_add_test(t, default_server_from_the_environment);
  tcase_add_test(t, promiscuous_is_left_to_libjack);
  suite_add_tcase(s, t);
  return s;
}

CHECK_MAIN(probe_suite)
