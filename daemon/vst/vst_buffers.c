/* vst_buffers.c - the audio buffers an instance processes through
 * (control side: allocated at load and on reconfigure, never on the audio
 * thread).
 *
 * Every plugin input gets its own buffer (host input is copied in, so the
 * plugin can neither write into the caller's const input nor see it change
 * when input and output alias).  Plugin outputs have buffers too, used when
 * the host's output channels do not map one to one.  At least one channel
 * of each exists so a plugin with no inputs still gets valid pointers. */
#include <stdlib.h>

#include "daemon/vst/vst_instance.h"

typedef struct buffers {
    float **pin, **pout;
    float *in_buf, *out_buf;
    double **dpin, **dpout;
    double *din_buf, *dout_buf;
} buffers;

static void release(buffers *b)
{
    free(b->pin);
    free(b->pout);
    free(b->in_buf);
    free(b->out_buf);
    free(b->dpin);
    free(b->dpout);
    free(b->din_buf);
    free(b->dout_buf);
}

int vst_buffers_alloc(vst_instance *inst)
{
    size_t nin = inst->proc_in > 0 ? (size_t)inst->proc_in : 1;
    size_t nout = inst->proc_out > 0 ? (size_t)inst->proc_out : 1;
    size_t frames = inst->max_block;
    buffers b = {0};

    b.pin = calloc(nin, sizeof *b.pin);
    b.pout = calloc(nout, sizeof *b.pout);
    b.in_buf = calloc(nin * frames, sizeof *b.in_buf);
    b.out_buf = calloc(nout * frames, sizeof *b.out_buf);
    bool ok = b.pin && b.pout && b.in_buf && b.out_buf;
    if (ok && inst->use_double) {
        b.dpin = calloc(nin, sizeof *b.dpin);
        b.dpout = calloc(nout, sizeof *b.dpout);
        b.din_buf = calloc(nin * frames, sizeof *b.din_buf);
        b.dout_buf = calloc(nout * frames, sizeof *b.dout_buf);
        ok = b.dpin && b.dpout && b.din_buf && b.dout_buf;
    }
    if (!ok) {
        release(&b);
        return VST_E_NOMEM;
    }
    for (size_t i = 0; i < nin; i++) {
        b.pin[i] = b.in_buf + i * frames;
        if (b.dpin)
            b.dpin[i] = b.din_buf + i * frames;
    }
    for (size_t i = 0; i < nout; i++) {
        b.pout[i] = b.out_buf + i * frames;
        if (b.dpout)
            b.dpout[i] = b.dout_buf + i * frames;
    }

    vst_buffers_free(inst);
    inst->pin = b.pin;
    inst->pout = b.pout;
    inst->in_buf = b.in_buf;
    inst->out_buf = b.out_buf;
    inst->dpin = b.dpin;
    inst->dpout = b.dpout;
    inst->din_buf = b.din_buf;
    inst->dout_buf = b.dout_buf;
    return VST_OK;
}

void vst_buffers_free(vst_instance *inst)
{
    buffers b = {inst->pin, inst->pout, inst->in_buf, inst->out_buf,
                 inst->dpin, inst->dpout, inst->din_buf, inst->dout_buf};
    release(&b);
    inst->pin = inst->pout = NULL;
    inst->in_buf = inst->out_buf = NULL;
    inst->dpin = inst->dpout = NULL;
    inst->din_buf = inst->dout_buf = NULL;
}
