/* capture_ctl.h - streaming nodes' audio to clients on the control side
 * (the ops capture.start / capture.stop are ops/ops_capture.c): the rings
 * the audio thread fills (rt/capture.h), draining them into `capture`
 * events, back-pressure and drop counts.  Control thread only.  See
 * ARCHITECTURE.md, "Capture", and PROTOCOL.md, "capture.start". */
#ifndef SONOD_CAPTURE_CTL_H
#define SONOD_CAPTURE_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/base/sonod.h"
#include "daemon/net/request.h"

/* Captures one client may hold at once; all clients together hold at most
 * CAPTURE_MAX (rt/capture.h). */
#define CAPTURE_PER_CLIENT 4
/* capture.start's `frames`: the frames per event. */
#define CAPTURE_BLOCK_DEFAULT 1024u
#define CAPTURE_BLOCK_MIN 16u
#define CAPTURE_BLOCK_MAX 65536u
/* The ring holds this much audio (at least 4 blocks and two periods). */
#define CAPTURE_RING_MS 500u

/* capture.start for request r: node `gid` (its label for events), its
 * outputs or (inputs) its gathered inputs, `channels` of them, `block`
 * frames per event.  Replies itself, now on a refusal or once the audio
 * thread took it: {capture, frame, channels, frames}. */
void capture_ctl_start(request *r, uint32_t gid, const char *label, bool inputs,
                       unsigned channels, unsigned block);
/* capture.stop {capture: id} for request r: replies once the audio thread let go of
 * it and its last events are out: {frame, frames, dropped}. */
void capture_ctl_stop(request *r, uint64_t id);

/* Its hooks into the engine (engine/module.h); main registers it. */
extern const struct engine_module capture_ctl_module;

#endif
