/* Integration: state.load runs on the loop in stages, so the daemon keeps
 * serving while a session with several real plugins and Csound
 * instruments is applied.  Orders are asserted, never times: requests
 * written in the same frame burst as the load are answered (busy, pong)
 * before it; a second connection's whole life (connect, ping, close) is
 * seen by the loading client before its reply; a client that leaves
 * mid-load leaves a complete load behind (the node ids show it); a
 * shutdown mid-load exits cleanly and saves nothing half-applied. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "protocol/wire.h"
#include "tests/support/check_main.h"
#include "tests/support/harness.h"
#include "tests/support/offline.h"

/* ZynAddSubFX takes seconds to check and load (twice that for both): the
 * load cannot end before the requests the tests send meanwhile arrive. */
#define NPLUG 6
static const char *const plugs[NPLUG] = {
  "/usr/lib/vst/amsynth_vst.so",  "/usr/lib/vst/MaFreeverb-vst.so",
  "/usr/lib/vst/MaBitcrush-vst.so", "/usr/lib/vst/Kars-vst.so",
  "/usr/lib/vst/3BandEQ-vst.so", "/usr/lib/vst/ZynAddSubFX.so",
};
#define BEEP "|kfreq=440, kamp=0.1|\nasig = oscili(kamp, kfreq)\nouts asig, asig\n"
#define BOOP "|kfreq=220|\nasig = oscili(0.1, kfreq)\nouts asig, asig\n"

static daemon_proc dp;
static conn c;
static char home[300];
static char session_path[400];

static void start(const char *backend, const char *state_dir) {
  char out[400];

  if (strcmp(backend, "offline") == 0) {
    snprintf(out, sizeof out, "%s/out.wav", home);
    offline_start_state(&dp, &c, out, state_dir);
  } else {
    const char *args[] = { "--backend", backend, "-v", "--state-dir", state_dir, NULL };

    if (state_dir == NULL)
      args[3] = NULL;
    daemon_start(&dp, args);
    conn_open(&c, dp.socket);
  }
}

/* The session every test loads: NPLUG plugins (node ids 1..NPLUG in that
 * order), a code block, two instruments and a table, saved to
 * session_path by an offline daemon of its own. */
static void make_session(void) {
  unsigned i;

  home_make(home, sizeof home, "stateload");
  snprintf(session_path, sizeof session_path, "%s/five.sonod", home);
  start("offline", NULL);
  for (i = 0; i < NPLUG; i++)
    ck_assert_uint_eq(msg_uint(conn_ok(&c, conn_request(&c, "plugin.load", "s", "path", plugs[i])),
                               "node"), i + 1);
  conn_ok(&c, conn_request(&c, "csound.compile", "s", "code", "giLevel init 0.5\n"));
  conn_ok(&c, conn_request(&c, "render", "u", "frames", (uint64_t)256));
  conn_ok(&c, conn_request(&c, "instr.define", "ss", "name", "beep", "body", BEEP));
  conn_ok(&c, conn_request(&c, "render", "u", "frames", (uint64_t)256));
  conn_ok(&c, conn_request(&c, "instr.define", "ss", "name", "boop", "body", BOOP));
  conn_ok(&c, conn_request(&c, "table.new", "u", "size", (uint64_t)32));
  conn_ok(&c, conn_request(&c, "render", "u", "frames", (uint64_t)1024));
  conn_ok(&c, conn_request(&c, "state.save", "s", "path", session_path));
  daemon_shutdown(&dp, &c);
}

/* One request frame, appended to a burst that goes out in one write (so
 * the daemon reads them together, in order). */
