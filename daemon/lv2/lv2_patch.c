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

int lv2_patch_describe(lv2_fx *fx, LilvWorld *w)
{
    LilvNode *writable = lilv_new_uri(w, LV2_PATCH__writable);
    LilvNode *readable = lilv_new_uri(w, LV2_PATCH__readable);
    int rc = add_props(fx, w, writable, true);
    if (rc == VST_OK)
        rc = add_props(fx, w, readable, false);
    lilv_node_free(writable);
    lilv_node_free(readable);
    return rc;
}

int lv2_patch_load(lv2_fx *fx, LilvWorld *w)
{
    int rc = lv2_patch_describe(fx, w);
    if (rc == VST_OK && fx->nprops && fx->patch_port >= 0) {
        fx->patch_scratch = malloc(PATCH_MAX);
        if (!fx->patch_scratch || lv2_ring_init(&fx->patches, PATCH_RING) != 0 ||
            lv2_ring_init(&fx->rpatches, PATCH_RING) != 0)
            rc = VST_E_NOMEM;
        lv2_atom_forge_init(&fx->pforge, lv2_urid_map());
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
    lv2_ring_free(&fx->rpatches);
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
                                      uint32_t slen, double num, bool *ok)
{
    *ok = true;
    if (strcmp(range, LV2_ATOM__Path) == 0 && str)
        return lv2_atom_forge_path(f, str, slen);
    if ((strcmp(range, LV2_ATOM__String) == 0 || range[0] == '\0') && str)
        return lv2_atom_forge_string(f, str, slen);
    if (strcmp(range, LV2_ATOM__URI) == 0 && str)
        return lv2_atom_forge_uri(f, str, slen);
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

/* Property i's patch:Set {property, value} (str, slen bytes, for a
 * string range, else num) into buf with forge f: the atom's whole size,
 * or 0 with err (VST_E_PARAM_VALUE) when the value does not fit the range
 * or the message.  Cached URIDs, no allocation: any thread. */
static uint32_t forge_set(const lv2_fx *fx, LV2_Atom_Forge *f, int i, const char *str,
                          uint32_t slen, double num, uint8_t *buf, uint32_t cap, char *err)
{
    const lv2_prop *p = &fx->props[i];
    LV2_Atom_Forge_Frame obj;
    bool ok;
    lv2_atom_forge_set_buffer(f, buf, cap);
    LV2_Atom_Forge_Ref top = lv2_atom_forge_object(f, &obj, 0, fx->urid_cache[U_PATCH_SET]);
    lv2_atom_forge_key(f, fx->urid_cache[U_PATCH_PROPERTY]);
    lv2_atom_forge_urid(f, p->urid);
    lv2_atom_forge_key(f, fx->urid_cache[U_PATCH_VALUE]);
    LV2_Atom_Forge_Ref v = forge_value(f, p->range, str, slen, num, &ok);
    lv2_atom_forge_pop(f, &obj);
    if (!ok) {
        vst_fail(err, VST_E_PARAM_VALUE, "%s takes %s", p->uri, p->range[0] ? p->range : "a string");
        return 0;
    }
    if (!top || !v) {
        vst_fail(err, VST_E_PARAM_VALUE,
                 "the value is too long (a property message holds at most %u bytes)", PATCH_MAX);
        return 0;
    }
    return (uint32_t)sizeof(LV2_Atom) + ((const LV2_Atom *)buf)->size;
}

/* patch:Get {property k} into buf: its whole size, 0 when it does not fit.  any */
static uint32_t forge_get(const lv2_fx *fx, LV2_Atom_Forge *f, int k, uint8_t *buf, uint32_t cap)
{
    LV2_Atom_Forge_Frame obj;
    lv2_atom_forge_set_buffer(f, buf, cap);
    LV2_Atom_Forge_Ref top = lv2_atom_forge_object(f, &obj, 0, fx->urid_cache[U_PATCH_GET]);
    lv2_atom_forge_key(f, fx->urid_cache[U_PATCH_PROPERTY]);
    LV2_Atom_Forge_Ref v = lv2_atom_forge_urid(f, fx->props[k].urid);
    lv2_atom_forge_pop(f, &obj);
    return top && v ? (uint32_t)sizeof(LV2_Atom) + ((const LV2_Atom *)buf)->size : 0;
}

/* The checks of a change (lv2_patch_set and lv2_patch_message agree):
 * the message forged into buf (PATCH_MAX bytes), its size in *len. */
static int check_set(lv2_fx *fx, int i, const char *str, double num, uint8_t *buf, uint32_t *len,
                     char *err)
{
    LV2_Atom_Forge f;
    if (i < 0 || i >= lv2_property_count(fx))
        return vst_fail(err, VST_E_PARAM_INDEX, "no such property");
    if (!fx->props[i].writable)
        return vst_fail(err, VST_E_PARAM_VALUE, "%s is read-only (patch:readable)", fx->props[i].uri);
    lv2_atom_forge_init(&f, lv2_urid_map());
    *len = forge_set(fx, &f, i, str, str ? (uint32_t)strlen(str) : 0, num, buf, PATCH_MAX, err);
    return *len ? VST_OK : VST_E_PARAM_VALUE;
}

int lv2_patch_set(lv2_fx *fx, int i, const char *str, double num, char *err)
{
    uint8_t buf[PATCH_MAX];
    uint32_t len;
    int rc = check_set(fx, i, str, num, buf, &len, err);
    if (rc != VST_OK)
        return rc;
    if (lv2_ring_write(&fx->patches, buf, len) != 0)
        return vst_fail(err, VST_E_FULL, "too many property changes are waiting for the audio thread");
    /* Asked back in the same block, after the change. */
    (void)lv2_patch_get(fx, i, NULL);
    return VST_OK;
}

int lv2_patch_get(lv2_fx *fx, int i, char *err)
{
    if (i < -1 || i >= lv2_property_count(fx))
        return vst_fail(err, VST_E_PARAM_INDEX, "no such property");
    /* One patch:Get per property: a patch:Get without a property means
     * "all" in the specification, but not every plugin answers it. */
    for (int k = i < 0 ? 0 : i; k < (i < 0 ? lv2_property_count(fx) : i + 1); k++) {
        LV2_Atom_Forge f;
        uint8_t buf[256];
        lv2_atom_forge_init(&f, lv2_urid_map());
        uint32_t len = forge_get(fx, &f, k, buf, sizeof buf);
        if (!len || lv2_ring_write(&fx->patches, buf, len) != 0)
            return vst_fail(err, VST_E_FULL,
                            "too many property messages are waiting for the audio thread");
    }
    return VST_OK;
}

/* A value the plugin reported, read out of its patch:Set (pointing into
 * it: no copy). */
typedef struct report {
    int index;
    lv2_value_kind kind;
    double num;
    const char *str;     /* LV2V_STRING: slen bytes, no NUL */
    uint32_t slen;
} report;

/* One patch:Set the plugin sent (len bytes at a): its property and new
 * value, or false.  Cached URIDs, no allocation: any thread. */
static bool decode_report(const lv2_fx *fx, const LV2_Atom *a, uint32_t len, report *r)
{
    const uint32_t *u = fx->urid_cache;
    if (len < sizeof *a + sizeof(LV2_Atom_Object_Body) || a->type != u[U_ATOM_OBJECT] ||
        a->size > len - sizeof *a)
        return false;
    const LV2_Atom_Object *o = (const LV2_Atom_Object *)a;
    const LV2_Atom *prop = NULL, *val = NULL;
    lv2_atom_object_get(o, u[U_PATCH_PROPERTY], &prop, u[U_PATCH_VALUE], &val, 0);
    if (!prop || !val || prop->type != u[U_ATOM_URID] || prop->size < sizeof(LV2_URID))
        return false;
    LV2_URID key = ((const LV2_Atom_URID *)prop)->body;
    r->index = -1;
    for (unsigned k = 0; k < fx->nprops; k++)
        if (fx->props[k].urid == key)
            r->index = (int)k;
    if (r->index < 0)
        return false;
    const void *body = LV2_ATOM_BODY_CONST(val);
    r->str = NULL;
    r->slen = 0;
    r->num = 0;
    if (val->type == u[U_ATOM_PATH] || val->type == u[U_ATOM_STRING] || val->type == u[U_ATOM_URI]) {
        r->str = body;
        r->slen = (uint32_t)strnlen(body, val->size);
        r->kind = LV2V_STRING;
    } else if (val->type == u[U_ATOM_BOOL] && val->size >= sizeof(int32_t)) {
        r->num = *(const int32_t *)body != 0;
        r->kind = LV2V_BOOL;
    } else if (val->type == u[U_ATOM_FLOAT] && val->size >= sizeof(float)) {
        r->num = *(const float *)body;
        r->kind = LV2V_NUMBER;
    } else if (val->type == u[U_ATOM_DOUBLE] && val->size >= sizeof(double)) {
        r->num = *(const double *)body;
        r->kind = LV2V_NUMBER;
    } else if (val->type == u[U_ATOM_INT] && val->size >= sizeof(int32_t)) {
        r->num = *(const int32_t *)body;
        r->kind = LV2V_NUMBER;
    } else if (val->type == u[U_ATOM_LONG] && val->size >= sizeof(int64_t)) {
        r->num = (double)*(const int64_t *)body;
        r->kind = LV2V_NUMBER;
    } else {
        return false;
    }
    return true;
}

/* The property's value as reported (control side: the string copied). */
static void store_value(lv2_prop *q, lv2_value_kind kind, const char *str, uint32_t slen, double num)
{
    if (kind == LV2V_STRING) {
        char *copy = strndup(str, slen);
        if (!copy)
            return;
        free(q->str);
        q->str = copy;
        q->num = 0;
    } else {
        free(q->str);
        q->str = NULL;
        q->num = num;
    }
    q->kind = kind;
    q->changed = true;
}

/* ---- an isolated plugin's properties, across the process boundary ---- */

/* A property message between the daemon and an isolated plugin's host
 * (through the VST2 layer's region rings): no URIDs, each process has its
 * own map.  The header, then `len` string bytes (no NUL). */
typedef struct lv2_wire {
    uint32_t op;         /* WIRE_SET: daemon -> host; WIRE_REPORT: host -> daemon */
    int32_t index;       /* the property (both read the same plugin data) */
    uint32_t kind;       /* lv2_value_kind (a change: LV2V_STRING or LV2V_NUMBER) */
    uint32_t len;        /* string bytes after the header */
    double num;
} lv2_wire;

#define WIRE_SET 0x53324c76u
#define WIRE_REPORT 0x52324c76u

int lv2_patch_message(lv2_fx *fx, int i, const char *str, double num, void *out, uint32_t cap,
                      uint32_t *len, char *err)
{
    uint8_t buf[PATCH_MAX];
    uint32_t alen;
    int rc = check_set(fx, i, str, num, buf, &alen, err);
    if (rc != VST_OK)
        return rc;
    lv2_wire w = {WIRE_SET, i, str ? LV2V_STRING : LV2V_NUMBER, str ? (uint32_t)strlen(str) : 0, num};
    if (w.len > cap || cap - w.len < sizeof w)
        return vst_fail(err, VST_E_PARAM_VALUE,
                        "the value is too long for the plugin's host (%zu bytes, at most %u)",
                        sizeof w + w.len, cap);
    memcpy(out, &w, sizeof w);
    memcpy((uint8_t *)out + sizeof w, str, w.len);
    *len = (uint32_t)sizeof w + w.len;
    return VST_OK;
}

int lv2_host_message_in(struct AEffect *e, const void *msg, uint32_t len)
{
    lv2_fx *fx = lv2_of(e);
    uint8_t set[PATCH_MAX], get[256];
    lv2_wire w;
    if (!fx || !fx->rpatches.buf || len < sizeof w)
        return 0;
    memcpy(&w, msg, sizeof w);
    if (w.op != WIRE_SET || w.index < 0 || w.index >= lv2_property_count(fx) ||
        w.len != len - sizeof w || !fx->props[w.index].writable)
        return 0;   /* not one of ours: dropped */
    const char *str = w.kind == LV2V_STRING ? (const char *)msg + sizeof w : NULL;
    uint32_t sl = forge_set(fx, &fx->pforge, w.index, str, str ? w.len : 0, w.num, set, sizeof set,
                            NULL);
    uint32_t gl = forge_get(fx, &fx->pforge, w.index, get, sizeof get);
    if (!sl || !gl)
        return 0;
    /* The change and its patch:Get together, or later. */
    if (lv2_ring_room(&fx->rpatches) < sl + 4u + gl)
        return -1;
    (void)lv2_ring_write(&fx->rpatches, set, sl);
    (void)lv2_ring_write(&fx->rpatches, get, gl);
    return 0;
}

uint32_t lv2_host_message_out(struct AEffect *e, void *out, uint32_t cap)
{
    lv2_fx *fx = lv2_of(e);
    _Alignas(LV2_Atom) uint8_t atom[PATCH_MAX];
    uint32_t len;
    report r;
    if (!fx || !fx->reports.buf)
        return 0;
    while ((len = lv2_ring_peek(&fx->reports)) != 0) {
        if (len <= PATCH_MAX && len > cap)
            return 0;   /* waits for room */
        lv2_ring_read(&fx->reports, atom, sizeof atom);
        if (len > PATCH_MAX || !decode_report(fx, (const LV2_Atom *)atom, len, &r))
            continue;
        lv2_wire w = {WIRE_REPORT, r.index, r.kind, r.slen, r.num};
        if (r.slen > cap || cap - r.slen < sizeof w)
            continue;   /* cannot be: the message is shorter than the atom */
        memcpy(out, &w, sizeof w);
        memcpy((uint8_t *)out + sizeof w, r.str, r.slen);
        return (uint32_t)sizeof w + r.slen;
    }
    return 0;
}

void lv2_property_message(lv2_fx *fx, const void *msg, uint32_t len)
{
    lv2_wire w;
    if (len < sizeof w)
        return;
    memcpy(&w, msg, sizeof w);
    /* The host's word: checked before it is used. */
    if (w.op != WIRE_REPORT || w.index < 0 || w.index >= lv2_property_count(fx) ||
        w.len != len - sizeof w ||
        (w.kind != LV2V_STRING && w.kind != LV2V_NUMBER && w.kind != LV2V_BOOL))
        return;
    store_value(&fx->props[w.index], (lv2_value_kind)w.kind, (const char *)msg + sizeof w, w.len,
                w.num);
}

unsigned lv2_take_property_changes(lv2_fx *fx, int *out, unsigned max)
{
    uint32_t len;
    unsigned n = 0;
    report r;
    /* In the daemon: what the audio thread took (an isolated node's
     * description has no ring: lv2_property_message stored its values). */
    while (fx->report_scratch && (len = lv2_ring_peek(&fx->reports)) != 0) {
        lv2_ring_read(&fx->reports, fx->report_scratch, PATCH_MAX);
        if (len <= PATCH_MAX && decode_report(fx, (const LV2_Atom *)fx->report_scratch, len, &r))
            store_value(&fx->props[r.index], r.kind, r.str, r.slen, r.num);
    }
    for (unsigned k = 0; k < fx->nprops && n < max; k++)
        if (fx->props[k].changed) {
            fx->props[k].changed = false;
            out[n++] = (int)k;
        }
    return n;
}
