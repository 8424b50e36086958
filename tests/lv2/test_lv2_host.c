/* test_lv2_host.c - the LV2 host library (daemon/lv2) with real plugins
 * from Debian (mda-lv2, x42-plugins; scripts/setup.sh installs them) and
 * one built here (tests/lv2/needs_feature) that requires a feature sonod
 * does not provide.  The plugin runs through the VST2 layer's calls, as in
 * the daemon; the test thread plays the audio thread.  A missing plugin is
 * a failure, not a skip. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/lv2/lv2.h"
#include "daemon/rtcheck/rtcheck.h"
#include "daemon/vst/vst.h"
#include "daemon/vst/vst2_abi.h"
#include "tests/support/check_main.h"

#define RATE 48000.0
#define BLOCK 256

#define DX10 "http://drobilla.net/plugins/mda/DX10"
#define BALANCE "http://gareus.org/oss/lv2/balance"
#define ZEROCONV_MONO "http://gareus.org/oss/lv2/zeroconvolv#Mono"
#define NEEDS_FEATURE "urn:sonod:test:needs-feature"

static float in[2][BLOCK], out[2][BLOCK];

static vst_instance *load_cfg(const char *uri, bool offline, unsigned block, int *rc, char *err)
{
    vst_config cfg;
    vst_instance *inst = NULL;
    vst_config_init(&cfg);
    cfg.sample_rate = RATE;
    cfg.max_block = block;
    cfg.offline = offline;
    cfg.open_effect = lv2_open_effect;
    *rc = vst_load(uri, &cfg, &inst, err);
    return inst;
}

static vst_instance *load(const char *uri, bool offline)
{
    char err[VST_ERR_LEN] = "";
    int rc;
    vst_instance *inst = load_cfg(uri, offline, BLOCK, &rc, err);
    ck_assert_msg(rc == VST_OK, "%s: %s (install it: scripts/setup.sh)", uri, err);
    return inst;
}

/* One block on this thread, as the audio thread does it. */
static void block(vst_instance *inst, int64_t frame, unsigned nin, unsigned nout, unsigned n)
{
    vst_transport t = {.frame = frame, .sample_pos = (double)frame, .tempo = 120.0,
                       .time_sig_num = 4, .time_sig_den = 4, .playing = true};
    const float *ins[2] = {in[0], in[1]};
    float *outs[2] = {out[0], out[1]};
    /* Nothing but the calls inside the cycle: Check's asserts allocate. */
    RT_CYCLE_BEGIN();
    vst_rt_set_transport(inst, &t);
    int rc = vst_rt_process(inst, ins, nin, outs, nout, n);
    RT_CYCLE_END();
    ck_assert_int_eq(rc, VST_OK);
}

static double peak(const float *x, unsigned n)
{
    double p = 0;
    for (unsigned i = 0; i < n; i++)
        p = fmax(p, fabs(x[i]));
    return p;
}

static void sine(float amp, int64_t frame)
{
    for (unsigned i = 0; i < BLOCK; i++)
        in[0][i] = in[1][i] = amp * (float)sin(2 * M_PI * 440.0 * (double)(frame + i) / RATE);
}


#define TRANSPOSE "http://gareus.org/oss/lv2/midifilter#miditranspose"
#define STEPSEQ "http://gareus.org/oss/lv2/stepseq#s8n8"
#define TEST_GAIN "urn:sonod:test:gain"

static lv2_fx *fx_of(vst_instance *inst)
{
    lv2_fx *fx = lv2_of(vst_get_effect(inst));
    ck_assert_ptr_nonnull(fx);
    return fx;
}

static float norm(vst_instance *inst, const char *symbol, double plain)
{
    lv2_fx *fx = fx_of(inst);
    int i = lv2_param_by_symbol(fx, symbol);
    float v = -1;
    ck_assert_int_ge(i, 0);
    ck_assert_int_eq(lv2_param_normalise(fx, i, plain, &v), VST_OK);
    return v;
}

static void set_plain(vst_instance *inst, const char *symbol, double plain)
{
    char err[VST_ERR_LEN];
    int i = lv2_param_by_symbol(fx_of(inst), symbol);
    ck_assert_int_eq(vst_param_set(inst, i, norm(inst, symbol, plain), err), VST_OK);
}

