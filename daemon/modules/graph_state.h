/* graph_state.h - the routing graph's section of the session file
 * (STATE.md, `graph`): graph_state.c.  Control thread only. */
#ifndef SONOD_GRAPH_STATE_H
#define SONOD_GRAPH_STATE_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/session/section.h"

/* A saved node id: "out", "in", "csound" (GRAPH_ID_*) or a uint below
 * GRAPH_ID_OUT.  False for anything else. */
bool graph_state_node_id(const msgpack_object *o, uint32_t *id);

/* Tallies "gain_nodes" and "bus_nodes" (saved node id -> now) and
 * "connections"; reads "plugins" and "buses". */
extern const session_section graph_state_section;

#endif
