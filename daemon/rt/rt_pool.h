/* rt_pool.h - the worker pool: realtime threads that render the routing
 * graph's independent branches at the same time as the audio thread.
 *
 * The plan builder (modules/graph_plan.c) gives every plan an rt_sched: each
 * node's predecessors counted (in-degree), its successors listed, and room
 * for one counter per node.  Inside a segment the audio thread resets the
 * counters from the in-degrees, queues the nodes that have none, wakes as
 * many sleeping workers as there is work, and takes nodes itself; whoever
 * finishes a node decrements its successors' counters and queues (or goes
 * on with) those that reach zero; whoever finishes the last node releases
 * the audio thread.  The ready queue is a fixed array in the pool, filled
 * once per segment (every node enters it at most once), its slots and head
 * tagged with the segment's number so that a worker still looking at the
 * last segment cannot take from this one.  Waking and waiting is one
 * primitive: a futex (private) on a 32-bit word; no allocation, lock, log
 * or I/O on any worker.
 *
 * Determinism: a node sums its own inputs in plan order when it runs
 * (graph_rt_node), each connection's ramp belongs to the node it feeds, and
 * what nodes send out of the segment (plugin MIDI out, finished MIDI
 * batches) is put in plan order on the audio thread after the segment: the
 * output is bit-identical to the single thread's for any worker count.  The
 * workers run with the audio thread's floating-point mode (MXCSR: FTZ/DAZ),
 * copied at each segment.
 *
 * Csound's block stays on the audio thread: in the first segment of a block
 * it runs while the workers take the nodes that do not need it, and then
 * releases the csound and bus nodes.
 *
 * See ARCHITECTURE.md, "Worker pool". */
#ifndef SONOD_RT_RT_POOL_H
#define SONOD_RT_RT_POOL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rt_plan;
struct rt_graph;
struct rt_nodes;

/* Most nodes a plan may have to be rendered in parallel (the ready queue's
 * size); larger plans render on the audio thread alone. */
#define RT_POOL_MAX_NODES 1024
/* Most worker threads. */
#define RT_POOL_MAX_WORKERS 64

/* Per plan, built on the control side with it (rt_sched_build). */
typedef struct rt_sched {
  unsigned n;            /* the plan's nodes */
  uint32_t *indeg;       /* per node: distinct nodes it reads from */
  uint32_t *succ_at;     /* n + 1 offsets into succ */
  uint32_t *succ;        /* per node: the nodes that read it, in plan order */
  uint8_t *csdep;        /* per node: its outputs are Csound's (csound, bus nodes) */
  bool parallel;         /* two nodes have no path between them */
  bool parallel_cs;      /* the same with Csound's block as one more node */
  _Atomic uint32_t *pending;   /* per node: predecessors not done this segment */
  /* Per node, written by whoever ran it in the last parallel segment: the
   * runner (0 the audio thread, k worker k) and the plugin MIDI it sent,
   * a span of that runner's sink. */
  _Atomic uint8_t *ran_on;
  uint32_t *midi_first, *midi_count;
  bool ran_parallel;     /* audio thread: ran_on is current */
} rt_sched;

/* Control side: with the plan (graph_plan_build), freed with it. */
rt_sched *rt_sched_build(const struct rt_plan *p);
void rt_sched_free(rt_sched *s);

typedef struct rt_pool rt_pool;

/* What status shows of a worker. */
typedef struct rt_pool_stat {
  int policy;            /* SCHED_FIFO, SCHED_OTHER, ... as the thread got it */
  int priority;
  size_t locked;         /* bytes of its stack locked in memory */
  uint32_t busy_ppm;     /* time running nodes in the last cycle, of the period */
  uint32_t busy_max_ppm; /* highest since the last rt_pool_stat call */
  uint32_t nodes;        /* nodes it ran in the last cycle */
} rt_pool_stat;

/* Control thread.  Starts nworkers threads (1..RT_POOL_MAX_WORKERS) in the
 * default policy (rt_pool_follow gives them the audio thread's); stacks
 * locked in memory as far as allowed.  min_work_ns:
 * a cycle goes parallel only when the graph's work in the last one was at
 * least this much (below it the wake-ups cost more than they win).  NULL
 * with err set on failure. */
rt_pool *rt_pool_create(unsigned nworkers, uint64_t min_work_ns, char *err, size_t errlen);
/* Control thread: the workers take SCHED_FIFO at this priority (the audio
 * thread's, which may change: JACK restarted, the null clock started), or
 * the default policy for 0 or when realtime is refused.  Cheap when
 * nothing changed: called on every tick. */
void rt_pool_follow(rt_pool *pl, int rt_priority);
/* Stops and joins the workers; the engine must not be running. */
void rt_pool_destroy(rt_pool *pl);
unsigned rt_pool_workers(const rt_pool *pl);
/* Worker k (1..workers); resets its busy maximum. */
void rt_pool_stat_get(rt_pool *pl, unsigned k, rt_pool_stat *st);
/* Cycles rendered in parallel / in all, since start. */
uint64_t rt_pool_parallel_cycles(const rt_pool *pl);
/* The default worker count: online cores minus one (the audio thread's),
 * at most 8. */
unsigned rt_pool_default_workers(void);

/* Audio thread. */
/* At a block's start: whether this block renders in parallel, given the
 * plan in place and whether Csound runs (its block may go beside the
 * graph).  False for a plan that has no parallelism, or a cheap one. */
bool rt_pool_cycle_begin(rt_pool *pl, const struct rt_plan *p, bool csound, unsigned nframes);
/* Renders frames [from, to) of the block as graph_rt_render does, on the
 * pool.  pre, when not NULL, is Csound's block: the audio thread runs it
 * (pre(pre_ctx)) before the csound and bus nodes and beside the rest.
 * Falls back to the audio thread alone for a plan that cannot go parallel. */
void rt_pool_render(rt_pool *pl, struct rt_graph *g, struct rt_nodes *ns, float *const *out,
                    unsigned nchannels, unsigned from, unsigned to, void (*pre)(void *),
                    void *pre_ctx);
/* At a block's end: publishes the workers' busy time; work_ns is what the
 * graph (and Csound) took on the audio thread when the block was not
 * parallel. */
void rt_pool_cycle_end(rt_pool *pl, struct rt_plan *p, unsigned nframes, unsigned sample_rate,
                       uint64_t work_ns);

#endif