static double output(vst_instance *inst, const char *symbol)
{
    lv2_fx *fx = fx_of(inst);
    lv2_param_info info;
    int i = lv2_output_by_symbol(fx, symbol);
    ck_assert_int_ge(i, 0);
    ck_assert_int_eq(lv2_output_get_info(fx, i, &info), VST_OK);
    return info.value;
}

static void silence_in(void) { memset(in, 0, sizeof in); }

static int first_nonzero(const float *x, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (x[i] != 0.0f)
            return (int)i;
    return -1;
}

/* An instrument: a note queued at frame 100 of a block sounds from that
 * frame on, silence before it; its description comes from the plugin. */
START_TEST(instrument_note_is_sample_exact)
{
    vst_instance *inst = load(DX10, true);
    const vst_info *info = vst_get_info(inst);
    ck_assert_str_eq(info->name, "MDA DX10");
    ck_assert(info->is_synth);
    ck_assert_int_eq(info->num_inputs, 0);
    ck_assert_int_eq(info->num_outputs, 2);
    ck_assert_str_eq(lv2_uri(fx_of(inst)), DX10);
    silence_in();
    block(inst, 0, 0, 2, BLOCK);
    ck_assert_int_eq(first_nonzero(out[0], BLOCK), -1);
    RT_CYCLE_BEGIN();
    int rc = vst_rt_queue_midi(inst, 100, vst_midi_note_on(0, 60, 100));
    RT_CYCLE_END();
    ck_assert_int_eq(rc, VST_OK);
    block(inst, BLOCK, 0, 2, BLOCK);
    ck_assert_int_eq(first_nonzero(out[0], BLOCK), 100);
    ck_assert(peak(out[0] + 100, BLOCK - 100) > 0.01);
    /* A call longer than the block the plugin was instantiated for is run
     * in pieces of at most that length; the note still lands exactly. */
    char err[VST_ERR_LEN];
    vst_unload(inst);
    inst = load(DX10, true);
    ck_assert_int_eq(vst_reconfigure(inst, 0, 2 * BLOCK, err), VST_OK);
    static float big[2][2 * BLOCK];
    float *outs[2] = {big[0], big[1]};
    vst_transport t = {.frame = 0, .tempo = 120, .time_sig_num = 4, .time_sig_den = 4};
    RT_CYCLE_BEGIN();
    vst_rt_set_transport(inst, &t);
    int rq = vst_rt_queue_midi(inst, BLOCK + 37, vst_midi_note_on(0, 64, 100));
    rc = vst_rt_process(inst, NULL, 0, outs, 2, 2 * BLOCK);
    RT_CYCLE_END();
    ck_assert_int_eq(rq, VST_OK);
    ck_assert_int_eq(rc, VST_OK);
    ck_assert_int_eq(first_nonzero(big[0], 2 * BLOCK), BLOCK + 37);
    ck_assert_uint_eq(lv2_take_overflow(fx_of(inst)), 0);
    vst_unload(inst);
}
END_TEST

/* An effect with a known transfer: x42's balance, trim +6.02 dB doubles
 * the signal, -20 dB makes it a tenth (after its gain smoothing). */
