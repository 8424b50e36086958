/* rec.c - AUDIO THREAD.  Copies the final output into the recording ring
 * (rt/rec.h).  Only copies, index arithmetic and atomics: no allocation,
 * lock, wait or I/O. */
#include "daemon/rt/rec.h"

void rec_rt_write(rt_rec *r, float *const *out, unsigned nchannels, unsigned from, unsigned to) {
  uint64_t n = to - from, head, i;
  unsigned ch;

  if (n == 0)
    return;
  /* A pending gap goes first, or the block joins it. */
  if (rec_space(r) < n || (r->gap > 0 && spsc_space(r->gaps) == 0)) {
    r->gap += n;
    atomic_fetch_add_explicit(&r->dropped, n, memory_order_relaxed);
    return;
  }
  head = spsc_write_pos(r->frames);
  if (r->gap > 0) {
    rec_gap g = { head, r->gap };

    (void)spsc_push(r->gaps, &g);
    r->gap = 0;
  }
  for (i = 0; i < n; i++) {
    float *dst = spsc_slot(r->frames, head + i);

    for (ch = 0; ch < r->channels; ch++)
      dst[ch] = ch < nchannels ? out[ch][from + i] : 0.0f;
  }
  spsc_publish(r->frames, n);
}
