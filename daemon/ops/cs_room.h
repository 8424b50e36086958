/* cs_room.h - Csound requests wait for room in the queue to the audio
 * thread rather than being refused (see cs_room.c).  Control thread.
 * Private to daemon/ops. */
#ifndef SONOD_CS_ROOM_H
#define SONOD_CS_ROOM_H

#include <stdbool.h>

#include "daemon/csound/cs_engine.h"
#include "daemon/net/request.h"

/* How many commands request r may queue (0 for a request refused before
 * it queues any). */
unsigned cs_room_need(const request *r);

/* true: run r now.  false: r was kept and its client held; r runs again,
 * in order, once the queue has room for it (or the audio thread stood
 * still for a second: then it runs and is refused queue_full). */
bool cs_room_admit(request *r, cs_engine *eng);

/* Closes the timer (at shutdown, before the loop's last run). */
void cs_room_shutdown(void);

#endif