START_TEST(effect_gain_is_measured)
{
    vst_instance *inst = load(BALANCE, true);
    const double cases[][2] = {{20.0 * log10(2.0), 2.0}, {-20.0, 0.1}, {0.0, 1.0}};
    for (unsigned k = 0; k < 3; k++) {
        set_plain(inst, "trim", cases[k][0]);
        for (int b = 0; b < 200; b++) {   /* about one second */
            sine(0.25f, b * BLOCK);
            block(inst, b * BLOCK, 2, 2, BLOCK);
        }
        double ratio = peak(out[0], BLOCK) / peak(in[0], BLOCK);
        ck_assert_msg(fabs(ratio - cases[k][1]) < 0.01 * cases[k][1], "trim %g dB: gain %g, want %g",
                      cases[k][0], ratio, cases[k][1]);
        ck_assert(fabs(peak(out[1], BLOCK) / peak(in[1], BLOCK) - cases[k][1]) < 0.01 * cases[k][1]);
    }
    /* Parameters: control inputs by symbol, with ranges and units. */
    lv2_param_info pi;
    int trim = lv2_param_by_symbol(fx_of(inst), "trim");
    ck_assert_int_eq(lv2_param_get_info(fx_of(inst), trim, &pi), VST_OK);
    ck_assert(pi.min == -20.0f && pi.max == 20.0f);
    ck_assert_str_eq(pi.unit, "dB");
    float v;
    ck_assert_int_eq(lv2_param_normalise(fx_of(inst), trim, 21.0, &v), VST_E_PARAM_VALUE);
    char name[VST_STR_LEN];
    ck_assert_int_eq(vst_param_name(inst, trim, name, sizeof name, NULL), VST_OK);
    ck_assert_str_eq(name, "Trim/Gain [dB]");
    vst_unload(inst);
}
END_TEST

/* The worker, in realtime mode: zeroconvolv loads its impulse response
 * (a preset's file) on the worker thread, scheduled from run(); until the
 * response reaches the audio thread it is silent, afterwards the delta IR
 * passes the input through unchanged. */
START_TEST(worker_loads_an_impulse_response)
{
    vst_instance *inst = load(ZEROCONV_MONO, false);
    char err[VST_ERR_LEN];
    ck_assert(lv2_has_worker(fx_of(inst)));
    for (int b = 0; b < 4; b++) {
        sine(0.5f, b * BLOCK);
        block(inst, b * BLOCK, 1, 1, BLOCK);
        ck_assert_msg(peak(out[0], BLOCK) == 0.0, "sound before the IR was loaded");
    }
    ck_assert_int_eq(vst_program_count(inst), 1);
    ck_assert_int_eq(vst_program_set(inst, 0, err), VST_OK);
    bool passed = false;
    for (int b = 4; b < 2000 && !passed; b++) {
        sine(0.5f, b * BLOCK);
        block(inst, b * BLOCK, 1, 1, BLOCK);
        /* The delta IR delays by the latency the plugin reports. */
        double lat = output(inst, "latency"), d = 0;
        for (unsigned i = 0; i < BLOCK; i++)
            d = fmax(d, fabs(out[0][i] - 0.5 * sin(2 * M_PI * 440.0 *
                                                   ((double)(b * BLOCK + (int)i) - lat) / RATE)));
        passed = lat >= 0 && lat < BLOCK && d < 1e-4;
        if (!passed)
            usleep(1000);   /* the worker thread's turn */
    }
    ck_assert_msg(passed, "the impulse response never took effect");
    ck_assert_uint_eq(lv2_take_worker_dropped(fx_of(inst)), 0);
    vst_unload(inst);
}
END_TEST

/* Presets as programs: DX10's 32, by name; selecting one changes the
 * parameters to the preset's values. */
START_TEST(presets_are_programs)
{
    vst_instance *inst = load(DX10, true);
    char name[VST_STR_LEN], err[VST_ERR_LEN];
    ck_assert_int_eq(vst_program_count(inst), 32);
    bool differ = false;
    float a[32], b[32];
    int np = vst_param_count(inst);
    ck_assert_int_le(np, 32);
    ck_assert_int_eq(vst_program_set(inst, 0, err), VST_OK);
    for (int i = 0; i < np; i++)
        vst_param_get(inst, i, &a[i], NULL);
    ck_assert_int_eq(vst_program_set(inst, 5, err), VST_OK);
    ck_assert_int_eq(vst_program_get(inst), 5);
    ck_assert_int_eq(vst_program_name(inst, 5, name, sizeof name, NULL, err), VST_OK);
    ck_assert_str_eq(name, "E.Piano Pad");
    for (int i = 0; i < np; i++) {
        vst_param_get(inst, i, &b[i], NULL);
        differ = differ || fabsf(a[i] - b[i]) > 1e-6f;
    }
    ck_assert_msg(differ, "selecting a preset changed no parameter");
    vst_unload(inst);
}
END_TEST

/* State: the plugin's own state as Turtle, restored into a changed
 * instance and into a fresh one. */
