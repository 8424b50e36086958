/* cs_synth.c - synths: start, set, automate, stop, get (control thread).
 *
 * A synth lives in a slot of host memory shared with the audio thread.  Its
 * id is serial << 16 | slot: the slot is found without a lookup table and the
 * owner field of the slot tells whether the id is still the one living there
 * (stale commands for an old owner are dropped on the audio thread).  The
 * slot is reused only after its end notice has been drained, so the control
 * side never has more live synths than slots, and the notice ring, sized for
 * two notices per slot, can never overflow.  Slots lent to a MIDI voice pool
 * (cs_pool.c) get their ids on the audio thread; set/get/stop accept those
 * ids too. */
#include "cs_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int param_index(const cs_template *tp, const char *name)
{
    for (unsigned i = 0; i < tp->nparams; i++)
        if (!strcmp(tp->pname[i], name))
            return (int)i;
    return -1;
}

/* Finds the live slot of a synth id. */
static int synth_slot(cs_engine *eng, cs_synth_id id, unsigned *slot, cs_error *err)
{
    unsigned s = (unsigned)(id & ((1u << CS_SYNTH_SLOT_BITS) - 1));
    if (s >= eng->nslots || !eng->slot_ctl[s] ||
        atomic_load_explicit(&eng->slots[s].owner, memory_order_relaxed) != id)
        return cs_seterr(err, CS_ENOENT, "synth %llu does not exist or has ended",
                         (unsigned long long)id);
    *slot = s;
    return 0;
}

static int check_args(const cs_template *tp, const cs_arg *args, unsigned nargs, int *idx,
                      cs_error *err)
{
    for (unsigned i = 0; i < nargs; i++) {
        idx[i] = args[i].name ? param_index(tp, args[i].name) : -1;
        if (idx[i] < 0)
            return cs_seterr(err, CS_EINVAL, "instrument '%s' has no parameter '%s'",
                             tp->name, args[i].name ? args[i].name : "(null)");
        if (!isfinite(args[i].value))
            return cs_seterr(err, CS_EINVAL, "value of %s is not a finite number",
                             args[i].name);
    }
    return 0;
}

int cs_synth_start(cs_engine *eng, const char *instr, const cs_arg *args, unsigned nargs,
                   uint64_t at, double dur, int priority, cs_synth_id *id, cs_error *err)
{
    return cs_synth_start_ex(eng, instr, args, nargs, at, dur, priority, false, id, err);
}

int cs_synth_start_ex(cs_engine *eng, const char *instr, const cs_arg *args, unsigned nargs,
                      uint64_t at, double dur, int priority, bool spread, cs_synth_id *id,
                      cs_error *err)
{
    int t = instr ? cs_template_find(eng, instr) : 0;
    if (!t)
        return cs_seterr(err, CS_ENOENT, "no instrument named '%s'", instr ? instr : "(null)");
    cs_template *tp = &eng->tmpl[t];
    if (priority == 0)
        priority = tp->priority;
    if (priority < 1 || priority > CS_MAX_PRIORITY)
        return cs_seterr(err, CS_EINVAL, "priority must be 1..%d", CS_MAX_PRIORITY);
    if (!isfinite(dur))
        return cs_seterr(err, CS_EINVAL, "dur must be a finite number");
    if (nargs > CS_MAX_PARAMS * 4)
        return cs_seterr(err, CS_EINVAL, "too many arguments");
    int idx[CS_MAX_PARAMS * 4];
    int rc = check_args(tp, args, nargs, idx, err);
    if (rc)
        return rc;
    if (!eng->nfree_slots)
        return cs_seterr(err, CS_EAGAIN, "too many live synths (%u); wait for some to end",
                         eng->nslots);
    if (!tp->compiled[priority] && (rc = cs_template_compile(eng, t, priority, err)))
        return rc;
    if (spsc_space(eng->cmd_ring) < 2)
        return cs_seterr(err, CS_EAGAIN, "command ring full");

    unsigned s = eng->free_slots[eng->nfree_slots - 1];
    cs_slot *sl = &eng->slots[s];
    cs_synth_id sid = cs_next_id(eng, s);
    /* The slot is ours: its last owner ended and the audio thread drops any
     * command still carrying the old id. */
    for (unsigned i = 0; i < tp->nparams; i++)
        cs_slot_param_set(sl, i, tp->pdef[i]);
    for (unsigned i = 0; i < nargs; i++)
        cs_slot_param_set(sl, (unsigned)idx[i], args[i].value);
    atomic_store_explicit(&sl->owner, sid, memory_order_release);

    uint64_t now = cs_engine_frame(eng);
    uint64_t start = at > now ? at : now;
    uint64_t frames = dur > 0 ? (uint64_t)llround(dur * eng->sr) : 0;
    if (dur > 0 && frames == 0)
        frames = 1;
    /* A spread start may wait for a later k-cycle: the audio thread queues
     * its stop when it starts it, `frames` later (cs_process_rt.c). */
    cs_cmd c = { .type = CMD_START, .frame = at, .id = sid, .slot = s,
                 .a = (uint32_t)cs_instr_number(eng, t, priority),
                 .b = spread ? CS_CMD_SPREAD : 0, .v = spread ? (double)frames : 0,
                 .need_compile = tp->compiled[priority] };
    cs_push_cmd(eng, &c, NULL);
    if (dur > 0 && !spread) {
        cs_cmd st = { .type = CMD_STOP, .frame = start + frames, .id = sid,
                      .slot = s };
        cs_push_cmd(eng, &st, NULL);
    }
    eng->nfree_slots--;
    eng->slot_ctl[s] = SLOTC_SYNTH;
    eng->slot_tmpl[s] = t;
    eng->live_synths++;
    *id = sid;
    return 0;
}

