/* xrun_report.h - JACK's xrun count to subscribers as coalesced `xrun`
 * events: the first at once, then at most one per window, and whatever
 * came during a window is sent when it ends even if nothing follows. */
#ifndef SONOD_XRUN_REPORT_H
#define SONOD_XRUN_REPORT_H

#include "daemon/base/sonod.h"

#define XRUN_EVENT_NS 100000000ull   /* the window: at most 10 events a second */

void xrun_report_init(sonod *d);
/* Control thread: sends an event if the count grew and the window allows,
 * else makes sure one is sent when the window ends. */
void xrun_report_poll(sonod *d);
void xrun_report_close(sonod *d);

#endif
