/* graph_plan.h - the routing graph as data on the control side: nodes,
 * ports, connections; the processing order (topological sort), cycle
 * detection, reachability of `out`; and building the rt_plan the audio
 * thread runs (daemon/rt/graph.h).  Pure: no daemon state, so the unit
 * tests drive it directly.  Control thread only. */
#ifndef SONOD_GRAPH_PLAN_H
#define SONOD_GRAPH_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/rt/graph.h"

/* GRAPH_ID_OUT, GRAPH_ID_IN, GRAPH_ID_CSOUND: in rt/graph.h. */

typedef struct gnode {
  uint32_t id;
  graph_kind kind;
  char name[64];
  unsigned nin, nout;
  bool bypass, mute;
  float gain;
  struct rt_node *vst;      /* plugin */
  float **ext_out;          /* csound, bus: buffers Csound fills (not the plan's) */
  /* Set by graph_sort. */
  bool active;              /* has a path to out */
} gnode;

typedef struct gconn {
  uint32_t id;              /* its ramp key */
  uint32_t from, from_port; /* node id, output index from 0 */
  uint32_t to, to_port;     /* node id, input index from 0 */
  float gain;
  bool fade_in;             /* starts from 0 when it first sounds */
  uint64_t dying;           /* 0, or the plan generation that fades it out */
} gconn;

typedef struct graph {
  gnode *node;
  unsigned nnodes, capnodes;
  gconn *conn;
  unsigned nconns, capconns;
  uint32_t next_conn;
  uint64_t gen;             /* generation of the last plan built */
} graph;

void graph_init(graph *g);
void graph_free(graph *g);

gnode *graph_node(graph *g, uint32_t id);
/* Adds a node (name may be NULL); NULL when out of memory. */
gnode *graph_add_node(graph *g, uint32_t id, graph_kind kind, const char *name, unsigned nin,
                      unsigned nout);
/* Removes a node and every connection touching it, at once. */
void graph_remove_node(graph *g, uint32_t id);

/* The live or dying connection between two ports, or NULL. */
gconn *graph_find_conn(graph *g, uint32_t from, uint32_t fport, uint32_t to, uint32_t tport);
/* Adds a live connection (no checks); NULL when out of memory. */
gconn *graph_add_conn(graph *g, uint32_t from, uint32_t fport, uint32_t to, uint32_t tport,
                      float gain, bool fade_in);
/* Drops connections whose fade-out was carried by a plan of generation
 * <= gen that has settled.  Returns how many. */
unsigned graph_reap(graph *g, uint64_t gen);

/* Would a connection from -> to close a cycle?  If so writes the nodes of
 * the cycle (from, to, ..., back to from's predecessor) into path (up to
 * cap) and returns their count; 0 when it would not. */
unsigned graph_cycle(const graph *g, uint32_t from, uint32_t to, uint32_t *path, unsigned cap);

/* Sets every node's `active` and writes the processing order of the active
 * nodes (out last) into order (nnodes entries).  Returns their count, or
 * -1 if the graph has a cycle (never, if connections went through
 * graph_cycle). */
int graph_sort(graph *g, uint32_t *order);

/* Builds the plan for the current graph with buffers of max_block frames;
 * NULL when out of memory (or a cycle).  Increments g->gen. */
rt_plan *graph_plan_build(graph *g, unsigned max_block);
void graph_plan_free(rt_plan *p);

/* "out", "in", "csound", "plugin", "gain" or "bus". */
const char *graph_kind_name(graph_kind k);
/* "out", "in", "csound" or the decimal id. */
const char *graph_node_label(uint32_t id, char *buf, size_t len);
/* Parses "node:port" into a node id and a port (out_K or in_K, K from 1);
 * *is_out says which.  -1: no such node syntax; -2: bad port syntax. */
int graph_parse_port(const char *s, size_t len, uint32_t *node, uint32_t *port, bool *is_out);

#endif
