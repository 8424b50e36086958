/* Integration: the worker pool (--workers, rt/rt_pool.h).
 *
 * Bit-identical output: random graphs (seeded) of gain nodes, a Csound
 * bus node, the test plugin (gain × param, impulses on notes, MIDI echo)
 * and real plugins (3BandEQ, MaFreeverb, ZamDelay when installed), fed by
 * Csound, with timed node.gain, plugin.set and plugin.midi landing on
 * exact frames inside blocks, rendered on the offline backend with 0, 1,
 * 2 and 4 workers: the four WAV files (32-bit float) must be the same bytes.
 * The parallel runs must have rendered in parallel (status.parallel_cycles).
 *
 * Scheduling: with the null backend, the workers exist (threads named
 * sonod-wK) and run SCHED_FIFO when the audio thread does; when the system
 * does not grant realtime scheduling the check is skipped, saying why. */
#include <check.h>
#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "protocol/wire.h"
#include "tests/support/check_main.h"
#include "tests/support/harness.h"
#include "tests/support/offline.h"

#define BLOCK "256"
#define FRAMES 48000u
#define SEEDS 4

static daemon_proc dp;
static conn c;
static offline_paths P;
static uint64_t next_id = 7000;

/* ------------------------------------------------------------ helpers */

static uint32_t rng;

static uint32_t rnd(uint32_t n) {
  rng = rng * 1664525u + 1013904223u;
  return (rng >> 8) % n;
}

static void start(const char *workers) {
  const char *const extra[] = { "--block-size", BLOCK, "--ksmps", "32", "--workers", workers,
                                "--parallel-min-us", "0", NULL };

  offline_start(&dp, &c, &P, "parallel", extra);
}

static const msgpack_object *ok_of(uint64_t id) {
  return conn_ok(&c, id);
}

static void render(uint64_t frames) {
  ok_of(conn_request(&c, "render", "u", "frames", frames));
}

static void connect_(uint64_t from, unsigned fport, uint64_t to, unsigned tport, double gain) {
  char f[64], t[64];

  if (from == 0)
    snprintf(f, sizeof f, "csound:out_%u", fport);
  else
    snprintf(f, sizeof f, "%llu:out_%u", (unsigned long long)from, fport);
  if (to == 0)
    snprintf(t, sizeof t, "out:in_%u", tport);
  else
    snprintf(t, sizeof t, "%llu:in_%u", (unsigned long long)to, tport);
  ok_of(conn_request(&c, "graph.connect", "ssd", "from", f, "to", t, "gain", gain));
}

static uint64_t plugin(const char *path, unsigned *nin, unsigned *nout) {
  const msgpack_object *r = ok_of(conn_request(&c, "plugin.load", "s", "path", path));

  *nin = (unsigned)msg_uint(r, "inputs");
  *nout = (unsigned)msg_uint(r, "outputs");
  return msg_uint(r, "node");
}

static void notes(uint64_t node, uint64_t at, unsigned note) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  uint64_t id = next_id++;

  midi_begin(&sb, &pk, id, node, 1);
  msgpack_pack_map(&pk, 4);
  sono_pack_key_str(&pk, "type", "note_on");
  sono_pack_key_uint(&pk, "note", note);
  sono_pack_key_uint(&pk, "velocity", 90);
  sono_pack_key_uint(&pk, "at", at);
  ok_of(midi_send(&c, &sb, id));
}

