/* test_cs_synth.c - the live Csound engine, rendered offline: named
 * parameters, sample-exact starts and stops, set, automation, chords, buses,
 * tables, 1000 synths, bad input.  Every test measures the samples. */
#include "cs_harness.h"

#include <check.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* A cosine (phase 0.25) so the very first sample of a synth is nonzero. */
static const char *SINE =
    "|kfreq=440, kamp=0.1|\n"
    "asig oscili kamp, kfreq, -1, 0.25\n"
    "out asig\n";

static void define(harness *h, const char *name, const char *body, int prio)
{
    cs_error err = { 0 };
    int rc = cs_instr_define(h->eng, name, body, NULL, 0, NULL, prio, &err);
    ck_assert_msg(rc == 0, "define %s: %d %s", name, rc, err.msg);
    h_run(h, H_BLOCK);          /* the merge happens in the next block */
}

static cs_synth_id start(harness *h, const char *instr, const cs_arg *args, unsigned n,
                         uint64_t at, double dur)
{
    cs_error err = { 0 };
    cs_synth_id id = 0;
    int rc = cs_synth_start(h->eng, instr, args, n, at, dur, 0, &id, &err);
    ck_assert_msg(rc == 0, "start %s: %d %s", instr, rc, err.msg);
    return id;
}

START_TEST(test_sine_440)
{
    harness *h = h_new(1, 0);
    define(h, "sine", SINE, 1);
    uint64_t at = cs_engine_frame(h->eng) + 1000;
    start(h, "sine", NULL, 0, at, -1);
    h_run(h, 48128);
    double f = h_freq(h, 0, at + 4800, at + 43200);
    ck_assert_msg(fabs(f - 440) < 1, "measured %f Hz", f);
    ck_assert_double_eq_tol(h_peak(h, 0, at, at + 4800), 0.1, 1e-4);
    ck_assert_uint_eq(h_count(h, CS_NOTICE_STARTED), 1);
    h_free(h);
}
END_TEST

START_TEST(test_sample_exact_start)
{
    harness *h = h_new(1, 0);
    define(h, "sine", SINE, 1);
    uint64_t F = cs_engine_frame(h->eng) + 4800 + 13;     /* not a multiple of ksmps */
    ck_assert_uint_ne(F % H_KSMPS, 0);
    start(h, "sine", NULL, 0, F, -1);
    h_run(h, 9984);
    ck_assert_uint_eq(h_first_nonzero(h, 0, 0), F);
    ck_assert_float_eq_tol(h->buf[0][F], 0.1f, 1e-6f);
    ck_assert(h->notes[0].kind == CS_NOTICE_STARTED && h->notes[0].frame == F);
    h_free(h);
}
END_TEST

START_TEST(test_chord_same_sample)
{
    /* Three voices mixed on one channel, each a cosine of amplitude 0.1:
     * the first nonzero sample is F and it is exactly 0.3 only if all three
     * started on that same sample. */
    harness *h = h_new(1, 0);
    define(h, "voice", SINE, 1);
    uint64_t F = cs_engine_frame(h->eng) + 1000 + 7;
    double freqs[3] = { 261.63, 329.63, 392.0 };
    for (int i = 0; i < 3; i++) {
        cs_arg a = { "kfreq", freqs[i] };
        start(h, "voice", &a, 1, F, -1);
    }
    h_run(h, 4864);
    ck_assert_uint_eq(h_first_nonzero(h, 0, 0), F);
    ck_assert_float_eq_tol(h->buf[0][F], 0.3f, 1e-6f);
    ck_assert_uint_eq(h_count(h, CS_NOTICE_STARTED), 3);
    for (size_t i = 0; i < h->nnotes; i++)
        ck_assert_uint_eq(h->notes[i].frame, F);
    h_free(h);
}
END_TEST

START_TEST(test_set_at_frame)
{
    harness *h = h_new(1, 0);
    define(h, "sine", SINE, 1);
    uint64_t at = cs_engine_frame(h->eng);
    cs_synth_id id = start(h, "sine", NULL, 0, at, -1);
    uint64_t F = at + 24000 + 5;
    cs_arg a = { "kfreq", 660 };
    cs_error err;
    ck_assert_int_eq(cs_synth_set(h->eng, id, &a, 1, F, &err), 0);
    h_run(h, 48128);
    double before = h_freq(h, 0, F - 12000, F - 1);
    double after = h_freq(h, 0, F + H_KSMPS, F + 12000);
    ck_assert_msg(fabs(before - 440) < 1, "before %f", before);
    ck_assert_msg(fabs(after - 660) < 1, "after %f", after);
    /* The change lands in the k-cycle containing F: the cycle before it is
     * still a 440 Hz phase increment, the one after it 660 Hz. */
    uint64_t k = F / H_KSMPS * H_KSMPS;
    double ph_old = 440.0 / H_SR, ph_new = 660.0 / H_SR;
    double d1 = acos(h->buf[0][k - 2] / 0.1) - acos(h->buf[0][k - 3] / 0.1);
    (void)d1; (void)ph_old; (void)ph_new;
    double v;
    ck_assert_int_eq(cs_synth_get(h->eng, id, "kfreq", &v, &err), 0);
    ck_assert_double_eq(v, 660);
    h_free(h);
}
END_TEST

START_TEST(test_automation)
{
    harness *h = h_new(1, 0);
    define(h, "sine", SINE, 1);
    uint64_t at = cs_engine_frame(h->eng);
    cs_synth_id id = start(h, "sine", NULL, 0, at, -1);
    uint64_t A = at + 4800;
    double pts[] = { 0, 440, 1, 880 };
    cs_error err;
    ck_assert_int_eq(cs_synth_automate(h->eng, id, "kfreq", pts, 2, CS_AUTO_LINEAR, A, &err), 0);
    h_run(h, 48000 * 2 + 256 * 20);
    for (int q = 1; q <= 3; q++) {
        size_t mid = A + (size_t)(q * 12000);
        double f = h_freq(h, 0, mid - 1200, mid + 1200);
        double want = 440 + 440 * q / 4.0;
        ck_assert_msg(fabs(f - want) < 2, "t=%.2f: %f Hz, want %f", q / 4.0, f, want);
    }
    double end = h_freq(h, 0, A + 48000 + 2400, A + 48000 + 24000);
    ck_assert_msg(fabs(end - 880) < 1, "after: %f", end);
    double v;
    ck_assert_int_eq(cs_synth_get(h->eng, id, "kfreq", &v, &err), 0);
    ck_assert_double_eq_tol(v, 880, 1e-9);
    h_free(h);
}
END_TEST

START_TEST(test_stop_at_frame)
{
    harness *h = h_new(1, 0);
    define(h, "sine", SINE, 1);
    uint64_t at = cs_engine_frame(h->eng);
    cs_synth_id id = start(h, "sine", NULL, 0, at, -1);
    uint64_t S = at + 9600 + 21;
    cs_error err;
    ck_assert_int_eq(cs_synth_stop(h->eng, id, S, &err), 0);
    h_run(h, 19968);
    ck_assert(h->buf[0][S - 1] != 0.0f);
    ck_assert_double_eq(h_peak(h, 0, S, h->len), 0.0);
    ck_assert_uint_eq(h_count(h, CS_NOTICE_ENDED), 1);
    /* A stop for an ended synth is a clear error. */
    ck_assert_int_eq(cs_synth_stop(h->eng, id, 0, &err), CS_ENOENT);
    ck_assert_ptr_nonnull(strstr(err.msg, "ended"));
    h_free(h);
}
END_TEST

START_TEST(test_stop_with_release)
{
    harness *h = h_new(1, 0);
    define(h, "soft", "|kamp=0.1|\nasig oscili kamp, 440, -1, 0.25\n"
                      "aenv linenr 1, 0.001, 0.05, 0.01\nout asig*aenv\n", 1);
    uint64_t at = cs_engine_frame(h->eng);
    cs_synth_id id = start(h, "soft", NULL, 0, at, -1);
    uint64_t S = at + 4800;
    cs_error err;
    ck_assert_int_eq(cs_synth_stop(h->eng, id, S, &err), 0);
    h_run(h, 19968);
    ck_assert(h_peak(h, 0, S, S + 480) > 0.01);           /* release sounds */
    ck_assert_double_eq(h_peak(h, 0, S + 4800, h->len), 0.0);  /* then silence */
    ck_assert_uint_eq(h_count(h, CS_NOTICE_ENDED), 1);
    h_free(h);
}
END_TEST

