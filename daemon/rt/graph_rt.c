/* graph_rt.c - AUDIO THREAD.  Runs the routing graph's plan (rt/graph.h).
 *
 * The engine splits each block at the frames of its commands and calls
 * graph_rt_render once per segment; every node in the plan renders the
 * segment in processing order: gather (sum of the connected outputs, each
 * scaled by its connection's ramp), process, scale by the node's gain ramp.
 * A plugin whose bypass is switching is both processed and passed through,
 * crossfaded by its wet ramp.
 * The `out` node's gathered inputs are added into the backend's buffers.
 * Csound renders its whole block first (its own commands are sample-exact
 * inside it), so it is a pure source here, and so are the bus nodes, whose
 * buffers it fills with its tapped audio buses.
 *
 * Only arithmetic and pointer work: no allocation, free, lock, wait, log
 * or I/O.  Plugin calls are bracketed inside the vst library. */
#include "daemon/rt/graph.h"

#include <string.h>

#include "daemon/rt/meter.h"
#include "daemon/rt/nodes.h"
#include "daemon/vst/vst_finite_rt.h"

static void ramp_to(rt_gramp *r, float target) {
  r->target = target;
  if (r->cur == target) {
    r->left = 0;
    r->step = 0;
    return;
  }
  r->left = GRAPH_FADE_FRAMES;
  r->step = (target - r->cur) / (float)GRAPH_FADE_FRAMES;
}

rt_plan *graph_rt_swap(rt_graph *g, rt_plan *p) {
  rt_plan *old = g->plan;
  unsigned i;

  /* A ramp the old plan had goes on from where it is; a new one starts
   * from the value the control side gave it (0 for a new connection). */
  for (i = 0; p != NULL && i < p->nramps; i++) {
    rt_gramp *r = &p->ramp[i];
    int o = old != NULL ? rt_plan_ramp(old, r->key) : -1;

    if (o >= 0)
      r->cur = old->ramp[o].cur;
    ramp_to(r, r->target);
  }
  if (p != NULL)
    p->settled = false;
  g->plan = p;
  atomic_store_explicit(&g->live, p, memory_order_release);
  return old;
}

bool graph_rt_set_gain(rt_graph *g, uint32_t key, float target) {
  int i = g->plan != NULL ? rt_plan_ramp(g->plan, key) : -1;

  if (i < 0)
    return false;
  ramp_to(&g->plan->ramp[i], target);
  return true;
}

bool graph_rt_settled_now(rt_graph *g) {
  rt_plan *p = g->plan;
  unsigned i;

  if (p == NULL || p->settled)
    return false;
  for (i = 0; i < p->nramps; i++)
    if (p->ramp[i].left > 0)
      return false;
  p->settled = true;
  return true;
}

/* dst[i] = src[i] × the ramp's value at frame i; the ramp is not moved.
 * Writing rather than adding saves a clearing pass over dst: the first
 * source of a port, and a gain node's output, take this path. */
static void set_ramped(float *dst, const float *src, const rt_gramp *r, unsigned len) {
  unsigned i;

  if (r->left == 0) {
    float gn = r->cur;
    if (gn == 1.0f)
      memcpy(dst, src, len * sizeof(float));
    else if (gn == 0.0f)
      memset(dst, 0, len * sizeof(float));
    else
      for (i = 0; i < len; i++)
        dst[i] = src[i] * gn;
    return;
  }
  for (i = 0; i < len; i++)
    dst[i] = src[i] * (i < r->left ? r->cur + r->step * (float)i : r->target);
}

/* dst[i] += src[i] × the ramp's value at frame i; the ramp is not moved. */
static void add_ramped(float *dst, const float *src, const rt_gramp *r, unsigned len) {
  unsigned i;

  if (r->left == 0) {
    float gn = r->cur;
    if (gn == 1.0f)
      for (i = 0; i < len; i++)
        dst[i] += src[i];
    else if (gn != 0.0f)
      for (i = 0; i < len; i++)
        dst[i] += src[i] * gn;
    return;
  }
  for (i = 0; i < len; i++) {
    float gn = i < r->left ? r->cur + r->step * (float)i : r->target;
    dst[i] += src[i] * gn;
  }
}

