/* Integration: the session state (STATE.md) on the offline backend: a
 * session with amsynth, set parameters, a Csound instrument and a table
 * saved and loaded into a fresh daemon (compared through the ops and
 * through an offline render of the same note); kill -9 with autosave on
 * and a restart; state files cut short or with flipped bytes refused with
 * bad_state while the session stays; a corrupt autosave moved aside at
 * start; SIGTERM saving and exiting promptly. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "protocol/wire.h"
#include "tests/support/check_main.h"
#include "tests/support/harness.h"
#include "tests/support/offline.h"

#define AMSYNTH "/usr/lib/vst/amsynth_vst.so"
#define NOTE_LEN 8000
/* Inline parameters: the body's first line. */
#define BEEP "|kfreq=440, kamp=0.1|\nasig = oscili(kamp, kfreq)\nouts asig, asig\n"

static daemon_proc dp;
static conn c;
static char home[300];
static char out_path[400];
static int nout;

static void make_home(void) {
  home_make(home, sizeof home, "state");
}

static void remove_home(void) {
  home_remove(home);
}

/* An offline daemon writing to a new file in home; state_dir may be NULL. */
static void start(const char *state_dir) {
  snprintf(out_path, sizeof out_path, "%s/out-%d.wav", home, nout++);
  offline_start_state(&dp, &c, out_path, state_dir);
}

static void finish(void) {
  daemon_shutdown(&dp, &c);
}

static const msgpack_object *ok_of(uint64_t id) {
  const msgpack_object *m = conn_reply(&c, id, 60000);
  const msgpack_object *ok = msg_ok(m);
  const msgpack_object *e = sono_map_get(m, "error");
  const msgpack_object *text = e != NULL ? sono_map_get(e, "message") : NULL;

  ck_assert_msg(ok != NULL, "request %llu failed: %s: %.*s", (unsigned long long)id,
                msg_error_code(m), text ? (int)text->via.str.size : 0, text ? text->via.str.ptr : "");
  return ok;
}

static void expect_error(uint64_t id, const char *code) {
  conn_expect_error(&c, id, code);
}

static uint64_t engine_frame(void) {
  return msg_uint(ok_of(conn_request(&c, "status", "")), "frame");
}

static void render(uint64_t frames) {
  ok_of(conn_request(&c, "render", "u", "frames", frames));
}

/* The session the tests build: amsynth with three parameters moved, one
 * instrument, one generated table, and a gain node at 0.5 between the
 * plugin and out (besides the plugin's own connections to out). */
static const unsigned set_index[3] = { 0, 7, 20 };
static const double set_value[3] = { 0.25, 0.625, 0.875 };

static uint64_t build_session(void) {
  const msgpack_object *ok = ok_of(conn_request(&c, "plugin.load", "s", "path", AMSYNTH));
  uint64_t node = msg_uint(ok, "node");
  unsigned i;

  for (i = 0; i < 3; i++)
    ok_of(conn_request(&c, "plugin.set", "uud", "node", node, "index", (uint64_t)set_index[i],
                       "value", set_value[i]));
  ok_of(conn_request(&c, "instr.define", "ssi", "name", "beep", "body", BEEP, "priority",
                     (int64_t)3));
  ok_of(conn_request(&c, "table.new", "u", "size", (uint64_t)64));
  {
    uint64_t gain = msg_uint(ok_of(conn_request(&c, "node.new", "s", "kind", "gain")), "node");
    char from[32], to[32];

    snprintf(from, sizeof from, "%llu:out_1", (unsigned long long)node);
    snprintf(to, sizeof to, "%llu:in_1", (unsigned long long)gain);
    ok_of(conn_request(&c, "graph.connect", "ss", "from", from, "to", to));
    snprintf(from, sizeof from, "%llu:out_1", (unsigned long long)gain);
    ok_of(conn_request(&c, "graph.connect", "ss", "from", from, "to", "out:in_1"));
    ok_of(conn_request(&c, "node.gain", "ud", "node", gain, "gain", 0.5));
  }
  render(1024);   /* merges the compile, makes the table ready */
  return node;
}

