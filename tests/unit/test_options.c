/* Unit tests: the daemon's command line. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <stdio.h>
#include <unistd.h>

#include "daemon/base/config.h"
#include "daemon/base/options.h"
#include "tests/support/check_main.h"

static options_result parse(options *o, char *err, const char *const *args) {
  char *argv[32];
  int argc = 0;

  argv[argc++] = (char *)"sonod";
  while (*args)
    argv[argc++] = (char *)*args++;
  argv[argc] = NULL;
  options_defaults(o);
  return options_parse(o, argc, argv, err, 256);
}

START_TEST(defaults) {
  options o;
  char err[256];
  const char *args[] = { NULL };

  setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
  ck_assert_int_eq(parse(&o, err, args), OPTIONS_RUN);
  ck_assert_int_eq(o.backend, BACKEND_AUTO);
  ck_assert_str_eq(o.socket_path, "/run/user/1000/sonod.sock");
  ck_assert_uint_eq(o.sample_rate, 48000);
  ck_assert_uint_eq(o.channels, 2);
  ck_assert_str_eq(o.tcp_host, "");
  unsetenv("XDG_RUNTIME_DIR");
  options_defaults(&o);
  ck_assert_str_eq(o.socket_path, "/run/sonod/sonod.sock");
}
END_TEST

/* --no-config: no settings file; of it and --config the last counts. */
START_TEST(no_config_last_one_counts) {
  options o;
  char err[256];
  const char *none[] = { "--no-config", NULL };
  const char *file_last[] = { "--no-config", "--config", "/etc/x.conf", NULL };
  const char *none_last[] = { "--config", "/etc/x.conf", "--no-config", NULL };

  ck_assert_int_eq(parse(&o, err, none), OPTIONS_RUN);
  ck_assert_int_eq(o.no_config, 1);
  ck_assert_int_eq(o.config_given, 0);
  ck_assert_int_eq(parse(&o, err, file_last), OPTIONS_RUN);
  ck_assert_int_eq(o.no_config, 0);
  ck_assert_int_eq(o.config_given, 1);
  ck_assert_str_eq(o.config_path, "/etc/x.conf");
  ck_assert_int_eq(parse(&o, err, none_last), OPTIONS_RUN);
  ck_assert_int_eq(o.no_config, 1);
  ck_assert_int_eq(o.config_given, 0);
}
END_TEST

START_TEST(all_options) {
  options o;
  char err[256];
  const char *args[] = { "--backend", "offline", "--socket", "/tmp/x.sock", "--tcp", "[::1]:7000",
                         "--tcp-token-file", "/etc/sonod/tcp-token",
                         "--sample-rate", "44100", "--block-size", "64", "--channels", "4",
                         "--jack-name", "me", "--output", "/tmp/o.wav", "--length", "2.5",
                         "-v", "-v", NULL };

  ck_assert_int_eq(parse(&o, err, args), OPTIONS_RUN);
  ck_assert_int_eq(o.backend, BACKEND_OFFLINE);
  ck_assert_str_eq(o.socket_path, "/tmp/x.sock");
  ck_assert_str_eq(o.tcp_host, "::1");
  ck_assert_int_eq(o.tcp_port, 7000);
  ck_assert_str_eq(o.tcp_token_file, "/etc/sonod/tcp-token");
  ck_assert_uint_eq(o.sample_rate, 44100);
  ck_assert_uint_eq(o.block_size, 64);
  ck_assert_uint_eq(o.channels, 4);
  ck_assert_str_eq(o.jack_name, "me");
  ck_assert_str_eq(o.output, "/tmp/o.wav");
  ck_assert_double_eq(o.length, 2.5);
  ck_assert_int_eq(o.verbose, 2);
}
END_TEST

/* Confinement: the lists repeat, on the command line and in a config
 * file (a list key given twice is not "given twice"), and add up. */
