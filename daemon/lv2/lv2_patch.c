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
#include <lv2/atom/util.h>
#include <lv2/patch/patch.h>

#include "daemon/file/file.h"
#include "daemon/lv2/lv2_internal.h"

#define RDFS_LABEL "http://www.w3.org/2000/01/rdf-schema#label"
#define RDFS_RANGE "http://www.w3.org/2000/01/rdf-schema#range"
#define PATCH_RING (1u << 16)
#define PATCH_MAX LV2_PATCH_MAX

/* The plugin's properties with predicate `pred` (writable or readable)
 * that are not listed yet. */
static int add_props(lv2_fx *fx, LilvWorld *w, const LilvNode *pred, bool writable)
{
    LilvNode *label = lilv_new_uri(w, RDFS_LABEL);
    LilvNode *range = lilv_new_uri(w, RDFS_RANGE);
    LilvNodes *props = lilv_world_find_nodes(w, lilv_plugin_get_uri(fx->plugin), pred, NULL);
    unsigned n = props ? lilv_nodes_size(props) : 0;
    int rc = VST_OK;
    lv2_prop *grown = realloc(fx->props, (fx->nprops + n + 1) * sizeof *fx->props);
    if (!grown) {
        rc = VST_E_NOMEM;
        goto out;
    }
    fx->props = grown;
    LILV_FOREACH (nodes, i, props) {
        const LilvNode *p = lilv_nodes_get(props, i);
        if (!lilv_node_is_uri(p) || lv2_property_find(fx, lilv_node_as_uri(p)) >= 0)
            continue;
        LilvNode *l = lilv_world_get(w, p, label, NULL);
        LilvNode *r = lilv_world_get(w, p, range, NULL);
        lv2_prop *q = &fx->props[fx->nprops];
        memset(q, 0, sizeof *q);
        q->uri = strdup(lilv_node_as_uri(p));
        q->label = strdup(l ? lilv_node_as_string(l) : "");
        q->range = strdup(r && lilv_node_is_uri(r) ? lilv_node_as_uri(r) : "");
        q->writable = writable;
        lilv_node_free(l);
        lilv_node_free(r);
        if (!q->uri || !q->label || !q->range) {
            free(q->uri);
            free(q->label);
            free(q->range);
            rc = VST_E_NOMEM;
            break;
        }
        LV2_URID_Map *m = lv2_urid_map();
        q->urid = m->map(m->handle, q->uri);
        fx->nprops++;
    }
out:
    lilv_nodes_free(props);
    lilv_node_free(label);
    lilv_node_free(range);
    return rc;
}

int lv2_patch_load(lv2_fx *fx, LilvWorld *w)
{
    LilvNode *writable = lilv_new_uri(w, LV2_PATCH__writable);
    LilvNode *readable = lilv_new_uri(w, LV2_PATCH__readable);
    int rc = add_props(fx, w, writable, true);
    if (rc == VST_OK)
        rc = add_props(fx, w, readable, false);
    lilv_node_free(writable);
    lilv_node_free(readable);
    if (rc == VST_OK && fx->nprops && fx->patch_port >= 0) {
        fx->patch_scratch = malloc(PATCH_MAX);
        if (!fx->patch_scratch || lv2_ring_init(&fx->patches, PATCH_RING) != 0)
            rc = VST_E_NOMEM;
        /* The plugin's answers come back on its atom outputs. */
        if (rc == VST_OK && fx->natout &&
            (!(fx->report_scratch = malloc(PATCH_MAX)) ||
             lv2_ring_init(&fx->reports, PATCH_RING) != 0))
            rc = VST_E_NOMEM;
    }
    /* What it holds at the start: asked in its first block. */
    if (rc == VST_OK)
        (void)lv2_patch_get(fx, -1, NULL);
    return rc;
}

void lv2_patch_free(lv2_fx *fx)
{
    for (unsigned i = 0; i < fx->nprops; i++) {
        free(fx->props[i].uri);
        free(fx->props[i].label);
        free(fx->props[i].range);
        free(fx->props[i].str);
    }
    free(fx->props);
    fx->props = NULL;
    fx->nprops = 0;
    lv2_ring_free(&fx->patches);
    free(fx->patch_scratch);
    fx->patch_scratch = NULL;
    lv2_ring_free(&fx->reports);
    free(fx->report_scratch);
    fx->report_scratch = NULL;
}

int lv2_property_count(const lv2_fx *fx) { return fx->patch_port >= 0 ? (int)fx->nprops : 0; }

int lv2_property_get(const lv2_fx *fx, int i, lv2_property *out)
{
    if (i < 0 || i >= lv2_property_count(fx))
        return VST_E_PARAM_INDEX;
    const lv2_prop *q = &fx->props[i];
    out->uri = q->uri;
    out->label = q->label;
    out->range = q->range;
    out->writable = q->writable;
    out->kind = q->kind;
    out->str = q->str;
    out->num = q->num;
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
    if (!p->writable)
        return vst_fail(err, VST_E_PARAM_VALUE, "%s is read-only (patch:readable)", p->uri);
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
    /* Asked back in the same block, after the change. */
    (void)lv2_patch_get(fx, i, NULL);
    return VST_OK;
}

