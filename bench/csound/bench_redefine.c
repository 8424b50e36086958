/* bench_redefine.c - what instr.define costs when it redefines: N
 * redefinitions of one instrument with a changed body (each a Csound
 * compile), then N with the very same body (no compile), with a block
 * rendered after each.  Prints the resident-memory growth per redefinition
 * and the time of each kind.
 *
 *   bench_redefine [N]
 */
#include "cs_engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static long rss_kb(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f || fscanf(f, "%ld %ld", &pages, &resident) != 2)
        resident = 0;
    if (f)
        fclose(f);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* N redefinitions, the body changed each time or not; returns seconds. */
static double run(cs_engine *eng, int n, int changed, long *grown_kb)
{
    static float buf[256];
    float *outs[1] = { buf };
    char body[256];
    cs_error err;
    double t = 0;
    long before = rss_kb();

    for (int i = 0; i < n; i++) {
        snprintf(body, sizeof body, "|kamp=0.1|\nasig oscili kamp, %d\nout asig\n",
                 changed ? 100 + i : 100);
        double t0 = now();
        if (cs_instr_define(eng, "x", body, NULL, 0, NULL, 1, &err) != 0) {
            fprintf(stderr, "define %d: %s\n", i, err.msg);
            exit(1);
        }
        t += now() - t0;
        cs_rt_process(eng, NULL, 0, outs, 1, 256);     /* merges the compile */
        cs_notice nt;
        char line[256];
        while (cs_notice_pop(eng, &nt) || cs_message_pop(eng, line, sizeof line, NULL))
            ;
    }
    *grown_kb = rss_kb() - before;
    return t;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 300;
    cs_config cfg = { .sr = 48000, .ksmps = 32, .nchnls = 1 };
    cs_engine *eng;
    cs_error err;
    long grown;

    if (n < 1)
        n = 1;
    if (cs_engine_create(&cfg, &eng, &err) != 0) {
        fprintf(stderr, "engine: %s\n", err.msg);
        return 1;
    }
    double tc = run(eng, n, 1, &grown);
    printf("changed body:   %d redefinitions, %.3f ms each, RSS +%ld kB (%.1f kB each)\n", n,
           1e3 * tc / n, grown, (double)grown / n);
    double ts = run(eng, n, 0, &grown);
    printf("identical body: %d redefinitions, %.4f ms each, RSS +%ld kB (%.1f kB each)\n", n,
           1e3 * ts / n, grown, (double)grown / n);
    cs_engine_destroy(eng);
    return 0;
}
