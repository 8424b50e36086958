/* cs_engine.c - creating and destroying the live Csound (control thread).
 *
 * Csound runs with host-implemented audio: it never opens a device or a file
 * for audio; cs_rt_process feeds spin and reads spout every k-cycle.  It is
 * started before any score is given, which puts it in "real-time" mode:
 * performance runs until destroyed and score lines are realtime events.
 * We do not pass --realtime: that mode removes the API lock from the
 * synchronous calls we make on the audio thread (harmless, the lock is then
 * uncontended) but also moves init passes to another thread, which would
 * break the sample-exact start done in our sonod_synth opcode. */
#include "cs_core.h"
#include "cs_internal.h"
#include "daemon/queue/prefault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void silent_default(CSOUND *cs, int attr, const char *fmt, va_list ap)
{
    (void)cs; (void)attr; (void)fmt; (void)ap;
}

void cs_config_defaults(cs_config *cfg)
{
    if (!cfg->sr) cfg->sr = 48000;
    if (!cfg->ksmps) cfg->ksmps = 32;
    if (!cfg->nchnls) cfg->nchnls = 2;
    if (!cfg->max_synths) cfg->max_synths = 4096;
    if (!cfg->cmd_capacity) cfg->cmd_capacity = 8192;
    if (!cfg->audio_buses) cfg->audio_buses = 256;
    if (!cfg->control_buses) cfg->control_buses = 1024;
    if (!cfg->compile_wait_ms) cfg->compile_wait_ms = 1000;
}

static int alloc_all(cs_engine *eng)
{
    const cs_config *c = &eng->cfg;
    size_t notes = 2u * c->max_synths + c->audio_buses + c->control_buses
                   + CS_MAX_TABLES + c->cmd_capacity + CS_MAX_POOLS + 64;
    eng->nslots = c->max_synths;
    eng->nbuses = c->audio_buses + c->control_buses;
    eng->ptr_budget = c->cmd_capacity;
    eng->cmd_ring = spsc_create(c->cmd_capacity, sizeof(cs_cmd));
    eng->note_ring = spsc_create(notes, sizeof(cs_note));
    eng->msg_ring = spsc_create(CS_MSG_LINES, sizeof(cs_msg_rec));
    if (!eng->cmd_ring || !eng->note_ring || !eng->msg_ring ||
        minheap_init(&eng->heap, (size_t)c->cmd_capacity * 2 + 2u * c->max_synths,
                     sizeof(cs_cmd)))
        return -1;
    /* Client commands take at most twice the ring; every slot may be a pool
     * voice, with a start and a stop queued (cs_pool_rt.c). */
    eng->client_heap = (size_t)c->cmd_capacity * 2;
    eng->defer = prefault_calloc(minheap_capacity(&eng->heap), sizeof(cs_cmd));
    eng->spread = prefault_calloc(minheap_capacity(&eng->heap), sizeof(cs_cmd));
    eng->fired = prefault_calloc(eng->nslots, sizeof(uint32_t));
    eng->slots = prefault_calloc(eng->nslots, sizeof(cs_slot));
    eng->slot_ctl = calloc(eng->nslots, sizeof(int));
    eng->slot_tmpl = calloc(eng->nslots, sizeof(int));
    eng->slot_voice = calloc(eng->nslots, sizeof(uint32_t));
    eng->free_slots = calloc(eng->nslots, sizeof(unsigned));
    eng->kbus = prefault_calloc(eng->nbuses, sizeof(*eng->kbus));
    eng->bus_rt = prefault_calloc(eng->nbuses, sizeof(cs_bus_rt));
    eng->bus_ctl = calloc(eng->nbuses, sizeof(int));
    if (!eng->defer || !eng->spread || !eng->fired || !eng->slots ||
        !eng->slot_ctl || !eng->slot_tmpl || !eng->slot_voice || !eng->free_slots ||
        !eng->kbus || !eng->bus_rt || !eng->bus_ctl)
        return -1;
    /* Hand out low slot numbers first: pop from the end of the stack. */
    for (unsigned i = 0; i < eng->nslots; i++)
        eng->free_slots[i] = eng->nslots - 1 - i;
    eng->nfree_slots = eng->nslots;
    return 0;
}

