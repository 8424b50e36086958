/* cs_core.c - the fields of Csound's private CSOUND struct that sonod must
 * touch after Csound exited out of a k-cycle (audio thread), the check
 * that this library's layout is the one compiled against (control thread),
 * and function tables built on the control thread and put in Csound's list
 * of tables by the audio thread (cs_table.c).
 *
 * csoundCore.h (installed by libcsound64-dev with the library it describes)
 * shows the whole struct only to Csound itself (__BUILDING_LIBCSOUND) and
 * then includes four private headers the package does not ship; the
 * stand-ins in core_stubs/ declare what it needs of them.  Every field used
 * here lies before the one by-value stand-in (REMOT_BUF), so their offsets
 * are the library's own; cs_core_check compares one of them with what the
 * running library does before the engine relies on them. */
#define __BUILDING_LIBCSOUND
#include <csound/csoundCore.h>

#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "cs_core.h"

int cs_core_check(CSOUND *cs)
{
    /* A new block heads Csound's list of blocks (memalloc_db), its header
     * two pointers before the data; the API lock exists and is free. */
    unsigned char *p = cs->Malloc(cs, 16);
    int ok = p != NULL && cs->memalloc_db == (void *)(p - 2 * sizeof(void *)) &&
             cs->API_lock != NULL;
    cs->Free(cs, p);
    if (ok && pthread_mutex_trylock(cs->API_lock) == 0)
        pthread_mutex_unlock(cs->API_lock);
    else
        ok = 0;
    return ok ? 0 : -1;
}

int cs_core_instr_defined(CSOUND *cs, int n)
{
    const ENGINE_STATE *st = &cs->engineState;
    return n >= 1 && n <= st->maxinsno && st->instrtxtp != NULL && st->instrtxtp[n] != NULL;
}

void cs_core_after_exit(CSOUND *cs)
{
    /* What csoundLongJmp does before it jumps (Top/csound.c), except the
     * CS_STATE_JMP mark: this Csound goes on performing. */
    cs->curip = NULL;
    cs->ids = NULL;
    cs->reinitflag = 0;
    cs->tieflag = 0;
    cs->perferrcnt += cs->inerrcnt;
    cs->inerrcnt = 0;
    /* csoundPerformKsmps took the API lock (a recursive mutex) and returns
     * early without giving it back; this thread holds nothing outside a
     * Csound call, so every hold it has is released. */
    pthread_mutex_t *m = cs->API_lock;
    while (m->__data.__owner == gettid() && pthread_mutex_unlock(m) == 0)
        ;
}

/* ---- function tables built on the control thread (cs_table.c) ---- */

int cs_core_tables_init(CSOUND *cs, int maxfno, long *maxlen)
{
    FUNC *ftp;
    int lobits;

    /* Room for every number we hand out, so that putting a table in place
     * on the audio thread never grows the list (hfgens does it with
     * ReAlloc when an f event names a number past the end). */
    if (maxfno > cs->maxfnum) {
        FUNC **nn = cs->ReAlloc(cs, cs->flist, ((size_t)maxfno + 1) * sizeof(FUNC *));
        if (nn == NULL)
            return -1;
        for (int i = cs->maxfnum + 1; i <= maxfno; i++)
            nn[i] = NULL;
        cs->flist = nn;
        cs->maxfnum = maxfno;
    }
    /* The library's MAXLEN (2^24 or 2^28, by how it was built): FTAlloc
     * gives a table of length 1 lobits = log2(MAXLEN). */
    if (cs->flist[maxfno] != NULL || cs->FTAlloc(cs, maxfno, 1) != 0)
        return -1;
    ftp = cs->flist[maxfno];
    lobits = ftp->lobits;
    cs->flist[maxfno] = NULL;
    cs->Free(cs, ftp->ftable);
    cs->Free(cs, ftp);
    if (lobits < 16 || lobits > 30)
        return -1;
    *maxlen = 1L << lobits;
    return 0;
}

