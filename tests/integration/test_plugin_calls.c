/* test_plugin_calls.c - no plugin call on the loop without a deadline
 * (issue 16): plugins that hang for 30 s in effGetChunk or effClose, and
 * one that crashes in effGetChunk.  With a deadline of one second
 * ($SONOD_PLUGIN_DEADLINE_MS), another client is answered within a second
 * all along, the hung request gets `timeout`, and the node is unusable
 * after it; a crash names the node and the call in the log. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "protocol/wire.h"
#include "tests/support/check_main.h"
#include "tests/support/harness.h"

static const char *const args[] = { "--backend", "null", NULL };

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Pings over c for ms milliseconds; each answer must come within 1 s. */
static void others_answered(conn *c, long ms) {
  long end = now_ms() + ms;

  while (now_ms() < end) {
    ck_assert_ptr_nonnull(msg_ok(conn_reply(c, conn_request(c, "ping", ""), 1000)));
    ck_assert_ptr_nonnull(msg_ok(conn_reply(c, conn_request(c, "plugin.list", ""), 1000)));
  }
}

static uint64_t load_iso(conn *c, const char *env, bool isolate) {
  const char *path = getenv(env);

  ck_assert_msg(path != NULL, "%s is not set", env);
  return msg_uint(conn_ok(c, conn_request(c, "plugin.load", "sb", "path", path, "isolate",
                                          (int)isolate)), "node");
}

static uint64_t load(conn *c, const char *env) {
  return load_iso(c, env, false);
}

/* Whether the string at key in map m contains want. */
static bool str_has(const msgpack_object *m, const char *key, const char *want) {
  m = sono_map_get(m, key);
  return m != NULL && m->type == MSGPACK_OBJECT_STR &&
         memmem(m->via.str.ptr, m->via.str.size, want, strlen(want)) != NULL;
}

/* A daemon with a one-second deadline, two clients, and the plugin env
 * names loaded over a; returns its node. */
static uint64_t start_two(daemon_proc *dp, conn *a, conn *b, const char *env) {
  setenv("SONOD_PLUGIN_DEADLINE_MS", "1000", 1);
  daemon_start(dp, args);
  conn_open(a, dp->socket);
  conn_open(b, dp->socket);
  return load(a, env);
}

START_TEST(hang_in_get_chunk_times_out) {
  daemon_proc dp;
  conn a, b;
  uint64_t node, id;
  const msgpack_object *m;

  node = start_two(&dp, &a, &b, "TESTPLUG_HANG_CHUNK");
  id = conn_request(&a, "plugin.state.get", "u", "node", node);
  others_answered(&b, 2500);
  m = conn_expect_error(&a, id, "timeout");
  m = sono_map_get(m, "message");
  ck_assert(m != NULL && m->type == MSGPACK_OBJECT_STR);
  ck_assert_ptr_nonnull(memmem(m->via.str.ptr, m->via.str.size, "effGetChunk", 11));
  /* Unusable now, with a clear word; it can still be unloaded. */
  conn_expect_error(&a, conn_request(&a, "plugin.params", "u", "node", node), "timeout");
  conn_expect_error(&b, conn_request(&b, "plugin.state.get", "u", "node", node), "timeout");
  ck_assert(conn_plugin_listed_as(&b, node, "hung"));
  conn_ok(&a, conn_request(&a, "plugin.unload", "u", "node", node));
  others_answered(&b, 300);
  conn_close(&b);
  daemon_shutdown(&dp, &a);
  ck_assert(daemon_log_contains(&dp, "effGetChunk did not return within 1000 ms"));
}
END_TEST

START_TEST(hang_in_set_program_times_out) {
  daemon_proc dp;
  conn a, b;
  uint64_t node, id;

  node = start_two(&dp, &a, &b, "TESTPLUG_HANG_PROGRAM");
  /* Program names are read without selecting one: answered. */
  conn_ok(&a, conn_request(&a, "plugin.programs", "u", "node", node));
  id = conn_request(&a, "plugin.program", "uu", "node", node, "program", (uint64_t)1);
  others_answered(&b, 2500);
  conn_expect_error(&a, id, "timeout");
  conn_expect_error(&b, conn_request(&b, "plugin.programs", "u", "node", node), "timeout");
  conn_close(&b);
  daemon_shutdown(&dp, &a);
  ck_assert(daemon_log_contains(&dp, "effSetProgram did not return within 1000 ms"));
}
END_TEST

