/* cs_core.h - Csound's private CSOUND fields (cs_core.c). */
#ifndef SONOD_CSOUND_CS_CORE_H
#define SONOD_CSOUND_CS_CORE_H

struct CSOUND_;

/* 0 when the running library's CSOUND layout is the one compiled against
 * (its block list and API lock where expected), else -1.  Right after
 * csoundCreate, before anything else allocates. [control] */
int cs_core_check(struct CSOUND_ *cs);
/* After Csound longjmp'd out of csoundPerformKsmps on this thread: its
 * bookkeeping done, its API lock released, so it can perform again and be
 * destroyed from another thread. [audio] */
void cs_core_after_exit(struct CSOUND_ *cs);
/* 1 when instrument number n is in Csound's merged engine state.  Only
 * while no merge can run (no compile pending, no compilestr). [control] */
int cs_core_instr_defined(struct CSOUND_ *cs, int n);

#endif
