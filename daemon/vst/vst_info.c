/* vst_info.c - reading a plugin's description, and the line format that
 * carries it from the scanner child to the daemon (control side).
 *
 * Line format (UTF-8 text, one "key=value" per line, values never contain
 * a newline):
 *     sonod-vst-scan 1
 *     status=<vst_status>          0 or a negative VST_E_* code
 *     error=<message>              when status != 0
 *     name=... vendor=... product=... unique_id=<int> version=<int>
 *     vendor_version=<int> vst_version=<int> category=<int> inputs=<int>
 *     outputs=<int> params=<int> programs=<int> latency=<int> flags=<int>
 *     end
 * Unknown keys are ignored; output without the final "end" is rejected. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/vst/vst_instance.h"

static void query_string(vst_instance *inst, int op, char *dst)
{
    char buf[VST2_STRING_BUFFER] = {0};
    vst_dispatch(inst, op, 0, 0, buf, 0.0f);
    buf[sizeof buf - 1] = '\0';
    vst_copy_string(dst, VST_STR_LEN, buf, sizeof buf);
}

static void fourcc(int32_t id, char out[5])
{
    for (int i = 0; i < 4; i++) {
        unsigned char c = (unsigned char)((uint32_t)id >> (24 - 8 * i));
        out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    out[4] = '\0';
}

static void derive_flags(vst_info *info)
{
    info->is_synth = (info->flags & effFlagsIsSynth) != 0;
    info->has_editor = (info->flags & effFlagsHasEditor) != 0;
    info->has_chunks = (info->flags & effFlagsProgramChunks) != 0;
    info->can_double = (info->flags & effFlagsCanDoubleReplacing) != 0;
    fourcc(info->unique_id, info->unique_id_str);
}

void vst_info_query(vst_instance *inst)
{
    AEffect *e = inst->effect;
    vst_info *info = &inst->info;

    query_string(inst, effGetEffectName, info->name);
    if (!info->name[0]) {
        /* No name from the plugin: the file name without directory and .so */
        const char *base = strrchr(inst->path, '/');
        base = base ? base + 1 : inst->path;
        snprintf(info->name, sizeof info->name, "%s", base);
        char *dot = strrchr(info->name, '.');
        if (dot && strcmp(dot, ".so") == 0)
            *dot = '\0';
    }
    query_string(inst, effGetVendorString, info->vendor);
    query_string(inst, effGetProductString, info->product);
    info->vendor_version = (int32_t)vst_dispatch(inst, effGetVendorVersion, 0, 0, NULL, 0.0f);
    info->vst_version = (int32_t)vst_dispatch(inst, effGetVstVersion, 0, 0, NULL, 0.0f);
    info->category = (int32_t)vst_dispatch(inst, effGetPlugCategory, 0, 0, NULL, 0.0f);
    info->unique_id = e->uniqueID;
    info->version = e->version;
    info->num_inputs = e->numInputs;
    info->num_outputs = e->numOutputs;
    info->num_params = e->numParams;
    info->num_programs = e->numPrograms;
    info->latency = e->initialDelay;
    info->flags = e->flags;
    derive_flags(info);
}

/* Replace line breaks so a value stays on its line. */
static void put_line(int fd, const char *key, const char *value)
{
    char clean[VST_ERR_LEN > VST_STR_LEN ? VST_ERR_LEN : VST_STR_LEN];
    snprintf(clean, sizeof clean, "%s", value);
    for (char *p = clean; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    dprintf(fd, "%s=%s\n", key, clean);
}

void vst_info_write(int fd, const vst_info *info)
{
    put_line(fd, "name", info->name);
    put_line(fd, "vendor", info->vendor);
    put_line(fd, "product", info->product);
    dprintf(fd,
            "unique_id=%d\nversion=%d\nvendor_version=%d\nvst_version=%d\ncategory=%d\n"
            "inputs=%d\noutputs=%d\nparams=%d\nprograms=%d\nlatency=%d\nflags=%d\n",
            info->unique_id, info->version, info->vendor_version, info->vst_version,
            info->category, info->num_inputs, info->num_outputs, info->num_params,
            info->num_programs, info->latency, info->flags);
}

static bool parse_int(const char *s, int32_t *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0')
        return false;
    *out = (int32_t)v;
    return true;
}

int vst_info_parse(const char *text, vst_info *info, int *status, char *err)
{
    memset(info, 0, sizeof *info);
    *status = VST_E_SCANNER;
    char msg[VST_ERR_LEN] = "";
    bool header = false, end = false, have_status = false;

    const char *p = text;
    while (*p && !end) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char line[1024];
        if (n >= sizeof line)
            n = sizeof line - 1;
        memcpy(line, p, n);
        line[n] = '\0';
        p = nl ? nl + 1 : p + strlen(p);

        if (!header) {
            if (strcmp(line, "sonod-vst-scan 1") != 0)
                return vst_fail(err, VST_E_SCANNER, "scanner output has no header");
            header = true;
            continue;
        }
        if (strcmp(line, "end") == 0) {
            end = true;
            break;
        }
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = '\0';
        const char *key = line, *val = eq + 1;
        int32_t iv = 0;
        bool isint = parse_int(val, &iv);
        if (strcmp(key, "status") == 0 && isint) {
            *status = iv;
            have_status = true;
        } else if (strcmp(key, "error") == 0) {
            snprintf(msg, sizeof msg, "%s", val);
        } else if (strcmp(key, "name") == 0) {
            snprintf(info->name, sizeof info->name, "%s", val);
        } else if (strcmp(key, "vendor") == 0) {
            snprintf(info->vendor, sizeof info->vendor, "%s", val);
        } else if (strcmp(key, "product") == 0) {
            snprintf(info->product, sizeof info->product, "%s", val);
        } else if (isint) {
            static const struct { const char *key; size_t off; } ints[] = {
                {"unique_id", offsetof(vst_info, unique_id)},
                {"version", offsetof(vst_info, version)},
                {"vendor_version", offsetof(vst_info, vendor_version)},
                {"vst_version", offsetof(vst_info, vst_version)},
                {"category", offsetof(vst_info, category)},
                {"inputs", offsetof(vst_info, num_inputs)},
                {"outputs", offsetof(vst_info, num_outputs)},
                {"params", offsetof(vst_info, num_params)},
                {"programs", offsetof(vst_info, num_programs)},
                {"latency", offsetof(vst_info, latency)},
                {"flags", offsetof(vst_info, flags)},
            };
            for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
                if (strcmp(key, ints[i].key) == 0)
                    memcpy((char *)info + ints[i].off, &iv, sizeof iv);
        }
    }
    if (!header)
        return vst_fail(err, VST_E_SCANNER, "scanner produced no output");
    if (!end || !have_status) {
        *status = VST_E_SCANNER;
        return vst_fail(err, VST_E_SCANNER, "scanner output is incomplete");
    }
    derive_flags(info);
    if (*status != VST_OK) {
        if (*status > 0 || *status < VST_E_INVALID)
            *status = VST_E_SCANNER;
        return vst_fail(err, *status, "%s", msg[0] ? msg : "plugin failed to load");
    }
    return VST_OK;
}
