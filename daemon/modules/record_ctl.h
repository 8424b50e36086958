/* record_ctl.h - recording the live output on the control side:
 * record.start / record.stop, draining the audio thread's recording ring
 * (rt/rec.h) into the file with libsndfile, and reporting overflows.
 * Control thread only.  See ARCHITECTURE.md, "Recording". */
#ifndef SONOD_RECORD_CTL_H
#define SONOD_RECORD_CTL_H

#include "daemon/net/request.h"
#include "daemon/base/sonod.h"

void op_record_start(request *r);
void op_record_stop(request *r);

/* Its hooks into the engine (engine/module.h); main registers it. */
extern const struct engine_module record_ctl_module;

#endif