START_TEST(state_round_trip)
{
    vst_instance *inst = load(BALANCE, true);
    char err[VST_ERR_LEN];
    void *data;
    size_t len;
    vst_state_kind kind;
    set_plain(inst, "trim", -7.5);
    set_plain(inst, "balance", 0.25);
    ck_assert_int_eq(vst_state_get(inst, &data, &len, &kind, err), VST_OK);
    ck_assert_int_eq(kind, VST_STATE_CHUNK);
    ck_assert_ptr_nonnull(memmem(data, len, "trim", 4));
    set_plain(inst, "trim", 3.0);
    ck_assert_int_eq(vst_state_set(inst, data, len, err), VST_OK);
    lv2_param_info pi;
    lv2_param_get_info(fx_of(inst), lv2_param_by_symbol(fx_of(inst), "trim"), &pi);
    ck_assert_float_eq_tol(pi.value, -7.5f, 1e-4f);
    vst_unload(inst);
    inst = load(BALANCE, true);
    ck_assert_int_eq(vst_state_set(inst, data, len, err), VST_OK);
    lv2_param_get_info(fx_of(inst), lv2_param_by_symbol(fx_of(inst), "balance"), &pi);
    ck_assert_float_eq_tol(pi.value, 0.25f, 1e-4f);
    /* Another plugin's state is refused: it changes nothing. */
    vst_instance *other = load(DX10, true);
    void *odata;
    size_t olen;
    ck_assert_int_eq(vst_state_get(other, &odata, &olen, &kind, err), VST_OK);
    vst_state_set(inst, odata, olen, err);
    lv2_param_get_info(fx_of(inst), lv2_param_by_symbol(fx_of(inst), "balance"), &pi);
    ck_assert_float_eq_tol(pi.value, 0.25f, 1e-4f);
    free(odata);
    free(data);
    vst_unload(other);
    vst_unload(inst);
}
END_TEST

/* MIDI in and out through atom sequences, with no fixed cap: 4000 notes
 * in one block (after the buffers grew) all come out transposed, at their
 * frames. */
START_TEST(midi_through_atoms_without_a_cap)
{
    vst_config cfg;
    vst_instance *inst = NULL;
    char err[VST_ERR_LEN] = "";
    vst_config_init(&cfg);
    cfg.sample_rate = RATE;
    cfg.max_block = BLOCK;
    cfg.offline = true;
    cfg.event_capacity = 16;
    cfg.midi_out_capacity = 8192;
    cfg.open_effect = lv2_open_effect;
    ck_assert_msg(vst_load(TRANSPOSE, &cfg, &inst, err) == VST_OK, "%s", err);
    set_plain(inst, "transpose", 5);
    /* Grow both buffers as the daemon does (plugin_ctl_reserve_events). */
    vst_event_buf *bigger = vst_event_buf_new(4096);
    ck_assert_int_eq(lv2_reserve_events(fx_of(inst), 4096), VST_OK);
    int refused = 0;
    RT_CYCLE_BEGIN();
    vst_event_buf *old = vst_rt_swap_events(inst, bigger);
    for (int i = 0; i < 4000; i++)
        refused += vst_rt_queue_midi(inst, i % BLOCK,
                                     vst_midi_note_on(0, 40 + i % 50, 1 + i % 100)) != VST_OK;
    RT_CYCLE_END();
    ck_assert_int_eq(refused, 0);
    vst_event_buf_free(old);
    block(inst, 0, 0, 0, BLOCK);
    ck_assert_uint_eq(lv2_take_overflow(fx_of(inst)), 0);
    ck_assert_uint_eq(lv2_reclaim(fx_of(inst)), 1);   /* the first atom buffer came back */
    static vst_midi_out mo[8192];
    unsigned got = vst_take_midi_out(inst, mo, 8192), ok = 0;
    ck_assert_uint_eq(got, 4000);
    int last = -1;
    for (unsigned i = 0; i < got; i++) {
        ck_assert_int_ge(mo[i].delta, last);   /* in frame order */
        last = mo[i].delta;
        ok += mo[i].data[0] == 0x90 && mo[i].data[1] >= 45 && mo[i].data[1] < 95;
    }
    ck_assert_uint_eq(ok, 4000);
    ck_assert_uint_eq(vst_take_midi_out_dropped(inst), 0);
    vst_unload(inst);
}
END_TEST

