/* engine.h - the engine: what the audio thread runs every block, and the
 * state it shares with the control thread.
 *
 * Ownership: fields under "audio thread" are touched only by whichever
 * thread currently drives the engine (JACK's process thread, the null clock
 * thread or the offline renderer; never two at once).  Fields under
 * "published" are atomics the audio thread writes and anyone may read.
 * Everything else is set up by the control thread before audio starts. */
#ifndef SONOD_RT_ENGINE_H
#define SONOD_RT_ENGINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/rt/capture.h"
#include "daemon/rt/cmd.h"
#include "daemon/rt/graph.h"
#include "daemon/queue/heap.h"
#include "daemon/rt/meter.h"
#include "daemon/rt/nodes.h"
#include "daemon/rt/rec.h"
#include "daemon/queue/spsc.h"
#include "daemon/rt/tone.h"
#include "daemon/rt/xport.h"

#define ENGINE_RING_CAPACITY 4096
/* Timed requests (a future `at` or a `delay`) that may wait at once. */
#define ENGINE_TIMED_CAPACITY 4096
/* The heap also holds the commands for "now" of the current cycle, at most
 * a ring's worth: room is kept for them, so a heap full of timed requests
 * never refuses a plugin load, a graph plan or a MIDI batch (which the
 * control side has already committed to). */
#define ENGINE_HEAP_CAPACITY (ENGINE_TIMED_CAPACITY + ENGINE_RING_CAPACITY)

typedef struct engine {
  /* Setup (control thread, before audio runs). */
  unsigned sample_rate;
  unsigned channels;
  spsc_ring *to_rt;
  spsc_ring *from_rt;
  void (*wake)(void *ctx);   /* tells the control thread there are messages */
  void *wake_ctx;
  struct rt_pool *pool;      /* worker threads (rt/rt_pool.h), or NULL: the audio thread alone */

  /* Audio thread. */
  minheap heap;
  unsigned timed;            /* audio thread: timed commands in the heap */
  uint64_t frame;            /* engine clock: first frame of the next block */
  uint64_t seq;
  tone_state tone;
  rt_nodes nodes;            /* plugin nodes (rt/nodes.c) */
  rt_graph graph;            /* the routing plan (rt/graph_rt.c) */
  rt_meters meters;          /* meter snapshots to the control side (rt/meter.c) */
  struct rt_csound *csound;  /* the live Csound engine (rt/csound_rt.c), or NULL */
  rt_xport xport;            /* the transport (rt/xport.c) */
  rt_midi_routes *routes;    /* where live MIDI goes, or NULL */
  rt_rec *rec;               /* the recording in progress, or NULL (rt/rec.c) */
  rt_captures caps;          /* the nodes streamed to clients (rt/capture.c) */
  /* Set by the backend before each engine_process (zero: none). */
  const float *const *in;    /* nin input buffers of nframes */
  unsigned nin;
  const rt_live_ev *live;    /* this cycle's MIDI input, by offset */
  unsigned nlive;
  rt_xport_ext ext;          /* the backend's transport this cycle */
  /* Where requests for "now" take effect when that is past `frame`: the
   * offline backend holds back the last frames of a render that ends inside
   * a Csound k-cycle (backend_offline.c), and the clock stands at the
   * render's end meanwhile.  Zero on the live backends.  Written by the
   * backend's thread, read by the control thread too. */
  _Atomic uint64_t stand;

  /* Published by the audio thread. */
  _Atomic uint64_t pub_frame;         /* first frame of the last block */
  _Atomic uint32_t pub_block;         /* frames in the last block */
  _Atomic uint32_t pub_load_ppm;      /* DSP load of the last cycle, parts per million */
  _Atomic uint32_t pub_load_max_ppm;  /* highest since the control side reset it */
  _Atomic uint32_t pub_heap_used;
  _Atomic uint64_t pub_cycles;
  rt_xport_pub pub_xport;
} engine;

/* Control thread. */
int engine_init(engine *e, unsigned sample_rate, unsigned channels);
void engine_destroy(engine *e);

/* Audio thread: one cycle.  out holds nchannels buffers of nframes floats;
 * the engine overwrites them.  Never allocates, locks, waits or logs.
 * nframes may be 0: the offline driver uses that to take and answer
 * commands while it is not rendering. */
void engine_process(engine *e, float *const *out, unsigned nchannels, unsigned nframes);

/* Control thread: where the engine's clock stands for a request for
 * "now": the end of the last block, or where an offline render ended
 * (`stand`). */
static inline uint64_t engine_clock(const engine *e) {
  uint64_t end = atomic_load(&e->pub_frame) + atomic_load(&e->pub_block);
  uint64_t stand = atomic_load(&e->stand);

  return stand > end ? stand : end;
}

#endif
