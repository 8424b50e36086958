/* midi_cs.h - live MIDI routed to Csound instruments (midi_cs.c): the
 * routes' table, each with a voice pool of the Csound module that the audio
 * thread plays sample-exact.  Control thread only. */
#ifndef SONOD_MIDI_CS_H
#define SONOD_MIDI_CS_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/net/request.h"
#include "daemon/base/sonod.h"

/* midi.route / midi.unroute with to: "csound" (channel already read). */
void midi_cs_route(request *r, int64_t channel);
void midi_cs_unroute(request *r);
/* state.load: makes a saved route (note / vel NULL: not passed; channel
 * -1: all; voices 1..1024) after its instrument was defined.  -1 with the
 * reason in msg. */
int midi_cs_restore(const char *instr, const char *note, const char *vel, int channel,
                    unsigned voices, char *msg, size_t len);
/* state.load: every route goes (their sounding synths stop at the audio
 * thread's next block; the slots come back once they have ended). */
void midi_cs_clear(void);
/* midi.routes: the number of Csound routes, and route i as a map. */
unsigned midi_cs_count(void);
void midi_cs_pack_route(msgpack_packer *pk, unsigned i);
/* status's midi_csound: {dropped, failed, sounding}. */
void midi_cs_pack_stats(msgpack_packer *pk);
/* The daemon's tick: a backend event when refused notes grew (at most one
 * a second). */
void midi_cs_tick(sonod *d);
/* After instr.define (or state.load) defined `name`: a routed instrument
 * gets a pool built from its new definition. */
void midi_cs_instr_defined(sonod *d, const char *name);

#endif
