/* cs_channel.c - named control channels (control thread; the binding on
 * the audio thread is chan_bind in cs_process_rt.c).
 *
 * Why this shape: csoundGetChannelPtr looks the name up in a hash table
 * and inserts it when absent, with no lock, and Csound itself inserts into
 * the same table from the perf thread (chnget/chnset/chn_k init passes,
 * merges of compiled code).  A lookup on the control thread could read the
 * table mid-insert, so every lookup and creation happens on the audio
 * thread, between k-cycles, through our command ring.  What the audio
 * thread finds is published in the entry (pointer, then state, release);
 * the control thread reads the value through the pointer with an atomic
 * load, as csoundGetControlChannel does.  Control channel storage is
 * allocated once and lives until the engine is destroyed, so the cached
 * pointer never dangles. */
#include "cs_internal.h"

#include <math.h>
#include <string.h>
#include <time.h>

static int check_name(const char *name, cs_error *err)
{
    size_t n = strlen(name);
    if (n == 0 || n >= CS_CHAN_NAME)
        return cs_seterr(err, CS_EINVAL, "channel names are 1 to %d bytes", CS_CHAN_NAME - 1);
    /* The name is written between quotes in Csound code (chnget "name"). */
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] <= ' ' || (unsigned char)name[i] >= 127 || name[i] == '"')
            return cs_seterr(err, CS_EINVAL,
                             "channel name '%s': printable ASCII without spaces or quotes",
                             name);
    return 0;
}

/* The entry of name, or -1.  A linear search: at most 1024 names, and only
 * client requests look (never the audio thread). */
static int find(const cs_engine *eng, const char *name)
{
    for (unsigned i = 0; i < eng->nchans; i++)
        if (strcmp(eng->chans[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* The entry of name, added (and sent for binding with the first command)
 * when new. */
static int entry(cs_engine *eng, const char *name, cs_error *err)
{
    int i = find(eng, name), rc;
    if (i >= 0)
        return i;
    if ((rc = check_name(name, err)))
        return rc;
    if (eng->nchans == CS_MAX_CHANNELS)
        return cs_seterr(err, CS_ELIMIT, "at most %d channels", CS_MAX_CHANNELS);
    cs_chan *ch = &eng->chans[eng->nchans];
    memset(ch->name, 0, sizeof ch->name);
    memcpy(ch->name, name, strlen(name));
    /* Counted only once a command for it was sent (the ring's release then
     * publishes the name); see the callers. */
    return (int)eng->nchans;
}

static int refused(const cs_chan *ch, cs_error *err)
{
    return cs_seterr(err, CS_EINVAL,
                     "Csound has a channel '%s' of another type (audio, string or pvs); "
                     "channel.set/get handle control channels",
                     ch->name);
}

int cs_channel_set(cs_engine *eng, const char *name, double value, uint64_t at, cs_error *err)
{
    int i = entry(eng, name, err), rc;
    if (i < 0)
        return i;
    if (atomic_load_explicit(&eng->chans[i].state, memory_order_acquire) == CHAN_REFUSED)
        return refused(&eng->chans[i], err);
    if (!isfinite(value))
        return cs_seterr(err, CS_EINVAL, "channel value must be finite");
    cs_cmd c = { .type = CMD_CHAN_SET, .frame = at, .slot = (uint32_t)i, .v = value };
    if ((rc = cs_push_cmd(eng, &c, err)))
        return rc;
    if ((unsigned)i == eng->nchans)
        eng->nchans++;
    return 0;
}

int cs_channel_get(cs_engine *eng, const char *name, double *value, cs_error *err)
{
    int i = entry(eng, name, err), rc;
    if (i < 0)
        return i;
    cs_chan *ch = &eng->chans[i];
    if ((unsigned)i == eng->nchans) {
        cs_cmd c = { .type = CMD_CHAN_BIND, .slot = (uint32_t)i };
        if ((rc = cs_push_cmd(eng, &c, err)))
            return rc;
        eng->nchans++;
    }
    /* An idle offline engine runs no k-cycle: bind it here, the audio
     * thread held (cs_config.hold). */
    if (atomic_load_explicit(&ch->state, memory_order_acquire) == CHAN_UNBOUND &&
        eng->cfg.hold != NULL && eng->cfg.hold(eng->cfg.hold_ctx)) {
        cs_chan_bind(eng, (unsigned)i);
        eng->cfg.release(eng->cfg.hold_ctx);
    }
    /* Like a compile, wait a little for the audio thread: on a running
     * backend the next k-cycle binds it within a block. */
    for (unsigned waited = 0;; waited++) {
        int st = atomic_load_explicit(&ch->state, memory_order_acquire);
        if (st == CHAN_REFUSED)
            return refused(ch, err);
        if (st == CHAN_BOUND)
            break;
        if (waited >= eng->cfg.compile_wait_ms)
            return cs_seterr(err, CS_EBUSY,
                             "channel '%s' is not bound yet: the audio thread looks it up at "
                             "its next k-cycle (offline backend: render a block first)",
                             name);
        struct timespec ts = { 0, 1000000 };
        nanosleep(&ts, NULL);
    }
    MYFLT *p = atomic_load_explicit(&ch->ptr, memory_order_acquire);
    MYFLT v;
    /* Csound's own readers and chnset use __atomic on the value too. */
    __atomic_load(p, &v, __ATOMIC_SEQ_CST);
    *value = v;
    return 0;
}
