/* Integration: meters, per-node load, `sonoctl top --once` and session
 * scripts (`sonoctl render script.jsonl`), on the offline backend, where
 * meter intervals are counted in engine frames and so are deterministic.
 *
 *   - a tone at amp 0.5 reaches `out`: peak 0.5, RMS 0.354; the silent
 *     csound node reports 0; exactly `rate` events per rendered second, the
 *     last at the render's end, before its reply (1 s is not a whole number
 *     of 256-frame blocks: the render's last, short block is published too);
 *   - status has a load for every node of the plan;
 *   - top --once prints the nodes;
 *   - a script rendered twice gives byte-identical files, and the same
 *     requests sent by hand to an offline daemon give the same samples. */
#include <check.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "protocol/wire.h"
#include "tests/support/check_main.h"
#include "tests/support/harness.h"
#include "tests/support/offline.h"

#define RATE 48000

static daemon_proc dp;
static conn c;
static offline_paths P;

static void start(void) {
  offline_start(&dp, &c, &P, "meters", NULL);
}

static void finish(void) {
  offline_finish(&dp, &c, &P);
}

static const msgpack_object *ok_of(uint64_t id) {
  return conn_ok(&c, id);
}

static const msgpack_object *get(const msgpack_object *map, const char *key) {
  uint32_t i;

  if (map == NULL || map->type != MSGPACK_OBJECT_MAP)
    return NULL;
  for (i = 0; i < map->via.map.size; i++)
    if (sono_str_eq(&map->via.map.ptr[i].key, key))
      return &map->via.map.ptr[i].val;
  return NULL;
}

static double num(const msgpack_object *o) {
  ck_assert_ptr_nonnull(o);
  if (o->type == MSGPACK_OBJECT_FLOAT64 || o->type == MSGPACK_OBJECT_FLOAT32)
    return o->via.f64;
  if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
    return (double)o->via.u64;
  ck_abort_msg("not a number");
  return 0;
}

static uint64_t subscribe(unsigned rate) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  uint64_t id = 77;

  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 4);
  sono_pack_key_uint(&pk, "id", id);
  sono_pack_key_str(&pk, "op", "meter.subscribe");
  sono_pack_key_uint(&pk, "rate", rate);
  sono_pack_cstr(&pk, "nodes");
  msgpack_pack_array(&pk, 2);
  sono_pack_cstr(&pk, "out");
  sono_pack_cstr(&pk, "csound");
  conn_send_payload(&c, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  return id;
}

typedef struct seen {
  unsigned events;
  uint64_t last_frame, reply_frame;
  double out_peak[2], out_rms[2];
  double cs_peak, cs_rms;
  bool saw_out, saw_csound;
} seen;

static void take_event(const msgpack_object *m, seen *s) {
  const msgpack_object *nodes = get(m, "nodes");
  uint32_t i, k;

  s->events++;
  s->last_frame = msg_uint(m, "frame");
  ck_assert_ptr_nonnull(nodes);
  for (i = 0; i < nodes->via.array.size; i++) {
    const msgpack_object *n = &nodes->via.array.ptr[i];
    const msgpack_object *ports = get(n, "ports");
    bool is_out = msg_str_is(n, "node", "out");

    ck_assert_ptr_nonnull(ports);
    for (k = 0; k < ports->via.array.size; k++) {
      const msgpack_object *p = &ports->via.array.ptr[k];
      double peak = num(get(p, "peak")), rms = num(get(p, "rms"));

      if (is_out && k < 2) {
        s->saw_out = true;
        s->out_peak[k] = peak;
        s->out_rms[k] = rms;
      } else if (!is_out) {
        s->saw_csound = true;
        if (peak > s->cs_peak)
          s->cs_peak = peak;
        if (rms > s->cs_rms)
          s->cs_rms = rms;
      }
    }
  }
}

/* Renders frames, collecting meter events until the render's reply. */
static void render_collect(uint64_t frames, seen *s) {
  uint64_t id = conn_request(&c, "render", "u", "frames", frames);

  for (;;) {
    const msgpack_object *m = conn_recv(&c, 30000);
    const msgpack_object *rid = get(m, "id");

    if (msg_str_is(m, "event", "meter")) {
      take_event(m, s);
      continue;
    }
    if (rid != NULL && rid->via.u64 == id) {
      ck_assert_ptr_nonnull(msg_ok(m));
      s->reply_frame = msg_uint(msg_ok(m), "frame");
      return;
    }
  }
}

