/* cs_opcodes_rt.c - sonod's own Csound opcodes.  AUDIO THREAD code.
 *
 * These replace what csoundengine took from third-party plugin opcodes.
 * They run inside Csound's init and perf passes, i.e. on the audio thread
 * inside an RT_FOREIGN section, but they are our code: at i-time and k/a-rate
 * they never allocate, free, lock or do I/O.  The one exception is a call
 * back into Csound: sonod_synth registers a deinit callback with
 * RegisterDeinitCallback, which takes a small node from Csound's allocator
 * (the same thing every opcode with a deinit does in Csound 6).
 *
 *   ksonod_stop__ sonod_synth islot    first line of every synth: sample-exact
 *                                      start, stop request, end notice
 *   kval sonod_param islot, iindex     a named k-rate parameter (set, automate)
 *   ival sonod_parami islot, iindex    a named init-time parameter
 *   asig sonod_abusin ibus             read an audio bus
 *   sonod_abusout ibus, asig           mix into an audio bus
 *   kval sonod_kbusin ibus             read a control bus
 *   sonod_kbusout ibus, kval           write a control bus
 */
#include <csound/csdl.h>

#include "cs_internal.h"
#include "daemon/rtcheck/rtcheck.h"

#include <math.h>
#include <string.h>

typedef struct { OPDS h; MYFLT *kstop, *islot; cs_engine *eng; cs_slot *s; uint64_t id; int first; } SYNTH;
typedef struct { OPDS h; MYFLT *kout, *islot, *iidx; cs_engine *eng; cs_slot *s; unsigned idx; uint64_t id; } PARAM;
typedef struct { OPDS h; MYFLT *out, *ibus; cs_engine *eng; unsigned bus; } BUSIN;
typedef struct { OPDS h; MYFLT *ibus, *in; cs_engine *eng; unsigned bus; } BUSOUT;

/* Csound's own error path (formats and prints: outside our promise). */
static int init_error(CSOUND *csound, const char *msg)
{
    RT_FOREIGN_BEGIN();
    int rc = csound->InitError(csound, "%s", msg);
    RT_FOREIGN_END();
    return rc;
}

static cs_engine *engine_of(CSOUND *csound)
{
    return csound->GetHostData(csound);
}

static cs_slot *slot_of(CSOUND *csound, cs_engine *eng, MYFLT islot)
{
    if (!eng || islot < 0 || islot >= eng->nslots)
        return NULL;
    (void)csound;
    return &eng->slots[(unsigned)islot];
}

/* ---- sonod_synth ---- */

static int synth_deinit(CSOUND *csound, void *pv)
{
    SYNTH *p = pv;
    /* Runs inside Csound's deactivation of the instance (audio thread, or
     * the control thread while Csound is destroyed). */
    cs_engine *eng = p->eng;
    cs_slot *s = p->s;
    (void)csound;
    if (s->state != SLOT_RUNNING || s->insds != p->h.insdshead)
        return OK;
    for (unsigned i = 0; i < CS_MAX_PARAMS; i++)
        if (s->autom[i]) {
            cs_rt_note(eng, NOTE_FREE_PTR, 0, 0, 0, s->autom[i], 0);
            s->autom[i] = NULL;
        }
    for (unsigned i = 0; i < s->nbuses; i++)
        cs_rt_bus_unref(eng, s->buses[i]);
    s->nbuses = 0;
    s->insds = NULL;
    s->state = SLOT_ENDED;
    cs_rt_note(eng, CS_NOTICE_ENDED, p->id, eng->cycle_frame, 0, NULL, 0);
    return OK;
}

