/* graph.h - the routing graph's plan: what the audio thread runs every
 * block, built on the control side (daemon/graph_plan.c) and handed over by
 * pointer with RT_CMD_GRAPH_PLAN.
 *
 * A plan is the active part of the graph in processing order (sources
 * first, the `out` node last), with for every input port the list of output
 * buffers it sums and the ramp that scales each of them, and for every node
 * the ramp of its own gain.  Every buffer is preallocated for the largest
 * block.  The audio thread never changes a plan's shape; it only advances
 * ramps.  The old plan comes back in rt_msg.garbage and is freed on the
 * control side.  See ARCHITECTURE.md, "Routing graph". */
#ifndef SONOD_RT_GRAPH_H
#define SONOD_RT_GRAPH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct rt_node;
struct rt_nodes;
struct rt_csound;
struct rt_sched;
struct vst_midi_sink;

/* Every gain change (connect, disconnect, node.gain, node.mute, bypass of
 * a gain node) and every plugin bypass switch (a crossfade between the
 * processed output and the dry input) is a linear ramp of this many frames:
 * 5.3 ms at 48 kHz. */
#define GRAPH_FADE_FRAMES 256

/* Fixed ids of the built-in nodes (plugin and gain ids are small). */
#define GRAPH_ID_OUT 0x7FFFFF01u
#define GRAPH_ID_IN 0x7FFFFF02u
#define GRAPH_ID_CSOUND 0x7FFFFF03u

/* Ramp keys: a connection's id (below GRAPH_KEY_BYPASS), a node's id with
 * GRAPH_KEY_NODE for its gain, or a plugin node's id with GRAPH_KEY_BYPASS
 * for its wet share (1 processed, 0 bypassed). */
#define GRAPH_KEY_NODE 0x80000000u
#define GRAPH_KEY_BYPASS 0x40000000u

typedef enum {
  GN_OUT = 1,   /* the backend's outputs: a sink, always last */
  GN_IN,        /* the backend's inputs: a source (silence on null/offline) */
  GN_CSOUND,    /* the live Csound engine's outputs: a source */
  GN_PLUGIN,    /* a VST instance */
  GN_GAIN,      /* a gain/mixer node: outputs = sum of inputs × gain */
  GN_BUS,       /* Csound audio buses, copied out by Csound's block: a source */
} graph_kind;

/* A gain that moves linearly to target over `left` frames.  Plans carry
 * ramps by key; when a plan is swapped in, each ramp whose key the old plan
 * also had starts from the old one's current value. */
typedef struct rt_gramp {
  uint32_t key;
  float cur;          /* value at the next frame */
  float target;
  float step;         /* audio thread: per frame, set at the swap */
  uint32_t left;      /* audio thread: frames until target */
} rt_gramp;

/* A port's meter since the last snapshot (rt/meter.h). */
typedef struct rt_meter {
  float peak;
  float sumsq;
} rt_meter;

/* One connection into an input port. */
typedef struct rt_gsrc {
  const float *buf;   /* the source's output buffer (fan-out: shared) */
  uint32_t ramp;      /* index into rt_plan.ramp */
} rt_gsrc;

typedef struct rt_gnode {
  uint32_t id;        /* plugin, gain and bus nodes; 0 for out/in/csound */
  uint8_t kind;       /* graph_kind */
  uint8_t bypass;
  unsigned nin, nout;
  uint32_t *nsrc;     /* per input port: connections summed into it */
  rt_gsrc **src;      /* per input port */
  float **inbuf;      /* nin gathered inputs, max_block frames each */
  float **outbuf;     /* nout outputs (csound, bus: buffers Csound fills) */
  float **inptr;      /* nin scratch pointers: inbuf + segment offset */
  float **outptr;     /* nout scratch pointers */
  struct rt_node *vst;
  uint32_t gain_ramp; /* index into rt_plan.ramp: the node's gain */
  uint32_t wet_ramp;  /* plugins: index into rt_plan.ramp of the bypass crossfade */
  uint32_t gid;       /* graph id (GRAPH_ID_* for out/in/csound), for meters and load */
  uint32_t meter0;    /* index into rt_plan.meter of its first metered port */
  uint64_t load_ns;   /* audio thread: time spent in this block */
  float load;         /* audio thread: smoothed share of the period */
  _Atomic uint32_t load_ppm;  /* published: load in parts per million */
  bool bad;           /* the thread that renders it (audio or worker): gave a NaN or
                       * infinity in this block; read by the audio thread after it */
  /* Published: blocks in which it gave a NaN or infinity (its output was
   * silenced for them); the control side takes it with an exchange. */
  _Atomic uint32_t nonfinite;
} rt_gnode;

