/* busnode_ctl.h - the graph's `bus` nodes: Csound audio buses as graph
 * sources.  A bus node has one output port per bus it exposes (out_k is
 * the k-th bus: two buses make a stereo source).  Each port is a buffer
 * Csound fills after every k-cycle with its bus (cs_bus_tap), which the
 * plan reads like the `csound` node's outputs.  The buffers are allocated
 * here, belong to the Csound engine while tapped, and are freed on the
 * control side once the audio thread has let go of them: after a plan
 * without the node has settled (graph_ctl_after_plan) the taps are
 * removed, and the engine returns the buffers to be freed.
 * Control thread only. */
#ifndef SONOD_BUSNODE_CTL_H
#define SONOD_BUSNODE_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/base/sonod.h"

#define BUSNODE_MAX_BUSES 16

/* Adds an unconnected bus node exposing buses[0..n) to the graph (no plan
 * is sent: an unconnected node is inactive).  -1 on error, with a
 * protocol error code (protocol/errors.h) and a message. */
int busnode_ctl_new(sonod *d, const int64_t *buses, unsigned n, uint32_t *id, const char **code,
                    char *msg, size_t len);
/* Removes bus node id as plugin.unload removes a plugin: with connections,
 * they fade out first and the node goes once the fade has settled (1);
 * without, it leaves the graph now and the caller commits (0).  -1: no
 * such bus node, or it is being removed already. */
int busnode_ctl_delete(sonod *d, uint32_t id);
/* The bus node (not being removed) that exposes audio bus `bus`, or 0. */
uint32_t busnode_ctl_exposing(int bus);
/* True while bus node id is being deleted (fading out, or gone). */
bool busnode_ctl_removing(uint32_t id);
/* The buses node id exposes, or NULL if it is no bus node. */
const int *busnode_ctl_buses(uint32_t id, unsigned *n);
/* graph_ctl: node id leaves the graph; called before the plan without it
 * is committed.  The taps go once that plan has settled. */
void busnode_ctl_gone(sonod *d, uint32_t id);
/* state.load: every bus node leaves the graph at once, as gain nodes do
 * (the caller commits).  Returns how many. */
unsigned busnode_ctl_remove_all(sonod *d);

/* Its hooks into the engine (engine/module.h); main registers it. */
extern const struct engine_module busnode_ctl_module;

#endif
