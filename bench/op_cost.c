/* op_cost.c - what each kind of request costs the audio thread (issue 14):
 * the worst cycle it causes, in periods, against an idle baseline measured in
 * the same run, and the audio thread's page faults, context switches and
 * write-type system calls while it runs.
 *
 *   op_cost --sonod PATH --plugin TESTPLUG [--block N] [--runs R] [OP...]
 *
 * Each run starts a fresh sonod on the null backend (48 kHz, N frames; the
 * default 256) and runs every op twice, back to back: "first" (code and
 * memory touched for the first time) and "again" (after warm-up).  An op's
 * window starts with a `status` (which resets `dsp_load_max`) and ends with
 * one after the op's replies came and what it scheduled has played, plus
 * 200 ms; its worst cycle is that window's `dsp_load_max`.  The counters are
 * the audio thread's (the null clock thread, named "sonod-audio"), read by
 * this program from /proc/PID/task/TID/{stat,status,io}: sampling from
 * outside costs the audio thread nothing, where getrusage(RUSAGE_THREAD)
 * would be a system call of its own in every cycle.  Context switches are
 * given beyond the one voluntary sleep per cycle of the null clock; `writes`
 * counts write-type system calls (the wake-ups of the control thread are
 * writes, one per cycle that has messages: acknowledgements cause them).
 *
 * Figures are medians over the runs.  Output is Markdown. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sndfile.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_daemon.h"
#include "clients/c/sono.h"

#define RATE 48000
#define MAX_RUNS 15

static const char *sonod_path, *plugin_path;
static unsigned block = 256;
static char dir[256], plugin_dir[256];

typedef struct dproc {
  pid_t pid;
  int tid;                  /* the audio thread */
  sono_conn *c;
} dproc;

static void die(const char *what, const sono_error *e) {
  fprintf(stderr, "op_cost: %s: %s%s%s\n", what, e != NULL ? e->code : strerror(errno),
          e != NULL ? ": " : "", e != NULL ? e->message : "");
  exit(1);
}

static void sleep_ms(unsigned ms) {
  struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

  nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------ counters */

typedef struct counters {
  uint64_t minflt, majflt, vcsw, ivcsw, syscw, frame;
  double worst;             /* dsp_load_max: periods */
} counters;

static int find_audio_thread(pid_t pid) {
  char path[64], name[64];
  struct dirent *de;
  DIR *d;
  int tid = 0;

  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  d = opendir(path);
  while (d != NULL && tid == 0 && (de = readdir(d)) != NULL) {
    char p[320];
    FILE *f;

    if (de->d_name[0] == '.')
      continue;
    snprintf(p, sizeof p, "/proc/%d/task/%s/comm", (int)pid, de->d_name);
    f = fopen(p, "r");
    if (f != NULL && fgets(name, sizeof name, f) != NULL && strncmp(name, "sonod-audio", 11) == 0)
      tid = atoi(de->d_name);
    if (f != NULL)
      fclose(f);
  }
  if (d != NULL)
    closedir(d);
  return tid;
}

static uint64_t field(const char *path, const char *key) {
  char line[256];
  uint64_t v = 0;
  size_t n = strlen(key);
  FILE *f = fopen(path, "r");

  while (f != NULL && fgets(line, sizeof line, f) != NULL)
    if (strncmp(line, key, n) == 0) {
      v = strtoull(line + n, NULL, 10);
      break;
    }
  if (f != NULL)
    fclose(f);
  return v;
}

static void thread_counters(const dproc *d, counters *k) {
  char path[128], buf[1024];
  FILE *f;
  char *p;

  snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)d->pid, d->tid);
  f = fopen(path, "r");
  if (f == NULL || fgets(buf, sizeof buf, f) == NULL)
    die("reading the audio thread's stat", NULL);
  fclose(f);
  /* After "(comm)": state ppid pgrp session tty tpgid flags minflt
   * cminflt majflt. */
  p = strrchr(buf, ')');
  if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %lu %*u %lu",
                          (unsigned long *)&k->minflt, (unsigned long *)&k->majflt) != 2)
    die("parsing the audio thread's stat", NULL);
  snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)d->pid, d->tid);
  k->vcsw = field(path, "voluntary_ctxt_switches:");
  k->ivcsw = field(path, "nonvoluntary_ctxt_switches:");
  snprintf(path, sizeof path, "/proc/%d/task/%d/io", (int)d->pid, d->tid);
  k->syscw = field(path, "syscw:");
}

