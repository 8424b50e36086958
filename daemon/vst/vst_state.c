/* vst_state.c - programs and whole-plugin state (control side).
 *
 * State is the plugin's own chunk (effGetChunk with index 0, the "bank",
 * which is what hosts save in projects) when it sets effFlagsProgramChunks.
 * Otherwise sonod writes a parameter snapshot:
 *     bytes 0..3   "SVP1"
 *     bytes 4..7   parameter count, uint32 little-endian
 *     then count   IEEE float values, little-endian
 * The chunk pointer returned by the plugin is plugin-owned and only valid
 * until the next call, so it is copied out at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/vst/vst_instance.h"
#include "daemon/vst/vst_remote.h"

#define SNAPSHOT_MAGIC "SVP1"
#define SNAPSHOT_HEADER 8

int vst_program_count(const vst_instance *inst)
{
    return inst->effect->numPrograms;
}

int vst_program_get(vst_instance *inst)
{
    return (int)vst_dispatch(inst, effGetProgram, 0, 0, NULL, 0.0f);
}

static int check_program(const vst_instance *inst, int index, char *err)
{
    if (index < 0 || index >= inst->effect->numPrograms)
        return vst_fail(err, VST_E_PROGRAM, "program %d out of range (plugin has %d)", index,
                        inst->effect->numPrograms);
    return VST_OK;
}

int vst_program_set(vst_instance *inst, int index, char *err)
{
    int rc = check_program(inst, index, err);
    if (rc != VST_OK)
        return rc;
    vst_dispatch(inst, effSetProgram, 0, index, NULL, 0.0f);
    return VST_OK;
}

bool vst_program_names_indexed(vst_instance *inst)
{
    if (inst->indexed_names < 0) {
        char tmp[VST2_STRING_BUFFER] = {0};
        inst->indexed_names = inst->effect->numPrograms > 0 &&
                              vst_dispatch(inst, effGetProgramNameIndexed, 0, -1, tmp, 0.0f) == 1;
    }
    return inst->indexed_names == 1;
}

int vst_program_name(vst_instance *inst, int index, char *buf, size_t len, bool *known,
                     char *err)
{
    if (known)
        *known = false;
    if (buf && len > 0)
        buf[0] = '\0';
    int rc = check_program(inst, index, err);
    if (rc != VST_OK)
        return rc;
    char tmp[VST2_STRING_BUFFER] = {0};
    bool got = false;
    if (vst_program_names_indexed(inst))
        got = vst_dispatch(inst, effGetProgramNameIndexed, index, -1, tmp, 0.0f) == 1;
    if (!got) {
        /* Older plugins only name the current program.  Switching programs
         * to read a name would change the sound, so the others stay
         * unnamed (not known). */
        memset(tmp, 0, sizeof tmp);
        if (index == vst_program_get(inst)) {
            vst_dispatch(inst, effGetProgramName, 0, 0, tmp, 0.0f);
            got = tmp[0] != '\0';
        }
    }
    tmp[sizeof tmp - 1] = '\0';
    vst_copy_string(buf, len, tmp, sizeof tmp);
    if (known)
        *known = got;
    return VST_OK;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int vst_state_get(vst_instance *inst, void **data, size_t *len, vst_state_kind *kind, char *err)
{
    *data = NULL;
    *len = 0;
    if (inst->effect->flags & effFlagsProgramChunks) {
        void *chunk = NULL;
        VstIntPtr size = vst_dispatch(inst, effGetChunk, 0, 0, &chunk, 0.0f);
        if (size <= 0 || !chunk)
            return vst_fail(err, VST_E_STATE, "the plugin returned no state chunk");
        void *copy = malloc((size_t)size);
        if (!copy)
            return vst_fail(err, VST_E_NOMEM, "out of memory copying a %ld byte chunk", (long)size);
        memcpy(copy, chunk, (size_t)size);
        *data = copy;
        *len = (size_t)size;
        if (kind)
            *kind = VST_STATE_CHUNK;
        return VST_OK;
    }

    uint32_t n = inst->effect->numParams > 0 ? (uint32_t)inst->effect->numParams : 0;
    size_t size = SNAPSHOT_HEADER + (size_t)n * 4;
    unsigned char *blob = malloc(size);
    if (!blob)
        return vst_fail(err, VST_E_NOMEM, "out of memory");
    memcpy(blob, SNAPSHOT_MAGIC, 4);
    put_u32(blob + 4, n);
    for (uint32_t i = 0; i < n; i++) {
        float v = inst->effect->getParameter(inst->effect, (VstInt32)i);
        uint32_t bits;
        memcpy(&bits, &v, sizeof bits);
        put_u32(blob + SNAPSHOT_HEADER + 4 * i, bits);
    }
    *data = blob;
    *len = size;
    if (kind)
        *kind = VST_STATE_PARAMS;
    return VST_OK;
}

int vst_state_set(vst_instance *inst, const void *data, size_t len, char *err)
{
    if (!data || len == 0)
        return vst_fail(err, VST_E_STATE, "empty state");
    if (inst->effect->flags & effFlagsProgramChunks) {
        if (len > INT32_MAX)
            return vst_fail(err, VST_E_STATE, "state too large (%zu bytes; at most %d)", len,
                            INT32_MAX);
        if (vst_is_isolated(inst) && len > VR_MAX_PAYLOAD)
            return vst_fail(err, VST_E_STATE,
                            "state too large for an isolated plugin (%zu bytes; at most %u)", len,
                            VR_MAX_PAYLOAD);
        /* The plugin takes a non-const pointer: give it a private copy, with
         * a NUL after the end because text-chunk plugins (amsynth) run
         * strlen over it. */
        char *copy = malloc(len + 1);
        if (!copy)
            return vst_fail(err, VST_E_NOMEM, "out of memory");
        memcpy(copy, data, len);
        copy[len] = '\0';
        /* What effSetChunk returns is no verdict: JUCE plugins return 0
         * when they took the chunk, others 0 when they did not.  What is
         * known is that the call returned (for an isolated plugin: that
         * its host answered). */
        vst_dispatch(inst, effSetChunk, 0, (VstIntPtr)len, copy, 0.0f);
        free(copy);
        int rc = vst_remote_last_status(inst);
        if (rc != VST_OK)
            return vst_fail(err, rc, "the plugin's host did not answer (%s): the state was not "
                            "given to the plugin", vst_status_name(rc));
        return VST_OK;
    }

    const unsigned char *p = data;
    if (len < SNAPSHOT_HEADER || memcmp(p, SNAPSHOT_MAGIC, 4) != 0)
        return vst_fail(err, VST_E_STATE, "not a sonod parameter snapshot");
    uint32_t n = get_u32(p + 4);
    if ((int64_t)n != inst->effect->numParams || len != SNAPSHOT_HEADER + (size_t)n * 4)
        return vst_fail(err, VST_E_STATE,
                        "snapshot holds %u parameters, the plugin has %d", (unsigned)n,
                        inst->effect->numParams);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t bits = get_u32(p + SNAPSHOT_HEADER + 4 * i);
        float v;
        memcpy(&v, &bits, sizeof v);
        if (!(v >= 0.0f && v <= 1.0f))
            return vst_fail(err, VST_E_STATE, "snapshot value %u out of range", (unsigned)i);
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t bits = get_u32(p + SNAPSHOT_HEADER + 4 * i);
        float v;
        memcpy(&v, &bits, sizeof v);
        inst->effect->setParameter(inst->effect, (VstInt32)i, v);
    }
    return VST_OK;
}
