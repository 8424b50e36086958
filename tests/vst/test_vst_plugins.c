/* test_vst_plugins.c - the VST2 host library against real plugins from
 * Debian packages (scripts/setup.sh installs them): amsynth,
 * dragonfly-reverb-vst, dpf-plugins-vst, zynaddsubfx-vst.  A missing
 * plugin is a failure, not a skip.  The machine may hold any number of
 * other plugins besides: scans of system folders assert only what holds
 * whatever else is installed, and the exact answers of a scan are checked
 * on a folder the test builds itself. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/vst/vst_test_util.h"

#define AMSYNTH "/usr/lib/vst/amsynth_vst.so"
#define DRAGONFLY_ROOM "/usr/lib/lxvst/DragonflyRoomReverb-vst.so"
#define MAFREEVERB "/usr/lib/vst/MaFreeverb-vst.so"
#define MABITCRUSH "/usr/lib/vst/MaBitcrush-vst.so"
#define KARS "/usr/lib/vst/Kars-vst.so"
#define ZYN "/usr/lib/vst/ZynAddSubFX.so"

#define RATE 48000.0
#define BLOCK 512

static float buf[4][BLOCK];

static void need(const char *path)
{
    ck_assert_msg(access(path, R_OK) == 0,
                  "%s is missing: install the Debian package (scripts/setup.sh)", path);
}

static vst_instance *load(const char *path)
{
    need(path);
    return vt_load(path, RATE, BLOCK, 0);
}

static int first_nonzero(const float *x, int n)
{
    for (int i = 0; i < n; i++)
        if (x[i] != 0.0f)
            return i;
    return -1;
}

static double energy(const float *x, int n)
{
    double e = 0.0;
    for (int i = 0; i < n; i++)
        e += (double)x[i] * x[i];
    return e;
}

/* ---------------------------------------------------------------- */
/* amsynth                                                          */

START_TEST(test_amsynth_info_and_params)
{
    vst_instance *inst = load(AMSYNTH);
    const vst_info *info = vst_get_info(inst);
    ck_assert_str_eq(info->name, "amsynth");
    ck_assert_str_eq(info->unique_id_str, "amsy");
    ck_assert(info->is_synth);
    ck_assert(info->has_chunks);
    ck_assert_int_eq(info->num_inputs, 0);
    ck_assert_int_eq(info->num_outputs, 2);
    ck_assert_int_eq(vst_param_count(inst), 41);

    char name[VST_STR_LEN], err[VST_ERR_LEN];
    float v = -1.0f;
    ck_assert_int_eq(vst_param_name(inst, 0, name, sizeof name, err), VST_OK);
    ck_assert_str_eq(name, "amp_attack");
    ck_assert_int_eq(vst_param_get(inst, 0, &v, err), VST_OK);
    ck_assert(v == 0.0f);
    ck_assert_int_eq(vst_param_find(inst, "amp_attack", err), 0);
    ck_assert_int_eq(vst_param_find(inst, "no_such_param", err), VST_E_PARAM_NAME);
    ck_assert_int_eq(vst_param_set(inst, 0, 1.5f, err), VST_E_PARAM_VALUE);
    ck_assert_int_eq(vst_param_get(inst, 41, &v, err), VST_E_PARAM_INDEX);
    ck_assert_int_gt(vst_program_count(inst), 0);
    vst_unload(inst);
}
END_TEST

/* A note-on at frame n: silence before it, sound from it. */
static void amsynth_note_at(int n)
{
    vst_instance *inst = load(AMSYNTH);
    float *out[2] = {buf[0], buf[1]};
    /* One block with nothing: the synth is silent. */
    ck_assert_int_eq(vt_block(inst, 0, NULL, 0, out, 2, BLOCK), VST_OK);
    ck_assert_int_eq(first_nonzero(buf[0], BLOCK), -1);
    ck_assert_int_eq(first_nonzero(buf[1], BLOCK), -1);

    VT_RT_BEGIN();
    int rc = vst_rt_queue_midi(inst, n, vst_midi_note_on(0, 60, 127));
    VT_RT_END();
    ck_assert_int_eq(rc, VST_OK);
    ck_assert_int_eq(vt_block(inst, BLOCK, NULL, 0, out, 2, BLOCK), VST_OK);
    /* Exactly silent before the note's frame; sounding right from it.  The
     * sample at n itself is 0 (amsynth's envelope and oscillator start from
     * zero), so "right from it" is the first few samples. */
    for (int c = 0; c < 2; c++) {
        int first = first_nonzero(buf[c], BLOCK);
        ck_assert_msg(first >= n && first < n + 4, "note at %d: channel %d first sounds at %d",
                      n, c, first);
    }
    ck_assert(energy(buf[0] + n, 64) > 0.0);
    vst_unload(inst);
}

