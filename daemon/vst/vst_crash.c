/* vst_crash.c - saying which plugin call a crash happened in (any thread;
 * vst_crash_report runs in a signal handler: write(2) and nothing else). */
#include <string.h>
#include <unistd.h>

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

static void put(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

int vst_crash_report(int fd)
{
    const vst_instance *inst = vst_tls_rt ? vst_tls_rt : vst_tls_ctl;
    if (!inst)
        return 0;
    put(fd, "sonod: crashed inside plugin ");
    put(fd, inst->label[0] ? inst->label : "(unnamed)");
    if (vst_tls_rt) {
        put(fd, " while processing audio\n");
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
        put(fd, " in dispatcher opcode ");
    } else {
        put(fd, " in ");
    }
    put(fd, name);
    put(fd, "\n");
    return 1;
}
