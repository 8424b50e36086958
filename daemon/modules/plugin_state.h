/* plugin_state.h - the plugins' section of the session file (STATE.md,
 * `plugins`): plugin_state.c.  Control thread only. */
#ifndef SONOD_PLUGIN_STATE_H
#define SONOD_PLUGIN_STATE_H

#include "daemon/session/section.h"

/* Tally "plugins": each saved node id and the id its plugin has now. */
extern const session_section plugin_state_section;

#endif