/* The graph as a string: sorted "kind gain" of each node and "from>to"
 * of each connection, with ids replaced by kinds (plugin, gain). */
static void graph_shape(char *out, size_t len) {
  const msgpack_object *ok = ok_of(conn_request(&c, "graph.get", ""));
  const msgpack_object *nodes = sono_map_get(ok, "nodes"), *conns = sono_map_get(ok, "connections");
  char ids[16][24], kinds[16][16];
  unsigned i, k, n = 0;
  size_t off = 0;

  for (i = 0; i < nodes->via.array.size && n < 16; i++) {
    const msgpack_object *m = &nodes->via.array.ptr[i], *id = sono_map_get(m, "id"),
                         *kind = sono_map_get(m, "kind");

    if (id->type == MSGPACK_OBJECT_STR)
      snprintf(ids[n], sizeof ids[n], "%.*s", (int)id->via.str.size, id->via.str.ptr);
    else
      snprintf(ids[n], sizeof ids[n], "%llu", (unsigned long long)id->via.u64);
    snprintf(kinds[n], sizeof kinds[n], "%.*s", (int)kind->via.str.size, kind->via.str.ptr);
    off += (size_t)snprintf(out + off, len - off, "[%s %.2f]", kinds[n], msg_double(m, "gain"));
    n++;
  }
  for (i = 0; i < conns->via.array.size; i++) {
    const msgpack_object *m = &conns->via.array.ptr[i];
    const msgpack_object *ends[2] = { sono_map_get(m, "from"), sono_map_get(m, "to") };
    int e;

    for (e = 0; e < 2; e++) {
      const char *s = ends[e]->via.str.ptr, *colon = memchr(s, ':', ends[e]->via.str.size);
      size_t idlen = (size_t)(colon - s);

      for (k = 0; k < n; k++)
        if (strlen(ids[k]) == idlen && memcmp(ids[k], s, idlen) == 0)
          break;
      off += (size_t)snprintf(out + off, len - off, "%s%s%.*s", e ? ">" : " ",
                              k < n ? kinds[k] : "?", (int)(ends[e]->via.str.size - idlen), colon);
    }
  }
}

/* The values of every parameter of the only plugin, into v (n of them). */
static unsigned params_of(uint64_t node, double *v, unsigned cap) {
  const msgpack_object *p =
    sono_map_get(ok_of(conn_request(&c, "plugin.params", "u", "node", node)), "params");
  unsigned i;

  ck_assert_uint_le(p->via.array.size, cap);
  for (i = 0; i < p->via.array.size; i++)
    v[i] = msg_double(&p->via.array.ptr[i], "value");
  return p->via.array.size;
}

static uint64_t only_node(void) {
  const msgpack_object *nodes =
    sono_map_get(ok_of(conn_request(&c, "plugin.list", "")), "nodes");

  ck_assert_uint_eq(nodes->via.array.size, 1);
  ck_assert(msg_str_is(&nodes->via.array.ptr[0], "path", AMSYNTH));
  return msg_uint(&nodes->via.array.ptr[0], "node");
}

static void check_instrs(void) {
  const msgpack_object *in =
    sono_map_get(ok_of(conn_request(&c, "instr.list", "")), "instrs");
  const msgpack_object *params;

  ck_assert_uint_eq(in->via.array.size, 1);
  ck_assert(msg_str_is(&in->via.array.ptr[0], "name", "beep"));
  params = sono_map_get(&in->via.array.ptr[0], "params");
  ck_assert_uint_eq(params->via.map.size, 2);
  ck_assert(msg_double(params, "kfreq") == 440.0);
  ck_assert(msg_double(params, "kamp") == 0.1);
}

static void check_session(void) {
  double v[256];
  unsigned i, n;
  uint64_t node = only_node();

  n = params_of(node, v, 256);
  ck_assert_uint_eq(n, 41);
  for (i = 0; i < 3; i++)
    ck_assert_msg(fabs(v[set_index[i]] - set_value[i]) < 1e-6, "param %u is %g, want %g",
                  set_index[i], v[set_index[i]], set_value[i]);
  check_instrs();
}

