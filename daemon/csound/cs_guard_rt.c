/* cs_guard_rt.c - Csound's exits, caught where they happen (audio thread;
 * installed by the control thread at create).
 *
 * An opcode that ends Csound (exitnow, or any that calls csoundDie)
 * longjmps through the CSOUND struct's LongJmp to a jump buffer that
 * csoundPerformKsmps set with setjmp on its *first* call only: every later
 * exit jumps into a stack frame that returned long ago, and leaves Csound's
 * API lock (a recursive mutex taken in csoundPerformKsmps) held by the
 * audio thread, so csoundCleanup at shutdown waited for it forever.
 *
 * Here LongJmp is replaced: on the thread inside cs_perform_guarded it
 * jumps back into that call (a live frame) and the call returns
 * CS_PERF_EXITED; elsewhere Csound's own runs.  The engine is then dead
 * (cs_process_rt.c stops calling Csound, cs_engine_destroy leaves it
 * allocated: its API lock is still held). */
#include <csound/csdl.h>     /* the CSOUND struct's function table */

#include "cs_core.h"
#include "cs_internal.h"

#include <setjmp.h>

/* csdl.h keeps the host API out of sight of opcode libraries. */
int csoundPerformKsmps(CSOUND *);

static _Thread_local jmp_buf *tl_jump;
static __attribute__((noreturn)) void (*csound_longjmp)(CSOUND *, int);

static __attribute__((noreturn)) void guarded_longjmp(CSOUND *cs, int code)
{
    jmp_buf *j = tl_jump;
    if (j != NULL) {
        tl_jump = NULL;
        longjmp(*j, 1);
    }
    csound_longjmp(cs, code);
}

void cs_guard_install(CSOUND *cs)
{
    if (cs->LongJmp != guarded_longjmp) {
        csound_longjmp = cs->LongJmp;
        cs->LongJmp = guarded_longjmp;
    }
}

int cs_perform_guarded(CSOUND *cs)
{
    jmp_buf j;
    if (setjmp(j) != 0) {
        cs_core_after_exit(cs);
        return CS_PERF_EXITED;
    }
    tl_jump = &j;
    int rc = csoundPerformKsmps(cs);
    tl_jump = NULL;
    return rc;
}
