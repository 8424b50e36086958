/* csound_state.h - the live Csound engine's part of the session: the
 * record of the code and definitions it was given, kept by the Csound ops
 * (csound_record.c), and its section of the session file (STATE.md,
 * `csound`; csound_state.c).  Control thread only. */
#ifndef SONOD_CSOUND_STATE_H
#define SONOD_CSOUND_STATE_H

#include <stddef.h>

#include "daemon/base/sonod.h"
#include "daemon/csound/cs_engine.h"
#include "daemon/session/section.h"

/* The Csound ops report what they did, since the engine keeps no record of
 * the code and definitions it was given.  Each counts as a change of the
 * session (session_changed). */
void state_note_compile(sonod *d, const char *code);
void state_note_instr(sonod *d, const char *name, const char *body, const cs_param *p,
                      unsigned np, const char *init, int priority);
void state_note_instr_undefine(sonod *d, const char *name);
/* path NULL: a generated table of `size` values, data NULL for zeros. */
void state_note_table(sonod *d, int tab, const char *path, const double *data, size_t size);
void state_note_table_free(sonod *d, int tab);
void state_note_bus(sonod *d, int bus, cs_bus_kind kind);
void state_note_bus_free(sonod *d, int bus);

/* Tallies "code", "instrs", "tables" (saved table number -> now) and
 * "buses" (saved bus id -> now). */
extern const session_section csound_state_section;

#endif