/* One note through the plugin at frame `at`, rendered past its end. */
static void play_note(uint64_t node, uint64_t at) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  uint64_t id = 9000 + at;
  int k;

  for (k = 0; k < 2; k++) {
    sono_msg_begin(&sb, &pk);
    msgpack_pack_map(&pk, 4);
    sono_pack_key_uint(&pk, "id", id + (uint64_t)k);
    sono_pack_key_str(&pk, "op", "plugin.midi");
    sono_pack_key_uint(&pk, "node", node);
    sono_pack_cstr(&pk, "events");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 4);
    sono_pack_key_str(&pk, "type", k == 0 ? "note_on" : "note_off");
    sono_pack_key_uint(&pk, "note", 60);
    sono_pack_key_uint(&pk, "velocity", 100);
    sono_pack_key_uint(&pk, "at", at + (k == 0 ? 0 : NOTE_LEN / 2));
    sono_msg_end(&sb);
    conn_write(&c, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    ok_of(id + (uint64_t)k);
  }
  render(at + NOTE_LEN - engine_frame());
}

/* Frames [at, at + NOTE_LEN) of channel 0 of a finished daemon's file. */
static float *read_note(const char *path, uint64_t at) {
  SF_INFO info;
  SNDFILE *f;
  float *all, *out = malloc(NOTE_LEN * sizeof *out);
  sf_count_t i;

  memset(&info, 0, sizeof info);
  f = sf_open(path, SFM_READ, &info);
  ck_assert_msg(f != NULL, "cannot read %s", path);
  ck_assert_int_ge(info.frames, (sf_count_t)(at + NOTE_LEN));
  all = malloc(sizeof(float) * (size_t)info.frames * (size_t)info.channels);
  ck_assert_int_eq(sf_readf_float(f, all, info.frames), info.frames);
  sf_close(f);
  for (i = 0; i < NOTE_LEN; i++)
    out[i] = all[((sf_count_t)at + i) * info.channels];
  free(all);
  return out;
}

static size_t file_size(const char *path) {
  struct stat st;

  return stat(path, &st) == 0 ? (size_t)st.st_size : 0;
}

static void copy_mangled(const char *from, const char *to, size_t keep, bool flip) {
  FILE *f = fopen(from, "rb");
  size_t len = file_size(from), i;
  char *buf = malloc(len);

  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fread(buf, 1, len, f), len);
  fclose(f);
  if (flip)
    for (i = len / 2; i < len / 2 + 8 && i < len; i++)
      buf[i] ^= 0x5a;
  f = fopen(to, "wb");
  fwrite(buf, 1, keep < len ? keep : len, f);
  fclose(f);
  free(buf);
}