START_TEST(hang_in_param_display_times_out) {
  daemon_proc dp;
  conn a, b;
  uint64_t node, id;

  node = start_two(&dp, &a, &b, "TESTPLUG_HANG_DISPLAY");
  id = conn_request(&a, "plugin.get", "uu", "node", node, "index", (uint64_t)0);
  others_answered(&b, 2500);
  conn_expect_error(&a, id, "timeout");
  conn_expect_error(&b, conn_request(&b, "plugin.params", "u", "node", node), "timeout");
  conn_close(&b);
  daemon_shutdown(&dp, &a);
}
END_TEST

START_TEST(hang_in_close_does_not_stall_the_loop) {
  daemon_proc dp;
  conn a, b;
  uint64_t node;

  node = start_two(&dp, &a, &b, "TESTPLUG_HANG_CLOSE");
  conn_ok(&a, conn_request(&a, "plugin.unload", "u", "node", node));
  others_answered(&b, 2500);
  ck_assert(daemon_log_contains(&dp, "effClose did not return within 1000 ms"));
  /* The daemon goes on loading and serving. */
  load(&a, "TESTPLUG");
  conn_close(&b);
  daemon_shutdown(&dp, &a);
}
END_TEST

START_TEST(shutdown_with_a_hung_close_ends_in_time) {
  daemon_proc dp;
  conn a;
  long t0;

  setenv("SONOD_PLUGIN_DEADLINE_MS", "1000", 1);
  daemon_start(&dp, args);
  conn_open(&a, dp.socket);
  load(&a, "TESTPLUG_HANG_CLOSE");
  t0 = now_ms();
  daemon_shutdown(&dp, &a);   /* unloads it: effClose hangs 30 s */
  ck_assert_int_lt(now_ms() - t0, 10000);
}
END_TEST

/* Isolated, the same hang is answered `timeout` at the same deadline, and
 * the node's host is killed: the node is crashed (plugin.crashed names the
 * call), not unusable, and plugin.restart brings it back. */
START_TEST(isolated_hang_kills_its_host) {
  const char *kinds[] = { "plugin" };
  daemon_proc dp;
  conn a, b, ev;
  uint64_t node, id;
  const msgpack_object *m;
  int k;

  setenv("SONOD_PLUGIN_DEADLINE_MS", "1000", 1);
  daemon_start(&dp, args);
  conn_open(&a, dp.socket);
  conn_open(&b, dp.socket);
  conn_open(&ev, dp.socket);
  conn_subscribe(&ev, 1, kinds, 1);
  node = load_iso(&a, "TESTPLUG_HANG_CHUNK", true);
  id = conn_request(&a, "plugin.state.get", "u", "node", node);
  others_answered(&b, 1500);
  m = conn_expect_error(&a, id, "timeout");
  ck_assert(str_has(m, "message", "effGetChunk"));
  ck_assert(str_has(m, "message", "plugin.restart"));
  do
    m = conn_recv(&ev, 5000);
  while (!msg_str_is(m, "event", "plugin.crashed"));
  ck_assert_uint_eq(msg_uint(m, "node"), node);
  ck_assert_msg(str_has(m, "reason", "effGetChunk did not return within 1000 ms"),
                "plugin.crashed without the call that killed it");
  ck_assert(conn_plugin_listed_as(&b, node, "crashed"));
  /* Busy only until the killed call's thread has returned (at once). */
  for (k = 0; k < 50; k++) {
    m = conn_reply(&a, conn_request(&a, "plugin.restart", "u", "node", node), 5000);
    if (msg_error_code(m) == NULL || strcmp(msg_error_code(m), "busy") != 0)
      break;
    usleep(20000);
  }
  ck_assert_msg(msg_ok(m) != NULL, "plugin.restart: %s", msg_error_code(m));
  ck_assert(conn_plugin_listed_as(&b, node, "running"));
  /* The restart ran on a thread that has ended since: the new host must
   * not die with it (PR_SET_PDEATHSIG would kill it). */
  usleep(300000);
  ck_assert(conn_plugin_listed_as(&b, node, "running"));
  conn_ok(&a, conn_request(&a, "plugin.params", "u", "node", node));
  conn_ok(&a, conn_request(&a, "plugin.unload", "u", "node", node));
  conn_close(&ev);
  conn_close(&b);
  daemon_shutdown(&dp, &a);
}
END_TEST