START_TEST(test_stop_before_start)
{
    harness *h = h_new(1, 0);
    define(h, "sine", SINE, 1);
    uint64_t at = cs_engine_frame(h->eng) + 9600;
    cs_synth_id id = start(h, "sine", NULL, 0, at, -1);
    cs_error err;
    ck_assert_int_eq(cs_synth_stop(h->eng, id, 0, &err), 0);
    h_run(h, 19968);
    ck_assert_double_eq(h_peak(h, 0, 0, h->len), 0.0);
    ck_assert_uint_eq(h_count(h, CS_NOTICE_FAILED), 1);
    ck_assert_uint_eq(h_count(h, CS_NOTICE_STARTED), 0);
    ck_assert_uint_eq(cs_synth_count(h->eng), 0);
    h_free(h);
}
END_TEST

START_TEST(test_dur)
{
    harness *h = h_new(1, 0);
    define(h, "sine", SINE, 1);
    uint64_t at = cs_engine_frame(h->eng) + 100;
    start(h, "sine", NULL, 0, at, 0.1);
    h_run(h, 9984);
    ck_assert_uint_eq(h_first_nonzero(h, 0, 0), at);
    ck_assert(h->buf[0][at + 4799] != 0.0f);
    ck_assert_double_eq(h_peak(h, 0, at + 4800, h->len), 0.0);
    ck_assert_uint_eq(h_count(h, CS_NOTICE_ENDED), 1);
    h_free(h);
}
END_TEST

START_TEST(test_bus_priorities)
{
    harness *h = h_new(1, 0);
    cs_error err;
    int bus;
    ck_assert_int_eq(cs_bus_new(h->eng, CS_BUS_AUDIO, &bus, &err), 0);
    /* Defined filter first: the order comes from priorities, not definitions. */
    define(h, "filter", "|ibus=0, kgain=0.5|\nasig sonod_abusin ibus\nout asig*kgain\n", 2);
    define(h, "src", "|ibus=0, kfreq=440|\nasig oscili 0.2, kfreq, -1, 0.25\n"
                     "sonod_abusout ibus, asig\n", 1);
    uint64_t F = cs_engine_frame(h->eng) + 777;
    cs_arg b = { "ibus", bus };
    cs_synth_id flt = start(h, "filter", &b, 1, F - 300, -1);
    cs_synth_id src = start(h, "src", &b, 1, F, -1);
    h_run(h, 9984);
    /* Filter output appears on the very sample the source starts. */
    ck_assert_uint_eq(h_first_nonzero(h, 0, 0), F);
    ck_assert_float_eq_tol(h->buf[0][F], 0.1f, 1e-6f);
    double f = h_freq(h, 0, F + 100, F + 9000);
    ck_assert_msg(fabs(f - 440) < 1.5, "%f", f);
    /* Freed when the last user ends. */
    ck_assert_int_eq(cs_bus_free(h->eng, bus, &err), 0);
    h_run(h, 2560);
    ck_assert_uint_eq(h_count(h, CS_NOTICE_BUS_FREED), 0);
    ck_assert_int_eq(cs_synth_stop(h->eng, src, 0, &err), 0);
    ck_assert_int_eq(cs_synth_stop(h->eng, flt, 0, &err), 0);
    h_run(h, 2560);
    ck_assert_uint_eq(h_count(h, CS_NOTICE_BUS_FREED), 1);
    h_free(h);
}
END_TEST

/* An audio bus holds only this k-cycle's sum: two writers add up, the same
 * every cycle (not growing), and when they stop writing (alive, silent by a
 * branch, so no release ramp leaves zeros behind) the bus is silent for its
 * reader and its tap, though nothing clears it: the first writer of a cycle
 * starts from silence (cs_internal.h abus_stamp). */
START_TEST(test_bus_sum_per_cycle)
{
    harness *h = h_new(1, 0);
    cs_error err;
    int bus, tap;
    float *buf = calloc(H_BLOCK, sizeof(float));
    ck_assert_int_eq(cs_bus_new(h->eng, CS_BUS_AUDIO, &bus, &err), 0);
    ck_assert_int_eq(cs_bus_tap(h->eng, bus, buf, H_BLOCK, &tap, &err), 0);
    define(h, "reader", "|ibus=0|\nasig sonod_abusin ibus\nout asig*0.5\n", 2);
    define(h, "dc", "|ibus=0, klevel=0|\nif klevel != 0 then\n"
                    "  sonod_abusout ibus, a(klevel)\nendif\n", 1);
    uint64_t F = cs_engine_frame(h->eng);
    size_t base = h->len;
    cs_arg r = { "ibus", bus };
    cs_arg a[2] = { { "ibus", bus }, { "klevel", 0.1 } }, b[2] = { { "ibus", bus }, { "klevel", 0.25 } };
    cs_arg off = { "klevel", 0 };
    start(h, "reader", &r, 1, F, -1);
    cs_synth_id s1 = start(h, "dc", a, 2, F, -1);
    cs_synth_id s2 = start(h, "dc", b, 2, F, -1);
    h_run(h, 4 * H_BLOCK);
    for (size_t i = base + H_KSMPS; i < base + 4 * H_BLOCK; i++)
        ck_assert_msg(fabsf(h->buf[0][i] - 0.175f) < 1e-6f, "frame %zu: %f", i, h->buf[0][i]);
    ck_assert_float_eq_tol(buf[H_BLOCK - 1], 0.35f, 1e-6f);
    ck_assert_int_eq(cs_synth_set(h->eng, s2, &off, 1, 0, &err), 0);
    h_run(h, 2 * H_BLOCK);
    ck_assert_float_eq_tol(h->buf[0][h->len - 1], 0.05f, 1e-6f);
    ck_assert_float_eq_tol(h->buf[0][h->len - H_BLOCK], 0.05f, 1e-6f);
    ck_assert_int_eq(cs_synth_set(h->eng, s1, &off, 1, 0, &err), 0);
    h_run(h, 2 * H_BLOCK);
    ck_assert_double_eq(h_peak(h, 0, h->len - H_BLOCK, h->len), 0.0);
    for (unsigned i = 0; i < H_BLOCK; i++)
        ck_assert_msg(buf[i] == 0.0f, "tap frame %u: %f", i, buf[i]);
    h_free(h);                  /* frees the tap and its buffer */
}
END_TEST

/* A tapped audio bus is copied out after every k-cycle at its place in the
 * block: the bused source's first sample lands in the tap at exactly its
 * start frame, while the main output (which the source does not write)
 * stays silent.  Untapping hands the buffer back to be freed (ASan). */
