/* vst_events_rt.c - audio-thread half of MIDI input: queueing events for
 * the next block, growing the buffer by pointer swap, sorting and handing
 * the events to the plugin.
 *
 * AUDIO-THREAD CODE: no allocation, no free, no locks, no waiting, no
 * logging, no I/O.  All memory was prepared by vst_events.c on the control
 * side.  A full buffer is reported (return value + overflow counter),
 * never silently dropped. */
#include <string.h>

#include "daemon/rtcheck/rtcheck.h"
#include "daemon/vst/vst_events_rt.h"

static int32_t valid_delta(const vst_instance *inst, int32_t delta)
{
    return delta >= 0 && (uint32_t)delta < inst->max_block;
}

static vst_event_slot *take_slot(vst_instance *inst)
{
    vst_event_buf *b = inst->events;
    if (b->count >= b->capacity) {
        atomic_fetch_add_explicit(&inst->overflow, 1, memory_order_relaxed);
        return NULL;
    }
    vst_event_slot *s = &b->slots[b->count++];
    memset(s, 0, sizeof *s);
    return s;
}

int vst_rt_queue_midi(vst_instance *inst, int32_t delta, vst_midi_msg msg)
{
    if (msg.len < 1 || msg.len > 3 || !(msg.data[0] & 0x80) || !valid_delta(inst, delta))
        return VST_E_MIDI;
    vst_event_slot *s = take_slot(inst);
    if (!s)
        return VST_E_FULL;
    s->ev.midi.type = kVstMidiType;
    s->ev.midi.byteSize = (VstInt32)sizeof(VstMidiEvent);
    s->ev.midi.deltaFrames = delta;
    for (unsigned i = 0; i < msg.len; i++)
        s->ev.midi.midiData[i] = (char)msg.data[i];
    return VST_OK;
}

int vst_rt_queue_sysex(vst_instance *inst, int32_t delta, vst_sysex *sx)
{
    if (!sx || !valid_delta(inst, delta))
        return VST_E_MIDI;
    vst_event_slot *s = take_slot(inst);
    if (!s)
        return VST_E_FULL;
    s->ev.sysex.type = kVstSysExType;
    s->ev.sysex.byteSize = (VstInt32)sizeof(VstMidiSysexEvent);
    s->ev.sysex.deltaFrames = delta;
    s->ev.sysex.dumpBytes = (VstInt32)sx->len;
    s->ev.sysex.sysexDump = (char *)sx->data;
    s->owner = sx;
    return VST_OK;
}

vst_event_buf *vst_rt_swap_events(vst_instance *inst, vst_event_buf *bigger)
{
    vst_event_buf *old = inst->events;
    if (!bigger || bigger == old || bigger->capacity < old->count)
        return bigger;
    memcpy(bigger->slots, old->slots, (size_t)old->count * sizeof *old->slots);
    bigger->count = old->count;
    old->count = 0;
    inst->events = bigger;
    return old;
}

unsigned vst_rt_event_capacity(const vst_instance *inst)
{
    return inst->events->capacity;
}

unsigned vst_rt_events_pending(const vst_instance *inst)
{
    return inst->events->count;
}

/* Bottom-up merge sort of n event pointers by deltaFrames.  Stable: equal
 * deltas keep queue order, which a note-off/note-on pair at the same frame
 * depends on.  O(n log n) with the preallocated scratch array. */
static VstEvent **sort_events(VstEvent **a, VstEvent **tmp, unsigned n)
{
    VstEvent **src = a, **dst = tmp;
    for (unsigned width = 1; width < n; width *= 2) {
        for (unsigned lo = 0; lo < n; lo += 2 * width) {
            unsigned mid = lo + width < n ? lo + width : n;
            unsigned hi = lo + 2 * width < n ? lo + 2 * width : n;
            unsigned i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = (src[j]->deltaFrames < src[i]->deltaFrames) ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        VstEvent **t = src;
        src = dst;
        dst = t;
    }
    return src;
}

void vst_rt_events_send(vst_instance *inst, unsigned nframes)
{
    vst_event_buf *b = inst->events;
    unsigned n = b->count;
    if (n == 0)
        return;

    VstEvent **list = b->list->events;
    bool sorted = true;
    int32_t last = 0;
    for (unsigned i = 0; i < n; i++) {
        VstEvent *e = &b->slots[i].ev.head;
        if ((uint32_t)e->deltaFrames >= nframes) {
            /* Queued for a bigger block than this one: play it at the last
             * frame rather than lose it, and let the control side know. */
            e->deltaFrames = (int32_t)nframes - 1;
            atomic_fetch_add_explicit(&inst->late, 1, memory_order_relaxed);
        }
        if (e->deltaFrames < last)
            sorted = false;
        last = e->deltaFrames;
        list[i] = e;
    }
    if (!sorted) {
        VstEvent **result = sort_events(list, b->scratch, n);
        if (result != list)
            memcpy(list, result, (size_t)n * sizeof *list);
    }
    b->list->numEvents = (VstInt32)n;
    b->list->reserved = 0;

    vst_tls_rt = inst;
    RT_FOREIGN_BEGIN();
    inst->effect->dispatcher(inst->effect, effProcessEvents, 0, 0, b->list, 0.0f);
    RT_FOREIGN_END();
    vst_tls_rt = NULL;
}

void vst_rt_events_done(vst_instance *inst)
{
    vst_event_buf *b = inst->events;
    for (unsigned i = 0; i < b->count; i++) {
        vst_sysex *sx = b->slots[i].owner;
        if (!sx)
            continue;
        /* Lock-free push; the control side takes the whole stack at once
         * (vst_reclaim), so there is no ABA hazard. */
        sx->next = atomic_load_explicit(&inst->reclaim, memory_order_relaxed);
        while (!atomic_compare_exchange_weak_explicit(&inst->reclaim, &sx->next, sx,
                                                      memory_order_release, memory_order_relaxed))
            ;
    }
    b->count = 0;
}
