/* lv2_world.c - the lilv world, the URID map, confinement, resolving a
 * target to a URI, the required-features check and the scan (control
 * side; the world has a lock because loads run in libuv's thread pool).
 *
 * The URID map is shared by every plugin.  Plugins map URIs while they
 * instantiate (control side) and may map known ones again later, from any
 * thread: lookups of a URI already mapped take no lock (an open-addressed
 * table whose slots are published with release stores and never change);
 * a new URI takes a mutex. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lv2/buf-size/buf-size.h>
#include <lv2/core/lv2.h>
#include <lv2/presets/presets.h>
#include <lv2/urid/urid.h>

#include "daemon/file/file.h"
#include "daemon/lv2/lv2_internal.h"

const char *const lv2_standard_dirs[] = {"/usr/lib/lv2", "/usr/local/lib/lv2", NULL};

static const file_roots *roots;
static pthread_mutex_t world_mutex = PTHREAD_MUTEX_INITIALIZER;
static LilvWorld *world;

void lv2_set_roots(const file_roots *r) { roots = r; }
const file_roots *lv2_roots(void) { return roots; }

static bool confined(void) { return roots != NULL && !roots->any; }

/* ---- the URID map ---- */

#define URID_SLOTS 16384u   /* power of two; at most 3/4 used */

static _Atomic(const char *) slot_uri[URID_SLOTS];
static _Atomic uint32_t slot_id[URID_SLOTS];
static _Atomic(const char *) id_uri[URID_SLOTS];
static uint32_t urid_next = 1;
static pthread_mutex_t urid_mutex = PTHREAD_MUTEX_INITIALIZER;

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

/* The slot holding uri, or the empty slot where it would go. */
static uint32_t probe(const char *uri, bool *found)
{
    uint32_t h = hash(uri) & (URID_SLOTS - 1);
    for (;;) {
        const char *s = atomic_load_explicit(&slot_uri[h], memory_order_acquire);
        if (!s) {
            *found = false;
            return h;
        }
        if (strcmp(s, uri) == 0) {
            *found = true;
            return h;
        }
        h = (h + 1) & (URID_SLOTS - 1);
    }
}

static LV2_URID urid_map(LV2_URID_Map_Handle handle, const char *uri)
{
    bool found;
    (void)handle;
    if (!uri)
        return 0;
    uint32_t h = probe(uri, &found);
    if (found)
        return atomic_load_explicit(&slot_id[h], memory_order_relaxed);
    pthread_mutex_lock(&urid_mutex);
    h = probe(uri, &found);
    LV2_URID id = 0;
    if (found) {
        id = atomic_load_explicit(&slot_id[h], memory_order_relaxed);
    } else if (urid_next < URID_SLOTS / 4 * 3) {
        char *copy = strdup(uri);
        if (copy) {
            id = urid_next++;
            atomic_store_explicit(&id_uri[id], copy, memory_order_release);
            atomic_store_explicit(&slot_id[h], id, memory_order_relaxed);
            atomic_store_explicit(&slot_uri[h], copy, memory_order_release);
        }
    }
    pthread_mutex_unlock(&urid_mutex);
    return id;
}

static const char *urid_unmap(LV2_URID_Unmap_Handle handle, LV2_URID urid)
{
    (void)handle;
    if (urid == 0 || urid >= URID_SLOTS)
        return NULL;
    return atomic_load_explicit(&id_uri[urid], memory_order_acquire);
}

static LV2_URID_Map map_feature = {NULL, urid_map};
static LV2_URID_Unmap unmap_feature = {NULL, urid_unmap};

LV2_URID_Map *lv2_urid_map(void) { return &map_feature; }
LV2_URID_Unmap *lv2_urid_unmap(void) { return &unmap_feature; }

/* ---- the world ---- */

/* The roots as an LV2_PATH. */
static char *roots_path(void)
{
    size_t len = 1;
    for (unsigned i = 0; i < roots->n; i++)
        len += strlen(roots->dir[i]) + 1;
    char *p = calloc(1, len);
    if (!p)
        return NULL;
    for (unsigned i = 0; i < roots->n; i++) {
        if (i)
            strcat(p, ":");
        strcat(p, roots->dir[i]);
    }
    return p;
}

static char *host_path;   /* sonod-plugin-host: the LV2 path the daemon gave */

