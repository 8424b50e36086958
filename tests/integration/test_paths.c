/* Integration: paths that name something other than a regular file.
 *
 * A FIFO used to block the control thread (open waits for the other end),
 * and a device node was opened and written (record.start to /dev/full) or
 * replaced (a rename over /dev/null).  The tests never point sonod at a
 * real device: a FIFO, a directory and a Unix socket, made in the test's
 * own folder, are the non-regular files; the code refuses every kind the
 * same way (daemon/file/file.c).  Each refusal must come at once, with
 * file_error naming the kind, and the daemon must answer other clients
 * meanwhile. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "protocol/wire.h"
#include "tests/support/check_main.h"
#include "tests/support/harness.h"

static daemon_proc dp;
static conn c;
static char home[128];
static char fifo[256], dir[256], sock[100];
static int sock_fd = -1;

static void start(const char *const *extra) {
  const char *args[16] = { "--backend", "null" };
  int n = 2;

  while (extra != NULL && *extra != NULL)
    args[n++] = *extra++;
  args[n] = NULL;
  daemon_start(&dp, args);
  conn_open(&c, dp.socket);
}

static void make_odd_files(void) {
  struct sockaddr_un sa;

  home_make(home, sizeof home, "paths");
  snprintf(fifo, sizeof fifo, "%s/fifo.wav", home);
  snprintf(dir, sizeof dir, "%s/dir.wav", home);
  ck_assert_int_lt(snprintf(sock, sizeof sock, "%s/sock.wav", home), (int)sizeof sock);
  ck_assert_int_eq(mkfifo(fifo, 0600), 0);
  ck_assert_int_eq(mkdir(dir, 0700), 0);
  sock_fd = socket(AF_UNIX, SOCK_STREAM, 0);
  ck_assert_int_ge(sock_fd, 0);
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, sock, strlen(sock) + 1);
  ck_assert_int_eq(bind(sock_fd, (struct sockaddr *)&sa, sizeof sa), 0);
}

static void setup(void) {
  unsetenv("STATE_DIRECTORY");   /* only what a test passes */
  make_odd_files();
}

static void teardown(void) {
  close(sock_fd);
  home_remove(home);
}

/* The error's message, for substring checks. */
static const char *message_of(const msgpack_object *m) {
  static char buf[1024];
  const msgpack_object *msg = sono_map_get(sono_map_get(m, "error"), "message");

  ck_assert(msg != NULL && msg->type == MSGPACK_OBJECT_STR);
  snprintf(buf, sizeof buf, "%.*s", (int)msg->via.str.size, msg->via.str.ptr);
  return buf;
}

/* op {path} answers file_error at once, naming what the path is, and a
 * second client is served right after. */
static void refused(const char *op, const char *path, const char *kind) {
  const msgpack_object *m = conn_reply(&c, conn_request(&c, op, "s", "path", path), 5000);
  conn other;

  ck_assert_str_eq(msg_error_code(m), "file_error");
  ck_assert_msg(strstr(message_of(m), kind) != NULL, "%s %s: %s", op, path, message_of(m));
  conn_open(&other, dp.socket);
  ck_assert_ptr_nonnull(msg_ok(conn_reply(&other, conn_request(&other, "ping", ""), 2000)));
  conn_close(&other);
}

START_TEST(tables_read_only_regular_files) {
  start(NULL);
  refused("table.read", fifo, "is a FIFO, not a regular file");
  refused("table.read", dir, "is a directory, not a regular file");
  refused("table.read", sock, "is a socket, not a regular file");
  daemon_shutdown(&dp, &c);
}
END_TEST

START_TEST(recordings_write_only_regular_files) {
  struct stat st;

  start(NULL);
  refused("record.start", fifo, "is a FIFO, not a regular file");
  refused("record.start", dir, "is a directory, not a regular file");
  refused("record.start", sock, "is a socket, not a regular file");
  /* Nothing was replaced or created in their place. */
  ck_assert_int_eq(stat(fifo, &st), 0);
  ck_assert(S_ISFIFO(st.st_mode));
  ck_assert_int_eq(stat(dir, &st), 0);
  ck_assert(S_ISDIR(st.st_mode));
  daemon_shutdown(&dp, &c);
}
END_TEST

/* state.save never renames over anything but a regular file; state.load
 * never opens a FIFO. */
START_TEST(session_files_are_regular_files) {
  struct stat st;
  char ok_path[300];

  start(NULL);
  refused("state.save", fifo, "is a FIFO, not a regular file");
  refused("state.save", dir, "is a directory, not a regular file");
  refused("state.save", sock, "is a socket, not a regular file");
  ck_assert_int_eq(stat(fifo, &st), 0);
  ck_assert(S_ISFIFO(st.st_mode));
  refused("state.load", fifo, "is a FIFO, not a regular file");
  refused("state.load", dir, "is a directory, not a regular file");
  /* A regular file is still replaced as before. */
  snprintf(ok_path, sizeof ok_path, "%s/session.sonod", home);
  ck_assert_ptr_nonnull(msg_ok(conn_reply(&c, conn_request(&c, "state.save", "s", "path", ok_path),
                                          5000)));
  ck_assert_ptr_nonnull(msg_ok(conn_reply(&c, conn_request(&c, "state.save", "s", "path", ok_path),
                                          5000)));
  ck_assert_int_eq(stat(ok_path, &st), 0);
  ck_assert(S_ISREG(st.st_mode));
  daemon_shutdown(&dp, &c);
}
END_TEST