START_TEST(tone_is_metered_at_the_rate) {
  seen s;
  unsigned k;

  start();
  ok_of(subscribe(10));
  ok_of(conn_request(&c, "engine.tone", "bddui", "on", 1, "freq", 1000.0, "amp", 0.5, "at",
                     (uint64_t)0, "channel", (int64_t)0));
  /* Settle: the first interval starts mid-way. */
  memset(&s, 0, sizeof s);
  render_collect(RATE / 2, &s);
  memset(&s, 0, sizeof s);
  render_collect(RATE, &s);
  fprintf(stderr, "meters: %u events in 1 s at 10 Hz; out peak %g rms %g\n", s.events,
          s.out_peak[0], s.out_rms[0]);
  ck_assert_msg(s.events == 10, "%u events in a second at 10 Hz", s.events);
  ck_assert_uint_eq(s.last_frame, s.reply_frame);
  ck_assert(s.saw_out);
  ck_assert_msg(fabs(s.out_peak[0] - 0.5) < 0.005, "peak %g", s.out_peak[0]);
  ck_assert_msg(fabs(s.out_rms[0] - 0.5 / sqrt(2.0)) < 0.005, "rms %g", s.out_rms[0]);
  /* Channel 1 has no tone. */
  ck_assert(s.out_peak[1] == 0.0 && s.out_rms[1] == 0.0);
  if (s.saw_csound)
    ck_assert(s.cs_peak == 0.0 && s.cs_rms == 0.0);

  /* Unsubscribed: no more events. */
  ok_of(conn_request(&c, "meter.unsubscribe", ""));
  memset(&s, 0, sizeof s);
  render_collect(RATE / 4, &s);
  ck_assert_uint_eq(s.events, 0);
  for (k = 0; k < 1; k++) {
    const msgpack_object *st = ok_of(conn_request(&c, "status", ""));
    const msgpack_object *nodes = get(st, "nodes");
    uint32_t i;

    ck_assert_ptr_nonnull(nodes);
    ck_assert_uint_ge(nodes->via.array.size, 1);
    for (i = 0; i < nodes->via.array.size; i++) {
      double load = num(get(&nodes->via.array.ptr[i], "load"));
      ck_assert_ptr_nonnull(get(&nodes->via.array.ptr[i], "node"));
      ck_assert_msg(load >= 0.0 && load < 50.0, "load %g", load);
    }
  }
  finish();
  unlink(P.out);
}
END_TEST

START_TEST(meter_requests_are_checked) {
  const msgpack_object *m;

  start();
  m = conn_reply(&c, conn_request(&c, "meter.subscribe", "u", "rate", (uint64_t)0), 10000);
  ck_assert_str_eq(msg_error_code(m), "bad_value");
  m = conn_reply(&c, conn_request(&c, "meter.subscribe", "u", "rate", (uint64_t)61), 10000);
  ck_assert_str_eq(msg_error_code(m), "bad_value");
  finish();
  unlink(P.out);
}
END_TEST

#define SCRIPT                                                                          \
  "# two tones\n"                                                                       \
  "{\"at\": 0, \"op\": \"engine.tone\", \"on\": true, \"freq\": 440, \"amp\": 0.3}\n"   \
  "\n"                                                                                  \
  "{\"at\": 0.25, \"op\": \"engine.tone\", \"on\": true, \"freq\": 660, \"amp\": 0.2}\n" \
  "{\"frame\": 30001, \"op\": \"engine.tone\", \"on\": false}\n"                        \
  "{\"at\": 1.0, \"op\": \"end\"}\n"

static float *read_all(const char *path, sf_count_t *frames) {
  SF_INFO info;
  SNDFILE *f;
  float *data;

  memset(&info, 0, sizeof info);
  f = sf_open(path, SFM_READ, &info);
  ck_assert_msg(f != NULL, "cannot read %s", path);
  data = malloc(sizeof(float) * (size_t)(info.frames * info.channels + 1));
  ck_assert_int_eq(sf_readf_float(f, data, info.frames), info.frames);
  sf_close(f);
  *frames = info.frames * info.channels;
  return data;
}

static void run_script(const char *script, const char *out) {
  char cmd[1400];

  snprintf(cmd, sizeof cmd, "'%s' render '%s' -o '%s' --block-size 256 >/dev/null",
           getenv("SONOCTL"), script, out);
  ck_assert_int_eq(system(cmd), 0);
}

/* SCRIPT as msgpack maps, the same keys and values (440 an integer as in
 * the JSON).  With `cut`, the last map loses its last byte. */
static void write_msgpack_script(const char *path, bool cut) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  FILE *f;

  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 5);
  sono_pack_key_uint(&pk, "at", 0);
  sono_pack_key_str(&pk, "op", "engine.tone");
  sono_pack_key_bool(&pk, "on", true);
  sono_pack_key_uint(&pk, "freq", 440);
  sono_pack_key_double(&pk, "amp", 0.3);
  msgpack_pack_map(&pk, 5);
  sono_pack_key_double(&pk, "at", 0.25);
  sono_pack_key_str(&pk, "op", "engine.tone");
  sono_pack_key_bool(&pk, "on", true);
  sono_pack_key_uint(&pk, "freq", 660);
  sono_pack_key_double(&pk, "amp", 0.2);
  msgpack_pack_map(&pk, 3);
  sono_pack_key_uint(&pk, "frame", 30001);
  sono_pack_key_str(&pk, "op", "engine.tone");
  sono_pack_key_bool(&pk, "on", false);
  msgpack_pack_map(&pk, 2);
  sono_pack_key_double(&pk, "at", 1.0);
  sono_pack_key_str(&pk, "op", "end");
  f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(sb.data, 1, sb.size - (cut ? 1 : 0), f), sb.size - (cut ? 1 : 0));
  fclose(f);
  msgpack_sbuffer_destroy(&sb);
}