START_TEST(test_amsynth_note_at_frame_3) { amsynth_note_at(3); }
END_TEST

START_TEST(test_amsynth_note_at_frame_100) { amsynth_note_at(100); }
END_TEST

START_TEST(test_amsynth_state_roundtrip)
{
    vst_instance *inst = load(AMSYNTH);
    char err[VST_ERR_LEN], name[VST_STR_LEN];
    float v;
    /* amsynth's own chunk parser rejects a preset without a name, which is
     * what it has right after loading: select a factory program first. */
    ck_assert_int_eq(vst_program_set(inst, 0, err), VST_OK);
    ck_assert_int_eq(vst_program_get(inst), 0);
    /* amsynth names only its current program (no indexed names): that
     * one is known, the others are not, and asking does not switch. */
    bool known = false;
    ck_assert(!vst_program_names_indexed(inst));
    ck_assert_int_eq(vst_program_name(inst, 0, name, sizeof name, &known, err), VST_OK);
    ck_assert_msg(name[0] != '\0', "program 0 has no name");
    ck_assert(known);
    ck_assert_int_eq(vst_program_name(inst, 1, name, sizeof name, &known, err), VST_OK);
    ck_assert(!known);
    ck_assert_str_eq(name, "");
    ck_assert_int_eq(vst_program_get(inst), 0);
    ck_assert_int_eq(vst_param_set(inst, 0, 0.5f, err), VST_OK);
    vst_param_get(inst, 0, &v, err);
    float saved = v;
    ck_assert(fabsf(saved - 0.5f) < 1e-3f);

    void *blob;
    size_t len;
    vst_state_kind kind;
    ck_assert_int_eq(vst_state_get(inst, &blob, &len, &kind, err), VST_OK);
    ck_assert_int_eq(kind, VST_STATE_CHUNK);
    ck_assert_uint_gt(len, 0);

    ck_assert_int_eq(vst_param_set(inst, 0, 0.1f, err), VST_OK);
    vst_param_get(inst, 0, &v, err);
    ck_assert(fabsf(v - 0.1f) < 1e-3f);

    ck_assert_int_eq(vst_state_set(inst, blob, len, err), VST_OK);
    vst_param_get(inst, 0, &v, err);
    ck_assert_msg(fabsf(v - saved) < 1e-4f, "restored %g, saved %g", v, saved);

    /* Also into a fresh instance. */
    vst_instance *other = load(AMSYNTH);
    ck_assert_int_eq(vst_program_set(other, 5, err), VST_OK);
    ck_assert_int_eq(vst_state_set(other, blob, len, err), VST_OK);
    vst_param_get(other, 0, &v, err);
    ck_assert(fabsf(v - saved) < 1e-4f);
    vst_unload(other);
    free(blob);
    vst_unload(inst);
}
END_TEST

START_TEST(test_amsynth_reload)
{
    /* Unload really dlcloses; loading again must work. */
    for (int i = 0; i < 3; i++) {
        vst_instance *inst = load(AMSYNTH);
        ck_assert_int_eq(vst_param_count(inst), 41);
        vst_unload(inst);
    }
}
END_TEST

/* ---------------------------------------------------------------- */
/* Effects                                                          */

/* Feed a one-sample impulse, run `seconds`, return the energy of all
 * outputs after `after` seconds. */
