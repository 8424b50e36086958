/* vst_crash.c - saying which plugin call a crash happened in (any thread;
 * vst_crash_where runs in a signal handler: no library calls). */
#include <string.h>

#include "daemon/vst/vst_instance.h"

void vst_set_label(vst_instance *inst, const char *label)
{
    size_t n = strlen(label);
    if (n >= sizeof inst->label)
        n = sizeof inst->label - 1;
    memcpy(inst->label, label, n);
    inst->label[n] = '\0';
}

static const char *op_name(VstInt32 op)
{
    switch (op) {
    case effOpen: return "effOpen";
    case effClose: return "effClose";
    case effSetProgram: return "effSetProgram";
    case effGetProgram: return "effGetProgram";
    case effGetProgramName: return "effGetProgramName";
    case effGetProgramNameIndexed: return "effGetProgramNameIndexed";
    case effGetParamName: return "effGetParamName";
    case effGetParamLabel: return "effGetParamLabel";
    case effGetParamDisplay: return "effGetParamDisplay";
    case effSetSampleRate: return "effSetSampleRate";
    case effSetBlockSize: return "effSetBlockSize";
    case effMainsChanged: return "effMainsChanged";
    case effGetChunk: return "effGetChunk";
    case effSetChunk: return "effSetChunk";
    case effProcessEvents: return "effProcessEvents";
    case effStartProcess: return "effStartProcess";
    case effStopProcess: return "effStopProcess";
    case effSetProcessPrecision: return "effSetProcessPrecision";
    case effGetEffectName: return "effGetEffectName";
    case effCanDo: return "effCanDo";
    default: return NULL;
    }
}

/* Appends s to buf (of len bytes, at *at), always terminated. */
static void cat(char *buf, size_t len, size_t *at, const char *s)
{
    while (*s != '\0' && *at + 1 < len)
        buf[(*at)++] = *s++;
    buf[*at] = '\0';
}

int vst_crash_where(char *buf, size_t len)
{
    const vst_instance *inst = vst_tls_rt ? vst_tls_rt : vst_tls_ctl;
    size_t at = 0;
    if (!inst || len == 0)
        return 0;
    cat(buf, len, &at, "crashed inside plugin ");
    cat(buf, len, &at, inst->label[0] ? inst->label : "(unnamed)");
    if (vst_tls_rt) {
        cat(buf, len, &at, " while processing audio");
        return 1;
    }
    const char *name = op_name(vst_tls_ctl_op);
    char num[16], *p = num + sizeof num - 1;
    *p = '\0';
    if (!name) {
        unsigned v = (unsigned)vst_tls_ctl_op;
        do {
            *--p = (char)('0' + v % 10);
            v /= 10;
        } while (v && p > num);
        name = p;
        cat(buf, len, &at, " in dispatcher opcode ");
    } else {
        cat(buf, len, &at, " in ");
    }
    cat(buf, len, &at, name);
    return 1;
}