START_TEST(script_renders_are_identical_and_match_live_requests) {
  char script[300], mp[300], a[300], b[300], cmd[1000];
  sf_count_t na, nh;
  float *da, *dh;
  FILE *f;

  snprintf(script, sizeof script, "/tmp/sonod-script-%d.jsonl", getpid());
  snprintf(a, sizeof a, "/tmp/sonod-script-%d-a.wav", getpid());
  snprintf(b, sizeof b, "/tmp/sonod-script-%d-b.wav", getpid());
  f = fopen(script, "w");
  ck_assert_ptr_nonnull(f);
  fputs(SCRIPT, f);
  fclose(f);
  run_script(script, a);
  /* A second apart, so anything that stamps the file with the time of
   * writing (libsndfile's PEAK chunk did) shows up as a difference. */
  sleep(1);
  run_script(script, b);
  snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", a, b);
  ck_assert_msg(system(cmd) == 0, "two renders of one script differ");

  /* The same script as msgpack maps renders the same file. */
  snprintf(mp, sizeof mp, "/tmp/sonod-script-%d.msgpack", getpid());
  write_msgpack_script(mp, false);
  run_script(mp, b);
  snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", a, b);
  ck_assert_msg(system(cmd) == 0, "the msgpack script renders differently from the JSON one");
  /* Cut short, it is refused before anything renders, naming the request. */
  write_msgpack_script(mp, true);
  snprintf(cmd, sizeof cmd, "'%s' render '%s' -o '%s' 2>&1", getenv("SONOCTL"), mp, b);
  {
    char out[1000];
    size_t n;
    FILE *p = popen(cmd, "r");

    ck_assert_ptr_nonnull(p);
    n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    ck_assert_int_ne(pclose(p), 0);
    ck_assert_msg(strstr(out, "request 4: cut short") != NULL, "sonoctl said: %s", out);
  }
  unlink(mp);

  /* The same requests, by hand, all sent before rendering. */
  start();
  ok_of(conn_request(&c, "engine.tone", "bddu", "on", 1, "freq", 440.0, "amp", 0.3, "at",
                     (uint64_t)0));
  ok_of(conn_request(&c, "engine.tone", "bddu", "on", 1, "freq", 660.0, "amp", 0.2, "at",
                     (uint64_t)12000));
  ok_of(conn_request(&c, "engine.tone", "bu", "on", 0, "at", (uint64_t)30001));
  ok_of(conn_request(&c, "render", "u", "frames", (uint64_t)RATE));
  finish();
  da = read_all(a, &na);
  dh = read_all(P.out, &nh);
  ck_assert_int_eq(na, nh);
  ck_assert_msg(memcmp(da, dh, sizeof(float) * (size_t)na) == 0,
                "the script and the same requests by hand sound different");
  /* And there is sound, which stops at frame 30001. */
  ck_assert(fabsf(da[2 * 1000]) > 0.0f || fabsf(da[2 * 1001]) > 0.0f);
  ck_assert(da[2 * 30001] == 0.0f && da[2 * 40000] == 0.0f);
  free(da);
  free(dh);
  unlink(a);
  unlink(b);
  unlink(script);
  unlink(P.out);
}
END_TEST

START_TEST(top_once_prints_the_nodes) {
  char cmd[1000], buf[8192];
  size_t n;
  FILE *p;

  start();
  snprintf(cmd, sizeof cmd, "'%s' -s '%s' top --once", getenv("SONOCTL"), dp.socket);
  p = popen(cmd, "r");
  ck_assert_ptr_nonnull(p);
  n = fread(buf, 1, sizeof buf - 1, p);
  buf[n] = '\0';
  ck_assert_int_eq(pclose(p), 0);
  fprintf(stderr, "%s", buf);
  ck_assert_ptr_nonnull(strstr(buf, "DSP"));
  ck_assert_ptr_nonnull(strstr(buf, "NODE"));
  ck_assert_ptr_nonnull(strstr(buf, "\nout "));
  ck_assert_ptr_null(strstr(buf, "\033["));
  finish();
  unlink(P.out);
}
END_TEST

static Suite *meters_suite(void) {
  Suite *s = suite_create("meters");
  TCase *tc = tcase_create("core");

  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, tone_is_metered_at_the_rate);
  tcase_add_test(tc, meter_requests_are_checked);
  tcase_add_test(tc, script_renders_are_identical_and_match_live_requests);
  tcase_add_test(tc, top_once_prints_the_nodes);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(meters_suite)