/* Time position: x42's step sequencer reports the tempo it was told
 * (control output hostbpm), also after a change in the middle of a
 * block split into several calls. */
START_TEST(time_position_reaches_the_plugin)
{
    vst_instance *inst = load(STEPSEQ, true);
    set_plain(inst, "sync", 1);
    vst_transport t = {.tempo = 133.0, .time_sig_num = 4, .time_sig_den = 4, .playing = true};
    for (int b = 0; b < 4; b++) {
        t.frame = b * BLOCK;
        t.sample_pos = (double)t.frame;
        t.ppq_pos = t.sample_pos / RATE * t.tempo / 60.0;
        RT_CYCLE_BEGIN();
        vst_rt_set_transport(inst, &t);
        vst_rt_process(inst, NULL, 0, NULL, 0, BLOCK / 2);
        vst_rt_process(inst, NULL, 0, NULL, 0, BLOCK / 2);
        RT_CYCLE_END();
    }
    ck_assert_float_eq_tol(output(inst, "hostbpm"), 133.0, 1e-3);
    t.tempo = 97.0;
    RT_CYCLE_BEGIN();
    vst_rt_set_transport(inst, &t);
    vst_rt_process(inst, NULL, 0, NULL, 0, BLOCK);
    RT_CYCLE_END();
    ck_assert_float_eq_tol(output(inst, "hostbpm"), 97.0, 1e-3);
    vst_unload(inst);
}
END_TEST

/* A plugin requiring a feature sonod lacks is refused before any of its
 * code runs, naming the feature; its neighbour in the bundle loads. */
START_TEST(missing_feature_is_refused)
{
    char err[VST_ERR_LEN] = "", uri[256];
    int rc;
    vst_instance *inst = load_cfg(NEEDS_FEATURE, true, BLOCK, &rc, err);
    ck_assert_ptr_null(inst);
    ck_assert_int_eq(rc, VST_E_UNSUPPORTED);
    ck_assert_msg(strstr(err, "urn:sonod:test:no-host-has-this") != NULL, "%s", err);
    ck_assert_str_eq(vst_status_name(rc), "unsupported");
    /* A bundle with two plugins must be loaded by URI. */
    const char *bundle = getenv("SONOD_TEST_BUNDLE");
    ck_assert_ptr_nonnull(bundle);
    ck_assert_int_eq(lv2_resolve(bundle, uri, sizeof uri, err), VST_E_INVALID);
    ck_assert_int_eq(lv2_resolve("urn:sonod:test:nothing", uri, sizeof uri, err), VST_E_NOT_FOUND);
    ck_assert_int_eq(lv2_resolve(TEST_GAIN, uri, sizeof uri, err), VST_OK);
    inst = load(TEST_GAIN, true);
    set_plain(inst, "gain", 0.5);
    sine(0.8f, 0);
    block(inst, 0, 1, 1, BLOCK);
    for (unsigned i = 0; i < BLOCK; i++)
        ck_assert_float_eq(out[0][i], in[0][i] * 0.5f);
    vst_unload(inst);
}
END_TEST

/* Control outputs: x42's true-peak meter reports the level of a sine of
 * amplitude 0.5 (-6.02 dBFS) on its outputs, and lv2_take_output_changes
 * names what moved since the last look. */
START_TEST(control_outputs_are_readable)
{
    vst_instance *inst = load("http://gareus.org/oss/lv2/meters#dBTPmono", true);
    lv2_output_change oc[8];
    for (int b = 0; b < 100; b++) {
        sine(0.5f, b * BLOCK);
        block(inst, b * BLOCK, 1, 1, BLOCK);
    }
    ck_assert_float_eq_tol(output(inst, "peak"), 0.5, 0.005);
    ck_assert_float_eq_tol(output(inst, "level1"), 0.5, 0.01);
    unsigned got = lv2_take_output_changes(fx_of(inst), oc, 8);
    ck_assert_uint_gt(got, 0);
    ck_assert_uint_eq(lv2_take_output_changes(fx_of(inst), oc, 8), 0);   /* nothing new */
    vst_unload(inst);
}
END_TEST

