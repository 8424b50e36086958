/* Service suite: what gets installed.  systemd-analyze verify on every
 * unit (copies configured with the build tree's sonod, since verify checks
 * that ExecStart= exists, and with MANPATH on our man pages, since it checks
 * Documentation=), the sysusers.d entry, the man pages through man's
 * warnings, and the bash completion. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/service/svc_util.h"
#include "tests/support/check_main.h"

static const char *env_or_die(const char *name) {
  const char *v = getenv(name);
  ck_assert_msg(v != NULL, "%s must be set (meson test sets it)", name);
  return v;
}

static void copy_file(const char *from, const char *to) {
  char *text = svc_read_file(from);

  ck_assert_msg(text[0] != '\0', "cannot read %s", from);
  svc_write_file(to, text);
  free(text);
}

/* Runs argv with extra env, returns the exit status; output in *out. */
static int run(const char *const *argv, const char *const *env, char **out) {
  char dir[256], log[300];
  int status;

  svc_tmpdir(dir, sizeof dir);
  snprintf(log, sizeof log, "%s/out", dir);
  status = svc_wait(svc_spawn(argv, env, NULL, log), 60000);
  *out = svc_read_file(log);
  return status;
}

static bool have(const char *path) {
  if (access(path, X_OK) == 0)
    return true;
  fprintf(stderr, "SKIP: %s is missing (Debian package systemd)\n", path);
  return false;
}

/* A MANPATH holding our pages, so verify's `man sonod(8)` finds them. */
static void make_manpath(const char *dir, char *manpath, size_t size) {
  const char *src = env_or_die("MAN_SRC_DIR");
  static const char *const pages[][2] = {
    { "man8", "sonod.8" }, { "man5", "sonod.conf.5" }, { "man1", "sonoctl.1" },
  };
  char path[600], from[600];
  size_t i;

  snprintf(manpath, size, "%s/man", dir);
  mkdir(manpath, 0755);
  for (i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/%s", manpath, pages[i][0]);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", manpath, pages[i][0], pages[i][1]);
    snprintf(from, sizeof from, "%s/%s", src, pages[i][1]);
    copy_file(from, path);
  }
}

static void verify_units(bool user) {
  const char *build = env_or_die("UNITS_BUILD_DIR");
  const char *src = env_or_die("UNITS_SRC_DIR");
  char dir[256], service[300], socket_[300], from[600], manpath[300];
  char env_man[400], env_rt[400], rt[300];
  /* Documentation= is checked through man when it is there. */
  const char *man = access("/usr/bin/man", X_OK) == 0 ? "--man=yes" : "--man=no";
  const char *argv[] = { "/usr/bin/systemd-analyze", user ? "--user" : "verify",
                         user ? "verify" : man, user ? man : service,
                         user ? service : socket_, user ? socket_ : NULL, NULL };
  const char *env[] = { env_man, env_rt, NULL };
  char *out;
  int status;

  if (!have(argv[0]))
    return;
  svc_tmpdir(dir, sizeof dir);
  snprintf(service, sizeof service, "%s/sonod.service", dir);
  snprintf(socket_, sizeof socket_, "%s/sonod.socket", dir);
  snprintf(from, sizeof from, "%s/%s-sonod.service", build, user ? "user" : "system");
  copy_file(from, service);
  snprintf(from, sizeof from, "%s/%ssonod.socket", src, user ? "user/" : "");
  copy_file(from, socket_);
  make_manpath(dir, manpath, sizeof manpath);
  snprintf(env_man, sizeof env_man, "MANPATH=%s", manpath);
  /* A user manager needs a runtime directory, even only to verify. */
  snprintf(rt, sizeof rt, "%s/run", dir);
  mkdir(rt, 0700);
  snprintf(env_rt, sizeof env_rt, "XDG_RUNTIME_DIR=%s", rt);

  status = run(argv, env, &out);
  /* verify exits 0 on some mistakes (an unknown key is only a warning), so
   * any word about our units fails the test too. */
  ck_assert_msg(status == 0 && strstr(out, "sonod") == NULL,
                "systemd-analyze verify (%s units), status %d:\n%.2000s", user ? "user" : "system",
                status, out);
  free(out);
}

START_TEST(system_units_verify) {
  verify_units(false);
}
END_TEST

START_TEST(user_units_verify) {
  verify_units(true);
}
END_TEST

START_TEST(sysusers_entry) {
  char dir[256], root[300], file[300], *out;
  const char *argv[] = { "/usr/bin/systemd-sysusers", "--dry-run", root, file, NULL };

  if (!have(argv[0]))
    return;
  svc_tmpdir(dir, sizeof dir);
  snprintf(root, sizeof root, "--root=%s", dir);
  snprintf(file, sizeof file, "%s/sonod.sysusers", env_or_die("UNITS_SRC_DIR"));
  ck_assert_int_eq(run(argv, NULL, &out), 0);
  ck_assert_msg(strstr(out, "Creating user 'sonod'") != NULL, "%s", out);
  ck_assert_msg(strstr(out, "sonod.sysusers") == NULL, "complaints:\n%s", out);
  free(out);
}
END_TEST

START_TEST(man_pages_format_cleanly) {
  static const char *const pages[] = { "sonod.8", "sonod.conf.5", "sonoctl.1" };
  char script[1024], *out;
  const char *argv[] = { "/bin/sh", "-c", script, NULL };
  const char *env[] = { "MANWIDTH=80", "LC_ALL=C.UTF-8", NULL };
  size_t i;

  if (access("/usr/bin/man", X_OK) != 0) {
    fprintf(stderr, "SKIP: man is missing (Debian package man-db)\n");
    return;
  }
  for (i = 0; i < 3; i++) {
    /* Only groff's complaints reach the output; the page must format to a
     * NAME section. */
    snprintf(script, sizeof script,
             "page=$(man --warnings -l '%s/%s') || exit 1\n"
             "case \"$page\" in *NAME*) ;; *) echo no NAME ;; esac",
             env_or_die("MAN_SRC_DIR"), pages[i]);
    ck_assert_int_eq(run(argv, env, &out), 0);
    ck_assert_msg(out[0] == '\0', "%s:\n%.2000s", pages[i], out);
    free(out);
  }
}
END_TEST

/* The completion in plain bash (bash-completion itself may be absent). */
START_TEST(bash_completion) {
  char script[2048], *out;
  const char *argv[] = { "/bin/bash", "--norc", "-c", script, NULL };

  snprintf(script, sizeof script,
           "source '%s' || exit 1\n"
           "c() { COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _sonoctl;"
           " echo \"${COMPREPLY[*]}\"; }\n"
           "c sonoctl st\n"
           "c sonoctl -s /tmp/x tone ''\n"
           "c sonoctl tone on --fr\n"
           "c sonoctl --js\n"
           "c sonoctl monitor x\n",
           env_or_die("COMPLETION"));
  ck_assert_int_eq(run(argv, NULL, &out), 0);
  ck_assert_str_eq(out, "status state\non off\n--freq\n--json\nxrun\n");
  free(out);
}
END_TEST

static Suite *units_suite(void) {
  Suite *s = suite_create("units");
  TCase *tc = tcase_create("core");

  tcase_add_test(tc, system_units_verify);
  tcase_add_test(tc, user_units_verify);
  tcase_add_test(tc, sysusers_entry);
  tcase_add_test(tc, man_pages_format_cleanly);
  tcase_add_test(tc, bash_completion);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(units_suite)