/* ------------------------------------------------------------- daemon */

/* The benchmarks' one call-or-die (bench_daemon.c), on this daemon. */
static sono_reply *call(dproc *d, const char *op, sono_args *a) {
  bench_daemon b = { d->pid, d->c };

  return bench_call(&b, op, a);
}

static void call0(dproc *d, const char *op, sono_args *a) {
  sono_reply_free(call(d, op, a));
}

static uint64_t call_uint(dproc *d, const char *op, sono_args *a, const char *key) {
  sono_reply *r = call(d, op, a);
  uint64_t v = 0;

  sono_reply_uint(r, key, &v);
  sono_reply_free(r);
  return v;
}

/* A status: resets dsp_load_max; *worst gets what it was. */
static void status(dproc *d, counters *k) {
  sono_reply *r = call(d, "status", NULL);

  sono_reply_double(r, "dsp_load_max", &k->worst);
  sono_reply_uint(r, "frame", &k->frame);
  sono_reply_free(r);
}

static void sonod_start(dproc *d) {
  char sock[300], uri[310], bs[16];
  sono_error e;
  int i;

  snprintf(sock, sizeof sock, "%s/sonod.sock", dir);
  snprintf(bs, sizeof bs, "%u", block);
  unlink(sock);
  d->pid = fork();
  if (d->pid == 0) {
    if (freopen("/dev/null", "w", stdout) == NULL || freopen("/dev/null", "w", stderr) == NULL)
      _exit(126);
    /* Confinement (issue 16): the test plugin's folder and the fixtures'
     * are the only places it may load from and read. */
    execl(sonod_path, sonod_path, "--config", "/dev/null", "--backend", "null", "--socket", sock,
          "--sample-rate", "48000", "--block-size", bs, "--no-restore", "--plugin-path",
          plugin_dir, "--file-root", dir, (char *)NULL);
    _exit(127);
  }
  snprintf(uri, sizeof uri, "unix:%s", sock);
  for (i = 0; i < 1000; i++) {
    d->c = sono_connect(uri, &e);
    if (d->c != NULL)
      break;
    usleep(10000);
  }
  if (d->c == NULL)
    die("could not connect to the daemon", &e);
  sono_set_timeout(d->c, 600000);
  /* The socket listens before the backend starts. */
  for (i = 0; i < 500 && (d->tid = find_audio_thread(d->pid)) == 0; i++)
    usleep(10000);
  if (d->tid == 0)
    die("no thread named sonod-audio", NULL);
}

static void sonod_stop(dproc *d) {
  sono_reply *r = NULL;
  sono_error e;
  int st;

  if (sono_call(d->c, "shutdown", NULL, &r, &e) == 0)
    sono_reply_free(r);
  sono_close(d->c);
  waitpid(d->pid, &st, 0);
}

/* Sends n requests made by make(i) without waiting, then waits for every
 * reply: a burst, as a busy client sends it. */
typedef void (*make_fn)(sono_args *a, unsigned i, void *ud);

static unsigned pending;
static void on_reply(sono_conn *c, const sono_reply *r, const sono_error *err, void *ud) {
  (void)c;
  (void)r;
  (void)ud;
  if (err != NULL && err->kind != SONO_ERR_SERVER)
    die("a burst's reply", err);
  pending--;
}