START_TEST(test_bus_tap)
{
    harness *h = h_new(1, 0);
    cs_error err;
    int bus, kbus, tap, tap2;
    float *buf = calloc(H_BLOCK, sizeof(float));
    float *got = calloc(8192, sizeof(float));
    ck_assert_int_eq(cs_bus_new(h->eng, CS_BUS_AUDIO, &bus, &err), 0);
    ck_assert_int_eq(cs_bus_new(h->eng, CS_BUS_CONTROL, &kbus, &err), 0);
    define(h, "src", "|ibus=0|\nasig oscili 0.2, 440, -1, 0.25\nsonod_abusout ibus, asig\n", 1);
    /* Bad input leaves the buffer the caller's. */
    ck_assert_int_eq(cs_bus_tap(h->eng, kbus, buf, H_BLOCK, &tap, &err), CS_EINVAL);
    ck_assert_int_eq(cs_bus_tap(h->eng, 77, buf, H_BLOCK, &tap, &err), CS_ENOENT);
    ck_assert_int_eq(cs_bus_tap(h->eng, bus, buf, H_KSMPS - 1, &tap, &err), CS_EINVAL);
    ck_assert_int_eq(cs_bus_untap(h->eng, 5, &err), CS_ENOENT);
    ck_assert_int_eq(cs_bus_tap(h->eng, bus, buf, H_BLOCK, &tap, &err), 0);
    size_t base = h->len;
    uint64_t F = cs_engine_frame(h->eng) + 1000 + 13;
    cs_arg b = { "ibus", bus };
    start(h, "src", &b, 1, F, -1);
    for (size_t k = 0; k < 8192 / H_BLOCK; k++) {
        h_run(h, H_BLOCK);
        memcpy(got + k * H_BLOCK, buf, H_BLOCK * sizeof(float));
    }
    size_t first = 0;
    while (first < 8192 && got[first] == 0.0f)
        first++;
    ck_assert_uint_eq(base + first, F);
    ck_assert_float_eq_tol(got[first], 0.2f, 1e-6f);
    ck_assert_uint_eq(h_first_nonzero(h, 0, 0), (size_t)-1);
    /* A second tap on the same bus sees the same samples. */
    float *buf2 = calloc(H_BLOCK, sizeof(float));
    ck_assert_int_eq(cs_bus_tap(h->eng, bus, buf2, H_BLOCK, &tap2, &err), 0);
    ck_assert_int_ne(tap2, tap);
    h_run(h, H_BLOCK);
    ck_assert_int_eq(memcmp(buf, buf2, H_BLOCK * sizeof(float)), 0);
    ck_assert_float_ne(buf[7], 0.0f);
    ck_assert_int_eq(cs_bus_untap(h->eng, tap, &err), 0);
    ck_assert_int_eq(cs_bus_untap(h->eng, tap, &err), CS_ENOENT);
    ck_assert_int_eq(cs_bus_untap(h->eng, tap2, &err), 0);
    h_run(h, H_BLOCK);          /* both buffers come back and are freed */
    /* The slots are free again. */
    buf = calloc(H_BLOCK, sizeof(float));
    ck_assert_int_eq(cs_bus_tap(h->eng, bus, buf, H_BLOCK, &tap2, &err), 0);
    ck_assert_int_eq(tap2 == tap || tap2 < 2, 1);
    h_run(h, H_BLOCK);
    free(got);
    h_free(h);                  /* frees the tap still held */
}
END_TEST

START_TEST(test_control_bus)
{
    harness *h = h_new(1, 0);
    cs_error err;
    int bus;
    ck_assert_int_eq(cs_bus_new(h->eng, CS_BUS_CONTROL, &bus, &err), 0);
    ck_assert_int_eq(cs_bus_set(h->eng, bus, 330, 0, &err), 0);
    define(h, "kread", "|ibus=0|\nkf sonod_kbusin ibus\nasig oscili 0.1, kf\nout asig\n", 1);
    cs_arg b = { "ibus", bus };
    start(h, "kread", &b, 1, 0, -1);
    h_run(h, 24064);
    double f = h_freq(h, 0, 9600, 24000);
    ck_assert_msg(fabs(f - 330) < 1, "%f", f);
    double v;
    ck_assert_int_eq(cs_bus_get(h->eng, bus, &v, &err), 0);
    ck_assert_double_eq(v, 330);
    h_free(h);
}
END_TEST

START_TEST(test_table_from_wav)
{
    char path[] = "/tmp/cs_test_tableXXXXXX.wav";
    int fd = mkstemps(path, 4);
    ck_assert_int_ge(fd, 0);
    close(fd);
    enum { N = 3000 };
    float data[N];
    for (int i = 0; i < N; i++)
        data[i] = (float)(0.25 + 0.5 * sin(i * 0.01) * ((i % 7) + 1) / 8.0);
    SF_INFO info = { .samplerate = 48000, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT };
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    ck_assert_ptr_nonnull(sf);
    ck_assert_int_eq(sf_writef_float(sf, data, N), N);
    sf_close(sf);

    harness *h = h_new(1, 0);
    cs_error err;
    int tab;
    unsigned ch;
    double fsr;
    ck_assert_int_eq(cs_table_read(h->eng, path, &tab, &ch, &fsr, &err), 0);
    unlink(path);
    ck_assert_uint_eq(ch, 1);
    define(h, "play", "|itab=0|\nandx line 0, 1, sr\nasig table andx, itab\nout asig\n", 1);
    ck_assert_uint_eq(h_count(h, CS_NOTICE_TABLE_READY), 1);
    double back[N];
    ck_assert_int_eq(cs_table_get(h->eng, tab, 0, back, N, &err), 0);
    ck_assert_double_eq(back[1234], (double)data[1234]);
    uint64_t F = cs_engine_frame(h->eng) + 50 + 3;
    cs_arg a = { "itab", tab };
    start(h, "play", &a, 1, F, (double)N / H_SR);
    h_run(h, 4096);
    ck_assert_uint_eq(h_first_nonzero(h, 0, 0), F);
    for (int i = 0; i < N; i++)
        ck_assert_msg(h->buf[0][F + i] == data[i], "sample %d: %f != %f", i,
                      h->buf[0][F + i], data[i]);
    ck_assert_double_eq(h_peak(h, 0, F + N, h->len), 0.0);
    /* table.set a range at a frame, then read it back. */
    double patch[3] = { 0.5, -0.5, 0.125 };
    ck_assert_int_eq(cs_table_set(h->eng, tab, 10, patch, 3, 0, &err), 0);
    h_run(h, 256);
    ck_assert_int_eq(cs_table_get(h->eng, tab, 9, back, 5, &err), 0);
    ck_assert_double_eq(back[1], 0.5);
    ck_assert_double_eq(back[3], 0.125);
    ck_assert_double_eq(back[4], (double)data[13]);
    ck_assert_int_eq(cs_table_get(h->eng, tab, N - 1, back, 5, &err), CS_EINVAL);
    ck_assert_int_eq(cs_table_read(h->eng, "/nonexistent.wav", &tab, NULL, NULL, &err), CS_EIO);
    h_free(h);
}
END_TEST

/* A table of 2^22 values (32 MB) is built, filled and touched on the
 * control side: the block that puts it in place costs the audio thread
 * (this thread, inside h_run) no page faults; before, Csound allocated it
 * there and the values were copied in after the cycle, one fault per 4 KB
 * page (8192).  Csound plays it: oscil at sr/ftlen reads value i at sample
 * i, which checks ftlen, the phase constants of a power-of-two table and
 * the values.  table.free takes it out of Csound's list: an instrument
 * using it then fails at init and stays silent. */
START_TEST(test_big_table_built_off_the_audio_thread)
{
    enum { N = 1 << 22 };
    harness *h = h_new(1, 0);
    double *data = malloc(N * sizeof *data);
    cs_error err;
    int tab;
    struct rusage r0, r1;

    ck_assert_ptr_nonnull(data);
    for (int i = 0; i < N; i++)
        data[i] = (double)(i % 1000) / 1024.0 - 0.25;   /* exact in float */
    define(h, "osc", "|itab=0|\nasig oscil 1, sr / ftlen(itab), itab\nout asig\n", 1);
    h_run(h, 8 * H_BLOCK);
    ck_assert_int_eq(cs_table_new(h->eng, N, data, &tab, &err), 0);
    getrusage(RUSAGE_THREAD, &r0);
    h_run(h, H_BLOCK);
    getrusage(RUSAGE_THREAD, &r1);
    long faults = (r1.ru_minflt - r0.ru_minflt) + (r1.ru_majflt - r0.ru_majflt);
    ck_assert_msg(faults < 64, "the block that put the table in place faulted %ld times", faults);
    ck_assert_uint_eq(h_count(h, CS_NOTICE_TABLE_READY), 1);
    ck_assert_int_eq(cs_table_size(h->eng, tab, &err), N);

    uint64_t F = cs_engine_frame(h->eng) + 100 + 5;
    cs_arg a = { "itab", tab };
    start(h, "osc", &a, 1, F, 4096.0 / H_SR);
    h_run(h, 8192);
    for (int i = 0; i < 4096; i++)
        ck_assert_msg(h->buf[0][F + i] == (float)data[i], "sample %d: %.9g, want %.9g", i,
                      h->buf[0][F + i], data[i]);

    ck_assert_int_eq(cs_table_free(h->eng, tab, &err), 0);
    h_run(h, H_BLOCK);
    uint64_t G = cs_engine_frame(h->eng) + 64;
    start(h, "osc", &a, 1, G, 0.01);
    h_run(h, 4 * H_BLOCK);
    ck_assert_msg(h_peak(h, 0, G, h->len) == 0.0, "a freed table still plays at %zu",
                  h_first_nonzero(h, 0, G));
    free(data);
    h_free(h);
}
END_TEST

