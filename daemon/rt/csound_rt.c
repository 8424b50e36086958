/* csound_rt.c - AUDIO THREAD.  The live Csound engine's block: render into
 * preallocated scratch buffers, which are the graph's `csound` node outputs
 * (and into the tapped audio buses' buffers, the graph's `bus` nodes).  Nothing here
 * allocates, frees, locks, waits, logs or does I/O; cs_rt_process brackets
 * its own calls into Csound (see daemon/csound/README.md).  Blocks of any
 * size are fine: the module has a FIFO for those that are not a multiple
 * of ksmps; they are counted here for the control side to report. */
#include "daemon/rt/csound_rt.h"

#include <string.h>

#include "daemon/csound/cs_engine.h"
#include "daemon/rt/xport.h"

bool csound_rt_process(rt_csound *rc, const float *const *in, unsigned nin, unsigned nframes) {
  if (nframes == 0)
    return cs_has_news(rc->eng);
  if (nframes > rc->cap) {
    /* Larger than any period the backend can give (cap is JACK's
     * maximum): nothing to render into.  Counted and reported. */
    unsigned c;

    for (c = 0; c < rc->nch; c++)
      memset(rc->scratch[c], 0, rc->cap * sizeof(float));
    cs_rt_taps_silence(rc->eng, rc->cap);
    atomic_fetch_add_explicit(&rc->too_large, 1, memory_order_release);
    return true;
  }
  if (nframes % rc->ksmps != 0) {
    atomic_store_explicit(&rc->odd_size, nframes, memory_order_relaxed);
    atomic_fetch_add_explicit(&rc->odd_blocks, 1, memory_order_release);
  }
  cs_rt_process(rc->eng, in, in != NULL ? nin : 0, rc->scratch, rc->nch, nframes);
  return cs_has_news(rc->eng);
}

void csound_rt_midi(rt_csound *rc, const rt_live_ev *ev, unsigned n) {
  unsigned i;

  /* Offsets into the engine's block; cs_rt_midi places them on Csound's
   * clock (which runs ahead by the FIFO's frames in odd-sized blocks). */
  for (i = 0; i < n; i++)
    cs_rt_midi(rc->eng, ev[i].data, ev[i].len, ev[i].offset);
}