/* patch:Set: x42's convoLV2 takes its impulse response as a property (a
 * file path); the audio thread hands the message to run(), the plugin
 * loads the file on its worker thread, and from then on the delta IR
 * (zeroconvolv's, 64 samples) passes the input through at the IR channel
 * gain convoLV2 applies by default to a mono file (0.5: its log says
 * "gain:+0.500"), with no delay. */
START_TEST(property_sets_a_file)
{
    vst_instance *inst = load("http://gareus.org/oss/lv2/convoLV2#Mono", false);
    lv2_fx *fx = fx_of(inst);
    char err[VST_ERR_LEN];
    lv2_property pr;
    int i = lv2_property_find(fx, "http://gareus.org/oss/lv2/convoLV2#impulse");
    ck_assert_int_ge(i, 0);
    ck_assert_int_eq(lv2_property_get(fx, i, &pr), VST_OK);
    ck_assert_str_eq(pr.range, "http://lv2plug.in/ns/ext/atom#Path");
    ck_assert_int_eq(lv2_patch_set(fx, i, NULL, 1.0, err), VST_E_PARAM_VALUE);   /* not a path */
    /* The plugin sets itself up through its worker first, and ignores a
     * Set until that is done: let it settle. */
    for (int b = 0; b < 40; b++) {
        sine(0.5f, b * BLOCK);
        block(inst, b * BLOCK, 1, 1, BLOCK);
        ck_assert_msg(peak(out[0], BLOCK) == 0.0, "sound before the IR was set");
        usleep(2000);
    }
    ck_assert_int_eq(lv2_patch_set(fx, i, "/usr/lib/lv2/zeroconvo.lv2/ir/delta-48k.wav", 0, err),
                     VST_OK);
    bool passed = false;
    for (int b = 40; b < 2000 && !passed; b++) {
        sine(0.5f, b * BLOCK);
        block(inst, b * BLOCK, 1, 1, BLOCK);
        double d = 0;
        for (unsigned k = 0; k < BLOCK; k++)
            d = fmax(d, fabs(out[0][k] - 0.5 * in[0][k]));
        passed = d < 1e-4 && peak(out[0], BLOCK) > 0.24;
        if (!passed)
            usleep(1000);
    }
    ck_assert_msg(passed, "the impulse response set by patch:Set never took effect");
    /* The state now names the file: it survives a session. */
    void *data;
    size_t len;
    vst_state_kind kind;
    ck_assert_int_eq(vst_state_get(inst, &data, &len, &kind, err), VST_OK);
    ck_assert_ptr_nonnull(memmem(data, len, "delta-48k.wav", 13));
    free(data);
    vst_unload(inst);
}
END_TEST

struct seen {
    unsigned lv2, refused;
    bool dx10, needs;
};

static void scan_cb(void *ud, const char *uri, const char *bundle, int status, const vst_info *info,
                    const char *err)
{
    struct seen *s = ud;
    (void)bundle;
    s->lv2++;
    if (strcmp(uri, DX10) == 0)
        s->dx10 = status == VST_OK && info->is_synth && info->num_programs == 32;
    if (strcmp(uri, NEEDS_FEATURE) == 0)
        s->needs = status == VST_E_UNSUPPORTED && err && strstr(err, "no-host-has-this");
}

/* The scan lists the world's plugins with what they are, and says which
 * cannot load here, without running any. */
/* A state's files in a session (lv2_files.c): a file inside the session's
 * folder becomes a relative IRI, one elsewhere (outside the LV2 path) is
 * copied beside the session file first, one in the LV2 path stays; IRIs
 * inside string literals and comments are left alone; loading from another
 * folder reads the relative ones against it. */
