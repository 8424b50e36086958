/* cs_alloc.c - Csound's ReAlloc, made safe for two threads (both threads:
 * installed by the control thread at create, called by Csound from either).
 *
 * Csound keeps every block it allocates on one doubly linked list (so that
 * csoundDestroy can free what is left), guarded by a spinlock.  sonod
 * allocates from it on two threads at once: the control thread parses and
 * compiles (csoundCompileOrcAsync), the audio thread performs, merges and
 * makes instances.  Malloc and Free touch the list only under the lock, but
 * 6.18's ReAlloc (Engine/memalloc.c mrealloc) calls realloc() *before* it
 * takes the lock and relinks the moved block after: meanwhile the other
 * thread may link a new block in front of it or unlink a neighbour, writing
 * into the freed old block and leaving the list pointing at it.
 * csoundDestroy then freed a block twice or one it never had (pipelined
 * instr.define + synth.start: a double free in about half of the ASan runs;
 * tests/csound/test_cs_alloc.c).
 *
 * The replacement is made of the two safe calls: a new block from Malloc,
 * the contents copied, the old block given to Free.  It needs the size of
 * the old block: malloc_usable_size of Csound's block, less its header (two
 * pointers in a release build of Csound).  cs_alloc_install checks that
 * header on the running library (the list's head, somewhere in the CSOUND
 * struct, must point there) and refuses otherwise. */
#include <csound/csdl.h>     /* the CSOUND struct's function table */

#include "cs_internal.h"

#include <malloc.h>
#include <string.h>

#define HDR_SIZE (2 * sizeof(void *))

static void *(*csound_realloc)(CSOUND *, void *, size_t);

static void *safe_realloc(CSOUND *csound, void *oldp, size_t size)
{
    if (oldp == NULL || size == 0)
        return csound_realloc(csound, oldp, size);   /* a Malloc or a Free */
    size_t old = malloc_usable_size((unsigned char *)oldp - HDR_SIZE) - HDR_SIZE;
    void *p = csound->Malloc(csound, size);          /* does not return on failure */
    memcpy(p, oldp, old < size ? old : size);
    csound->Free(csound, oldp);
    return p;
}

int cs_alloc_install(CSOUND *cs)
{
    /* Nothing else allocates yet: the new block heads the list, so some
     * pointer in the CSOUND struct (malloc'ed by csoundCreate) points at its
     * header, HDR_SIZE before the data. */
    unsigned char *p = cs->Malloc(cs, 16);
    void **word = (void **)cs;
    size_t n = malloc_usable_size(cs) / sizeof(void *);
    int found = 0;
    for (size_t i = 0; p != NULL && i < n && !found; i++)
        found = word[i] == (void *)(p - HDR_SIZE);
    cs->Free(cs, p);
    if (!found)
        return -1;
    if (cs->ReAlloc != safe_realloc) {
        csound_realloc = cs->ReAlloc;
        cs->ReAlloc = safe_realloc;
    }
    return 0;
}
