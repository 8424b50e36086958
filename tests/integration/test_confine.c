/* test_confine.c - confinement, on by default (README.md, "Threat model"):
 * each door closed, and the settings that open them.
 *
 * The strict daemon's file roots are its own directory (and HOME, set to
 * it); its plugin paths the standard ones, the suite's TESTPLUG folder and
 * `plug`, a folder of this test.  `out` is a folder outside every root,
 * holding a real plugin, a session file and a sound file: the daemon must
 * neither use them nor say that they exist. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "protocol/wire.h"
#include "tests/support/check_main.h"
#include "tests/support/harness.h"

static daemon_proc dp;
static conn c;
static char out[64], plug[64];

static void run(const char *cmd) {
  ck_assert_msg(system(cmd) == 0, "%s", cmd);
}

static bool exists(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0;
}

/* The error message of the reply to id, with code checked, and every
 * occurrence of the path given replaced by "P". */
static void error_text(uint64_t id, const char *code, const char *path, char *buf, size_t len) {
  const msgpack_object *m = conn_expect_error(&c, id, code);
  const msgpack_object *msg = sono_map_get(m, "message");
  char raw[2048], *p, *w = buf;
  size_t plen = strlen(path);

  ck_assert_ptr_nonnull(msg);
  ck_assert(msg->type == MSGPACK_OBJECT_STR && msg->via.str.size < sizeof raw);
  memcpy(raw, msg->via.str.ptr, msg->via.str.size);
  raw[msg->via.str.size] = '\0';
  for (p = raw; *p != '\0' && (size_t)(w - buf) + 2 < len;) {
    if (strncmp(p, path, plen) == 0) {
      *w++ = 'P';
      p += plen;
    } else {
      *w++ = *p++;
    }
  }
  *w = '\0';
}