START_TEST(confinement_lists_and_flags) {
  options o;
  char err[256], conf[] = "/tmp/sonod-options-XXXXXX";
  const char *args[] = { "--file-root", "/srv/a", "--file-root", "/srv/b", "--plugin-path",
                         "/opt/vst", "--allow-any-path", "--csound-unsafe", NULL };
  int fd, loaded;

  ck_assert_int_eq(parse(&o, err, args), OPTIONS_RUN);
  ck_assert_uint_eq(o.nfile_root, 2);
  ck_assert_str_eq(o.file_root[1], "/srv/b");
  ck_assert_uint_eq(o.nplugin_path, 1);
  ck_assert_str_eq(o.plugin_path[0], "/opt/vst");
  ck_assert_int_eq(o.allow_any_path, 1);
  ck_assert_int_eq(o.allow_any_plugin, 0);
  ck_assert_int_eq(o.csound_unsafe, 1);

  fd = mkstemp(conf);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_gt(dprintf(fd, "file-root = /srv/c\nfile-root = /srv/d\nallow-any-plugin = yes\n"
                               "plugin-path = /opt/x\n"), 0);
  close(fd);
  options_defaults(&o);
  ck_assert_msg(config_load(&o, conf, 1, &loaded, err, sizeof err) == 0, "%s", err);
  unlink(conf);
  ck_assert_uint_eq(o.nfile_root, 2);
  ck_assert_str_eq(o.file_root[0], "/srv/c");
  ck_assert_str_eq(o.file_root[1], "/srv/d");
  ck_assert_int_eq(o.allow_any_plugin, 1);
  ck_assert_uint_eq(o.nplugin_path, 1);
}
END_TEST

/* isolate-plugins: on, off, or on in a host group, on the command line
 * and in the config file. */
START_TEST(isolate_plugins_group) {
  options o;
  char err[256], conf[] = "/tmp/sonod-options-XXXXXX";
  const char *own[] = { "--isolate-plugins", NULL };
  const char *grp[] = { "--isolate-plugins=synths", NULL };
  const char *bad[] = { "--isolate-plugins=a/b", NULL };
  int fd, loaded;

  ck_assert_int_eq(parse(&o, err, own), OPTIONS_RUN);
  ck_assert_int_eq(o.isolate_plugins, 1);
  ck_assert_str_eq(o.isolate_group, "");
  ck_assert_int_eq(parse(&o, err, grp), OPTIONS_RUN);
  ck_assert_int_eq(o.isolate_plugins, 1);
  ck_assert_str_eq(o.isolate_group, "synths");
  ck_assert_int_eq(parse(&o, err, bad), OPTIONS_ERROR);
  ck_assert_ptr_nonnull(strstr(err, "host group"));
  fd = mkstemp(conf);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_gt(dprintf(fd, "isolate-plugins = fx.bus-1\n"), 0);
  close(fd);
  options_defaults(&o);
  ck_assert_msg(config_load(&o, conf, 1, &loaded, err, sizeof err) == 0, "%s", err);
  unlink(conf);
  ck_assert_int_eq(o.isolate_plugins, 1);
  ck_assert_str_eq(o.isolate_group, "fx.bus-1");
}
END_TEST

static void expect_error(const char *const *args, const char *fragment) {
  options o;
  char err[256];

  ck_assert_int_eq(parse(&o, err, args), OPTIONS_ERROR);
  ck_assert_msg(strstr(err, fragment) != NULL, "'%s' not in '%s'", fragment, err);
}

START_TEST(bad_values_are_named) {
  const char *a1[] = { "--backend", "alsa", NULL };
  const char *a2[] = { "--sample-rate", "abc", NULL };
  const char *a3[] = { "--channels", "0", NULL };
  const char *a4[] = { "--tcp", "localhost", NULL };
  const char *a5[] = { "--tcp", "localhost:70000", NULL };
  const char *a6[] = { "--backend", "offline", NULL };
  const char *a7[] = { "--output", "x.wav", NULL };
  const char *a8[] = { "--frobnicate", NULL };
  const char *a9[] = { "--socket", NULL };
  const char *a10[] = { "--block-size", "-5", NULL };

  expect_error(a1, "--backend");
  expect_error(a2, "--sample-rate");
  expect_error(a3, "--channels");
  expect_error(a4, "--tcp");
  {
    const char *empty[] = { "--tcp-token-file", "", NULL };
    expect_error(empty, "--tcp-token-file: path empty");
  }
  expect_error(a5, "--tcp");
  expect_error(a6, "needs --output");
  expect_error(a7, "only to --backend offline");
  expect_error(a8, "unknown option");
  expect_error(a9, "needs a value");
  expect_error(a10, "--block-size");
}
END_TEST

static Suite *options_suite(void) {
  Suite *s = suite_create("options");
  TCase *tc = tcase_create("core");

  tcase_add_test(tc, defaults);
  tcase_add_test(tc, all_options);
  tcase_add_test(tc, no_config_last_one_counts);
  tcase_add_test(tc, bad_values_are_named);
  tcase_add_test(tc, confinement_lists_and_flags);
  tcase_add_test(tc, isolate_plugins_group);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(options_suite)
