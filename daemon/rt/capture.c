/* capture.c - AUDIO THREAD.  Copies captured nodes' buffers into their
 * rings at each block's end (rt/capture.h).  Only copies and atomics: no
 * allocation, free, lock, wait, log or I/O. */
#include "daemon/rt/capture.h"

#include <string.h>

#include "daemon/rt/graph.h"

bool capture_rt_add(rt_captures *cs, rt_capture *c) {
  if (cs->n >= CAPTURE_MAX)
    return false;
  cs->cap[cs->n++] = c;
  return true;
}

static void publish(rt_capture *c, unsigned frames) {
  capture_hdr_at(c, spsc_write_pos(c->ring))->frames = frames;
  spsc_publish(c->ring, 1);
  c->filling = false;
  c->fill = 0;
}

bool capture_rt_remove(rt_captures *cs, rt_capture *c) {
  unsigned i;

  for (i = 0; i < cs->n; i++)
    if (cs->cap[i] == c)
      break;
  if (i == cs->n)
    return false;
  if (c->filling && c->fill > 0)
    publish(c, c->fill);
  cs->cap[i] = cs->cap[--cs->n];
  return true;
}

/* The buffers the capture reads this block, or NULL (silence): the node is
 * not in the plan (no path to out, deleted, or no plan yet). */
static float *const *source(const rt_capture *c, const rt_plan *p, float *const *out,
                            unsigned nchannels, unsigned *n) {
  unsigned i;

  if (c->gid == GRAPH_ID_OUT && !c->inputs) {
    *n = nchannels;
    return out;
  }
  for (i = 0; p != NULL && i < p->nnodes; i++) {
    const rt_gnode *g = &p->node[i];

    if (g->gid == c->gid) {
      *n = c->inputs ? g->nin : g->nout;
      return c->inputs ? g->inbuf : g->outbuf;
    }
  }
  *n = 0;
  return NULL;
}

/* Copies frames [from, to) of src into c's ring; returns whether it
 * published a record. */
static bool copy(rt_capture *c, float *const *src, unsigned nsrc, unsigned from, unsigned to,
                 uint64_t start) {
  bool published = false;
  unsigned ch;

  while (from < to) {
    capture_hdr *h;
    unsigned len;

    if (!c->filling) {
      if (spsc_space(c->ring) == 0) {
        /* No record to begin: the rest of this block is lost. */
        c->gap += to - from;
        atomic_fetch_add_explicit(&c->dropped, to - from, memory_order_relaxed);
        return published;
      }
      h = capture_hdr_at(c, spsc_write_pos(c->ring));
      h->frame = start + from;
      h->dropped = c->gap;
      c->gap = 0;
      c->filling = true;
      c->fill = 0;
    }
    h = capture_hdr_at(c, spsc_write_pos(c->ring));
    len = c->block - c->fill;
    if (len > to - from)
      len = to - from;
    for (ch = 0; ch < c->channels; ch++) {
      float *dst = capture_data(c, h, ch) + c->fill;

      if (ch < nsrc && src[ch] != NULL)
        memcpy(dst, src[ch] + from, len * sizeof(float));
      else
        memset(dst, 0, len * sizeof(float));
    }
    c->fill += len;
    from += len;
    if (c->fill == c->block) {
      publish(c, c->block);
      published = true;
    }
  }
  return published;
}

bool capture_rt_block(rt_captures *cs, const rt_plan *p, float *const *out, unsigned nchannels,
                      unsigned nframes, uint64_t start) {
  bool published = false;
  unsigned i, n;

  /* A block the plan's buffers cannot hold was not rendered into them
   * (graph_rt_render): silence then. */
  for (i = 0; i < cs->n; i++) {
    rt_capture *c = cs->cap[i];
    float *const *src = source(c, p, out, nchannels, &n);

    if (src != out && p != NULL && nframes > p->max_block)
      src = NULL;
    if (copy(c, src, src != NULL ? n : 0, 0, nframes, start))
      published = true;
  }
  return published;
}

bool capture_rt_room(const rt_captures *cs, unsigned n) {
  unsigned i;

  for (i = 0; i < cs->n; i++) {
    const rt_capture *c = cs->cap[i];

    if (spsc_space(c->ring) < (size_t)n / c->block + 2)
      return false;
  }
  return true;
}
