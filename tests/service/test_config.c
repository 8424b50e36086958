/* Service suite: the config file.  config_load directly on files, then the
 * real daemon: values applied, the command line wins, a bad file stops it
 * with exit status 2 and the file, line and key in the message. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/config.h"
#include "tests/service/svc_util.h"
#include "tests/support/check_main.h"
#include "tests/support/harness.h"

static char conf[512];

static void write_conf(const char *text) {
  static char dir[256];

  svc_tmpdir(dir, sizeof dir);
  snprintf(conf, sizeof conf, "%s/sonod.conf", dir);
  svc_write_file(conf, text);
}

START_TEST(load_applies_values) {
  options o;
  char err[512];
  int loaded;

  write_conf("# a comment\n"
             "\n"
             "   # an indented comment\n"
             "backend = null\n"
             "sample-rate=44100\n"
             "  channels   =   6  \n"
             "tcp = [::1]:7701\n"
             "tcp-token-file = /etc/sonod/tcp-token\n"
             "socket = /tmp/with space#hash.sock\n"
             "autoconnect = true\n"
             "jack-name = studio\r\n"
             "verbose = 2\n");
  options_defaults(&o);
  ck_assert_int_eq(config_load(&o, conf, 1, &loaded, err, sizeof err), 0);
  ck_assert_int_eq(loaded, 1);
  ck_assert_int_eq(o.backend, BACKEND_NULL);
  ck_assert_uint_eq(o.sample_rate, 44100);
  ck_assert_uint_eq(o.channels, 6);
  ck_assert_str_eq(o.tcp_host, "::1");
  ck_assert_int_eq(o.tcp_port, 7701);
  ck_assert_str_eq(o.tcp_token_file, "/etc/sonod/tcp-token");
  ck_assert_str_eq(o.socket_path, "/tmp/with space#hash.sock");
  ck_assert_int_eq(o.autoconnect, 1);
  ck_assert_str_eq(o.jack_name, "studio");
  ck_assert_int_eq(o.verbose, 2);
  ck_assert_uint_eq(o.block_size, 256);   /* untouched: the default */
}
END_TEST

START_TEST(missing_file) {
  options o;
  char err[512];
  int loaded = 1;

  options_defaults(&o);
  /* The default file is optional... */
  ck_assert_int_eq(config_load(&o, "/nonexistent/sonod.conf", 0, &loaded, err, sizeof err), 0);
  ck_assert_int_eq(loaded, 0);
  /* ...a file named with --config is not. */
  ck_assert_int_eq(config_load(&o, "/nonexistent/sonod.conf", 1, &loaded, err, sizeof err), -1);
  ck_assert_msg(strstr(err, "/nonexistent/sonod.conf") != NULL, "%s", err);
}
END_TEST

static void expect_bad(const char *text, const char *line, const char *key, const char *why) {
  options o;
  char err[512], where[600];
  int loaded;

  write_conf(text);
  options_defaults(&o);
  ck_assert_int_eq(config_load(&o, conf, 1, &loaded, err, sizeof err), -1);
  snprintf(where, sizeof where, "%s:%s: ", conf, line);
  ck_assert_msg(strncmp(err, where, strlen(where)) == 0, "'%s' does not start '%s'", err, where);
  ck_assert_msg(strstr(err, key) != NULL, "key '%s' not in '%s'", key, err);
  ck_assert_msg(strstr(err, why) != NULL, "'%s' not in '%s'", why, err);
}

START_TEST(load_refuses_mistakes) {
  expect_bad("backend = null\nfrobnicate = 1\n", "2", "frobnicate", "unknown key");
  expect_bad("# x\nchannels = 0\n", "2", "channels", "from 1 to 64");
  expect_bad("backend jack\n", "1", "backend", "no '='");
  expect_bad("backend = alsa\n", "1", "backend", "not one of");
  expect_bad("tcp = localhost\n", "1", "tcp", "HOST:PORT");
  expect_bad("autoconnect = maybe\n", "1", "autoconnect", "true or false");
  expect_bad("verbose = 3\n", "1", "verbose", "0, 1 or 2");
  expect_bad("length = -1\n", "1", "length", "seconds");
  expect_bad("socket =\n", "1", "socket", "empty");
  expect_bad("channels = 2\n\nchannels = 4\n", "3", "channels", "twice (first on line 1)");
  expect_bad("= 4\n", "1", "", "no key");
  /* Keys are the long options exactly: no --config inside a config. */
  expect_bad("config = /etc/other.conf\n", "1", "config", "unknown key");
}
END_TEST

/* The daemon with a config file: what it reports is what the file said,
 * except where the command line said otherwise. */
