/* cs_process_rt.c - the per-block work of the live Csound.  AUDIO THREAD code.
 *
 * For each k-cycle of a block:
 *   1. move new commands from the control ring into the timed heap;
 *   2. start a new bus cycle (every audio bus silent until written: the
 *      buses are not cleared, their stamps tell);
 *   3. apply every command whose frame falls inside this k-cycle (synth
 *      starts become Csound events fired with the synchronous API, which on
 *      this thread takes Csound's API lock uncontended);
 *   4. interleave input into spin, csoundPerformKsmps, deinterleave spout,
 *      copy the tapped audio buses out (cs_bus_tap);
 *   5. look at what the cycle did (compile merged, failed starts).
 * Nothing here allocates, frees, locks or prints; calls into Csound are
 * bracketed with RT_FOREIGN_BEGIN/END (they are outside our promise). */
#include "cs_internal.h"
#include "cs_core.h"
#include "daemon/rtcheck/rtcheck.h"

#include <fenv.h>
#include <math.h>
#include <string.h>

void cs_rt_note(cs_engine *eng, int kind, uint64_t id, uint64_t frame, int code,
                void *ptr, size_t len)
{
    cs_note n = { .kind = kind, .code = code, .id = id, .frame = frame,
                  .ptr = ptr, .len = len };
    /* The ring is sized for every slot, bus, table and in-flight pointer the
     * control side can create, so this cannot fail; count it if it ever does. */
    if (spsc_push(eng->note_ring, &n) != 0)
        atomic_fetch_add_explicit(&eng->notes_lost, 1, memory_order_relaxed);
}

void cs_rt_bus_unref(cs_engine *eng, unsigned bus)
{
    cs_bus_rt *b = &eng->bus_rt[bus];
    if (b->users)
        b->users--;
    if (b->live && b->released && b->users == 0) {
        b->live = 0;
        cs_rt_note(eng, CS_NOTICE_BUS_FREED, bus, eng->cycle_frame, 0, NULL, 0);
    }
}

static int slot_matches(cs_engine *eng, const cs_cmd *c)
{
    return c->slot < eng->nslots &&
           atomic_load_explicit(&eng->slots[c->slot].owner, memory_order_acquire) == c->id;
}

/* Csound's pending events are detached at the first event a schedule()
 * pass gives and attached at its end (cs_core_events_*): each event lands
 * in an empty list, so n events due in one k-cycle cost n steps, not the
 * n^2/2 of Csound's walk per event (for a 500-note chord of synth.start,
 * 125 000 nodes 16 KB apart), in the order Csound's walk gives them.
 * Nothing else gives Csound events between the two. */
static void events_open(cs_engine *eng)
{
    if (!eng->ev_open) {
        eng->ev_saved = cs_core_events_detach(eng->cs);
        eng->ev_head = eng->ev_tail = NULL;
        eng->ev_open = 1;
    }
}

static void events_took(cs_engine *eng)
{
    cs_core_events_take(eng->cs, &eng->ev_head, &eng->ev_tail);
}

static void events_close(cs_engine *eng)
{
    if (eng->ev_open) {
        cs_core_events_attach(eng->cs, eng->ev_saved, eng->ev_head);
        eng->ev_open = 0;
    }
}

static void fire_start(cs_engine *eng, cs_cmd *c, uint32_t offset)
{
    cs_slot *s = &eng->slots[c->slot];
    if (s->state != SLOT_PENDING)
        return;                     /* cancelled before its start */
    if (c->need_compile > atomic_load_explicit(&eng->merged_mark, memory_order_relaxed)) {
        /* Its instrument is merged by this cycle's perf pass; Csound senses
         * events before merging, so start at the next cycle. */
        cs_cmd d = *c;
        d.frame = eng->cycle_frame + eng->ksmps;
        eng->defer[eng->ndefer++] = d;
        return;
    }
    s->state = SLOT_FIRED;
    s->instr = (int)c->a;
    s->start_offset = offset;
    s->stop_req = 0;
    s->nbuses = 0;
    /* p3 = -1 holds the note until we turn it off.  Held notes with the
     * same p1 tie (Csound reuses the running instance), so every slot gets
     * its own fractional instrument number. */
    MYFLT p[4] = { (MYFLT)c->a + (MYFLT)(c->slot + 1) / 1048576.0, 0, -1, (MYFLT)c->slot };
    eng->fired[eng->nfired++] = c->slot;
    eng->cycle_started++;
    if ((c->b & CS_CMD_SPREAD) && c->v > 0) {
        /* Its duration counts from the frame it really starts at: the stop
         * takes the heap entry the start left (cs_synth.c queued none). */
        cs_cmd st = { .type = CMD_STOP, .frame = eng->cycle_frame + offset + (uint64_t)c->v,
                      .seq = eng->seq++, .id = c->id, .slot = c->slot };
        cs_heap_push(eng, &st);
    }
    RT_FOREIGN_BEGIN();
    events_open(eng);
    csoundScoreEvent(eng->cs, 'i', p, 4);
    events_took(eng);
    RT_FOREIGN_END();
}

