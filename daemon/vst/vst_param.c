/* vst_param.c - parameter queries and immediate sets (control side).
 *
 * Plugins ignore the documented 8-byte limit of the name/label/display
 * buffers (DPF writes 16, amsynth 32), so every query goes through a zeroed
 * VST2_STRING_BUFFER-byte buffer and is then truncated into the caller's. */
#include <math.h>
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

int vst_param_name(vst_instance *inst, int index, char *buf, size_t len, char *err)
{
    return param_string(inst, effGetParamName, index, buf, len, err);
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
    int n = inst->effect->numParams;
    int loose = -1;
    for (int i = 0; i < n; i++) {
        char buf[VST_STR_LEN];
        vst_param_name(inst, i, buf, sizeof buf, NULL);
        if (strcmp(buf, name) == 0)
            return i;
        if (loose < 0 && strcasecmp(buf, name) == 0)
            loose = i;
    }
    if (loose >= 0)
        return loose;
    return vst_fail(err, VST_E_PARAM_NAME, "no parameter named \"%s\"", name);
}
