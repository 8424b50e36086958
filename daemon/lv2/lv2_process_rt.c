/* lv2_process_rt.c - running an LV2 plugin for one process call.
 *
 * AUDIO-THREAD CODE: no allocation, no free, no locks, no waiting, no
 * logging, no I/O.  Every buffer was allocated at load (lv2_effect.c).
 *
 * The VST2 layer calls processReplacing inside a foreign section (plugin
 * code, unchecked); this file is ours, so it switches the checker back on
 * for itself and off again only around the plugin's own functions (run,
 * connect_port, work_response, end_run) and around the VST2 host callback
 * (which switches it on for itself).
 *
 * One call:
 *   1. a bigger MIDI-in buffer from the control side is installed
 *      (lv2_reserve_events); the old one goes to the reclaim stack;
 *   2. the worker's responses are delivered (work_response);
 *   3. control inputs take their targets (set from any thread);
 *   4. in runs of at most the instantiated block length: the atom inputs
 *      get the MIDI events whose frames fall in the run (sample-exact) and,
 *      on the first run after the transport changed, a time:Position
 *      object at frame 0; audio ports point into the caller's buffers;
 *      run(); MIDI the plugin wrote goes to the host (audioMasterProcess-
 *      Events, whose deltas are relative to this call);
 *   5. control outputs are published; end_run() for the worker. */
#include <math.h>
#include <string.h>

#include "daemon/lv2/lv2_internal.h"
#include "daemon/rtcheck/rtcheck.h"

__thread lv2_fx *lv2_tls_rt __attribute__((tls_model("initial-exec")));

void lv2_rt_events(lv2_fx *fx, VstEvents *ev) { fx->ev = ev; }

void lv2_rt_set_param(AEffect *e, VstInt32 index, float value)
{
    lv2_fx *fx = lv2_fx_of(e);
    if (index < 0 || (uint32_t)index >= fx->ncin)
        return;
    lv2_store_f(&fx->target[index], lv2_to_plain(&fx->ports[fx->cin[index]], value));
}

float lv2_rt_get_param(AEffect *e, VstInt32 index)
{
    lv2_fx *fx = lv2_fx_of(e);
    if (index < 0 || (uint32_t)index >= fx->ncin)
        return 0.0f;
    return lv2_to_norm(&fx->ports[fx->cin[index]], lv2_load_f(&fx->target[index]));
}

static intptr_t host(lv2_fx *fx, int32_t op, void *ptr)
{
    RT_FOREIGN_BEGIN();
    intptr_t r = fx->host(&fx->fx, op, 0, 0, ptr, 0.0f);
    RT_FOREIGN_END();
    return r;
}

static void install_midi_buffer(lv2_fx *fx)
{
    /* A plain load first: the exchange (a locked instruction) only when
     * there is something to take. */
    if (!atomic_load_explicit(&fx->next_midi, memory_order_relaxed))
        return;
    lv2_seqbuf *b = atomic_exchange_explicit(&fx->next_midi, NULL, memory_order_acquire);
    if (!b)
        return;
    lv2_seqbuf *old = fx->midi_buf;
    old->next = atomic_load_explicit(&fx->reclaim, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&fx->reclaim, &old->next, old,
                                                  memory_order_release, memory_order_relaxed))
        ;
    fx->midi_buf = b;
    for (uint32_t k = 0; k < fx->nmports; k++) {
        fx->ports[fx->mports[k]].seq = b->seq[k];
        fx->ports[fx->mports[k]].seq_cap = b->cap;
    }
    RT_FOREIGN_BEGIN();
    for (uint32_t k = 0; k < fx->nmports; k++)
        lilv_instance_connect_port(fx->instance, fx->mports[k], b->seq[k]);
    RT_FOREIGN_END();
}

static void deliver_responses(lv2_fx *fx)
{
    if (!fx->worker || !fx->worker->work_response)
        return;
    uint32_t len;
    while ((len = lv2_ring_peek(&fx->responses)) != 0) {
        lv2_ring_read(&fx->responses, fx->resp_scratch, len);
        RT_FOREIGN_BEGIN();
        fx->worker->work_response(lilv_instance_get_handle(fx->instance), len, fx->resp_scratch);
        RT_FOREIGN_END();
    }
}

/* Whether the plugins must be told the transport (first call, a jump, a
 * start or stop, a new tempo or metre); *frame is the transport position
 * of this call's first frame.  A block the graph splits into several calls
 * carries one VstTimeInfo: calls after the first continue from it. */