static void apply_stop(cs_engine *eng, cs_cmd *c, uint32_t offset)
{
    cs_slot *s = &eng->slots[c->slot];
    switch (s->state) {
    case SLOT_PENDING:              /* never started: cancel, report at once */
        s->state = SLOT_ENDED;
        cs_rt_note(eng, CS_NOTICE_FAILED, c->id, eng->cycle_frame + offset, 1, NULL, 0);
        break;
    case SLOT_FIRED:
    case SLOT_RUNNING:
        if (!s->stop_req) {
            s->stop_req = 1;
            s->stop_offset = offset;
        }
        break;
    default:
        break;                      /* already ended: nothing to do */
    }
}

static void apply_automate(cs_engine *eng, cs_cmd *c)
{
    cs_slot *s = &eng->slots[c->slot];
    cs_auto *a = c->ptr;
    if (s->state == SLOT_ENDED || c->a >= CS_MAX_PARAMS) {
        cs_rt_note(eng, NOTE_FREE_PTR, 0, 0, 0, a, 0);
        return;
    }
    if (s->autom[c->a])
        cs_rt_note(eng, NOTE_FREE_PTR, 0, 0, 0, s->autom[c->a], 0);
    a->start_frame = c->frame > eng->cycle_frame ? c->frame : eng->cycle_frame;
    a->cursor = 0;
    s->autom[c->a] = a;
}

/* The table was built on the control side (cs_table.c): it only goes into
 * Csound's list, usable from this k-cycle's perf pass on.  The notice
 * carries what the control side frees: a table that was at this number
 * (user code put one there), or this one if it could not go in. */
static void apply_table_new(cs_engine *eng, cs_cmd *c)
{
    int ok;
    void *old = cs_core_ftable_swap(eng->cs, CS_TABLE_BASE + (int)c->slot, c->ptr, &ok);
    if (ok) {
        eng->tab_ptr[c->slot] = cs_core_ftable_data(c->ptr);
        eng->tab_len[c->slot] = (size_t)c->v;
    }
    cs_rt_note(eng, CS_NOTICE_TABLE_READY, c->slot, eng->cycle_frame, ok ? 0 : 1,
               ok ? old : c->ptr, 0);
}

/* Csound's time of an event whose p2 counts from frame `base`: base/sr + p2,
 * moved by the fewest ulps that make Csound's own start sample
 * (int64_t)(time * sr), insert.c, equal base + (int64_t)(p2 * sr).  With
 * base 0 it is p2 itself, so a block timed from frame 0 is the same score to
 * Csound as the same lines in a .csd.
 *
 * *start is the frame at which Csound plays the event when it reads it from
 * a score: in the k-cycle floor((time * sr + 0.5 / sr) / ksmps) (musmon.c
 * sensevents, with --sample-accurate), at the offset (int64_t)(time * sr)
 * mod ksmps (insert.c).  The two disagree when time * sr lies less than
 * 0.5 / sr below a k-cycle boundary (31423.999999999996 for 31424 / 48000):
 * Csound then starts the note ksmps - 1 frames late, and so do we. */
static double event_time(double sr, unsigned ksmps, uint64_t base, double p2, int64_t *start)
{
    const int64_t want = (int64_t)base + (int64_t)(p2 * sr);
    double t = (double)base / sr + p2;
    for (int i = 0; i < 16 && (int64_t)(t * sr) != want; i++)
        t = nextafter(t, (int64_t)(t * sr) < want ? INFINITY : -INFINITY);
    const int64_t samp = (int64_t)(t * sr), ks = ksmps;
    const int64_t cycle = (int64_t)floor((t * sr + 0.5 / sr) / (double)ks);
    *start = cycle * ks + samp % ks;
    return t;
}

