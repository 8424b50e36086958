/* events.h - event kinds, subscriptions, and sending events. */
#ifndef SONOD_EVENTS_H
#define SONOD_EVENTS_H

#include <msgpack.h>
#include <stdint.h>

#include "daemon/base/sonod.h"

typedef enum {
  EV_TONE = 1u << 0,
  EV_BACKEND = 1u << 1,
  EV_XRUN = 1u << 2,
  EV_CLIENT = 1u << 3,
  EV_SHUTDOWN = 1u << 4,
  EV_SYNTH = 1u << 5,     /* synth.started, synth.ended */
  EV_CSOUND = 1u << 6,    /* csound.message */
  EV_PLUGIN = 1u << 7,    /* plugin.param, plugin.output, plugin.midi, plugin.error, plugin.prepared */
  EV_NODE = 1u << 8,      /* node.nonfinite */
} event_kind;

/* The mask bit of a kind named by obj, or 0 for an unknown kind. */
uint32_t event_kind_parse(const msgpack_object *obj);
/* Packs the names of the kinds in mask as an array. */
void event_kinds_pack(msgpack_packer *pk, uint32_t mask);

/* Starts an event frame: a map of nfields + 1 entries, "event" first. */
void events_begin(msgpack_sbuffer *sb, msgpack_packer *pk, const char *kind, uint32_t nfields);
/* Finishes the frame and sends it to every subscriber of kind. */
void events_emit(sonod *d, event_kind kind, msgpack_sbuffer *sb);

void events_client(sonod *d, client *c, const char *action);

#endif
