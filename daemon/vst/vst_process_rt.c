/* vst_process_rt.c - running a plugin for one block.
 *
 * AUDIO-THREAD CODE: no allocation, no free, no locks, no waiting, no
 * logging, no I/O.  Every buffer used here was sized on the control side
 * (vst_buffers.c) for max_block frames.  Calls into the plugin are foreign
 * code and are bracketed with RT_FOREIGN_BEGIN/END; vst_tls_rt tells the
 * host callback that it is being called from inside such a section.
 *
 * Channel mapping between the caller's nin/nout and the plugin's counts
 * (also in README.md):
 *   inputs   same count: 1:1.  One host input: fed to every plugin input.
 *            Mono plugin, several host inputs: their mean.  Otherwise
 *            plugin input i <- host input i, silence when there is none.
 *   outputs  same count: the plugin writes straight into the host buffers.
 *            Mono plugin: copied to every host output.  One host output,
 *            several plugin outputs: their mean.  Otherwise host output j
 *            <- plugin output j, silence when there is none; extra plugin
 *            outputs are rendered into scratch buffers and dropped. */
#include <string.h>

#include "daemon/rtcheck/rtcheck.h"
#include "daemon/vst/vst_events_rt.h"
#include "daemon/vst/vst_finite_rt.h"

static void copy_or_silence(float *dst, const float *src, unsigned n)
{
    if (src)
        memcpy(dst, src, n * sizeof *dst);
    else
        memset(dst, 0, n * sizeof *dst);
}

static void map_inputs(vst_instance *inst, const float *const *in, unsigned nin, unsigned n)
{
    unsigned P = (unsigned)inst->proc_in;
    if (P == 0)
        return;
    if (!in)
        nin = 0;
    if (nin == 1 || nin == P) {
        for (unsigned i = 0; i < P; i++)
            copy_or_silence(inst->pin[i], in[nin == 1 ? 0 : i], n);
    } else if (P == 1 && nin > 1) {
        float *dst = inst->pin[0];
        float scale = 1.0f / (float)nin;
        memset(dst, 0, n * sizeof *dst);
        for (unsigned c = 0; c < nin; c++)
            if (in[c])
                for (unsigned f = 0; f < n; f++)
                    dst[f] += in[c][f] * scale;
    } else {
        for (unsigned i = 0; i < P; i++)
            copy_or_silence(inst->pin[i], i < nin ? in[i] : NULL, n);
    }
}

static void map_outputs(vst_instance *inst, float *const *out, unsigned nout, unsigned n)
{
    unsigned P = (unsigned)inst->proc_out;
    float *const *src = inst->pout;
    if (nout == 0 || !out)
        return;
    if (P == 0) {
        for (unsigned j = 0; j < nout; j++)
            memset(out[j], 0, n * sizeof(float));
    } else if (P == 1 || nout == P) {
        for (unsigned j = 0; j < nout; j++)
            memcpy(out[j], src[P == 1 ? 0 : j], n * sizeof(float));
    } else if (nout == 1) {
        float *dst = out[0];
        float scale = 1.0f / (float)P;
        memset(dst, 0, n * sizeof *dst);
        for (unsigned c = 0; c < P; c++)
            for (unsigned f = 0; f < n; f++)
                dst[f] += src[c][f] * scale;
    } else {
        for (unsigned j = 0; j < nout; j++)
            copy_or_silence(out[j], j < P ? src[j] : NULL, n);
    }
}

/* Point the plugin's output array either at the host buffers (counts
 * match, no conversion needed) or at our own. */
static bool route_outputs(vst_instance *inst, float *const *out, unsigned nout)
{
    unsigned P = (unsigned)inst->proc_out;
    bool direct = !inst->use_double && P > 0 && nout == P && out;
    for (unsigned j = 0; j < P; j++)
        inst->pout[j] = direct ? out[j] : inst->out_buf + (size_t)j * inst->max_block;
    return direct;
}

