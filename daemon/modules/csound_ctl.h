/* csound_ctl.h - the control side of the live Csound engine: creating it at
 * start-up, draining its notices and messages into events and the log,
 * converting protocol times into its frames, and destroying it once the
 * audio thread has stopped.  Control thread only. */
#ifndef SONOD_CSOUND_CTL_H
#define SONOD_CSOUND_CTL_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/csound/cs_engine.h"
#include "daemon/base/sonod.h"

/* Creates the engine with the backend's rate and the daemon's channels and
 * ksmps, and hands it to the audio thread (before the backend starts).
 * Fails when ksmps does not divide the block size of a null or offline
 * backend; with JACK it only warns. */
int csound_ctl_start(sonod *d, char *err, size_t errlen);
/* The engine, or NULL before start / after shutdown. */
cs_engine *csound_ctl_engine(void);
/* Drains notices (synth.started / synth.ended events) and Csound's message
 * lines (log and csound.message events); reports blocks that are not a
 * multiple of ksmps.
 * On every wake-up of the control thread and after every Csound op. */
void csound_ctl_poll(sonod *d);
/* Csound's clock in engine frames: the first frame it has not rendered.
 * The engine's, or up to ksmps-1 frames ahead of it after a block that is
 * not a multiple of ksmps (rt/csound_rt.c); where an offline render stopped
 * when Csound has not rendered that far yet (engine.h, `stand`). */
uint64_t csound_ctl_now(sonod *d);

/* A Csound compile runs on a worker (ops_csound.c): the engine is not
 * destroyed until every one begun has ended (the shutdown waits).  begin on
 * the control thread before queueing, end on the worker when run returned. */
void csound_ctl_work_begin(void);
void csound_ctl_work_end(void);

/* Its hooks into the engine (engine/module.h); main registers it. */
extern const struct engine_module csound_ctl_module;

#endif
