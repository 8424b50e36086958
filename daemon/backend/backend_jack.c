/* backend_jack.c - the production driver: a JACK client.  This file is
 * the control thread's side: creating the client, starting, stopping,
 * polling what JACK's callbacks reported, losing the server and
 * reconnecting.  JACK's process thread runs backend_jack_process.c (AUDIO
 * THREAD), its notification thread backend_jack_notify.c; the state they
 * share is backend_jack_internal.h.
 *
 * JACK's process thread runs the engine.  When the server goes away the
 * engine moves to the internal clock (so timed requests still fire and
 * sync still answers), clients are told, and the control thread tries to
 * reconnect every second; on success the engine moves back. */
#include <jack/jack.h>
#include <jack/thread.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/backend/backend_jack_internal.h"
#include "daemon/backend/jack_probe.h"
#include "daemon/base/log.h"
#include "daemon/net/events.h"

#define RECONNECT_NS 1000000000ull
/* How long go_lost waits for a cycle in progress to leave the engine (it
 * never waits inside, so this is at most one slow block). */
#define LEAVE_WAIT_MS 1000
/* After this long without the lost client closed, say so once. */
#define CLOSE_REPORT_NS 5000000000ull

static void silence_jack_errors(const char *msg) {
  log_debug("jack: %s", msg);
}

/* Opens the client and registers ports; does not activate. */
static int jack_open(jack_backend *jb, char *err, size_t errlen) {
  sonod *d = jb->base.d;
  jack_status_t status;
  jack_options_t flags = JackNoStartServer;
  char sock[256];
  unsigned ch;

  if (!jack_probe_server(d->opt.jack_server, sock, sizeof sock)) {
    snprintf(err, errlen, "cannot connect to JACK server%s%s: none is running (no %s)",
             d->opt.jack_server[0] ? " " : "", d->opt.jack_server, sock);
    return -1;
  }
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
  for (ch = 0; ch < jb->inputs; ch++) {
    char name[32];
    snprintf(name, sizeof name, "in_%u", ch + 1);
    jb->in_ports[ch] = jack_port_register(jb->client, name, JACK_DEFAULT_AUDIO_TYPE,
                                          JackPortIsInput | JackPortIsTerminal, 0);
    if (jb->in_ports[ch] == NULL) {
      snprintf(err, errlen, "cannot register JACK port %s", name);
      jack_client_close(jb->client);
      jb->client = NULL;
      return -1;
    }
  }
  jb->midi_in = jack_port_register(jb->client, "midi_in", JACK_DEFAULT_MIDI_TYPE,
                                   JackPortIsInput | JackPortIsTerminal, 0);
  jb->midi_out = jack_port_register(jb->client, "midi_out", JACK_DEFAULT_MIDI_TYPE,
                                    JackPortIsOutput | JackPortIsTerminal, 0);
  if (jb->midi_in == NULL || jb->midi_out == NULL) {
    snprintf(err, errlen, "cannot register the JACK MIDI ports");
    jack_client_close(jb->client);
    jb->client = NULL;
    return -1;
  }
  jack_set_process_callback(jb->client, jb_on_process, jb);
  jack_set_xrun_callback(jb->client, jb_on_xrun, jb);
  jack_set_buffer_size_callback(jb->client, jb_on_buffer_size, jb);
  jack_set_sample_rate_callback(jb->client, jb_on_sample_rate, jb);
  jack_set_freewheel_callback(jb->client, jb_on_freewheel, jb);
  jack_on_info_shutdown(jb->client, jb_on_shutdown, jb);
  jb->base.sample_rate = jack_get_sample_rate(jb->client);
  jb->base.block_size = jack_get_buffer_size(jb->client);
  atomic_store(&jb->gone, false);
  atomic_store(&jb->gone_tid, 0);
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
  /* A buffer-size callback waiting for a re-prepare goes on at once: the
   * plugins' calls end on their own (plugin_prepare.c), and nothing is
   * served any more. */
  pthread_mutex_lock(&jb->rp_lock);
  jb->rp_done = jb->rp_asked;
  pthread_cond_broadcast(&jb->rp_cond);
  pthread_mutex_unlock(&jb->rp_lock);
  if (jb->client != NULL) {
    jack_deactivate(jb->client);
    jack_client_close(jb->client);
    jb->client = NULL;
  }
  b->state = "stopped";
}

