/* tone.h - the built-in test sine.  Audio-thread state and code. */
#ifndef SONOD_RT_TONE_H
#define SONOD_RT_TONE_H

#include <stdbool.h>
#include <stdint.h>

typedef struct tone_state {
  bool on;
  double amp;
  double step;       /* radians per frame */
  int channel;       /* -1 = all */
  uint64_t n;        /* frames since it started */
} tone_state;

void tone_start(tone_state *t, double freq, double amp, int channel, unsigned sample_rate);
void tone_stop(tone_state *t);
/* Adds frames [from, to) of the tone into the output buffers. */
void tone_render(tone_state *t, float *const *out, unsigned nchannels,
                 unsigned from, unsigned to);

#endif
