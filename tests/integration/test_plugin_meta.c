/* Integration: what sonod says about a plugin's parameters and programs,
 * over the real protocol, for a plugin in the daemon and the same plugin
 * isolated (sonod-plugin-host): unique names from long names, short names,
 * units, ranges, steps, categories; Latin-1 converted to UTF-8; program
 * names that are unknown said so; plugin.state.set as PROTOCOL.md states.
 * The test plugin (testplug.c, TP_LATIN1 and TP_PROPS) and Debian's
 * plugins: LSP (internal ids for names), ZaMultiComp (DPF: names cut to
 * 15 bytes), amsynth (no indexed program names). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "protocol/wire.h"
#include "tests/support/check_main.h"
#include "tests/support/harness.h"

#define AMSYNTH "/usr/lib/vst/amsynth_vst.so"
#define ZAMULTICOMP "/usr/lib/vst/ZaMultiComp-vst.so"
#define LSP_COMP "/usr/lib/vst/lsp-plugins/compressor-stereo.so"

static daemon_proc dp;
static conn c;
static char home[300];

static char out_path[400];

/* The null backend, or the offline one (render) when offline. */
static void start_on(bool offline) {
  const char *args[8];
  int n = 0;

  home_make(home, sizeof home, "plugin-meta");
  args[n++] = "--backend";
  args[n++] = offline ? "offline" : "null";
  if (offline) {
    snprintf(out_path, sizeof out_path, "%s/out.wav", home);
    args[n++] = "--output";
    args[n++] = out_path;
  }
  args[n] = NULL;
  daemon_start(&dp, args);
  conn_open(&c, dp.socket);
}

static void start(void) {
  start_on(false);
}

static void finish(void) {
  daemon_shutdown(&dp, &c);
  home_remove(home);
}

static const msgpack_object *ok_of(uint64_t id) {
  return conn_ok(&c, id);
}

static uint64_t load(const char *path, bool isolate) {
  return conn_plugin_load(&c, path, isolate);
}

/* plugin.params' entry i; valid until the next request. */
static const msgpack_object *param(uint64_t node, unsigned i) {
  const msgpack_object *params =
      sono_map_get(ok_of(conn_request(&c, "plugin.params", "u", "node", node)), "params");

  ck_assert_ptr_nonnull(params);
  ck_assert_uint_gt(params->via.array.size, i);
  return &params->via.array.ptr[i];
}

static bool is_nil(const msgpack_object *m, const char *key) {
  const msgpack_object *v = sono_map_get(m, key);
  ck_assert_msg(v != NULL, "no field %s", key);
  return v->type == MSGPACK_OBJECT_NIL;
}

static int64_t int_of(const msgpack_object *m, const char *key) {
  const msgpack_object *v = sono_map_get(m, key);
  ck_assert_msg(v != NULL && (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
                              v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER), "%s is no integer", key);
  return v->via.i64;
}

static bool bool_of(const msgpack_object *m, const char *key) {
  const msgpack_object *v = sono_map_get(m, key);
  ck_assert_msg(v != NULL && v->type == MSGPACK_OBJECT_BOOLEAN, "%s is no bool", key);
  return v->via.boolean;
}

static void set_by_name(uint64_t node, const char *name, double value) {
  ok_of(conn_request(&c, "plugin.set", "usd", "node", node, "name", name, "value", value));
}

static double get_index(uint64_t node, uint64_t index) {
  return msg_double(ok_of(conn_request(&c, "plugin.get", "uu", "node", node, "index", index)),
                    "value");
}

/* Which index a name reaches, by plugin.get. */
static uint64_t index_of(uint64_t node, const char *name) {
  return msg_uint(ok_of(conn_request(&c, "plugin.get", "us", "node", node, "name", name)),
                  "index");
}

/* The test plugin: three parameters whose long names repeat ("Drive",
 * "Drive", "drive"), Latin-1 strings, ranges and steps on some. */