/* Whether process pid is gone (or a zombie waiting for its new parent). */
static bool gone(pid_t pid) {
  char path[64], stat[256];
  FILE *f;
  bool dead = true;

  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  if ((f = fopen(path, "r")) != NULL) {
    if (fgets(stat, sizeof stat, f) != NULL) {
      const char *p = strrchr(stat, ')');
      dead = p != NULL && (p[2] == 'Z' || p[2] == 'X');
    }
    fclose(f);
  }
  return dead;
}

/* The daemon's child processes: its plugin hosts (the scanner children
 * are gone once the loads are answered). */
static unsigned children_of(pid_t pid, pid_t *out, unsigned max) {
  char cmd[128], line[64];
  unsigned n = 0;
  FILE *p;

  snprintf(cmd, sizeof cmd, "cat /proc/%d/task/*/children", (int)pid);
  ck_assert_ptr_nonnull(p = popen(cmd, "r"));
  while (n < max && fscanf(p, "%63s", line) == 1)
    out[n++] = (pid_t)atol(line);
  pclose(p);
  return n;
}

/* Hosts die with the daemon, also one started by a restart (from a
 * thread that has ended) and the daemon killed with SIGKILL. */
START_TEST(isolated_hosts_die_with_the_daemon) {
  daemon_proc dp;
  conn a;
  pid_t kids[8];
  unsigned n, i;
  int k;

  daemon_start(&dp, args);
  conn_open(&a, dp.socket);
  load_iso(&a, "TESTPLUG", true);
  load_iso(&a, "TESTPLUG", true);
  n = children_of(dp.pid, kids, 8);
  ck_assert_uint_eq(n, 2);
  kill(dp.pid, SIGKILL);
  daemon_wait(&dp, 5000);
  for (i = 0; i < n; i++) {
    for (k = 0; k < 100 && !gone(kids[i]); k++)
      usleep(20000);
    ck_assert_msg(gone(kids[i]), "host %d outlived the daemon", (int)kids[i]);
  }
  conn_close(&a);
}
END_TEST

/* Starts a daemon with a bystander plugin and the plugin `env`, asks the
 * latter for its state (effGetChunk, where it crashes) and waits for the
 * daemon to die; returns its status, the node in *node. */
static int crash_in_chunk(daemon_proc *dp, const char *env, uint64_t *node) {
  conn a;
  int status;

  daemon_start(dp, args);
  conn_open(&a, dp->socket);
  (void)load(&a, "TESTPLUG");   /* node 1: a bystander */
  *node = load(&a, env);
  conn_request(&a, "plugin.state.get", "u", "node", *node);
  status = daemon_wait(dp, 10000);
  conn_close(&a);
  return status;
}

START_TEST(crash_names_node_and_call) {
  daemon_proc dp;
  uint64_t node;
  int status = crash_in_chunk(&dp, "TESTPLUG_CRASH_CHUNK", &node);

#ifdef __SANITIZE_ADDRESS__
  ck_assert_int_ne(status, 0);   /* AddressSanitizer reports it and exits */
#else
  ck_assert_int_lt(status, 0);   /* killed by its signal */
  {
    char want[64];
    snprintf(want, sizeof want, "crashed inside plugin node %llu (", (unsigned long long)node);
    ck_assert(daemon_log_contains(&dp, want));
    ck_assert(daemon_log_contains(&dp, "testplug_int_crash_chunk.so) in effGetChunk"));
  }
#endif
}
END_TEST

/* A real fault anywhere in the daemon leaves a report in its log: the
 * signal, the address and the mapping holding it, a backtrace (here a
 * plugin's SIGBUS on a memfd page past the file's end, inside a call, so
 * the plugin's name comes first). */
