/* csound_rt.c - AUDIO THREAD.  The live Csound engine's block: render into
 * preallocated scratch buffers, which are the graph's `csound` node outputs
 * (and into the tapped audio buses' buffers, the graph's `bus` nodes).  Nothing here
 * allocates, frees, locks, waits, logs or does I/O; cs_rt_process brackets
 * its own calls into Csound (see daemon/csound/README.md).
 *
 * Csound renders whole k-cycles of ksmps frames.  A block that is not a
 * multiple of ksmps (a JACK period such as 1000 with ksmps 32, the end of
 * an offline render that had to be rendered) goes through a small FIFO:
 * the block starts with the frames left over from the cycle rendered
 * ahead at the end of the previous block, continues with whole cycles, and
 * if frames remain, renders one more cycle whose first frames end this
 * block and whose rest waits in `ahead` for the next.  Csound's clock then
 * runs up to ksmps-1 frames ahead of the engine's; the control side times
 * requests against Csound's clock (csound_ctl_now), so one aimed inside
 * that window is answered `late` rather than silently moved. */
#include "daemon/rt/csound_rt.h"

#include <string.h>

#include "daemon/csound/cs_engine.h"

static unsigned min_u(unsigned a, unsigned b) {
  return a < b ? a : b;
}

/* Whole k-cycles: nframes (a multiple of ksmps) from frame pos of the block. */
static void render_cycles(rt_csound *rc, const float *const *in, unsigned nin, unsigned pos,
                          unsigned nframes) {
  const float *ip[CSOUND_RT_MAX_CH];
  float *op[CSOUND_RT_MAX_CH];
  unsigned c;

  for (c = 0; c < nin; c++)
    ip[c] = in[c] != NULL ? in[c] + pos : NULL;
  for (c = 0; c < rc->nch; c++)
    op[c] = rc->scratch[c] + pos;
  cs_rt_process(rc->eng, ip, nin, op, rc->nch, nframes);
}

/* One k-cycle into `ahead`, of which the block has `rest` frames of input:
 * Csound hears silence for the frames past the block's end. */
static void render_ahead(rt_csound *rc, const float *const *in, unsigned nin, unsigned pos,
                         unsigned rest) {
  const unsigned k = rc->ksmps;
  unsigned c;

  for (c = 0; c < nin; c++) {
    if (in[c] != NULL)
      memcpy(rc->inpad[c], in[c] + pos, rest * sizeof(float));
    else
      memset(rc->inpad[c], 0, rest * sizeof(float));
    memset(rc->inpad[c] + rest, 0, (k - rest) * sizeof(float));
  }
  cs_rt_process(rc->eng, (const float *const *)rc->inpad, nin, rc->ahead, rc->nch, k);
  rc->nahead = k;
}

/* Moves up to n frames from the front of `ahead` to scratch at pos. */
static unsigned take_ahead(rt_csound *rc, unsigned pos, unsigned n) {
  unsigned c;

  n = min_u(n, rc->nahead);
  for (c = 0; c < rc->nch; c++) {
    memcpy(rc->scratch[c] + pos, rc->ahead[c], n * sizeof(float));
    memmove(rc->ahead[c], rc->ahead[c] + n, (rc->nahead - n) * sizeof(float));
  }
  rc->nahead -= n;
  return n;
}

bool csound_rt_process(rt_csound *rc, const float *const *in, unsigned nin, unsigned nframes) {
  unsigned pos, whole, rest;

  if (nframes == 0)
    return cs_has_news(rc->eng);
  if (in == NULL)
    nin = 0;
  nin = min_u(nin, rc->nin);
  if (nframes > rc->cap) {
    /* Larger than any period the backend can give (cap is JACK's
     * maximum): nothing to render into.  Counted and reported. */
    unsigned c;

    for (c = 0; c < rc->nch; c++)
      memset(rc->scratch[c], 0, rc->cap * sizeof(float));
    atomic_fetch_add_explicit(&rc->too_large, 1, memory_order_release);
    return true;
  }
  pos = take_ahead(rc, 0, nframes);
  whole = (nframes - pos) / rc->ksmps * rc->ksmps;
  if (whole > 0)
    render_cycles(rc, in, nin, pos, whole);
  pos += whole;
  rest = nframes - pos;
  if (rest > 0) {
    render_ahead(rc, in, nin, pos, rest);
    take_ahead(rc, pos, rest);
  }
  if (nframes % rc->ksmps != 0) {
    atomic_store_explicit(&rc->odd_size, nframes, memory_order_relaxed);
    atomic_fetch_add_explicit(&rc->odd_blocks, 1, memory_order_release);
  }
  return cs_has_news(rc->eng);
}
