/* meter.h - peak/RMS meters and per-node DSP load, measured on the audio
 * thread and handed to the control side without locks.
 *
 * Measuring: every output port of every node in the plan has an rt_meter
 * accumulator in rt_plan.meter (allocated with the plan on the control
 * side); the `out` node's are its input ports, measured on the backend's
 * final buffers (so the test tone counts).  Each node's processing time is
 * taken with clock_gettime around it and turned into a smoothed share of
 * the period at the block's end, published as an atomic per plan node.
 *
 * Publishing: the audio thread alone writes and resets the accumulators.
 * Every `period` frames (rounded up to block ends) it copies them into the
 * meter ring as one record per port and a trailer record, then zeroes
 * them.  The control side only reads the ring.  So there is no reset race:
 * nobody but the audio thread ever resets, and a snapshot is either wholly
 * in the ring or not yet there.  When the ring has no room for a whole
 * snapshot the accumulators simply go on (the next snapshot covers a
 * longer interval): nothing is lost but time resolution, and the ring is
 * bounded.  See ARCHITECTURE.md, "Meters and load". */
#ifndef SONOD_RT_METER_H
#define SONOD_RT_METER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct rt_graph;
struct rt_gnode;
struct rt_plan;
struct spsc_ring;

/* Records in the ring: one per port, then a trailer. */
#define METER_REC_END 0xFFFFFFFFu

typedef struct rt_meter_rec {
  uint32_t node;      /* the graph id (GRAPH_ID_* or plugin/gain id), or METER_REC_END */
  uint32_t port;      /* port index from 0; in the trailer: frames covered */
  union {
    struct {
      float peak;     /* max |x| */
      float sumsq;    /* sum of x^2 */
    } v;
    uint64_t frame;   /* trailer: engine frame at the end of the interval */
  } u;
} rt_meter_rec;

/* The meter ring holds this many records: at 240 snapshots a second of a
 * 16-port plan, about 4 s. */
#define METER_RING_CAPACITY 16384

typedef struct rt_meters {
  struct spsc_ring *ring;    /* audio -> control, rt_meter_rec; set up before audio runs */
  _Atomic uint32_t period;   /* frames between snapshots; 0: metering off (control sets) */
  /* Audio thread. */
  uint32_t acc;              /* frames accumulated since the last snapshot */
  bool was_on;
  bool snap_at_end;          /* publish at this block's end even if short: set by
                                the offline backend before a render's last block */
} rt_meters;

static inline uint64_t rt_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Audio thread. */
/* Adds frames [from, from+len) of node n's output ports to its meters. */
void meter_rt_ports(struct rt_plan *p, struct rt_gnode *n, unsigned from, unsigned len);
/* A plan is about to be replaced: its partial accumulators go to the ring
 * as port records (no trailer: the interval goes on in the new plan). */
void meter_rt_flush(rt_meters *m, struct rt_plan *p);
/* The block's end: meters the out node on the final buffers, turns the
 * nodes' times into loads, and publishes a snapshot when one is due. */
void meter_rt_block(rt_meters *m, struct rt_graph *g, float *const *out, unsigned nchannels,
                    unsigned nframes, uint64_t end_frame, unsigned sample_rate);
/* Adds time spent for a node outside graph_rt_render (Csound's block). */
void meter_rt_add_time(struct rt_graph *g, uint32_t gid, uint64_t ns);

#endif