static void burst_add(msgpack_sbuffer *all, uint64_t id, const char *op, const char *path) {
  msgpack_sbuffer sb;
  msgpack_packer pk;

  sono_msg_begin(&sb, &pk);
  msgpack_pack_map(&pk, path != NULL ? 3 : 2);
  sono_pack_key_uint(&pk, "id", id);
  sono_pack_key_str(&pk, "op", op);
  if (path != NULL)
    sono_pack_key_str(&pk, "path", path);
  sono_msg_end(&sb);
  msgpack_sbuffer_write(all, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
}

static bool is_reply(const msgpack_object *m, uint64_t id) {
  const msgpack_object *i = sono_map_get(m, "id");

  return i != NULL && i->type == MSGPACK_OBJECT_POSITIVE_INTEGER && i->via.u64 == id &&
         sono_map_get(m, "event") == NULL;
}

static bool is_client_event(const msgpack_object *m, const char *action) {
  const msgpack_object *e = sono_map_get(m, "event");

  return e != NULL && e->type == MSGPACK_OBJECT_STR && e->via.str.size == 6 &&
         memcmp(e->via.str.ptr, "client", 6) == 0 && msg_str_is(m, "action", action);
}

/* Subscribes c to client events (connected, disconnected). */
static void subscribe_clients(uint64_t id) {
  msgpack_sbuffer sb;
  msgpack_packer pk;

  sono_msg_begin(&sb, &pk);
  msgpack_pack_map(&pk, 3);
  sono_pack_key_uint(&pk, "id", id);
  sono_pack_key_str(&pk, "op", "subscribe");
  sono_pack_cstr(&pk, "events");
  msgpack_pack_array(&pk, 1);
  sono_pack_cstr(&pk, "client");
  sono_msg_end(&sb);
  conn_write(&c, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  conn_ok(&c, id);
}

/* The reply m to a complete load of the session: every plugin mapped,
 * in the file's order, to node first + i; two instruments, one table;
 * plugin.list agrees. */
static void check_load_reply(const msgpack_object *m, uint64_t first) {
  const msgpack_object *ok, *pl, *nodes;
  msgpack_sbuffer copy;
  msgpack_packer pk;
  msgpack_unpacked u;
  unsigned i;

  ck_assert_msg(msg_ok(m) != NULL, "the load failed: %s", msg_error_code(m));
  /* A copy: the next receive overwrites m. */
  msgpack_sbuffer_init(&copy);
  msgpack_packer_init(&pk, &copy, msgpack_sbuffer_write);
  msgpack_pack_object(&pk, *msg_ok(m));
  msgpack_unpacked_init(&u);
  ck_assert(msgpack_unpack_next(&u, copy.data, copy.size, NULL) == MSGPACK_UNPACK_SUCCESS);
  ok = &u.data;
  pl = sono_map_get(ok, "plugins");

  ck_assert_uint_eq(pl->via.array.size, NPLUG);
  for (i = 0; i < NPLUG; i++) {
    ck_assert_uint_eq(msg_uint(&pl->via.array.ptr[i], "saved"), i + 1);
    ck_assert_uint_eq(msg_uint(&pl->via.array.ptr[i], "node"), first + i);
  }
  ck_assert_uint_eq(msg_uint(ok, "instrs"), 2);
  ck_assert_uint_eq(sono_map_get(ok, "tables")->via.array.size, 1);
  nodes = sono_map_get(conn_ok(&c, conn_request(&c, "plugin.list", "")), "nodes");
  ck_assert_uint_eq(nodes->via.array.size, NPLUG);
  for (i = 0; i < NPLUG; i++) {
    ck_assert_uint_eq(msg_uint(&nodes->via.array.ptr[i], "node"), first + i);
    ck_assert(msg_str_is(&nodes->via.array.ptr[i], "path", plugs[i]));
  }
  msgpack_unpacked_destroy(&u);
  msgpack_sbuffer_destroy(&copy);
}

/* The null backend's clock runs Csound, so the compiles wait for real
 * merges on the audio thread. */
START_TEST(served_while_loading) {
  msgpack_sbuffer all;
  char other[450];
  bool pong = false, busy_load = false, busy_save = false, b_gone = false;
  const msgpack_object *m;
  conn b;
  int frames;

  make_session();
  snprintf(other, sizeof other, "%s/other.sonod", home);
  start("null", NULL);
  subscribe_clients(500);
  /* The load, a second load, a save and a ping in one write. */
  msgpack_sbuffer_init(&all);
  burst_add(&all, 501, "state.load", session_path);
  burst_add(&all, 502, "state.load", session_path);
  burst_add(&all, 503, "state.save", other);
  burst_add(&all, 504, "ping", NULL);
  conn_write(&c, all.data, all.size);
  msgpack_sbuffer_destroy(&all);

  /* Meanwhile another client comes, pings, and goes. */
  conn_open(&b, dp.socket);
  conn_ok(&b, conn_request(&b, "ping", ""));
  conn_close(&b);

  /* What the loading client sees: everything above before its reply. */
  for (frames = 0;; frames++) {
    ck_assert_int_lt(frames, 100);
    m = conn_recv(&c, 120000);
    if (is_reply(m, 501))
      break;
    if (is_reply(m, 502)) {
      ck_assert_str_eq(msg_error_code(m), "busy");
      busy_load = true;
    } else if (is_reply(m, 503)) {
      ck_assert_str_eq(msg_error_code(m), "busy");
      busy_save = true;
    } else if (is_reply(m, 504)) {
      ck_assert_ptr_nonnull(msg_ok(m));
      pong = true;
    } else if (is_client_event(m, "disconnected")) {
      b_gone = true;
    }
  }
  ck_assert_msg(busy_load && busy_save && pong, "busy/busy/pong before the load's reply: %d %d %d",
                busy_load, busy_save, pong);
  ck_assert_msg(b_gone, "the other client's whole visit was served before the load's reply");
  check_load_reply(m, 1);
  /* Nothing half-saved was written, and the session is whole now. */
  ck_assert_int_ne(access(other, F_OK), 0);
  conn_ok(&c, conn_request(&c, "state.save", "s", "path", other));
  ck_assert_int_eq(access(other, F_OK), 0);
  daemon_shutdown(&dp, &c);
  home_remove(home);
}
END_TEST

/* The client that asked leaves at once: the load goes on to the end and
 * its reply is dropped.  The next load is refused with busy until then,
 * and then gets the ids after the first load's (which it replaced). */
START_TEST(client_leaves_mid_load) {
  const msgpack_object *m;
  conn a;
  int tries;

  make_session();
  start("offline", NULL);
  subscribe_clients(700);
  conn_open(&a, dp.socket);
  conn_request(&a, "state.load", "s", "path", session_path);
  conn_close(&a);
  /* The daemon reads a's request before it sees a gone: once a's
   * disconnection is reported, its load has started. */
  for (tries = 0;; tries++) {
    ck_assert_int_lt(tries, 100);
    if (is_client_event(conn_recv(&c, 120000), "disconnected"))
      break;
  }
  for (tries = 0;; tries++) {
    ck_assert_int_lt(tries, 2400);
    m = conn_reply(&c, conn_request(&c, "state.load", "s", "path", session_path), 120000);
    if (msg_error_code(m) == NULL || strcmp(msg_error_code(m), "busy") != 0)
      break;
    usleep(50000);
  }
  check_load_reply(m, NPLUG + 1);
  ck_assert(daemon_log_contains(&dp, "after its client left; reply dropped"));
  daemon_shutdown(&dp, &c);
  home_remove(home);
}
END_TEST

/* A shutdown right behind a load: sonod exits with 0 and does not save
 * the half-applied session over the autosave. */
START_TEST(shutdown_mid_load) {
  char dir[400], file[450];
  msgpack_sbuffer all;
  struct stat st;

  make_session();
  snprintf(dir, sizeof dir, "%s/state", home);
  snprintf(file, sizeof file, "%s/session.sonod", dir);
  start("offline", dir);
  msgpack_sbuffer_init(&all);
  burst_add(&all, 601, "state.load", session_path);
  burst_add(&all, 602, "shutdown", NULL);
  conn_write(&c, all.data, all.size);
  msgpack_sbuffer_destroy(&all);
  conn_ok(&c, 602);
  ck_assert_int_eq(daemon_wait(&dp, 120000), 0);
  conn_close(&c);
  ck_assert(daemon_log_contains(&dp, "is half applied: it is abandoned and not saved"));
  ck_assert_int_ne(stat(file, &st), 0);
  home_remove(home);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("state_load");
  TCase *tc = tcase_create("state_load");

  tcase_set_timeout(tc, 240);
  tcase_add_test(tc, served_while_loading);
  tcase_add_test(tc, client_leaves_mid_load);
  tcase_add_test(tc, shutdown_mid_load);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(suite)