static void mul_ramped(float *buf, const rt_gramp *r, unsigned len) {
  unsigned i;

  if (r->left == 0) {
    float gn = r->cur;
    if (gn != 1.0f)
      for (i = 0; i < len; i++)
        buf[i] *= gn;
    return;
  }
  for (i = 0; i < len; i++)
    buf[i] *= i < r->left ? r->cur + r->step * (float)i : r->target;
}

static void advance(rt_gramp *r, unsigned len) {
  if (r->left == 0)
    return;
  if (len >= r->left) {
    r->left = 0;
    r->cur = r->target;
    r->step = 0;
    return;
  }
  r->left -= len;
  r->cur += r->step * (float)len;
}

static void gather(rt_plan *p, rt_gnode *n, unsigned from, unsigned len) {
  unsigned k, s;

  for (k = 0; k < n->nin; k++) {
    float *dst = n->inbuf[k] + from;

    if (n->nsrc[k] == 0)
      memset(dst, 0, len * sizeof(float));
    for (s = 0; s < n->nsrc[k]; s++) {
      rt_gsrc *src = &n->src[k][s];
      rt_gramp *r = &p->ramp[src->ramp];

      if (s == 0)
        set_ramped(dst, src->buf + from, r, len);
      else
        add_ramped(dst, src->buf + from, r, len);
      advance(r, len);
    }
  }
}

/* Bypass: input k (mod inputs) to output k; no inputs, silence. */
static void pass(rt_gnode *n, unsigned from, unsigned len) {
  unsigned k;

  for (k = 0; k < n->nout; k++) {
    if (n->nin > 0)
      memcpy(n->outbuf[k] + from, n->inbuf[k % n->nin] + from, len * sizeof(float));
    else
      memset(n->outbuf[k] + from, 0, len * sizeof(float));
  }
}

/* Plugin bypass crossfade: out_k = dry_k + (out_k - dry_k) × wet, dry_k
 * the input bypass maps to output k; the ramp is not moved. */
static void crossfade(rt_gnode *n, const rt_gramp *w, unsigned from, unsigned len) {
  unsigned k, i;

  for (k = 0; k < n->nout; k++) {
    float *o = n->outbuf[k] + from;
    const float *d = n->nin > 0 ? n->inbuf[k % n->nin] + from : NULL;

    for (i = 0; i < len; i++) {
      float wet = i < w->left ? w->cur + w->step * (float)i : w->target;
      float dry = d != NULL ? d[i] : 0.0f;
      o[i] = dry + (o[i] - dry) * wet;
    }
  }
}

static void process(rt_graph *g, rt_plan *p, rt_nodes *ns, rt_gnode *n, float *const *out,
                    unsigned nchannels, unsigned from, unsigned len, vst_midi_sink *sink) {
  unsigned k;

  switch (n->kind) {
  case GN_OUT:
    for (k = 0; k < n->nin && k < nchannels; k++)
      add_ramped(out[k] + from, n->inbuf[k] + from, &p->ramp[n->gain_ramp], len);
    advance(&p->ramp[n->gain_ramp], len);
    return;
  case GN_IN:
    /* The backend's input k (JACK in_K), silence beyond what it has. */
    for (k = 0; k < n->nout; k++) {
      if (k < g->nin && g->in[k] != NULL)
        memcpy(n->outbuf[k] + from, g->in[k] + from, len * sizeof(float));
      else
        memset(n->outbuf[k] + from, 0, len * sizeof(float));
    }
    break;
  case GN_CSOUND:
  case GN_BUS:
    break;   /* rendered for the whole block by csound_rt_process */
  case GN_PLUGIN: {
    rt_gramp *w = &p->ramp[n->wet_ramp];

    if (w->left == 0 && w->cur == 0.0f) {
      /* Bypassed and faded: pass through; keep its clock of MIDI moving. */
      pass(n, from, len);
      nodes_skip(ns, n->vst, from + len);
      break;
    }
    for (k = 0; k < n->nin; k++)
      n->inptr[k] = n->inbuf[k] + from;
    for (k = 0; k < n->nout; k++)
      n->outptr[k] = n->outbuf[k] + from;
    nodes_process(ns, n->vst, n->inptr, n->nin, n->outptr, n->nout, from, len, sink);
    if (w->left > 0 || w->cur != 1.0f)
      crossfade(n, w, from, len);
    advance(w, len);
    break;
  }
  case GN_GAIN:
    /* Input to output and the gain in one pass. */
    for (k = 0; k < n->nout; k++) {
      if (n->nin > 0)
        set_ramped(n->outbuf[k] + from, n->inbuf[k % n->nin] + from,
                   &p->ramp[n->gain_ramp], len);
      else
        memset(n->outbuf[k] + from, 0, len * sizeof(float));
    }
    advance(&p->ramp[n->gain_ramp], len);
    return;
  default:
    break;
  }
  for (k = 0; k < n->nout; k++)
    mul_ramped(n->outbuf[k] + from, &p->ramp[n->gain_ramp], len);
  advance(&p->ramp[n->gain_ramp], len);
}

