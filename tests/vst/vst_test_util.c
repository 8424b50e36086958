/* vst_test_util.c - shared helpers for the VST host tests. */
#include <dlfcn.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/vst/vst_test_util.h"

static char home[PATH_MAX];

const char *vt_home_setup(void)
{
    snprintf(home, sizeof home, "%s/sonod-vst-test-XXXXXX", P_tmpdir);
    if (!mkdtemp(home)) {
        perror("mkdtemp");
        exit(1);
    }
    char sub[PATH_MAX + 32];
    setenv("HOME", home, 1);
    snprintf(sub, sizeof sub, "%s/.config", home);
    setenv("XDG_CONFIG_HOME", sub, 1);
    snprintf(sub, sizeof sub, "%s/.local", home);
    mkdir(sub, 0700);
    snprintf(sub, sizeof sub, "%s/.local/share", home);
    mkdir(sub, 0700);
    setenv("XDG_DATA_HOME", sub, 1);
    snprintf(sub, sizeof sub, "%s/.cache", home);
    setenv("XDG_CACHE_HOME", sub, 1);
    unsetenv("DISPLAY");
    unsetenv("VST_PATH");
    unsetenv("LXVST_PATH");
    return home;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void vt_home_cleanup(void)
{
    if (home[0])
        nftw(home, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *vt_env(const char *name)
{
    const char *v = getenv(name);
    ck_assert_msg(v && *v, "environment variable %s is not set (run through meson test)", name);
    return v;
}

vst_instance *vt_load_cfg(const char *path, const vst_config *cfg)
{
    vst_instance *inst = NULL;
    char err[VST_ERR_LEN] = "";
    int rc = vst_load(path, cfg, &inst, err);
    ck_assert_msg(rc == VST_OK, "loading %s failed: %s (%d)", path, err, rc);
    ck_assert_ptr_nonnull(inst);
    return inst;
}

vst_instance *vt_load(const char *path, double rate, unsigned max_block, unsigned events)
{
    vst_config cfg;
    vst_config_init(&cfg);
    cfg.sample_rate = rate;
    cfg.max_block = max_block;
    if (events)
        cfg.event_capacity = events;
    return vt_load_cfg(path, &cfg);
}

static void *plugin_symbol(const char *path, const char *name)
{
    void *dl = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    if (!dl)
        dl = dlopen(path, RTLD_NOW);
    ck_assert_msg(dl != NULL, "dlopen %s: %s", path, dlerror());
    void *sym = dlsym(dl, name);
    ck_assert_msg(sym != NULL, "%s has no %s", path, name);
    return sym;   /* the handle stays open on purpose: the record must outlive unload */
}

tp_stats *vt_stats(vst_instance *inst)
{
    tp_stats *(*fn)(AEffect *) =
        (tp_stats * (*)(AEffect *)) plugin_symbol(vst_get_path(inst), "testplug_stats");
    return fn(vst_get_effect(inst));
}

const char *vt_global_log(const char *plugin_path)
{
    char real[PATH_MAX];
    ck_assert_ptr_nonnull(realpath(plugin_path, real));
    const char *(*fn)(void) = (const char *(*)(void))plugin_symbol(real, "testplug_global_log");
    return fn();
}

void vt_global_log_reset(const char *plugin_path)
{
    char real[PATH_MAX];
    ck_assert_ptr_nonnull(realpath(plugin_path, real));
    void (*fn)(void) = (void (*)(void))plugin_symbol(real, "testplug_global_log_reset");
    fn();
}

int vt_block(vst_instance *inst, int64_t frame, const float *const *in, unsigned nin,
             float *const *out, unsigned nout, unsigned n)
{
    vst_transport t = {.frame = frame, .sample_pos = (double)frame, .tempo = 120.0,
                       .time_sig_num = 4, .time_sig_den = 4, .playing = true};
    VT_RT_BEGIN();
    vst_rt_set_transport(inst, &t);
    int rc = vst_rt_process(inst, in, nin, out, nout, n);
    VT_RT_END();
    return rc;
}

void vt_scan_folder(const char *name, char *dir, size_t dir_len, char *sub, size_t sub_len)
{
    snprintf(dir, dir_len, "%s/%s", getenv("HOME"), name);
    snprintf(sub, sub_len, "%s/sub", dir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    ck_assert_int_eq(mkdir(sub, 0755), 0);
}

void vt_copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    ck_assert_msg(in != NULL, "open %s", from);
    FILE *out = fopen(to, "wb");
    ck_assert_msg(out != NULL, "create %s", to);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
    fclose(in);
    fclose(out);
    chmod(to, 0755);
}

int vt_run(Suite *s)
{
    RT_CHECK_INIT();
    vt_home_setup();
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    vt_home_cleanup();
    return failed == 0 ? 0 : 1;
}
