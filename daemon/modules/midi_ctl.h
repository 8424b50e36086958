/* midi_ctl.h - the live MIDI routes to plugin nodes (midi_ctl.c): the
 * control thread's table, the copies of it the audio thread plays from,
 * and both kinds of route (plugin and Csound, midi_cs.c) as part of the
 * session, for state.c.  Control thread only. */
#ifndef SONOD_MIDI_CTL_H
#define SONOD_MIDI_CTL_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/net/request.h"
#include "daemon/base/sonod.h"

#define MIDI_MAX_ROUTES 256

/* Routes plugin node `node` (channel 0..15, -1: all); routing a node
 * again changes its channel.  -1 when the table is full. */
int midi_ctl_set(uint32_t node, int32_t channel);
/* Removes node's route; -1 when it has none. */
int midi_ctl_remove(uint32_t node);
/* Forgets every plugin route (state.load; nothing is sent). */
void midi_ctl_clear(void);
/* Sends a copy of the table to the audio thread (RT_CMD_MIDI_ROUTES), on
 * behalf of request r (the reply {frame} follows once it is in force; an
 * error is replied here), or with r NULL for no one.  -1 when out of
 * memory or the queue is full: the audio thread keeps its table. */
int midi_ctl_commit(sonod *d, request *r);

/* Every route to an existing node, then every Csound route, as maps:
 * midi.routes' list (`to` a decimal string), or with `file` the state
 * file's `midi` array (`to` a uint, STATE.md). */
void midi_ctl_pack_routes(msgpack_packer *pk, bool file);

#endif