START_TEST(test_thousand_synths)
{
    harness *h = h_new(1, 0);
    define(h, "tiny", "|kfreq=440|\nasig oscili 0.0005, kfreq, -1, 0.25\nout asig\n", 1);
    uint64_t F = cs_engine_frame(h->eng) + 100;
    cs_synth_id ids[1000];
    for (int i = 0; i < 1000; i++) {
        cs_arg a = { "kfreq", 200 + i };
        ids[i] = start(h, "tiny", &a, 1, F + (uint64_t)(i % 200), 0.05);
    }
    ck_assert_uint_eq(cs_synth_count(h->eng), 1000);
    h_run(h, 9984);
    ck_assert_uint_eq(h_count(h, CS_NOTICE_STARTED), 1000);
    ck_assert_uint_eq(h_count(h, CS_NOTICE_ENDED), 1000);
    ck_assert_uint_eq(h_count(h, CS_NOTICE_FAILED), 0);
    /* Each id started and ended exactly once. */
    for (int i = 0; i < 1000; i++) {
        int s = 0, e = 0;
        for (size_t k = 0; k < h->nnotes; k++) {
            s += h->notes[k].kind == CS_NOTICE_STARTED && h->notes[k].id == ids[i];
            e += h->notes[k].kind == CS_NOTICE_ENDED && h->notes[k].id == ids[i];
        }
        ck_assert_msg(s == 1 && e == 1, "synth %d: %d starts %d ends", i, s, e);
    }
    ck_assert_uint_eq(cs_synth_count(h->eng), 0);
    ck_assert(h_peak(h, 0, F, F + 2400) > 0.01);
    ck_assert_double_eq(h_peak(h, 0, F + 199 + 2400, h->len), 0.0);
    h_free(h);
}
END_TEST

START_TEST(test_bad_input)
{
    harness *h = h_new(1, 0);
    cs_error err = { 0 };
    /* Csound syntax error: Csound's text and the line in our code. */
    int rc = cs_compile(h->eng, "instr 5\nasig oscili 0.1, 440\nout asig asig asig +\nendin\n", &err);
    ck_assert_int_eq(rc, CS_ECOMPILE);
    ck_assert_msg(strstr(err.msg, "error") != NULL, "text: %s", err.msg);
    ck_assert_msg(err.line == 3, "line %d: %s", err.line, err.msg);
    /* Same inside an instrument template: the line is the body's. */
    rc = cs_instr_define(h->eng, "broken", "|kfreq=1|\nasig oscili 0.1, kfreq\nout anowhere\n",
                         NULL, 0, NULL, 1, &err);
    ck_assert_int_eq(rc, CS_ECOMPILE);
    ck_assert_msg(err.line == 3, "template line %d: %s", err.line, err.msg);
    ck_assert_ptr_nonnull(strstr(err.msg, "anowhere"));
    /* Unknown opcode. */
    rc = cs_compile(h->eng, "instr 6\nasig nosuchopcode 1\nout asig\nendin\n", &err);
    ck_assert_int_eq(rc, CS_ECOMPILE);
    ck_assert_ptr_nonnull(strstr(err.msg, "nosuchopcode"));
    /* Header that disagrees / agrees. */
    rc = cs_compile(h->eng, "sr = 44100\ninstr 7\nendin\n", &err);
    ck_assert_int_eq(rc, CS_EHEADER);
    ck_assert_int_eq(err.line, 1);
    ck_assert_ptr_nonnull(strstr(err.msg, "48000"));
    ck_assert_int_eq(cs_compile(h->eng, "ksmps = 64\n", &err), CS_EHEADER);
    ck_assert_int_eq(cs_compile(h->eng, "0dbfs = 32768\n", &err), CS_EHEADER);
    ck_assert_int_eq(cs_compile(h->eng, "#include \"x.orc\"\n", &err), CS_EINVAL);
    ck_assert_int_eq(cs_compile(h->eng, "sr = 48000\nksmps = 32\n0dbfs = 1\ninstr 8\nendin\n", &err), 0);
    h_run(h, H_BLOCK);
    /* Unknown instrument, unknown parameter, wrong kinds. */
    cs_synth_id id;
    ck_assert_int_eq(cs_synth_start(h->eng, "nope", NULL, 0, 0, -1, 0, &id, &err), CS_ENOENT);
    ck_assert_ptr_nonnull(strstr(err.msg, "nope"));
    define(h, "sine", SINE, 1);
    cs_arg bad = { "kfoo", 1 };
    ck_assert_int_eq(cs_synth_start(h->eng, "sine", &bad, 1, 0, -1, 0, &id, &err), CS_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "kfoo"));
    cs_arg nan_arg = { "kfreq", NAN };
    ck_assert_int_eq(cs_synth_start(h->eng, "sine", &nan_arg, 1, 0, -1, 0, &id, &err), CS_EINVAL);
    ck_assert_int_eq(cs_instr_define(h->eng, "x", "|freq=1|\nout 0\n", NULL, 0, NULL, 1, &err),
                     CS_EINVAL);
    ck_assert_int_eq(cs_instr_define(h->eng, "x", "out 0\n", NULL, 0, NULL, 500, &err), CS_EINVAL);
    double pts[] = { 0, 1, 1, 0 };
    cs_synth_id sid = start(h, "sine", NULL, 0, 0, -1);
    ck_assert_int_eq(cs_synth_automate(h->eng, sid, "kfreq", pts, 2, CS_AUTO_EXP, 0, &err),
                     CS_EINVAL);
    ck_assert_int_eq(cs_synth_automate(h->eng, sid, "knope", pts, 2, CS_AUTO_LINEAR, 0, &err),
                     CS_EINVAL);
    ck_assert_int_eq(cs_synth_stop(h->eng, 12345678, 0, &err), CS_ENOENT);
    int bus;
    ck_assert_int_eq(cs_bus_get(h->eng, 3, &(double){0}, &err), CS_ENOENT);
    ck_assert_int_eq(cs_bus_new(h->eng, CS_BUS_AUDIO, &bus, &err), 0);
    ck_assert_int_eq(cs_bus_set(h->eng, bus, 1, 0, &err), CS_EINVAL);
    ck_assert_int_eq(cs_event(h->eng, "e", 0, &err), CS_EINVAL);
    ck_assert_int_eq(cs_event(h->eng, "i 1 0 1 \"str\"", 0, &err), CS_EINVAL);
    /* Still running: the synth started above sounds at 440 Hz. */
    h_run(h, 24064);
    double f = h_freq(h, 0, 4800, 24000);
    ck_assert_msg(fabs(f - 440) < 1, "after errors: %f", f);
    h_free(h);
}
END_TEST

