/* csound_rt.h - the live Csound engine as the engine's last stage.
 *
 * The control side (daemon/csound_ctl.c) creates the cs_engine and this
 * record before audio starts; the audio thread then calls csound_rt_process
 * once per block, before the graph renders: its scratch buffers are the
 * outputs of the graph's `csound` node (rt/graph.h).  Csound commands do not travel through
 * the engine's to_rt ring: they go through the module's own ring with
 * absolute frames (daemon/csound/README.md). */
#ifndef SONOD_RT_CSOUND_RT_H
#define SONOD_RT_CSOUND_RT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct cs_engine;
struct rt_live_ev;

typedef struct rt_csound {
  struct cs_engine *eng;
  unsigned ksmps;
  unsigned nch;                 /* scratch buffers */
  unsigned cap;                 /* frames per scratch buffer */
  float **scratch;
  /* Published by the audio thread. */
  _Atomic uint64_t odd_blocks;  /* blocks not a multiple of ksmps */
  _Atomic uint32_t odd_size;    /* the size of the last such block */
  _Atomic uint64_t too_large;   /* blocks larger than cap: silent */
} rt_csound;

/* Audio thread.  Renders nframes of Csound into scratch (the graph's
 * `csound` node outputs), any nframes up to cap.
 * Returns true when the control thread has notices or messages to drain. */
/* in: the backend's nin input buffers (Csound's spin/inch), or NULL. */
bool csound_rt_process(rt_csound *rc, const float *const *in, unsigned nin, unsigned nframes);

/* The block's live MIDI (n events, by offset) for Csound's voice pools
 * (the MIDI routes to instruments), before csound_rt_process renders the
 * block: note-ons and -offs start and stop synths at their offsets. */
void csound_rt_midi(rt_csound *rc, const struct rt_live_ev *ev, unsigned n);

#endif
