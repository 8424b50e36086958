/* Integration: MIDI routes as session state (STATE.md, `midi`), on the
 * offline backend with amsynth and Csound.  A route to a plugin and one to
 * a Csound instrument come back after a kill -9 and a restart (the
 * autosave armed by a route change alone) and after a state.load into a
 * running daemon, each time to the plugin's new node id; a file without
 * routes (written by an older sonod) loads and leaves none; malformed
 * routes are refused with bad_state; a route whose plugin did not come
 * back is reported by state.load and by the start-up restore's log line. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "protocol/wire.h"
#include "tests/support/check_main.h"
#include "tests/support/harness.h"
#include "tests/support/offline.h"

#define AMSYNTH "/usr/lib/vst/amsynth_vst.so"
#define MNOTE "|inote=0, ivel=0|\na1 upsamp ivel\na2 upsamp inote / 128\nouts a1, a2\n"

static daemon_proc dp;
static conn c;
static char home[300];

static void start(const char *state_dir) {
  char out[400];

  snprintf(out, sizeof out, "%s/out.wav", home);
  offline_start_state(&dp, &c, out, state_dir);
  /* Clients are held until the start-up restore is done, and its log
   * line is written before: after this reply the log has it. */
  ck_assert_ptr_nonnull(conn_ok(&c, conn_request(&c, "ping", "")));
}

static void kill9(void) {
  int status;

  kill(dp.pid, SIGKILL);
  waitpid(dp.pid, &status, 0);
  dp.pid = 0;
  conn_close(&c);
}

static const msgpack_object *req_ok(uint64_t id) {
  return conn_ok(&c, id);
}

static uint64_t only_plugin(void) {
  const msgpack_object *nodes = sono_map_get(req_ok(conn_request(&c, "plugin.list", "")), "nodes");

  ck_assert_uint_eq(nodes->via.array.size, 1);
  return msg_uint(&nodes->via.array.ptr[0], "node");
}

/* The routes midi.routes lists, as one string:
 * "<node>/<channel>" for a plugin route, "cs:<instr>/<note>/<velocity>/
 * <channel>/<voices>" for a Csound route ("-" for nil), ";"-separated in
 * the listed order. */
static void routes_str(char *out, size_t len) {
  const msgpack_object *r = sono_map_get(req_ok(conn_request(&c, "midi.routes", "")), "routes");
  size_t off = 0;
  uint32_t i;

  out[0] = '\0';
  for (i = 0; i < r->via.array.size; i++) {
    const msgpack_object *m = &r->via.array.ptr[i];
    const char *keys[] = { "to", "instr", "note", "velocity", "channel", "voices" };
    unsigned k;

    for (k = 0; k < 6; k++) {
      const msgpack_object *v = sono_map_get(m, keys[k]);
      const char *sep = k == 0 ? (i ? ";" : "") : "/";

      if (v == NULL)
        continue;
      if (v->type == MSGPACK_OBJECT_STR)
        off += (size_t)snprintf(out + off, len - off, "%s%.*s", sep, (int)v->via.str.size,
                                v->via.str.ptr);
      else if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        off += (size_t)snprintf(out + off, len - off, "%s%llu", sep,
                                (unsigned long long)v->via.u64);
      else
        off += (size_t)snprintf(out + off, len - off, "%s-", sep);
    }
  }
}

static void route_plugin(uint64_t node, int64_t channel) {
  char to[24];

  snprintf(to, sizeof to, "%llu", (unsigned long long)node);
  req_ok(conn_request(&c, "midi.route", "si", "to", to, "channel", channel));
}

static void define_mnote(void) {
  req_ok(conn_request(&c, "instr.define", "ss", "name", "mnote", "body", MNOTE));
  req_ok(conn_request(&c, "render", "u", "frames", (uint64_t)512));
}

static void route_mnote(int64_t channel, uint64_t voices) {
  req_ok(conn_request(&c, "midi.route", "ssssiu", "to", "csound", "instr", "mnote", "note",
                      "inote", "velocity", "ivel", "channel", channel, "voices", voices));
}

