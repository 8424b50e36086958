/* csound_rt.c - AUDIO THREAD.  The live Csound engine's block: render into
 * preallocated scratch buffers, add into the engine's outputs.  Nothing here
 * allocates, frees, locks, waits, logs or does I/O; cs_rt_process brackets
 * its own calls into Csound (see daemon/csound/README.md). */
#include "daemon/rt/csound_rt.h"

#include "daemon/csound/cs_engine.h"

bool csound_rt_process(rt_csound *rc, float *const *out, unsigned nchannels, unsigned nframes) {
  unsigned done = 0, ch, i;

  if (nframes == 0)
    return cs_has_news(rc->eng);
  if (nframes % rc->ksmps != 0) {
    /* No adapter: Csound sits this block out, and its clock falls behind
     * the engine's by the block.  The control side reports it. */
    atomic_fetch_add_explicit(&rc->lag, nframes, memory_order_release);
    atomic_store_explicit(&rc->bad_size, nframes, memory_order_relaxed);
    atomic_fetch_add_explicit(&rc->bad_blocks, 1, memory_order_release);
    return true;
  }
  while (done < nframes) {
    unsigned n = nframes - done < rc->cap ? nframes - done : rc->cap;
    float *bufs[64];
    unsigned nb = nchannels < rc->nch ? nchannels : rc->nch;

    if (nb > 64)
      nb = 64;
    for (ch = 0; ch < nb; ch++)
      bufs[ch] = rc->scratch[ch];
    cs_rt_process(rc->eng, NULL, 0, bufs, nb, n);
    for (ch = 0; ch < nb; ch++) {
      float *o = out[ch] + done;
      const float *s = rc->scratch[ch];
      for (i = 0; i < n; i++)
        o[i] += s[i];
    }
    done += n;
  }
  return cs_has_news(rc->eng);
}
