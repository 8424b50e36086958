/* backend.h - the audio drivers.  A backend owns the thread that calls
 * engine_process; the rest of the daemon only starts, stops and polls it. */
#ifndef SONOD_BACKEND_H
#define SONOD_BACKEND_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/base/sonod.h"

struct render_io;

typedef struct backend_ops {
  const char *name;
  /* Begins calling engine_process.  Control thread. */
  int (*start)(backend *b, char *err, size_t errlen);
  /* Returns once engine_process will not be called again. */
  void (*stop)(backend *b);
  /* Control thread, on every wake-up and tick: react to what the driver
   * thread reported (JACK gone or back, a render finished). */
  void (*poll)(backend *b);
  void (*destroy)(backend *b);
  /* Offline only (NULL elsewhere): render `frames` more frames (none
   * rendered for 0; RENDER_TO_LENGTH: up to the configured length), then
   * answer request req_id of client.  io (NULL: none) asks for the audio
   * back in the reply and feeds the capture ports; the backend takes
   * io->input, also when it refuses. */
  int (*render)(backend *b, uint32_t client, uint64_t req_id, uint64_t frames,
                struct render_io *io, char *err, size_t errlen);
  /* Optional: a command was just sent to the audio thread.  The offline
   * driver, which runs no cycles while idle, uses it to take the command. */
  void (*kick)(backend *b);
  /* JACK only (NULL elsewhere): ask the server for freewheel mode on or
   * off.  The switch itself is reported later (events, status). */
  int (*freewheel)(backend *b, bool on, char *err, size_t errlen);
  /* JACK only: port latency in frames (jack_port_get_latency_range, max),
   * of the capture (in_1) and playback (out_1) side. */
  void (*latency)(backend *b, unsigned *capture, unsigned *playback);
  /* Optional: the SCHED_FIFO priority of the thread that calls
   * engine_process, 0 when it has none (plugin hosts take the same). */
  int (*rt_priority)(backend *b);
  /* Offline only (NULL elsewhere): keep the driver thread from calling
   * engine_process until release.  hold returns false, holding nothing,
   * when a render runs; else the engine is idle and stays so, and the
   * holder may do on its own thread what a cycle would (Csound merges a
   * compile).  Renders and kicks meanwhile wait.  release: any thread. */
  bool (*hold)(backend *b);
  void (*release)(backend *b);
} backend_ops;

/* The end of a re-prepare (backend_hooks.reprepare): how many were
 * prepared again, how many could not be (failed, or past their call's
 * deadline).  Control thread. */
typedef void (*reprepare_done_fn)(sonod *d, void *arg, unsigned prepared, unsigned failed);

/* What a backend tells the layers above it, through pointers the engine
 * hands in (engine_ctl_backend_hooks): the backend knows no module.
 * Control thread. */
typedef struct backend_hooks {
  /* The period grew to `block` frames: prepare again what was prepared
   * for a shorter one (plugins).  The calls run off the control thread,
   * each with its deadline; this returns at once, and done(d, arg, ...)
   * runs once every call has ended or missed its deadline (possibly before
   * this returns, when there is nothing to do).  One at a time: the
   * backend asks again only after done.  in_time(ctx) says whether the
   * driver still waits (for the messages only). */
  void (*reprepare)(sonod *d, unsigned block, bool (*in_time)(void *), void *ctx,
                    reprepare_done_fn done, void *arg);
  /* The server's freewheel mode switched. */
  void (*freewheel)(sonod *d, bool on);
  /* Take what the audio thread published so far (meter snapshots, notes):
   * the offline driver calls it before a render's reply, so that every
   * event of the render goes out before it, even when the render ended
   * between the wake-up's drain and its poll. */
  void (*drain)(sonod *d);
} backend_hooks;

/* What a render exchanges with its client besides the file (the render
 * op's `return` and `input`). */
typedef struct render_io {
  bool ret;          /* the reply carries the rendered audio */
  float *input;      /* ninput channels of nframes floats, one after the
                      * other (malloc'd; the backend frees it), or NULL */
  unsigned ninput;
  uint64_t nframes;
} render_io;

/* render's failures.  RENDER_TOO_LARGE: the audio would not fit a reply
 * frame (err names the most frames that do). */
enum { RENDER_BUSY = -1, RENDER_NO_LENGTH = -2, RENDER_TOO_LARGE = -3 };
#define RENDER_TO_LENGTH UINT64_MAX

struct backend {
  const backend_ops *ops;
  sonod *d;
  const backend_hooks *hooks;
  const char *state;          /* "running", "lost", "stopped" */
  unsigned sample_rate;
  unsigned block_size;
  _Atomic uint64_t xruns;
  /* JACK: plugin MIDI events midi_out had no room for (audio thread adds). */
  _Atomic uint64_t midi_out_dropped;
  _Atomic bool freewheeling;  /* JACK: the server runs freewheel */
};

/* Chooses and creates the backend the options ask for.  With auto, JACK is
 * tried without starting a server, then null. */
backend *backend_create(sonod *d, const backend_hooks *hooks, char *err, size_t errlen);

/* A `backend` event to subscribers, with the backend's name and state. */
void backend_event(sonod *d, const char *state, const char *message);

backend *backend_null_create(sonod *d);
backend *backend_offline_create(sonod *d, char *err, size_t errlen);
/* Returns NULL with err set when no JACK server answers. */
backend *backend_jack_create(sonod *d, char *err, size_t errlen);

#endif