static size_t file_size(const char *path) {
  struct stat st;

  return stat(path, &st) == 0 ? (size_t)st.st_size : 0;
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf;

  *len = file_size(path);
  buf = malloc(*len + 1);
  if (f == NULL || fread(buf, 1, *len, f) != *len) {
    if (f != NULL)
      fclose(f);
    free(buf);
    return NULL;
  }
  fclose(f);
  return buf;
}

/* Waits (up to 20 s) until path exists with contents other than old
 * (old NULL: any contents).  The autosave comes 2 s after the last
 * change; the bound only keeps a broken daemon from hanging the test. */
static bool wait_changed(const char *path, const char *old, size_t oldlen) {
  int ms;

  for (ms = 0; ms < 20000; ms += 50) {
    size_t len;
    char *now = slurp(path, &len);
    bool changed = now != NULL && len > 0 && (old == NULL || len != oldlen ||
                                              memcmp(now, old, len) != 0);

    free(now);
    if (changed)
      return true;
    usleep(50000);
  }
  return false;
}

START_TEST(routes_restored_and_remapped) {
  char dir[400], file[450], saved[450], routes[600], want[600];
  uint64_t gain, saved_node, node;
  const msgpack_object *ok;
  size_t oldlen;
  char *old;

  home_make(home, sizeof home, "statemidi");
  snprintf(dir, sizeof dir, "%s/state", home);
  snprintf(file, sizeof file, "%s/session.sonod", dir);
  snprintf(saved, sizeof saved, "%s/saved.sonod", home);
  start(dir);
  /* A gain node made first takes the first id: the restore loads the
   * plugin first, so its node id changes and the route must follow. */
  gain = msg_uint(req_ok(conn_request(&c, "node.new", "s", "kind", "gain")), "node");
  saved_node = msg_uint(req_ok(conn_request(&c, "plugin.load", "s", "path", AMSYNTH)), "node");
  ck_assert_uint_gt(saved_node, gain);
  define_mnote();
  route_plugin(saved_node, 3);
  route_mnote(2, 4);
  routes_str(routes, sizeof routes);
  snprintf(want, sizeof want, "%llu/3;csound/mnote/inote/ivel/2/4",
           (unsigned long long)saved_node);
  ck_assert_str_eq(routes, want);
  ck_assert(wait_changed(file, NULL, 0));

  /* A route change alone arms the autosave. */
  old = slurp(file, &oldlen);
  ck_assert_ptr_nonnull(old);
  route_plugin(saved_node, 5);
  ck_assert(wait_changed(file, old, oldlen));
  free(old);
  old = slurp(file, &oldlen);
  req_ok(conn_request(&c, "midi.unroute", "ss", "to", "csound", "instr", "mnote"));
  ck_assert(wait_changed(file, old, oldlen));
  free(old);
  old = slurp(file, &oldlen);
  route_mnote(-1, 6);   /* all channels: nil in the file and in the list */
  ck_assert(wait_changed(file, old, oldlen));
  free(old);
  kill9();

  /* The start-up restore: both routes, the plugin's at its new id. */
  start(dir);
  node = only_plugin();
  ck_assert_uint_ne(node, saved_node);
  routes_str(routes, sizeof routes);
  snprintf(want, sizeof want, "%llu/5;csound/mnote/inote/ivel/-/6", (unsigned long long)node);
  ck_assert_str_eq(routes, want);
  ck_assert(daemon_log_contains(&dp, "2 of 2 MIDI routes"));

  /* state.load into the running daemon: the file's routes replace the
   * current ones (the plugin is loaded again and gets a new id). */
  req_ok(conn_request(&c, "state.save", "s", "path", saved));
  route_plugin(node, 9);
  route_mnote(11, 2);
  ok = req_ok(conn_request(&c, "state.load", "s", "path", saved));
  ck_assert_uint_eq(msg_uint(ok, "midi_routes"), 2);
  ck_assert_uint_eq(sono_map_get(ok, "plugins")->via.array.size, 1);
  ck_assert_uint_eq(msg_uint(&sono_map_get(ok, "plugins")->via.array.ptr[0], "saved"), node);
  saved_node = node;
  node = msg_uint(&sono_map_get(ok, "plugins")->via.array.ptr[0], "node");
  ck_assert_uint_ne(node, saved_node);
  ck_assert_uint_eq(only_plugin(), node);
  routes_str(routes, sizeof routes);
  snprintf(want, sizeof want, "%llu/5;csound/mnote/inote/ivel/-/6", (unsigned long long)node);
  ck_assert_str_eq(routes, want);
  daemon_shutdown(&dp, &c);
  home_remove(home);
}
END_TEST