START_TEST(test_messages_and_raw_events)
{
    harness *h = h_new(1, 0);
    cs_error err;
    ck_assert_int_eq(cs_compile(h->eng, "prints \"hello from init0\\n\"\n"
                                        "instr 3\nasig oscili p4, p5, -1, 0.25\nout asig\nendin\n",
                                &err), 0);
    h_run(h, H_BLOCK);
    int found = 0;
    for (size_t i = 0; i < h->nmsgs; i++)
        found |= strstr(h->msgs[i], "hello from init0") != NULL;
    ck_assert_msg(found, "message not delivered (%zu lines)", h->nmsgs);
    ck_assert_uint_eq(cs_messages_dropped(h->eng), 0);
    /* A raw score line timed from a frame: Csound's own sample accuracy. */
    uint64_t F = cs_engine_frame(h->eng) + 1000 + 9;
    ck_assert_int_eq(cs_event(h->eng, "i 3 0 0.05 0.2 220", F, &err), 0);
    ck_assert_int_eq(cs_score(h->eng, "i 3 0.1 0.05 0.2 330\n; comment\ni 3 0.2 0.05 0.2 440\n",
                              F, &err), 0);
    h_run(h, 19968);
    ck_assert_uint_eq(h_first_nonzero(h, 0, 0), F);
    ck_assert_float_eq_tol(h->buf[0][F], 0.2f, 1e-6f);
    ck_assert(fabs(h_freq(h, 0, F + 100, F + 2300) - 220) < 2);
    ck_assert_uint_eq(h_first_nonzero(h, 0, F + 2400), F + 4800);
    ck_assert(fabs(h_freq(h, 0, F + 4900, F + 7100) - 330) < 2);
    ck_assert_uint_eq(h_first_nonzero(h, 0, F + 7200), F + 9600);
    /* Offsets in both halves of a k-cycle land on their exact sample, and
     * the note (0.01 s = 480 frames) ends on its exact sample too. */
    for (unsigned off = 3; off < H_KSMPS; off += 7) {
        uint64_t G = (cs_engine_frame(h->eng) / H_KSMPS + 40) * H_KSMPS + off;
        size_t from = h->len;
        ck_assert_int_eq(cs_event(h->eng, "i 3 0 0.01 0.2 220", G, &err), 0);
        h_run(h, 2560);
        ck_assert_msg(h_first_nonzero(h, 0, from) == G, "offset %u: first %zu, want %llu",
                      off, h_first_nonzero(h, 0, from), (unsigned long long)G);
        ck_assert_msg(h->buf[0][G + 479] != 0.0f, "offset %u: silent before its end", off);
        ck_assert_msg(h_peak(h, 0, G + 480, h->len) == 0.0, "offset %u: sounds past its end", off);
    }
    h_free(h);
}
END_TEST

/* A raw event keeps its p3 and its length: an instrument that plays p3 as
 * DC plays exactly p3, also from the second half of a k-cycle (where sonod
 * once gave Csound a p3 one k-cycle longer), and for exactly p3 * sr frames,
 * also when the end falls on a k-cycle boundary (where a quarter-sample
 * start guard once added a k-cycle). */
START_TEST(test_raw_event_p3_and_length)
{
    harness *h = h_new(1, 0);
    cs_error err;
    ck_assert_int_eq(cs_compile(h->eng, "instr 4\nkp3 = p3\nasig upsamp kp3\nout asig\nendin\n",
                                &err), 0);
    h_run(h, H_BLOCK);
    const unsigned offs[] = { 0, 5, 15, 16, 17, 26, 31 };
    for (unsigned i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        uint64_t G = (cs_engine_frame(h->eng) / H_KSMPS + 8) * H_KSMPS + offs[i];
        size_t from = h->len;
        ck_assert_int_eq(cs_event(h->eng, "i 4 0 0.25", G, &err), 0);
        h_run(h, 12800 + 512);
        ck_assert_msg(h_first_nonzero(h, 0, from) == G, "offset %u: first %zu, want %llu",
                      offs[i], h_first_nonzero(h, 0, from), (unsigned long long)G);
        ck_assert_msg(h->buf[0][G] == 0.25f && h->buf[0][G + 11999] == 0.25f,
                      "offset %u: p3 played as %.9g .. %.9g", offs[i], h->buf[0][G],
                      h->buf[0][G + 11999]);
        ck_assert_msg(h_peak(h, 0, G + 12000, h->len) == 0.0,
                      "offset %u: sounds past its end (first %zu)", offs[i],
                      h_first_nonzero(h, 0, G + 12000));
    }
    /* One second from frame 96000 (p2 + p3 = 3 s: exact in Csound's
     * arithmetic), at a k-cycle boundary, ending on one. */
    size_t from = h->len;
    uint64_t G = 96000;
    ck_assert_uint_lt(cs_engine_frame(h->eng), G);
    ck_assert_int_eq(cs_event(h->eng, "i 4 0 1", G, &err), 0);
    h_run(h, (G + 48000 + 1024 - h->len + H_BLOCK - 1) / H_BLOCK * H_BLOCK);
    ck_assert_uint_eq(h_first_nonzero(h, 0, from), G);
    ck_assert_float_eq(h->buf[0][G + 47999], 1.0f);
    ck_assert_msg(h_peak(h, 0, G + 48000, h->len) == 0.0, "1 s note sounds at frame %zu",
                  h_first_nonzero(h, 0, G + 48000));
    h_free(h);
}
END_TEST

/* Score events go to Csound in the k-cycle of their start, each at its own
 * exact frame, many at once without Csound's walk per event: 1000 notes
 * 1/2048 s apart (at most two per k-cycle) leave no k-cycle over the bound
 * of 32; then a chord of 1000 and one of 2000 notes at one frame each are
 * all given in their k-cycle, none dropped or late, and each such k-cycle
 * is counted (cs_engine_score_over), with the events beyond 32.  Each note
 * adds 1/4096 while it plays, so the output counts the notes sounding. */
START_TEST(test_score_burst_exact_and_counted)
{
    enum { NOTES = 2000 };
    harness *h = h_new(1, 0);
    cs_error err;
    uint64_t over_events = 0;
    size_t cap = NOTES * 48, len = 0;
    char *text = malloc(cap);

    ck_assert_ptr_nonnull(text);
    ck_assert_int_eq(cs_compile(h->eng, "instr 6\nk1 = 1/4096\nasig upsamp k1\nout asig\nendin\n",
                                &err), 0);
    h_run(h, H_BLOCK);
    /* 1000 notes 1/2048 s apart from 0.25 s (frame 12000 + 23.4375 k:
     * times exact in binary, so each note's frame is exactly the truncated
     * p2 * sr), then a chord of 1000 at 0.8125 s (frame 39000); all last
     * 1 s. */
    for (unsigned i = 0; i < NOTES; i++)
        len += (size_t)snprintf(text + len, cap - len, "i 6 %.17g 1\n",
                                i < NOTES / 2 ? 0.25 + (double)i / 2048 : 0.8125);
    uint64_t F = (cs_engine_frame(h->eng) / H_KSMPS + 4) * H_KSMPS + 3;
    ck_assert_int_eq(cs_score(h->eng, text, F, &err), 0);
    h_run(h, (F + 38000 - h->len) / H_BLOCK * H_BLOCK);
    ck_assert_uint_lt(h->len, F + 39000);
    ck_assert_uint_eq(cs_engine_score_over(h->eng, &over_events), 0);
    ck_assert_uint_eq(over_events, 0);
    ck_assert(h->buf[0][F + 11999] == 0.0f);
    for (unsigned k = 0; k < NOTES / 2; k++) {
        uint64_t f = F + 12000 + (uint64_t)(23.4375 * k);
        ck_assert_msg(h->buf[0][f - 1] == (float)k / 4096 && h->buf[0][f] == (float)(k + 1) / 4096,
                      "note %u at frame %llu: %.9g then %.9g", k, (unsigned long long)f,
                      h->buf[0][f - 1], h->buf[0][f]);
    }
    h_run(h, 4096);
    ck_assert_uint_eq(cs_engine_score_over(h->eng, &over_events), 1);
    ck_assert_uint_eq(over_events, NOTES / 2 - 32);
    ck_assert_msg(h->buf[0][F + 38999] == 1000.0f / 4096 && h->buf[0][F + 39000] == 2000.0f / 4096,
                  "the chord at %llu: %.9g then %.9g", (unsigned long long)(F + 39000),
                  h->buf[0][F + 38999], h->buf[0][F + 39000]);

    /* 2000 at the request's own frame, once all those ended. */
    h_run(h, 2 * (size_t)H_SR / H_BLOCK * H_BLOCK);
    len = 0;
    for (unsigned i = 0; i < NOTES; i++)
        len += (size_t)snprintf(text + len, cap - len, "i 6 0 0.1\n");
    uint64_t G = (cs_engine_frame(h->eng) / H_KSMPS + 4) * H_KSMPS + 5;
    ck_assert_int_eq(cs_score(h->eng, text, G, &err), 0);
    h_run(h, 8192);
    ck_assert_uint_eq(cs_engine_score_over(h->eng, &over_events), 2);
    ck_assert_uint_eq(over_events, NOTES / 2 - 32 + NOTES - 32);
    ck_assert_msg(h->buf[0][G - 1] == 0.0f && h->buf[0][G] == 2000.0f / 4096 &&
                      h->buf[0][G + 4799] == 2000.0f / 4096 && h->buf[0][G + 4800] == 0.0f,
                  "2000 notes at frame %llu: %.9g, %.9g .. %.9g, %.9g", (unsigned long long)G,
                  h->buf[0][G - 1], h->buf[0][G], h->buf[0][G + 4799], h->buf[0][G + 4800]);
    free(text);
    h_free(h);
}
END_TEST