static void start(const char *extra) {
  const char *args[] = { "--backend", "offline", "--output", NULL, "--plugin-path", plug,
                         extra, NULL };
  char outfile[128], cmd[512];

  snprintf(out, sizeof out, "/tmp/sonod-confine-out-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(out));
  snprintf(plug, sizeof plug, "/tmp/sonod-confine-plug-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(plug));
  snprintf(outfile, sizeof outfile, "%s/render.wav", out);
  args[3] = outfile;
  /* Outside every root: a real plugin, a session file, a sound file. */
  snprintf(cmd, sizeof cmd, "cp '%s' %s/evil.so && echo secret > %s/secret.sonod && "
           "cp %s/evil.so %s/copy.so", getenv("TESTPLUG"), out, out, out, out);
  run(cmd);
  /* In the plugin folder: a link to the test plugin (allowed: it leads
   * into a plugin path) and one that leads out. */
  snprintf(cmd, sizeof cmd, "ln -s '%s' %s/good.so && ln -s %s/evil.so %s/evil.so",
           getenv("TESTPLUG"), plug, out, plug);
  run(cmd);
  daemon_start_strict(&dp, args);
  conn_open(&c, dp.socket);
}

static void stop(void) {
  char cmd[1024];

  daemon_shutdown(&dp, &c);
  snprintf(cmd, sizeof cmd, "rm -rf %s %s %s", out, plug, dp.dir);
  run(cmd);
}

START_TEST(files_stay_inside_the_roots) {
  char path[1400], a[2048], b[2048];

  start(NULL);
  /* Allowed: a file in the daemon's own directory. */
  snprintf(path, sizeof path, "%s/ok.sonod", dp.dir);
  conn_ok(&c, conn_request(&c, "state.save", "s", "path", path));
  ck_assert(exists(path));
  conn_ok(&c, conn_request(&c, "state.load", "s", "path", path));

  /* Out by `..`: nothing written, and refused. */
  snprintf(path, sizeof path, "%s/../%s/x.sonod", dp.dir, out + 5);
  conn_expect_error(&c, conn_request(&c, "state.save", "s", "path", path), "file_error");
  snprintf(path, sizeof path, "%s/x.sonod", out);
  ck_assert(!exists(path));

  /* Out by a symlinked folder, and by a symlinked file. */
  snprintf(path, sizeof path, "ln -s %s %s/outlink && ln -s %s/secret.sonod %s/secret.sonod",
           out, dp.dir, out, dp.dir);
  run(path);
  snprintf(path, sizeof path, "%s/outlink/y.sonod", dp.dir);
  conn_expect_error(&c, conn_request(&c, "state.save", "s", "path", path), "file_error");
  snprintf(path, sizeof path, "%s/y.sonod", out);
  ck_assert(!exists(path));
  snprintf(path, sizeof path, "%s/secret.sonod", dp.dir);
  conn_expect_error(&c, conn_request(&c, "state.load", "s", "path", path), "file_error");
  snprintf(path, sizeof path, "%s/outlink/secret.sonod", dp.dir);
  conn_expect_error(&c, conn_request(&c, "state.load", "s", "path", path), "file_error");

  /* Recording and tables too. */
  snprintf(path, sizeof path, "%s/rec.wav", out);
  conn_expect_error(&c, conn_request(&c, "record.start", "s", "path", path), "file_error");
  ck_assert(!exists(path));
  snprintf(path, sizeof path, "%s/secret.sonod", out);
  conn_expect_error(&c, conn_request(&c, "table.read", "s", "path", path), "file_error");

  /* Nothing tells a file outside from a missing one. */
  snprintf(path, sizeof path, "%s/secret.sonod", out);
  error_text(conn_request(&c, "state.load", "s", "path", path), "file_error", path, a, sizeof a);
  snprintf(path, sizeof path, "%s/missing.sono", out);
  error_text(conn_request(&c, "state.load", "s", "path", path), "file_error", path, b, sizeof b);
  ck_assert_str_eq(a, b);
  snprintf(path, sizeof path, "%s/nofolder/missing.sonod", out);
  error_text(conn_request(&c, "state.load", "s", "path", path), "file_error", path, b, sizeof b);
  ck_assert_str_eq(a, b);
  stop();
}
END_TEST

START_TEST(plugins_load_only_from_the_plugin_paths) {
  char path[512], a[2048], b[2048];
  const msgpack_object *ok, *list;

  start(NULL);
  /* A link in a plugin folder to a plugin in another: loads. */
  snprintf(path, sizeof path, "%s/good.so", plug);
  conn_ok(&c, conn_request(&c, "plugin.load", "s", "path", path));

  /* A plugin outside: by its path, by `..`, by a link in a plugin folder. */
  snprintf(path, sizeof path, "%s/evil.so", out);
  conn_expect_error(&c, conn_request(&c, "plugin.load", "s", "path", path), "denied");
  snprintf(path, sizeof path, "%s/../%s/evil.so", plug, out + 5);
  conn_expect_error(&c, conn_request(&c, "plugin.load", "s", "path", path), "denied");
  snprintf(path, sizeof path, "%s/evil.so", plug);
  conn_expect_error(&c, conn_request(&c, "plugin.load", "s", "path", path), "denied");

  /* The same words for a plugin outside and for nothing there. */
  snprintf(path, sizeof path, "%s/copy.so", out);
  error_text(conn_request(&c, "plugin.load", "s", "path", path), "denied", path, a, sizeof a);
  snprintf(path, sizeof path, "%s/none.so", out);
  error_text(conn_request(&c, "plugin.load", "s", "path", path), "denied", path, b, sizeof b);
  ck_assert_str_eq(a, b);

  /* plugin.scan: a folder outside is refused; a plugin folder lists the
   * plugin inside and passes over the link that leads out. */
  conn_expect_error(&c, conn_request(&c, "plugin.scan", "s", "dir", out), "denied");
  ok = conn_ok(&c, conn_request(&c, "plugin.scan", "s", "dir", plug));
  list = sono_map_get(ok, "plugins");
  ck_assert_ptr_nonnull(list);
  ck_assert_uint_eq(list->via.array.size, 1);
  snprintf(path, sizeof path, "%s/good.so", plug);
  ck_assert(msg_str_is(&list->via.array.ptr[0], "path", path));
  stop();
}
END_TEST

/* Each refused opcode, on the line given; the refusal names it. */
static const struct {
  const char *code;
  unsigned line;
  const char *name;
} refused[] = {
  { "instr 1\n  system_i 1, \"id\"\nendin\n", 2, "system_i" },
  { "instr 1\n  ks system 1, \"id\"\nendin\n", 2, "system" },
  { "instr 1\n  fprints \"/tmp/x\", \"hi\"\nendin\n", 2, "fprints" },
  { "instr 1\n  fprintks \"/tmp/x\", \"hi\"\nendin\n", 2, "fprintks" },
  { "instr 1\n  a1 = 0\n  fout \"/tmp/x.wav\", 14, a1\nendin\n", 3, "fout" },
  { "instr 1\n  fouti 0, 0, 1, 1\nendin\n", 2, "fouti" },
  { "instr 1\n  foutir 0, 0, 1, 1\nendin\n", 2, "foutir" },
  { "instr 1\n  Sl, il readfi \"/etc/shadow\"\nendin\n", 2, "readfi" },
  { "instr 1\n  Sl, kl readf \"/etc/shadow\"\nendin\n", 2, "readf" },
  { "instr 1\n  k1 readk \"/etc/x\", 8, 1\nendin\n", 2, "readk" },
  { "instr 1\n  dumpk 1, \"/tmp/x\", 8, 1\nendin\n", 2, "dumpk" },
  { "instr 1\n  ftsave \"/tmp/x\", 1, 1\nendin\n", 2, "ftsave" },
  { "instr 1\n  ftload \"/etc/x\", 1, 1\nendin\n", 2, "ftload" },
  { "gi1 ftgen 0, 0, 0, 1, \"/etc/x.wav\", 0, 0, 0\n", 1, "ftgen" },
  { "instr 1\n  a1 soundin \"/etc/x.wav\"\nendin\n", 2, "soundin" },
  { "instr 1\n  a1 diskin2 \"/etc/x.wav\", 1\nendin\n", 2, "diskin2" },
  { "instr 1\n  S1 = \"/etc/x.wav\"\n  a1 diskin S1, 1\nendin\n", 3, "diskin" },
  { "instr 1\n  event_i \"f\", 1, 0, 0, 1, \"/etc/x.wav\", 0, 0, 0\nendin\n", 2, "event_i" },
  { "instr 1\n  ires compilestr \"instr 2\\nendin\"\nendin\n", 2, "compilestr" },
  { "#define A #sys#\n#define B #tem_i#\ninstr 1\n  $A.$B. 1, \"id\"\nendin\n", 4, "A" },
};

START_TEST(csound_refuses_the_opcodes_that_reach_out) {
  char code[512];
  const msgpack_object *m, *msg;
  size_t i;

  start(NULL);
  for (i = 0; i < sizeof refused / sizeof refused[0]; i++) {
    m = conn_expect_error(&c, conn_request(&c, "csound.compile", "s", "code", refused[i].code),
                          "denied");
    ck_assert_msg(msg_uint(m, "line") == refused[i].line, "%s: line %llu", refused[i].code,
                  (unsigned long long)msg_uint(m, "line"));
    msg = sono_map_get(m, "message");
    ck_assert(msg != NULL && msg->type == MSGPACK_OBJECT_STR);
    snprintf(code, sizeof code, "%.*s", (int)msg->via.str.size, msg->via.str.ptr);
    ck_assert_msg(strstr(code, refused[i].name) != NULL, "%s", code);
  }
  /* Allowed: ordinary code, a sound file named inside the roots, the
   * same words in comments and strings, GENs that read nothing. */
  snprintf(code, sizeof code,
           "gi1 ftgen 0, 0, 1024, 10, 1\n"
           "gi2 ftgen 0, 0, 1024, \"tanh\", -5, 5, 0\n"
           "instr 1 ; system_i here is a comment\n"
           "  prints \"fout and system_i are only words here\\n\"\n"
           "  a1 diskin2 \"%s/in.wav\", 1\n"
           "  out a1\n"
           "endin\n", dp.dir);
  conn_ok(&c, conn_request(&c, "csound.compile", "s", "code", code));
  stop();
}
END_TEST

START_TEST(settings_open_each_door) {
  char path[512];

  start("--allow-any-path");
  snprintf(path, sizeof path, "%s/x.sonod", out);
  conn_ok(&c, conn_request(&c, "state.save", "s", "path", path));
  ck_assert(exists(path));
  snprintf(path, sizeof path, "%s/evil.so", out);
  conn_expect_error(&c, conn_request(&c, "plugin.load", "s", "path", path), "denied");
  stop();

  start("--allow-any-plugin");
  snprintf(path, sizeof path, "%s/evil.so", out);
  conn_ok(&c, conn_request(&c, "plugin.load", "s", "path", path));
  snprintf(path, sizeof path, "%s/x.sonod", out);
  conn_expect_error(&c, conn_request(&c, "state.save", "s", "path", path), "file_error");
  stop();

  start("--csound-unsafe");
  conn_ok(&c, conn_request(&c, "csound.compile", "s", "code",
                           "instr 1\n  Sl, il readfi \"/nonexistent\"\nendin\n"));
  stop();
}
END_TEST

static Suite *confine_suite(void) {
  Suite *s = suite_create("confine");
  TCase *tc = tcase_create("core");

  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, files_stay_inside_the_roots);
  tcase_add_test(tc, plugins_load_only_from_the_plugin_paths);
  tcase_add_test(tc, csound_refuses_the_opcodes_that_reach_out);
  tcase_add_test(tc, settings_open_each_door);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(confine_suite)