START_TEST(crash_report_names_signal_and_mapping) {
  daemon_proc dp;
  uint64_t node;
  int status = crash_in_chunk(&dp, "TESTPLUG_BUS_CHUNK", &node);

#ifdef __SANITIZE_ADDRESS__
  ck_assert_int_ne(status, 0);   /* AddressSanitizer reports it and exits */
#else
  ck_assert_int_eq(status, -SIGBUS);
  ck_assert(daemon_log_contains(&dp, "testplug_int_bus_chunk.so) in effGetChunk"));
  ck_assert(daemon_log_contains(&dp, "sonod: fatal SIGBUS (signal 7) in thread "));
  ck_assert(daemon_log_contains(&dp, ", code 2, at address 0x"));   /* BUS_ADRERR */
  ck_assert(daemon_log_contains(&dp, "sonod: the address is in the mapping "));
  ck_assert(daemon_log_contains(&dp, "/memfd:testplug-bus (deleted)"));
  ck_assert(daemon_log_contains(&dp, "sonod: backtrace:"));
  ck_assert(daemon_log_contains(&dp, "testplug_int_bus_chunk.so("));
  ck_assert_uint_eq(node, 2);
#endif
}
END_TEST

/* After a state.load of two plugins: the one listed at `at` has its
 * parameter 2 at 0.25 again; then the daemon is shut down. */
static void restored_and_end(daemon_proc *dp, conn *a, conn *b, uint32_t at, const char *home) {
  const msgpack_object *m = sono_map_get(conn_ok(a, conn_request(a, "plugin.list", "")), "nodes");
  uint64_t by;

  ck_assert_uint_eq(m->via.array.size, 2);
  by = msg_uint(&m->via.array.ptr[at], "node");
  m = conn_ok(a, conn_request(a, "plugin.get", "uu", "node", by, "index", (uint64_t)2));
  ck_assert_double_eq_tol(msg_double(m, "value"), 0.25, 1e-6);
  conn_close(b);
  daemon_shutdown(dp, a);
  home_remove(home);
}

/* state.save (and the autosave) ask each plugin for its state on the
 * plugin-call thread: one hanging in effGetChunk does not stop the loop
 * (the other client is answered all along), and the save is written at
 * the deadline with the node listed under `timeout`; the others are in the
 * file (a bystander's parameter comes back with state.load). */
START_TEST(save_with_a_hung_plugin) {
  daemon_proc dp;
  conn a, b;
  char home[300], saved[400];
  uint64_t by, hung, id;
  const msgpack_object *m, *late;
  long t0;

  home_make(home, sizeof home, "plugin-calls");
  snprintf(saved, sizeof saved, "%s/s.sonod", home);
  by = start_two(&dp, &a, &b, "TESTPLUG");
  hung = load(&a, "TESTPLUG_HANG_CHUNK");
  conn_ok(&a, conn_request(&a, "plugin.set", "uud", "node", by, "index", (uint64_t)2, "value", 0.25));
  conn_ok(&a, conn_request(&a, "sync", ""));
  t0 = now_ms();
  id = conn_request(&a, "state.save", "s", "path", saved);
  others_answered(&b, 1500);
  m = conn_ok(&a, id);
  ck_assert_int_ge(now_ms() - t0, 900);   /* it waited for the deadline */
  late = sono_map_get(m, "timeout");
  ck_assert(late != NULL && late->type == MSGPACK_OBJECT_ARRAY);
  ck_assert_uint_eq(late->via.array.size, 1);
  ck_assert_uint_eq(late->via.array.ptr[0].via.u64, hung);
  /* Hung now: the next save does not ask it again, and is at once. */
  t0 = now_ms();
  m = msg_ok(conn_reply(&a, conn_request(&a, "state.save", "s", "path", saved), 800));
  ck_assert_ptr_nonnull(m);
  late = sono_map_get(m, "timeout");
  ck_assert(late != NULL && late->type == MSGPACK_OBJECT_ARRAY);
  ck_assert_uint_eq(late->via.array.size, 0);
  conn_ok(&a, conn_request(&a, "plugin.unload", "u", "node", hung));
  conn_ok(&a, conn_request(&a, "plugin.set", "uud", "node", by, "index", (uint64_t)2, "value", 0.75));
  conn_ok(&a, conn_request(&a, "plugin.unload", "u", "node", by));
  conn_ok(&a, conn_request(&a, "state.load", "s", "path", saved));
  restored_and_end(&dp, &a, &b, 0, home);
}
END_TEST