int cs_synth_set(cs_engine *eng, cs_synth_id id, const cs_arg *args, unsigned nargs,
                 uint64_t at, cs_error *err)
{
    unsigned s = 0;
    int rc = synth_slot(eng, id, &s, err);
    if (rc)
        return rc;
    const cs_template *tp = &eng->tmpl[eng->slot_tmpl[s]];
    if (nargs > CS_MAX_PARAMS * 4)
        return cs_seterr(err, CS_EINVAL, "too many arguments");
    int idx[CS_MAX_PARAMS * 4];
    if ((rc = check_args(tp, args, nargs, idx, err)))
        return rc;
    for (unsigned i = 0; i < nargs; i++)
        if (tp->pname[idx[i]][0] != 'k')
            return cs_seterr(err, CS_EINVAL, "%s is an init-time parameter; only k... "
                             "parameters can change while a synth runs", args[i].name);
    if (spsc_space(eng->cmd_ring) < nargs)
        return cs_seterr(err, CS_EAGAIN, "command ring full");
    for (unsigned i = 0; i < nargs; i++) {
        cs_cmd c = { .type = CMD_SET, .frame = at, .id = id, .slot = s,
                     .a = (uint32_t)idx[i], .v = args[i].value };
        cs_push_cmd(eng, &c, NULL);
    }
    return 0;
}

int cs_synth_automate(cs_engine *eng, cs_synth_id id, const char *param, const double *pts,
                      unsigned npairs, cs_auto_mode mode, uint64_t at, cs_error *err)
{
    unsigned s = 0;
    int rc = synth_slot(eng, id, &s, err);
    if (rc)
        return rc;
    const cs_template *tp = &eng->tmpl[eng->slot_tmpl[s]];
    int pi = param ? param_index(tp, param) : -1;
    if (pi < 0)
        return cs_seterr(err, CS_EINVAL, "instrument '%s' has no parameter '%s'", tp->name,
                         param ? param : "(null)");
    if (tp->pname[pi][0] != 'k')
        return cs_seterr(err, CS_EINVAL, "%s is an init-time parameter", param);
    if (mode > CS_AUTO_SMOOTH)
        return cs_seterr(err, CS_EINVAL, "mode must be linear, exp, cos or smooth");
    if (npairs < 1 || !pts)
        return cs_seterr(err, CS_EINVAL, "automation needs at least one time,value pair");
    for (unsigned i = 0; i < npairs; i++) {
        double t = pts[2 * i], v = pts[2 * i + 1];
        if (!isfinite(t) || !isfinite(v) || t < 0)
            return cs_seterr(err, CS_EINVAL, "point %u: times must be >= 0 and values finite", i);
        if (i && t < pts[2 * i - 2])
            return cs_seterr(err, CS_EINVAL, "point %u: times must not decrease", i);
        if (mode == CS_AUTO_EXP && (v == 0 || (v > 0) != (pts[1] > 0)))
            return cs_seterr(err, CS_EINVAL, "exp automation needs nonzero values of one sign");
    }
    cs_auto *a = malloc(sizeof *a + 2 * npairs * sizeof(double));
    if (!a)
        return cs_seterr(err, CS_ENOMEM, "out of memory");
    a->mode = mode;
    a->npairs = npairs;
    a->cursor = 0;
    a->start_frame = 0;
    for (unsigned i = 0; i < npairs; i++) {
        a->pts[2 * i] = pts[2 * i] * eng->sr;     /* seconds -> frames */
        a->pts[2 * i + 1] = pts[2 * i + 1];
    }
    cs_cmd c = { .type = CMD_AUTOMATE, .frame = at, .id = id, .slot = s, .a = (uint32_t)pi,
                 .ptr = a };
    if ((rc = cs_push_cmd(eng, &c, err)))
        free(a);
    return rc;
}

int cs_synth_stop(cs_engine *eng, cs_synth_id id, uint64_t at, cs_error *err)
{
    unsigned s = 0;
    int rc = synth_slot(eng, id, &s, err);
    if (rc)
        return rc;
    cs_cmd c = { .type = CMD_STOP, .frame = at, .id = id, .slot = s };
    return cs_push_cmd(eng, &c, err);
}

int cs_synth_get(cs_engine *eng, cs_synth_id id, const char *param, double *value,
                 cs_error *err)
{
    unsigned s = 0;
    int rc = synth_slot(eng, id, &s, err);
    if (rc)
        return rc;
    const cs_template *tp = &eng->tmpl[eng->slot_tmpl[s]];
    int pi = param ? param_index(tp, param) : -1;
    if (pi < 0)
        return cs_seterr(err, CS_EINVAL, "instrument '%s' has no parameter '%s'", tp->name,
                         param ? param : "(null)");
    *value = cs_slot_param(&eng->slots[s], (unsigned)pi);
    return 0;
}

unsigned cs_synth_count(const cs_engine *eng)
{
    return eng->live_synths;
}

cs_synth_id cs_synth_at(const cs_engine *eng, unsigned i)
{
    unsigned k = 0;
    for (unsigned s = 0; s < eng->nslots; s++)
        if (eng->slot_ctl[s] == SLOTC_SYNTH && k++ == i)
            return atomic_load_explicit(&eng->slots[s].owner, memory_order_relaxed);
    return 0;
}

const char *cs_synth_instr(const cs_engine *eng, cs_synth_id id)
{
    unsigned s = (unsigned)(id & ((1u << CS_SYNTH_SLOT_BITS) - 1));
    if (s >= eng->nslots || !eng->slot_ctl[s] ||
        atomic_load_explicit(&eng->slots[s].owner, memory_order_relaxed) != id)
        return NULL;
    return eng->tmpl[eng->slot_tmpl[s]].name;
}
