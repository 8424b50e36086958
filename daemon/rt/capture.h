/* capture.h - streaming a node's audio to a client (capture.start): the
 * audio thread copies, at each block's end, the node's output (or input)
 * buffers into a preallocated lock-free ring of blocks; the control side
 * (modules/capture_ctl.c) drains the ring and packs `capture` events.
 *
 * The ring is the SPSC ring (queue/spsc.h) whose every record is one block:
 * a capture_hdr, then `channels` runs of `block` floats (non-interleaved).
 * The audio thread fills the record at the write position in place over as
 * many engine cycles as it takes and publishes it once it holds `block`
 * frames.  It never waits and never allocates: when the ring has no free
 * record where a new one would start, the rest of that cycle's frames are
 * dropped, counted in `dropped` and in the next record's header, whose
 * `frame` then jumps by as much.  See ARCHITECTURE.md, "Capture". */
#ifndef SONOD_RT_CAPTURE_H
#define SONOD_RT_CAPTURE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/queue/spsc.h"

struct rt_plan;

/* Captures at once, over every client (the engine's table). */
#define CAPTURE_MAX 32

typedef struct capture_hdr {
  uint64_t frame;        /* engine frame of the block's first frame */
  uint64_t dropped;      /* frames lost just before it (the ring was full) */
  uint32_t frames;       /* frames in it: `block`, fewer in a capture's last one */
  uint32_t pad;
} capture_hdr;

typedef struct rt_capture {
  _Alignas(64) _Atomic uint64_t dropped; /* frames lost to a full ring (audio thread adds) */
  /* Set up by the control side, read-only after. */
  uint32_t id;           /* the capture's id (capture.start's reply) */
  uint32_t gid;          /* graph id of the node (GRAPH_ID_OUT: the backend's output) */
  bool inputs;           /* its gathered inputs rather than its outputs */
  unsigned channels;
  unsigned block;        /* frames per record */
  spsc_ring *ring;       /* records of sizeof(capture_hdr) + channels × block floats */

  /* Audio thread. */
  bool filling;          /* the record at the write position is begun */
  unsigned fill;         /* frames in it */
  uint64_t gap;          /* frames dropped since the last record begun */
} rt_capture;

/* The engine's captures (audio thread). */
typedef struct rt_captures {
  rt_capture *cap[CAPTURE_MAX];
  unsigned n;
} rt_captures;

/* The record at ring position pos: its header and channel ch's samples. */
static inline capture_hdr *capture_hdr_at(const rt_capture *c, size_t pos) {
  return (capture_hdr *)spsc_slot(c->ring, pos);
}
static inline float *capture_data(const rt_capture *c, capture_hdr *h, unsigned ch) {
  return (float *)(h + 1) + (size_t)ch * c->block;
}

/* Audio thread.  Adds c (false: the table is full). */
bool capture_rt_add(rt_captures *cs, rt_capture *c);
/* Takes c out of the table, publishing the frames its record holds so far.
 * False if it was not there. */
bool capture_rt_remove(rt_captures *cs, rt_capture *c);
/* The block's end: copies frames [0, nframes) of every capture's node from
 * plan p (the out node's outputs: `out`, the backend's buffers) and says
 * whether a record was published (the control side should be woken). */
bool capture_rt_block(rt_captures *cs, const struct rt_plan *p, float *const *out,
                      unsigned nchannels, unsigned nframes, uint64_t start);
/* Whether every capture's ring has room for a cycle of n frames: the
 * offline backend waits for that rather than dropping.  Audio thread (the
 * offline renderer, between cycles). */
bool capture_rt_room(const rt_captures *cs, unsigned n);

#endif
