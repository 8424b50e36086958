/* record_ctl.h - recording the live output on the control side: opening
 * the file and the ring for record.start (the ops are ops/ops_record.c),
 * draining the audio thread's recording ring
 * (rt/rec.h) into the file with libsndfile, and reporting overflows.
 * Control thread only.  See ARCHITECTURE.md, "Recording". */
#ifndef SONOD_RECORD_CTL_H
#define SONOD_RECORD_CTL_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/base/sonod.h"
#include "daemon/rt/rec.h"

#define RECORD_PATH_MAX 4096

typedef enum {
  RECORD_IDLE,
  RECORD_STARTING,   /* RT_CMD_RECORD_START sent, not yet acknowledged */
  RECORD_RUNNING,
  RECORD_STOPPING,   /* RT_CMD_RECORD_STOP sent */
} record_state;

/* The recording's state; unless idle, *path and *client_id (either may be
 * NULL) say what it writes and who started it. */
record_state record_ctl_state(const char **path, uint32_t *client_id);

/* Opens path (absolute, shorter than RECORD_PATH_MAX) for writing with
 * libsndfile's format at the engine's rate, and the ring the audio thread
 * fills, for client_id: the recording is then starting, and the ring is
 * to go to the audio thread in RT_CMD_RECORD_START (whose acknowledgement
 * is record.start's reply).  NULL with *code (SONO_E_*) and err set when
 * the file cannot be written or memory is short.  Only when idle. */
rt_rec *record_ctl_open(sonod *d, const char *path, int format, unsigned channels,
                        uint32_t client_id, const char **code, char *err, size_t errlen);
/* The start command could not be sent: the file is removed, idle again. */
void record_ctl_abandon(void);
/* Sends the stop command for record.stop's request (its reply follows the
 * acknowledgement): 0, the recording stopping; -1 when the queue to the
 * audio thread is full.  Only when starting or running. */
int record_ctl_stop(sonod *d, uint32_t client_id, uint64_t req_id);

/* Its hooks into the engine (engine/module.h); main registers it. */
extern const struct engine_module record_ctl_module;

#endif