/* ---- hand-made state files ---- */

/* A version 1 file around `payload` (with zlib's CRC-32, as STATE.md
 * says any reader may compute it). */
static void write_state(const char *path, const msgpack_sbuffer *payload) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  FILE *f;

  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 5);
  sono_pack_key_str(&pk, "format", "sonod-state");
  sono_pack_key_uint(&pk, "version", 1);
  sono_pack_key_str(&pk, "written_by", "a test");
  sono_pack_key_uint(&pk, "crc32",
                     crc32(0L, (const Bytef *)payload->data, (uInt)payload->size));
  sono_pack_cstr(&pk, "payload");
  msgpack_pack_bin(&pk, payload->size);
  msgpack_pack_bin_body(&pk, payload->data, payload->size);
  f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(sb.data, 1, sb.size, f), sb.size);
  fclose(f);
  msgpack_sbuffer_destroy(&sb);
}

/* A payload as an older sonod wrote it: no plugins, instrument mnote, no
 * graph and no `midi`; with midi_bad, a `midi` entry that is malformed. */
static void write_old(const char *path, const char *midi_bad) {
  msgpack_sbuffer sb;
  msgpack_packer pk;

  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, midi_bad != NULL ? 5 : 4);
  sono_pack_cstr(&pk, "plugins");
  msgpack_pack_array(&pk, 0);
  sono_pack_cstr(&pk, "csound");
  msgpack_pack_map(&pk, 4);
  sono_pack_cstr(&pk, "code");
  msgpack_pack_array(&pk, 0);
  sono_pack_cstr(&pk, "instrs");
  msgpack_pack_array(&pk, 1);
  msgpack_pack_map(&pk, 5);
  sono_pack_key_str(&pk, "name", "mnote");
  sono_pack_key_str(&pk, "body", MNOTE);
  sono_pack_cstr(&pk, "init");
  msgpack_pack_nil(&pk);
  sono_pack_key_uint(&pk, "priority", 1);
  sono_pack_cstr(&pk, "params");
  msgpack_pack_array(&pk, 0);
  sono_pack_cstr(&pk, "tables");
  msgpack_pack_array(&pk, 0);
  sono_pack_cstr(&pk, "buses");
  msgpack_pack_array(&pk, 0);
  sono_pack_cstr(&pk, "graph");
  msgpack_pack_nil(&pk);
  sono_pack_cstr(&pk, "transport");
  msgpack_pack_nil(&pk);
  if (midi_bad != NULL) {
    sono_pack_cstr(&pk, "midi");
    msgpack_pack_array(&pk, 1);
    if (strcmp(midi_bad, "channel") == 0) {
      msgpack_pack_map(&pk, 2);
      sono_pack_key_uint(&pk, "to", 1);
      sono_pack_key_uint(&pk, "channel", 16);
    } else if (strcmp(midi_bad, "to") == 0) {
      msgpack_pack_map(&pk, 1);
      sono_pack_key_str(&pk, "to", "out");
    } else {   /* a Csound route without its instrument */
      msgpack_pack_map(&pk, 2);
      sono_pack_key_str(&pk, "to", "csound");
      sono_pack_key_uint(&pk, "voices", 4);
    }
  }
  write_state(path, &sb);
  msgpack_sbuffer_destroy(&sb);
}