static double impulse_tail(vst_instance *inst, unsigned nin, unsigned nout, double seconds,
                           double after)
{
    const float *in[2] = {buf[0], buf[1]};
    float *out[2] = {buf[2], buf[3]};
    int blocks = (int)(seconds * RATE / BLOCK);
    int from = (int)(after * RATE);
    double tail = 0.0;
    for (int b = 0; b < blocks; b++) {
        memset(buf[0], 0, sizeof buf[0]);
        memset(buf[1], 0, sizeof buf[1]);
        if (b == 0)
            buf[0][0] = buf[1][0] = 1.0f;
        ck_assert_int_eq(vt_block(inst, (int64_t)b * BLOCK, in, nin, out, nout, BLOCK), VST_OK);
        for (unsigned c = 0; c < nout; c++)
            for (int i = 0; i < BLOCK; i++)
                if (b * BLOCK + i >= from)
                    tail += (double)out[c][i] * out[c][i];
    }
    return tail;
}

START_TEST(test_dragonfly_room)
{
    vst_instance *inst = load(DRAGONFLY_ROOM);
    const vst_info *info = vst_get_info(inst);
    ck_assert_str_eq(info->name, "Dragonfly Room Reverb");
    ck_assert_int_eq(info->num_inputs, 2);
    ck_assert_int_eq(info->num_outputs, 2);
    ck_assert_int_eq(vst_param_count(inst), 17);
    char err[VST_ERR_LEN], name[VST_STR_LEN];
    int dry = vst_param_find(inst, "Dry Level", err);
    ck_assert_msg(dry >= 0, "%s", err);
    ck_assert_int_eq(vst_param_name(inst, dry, name, sizeof name, err), VST_OK);
    ck_assert_str_eq(name, "Dry Level");
    ck_assert_int_eq(vst_param_display(inst, dry, name, sizeof name, err), VST_OK);
    ck_assert_msg(name[0] != '\0', "empty display text");

    /* Energy from 0.2 s to 1.5 s after a single-sample impulse: reverb. */
    double tail = impulse_tail(inst, 2, 2, 1.5, 0.2);
    ck_assert_msg(tail > 1e-4, "tail energy %g", tail);
    vst_unload(inst);
}
END_TEST

START_TEST(test_mafreeverb)
{
    vst_instance *inst = load(MAFREEVERB);
    ck_assert_str_eq(vst_get_info(inst)->name, "MaFreeverb");
    ck_assert_int_eq(vst_get_info(inst)->num_inputs, 1);
    ck_assert_int_eq(vst_get_info(inst)->num_outputs, 1);
    /* Stereo host buffers on a mono plugin: mean in, copy out. */
    double tail = impulse_tail(inst, 2, 2, 1.0, 0.1);
    ck_assert_msg(tail > 1e-4, "tail energy %g", tail);
    for (int i = 0; i < BLOCK; i++)
        ck_assert(buf[2][i] == buf[3][i]);
    vst_unload(inst);
}
END_TEST