static int synth_init(CSOUND *csound, SYNTH *p)
{
    p->eng = engine_of(csound);
    p->s = slot_of(csound, p->eng, *p->islot);
    if (!p->s || p->s->state != SLOT_FIRED || p->s->instr != (int)p->h.insdshead->insno)
        return init_error(csound, "sonod_synth: instrument started outside sonod");
    cs_slot *s = p->s;
    p->id = atomic_load_explicit(&s->owner, memory_order_relaxed);
    p->first = 1;
    s->state = SLOT_RUNNING;
    s->insds = p->h.insdshead;
    *p->kstop = 0;
    RT_FOREIGN_BEGIN();
    csound->RegisterDeinitCallback(csound, p, synth_deinit);
    RT_FOREIGN_END();
    cs_rt_note(p->eng, CS_NOTICE_STARTED, p->id, p->eng->cycle_frame + s->start_offset,
               0, NULL, 0);
    return OK;
}

static int synth_perf(CSOUND *csound, SYNTH *p)
{
    cs_slot *s = p->s;
    (void)csound;
    *p->kstop = 0;
    if (p->first) {
        /* Sample-exact start: the opcodes after us skip the first
         * ksmps_offset samples of this cycle.  It must be set here, in the
         * first perf pass: Csound 6.18 overwrites ksmps_offset after the init
         * pass (from p2, or with 0), and resets it after each k-pass. */
        p->first = 0;
        p->h.insdshead->ksmps_offset = s->start_offset;
    }
    if (s->stop_req == 1) {
        s->stop_req = 2;
        /* Without a release the note ends exactly at the stop frame: the
         * opcodes after us leave the last ksmps_no_end samples silent, and
         * the generated epilogue calls turnoff.  With a release (xtratim>0,
         * set at i-time by linenr, madsr, xtratim...) turnoff starts it. */
        if (p->h.insdshead->xtratim == 0) {
            uint32_t ks = p->h.insdshead->ksmps;
            uint32_t off = s->stop_offset < p->h.insdshead->ksmps_offset
                               ? p->h.insdshead->ksmps_offset : s->stop_offset;
            p->h.insdshead->ksmps_no_end = ks - off;
        }
        *p->kstop = 1;
    }
    return OK;
}

/* ---- parameters ---- */

double cs_rt_auto_eval(cs_auto *a, uint64_t frame, int *done)
{
    double t = frame > a->start_frame ? (double)(frame - a->start_frame) : 0.0;
    const double *pt = a->pts;
    unsigned n = a->npairs;
    *done = 0;
    if (t <= pt[0])
        return pt[1];
    while (a->cursor + 1 < n && t >= pt[2 * (a->cursor + 1)])
        a->cursor++;
    if (a->cursor + 1 >= n) {
        *done = 1;
        return pt[2 * (n - 1) + 1];
    }
    double t0 = pt[2 * a->cursor], v0 = pt[2 * a->cursor + 1];
    double t1 = pt[2 * a->cursor + 2], v1 = pt[2 * a->cursor + 3];
    double x = t1 > t0 ? (t - t0) / (t1 - t0) : 1.0;
    switch (a->mode) {
    case CS_AUTO_EXP:
        if (v0 != 0 && v1 != 0 && (v0 > 0) == (v1 > 0))
            return v0 * pow(v1 / v0, x);
        return v0 + (v1 - v0) * x;
    case CS_AUTO_COS:
        return v0 + (v1 - v0) * (1.0 - cos(M_PI * x)) * 0.5;
    case CS_AUTO_SMOOTH:
        return v0 + (v1 - v0) * x * x * (3.0 - 2.0 * x);
    default:
        return v0 + (v1 - v0) * x;
    }
}

static int param_init(CSOUND *csound, PARAM *p)
{
    p->eng = engine_of(csound);
    p->s = slot_of(csound, p->eng, *p->islot);
    if (!p->s || *p->iidx < 0 || *p->iidx >= CS_MAX_PARAMS)
        return init_error(csound, "sonod_param: bad slot or index");
    p->idx = (unsigned)*p->iidx;
    p->id = atomic_load_explicit(&p->s->owner, memory_order_relaxed);
    *p->kout = cs_slot_param(p->s, p->idx);
    return OK;
}

