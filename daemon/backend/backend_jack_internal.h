/* backend_jack_internal.h - the JACK backend's state and the functions its
 * files share; private to backend_jack*.c.  The backend's code is split by
 * the thread it runs on:
 *   backend_jack_process.c  JACK's process thread (AUDIO THREAD): one cycle
 *   backend_jack_notify.c   JACK's notification thread: xruns, period and
 *                           rate changes, freewheel, the server's shutdown
 *   backend_jack.c          the control thread: create, start, stop, poll
 *                           (what the callbacks reported), losing the
 *                           server and reconnecting
 * The fields say which thread writes them; the atomics and the re-prepare
 * handshake (rp_*) are how the threads talk. */
#ifndef SONOD_BACKEND_JACK_INTERNAL_H
#define SONOD_BACKEND_JACK_INTERNAL_H

#include <jack/jack.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/backend/backend.h"
#include "daemon/backend/null_clock.h"

typedef struct jack_backend {
  backend base;
  jack_client_t *client;
  jack_port_t *ports[64];
  float *bufs[64];            /* audio thread: this cycle's port buffers */
  unsigned channels;
  jack_port_t *in_ports[64];
  const float *in_bufs[64];   /* audio thread: this cycle's input buffers */
  unsigned inputs;
  jack_port_t *midi_in, *midi_out;
  rt_live_ev live[RT_LIVE_MIDI_MAX];  /* audio thread: this cycle's MIDI input */
  _Atomic bool gone;          /* set by JACK's shutdown callback */
  _Atomic int gone_tid;       /* the thread that called it (0: none yet) */
  /* The server died: JACK's threads must stay out of the engine from now
   * on (set by go_lost, cleared before a new client is activated), and
   * in_cycle says whether the process thread is inside it. */
  _Atomic bool shut_out;
  _Atomic bool in_cycle;
  _Atomic bool closed;        /* the lost client's jack_client_close returned */
  bool close_reported;        /* control thread: "still closing" said once */
  jack_client_t *client_closing;  /* the lost client, for the closing thread */
  uint64_t lost_ns;           /* when the server was lost */
  _Atomic uint32_t new_block; /* set by the buffer-size callback; 0 = none */
  _Atomic uint32_t new_rate;  /* set by the sample-rate callback; 0 = none */
  _Atomic uint64_t midi_dropped;  /* audio thread: events over RT_LIVE_MIDI_MAX or sysex */
  bool fw_seen;               /* control thread: freewheel state last reported */
  bool lost;                  /* control thread: running on the fallback clock */
  /* The re-prepare handshake (see jb_on_buffer_size in
   * backend_jack_notify.c): JACK's notification thread asks, the control
   * thread answers (serve_reprepare); neither is realtime. */
  pthread_mutex_t rp_lock;
  pthread_cond_t rp_cond;
  unsigned rp_asked, rp_done; /* generations */
  unsigned rp_block;          /* the period of the latest request */
  bool rp_waiting;            /* the callback is still waiting */
  /* Control thread: the re-prepare being served (its calls run off the
   * control thread; reprepared in backend_jack.c ends it), and what the
   * ones since the period was last reported did. */
  bool rp_running;
  unsigned rp_serving;        /* its generation */
  unsigned rp_prepared, rp_failed;
  bool rp_late;               /* one ended after the callback stopped waiting */
  pthread_t ctl_thread;
  null_clock fallback;
  uint64_t last_attempt_ns;
} jack_backend;

/* jack_client_close stops JACK's threads with pthread_cancel, and jack2
 * makes them asynchronously cancellable.  When the server dies, the lost
 * client is closed while those threads may still be inside our callbacks;
 * cancelled half-way through engine_process (a command popped but not
 * answered) or uv_async_send (its pending flag left set, so the control
 * thread is never woken again and sync hangs for good), the daemon breaks.
 * So our callbacks run with cancellation disabled; a pending cancel then
 * takes effect when they re-enable it on the way out.  Both calls only
 * flip bits in the thread descriptor: no system call, nothing that waits. */
static inline int cancel_off(void) {
  int old;

  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
  return old;
}

static inline void cancel_restore(int old) {
  pthread_setcancelstate(old, NULL);
}

/* backend_jack_process.c: JACK's process callback (AUDIO THREAD). */
int jb_on_process(jack_nframes_t nframes, void *arg);

/* backend_jack_notify.c: JACK's notification callbacks. */
int jb_on_xrun(void *arg);
int jb_on_buffer_size(jack_nframes_t nframes, void *arg);
int jb_on_sample_rate(jack_nframes_t rate, void *arg);
void jb_on_freewheel(int starting, void *arg);
void jb_on_shutdown(jack_status_t code, const char *reason, void *arg);

#endif