static void run_double(vst_instance *inst, unsigned n)
{
    unsigned nin = (unsigned)(inst->proc_in > 0 ? inst->proc_in : 1);
    unsigned nout = (unsigned)(inst->proc_out > 0 ? inst->proc_out : 1);
    for (unsigned c = 0; c < nin; c++)
        for (unsigned f = 0; f < n; f++)
            inst->dpin[c][f] = (double)inst->pin[c][f];

    vst_tls_rt = inst;
    RT_FOREIGN_BEGIN();
    inst->effect->processDoubleReplacing(inst->effect, inst->dpin, inst->dpout, (VstInt32)n);
    RT_FOREIGN_END();
    vst_tls_rt = NULL;

    for (unsigned c = 0; c < nout; c++)
        for (unsigned f = 0; f < n; f++)
            inst->pout[c][f] = (float)inst->dpout[c][f];
}

/* A NaN or infinity in a plugin's output would spread through every mix
 * and effect after it: such samples become 0, and the block is counted. */
static void silence_non_finite(vst_instance *inst, float *const *out, unsigned nout, unsigned n)
{
    bool bad = false;
    for (unsigned j = 0; out && j < nout; j++) {
        if (!vst_any_non_finite(out[j], n))
            continue;
        for (unsigned f = 0; f < n; f++)
            if (!__builtin_isfinite(out[j][f]))
                out[j][f] = 0.0f;
        bad = true;
    }
    if (bad)
        atomic_fetch_add_explicit(&inst->non_finite, 1, memory_order_relaxed);
}

int vst_rt_process(vst_instance *inst, const float *const *in, unsigned nin, float *const *out,
                   unsigned nout, unsigned nframes)
{
    if (nframes > inst->max_block) {
        for (unsigned j = 0; out && j < nout; j++)
            memset(out[j], 0, inst->max_block * sizeof(float));
        return VST_E_BLOCK;
    }
    if (nframes == 0)
        return VST_OK;

    map_inputs(inst, in, nin, nframes);
    bool direct = route_outputs(inst, out, nout);
    vst_rt_events_send(inst, nframes);

    if (inst->use_double) {
        run_double(inst, nframes);
    } else {
        vst_tls_rt = inst;
        RT_FOREIGN_BEGIN();
        inst->effect->processReplacing(inst->effect, inst->pin, inst->pout, (VstInt32)nframes);
        RT_FOREIGN_END();
        vst_tls_rt = NULL;
    }

    vst_rt_events_done(inst);
    if (!direct)
        map_outputs(inst, out, nout, nframes);
    silence_non_finite(inst, out, nout, nframes);
    return VST_OK;
}

int vst_rt_set_param(vst_instance *inst, int index, float value)
{
    if (index < 0 || index >= inst->effect->numParams)
        return VST_E_PARAM_INDEX;
    if (!(value >= 0.0f && value <= 1.0f))
        return VST_E_PARAM_VALUE;
    vst_tls_rt = inst;
    RT_FOREIGN_BEGIN();
    inst->effect->setParameter(inst->effect, index, value);
    RT_FOREIGN_END();
    vst_tls_rt = NULL;
    return VST_OK;
}

void vst_rt_set_transport(vst_instance *inst, const vst_transport *t)
{
    VstTimeInfo *ti = &inst->time.ti;
    VstInt32 flags = 0;

    inst->block_frame = t->frame;
    ti->samplePos = t->sample_pos;
    ti->sampleRate = inst->sample_rate;
    ti->nanoSeconds = 0.0;
    ti->cycleStartPos = 0.0;
    ti->cycleEndPos = 0.0;
    ti->smpteOffset = 0;
    ti->smpteFrameRate = 0;
    ti->samplesToNextClock = 0;
    if (t->playing)
        flags |= kVstTransportPlaying;
    if (t->changed)
        flags |= kVstTransportChanged;
    if (t->tempo > 0.0) {
        ti->tempo = t->tempo;
        ti->ppqPos = t->ppq_pos;
        ti->barStartPos = t->bar_start_ppq;
        flags |= kVstTempoValid | kVstPpqPosValid | kVstBarsValid;
    } else {
        ti->tempo = 0.0;
        ti->ppqPos = 0.0;
        ti->barStartPos = 0.0;
    }
    if (t->time_sig_num > 0 && t->time_sig_den > 0) {
        ti->timeSigNumerator = t->time_sig_num;
        ti->timeSigDenominator = t->time_sig_den;
        flags |= kVstTimeSigValid;
    } else {
        ti->timeSigNumerator = 4;
        ti->timeSigDenominator = 4;
    }
    ti->flags = flags;
}
