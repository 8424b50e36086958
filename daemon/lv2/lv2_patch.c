/* lv2_patch.c - LV2 parameters that are not control ports: the plugin's
 * patch:writable properties (a file such as an impulse response or a
 * sound font, a number, a string), set with patch:Set messages (control
 * side).
 *
 * The message is built here (an atom object: patch:Set {patch:property,
 * patch:value}) and goes to the audio thread through a lock-free ring; the
 * audio thread puts it, whole, at frame 0 of the plugin's control atom
 * input (the one supporting patch:Message) in its next call
 * (lv2_process_rt.c).  A plugin that loads a file for it does so through
 * its worker. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lv2/atom/forge.h>
#include <lv2/patch/patch.h>

#include "daemon/file/file.h"
#include "daemon/lv2/lv2_internal.h"

#define RDFS_LABEL "http://www.w3.org/2000/01/rdf-schema#label"
#define RDFS_RANGE "http://www.w3.org/2000/01/rdf-schema#range"
#define PATCH_RING (1u << 16)
#define PATCH_MAX 4096u        /* the largest message */

int lv2_patch_load(lv2_fx *fx, LilvWorld *w)
{
    LilvNode *writable = lilv_new_uri(w, LV2_PATCH__writable);
    LilvNode *label = lilv_new_uri(w, RDFS_LABEL);
    LilvNode *range = lilv_new_uri(w, RDFS_RANGE);
    LilvNodes *props = lilv_world_find_nodes(w, lilv_plugin_get_uri(fx->plugin), writable, NULL);
    unsigned n = props ? lilv_nodes_size(props) : 0;
    int rc = VST_OK;
    fx->props = calloc(n ? n : 1, sizeof *fx->props);
    if (!fx->props) {
        rc = VST_E_NOMEM;
        goto out;
    }
    LILV_FOREACH (nodes, i, props) {
        const LilvNode *p = lilv_nodes_get(props, i);
        if (!lilv_node_is_uri(p))
            continue;
        LilvNode *l = lilv_world_get(w, p, label, NULL);
        LilvNode *r = lilv_world_get(w, p, range, NULL);
        lv2_prop *q = &fx->props[fx->nprops];
        q->uri = strdup(lilv_node_as_uri(p));
        q->label = strdup(l ? lilv_node_as_string(l) : "");
        q->range = strdup(r && lilv_node_is_uri(r) ? lilv_node_as_uri(r) : "");
        lilv_node_free(l);
        lilv_node_free(r);
        if (!q->uri || !q->label || !q->range) {
            free(q->uri);
            free(q->label);
            free(q->range);
            rc = VST_E_NOMEM;
            break;
        }
        fx->nprops++;
    }
    if (rc == VST_OK && fx->nprops && fx->patch_port >= 0) {
        fx->patch_scratch = malloc(PATCH_MAX);
        if (!fx->patch_scratch || lv2_ring_init(&fx->patches, PATCH_RING) != 0)
            rc = VST_E_NOMEM;
    }
out:
    lilv_nodes_free(props);
    lilv_node_free(writable);
    lilv_node_free(label);
    lilv_node_free(range);
    return rc;
}

void lv2_patch_free(lv2_fx *fx)
{
    for (unsigned i = 0; i < fx->nprops; i++) {
        free(fx->props[i].uri);
        free(fx->props[i].label);
        free(fx->props[i].range);
    }
    free(fx->props);
    fx->props = NULL;
    fx->nprops = 0;
    lv2_ring_free(&fx->patches);
    free(fx->patch_scratch);
    fx->patch_scratch = NULL;
}

int lv2_property_count(const lv2_fx *fx) { return fx->patch_port >= 0 ? (int)fx->nprops : 0; }

int lv2_property_get(const lv2_fx *fx, int i, lv2_property *out)
{
    if (i < 0 || i >= lv2_property_count(fx))
        return VST_E_PARAM_INDEX;
    out->uri = fx->props[i].uri;
    out->label = fx->props[i].label;
    out->range = fx->props[i].range;
    return VST_OK;
}

int lv2_property_find(const lv2_fx *fx, const char *uri)
{
    for (int i = 0; i < lv2_property_count(fx); i++)
        if (strcmp(fx->props[i].uri, uri) == 0)
            return i;
    return -1;
}

/* The value as the property's range wants it. */
static LV2_Atom_Forge_Ref forge_value(LV2_Atom_Forge *f, const char *range, const char *str,
                                      double num, bool *ok)
{
    *ok = true;
    if (strcmp(range, LV2_ATOM__Path) == 0 && str)
        return lv2_atom_forge_path(f, str, (uint32_t)strlen(str));
    if ((strcmp(range, LV2_ATOM__String) == 0 || range[0] == '\0') && str)
        return lv2_atom_forge_string(f, str, (uint32_t)strlen(str));
    if (strcmp(range, LV2_ATOM__URI) == 0 && str)
        return lv2_atom_forge_uri(f, str, (uint32_t)strlen(str));
    if (!str) {
        if (strcmp(range, LV2_ATOM__Float) == 0)
            return lv2_atom_forge_float(f, (float)num);
        if (strcmp(range, LV2_ATOM__Double) == 0)
            return lv2_atom_forge_double(f, num);
        if (strcmp(range, LV2_ATOM__Int) == 0)
            return lv2_atom_forge_int(f, (int32_t)num);
        if (strcmp(range, LV2_ATOM__Long) == 0)
            return lv2_atom_forge_long(f, (int64_t)num);
        if (strcmp(range, LV2_ATOM__Bool) == 0)
            return lv2_atom_forge_bool(f, num != 0.0);
    }
    *ok = false;
    return 0;
}

int lv2_patch_set(lv2_fx *fx, int i, const char *str, double num, char *err)
{
    if (i < 0 || i >= lv2_property_count(fx))
        return vst_fail(err, VST_E_PARAM_INDEX, "no such property");
    const lv2_prop *p = &fx->props[i];
    LV2_URID_Map *m = lv2_urid_map();
    LV2_Atom_Forge f;
    LV2_Atom_Forge_Frame obj;
    uint8_t buf[PATCH_MAX];
    bool ok;
    lv2_atom_forge_init(&f, m);
    lv2_atom_forge_set_buffer(&f, buf, sizeof buf);
    LV2_Atom_Forge_Ref top = lv2_atom_forge_object(&f, &obj, 0, m->map(m->handle, LV2_PATCH__Set));
    lv2_atom_forge_key(&f, m->map(m->handle, LV2_PATCH__property));
    lv2_atom_forge_urid(&f, m->map(m->handle, p->uri));
    lv2_atom_forge_key(&f, m->map(m->handle, LV2_PATCH__value));
    LV2_Atom_Forge_Ref v = forge_value(&f, p->range, str, num, &ok);
    lv2_atom_forge_pop(&f, &obj);
    if (!ok)
        return vst_fail(err, VST_E_PARAM_VALUE, "%s takes %s", p->uri,
                        p->range[0] ? p->range : "a string");
    if (!top || !v)
        return vst_fail(err, VST_E_PARAM_VALUE, "the value is too long");
    const LV2_Atom *a = (const LV2_Atom *)buf;
    if (lv2_ring_write(&fx->patches, buf, (uint32_t)sizeof(LV2_Atom) + a->size) != 0)
        return vst_fail(err, VST_E_FULL, "too many property changes are waiting for the audio thread");
    return VST_OK;
}