/* state.load gives each plugin it loads its program, state and parameters
 * on the plugin-call thread: one that hangs in effSetProgram does not stop
 * the loop; the load ends at the deadline with load_failed naming it, and
 * the other plugin of the file is restored with its parameter. */
START_TEST(load_with_a_hung_plugin) {
  daemon_proc dp;
  conn a, b;
  char home[300], saved[400];
  uint64_t by, hung, id;
  const msgpack_object *m;

  home_make(home, sizeof home, "plugin-calls");
  snprintf(saved, sizeof saved, "%s/s.sonod", home);
  hung = start_two(&dp, &a, &b, "TESTPLUG_HANG_PROGRAM");
  by = load(&a, "TESTPLUG");
  conn_ok(&a, conn_request(&a, "plugin.set", "uud", "node", by, "index", (uint64_t)2, "value", 0.25));
  conn_ok(&a, conn_request(&a, "sync", ""));
  conn_ok(&a, conn_request(&a, "state.save", "s", "path", saved));
  conn_ok(&a, conn_request(&a, "plugin.unload", "u", "node", hung));
  conn_ok(&a, conn_request(&a, "plugin.unload", "u", "node", by));
  id = conn_request(&a, "state.load", "s", "path", saved);
  others_answered(&b, 1500);
  m = conn_expect_error(&a, id, "load_failed");
  ck_assert(str_has(m, "message", "did not return within 1000 ms"));
  restored_and_end(&dp, &a, &b, 1, home);
}
END_TEST

/* plugin.param events carry the plugin's display text, which is plugin
 * code: asked on the plugin-call thread.  A plugin that hangs in
 * effGetParamDisplay does not stop the loop; the event comes at the
 * deadline with display nil. */
START_TEST(param_event_display_off_the_loop) {
  const char *kinds[] = { "plugin" };
  daemon_proc dp;
  conn a, b, ev;
  uint64_t node;
  const msgpack_object *m;
  long end;

  node = start_two(&dp, &a, &b, "TESTPLUG_HANG_DISPLAY");
  conn_open(&ev, dp.socket);
  conn_subscribe(&ev, 1, kinds, 1);
  /* "Echo" (1) moves Gain (0) and tells the host: a plugin.param event. */
  conn_ok(&a, conn_request(&a, "plugin.set", "uud", "node", node, "index", (uint64_t)1, "value", 0.5));
  others_answered(&b, 1500);
  end = now_ms() + 5000;
  do
    m = conn_recv(&ev, 5000);
  while (!msg_str_is(m, "event", "plugin.param") && now_ms() < end);
  ck_assert(msg_str_is(m, "event", "plugin.param"));
  ck_assert_uint_eq(msg_uint(m, "node"), node);
  ck_assert_uint_eq(msg_uint(m, "index"), 0);
  m = sono_map_get(m, "display");
  ck_assert(m != NULL && m->type == MSGPACK_OBJECT_NIL);
  conn_close(&ev);
  conn_close(&b);
  daemon_shutdown(&dp, &a);
}
END_TEST

static Suite *plugin_calls_suite(void) {
  Suite *s = suite_create("plugin_calls");
  TCase *tc = tcase_create("core");

  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, hang_in_get_chunk_times_out);
  tcase_add_test(tc, hang_in_set_program_times_out);
  tcase_add_test(tc, hang_in_param_display_times_out);
  tcase_add_test(tc, hang_in_close_does_not_stall_the_loop);
  tcase_add_test(tc, shutdown_with_a_hung_close_ends_in_time);
  tcase_add_test(tc, isolated_hang_kills_its_host);
  tcase_add_test(tc, isolated_hosts_die_with_the_daemon);
  tcase_add_test(tc, crash_names_node_and_call);
  tcase_add_test(tc, crash_report_names_signal_and_mapping);
  tcase_add_test(tc, save_with_a_hung_plugin);
  tcase_add_test(tc, load_with_a_hung_plugin);
  tcase_add_test(tc, param_event_display_off_the_loop);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(plugin_calls_suite)