/* The frame the block's p2 counts from: its `at`, or this k-cycle's first
 * frame for an `at` already past.  Set when the block first falls due. */
static void events_base(cs_engine *eng, const cs_cmd *c)
{
    cs_events *e = c->ptr;
    if (!e->based) {
        e->base = c->frame > eng->cycle_frame ? c->frame : eng->cycle_frame;
        e->based = 1;
    }
}

/* Gives Csound the block's events whose start sample is due: those at this
 * command's frame now, in score order.  The block goes back into the heap
 * at the next event's sample (later in this k-cycle: popped again in this
 * cycle, in frame order with other commands; later: waits there).  So
 * Csound gets each event in the k-cycle of its start, never earlier (it
 * then holds no more than what is due: one 16 KB event node each) and never
 * later.  The events go into Csound's list without its walk per event
 * (events_open).
 *
 * Csound with --sample-accurate starts an event at sample (int64)(p2 * sr)
 * (insert.c sets ksmps_offset from it) in the k-cycle in which the event
 * fires, and ends it at ceil((p2 + p3) * kr) with the last cycle cut to
 * (int)(p3 * sr) samples: exact, and the same as a score's, when the event
 * fires in the cycle of its start sample.  But an event given through the
 * API fires in the k-cycle *nearest* to p2 (time2kcnt rounds with llrint):
 * a start in the second half of a cycle would fire one cycle late.  Every
 * event given here is due in this cycle, so under round-down llrint gives
 * at most this cycle: it fires now, with p2 and p3 untouched.
 *
 * A spread block (spread_drain) gives every event due by the end of this
 * k-cycle while the cycle has fewer than spread_bound starts, and returns
 * 0 when it stopped for want of room (the rest waits in the spread queue).
 * An event held back from an earlier k-cycle starts at this
 * cycle's first frame: p2 is the engine's time of that frame (as an event
 * of a block at that frame with p2 = 0), p3 as written, so it plays as the
 * same line sent for that frame would.  Returns 1 when the block left: all
 * given (freed), or back in the heap at its next event. */
static int apply_events(cs_engine *eng, cs_cmd *c, int spread)
{
    cs_events *e = c->ptr;
    double *vals = cs_events_vals(e);
    const uint64_t end = eng->cycle_frame + eng->ksmps;
    uint64_t again = 0;

    events_base(eng, c);
    for (; e->next < e->nevents; e->next++) {
        double *p = vals + e->ev[e->next].first;
        int64_t start;
        double t = event_time(eng->sr, eng->ksmps, e->base, p[1], &start);
        uint64_t at = start > (int64_t)eng->cycle_frame ? (uint64_t)start : eng->cycle_frame;
        if (at >= end || (!spread && at > c->frame)) {
            again = at;
            break;
        }
        if (spread && eng->cycle_started >= eng->spread_bound)
            return 0;
        if (spread && start < (int64_t)eng->cycle_frame) {
            const uint64_t late = eng->cycle_frame - (uint64_t)start;
            t = event_time(eng->sr, eng->ksmps, eng->cycle_frame, 0.0, &start);
            eng->spread_late++;
            if (late > eng->spread_late_max)
                eng->spread_late_max = late;
        }
        p[1] = t;
        RT_FOREIGN_BEGIN();
        events_open(eng);
        int mode = fegetround();
        fesetround(FE_DOWNWARD);
        csoundScoreEventAbsolute(eng->cs, (char)e->ev[e->next].type, p,
                                 e->ev[e->next].count, 0.0);
        fesetround(mode);
        events_took(eng);
        RT_FOREIGN_END();
        eng->score_handed++;
        eng->cycle_started++;
    }
    if (e->next < e->nevents) {
        cs_cmd d = *c;
        d.frame = again;
        cs_heap_push(eng, &d);          /* the slot it was popped from */
        return 1;
    }
    cs_rt_note(eng, NOTE_FREE_PTR, 0, 0, 0, e, 0);
    return 1;
}

