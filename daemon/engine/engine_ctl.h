/* engine_ctl.h - the control thread's side of the engine: setting it up,
 * sending it commands, and handling what it sends back. */
#ifndef SONOD_ENGINE_CTL_H
#define SONOD_ENGINE_CTL_H

#include "daemon/backend/backend.h"
#include "daemon/base/sonod.h"
#include "daemon/net/request.h"

/* Sends cmd on behalf of request r; the reply follows when the audio thread
 * acknowledges it.  On failure replies queue_full itself and returns -1. */
int engine_ctl_send(request *r, rt_cmd *cmd);

/* Sends cmd as is (no client reply bound to it; set client/req_id first if
 * wanted).  Returns -1 when the queue is full; nothing is sent then. */
int engine_ctl_push(sonod *d, rt_cmd *cmd);

/* Where the engine's clock stands for a request for "now": the end of the
 * last block, or where an offline render ended (engine.h, `stand`). */
uint64_t engine_ctl_now(const sonod *d);

/* Handles every message waiting in from_rt: replies, events, garbage. */
void engine_ctl_drain(sonod *d);

/* After the audio thread has stopped for good: answers every command it
 * never read with shutting_down, lets the modules release what the queued
 * ones carry, and shuts the modules down in registration order. */
void engine_ctl_abandon(sonod *d);

/* What the backend calls when it has news for the modules (backend.h);
 * main hands it to backend_create. */
const backend_hooks *engine_ctl_backend_hooks(void);

#endif