void *cs_core_ftable_new(CSOUND *cs, int fno, size_t flen, long maxlen)
{
    FUNC *ftp;
    int lobits = 0;

    if (flen == 0 || flen > (size_t)maxlen)
        return NULL;
    ftp = cs->Calloc(cs, sizeof *ftp);
    if (ftp == NULL)
        return NULL;
    ftp->ftable = cs->Malloc(cs, (flen + 1) * sizeof(MYFLT));
    if (ftp->ftable == NULL) {
        cs->Free(cs, ftp);
        return NULL;
    }
    /* Every page written here, on this thread: the audio thread's first
     * touch must not fault. */
    memset(ftp->ftable, 0, (flen + 1) * sizeof(MYFLT));
    /* What "f fno 0 -flen -2 0" makes (hfgens, gen02, ftresdisp): exactly
     * flen values, the guard point 0 and not a copy of the first, no
     * rescaling; power-of-two lengths with their phase constants. */
    if ((flen & (flen - 1)) == 0) {
        for (size_t l = flen; (l & (size_t)maxlen) == 0; l <<= 1)
            lobits++;
        ftp->lenmask = (int32)(flen - 1);
    } else {
        ftp->lenmask = (int32)0xFFFFFFFF;
    }
    ftp->lobits = lobits;
    ftp->lomask = (int32)((1 << lobits) - 1);
    ftp->lodiv = FL(1.0) / (MYFLT)(1 << lobits);
    ftp->nchanls = 1;
    ftp->flen = (uint32_t)flen;
    ftp->flenfrms = (int32)flen;
    ftp->fno = fno;
    ftp->argcnt = 2;
    ftp->args[0] = FL(-2.0);
    ftp->args[1] = FL(0.0);
    return ftp;
}

double *cs_core_ftable_data(void *ftp)
{
    return ((FUNC *)ftp)->ftable;
}

void *cs_core_ftable_swap(CSOUND *cs, int fno, void *ftp, int *ok)
{
    FUNC *old;

    *ok = fno > 0 && fno <= cs->maxfnum;
    if (!*ok)
        return NULL;
    old = cs->flist[fno];
    cs->flist[fno] = ftp;
    return old;
}

void cs_core_ftable_free(CSOUND *cs, void *ftp)
{
    FUNC *f = ftp;

    if (f == NULL)
        return;
    if (f->ftable != NULL)
        cs->Free(cs, f->ftable);
    cs->Free(cs, f);
}

/* ---- score events: Csound's list of pending events, kept sorted ---- */

/* insert_score_event_at_sample (musmon.c) walks Csound's list from the
 * head past every event due at or before the new one's k-cycle: n events
 * for one k-cycle cost n^2/2 steps, 2 million for a 2 000-note chord, each
 * step a node 16 KB from the last.  So the events of a batch go into an
 * empty list, one at a time (no walk), are taken out into a chain kept in
 * the order Csound's walk would give them (by k-cycle, in the order given
 * among equals: a node goes after the tail when its k-cycle is not earlier,
 * the usual case, else after the last node not later than it), and the
 * chain is merged into the list once (a node already there first among
 * equals, as Csound orders them). */
void *cs_core_events_detach(CSOUND *cs)
{
    EVTNODE *l = cs->OrcTrigEvts;

    cs->OrcTrigEvts = NULL;
    return l;
}

void cs_core_events_take(CSOUND *cs, void **head, void **tail)
{
    EVTNODE *e, **link;

    while ((e = cs->OrcTrigEvts) != NULL) {
        cs->OrcTrigEvts = e->nxt;
        e->nxt = NULL;
        if (*tail == NULL) {
            *head = *tail = e;
            continue;
        }
        if (((EVTNODE *)*tail)->start_kcnt <= e->start_kcnt) {
            ((EVTNODE *)*tail)->nxt = e;
            *tail = e;
            continue;
        }
        for (link = (EVTNODE **)head; *link != NULL && (*link)->start_kcnt <= e->start_kcnt;
             link = &(*link)->nxt)
            ;
        e->nxt = *link;
        *link = e;
    }
}

void cs_core_events_attach(CSOUND *cs, void *saved, void *chain)
{
    EVTNODE *a = saved, *b = chain, *head = NULL, **link = &head;

    /* Both sorted by start_kcnt; a's node first among equals. */
    while (a != NULL && b != NULL) {
        if (a->start_kcnt <= b->start_kcnt) {
            *link = a;
            a = a->nxt;
        } else {
            *link = b;
            b = b->nxt;
        }
        link = &(*link)->nxt;
    }
    *link = a != NULL ? a : b;
    cs->OrcTrigEvts = head;
}