/* Csound: a sine to its outputs and a saw to audio bus `ibus`. */
static uint64_t csound_sources(void) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  uint64_t id = next_id++, bus, node;
  int b;

  b = (int)msg_uint(ok_of(conn_request(&c, "bus.new", "s", "kind", "audio")), "bus");
  ok_of(conn_request(&c, "instr.define", "ssi", "name", "src", "body",
                     "|ibus=0|\nasig oscili 0.4, 331\nouts asig, asig * 0.7\n"
                     "asaw vco2 0.3, 97\nsonod_abusout ibus, asaw\n",
                     "priority", (int64_t)1));
  render(256);   /* the compile is merged in the next k-cycle */
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 5);
  sono_pack_key_uint(&pk, "id", id);
  sono_pack_key_str(&pk, "op", "synth.start");
  sono_pack_key_str(&pk, "instr", "src");
  sono_pack_key_double(&pk, "dur", -1);
  sono_pack_cstr(&pk, "args");
  msgpack_pack_map(&pk, 1);
  sono_pack_key_double(&pk, "ibus", b);
  conn_send_payload(&c, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  ok_of(id);
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  id = next_id++;
  msgpack_pack_map(&pk, 4);
  sono_pack_key_uint(&pk, "id", id);
  sono_pack_key_str(&pk, "op", "node.new");
  sono_pack_key_str(&pk, "kind", "bus");
  sono_pack_cstr(&pk, "buses");
  msgpack_pack_array(&pk, 1);
  msgpack_pack_int(&pk, b);
  conn_send_payload(&c, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  node = msg_uint(ok_of(id), "node");
  bus = node;
  return bus;
}

typedef struct gnode {
  uint64_t id;      /* 0: csound */
  unsigned nin, nout;
  int kind;         /* 0 csound, 1 gain, 2 testplug, 3 real plugin, 4 bus */
} gnode;

static const char *const real_plugins[] = {
  "/usr/lib/vst/3BandEQ-vst.so",
  "/usr/lib/vst/MaFreeverb-vst.so",
  "/usr/lib/vst/ZamDelay-vst.so",
};

/* Which worker ran each node in the last block (status.nodes[].worker),
 * for the log. */
static char ran_where[512];

static void where(const msgpack_object *st) {
  const msgpack_object *nodes = sono_map_get(st, "nodes");
  size_t len = 0;
  uint32_t i;

  ran_where[0] = '\0';
  len += (size_t)snprintf(ran_where, sizeof ran_where, "last block's nodes ran on:");
  for (i = 0; nodes != NULL && i < nodes->via.array.size && len < sizeof ran_where - 8; i++)
    len += (size_t)snprintf(ran_where + len, sizeof ran_where - len, " %llu",
                            (unsigned long long)msg_uint(&nodes->via.array.ptr[i], "worker"));
}

/* Builds graph `seed` and renders FRAMES; returns status.parallel_cycles. */
static uint64_t build_and_render(uint32_t seed) {
  gnode g[32];
  unsigned n = 0, count, i, k;
  const msgpack_object *st;

  rng = seed;
  g[n++] = (gnode){ 0, 0, 2, 0 };
  g[n].id = csound_sources();
  g[n].nin = 0;
  g[n].nout = 1;
  g[n++].kind = 4;
  count = 6 + rnd(10);
  for (i = 0; i < count; i++) {
    gnode *x = &g[n];
    unsigned pick = rnd(10), nsrc, s;

    if (pick < 5) {
      x->kind = 1;
      x->nin = x->nout = 2;
      x->id = msg_uint(ok_of(conn_request(&c, "node.new", "su", "kind", "gain", "channels",
                                          (uint64_t)2)),
                       "node");
    } else if (pick < 7) {
      x->kind = 2;
      x->id = plugin(getenv("TESTPLUG"), &x->nin, &x->nout);
    } else {
      const char *path = real_plugins[rnd(3)];

      if (access(path, R_OK) != 0) {
        x->kind = 2;
        x->id = plugin(getenv("TESTPLUG"), &x->nin, &x->nout);
      } else {
        x->kind = 3;
        x->id = plugin(path, &x->nin, &x->nout);
      }
    }
    /* One to three sources among what exists, into random inputs. */
    nsrc = 1 + rnd(3);
    for (s = 0; s < nsrc && x->nin > 0; s++) {
      const gnode *from = &g[rnd(n)];

      if (from->nout == 0)
        continue;
      connect_(from->id, 1 + rnd(from->nout), x->id, 1 + rnd(x->nin),
               0.25 + 0.25 * (double)rnd(4));
    }
    if (x->kind == 1 && rnd(2) == 0)
      connect_(x->id, 1 + rnd(2), 0, 1 + rnd(2), 0.5);
    n++;
  }
  /* Timed changes, most inside blocks (not multiples of 256). */
  for (i = 0; i < 24; i++) {
    const gnode *x = &g[2 + rnd(n - 2)];
    uint64_t at = 300 + rnd(FRAMES - 1000);

    if (x->kind == 1)
      ok_of(conn_request(&c, "node.gain", "udu", "node", x->id, "gain",
                         0.1 * (double)(1 + rnd(15)), "at", at));
    else if (x->kind == 2) {
      if (rnd(2))
        ok_of(conn_request(&c, "plugin.set", "uudu", "node", x->id, "index", (uint64_t)0,
                           "value", 0.05 * (double)(1 + rnd(19)), "at", at));
      else
        notes(x->id, at, 40 + rnd(40));
    } else if (x->kind == 3)
      ok_of(conn_request(&c, "plugin.set", "uudu", "node", x->id, "index", (uint64_t)rnd(3),
                         "value", 0.05 * (double)(1 + rnd(19)), "at", at));
  }
  for (k = 0; k < FRAMES; k += 12000)
    render(12000);
  st = ok_of(conn_request(&c, "status", ""));
  where(st);
  return msg_uint(st, "parallel_cycles");
}

static float *render_with(uint32_t seed, const char *workers, sf_count_t *frames,
                          uint64_t *parallel) {
  float *d;

  start(workers);
  *parallel = build_and_render(seed);
  offline_finish(&dp, &c, &P);
  d = wav_read_stereo(P.out, frames);
  return d;
}

/* ------------------------------------------------------------ tests */

START_TEST(random_graphs_bit_identical) {
  static const char *const workers[] = { "1", "2", "4" };
  uint32_t seed = 0x5EED0000u + (uint32_t)_i * 7919u;
  sf_count_t n0, n;
  uint64_t par;
  float *ref = render_with(seed, "0", &n0, &par);
  double energy = 0;
  unsigned w;
  sf_count_t i;

  ck_assert_uint_eq(par, 0);
  ck_assert_int_gt(n0, FRAMES);
  for (i = 0; i < 2 * n0; i++)
    energy += (double)ref[i] * ref[i];
  ck_assert_msg(energy > 1.0, "seed %u: the graph made no sound (%g)", seed, energy);
  for (w = 0; w < 3; w++) {
    float *d = render_with(seed, workers[w], &n, &par);

    ck_assert_int_eq(n, n0);
    ck_assert_msg(par > 0, "seed %u, %s workers: no block rendered in parallel", seed,
                  workers[w]);
    printf("seed %u, %s workers: %llu of %u blocks in parallel, %s\n", seed, workers[w],
           (unsigned long long)par, (unsigned)(n / 256), ran_where);
    for (i = 0; i < 2 * n; i++)
      if (memcmp(&d[i], &ref[i], sizeof(float)) != 0)
        ck_abort_msg("seed %u, %s workers: frame %ld channel %ld differs: %a vs %a", seed,
                     workers[w], (long)(i / 2), (long)(i % 2), (double)d[i], (double)ref[i]);
    free(d);
  }
  free(ref);
}
END_TEST

/* The policy of thread `tid` of the daemon, or -1 if not found. */
static int thread_policy(pid_t tid) {
  return sched_getscheduler(tid);
}

/* Finds the daemon's threads named like prefix; returns how many, their
 * ids in tids. */
static unsigned threads_named(pid_t pid, const char *prefix, pid_t *tids, unsigned cap) {
  char path[300], name[64];
  DIR *dir;
  struct dirent *de;
  unsigned n = 0;

  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  dir = opendir(path);
  ck_assert_ptr_nonnull(dir);
  while ((de = readdir(dir)) != NULL) {
    FILE *f;

    if (de->d_name[0] == '.')
      continue;
    snprintf(path, sizeof path, "/proc/%d/task/%s/comm", (int)pid, de->d_name);
    if ((f = fopen(path, "r")) == NULL)
      continue;
    if (fgets(name, sizeof name, f) != NULL && strncmp(name, prefix, strlen(prefix)) == 0 &&
        n < cap)
      tids[n++] = (pid_t)atoi(de->d_name);
    fclose(f);
  }
  closedir(dir);
  return n;
}

START_TEST(workers_exist_with_the_audio_threads_policy) {
  const char *args[] = { "--backend", "null", "--workers", "2", NULL };
  const msgpack_object *st, *ws;
  pid_t tids[8];
  unsigned n, k;
  struct sched_param sp = { .sched_priority = 1 };
  bool rt_allowed;

  home_make(P.home, sizeof P.home, "parallel");
  daemon_start(&dp, args);
  conn_open(&c, dp.socket);
  n = threads_named(dp.pid, "sonod-w", tids, 8);
  ck_assert_uint_eq(n, 2);
  /* Whether this process could be realtime, as the daemon's threads ask. */
  rt_allowed = sched_setscheduler(0, SCHED_FIFO, &sp) == 0;
  if (rt_allowed) {
    sp.sched_priority = 0;
    sched_setscheduler(0, SCHED_OTHER, &sp);
  }
  /* The workers follow the clock thread's priority once it has it (the
   * control side looks every 100 ms). */
  for (k = 0; k < 50; k++) {
    st = ok_of(conn_request(&c, "status", ""));
    ws = sono_map_get(st, "workers");
    ck_assert_ptr_nonnull(ws);
    ck_assert_int_eq(ws->type, MSGPACK_OBJECT_ARRAY);
    ck_assert_uint_eq(ws->via.array.size, 2);
    if (!rt_allowed || (msg_str_is(&ws->via.array.ptr[0], "policy", "fifo") &&
                        msg_str_is(&ws->via.array.ptr[1], "policy", "fifo")))
      break;
    usleep(100000);
  }
  for (k = 0; k < 2; k++) {
    const msgpack_object *w = &ws->via.array.ptr[k];
    int pol = thread_policy(tids[k]);

    ck_assert_uint_eq(msg_uint(w, "worker"), k + 1);
    ck_assert(msg_str_is(w, "policy", pol == SCHED_FIFO ? "fifo" : "other"));
    if (rt_allowed) {
      ck_assert_int_eq(pol, SCHED_FIFO);
      ck_assert_uint_eq(msg_uint(w, "priority"), 10);
    } else {
      ck_assert_int_eq(pol, SCHED_OTHER);
    }
  }
  if (!rt_allowed)
    printf("workers_exist_with_the_audio_threads_policy: SCHED_FIFO is not allowed here "
           "(RLIMIT_RTPRIO 0, no CAP_SYS_NICE): checked the fallback to SCHED_OTHER only\n");
  daemon_shutdown(&dp, &c);
  home_remove(P.home);
}
END_TEST

static Suite *parallel_suite(void) {
  Suite *s = suite_create("parallel");
  TCase *t = tcase_create("pool");

  tcase_set_timeout(t, 600);
  tcase_add_loop_test(t, random_graphs_bit_identical, 0, SEEDS);
  tcase_add_test(t, workers_exist_with_the_audio_threads_policy);
  suite_add_tcase(s, t);
  return s;
}

CHECK_MAIN(parallel_suite)
