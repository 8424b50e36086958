/* bench_chord.c - what starting N notes in one k-cycle costs the audio
 * thread, by path: N synth.start (a template) against N score lines of
 * csound.score, each at the same frame, on one engine driven block by block
 * on this thread (as the audio thread drives it).  Prints the time of the
 * block that starts them, per note, first (instances new) and again.
 *
 *   bench_chord [N] [runs] [M] [KINDS]
 *
 * With M, a chord of M notes of each kind is played first: Csound keeps
 * every instance it allocated, and what a start costs grows with them.
 * KINDS, e.g. "02": only those rows (0 synth.start, 1-3 csound.score). */
#include "cs_engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BLOCK 256
#define KSMPS 32

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void drain(cs_engine *eng)
{
    cs_notice nt;
    char line[256];
    while (cs_notice_pop(eng, &nt))
        ;
    while (cs_message_pop(eng, line, sizeof line, NULL))
        if (strstr(line, "rror"))
            fprintf(stderr, "csound: %s", line);
}

/* Renders blocks of `frames` until frame `until`; returns the longest
 * block (s). */
static double run_blocks(cs_engine *eng, uint64_t until, unsigned frames)
{
    static float l[BLOCK], r[BLOCK];
    float *outs[2] = { l, r };
    double worst = 0;
    while (cs_engine_frame(eng) < until) {
        double t0 = now();
        cs_rt_process(eng, NULL, 0, outs, 2, frames);
        double t = now() - t0;
        if (t > worst)
            worst = t;
        drain(eng);
    }
    return worst;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double run_until(cs_engine *eng, uint64_t until)
{
    return run_blocks(eng, until, BLOCK);
}

/* PERF_CTL=fifo: "enable"/"disable" written around the block that starts
 * the chord, for `perf record --control=fifo:FIFO -D -1`: a profile of
 * that block alone. */
static FILE *perf_ctl;
static void perf_say(const char *what)
{
    fputs(what, perf_ctl);
    fflush(perf_ctl);
}

static void die(const char *what, const cs_error *err)
{
    fprintf(stderr, "bench_chord: %s: %s\n", what, err ? err->msg : "");
    exit(1);
}

enum { SYNTH, SCORE, SCORE_FRAC_UP, SCORE_FRAC_DOWN, NKINDS };
static const char *kind_name[NKINDS] = {
    "synth.start (template sine)", "csound.score, i 1 (one p1)",
    "csound.score, i 1.k (p1 rising)", "csound.score, i 1.k (p1 falling)",
};

/* One chord of n notes at a frame a few blocks ahead; returns the time of
 * the k-cycle that starts them (rendered alone, as a block of ksmps), and
 * in *next the time of the next k-cycle, which only performs them. */
static double chord(cs_engine *eng, int kind, unsigned n, double *next)
{
    cs_error err;
    uint64_t at = cs_engine_frame(eng) + 4 * BLOCK;
    if (kind == SYNTH) {
        for (unsigned i = 0; i < n; i++) {
            cs_arg args[2] = { { "kfreq", 200.0 + i }, { "kamp", 0.001 } };
            cs_synth_id id;
            if (cs_synth_start(eng, "sine", args, 2, at, 0.1, 0, &id, &err) != 0)
                die("synth.start", &err);
        }
    } else {
        size_t cap = (size_t)n * 64, len = 0;
        char *text = malloc(cap);
        for (unsigned i = 0; i < n; i++) {
            unsigned k = kind == SCORE_FRAC_DOWN ? n - i : i + 1;
            if (kind == SCORE)
                len += (size_t)snprintf(text + len, cap - len, "i 1 0 0.1 %u\n", 200 + i);
            else
                len += (size_t)snprintf(text + len, cap - len, "i 1.%05u 0 0.1 %u\n", k,
                                        200 + i);
        }
        if (cs_score(eng, text, at, &err) != 0)
            die("csound.score", &err);
        free(text);
    }
    run_until(eng, at);
    if (perf_ctl)
        perf_say("enable\n");
    double w = run_blocks(eng, at + KSMPS, KSMPS);  /* the k-cycle that starts them */
    if (perf_ctl)
        perf_say("disable\n");
    *next = run_blocks(eng, at + 2 * KSMPS, KSMPS); /* the next: only performs them */
    run_until(eng, at + 48000 / 4);     /* every note ended */
    return w;
}

int main(int argc, char **argv)
{
    unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 32;
    int runs = argc > 2 ? atoi(argv[2]) : 3;
    unsigned pre = argc > 3 ? (unsigned)atoi(argv[3]) : 0;
    const char *kinds = argc > 4 ? argv[4] : "0123";
    cs_config cfg = { .sr = 48000, .ksmps = KSMPS, .nchnls = 2 };
    cs_engine *eng;
    cs_error err;

    if (getenv("PERF_CTL"))
        perf_ctl = fopen(getenv("PERF_CTL"), "w");
    if (cs_engine_create(&cfg, &eng, &err) != 0)
        die("engine", &err);
    if (cs_instr_define(eng, "sine", "|kfreq=440, kamp=0.1|\nasig oscili kamp, kfreq\n"
                        "outs asig, asig\n", NULL, 0, NULL, 1, &err) != 0)
        die("instr.define", &err);
    run_until(eng, 2 * BLOCK);          /* merges it */
    if (cs_compile(eng, "instr 1\nasig oscili 0.001, p4\nouts asig, asig\nendin\n", &err) != 0)
        die("compile", &err);
    run_until(eng, 4 * BLOCK);
    if (pre > 0) {
        double next;
        chord(eng, SYNTH, pre, &next);
        chord(eng, SCORE, pre, &next);
    }
    printf("%u notes in one k-cycle%s, sr 48000, ksmps %d: that k-cycle, ms (us per note); "
           "the first run allocates the instances\n", n, pre ? " after a larger chord" : "",
           KSMPS);
    for (int k = 0; k < NKINDS; k++) {
        if (!strchr(kinds, '0' + k))
            continue;
        printf("%-34s", kind_name[k]);
        double next, again[64];
        int nagain = 0;
        for (int r = 0; r < runs; r++) {
            double w = chord(eng, k, n, &next);
            if (r < 6)
                printf("  %7.3f (%5.1f)", w * 1e3, w * 1e6 / n);
            if (r > 0 && nagain < 64)
                again[nagain++] = w;
        }
        qsort(again, (size_t)nagain, sizeof again[0], cmp_double);
        if (nagain > 0)
            printf("  again: min %.3f median %.3f", again[0] * 1e3, again[nagain / 2] * 1e3);
        printf("  next k-cycle %.3f", next * 1e3);
        printf("\n");
    }
    cs_engine_destroy(eng);
    return 0;
}