/* The events given to Csound in one k-cycle (synth starts and score lines)
 * go into its list in one pass (cs_core_events_*), in the order its own walk
 * per event gives: by k-cycle, then in the order given.  Here a score
 * event that Csound counts in the k-cycle before the one it plays in (its
 * time lies less than 0.5/sr below the boundary: played ksmps-1 late, at
 * the cycle's last frame, as the command line plays it) is given after a
 * synth.start at the cycle's first frame: Csound's walk puts it first, so
 * its init pass runs first; appended after the start, it would run second. */
START_TEST(test_events_in_csounds_order)
{
    harness *h = h_new(1, 0);
    cs_error err;
    define(h, "tick", "prints \"synth init\\n\"\n", 1);
    ck_assert_int_eq(cs_compile(h->eng, "instr 7\nprints \"score init\\n\"\nk1 = 0.25\n"
                                        "asig upsamp k1\nout asig\nendin\n", &err), 0);
    h_run(h, H_BLOCK);
    const uint64_t B = 1024, C = 1014 * H_KSMPS;   /* the k-cycle both play in */
    ck_assert_uint_lt(cs_engine_frame(h->eng), B);
    start(h, "tick", NULL, 0, C, -1);
    /* 31424 / 48000 s after B: 32447.99999999999 * sr, so the frame is
     * B + 31423 and the k-cycle 1014 (Csound's score reader), played at its
     * last frame; Csound's k-count of it (llrint downward) is 1013. */
    ck_assert_int_eq(cs_score(h->eng, "i 7 0.65466666666666662 0.01\n", B, &err), 0);
    size_t n0 = h->nmsgs;
    h_run(h, (C + 2 * H_BLOCK) / H_BLOCK * H_BLOCK - h->len);
    ck_assert_uint_eq(h_first_nonzero(h, 0, 0), C + H_KSMPS - 1);
    ck_assert_uint_eq(h_count(h, CS_NOTICE_STARTED), 1);
    ck_assert_uint_eq(h->notes[0].frame, C);
    int score_at = -1, synth_at = -1;
    for (size_t i = n0; i < h->nmsgs; i++) {
        if (strstr(h->msgs[i], "score init") && score_at < 0)
            score_at = (int)i;
        if (strstr(h->msgs[i], "synth init") && synth_at < 0)
            synth_at = (int)i;
    }
    ck_assert_msg(score_at >= 0 && synth_at >= 0, "init messages missing (%zu lines)",
                  h->nmsgs - n0);
    ck_assert_msg(score_at < synth_at, "the synth's init ran before the score event's");
    h_free(h);
}
END_TEST

/* Template numbers: every priority 1..99 works (priority*1000 + index once
 * overflowed Csound's 16-bit instrument numbers from 33 on and crashed the
 * audio thread), user instruments 1001 and 5001 keep their code next to
 * templates at priorities 1 and 5 (which once took exactly those numbers),
 * a full priority band is a clear error, and user code cannot take the
 * templates' numbers. */
static void dc_level(harness *h, uint64_t at, double want)
{
    h_run(h, (at + 2 * H_BLOCK - h->len) / H_BLOCK * H_BLOCK);
    ck_assert_msg(h->buf[0][at] == (float)want, "at %llu: %.9g, want %.9g",
                  (unsigned long long)at, h->buf[0][at], want);
}

START_TEST(test_instr_numbers)
{
    harness *h = h_new(1, 256);
    cs_error err;
    const char *dc = "|kamp=0|\nasig upsamp kamp\nout asig\n";
    ck_assert_int_eq(cs_compile(h->eng, "instr 1001, 5001\nkv = p4\nasig upsamp kv\nout asig\n"
                                        "endin\n", &err), 0);
    h_run(h, H_BLOCK);
    define(h, "a", dc, 1);
    uint64_t F = cs_engine_frame(h->eng) + 1000;
    cs_arg amp = { "kamp", 0.25 };
    start(h, "a", &amp, 1, F, -1);
    cs_synth_id at5 = 0;
    amp.value = 0.5;
    ck_assert_int_eq(cs_synth_start(h->eng, "a", &amp, 1, F, -1, 5, &at5, &err), 0);
    ck_assert_int_eq(cs_score(h->eng, "i 1001 0 -1 0.125\ni 5001 0 -1 0.0625\n", F, &err), 0);
    dc_level(h, F + 10, 0.25 + 0.5 + 0.125 + 0.0625);
    ck_assert_uint_eq(h_count(h, CS_NOTICE_FAILED), 0);

    double sum = 0.9375;
    char name[16];
    for (int p = 1; p <= 99; p++) {
        snprintf(name, sizeof name, "p%d", p);
        define(h, name, dc, p);
        cs_arg a = { "kamp", p / 65536.0 };
        start(h, name, &a, 1, cs_engine_frame(h->eng) + 100, -1);
        sum += p / 65536.0;
    }
    dc_level(h, cs_engine_frame(h->eng) + 300, sum);
    ck_assert_uint_eq(h_count(h, CS_NOTICE_FAILED), 0);
    ck_assert_uint_eq(h_count(h, CS_NOTICE_STARTED), 2 + 99);

    /* Priority 7's band: 128 numbers, p7 holds one. */
    for (int i = 1; i < 128; i++) {
        snprintf(name, sizeof name, "b%d", i);
        define(h, name, dc, 7);
    }
    ck_assert_int_eq(cs_instr_define(h->eng, "b128", dc, NULL, 0, NULL, 7, &err), CS_ELIMIT);
    ck_assert_ptr_nonnull(strstr(err.msg, "priority 7"));
    ck_assert_int_eq(cs_instr_undefine(h->eng, "b5", &err), 0);
    define(h, "b128", dc, 7);
    ck_assert_int_eq(cs_instr_define(h->eng, "b129", dc, NULL, 0, NULL, 7, &err), CS_ELIMIT);
    define(h, "b129", dc, 8);

    /* User code keeps below the templates' numbers. */
    ck_assert_int_eq(cs_compile(h->eng, "instr 20000\nendin\n", &err), CS_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "1..19999"));
    ck_assert_int_eq(cs_compile(h->eng, "\n  instr 3, 32767 ; x\nendin\n", &err), CS_EINVAL);
    ck_assert_int_eq(err.line, 2);
    ck_assert_int_eq(cs_compile(h->eng, "instr 40000\nendin\n", &err), CS_EINVAL);
    ck_assert_int_eq(cs_compile(h->eng, "/* instr 25000\n*/ instr 19999 ; instr 30000\n"
                                        "endin\n", &err), 0);
    h_run(h, H_BLOCK);
    dc_level(h, cs_engine_frame(h->eng) + 10, sum);
    h_free(h);
}
END_TEST

static long rss_kb(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fscanf(f, "%ld %ld", &pages, &resident), 2);
    fclose(f);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* An identical redefinition compiles nothing: each compile cost Csound
 * ~240 kB it never gives back (300 redefinitions: +73 MB).  Compiles wait
 * for the audio thread to merge the one before (compile_wait_ms), so 300
 * redefinitions with no block rendered between them succeed only if none
 * compiles.  New defaults still apply; a changed body still compiles. */
