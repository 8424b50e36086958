/* vst_param.c - parameter descriptions, queries and immediate sets
 * (control side).
 *
 * Plugins ignore the documented 8-byte limit of the name/label/display
 * buffers (DPF writes 16, amsynth 32), so every query goes through a zeroed
 * VST2_STRING_BUFFER-byte buffer and is then truncated into the caller's.
 *
 * effGetParamName is often not a name people use: LSP answers internal ids
 * ("g_in"), DPF cuts names to 15 bytes ("Crossover freq 1" and "... 2" both
 * read "Crossover freq").  effGetParameterProperties' label is the long
 * name where plugins give one.  vst_params_prepare reads both once, makes
 * every name unique (" #2" for a repeat) and keeps them: the names a client
 * sees and sets by do not change while the instance lives. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon/vst/vst_instance.h"

int vst_param_count(const vst_instance *inst)
{
    return inst->effect->numParams;
}

static int check_index(const vst_instance *inst, int index, char *err)
{
    if (index < 0 || index >= inst->effect->numParams)
        return vst_fail(err, VST_E_PARAM_INDEX, "parameter index %d out of range (plugin has %d)",
                        index, inst->effect->numParams);
    return VST_OK;
}

int vst_param_check(const vst_instance *inst, int index, float value, char *err)
{
    int rc = check_index(inst, index, err);
    if (rc != VST_OK)
        return rc;
    if (!(value >= 0.0f && value <= 1.0f))
        return vst_fail(err, VST_E_PARAM_VALUE,
                        "parameter value %g out of range (normalised values are 0..1)",
                        (double)value);
    return VST_OK;
}

static int param_string(vst_instance *inst, int op, int index, char *buf, size_t len, char *err)
{
    int rc = check_index(inst, index, err);
    if (rc != VST_OK)
        return rc;
    char tmp[VST2_STRING_BUFFER] = {0};
    vst_dispatch(inst, op, index, 0, tmp, 0.0f);
    tmp[sizeof tmp - 1] = '\0';
    vst_copy_string(buf, len, tmp, sizeof tmp);
    return VST_OK;
}

/* ---- descriptions ---- */

/* A case-insensitive hash of a name, for the uniqueness check. */
static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint32_t)tolower((unsigned char)*s)) * 16777619u;
    return h;
}

/* Open-addressing set of the names taken so far (pointers into the
 * descriptions; case-insensitive). */
typedef struct name_set {
    const char **slot;
    size_t mask;
} name_set;

static bool set_has(const name_set *s, const char *name)
{
    for (size_t i = name_hash(name) & s->mask; s->slot[i]; i = (i + 1) & s->mask)
        if (strcasecmp(s->slot[i], name) == 0)
            return true;
    return false;
}

static void set_add(name_set *s, const char *name)
{
    size_t i = name_hash(name) & s->mask;
    while (s->slot[i])
        i = (i + 1) & s->mask;
    s->slot[i] = name;
}

static void describe(vst_instance *inst, int index, vst_param_info *p, char *long_name,
                     size_t long_len)
{
    char tmp[VST2_STRING_BUFFER];
    union {
        VstParameterProperties pp;
        unsigned char bytes[2 * sizeof(VstParameterProperties)];   /* room for a sloppy plugin */
    } u;

    param_string(inst, effGetParamName, index, tmp, sizeof tmp, NULL);
    p->short_name = strdup(tmp);
    memset(&u, 0, sizeof u);
    p->has_properties =
        vst_dispatch(inst, effGetParameterProperties, index, 0, &u.pp, 0.0f) != 0;
    long_name[0] = '\0';
    if (p->has_properties) {
        const VstParameterProperties *pp = &u.pp;
        vst_copy_string(long_name, long_len, pp->label, sizeof pp->label);
        p->flags = pp->flags;
        p->is_switch = (p->flags & kVstParameterIsSwitch) != 0;
        p->has_range = (p->flags & kVstParameterUsesIntegerMinMax) != 0;
        p->has_step = (p->flags & kVstParameterUsesFloatStep) != 0;
        p->has_int_step = (p->flags & kVstParameterUsesIntStep) != 0;
        if (p->has_range) {
            p->min = pp->minInteger;
            p->max = pp->maxInteger;
        }
        if (p->has_step) {
            p->step = pp->stepFloat;
            p->small_step = pp->smallStepFloat;
            p->large_step = pp->largeStepFloat;
        }
        if (p->has_int_step) {
            p->int_step = pp->stepInteger;
            p->int_large_step = pp->largeStepInteger;
        }
        if (p->flags & kVstParameterSupportsDisplayCategory) {
            vst_copy_string(tmp, sizeof tmp, pp->categoryLabel, sizeof pp->categoryLabel);
            if (tmp[0])
                p->category = strdup(tmp);
        }
    }
    if (!long_name[0])
        snprintf(long_name, long_len, "%s", p->short_name ? p->short_name : "");
    if (!long_name[0])
        snprintf(long_name, long_len, "Parameter %d", index);
    p->automatable = vst_dispatch(inst, effCanBeAutomated, index, 0, NULL, 0.0f) > 0;
}

