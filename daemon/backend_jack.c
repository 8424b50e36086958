/* backend_jack.c - the production driver: a JACK client.
 *
 * JACK's process thread runs the engine.  When the server goes away the
 * engine moves to the internal clock (so timed requests still fire and
 * sync still answers), clients are told, and the control thread tries to
 * reconnect every second; on success the engine moves back. */
#include <jack/jack.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/backend.h"
#include "daemon/events.h"
#include "daemon/log.h"
#include "daemon/null_clock.h"

#define RECONNECT_NS 1000000000ull

typedef struct jack_backend {
  backend base;
  jack_client_t *client;
  jack_port_t *ports[64];
  float *bufs[64];            /* audio thread: this cycle's port buffers */
  unsigned channels;
  _Atomic bool gone;          /* set by JACK's shutdown callback */
  bool lost;                  /* control thread: running on the fallback clock */
  null_clock fallback;
  uint64_t last_attempt_ns;
} jack_backend;

/* jack_client_close stops JACK's threads with pthread_cancel, and jack2
 * makes them asynchronously cancellable.  When the server dies, go_lost
 * closes the client while those threads may still be inside our callbacks;
 * cancelled half-way through engine_process (a command popped but not
 * answered) or uv_async_send (its pending flag left set, so the control
 * thread is never woken again and sync hangs for good), the daemon breaks.
 * So our callbacks run with cancellation disabled; a pending cancel then
 * takes effect when they re-enable it on the way out.  Both calls only
 * flip bits in the thread descriptor: no system call, nothing that waits. */
static int cancel_off(void) {
  int old;

  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
  return old;
}

static void cancel_restore(int old) {
  pthread_setcancelstate(old, NULL);
}

/* AUDIO THREAD (JACK's process thread). */
static int on_process(jack_nframes_t nframes, void *arg) {
  jack_backend *jb = arg;
  int cs = cancel_off();
  unsigned ch;

  for (ch = 0; ch < jb->channels; ch++)
    jb->bufs[ch] = jack_port_get_buffer(jb->ports[ch], nframes);
  engine_process(&jb->base.d->eng, jb->bufs, jb->channels, nframes);
  cancel_restore(cs);
  return 0;
}

static int on_xrun(void *arg) {
  jack_backend *jb = arg;

  atomic_fetch_add(&jb->base.xruns, 1);
  return 0;
}

static int on_buffer_size(jack_nframes_t nframes, void *arg) {
  jack_backend *jb = arg;

  jb->base.block_size = nframes;
  return 0;
}

static void on_shutdown(jack_status_t code, const char *reason, void *arg) {
  jack_backend *jb = arg;
  int cs = cancel_off();

  (void)code;
  (void)reason;
  atomic_store(&jb->gone, true);
  jb->base.d->eng.wake(jb->base.d->eng.wake_ctx);
  cancel_restore(cs);
}

static void silence_jack_errors(const char *msg) {
  log_debug("jack: %s", msg);
}

/* Opens the client and registers ports; does not activate. */
static int jack_open(jack_backend *jb, char *err, size_t errlen) {
  sonod *d = jb->base.d;
  jack_status_t status;
  jack_options_t flags = JackNoStartServer;
  unsigned ch;

  if (d->opt.jack_server[0] != '\0')
    flags |= JackServerName;
  jb->client = jack_client_open(d->opt.jack_name, flags, &status, d->opt.jack_server);
  if (jb->client == NULL) {
    snprintf(err, errlen, "cannot connect to JACK server%s%s (status 0x%x)",
             d->opt.jack_server[0] ? " " : "", d->opt.jack_server, (unsigned)status);
    return -1;
  }
  for (ch = 0; ch < jb->channels; ch++) {
    char name[32];
    snprintf(name, sizeof name, "out_%u", ch + 1);
    jb->ports[ch] = jack_port_register(jb->client, name, JACK_DEFAULT_AUDIO_TYPE,
                                       JackPortIsOutput | JackPortIsTerminal, 0);
    if (jb->ports[ch] == NULL) {
      snprintf(err, errlen, "cannot register JACK port %s", name);
      jack_client_close(jb->client);
      jb->client = NULL;
      return -1;
    }
  }
  jack_set_process_callback(jb->client, on_process, jb);
  jack_set_xrun_callback(jb->client, on_xrun, jb);
  jack_set_buffer_size_callback(jb->client, on_buffer_size, jb);
  jack_on_info_shutdown(jb->client, on_shutdown, jb);
  jb->base.sample_rate = jack_get_sample_rate(jb->client);
  jb->base.block_size = jack_get_buffer_size(jb->client);
  atomic_store(&jb->gone, false);
  return 0;
}