START_TEST(old_file_without_routes) {
  static const char *const bad[] = { "channel", "to", "instr" };
  char old[400], broken[400], routes[600], want[600];
  const msgpack_object *ok, *e;
  uint64_t node;
  unsigned i;

  home_make(home, sizeof home, "statemidi");
  snprintf(old, sizeof old, "%s/old.sonod", home);
  snprintf(broken, sizeof broken, "%s/broken.sonod", home);
  write_old(old, NULL);
  start(NULL);
  node = msg_uint(req_ok(conn_request(&c, "plugin.load", "s", "path", AMSYNTH)), "node");
  define_mnote();
  route_plugin(node, 1);
  route_mnote(0, 2);

  /* Malformed routes: bad_state, and nothing changes. */
  for (i = 0; i < 3; i++) {
    write_old(broken, bad[i]);
    e = conn_expect_error(&c, conn_request(&c, "state.load", "s", "path", broken), "bad_state");
    ck_assert(sono_map_get(e, "message") != NULL);
  }
  routes_str(routes, sizeof routes);
  snprintf(want, sizeof want, "%llu/1;csound/mnote/inote/ivel/0/2", (unsigned long long)node);
  ck_assert_str_eq(routes, want);

  /* The old file loads: its session has no routes, so none are left
   * (the Csound route went with the session it belonged to, though the
   * file defines the same instrument). */
  ok = req_ok(conn_request(&c, "state.load", "s", "path", old));
  ck_assert_uint_eq(msg_uint(ok, "instrs"), 1);
  ck_assert_uint_eq(msg_uint(ok, "midi_routes"), 0);
  routes_str(routes, sizeof routes);
  ck_assert_str_eq(routes, "");
  /* Its instrument is there and can be routed again. */
  route_mnote(0, 2);
  routes_str(routes, sizeof routes);
  ck_assert_str_eq(routes, "csound/mnote/inote/ivel/0/2");
  daemon_shutdown(&dp, &c);
  home_remove(home);
}
END_TEST

static void copy_file(const char *from, const char *to) {
  size_t len;
  char *buf = slurp(from, &len);
  FILE *f = fopen(to, "wb");

  ck_assert_ptr_nonnull(buf);
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
  fclose(f);
  free(buf);
}

START_TEST(route_of_missing_plugin_reported) {
  char dir[400], file[450], copy[400], routes[600], want[200];
  const msgpack_object *e, *m;
  uint64_t node;

  home_make(home, sizeof home, "statemidi");
  snprintf(dir, sizeof dir, "%s/state", home);
  snprintf(file, sizeof file, "%s/session.sonod", dir);
  snprintf(copy, sizeof copy, "%s/amsynth-copy.so", home);
  copy_file(AMSYNTH, copy);
  start(dir);
  node = msg_uint(req_ok(conn_request(&c, "plugin.load", "s", "path", copy)), "node");
  define_mnote();
  route_plugin(node, 4);
  route_mnote(-1, 3);
  req_ok(conn_request(&c, "state.save", ""));   /* to the autosave file */
  daemon_shutdown(&dp, &c);
  ck_assert_int_eq(unlink(copy), 0);

  /* The restore: the Csound route comes back, the plugin's is reported. */
  start(dir);
  snprintf(want, sizeof want, "MIDI route to plugin node %llu not restored",
           (unsigned long long)node);
  ck_assert(daemon_log_contains(&dp, want));
  ck_assert(daemon_log_contains(&dp, "1 of 2 MIDI routes"));
  routes_str(routes, sizeof routes);
  ck_assert_str_eq(routes, "csound/mnote/inote/ivel/-/3");

  /* state.load says so in its load_failed message. */
  e = conn_expect_error(&c, conn_request(&c, "state.load", "s", "path", file), "load_failed");
  m = sono_map_get(e, "message");
  ck_assert_ptr_nonnull(m);
  ck_assert_msg(memmem(m->via.str.ptr, m->via.str.size, want, strlen(want)) != NULL,
                "message: %.*s", (int)m->via.str.size, m->via.str.ptr);
  ck_assert(memmem(m->via.str.ptr, m->via.str.size, "1 of 2 MIDI routes", 18) != NULL);
  routes_str(routes, sizeof routes);
  ck_assert_str_eq(routes, "csound/mnote/inote/ivel/-/3");
  daemon_shutdown(&dp, &c);
  home_remove(home);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("state_midi");
  TCase *tc = tcase_create("state_midi");

  tcase_set_timeout(tc, 240);
  tcase_add_test(tc, routes_restored_and_remapped);
  tcase_add_test(tc, old_file_without_routes);
  tcase_add_test(tc, route_of_missing_plugin_reported);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(suite)