static int set_opt(cs_engine *eng, const char *opt, cs_error *err)
{
    if (csoundSetOption(eng->cs, opt) != 0)
        return cs_seterr(err, CS_ECSOUND, "csound rejected option %s", opt);
    return 0;
}

int cs_engine_create(const cs_config *cfg, cs_engine **out, cs_error *err)
{
    return cs_engine_create_ex(cfg, NULL, out, err);
}

int cs_engine_create_ex(const cs_config *cfg_in, const char *csd, cs_engine **out,
                        cs_error *err)
{
    cs_config cfg = *cfg_in;
    cs_config_defaults(&cfg);
    *out = NULL;
    if (cfg.max_synths >= (1u << CS_SYNTH_SLOT_BITS))
        return cs_seterr(err, CS_EINVAL, "max_synths must be < %u", 1u << CS_SYNTH_SLOT_BITS);

    cs_engine *eng = calloc(1, sizeof *eng);
    if (!eng)
        return cs_seterr(err, CS_ENOMEM, "out of memory");
    eng->cfg = cfg;
    if (alloc_all(eng)) {
        cs_engine_destroy(eng);
        return cs_seterr(err, CS_ENOMEM, "out of memory");
    }

    csoundInitialize(CSOUNDINIT_NO_SIGNAL_HANDLER | CSOUNDINIT_NO_ATEXIT);
    csoundSetDefaultMessageCallback(silent_default);
    eng->cs = csoundCreate(eng);
    if (!eng->cs) {
        cs_engine_destroy(eng);
        return cs_seterr(err, CS_ECSOUND, "csoundCreate failed");
    }
    eng->is_csd = csd != NULL;
    cs_guard_install(eng->cs);
    if (cs_core_check(eng->cs) != 0 || cs_alloc_install(eng->cs) != 0) {
        cs_engine_destroy(eng);
        return cs_seterr(err, CS_ECSOUND, "this Csound's CSOUND struct is not the one sonod was "
                         "built against (cs_core.c): its ReAlloc and its exits cannot be "
                         "made safe");
    }
    cs_capture_begin(eng);
    csoundSetMessageCallback(eng->cs, cs_msg_callback);
    csoundSetHostImplementedAudioIO(eng->cs, 1, 0);
    int rc = 0;
    /* -n: no sound file; -d: no displays; -m0: quiet; --sample-accurate:
     * sub-k start times for raw score events (our synths set the offset
     * themselves, see cs_opcodes_rt.c); -+msg_color=0: plain text (no ANSI codes). */
    const char *opts[] = { "-n", "-d", "-m0", "-+msg_color=0" };
    for (size_t i = 0; i < sizeof opts / sizeof *opts && !rc; i++)
        rc = set_opt(eng, opts[i], err);
    /* A .csd is rendered the way the csound command line does it: only the
     * live engine turns on sample-accurate score events. */
    if (!rc && !csd)
        rc = set_opt(eng, "--sample-accurate", err);
    if (!rc && cs_opcodes_register(eng))
        rc = cs_seterr(err, CS_ECSOUND, "registering sonod opcodes failed");
    if (!rc && csd) {
        /* Before csoundStart, so <CsOptions> are read and the score is
         * sorted and performed like the command line does it. */
        if (csoundCompileCsd(eng->cs, csd) != 0)
            rc = cs_seterr(err, CS_ECOMPILE, "cannot compile %s: %s", csd, eng->cap.buf);
        csoundSetHostImplementedAudioIO(eng->cs, 1, 0);
        csoundSetOption(eng->cs, "-n");     /* override an -o in CsOptions */
    } else if (!rc) {
        char hdr[256];
        snprintf(hdr, sizeof hdr,
                 "sr = %.17g\nksmps = %u\nnchnls = %u\nnchnls_i = %u\n0dbfs = 1\n",
                 cfg.sr, cfg.ksmps, cfg.nchnls, cfg.nchnls_i ? cfg.nchnls_i : 1);
        if (csoundCompileOrc(eng->cs, hdr) != 0)
            rc = cs_seterr(err, CS_ECSOUND, "csound header rejected: %s", eng->cap.buf);
    }
    if (!rc && csoundStart(eng->cs) != 0)
        rc = cs_seterr(err, CS_ECSOUND, "csoundStart failed: %s", eng->cap.buf);
    /* Room in Csound's list for our table numbers (and one past them, where
     * the library's longest table is measured), so that putting a table in
     * place on the audio thread never grows the list (cs_table.c). */
    if (!rc && cs_core_tables_init(eng->cs, CS_TABLE_BASE + CS_MAX_TABLES, &eng->tab_maxlen) != 0)
        rc = cs_seterr(err, CS_ECSOUND, "cannot make room for sonod's tables in Csound's list");
    cs_capture_end(eng);
    if (rc) {
        cs_engine_destroy(eng);
        return rc;
    }
    eng->sr = csoundGetSr(eng->cs);
    eng->ksmps = csoundGetKsmps(eng->cs);
    eng->spread_bound = eng->ksmps >= CS_SPREAD_FRAMES ? eng->ksmps / CS_SPREAD_FRAMES : 1;
    eng->nchnls = csoundGetNchnls(eng->cs);
    eng->nchnls_i = csoundGetNchnlsInput(eng->cs);
    eng->spin = csoundGetSpin(eng->cs);
    eng->spout = csoundGetSpout(eng->cs);
    eng->out_scale = 1.0 / csoundGet0dBFS(eng->cs);
    /* Audio buses are ksmps long: sized once Csound has told us ksmps (a
     * .csd brings its own). */
    eng->abus = prefault_calloc((size_t)cfg.audio_buses * eng->ksmps + 1, sizeof(double));
    eng->abus_stamp = prefault_calloc((size_t)cfg.audio_buses + 1, sizeof(uint64_t));
    /* The FIFO for blocks that are not a multiple of ksmps: one k-cycle of
     * every output and every tap (cs_process_rt.c). */
    eng->ahead = prefault_calloc((size_t)eng->nchnls * eng->ksmps + 1, sizeof(float));
    eng->ahead_out = prefault_calloc(eng->nchnls + 1, sizeof(float *));
    eng->tap_ahead = prefault_calloc((size_t)CS_MAX_TAPS * eng->ksmps, sizeof(float));
    eng->in_hist = prefault_calloc((size_t)eng->nchnls_i * eng->ksmps + 1, sizeof(float));
    if (eng->ahead && eng->ahead_out)
        for (unsigned c = 0; c < eng->nchnls; c++)
            eng->ahead_out[c] = eng->ahead + (size_t)c * eng->ksmps;
    if (!eng->abus || !eng->abus_stamp || !eng->ahead || !eng->ahead_out || !eng->tap_ahead || !eng->in_hist) {
        cs_engine_destroy(eng);
        return cs_seterr(err, CS_ENOMEM, "out of memory");
    }
    if (!csd && (eng->sr != cfg.sr || eng->ksmps != cfg.ksmps || eng->nchnls != cfg.nchnls ||
                 csoundGet0dBFS(eng->cs) != 1.0)) {
        cs_seterr(err, CS_ECSOUND, "csound runs sr=%g ksmps=%u nchnls=%u, wanted %g/%u/%u",
                  eng->sr, eng->ksmps, eng->nchnls, cfg.sr, cfg.ksmps, cfg.nchnls);
        cs_engine_destroy(eng);
        return CS_ECSOUND;
    }
    *out = eng;
    return 0;
}

