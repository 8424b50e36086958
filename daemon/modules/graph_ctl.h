/* graph_ctl.h - the routing graph in the daemon (control side): the one
 * graph, its built-in nodes, auto-connection of new plugins and Csound,
 * sending plans to the audio thread and taking the old ones back.
 * Control thread only.  The model and plan building are in graph_plan.c. */
#ifndef SONOD_GRAPH_CTL_H
#define SONOD_GRAPH_CTL_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/net/client.h"
#include "daemon/modules/graph_plan.h"
#include "daemon/net/request.h"
#include "daemon/base/sonod.h"

/* Creates out, in and csound (auto-connected to out) and sends the first
 * plan.  After csound_ctl_start, before the backend starts. */
int graph_ctl_start(sonod *d);
graph *graph_ctl_graph(void);

/* A plugin node was handed to the audio thread: add it, connect its
 * outputs to out (output k to out:in_(k mod channels + 1), a mono plugin
 * to every channel), send the plan. */
void graph_ctl_plugin_added(sonod *d, uint32_t id, const char *name, struct rt_node *rt);
/* A node is going: drop it and its connections, send the plan (before the
 * command that removes the plugin). */
void graph_ctl_node_removed(sonod *d, uint32_t id);
/* The same for n nodes at once, with one plan (state.load unloading every
 * plugin).  Returns graph_ctl_commit's result (0 when none was in the graph). */
int graph_ctl_nodes_removed(sonod *d, const uint32_t *ids, unsigned n);
/* Fades every connection of plugin or bus node id out (GRAPH_FADE_FRAMES)
 * and, once the fade has settled, removes the node from the graph and lets
 * the audio thread go of it (a plugin: RT_CMD_NODE_REMOVE on the daemon's
 * own behalf; a bus node: busnode_ctl_gone).
 * Returns false, doing nothing, when the node has no connection to fade. */
bool graph_ctl_fade_out_node(sonod *d, uint32_t id);

/* Calls fn(d, arg) once a plan built after this call has been swapped in
 * and has settled (RT_MSG_GRAPH_SETTLED): from then on no plan the audio
 * thread can still use points at what the graph dropped after the call,
 * when it commits (a bus node's buffers: call this, then remove the node
 * and commit).  Not called at shutdown: the caller frees its
 * things itself then.  Returns -1 when out of memory. */
int graph_ctl_after_plan(void (*fn)(sonod *d, uint32_t arg), uint32_t arg);

/* Builds and sends the plan for the graph as it is now.  With r, the
 * reply to r follows when the audio thread swapped it in (or queue_full
 * now, and -1; the change stays in the graph and goes with the next plan). */
int graph_ctl_commit(sonod *d, request *r);

/* Its hooks into the engine (engine/module.h); main registers it. */
extern const struct engine_module graph_ctl_module;

#endif
