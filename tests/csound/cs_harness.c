/* cs_harness.c - see cs_harness.h. */
#include "cs_harness.h"
#include "daemon/rtcheck/rtcheck.h"

#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

harness *h_new(unsigned nch, unsigned max_synths)
{
    static int rt_inited;
    if (!rt_inited) {
        RT_CHECK_INIT();
        rt_inited = 1;
    }
    harness *h = calloc(1, sizeof *h);
    cs_config cfg = { .sr = H_SR, .ksmps = H_KSMPS, .nchnls = nch, .max_synths = max_synths };
    cs_error err = { 0 };
    int rc = cs_engine_create(&cfg, &h->eng, &err);
    ck_assert_msg(rc == 0, "engine create: %d %s", rc, err.msg);
    h->nch = nch;
    h->buf = calloc(nch, sizeof(float *));
    return h;
}

void h_free(harness *h)
{
    cs_engine_destroy(h->eng);
    for (unsigned c = 0; c < h->nch; c++)
        free(h->buf[c]);
    free(h->buf);
    free(h);
}

void h_drain(harness *h)
{
    cs_notice n;
    while (cs_notice_pop(h->eng, &n)) {
        ck_assert(h->nnotes < sizeof h->notes / sizeof h->notes[0]);
        h->notes[h->nnotes++] = n;
    }
    char line[256];
    while (cs_message_pop(h->eng, line, sizeof line, NULL)) {
        if (getenv("CS_TEST_VERBOSE"))
            fprintf(stderr, "csound: %s\n", line);
        if (h->nmsgs < 64)
            snprintf(h->msgs[h->nmsgs++], 256, "%s", line);
    }
}

void h_run(harness *h, size_t n)
{
    ck_assert(n % H_BLOCK == 0);
    if (h->len + n > h->cap) {
        h->cap = (h->len + n) * 2;
        for (unsigned c = 0; c < h->nch; c++)
            h->buf[c] = realloc(h->buf[c], h->cap * sizeof(float));
    }
    float *outs[16];
    for (size_t done = 0; done < n; done += H_BLOCK) {
        for (unsigned c = 0; c < h->nch; c++)
            outs[c] = h->buf[c] + h->len;
        /* With -Drtsan=true this block is a realtime context: any malloc,
         * free, lock or file call in our code aborts the test. */
        RT_CYCLE_BEGIN();
        int rc = cs_rt_process(h->eng, NULL, 0, outs, h->nch, H_BLOCK);
        RT_CYCLE_END();
        ck_assert_int_eq(rc, 0);
        h->len += H_BLOCK;
        h_drain(h);
    }
}

struct h_audio {
    cs_engine *eng;
    atomic_int stop;
    unsigned long blocks;
    pthread_t thread;
};

static void *audio_thread(void *arg)
{
    h_audio *a = arg;
    float buf[H_BLOCK];
    float *outs[1] = { buf };
    while (!atomic_load(&a->stop)) {
        cs_rt_process(a->eng, NULL, 0, outs, 1, H_BLOCK);
        a->blocks++;
    }
    return NULL;
}

h_audio *h_audio_start(cs_engine *eng)
{
    h_audio *a = calloc(1, sizeof *a);
    ck_assert_ptr_nonnull(a);
    a->eng = eng;
    ck_assert_int_eq(pthread_create(&a->thread, NULL, audio_thread, a), 0);
    return a;
}

unsigned long h_audio_stop(h_audio *a)
{
    atomic_store(&a->stop, 1);
    pthread_join(a->thread, NULL);
    unsigned long blocks = a->blocks;
    free(a);
    return blocks;
}

size_t h_count(const harness *h, cs_notice_kind kind)
{
    size_t k = 0;
    for (size_t i = 0; i < h->nnotes; i++)
        k += h->notes[i].kind == kind;
    return k;
}

/* Upward zero crossings with linear interpolation. */
double h_freq(const harness *h, unsigned ch, size_t from, size_t to)
{
    const float *x = h->buf[ch];
    double first = -1, last = -1;
    int n = 0;
    for (size_t i = from + 1; i < to; i++) {
        if (x[i - 1] < 0 && x[i] >= 0) {
            double t = (double)(i - 1) + x[i - 1] / (double)(x[i - 1] - x[i]);
            if (first < 0) first = t;
            last = t;
            n++;
        }
    }
    if (n < 2)
        return 0;
    return (n - 1) / (last - first) * H_SR;
}

double h_peak(const harness *h, unsigned ch, size_t from, size_t to)
{
    double p = 0;
    for (size_t i = from; i < to && i < h->len; i++)
        if (fabs(h->buf[ch][i]) > p)
            p = fabs(h->buf[ch][i]);
    return p;
}

size_t h_first_nonzero(const harness *h, unsigned ch, size_t from)
{
    for (size_t i = from; i < h->len; i++)
        if (h->buf[ch][i] != 0.0f)
            return i;
    return (size_t)-1;
}