LilvWorld *lv2_world_lock(void)
{
    pthread_mutex_lock(&world_mutex);
    if (!world) {
        world = lilv_world_new();
        if (!world) {
            pthread_mutex_unlock(&world_mutex);
            return NULL;
        }
        if (host_path) {
            /* The plugin host: the daemon's world's path. */
            LilvNode *n = lilv_new_string(world, host_path);
            lilv_world_set_option(world, LILV_OPTION_LV2_PATH, n);
            lilv_node_free(n);
        } else if (confined()) {
            char *p = roots_path();
            LilvNode *n = lilv_new_string(world, p ? p : "");
            lilv_world_set_option(world, LILV_OPTION_LV2_PATH, n);
            lilv_node_free(n);
            free(p);
        }
        lilv_world_load_all(world);
    }
    return world;
}

void lv2_world_unlock(void) { pthread_mutex_unlock(&world_mutex); }

const LilvPlugin *lv2_world_plugin(LilvWorld *w, const char *uri)
{
    LilvNode *n = lilv_new_uri(w, uri);
    if (!n)
        return NULL;
    const LilvPlugin *p = lilv_plugins_get_by_uri(lilv_world_get_all_plugins(w), n);
    lilv_node_free(n);
    return p;
}

/* ---- targets ---- */

bool lv2_is_target(const char *t)
{
    if (!t || !*t)
        return false;
    if (t[0] != '/' && t[0] != '.' && t[0] != '~') {
        /* scheme ":" as in RFC 3986: a letter, then letters, digits, + - . */
        const char *c = t;
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')) {
            while ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                   (*c >= '0' && *c <= '9') || *c == '+' || *c == '-' || *c == '.')
                c++;
            if (*c == ':' && c - t >= 2)
                return true;
        }
    }
    struct stat st;
    size_t len = strlen(t);
    if (len > 4 && (strcmp(t + len - 4, ".lv2") == 0 || strcmp(t + len - 5, ".lv2/") == 0))
        return true;
    return stat(t, &st) == 0 && S_ISDIR(st.st_mode);
}

#define fail vst_fail

int lv2_confine(const char *path, char *real, size_t len, char *err)
{
    char why[VST_ERR_LEN];
    if (file_roots_resolve(roots, path, real, len, why, sizeof why) != 0)
        return fail(err, VST_E_DENIED, "%s", why);
    return VST_OK;
}

/* A folder: the one plugin of the bundle there. */
static int resolve_bundle(LilvWorld *w, const char *target, char *uri, size_t len, char *err)
{
    char real[PATH_MAX], why[VST_ERR_LEN];
    if (file_roots_resolve(roots, target, real, sizeof real, why, sizeof why) != 0)
        return fail(err, VST_E_DENIED, "%s", why);
    struct stat st;
    if (stat(real, &st) != 0 || !S_ISDIR(st.st_mode))
        return fail(err, VST_E_NOT_FOUND, "no LV2 bundle (folder) at %s", target);
    char *full = realpath(real, NULL);
    if (!full)
        return fail(err, VST_E_NOT_FOUND, "cannot resolve %s: %s", target, strerror(errno));
    char dir[PATH_MAX + 2];
    snprintf(dir, sizeof dir, "%s/", full);
    free(full);
    LilvNode *bundle = lilv_new_file_uri(w, NULL, dir);
    if (!confined())
        lilv_world_load_bundle(w, bundle);   /* confined: the world has read it already */
    int found = 0, rc = VST_OK;
    const LilvPlugins *all = lilv_world_get_all_plugins(w);
    LILV_FOREACH (plugins, i, all) {
        const LilvPlugin *p = lilv_plugins_get(all, i);
        if (!lilv_node_equals(lilv_plugin_get_bundle_uri(p), bundle))
            continue;
        if (found++ == 0)
            snprintf(uri, len, "%s", lilv_node_as_uri(lilv_plugin_get_uri(p)));
    }
    lilv_node_free(bundle);
    if (found == 0)
        rc = fail(err, VST_E_NOT_FOUND, "%s holds no LV2 plugin sonod can see", target);
    else if (found > 1)
        rc = fail(err, VST_E_INVALID,
                  "the bundle %s holds %d plugins: load one by its URI (plugin.scan lists them)",
                  target, found);
    return rc;
}

/* The plugin's shared object must lie inside the roots too (a bundle's
 * binary could be a symlink leading out). */
