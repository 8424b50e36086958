/* vst_events_rt.h - internal audio-thread event delivery, used by
 * vst_process_rt.c.  AUDIO-THREAD CODE. */
#ifndef SONOD_VST_EVENTS_RT_H
#define SONOD_VST_EVENTS_RT_H

#include "daemon/vst/vst_instance.h"

/* Sort the queued events and pass them with effProcessEvents.  They stay
 * valid until vst_rt_events_done, which must follow the process call. */
void vst_rt_events_send(vst_instance *inst, unsigned nframes);

/* Empty the queue; hand delivered sysex back for the control side. */
void vst_rt_events_done(vst_instance *inst);

#endif
