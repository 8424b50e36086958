/* vst_load.c - loading, initialising and unloading a plugin (control side).
 *
 * Order of operations follows what mainstream hosts do and what the Debian
 * plugins were measured to expect (shared/reference/vst2-abi.md):
 *   dlopen -> VSTPluginMain|main -> magic -> effSetSampleRate ->
 *   effSetBlockSize -> effOpen -> effSetProcessPrecision -> effMainsChanged(1)
 *   -> effStartProcess ... effStopProcess -> effMainsChanged(0) -> effClose ->
 *   dlclose.
 * The AEffect is only ever written at resvd1 (our instance pointer); only
 * the 128-byte core is read unless effFlagsCanDoubleReplacing is set. */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/vst/vst_instance.h"

void vst_config_init(vst_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->sample_rate = 48000.0;
    cfg->max_block = 1024;
    cfg->event_capacity = 1024;
    cfg->midi_out_capacity = 1024;
}

/* Distinguish "no file" and "not a shared object" before dlopen, whose
 * messages for both are loader jargon. */
static int check_file(const char *path, char *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return vst_fail(err, VST_E_NOT_FOUND, "no plugin file at %s", path);
        return vst_fail(err, VST_E_NOT_FOUND, "cannot access %s: %s", path, strerror(errno));
    }
    if (!S_ISREG(st.st_mode))
        return vst_fail(err, VST_E_NOT_SO, "%s is not a regular file, so not a shared object", path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vst_fail(err, VST_E_DLOPEN, "cannot open %s: %s", path, strerror(errno));
    unsigned char magic[4] = {0};
    ssize_t n = read(fd, magic, sizeof magic);
    close(fd);
    if (n != 4 || memcmp(magic, "\x7f" "ELF", 4) != 0)
        return vst_fail(err, VST_E_NOT_SO, "%s is not a shared object (no ELF header)", path);
    return VST_OK;
}

static int alloc_automation(vst_instance *inst)
{
    int n = inst->effect->numParams;
    if (n < 0)
        n = 0;
    inst->auto_params = n;
    inst->auto_words = (unsigned)(n + 63) / 64;
    size_t w = inst->auto_words ? inst->auto_words : 1;
    inst->auto_dirty = calloc(w, sizeof *inst->auto_dirty);
    inst->editing = calloc(w, sizeof *inst->editing);
    inst->auto_value = calloc(n ? (size_t)n : 1, sizeof *inst->auto_value);
    if (!inst->auto_dirty || !inst->editing || !inst->auto_value)
        return VST_E_NOMEM;
    return VST_OK;
}

static void free_instance_memory(vst_instance *inst)
{
    vst_buffers_free(inst);
    if (inst->events) {
        /* Sysex still queued was never delivered: it is ours to free. */
        for (unsigned i = 0; i < inst->events->count; i++)
            free(inst->events->slots[i].owner);
        vst_event_buf_free(inst->events);
    }
    vst_reclaim(inst);
    spsc_destroy(inst->midi_out);
    inst->midi_out = NULL;
    spsc_destroy(inst->sysex_out);
    inst->sysex_out = NULL;
    free(inst->auto_dirty);
    free(inst->editing);
    free(inst->auto_value);
    vst_params_free(inst);
    free(inst->path);
    free(inst);
}

static void resume(vst_instance *inst)
{
    vst_dispatch(inst, effMainsChanged, 0, 1, NULL, 0.0f);
    vst_dispatch(inst, effStartProcess, 0, 0, NULL, 0.0f);
    inst->running = true;
    inst->info.latency = inst->effect->initialDelay;
}

static void suspend(vst_instance *inst)
{
    if (!inst->running)
        return;
    vst_dispatch(inst, effStopProcess, 0, 0, NULL, 0.0f);
    vst_dispatch(inst, effMainsChanged, 0, 0, NULL, 0.0f);
    inst->running = false;
}

static void set_precision(vst_instance *inst)
{
    inst->use_double = !inst->float_only && (inst->effect->flags & effFlagsCanDoubleReplacing) &&
                       inst->effect->processDoubleReplacing != NULL;
    if (inst->effect->flags & effFlagsCanDoubleReplacing)
        vst_dispatch(inst, effSetProcessPrecision, 0,
                     inst->use_double ? kVstProcessPrecision64 : kVstProcessPrecision32, NULL, 0.0f);
}

