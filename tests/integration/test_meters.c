/* Integration: meters, per-node load, `sonoctl top --once` and session
 * scripts (`sonoctl render script.jsonl`), on the offline backend, where
 * meter intervals are counted in engine frames and so are deterministic.
 *
 *   - a tone at amp 0.5 reaches `out`: peak 0.5, RMS 0.354; the silent
 *     csound node reports 0; exactly `rate` events per rendered second, the
 *     last at the render's end, before its reply (1 s is not a whole number
 *     of 256-frame blocks: the render's last, short block is published too);
 *   - a subscription listing nodes out of the plan's order, one twice, gets
 *     them in its order, each port with its own level, also after a new
 *     connection reorders the plan;
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

/* One meter event as read: each node's label and its ports' names and peaks. */
typedef struct mnode {
  char label[16];
  unsigned nports;
  char port[4][16];
  double peak[4];
} mnode;

typedef struct mevent {
  unsigned nnodes;
  mnode node[8];
} mevent;

/* Renders frames and keeps the last meter event before the reply. */
static void render_last_event(uint64_t frames, mevent *ev) {
  uint64_t id = conn_request(&c, "render", "u", "frames", frames);

  memset(ev, 0, sizeof *ev);
  for (;;) {
    const msgpack_object *m = conn_recv(&c, 30000);
    const msgpack_object *rid = get(m, "id"), *nodes;
    uint32_t i, k;

    if (rid != NULL && rid->via.u64 == id) {
      ck_assert_ptr_nonnull(msg_ok(m));
      return;
    }
    if (!msg_str_is(m, "event", "meter"))
      continue;
    nodes = get(m, "nodes");
    ck_assert_ptr_nonnull(nodes);
    ck_assert_uint_le(nodes->via.array.size, 8);
    memset(ev, 0, sizeof *ev);
    ev->nnodes = nodes->via.array.size;
    for (i = 0; i < ev->nnodes; i++) {
      const msgpack_object *n = get(&nodes->via.array.ptr[i], "node");
      const msgpack_object *ports = get(&nodes->via.array.ptr[i], "ports");
      mnode *x = &ev->node[i];

      ck_assert_ptr_nonnull(n);
      ck_assert_ptr_nonnull(ports);
      if (n->type == MSGPACK_OBJECT_STR)
        snprintf(x->label, sizeof x->label, "%.*s", (int)n->via.str.size, n->via.str.ptr);
      else
        snprintf(x->label, sizeof x->label, "%llu", (unsigned long long)n->via.u64);
      ck_assert_uint_le(ports->via.array.size, 4);
      x->nports = ports->via.array.size;
      for (k = 0; k < x->nports; k++) {
        const msgpack_object *pn = get(&ports->via.array.ptr[k], "port");

        ck_assert_ptr_nonnull(pn);
        snprintf(x->port[k], sizeof x->port[k], "%.*s", (int)pn->via.str.size, pn->via.str.ptr);
        x->peak[k] = num(get(&ports->via.array.ptr[k], "peak"));
      }
    }
  }
}

/* The event holds, in this order, the nodes named by labels, each with
 * its ports (named prefix_1, prefix_2, ...) at these peaks. */
static void expect_node(const mevent *ev, unsigned i, const char *label, const char *prefix,
                        unsigned nports, const double *peaks) {
  char name[16];
  unsigned k;

  ck_assert_uint_lt(i, ev->nnodes);
  ck_assert_str_eq(ev->node[i].label, label);
  ck_assert_msg(ev->node[i].nports == nports, "node %s: %u ports, not %u", label,
                ev->node[i].nports, nports);
  for (k = 0; k < nports; k++) {
    snprintf(name, sizeof name, "%s_%u", prefix, k + 1);
    ck_assert_str_eq(ev->node[i].port[k], name);
    ck_assert_msg(fabs(ev->node[i].peak[k] - peaks[k]) < 1e-4, "node %s %s: peak %g, not %g",
                  label, name, ev->node[i].peak[k], peaks[k]);
  }
}

/* The event of the test below: g3, out, g1, g3, g2 with these levels. */
static void expect_subscribed(const mevent *ev, const char *s1, const char *s2, const char *s3,
                              const double *out, const double *g2) {
  static const double z3[3] = { 0, 0, 0.25 }, gl1[2] = { 0.125, 0.25 };

  ck_assert_uint_eq(ev->nnodes, 5);
  expect_node(ev, 0, s3, "out", 3, z3);
  expect_node(ev, 1, "out", "in", 2, out);
  expect_node(ev, 2, s1, "out", 2, gl1);
  expect_node(ev, 3, s3, "out", 3, z3);
  expect_node(ev, 4, s2, "out", 1, g2);
}