static int check_binary(const LilvPlugin *p, char *err)
{
    if (!confined())
        return VST_OK;
    const LilvNode *lib = lilv_plugin_get_library_uri(p);
    char *path = lib ? lilv_file_uri_parse(lilv_node_as_uri(lib), NULL) : NULL;
    char real[PATH_MAX], why[VST_ERR_LEN];
    int rc = VST_OK;
    if (!path || file_roots_resolve(roots, path, real, sizeof real, why, sizeof why) != 0)
        rc = fail(err, VST_E_DENIED, "%s: its binary is outside the plugin paths",
                  lilv_node_as_uri(lilv_plugin_get_uri(p)));
    lilv_free(path);
    return rc;
}

int lv2_resolve(const char *target, char *uri, size_t len, char *err)
{
    LilvWorld *w = lv2_world_lock();
    if (!w) {
        lv2_world_unlock();
        return fail(err, VST_E_NOMEM, "cannot create the LV2 world");
    }
    int rc;
    bool is_uri = lv2_is_target(target) && target[0] != '/' && target[0] != '.' &&
                  target[0] != '~' && strchr(target, ':') != NULL;
    struct stat st;
    if (is_uri && stat(target, &st) != 0) {
        snprintf(uri, len, "%s", target);
        rc = lv2_world_plugin(w, target) ? VST_OK
                                         : fail(err, VST_E_NOT_FOUND,
                                                "no LV2 plugin with the URI %s in the LV2 path",
                                                target);
    } else {
        rc = resolve_bundle(w, target, uri, len, err);
    }
    if (rc == VST_OK)
        rc = check_binary(lv2_world_plugin(w, uri), err);
    lv2_world_unlock();
    return rc;
}

/* ---- isolation: the plugin host's world ---- */

char *lv2_isolate_arg(const char *uri)
{
    LilvWorld *w = lv2_world_lock();
    const LilvPlugin *p = w ? lv2_world_plugin(w, uri) : NULL;
    const char *bundle = p ? lilv_node_as_uri(lilv_plugin_get_bundle_uri(p)) : "";
    char *path = confined() ? roots_path() : NULL;
    size_t len = (path ? strlen(path) : 0) + strlen(bundle) + 2;
    char *arg = malloc(len);
    if (arg)
        snprintf(arg, len, "%s\n%s", path ? path : "", bundle);
    free(path);
    lv2_world_unlock();
    return arg;
}

int lv2_host_prepare(const char *arg, char *err)
{
    const char *nl = strchr(arg, '\n');
    size_t plen = nl ? (size_t)(nl - arg) : strlen(arg);
    /* A host group's host loads several plugins: the world is made once,
     * from the first one's path (the daemon gives each the same). */
    if (plen > 0 && !host_path && !(host_path = strndup(arg, plen)))
        return fail(err, VST_E_NOMEM, "out of memory");
    LilvWorld *w = lv2_world_lock();
    if (!w) {
        lv2_world_unlock();
        return fail(err, VST_E_NOMEM, "cannot create the LV2 world");
    }
    if (nl && nl[1]) {
        /* A bundle the daemon read outside the path (unconfined). */
        LilvNode *b = lilv_new_uri(w, nl + 1);
        const LilvPlugins *all = lilv_world_get_all_plugins(w);
        bool have = false;
        LILV_FOREACH (plugins, i, all)
            if (lilv_node_equals(lilv_plugin_get_bundle_uri(lilv_plugins_get(all, i)), b))
                have = true;
        if (b && !have)
            lilv_world_load_bundle(w, b);
        lilv_node_free(b);
    }
    lv2_world_unlock();
    return VST_OK;
}

/* ---- features ---- */

/* What sonod gives every plugin (lv2_effect.c builds them), plus the
 * lv2core "features" that are promises about the host's behaviour. */
static const char *const supported[] = {
    LV2_URID__map,
    LV2_URID__unmap,
    LV2_OPTIONS__options,
    LV2_BUF_SIZE__boundedBlockLength,
    LV2_WORKER__schedule,
    LV2_LOG__log,
    LV2_STATE__loadDefaultState,
    LV2_STATE__makePath,
    LV2_STATE__mapPath,
    LV2_STATE__freePath,
    LV2_CORE__hardRTCapable,
    LV2_CORE__inPlaceBroken,   /* inputs are always copied: never in place */
    LV2_CORE__isLive,
    "http://lv2plug.in/ns/ext/port-props#supportsStrictBounds",
    NULL,
};

