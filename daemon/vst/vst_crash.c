/* vst_crash.c - saying which plugin call a crash happened in (any thread;
 * vst_crash_where runs in a signal handler: it only reads). */
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

int vst_crash_where(vst_crash_site *site)
{
    const vst_instance *inst = vst_tls_rt ? vst_tls_rt : vst_tls_ctl;
    if (!inst)
        return 0;
    site->label = inst->label[0] ? inst->label : "(unnamed)";
    site->audio = vst_tls_rt != NULL;
    site->opcode = vst_tls_ctl_op;
    site->op_name = site->audio ? NULL : op_name(vst_tls_ctl_op);
    return 1;
}