static int param_perf(CSOUND *csound, PARAM *p)
{
    cs_slot *s = p->s;
    cs_auto *a = s->autom[p->idx];
    (void)csound;
    if (a) {
        int done;
        cs_slot_param_set(s, p->idx, cs_rt_auto_eval(a, p->eng->cycle_frame, &done));
        if (done) {
            s->autom[p->idx] = NULL;
            cs_rt_note(p->eng, NOTE_FREE_PTR, 0, 0, 0, a, 0);
        }
    }
    *p->kout = cs_slot_param(s, p->idx);
    return OK;
}

static int parami_init(CSOUND *csound, PARAM *p)
{
    return param_init(csound, p);
}

/* ---- buses ---- */

/* Records that the synth running this instance uses the bus, so the bus
 * outlives it.  Only instances started as sonod synths are counted: their p4
 * is the slot and the slot points back at the instance. */
static int bus_check(CSOUND *csound, cs_engine *eng, MYFLT ibus, int kind, OPDS *h,
                     unsigned *bus)
{
    if (!eng || ibus < 0 || ibus >= eng->nbuses)
        return init_error(csound, "sonod bus: no such bus");
    unsigned b = (unsigned)ibus;
    if (!eng->bus_rt[b].live || eng->bus_rt[b].kind != kind)
        return init_error(csound, kind == CS_BUS_AUDIO ? "sonod bus: not a live audio bus"
                                                       : "sonod bus: not a live control bus");
    *bus = b;
    INSDS *ip = h->insdshead;
    CS_VAR_MEM *pf = &ip->p0;
    if (ip->insno >= 1000) {
        MYFLT islot = pf[4].value;
        if (islot >= 0 && islot < eng->nslots) {
            cs_slot *s = &eng->slots[(unsigned)islot];
            if (s->insds == ip) {
                for (unsigned i = 0; i < s->nbuses; i++)
                    if (s->buses[i] == b)
                        return OK;
                if (s->nbuses < CS_SLOT_BUSES) {
                    s->buses[s->nbuses++] = (uint16_t)b;
                    eng->bus_rt[b].users++;
                }
            }
        }
    }
    return OK;
}

static int abusin_init(CSOUND *csound, BUSIN *p)
{
    p->eng = engine_of(csound);
    return bus_check(csound, p->eng, *p->ibus, CS_BUS_AUDIO, &p->h, &p->bus);
}

static int abusin_perf(CSOUND *csound, BUSIN *p)
{
    uint32_t n = CS_KSMPS, off = p->h.insdshead->ksmps_offset, early = p->h.insdshead->ksmps_no_end;
    const double *src = p->eng->abus + (size_t)p->bus * p->eng->ksmps;
    (void)csound;
    if (p->eng->abus_stamp[p->bus] != p->eng->abus_cycle) {
        memset(p->out, 0, n * sizeof(MYFLT));   /* nothing wrote it this cycle */
        return OK;
    }
    for (uint32_t i = 0; i < n; i++)
        p->out[i] = (i < off || i >= n - early) ? 0.0 : src[i];
    return OK;
}

static int abusout_init(CSOUND *csound, BUSOUT *p)
{
    p->eng = engine_of(csound);
    return bus_check(csound, p->eng, *p->ibus, CS_BUS_AUDIO, &p->h, &p->bus);
}

static int abusout_perf(CSOUND *csound, BUSOUT *p)
{
    uint32_t n = CS_KSMPS, off = p->h.insdshead->ksmps_offset, early = p->h.insdshead->ksmps_no_end;
    double *dst = p->eng->abus + (size_t)p->bus * p->eng->ksmps;
    (void)csound;
    /* The cycle's first writer starts the sum from silence. */
    if (p->eng->abus_stamp[p->bus] != p->eng->abus_cycle) {
        memset(dst, 0, p->eng->ksmps * sizeof(double));
        p->eng->abus_stamp[p->bus] = p->eng->abus_cycle;
    }
    for (uint32_t i = off; i < n - early; i++)
        dst[i] += p->in[i];
    return OK;
}

