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

static uint64_t load(conn *c, const char *env) {
  const char *path = getenv(env);

  ck_assert_msg(path != NULL, "%s is not set", env);
  return msg_uint(conn_ok(c, conn_request(c, "plugin.load", "s", "path", path)), "node");
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

START_TEST(crash_names_node_and_call) {
  daemon_proc dp;
  conn a;
  uint64_t node;
  int status;

  daemon_start(&dp, args);
  conn_open(&a, dp.socket);
  node = load(&a, "TESTPLUG");   /* node 1: a bystander */
  node = load(&a, "TESTPLUG_CRASH_CHUNK");
  conn_request(&a, "plugin.state.get", "u", "node", node);
  status = daemon_wait(&dp, 10000);
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
  conn_close(&a);
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
  tcase_add_test(tc, crash_names_node_and_call);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(plugin_calls_suite)
