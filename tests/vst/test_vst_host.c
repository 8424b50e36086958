/* test_vst_host.c - the VST2 host library against the test plugins built
 * by tests/vst/meson.build (testplug.c variants, noentry.c). */
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/vst/vst_finite_rt.h"
#include "daemon/vst/vst_remote.h"
#include "tests/vst/vst_test_util.h"

#define RATE 44100.0
#define BLOCK 256

static float in0[BLOCK], in1[BLOCK], out0[BLOCK], out1[BLOCK], out2[BLOCK];

static void fill_inputs(void)
{
    for (int i = 0; i < BLOCK; i++) {
        in0[i] = (float)sin(i * 0.05);
        in1[i] = (float)(0.5 * cos(i * 0.03));
    }
}

static vst_instance *load_testplug(void)
{
    return vt_load(vt_env("TESTPLUG"), RATE, BLOCK, 0);
}

/* ---------------------------------------------------------------- */
/* Loading and the host callback                                    */

START_TEST(test_info)
{
    vst_instance *inst = load_testplug();
    const vst_info *info = vst_get_info(inst);
    ck_assert_str_eq(info->name, "sonod test plugin");
    ck_assert_str_eq(info->vendor, "sonod tests");
    ck_assert_str_eq(info->product, "testplug");
    ck_assert_int_eq(info->unique_id, TP_UNIQUE_ID);
    ck_assert_str_eq(info->unique_id_str, "sntp");
    ck_assert_int_eq(info->version, 3);
    ck_assert_int_eq(info->vendor_version, 7);
    ck_assert_int_eq(info->vst_version, 2400);
    ck_assert_int_eq(info->category, kPlugCategEffect);
    ck_assert_str_eq(vst_category_name(info->category), "effect");
    ck_assert_int_eq(info->num_inputs, 2);
    ck_assert_int_eq(info->num_outputs, 2);
    ck_assert_int_eq(info->num_params, TP_NUM_PARAMS);
    ck_assert_int_eq(info->num_programs, TP_NUM_PROGRAMS);
    ck_assert_int_eq(info->latency, 5);
    ck_assert_int_eq(info->flags, effFlagsCanReplacing);
    ck_assert(!info->is_synth);
    ck_assert(!info->can_double);
    ck_assert(!vst_uses_double(inst));
    /* Host context lives in resvd1 and nowhere else in the AEffect. */
    AEffect *e = vst_get_effect(inst);
    ck_assert_ptr_eq((void *)e->resvd1, inst);
    ck_assert_ptr_null(e->user);
    vst_unload(inst);
}
END_TEST

START_TEST(test_host_answers)
{
    vst_instance *inst = load_testplug();
    tp_stats *st = vt_stats(inst);
    /* Asked with a NULL effect inside the entry function. */
    ck_assert_int_eq(st->entry_version, 2400);
    ck_assert_str_eq(st->entry_product, "sonod");
    ck_assert_str_eq(st->entry_vendor, "sonod");
    ck_assert_int_eq(st->entry_vendor_version, 0x0100);
    ck_assert_int_eq(st->entry_sample_rate, 44100);
    ck_assert_int_eq(st->entry_block_size, BLOCK);
    /* Asked during effOpen. */
    ck_assert_int_eq(st->open_sample_rate, 44100);
    ck_assert_int_eq(st->open_block_size, BLOCK);
    ck_assert_int_eq(st->open_process_level, kVstProcessLevelUser);
    ck_assert_int_eq(st->can_do_send_events, 1);
    ck_assert_int_eq(st->can_do_receive_midi, 1);
    ck_assert_int_eq(st->can_do_time_info, 1);
    ck_assert_int_eq(st->can_do_size_window, -1);
    ck_assert_int_eq(st->can_do_bogus, 0);
    ck_assert_int_eq(st->unknown_opcode, 0);
    ck_assert_int_eq(st->current_id, 0);
    ck_assert(st->sample_rate == 44100.0f);
    ck_assert_int_eq(st->block_size, BLOCK);
    /* Bogus automation indices sent during effOpen were ignored. */
    vst_param_change ch[4];
    ck_assert_uint_eq(vst_take_param_changes(inst, ch, 4), 0);
    vst_unload(inst);
}
END_TEST

START_TEST(test_call_order)
{
    const char *path = vt_env("TESTPLUG");
    vt_global_log_reset(path);
    vst_instance *inst = load_testplug();
    ck_assert_str_eq(vt_stats(inst)->calls, "RKOMS");
    vst_unload(inst);
    ck_assert_str_eq(vt_global_log(path), "RKOMSsmC");
}
END_TEST

START_TEST(test_call_order_double)
{
    const char *path = vt_env("TESTPLUG_DOUBLE");
    vt_global_log_reset(path);
    vst_instance *inst = vt_load(path, RATE, BLOCK, 0);
    ck_assert(vst_get_info(inst)->can_double);
    ck_assert(vst_uses_double(inst));
    ck_assert_str_eq(vt_stats(inst)->calls, "RKOPMS");
    ck_assert_int_eq(vt_stats(inst)->precision, kVstProcessPrecision64);
    vst_unload(inst);
    ck_assert_str_eq(vt_global_log(path), "RKOPMSsmC");

    /* float_only: precision is set to 32 bits and processReplacing used. */
    vst_config cfg;
    vst_config_init(&cfg);
    cfg.float_only = true;
    inst = vt_load_cfg(path, &cfg);
    ck_assert(!vst_uses_double(inst));
    ck_assert_int_eq(vt_stats(inst)->precision, kVstProcessPrecision32);
    vst_unload(inst);
}
END_TEST

START_TEST(test_main_fallback)
{
    /* testplug_mono exports only "main". */
    vst_instance *inst = vt_load(vt_env("TESTPLUG_MONO"), RATE, BLOCK, 0);
    ck_assert_int_eq(vst_get_info(inst)->num_inputs, 1);
    ck_assert_int_eq(vst_get_info(inst)->num_outputs, 1);
    vst_unload(inst);
}
END_TEST

START_TEST(test_two_instances)
{
    vst_instance *a = load_testplug();
    vst_instance *b = load_testplug();
    ck_assert_ptr_ne(vst_get_effect(a), vst_get_effect(b));
    ck_assert_int_eq(vst_param_set(a, 0, 0.9f, NULL), VST_OK);
    float va, vb;
    vst_param_get(a, 0, &va, NULL);
    vst_param_get(b, 0, &vb, NULL);
    ck_assert(va == 0.9f);
    ck_assert(vb == 0.5f);
    /* Automation lands in the instance that sent it. */
    vst_param_set(b, 1, 0.25f, NULL);
    vst_param_change ch[4];
    ck_assert_uint_eq(vst_take_param_changes(a, ch, 4), 0);
    ck_assert_uint_eq(vst_take_param_changes(b, ch, 4), 1);
    vst_unload(a);
    vst_unload(b);
}
END_TEST

START_TEST(test_reconfigure)
{
    vst_instance *inst = load_testplug();
    char err[VST_ERR_LEN];
    ck_assert_int_eq(vst_reconfigure(inst, 96000.0, 512, err), VST_OK);
    tp_stats *st = vt_stats(inst);
    ck_assert_str_eq(st->calls, "RKOMSsmRKMS");
    ck_assert(st->sample_rate == 96000.0f);
    ck_assert_int_eq(st->block_size, 512);
    ck_assert_uint_eq(vst_get_max_block(inst), 512);
    /* The bigger block now works. */
    float big0[512] = {0}, big1[512] = {0}, o0[512], o1[512];
    const float *in[2] = {big0, big1};
    float *out[2] = {o0, o1};
    ck_assert_int_eq(vt_block(inst, 0, in, 2, out, 2, 512), VST_OK);
    ck_assert_int_eq(st->last_nframes, 512);
    vst_unload(inst);
}
END_TEST

/* A new block size alone (what sonod does when JACK's period grows):
 * suspend, effSetBlockSize, resume; the sample rate is not sent again. */