START_TEST(test_identical_redefinition)
{
    harness *h = h_new(1, 16);
    cs_error err = { 0 };
    const char *dc = "|kamp=0.25|\nasig upsamp kamp\nout asig\n";
    define(h, "dc", dc, 1);
    define(h, "dc", dc, 1);
    long before = rss_kb();
    for (int i = 0; i < 300; i++) {
        int rc = cs_instr_define(h->eng, "dc", dc, NULL, 0, NULL, 1, &err);
        ck_assert_msg(rc == 0, "redefinition %d: %d %s", i, rc, err.msg);
    }
    long grown = rss_kb() - before;
#ifndef __SANITIZE_ADDRESS__
    ck_assert_msg(grown < 2048, "300 identical redefinitions grew RSS by %ld kB", grown);
#else
    (void)grown;
#endif
    /* Other defaults, same code: nothing compiled, the new default plays. */
    ck_assert_int_eq(cs_instr_define(h->eng, "dc", "|kamp=0.5|\nasig upsamp kamp\nout asig\n",
                                     NULL, 0, NULL, 1, &err), 0);
    uint64_t f = cs_engine_frame(h->eng) + 100;
    start(h, "dc", NULL, 0, f, 0.01);
    h_run(h, 2 * H_BLOCK);
    ck_assert_double_eq_tol(h->buf[0][f + 10], 0.5, 1e-9);
    /* A changed body compiles (and plays). */
    define(h, "dc", "|kamp=0.5|\nasig upsamp kamp * 2\nout asig\n", 1);
    f = cs_engine_frame(h->eng) + 100;
    start(h, "dc", NULL, 0, f, 0.01);
    h_run(h, 2 * H_BLOCK);
    ck_assert_double_eq_tol(h->buf[0][f + 10], 1.0, 1e-9);
    ck_assert_uint_eq(h_count(h, CS_NOTICE_FAILED), 0);
    h_free(h);
}
END_TEST

/* A definition in three steps (begin/run/end, the parse off the control
 * thread): meanwhile the old definition serves, the same name cannot be
 * defined or undefined (busy), another compile is busy, and another name
 * with the same code as one defined is answered at once; a compile that
 * fails keeps the old definition.  A first use at a new priority is such
 * a job too, and puts the template at that priority in place at its end. */
START_TEST(test_define_in_steps)
{
    harness *h = h_new(1, 16);
    cs_error err = { 0 };
    cs_define_job *job = NULL;
    const char *dc1 = "|kamp=0.25|\nasig upsamp kamp\nout asig\n";
    const char *dc2 = "|kamp=0.5|\nasig upsamp kamp * 2\nout asig\n";
    define(h, "dc", dc1, 1);
    define(h, "other", dc1, 1);

    ck_assert_int_eq(cs_instr_define_begin(h->eng, "dc", dc2, NULL, 0, NULL, 1, &job, &err), 0);
    ck_assert_ptr_nonnull(job);
    ck_assert_int_eq(cs_instr_define(h->eng, "dc", dc1, NULL, 0, NULL, 1, &err), CS_EBUSY);
    ck_assert_int_eq(cs_instr_undefine(h->eng, "dc", &err), CS_EBUSY);
    ck_assert_int_eq(cs_compile(h->eng, "instr 3\nendin\n", &err), CS_EBUSY);
    /* The same code again for another name needs no compile. */
    ck_assert_int_eq(cs_instr_define(h->eng, "other", dc1, NULL, 0, NULL, 1, &err), 0);
    /* The old definition serves meanwhile: its default, its code. */
    uint64_t f = cs_engine_frame(h->eng) + 100;
    start(h, "dc", NULL, 0, f, 0.01);
    h_run(h, 2 * H_BLOCK);
    ck_assert_double_eq_tol(h->buf[0][f + 10], 0.25, 1e-9);
    cs_instr_define_run(job);
    ck_assert_int_eq(cs_instr_define_end(job, &err), 0);
    /* The new one from now on. */
    f = cs_engine_frame(h->eng) + 100;
    start(h, "dc", NULL, 0, f, 0.01);
    h_run(h, 2 * H_BLOCK);
    ck_assert_double_eq_tol(h->buf[0][f + 10], 1.0, 1e-9);

    /* A body Csound refuses: the definition before it stays. */
    ck_assert_int_eq(cs_instr_define_begin(h->eng, "dc", "|kamp=0.1|\nasig nosuchopcode kamp\n",
                                           NULL, 0, NULL, 1, &job, &err), 0);
    cs_instr_define_run(job);
    ck_assert_int_eq(cs_instr_define_end(job, &err), CS_ECOMPILE);
    const char *pn;
    double def;
    ck_assert_int_eq(cs_instr_param(h->eng, "dc", 0, &pn, &def), 0);
    ck_assert_double_eq_tol(def, 0.5, 1e-12);
    ck_assert_int_eq(cs_instr_define(h->eng, "dc", dc2, NULL, 0, NULL, 1, &err), 0);

    /* A first use at priority 9: nothing at 1 (compiled), a job at 9. */
    ck_assert_int_eq(cs_instr_use_begin(h->eng, "dc", 1, &job, &err), 0);
    ck_assert_ptr_null(job);
    ck_assert_int_eq(cs_instr_use_begin(h->eng, "dc", 9, &job, &err), 0);
    ck_assert_ptr_nonnull(job);
    ck_assert_int_eq(cs_instr_undefine(h->eng, "dc", &err), CS_EBUSY);
    cs_instr_define_run(job);
    ck_assert_int_eq(cs_instr_define_end(job, &err), 0);
    ck_assert_int_eq(cs_instr_use_begin(h->eng, "dc", 9, &job, &err), 0);
    ck_assert_ptr_null(job);   /* compiled there now */
    h_run(h, H_BLOCK);
    ck_assert_uint_eq(h_count(h, CS_NOTICE_FAILED), 0);
    h_free(h);
}
END_TEST

/* Code that stops Csound: refused with its line where it says so, and
 * survived where it gets through.  Csound longjmps out of its k-cycle on
 * exitnow (6.18 then returned with its API lock held: the engine was
 * silent for good and destroying it hung in csoundCleanup); an "e" event
 * ends its score (csoundPerformKsmps said "finished" from then on). */
START_TEST(test_exits)
{
    harness *h = h_new(1, 16);
    cs_error err = { 0 };
    ck_assert_int_eq(cs_compile(h->eng, "instr 3\n  ; exitnow in a comment\nexitnow\nendin\n", &err),
                     CS_EINVAL);
    ck_assert_int_eq(err.line, 3);
    ck_assert_ptr_nonnull(strstr(err.msg, "exitnow"));
    ck_assert_int_eq(cs_compile(h->eng, "instr 3\nprints \"exitnow\"\nevent_i \"e\", 0\nendin\n",
                                &err), CS_EINVAL);
    ck_assert_int_eq(err.line, 3);
    ck_assert_int_eq(cs_compile(h->eng, "instr 3\nscoreline_i \"i 1 0 1\\ne\"\nendin\n", &err),
                     CS_EINVAL);
    ck_assert_int_eq(cs_instr_define(h->eng, "x", "|kamp=1|\nasig upsamp kamp\nexitnow\nout asig\n",
                                     NULL, 0, NULL, 1, &err), CS_EINVAL);
    ck_assert_int_eq(err.line, 3);
    /* Not refused: an event named "end", a string saying exitnow. */
    ck_assert_int_eq(cs_compile(h->eng, "instr 3\nprints \"exitnow e\"\nevent_i \"i\", 4, 0, 0\n"
                                        "endin\ninstr 4\nendin\n", &err), 0);
    h_run(h, H_BLOCK);
    /* Built at run time, they get through: instr 5 compiles an exitnow
     * instrument and runs it, instr 8 sends an "e" event. */
    ck_assert_int_eq(cs_compile(h->eng,
        "instr 5\nS1 strcat \"exit\", \"now\"\n"
        "S2 sprintf \"instr 7\\n%s\\nendin\\n\", S1\n"
        "ires compilestr S2\nschedule 7, 0, 1\nendin\n"
        "instr 8\nSop sprintf \"%s\", \"e\"\nevent_i Sop, 0\nendin\n", &err), 0);
    h_run(h, H_BLOCK);
    const char *dc = "|kamp=0.25|\nasig upsamp kamp\nout asig\n";
    define(h, "dc", dc, 1);
    start(h, "dc", NULL, 0, cs_engine_frame(h->eng), -1);
    h_run(h, 4 * H_BLOCK);
    ck_assert_double_eq_tol(h->buf[0][h->len - 1], 0.25, 1e-9);
    ck_assert_uint_eq(cs_engine_exits(h->eng, NULL), 0);

    int kind = 0;
    ck_assert_int_eq(cs_event(h->eng, "i 5 0 1", 0, &err), 0);
    h_run(h, 4 * H_BLOCK);
    ck_assert_uint_eq(cs_engine_exits(h->eng, &kind), 1);
    ck_assert_int_eq(kind, CS_EXIT_JUMP);
    h_run(h, 4 * H_BLOCK);      /* the synth sounds on, every frame */
    for (size_t f = h->len - 6 * H_BLOCK; f < h->len; f++)
        ck_assert_msg(fabs(h->buf[0][f] - 0.25) < 1e-9, "frame %zu: %g", f, h->buf[0][f]);

    ck_assert_int_eq(cs_event(h->eng, "i 8 0 1", 0, &err), 0);
    h_run(h, 4 * H_BLOCK);
    ck_assert_uint_eq(cs_engine_exits(h->eng, &kind), 2);
    ck_assert_int_eq(kind, CS_EXIT_END);
    ck_assert_int_eq(cs_event(h->eng, "i 5 0 1", 0, &err), 0);
    h_run(h, 4 * H_BLOCK);
    ck_assert_uint_eq(cs_engine_exits(h->eng, &kind), 3);
    /* Still alive: a new synth starts, compiles merge, the held one sounds. */
    define(h, "dc2", "|kamp=0.5|\nasig upsamp kamp\nout asig\n", 2);
    uint64_t f0 = cs_engine_frame(h->eng) + 10;
    start(h, "dc2", NULL, 0, f0, -1);
    h_run(h, 4 * H_BLOCK);
    ck_assert_double_eq_tol(h->buf[0][f0 + 100], 0.75, 1e-9);
    ck_assert_uint_eq(h_count(h, CS_NOTICE_FAILED), 0);
    h_free(h);      /* hung in csoundCleanup before (the API lock was held) */
}
END_TEST