static void test_plugin(bool isolate) {
  const char *odd = getenv("TESTPLUG_ODD");
  const msgpack_object *p, *ok, *progs;
  uint64_t node;

  ck_assert_ptr_nonnull(odd);
  start();
  node = load(odd, isolate);

  p = param(node, 0);
  ck_assert(msg_str_is(p, "name", "Drive"));
  ck_assert(msg_str_is(p, "short_name", "Gain"));
  ck_assert(msg_str_is(p, "label", "\xc2\xb0"));        /* Latin-1 degree sign, as UTF-8 */
  ck_assert(msg_str_is(p, "category", "\xc3\x89tage"));  /* Étage */
  ck_assert_int_eq(int_of(p, "min"), -24);
  ck_assert_int_eq(int_of(p, "max"), 24);
  ck_assert(is_nil(p, "step") && is_nil(p, "int_step"));
  ck_assert(!bool_of(p, "switch"));
  ck_assert(bool_of(p, "automatable"));
  ck_assert(msg_str_is(p, "display", "1.000"));

  p = param(node, 1);
  ck_assert(msg_str_is(p, "name", "Drive #2"));
  ck_assert(msg_str_is(p, "short_name", "\xc3\x89" "cho"));   /* Écho */
  ck_assert(fabs(msg_double(p, "step") - 0.01) < 1e-6);
  ck_assert(fabs(msg_double(p, "large_step") - 0.1) < 1e-6);
  ck_assert(is_nil(p, "min") && is_nil(p, "max") && is_nil(p, "category"));

  p = param(node, 2);
  ck_assert(msg_str_is(p, "name", "drive #3"));
  ck_assert(msg_str_is(p, "short_name", "A Parameter With A Very Long Name Indeed"));
  ck_assert(bool_of(p, "switch"));
  ck_assert_int_eq(int_of(p, "int_step"), 1);
  ck_assert_int_eq(int_of(p, "int_large_step"), 1);
  ck_assert(!bool_of(p, "automatable"));

  /* Every parameter is reached by its unique name, short names too, and
   * ignoring case. */
  ck_assert_uint_eq(index_of(node, "Drive"), 0);
  ck_assert_uint_eq(index_of(node, "Drive #2"), 1);
  ck_assert_uint_eq(index_of(node, "drive #3"), 2);
  ck_assert_uint_eq(index_of(node, "DRIVE #3"), 2);
  ck_assert_uint_eq(index_of(node, "Gain"), 0);
  ck_assert_uint_eq(index_of(node, "\xc3\x89" "cho"), 1);
  ck_assert_uint_eq(index_of(node, "a parameter with a very long name indeed"), 2);
  ck_assert(msg_str_is(ok_of(conn_request(&c, "plugin.get", "us", "node", node, "name", "Gain")),
                       "name", "Drive"));
  conn_expect_error(&c, conn_request(&c, "plugin.get", "us", "node", node, "name", "Drive #4"),
                    "unknown_param");
  set_by_name(node, "drive #3", 0.75);
  ck_assert(fabs(get_index(node, 2) - 0.75) < 1e-6);
  set_by_name(node, "Drive #2", 0.25);   /* moves "Gain" along (testplug.c) */
  ck_assert(fabs(get_index(node, 1) - 0.25) < 1e-6);
  set_by_name(node, "DRIVE", 0.5);
  ck_assert(fabs(get_index(node, 0) - 0.5) < 1e-6);
  ck_assert(fabs(get_index(node, 1) - 0.25) < 1e-6);

  /* Names of the plugin and its programs. */
  ok = ok_of(conn_request(&c, "plugin.list", ""));
  ck_assert(msg_str_is(&sono_map_get(ok, "nodes")->via.array.ptr[0], "name",
                       "B\xc3\xa4ss test plugin"));
  ok = ok_of(conn_request(&c, "plugin.programs", "u", "node", node));
  ck_assert(bool_of(ok, "indexed"));
  progs = sono_map_get(ok, "programs");
  ck_assert_uint_eq(progs->via.array.size, 4);
  ck_assert(sono_str_eq(&progs->via.array.ptr[1], "Cl\xc3\xa4r"));
  ck_assert(sono_str_eq(&progs->via.array.ptr[3], "Long"));
  ok = ok_of(conn_request(&c, "plugin.program", "uu", "node", node, "program", (uint64_t)1));
  ck_assert(msg_str_is(ok, "name", "Cl\xc3\xa4r"));

  /* A chunk is given to the plugin whatever it answers; this one keeps
   * it and gives it back. */
  {
    static const char mine[] = "a state of our own";
    const msgpack_object *data;

    ok_of(conn_state_set(&c, 77, node, mine, sizeof mine));
    ok = ok_of(conn_request(&c, "plugin.state.get", "u", "node", node));
    data = sono_map_get(ok, "data");
    ck_assert_uint_eq(data->via.bin.size, sizeof mine);
    ck_assert(memcmp(data->via.bin.ptr, mine, sizeof mine) == 0);
  }
  finish();
}

