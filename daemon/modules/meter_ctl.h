/* meter_ctl.h - meters on the control side: subscriptions (the ops are
 * ops/ops_meter.c), draining the audio thread's meter snapshots (rt/meter.h) into one
 * coalesced `meter` event per interval per client, and the per-node DSP
 * load that `status` reports.  Control thread only. */
#ifndef SONOD_METER_CTL_H
#define SONOD_METER_CTL_H

#include <msgpack.h>

#include "daemon/base/sonod.h"

/* Packs status's `nodes` value: [{node, load, nonfinite}] for the plan in
 * use. */
void meter_ctl_pack_loads(sonod *d, msgpack_packer *pk);
/* Nodes that gave NaN or infinity: counts the blocks the audio thread
 * silenced (rt_gnode.nonfinite) of plan p (the live one, or one that came
 * back as garbage, before it is freed). */
struct rt_plan;
void meter_ctl_take_nonfinite(struct rt_plan *p);
/* Every control tick: takes the live plan's counts and sends a coalesced
 * `node.nonfinite` event per node, at most one a second. */
void meter_ctl_tick(sonod *d);

/* Subscribes client_id to `meter` events at rate Hz for
 * nodes[0..n) (ids in the graph; owned by the subscription from then on),
 * replacing its subscription if it had one.  -1 when out of memory (nodes
 * still the caller's). */
int meter_ctl_subscribe(sonod *d, uint32_t client_id, unsigned rate, uint32_t *nodes,
                        unsigned n);
/* Ends client_id's subscription, if it has one. */
void meter_ctl_unsubscribe(sonod *d, uint32_t client_id);

/* A node as meter events name it: its id, or "out" / "in" / "csound". */
void meter_ctl_pack_node(msgpack_packer *pk, uint32_t id);

/* Its hooks into the engine (engine/module.h); main registers it. */
extern const struct engine_module meter_ctl_module;

#endif