/* Whether thread tid of this process still runs. */
static bool thread_alive(int tid) {
  char path[48];

  snprintf(path, sizeof path, "/proc/self/task/%d", tid);
  return access(path, F_OK) == 0;
}

/* A helper thread's whole life (not the control thread's): close the
 * client of a dead server.  libjack calls the shutdown callback on its
 * notification thread (or its process thread), which ends right after it;
 * jack_client_close cancels that thread, and a cancel that lands while it
 * is still on its way out of the callback inside libjack left a libjack
 * mutex locked by a dead thread: the close then waited for it forever
 * (test_jack's server restart under load, about 1 in 30 with the realtime
 * checker's build; gdb: the owner was the notification thread).  So the
 * thread is let end first, for up to LEAVE_WAIT_MS. */
static void *close_lost_client(void *arg) {
  jack_backend *jb = arg;
  jack_client_t *c = jb->client_closing;
  int tid = atomic_load(&jb->gone_tid);
  unsigned ms;

  for (ms = 0; tid > 0 && ms < LEAVE_WAIT_MS && thread_alive(tid); ms++)
    nanosleep(&(struct timespec){ 0, 1000000L }, NULL);
  jack_client_close(c);
  atomic_store(&jb->closed, true);
  jb->base.d->eng.wake(jb->base.d->eng.wake_ctx);
  return NULL;
}

static void go_lost(jack_backend *jb) {
  sonod *d = jb->base.d;
  pthread_attr_t attr;
  pthread_t t;
  char msg[160];
  unsigned ms;

  /* JACK's process thread is shut out of the engine, and any cycle in
   * progress waited for; only then may the fallback clock take over.  The
   * client is closed on a helper thread: libjack's close of a dead
   * server's client joins JACK's threads and has been seen to hang, and
   * the control thread must go on serving clients whatever it does. */
  atomic_store(&jb->shut_out, true);
  for (ms = 0; ms < LEAVE_WAIT_MS && atomic_load(&jb->in_cycle); ms++)
    nanosleep(&(struct timespec){ 0, 1000000L }, NULL);
  jb->lost_ns = sonod_now_ns();
  atomic_store(&jb->closed, false);
  jb->close_reported = false;
  jb->client_closing = jb->client;
  jb->client = NULL;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  if (pthread_create(&t, &attr, close_lost_client, jb) != 0) {
    log_warn("jack: no thread to close the lost client; closing it here");
    close_lost_client(jb);
  }
  pthread_attr_destroy(&attr);
  jb->lost = true;
  jb->base.state = "lost";
  if (atomic_load(&jb->in_cycle))
    log_error("jack: JACK's process thread did not leave the engine within %u ms; the "
              "engine is paused", LEAVE_WAIT_MS);
  else if (null_clock_start(&jb->fallback, &d->eng, jb->base.sample_rate,
                            jb->base.block_size, jb->channels) != 0)
    log_error("jack: cannot start the fallback clock; the engine is paused");
  snprintf(msg, sizeof msg, "the JACK server went away; running on the internal clock and "
                            "reconnecting every second");
  log_warn("jack: %s", msg);
  backend_event(d, "lost", msg);
  jb->last_attempt_ns = sonod_now_ns();
}

static void try_reconnect(jack_backend *jb) {
  sonod *d = jb->base.d;
  unsigned old_rate = jb->base.sample_rate;
  char err[256], msg[256];

  jb->last_attempt_ns = sonod_now_ns();
  /* libjack is not to be used for a new client while it still closes the
   * old one. */
  if (!atomic_load(&jb->closed)) {
    if (!jb->close_reported && sonod_now_ns() - jb->lost_ns >= CLOSE_REPORT_NS) {
      snprintf(msg, sizeof msg, "the lost JACK client has not finished closing; sonod "
                                "reconnects once it has (restart sonod if it never does)");
      log_warn("jack: %s", msg);
      backend_event(d, "lost", msg);
      jb->close_reported = true;
    }
    return;
  }
  if (jack_open(jb, err, sizeof err) != 0)
    return;
  /* The new client's process thread may enter the engine once active. */
  atomic_store(&jb->shut_out, false);
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
  backend_event(d, "running", msg);
}