int vst_load(const char *path, const vst_config *cfg, vst_instance **out, char *err)
{
    vst_config defaults;
    if (!cfg) {
        vst_config_init(&defaults);
        cfg = &defaults;
    }
    if (!path || !*path || !out)
        return vst_fail(err, VST_E_INVALID, "no plugin path given");
    *out = NULL;
    if (!(cfg->sample_rate > 0.0) || cfg->max_block == 0 || cfg->max_block > (1u << 20))
        return vst_fail(err, VST_E_INVALID, "bad sample rate or block size");

    char confined[PATH_MAX];
    int rc = VST_OK;
    char *full = NULL;
    void *dl = NULL;
    VstPluginMainProc entry = NULL;
    AEffect *remote = NULL;
    if (cfg->open_effect) {
        /* Another format: the opener resolves, confines and loads; an
         * isolated one is opened by the host process's opener. */
        if (!(full = strdup(path)))
            return vst_fail(err, VST_E_NOMEM, "out of memory");
        rc = VST_E_INVALID;
        remote = cfg->isolate ? vst_remote_open(path, cfg, &rc, err)
                              : cfg->open_effect(cfg->open_ctx, path, cfg, vst_host_callback, &rc, err);
        if (!remote) {
            free(full);
            return rc;
        }
        goto opened;
    }
    rc = vst_confine(path, confined, sizeof confined, err);
    if (rc != VST_OK)
        return rc;
    path = confined;
    rc = check_file(path, err);
    if (rc != VST_OK)
        return rc;

    /* A name without a slash would make dlopen search the library path. */
    full = realpath(path, NULL);
    if (!full)
        return vst_fail(err, VST_E_NOT_FOUND, "cannot resolve %s: %s", path, strerror(errno));

    if (cfg->isolate) {
        /* Its code runs in a host process; we get a proxy. */
        remote = vst_remote_open(full, cfg, &rc, err);
        if (!remote) {
            free(full);
            return rc;
        }
    } else {
        dlerror();
        dl = dlopen(full, RTLD_NOW | RTLD_LOCAL);
        if (!dl) {
            const char *why = dlerror();
            rc = vst_fail(err, VST_E_DLOPEN, "cannot load %s: %s", path, why ? why : "unknown error");
            free(full);
            return rc;
        }

        entry = (VstPluginMainProc)dlsym(dl, "VSTPluginMain");
        if (!entry)
            entry = (VstPluginMainProc)dlsym(dl, "main");
        if (!entry) {
            dlclose(dl);
            free(full);
            return vst_fail(err, VST_E_NO_ENTRY,
                            "%s is not a VST2 plugin: it exports neither VSTPluginMain nor main", path);
        }
    }

opened:;
    vst_instance *inst = calloc(1, sizeof *inst);
    if (!inst) {
        if (dl)
            dlclose(dl);
        else
            remote->dispatcher(remote, effClose, 0, 0, NULL, 0.0f);
        free(full);
        return vst_fail(err, VST_E_NOMEM, "out of memory");
    }
    inst->dl = dl;
    inst->path = full;
    inst->sample_rate = cfg->sample_rate;
    inst->max_block = cfg->max_block;
    inst->offline = cfg->offline;
    inst->float_only = cfg->float_only;
    inst->indexed_names = -1;
    atomic_init(&inst->reclaim, NULL);

    /* The plugin may call back with a NULL effect while it builds itself. */
    vst_instance *outer = vst_tls_loading;
    vst_tls_loading = inst;
    AEffect *effect = remote ? remote : entry(vst_host_callback);

    if (!effect) {
        rc = vst_fail(err, VST_E_NULL_EFFECT, "%s: the plugin's entry function returned no effect",
                      path);
        goto fail_unloaded;
    }
    if (effect->magic != kEffectMagic) {
        rc = vst_fail(err, VST_E_BAD_MAGIC,
                      "%s: not a VST2 effect (magic 0x%08x, expected 0x%08x 'VstP')", path,
                      (unsigned)effect->magic, (unsigned)kEffectMagic);
        goto fail_unloaded;
    }
    inst->effect = effect;
    effect->resvd1 = (VstIntPtr)inst;

    if (!effect->dispatcher || !effect->processReplacing || !effect->setParameter ||
        !effect->getParameter) {
        rc = vst_fail(err, VST_E_NO_REPLACING,
                      "%s: the plugin lacks processReplacing or a required function", path);
        goto fail_close;
    }

    vst_dispatch(inst, effSetSampleRate, 0, 0, NULL, (float)inst->sample_rate);
    vst_dispatch(inst, effSetBlockSize, 0, (VstIntPtr)inst->max_block, NULL, 0.0f);
    vst_dispatch(inst, effOpen, 0, 0, NULL, 0.0f);

    vst_info_query(inst);
    inst->proc_in = effect->numInputs > 0 ? effect->numInputs : 0;
    inst->proc_out = effect->numOutputs > 0 ? effect->numOutputs : 0;
    set_precision(inst);

    unsigned cap = cfg->event_capacity ? cfg->event_capacity : 1024;
    inst->events = vst_event_buf_new(cap);
    if (!inst->events || alloc_automation(inst) != VST_OK || vst_buffers_alloc(inst) != VST_OK ||
        !(inst->midi_out = spsc_create(cfg->midi_out_capacity ? cfg->midi_out_capacity : 1024,
                                       sizeof(vst_midi_out))) ||
        !(inst->sysex_out = spsc_create(2 * VST_SYSEX_OUT_MAX, 1))) {
        rc = vst_fail(err, VST_E_NOMEM, "out of memory preparing %s", path);
        goto fail_close;
    }

    resume(inst);
    vst_tls_loading = outer;
    *out = inst;
    return VST_OK;

fail_close:
    vst_dispatch(inst, effClose, 0, 0, NULL, 0.0f);
    inst->effect = NULL;
fail_unloaded:
    vst_tls_loading = outer;
    if (dl)
        dlclose(dl);
    free_instance_memory(inst);
    return rc;
}