static int kbusin_init(CSOUND *csound, BUSIN *p)
{
    p->eng = engine_of(csound);
    int rc = bus_check(csound, p->eng, *p->ibus, CS_BUS_CONTROL, &p->h, &p->bus);
    if (rc == OK)
        *p->out = cs_bits_to_d(atomic_load_explicit(&p->eng->kbus[p->bus], memory_order_relaxed));
    return rc;
}

static int kbusin_perf(CSOUND *csound, BUSIN *p)
{
    (void)csound;
    *p->out = cs_bits_to_d(atomic_load_explicit(&p->eng->kbus[p->bus], memory_order_relaxed));
    return OK;
}

static int kbusout_init(CSOUND *csound, BUSOUT *p)
{
    p->eng = engine_of(csound);
    return bus_check(csound, p->eng, *p->ibus, CS_BUS_CONTROL, &p->h, &p->bus);
}

static int kbusout_perf(CSOUND *csound, BUSOUT *p)
{
    (void)csound;
    atomic_store_explicit(&p->eng->kbus[p->bus], cs_d_to_bits(*p->in), memory_order_relaxed);
    return OK;
}

/* ---- entry points ----
 * Csound calls these inside csoundPerformKsmps, where the realtime checker
 * is switched off (RT_FOREIGN).  They are our code, so the checker is
 * switched back on for their duration. */
#define CHECKED(fn, T) \
    static int fn##_rt(CSOUND *cs, void *p) \
    { \
        RT_FOREIGN_END(); \
        int r = fn(cs, (T *)p); \
        RT_FOREIGN_BEGIN(); \
        return r; \
    }
CHECKED(synth_init, SYNTH)
CHECKED(synth_perf, SYNTH)
CHECKED(param_init, PARAM)
CHECKED(param_perf, PARAM)
CHECKED(parami_init, PARAM)
CHECKED(abusin_init, BUSIN)
CHECKED(abusin_perf, BUSIN)
CHECKED(abusout_init, BUSOUT)
CHECKED(abusout_perf, BUSOUT)
CHECKED(kbusin_init, BUSIN)
CHECKED(kbusin_perf, BUSIN)
CHECKED(kbusout_init, BUSOUT)
CHECKED(kbusout_perf, BUSOUT)

/* ---- registration: CONTROL THREAD, once, before csoundStart ---- */


/* Csound 6 runs one perf function per k-cycle whatever the rate (a-rate
 * opcodes loop over ksmps themselves): it is passed as kopadr, thread 3. */

int cs_opcodes_register(cs_engine *eng)
{
    CSOUND *cs = eng->cs;
    int rc = 0;
    rc |= cs->AppendOpcode(cs, "sonod_synth", sizeof(SYNTH), 0, 3, "k", "i",
                               synth_init_rt, synth_perf_rt, NULL);
    rc |= cs->AppendOpcode(cs, "sonod_param", sizeof(PARAM), 0, 3, "k", "ii",
                               param_init_rt, param_perf_rt, NULL);
    rc |= cs->AppendOpcode(cs, "sonod_parami", sizeof(PARAM), 0, 1, "i", "ii",
                               parami_init_rt, NULL, NULL);
    rc |= cs->AppendOpcode(cs, "sonod_abusin", sizeof(BUSIN), 0, 3, "a", "i",
                               abusin_init_rt, abusin_perf_rt, NULL);
    rc |= cs->AppendOpcode(cs, "sonod_abusout", sizeof(BUSOUT), 0, 3, "", "ia",
                               abusout_init_rt, abusout_perf_rt, NULL);
    rc |= cs->AppendOpcode(cs, "sonod_kbusin", sizeof(BUSIN), 0, 3, "k", "i",
                               kbusin_init_rt, kbusin_perf_rt, NULL);
    rc |= cs->AppendOpcode(cs, "sonod_kbusout", sizeof(BUSOUT), 0, 3, "", "ik",
                               kbusout_init_rt, kbusout_perf_rt, NULL);
    return rc;
}