/* Temporary files that a killed save left in the state directory are
 * removed at start; other files there are not. */
START_TEST(stale_save_temps_are_removed) {
  char state[300], tmp1[400], tmp2[400], other[400];
  const char *args[] = { "--state-dir", state, NULL };
  FILE *f;

  snprintf(state, sizeof state, "%s/state", home);
  ck_assert_int_eq(mkdir(state, 0700), 0);
  snprintf(tmp1, sizeof tmp1, "%s/.session.sonod.tmp-4242-1", state);
  snprintf(tmp2, sizeof tmp2, "%s/.session.sonod.tmp-4243-7", state);
  snprintf(other, sizeof other, "%s/.session.sonod.keep", state);
  const char *names[] = { tmp1, tmp2, other };
  for (int i = 0; i < 3; i++) {
    f = fopen(names[i], "w");
    ck_assert_ptr_nonnull(f);
    fputs("partial", f);
    fclose(f);
  }
  start(args);
  /* Requests are read once the start-up restore is over, and the clean-up
   * comes before it. */
  ck_assert_ptr_nonnull(msg_ok(conn_reply(&c, conn_request(&c, "ping", ""), 5000)));
  ck_assert_int_ne(access(tmp1, F_OK), 0);
  ck_assert_int_ne(access(tmp2, F_OK), 0);
  ck_assert_int_eq(access(other, F_OK), 0);
  ck_assert(daemon_log_contains(&dp, "removed 2 temporary files of saves interrupted earlier"));
  daemon_shutdown(&dp, &c);
}
END_TEST

/* Csound code that names a file to read (a GEN 1 table, a sound file
 * from disk): Csound opens it, blocking, where it merges or inits the
 * code, on the audio thread, which a FIFO would stop for good.  A named
 * path that is anything but a regular file is denied at compile, at once;
 * one that names nothing yet is not. */
static void code_denied(const char *fmt, const char *path, const char *opcode) {
  char code[600];
  const msgpack_object *m;

  snprintf(code, sizeof code, fmt, path);
  m = conn_reply(&c, conn_request(&c, "csound.compile", "s", "code", code), 5000);
  ck_assert_str_eq(msg_error_code(m), "denied");
  ck_assert_msg(strstr(message_of(m), opcode) != NULL && strstr(message_of(m), "regular file"),
                "%s", message_of(m));
}

START_TEST(csound_code_reads_only_regular_files) {
  char none[300], code[600];

  start(NULL);
  code_denied("gi1 ftgen 0, 0, 0, 1, \"%s\", 0, 0, 0\n", fifo, "ftgen");
  code_denied("instr 1\n  a1 diskin2 \"%s\", 1\n  out a1\nendin\n", fifo, "diskin2");
  code_denied("instr 1\n  a1 soundin \"%s\"\n  out a1\nendin\n", dir, "soundin");
  code_denied("gi1 ftgen 0, 0, 0, 1, \"%s\", 0, 0, 0\n", sock, "ftgen");
  snprintf(none, sizeof none, "%s/later.wav", home);
  snprintf(code, sizeof code, "instr 1\n  a1 diskin2 \"%s\", 1\n  out a1\nendin\n", none);
  ck_assert_ptr_nonnull(msg_ok(conn_reply(&c, conn_request(&c, "csound.compile", "s", "code",
                                                           code), 5000)));
  ck_assert_ptr_nonnull(msg_ok(conn_reply(&c, conn_request(&c, "ping", ""), 5000)));
  daemon_shutdown(&dp, &c);
}
END_TEST

/* The offline backend's output: sonod refuses to start (exit 1, the reason
 * in its log) instead of blocking on the FIFO before it listens. */
START_TEST(offline_output_must_be_a_regular_file) {
  const char *args[] = { "--backend", "offline", "--output", fifo, NULL };
  daemon_proc off;

  daemon_spawn(&off, args);
  ck_assert_int_eq(daemon_wait(&off, 10000), 1);
  ck_assert(daemon_log_contains(&off, "is a FIFO, not a regular file"));
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("paths");
  TCase *tc = tcase_create("paths");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, tables_read_only_regular_files);
  tcase_add_test(tc, recordings_write_only_regular_files);
  tcase_add_test(tc, session_files_are_regular_files);
  tcase_add_test(tc, stale_save_temps_are_removed);
  tcase_add_test(tc, csound_code_reads_only_regular_files);
  tcase_add_test(tc, offline_output_must_be_a_regular_file);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(suite)
