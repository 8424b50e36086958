/* midi_state.h - the live MIDI routes' section of the session file
 * (STATE.md, `midi`): midi_state.c.  Control thread only. */
#ifndef SONOD_MIDI_STATE_H
#define SONOD_MIDI_STATE_H

#include "daemon/session/section.h"

/* Tally "midi_routes"; reads "plugins". */
extern const session_section midi_state_section;

#endif