int lv2_patch_get(lv2_fx *fx, int i, char *err)
{
    if (i < -1 || i >= lv2_property_count(fx))
        return vst_fail(err, VST_E_PARAM_INDEX, "no such property");
    LV2_URID_Map *m = lv2_urid_map();
    /* One patch:Get per property: a patch:Get without a property means
     * "all" in the specification, but not every plugin answers it. */
    for (int k = i < 0 ? 0 : i; k < (i < 0 ? lv2_property_count(fx) : i + 1); k++) {
        LV2_Atom_Forge f;
        LV2_Atom_Forge_Frame obj;
        uint8_t buf[256];
        lv2_atom_forge_init(&f, m);
        lv2_atom_forge_set_buffer(&f, buf, sizeof buf);
        lv2_atom_forge_object(&f, &obj, 0, m->map(m->handle, LV2_PATCH__Get));
        lv2_atom_forge_key(&f, m->map(m->handle, LV2_PATCH__property));
        lv2_atom_forge_urid(&f, fx->props[k].urid);
        lv2_atom_forge_pop(&f, &obj);
        const LV2_Atom *a = (const LV2_Atom *)buf;
        if (lv2_ring_write(&fx->patches, buf, (uint32_t)sizeof(LV2_Atom) + a->size) != 0)
            return vst_fail(err, VST_E_FULL,
                            "too many property messages are waiting for the audio thread");
    }
    return VST_OK;
}

/* One patch:Set the plugin sent: its property's new value. */
static void take_report(lv2_fx *fx, const LV2_Atom *a, uint32_t len)
{
    LV2_URID_Map *m = lv2_urid_map();
    if (len < sizeof *a + sizeof(LV2_Atom_Object_Body) || a->type != fx->urid_cache[U_ATOM_OBJECT] ||
        a->size > len - sizeof *a)
        return;
    const LV2_Atom_Object *o = (const LV2_Atom_Object *)a;
    const LV2_Atom *prop = NULL, *val = NULL;
    lv2_atom_object_get(o, fx->urid_cache[U_PATCH_PROPERTY], &prop, fx->urid_cache[U_PATCH_VALUE],
                        &val, 0);
    if (!prop || !val || prop->type != fx->urid_cache[U_ATOM_URID] || prop->size < sizeof(LV2_URID))
        return;
    LV2_URID key = ((const LV2_Atom_URID *)prop)->body;
    lv2_prop *q = NULL;
    for (unsigned k = 0; k < fx->nprops; k++)
        if (fx->props[k].urid == key)
            q = &fx->props[k];
    if (!q)
        return;
    const void *body = LV2_ATOM_BODY_CONST(val);
    if (val->type == m->map(m->handle, LV2_ATOM__Path) ||
        val->type == m->map(m->handle, LV2_ATOM__String) ||
        val->type == m->map(m->handle, LV2_ATOM__URI)) {
        char *str = strndup(body, val->size);
        if (!str)
            return;
        free(q->str);
        q->str = str;
        q->kind = LV2V_STRING;
    } else if (val->type == m->map(m->handle, LV2_ATOM__Bool) && val->size >= sizeof(int32_t)) {
        q->num = *(const int32_t *)body != 0;
        q->kind = LV2V_BOOL;
    } else if (val->type == fx->urid_cache[U_ATOM_FLOAT] && val->size >= sizeof(float)) {
        q->num = *(const float *)body;
        q->kind = LV2V_NUMBER;
    } else if (val->type == fx->urid_cache[U_ATOM_DOUBLE] && val->size >= sizeof(double)) {
        q->num = *(const double *)body;
        q->kind = LV2V_NUMBER;
    } else if (val->type == fx->urid_cache[U_ATOM_INT] && val->size >= sizeof(int32_t)) {
        q->num = *(const int32_t *)body;
        q->kind = LV2V_NUMBER;
    } else if (val->type == fx->urid_cache[U_ATOM_LONG] && val->size >= sizeof(int64_t)) {
        q->num = (double)*(const int64_t *)body;
        q->kind = LV2V_NUMBER;
    } else {
        return;
    }
    if (q->kind != LV2V_STRING) {
        free(q->str);
        q->str = NULL;
    }
    q->changed = true;
}

unsigned lv2_take_property_changes(lv2_fx *fx, int *out, unsigned max)
{
    uint32_t len;
    unsigned n = 0;
    if (!fx->report_scratch)
        return 0;
    while ((len = lv2_ring_peek(&fx->reports)) != 0) {
        lv2_ring_read(&fx->reports, fx->report_scratch, PATCH_MAX);
        if (len <= PATCH_MAX)
            take_report(fx, (const LV2_Atom *)fx->report_scratch, len);
    }
    for (unsigned k = 0; k < fx->nprops && n < max; k++)
        if (fx->props[k].changed) {
            fx->props[k].changed = false;
            out[n++] = (int)k;
        }
    return n;
}
