/* state.h - the session state: what state.save writes and state.load and
 * the start-up restore read back (plugins, Csound code, instruments,
 * tables, buses, the graph, MIDI routes), the autosave to the state
 * directory, and the record of Csound definitions the ops keep up to
 * date.  Format: protocol/STATE.md.
 * Control thread only; files are written on the libuv thread pool. */
#ifndef SONOD_STATE_H
#define SONOD_STATE_H

#include <stddef.h>

#include "daemon/csound/cs_engine.h"
#include "daemon/base/sonod.h"
#include "daemon/net/request.h"

/* The autosave file inside the state directory. */
#define STATE_FILE "session.sonod"

/* After the backend started, before the loop runs: resolves the state
 * directory ($STATE_DIRECTORY, else --state-dir), arms the autosave, and
 * unless --no-restore starts restoring session.sonod from it, the same way
 * as state.load (in stages on the loop).  ready runs once the restore is
 * over, at once when there is nothing to restore, never when a shutdown
 * came first.  A corrupt file is logged and renamed aside; sonod then
 * starts empty.  Never fails. */
typedef void (*state_ready_cb)(sonod *d);
void state_start(sonod *d, state_ready_cb ready);
/* Orderly shutdown, before the backend stops: saves synchronously when
 * autosave is on and the session changed since the last save -- unless a
 * load is half applied, which is abandoned and not saved. */
void state_shutdown(sonod *d);

/* Something that belongs to the session changed: autosave in 2 s unless
 * another change comes first. */
void state_changed(sonod *d);

/* The Csound ops report what they did, since the engine keeps no record of
 * the code and definitions it was given. */
void state_note_compile(sonod *d, const char *code);
void state_note_instr(sonod *d, const char *name, const char *body, const cs_param *p,
                      unsigned np, const char *init, int priority);
void state_note_instr_undefine(sonod *d, const char *name);
/* path NULL: a generated table of `size` values, data NULL for zeros. */
void state_note_table(sonod *d, int tab, const char *path, const double *data, size_t size);
void state_note_table_free(sonod *d, int tab);
void state_note_bus(sonod *d, int bus, cs_bus_kind kind);
void state_note_bus_free(sonod *d, int bus);

/* The state.save and state.load operations. */
void op_state_save(request *r);
void op_state_load(request *r);

#endif