static bool time_changed(lv2_fx *fx, const VstTimeInfo *ti, double *frame)
{
    float speed = (ti->flags & kVstTransportPlaying) ? 1.0f : 0.0f;
    double bpm = (ti->flags & kVstTempoValid) ? ti->tempo : 0.0;
    int32_t num = (ti->flags & kVstTimeSigValid) ? ti->timeSigNumerator : 4;
    int32_t den = (ti->flags & kVstTimeSigValid) ? ti->timeSigDenominator : 4;
    bool changed = !fx->pos_valid;
    if (!fx->pos_valid || ti->samplePos != fx->pos_block) {
        double expected = fx->pos_block + (double)fx->pos_off * fx->pos_speed;
        if (fx->pos_valid && (fabs(ti->samplePos - expected) > 0.5 ||
                              (ti->flags & kVstTransportChanged)))
            changed = true;
        fx->pos_block = ti->samplePos;
        fx->pos_off = 0;
        *frame = ti->samplePos;
    } else {
        *frame = ti->samplePos + (double)fx->pos_off * speed;
    }
    if (speed != fx->pos_speed || bpm != fx->pos_bpm || num != fx->pos_num || den != fx->pos_den)
        changed = true;
    fx->pos_valid = true;
    fx->pos_speed = speed;
    fx->pos_bpm = bpm;
    fx->pos_num = num;
    fx->pos_den = den;
    return changed;
}

static void forge_position(lv2_fx *fx, const VstTimeInfo *ti, double frame)
{
    LV2_Atom_Forge *f = &fx->forge;
    const uint32_t *u = fx->urid_cache;
    LV2_Atom_Forge_Frame obj;
    if (f->size - f->offset < 256)
        return;
    lv2_atom_forge_frame_time(f, 0);
    lv2_atom_forge_object(f, &obj, 0, u[U_TIME_POSITION]);
    lv2_atom_forge_key(f, u[U_TIME_FRAME]);
    lv2_atom_forge_long(f, (int64_t)frame);
    lv2_atom_forge_key(f, u[U_TIME_SPEED]);
    lv2_atom_forge_float(f, fx->pos_speed);
    if (fx->pos_bpm > 0.0) {
        double den = fx->pos_den, num = fx->pos_num;
        double ppq = ti->ppqPos + (frame - ti->samplePos) / ti->sampleRate * fx->pos_bpm / 60.0;
        double bar_start = ti->barStartPos;
        double beat_in_bar = (ppq - bar_start) * den / 4.0;
        if (!(ti->flags & kVstBarsValid) || beat_in_bar < 0.0 || beat_in_bar >= num) {
            double beats = ppq * den / 4.0;
            bar_start = floor(beats / num) * num * 4.0 / den;
            beat_in_bar = beats - floor(beats / num) * num;
        }
        lv2_atom_forge_key(f, u[U_TIME_BPM]);
        lv2_atom_forge_float(f, (float)fx->pos_bpm);
        lv2_atom_forge_key(f, u[U_TIME_BAR]);
        lv2_atom_forge_long(f, (int64_t)llround(bar_start * den / 4.0 / num));
        lv2_atom_forge_key(f, u[U_TIME_BARBEAT]);
        lv2_atom_forge_float(f, (float)beat_in_bar);
        lv2_atom_forge_key(f, u[U_TIME_BPB]);
        lv2_atom_forge_float(f, (float)num);
        lv2_atom_forge_key(f, u[U_TIME_BEATUNIT]);
        lv2_atom_forge_int(f, (int32_t)den);
    }
    lv2_atom_forge_pop(f, &obj);
}

/* One MIDI event, or nothing (counted) when it does not fit. */
static void forge_midi(lv2_fx *fx, int64_t frames, const uint8_t *data, uint32_t size)
{
    LV2_Atom_Forge *f = &fx->forge;
    if (f->size - f->offset < sizeof(LV2_Atom_Event) + lv2_atom_pad_size(size)) {
        atomic_fetch_add_explicit(&fx->overflow, 1, memory_order_relaxed);
        return;
    }
    lv2_atom_forge_frame_time(f, frames);
    lv2_atom_forge_atom(f, size, fx->urid_cache[U_MIDI_EVENT]);
    lv2_atom_forge_write(f, data, size);
}