START_TEST(test_mabitcrush)
{
    vst_instance *inst = load(MABITCRUSH);
    ck_assert_int_eq(vst_get_info(inst)->num_inputs, 1);
    ck_assert_int_eq(vst_get_info(inst)->num_outputs, 2);
    const float *in[1] = {buf[0]};
    float *out[2] = {buf[2], buf[3]};
    for (int i = 0; i < BLOCK; i++)
        buf[0][i] = (float)(0.8 * sin(2.0 * M_PI * 440.0 * i / RATE));
    for (int b = 0; b < 4; b++)
        ck_assert_int_eq(vt_block(inst, b * BLOCK, in, 1, out, 2, BLOCK), VST_OK);
    ck_assert(energy(buf[2], BLOCK) > 1.0);
    ck_assert(energy(buf[3], BLOCK) > 1.0);
    vst_unload(inst);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Synths                                                           */

START_TEST(test_kars)
{
    vst_instance *inst = load(KARS);
    const vst_info *info = vst_get_info(inst);
    ck_assert_str_eq(info->name, "Kars");
    ck_assert(info->is_synth);
    ck_assert_int_eq(info->num_outputs, 1);
    float *out[2] = {buf[2], buf[3]};
    ck_assert_int_eq(vt_block(inst, 0, NULL, 0, out, 2, BLOCK), VST_OK);
    ck_assert_int_eq(first_nonzero(buf[2], BLOCK), -1);
    VT_RT_BEGIN();
    vst_rt_queue_midi(inst, 40, vst_midi_note_on(0, 57, 120));
    VT_RT_END();
    ck_assert_int_eq(vt_block(inst, BLOCK, NULL, 0, out, 2, BLOCK), VST_OK);
    int first = first_nonzero(buf[2], BLOCK);
    ck_assert_msg(first >= 40 && first < 40 + 32, "first sound at %d", first);
    ck_assert(energy(buf[2], BLOCK) > 1e-3);
    for (int i = 0; i < BLOCK; i++)
        ck_assert(buf[2][i] == buf[3][i]);   /* mono plugin copied to both */
    vst_unload(inst);
}
END_TEST

START_TEST(test_zynaddsubfx)
{
    vst_instance *inst = load(ZYN);
    const vst_info *info = vst_get_info(inst);
    ck_assert_str_eq(info->name, "ZynAddSubFX");
    ck_assert(info->is_synth);
    ck_assert_int_eq(info->num_outputs, 2);
    float *out[2] = {buf[2], buf[3]};
    /* Zyn sets itself up on a background thread: give it wall time. */
    double e = 0.0;
    bool sent = false;
    for (int b = 0; b < 400 && e < 1e-3; b++) {
        if (b == 20) {
            VT_RT_BEGIN();
            vst_rt_queue_midi(inst, 0, vst_midi_note_on(0, 60, 110));
            VT_RT_END();
            sent = true;
        }
        ck_assert_int_eq(vt_block(inst, (int64_t)b * BLOCK, NULL, 0, out, 2, BLOCK), VST_OK);
        if (sent)
            e += energy(buf[2], BLOCK) + energy(buf[3], BLOCK);
        usleep(5000);
    }
    ck_assert_msg(e > 1e-3, "ZynAddSubFX stayed silent (energy %g)", e);
    vst_unload(inst);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Scanning real plugins                                            */

START_TEST(test_scan_amsynth)
{
    need(AMSYNTH);
    vst_info info;
    char err[VST_ERR_LEN] = "";
    ck_assert_msg(vst_scan(AMSYNTH, 20000, &info, err) == VST_OK, "%s", err);
    ck_assert_str_eq(info.name, "amsynth");
    ck_assert_str_eq(info.vendor, "Nick Dowell");
    ck_assert_str_eq(info.unique_id_str, "amsy");
    ck_assert_int_eq(info.num_params, 41);
    ck_assert_int_eq(info.num_outputs, 2);
    ck_assert(info.is_synth && info.has_chunks);
    ck_assert_int_eq(info.category, kPlugCategSynth);
}
END_TEST

/* What a directory scan reported, file by file. */
#define MAX_FOUND 1024

typedef struct found {
    int n;
    char path[MAX_FOUND][PATH_MAX];
    int status[MAX_FOUND];
    char name[MAX_FOUND][VST_STR_LEN];
    int num_params[MAX_FOUND];
} found;

static void collect(void *ud, const char *path, int status, const vst_info *info,
                    const char *err)
{
    found *f = ud;
    ck_assert_int_lt(f->n, MAX_FOUND);
    snprintf(f->path[f->n], sizeof f->path[0], "%s", path);
    f->status[f->n] = status;
    if (status == VST_OK) {
        ck_assert_ptr_nonnull(info);
        snprintf(f->name[f->n], sizeof f->name[0], "%s", info->name);
        f->num_params[f->n] = info->num_params;
    } else {
        ck_assert_msg(err && *err, "no error text for %s (%d)", path, status);
    }
    f->n++;
}

static found *scan(const char *dir)
{
    found *f = calloc(1, sizeof *f);
    ck_assert_ptr_nonnull(f);
    int n = vst_scan_dir(dir, 20000, collect, f);
    ck_assert_int_eq(n, f->n);
    return f;
}

/* The entry whose file is `file` (compared as real paths), or -1. */
static int entry_of(const found *f, const char *file)
{
    char want[PATH_MAX], real[PATH_MAX];
    ck_assert_ptr_nonnull(realpath(file, want));
    for (int i = 0; i < f->n; i++)
        if (realpath(f->path[i], real) && strcmp(real, want) == 0)
            return i;
    return -1;
}

/* The entry reported under exactly this path; fails if there is none. */
static int entry_at(const found *f, const char *path)
{
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->path[i], path) == 0)
            return i;
    ck_abort_msg("the scan did not report %s", path);
    return -1;
}

