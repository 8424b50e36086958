/* vst_notify.c - the control side reading what the plugin and the audio
 * thread recorded lock-free: automation, edit gestures, notifications,
 * MIDI out, error counters and sysex to free.
 *
 * The daemon polls these (e.g. on a 20-40 Hz timer) and turns them into
 * client events; polling is what coalesces and rate-limits them. */
#include <stdlib.h>
#include <string.h>

#include "daemon/vst/vst_instance.h"

unsigned vst_take_param_changes(vst_instance *inst, vst_param_change *out, unsigned max)
{
    unsigned n = 0;
    for (unsigned w = 0; w < inst->auto_words && n < max; w++) {
        uint64_t bits = atomic_exchange_explicit(&inst->auto_dirty[w], 0, memory_order_acquire);
        while (bits) {
            if (n == max) {
                /* No room: give the rest back for the next call. */
                atomic_fetch_or_explicit(&inst->auto_dirty[w], bits, memory_order_relaxed);
                break;
            }
            int b = __builtin_ctzll(bits);
            bits &= bits - 1;
            int index = (int)(w * 64 + (unsigned)b);
            uint32_t v = atomic_load_explicit(&inst->auto_value[index], memory_order_relaxed);
            out[n].index = index;
            memcpy(&out[n].value, &v, sizeof v);
            n++;
        }
    }
    return n;
}

bool vst_param_editing(vst_instance *inst, int index)
{
    if (index < 0 || index >= inst->auto_params)
        return false;
    uint64_t w = atomic_load_explicit(&inst->editing[index / 64], memory_order_relaxed);
    return (w >> (index % 64)) & 1;
}

unsigned vst_take_notifications(vst_instance *inst)
{
    return atomic_exchange_explicit(&inst->notes, 0, memory_order_acquire);
}

unsigned vst_take_midi_out(vst_instance *inst, vst_midi_out *out, unsigned max)
{
    unsigned n = 0;
    while (n < max && spsc_pop(inst->midi_out, &out[n]) == 0)
        n++;
    return n;
}

/* n bytes of the byte ring r from free-running position pos. */
static void ring_read(spsc_ring *r, size_t pos, void *dst, size_t n)
{
    size_t first = spsc_capacity(r) - (pos & (spsc_capacity(r) - 1));

    if (first > n)
        first = n;
    memcpy(dst, spsc_slot(r, pos), first);
    memcpy((uint8_t *)dst + first, spsc_slot(r, pos + first), n - first);
}

size_t vst_take_sysex_out(vst_instance *inst, int64_t *frame, int32_t *delta, uint8_t *buf,
                          size_t cap)
{
    spsc_ring *r = inst->sysex_out;
    uint8_t head[16];
    uint32_t len;
    size_t pos;

    if (r == NULL || spsc_count(r) < sizeof head)
        return 0;
    pos = spsc_read_pos(r);
    ring_read(r, pos, head, sizeof head);
    memcpy(frame, head, 8);
    memcpy(delta, head + 8, 4);
    memcpy(&len, head + 12, 4);
    if (len > cap)
        return len;
    ring_read(r, pos + sizeof head, buf, len);
    spsc_release(r, sizeof head + len);
    return len;
}

uint32_t vst_take_midi_out_dropped(vst_instance *inst)
{
    return (uint32_t)atomic_exchange_explicit(&inst->midi_out_dropped, 0, memory_order_relaxed);
}

uint32_t vst_take_overflow(vst_instance *inst)
{
    return (uint32_t)atomic_exchange_explicit(&inst->overflow, 0, memory_order_relaxed);
}

uint32_t vst_take_non_finite(vst_instance *inst)
{
    return (uint32_t)atomic_exchange_explicit(&inst->non_finite, 0, memory_order_relaxed);
}

uint32_t vst_take_late(vst_instance *inst)
{
    return (uint32_t)atomic_exchange_explicit(&inst->late, 0, memory_order_relaxed);
}

unsigned vst_reclaim(vst_instance *inst)
{
    vst_sysex *sx = atomic_exchange_explicit(&inst->reclaim, NULL, memory_order_acquire);
    unsigned n = 0;
    while (sx) {
        vst_sysex *next = sx->next;
        free(sx);
        sx = next;
        n++;
    }
    return n;
}