static int is_spread(const cs_cmd *c)
{
    return (c->type == CMD_START || c->type == CMD_EVENTS) && (c->b & CS_CMD_SPREAD);
}

/* A spread command fell due: it waits at the tail of the spread queue
 * until spread_drain gives it, after this k-cycle's other commands.  The
 * queue holds only what came out of the heap, within client_heap (schedule
 * counts it), so it cannot fill; were it full, the command would be applied
 * at once rather than lost. */
static int spread_add(cs_engine *eng, const cs_cmd *c)
{
    const size_t cap = minheap_capacity(&eng->heap);
    if (eng->nspread == cap)
        return 0;
    if (c->type == CMD_EVENTS)
        events_base(eng, c);
    eng->spread[(eng->spread_head + eng->nspread) % cap] = *c;
    eng->nspread++;
    return 1;
}

/* Gives the spread queue's commands, oldest first, while this k-cycle has
 * fewer than spread_bound starts (CS_SPREAD_FRAMES): the commands that may
 * not wait were applied already and counted first.  A command stays at the head
 * when the cycle is full; one block's events keep their score order and
 * the commands their order of falling due.  Work per k-cycle: at most the
 * bound's starts, plus the commands that start nothing (cancelled synths),
 * each taken off once. */
static void spread_drain(cs_engine *eng)
{
    const size_t cap = minheap_capacity(&eng->heap);
    while (eng->nspread && eng->cycle_started < eng->spread_bound &&
           eng->ndefer < cap) {
        cs_cmd *c = &eng->spread[eng->spread_head];
        if (c->type == CMD_START) {
            if (slot_matches(eng, c))
                fire_start(eng, c, c->frame > eng->cycle_frame
                                       ? (uint32_t)(c->frame - eng->cycle_frame) : 0);
        } else if (!apply_events(eng, c, 1)) {
            break;
        }
        eng->spread_head = (eng->spread_head + 1) % cap;
        eng->nspread--;
    }
}

/* Looks a channel name up in Csound (cs_channel.c says why only here, or
 * on the control thread while the audio thread is held).
 * Csound allocates the channel when it is new: a foreign
 * allocation, the same one an instrument's chnget init pass makes. */
MYFLT *cs_chan_bind(cs_engine *eng, unsigned i)
{
    cs_chan *ch = &eng->chans[i];
    MYFLT *p = atomic_load_explicit(&ch->ptr, memory_order_relaxed);
    if (p || atomic_load_explicit(&ch->state, memory_order_relaxed) == CHAN_REFUSED)
        return p;
    RT_FOREIGN_BEGIN();
    int rc = csoundGetChannelPtr(eng->cs, &p, ch->name,
                                 CSOUND_CONTROL_CHANNEL | CSOUND_INPUT_CHANNEL |
                                     CSOUND_OUTPUT_CHANNEL);
    RT_FOREIGN_END();
    if (rc != CSOUND_SUCCESS || p == NULL) {
        /* The name exists with another type (audio, string, pvs). */
        atomic_store_explicit(&ch->state, CHAN_REFUSED, memory_order_release);
        return NULL;
    }
    atomic_store_explicit(&ch->ptr, p, memory_order_release);
    atomic_store_explicit(&ch->state, CHAN_BOUND, memory_order_release);
    return p;
}

static void tap_remove(cs_engine *eng, unsigned slot)
{
    for (unsigned i = 0; i < eng->ntaps; i++)
        if (eng->tap_live[i] == slot) {
            eng->tap_live[i] = eng->tap_live[--eng->ntaps];
            break;
        }
    cs_rt_note(eng, NOTE_TAP_FREED, slot, eng->cycle_frame, 0, eng->taps[slot].buf, 0);
    eng->taps[slot].buf = NULL;
}

/* After the perf pass: each tapped bus's k-cycle sum (silence when nothing
 * wrote it this cycle), copied at the cycle's place in the block, or into
 * the FIFO for a cycle rendered ahead. */