static void link_in(const char *target, const char *dir, const char *name)
{
    char p[PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    ck_assert_msg(symlink(target, p) == 0, "symlink %s", p);
}

static void write_in(const char *dir, const char *name, const char *text)
{
    char p[PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *fp = fopen(p, "w");
    ck_assert_msg(fp != NULL, "create %s", p);
    fputs(text, fp);
    fclose(fp);
}

/* A folder built here, so every file in it and every answer is known:
 * links to real plugins (one reachable twice), a copy, a subfolder, and
 * files that are not plugins. */
START_TEST(test_scan_dir_built)
{
    char dir[PATH_MAX], sub[PATH_MAX + 8], p[PATH_MAX + 64];
    vt_scan_folder("scan", dir, sizeof dir, sub, sizeof sub);
    need(AMSYNTH);
    need(DRAGONFLY_ROOM);
    need(KARS);
    need(MAFREEVERB);
    link_in(AMSYNTH, dir, "a-amsynth.so");
    link_in(DRAGONFLY_ROOM, dir, "b-room.so");
    snprintf(p, sizeof p, "%s/c-kars.so", dir);
    vt_copy_file(KARS, p);
    link_in(AMSYNTH, dir, "d-amsynth-again.so");    /* the same file: reported once */
    write_in(dir, "e-text.so", "not a plugin\n");
    write_in(dir, "f-empty.so", "");
    snprintf(p, sizeof p, "%s/g-noentry.so", dir);
    vt_copy_file(vt_env("TESTPLUG_NOENTRY"), p);
    link_in("/nonexistent/plugin.so", dir, "h-dangling.so");   /* no file: skipped */
    write_in(dir, "readme.txt", "not a .so: skipped\n");
    link_in(MAFREEVERB, sub, "i-freeverb.so");

    found *f = scan(dir);
    static const struct {
        const char *name;   /* under dir */
        int status;
        const char *plugin; /* its name when status is VST_OK */
        int params;
    } want[] = {
        {"a-amsynth.so", VST_OK, "amsynth", 41},
        {"b-room.so", VST_OK, "Dragonfly Room Reverb", 17},
        {"c-kars.so", VST_OK, "Kars", -1},
        {"e-text.so", VST_E_NOT_SO, NULL, 0},
        {"f-empty.so", VST_E_NOT_SO, NULL, 0},
        {"g-noentry.so", VST_E_NO_ENTRY, NULL, 0},
        {"sub/i-freeverb.so", VST_OK, "MaFreeverb", -1},
    };
    int n = (int)(sizeof want / sizeof want[0]);
    ck_assert_int_eq(f->n, n);
    for (int i = 0; i < n; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, want[i].name);
        ck_assert_str_eq(f->path[i], p);   /* in name order, subfolders in place */
        ck_assert_msg(f->status[i] == want[i].status, "%s: status %d, wanted %d", want[i].name,
                      f->status[i], want[i].status);
        if (want[i].plugin)
            ck_assert_str_eq(f->name[i], want[i].plugin);
        if (want[i].params >= 0 && want[i].plugin)
            ck_assert_int_eq(f->num_params[i], want[i].params);
    }
    free(f);
}
END_TEST

/* The .so files a scan of these folders must report: found by find(1)
 * (following links, not into hidden folders, as vst_scan_dir walks), each
 * real file once.  Returns how many. */
static int files_present(const char *dirs)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "for d in %s; do [ -d \"$d\" ] && find -L \"$d\" -mindepth 1 -name '.*' -prune -o "
             "-type f -name '*.so' -print; done 2>/dev/null | xargs -r -d '\\n' realpath | "
             "sort -u | wc -l",
             dirs);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    int n = -1;
    ck_assert_int_eq(fscanf(p, "%d", &n), 1);
    ck_assert_int_eq(pclose(p), 0);
    return n;
}

/* Every path reported once, every real file once. */
static void assert_each_once(const found *f)
{
    char a[PATH_MAX], b[PATH_MAX];
    for (int i = 0; i < f->n; i++)
        for (int j = i + 1; j < f->n; j++) {
            ck_assert_msg(strcmp(f->path[i], f->path[j]) != 0, "%s reported twice", f->path[i]);
            if (realpath(f->path[i], a) && realpath(f->path[j], b))
                ck_assert_msg(strcmp(a, b) != 0, "%s and %s are one file", f->path[i],
                              f->path[j]);
        }
}

