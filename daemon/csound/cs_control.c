/* cs_control.c - control-thread plumbing: errors, sending commands, and
 * draining the audio thread's replies (which is where synth slots, MIDI
 * voices, buses, tables and handed-over memory are reclaimed). */
#include "cs_internal.h"
#include "cs_core.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int cs_seterr(cs_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->line = 0;
    }
    return code;
}

int cs_push_cmd(cs_engine *eng, cs_cmd *c, cs_error *err)
{
    if (c->ptr && eng->ptrs_in_flight >= eng->ptr_budget)
        return cs_seterr(err, CS_EAGAIN, "too much data in flight to the audio thread");
    if (spsc_push(eng->cmd_ring, c) != 0)
        return cs_seterr(err, CS_EAGAIN, "command ring full (audio thread not running?)");
    if (c->ptr)
        eng->ptrs_in_flight++;
    return 0;
}

size_t cs_engine_cmd_space(const cs_engine *eng)
{
    return spsc_space(eng->cmd_ring);
}

size_t cs_engine_cmd_capacity(const cs_engine *eng)
{
    return spsc_capacity(eng->cmd_ring);
}

static void release_slot(cs_engine *eng, uint64_t id)
{
    unsigned slot = (unsigned)(id & ((1u << CS_SYNTH_SLOT_BITS) - 1));
    if (slot >= eng->nslots || eng->slot_ctl[slot] != SLOTC_SYNTH ||
        atomic_load_explicit(&eng->slots[slot].owner, memory_order_relaxed) != id)
        return;
    eng->slot_ctl[slot] = SLOTC_FREE;
    eng->free_slots[eng->nfree_slots++] = slot;
    eng->live_synths--;
}

int cs_notice_pop(cs_engine *eng, cs_notice *out)
{
    cs_note n;
    while (spsc_pop(eng->note_ring, &n) == 0) {
        switch (n.kind) {
        case NOTE_FREE_PTR:
            free(n.ptr);
            if (eng->ptrs_in_flight)
                eng->ptrs_in_flight--;
            continue;
        case NOTE_TAP_FREED:
            free(n.ptr);
            if (eng->ptrs_in_flight)
                eng->ptrs_in_flight--;
            if (n.id < CS_MAX_TAPS)
                eng->tap_ctl[n.id] = 0;
            continue;
        case NOTE_FREE_FUNC:
            cs_core_ftable_free(eng->cs, n.ptr);
            if (eng->ptrs_in_flight)
                eng->ptrs_in_flight--;
            continue;
        case NOTE_POOL_CLOSED:
            cs_pool_closed(eng, (unsigned)n.id);
            continue;
        case CS_NOTICE_ENDED:
        case CS_NOTICE_FAILED:
            if (!cs_pool_voice_ended(eng, (unsigned)(n.id & ((1u << CS_SYNTH_SLOT_BITS) - 1)),
                                     n.id, n.kind == CS_NOTICE_FAILED))
                release_slot(eng, n.id);
            break;
        case CS_NOTICE_BUS_FREED:
            if (n.id < eng->nbuses)
                eng->bus_ctl[n.id] = 0;
            break;
        case CS_NOTICE_TABLE_READY:
            /* The command's pointer is back; ptr is a FUNC to free (one
             * that was at this number, or this one when it failed). */
            cs_core_ftable_free(eng->cs, n.ptr);
            if (eng->ptrs_in_flight)
                eng->ptrs_in_flight--;
            if (n.id < CS_MAX_TABLES && eng->tab_ctl[n.id] == 1) {
                eng->tab_ctl[n.id] = n.code ? 0 : 2;
                if (n.code) {
                    eng->tab_func[n.id] = NULL;
                    eng->tab_cptr[n.id] = NULL;
                    eng->tab_clen[n.id] = 0;
                }
            }
            n.id += CS_TABLE_BASE;
            break;
        default:
            break;
        }
        out->kind = (cs_notice_kind)n.kind;
        out->id = n.id;
        out->frame = n.frame;
        out->code = n.code;
        return 1;
    }
    return 0;
}