/* NULL when sonod can host the plugin, else why not (into why). */
const char *lv2_unsupported(LilvWorld *w, const LilvPlugin *p, char *why, size_t len)
{
    LilvNodes *req = lilv_plugin_get_required_features(p);
    const char *res = NULL;
    LILV_FOREACH (nodes, i, req) {
        const char *f = lilv_node_as_uri(lilv_nodes_get(req, i));
        bool ok = false;
        for (unsigned k = 0; supported[k]; k++)
            ok = ok || strcmp(f, supported[k]) == 0;
        if (!ok) {
            snprintf(why, len,
                     "the plugin requires the LV2 feature %s, which sonod does not provide", f);
            res = why;
            break;
        }
    }
    lilv_nodes_free(req);
    (void)w;
    return res;
}

/* ---- the scan ---- */

/* The description a scan gives, from the plugin's data alone. */
void lv2_describe(LilvWorld *w, const LilvPlugin *p, vst_info *info)
{
    memset(info, 0, sizeof *info);
    LilvNode *name = lilv_plugin_get_name(p);
    snprintf(info->name, sizeof info->name, "%s", name ? lilv_node_as_string(name) : "");
    lilv_node_free(name);
    LilvNode *author = lilv_plugin_get_author_name(p);
    snprintf(info->vendor, sizeof info->vendor, "%s", author ? lilv_node_as_string(author) : "");
    lilv_node_free(author);
    snprintf(info->product, sizeof info->product, "%s", info->name);
    LilvNode *audio = lilv_new_uri(w, LV2_CORE__AudioPort);
    LilvNode *control = lilv_new_uri(w, LV2_CORE__ControlPort);
    LilvNode *input = lilv_new_uri(w, LV2_CORE__InputPort);
    LilvNode *output = lilv_new_uri(w, LV2_CORE__OutputPort);
    LilvNode *cv = lilv_new_uri(w, LV2_CORE__CVPort);
    /* CV ports are graph ports like audio ones (lv2_effect.c). */
    info->num_inputs = (int32_t)(lilv_plugin_get_num_ports_of_class(p, audio, input, NULL) +
                                 lilv_plugin_get_num_ports_of_class(p, cv, input, NULL));
    info->num_outputs = (int32_t)(lilv_plugin_get_num_ports_of_class(p, audio, output, NULL) +
                                  lilv_plugin_get_num_ports_of_class(p, cv, output, NULL));
    lilv_node_free(cv);
    info->num_params = (int32_t)lilv_plugin_get_num_ports_of_class(p, control, input, NULL);
    lilv_node_free(audio);
    lilv_node_free(control);
    lilv_node_free(input);
    lilv_node_free(output);
    LilvNode *pset = lilv_new_uri(w, LV2_PRESETS__Preset);
    LilvNodes *presets = lilv_plugin_get_related(p, pset);
    info->num_programs = presets ? (int32_t)lilv_nodes_size(presets) : 0;
    lilv_nodes_free(presets);
    lilv_node_free(pset);
    const LilvPluginClass *cls = lilv_plugin_get_class(p);
    const char *cu = cls ? lilv_node_as_uri(lilv_plugin_class_get_uri(cls)) : "";
    info->is_synth = strcmp(cu, LV2_CORE__InstrumentPlugin) == 0;
    info->category = info->is_synth ? kPlugCategSynth : kPlugCategEffect;
    info->vst_version = 2400;
    info->has_chunks = true;
    info->flags = effFlagsCanReplacing | effFlagsProgramChunks | (info->is_synth ? effFlagsIsSynth : 0);
    snprintf(info->unique_id_str, sizeof info->unique_id_str, "lv2");
}

unsigned lv2_scan(lv2_scan_cb cb, void *ud)
{
    LilvWorld *w = lv2_world_lock();
    unsigned count = 0;
    if (!w) {
        lv2_world_unlock();
        return 0;
    }
    const LilvPlugins *all = lilv_world_get_all_plugins(w);
    LILV_FOREACH (plugins, i, all) {
        const LilvPlugin *p = lilv_plugins_get(all, i);
        const char *uri = lilv_node_as_uri(lilv_plugin_get_uri(p));
        char *bundle = lilv_file_uri_parse(lilv_node_as_uri(lilv_plugin_get_bundle_uri(p)), NULL);
        char why[VST_ERR_LEN];
        vst_info info;
        lv2_describe(w, p, &info);
        int status = VST_OK;
        const char *no = lv2_unsupported(w, p, why, sizeof why);
        if (no)
            status = VST_E_UNSUPPORTED;
        else if ((status = check_binary(p, why)) != VST_OK)
            no = why;
        cb(ud, uri, bundle ? bundle : "", status, &info, no);
        lilv_free(bundle);
        count++;
    }
    lv2_world_unlock();
    return count;
}
