/* tone.c - AUDIO THREAD.  The test sine: computed from its frame count each
 * sample, so its value at any frame is exactly predictable by a test. */
#include "daemon/rt/tone.h"

#include <math.h>

void tone_start(tone_state *t, double freq, double amp, int channel, unsigned sample_rate) {
  t->on = true;
  t->amp = amp;
  t->step = 2.0 * M_PI * freq / (double)sample_rate;
  t->channel = channel;
  t->n = 0;
}

void tone_stop(tone_state *t) {
  t->on = false;
}

void tone_render(tone_state *t, float *const *out, unsigned nchannels,
                 unsigned from, unsigned to) {
  unsigned i, ch;

  if (!t->on)
    return;
  for (i = from; i < to; i++) {
    float v = (float)(t->amp * sin(t->step * (double)t->n));
    t->n++;
    if (t->channel >= 0) {
      if ((unsigned)t->channel < nchannels)
        out[t->channel][i] += v;
      continue;
    }
    for (ch = 0; ch < nchannels; ch++)
      out[ch][i] += v;
  }
}