static void wire(const char *from, const char *to) {
  ok_of(conn_request(&c, "graph.connect", "ss", "from", from, "to", to));
}

static uint64_t gain_node(unsigned channels) {
  return msg_uint(ok_of(conn_request(&c, "node.new", "su", "kind", "gain", "channels",
                                     (uint64_t)channels)),
                  "node");
}

/* A subscription listing nodes out of the plan's order and one of them
 * twice gets them in its own order (twice), each node's ports in order,
 * each port with its own level; still so after a connection reorders the
 * plan, so that the audio thread's snapshots list the ports in another
 * order than the subscription first saw them.  Csound plays DC 0.125 on
 * out_1 and 0.25 on out_2; g1 (2 channels) takes both, g3 (3) takes out_2
 * on its third input, g2 (1) takes out_1; g1's and g2's, then g3's outputs
 * go to out, beside Csound's own connections to it. */
START_TEST(ports_keep_their_order_and_levels_when_the_plan_reorders) {
  uint64_t g1, g2, g3;
  char s1[16], s2[16], s3[16], a[32], b[32];
  msgpack_sbuffer sb;
  msgpack_packer pk;
  mevent ev;
  static const double out1[2] = { 0.5, 0.625 }, g2a[1] = { 0.125 }, out2[2] = { 0.5, 0.875 },
                      g2b[1] = { 0.375 };

  start();
  ok_of(conn_request(&c, "instr.define", "ss", "name", "dc2", "body",
                     "a1 upsamp 0.125\na2 upsamp 0.25\nouts a1, a2\n"));
  ok_of(conn_request(&c, "synth.start", "sud", "instr", "dc2", "at", (uint64_t)0, "dur", 30.0));
  g1 = gain_node(2);
  g2 = gain_node(1);
  g3 = gain_node(3);
  snprintf(s1, sizeof s1, "%llu", (unsigned long long)g1);
  snprintf(s2, sizeof s2, "%llu", (unsigned long long)g2);
  snprintf(s3, sizeof s3, "%llu", (unsigned long long)g3);
#define PORT(buf, node, port) (snprintf(buf, sizeof buf, "%s:%s", node, port), buf)
  wire("csound:out_1", PORT(a, s1, "in_1"));
  wire("csound:out_2", PORT(a, s1, "in_2"));
  wire("csound:out_2", PORT(a, s3, "in_3"));
  wire("csound:out_1", PORT(a, s2, "in_1"));
  wire(PORT(a, s1, "out_1"), "out:in_1");
  wire(PORT(a, s1, "out_2"), "out:in_2");
  wire(PORT(a, s2, "out_1"), "out:in_2");
  wire(PORT(a, s3, "out_3"), "out:in_1");
  /* The plan: csound, g1, g2, g3, out (creation order where free). */

  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 4);
  sono_pack_key_uint(&pk, "id", 78);
  sono_pack_key_str(&pk, "op", "meter.subscribe");
  sono_pack_key_uint(&pk, "rate", 10);
  sono_pack_cstr(&pk, "nodes");
  msgpack_pack_array(&pk, 5);
  msgpack_pack_uint64(&pk, g3);
  sono_pack_cstr(&pk, "out");
  msgpack_pack_uint64(&pk, g1);
  msgpack_pack_uint64(&pk, g3);
  msgpack_pack_uint64(&pk, g2);
  conn_send_payload(&c, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  ok_of(78);

  render_last_event(RATE / 2, &ev);
  expect_subscribed(&ev, s1, s2, s3, out1, g2a);

  /* g3 now feeds g2: the plan becomes csound, g1, g3, g2, out. */
  wire(PORT(a, s3, "out_3"), PORT(b, s2, "in_1"));
#undef PORT
  render_last_event(RATE / 2, &ev);
  expect_subscribed(&ev, s1, s2, s3, out2, g2b);
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
  tcase_add_test(tc, ports_keep_their_order_and_levels_when_the_plan_reorders);
  tcase_add_test(tc, script_renders_are_identical_and_match_live_requests);
  tcase_add_test(tc, top_once_prints_the_nodes);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(meters_suite)