/* The events with frames in [from, to) (or all remaining when last). */
static void fill_midi(lv2_fx *fx, int32_t *next, int32_t from, int32_t to, bool last)
{
    const VstEvents *ev = fx->ev;
    if (!ev)
        return;
    while (*next < ev->numEvents) {
        const VstEvent *e = ev->events[*next];
        int32_t d = e->deltaFrames < from ? from : e->deltaFrames;
        if (d >= to && !last)
            break;
        if (d >= to)
            d = to - 1;
        if (e->type == kVstMidiType) {
            const VstMidiEvent *m = (const VstMidiEvent *)e;
            uint8_t st = (uint8_t)m->midiData[0];
            uint32_t len = (st >= 0xF8 || st == 0xF6)                                  ? 1
                           : ((st & 0xF0) == 0xC0 || (st & 0xF0) == 0xD0 || st == 0xF1 ||
                              st == 0xF3)                                              ? 2
                                                                                       : 3;
            forge_midi(fx, d - from, (const uint8_t *)m->midiData, len);
        } else if (e->type == kVstSysExType) {
            const VstMidiSysexEvent *s = (const VstMidiSysexEvent *)e;
            if (s->dumpBytes > 0 && s->sysexDump)
                forge_midi(fx, d - from, (const uint8_t *)s->sysexDump, (uint32_t)s->dumpBytes);
        }
        (*next)++;
    }
}

/* patch:Set messages from the control side (ring), whole, at frame 0;
 * what does not fit waits for the next call. */
static void forge_ring(lv2_fx *fx, lv2_ring *ring)
{
    LV2_Atom_Forge *f = &fx->forge;
    uint32_t len;
    while ((len = lv2_ring_peek(ring)) != 0 &&
           f->size - f->offset >= sizeof(LV2_Atom_Event) + lv2_atom_pad_size(len)) {
        lv2_ring_read(ring, fx->patch_scratch, len);
        lv2_atom_forge_frame_time(f, 0);
        lv2_atom_forge_write(f, fx->patch_scratch, len);
    }
}

/* Then those an isolated plugin's daemon sent (lv2_host_message_in). */
static void forge_patches(lv2_fx *fx)
{
    forge_ring(fx, &fx->patches);
    forge_ring(fx, &fx->rpatches);
}

static void prepare_inputs(lv2_fx *fx, const VstTimeInfo *ti, bool first, bool tell_time,
                           double frame, int32_t *next, int32_t from, int32_t to, bool last)
{
    LV2_Atom_Forge_Frame seq;
    for (uint32_t k = 0; k < fx->natin; k++) {
        lv2_port *q = &fx->ports[fx->atin[k]];
        lv2_atom_forge_set_buffer(&fx->forge, (uint8_t *)q->seq,
                                  sizeof(LV2_Atom_Sequence) + q->seq_cap);
        lv2_atom_forge_sequence_head(&fx->forge, &seq, 0);
        if (q->time && tell_time && ti)
            forge_position(fx, ti, frame);
        if (first && (int32_t)q->index == fx->patch_port && fx->patch_scratch)
            forge_patches(fx);
        if ((int32_t)q->index == fx->midi_port)
            fill_midi(fx, next, from, to, last);
        lv2_atom_forge_pop(&fx->forge, &seq);
    }
    for (uint32_t k = 0; k < fx->natout; k++) {
        lv2_port *q = &fx->ports[fx->atout[k]];
        q->seq->atom.type = fx->urid_cache[U_ATOM_CHUNK];
        q->seq->atom.size = (uint32_t)sizeof(LV2_Atom_Sequence_Body) + q->seq_cap;
    }
}

static void send_out(lv2_fx *fx, uint32_t n)
{
    if (n == 0)
        return;
    fx->out_list->numEvents = (VstInt32)n;
    fx->out_list->reserved = 0;
    host(fx, audioMasterProcessEvents, fx->out_list);
}

/* MIDI the plugin wrote in a run that began `off` frames into the call. */
static void take_midi_out(lv2_fx *fx, int32_t off)
{
    uint32_t n = 0;
    for (uint32_t k = 0; k < fx->natout; k++) {
        lv2_port *q = &fx->ports[fx->atout[k]];
        if (!q->midi || q->seq->atom.type != fx->urid_cache[U_ATOM_SEQUENCE])
            continue;
        if (q->seq->atom.size > sizeof(LV2_Atom_Sequence_Body) + q->seq_cap)
            continue;   /* a plugin that wrote past its buffer: not ours to read */
        LV2_ATOM_SEQUENCE_FOREACH (q->seq, ev) {
            if (ev->body.type != fx->urid_cache[U_MIDI_EVENT] || ev->body.size == 0 ||
                ev->body.size > 3)
                continue;
            VstMidiEvent *m = &fx->out_ev[n];
            memset(m, 0, sizeof *m);
            m->type = kVstMidiType;
            m->byteSize = (VstInt32)sizeof *m;
            m->deltaFrames = off + (int32_t)ev->time.frames;
            memcpy(m->midiData, LV2_ATOM_BODY_CONST(&ev->body), ev->body.size);
            fx->out_list->events[n] = (VstEvent *)m;
            if (++n == fx->out_cap) {
                send_out(fx, n);
                n = 0;
            }
        }
    }
    send_out(fx, n);
}