/* Control thread: the buffer-size callback (backend_jack_notify.c) asked
 * for a re-prepare.  The plugins' calls run off the control thread with
 * their deadline (plugin_prepare.c), so the loop serves every client
 * meanwhile; reprepared ends the request when they all ended, and wakes
 * the callback.  One request at a time: a later one (the period grew
 * again meanwhile) is served after it, for the latest period. */
static bool still_waiting(void *arg) {
  jack_backend *jb = arg;
  bool w;

  pthread_mutex_lock(&jb->rp_lock);
  w = jb->rp_waiting;
  pthread_mutex_unlock(&jb->rp_lock);
  return w;
}

static void serve_reprepare(jack_backend *jb);

static void reprepared(sonod *d, void *arg, unsigned prepared, unsigned failed) {
  jack_backend *jb = arg;

  jb->rp_prepared += prepared;
  jb->rp_failed += failed;
  pthread_mutex_lock(&jb->rp_lock);
  if (prepared > 0 && !jb->rp_waiting)
    jb->rp_late = true;
  /* Never backwards: a stop may have let the callback go already. */
  if ((int)(jb->rp_serving - jb->rp_done) > 0)
    jb->rp_done = jb->rp_serving;
  pthread_cond_broadcast(&jb->rp_cond);
  pthread_mutex_unlock(&jb->rp_lock);
  jb->rp_running = false;
  /* A newer request, and the period's report, on the next poll (this may
   * run inside serve_reprepare; at shutdown, when the nodes go, nothing
   * is reported any more). */
  if (!d->stopping)
    d->eng.wake(d->eng.wake_ctx);
}

static void serve_reprepare(jack_backend *jb) {
  while (!jb->rp_running) {
    unsigned block;

    pthread_mutex_lock(&jb->rp_lock);
    if (jb->rp_done == jb->rp_asked) {
      pthread_mutex_unlock(&jb->rp_lock);
      return;
    }
    jb->rp_serving = jb->rp_asked;
    block = jb->rp_block;
    pthread_mutex_unlock(&jb->rp_lock);
    jb->rp_running = true;
    jb->base.hooks->reprepare(jb->base.d, block, still_waiting, jb, reprepared, jb);
  }
}

/* Control thread: what JACK's callbacks reported. */
static void report_changes(jack_backend *jb) {
  sonod *d = jb->base.d;
  uint32_t block = 0, rate = atomic_exchange(&jb->new_rate, 0);
  bool fw = atomic_load(&jb->base.freewheeling);
  char msg[400];

  serve_reprepare(jb);
  /* The period is reported with what was done for it: once the
   * re-prepare for it has ended. */
  if (!jb->rp_running)
    block = atomic_exchange(&jb->new_block, 0);
  if (block != 0) {
    unsigned ksmps = d->eng.csound != NULL ? d->opt.ksmps : 0;
    unsigned prepared = jb->rp_prepared, failed = jb->rp_failed;
    char plugins[160] = "";
    size_t len;

    if (prepared > 0 || failed > 0)
      snprintf(plugins, sizeof plugins, "; %u plugin%s re-prepared for it%s%s", prepared,
               prepared == 1 ? "" : "s", jb->rp_late ? " after JACK restarted" : "",
               failed > 0 ? ", some could not be (plugin.prepared events)" : "");
    jb->rp_prepared = jb->rp_failed = 0;
    jb->rp_late = false;
    if (ksmps != 0 && block % ksmps != 0)
      snprintf(msg, sizeof msg, "JACK's period is now %u frames; followed, Csound through its "
               "FIFO (not a multiple of ksmps %u: up to %u frames ahead)", block, ksmps,
               ksmps - 1);
    else
      snprintf(msg, sizeof msg, "JACK's period is now %u frames; followed", block);
    len = strlen(msg);
    snprintf(msg + len, sizeof msg - len, "%s", plugins);
    log_info("jack: %s", msg);
    backend_event(d, jb->base.state, msg);
  }
  if (rate != 0) {
    snprintf(msg, sizeof msg, "JACK's sample rate changed from %u to %u Hz: the engine, Csound "
             "and the plugins keep %u Hz until sonod is restarted", jb->base.sample_rate, rate,
             jb->base.sample_rate);
    log_warn("jack: %s", msg);
    backend_event(d, jb->base.state, msg);
  }
  if (fw != jb->fw_seen) {
    jb->fw_seen = fw;
    /* Plugins render offline (kVstProcessLevelOffline) while freewheeling. */
    jb->base.hooks->freewheel(d, fw);
    snprintf(msg, sizeof msg, "freewheel %s", fw ? "on" : "off");
    log_info("jack: %s", msg);
    backend_event(d, jb->base.state, msg);
  }
}

