/* bench_xanadu.c - renders a .csd (default: Csound's own xanadu example)
 * through sonod's engine (cs_render_csd: the offline backend's path, block by
 * block through cs_rt_process) and through the csound command line, then
 * prints both times, the ratio and how far the two outputs differ.  Times
 * are wall clock and CPU time (user + system: this process for sonod, the
 * children for the command line); on a shared, loaded machine the CPU
 * ratio is the one to read.
 *
 *   bench_xanadu [piece.csd] [runs]
 */
#include "cs_engine.h"

#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* CPU seconds (user + system) of this process or of its waited-for
 * children. */
static double cpu(int who)
{
    struct rusage ru;
    getrusage(who, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static float *load(const char *path, SF_INFO *info)
{
    memset(info, 0, sizeof *info);
    SNDFILE *sf = sf_open(path, SFM_READ, info);
    if (!sf)
        return NULL;
    float *x = malloc(sizeof(float) * (size_t)info->frames * (size_t)info->channels + 1);
    sf_readf_float(sf, x, info->frames);
    sf_close(sf);
    return x;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const char *csd = argc > 1 ? argv[1] : "/usr/share/doc/csound/examples/xanadu.csd";
    int runs = argc > 2 ? atoi(argv[2]) : 3;
    const char *ours = "/tmp/sonod_bench_sonod.wav", *cli = "/tmp/sonod_bench_cli.wav";
    double t_ours[16], t_cli[16], c_ours[16], c_cli[16], c_ratio[16];
    if (runs < 1) runs = 1;
    if (runs > 16) runs = 16;

    for (int r = 0; r < runs; r++) {
        cs_error err;
        double t0 = now(), c0 = cpu(RUSAGE_SELF);
        if (cs_render_csd(csd, ours, 1024, &err) != 0) {
            fprintf(stderr, "sonod render failed: %s\n", err.msg);
            return 1;
        }
        t_ours[r] = now() - t0;
        c_ours[r] = cpu(RUSAGE_SELF) - c0;
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "csound -W -f -d -m0 -o %s %s >/dev/null 2>&1", cli, csd);
        t0 = now();
        c0 = cpu(RUSAGE_CHILDREN);
        if (system(cmd) != 0) {
            fprintf(stderr, "csound command line failed: %s\n", cmd);
            return 1;
        }
        t_cli[r] = now() - t0;
        c_cli[r] = cpu(RUSAGE_CHILDREN) - c0;
        c_ratio[r] = c_ours[r] / c_cli[r];
    }
    qsort(t_ours, (size_t)runs, sizeof(double), cmp_double);
    qsort(t_cli, (size_t)runs, sizeof(double), cmp_double);
    qsort(c_ours, (size_t)runs, sizeof(double), cmp_double);
    qsort(c_cli, (size_t)runs, sizeof(double), cmp_double);
    qsort(c_ratio, (size_t)runs, sizeof(double), cmp_double);
    double mo = t_ours[runs / 2], mc = t_cli[runs / 2];

    SF_INFO ia, ib;
    float *a = load(ours, &ia), *b = load(cli, &ib);
    if (!a || !b) {
        fprintf(stderr, "cannot read the outputs back\n");
        return 1;
    }
    size_t na = (size_t)ia.frames * ia.channels, nb = (size_t)ib.frames * ib.channels;
    size_t n = na < nb ? na : nb, ndiff = 0, first = (size_t)-1;
    double maxdiff = 0, peak = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (d > 0) {
            ndiff++;
            if (first == (size_t)-1) first = i;
        }
        if (d > maxdiff) maxdiff = d;
        if (fabs(b[i]) > peak) peak = fabs(b[i]);
    }
    printf("piece: %s (%d runs, median)\n", csd, runs);
    printf("sonod cs_render_csd: %.3f s\n", mo);
    printf("csound -o:           %.3f s (includes process start)\n", mc);
    printf("ratio sonod/csound:  %.3f\n", mo / mc);
    printf("CPU: sonod %.3f s, csound %.3f s; ratio (median of the runs' ratios) %.3f\n",
           c_ours[runs / 2], c_cli[runs / 2], c_ratio[runs / 2]);
    printf("frames: sonod %lld, csound %lld; channels %d/%d; rate %d/%d\n",
           (long long)ia.frames, (long long)ib.frames, ia.channels, ib.channels,
           ia.samplerate, ib.samplerate);
    printf("samples differing: %zu of %zu, max abs diff %.3g (peak %.3g)",
           ndiff, n, maxdiff, peak);
    if (ndiff)
        printf(", first at frame %zu", first / (size_t)ia.channels);
    printf("\n");
    free(a);
    free(b);
    return 0;
}
