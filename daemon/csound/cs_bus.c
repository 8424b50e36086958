/* cs_bus.c - audio and control buses (control thread).
 *
 * Bus ids: 0..audio_buses-1 are audio buses (ksmps doubles each, holding
 * only the current k-cycle's sum: synths mix into them with sonod_abusout
 * and a later-priority instrument reads the sum with sonod_abusin in the
 * same cycle; the cycle's first writer starts from silence); the following control_buses ids are control buses (one value).
 * Lifetime is decided on the audio thread, which sees who uses a bus: the
 * client's reference plus one per synth that touched it.  cs_bus_free drops
 * the client's reference; the id returns here with CS_NOTICE_BUS_FREED. */
#include "cs_internal.h"

#include <math.h>

int cs_bus_new(cs_engine *eng, cs_bus_kind kind, int *bus, cs_error *err)
{
    unsigned lo = kind == CS_BUS_AUDIO ? 0 : eng->cfg.audio_buses;
    unsigned hi = kind == CS_BUS_AUDIO ? eng->cfg.audio_buses : eng->nbuses;
    if (kind != CS_BUS_AUDIO && kind != CS_BUS_CONTROL)
        return cs_seterr(err, CS_EINVAL, "bus kind must be audio or control");
    for (unsigned b = lo; b < hi; b++) {
        if (eng->bus_ctl[b])
            continue;
        cs_cmd c = { .type = CMD_BUS_NEW, .slot = b, .a = (uint32_t)kind };
        int rc = cs_push_cmd(eng, &c, err);
        if (rc)
            return rc;
        eng->bus_ctl[b] = 1;
        *bus = (int)b;
        return 0;
    }
    return cs_seterr(err, CS_EAGAIN, "no free %s bus", kind == CS_BUS_AUDIO ? "audio" : "control");
}

static int owned(cs_engine *eng, int bus, cs_error *err)
{
    if (bus < 0 || (unsigned)bus >= eng->nbuses || eng->bus_ctl[bus] != 1)
        return cs_seterr(err, CS_ENOENT, "no bus %d", bus);
    return 0;
}

int cs_bus_set(cs_engine *eng, int bus, double value, uint64_t at, cs_error *err)
{
    int rc = owned(eng, bus, err);
    if (rc)
        return rc;
    if ((unsigned)bus < eng->cfg.audio_buses)
        return cs_seterr(err, CS_EINVAL, "bus %d is an audio bus; only control buses hold a value", bus);
    if (!isfinite(value))
        return cs_seterr(err, CS_EINVAL, "bus value must be finite");
    cs_cmd c = { .type = CMD_BUS_SET, .frame = at, .slot = (uint32_t)bus, .v = value };
    return cs_push_cmd(eng, &c, err);
}

int cs_bus_get(cs_engine *eng, int bus, double *value, cs_error *err)
{
    int rc = owned(eng, bus, err);
    if (rc)
        return rc;
    if ((unsigned)bus < eng->cfg.audio_buses)
        return cs_seterr(err, CS_EINVAL, "bus %d is an audio bus; only control buses hold a value", bus);
    *value = cs_bits_to_d(atomic_load_explicit(&eng->kbus[bus], memory_order_relaxed));
    return 0;
}

int cs_bus_free(cs_engine *eng, int bus, cs_error *err)
{
    int rc = owned(eng, bus, err);
    if (rc)
        return rc;
    cs_cmd c = { .type = CMD_BUS_RELEASE, .slot = (uint32_t)bus };
    if ((rc = cs_push_cmd(eng, &c, err)))
        return rc;
    eng->bus_ctl[bus] = 2;
    return 0;
}

int cs_bus_state(const cs_engine *eng, int bus)
{
    if (bus < 0 || (unsigned)bus >= eng->nbuses)
        return 0;
    return eng->bus_ctl[bus];
}

/* ---- taps: an audio bus copied out after every k-cycle (cs_engine.h) ---- */

int cs_bus_tap(cs_engine *eng, int bus, float *buf, unsigned len, int *tap, cs_error *err)
{
    int rc = owned(eng, bus, err);
    if (rc)
        return rc;
    if ((unsigned)bus >= eng->cfg.audio_buses)
        return cs_seterr(err, CS_EINVAL, "bus %d is a control bus; only audio buses can be tapped",
                         bus);
    if (!buf || len < eng->ksmps)
        return cs_seterr(err, CS_EINVAL, "a tap needs a buffer of at least ksmps frames");
    for (unsigned t = 0; t < CS_MAX_TAPS; t++) {
        if (eng->tap_ctl[t])
            continue;
        cs_cmd c = { .type = CMD_TAP_ADD, .slot = t, .a = (uint32_t)bus, .b = len, .ptr = buf };
        if ((rc = cs_push_cmd(eng, &c, err)))
            return rc;
        eng->tap_ctl[t] = 1;
        *tap = (int)t;
        return 0;
    }
    return cs_seterr(err, CS_ELIMIT, "all %d bus taps are in use", CS_MAX_TAPS);
}

int cs_bus_untap(cs_engine *eng, int tap, cs_error *err)
{
    if (tap < 0 || tap >= CS_MAX_TAPS || eng->tap_ctl[tap] != 1)
        return cs_seterr(err, CS_ENOENT, "no bus tap %d", tap);
    /* The buffer comes back in a NOTE_TAP_FREED, which frees the slot. */
    cs_cmd c = { .type = CMD_TAP_REMOVE, .slot = (uint32_t)tap };
    int rc = cs_push_cmd(eng, &c, err);
    if (rc)
        return rc;
    eng->tap_ctl[tap] = 2;
    return 0;
}