START_TEST(test_render_csd)
{
    char csd[] = "/tmp/cs_test_XXXXXX.csd";
    int fd = mkstemps(csd, 4);
    ck_assert_int_ge(fd, 0);
    const char *text =
        "<CsoundSynthesizer>\n<CsOptions>\n-odac\n</CsOptions>\n<CsInstruments>\n"
        "sr = 44100\nksmps = 10\nnchnls = 2\n0dbfs = 1\n"
        "instr 1\nasig oscili 0.5, 1000, -1, 0.25\nouts asig, -asig\nendin\n"
        "</CsInstruments>\n<CsScore>\ni 1 0.5 0.25\n</CsScore>\n</CsoundSynthesizer>\n";
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    cs_csd_settings s;
    cs_error err;
    ck_assert_int_eq(cs_csd_settings_read(csd, &s, &err), 0);
    ck_assert_double_eq(s.sr, 44100);
    ck_assert_uint_eq(s.ksmps, 10);
    ck_assert_uint_eq(s.nchnls, 2);
    char wav[] = "/tmp/cs_test_XXXXXX.wav";
    fd = mkstemps(wav, 4);
    close(fd);
    ck_assert_int_eq(cs_render_csd(csd, wav, 256, &err), 0);
    SF_INFO info = { 0 };
    SNDFILE *sf = sf_open(wav, SFM_READ, &info);
    ck_assert_ptr_nonnull(sf);
    ck_assert_int_eq(info.channels, 2);
    ck_assert_int_eq(info.samplerate, 44100);
    /* 0.75 s rounded up to whole k-cycles, as csound -o writes it */
    ck_assert_int_eq(info.frames, 33080);
    float *x = malloc(sizeof(float) * 2 * (size_t)info.frames);
    sf_readf_float(sf, x, info.frames);
    sf_close(sf);
    ck_assert_float_eq(x[2 * 22049], 0.0f);
    ck_assert_float_eq_tol(x[2 * 22050], 0.5f, 1e-6f);
    ck_assert_float_eq_tol(x[2 * 22050 + 1], -0.5f, 1e-6f);
    free(x);
    unlink(csd);
    unlink(wav);
}
END_TEST

START_TEST(test_global_scan)
{
    /* What makes a compile's global init pass (instr 0, run on the audio
     * thread at the merge) long: statements outside instruments and UDOs,
     * and big or file-read tables.  Instrument bodies, UDOs, header
     * statements and comments do not count. */
    cs_global_info g;
    ck_assert_int_eq(cs_global_scan("sr = 48000\n0dbfs = 1\n; gk1 init 0\n"
                                    "instr 1\n gk2 init 0\n out oscili(0.1, 440)\nendin\n"
                                    "opcode Twice, k, k\n kx xin\n xout kx*2\nendop\n"
                                    "giSine ftgen 0, 0, 8192, 10, 1\n", &g), 0);
    ck_assert_uint_eq(g.statements, 1);
    ck_assert_int_eq(g.first_line, 12);
    ck_assert_uint_eq(g.tables, 0);
    ck_assert_int_eq(g.heavy, 0);

    ck_assert_int_eq(cs_global_scan("gi1 ftgen 0, 0, 2^22, 10, 1\n", &g), 0);
    ck_assert_uint_eq(g.tables, 1);
    ck_assert_int_eq(g.table_line, 1);
    ck_assert_int_eq(g.heavy, 1);
    ck_assert_int_eq(cs_global_scan("gi1 ftgen 0, 0, 2^14, 10, 1\n"
                                    "gi2 ftgenonce 0, 0, 4*4096, 7, 0, 16384, 1\n", &g), 0);
    ck_assert_uint_eq(g.tables, 0);
    ck_assert_int_eq(cs_global_scan("gi1 ftgen 0, 0, 2^14 + 1, 10, 1\n"           /* not literal */
                                    "gi2 ftgen 0, 0, giN, 10, 1\n"                /* a variable */
                                    "gi3 ftgen 0, 0, 0, 1, \"/x.wav\", 0, 0, 0\n"  /* a file */
                                    "gi4 ftgen 0, 0, 65537, 10, 1\n", &g), 0);
    ck_assert_uint_eq(g.tables, 4);
    ck_assert_int_eq(g.heavy, 1);

    /* Statements: up to CS_GLOBAL_STATEMENTS is fine, one more is heavy. */
    char code[CS_GLOBAL_STATEMENTS * 32 + 64];
    size_t len = 0;
    for (unsigned i = 0; i < CS_GLOBAL_STATEMENTS; i++)
        len += (size_t)snprintf(code + len, sizeof code - len, "gk%u init %u\n", i, i);
    ck_assert_int_eq(cs_global_scan(code, &g), 0);
    ck_assert_uint_eq(g.statements, CS_GLOBAL_STATEMENTS);
    ck_assert_int_eq(g.heavy, 0);
    snprintf(code + len, sizeof code - len, "gkmore init 1\n");
    ck_assert_int_eq(cs_global_scan(code, &g), 0);
    ck_assert_int_eq(g.heavy, 1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("csound");
    TCase *tc = tcase_create("engine");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_sine_440);
    tcase_add_test(tc, test_sample_exact_start);
    tcase_add_test(tc, test_chord_same_sample);
    tcase_add_test(tc, test_set_at_frame);
    tcase_add_test(tc, test_automation);
    tcase_add_test(tc, test_stop_at_frame);
    tcase_add_test(tc, test_stop_with_release);
    tcase_add_test(tc, test_stop_before_start);
    tcase_add_test(tc, test_dur);
    tcase_add_test(tc, test_bus_priorities);
    tcase_add_test(tc, test_bus_tap);
    tcase_add_test(tc, test_bus_sum_per_cycle);
    tcase_add_test(tc, test_control_bus);
    tcase_add_test(tc, test_table_from_wav);
    tcase_add_test(tc, test_big_table_built_off_the_audio_thread);
    tcase_add_test(tc, test_thousand_synths);
    tcase_add_test(tc, test_bad_input);
    tcase_add_test(tc, test_messages_and_raw_events);
    tcase_add_test(tc, test_raw_event_p3_and_length);
    tcase_add_test(tc, test_score_burst_exact_and_counted);
    tcase_add_test(tc, test_events_in_csounds_order);
    tcase_add_test(tc, test_instr_numbers);
    tcase_add_test(tc, test_render_csd);
    tcase_add_test(tc, test_identical_redefinition);
    tcase_add_test(tc, test_define_in_steps);
    tcase_add_test(tc, test_exits);
    tcase_add_test(tc, test_global_scan);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