void lv2_rt_take_reports(lv2_fx *fx)
{
    for (uint32_t k = 0; k < fx->natout; k++) {
        lv2_port *q = &fx->ports[fx->atout[k]];
        if (q->seq->atom.type != fx->urid_cache[U_ATOM_SEQUENCE] ||
            q->seq->atom.size > sizeof(LV2_Atom_Sequence_Body) + q->seq_cap)
            continue;   /* nothing written, or past its buffer: not ours to read */
        LV2_ATOM_SEQUENCE_FOREACH (q->seq, ev) {
            const LV2_Atom_Object *o = (const LV2_Atom_Object *)&ev->body;
            if (ev->body.type != fx->urid_cache[U_ATOM_OBJECT] ||
                ev->body.size < sizeof(LV2_Atom_Object_Body) ||
                o->body.otype != fx->urid_cache[U_PATCH_SET] ||
                ev->body.size > LV2_PATCH_MAX - sizeof(LV2_Atom))
                continue;
            /* A full ring drops it: the value is asked again after the
             * next state, preset or property change. */
            (void)lv2_ring_write(&fx->reports, &ev->body, (uint32_t)sizeof(LV2_Atom) + ev->body.size);
        }
    }
}

void lv2_rt_process(AEffect *e, float **in, float **out, VstInt32 nframes)
{
    lv2_fx *fx = lv2_fx_of(e);
    uint32_t n = nframes > 0 ? (uint32_t)nframes : 0;
    RT_FOREIGN_END();
    atomic_store(&fx->busy, 1);
    if (atomic_load(&fx->hold) || !fx->active) {
        /* The control side has the plugin (state, preset): silence. */
        for (uint32_t k = 0; k < fx->naout; k++)
            memset(out[k], 0, n * sizeof(float));
        fx->ev = NULL;
        atomic_store(&fx->busy, 0);
        RT_FOREIGN_BEGIN();
        return;
    }
    lv2_fx *outer = lv2_tls_rt;
    lv2_tls_rt = fx;
    if (fx->nmports)
        install_midi_buffer(fx);
    const VstTimeInfo *ti = fx->has_time ? (const VstTimeInfo *)host(fx, audioMasterGetTime, NULL)
                                         : NULL;
    double frame = 0.0;
    bool tell_time = ti && time_changed(fx, ti, &frame);
    for (uint32_t k = 0; k < fx->ncin; k++)
        fx->ctl[fx->cin[k]] = lv2_load_f(&fx->target[k]);

    int32_t next = 0;
    for (uint32_t off = 0; off < n;) {
        uint32_t c = n - off;
        if (c > fx->max_block)
            c = fx->max_block;
        bool last = off + c >= n;
        prepare_inputs(fx, ti, off == 0, tell_time && off == 0, frame, &next, (int32_t)off,
                       (int32_t)(off + c), last);
        RT_FOREIGN_BEGIN();
        for (uint32_t k = 0; k < fx->nain; k++)
            lilv_instance_connect_port(fx->instance, fx->ain[k], in[k] + off);
        for (uint32_t k = 0; k < fx->naout; k++)
            lilv_instance_connect_port(fx->instance, fx->aout[k], out[k] + off);
        lilv_instance_run(fx->instance, c);
        RT_FOREIGN_END();
        if (fx->natout)
            take_midi_out(fx, (int32_t)off);
        if (fx->report_scratch && !last)
            lv2_rt_take_reports(fx);
        off += c;
    }
    /* The worker's answers after run(), as the worker specification has
     * it: a plugin may write to its outputs in work_response() (convoLV2
     * reports its new impulse response there). */
    if (n > 0) {
        deliver_responses(fx);
        if (fx->report_scratch)
            lv2_rt_take_reports(fx);
    }
    fx->pos_off += n;
    for (uint32_t k = 0; k < fx->ncout; k++)
        lv2_store_f(&fx->outval[k], fx->ctl[fx->cout[k]]);
    if (fx->worker && fx->worker->end_run) {
        RT_FOREIGN_BEGIN();
        fx->worker->end_run(lilv_instance_get_handle(fx->instance));
        RT_FOREIGN_END();
    }
    fx->ev = NULL;
    lv2_tls_rt = outer;
    atomic_store_explicit(&fx->busy, 0, memory_order_release);
    RT_FOREIGN_BEGIN();
}