START_TEST(test_plugin_in_daemon) { test_plugin(false); }
END_TEST

START_TEST(test_plugin_isolated) { test_plugin(true); }
END_TEST

/* ZaMultiComp (DPF): effGetParamName cuts "Crossover freq 1" and "... 2" to
 * the same 15 bytes; the long names tell them apart. */
static void zamulticomp(bool isolate) {
  const msgpack_object *p;
  uint64_t node, a, b;

  if (access(ZAMULTICOMP, R_OK) != 0) {
    fprintf(stderr, "skipped: %s is not installed (zam-plugins)\n", ZAMULTICOMP);
    return;
  }
  start();
  node = load(ZAMULTICOMP, isolate);
  a = index_of(node, "Crossover freq 1");
  b = index_of(node, "Crossover freq 2");
  ck_assert_uint_ne(a, b);
  p = param(node, (unsigned)a);
  ck_assert(msg_str_is(p, "name", "Crossover freq 1"));
  ck_assert(msg_str_is(p, "short_name", "Crossover freq"));
  ck_assert(msg_str_is(p, "label", "Hz"));
  p = param(node, (unsigned)b);
  ck_assert(msg_str_is(p, "name", "Crossover freq 2"));
  ck_assert(msg_str_is(p, "short_name", "Crossover freq"));
  set_by_name(node, "Crossover freq 1", 0.125);
  set_by_name(node, "Crossover freq 2", 0.875);
  ck_assert(fabs(get_index(node, a) - 0.125) < 1e-3);
  ck_assert(fabs(get_index(node, b) - 0.875) < 1e-3);
  finish();
}

START_TEST(test_zamulticomp_in_daemon) { zamulticomp(false); }
END_TEST

START_TEST(test_zamulticomp_isolated) { zamulticomp(true); }
END_TEST

/* LSP: effGetParamName gives internal ids ("g_in"); the long name ("Input
 * gain") and the id both reach the parameter. */
static void lsp(bool isolate) {
  const msgpack_object *p;
  uint64_t node, i;

  if (access(LSP_COMP, R_OK) != 0) {
    fprintf(stderr, "skipped: %s is not installed (lsp-plugins-vst)\n", LSP_COMP);
    return;
  }
  start();
  node = load(LSP_COMP, isolate);
  i = index_of(node, "Input gain");
  ck_assert_uint_eq(index_of(node, "g_in"), i);
  p = param(node, (unsigned)i);
  ck_assert(msg_str_is(p, "name", "Input gain"));
  ck_assert(msg_str_is(p, "short_name", "g_in"));
  ck_assert(msg_str_is(p, "label", "dB"));
  set_by_name(node, "Input gain", 0.25);
  ck_assert(fabs(get_index(node, i) - 0.25) < 1e-3);
  p = param(node, (unsigned)index_of(node, "Bypass"));
  ck_assert(bool_of(p, "switch"));
  finish();
}

START_TEST(test_lsp_in_daemon) { lsp(false); }
END_TEST

START_TEST(test_lsp_isolated) { lsp(true); }
END_TEST

/* amsynth names only its current program (and that one not right after
 * load): every other name is nil, and listing them does not switch. */