void vst_unload(vst_instance *inst)
{
    if (!inst)
        return;
    suspend(inst);
    /* effClose frees the AEffect: nothing may touch it afterwards. */
    vst_dispatch(inst, effClose, 0, 0, NULL, 0.0f);
    inst->effect = NULL;
    if (inst->dl)
        dlclose(inst->dl);
    free_instance_memory(inst);
}

int vst_reconfigure(vst_instance *inst, double sample_rate, unsigned max_block, char *err)
{
    if (sample_rate < 0.0 || max_block > (1u << 20))
        return vst_fail(err, VST_E_INVALID, "bad sample rate or block size");
    unsigned old_block = inst->max_block;
    suspend(inst);
    if (sample_rate > 0.0) {
        inst->sample_rate = sample_rate;
        vst_dispatch(inst, effSetSampleRate, 0, 0, NULL, (float)inst->sample_rate);
    }
    if (max_block > 0)
        inst->max_block = max_block;
    vst_dispatch(inst, effSetBlockSize, 0, (VstIntPtr)inst->max_block, NULL, 0.0f);
    vst_info_query(inst);
    inst->proc_in = inst->effect->numInputs > 0 ? inst->effect->numInputs : 0;
    inst->proc_out = inst->effect->numOutputs > 0 ? inst->effect->numOutputs : 0;
    set_precision(inst);
    int rc = vst_buffers_alloc(inst);
    if (rc != VST_OK && inst->max_block != old_block) {
        /* The old buffers are still in place (vst_buffers_alloc frees them
         * only on success): go back to the size they fit. */
        inst->max_block = old_block;
        vst_dispatch(inst, effSetBlockSize, 0, (VstIntPtr)inst->max_block, NULL, 0.0f);
    }
    resume(inst);
    if (rc != VST_OK)
        return vst_fail(err, rc, "out of memory reallocating buffers");
    return VST_OK;
}

int vst_refresh_info(vst_instance *inst)
{
    vst_info_query(inst);
    inst->info.latency = inst->effect->initialDelay;
    return (inst->info.num_inputs != inst->proc_in || inst->info.num_outputs != inst->proc_out) ? 1
                                                                                                 : 0;
}

const vst_info *vst_get_info(const vst_instance *inst) { return &inst->info; }
const char *vst_get_path(const vst_instance *inst) { return inst->path; }
double vst_get_sample_rate(const vst_instance *inst) { return inst->sample_rate; }
unsigned vst_get_max_block(const vst_instance *inst) { return inst->max_block; }
unsigned vst_rt_max_block(const vst_instance *inst) { return inst->max_block; }
bool vst_uses_double(const vst_instance *inst) { return inst->use_double; }
struct AEffect *vst_get_effect(vst_instance *inst) { return inst->effect; }

void vst_set_offline(vst_instance *inst, bool offline)
{
    /* Read by the host callback on the audio thread: a relaxed atomic. */
    if (inst)
        __atomic_store_n(&inst->offline, offline, __ATOMIC_RELAXED);
}