static void burst(dproc *d, const char *op, unsigned n, make_fn make, void *ud) {
  sono_args *a = sono_args_new();
  unsigned i;

  for (i = 0; i < n; i++) {
    sono_args_clear(a);
    make(a, i, ud);
    if (sono_send(d->c, op, a, on_reply, NULL) == 0)
      die(op, NULL);
    pending++;
  }
  sono_args_free(a);
  while (pending > 0)
    if (sono_wait(d->c, 60000) < 0)
      die("waiting for a burst's replies", NULL);
}

/* ----------------------------------------------------------------- ops */

typedef struct fixture {
  uint64_t node;            /* the test plugin */
  char wav[300], session[300], rec[300];
} fixture;

static void make_set(sono_args *a, unsigned i, void *ud) {
  const fixture *fx = ud;

  sono_args_uint(a, "node", fx->node);
  sono_args_uint(a, "index", 0);
  sono_args_double(a, "value", (i % 100) / 100.0);
  /* Spread over the next 100 ms: many land inside blocks, splitting them. */
  sono_args_double(a, "delay", 0.05 + (i % 97) * 0.001);
}

static void op_plugin_set(dproc *d, fixture *fx) {
  burst(d, "plugin.set", 1000, make_set, fx);
  sleep_ms(200);
}

static void make_midi(sono_args *a, unsigned i, void *ud) {
  const fixture *fx = ud;

  sono_args_uint(a, "node", fx->node);
  sono_args_begin_array(a, "events");
  sono_args_begin_map(a, NULL);
  sono_args_str(a, "type", i % 2 ? "note_off" : "note_on");
  sono_args_uint(a, "note", 60 + i % 12);
  sono_args_double(a, "delay", 0.5 + (i / 2) * 0.0005);
  sono_args_end(a);
  sono_args_end(a);
}

static void op_plugin_midi(dproc *d, fixture *fx) {
  burst(d, "plugin.midi", 3000, make_midi, fx);   /* 3 000 pending batches */
  sleep_ms(1500);
}

static void make_synth(sono_args *a, unsigned i, void *ud) {
  (void)ud;
  sono_args_str(a, "instr", "sine");
  sono_args_begin_map(a, "args");
  sono_args_double(a, "kfreq", 200.0 + i);
  sono_args_double(a, "kamp", 0.001);
  sono_args_end(a);
  sono_args_double(a, "dur", 0.3);
}

static void op_synth_start(dproc *d, fixture *fx) {
  burst(d, "synth.start", 500, make_synth, fx);
  sleep_ms(500);
}

static void make_synth_spread(sono_args *a, unsigned i, void *ud) {
  make_synth(a, i, ud);
  sono_args_bool(a, "spread", true);
}

/* The same 500 with spread: at most 32 starts a k-cycle. */
static void op_synth_start_spread(dproc *d, fixture *fx) {
  burst(d, "synth.start", 500, make_synth_spread, fx);
  sleep_ms(500);
}

/* 32 synth.start in one bundle 0.2 s ahead: a chord on one sample, the
 * synth.start counterpart of csound.score.32. */
static void op_synth_chord(dproc *d, fixture *fx) {
  sono_args *a = sono_args_new();
  unsigned i;

  (void)fx;
  sono_args_double(a, "delay", 0.2);
  sono_args_begin_array(a, "ops");
  for (i = 0; i < 32; i++) {
    sono_args_begin_map(a, NULL);
    sono_args_str(a, "op", "synth.start");
    make_synth(a, i, NULL);
    sono_args_end(a);
  }
  sono_args_end(a);
  call0(d, "bundle", a);
  sono_args_free(a);
  sleep_ms(700);
}

static void op_table_read(dproc *d, fixture *fx) {
  sono_args *a = sono_args_new();
  uint64_t t;

  sono_args_str(a, "path", fx->wav);
  t = call_uint(d, "table.read", a, "table");
  sleep_ms(300);
  sono_args_uint(a, "table", t);
  call0(d, "table.free", a);
  sono_args_free(a);
}