static int jb_freewheel(backend *b, bool on, char *err, size_t errlen) {
  jack_backend *jb = (jack_backend *)b;

  if (jb->client == NULL || jb->lost) {
    snprintf(err, errlen, "the JACK server is gone");
    return -1;
  }
  if (jack_set_freewheel(jb->client, on) != 0) {
    snprintf(err, errlen, "JACK refused freewheel %s", on ? "on" : "off");
    return -1;
  }
  return 0;
}

static void jb_latency(backend *b, unsigned *capture, unsigned *playback) {
  jack_backend *jb = (jack_backend *)b;
  jack_latency_range_t r;

  *capture = *playback = 0;
  if (jb->client == NULL || jb->lost)
    return;
  if (jb->inputs > 0) {
    jack_port_get_latency_range(jb->in_ports[0], JackCaptureLatency, &r);
    *capture = r.max;
  }
  if (jb->channels > 0) {
    jack_port_get_latency_range(jb->ports[0], JackPlaybackLatency, &r);
    *playback = r.max;
  }
}

static void jb_poll(backend *b) {
  jack_backend *jb = (jack_backend *)b;

  if (!jb->lost && jb->client != NULL)
    report_changes(jb);

  if (!jb->lost && jb->client != NULL && atomic_load(&jb->gone))
    go_lost(jb);
  else if (jb->lost && !jb->base.d->stopping &&
           sonod_now_ns() - jb->last_attempt_ns >= RECONNECT_NS)
    try_reconnect(jb);
}

static void jb_destroy(backend *b) {
  jack_backend *jb = (jack_backend *)b;
  unsigned ms;

  jb_stop(b);
  /* A lost client still closing uses jb: wait a little, else leave jb to
   * it (the daemon is exiting). */
  for (ms = 0; ms < LEAVE_WAIT_MS && !atomic_load(&jb->closed); ms++)
    nanosleep(&(struct timespec){ 0, 1000000L }, NULL);
  if (!atomic_load(&jb->closed)) {
    log_warn("jack: the lost JACK client is still closing; exiting without it");
    return;
  }
  pthread_cond_destroy(&jb->rp_cond);
  pthread_mutex_destroy(&jb->rp_lock);
  free(b);
}

/* JACK's process thread's priority, when the server runs realtime. */
static int jb_rt_priority(backend *b) {
  jack_backend *jb = (jack_backend *)b;
  int p;

  if (jb->client == NULL || jb->lost || !jack_is_realtime(jb->client))
    return 0;
  p = jack_client_real_time_priority(jb->client);
  return p > 0 ? p : 0;
}

static const backend_ops jack_ops = {
  "jack", jb_start, jb_stop, jb_poll, jb_destroy, NULL, NULL, jb_freewheel, jb_latency,
  jb_rt_priority, NULL, NULL,
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
  jb->inputs = d->opt.inputs;
  atomic_init(&jb->gone, false);
  atomic_init(&jb->gone_tid, 0);
  atomic_init(&jb->shut_out, false);
  atomic_init(&jb->in_cycle, false);
  atomic_init(&jb->closed, true);
  pthread_mutex_init(&jb->rp_lock, NULL);
  pthread_cond_init(&jb->rp_cond, NULL);
  jb->ctl_thread = pthread_self();
  if (jack_open(jb, err, errlen) != 0) {
    pthread_cond_destroy(&jb->rp_cond);
    pthread_mutex_destroy(&jb->rp_lock);
    free(jb);
    return NULL;
  }
  log_info("jack: connected as %s at %u Hz, %u frames per block",
           jack_get_client_name(jb->client), jb->base.sample_rate, jb->base.block_size);
  return &jb->base;
}
