/* cs_pool.c - MIDI voice pools, the control side: open (reserve slots,
 * prepare the parameter mapping), close, and take voices back as their end
 * notices are drained.  The audio side is cs_pool_rt.c; why the voices go
 * back here and not on the audio thread: cs_internal.h, "MIDI voice pools".
 *
 * Hand-over: every [C>A] field of a pool is written while it is POOL_FREE,
 * then a release store of POOL_OPEN publishes it; the audio thread reads
 * them only after an acquire load saw OPEN or CLOSING.  Once the audio
 * thread has said CLOSED (NOTE_POOL_CLOSED) it never touches the pool
 * again, so the memory is freed here when the last voice has ended. */
#include "cs_internal.h"

#include <stdlib.h>
#include <string.h>

static int param_of(const cs_template *tp, const char *name)
{
    for (unsigned i = 0; name && i < tp->nparams; i++)
        if (!strcmp(tp->pname[i], name))
            return (int)i;
    return -1;
}

int cs_pool_open(cs_engine *eng, const char *instr, const char *note, const char *vel,
                 int channel, unsigned voices, int *pool, cs_error *err)
{
    int t = instr ? cs_template_find(eng, instr) : 0;
    if (!t)
        return cs_seterr(err, CS_ENOENT, "no instrument named '%s'", instr ? instr : "(null)");
    cs_template *tp = &eng->tmpl[t];
    int ni = param_of(tp, note), vi = param_of(tp, vel);
    if ((note && ni < 0) || (vel && vi < 0))
        return cs_seterr(err, CS_EINVAL, "instrument '%s' has no parameter '%s'", instr,
                         note && ni < 0 ? note : vel);
    if (channel < -1 || channel > 15)
        return cs_seterr(err, CS_EINVAL, "channel must be 0..15 or -1 (all)");
    if (voices == 0)
        voices = CS_POOL_VOICES;
    if (voices > CS_POOL_MAX_VOICES)
        return cs_seterr(err, CS_EINVAL, "at most %d voices", CS_POOL_MAX_VOICES);
    int p = 0;
    while (p < CS_MAX_POOLS &&
           atomic_load_explicit(&eng->pools[p].state, memory_order_acquire) != POOL_FREE)
        p++;
    if (p == CS_MAX_POOLS)
        return cs_seterr(err, CS_ELIMIT, "%d voice pools are open or still closing",
                         CS_MAX_POOLS);
    if (eng->nfree_slots < voices)
        return cs_seterr(err, CS_EAGAIN, "%u voices asked, %u synth slots free", voices,
                         eng->nfree_slots);
    int rc;
    if (!tp->compiled[tp->priority] && (rc = cs_template_compile(eng, t, tp->priority, err)))
        return rc;

    cs_pool *pl = &eng->pools[p];
    pl->voices = calloc(voices, sizeof *pl->voices);
    if (!pl->voices || !(pl->idle = spsc_create(voices, sizeof(unsigned)))) {
        free(pl->voices);
        pl->voices = NULL;
        return cs_seterr(err, CS_ENOMEM, "out of memory");
    }
    pl->tmpl = t;
    pl->instr = cs_instr_number(eng, t, tp->priority);
    pl->channel = channel;
    pl->note_idx = ni;
    pl->vel_idx = vi;
    pl->nparams = tp->nparams;
    memcpy(pl->pdef, tp->pdef, sizeof pl->pdef);
    pl->need_compile = tp->compiled[tp->priority];
    pl->nvoices = voices;
    atomic_store_explicit(&pl->started, 0, memory_order_relaxed);
    atomic_store_explicit(&pl->dropped, 0, memory_order_relaxed);
    pl->returned = pl->failed = 0;
    pl->closed_seen = 0;
    for (unsigned v = 0; v < voices; v++) {
        unsigned s = eng->free_slots[--eng->nfree_slots];
        pl->voices[v] = (cs_voice){ .slot = s, .key = -1 };
        eng->slot_ctl[s] = SLOTC_POOL;
        eng->slot_tmpl[s] = t;
        eng->slot_voice[s] = (uint32_t)p << 16 | v;
        (void)spsc_push(pl->idle, &v);
    }
    atomic_store_explicit(&pl->state, POOL_OPEN, memory_order_release);
    *pool = p;
    return 0;
}

static cs_pool *open_pool(const cs_engine *eng, int pool)
{
    if (pool < 0 || pool >= CS_MAX_POOLS)
        return NULL;
    const cs_pool *pl = &eng->pools[pool];
    return atomic_load_explicit(&pl->state, memory_order_relaxed) == POOL_OPEN ? (cs_pool *)pl
                                                                             : NULL;
}

/* A closed pool whose voices all ended gives its slots back. */
static void pool_reclaim(cs_engine *eng, cs_pool *pl)
{
    if (!pl->closed_seen ||
        pl->returned != atomic_load_explicit(&pl->started, memory_order_acquire))
        return;
    for (unsigned v = 0; v < pl->nvoices; v++) {
        unsigned s = pl->voices[v].slot;
        eng->slot_ctl[s] = SLOTC_FREE;
        eng->free_slots[eng->nfree_slots++] = s;
    }
    free(pl->voices);
    pl->voices = NULL;
    spsc_destroy(pl->idle);
    pl->idle = NULL;
    atomic_store_explicit(&pl->state, POOL_FREE, memory_order_release);
}

int cs_pool_close(cs_engine *eng, int pool)
{
    cs_pool *pl = open_pool(eng, pool);
    if (!pl)
        return CS_ENOENT;
    atomic_store_explicit(&pl->state, POOL_CLOSING, memory_order_release);
    return 0;
}

void cs_pool_closed(cs_engine *eng, unsigned pool)
{
    if (pool >= CS_MAX_POOLS)
        return;
    eng->pools[pool].closed_seen = 1;
    pool_reclaim(eng, &eng->pools[pool]);
}

int cs_pool_voice_ended(cs_engine *eng, unsigned slot, uint64_t id, int failed)
{
    if (slot >= eng->nslots || eng->slot_ctl[slot] != SLOTC_POOL ||
        atomic_load_explicit(&eng->slots[slot].owner, memory_order_relaxed) != id)
        return 0;
    cs_pool *pl = &eng->pools[eng->slot_voice[slot] >> 16];
    unsigned v = eng->slot_voice[slot] & 0xFFFF;
    pl->returned++;
    pl->failed += failed != 0;
    if (atomic_load_explicit(&pl->state, memory_order_relaxed) == POOL_OPEN)
        (void)spsc_push(pl->idle, &v);    /* room for every voice: cannot fail */
    else
        pool_reclaim(eng, pl);
    return 1;
}

unsigned cs_pools_closing(const cs_engine *eng)
{
    unsigned n = 0;
    for (int p = 0; p < CS_MAX_POOLS; p++) {
        int st = atomic_load_explicit(&eng->pools[p].state, memory_order_relaxed);
        n += st == POOL_CLOSING || st == POOL_CLOSED;
    }
    return n;
}

int cs_pool_stats_get(const cs_engine *eng, int pool, cs_pool_stats *st)
{
    const cs_pool *pl = open_pool(eng, pool);
    if (!pl)
        return CS_ENOENT;
    uint64_t started = atomic_load_explicit(&pl->started, memory_order_acquire);
    st->dropped = atomic_load_explicit(&pl->dropped, memory_order_relaxed);
    st->failed = pl->failed;
    st->sounding = (unsigned)(started - pl->returned);
    return 0;
}
