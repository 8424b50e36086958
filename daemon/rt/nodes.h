/* nodes.h - plugin nodes on the audio thread: the node array, per-block
 * processing, and the plugin commands (RT_CMD_NODE_*, RT_CMD_PARAM,
 * RT_CMD_MIDI).
 *
 * Everything here is allocated and freed on the control side
 * (daemon/plugin_ctl.c); the audio thread only links and unlinks pointers,
 * calls the vst_rt_* functions and mixes.  See ARCHITECTURE.md and
 * protocol/PROTOCOL.md ("Plugins") for the timing rules. */
#ifndef SONOD_RT_NODES_H
#define SONOD_RT_NODES_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/rt/cmd.h"
#include "daemon/rt/ring.h"
#include "daemon/vst/vst.h"

#define RT_NODES_MAX 256

/* One timed MIDI event of a batch.  t is an absolute engine frame (abs
 * part) or frames after the batch's arrival (rel part). */
typedef struct rt_midi_ev {
  uint64_t t;
  uint32_t order;      /* position in the request: ties keep request order */
  vst_midi_msg msg;    /* len 0: sysex */
  vst_sysex *sx;
} rt_midi_ev;

/* All the events of one plugin.midi request.  ev[0..nabs) are absolute and
 * sorted, ev[nabs..nabs+nrel) relative and sorted (both on the control
 * side); the audio thread merges them as it goes. */
typedef struct rt_midi_batch {
  struct rt_midi_batch *next;   /* audio thread: the node's active list */
  uint32_t node;
  uint32_t nabs, nrel;
  uint32_t iabs, irel;          /* audio thread: next to queue */
  uint64_t base;                /* audio thread: arrival frame (rel base) */
  uint32_t queued;              /* audio thread: events handed to the plugin */
  uint32_t refused;             /* audio thread: vst_rt_queue_* said no */
  rt_midi_ev ev[];
} rt_midi_batch;

typedef struct rt_node {
  uint32_t id;
  vst_instance *inst;
  unsigned nout;                /* plugin outputs rendered into scratch */
  unsigned max_block;
  float **scratch;              /* nout (at least 1) buffers of max_block */
  void *ctl;                    /* the control side's record */
  /* Audio thread. */
  unsigned pos;                 /* frames of the current block rendered */
  rt_midi_batch *batches;       /* active batches, oldest first */
} rt_node;

typedef struct rt_nodes {
  rt_node *node[RT_NODES_MAX];
  unsigned n;
  rt_ring *from_rt;             /* set by engine_init's caller */
  bool said;
  /* The current block. */
  uint64_t start;
  unsigned nframes;
  float *const *out;
  unsigned nchannels;
} rt_nodes;

/* Audio thread. */
/* True for the command types nodes_apply answers itself (no generic ack). */
bool nodes_owns_reply(const rt_cmd *c);
void nodes_begin(rt_nodes *ns, uint64_t start, float *const *out, unsigned nchannels,
                 unsigned nframes);
/* A plugin command is due at frame (within the current block). */
void nodes_apply(rt_nodes *ns, const rt_cmd *c, uint64_t frame);
/* Renders every node to the end of the block and adds it into out. */
void nodes_end(rt_nodes *ns);

#endif
