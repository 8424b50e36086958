/* cs_core.h - Csound's private CSOUND fields (cs_core.c). */
#ifndef SONOD_CSOUND_CS_CORE_H
#define SONOD_CSOUND_CS_CORE_H

#include <stddef.h>

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

/* Function tables built on the control thread (cs_table.c).  The list of
 * tables gets room up to maxfno, and *maxlen is the library's longest
 * table (MAXLEN); after csoundStart, before the audio thread has the
 * engine. [control] */
int cs_core_tables_init(struct CSOUND_ *cs, int maxfno, long *maxlen);
/* Csound's FUNC for table fno of exactly flen values, as the score event
 * "f fno 0 -flen -2 0" makes it, zeroed with every page touched, from
 * Csound's allocator; NULL when out of memory or flen is 0 or > maxlen.
 * [control] */
void *cs_core_ftable_new(struct CSOUND_ *cs, int fno, size_t flen, long maxlen);
/* Its values (flen + the guard point). [any] */
double *cs_core_ftable_data(void *ftp);
/* Puts ftp (or NULL) at fno in Csound's list and returns what was there; no
 * allocation, no Csound call.  *ok is 0 when fno is outside the list.
 * [audio] */
void *cs_core_ftable_swap(struct CSOUND_ *cs, int fno, void *ftp, int *ok);
/* Frees a FUNC that is in no list, and its values. [control] */
void cs_core_ftable_free(struct CSOUND_ *cs, void *ftp);

/* Score events given to Csound in a batch without its list's walk per
 * event (cs_process_rt.c events_open): detach the pending list, give each
 * event (it lands alone in the empty list), take it into the chain
 * head..tail (by k-cycle, in the order given among equals: where Csound's
 * walk would put it), and attach: the chain merged into the saved list, in
 * order of k-cycle, saved events first among equals.  Nothing else may give
 * Csound events between detach and attach. [audio] */
void *cs_core_events_detach(struct CSOUND_ *cs);
void cs_core_events_take(struct CSOUND_ *cs, void **head, void **tail);
void cs_core_events_attach(struct CSOUND_ *cs, void *saved, void *chain);

#endif