static void autoconnect(jack_backend *jb) {
  const char **targets = jack_get_ports(jb->client, NULL, JACK_DEFAULT_AUDIO_TYPE,
                                        JackPortIsPhysical | JackPortIsInput);
  unsigned ch;

  if (targets == NULL) {
    log_warn("jack: --autoconnect: no physical playback ports");
    return;
  }
  for (ch = 0; ch < jb->channels && targets[ch] != NULL; ch++)
    if (jack_connect(jb->client, jack_port_name(jb->ports[ch]), targets[ch]) != 0)
      log_warn("jack: cannot connect %s to %s", jack_port_name(jb->ports[ch]), targets[ch]);
  jack_free(targets);
}

static int jack_activate_client(jack_backend *jb, char *err, size_t errlen) {
  engine *e = &jb->base.d->eng;

  /* The engine is stopped here, so its rate may change safely. */
  e->sample_rate = jb->base.sample_rate;
  if (jack_activate(jb->client) != 0) {
    snprintf(err, errlen, "cannot activate the JACK client");
    return -1;
  }
  if (jb->base.d->opt.autoconnect)
    autoconnect(jb);
  jb->base.state = "running";
  return 0;
}

static int jb_start(backend *b, char *err, size_t errlen) {
  jack_backend *jb = (jack_backend *)b;

  if (jb->client == NULL && jack_open(jb, err, errlen) != 0)
    return -1;
  return jack_activate_client(jb, err, errlen);
}

static void jb_stop(backend *b) {
  jack_backend *jb = (jack_backend *)b;

  if (jb->lost)
    null_clock_stop(&jb->fallback);
  if (jb->client != NULL) {
    jack_deactivate(jb->client);
    jack_client_close(jb->client);
    jb->client = NULL;
  }
  b->state = "stopped";
}

static void go_lost(jack_backend *jb) {
  sonod *d = jb->base.d;
  char msg[160];

  /* JACK's process thread is gone with the server: closing joins it, and
   * only then may the fallback clock take over the engine. */
  jack_client_close(jb->client);
  jb->client = NULL;
  jb->lost = true;
  jb->base.state = "lost";
  if (null_clock_start(&jb->fallback, &d->eng, jb->base.sample_rate,
                       jb->base.block_size, jb->channels) != 0)
    log_error("jack: cannot start the fallback clock; the engine is paused");
  snprintf(msg, sizeof msg, "the JACK server went away; running on the internal clock and "
                            "reconnecting every second");
  log_warn("jack: %s", msg);
  events_backend(d, "lost", msg);
  jb->last_attempt_ns = sonod_now_ns();
}

static void try_reconnect(jack_backend *jb) {
  sonod *d = jb->base.d;
  unsigned old_rate = jb->base.sample_rate;
  char err[256], msg[256];

  jb->last_attempt_ns = sonod_now_ns();
  if (jack_open(jb, err, sizeof err) != 0)
    return;
  null_clock_stop(&jb->fallback);
  jb->lost = false;
  if (jack_activate_client(jb, err, sizeof err) != 0) {
    log_warn("jack: %s", err);
    jack_client_close(jb->client);
    jb->client = NULL;
    jb->lost = true;
    null_clock_start(&jb->fallback, &d->eng, jb->base.sample_rate, jb->base.block_size,
                     jb->channels);
    return;
  }
  if (old_rate != jb->base.sample_rate)
    snprintf(msg, sizeof msg, "reconnected to JACK; the sample rate changed from %u to %u Hz",
             old_rate, jb->base.sample_rate);
  else
    snprintf(msg, sizeof msg, "reconnected to JACK at %u Hz, %u frames per block",
             jb->base.sample_rate, jb->base.block_size);
  log_info("jack: %s", msg);
  events_backend(d, "running", msg);
}

static void jb_poll(backend *b) {
  jack_backend *jb = (jack_backend *)b;

  if (!jb->lost && jb->client != NULL && atomic_load(&jb->gone))
    go_lost(jb);
  else if (jb->lost && !jb->base.d->stopping &&
           sonod_now_ns() - jb->last_attempt_ns >= RECONNECT_NS)
    try_reconnect(jb);
}

static void jb_destroy(backend *b) {
  jb_stop(b);
  free(b);
}

static const backend_ops jack_ops = {
  "jack", jb_start, jb_stop, jb_poll, jb_destroy, NULL, NULL,
};

backend *backend_jack_create(sonod *d, char *err, size_t errlen) {
  jack_backend *jb = calloc(1, sizeof *jb);

  if (jb == NULL) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  jack_set_error_function(silence_jack_errors);
  jack_set_info_function(silence_jack_errors);
  jb->base.ops = &jack_ops;
  jb->base.d = d;
  jb->base.state = "stopped";
  jb->channels = d->opt.channels;
  atomic_init(&jb->gone, false);
  if (jack_open(jb, err, errlen) != 0) {
    free(jb);
    return NULL;
  }
  log_info("jack: connected as %s at %u Hz, %u frames per block",
           jack_get_client_name(jb->client), jb->base.sample_rate, jb->base.block_size);
  return &jb->base;
}