typedef struct rt_plan {
  uint64_t gen;       /* generation, for ramp-completion reports */
  unsigned max_block;
  unsigned nnodes;
  rt_gnode *node;     /* processing order; out last (absent if nothing sounds) */
  unsigned nramps;
  rt_gramp *ramp;     /* sorted by key */
  unsigned nidle;     /* plugin nodes with no path to out: not processed */
  struct rt_node **idle;
  bool settled;       /* audio thread: reported settled (its slot is used) */
  unsigned nmeters;   /* every node's outputs (out: its inputs), in node order */
  rt_meter *meter;
  /* The dependencies between the nodes, for running independent ones on
   * the worker pool (rt/rt_pool.h); built with the plan. */
  struct rt_sched *sched;
} rt_plan;

/* The index of the ramp with this key in p->ramp, or -1.  Any thread: the
 * plan builder (graph_plan.c) wires nodes and connections to their ramps
 * with it, the audio thread (graph_rt.c) finds a ramp's old value in the
 * plan being replaced and the ramp a bypass or gain change moves. */
static inline int rt_plan_ramp(const rt_plan *p, uint32_t key) {
  unsigned lo = 0, hi = p->nramps;

  while (lo < hi) {
    unsigned mid = lo + (hi - lo) / 2;
    if (p->ramp[mid].key == key)
      return (int)mid;
    if (p->ramp[mid].key < key)
      lo = mid + 1;
    else
      hi = mid;
  }
  return -1;
}

/* The audio thread's graph state (in the engine). */
typedef struct rt_graph {
  rt_plan *plan;      /* NULL: only the test tone sounds */
  /* The plan in use, for the control side to read loads from.  Plans are
   * freed on the control thread only after they came back as garbage, by
   * when this already points further on. */
  rt_plan *_Atomic live;
  bool metering;      /* set by the engine each block: meters are wanted */
  /* This cycle's backend inputs (the `in` node's outputs), set by the
   * engine; NULL/0 on backends without inputs: `in` is silent. */
  const float *const *in;
  unsigned nin;
} rt_graph;

/* Audio thread. */
/* Swaps in p; returns the old plan (NULL if none).  Ramps carry over. */
rt_plan *graph_rt_swap(rt_graph *g, rt_plan *p);
/* Renders frames [from, to) of the block through the plan and adds the out
 * node's inputs into out. */
void graph_rt_render(rt_graph *g, struct rt_nodes *ns, float *const *out, unsigned nchannels,
                     unsigned from, unsigned to);
/* One node's share of a segment: gather its inputs (in plan order, so
 * fan-in sums the same on any thread), process, meter.  Touches only n,
 * its connections' ramps, its meters, its plugin and sink (NULL: the
 * nodes' own); `out` only for the out node.  So nodes with no path between
 * them may run at once on different threads (rt/rt_pool.c). */
void graph_rt_node(rt_graph *g, rt_plan *p, struct rt_nodes *ns, rt_gnode *n, float *const *out,
                   unsigned nchannels, unsigned from, unsigned len, struct vst_midi_sink *sink);
/* Audio thread, after a segment [.., to) rendered: the plugin nodes'
 * finished MIDI batches are said in plan order, idle plugins drop their
 * MIDI due before `to`. */
void graph_rt_segment_end(rt_plan *p, struct rt_nodes *ns, unsigned to);
/* True once per plan, when every ramp has reached its target: the plan's
 * swap command reserved the from_rt slot for saying so (RT_MSG_GRAPH_SETTLED). */
bool graph_rt_settled_now(rt_graph *g);
/* Retargets the ramp `key` (node.gain at a frame).  False if absent. */
bool graph_rt_set_gain(rt_graph *g, uint32_t key, float target);

#endif