static void taps_copy(cs_engine *eng, unsigned base, int ahead)
{
    const unsigned ksmps = eng->ksmps;
    const double scale = eng->out_scale;
    for (unsigned i = 0; i < eng->ntaps; i++) {
        const cs_tap *t = &eng->taps[eng->tap_live[i]];
        const double *src = eng->abus + (size_t)t->bus * ksmps;
        float *dst = ahead ? eng->tap_ahead + (size_t)eng->tap_live[i] * ksmps : t->buf + base;
        if (!ahead && base + ksmps > t->len)
            continue;
        if (eng->abus_stamp[t->bus] != eng->abus_cycle)
            memset(dst, 0, ksmps * sizeof(float));
        else
            for (unsigned f = 0; f < ksmps; f++)
                dst[f] = (float)(src[f] * scale);
    }
}

void cs_rt_taps_silence(cs_engine *eng, unsigned nframes)
{
    for (unsigned i = 0; i < eng->ntaps; i++) {
        const cs_tap *t = &eng->taps[eng->tap_live[i]];
        memset(t->buf, 0, (nframes < t->len ? nframes : t->len) * sizeof(float));
    }
}

static void apply(cs_engine *eng, cs_cmd *c)
{
    uint32_t offset = c->frame > eng->cycle_frame ? (uint32_t)(c->frame - eng->cycle_frame) : 0;
    switch (c->type) {
    case CMD_START:
        if (slot_matches(eng, c))
            fire_start(eng, c, offset);
        break;
    case CMD_STOP:
        if (slot_matches(eng, c))
            apply_stop(eng, c, offset);
        break;
    case CMD_SET:
        if (slot_matches(eng, c) && eng->slots[c->slot].state != SLOT_ENDED &&
            c->a < CS_MAX_PARAMS) {
            cs_slot *s = &eng->slots[c->slot];
            cs_slot_param_set(s, c->a, c->v);
            if (s->autom[c->a]) {   /* a set overrides a running automation */
                cs_rt_note(eng, NOTE_FREE_PTR, 0, 0, 0, s->autom[c->a], 0);
                s->autom[c->a] = NULL;
            }
        }
        break;
    case CMD_AUTOMATE:
        if (slot_matches(eng, c))
            apply_automate(eng, c);
        else
            cs_rt_note(eng, NOTE_FREE_PTR, 0, 0, 0, c->ptr, 0);
        break;
    case CMD_COMPILE_MARK:
        eng->mark_this_cycle = c->id;
        break;
    case CMD_BUS_NEW:
        eng->bus_rt[c->slot] = (cs_bus_rt){ .live = 1, .kind = (int)c->a };
        atomic_store_explicit(&eng->kbus[c->slot], 0, memory_order_relaxed);
        break;
    case CMD_BUS_SET:
        if (eng->bus_rt[c->slot].live)
            atomic_store_explicit(&eng->kbus[c->slot], cs_d_to_bits(c->v), memory_order_relaxed);
        break;
    case CMD_BUS_RELEASE: {
        cs_bus_rt *b = &eng->bus_rt[c->slot];
        b->released = 1;
        b->users++;                 /* balanced by the unref below */
        cs_rt_bus_unref(eng, c->slot);
        break;
    }
    case CMD_TABLE_NEW:
        apply_table_new(eng, c);
        break;
    case CMD_TABLE_SET: {
        cs_tabdata *d = c->ptr;
        double *dst = eng->tab_ptr[c->slot];
        if (dst && (size_t)c->a + d->n <= eng->tab_len[c->slot])
            memcpy(dst + c->a, d->d, d->n * sizeof(double));
        cs_rt_note(eng, NOTE_FREE_PTR, 0, 0, 0, d, 0);
        break;
    }
    case CMD_TABLE_FREE: {
        /* Out of Csound's list; freed on the control side. */
        int ok;
        void *old = cs_core_ftable_swap(eng->cs, CS_TABLE_BASE + (int)c->slot, NULL, &ok);
        eng->tab_ptr[c->slot] = NULL;
        eng->tab_len[c->slot] = 0;
        cs_rt_note(eng, NOTE_FREE_FUNC, 0, 0, 0, old, 0);
        break;
    }
    case CMD_EVENTS:
        apply_events(eng, c, 0);
        break;
    case CMD_CHAN_SET: {
        /* Before this cycle's perf pass: chnget sees it in this k-cycle. */
        MYFLT *p = cs_chan_bind(eng, c->slot), v = c->v;
        if (p)
            __atomic_store(p, &v, __ATOMIC_SEQ_CST);
        break;
    }
    case CMD_CHAN_BIND:
        cs_chan_bind(eng, c->slot);
        break;
    case CMD_TAP_ADD:
        eng->taps[c->slot] = (cs_tap){ .buf = c->ptr, .bus = c->a, .len = c->b };
        /* Nothing of this bus is in the FIFO yet. */
        memset(eng->tap_ahead + (size_t)c->slot * eng->ksmps, 0, eng->ksmps * sizeof(float));
        eng->tap_live[eng->ntaps++] = (uint16_t)c->slot;
        break;
    case CMD_TAP_REMOVE:
        tap_remove(eng, c->slot);
        break;
    default:
        break;
    }
}

