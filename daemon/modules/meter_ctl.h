/* meter_ctl.h - meters on the control side: meter.subscribe/unsubscribe,
 * draining the audio thread's meter snapshots (rt/meter.h) into one
 * coalesced `meter` event per interval per client, and the per-node DSP
 * load that `status` reports.  Control thread only. */
#ifndef SONOD_METER_CTL_H
#define SONOD_METER_CTL_H

#include <msgpack.h>

#include "daemon/net/request.h"
#include "daemon/base/sonod.h"

/* Packs status's `nodes` value: [{node, load}] for the plan in use. */
void meter_ctl_pack_loads(sonod *d, msgpack_packer *pk);

void op_meter_subscribe(request *r);
void op_meter_unsubscribe(request *r);

/* Its hooks into the engine (engine/module.h); main registers it. */
extern const struct engine_module meter_ctl_module;

#endif