static void amsynth_programs(bool isolate) {
  const msgpack_object *ok, *progs, *name;
  uint64_t node, count, k;

  start();
  node = load(AMSYNTH, isolate);
  ok = ok_of(conn_request(&c, "plugin.programs", "u", "node", node));
  ck_assert(!bool_of(ok, "indexed"));
  progs = sono_map_get(ok, "programs");
  count = progs->via.array.size;
  ck_assert_uint_gt(count, 100);
  for (k = 0; k < count; k++)
    ck_assert_int_eq(progs->via.array.ptr[k].type, MSGPACK_OBJECT_NIL);
  ok = ok_of(conn_request(&c, "plugin.program", "uu", "node", node, "program", (uint64_t)2));
  name = sono_map_get(ok, "name");
  ck_assert_int_eq(name->type, MSGPACK_OBJECT_STR);
  ck_assert_uint_gt(name->via.str.size, 0);
  ok = ok_of(conn_request(&c, "plugin.programs", "u", "node", node));
  ck_assert_int_eq((int)int_of(ok, "current"), 2);
  progs = sono_map_get(ok, "programs");
  ck_assert_int_eq(progs->via.array.ptr[2].type, MSGPACK_OBJECT_STR);
  ck_assert_int_eq(progs->via.array.ptr[1].type, MSGPACK_OBJECT_NIL);
  ck_assert_int_eq(progs->via.array.ptr[3].type, MSGPACK_OBJECT_NIL);
  ok = ok_of(conn_request(&c, "plugin.program", "u", "node", node));
  ck_assert_int_eq((int)int_of(ok, "program"), 2);
  finish();
}

START_TEST(test_amsynth_programs_in_daemon) { amsynth_programs(false); }
END_TEST

START_TEST(test_amsynth_programs_isolated) { amsynth_programs(true); }
END_TEST

/* An isolated plugin with chunks whose host crashed cannot be given a
 * state: crashed, and its restart brings back the last state it
 * had, not the refused one.  An empty state is bad_value. */
START_TEST(test_state_set_crashed_host) {
  const char *crashy = getenv("TESTPLUG_CHUNK_CRASH_AFTER");
  static const char before[] = "the state before", refused[] = "a state too late";
  const msgpack_object *ok, *data;
  uint64_t node;
  int k;

  ck_assert_ptr_nonnull(crashy);
  start_on(true);
  node = load(crashy, true);
  ok_of(conn_state_set(&c, 500, node, before, sizeof before));
  conn_expect_error(&c, conn_state_set(&c, 501, node, "", 0), "bad_value");
  /* SIGSEGV in its 41st process call. */
  ok_of(conn_request(&c, "render", "u", "frames", (uint64_t)20000));
  for (k = 0; k < 100; k++) {
    ok = ok_of(conn_request(&c, "plugin.list", ""));
    if (msg_str_is(&sono_map_get(ok, "nodes")->via.array.ptr[0], "state", "crashed"))
      break;
    usleep(50000);
  }
  ck_assert_int_lt(k, 100);
  conn_expect_error(&c, conn_state_set(&c, 502, node, refused, sizeof refused), "crashed");
  ok_of(conn_request(&c, "plugin.restart", "u", "node", node));
  ok = ok_of(conn_request(&c, "plugin.state.get", "u", "node", node));
  data = sono_map_get(ok, "data");
  ck_assert_uint_eq(data->via.bin.size, sizeof before);
  ck_assert(memcmp(data->via.bin.ptr, before, sizeof before) == 0);
  finish();
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("plugin-meta");
  TCase *tc = tcase_create("meta");

  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_plugin_in_daemon);
  tcase_add_test(tc, test_plugin_isolated);
  tcase_add_test(tc, test_zamulticomp_in_daemon);
  tcase_add_test(tc, test_zamulticomp_isolated);
  tcase_add_test(tc, test_lsp_in_daemon);
  tcase_add_test(tc, test_lsp_isolated);
  tcase_add_test(tc, test_amsynth_programs_in_daemon);
  tcase_add_test(tc, test_amsynth_programs_isolated);
  tcase_add_test(tc, test_state_set_crashed_host);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(suite)