/* A command's handed-over pointer, freed after csoundDestroy: tables are
 * Csound's memory, gone with it. */
static void cmd_free(cs_cmd *c)
{
    if (c->type != CMD_TABLE_NEW && c->type != CMD_TABLE_FREE)
        free(c->ptr);
}

static void drain_frees(cs_engine *eng)
{
    cs_note n;
    while (eng->note_ring && spsc_pop(eng->note_ring, &n) == 0)
        if (n.kind == NOTE_FREE_PTR || n.kind == NOTE_TAP_FREED)
            free(n.ptr);
}

uint64_t cs_engine_score_over(const cs_engine *eng, uint64_t *events)
{
    uint64_t n = atomic_load_explicit(&eng->score_over, memory_order_acquire);
    if (events)
        *events = atomic_load_explicit(&eng->score_over_events, memory_order_relaxed);
    return n;
}

uint64_t cs_engine_score_spread(const cs_engine *eng, uint64_t *events)
{
    uint64_t n = atomic_load_explicit(&eng->score_spread, memory_order_acquire);
    if (events)
        *events = atomic_load_explicit(&eng->score_spread_events, memory_order_relaxed);
    return n;
}

uint64_t cs_engine_score_spread_max_take(cs_engine *eng)
{
    return atomic_exchange_explicit(&eng->score_spread_max, 0, memory_order_relaxed);
}