static void op_compile_table(dproc *d, fixture *fx) {
  sono_args *a = sono_args_new();

  (void)fx;
  sono_args_str(a, "code", "gi_big ftgen 0, 0, 2^22, 10, 1\n");
  call0(d, "csound.compile", a);
  sono_args_free(a);
}

/* `lines` global `gk... init` statements in one csound.compile: instr 0's
 * init pass, which Csound runs in the merge, on the audio thread. */
static void compile_globals(dproc *d, unsigned lines) {
  size_t cap = (size_t)lines * 32 + 1, len = 0;
  char *code = malloc(cap);
  sono_args *a = sono_args_new();
  unsigned i;

  for (i = 0; i < lines; i++)
    len += (size_t)snprintf(code + len, cap - len, "gk_g%u init %u\n", i, i);
  sono_args_str(a, "code", code);
  call0(d, "csound.compile", a);
  sono_args_free(a);
  free(code);
}

static void op_compile_globals(dproc *d, fixture *fx) {
  (void)fx;
  compile_globals(d, 5000);
}

/* As many as csound.compile takes without a warning (CS_GLOBAL_STATEMENTS). */
static void op_compile_globals_256(dproc *d, fixture *fx) {
  (void)fx;
  compile_globals(d, 256);
}

/* `n` notes of instrument `instr` from 0.2 s on, `gap` seconds apart (0:
 * all at one time), in one csound.score (with `spread` when spread); waits
 * until they played. */
static void score_ex(dproc *d, unsigned instr, unsigned n, double gap, bool spread) {
  size_t cap = (size_t)n * 48, len = 0;
  char *text = malloc(cap);
  sono_args *a = sono_args_new();
  unsigned i;

  for (i = 0; i < n; i++)
    len += (size_t)snprintf(text + len, cap - len, "i %u %.4f 0.1 %u\n", instr,
                            0.2 + i * gap, 200 + i);
  sono_args_str(a, "text", text);
  if (spread)
    sono_args_bool(a, "spread", true);
  call0(d, "csound.score", a);
  sono_args_free(a);
  free(text);
  sleep_ms(500 + (unsigned)(n * gap * 1000));
}

static void score(dproc *d, unsigned instr, unsigned n, double gap) {
  score_ex(d, instr, n, gap, false);
}

static void op_score(dproc *d, fixture *fx) {
  (void)fx;
  score(d, 1, 2000, 0.0);
}

/* The same chord with spread, on instr 3 (instr 1's code, no history). */
static void op_score_chord_spread(dproc *d, fixture *fx) {
  (void)fx;
  score_ex(d, 3, 2000, 0.0, true);
}

/* A chord within the bound that is reported (32 due in one k-cycle), on an
 * instrument of its own (instr 2, instr 1's code): Csound's start of a note
 * walks every instance the instrument ever had, and the 2 000-note chord
 * left instr 1 with 2 000. */
static void op_score_32(dproc *d, fixture *fx) {
  (void)fx;
  score(d, 2, 32, 0.0);
}

/* The same chord on instr 1, after the 2 000-note chord. */
static void op_score_32_i1(dproc *d, fixture *fx) {
  (void)fx;
  score(d, 1, 32, 0.0);
}

/* The same 2 000 notes one millisecond apart: what a long score costs. */
static void op_score_spread(dproc *d, fixture *fx) {
  (void)fx;
  score(d, 1, 2000, 0.001);
}

static void op_plugin_load(dproc *d, fixture *fx) {
  sono_args *a = sono_args_new();
  uint64_t n;

  (void)fx;
  sono_args_str(a, "path", plugin_path);
  n = call_uint(d, "plugin.load", a, "node");
  sleep_ms(100);
  sono_args_uint(a, "node", n);
  call0(d, "plugin.unload", a);
  sono_args_free(a);
}