void vst_params_free(vst_instance *inst)
{
    for (int i = 0; i < inst->nparams; i++) {
        free((char *)inst->params[i].name);
        free((char *)inst->params[i].short_name);
        free((char *)inst->params[i].category);
    }
    free(inst->params);
    inst->params = NULL;
    inst->nparams = 0;
}

int vst_params_prepare(vst_instance *inst, char *err)
{
    int n = inst->effect->numParams > 0 ? inst->effect->numParams : 0;
    if (inst->params && inst->nparams == n)
        return VST_OK;
    vst_params_free(inst);
    if (n == 0)
        return VST_OK;
    name_set taken = {0};
    size_t cap = 16;
    while (cap < 2 * (size_t)n)
        cap *= 2;
    taken.mask = cap - 1;
    taken.slot = calloc(cap, sizeof *taken.slot);
    inst->params = calloc((size_t)n, sizeof *inst->params);
    if (!taken.slot || !inst->params) {
        free(taken.slot);
        free(inst->params);
        inst->params = NULL;
        return vst_fail(err, VST_E_NOMEM, "out of memory describing %d parameters", n);
    }
    inst->nparams = n;
    bool nomem = false;
    for (int i = 0; i < n; i++) {
        vst_param_info *p = &inst->params[i];
        char name[VST_STR_LEN], unique[VST_STR_LEN + 16];
        describe(inst, i, p, name, sizeof name);
        snprintf(unique, sizeof unique, "%s", name);
        /* The first free " #k": deterministic, so the same plugin gives
         * the same names every time. */
        for (int k = 2; set_has(&taken, unique); k++)
            snprintf(unique, sizeof unique, "%s #%d", name, k);
        p->name = strdup(unique);
        if (!p->name || !p->short_name) {
            nomem = true;
            break;
        }
        set_add(&taken, p->name);
    }
    free(taken.slot);
    if (nomem) {
        vst_params_free(inst);
        return vst_fail(err, VST_E_NOMEM, "out of memory describing %d parameters", n);
    }
    return VST_OK;
}

const vst_param_info *vst_param_info_get(vst_instance *inst, int index)
{
    if (check_index(inst, index, NULL) != VST_OK || vst_params_prepare(inst, NULL) != VST_OK ||
        index >= inst->nparams)
        return NULL;
    return &inst->params[index];
}

/* ---- queries and sets ---- */

int vst_param_name(vst_instance *inst, int index, char *buf, size_t len, char *err)
{
    int rc = check_index(inst, index, err);
    if (rc != VST_OK)
        return rc;
    const vst_param_info *p = vst_param_info_get(inst, index);
    if (!p)
        return param_string(inst, effGetParamName, index, buf, len, err);
    vst_copy_string(buf, len, p->name, strlen(p->name));
    return VST_OK;
}

int vst_param_label(vst_instance *inst, int index, char *buf, size_t len, char *err)
{
    return param_string(inst, effGetParamLabel, index, buf, len, err);
}

int vst_param_display(vst_instance *inst, int index, char *buf, size_t len, char *err)
{
    return param_string(inst, effGetParamDisplay, index, buf, len, err);
}

int vst_param_get(vst_instance *inst, int index, float *value, char *err)
{
    int rc = check_index(inst, index, err);
    if (rc != VST_OK)
        return rc;
    *value = inst->effect->getParameter(inst->effect, index);
    return VST_OK;
}

int vst_param_set(vst_instance *inst, int index, float value, char *err)
{
    int rc = vst_param_check(inst, index, value, err);
    if (rc != VST_OK)
        return rc;
    inst->effect->setParameter(inst->effect, index, value);
    return VST_OK;
}

int vst_param_find(vst_instance *inst, const char *name, char *err)
{
    if (!name)
        return vst_fail(err, VST_E_PARAM_NAME, "no parameter name given");
    int rc = vst_params_prepare(inst, err);
    if (rc != VST_OK)
        return rc;
    /* Unique names first, then short names; exact before ignoring case. */
    for (int pass = 0; pass < 4; pass++)
        for (int i = 0; i < inst->nparams; i++) {
            const char *s = pass % 2 == 0 ? inst->params[i].name : inst->params[i].short_name;
            if (pass < 2 ? strcmp(s, name) == 0 : strcasecmp(s, name) == 0)
                return i;
        }
    return vst_fail(err, VST_E_PARAM_NAME, "no parameter named \"%s\"", name);
}