uint64_t cs_engine_exits(const cs_engine *eng, int *last)
{
    uint64_t n = atomic_load_explicit(&eng->exits, memory_order_acquire);
    if (last)
        *last = atomic_load_explicit(&eng->exit_kind, memory_order_relaxed);
    return n;
}

void cs_engine_destroy(cs_engine *eng)
{
    if (!eng)
        return;
    if (eng->cs) {
        cs_capture_begin(eng);
        csoundStop(eng->cs);
        csoundCleanup(eng->cs);
        csoundDestroy(eng->cs);
        cs_capture_end(eng);
    }
    /* Whatever the audio thread still held goes back through the rings. */
    drain_frees(eng);
    cs_cmd c;
    while (eng->cmd_ring && spsc_pop(eng->cmd_ring, &c) == 0)
        cmd_free(&c);
    while (minheap_pop(&eng->heap, &c) == 0)
        cmd_free(&c);
    for (size_t i = 0; i < eng->ndefer; i++)
        cmd_free(&eng->defer[i]);
    for (size_t i = 0; i < eng->nspread; i++)
        cmd_free(&eng->spread[(eng->spread_head + i) % minheap_capacity(&eng->heap)]);
    for (unsigned i = 0; eng->slots && i < eng->nslots; i++)
        for (unsigned p = 0; p < CS_MAX_PARAMS; p++)
            free(eng->slots[i].autom[p]);
    for (unsigned i = 0; i < CS_MAX_TAPS; i++)
        free(eng->taps[i].buf);
    for (unsigned p = 0; p < CS_MAX_POOLS; p++) {
        free(eng->pools[p].voices);
        spsc_destroy(eng->pools[p].idle);
    }
    for (unsigned t = 0; t <= CS_MAX_TEMPLATES; t++) {
        cs_template *tp = &eng->tmpl[t];
        free(tp->name); free(tp->body); free(tp->init);
        for (unsigned p = 0; p < tp->nparams; p++)
            free(tp->pname[p]);
    }
    spsc_destroy(eng->cmd_ring);
    spsc_destroy(eng->note_ring);
    spsc_destroy(eng->msg_ring);
    minheap_free(&eng->heap);
    free(eng->defer); free(eng->spread); free(eng->fired); free(eng->slots);
    free(eng->slot_ctl); free(eng->slot_tmpl); free(eng->slot_voice); free(eng->free_slots);
    free(eng->abus); free(eng->abus_stamp); free(eng->ahead); free(eng->ahead_out); free(eng->tap_ahead);
    free(eng->in_hist);
    free(eng->kbus); free(eng->bus_rt); free(eng->bus_ctl);
    free(eng);
}

double cs_engine_sr(const cs_engine *eng) { return eng->sr; }
unsigned cs_engine_ksmps(const cs_engine *eng) { return eng->ksmps; }
unsigned cs_engine_nchnls(const cs_engine *eng) { return eng->nchnls; }

unsigned cs_engine_input_delay(const cs_engine *eng)
{
    return atomic_load_explicit(&eng->in_delay_pub, memory_order_relaxed);
}

uint64_t cs_engine_frame(const cs_engine *eng)
{
    return atomic_load_explicit(&eng->frame, memory_order_acquire);
}