START_TEST(test_reconfigure_block_only)
{
    vst_instance *inst = load_testplug();
    char err[VST_ERR_LEN];
    ck_assert_uint_eq(vst_rt_max_block(inst), BLOCK);
    ck_assert_int_eq(vst_reconfigure(inst, 0.0, 1024, err), VST_OK);
    tp_stats *st = vt_stats(inst);
    ck_assert_str_eq(st->calls, "RKOMSsmKMS");
    ck_assert_int_eq(st->block_size, 1024);
    ck_assert_uint_eq(vst_rt_max_block(inst), 1024);
    static float i0[1024], i1[1024], o0[1024], o1[1024];
    const float *in[2] = {i0, i1};
    float *out[2] = {o0, o1};
    ck_assert_int_eq(vt_block(inst, 0, in, 2, out, 2, 1024), VST_OK);
    ck_assert_int_eq(st->last_nframes, 1024);
    ck_assert_int_eq(vt_block(inst, 0, in, 2, out, 2, 1025), VST_E_BLOCK);
    vst_unload(inst);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Bad input                                                        */

static void expect_load_error(const char *path, int code, const char *needle)
{
    vst_instance *inst = (vst_instance *)0x1;
    char err[VST_ERR_LEN] = "";
    int rc = vst_load(path, NULL, &inst, err);
    ck_assert_msg(rc == code, "%s: expected %s, got %s (%s)", path, vst_status_name(code),
                  vst_status_name(rc), err);
    ck_assert_ptr_null(inst);
    ck_assert_msg(strstr(err, needle) != NULL, "error \"%s\" lacks \"%s\"", err, needle);
}

START_TEST(test_load_errors)
{
    expect_load_error("/nonexistent/dir/plugin.so", VST_E_NOT_FOUND, "no plugin file");
    expect_load_error(vt_env("NOT_A_PLUGIN"), VST_E_NOT_SO, "not a shared object");
    expect_load_error("/tmp", VST_E_NOT_SO, "not a regular file");
    expect_load_error(vt_env("TESTPLUG_NOENTRY"), VST_E_NO_ENTRY,
                      "neither VSTPluginMain nor main");
    expect_load_error(vt_env("TESTPLUG_BADMAGIC"), VST_E_BAD_MAGIC, "0x12345678");
    expect_load_error(vt_env("TESTPLUG_NULL"), VST_E_NULL_EFFECT, "returned no effect");
    ck_assert_str_eq(vst_status_name(VST_E_BAD_MAGIC), "bad_magic");
    /* And the process is alive and can still load a good plugin. */
    vst_instance *inst = load_testplug();
    vst_unload(inst);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Parameters and programs                                          */

START_TEST(test_params)
{
    vst_instance *inst = load_testplug();
    char buf[VST_STR_LEN], err[VST_ERR_LEN];
    float v;
    ck_assert_int_eq(vst_param_count(inst), 3);
    ck_assert_int_eq(vst_param_name(inst, 0, buf, sizeof buf, err), VST_OK);
    ck_assert_str_eq(buf, "Gain");
    ck_assert_int_eq(vst_param_name(inst, 1, buf, sizeof buf, err), VST_OK);
    ck_assert_str_eq(buf, "Echo");
    /* 40 characters into a buffer documented as 8: must arrive whole. */
    ck_assert_int_eq(vst_param_name(inst, 2, buf, sizeof buf, err), VST_OK);
    ck_assert_str_eq(buf, "A Parameter With A Very Long Name Indeed");
    /* Truncated to the caller's buffer. */
    char small[6];
    ck_assert_int_eq(vst_param_name(inst, 2, small, sizeof small, err), VST_OK);
    ck_assert_str_eq(small, "A Par");
    ck_assert_int_eq(vst_param_label(inst, 0, buf, sizeof buf, err), VST_OK);
    ck_assert_str_eq(buf, "x");
    ck_assert_int_eq(vst_param_display(inst, 0, buf, sizeof buf, err), VST_OK);
    ck_assert_str_eq(buf, "1.000");
    ck_assert_int_eq(vst_param_get(inst, 0, &v, err), VST_OK);
    ck_assert(v == 0.5f);

    ck_assert_int_eq(vst_param_set(inst, 0, 0.25f, err), VST_OK);
    vst_param_get(inst, 0, &v, err);
    ck_assert(v == 0.25f);
    vst_param_display(inst, 0, buf, sizeof buf, err);
    ck_assert_str_eq(buf, "0.500");
    ck_assert_int_eq(vst_param_set(inst, 0, 0.0f, err), VST_OK);
    ck_assert_int_eq(vst_param_set(inst, 0, 1.0f, err), VST_OK);

    ck_assert_int_eq(vst_param_find(inst, "Echo", err), 1);
    ck_assert_int_eq(vst_param_find(inst, "gain", err), 0);
    vst_unload(inst);
}
END_TEST

/* Descriptions: long names from effGetParameterProperties made unique,
 * short names kept, ranges and steps only with their flags, Latin-1
 * converted; a name cut to a buffer is cut between characters. */
START_TEST(test_param_descriptions)
{
    vst_instance *inst = vt_load(vt_env("TESTPLUG_PROPS"), RATE, BLOCK, 0);
    char buf[VST_STR_LEN], err[VST_ERR_LEN], small[5];
    bool known = false;

    ck_assert_int_eq(vst_params_prepare(inst, err), VST_OK);
    const vst_param_info *p0 = vst_param_info_get(inst, 0);
    const vst_param_info *p1 = vst_param_info_get(inst, 1);
    const vst_param_info *p2 = vst_param_info_get(inst, 2);
    ck_assert_ptr_nonnull(p0);
    ck_assert_ptr_null(vst_param_info_get(inst, 3));
    ck_assert_ptr_null(vst_param_info_get(inst, -1));
    ck_assert_str_eq(p0->name, "Drive");
    ck_assert_str_eq(p1->name, "Drive #2");
    ck_assert_str_eq(p2->name, "drive #3");
    ck_assert_str_eq(p0->short_name, "Gain");
    ck_assert_str_eq(p1->short_name, "\xc3\x89" "cho");
    ck_assert(p0->has_properties && p0->has_range && !p0->has_step && !p0->is_switch);
    ck_assert_int_eq(p0->min, -24);
    ck_assert_int_eq(p0->max, 24);
    ck_assert_str_eq(p0->category, "\xc3\x89tage");
    ck_assert(p1->has_step && !p1->has_range);
    ck_assert(fabsf(p1->step - 0.01f) < 1e-6f && fabsf(p1->large_step - 0.1f) < 1e-6f);
    ck_assert_ptr_null(p1->category);
    ck_assert(p2->is_switch && p2->has_int_step && !p2->automatable && p0->automatable);
    ck_assert_int_eq(vst_param_name(inst, 1, buf, sizeof buf, err), VST_OK);
    ck_assert_str_eq(buf, "Drive #2");
    ck_assert_int_eq(vst_param_find(inst, "drive #2", err), 1);
    ck_assert_int_eq(vst_param_find(inst, "\xc3\x89" "cho", err), 1);
    ck_assert_int_eq(vst_param_find(inst, "GAIN", err), 0);
    ck_assert_int_eq(vst_param_find(inst, "Drive #4", err), VST_E_PARAM_NAME);
    ck_assert_int_eq(vst_param_label(inst, 0, buf, sizeof buf, err), VST_OK);
    ck_assert_str_eq(buf, "\xc2\xb0");
    /* "Cl\xe4r" is "Cl\xc3\xa4r" (5 bytes): 4 bytes of room keep "Cl". */
    ck_assert_int_eq(vst_program_name(inst, 1, buf, sizeof buf, &known, err), VST_OK);
    ck_assert_str_eq(buf, "Cl\xc3\xa4r");
    ck_assert(known);
    ck_assert_int_eq(vst_program_name(inst, 1, small, 4, &known, err), VST_OK);
    ck_assert_str_eq(small, "Cl");
    ck_assert_str_eq(vst_get_info(inst)->name, "B\xc3\xa4ss test plugin");
    vst_unload(inst);

    /* A plugin without properties: the long name is effGetParamName's. */
    inst = load_testplug();
    p2 = vst_param_info_get(inst, 2);
    ck_assert(!p2->has_properties && !p2->has_range && p2->category == NULL);
    ck_assert_str_eq(p2->name, "A Parameter With A Very Long Name Indeed");
    ck_assert_str_eq(p2->short_name, p2->name);
    vst_unload(inst);
}
END_TEST

START_TEST(test_param_errors)
{
    vst_instance *inst = load_testplug();
    char buf[VST_STR_LEN], err[VST_ERR_LEN];
    float v = 42.0f;
    ck_assert_int_eq(vst_param_name(inst, 3, buf, sizeof buf, err), VST_E_PARAM_INDEX);
    ck_assert_ptr_nonnull(strstr(err, "index 3 out of range (plugin has 3)"));
    ck_assert_int_eq(vst_param_get(inst, -1, &v, err), VST_E_PARAM_INDEX);
    ck_assert(v == 42.0f);
    ck_assert_int_eq(vst_param_set(inst, 99, 0.5f, err), VST_E_PARAM_INDEX);
    ck_assert_int_eq(vst_param_display(inst, 3, buf, sizeof buf, err), VST_E_PARAM_INDEX);
    ck_assert_int_eq(vst_param_find(inst, "Nope", err), VST_E_PARAM_NAME);
    ck_assert_str_eq(err, "no parameter named \"Nope\"");
    ck_assert_int_eq(vst_param_find(inst, NULL, err), VST_E_PARAM_NAME);

    ck_assert_int_eq(vst_param_set(inst, 0, 1.5f, err), VST_E_PARAM_VALUE);
    ck_assert_ptr_nonnull(strstr(err, "out of range"));
    ck_assert_int_eq(vst_param_set(inst, 0, -0.01f, err), VST_E_PARAM_VALUE);
    ck_assert_int_eq(vst_param_set(inst, 0, NAN, err), VST_E_PARAM_VALUE);
    ck_assert_int_eq(vst_param_set(inst, 0, INFINITY, err), VST_E_PARAM_VALUE);
    vst_param_get(inst, 0, &v, err);
    ck_assert(v == 0.5f);   /* nothing reached the plugin */

    /* The audio-thread setter validates the same way. */
    VT_RT_BEGIN();
    int r1 = vst_rt_set_param(inst, 3, 0.5f);
    int r2 = vst_rt_set_param(inst, 0, 2.0f);
    int r3 = vst_rt_set_param(inst, 0, NAN);
    int r4 = vst_rt_set_param(inst, 0, 0.125f);
    VT_RT_END();
    ck_assert_int_eq(r1, VST_E_PARAM_INDEX);
    ck_assert_int_eq(r2, VST_E_PARAM_VALUE);
    ck_assert_int_eq(r3, VST_E_PARAM_VALUE);
    ck_assert_int_eq(r4, VST_OK);
    vst_param_get(inst, 0, &v, err);
    ck_assert(v == 0.125f);
    ck_assert_int_eq(vst_param_check(inst, 0, 0.5f, err), VST_OK);
    ck_assert_int_eq(vst_param_check(inst, 0, 1.01f, err), VST_E_PARAM_VALUE);
    vst_unload(inst);
}
END_TEST

START_TEST(test_programs)
{
    vst_instance *inst = load_testplug();
    char buf[VST_STR_LEN], err[VST_ERR_LEN];
    static const char *names[] = {"Init", "Bright", "Dark", "Long"};
    ck_assert_int_eq(vst_program_count(inst), 4);
    ck_assert(vst_program_names_indexed(inst));
    for (int i = 0; i < 4; i++) {
        bool known = false;
        ck_assert_int_eq(vst_program_name(inst, i, buf, sizeof buf, &known, err), VST_OK);
        ck_assert_str_eq(buf, names[i]);
        ck_assert(known);
    }
    ck_assert_int_eq(vst_program_get(inst), 0);
    ck_assert_int_eq(vst_program_set(inst, 2, err), VST_OK);
    ck_assert_int_eq(vst_program_get(inst), 2);
    ck_assert_uint_eq(vst_take_notifications(inst), VST_NOTE_UPDATE_DISPLAY);
    ck_assert_uint_eq(vst_take_notifications(inst), 0);
    ck_assert_int_eq(vst_program_set(inst, 3, err), VST_OK);
    ck_assert_uint_eq(vst_take_notifications(inst), VST_NOTE_IO_CHANGED);
    ck_assert_int_eq(vst_refresh_info(inst), 0);   /* counts unchanged */
    ck_assert_int_eq(vst_program_set(inst, 4, err), VST_E_PROGRAM);
    ck_assert_int_eq(vst_program_set(inst, -1, err), VST_E_PROGRAM);
    ck_assert_int_eq(vst_program_name(inst, 4, buf, sizeof buf, NULL, err), VST_E_PROGRAM);
    ck_assert_int_eq(vst_program_get(inst), 3);
    vst_unload(inst);
}
END_TEST

START_TEST(test_state_snapshot)
{
    vst_instance *inst = load_testplug();
    char err[VST_ERR_LEN];
    void *blob;
    size_t len;
    vst_state_kind kind;
    /* "Echo" (1) also moves Gain (0): set it so the two agree. */
    vst_param_set(inst, 1, 0.75f, err);
    vst_param_set(inst, 2, 0.125f, err);
    ck_assert_int_eq(vst_state_get(inst, &blob, &len, &kind, err), VST_OK);
    ck_assert_int_eq(kind, VST_STATE_PARAMS);
    ck_assert_uint_eq(len, 8 + 3 * 4);
    ck_assert_int_eq(memcmp(blob, "SVP1", 4), 0);

    vst_param_set(inst, 1, 0.0f, err);
    vst_param_set(inst, 2, 1.0f, err);
    ck_assert_int_eq(vst_state_set(inst, blob, len, err), VST_OK);
    float v;
    vst_param_get(inst, 0, &v, err);
    ck_assert(v == 0.75f);
    vst_param_get(inst, 1, &v, err);
    ck_assert(v == 0.75f);
    vst_param_get(inst, 2, &v, err);
    ck_assert(v == 0.125f);

    /* Damaged blobs are refused without touching the plugin. */
    unsigned char bad[20];
    memcpy(bad, blob, sizeof bad);
    bad[0] = 'X';
    ck_assert_int_eq(vst_state_set(inst, bad, sizeof bad, err), VST_E_STATE);
    ck_assert_int_eq(vst_state_set(inst, blob, len - 4, err), VST_E_STATE);
    memcpy(bad, blob, sizeof bad);
    float huge = 7.0f;
    memcpy(bad + 8, &huge, 4);
    ck_assert_int_eq(vst_state_set(inst, bad, sizeof bad, err), VST_E_STATE);
    ck_assert_int_eq(vst_state_set(inst, NULL, 0, err), VST_E_STATE);
    vst_param_get(inst, 0, &v, err);
    ck_assert(v == 0.75f);
    free(blob);
    vst_unload(inst);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Automation, gestures, notifications                              */

START_TEST(test_automation)
{
    vst_instance *inst = load_testplug();
    vst_param_change ch[4];
    /* "Echo" makes the plugin call audioMasterAutomate(0, value). */
    vst_param_set(inst, 1, 0.75f, NULL);
    ck_assert_uint_eq(vst_take_param_changes(inst, ch, 4), 1);
    ck_assert_int_eq(ch[0].index, 0);
    ck_assert(ch[0].value == 0.75f);
    ck_assert_uint_eq(vst_take_param_changes(inst, ch, 4), 0);

    /* Coalesced: several changes give one entry with the latest value,
     * also when sent from the audio thread. */
    vst_param_set(inst, 1, 0.1f, NULL);
    VT_RT_BEGIN();
    vst_rt_set_param(inst, 1, 0.2f);
    vst_rt_set_param(inst, 1, 0.3f);
    VT_RT_END();
    ck_assert_uint_eq(vst_take_param_changes(inst, ch, 4), 1);
    ck_assert(ch[0].value == 0.3f);

    /* Gestures. */
    ck_assert(!vst_param_editing(inst, 2));
    vst_param_set(inst, 2, 0.9f, NULL);
    ck_assert(vst_param_editing(inst, 2));
    vst_param_set(inst, 2, 0.1f, NULL);
    ck_assert(!vst_param_editing(inst, 2));
    ck_assert(!vst_param_editing(inst, 99));
    vst_unload(inst);
}
END_TEST

START_TEST(test_automation_partial_take)
{
    /* When the output array is short, the rest stays for the next call. */
    vst_instance *inst = load_testplug();
    AEffect *e = vst_get_effect(inst);
    extern VstIntPtr vst_host_callback(AEffect *, VstInt32, VstInt32, VstIntPtr, void *, float);
    vst_host_callback(e, audioMasterAutomate, 0, 0, NULL, 0.1f);
    vst_host_callback(e, audioMasterAutomate, 2, 0, NULL, 0.2f);
    vst_param_change ch[2];
    ck_assert_uint_eq(vst_take_param_changes(inst, ch, 1), 1);
    ck_assert_int_eq(ch[0].index, 0);
    ck_assert_uint_eq(vst_take_param_changes(inst, ch, 2), 1);
    ck_assert_int_eq(ch[0].index, 2);
    ck_assert(ch[0].value == 0.2f);
    vst_unload(inst);
}
END_TEST

/* ---------------------------------------------------------------- */
/* MIDI in                                                          */

START_TEST(test_midi_builders)
{
    vst_midi_msg m = vst_midi_note_on(0, 60, 100);
    ck_assert_uint_eq(m.len, 3);
    ck_assert_uint_eq(m.data[0], 0x90);
    ck_assert_uint_eq(m.data[1], 60);
    ck_assert_uint_eq(m.data[2], 100);
    m = vst_midi_note_off(15, 127, 0);
    ck_assert_uint_eq(m.data[0], 0x8F);
    m = vst_midi_cc(3, 7, 127);
    ck_assert_uint_eq(m.data[0], 0xB3);
    ck_assert_uint_eq(m.data[1], 7);
    m = vst_midi_program_change(1, 5);
    ck_assert_uint_eq(m.len, 2);
    ck_assert_uint_eq(m.data[0], 0xC1);
    m = vst_midi_channel_aftertouch(2, 64);
    ck_assert_uint_eq(m.len, 2);
    ck_assert_uint_eq(m.data[0], 0xD2);
    m = vst_midi_poly_aftertouch(0, 61, 30);
    ck_assert_uint_eq(m.data[0], 0xA0);
    m = vst_midi_pitch_bend(0, 8192);
    ck_assert_uint_eq(m.data[0], 0xE0);
    ck_assert_uint_eq(m.data[1], 0x00);
    ck_assert_uint_eq(m.data[2], 0x40);
    m = vst_midi_pitch_bend(0, 16383);
    ck_assert_uint_eq(m.data[1], 0x7F);
    ck_assert_uint_eq(m.data[2], 0x7F);
    uint8_t clock[] = {0xF8};
    ck_assert_uint_eq(vst_midi_raw(clock, 1).len, 1);

    /* Out of range: len 0. */
    ck_assert_uint_eq(vst_midi_note_on(16, 60, 100).len, 0);
    ck_assert_uint_eq(vst_midi_note_on(0, 128, 100).len, 0);
    ck_assert_uint_eq(vst_midi_cc(0, 7, -1).len, 0);
    ck_assert_uint_eq(vst_midi_pitch_bend(0, 16384).len, 0);
    uint8_t nostatus[] = {0x40, 0x40};
    ck_assert_uint_eq(vst_midi_raw(nostatus, 2).len, 0);
    uint8_t sysex_start[] = {0xF0, 0x01};
    ck_assert_uint_eq(vst_midi_raw(sysex_start, 2).len, 0);
    uint8_t four[] = {0x90, 1, 2, 3};
    ck_assert_uint_eq(vst_midi_raw(four, 4).len, 0);
}
END_TEST

START_TEST(test_midi_queue_errors)
{
    vst_instance *inst = load_testplug();
    vst_midi_msg bad = vst_midi_note_on(16, 60, 100);
    vst_midi_msg good = vst_midi_note_on(0, 60, 100);
    VT_RT_BEGIN();
    int r1 = vst_rt_queue_midi(inst, 0, bad);
    int r2 = vst_rt_queue_midi(inst, -1, good);
    int r3 = vst_rt_queue_midi(inst, BLOCK, good);
    int r4 = vst_rt_queue_sysex(inst, 0, NULL);
    unsigned pending = vst_rt_events_pending(inst);
    VT_RT_END();
    ck_assert_int_eq(r1, VST_E_MIDI);
    ck_assert_int_eq(r2, VST_E_MIDI);
    ck_assert_int_eq(r3, VST_E_MIDI);
    ck_assert_int_eq(r4, VST_E_MIDI);
    ck_assert_uint_eq(pending, 0);

    char err[VST_ERR_LEN];
    uint8_t nof0[] = {0x7E, 0x01, 0xF7};
    ck_assert_ptr_null(vst_sysex_new(nof0, sizeof nof0, err));
    ck_assert_ptr_nonnull(strstr(err, "F0"));
    uint8_t highbyte[] = {0xF0, 0x90, 0xF7};
    ck_assert_ptr_null(vst_sysex_new(highbyte, sizeof highbyte, err));
    vst_unload(inst);
}
END_TEST

static vst_midi_msg identity_msg(int i)
{
    /* A CC whose two data bytes encode the event's number (0..16383). */
    return vst_midi_cc(0, i & 0x7F, (i >> 7) & 0x7F);
}

static int identity_of(const tp_event *e)
{
    return e->data[1] | (e->data[2] << 7);
}

START_TEST(test_ten_thousand_events_in_order)
{
    enum { N = 10000 };
    /* Start small, grow by handing over a bigger buffer like the daemon. */
    vst_instance *inst = vt_load(vt_env("TESTPLUG"), RATE, BLOCK, 64);
    vst_event_buf *big = vst_event_buf_new(16384);
    ck_assert_ptr_nonnull(big);
    VT_RT_BEGIN();
    vst_event_buf *old = vst_rt_swap_events(inst, big);
    VT_RT_END();
    ck_assert_ptr_ne(old, big);
    ck_assert_uint_eq(vst_event_buf_capacity(old), 64);
    vst_event_buf_free(old);
    ck_assert_uint_eq(vst_rt_event_capacity(inst), 16384);

    int rejected = 0;
    VT_RT_BEGIN();
    for (int i = 0; i < N; i++)
        if (vst_rt_queue_midi(inst, (int32_t)((long)i * BLOCK / N), identity_msg(i)) != VST_OK)
            rejected++;
    VT_RT_END();
    ck_assert_int_eq(rejected, 0);

    float *out[2] = {out0, out1};
    const float *in[2] = {in0, in1};
    ck_assert_int_eq(vt_block(inst, 0, in, 2, out, 2, BLOCK), VST_OK);

    tp_stats *st = vt_stats(inst);
    ck_assert_int_eq(st->events_calls, 1);
    ck_assert_int_eq(st->nevents, N);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(st->events[i].type, kVstMidiType);
        ck_assert_int_eq(st->events[i].delta, (int32_t)((long)i * BLOCK / N));
        ck_assert_int_eq(identity_of(&st->events[i]), i);
        ck_assert_uint_eq(st->events[i].data[0], 0xB0);
    }
    ck_assert_uint_eq(vst_take_overflow(inst), 0);
    ck_assert_uint_eq(vst_take_late(inst), 0);

    /* The queue is empty again: the next block gets no events. */
    ck_assert_int_eq(vt_block(inst, BLOCK, in, 2, out, 2, BLOCK), VST_OK);
    ck_assert_int_eq(st->events_calls, 1);
    vst_unload(inst);
}
END_TEST

START_TEST(test_events_sorted_stably)
{
    enum { N = 10000 };
    vst_instance *inst = vt_load(vt_env("TESTPLUG"), RATE, BLOCK, N);
    int32_t delta[N];
    VT_RT_BEGIN();
    for (int i = 0; i < N; i++) {
        /* Deliberately out of order, with many equal deltas. */
        delta[i] = (int32_t)(((N - i) * 7919L) % BLOCK);
        vst_rt_queue_midi(inst, delta[i], identity_msg(i));
    }
    VT_RT_END();
    float *out[2] = {out0, out1};
    ck_assert_int_eq(vt_block(inst, 0, NULL, 0, out, 2, BLOCK), VST_OK);

    tp_stats *st = vt_stats(inst);
    ck_assert_int_eq(st->nevents, N);
    /* Expected: by delta, queue order among equals. */
    int k = 0;
    for (int d = 0; d < BLOCK; d++)
        for (int i = 0; i < N; i++)
            if (delta[i] == d) {
                ck_assert_int_eq(st->events[k].delta, d);
                ck_assert_int_eq(identity_of(&st->events[k]), i);
                k++;
            }
    ck_assert_int_eq(k, N);
    vst_unload(inst);
}
END_TEST

START_TEST(test_event_overflow_reported)
{
    vst_instance *inst = vt_load(vt_env("TESTPLUG"), RATE, BLOCK, 16);
    int full = 0, ok = 0;
    VT_RT_BEGIN();
    for (int i = 0; i < 20; i++) {
        int rc = vst_rt_queue_midi(inst, i, identity_msg(i));
        if (rc == VST_E_FULL)
            full++;
        else if (rc == VST_OK)
            ok++;
    }
    VT_RT_END();
    ck_assert_int_eq(ok, 16);
    ck_assert_int_eq(full, 4);
    ck_assert_uint_eq(vst_take_overflow(inst), 4);
    ck_assert_uint_eq(vst_take_overflow(inst), 0);
    float *out[2] = {out0, out1};
    vt_block(inst, 0, NULL, 0, out, 2, BLOCK);
    ck_assert_int_eq(vt_stats(inst)->nevents, 16);
    vst_unload(inst);
}
END_TEST

START_TEST(test_event_buffer_swap_keeps_pending)
{
    vst_instance *inst = vt_load(vt_env("TESTPLUG"), RATE, BLOCK, 16);
    vst_event_buf *tiny = vst_event_buf_new(8);
    vst_event_buf *bigger = vst_event_buf_new(32);
    VT_RT_BEGIN();
    for (int i = 0; i < 10; i++)
        vst_rt_queue_midi(inst, 20 - i, identity_msg(i));
    /* Too small for the 10 pending events: refused, handed back. */
    vst_event_buf *r1 = vst_rt_swap_events(inst, tiny);
    vst_event_buf *r2 = vst_rt_swap_events(inst, bigger);
    for (int i = 10; i < 30; i++)
        vst_rt_queue_midi(inst, 100, identity_msg(i));
    VT_RT_END();
    ck_assert_ptr_eq(r1, tiny);
    ck_assert_uint_eq(vst_event_buf_capacity(r2), 16);
    vst_event_buf_free(r1);
    vst_event_buf_free(r2);
    ck_assert_uint_eq(vst_take_overflow(inst), 0);

    float *out[2] = {out0, out1};
    vt_block(inst, 0, NULL, 0, out, 2, BLOCK);
    tp_stats *st = vt_stats(inst);
    ck_assert_int_eq(st->nevents, 30);
    for (int k = 0; k < 10; k++) {
        ck_assert_int_eq(st->events[k].delta, 11 + k);
        ck_assert_int_eq(identity_of(&st->events[k]), 9 - k);
    }
    for (int k = 10; k < 30; k++)
        ck_assert_int_eq(identity_of(&st->events[k]), k);
    vst_unload(inst);
}
END_TEST

START_TEST(test_sysex)
{
    vst_instance *inst = load_testplug();
    char err[VST_ERR_LEN];
    const uint8_t gm_on[] = {0xF0, 0x7E, 0x7F, 0x09, 0x01, 0xF7};
    vst_sysex *sx = vst_sysex_new(gm_on, sizeof gm_on, err);
    ck_assert_ptr_nonnull(sx);
    VT_RT_BEGIN();
    int r1 = vst_rt_queue_sysex(inst, 5, sx);
    int r2 = vst_rt_queue_midi(inst, 2, vst_midi_note_on(0, 60, 1));
    VT_RT_END();
    ck_assert_int_eq(r1, VST_OK);
    ck_assert_int_eq(r2, VST_OK);
    ck_assert_uint_eq(vst_reclaim(inst), 0);   /* not delivered yet */
    float *out[2] = {out0, out1};
    vt_block(inst, 0, NULL, 0, out, 2, BLOCK);
    tp_stats *st = vt_stats(inst);
    ck_assert_int_eq(st->nevents, 2);
    ck_assert_int_eq(st->events[0].type, kVstMidiType);
    ck_assert_int_eq(st->events[0].delta, 2);
    ck_assert_int_eq(st->events[1].type, kVstSysExType);
    ck_assert_int_eq(st->events[1].delta, 5);
    ck_assert_int_eq(st->events[1].sysex_len, 6);
    ck_assert_int_eq(memcmp(st->events[1].sysex, gm_on, 6), 0);
    ck_assert_uint_eq(vst_reclaim(inst), 1);
    ck_assert_uint_eq(vst_reclaim(inst), 0);

    /* Sysex still queued at unload is freed by vst_unload (checked by
     * valgrind/ASan runs; here: no crash). */
    sx = vst_sysex_new(gm_on, sizeof gm_on, err);
    VT_RT_BEGIN();
    vst_rt_queue_sysex(inst, 0, sx);
    VT_RT_END();
    vst_unload(inst);
}
END_TEST

START_TEST(test_late_event_moved_to_last_frame)
{
    vst_instance *inst = load_testplug();
    VT_RT_BEGIN();
    vst_rt_queue_midi(inst, 200, vst_midi_note_on(0, 60, 127));
    VT_RT_END();
    float *out[2] = {out0, out1};
    vt_block(inst, 0, NULL, 0, out, 2, 100);
    tp_stats *st = vt_stats(inst);
    ck_assert_int_eq(st->nevents, 1);
    ck_assert_int_eq(st->events[0].delta, 99);
    ck_assert_uint_eq(vst_take_late(inst), 1);
    ck_assert(out0[99] == 1.0f);
    vst_unload(inst);
}
END_TEST

START_TEST(test_note_sample_exact)
{
    vst_instance *inst = load_testplug();
    VT_RT_BEGIN();
    vst_rt_queue_midi(inst, 37, vst_midi_note_on(0, 60, 127));
    VT_RT_END();
    memset(in0, 0, sizeof in0);
    memset(in1, 0, sizeof in1);
    const float *in[2] = {in0, in1};
    float *out[2] = {out0, out1};
    vt_block(inst, 0, in, 2, out, 2, BLOCK);
    for (int i = 0; i < BLOCK; i++) {
        float want = i == 37 ? 1.0f : 0.0f;
        ck_assert_msg(out0[i] == want && out1[i] == want, "frame %d: %g %g", i, out0[i], out1[i]);
    }
    vst_unload(inst);
}
END_TEST

/* ---------------------------------------------------------------- */
/* MIDI out, transport, process level                               */

START_TEST(test_midi_out)
{
    vst_instance *inst = load_testplug();
    VT_RT_BEGIN();
    vst_rt_queue_midi(inst, 10, vst_midi_note_on(1, 60, 90));
    vst_rt_queue_midi(inst, 20, vst_midi_note_off(1, 60, 0));
    VT_RT_END();
    float *out[2] = {out0, out1};
    vt_block(inst, 48000, NULL, 0, out, 2, BLOCK);
    vst_midi_out mo[4];
    ck_assert_uint_eq(vst_take_midi_out(inst, mo, 4), 1);
    ck_assert_int_eq(mo[0].delta, 10);
    ck_assert_int_eq(mo[0].frame, 48010);
    ck_assert_uint_eq(mo[0].len, 3);
    ck_assert_uint_eq(mo[0].data[0], 0x91);
    ck_assert_uint_eq(mo[0].data[1], 72);
    ck_assert_uint_eq(mo[0].data[2], 90);
    ck_assert_uint_eq(vst_take_midi_out(inst, mo, 4), 0);
    ck_assert_uint_eq(vst_take_midi_out_dropped(inst), 0);

    /* MIDI out sent from a non-audio thread is counted, not pushed. */
    AEffect *e = vst_get_effect(inst);
    VstMidiEvent ev = {.type = kVstMidiType, .byteSize = sizeof ev, .midiData = {(char)0x90, 1, 1}};
    struct { VstInt32 n; VstIntPtr r; VstEvent *ev[1]; } list = {1, 0, {(VstEvent *)&ev}};
    extern VstIntPtr vst_host_callback(AEffect *, VstInt32, VstInt32, VstIntPtr, void *, float);
    vst_host_callback(e, audioMasterProcessEvents, 0, 0, &list, 0.0f);
    ck_assert_uint_eq(vst_take_midi_out(inst, mo, 4), 0);
    ck_assert_uint_eq(vst_take_midi_out_dropped(inst), 1);
    vst_unload(inst);
}
END_TEST

START_TEST(test_midi_out_ring_full)
{
    vst_config cfg;
    vst_config_init(&cfg);
    cfg.sample_rate = RATE;
    cfg.max_block = BLOCK;
    cfg.midi_out_capacity = 16;
    vst_instance *inst = vt_load_cfg(vt_env("TESTPLUG"), &cfg);
    float *out[2] = {out0, out1};
    /* 5 notes echoed per block x 4 blocks = 20 > 16. */
    for (int b = 0; b < 4; b++) {
        VT_RT_BEGIN();
        for (int i = 0; i < 5; i++)
            vst_rt_queue_midi(inst, i, vst_midi_note_on(0, 40 + i, 100));
        VT_RT_END();
        vt_block(inst, b * BLOCK, NULL, 0, out, 2, BLOCK);
    }
    vst_midi_out mo[32];
    ck_assert_uint_eq(vst_take_midi_out(inst, mo, 32), 16);
    ck_assert_uint_eq(vst_take_midi_out_dropped(inst), 4);
    ck_assert_uint_eq(mo[0].data[1], 52);
    ck_assert_uint_eq(mo[15].data[1], 52);   /* block 3, first note */
    vst_unload(inst);
}
END_TEST

START_TEST(test_transport)
{
    vst_instance *inst = load_testplug();
    vst_transport t = {.frame = 4800, .sample_pos = 4800.0, .tempo = 140.0, .ppq_pos = 3.5,
                       .bar_start_ppq = 3.0, .time_sig_num = 3, .time_sig_den = 4,
                       .playing = true, .changed = true};
    float *out[2] = {out0, out1};
    VT_RT_BEGIN();
    vst_rt_set_transport(inst, &t);
    vst_rt_process(inst, NULL, 0, out, 2, 64);
    VT_RT_END();
    tp_stats *st = vt_stats(inst);
    ck_assert(st->have_time);
    ck_assert(st->time_sample_pos == 4800.0);
    ck_assert(st->time_sample_rate == RATE);
    ck_assert(st->time_tempo == 140.0);
    ck_assert(st->time_ppq == 3.5);
    ck_assert(st->time_bar == 3.0);
    ck_assert_int_eq(st->time_num, 3);
    ck_assert_int_eq(st->time_den, 4);
    ck_assert_int_eq(st->time_flags, kVstTransportPlaying | kVstTransportChanged |
                                         kVstTempoValid | kVstPpqPosValid | kVstBarsValid |
                                         kVstTimeSigValid);
    ck_assert_int_eq(st->process_level, kVstProcessLevelRealtime);

    /* Stopped, no tempo: flags say so. */
    vst_transport stopped = {.frame = 0};
    VT_RT_BEGIN();
    vst_rt_set_transport(inst, &stopped);
    vst_rt_process(inst, NULL, 0, out, 2, 64);
    VT_RT_END();
    ck_assert_int_eq(st->time_flags, 0);
    vst_unload(inst);

    vst_config cfg;
    vst_config_init(&cfg);
    cfg.offline = true;
    inst = vt_load_cfg(vt_env("TESTPLUG"), &cfg);
    vt_block(inst, 0, NULL, 0, out, 2, 64);
    ck_assert_int_eq(vt_stats(inst)->process_level, kVstProcessLevelOffline);
    ck_assert_int_eq(vt_stats(inst)->open_process_level, kVstProcessLevelOffline);
    vst_unload(inst);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Audio: precision and channel mapping                             */

static void expect_scaled(const float *got, const float *src, float gain, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        ck_assert_msg(fabsf(got[i] - src[i] * gain) < 1e-6f, "frame %u: %g != %g", i, got[i],
                      src[i] * gain);
}

START_TEST(test_process_float_stereo)
{
    fill_inputs();
    vst_instance *inst = load_testplug();   /* gain 2 * 0.5 = 1 */
    vst_param_set(inst, 0, 0.25f, NULL);     /* gain 0.5 */
    const float *in[2] = {in0, in1};
    float *out[2] = {out0, out1};
    ck_assert_int_eq(vt_block(inst, 0, in, 2, out, 2, BLOCK), VST_OK);
    expect_scaled(out0, in0, 0.5f, BLOCK);
    expect_scaled(out1, in1, 0.5f, BLOCK);
    ck_assert_int_eq(vt_stats(inst)->process_calls, 1);
    ck_assert_int_eq(vt_stats(inst)->process_double_calls, 0);
    vst_unload(inst);
}
END_TEST

START_TEST(test_process_double)
{
    fill_inputs();
    vst_instance *inst = vt_load(vt_env("TESTPLUG_DOUBLE"), RATE, BLOCK, 0);
    vst_param_set(inst, 0, 0.75f, NULL);   /* gain 1.5 */
    const float *in[2] = {in0, in1};
    float *out[2] = {out0, out1};
    VT_RT_BEGIN();
    vst_rt_queue_midi(inst, 3, vst_midi_note_on(0, 1, 127));
    VT_RT_END();
    ck_assert_int_eq(vt_block(inst, 0, in, 2, out, 2, BLOCK), VST_OK);
    tp_stats *st = vt_stats(inst);
    ck_assert_int_eq(st->process_double_calls, 1);
    ck_assert_int_eq(st->process_calls, 0);
    ck_assert_int_eq(st->last_nframes, BLOCK);
    for (int i = 0; i < BLOCK; i++) {
        float want0 = in0[i] * 1.5f + (i == 3 ? 1.0f : 0.0f);
        ck_assert_msg(fabsf(out0[i] - want0) < 1e-6f, "frame %d", i);
    }
    vst_unload(inst);
}
END_TEST

START_TEST(test_mapping_mono_in_stereo_plugin)
{
    fill_inputs();
    vst_instance *inst = load_testplug();   /* 2 in, 2 out, gain 1 */
    const float *in[1] = {in0};
    float *out[2] = {out0, out1};
    vt_block(inst, 0, in, 1, out, 2, BLOCK);
    expect_scaled(out0, in0, 1.0f, BLOCK);
    expect_scaled(out1, in0, 1.0f, BLOCK);

    /* Stereo plugin into one host output: the mean. */
    const float *in2[2] = {in0, in1};
    float *mono[1] = {out2};
    vt_block(inst, 0, in2, 2, mono, 1, BLOCK);
    for (int i = 0; i < BLOCK; i++)
        ck_assert(fabsf(out2[i] - 0.5f * (in0[i] + in1[i])) < 1e-6f);

    /* Three host outputs: the third is silent. */
    out2[0] = 99.0f;
    float *three[3] = {out0, out1, out2};
    vt_block(inst, 0, in2, 2, three, 3, BLOCK);
    expect_scaled(out0, in0, 1.0f, BLOCK);
    expect_scaled(out1, in1, 1.0f, BLOCK);
    for (int i = 0; i < BLOCK; i++)
        ck_assert(out2[i] == 0.0f);

    /* No inputs at all: silence in, silence out. */
    vt_block(inst, 0, NULL, 0, out, 2, BLOCK);
    for (int i = 0; i < BLOCK; i++)
        ck_assert(out0[i] == 0.0f && out1[i] == 0.0f);
    vst_unload(inst);
}
END_TEST

START_TEST(test_mapping_mono_plugin)
{
    fill_inputs();
    vst_instance *inst = vt_load(vt_env("TESTPLUG_MONO"), RATE, BLOCK, 0);   /* 1/1 */
    const float *in[2] = {in0, in1};
    float *out[2] = {out0, out1};
    vt_block(inst, 0, in, 2, out, 2, BLOCK);
    for (int i = 0; i < BLOCK; i++) {
        float mean = 0.5f * (in0[i] + in1[i]);
        ck_assert(fabsf(out0[i] - mean) < 1e-6f);
        ck_assert(out1[i] == out0[i]);
    }
    vst_unload(inst);
}
END_TEST

START_TEST(test_in_place_buffers)
{
    fill_inputs();
    vst_instance *inst = load_testplug();
    vst_param_set(inst, 0, 1.0f, NULL);   /* gain 2 */
    float a[BLOCK], b[BLOCK];
    memcpy(a, in0, sizeof a);
    memcpy(b, in1, sizeof b);
    const float *in[2] = {a, b};
    float *out[2] = {a, b};   /* the same buffers */
    vt_block(inst, 0, in, 2, out, 2, BLOCK);
    expect_scaled(a, in0, 2.0f, BLOCK);
    expect_scaled(b, in1, 2.0f, BLOCK);
    vst_unload(inst);
}
END_TEST

START_TEST(test_block_too_large)
{
    vst_instance *inst = vt_load(vt_env("TESTPLUG"), RATE, 64, 0);
    float big0[128], big1[128];
    for (int i = 0; i < 128; i++)
        big0[i] = big1[i] = 1.0f;
    float *out[2] = {big0, big1};
    ck_assert_int_eq(vt_block(inst, 0, NULL, 0, out, 2, 128), VST_E_BLOCK);
    ck_assert_int_eq(vt_stats(inst)->process_calls, 0);
    for (int i = 0; i < 64; i++)
        ck_assert(big0[i] == 0.0f && big1[i] == 0.0f);
    ck_assert_int_eq(vt_block(inst, 0, NULL, 0, out, 2, 0), VST_OK);
    ck_assert_int_eq(vt_stats(inst)->process_calls, 0);
    vst_unload(inst);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Scanning in a child process                                      */

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (t1.tv_nsec - t0->tv_nsec) / 1e9;
}

START_TEST(test_scan_ok)
{
    vst_info info;
    char err[VST_ERR_LEN] = "";
    int rc = vst_scan(vt_env("TESTPLUG"), 5000, &info, err);
    ck_assert_msg(rc == VST_OK, "%s", err);
    ck_assert_str_eq(info.name, "sonod test plugin");
    ck_assert_str_eq(info.vendor, "sonod tests");
    ck_assert_str_eq(info.unique_id_str, "sntp");
    ck_assert_int_eq(info.num_params, 3);
    ck_assert_int_eq(info.num_programs, 4);
    ck_assert_int_eq(info.latency, 5);
    ck_assert_int_eq(info.num_inputs, 2);
    ck_assert_int_eq(info.flags, effFlagsCanReplacing);
    rc = vst_scan(vt_env("TESTPLUG_DOUBLE"), 5000, &info, err);
    ck_assert_int_eq(rc, VST_OK);
    ck_assert(info.can_double);
}
END_TEST

/* A plugin playing while others crash and hang in scans keeps playing. */
static void expect_playing(vst_instance *inst, int64_t frame)
{
    fill_inputs();
    const float *in[2] = {in0, in1};
    float *out[2] = {out0, out1};
    ck_assert_int_eq(vt_block(inst, frame, in, 2, out, 2, BLOCK), VST_OK);
    expect_scaled(out0, in0, 1.0f, BLOCK);
    expect_scaled(out1, in1, 1.0f, BLOCK);
}

START_TEST(test_scan_failures_leave_others_playing)
{
    vst_instance *inst = load_testplug();
    expect_playing(inst, 0);
    vst_info info;
    char err[VST_ERR_LEN];
    ck_assert_int_eq(vst_scan(vt_env("TESTPLUG_CRASH"), 5000, &info, err), VST_E_CRASHED);
    expect_playing(inst, BLOCK);
    ck_assert_int_eq(vst_scan(vt_env("TESTPLUG_HANG"), 300, &info, err), VST_E_TIMEOUT);
    expect_playing(inst, 2 * BLOCK);
    ck_assert_int_eq(vst_load(vt_env("TESTPLUG_BADMAGIC"), NULL, &(vst_instance *){NULL}, err),
                     VST_E_BAD_MAGIC);
    expect_playing(inst, 3 * BLOCK);
    ck_assert_int_eq(vt_stats(inst)->process_calls, 4);
    vst_unload(inst);
}
END_TEST

START_TEST(test_scan_crash)
{
    vst_info info;
    char err[VST_ERR_LEN] = "";
    int rc = vst_scan(vt_env("TESTPLUG_CRASH"), 5000, &info, err);
    ck_assert_int_eq(rc, VST_E_CRASHED);
    ck_assert_msg(strstr(err, "crashed while loading (signal 11") != NULL, "%s", err);
    /* The cached answer is the same. */
    rc = vst_scan(vt_env("TESTPLUG_CRASH"), 5000, &info, err);
    ck_assert_int_eq(rc, VST_E_CRASHED);
    ck_assert_ptr_nonnull(strstr(err, "signal 11"));
    /* We are alive and still load plugins. */
    vst_instance *inst = load_testplug();
    vst_unload(inst);
}
END_TEST

START_TEST(test_scan_hang)
{
    vst_info info;
    char err[VST_ERR_LEN] = "";
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = vst_scan(vt_env("TESTPLUG_HANG"), 500, &info, err);
    double took = seconds_since(&t0);
    ck_assert_int_eq(rc, VST_E_TIMEOUT);
    ck_assert_msg(strstr(err, "within 500 ms") != NULL, "%s", err);
    ck_assert_msg(took >= 0.45 && took < 3.0, "took %.2f s", took);
}
END_TEST

START_TEST(test_scan_bad_files)
{
    vst_info info;
    char err[VST_ERR_LEN] = "";
    ck_assert_int_eq(vst_scan("/nonexistent/x.so", 5000, &info, err), VST_E_NOT_FOUND);
    ck_assert_int_eq(vst_scan(vt_env("NOT_A_PLUGIN"), 5000, &info, err), VST_E_NOT_SO);
    ck_assert_ptr_nonnull(strstr(err, "not a shared object"));
    ck_assert_int_eq(vst_scan(vt_env("TESTPLUG_NOENTRY"), 5000, &info, err), VST_E_NO_ENTRY);
    ck_assert_int_eq(vst_scan(vt_env("TESTPLUG_BADMAGIC"), 5000, &info, err), VST_E_BAD_MAGIC);
    ck_assert_int_eq(vst_scan(vt_env("TESTPLUG_NULL"), 5000, &info, err), VST_E_NULL_EFFECT);
}
END_TEST

START_TEST(test_scan_cache)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/cached.so", getenv("HOME"));
    vt_copy_file(vt_env("TESTPLUG"), path);
    vst_info info;
    char err[VST_ERR_LEN] = "";
    ck_assert_int_eq(vst_scan(path, 5000, &info, err), VST_OK);

    /* With no usable scanner, only a cached answer can succeed. */
    setenv("SONOD_VST_SCAN", "/nonexistent/sonod-vst-scan", 1);
    ck_assert_int_eq(vst_scan(path, 5000, &info, err), VST_OK);
    ck_assert_str_eq(info.name, "sonod test plugin");

    /* Persisted and reloaded. */
    char cache[PATH_MAX];
    snprintf(cache, sizeof cache, "%s/scan-cache.txt", getenv("HOME"));
    ck_assert_int_eq(vst_scan_cache_save(cache, err), VST_OK);
    vst_scan_cache_clear();
    ck_assert_int_eq(vst_scan(path, 5000, &info, err), VST_E_SCANNER);
    ck_assert_int_eq(vst_scan_cache_load(cache, err), VST_OK);
    ck_assert_int_eq(vst_scan(path, 5000, &info, err), VST_OK);
    ck_assert_int_eq(info.num_params, 3);

    /* A new modification time invalidates the entry. */
    struct timespec times[2] = {{0, UTIME_OMIT}, {12345, 0}};
    ck_assert_int_eq(utimensat(AT_FDCWD, path, times, 0), 0);
    ck_assert_int_eq(vst_scan(path, 5000, &info, err), VST_E_SCANNER);
    ck_assert_ptr_nonnull(strstr(err, "scanner not found"));
}
END_TEST

typedef struct seen {
    int n;
    char names[16][64];
    int status[16];
    char first_name[VST_STR_LEN];
} seen;

static void collect(void *ud, const char *path, int status, const vst_info *info, const char *err)
{
    seen *s = ud;
    ck_assert_int_lt(s->n, 16);
    const char *base = strrchr(path, '/');
    snprintf(s->names[s->n], sizeof s->names[0], "%s", base ? base + 1 : path);
    s->status[s->n] = status;
    if (status == VST_OK)
        ck_assert_ptr_nonnull(info);
    else
        ck_assert_msg(err && *err, "no error text for %s", path);
    if (s->n == 0 && info)
        snprintf(s->first_name, sizeof s->first_name, "%s", info->name);
    s->n++;
}

START_TEST(test_scan_dir)
{
    char dir[PATH_MAX], sub[PATH_MAX + 8], p[PATH_MAX + 32];
    vt_scan_folder("plugins", dir, sizeof dir, sub, sizeof sub);
    char target[PATH_MAX + 32];
    snprintf(target, sizeof target, "%s/a-ok.so", dir);
    vt_copy_file(vt_env("TESTPLUG"), target);
    snprintf(p, sizeof p, "%s/z-link.so", dir);
    ck_assert_int_eq(symlink(target, p), 0);
    snprintf(p, sizeof p, "%s/b-crash.so", dir);
    vt_copy_file(vt_env("TESTPLUG_CRASH"), p);
    snprintf(p, sizeof p, "%s/c-text.so", dir);
    vt_copy_file(vt_env("NOT_A_PLUGIN"), p);
    snprintf(p, sizeof p, "%s/readme.txt", dir);
    vt_copy_file(vt_env("NOT_A_PLUGIN"), p);
    snprintf(p, sizeof p, "%s/mono.so", sub);
    vt_copy_file(vt_env("TESTPLUG_MONO"), p);
    /* A loop back to the top must not be followed forever. */
    snprintf(p, sizeof p, "%s/loop", sub);
    ck_assert_int_eq(symlink(dir, p), 0);

    seen s = {0};
    int n = vst_scan_dir(dir, 5000, collect, &s);
    ck_assert_int_eq(n, 4);
    ck_assert_int_eq(s.n, 4);
    ck_assert_str_eq(s.names[0], "a-ok.so");
    ck_assert_int_eq(s.status[0], VST_OK);
    ck_assert_str_eq(s.first_name, "sonod test plugin");
    ck_assert_str_eq(s.names[1], "b-crash.so");
    ck_assert_int_eq(s.status[1], VST_E_CRASHED);
    ck_assert_str_eq(s.names[2], "c-text.so");
    ck_assert_int_eq(s.status[2], VST_E_NOT_SO);
    ck_assert_str_eq(s.names[3], "mono.so");
    ck_assert_int_eq(s.status[3], VST_OK);

    /* The standard paths: $VST_PATH replaces the defaults. */
    char paths[4096];
    setenv("VST_PATH", dir, 1);
    vst_standard_paths(paths, sizeof paths);
    ck_assert_str_eq(paths, dir);
    seen s2 = {0};
    ck_assert_int_eq(vst_scan_dir(NULL, 5000, collect, &s2), 4);
    unsetenv("VST_PATH");
    setenv("HOME", "/h", 1);
    vst_standard_paths(paths, sizeof paths);
    ck_assert_str_eq(paths, "/h/.vst:/h/.lxvst:/usr/local/lib/vst:/usr/local/lib/lxvst:"
                            "/usr/lib/vst:/usr/lib/lxvst");
}
END_TEST

START_TEST(test_info_format)
{
    vst_info a = {0}, b;
    snprintf(a.name, sizeof a.name, "Name with = sign\nand newline");
    snprintf(a.vendor, sizeof a.vendor, "V");
    a.unique_id = 0x616d7379;
    a.num_params = 41;
    a.num_outputs = 2;
    a.flags = effFlagsIsSynth | effFlagsProgramChunks;
    a.latency = 480;
    a.category = -3;
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    dprintf(fds[1], "sonod-vst-scan 1\nstatus=0\n");
    vst_info_write(fds[1], &a);
    dprintf(fds[1], "future_key=ignored\nend\n");
    close(fds[1]);
    char text[4096];
    ssize_t n = read(fds[0], text, sizeof text - 1);
    close(fds[0]);
    ck_assert_int_gt(n, 0);
    text[n] = '\0';
    int status;
    char err[VST_ERR_LEN];
    ck_assert_int_eq(vst_info_parse(text, &b, &status, err), VST_OK);
    ck_assert_str_eq(b.name, "Name with = sign and newline");
    ck_assert_str_eq(b.unique_id_str, "amsy");
    ck_assert_int_eq(b.num_params, 41);
    ck_assert_int_eq(b.latency, 480);
    ck_assert_int_eq(b.category, -3);
    ck_assert(b.is_synth && b.has_chunks && !b.can_double);

    ck_assert_int_eq(vst_info_parse("garbage", &b, &status, err), VST_E_SCANNER);
    ck_assert_int_eq(vst_info_parse("sonod-vst-scan 1\nstatus=0\nname=x\n", &b, &status, err),
                     VST_E_SCANNER);
    ck_assert_ptr_nonnull(strstr(err, "incomplete"));
    ck_assert_int_eq(
        vst_info_parse("sonod-vst-scan 1\nstatus=-6\nerror=bad magic here\nend\n", &b, &status,
                       err),
        VST_E_BAD_MAGIC);
    ck_assert_str_eq(err, "bad magic here");
}
END_TEST

/* The block-wide test every plugin output passes (vst_finite_rt.h): a
 * single NaN or infinity found at every position of every length from 1 to
 * 67 (the vector lanes and the tail), and no finite value taken for one. */
START_TEST(test_non_finite_scan)
{
    const float bad[] = {__builtin_nanf(""), -__builtin_nanf(""), __builtin_inff(),
                         -__builtin_inff()};
    const float good[] = {0.0f, -0.0f, 1.0f, -3.4028235e38f, 3.4028235e38f, 1e-45f, -1e-40f};
    float x[67];

    for (unsigned n = 1; n <= 67; n++) {
        for (unsigned i = 0; i < n; i++)
            x[i] = good[i % (sizeof good / sizeof good[0])];
        ck_assert_msg(!vst_any_non_finite(x, n), "finite block of %u taken for non-finite", n);
        for (unsigned p = 0; p < n; p++)
            for (unsigned b = 0; b < sizeof bad / sizeof bad[0]; b++) {
                float keep = x[p];
                x[p] = bad[b];
                ck_assert_msg(vst_any_non_finite(x, n), "value %u at %u of %u missed", b, p, n);
                x[p] = keep;
            }
    }
    ck_assert(!vst_any_non_finite(x, 0));
}
END_TEST

/* The region's message rings (an isolated LV2 plugin's property
 * messages): whole records in order across the wrap, a full ring and a
 * message longer than VR_MSG_MAX refused (nothing written), one longer
 * than the reader takes dropped, nonsense indices emptied; an instance
 * that is not isolated takes none. */
START_TEST(test_message_ring)
{
    static vr_ring r;
    static uint8_t msg[VR_MSG_MAX + 1], got[VR_MSG_MAX];
    uint32_t n = 0, sent = 0, recv = 0, len;
    char err[VST_ERR_LEN] = "";

    memset(&r, 0, sizeof r);
    for (unsigned round = 0; round < 40; round++) {
        /* Fill it with 3000-byte messages, then take all back. */
        for (n = 0; vr_ring_put(&r, msg, 3000) == 0; n++, sent++)
            memset(msg, (int)(sent + 1), 3000);
        ck_assert_uint_eq(n, VR_MSG_RING / 3004);
        ck_assert_uint_lt(vr_ring_room(&r), 3000);
        while ((len = vr_ring_peek(&r, got, sizeof got)) > 0) {
            ck_assert_uint_eq(len, 3000);
            ck_assert_uint_eq(got[0], (recv & 0xFF));
            ck_assert_uint_eq(got[2999], (recv & 0xFF));
            vr_ring_next(&r, len);
            recv++;
        }
        memset(msg, (int)(sent & 0xFF), 3000);
    }
    ck_assert_uint_eq(recv, sent);
    ck_assert_uint_gt(r.head, VR_MSG_RING);   /* it wrapped many times */
    ck_assert_int_eq(vr_ring_put(&r, msg, VR_MSG_MAX + 1), -1);
    ck_assert_int_eq(vr_ring_put(&r, msg, 0), -1);
    ck_assert_uint_eq(vr_ring_peek(&r, got, sizeof got), 0);
    ck_assert_int_eq(vr_ring_put(&r, msg, VR_MSG_MAX), 0);
    ck_assert_int_eq(vr_ring_put(&r, msg, 10), 0);
    ck_assert_uint_eq(vr_ring_peek(&r, got, 100), 0);    /* the long one dropped */
    ck_assert_uint_eq(vr_ring_peek(&r, got, 100), 10);
    vr_ring_next(&r, 10);
    ck_assert_uint_eq(vr_ring_peek(&r, got, sizeof got), 0);
    r.head = r.tail + VR_MSG_RING + 4;   /* the other side wrote nonsense */
    ck_assert_uint_eq(vr_ring_room(&r), 0);
    ck_assert_uint_eq(vr_ring_peek(&r, got, sizeof got), 0);
    ck_assert_uint_eq(r.tail, r.head);
    ck_assert_int_eq(vr_ring_put(&r, msg, 10), 0);

    vst_instance *inst = load_testplug();
    ck_assert_int_eq(vst_isolated_send(inst, msg, 10, err), VST_E_INVALID);
    ck_assert_uint_eq(vst_isolated_receive(inst, got, sizeof got), 0);
    vst_unload(inst);
}
END_TEST

static Suite *host_suite(void)
{
    Suite *s = suite_create("vst-host");
    struct { const char *name; const TTest *tests[16]; } cases[] = {
        {"load", {test_info, test_host_answers, test_call_order, test_call_order_double,
                  test_main_fallback, test_two_instances, test_reconfigure, test_reconfigure_block_only,
                  test_load_errors}},
        {"params", {test_params, test_param_errors, test_param_descriptions, test_programs, test_state_snapshot,
                    test_automation, test_automation_partial_take}},
        {"midi", {test_midi_builders, test_midi_queue_errors, test_ten_thousand_events_in_order,
                  test_events_sorted_stably, test_event_overflow_reported,
                  test_event_buffer_swap_keeps_pending, test_sysex,
                  test_late_event_moved_to_last_frame, test_note_sample_exact, test_midi_out,
                  test_midi_out_ring_full, test_transport}},
        {"audio", {test_process_float_stereo, test_process_double,
                   test_mapping_mono_in_stereo_plugin, test_mapping_mono_plugin,
                   test_in_place_buffers, test_block_too_large, test_non_finite_scan,
                   test_message_ring}},
        {"scan", {test_scan_ok, test_scan_crash, test_scan_hang, test_scan_failures_leave_others_playing, test_scan_bad_files,
                  test_scan_cache, test_scan_dir, test_info_format}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        TCase *tc = tcase_create(cases[c].name);
        tcase_set_timeout(tc, 30);
        for (int i = 0; i < 16 && cases[c].tests[i]; i++)
            tcase_add_test(tc, cases[c].tests[i]);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void)
{
    return vt_run(host_suite());
}
