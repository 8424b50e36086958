/* record_ctl.h - recording the live output on the control side:
 * record.start / record.stop, draining the audio thread's recording ring
 * (rt/rec.h) into the file with libsndfile, and reporting overflows.
 * Control thread only.  See ARCHITECTURE.md, "Recording". */
#ifndef SONOD_RECORD_CTL_H
#define SONOD_RECORD_CTL_H

#include "daemon/net/request.h"
#include "daemon/base/sonod.h"

/* Drains the ring into the file and reports new overflows.  Called on
 * every wake-up and by a 20 ms timer while recording. */
void record_ctl_poll(sonod *d);

/* Messages about RT_CMD_RECORD_START / RT_CMD_RECORD_STOP. */
bool record_ctl_handles(const rt_msg *m);
void record_ctl_msg(sonod *d, client *c, const rt_msg *m);

/* After the audio thread stopped for good: finishes the file of a
 * recording in progress. */
void record_ctl_shutdown(sonod *d);

void op_record_start(request *r);
void op_record_stop(request *r);

#endif