START_TEST(save_and_load) {
  char saved[400], cut[400], flipped[400], junk[400], path_a[400];
  uint64_t node, at, tab;
  char shape_a[2000], shape_b[2000];
  const msgpack_object *ok;
  float *a, *b;
  double before[64], after[64];
  unsigned i, n;
  FILE *f;

  make_home();
  snprintf(saved, sizeof saved, "%s/s1.sonod", home);
  start(NULL);
  node = build_session();
  check_session();
  n = params_of(node, before, 64);
  graph_shape(shape_a, sizeof shape_a);
  ok = ok_of(conn_request(&c, "state.save", "s", "path", saved));
  ck_assert(msg_str_is(ok, "path", saved));
  ck_assert_uint_eq(msg_uint(ok, "bytes"), file_size(saved));
  at = engine_frame() + 1000;
  play_note(node, at);
  /* Without a path and without a state directory: refused. */
  expect_error(conn_request(&c, "state.save", ""), "bad_value");
  snprintf(path_a, sizeof path_a, "%s", out_path);
  finish();
  a = read_note(path_a, at);

  /* A fresh daemon: the same plugin, values, instrument, table. */
  start(NULL);
  ok = ok_of(conn_request(&c, "state.load", "s", "path", saved));
  ck_assert_uint_eq(msg_uint(ok, "instrs"), 1);
  ck_assert_uint_eq(sono_map_get(ok, "plugins")->via.array.size, 1);
  ck_assert_uint_eq(sono_map_get(ok, "tables")->via.array.size, 1);
  tab = msg_uint(&sono_map_get(ok, "tables")->via.array.ptr[0], "table");
  node = only_node();
  ck_assert_uint_eq(params_of(node, after, 64), n);
  for (i = 0; i < n; i++)
    ck_assert_msg(fabs(before[i] - after[i]) < 1e-6, "param %u: %g then %g", i, before[i], after[i]);
  check_session();
  graph_shape(shape_b, sizeof shape_b);
  ck_assert_str_eq(shape_a, shape_b);
  ck_assert(strstr(shape_b, "[gain 0.50]") != NULL);
  render(256);
  ok = ok_of(conn_request(&c, "table.get", "u", "table", tab));
  ck_assert_uint_eq(msg_uint(ok, "size"), 64);
  node = only_node();
  render(256);

  /* Cut short, flipped bytes, not a state file: bad_state, nothing changes. */
  snprintf(cut, sizeof cut, "%s/cut.sonod", home);
  snprintf(flipped, sizeof flipped, "%s/flipped.sonod", home);
  snprintf(junk, sizeof junk, "%s/junk.sonod", home);
  copy_mangled(saved, cut, file_size(saved) - 100, false);
  copy_mangled(saved, flipped, (size_t)-1, true);
  f = fopen(junk, "w");
  fputs("\x82\xa6" "format\xa3" "abc\xa7" "version\x01", f);
  fclose(f);
  expect_error(conn_request(&c, "state.load", "s", "path", cut), "bad_state");
  expect_error(conn_request(&c, "state.load", "s", "path", flipped), "bad_state");
  expect_error(conn_request(&c, "state.load", "s", "path", junk), "bad_state");
  expect_error(conn_request(&c, "state.load", "s", "path", "/nonexistent/x.sonod"), "file_error");
  ck_assert_uint_eq(only_node(), node);
  check_session();

  /* The restored plugin sounds the same as the saved one. */
  at = engine_frame() + 1000;
  play_note(node, at);
  snprintf(path_a, sizeof path_a, "%s", out_path);
  finish();
  b = read_note(path_a, at);
  {
    double energy = 0, diff = 0;

    for (i = 0; i < NOTE_LEN; i++) {
      energy += (double)a[i] * a[i];
      diff += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    }
    ck_assert_msg(energy > 1e-3, "the note is silent (energy %g)", energy);
    ck_assert_msg(diff <= energy * 1e-6, "renders differ: energy %g, difference %g", energy, diff);
  }
  free(a);
  free(b);
  remove_home();
}
END_TEST

static bool wait_file(const char *path, int ms) {
  for (; ms > 0; ms -= 50) {
    if (file_size(path) > 0)
      return true;
    usleep(50000);
  }
  return false;
}

START_TEST(kill9_and_restart) {
  char dir[400], file[450], shape_a[2000], shape_b[2000];
  double before[64], after[64];
  unsigned i, n;
  int status;

  make_home();
  /* As the README has it: folders that do not exist yet are made. */
  snprintf(dir, sizeof dir, "%s/.local/state/sonod", home);
  snprintf(file, sizeof file, "%s/session.sonod", dir);
  start(dir);
  n = params_of(build_session(), before, 64);
  graph_shape(shape_a, sizeof shape_a);
  /* Autosave: 2 s after the last change. */
  ck_assert(wait_file(file, 10000));
  usleep(500000);
  kill(dp.pid, SIGKILL);
  waitpid(dp.pid, &status, 0);
  dp.pid = 0;
  conn_close(&c);

  start(dir);
  check_session();
  graph_shape(shape_b, sizeof shape_b);
  ck_assert_str_eq(shape_a, shape_b);
  ck_assert_uint_eq(params_of(only_node(), after, 64), n);
  for (i = 0; i < n; i++)
    ck_assert_msg(fabs(before[i] - after[i]) < 1e-6, "param %u: %g then %g", i, before[i], after[i]);
  finish();

  /* --no-restore: empty. */
  {
    const char *args[] = { "--backend", "null", "--state-dir", dir, "--no-restore", NULL };
    const msgpack_object *nodes;

    daemon_start(&dp, args);
    conn_open(&c, dp.socket);
    nodes = sono_map_get(ok_of(conn_request(&c, "plugin.list", "")), "nodes");
    ck_assert_uint_eq(nodes->via.array.size, 0);
    ck_assert_int_eq(daemon_stop(&dp), 0);
    conn_close(&c);
  }
  remove_home();
}
END_TEST

