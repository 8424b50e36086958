/* xport.h - the engine's transport (tempo, time signature, play/stop,
 * song position) and live MIDI from the backend, on the audio thread.
 *
 * The transport is kept as an anchor: song position `pos` at engine frame
 * `at`; while playing, the position at engine frame F is pos + (F - at).
 * Every change (RT_CMD_TRANSPORT at its frame, or JACK's transport when
 * following it) re-anchors, so nothing drifts and no per-block sum is kept.
 * Plugins see it through audioMasterGetTime (vst_rt_set_transport), set
 * at every block and again at the segment where a change lands.
 *
 * Live MIDI: the backend copies the cycle's MIDI input into a preallocated
 * array (rt_live_ev, with the frame offset inside the block); the routing
 * table (rt_midi_routes, built on the control side and swapped in by
 * pointer with RT_CMD_MIDI_ROUTES) says which plugin nodes get which
 * channels.  See ARCHITECTURE.md, "JACK". */
#ifndef SONOD_RT_XPORT_H
#define SONOD_RT_XPORT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/vst/vst.h"

/* rt_cmd.u.xport.mask bits: which fields a transport.set carries. */
enum {
  XPORT_TEMPO = 1 << 0,
  XPORT_SIG = 1 << 1,
  XPORT_PLAYING = 1 << 2,
  XPORT_FRAME = 1 << 3,
  XPORT_FOLLOW = 1 << 4,
};

typedef struct rt_xport {
  double tempo;          /* BPM */
  int32_t num, den;
  bool playing;
  bool follow;           /* take the backend's transport (ext) every block */
  bool changed;          /* jumped, started or stopped: flagged to plugins once */
  uint64_t pos;          /* song position in frames at engine frame `at` */
  uint64_t at;
} rt_xport;

/* A backend's transport for this cycle (JACK: jack_transport_query). */
typedef struct rt_xport_ext {
  bool valid;            /* the backend filled it this cycle */
  bool bbt;              /* tempo and signature are valid */
  bool playing;
  double tempo;
  int32_t num, den;
  uint64_t frame;
} rt_xport_ext;

/* Published by the audio thread for transport.get. */
typedef struct rt_xport_pub {
  _Atomic uint64_t pos;         /* song position at the last block's start */
  _Atomic uint64_t tempo_mbpm;  /* tempo in 1/1000 BPM */
  _Atomic uint32_t sig;         /* num << 16 | den */
  _Atomic uint32_t playing;
  _Atomic uint32_t follow;
} rt_xport_pub;

/* One MIDI event of the current cycle, offset frames into the block. */
#define RT_LIVE_MIDI_MAX 1024
typedef struct rt_live_ev {
  uint32_t offset;
  uint8_t len;           /* 1-3 */
  uint8_t data[3];
} rt_live_ev;

/* Where live MIDI goes: a plugin node.  channel -1: all.  (Csound's routes
 * are voice pools in the Csound module: csound_rt_midi.) */
typedef struct rt_midi_route {
  uint32_t node;
  int32_t channel;
} rt_midi_route;

typedef struct rt_midi_routes {
  unsigned n;
  rt_midi_route r[];
} rt_midi_routes;

void xport_init(rt_xport *x);

/* Audio thread. */
/* Song position at engine frame f. */
uint64_t xport_pos(const rt_xport *x, uint64_t f);
/* A transport.set lands at engine frame f. */
void xport_apply(rt_xport *x, uint32_t mask, double tempo, int32_t num, int32_t den,
                 bool playing, uint64_t frame, bool follow, uint64_t f);
/* Following: take the backend's transport at the block starting at f. */
void xport_follow(rt_xport *x, const rt_xport_ext *ext, uint64_t f);
/* What plugins see at engine frame f; clears `changed`. */
void xport_vst(rt_xport *x, uint64_t f, unsigned sample_rate, vst_transport *t);
/* t (what plugins saw at frame t->frame) moved on to frame f >= t->frame:
 * the song position advances while playing, everything else is kept.  A
 * block split at command frames gives each segment's process call its own
 * time (nodes.c process_one). */
void xport_vst_at(const vst_transport *t, uint64_t f, unsigned sample_rate, vst_transport *o);
void xport_publish(const rt_xport *x, rt_xport_pub *p, uint64_t f);

#endif