static void assert_found_ok(const found *f, const char *file, const char *name)
{
    int i = entry_of(f, file);
    ck_assert_msg(i >= 0, "the scan did not report %s", file);
    ck_assert_msg(f->status[i] == VST_OK, "%s: status %d", f->path[i], f->status[i]);
    ck_assert_str_eq(f->name[i], name);
}

/* A system folder holds whatever the machine has installed: the scan
 * reports every .so in it and the plugins the setup installs among them,
 * whatever else is there (and survives it). */
START_TEST(test_scan_dir_system)
{
    need(DRAGONFLY_ROOM);
    found *f = scan("/usr/lib/lxvst");
    ck_assert_int_eq(f->n, files_present("/usr/lib/lxvst"));
    assert_each_once(f);
    assert_found_ok(f, DRAGONFLY_ROOM, "Dragonfly Room Reverb");
    assert_found_ok(f, "/usr/lib/lxvst/DragonflyHallReverb-vst.so", "Dragonfly Hall Reverb");
    free(f);

    need(AMSYNTH);
    f = scan("/usr/lib/vst");
    ck_assert_int_eq(f->n, files_present("/usr/lib/vst"));
    assert_each_once(f);
    assert_found_ok(f, AMSYNTH, "amsynth");
    assert_found_ok(f, KARS, "Kars");
    assert_found_ok(f, ZYN, "ZynAddSubFX");
    free(f);
}
END_TEST

/* The standard paths: the user's ~/.vst first (a link to a system plugin
 * there is reported there, and not again from /usr/lib/vst), then the
 * system folders. */
START_TEST(test_scan_standard_paths)
{
    char user[PATH_MAX], paths[8192], dirs[8192];
    snprintf(user, sizeof user, "%s/.vst", getenv("HOME"));
    ck_assert_int_eq(mkdir(user, 0755), 0);
    need(KARS);
    link_in(KARS, user, "MyKars.so");
    write_in(user, "notes.so", "not a plugin either\n");

    vst_standard_paths(paths, sizeof paths);
    snprintf(dirs, sizeof dirs, "%s", paths);
    for (char *c = dirs; *c; c++)
        if (*c == ':')
            *c = ' ';
    found *f = scan(NULL);
    ck_assert_int_eq(f->n, files_present(dirs));
    assert_each_once(f);
    char p[PATH_MAX + 16];
    snprintf(p, sizeof p, "%s/MyKars.so", user);
    ck_assert_int_eq(entry_of(f, KARS), entry_at(f, p));
    ck_assert_int_eq(f->status[entry_at(f, p)], VST_OK);
    snprintf(p, sizeof p, "%s/notes.so", user);
    ck_assert_int_eq(f->status[entry_at(f, p)], VST_E_NOT_SO);
    assert_found_ok(f, AMSYNTH, "amsynth");
    assert_found_ok(f, DRAGONFLY_ROOM, "Dragonfly Room Reverb");
    free(f);
}
END_TEST

static Suite *plugins_suite(void)
{
    Suite *s = suite_create("vst-plugins");
    TCase *tc = tcase_create("amsynth");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_amsynth_info_and_params);
    tcase_add_test(tc, test_amsynth_note_at_frame_3);
    tcase_add_test(tc, test_amsynth_note_at_frame_100);
    tcase_add_test(tc, test_amsynth_state_roundtrip);
    tcase_add_test(tc, test_amsynth_reload);
    suite_add_tcase(s, tc);

    tc = tcase_create("effects");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_dragonfly_room);
    tcase_add_test(tc, test_mafreeverb);
    tcase_add_test(tc, test_mabitcrush);
    suite_add_tcase(s, tc);

    tc = tcase_create("synths");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_kars);
    tcase_add_test(tc, test_zynaddsubfx);
    suite_add_tcase(s, tc);

    tc = tcase_create("scan");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_scan_amsynth);
    tcase_add_test(tc, test_scan_dir_built);
    tcase_add_test(tc, test_scan_dir_system);
    tcase_add_test(tc, test_scan_standard_paths);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return vt_run(plugins_suite());
}