/* Publishes this k-cycle's late starts of spread score events. */
static void spread_count(cs_engine *eng)
{
    uint64_t max = atomic_load_explicit(&eng->score_spread_max, memory_order_relaxed);
    while (eng->spread_late_max > max &&
           !atomic_compare_exchange_weak_explicit(&eng->score_spread_max, &max,
                                                  eng->spread_late_max, memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
    atomic_fetch_add_explicit(&eng->score_spread_events, eng->spread_late, memory_order_relaxed);
    atomic_fetch_add_explicit(&eng->score_spread, 1, memory_order_release);
}

static void schedule(cs_engine *eng)
{
    /* Take in what the control thread sent; leave the rest in the ring when
     * client commands fill their share of the heap (the control side then
     * sees a full ring: backpressure).  The rest of the heap is the MIDI
     * pools' (cs_pool_rt.c). */
    const cs_cmd *peek;
    while (minheap_len(&eng->heap) + eng->nspread < eng->client_heap &&
           (peek = spsc_peek(eng->cmd_ring))) {
        cs_cmd c = *peek;
        spsc_release(eng->cmd_ring, 1);
        c.seq = eng->seq++;
        if (c.type == CMD_START && slot_matches(eng, &c))
            eng->slots[c.slot].state = SLOT_PENDING;  /* a stop can cancel it */
        cs_heap_push(eng, &c);
    }
    uint64_t end = eng->cycle_frame + eng->ksmps;
    const cs_cmd *top;
    while ((top = minheap_peek(&eng->heap)) && top->frame < end &&
           eng->ndefer < minheap_capacity(&eng->heap)) {
        cs_cmd c;
        minheap_pop(&eng->heap, &c);
        if (!is_spread(&c) || !spread_add(eng, &c))
            apply(eng, &c);
    }
    spread_drain(eng);
    events_close(eng);
}

static void after_cycle(cs_engine *eng)
{
    if (eng->mark_this_cycle) {
        atomic_store_explicit(&eng->merged_mark, eng->mark_this_cycle, memory_order_release);
        eng->mark_this_cycle = 0;
    }
    /* A fired start whose init pass did not reach sonod_synth failed (init
     * error before it, unknown instrument). */
    for (size_t i = 0; i < eng->nfired; i++) {
        cs_slot *s = &eng->slots[eng->fired[i]];
        if (s->state == SLOT_FIRED) {
            s->state = SLOT_ENDED;
            cs_rt_note(eng, CS_NOTICE_FAILED,
                       atomic_load_explicit(&s->owner, memory_order_relaxed),
                       eng->cycle_frame, 2, NULL, 0);
        }
    }
    eng->nfired = 0;
    for (size_t i = 0; i < eng->ndefer; i++)
        cs_heap_push(eng, &eng->defer[i]);
    eng->ndefer = 0;
}

/* Input frame i of this block's channel c, i from -ksmps (in_hist holds
 * the frames before the block); silence past the block or the channels. */
static double input_frame(const cs_engine *eng, const float *const *in, unsigned nin,
                          unsigned nframes, unsigned c, long i)
{
    if (i < 0)
        return eng->in_hist[(size_t)c * eng->ksmps + (size_t)((long)eng->ksmps + i)];
    if ((unsigned long)i >= nframes || in == NULL || c >= nin || in[c] == NULL)
        return 0.0;
    return in[c][i];
}

/* Csound's input for one k-cycle, frame f of channel c from input_frame's
 * place ibase + f.  Channel by channel, the source's checks made once: a
 * .csd rendered without input fills zeros here every k-cycle, and the
 * per-sample checks cost more than the rest of the cycle's own work. */
static void spin_fill(cs_engine *eng, const float *const *in, unsigned nin, unsigned nframes,
                      long ibase)
{
    const unsigned ksmps = eng->ksmps, nchi = eng->nchnls_i;

    for (unsigned c = 0; c < nchi; c++) {
        const float *src = in != NULL && c < nin ? in[c] : NULL;
        double *dst = eng->spin + c;
        unsigned f = 0;

        for (; f < ksmps && ibase + (long)f < 0; f++)
            dst[(size_t)f * nchi] = input_frame(eng, in, nin, nframes, c, ibase + (long)f);
        if (src == NULL) {
            for (; f < ksmps; f++)
                dst[(size_t)f * nchi] = 0.0;
            continue;
        }
        for (; f < ksmps; f++) {
            unsigned long i = (unsigned long)(ibase + (long)f);
            dst[(size_t)f * nchi] = i < nframes ? src[i] : 0.0;
        }
    }
}

/* Keeps the block's last ksmps input frames (fewer: shifted in) for the
 * next block's delayed input. */
static void input_keep(cs_engine *eng, const float *const *in, unsigned nin, unsigned nframes)
{
    const unsigned ksmps = eng->ksmps;

    for (unsigned c = 0; c < eng->nchnls_i; c++) {
        float *h = eng->in_hist + (size_t)c * ksmps;
        unsigned keep = nframes < ksmps ? ksmps - nframes : 0;
        unsigned from = nframes - (ksmps - keep);

        memmove(h, h + (ksmps - keep), keep * sizeof(float));
        for (unsigned f = 0; f < ksmps - keep; f++)
            h[keep + f] = (float)input_frame(eng, in, nin, nframes, c, (long)(from + f));
    }
}

/* One k-cycle starting at frame `pos` of a block of nframes: input from
 * in[c][pos - in_delay + f] (in_hist before the block), output to
 * out[c][obase + f], the taps at obase of their buffers or, for a cycle
 * rendered ahead, into tap_ahead. */
static void perform_cycle(cs_engine *eng, const float *const *in, unsigned nin, unsigned nframes,
                          unsigned pos, float *const *out, unsigned nout, unsigned obase,
                          int ahead)
{
    const unsigned ksmps = eng->ksmps, nch = eng->nchnls;
    const long ibase = (long)pos - (long)eng->in_delay;

    eng->cycle_frame = atomic_load_explicit(&eng->frame, memory_order_relaxed);
    eng->abus_cycle++;   /* every audio bus silent until written (abus_stamp) */
    /* A finished .csd is not called again (its commands are freed with it). */
    eng->score_handed = 0;
    eng->cycle_started = 0;
    eng->spread_late = 0;
    eng->spread_late_max = 0;
    if (!atomic_load_explicit(&eng->finished, memory_order_relaxed))
        schedule(eng);
    if (eng->spread_late)
        spread_count(eng);
    if (eng->score_handed > CS_SCORE_PER_CYCLE) {
        /* Events due in this k-cycle that could not be given earlier. */
        atomic_fetch_add_explicit(&eng->score_over_events,
                                  eng->score_handed - CS_SCORE_PER_CYCLE, memory_order_relaxed);
        atomic_fetch_add_explicit(&eng->score_over, 1, memory_order_release);
    }

    spin_fill(eng, in, nin, nframes, ibase);

    int done = atomic_load_explicit(&eng->finished, memory_order_relaxed);
    if (!done) {
        /* The live engine's score ends only when orchestra code asks (an
         * "e" event), and Csound exits out of a k-cycle when an opcode
         * makes it (exitnow, csoundDie; cs_guard_rt.c caught it and
         * released what Csound held).  Either way Csound returned before
         * it performed the cycle (an exit inside an init pass, the usual
         * case, or the "e" in sensevents), so it is asked again: the
         * engine carries on in the same cycle, and says so.  A cycle that
         * keeps exiting is given up (silence) after a few tries. */
        RT_FOREIGN_BEGIN();
        done = cs_perform_guarded(eng->cs);
        for (int tries = 1; done && !eng->is_csd; tries++) {
            atomic_store_explicit(&eng->exit_kind,
                                  done == CS_PERF_EXITED ? CS_EXIT_JUMP : CS_EXIT_END,
                                  memory_order_relaxed);
            atomic_fetch_add_explicit(&eng->exits, 1, memory_order_release);
            if (tries == 5)
                break;
            done = cs_perform_guarded(eng->cs);
        }
        RT_FOREIGN_END();
        if (done && !eng->is_csd) {
            memset(eng->spout, 0, (size_t)ksmps * nch * sizeof(double));
            done = 0;
        } else if (done) {      /* a .csd's score ended */
            eng->finish_frame = eng->cycle_frame;
            atomic_store_explicit(&eng->finished, 1, memory_order_release);
        }
    }
    if (done)
        memset(eng->spout, 0, (size_t)ksmps * nch * sizeof(double));

    const double scale = eng->out_scale;
    for (unsigned c = 0; c < nout; c++) {
        float *o = out[c] + obase;
        if (c < nch)
            for (unsigned f = 0; f < ksmps; f++)
                o[f] = (float)(eng->spout[f * nch + c] * scale);
        else
            memset(o, 0, ksmps * sizeof(float));
    }
    taps_copy(eng, obase, ahead);
    after_cycle(eng);
    atomic_store_explicit(&eng->frame, eng->cycle_frame + ksmps, memory_order_release);
}

/* Moves up to n frames from the front of the FIFO to out and the taps at
 * pos; returns how many. */
static unsigned take_ahead(cs_engine *eng, float *const *out, unsigned nout, unsigned pos,
                           unsigned n)
{
    const unsigned ksmps = eng->ksmps, left = eng->nahead;

    if (n > left)
        n = left;
    if (n == 0)
        return 0;
    for (unsigned c = 0; c < nout; c++) {
        if (c < eng->nchnls) {
            float *a = eng->ahead_out[c];
            memcpy(out[c] + pos, a, n * sizeof(float));
            memmove(a, a + n, (left - n) * sizeof(float));
        } else {
            memset(out[c] + pos, 0, n * sizeof(float));
        }
    }
    for (unsigned i = 0; i < eng->ntaps; i++) {
        const cs_tap *t = &eng->taps[eng->tap_live[i]];
        float *a = eng->tap_ahead + (size_t)eng->tap_live[i] * ksmps;
        if (pos + n <= t->len)
            memcpy(t->buf + pos, a, n * sizeof(float));
        memmove(a, a + n, (left - n) * sizeof(float));
    }
    eng->nahead -= n;
    return n;
}

/* Any nframes: whole k-cycles straight into out; a block that is not a
 * multiple of ksmps goes through the FIFO: it starts with what the cycle
 * rendered ahead for the previous block left, and ends with a cycle
 * rendered ahead, of which it takes the first frames and the next block
 * the rest.  Csound's clock (eng->frame) is then up to ksmps-1 frames
 * ahead of the host's; Csound's output is the same sample for sample.
 * The cycle rendered ahead needs input the host has not given yet, so
 * from the first such block on Csound's input runs ksmps-1 frames late:
 * a constant latency rather than a gap of silence in every block. */
int cs_rt_process(cs_engine *eng, const float *const *in, unsigned nin,
                  float *const *out, unsigned nout, unsigned nframes)
{
    const unsigned ksmps = eng->ksmps;
    cs_rt_pools_close(eng);
    if (nframes % ksmps != 0 && eng->in_delay == 0) {
        eng->in_delay = ksmps - 1;
        atomic_store_explicit(&eng->in_delay_pub, eng->in_delay, memory_order_relaxed);
    }
    unsigned pos = take_ahead(eng, out, nout, 0, nframes);

    for (; pos + ksmps <= nframes; pos += ksmps)
        perform_cycle(eng, in, nin, nframes, pos, out, nout, pos, 0);
    if (pos < nframes) {
        perform_cycle(eng, in, nin, nframes, pos, eng->ahead_out, eng->nchnls, 0, 1);
        eng->nahead = ksmps;
        take_ahead(eng, out, nout, pos, nframes - pos);
    }
    input_keep(eng, in, nin, nframes);
    return 0;
}

int cs_has_news(cs_engine *eng)
{
    return spsc_count(eng->note_ring) != 0 || spsc_count(eng->msg_ring) != 0;
}