static void op_graph_edits(dproc *d, fixture *fx) {
  sono_args *a = sono_args_new();
  char from[32], to[32];
  unsigned i;

  (void)fx;
  for (i = 0; i < 20; i++) {
    uint64_t n;

    sono_args_str(a, "kind", "gain");
    n = call_uint(d, "node.new", a, "node");
    snprintf(to, sizeof to, "%llu:in_1", (unsigned long long)n);
    snprintf(from, sizeof from, "%llu:out_1", (unsigned long long)n);
    sono_args_str(a, "from", "csound:out_1");
    sono_args_str(a, "to", to);
    call0(d, "graph.connect", a);
    sono_args_str(a, "from", from);
    sono_args_str(a, "to", "out:in_1");
    call0(d, "graph.connect", a);
    sono_args_uint(a, "node", n);
    call0(d, "node.delete", a);
  }
  sono_args_free(a);
  sleep_ms(100);
}

static void op_record(dproc *d, fixture *fx) {
  sono_args *a = sono_args_new();

  sono_args_str(a, "path", fx->rec);
  call0(d, "record.start", a);
  sleep_ms(300);
  call0(d, "record.stop", NULL);
  sono_args_free(a);
}

static void op_state_load(dproc *d, fixture *fx) {
  sono_args *a = sono_args_new();

  sono_args_str(a, "path", fx->session);
  call0(d, "state.load", a);
  sono_args_free(a);
  /* The session holds the test plugin: find its new id. */
  {
    sono_reply *r = call(d, "plugin.list", NULL);
    const msgpack_object *nodes = sono_reply_get(r, "nodes");

    if (nodes != NULL && nodes->type == MSGPACK_OBJECT_ARRAY && nodes->via.array.size > 0)
      sono_obj_uint(&nodes->via.array.ptr[0], "node", &fx->node);
    sono_reply_free(r);
  }
  sleep_ms(100);
}

static void op_meter(dproc *d, fixture *fx) {
  sono_args *a = sono_args_new();

  (void)fx;
  sono_args_uint(a, "rate", 60);
  call0(d, "meter.subscribe", a);
  sleep_ms(300);
  call0(d, "meter.unsubscribe", NULL);
  sono_args_free(a);
}

static void op_idle(dproc *d, fixture *fx) {
  (void)d;
  (void)fx;
  sleep_ms(1000);
}

typedef struct op {
  const char *name, *what;
  void (*run)(dproc *d, fixture *fx);
} op;

static const op ops[] = {
  { "idle", "nothing for 1 s (baseline)", op_idle },
  { "plugin.set", "1 000 plugin.set, spread over 100 ms", op_plugin_set },
  { "plugin.midi", "3 000 plugin.midi batches pending at once", op_plugin_midi },
  { "synth.chord", "a bundle of 32 synth.start (one sample)", op_synth_chord },
  { "synth.start", "500 synth.start at once", op_synth_start },
  { "synth.start+spread", "500 synth.start at once, spread", op_synth_start_spread },
  { "table.read", "table.read of a 60 s stereo WAV", op_table_read },
  { "csound.compile", "csound.compile `gi ftgen 0,0,2^22,10,1`", op_compile_table },
  { "csound.compile.globals", "csound.compile of 5 000 `gk init` lines", op_compile_globals },
  { "csound.compile.globals256", "csound.compile of 256 `gk init` lines", op_compile_globals_256 },
  { "csound.score", "csound.score, 2 000 notes at one time", op_score },
  { "csound.score+spread", "the same, spread (instr 3)", op_score_chord_spread },
  { "csound.score.32", "csound.score, 32 notes at one time (instr 2)", op_score_32 },
  { "csound.score.32.i1", "the same on instr 1, after the 2 000", op_score_32_i1 },
  { "csound.score.spread", "csound.score, 2 000 notes 1 ms apart", op_score_spread },
  { "plugin.load", "plugin.load + plugin.unload", op_plugin_load },
  { "graph", "20 × (node.new, 2 graph.connect, node.delete)", op_graph_edits },
  { "record", "record.start, 300 ms, record.stop", op_record },
  { "state.load", "state.load (a plugin, instruments)", op_state_load },
  { "meter", "meter.subscribe at 60 Hz, 300 ms", op_meter },
};
#define NOPS (sizeof ops / sizeof ops[0])

