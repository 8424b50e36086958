/* csound_rt.c - AUDIO THREAD.  The live Csound engine's block: render into
 * preallocated scratch buffers, which are the graph's `csound` node outputs.  Nothing here
 * allocates, frees, locks, waits, logs or does I/O; cs_rt_process brackets
 * its own calls into Csound (see daemon/csound/README.md). */
#include "daemon/rt/csound_rt.h"

#include <string.h>

#include "daemon/csound/cs_engine.h"

static void silence(rt_csound *rc, unsigned nframes) {
  unsigned ch;

  for (ch = 0; ch < rc->nch; ch++)
    memset(rc->scratch[ch], 0, (nframes < rc->cap ? nframes : rc->cap) * sizeof(float));
}

bool csound_rt_process(rt_csound *rc, const float *const *in, unsigned nin, unsigned nframes) {
  if (nframes == 0)
    return cs_has_news(rc->eng);
  if (nframes % rc->ksmps != 0 || nframes > rc->cap) {
    /* No adapter: Csound sits this block out, and its clock falls behind
     * the engine's by the block.  The control side reports it. */
    silence(rc, nframes);
    atomic_fetch_add_explicit(&rc->lag, nframes, memory_order_release);
    atomic_store_explicit(&rc->bad_size, nframes, memory_order_relaxed);
    atomic_fetch_add_explicit(&rc->bad_blocks, 1, memory_order_release);
    return true;
  }
  cs_rt_process(rc->eng, in, in != NULL ? nin : 0, rc->scratch, rc->nch, nframes);
  return cs_has_news(rc->eng);
}
