/* rec.h - recording the live output: the audio thread copies the final
 * output of every block (what goes to the backend) into a preallocated
 * lock-free ring of interleaved frames; the control side (record_ctl.c)
 * drains it and writes the file with libsndfile.
 *
 * The ring is the SPSC ring (queue/spsc.h) with one interleaved frame per
 * record, written and read in place in runs of frames.  It is allocated by record.start on the control side, handed to the audio
 * thread by pointer (RT_CMD_RECORD_START) and comes back as the garbage of
 * record.stop's acknowledgement.
 *
 * Overflow (the control thread or the disk too slow): the block that does
 * not fit is not written, its length is added to `dropped` (an atomic the
 * control side reports) and to the pending gap.  Before the next block that
 * fits, the audio thread pushes a gap record {at, frames} into `gaps`: the
 * control side writes that many frames of silence at that place in the
 * stream, so the file's timeline stays exact (frame i of the file is
 * engine frame start + i).  See ARCHITECTURE.md, "Recording". */
#ifndef SONOD_RT_REC_H
#define SONOD_RT_REC_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/queue/spsc.h"

/* A run of frames missing from the stream, just before frame index `at`
 * of the frame ring (its free-running write/read positions). */
typedef struct rec_gap {
  uint64_t at;
  uint64_t frames;
} rec_gap;

#define REC_GAPS_CAPACITY 256
#define REC_RUNNING UINT64_MAX

typedef struct rt_rec {
  _Alignas(64) _Atomic uint64_t dropped; /* frames lost to overflow (audio thread adds) */
  unsigned channels;         /* recorded channels: the first `channels` outputs */
  spsc_ring *frames;         /* records of `channels` floats, audio -> control */
  spsc_ring *gaps;           /* rec_gap, audio -> control */

  /* Audio thread (the control side reads them once the ring came back). */
  uint64_t start;            /* engine frame of the file's first frame */
  uint64_t stop;             /* engine frame where it stops; REC_RUNNING */
  uint64_t gap;              /* frames missing, not yet announced in gaps */
  uint32_t stop_client;      /* who asked record.stop: its ack waits for the block's end */
  uint64_t stop_req;
} rt_rec;

/* Audio thread: appends frames [from, to) of out's first r->channels
 * buffers.  Never waits: a block that does not fit is counted and becomes
 * silence in the file. */
void rec_rt_write(rt_rec *r, float *const *out, unsigned nchannels, unsigned from, unsigned to);

/* Any thread: frames the producer can still write. */
static inline uint64_t rec_space(rt_rec *r) {
  return spsc_space(r->frames);
}

#endif