/* ------------------------------------------------------------ the run */

typedef struct figures {
  double first, again;      /* worst cycle, periods */
  double faults, majflt, vcsw, ivcsw, writes;   /* in the "again" window */
} figures;

static void measure(dproc *d, fixture *fx, const op *o, double *worst, counters *delta) {
  counters a, b;

  status(d, &a);            /* resets dsp_load_max */
  thread_counters(d, &a);
  o->run(d, fx);
  sleep_ms(200);
  thread_counters(d, &b);
  status(d, &b);
  *worst = b.worst;
  delta->minflt = b.minflt - a.minflt;
  delta->majflt = b.majflt - a.majflt;
  /* One voluntary switch per cycle is the null clock's sleep. */
  delta->frame = (b.frame - a.frame) / block;
  delta->vcsw = b.vcsw - a.vcsw > delta->frame ? b.vcsw - a.vcsw - delta->frame : 0;
  delta->ivcsw = b.ivcsw - a.ivcsw;
  delta->syscw = b.syscw - a.syscw;
}

static void setup_fixture(dproc *d, fixture *fx) {
  sono_args *a = sono_args_new();
  static float buf[RATE * 2];
  SF_INFO info;
  SNDFILE *sf;
  unsigned i, s;

  snprintf(fx->wav, sizeof fx->wav, "%s/long.wav", dir);
  snprintf(fx->session, sizeof fx->session, "%s/bench.sonod", dir);
  snprintf(fx->rec, sizeof fx->rec, "%s/rec.wav", dir);
  memset(&info, 0, sizeof info);
  info.samplerate = RATE;
  info.channels = 2;
  info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
  if (access(fx->wav, F_OK) != 0) {
    sf = sf_open(fx->wav, SFM_WRITE, &info);
    if (sf == NULL)
      die("writing the WAV", NULL);
    for (s = 0; s < 60; s++) {
      for (i = 0; i < RATE * 2; i++)
        buf[i] = (float)((i + s * 7) % 200) / 400.0f;
      sf_writef_float(sf, buf, RATE);
    }
    sf_close(sf);
  }
  sono_args_str(a, "path", plugin_path);
  fx->node = call_uint(d, "plugin.load", a, "node");
  sono_args_str(a, "name", "sine");
  sono_args_str(a, "body", "|kfreq=440, kamp=0.1|\nasig oscili kamp, kfreq\nouts asig, asig\n");
  call0(d, "instr.define", a);
  sono_args_str(a, "code", "instr 1\nasig oscili 0.001, p4\nouts asig, asig\nendin\n"
                  "instr 2\nasig oscili 0.001, p4\nouts asig, asig\nendin\n"
                  "instr 3\nasig oscili 0.001, p4\nouts asig, asig\nendin\n");
  call0(d, "csound.compile", a);
  sono_args_str(a, "path", fx->session);
  call0(d, "state.save", a);
  sono_args_free(a);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;

  return x < y ? -1 : x > y;
}

