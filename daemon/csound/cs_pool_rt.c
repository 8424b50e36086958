/* cs_pool_rt.c - MIDI voice pools, the audio side.  AUDIO THREAD code.
 *
 * cs_rt_midi runs before cs_rt_process renders the block the notes belong
 * to: a note-on takes an idle voice, gives its slot a fresh id and the
 * pool's parameters, and queues its start in the timed heap at the note's
 * frame; a note-off queues a stop of the voice holding that channel and key.
 * The heap applies both in the k-cycle of the frame, at the sample, like a
 * synth.start or synth.stop at that frame (cs_process_rt.c).  No allocation,
 * lock or I/O: the voices, their idle ring and the heap are preallocated. */
#include "cs_internal.h"

/* Both threads read pool fields only after this acquire (cs_pool.c). */
static int pool_state(cs_pool *pl)
{
    return atomic_load_explicit(&pl->state, memory_order_acquire);
}

static int queue(cs_engine *eng, cs_cmd *c)
{
    c->seq = eng->seq++;
    return cs_heap_push(eng, c);
}

static void voice_stop(cs_engine *eng, cs_voice *v, uint64_t frame)
{
    cs_cmd c = { .type = CMD_STOP, .frame = frame, .id = v->id, .slot = v->slot };
    queue(eng, &c);
    v->key = -1;
}

/* Stops the voice holding key (one at most: a repeated note-on stops the
 * previous first).  A voice that ended on its own still holds its key; its
 * stop then finds the slot ended (or owned by a newer id) and does nothing. */
static void key_off(cs_engine *eng, cs_pool *pl, int key, uint64_t frame)
{
    for (unsigned i = 0; i < pl->nvoices; i++)
        if (pl->voices[i].key == key) {
            voice_stop(eng, &pl->voices[i], frame);
            return;
        }
}

static void key_on(cs_engine *eng, cs_pool *pl, int key, unsigned note, unsigned vel,
                   uint64_t frame)
{
    unsigned vi;
    key_off(eng, pl, key, frame);
    if (spsc_pop(pl->idle, &vi) != 0) {
        /* Every voice sounds or waits for the control side to drain its
         * end: refused, counted, reported by the daemon. */
        atomic_fetch_add_explicit(&pl->dropped, 1, memory_order_relaxed);
        return;
    }
    cs_voice *v = &pl->voices[vi];
    cs_slot *s = &eng->slots[v->slot];
    for (unsigned i = 0; i < pl->nparams; i++)
        cs_slot_param_set(s, i, pl->pdef[i]);
    if (pl->note_idx >= 0)
        cs_slot_param_set(s, (unsigned)pl->note_idx, note);
    if (pl->vel_idx >= 0)
        cs_slot_param_set(s, (unsigned)pl->vel_idx, vel / 127.0);
    v->id = cs_next_id(eng, v->slot);
    v->key = key;
    atomic_store_explicit(&s->owner, v->id, memory_order_release);
    s->state = SLOT_PENDING;
    cs_cmd c = { .type = CMD_START, .frame = frame, .id = v->id, .slot = v->slot,
                 .a = (uint32_t)pl->instr, .need_compile = pl->need_compile };
    queue(eng, &c);
    atomic_fetch_add_explicit(&pl->started, 1, memory_order_release);
}

void cs_rt_midi(cs_engine *eng, const unsigned char *msg, unsigned len, unsigned offset)
{
    if (len < 3)
        return;
    unsigned type = msg[0] & 0xF0u, ch = msg[0] & 0x0Fu, note = msg[1] & 0x7Fu,
             vel = msg[2] & 0x7Fu;
    if (type != 0x90 && type != 0x80)
        return;
    int on = type == 0x90 && vel > 0, key = (int)(ch << 7 | note);
    /* The block starts nahead frames before Csound's clock: those were
     * rendered ahead with the previous block (cs_rt_process's FIFO).  A note
     * among them starts at the first frame not rendered yet (at most
     * ksmps-1 late; never when blocks are multiples of ksmps). */
    uint64_t now = atomic_load_explicit(&eng->frame, memory_order_relaxed);
    uint64_t frame = now - eng->nahead + offset;
    if (frame < now)
        frame = now;
    for (unsigned p = 0; p < CS_MAX_POOLS; p++) {
        cs_pool *pl = &eng->pools[p];
        if (pool_state(pl) != POOL_OPEN || (pl->channel >= 0 && (unsigned)pl->channel != ch))
            continue;
        /* Room for a stop and a start.  Client commands never take the
         * pools' share of the heap (two per slot, cs_engine.c), so this
         * holds unless a voice's commands wait far beyond their block. */
        if (minheap_len(&eng->heap) + 2 > minheap_capacity(&eng->heap)) {
            atomic_fetch_add_explicit(&pl->dropped, 1, memory_order_relaxed);
            continue;
        }
        if (on)
            key_on(eng, pl, key, note, vel, frame);
        else
            key_off(eng, pl, key, frame);
    }
}

void cs_rt_pools_close(cs_engine *eng)
{
    uint64_t frame = atomic_load_explicit(&eng->frame, memory_order_relaxed);
    for (unsigned p = 0; p < CS_MAX_POOLS; p++) {
        cs_pool *pl = &eng->pools[p];
        if (pool_state(pl) != POOL_CLOSING)
            continue;
        for (unsigned i = 0; i < pl->nvoices; i++)
            if (pl->voices[i].key >= 0) {
                if (minheap_len(&eng->heap) == minheap_capacity(&eng->heap))
                    return;             /* the rest at the next block */
                voice_stop(eng, &pl->voices[i], frame);
            }
        atomic_store_explicit(&pl->state, POOL_CLOSED, memory_order_release);
        cs_rt_note(eng, NOTE_POOL_CLOSED, p, frame, 0, NULL, 0);
    }
}