/* A node whose output holds a NaN or an infinity would carry it into
 * every node downstream and into the mix, which then stays NaN for good
 * (a filter's state keeps it): its outputs are silenced for the segment
 * and the block is counted for the control side, which names the node. */
static void guard(rt_gnode *n, unsigned from, unsigned len) {
  unsigned k;
  bool bad = false;

  for (k = 0; k < n->nout && !bad; k++)
    bad = vst_any_non_finite(n->outbuf[k] + from, len);
  if (!bad)
    return;
  for (k = 0; k < n->nout; k++)
    memset(n->outbuf[k] + from, 0, len * sizeof(float));
  n->bad = true;
}

void graph_rt_node(rt_graph *g, rt_plan *p, rt_nodes *ns, rt_gnode *n, float *const *out,
                   unsigned nchannels, unsigned from, unsigned len, vst_midi_sink *sink) {
  gather(p, n, from, len);
  process(g, p, ns, n, out, nchannels, from, len, sink);
  /* out is metered on the final buffers at the block's end.  The meter
   * sees what the node gave, a NaN or infinity included; what goes on
   * downstream is guarded. */
  if (g->metering && n->kind != GN_OUT)
    meter_rt_ports(p, n, from, len);
  if (n->kind != GN_OUT)
    guard(n, from, len);
}

void graph_rt_segment_end(rt_plan *p, rt_nodes *ns, unsigned to) {
  unsigned i;

  if (ns == NULL)
    return;
  /* Finished MIDI batches are said in plan order, as they were queued. */
  for (i = 0; i < p->nnodes; i++)
    if (p->node[i].vst != NULL)
      nodes_flush(ns, p->node[i].vst);
  for (i = 0; i < p->nidle; i++) {
    nodes_skip(ns, p->idle[i], to);
    nodes_flush(ns, p->idle[i]);
  }
}

void graph_rt_render(rt_graph *g, rt_nodes *ns, float *const *out, unsigned nchannels,
                     unsigned from, unsigned to) {
  rt_plan *p = g->plan;
  unsigned i, len = to - from;
  uint64_t t;

  /* A block longer than the plan's buffers (JACK grew its period before
   * the control side sent a bigger plan) is not rendered: silence rather
   * than writing past the buffers. */
  if (p == NULL || len == 0 || to > p->max_block)
    return;
  t = rt_now_ns();
  for (i = 0; i < p->nnodes; i++) {
    rt_gnode *n = &p->node[i];
    uint64_t t1;

    graph_rt_node(g, p, ns, n, out, nchannels, from, len, NULL);
    /* One clock read per node: its time runs to the next one's start. */
    t1 = rt_now_ns();
    n->load_ns += t1 - t;
    t = t1;
  }
  graph_rt_segment_end(p, ns, to);
}