START_TEST(daemon_applies_config_and_cli_wins) {
  daemon_proc dp;
  const char *args[] = { "--config", conf, "--channels", "5", NULL };
  const msgpack_object *m;
  conn c;
  uint64_t id;

  /* socket: the harness's --socket must win, or the daemon is unreachable. */
  write_conf("backend = null\n"
             "sample-rate = 44100\n"
             "block-size = 128\n"
             "channels = 3\n"
             "socket = /nonexistent-dir/sonod.sock\n");
  daemon_start(&dp, args);
  conn_open(&c, dp.socket);
  id = conn_request(&c, "hello", "");
  m = msg_ok(conn_reply(&c, id, 5000));
  ck_assert_ptr_nonnull(m);
  ck_assert_uint_eq(msg_uint(m, "sample_rate"), 44100);
  ck_assert_uint_eq(msg_uint(m, "channels"), 5);
  ck_assert(msg_str_is(m, "backend", "null"));
  id = conn_request(&c, "status", "");
  m = msg_ok(conn_reply(&c, id, 5000));
  ck_assert_ptr_nonnull(m);
  ck_assert_uint_eq(msg_uint(m, "block_size"), 128);
  ck_assert_uint_eq(msg_uint(m, "sample_rate"), 44100);
  conn_close(&c);
  ck_assert(daemon_log_contains(&dp, conf));   /* "settings from ..." */
  ck_assert_int_eq(daemon_stop(&dp), 0);
}
END_TEST

/* Runs sonod with args; returns its exit status, stderr in *out. */
static int run_sonod(const char *const *args, char **out) {
  static char dir[256], log[300];
  const char *argv[32];
  int n = 0;
  pid_t pid;

  svc_tmpdir(dir, sizeof dir);
  snprintf(log, sizeof log, "%s/stderr", dir);
  argv[n++] = getenv("SONOD");
  while (*args != NULL && n < 31)
    argv[n++] = *args++;
  argv[n] = NULL;
  pid = svc_spawn(argv, NULL, NULL, log);
  n = svc_wait(pid, 10000);
  *out = svc_read_file(log);
  return n;
}

static void expect_refused(const char *text, const char *line, const char *key) {
  const char *args[] = { "--config", conf, "--backend", "null", "--socket", "/tmp/never.sock",
                         NULL };
  char where[600], *out;

  write_conf(text);
  ck_assert_int_eq(run_sonod(args, &out), 2);
  snprintf(where, sizeof where, "%s:%s: ", conf, line);
  ck_assert_msg(strstr(out, where) != NULL, "'%s' not in '%s'", where, out);
  ck_assert_msg(strstr(out, key) != NULL, "'%s' not in '%s'", key, out);
  free(out);
}

START_TEST(daemon_refuses_bad_config) {
  const char *missing[] = { "--config", "/nonexistent/sonod.conf", NULL };
  const char *combo[] = { "--config", conf, "--socket", "/tmp/never.sock", NULL };
  char *out;

  expect_refused("# settings\nbackend = null\nfrobnicate = yes\n", "3", "frobnicate");
  expect_refused("sample-rate = fast\n", "1", "sample-rate");
  expect_refused("\n\nchannels 4\n", "3", "channels");

  ck_assert_int_eq(run_sonod(missing, &out), 2);
  ck_assert_msg(strstr(out, "/nonexistent/sonod.conf") != NULL, "%s", out);
  free(out);

  /* Settings that are wrong only together are checked after the command
   * line, and the message says where they came from. */
  write_conf("backend = offline\n");
  ck_assert_int_eq(run_sonod(combo, &out), 2);
  ck_assert_msg(strstr(out, "needs --output") != NULL && strstr(out, conf) != NULL, "%s", out);
  free(out);
}
END_TEST

/* --no-config after --config: the file is not read (its mistake is not
 * seen); --config after --no-config: it is. */
START_TEST(no_config_reads_no_file) {
  const char *ignored[] = { "--config", conf, "--no-config", "--backend", "offline", NULL };
  const char *read_it[] = { "--no-config", "--config", conf, "--backend", "offline", NULL };
  char *out;

  write_conf("frobnicate = yes\n");
  ck_assert_int_eq(run_sonod(ignored, &out), 2);
  ck_assert_msg(strstr(out, "needs --output") != NULL && strstr(out, "frobnicate") == NULL, "%s",
                out);
  free(out);
  ck_assert_int_eq(run_sonod(read_it, &out), 2);
  ck_assert_msg(strstr(out, "frobnicate") != NULL, "%s", out);
  free(out);
}
END_TEST

START_TEST(sigterm_exits_promptly) {
  daemon_proc dp;
  const char *args[] = { "--no-config", "--backend", "null", NULL };
  long t0;

  daemon_start(&dp, args);
  t0 = svc_now_ms();
  ck_assert_int_eq(daemon_stop(&dp), 0);
  /* Promptly: far inside systemd's stop timeout (90 s), with room for a
   * sanitizer build's exit on a loaded machine (ASan's leak check alone
   * took 2.1 s there). */
  ck_assert_msg(svc_now_ms() - t0 < 10000, "SIGTERM took %ld ms", svc_now_ms() - t0);
}
END_TEST

static Suite *config_suite(void) {
  Suite *s = suite_create("config");
  TCase *tc = tcase_create("core");

  tcase_add_test(tc, load_applies_values);
  tcase_add_test(tc, missing_file);
  tcase_add_test(tc, load_refuses_mistakes);
  tcase_add_test(tc, daemon_applies_config_and_cli_wins);
  tcase_add_test(tc, daemon_refuses_bad_config);
  tcase_add_test(tc, no_config_reads_no_file);
  tcase_add_test(tc, sigterm_exits_promptly);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(config_suite)