static double median(const double *v, int n) {
  double s[MAX_RUNS];

  memcpy(s, v, (size_t)n * sizeof *v);
  qsort(s, (size_t)n, sizeof *s, cmp_double);
  return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

int main(int argc, char **argv) {
  static figures fig[NOPS][MAX_RUNS];
  bool want[NOPS];
  int runs = 3, r, i, nwant = 0;
  unsigned k;

  bench_daemon_name("op_cost");
  sonod_path = getenv("SONOD");
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--sonod") == 0 && i + 1 < argc)
      sonod_path = argv[++i];
    else if (strcmp(argv[i], "--plugin") == 0 && i + 1 < argc)
      plugin_path = argv[++i];
    else if (strcmp(argv[i], "--block") == 0 && i + 1 < argc)
      block = (unsigned)atoi(argv[++i]);
    else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
      runs = atoi(argv[++i]);
    else {
      for (k = 0; k < NOPS; k++)
        if (strcmp(argv[i], ops[k].name) == 0)
          break;
      if (k == NOPS) {
        fprintf(stderr, "usage: op_cost --sonod PATH --plugin PATH [--block N] [--runs R] [OP...]\n");
        return 2;
      }
      nwant++;
    }
  }
  if (sonod_path == NULL || plugin_path == NULL || runs < 1 || runs > MAX_RUNS || block == 0)
    return fprintf(stderr, "op_cost: --sonod and --plugin are needed; 1..15 runs\n"), 2;
  for (k = 0; k < NOPS; k++) {
    want[k] = nwant == 0 || k == 0;
    for (i = 1; i < argc; i++)
      if (strcmp(argv[i], ops[k].name) == 0)
        want[k] = true;
  }
  snprintf(plugin_dir, sizeof plugin_dir, "%s", plugin_path);
  if (strrchr(plugin_dir, '/') != NULL)
    *strrchr(plugin_dir, '/') = '\0';
  else
    snprintf(plugin_dir, sizeof plugin_dir, ".");
  snprintf(dir, sizeof dir, "/tmp/sonod-opcost-XXXXXX");
  if (mkdtemp(dir) == NULL)
    die("mkdtemp", NULL);

  for (r = 0; r < runs; r++) {
    dproc d;
    fixture fx;

    sonod_start(&d);
    setup_fixture(&d, &fx);
    sleep_ms(500);
    for (k = 0; k < NOPS; k++) {
      counters delta;

      if (!want[k])
        continue;
      measure(&d, &fx, &ops[k], &fig[k][r].first, &delta);
      measure(&d, &fx, &ops[k], &fig[k][r].again, &delta);
      fig[k][r].faults = (double)(delta.minflt + delta.majflt);
      fig[k][r].majflt = (double)delta.majflt;
      fig[k][r].vcsw = (double)delta.vcsw;
      fig[k][r].ivcsw = (double)delta.ivcsw;
      fig[k][r].writes = (double)delta.syscw;
    }
    sonod_stop(&d);
  }

  printf("null backend, %u Hz, %u frames (one period = %.2f ms); medians of %d run%s, each on "
         "a fresh daemon.\n\n", RATE, block, block * 1000.0 / RATE, runs, runs == 1 ? "" : "s");
  printf("| op | what | worst cycle, first (periods) | worst cycle, again | page faults "
         "(again) | extra voluntary switches | involuntary switches | writes |\n");
  printf("|---|---|---|---|---|---|---|---|\n");
  for (k = 0; k < NOPS; k++) {
    double v[7][MAX_RUNS];

    if (!want[k])
      continue;
    for (r = 0; r < runs; r++) {
      v[0][r] = fig[k][r].first;
      v[1][r] = fig[k][r].again;
      v[2][r] = fig[k][r].faults;
      v[3][r] = fig[k][r].majflt;
      v[4][r] = fig[k][r].vcsw;
      v[5][r] = fig[k][r].ivcsw;
      v[6][r] = fig[k][r].writes;
    }
    printf("| %s | %s | %.3f | %.3f | %.0f (%.0f major) | %.0f | %.0f | %.0f |\n", ops[k].name,
           ops[k].what, median(v[0], runs), median(v[1], runs), median(v[2], runs),
           median(v[3], runs), median(v[4], runs), median(v[5], runs), median(v[6], runs));
  }
  {
    char cmd[300];

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
      fprintf(stderr, "op_cost: could not remove %s\n", dir);
  }
  return 0;
}