START_TEST(state_files_in_a_session)
{
    char dir[] = "/tmp/sonod-lv2files-XXXXXX", other[] = "/tmp/sonod-lv2files-o-XXXXXX";
    char in_dir[300], outside[300], session[300], state[4096], err[VST_ERR_LEN], copy[400];
    char *out = NULL, *back = NULL;
    size_t len, blen;
    FILE *f;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_ptr_nonnull(mkdtemp(other));
    snprintf(in_dir, sizeof in_dir, "%s/take 1.wav", dir);
    snprintf(outside, sizeof outside, "%s/ir.wav", other);
    snprintf(session, sizeof session, "%s/s.sonod", dir);
    ck_assert_ptr_nonnull(f = fopen(in_dir, "w"));
    fputs("a", f);
    fclose(f);
    ck_assert_ptr_nonnull(f = fopen(outside, "w"));
    fputs("bb", f);
    fclose(f);
    snprintf(state, sizeof state,
             "<urn:sonod:state> a <http://lv2plug.in/ns/ext/presets#Preset> ;\n"
             "  # a comment <file://%s>\n"
             "  <urn:x:a> <file://%s/take%%201.wav> ;\n"
             "  <urn:x:b> <file://%s> ;\n"
             "  <urn:x:c> <file:///usr/lib/lv2/zeroconvo.lv2/ir/delta-48k.wav> ;\n"
             "  <urn:x:d> \"\"\"text <file://%s> \\\" \"\"\" .\n",
             outside, dir, outside, outside);
    ck_assert_int_eq(lv2_state_to_session(state, strlen(state), session, 7, &out, &len, err),
                     VST_OK);
    ck_assert_uint_eq(strlen(out), len);
    ck_assert_msg(strstr(out, "<urn:x:a> <take%201.wav>") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "<urn:x:b> <s.sonod.files/node-7/ir.wav>") != NULL, "%s", out);
    ck_assert(strstr(out, "<file:///usr/lib/lv2/zeroconvo.lv2/ir/delta-48k.wav>") != NULL);
    /* The comment and the literal are as they were. */
    snprintf(copy, sizeof copy, "# a comment <file://%s>", outside);
    ck_assert(strstr(out, copy) != NULL);
    snprintf(copy, sizeof copy, "text <file://%s>", outside);
    ck_assert(strstr(out, copy) != NULL);
    snprintf(copy, sizeof copy, "%s.files/node-7/ir.wav", session);
    ck_assert_int_eq(access(copy, R_OK), 0);
    /* Read back from the other folder: relative IRIs are found there. */
    snprintf(session, sizeof session, "%s/moved.sonod", other);
    ck_assert_int_eq(lv2_state_from_session(out, len, session, &back, &blen, err), VST_OK);
    snprintf(copy, sizeof copy, "<urn:x:a> <file://%s/take%%201.wav>", other);
    ck_assert_msg(strstr(back, copy) != NULL, "%s", back);
    snprintf(copy, sizeof copy, "<urn:x:b> <file://%s/s.sonod.files/node-7/ir.wav>", other);
    ck_assert_msg(strstr(back, copy) != NULL, "%s", back);
    ck_assert(strstr(back, "<urn:sonod:state>") != NULL);
    free(out);
    free(back);
    snprintf(copy, sizeof copy, "rm -rf '%s' '%s'", dir, other);
    ck_assert_int_eq(system(copy), 0);
}
END_TEST

START_TEST(scan_lists_the_world)
{
    struct seen s = {0};
    ck_assert_uint_eq(lv2_scan(scan_cb, &s), s.lv2);
    ck_assert_uint_gt(s.lv2, 50);
    ck_assert(s.dx10);
    ck_assert(s.needs);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("lv2-host");
    TCase *tc = tcase_create("lv2");
    tcase_add_test(tc, instrument_note_is_sample_exact);
    tcase_add_test(tc, effect_gain_is_measured);
    tcase_add_test(tc, worker_loads_an_impulse_response);
    tcase_add_test(tc, presets_are_programs);
    tcase_add_test(tc, state_round_trip);
    tcase_add_test(tc, midi_through_atoms_without_a_cap);
    tcase_add_test(tc, time_position_reaches_the_plugin);
    tcase_add_test(tc, missing_feature_is_refused);
    tcase_add_test(tc, scan_lists_the_world);
    tcase_add_test(tc, control_outputs_are_readable);
    tcase_add_test(tc, property_sets_a_file);
    tcase_add_test(tc, state_files_in_a_session);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(suite)
