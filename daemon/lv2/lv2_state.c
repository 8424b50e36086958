/* lv2_state.c - an LV2 plugin's state and presets (control side).
 *
 * State: the plugin's whole state (control input values and, through
 * state:interface, whatever the plugin stores) as lilv's Turtle text; it
 * is the AEffect's chunk, so plugin.state.get/set and the session file
 * carry it unchanged.  Saving may run while the audio thread runs the
 * plugin (the LV2 state specification allows it); restoring may not, so
 * the audio thread is held out meanwhile (lv2_hold: silence for that
 * long).  Files the plugin names in its state are kept by absolute path
 * (lilv's mapPath with no save folder).
 *
 * Presets: the plugin's pset:Preset resources, as programs, in lilv's
 * order; selecting one restores it like a state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lv2/presets/presets.h>

#include "daemon/lv2/lv2_internal.h"

#define RDFS_LABEL "http://www.w3.org/2000/01/rdf-schema#label"

/* ---- port values, to and from lilv ---- */

static void set_value(const char *symbol, void *ud, const void *value, uint32_t size,
                      uint32_t type)
{
    lv2_fx *fx = ud;
    const uint32_t *u = fx->urid_cache;
    int k = lv2_param_by_symbol(fx, symbol);
    float v;
    if (k < 0 || !value)
        return;
    if (type == u[U_ATOM_FLOAT] && size == sizeof(float))
        v = *(const float *)value;
    else if (type == u[U_ATOM_DOUBLE] && size == sizeof(double))
        v = (float)*(const double *)value;
    else if (type == u[U_ATOM_INT] && size == sizeof(int32_t))
        v = (float)*(const int32_t *)value;
    else if (type == u[U_ATOM_LONG] && size == sizeof(int64_t))
        v = (float)*(const int64_t *)value;
    else
        return;
    lv2_store_f(&fx->target[k], v);
}

static const void *get_value(const char *symbol, void *ud, uint32_t *size, uint32_t *type)
{
    lv2_fx *fx = ud;
    int k = lv2_param_by_symbol(fx, symbol);
    if (k < 0) {
        *size = 0;
        return NULL;
    }
    fx->state_val = lv2_load_f(&fx->target[k]);
    *size = sizeof(float);
    *type = fx->urid_cache[U_ATOM_FLOAT];
    return &fx->state_val;
}

static void restore(lv2_fx *fx, LilvState *state)
{
    lv2_hold(fx);
    lilv_state_restore(state, fx->instance, set_value, fx, 0,
                       (const LV2_Feature *const *)fx->state_features);
    lv2_release(fx);
    /* Its properties may hold other values now: asked again. */
    (void)lv2_patch_get(fx, -1, NULL);
}

/* ---- presets ---- */

int lv2_presets_load(lv2_fx *fx, LilvWorld *w)
{
    LilvNode *pset = lilv_new_uri(w, LV2_PRESETS__Preset);
    LilvNode *label = lilv_new_uri(w, RDFS_LABEL);
    LilvNodes *list = lilv_plugin_get_related(fx->plugin, pset);
    unsigned n = list ? lilv_nodes_size(list) : 0;
    int rc = VST_OK;
    fx->presets = calloc(n ? n : 1, sizeof *fx->presets);
    fx->preset_names = calloc(n ? n : 1, sizeof *fx->preset_names);
    if (!fx->presets || !fx->preset_names) {
        rc = VST_E_NOMEM;
        goto out;
    }
    LILV_FOREACH (nodes, i, list) {
        const LilvNode *p = lilv_nodes_get(list, i);
        lilv_world_load_resource(w, p);
        LilvNode *name = lilv_world_get(w, p, label, NULL);
        fx->presets[fx->npresets] = lilv_node_duplicate(p);
        fx->preset_names[fx->npresets] =
            strdup(name ? lilv_node_as_string(name) : lilv_node_as_uri(p));
        lilv_node_free(name);
        if (!fx->presets[fx->npresets] || !fx->preset_names[fx->npresets]) {
            lilv_node_free(fx->presets[fx->npresets]);
            free(fx->preset_names[fx->npresets]);
            rc = VST_E_NOMEM;
            break;
        }
        fx->npresets++;
    }
    /* By name (lilv's order is its own): a program's number stays the same
     * from one run to the next. */
    for (int i = 1; i < fx->npresets; i++)
        for (int k = i; k > 0 && strcmp(fx->preset_names[k - 1], fx->preset_names[k]) > 0; k--) {
            char *tn = fx->preset_names[k];
            LilvNode *tp = fx->presets[k];
            fx->preset_names[k] = fx->preset_names[k - 1];
            fx->presets[k] = fx->presets[k - 1];
            fx->preset_names[k - 1] = tn;
            fx->presets[k - 1] = tp;
        }
out:
    lilv_nodes_free(list);
    lilv_node_free(pset);
    lilv_node_free(label);
    return rc;
}

