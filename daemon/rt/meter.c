/* meter.c - AUDIO THREAD.  Meters and per-node load; see rt/meter.h.
 * Only arithmetic, clock reads and pushes into a preallocated ring. */
#include "daemon/rt/meter.h"

#include <math.h>
#include <string.h>

#include "daemon/rt/graph.h"
#include "daemon/queue/spsc.h"

/* Smoothing of the per-node load: each block moves it 1/8 of the way,
 * a time constant of about 8 blocks (43 ms at 256 frames, 48 kHz). */
#define LOAD_SMOOTH 0.125f

static void measure(rt_meter *mt, const float *x, unsigned len) {
  float peak = mt->peak, sum = 0.0f;
  unsigned i;

  /* A NaN peak stays NaN (and an infinity infinite) until the snapshot:
   * a meter shows a broken signal as such, not as silence. */
  for (i = 0; i < len; i++) {
    float a = fabsf(x[i]);
    if (a > peak || a != a)
      peak = a;
    sum += x[i] * x[i];
  }
  mt->peak = peak;
  mt->sumsq += sum;
}

void meter_rt_ports(rt_plan *p, rt_gnode *n, unsigned from, unsigned len) {
  unsigned k;

  for (k = 0; k < n->nout; k++)
    measure(&p->meter[n->meter0 + k], n->outbuf[k] + from, len);
}

static void push_ports(rt_meters *m, rt_plan *p) {
  unsigned i, k;

  for (i = 0; i < p->nnodes; i++) {
    rt_gnode *n = &p->node[i];
    unsigned np = n->kind == GN_OUT ? n->nin : n->nout;

    for (k = 0; k < np; k++) {
      rt_meter *mt = &p->meter[n->meter0 + k];
      rt_meter_rec r;

      r.node = n->gid;
      r.port = k;
      r.u.v.peak = mt->peak;
      r.u.v.sumsq = mt->sumsq;
      (void)spsc_push(m->ring, &r);
      mt->peak = 0.0f;
      mt->sumsq = 0.0f;
    }
  }
}

void meter_rt_flush(rt_meters *m, rt_plan *p) {
  if (p == NULL || !m->was_on || spsc_space(m->ring) < p->nmeters)
    return;
  push_ports(m, p);
}

void meter_rt_add_time(rt_graph *g, uint32_t gid, uint64_t ns) {
  rt_plan *p = g->plan;
  unsigned i;

  for (i = 0; p != NULL && i < p->nnodes; i++)
    if (p->node[i].gid == gid) {
      p->node[i].load_ns += ns;
      return;
    }
}

void meter_rt_block(rt_meters *m, rt_graph *g, float *const *out, unsigned nchannels,
                    unsigned nframes, uint64_t end_frame, unsigned sample_rate) {
  rt_plan *p = g->plan;
  uint32_t period = atomic_load_explicit(&m->period, memory_order_relaxed);
  float period_ns = (float)nframes * 1e9f / (float)(sample_rate ? sample_rate : 1);
  unsigned i, k;
  bool due;
  /* Read once and cleared, whatever this block does: a render ends here. */
  bool at_end = m->snap_at_end;

  m->snap_at_end = false;
  if (p == NULL || nframes == 0)
    return;
  for (i = 0; i < p->nnodes; i++) {
    rt_gnode *n = &p->node[i];
    float x = (float)n->load_ns / period_ns;

    if (n->bad) {
      atomic_fetch_add_explicit(&n->nonfinite, 1, memory_order_relaxed);
      n->bad = false;
    }
    n->load += (x - n->load) * LOAD_SMOOTH;
    n->load_ns = 0;
    atomic_store_explicit(&n->load_ppm, (uint32_t)(n->load * 1e6f), memory_order_relaxed);
  }

  if (period == 0) {
    m->was_on = false;
    return;
  }
  if (!m->was_on) {
    /* Metering just started: whatever the accumulators hold is stale. */
    memset(p->meter, 0, p->nmeters * sizeof *p->meter);
    m->acc = 0;
    m->was_on = true;
  }
  for (i = 0; i < p->nnodes; i++) {
    rt_gnode *n = &p->node[i];

    if (n->kind != GN_OUT)
      continue;
    for (k = 0; k < n->nin && k < nchannels; k++)
      measure(&p->meter[n->meter0 + k], out[k], nframes);
  }
  m->acc += nframes;
  /* Due after `period` frames, or now when a render ends here (its meters
   * must not wait for the next render). */
  due = m->acc >= period || at_end;
  if (!due || spsc_space(m->ring) < (size_t)p->nmeters + 1)
    return;   /* not due, or no room: the next snapshot covers more */
  push_ports(m, p);
  {
    rt_meter_rec r;

    r.node = METER_REC_END;
    r.port = m->acc;
    r.u.frame = end_frame;
    (void)spsc_push(m->ring, &r);
  }
  m->acc = 0;
}
