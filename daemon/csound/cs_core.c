/* cs_core.c - the fields of Csound's private CSOUND struct that sonod must
 * touch after Csound exited out of a k-cycle (audio thread), and the check
 * that this library's layout is the one compiled against (control thread).
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
