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

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/rt/cmd.h"
#include "daemon/queue/spsc.h"
#include "daemon/rt/xport.h"
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
  uint64_t done_at;             /* audio thread: frame it finished (RT_MSG_DONE) */
  rt_midi_ev ev[];
} rt_midi_batch;

typedef struct rt_node {
  uint32_t id;
  vst_instance *inst;
  unsigned nin, nout;           /* the plugin's ports */
  void *ctl;                    /* the control side's record */
  /* Audio thread. */
  rt_midi_batch *batches;       /* active batches, oldest first */
  /* Batches finished while the node rendered, oldest first: their
   * RT_MSG_DONE goes out from the audio thread (nodes_flush) after the
   * segment, in plan order, since a node may render on a worker thread
   * (rt/rt_pool.h) and from_rt has one producer. */
  rt_midi_batch *done;
  rt_midi_batch **tail;         /* the last batch's next (or &batches): appending is O(1) */
  /* The control side re-prepares a plugin (new block size) while the
   * audio thread may be running, without a lock: it sets hold, then waits
   * until busy is clear; the audio thread sets busy, then skips the node
   * if hold is set.  Both sequentially consistent (Dekker): if the audio
   * thread missed hold, the control side sees busy and waits for it. */
  _Atomic bool busy;            /* audio thread: inside the plugin */
  _Atomic bool hold;            /* control side: keep out */
} rt_node;

typedef struct rt_nodes {
  rt_node *node[RT_NODES_MAX];
  unsigned n;
  spsc_ring *from_rt;             /* set by engine_init's caller */
  bool said;
  /* The current block. */
  uint64_t start;
  unsigned nframes;
  unsigned sample_rate;         /* set by the engine */
  /* The transport plugins see, as at frame tr.frame: each process call
   * gets it moved on to its own first frame (xport_vst_at). */
  vst_transport tr;
  const rt_live_ev *live;       /* the backend's MIDI input, by offset */
  unsigned nlive;
  const rt_midi_routes *routes; /* which nodes get it */
  /* MIDI every plugin sent in this block, offsets in the block, in
   * processing order (the backend sorts it; JACK: midi_out). */
  vst_midi_sink out;
  vst_midi_out out_ev[RT_LIVE_MIDI_MAX];
} rt_nodes;

/* Audio thread. */
/* True for the command types nodes_apply answers itself (no generic ack). */
bool nodes_owns_reply(const rt_cmd *c);
/* Starts a block; every plugin gets the transport t. */
void nodes_begin(rt_nodes *ns, uint64_t start, unsigned nframes, const vst_transport *t);
/* The transport changed inside the block: plugins see t (moved on to the
 * frame of each call) from their next process call. */
void nodes_transport(rt_nodes *ns, const vst_transport *t);
/* A plugin command is due at frame (within the current block). */
void nodes_apply(rt_nodes *ns, const rt_cmd *c, uint64_t frame);
/* Renders len frames from offset `from` of the block: queues the MIDI due
 * before its end (batches, and live MIDI routed to the node), then processes in -> out (pointers already offset).
 * A segment longer than the plugin's block size goes in several calls
 * (in and out, scratch arrays, are moved along); a node on hold gives
 * silence and drops its due MIDI.  The MIDI the plugin sends goes to sink
 * (NULL: ns->out); a worker thread passes its own (rt/rt_pool.c).  Safe on
 * any thread for distinct nodes at once: it reads ns, writes only n, its
 * plugin and sink. */
void nodes_process(rt_nodes *ns, rt_node *n, float **in, unsigned nin, float **out,
                   unsigned nout, unsigned from, unsigned len, vst_midi_sink *sink);
/* A node the graph does not render: drops its MIDI due before offset to.
 * Safe on any thread, like nodes_process. */
void nodes_skip(rt_nodes *ns, rt_node *n, unsigned to);
/* Audio thread: sends RT_MSG_DONE for n's finished batches. */
void nodes_flush(rt_nodes *ns, rt_node *n);

#endif