START_TEST(corrupt_autosave_moved_aside) {
  char dir[400], file[450];
  const msgpack_object *nodes;
  struct dirent *de;
  DIR *dh;
  bool aside = false;
  FILE *f;

  make_home();
  snprintf(dir, sizeof dir, "%s/state", home);
  snprintf(file, sizeof file, "%s/session.sonod", dir);
  ck_assert_int_eq(mkdir(dir, 0700), 0);
  f = fopen(file, "w");
  fputs("\x86\xa6" "format\xab" "sonod-state\xa7" "vers", f);   /* cut short */
  fclose(f);
  start(dir);
  nodes = sono_map_get(ok_of(conn_request(&c, "plugin.list", "")), "nodes");
  ck_assert_uint_eq(nodes->via.array.size, 0);
  ck_assert(daemon_log_contains(&dp, "moved aside"));
  dh = opendir(dir);
  while ((de = readdir(dh)) != NULL)
    if (strncmp(de->d_name, "session.sonod.corrupt-", 22) == 0)
      aside = true;
  closedir(dh);
  ck_assert(aside);
  finish();
  remove_home();
}
END_TEST

START_TEST(sigterm_saves) {
  char dir[400], file[450];
  struct timespec t0, t1;
  double ms;

  make_home();
  snprintf(dir, sizeof dir, "%s/state", home);
  snprintf(file, sizeof file, "%s/session.sonod", dir);
  start(dir);
  ok_of(conn_request(&c, "instr.define", "ssi", "name", "beep", "body", BEEP, "priority",
                     (int64_t)3));
  ck_assert_uint_eq(file_size(file), 0);   /* well within the 2 s */
  /* sonoctl: a path relative to its own directory; a bad file fails. */
  {
    char cmd[3000], cut[450];

    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' --socket '%s' state save rel.sonod >/dev/null",
             home, getenv("SONOCTL"), dp.socket);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(cut, sizeof cut, "%s/rel.sonod", home);
    ck_assert_uint_gt(file_size(cut), 0);
    snprintf(cmd, sizeof cmd, "'%s' --socket '%s' state load '%s' >/dev/null", getenv("SONOCTL"),
             dp.socket, cut);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "truncate -s 20 '%s' && '%s' --socket '%s' state load '%s' 2>&1 | "
             "grep -q bad_state", cut, getenv("SONOCTL"), dp.socket, cut);
    ck_assert_int_eq(system(cmd), 0);
  }
  clock_gettime(CLOCK_MONOTONIC, &t0);
  ck_assert_int_eq(daemon_stop(&dp), 0);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  conn_close(&c);
  ms = (double)(t1.tv_sec - t0.tv_sec) * 1000 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
  ck_assert_msg(ms < 3000, "SIGTERM took %.0f ms", ms);
  ck_assert_uint_gt(file_size(file), 0);

  start(dir);
  check_instrs();
  finish();
  remove_home();
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("state");
  TCase *tc = tcase_create("state");

  tcase_set_timeout(tc, 240);
  tcase_add_test(tc, save_and_load);
  tcase_add_test(tc, kill9_and_restart);
  tcase_add_test(tc, corrupt_autosave_moved_aside);
  tcase_add_test(tc, sigterm_saves);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(suite)