void lv2_presets_free(lv2_fx *fx)
{
    for (int i = 0; i < fx->npresets; i++) {
        lilv_node_free(fx->presets[i]);
        free(fx->preset_names[i]);
    }
    free(fx->presets);
    free(fx->preset_names);
    fx->presets = NULL;
    fx->preset_names = NULL;
    fx->npresets = 0;
}

int lv2_preset_apply(lv2_fx *fx, int index)
{
    if (index < 0 || index >= fx->npresets)
        return VST_E_PROGRAM;
    LilvWorld *w = lv2_world_lock();
    LilvState *state = w ? lilv_state_new_from_world(w, lv2_urid_map(), fx->presets[index]) : NULL;
    lv2_world_unlock();
    if (!state)
        return VST_E_STATE;
    restore(fx, state);
    lilv_state_free(state);
    return VST_OK;
}

/* ---- the chunk ---- */

VstIntPtr lv2_chunk_get(lv2_fx *fx, void **out)
{
    if (!out)
        return 0;
    *out = NULL;
    LilvWorld *w = lv2_world_lock();
    LilvState *state = lilv_state_new_from_instance(
        fx->plugin, fx->instance, lv2_urid_map(), NULL, NULL, NULL, NULL, get_value, fx,
        LV2_STATE_IS_POD | LV2_STATE_IS_PORTABLE, (const LV2_Feature *const *)fx->state_features);
    char *text = state ? lilv_state_to_string(w, lv2_urid_map(), lv2_urid_unmap(), state,
                                              "urn:sonod:state", NULL)
                       : NULL;
    lilv_state_free(state);
    lv2_world_unlock();
    if (!text)
        return 0;
    free(fx->chunk);
    fx->chunk = strdup(text);
    lilv_free(text);
    if (!fx->chunk)
        return 0;
    *out = fx->chunk;
    return (VstIntPtr)strlen(fx->chunk);
}

VstIntPtr lv2_chunk_set(lv2_fx *fx, const void *data, size_t len)
{
    if (!data || len == 0)
        return 0;
    /* The VST2 layer passes a copy with a NUL after the end. */
    LilvWorld *w = lv2_world_lock();
    LilvState *state = w ? lilv_state_new_from_string(w, lv2_urid_map(), data) : NULL;
    bool ours = state && lilv_state_get_plugin_uri(state) &&
                strcmp(lilv_node_as_uri(lilv_state_get_plugin_uri(state)), fx->uri) == 0;
    lv2_world_unlock();
    if (!ours) {
        lilv_state_free(state);
        return 0;
    }
    restore(fx, state);
    lilv_state_free(state);
    return 1;
}

/* ---- the path features given at instantiation ---- */

/* makePath: files the plugin makes at run time go into a folder of its
 * own, made on first use and removed (when empty) at unload. */
static char *make_path(LV2_State_Make_Path_Handle h, const char *path)
{
    lv2_fx *fx = h;
    if (!fx->scratch_dir) {
        const char *base = getenv("TMPDIR");
        char tmpl[4096];
        snprintf(tmpl, sizeof tmpl, "%s/sonod-lv2-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(tmpl))
            return NULL;
        fx->scratch_dir = strdup(tmpl);
        if (!fx->scratch_dir)
            return NULL;
    }
    size_t len = strlen(fx->scratch_dir) + strlen(path) + 2;
    char *full = malloc(len);
    if (full)
        snprintf(full, len, "%s/%s", fx->scratch_dir, path);
    return full;
}

static char *abstract_path(LV2_State_Map_Path_Handle h, const char *absolute)
{
    (void)h;
    return strdup(absolute);
}

static char *absolute_path(LV2_State_Map_Path_Handle h, const char *abstract)
{
    lv2_fx *fx = h;
    if (abstract[0] == '/' || !fx->scratch_dir)
        return strdup(abstract);
    size_t len = strlen(fx->scratch_dir) + strlen(abstract) + 2;
    char *full = malloc(len);
    if (full)
        snprintf(full, len, "%s/%s", fx->scratch_dir, abstract);
    return full;
}

static void free_path(LV2_State_Free_Path_Handle h, char *path)
{
    (void)h;
    free(path);
}

void lv2_path_features(lv2_fx *fx)
{
    fx->make_path.handle = fx;
    fx->make_path.path = make_path;
    fx->map_path.handle = fx;
    fx->map_path.abstract_path = abstract_path;
    fx->map_path.absolute_path = absolute_path;
    fx->free_path.handle = fx;
    fx->free_path.free_path = free_path;
}

void lv2_path_cleanup(lv2_fx *fx)
{
    if (fx->scratch_dir)
        (void)rmdir(fx->scratch_dir);
    free(fx->scratch_dir);
    fx->scratch_dir = NULL;
}
