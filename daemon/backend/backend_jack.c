/* backend_jack.c - the production driver: a JACK client.
 *
 * JACK's process thread runs the engine.  When the server goes away the
 * engine moves to the internal clock (so timed requests still fire and
 * sync still answers), clients are told, and the control thread tries to
 * reconnect every second; on success the engine moves back. */
#include <jack/jack.h>
#include <jack/midiport.h>
#include <jack/transport.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/backend/backend.h"
#include "daemon/net/events.h"
#include "daemon/base/log.h"
#include "daemon/backend/null_clock.h"
#include "daemon/vst/vst.h"

#define RECONNECT_NS 1000000000ull
/* How long the buffer-size callback waits for the control thread to
 * re-prepare the plugins.  jack2 gives a synchronous notification
 * SOCKET_TIME_OUT (2 s) before it gives up on the client; the wait must
 * end well before, and also ends a deadlock with a control thread that is
 * itself waiting on the server (which is waiting on us). */
#define REPREPARE_WAIT_MS 1000
/* How long go_lost waits for a cycle in progress to leave the engine (it
 * never waits inside, so this is at most one slow block). */
#define LEAVE_WAIT_MS 1000
/* After this long without the lost client closed, say so once. */
#define CLOSE_REPORT_NS 5000000000ull

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
  /* The re-prepare handshake (see on_buffer_size): JACK's notification
   * thread asks, the control thread answers; neither is realtime. */
  pthread_mutex_t rp_lock;
  pthread_cond_t rp_cond;
  unsigned rp_asked, rp_done; /* generations */
  unsigned rp_block;          /* the period of the latest request */
  bool rp_waiting;            /* the callback is still waiting */
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
static int cancel_off(void) {
  int old;

  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
  return old;
}

static void cancel_restore(int old) {
  pthread_setcancelstate(old, NULL);
}

/* AUDIO THREAD.  This cycle's MIDI input, in JACK's order (by frame):
 * channel messages of 1-3 bytes; sysex and realtime bytes are dropped. */
static unsigned read_midi(jack_backend *jb, jack_nframes_t nframes) {
  void *buf = jack_port_get_buffer(jb->midi_in, nframes);
  uint32_t i, n = jack_midi_get_event_count(buf);
  unsigned k = 0;

  for (i = 0; i < n; i++) {
    jack_midi_event_t ev;

    if (jack_midi_event_get(&ev, buf, i) != 0)
      continue;
    if (ev.size < 1 || ev.size > 3 || ev.buffer[0] < 0x80 || ev.buffer[0] >= 0xF0 ||
        k == RT_LIVE_MIDI_MAX || ev.time >= nframes) {
      atomic_fetch_add_explicit(&jb->midi_dropped, 1, memory_order_relaxed);
      continue;
    }
    jb->live[k].offset = ev.time;
    jb->live[k].len = (uint8_t)ev.size;
    memcpy(jb->live[k].data, ev.buffer, ev.size);
    k++;
  }
  return k;
}

/* AUDIO THREAD.  jack_transport_query is realtime-safe (JACK's docs). */
static void read_transport(jack_backend *jb, rt_xport_ext *x) {
  jack_position_t pos;
  jack_transport_state_t st = jack_transport_query(jb->client, &pos);

  x->valid = true;
  x->playing = st == JackTransportRolling;
  x->frame = pos.frame;
  x->bbt = (pos.valid & JackPositionBBT) != 0;
  x->tempo = x->bbt ? pos.beats_per_minute : 0.0;
  x->num = x->bbt ? (int32_t)pos.beats_per_bar : 0;
  x->den = x->bbt ? (int32_t)pos.beat_type : 0;
}

/* AUDIO THREAD.  The MIDI the plugins sent in this cycle (collected by the
 * graph, rt/nodes.c) goes to midi_out at its offsets: sorted by offset
 * first (JACK wants time order; a stable insertion sort, at most
 * RT_LIVE_MIDI_MAX events), offsets clamped into the period.
 * jack_midi_event_write only copies into the port buffer. */
static void write_midi(jack_backend *jb, vst_midi_sink *sk, jack_nframes_t nframes) {
  void *buf = jack_port_get_buffer(jb->midi_out, nframes);
  unsigned i, j, lost = sk->dropped;

  jack_midi_clear_buffer(buf);
  for (i = 1; i < sk->n; i++) {
    vst_midi_out x = sk->ev[i];

    for (j = i; j > 0 && sk->ev[j - 1].delta > x.delta; j--)
      sk->ev[j] = sk->ev[j - 1];
    sk->ev[j] = x;
  }
  for (i = 0; i < sk->n; i++) {
    int32_t t = sk->ev[i].delta;

    if (t < 0)
      t = 0;
    if ((jack_nframes_t)t >= nframes)
      t = (int32_t)nframes - 1;
    if (jack_midi_event_write(buf, (jack_nframes_t)t, sk->ev[i].data, sk->ev[i].len) != 0)
      lost++;
  }
  sk->n = 0;
  sk->dropped = 0;
  if (lost)
    atomic_fetch_add_explicit(&jb->base.midi_out_dropped, lost, memory_order_relaxed);
}

/* AUDIO THREAD (JACK's process thread). */
static int on_process(jack_nframes_t nframes, void *arg) {
  jack_backend *jb = arg;
  engine *e = &jb->base.d->eng;
  int cs = cancel_off();
  unsigned ch;

  /* Marked before the gate is read, and the gate set before the mark is
   * read on the other side (both sequentially consistent): either this
   * cycle sees shut_out, or go_lost sees it running and waits. */
  atomic_store(&jb->in_cycle, true);
  if (atomic_load(&jb->shut_out)) {
    atomic_store(&jb->in_cycle, false);
    cancel_restore(cs);
    return 0;
  }
  for (ch = 0; ch < jb->channels; ch++)
    jb->bufs[ch] = jack_port_get_buffer(jb->ports[ch], nframes);
  for (ch = 0; ch < jb->inputs; ch++)
    jb->in_bufs[ch] = jack_port_get_buffer(jb->in_ports[ch], nframes);
  e->in = jb->in_bufs;
  e->nin = jb->inputs;
  e->nlive = read_midi(jb, nframes);
  e->live = jb->live;
  read_transport(jb, &e->ext);
  engine_process(e, jb->bufs, jb->channels, nframes);
  write_midi(jb, &e->nodes.out, nframes);
  atomic_store(&jb->in_cycle, false);
  cancel_restore(cs);
  return 0;
}

/* JACK's notification thread: count, and let the control thread tell
 * subscribers now rather than at its next tick. */
static int on_xrun(void *arg) {
  jack_backend *jb = arg;

  atomic_fetch_add(&jb->base.xruns, 1);
  jb->base.d->eng.wake(jb->base.d->eng.wake_ctx);
  return 0;
}

/* The notification thread's wait for request g, bounded: true if done. */
static bool wait_reprepare(jack_backend *jb, unsigned g) {
  struct timespec until;

  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += REPREPARE_WAIT_MS / 1000;
  until.tv_nsec += (long)(REPREPARE_WAIT_MS % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  while ((int)(jb->rp_done - g) < 0)
    if (pthread_cond_timedwait(&jb->rp_cond, &jb->rp_lock, &until) == ETIMEDOUT)
      break;
  return (int)(jb->rp_done - g) >= 0;
}

/* JACK's notification thread.  jack2 stops its driver, calls this in
 * every client and waits for the answers before it starts the driver
 * again (JackServer::SetBufferSize), so no process cycle runs meanwhile.
 * Plans and Csound's buffers are sized for JACK's largest period (8192),
 * so the engine just follows.  Plugins were prepared for a block size and
 * must be re-prepared for a longer one: that is asked of the control
 * thread, which owns the plugins' dispatchers, and waited for here so it
 * happens while no cycle runs.  If it takes too long the plugins are
 * re-prepared anyway, keeping the audio thread out of each in turn, and
 * until then their calls are split (rt/nodes.c). */
static int on_buffer_size(jack_nframes_t nframes, void *arg) {
  jack_backend *jb = arg;
  unsigned old = jb->base.block_size;
  int cs = cancel_off();

  if (nframes != old)
    jb->base.block_size = nframes;
  if (nframes > old) {
    /* Never wait for the control thread on the control thread itself
     * (jack2 may call this from jack_set_buffer_size_callback). */
    bool wait = !pthread_equal(pthread_self(), jb->ctl_thread);
    unsigned g;

    pthread_mutex_lock(&jb->rp_lock);
    g = ++jb->rp_asked;
    jb->rp_block = nframes;
    /* Under the lock, so that the control thread reports the period
     * together with what it did for it (report_changes). */
    atomic_store(&jb->new_block, nframes);
    jb->rp_waiting = wait;
    jb->base.d->eng.wake(jb->base.d->eng.wake_ctx);
    if (wait) {
      if (!wait_reprepare(jb, g))
        log_warn("jack: the plugins were not re-prepared for %u frames within %u ms; "
                 "continuing, they are split until then", nframes, REPREPARE_WAIT_MS);
      jb->rp_waiting = false;
    }
    pthread_mutex_unlock(&jb->rp_lock);
  } else if (nframes != old) {
    atomic_store(&jb->new_block, nframes);
    jb->base.d->eng.wake(jb->base.d->eng.wake_ctx);
  }
  cancel_restore(cs);
  return 0;
}

/* Control thread: the callback above asked for a re-prepare.  A later
 * request (the period grew again) is served in the same call. */
static bool still_waiting(void *arg) {
  jack_backend *jb = arg;
  bool w;

  pthread_mutex_lock(&jb->rp_lock);
  w = jb->rp_waiting;
  pthread_mutex_unlock(&jb->rp_lock);
  return w;
}

static void serve_reprepare(jack_backend *jb, unsigned *count, unsigned *failed,
                            bool *in_time) {
  pthread_mutex_lock(&jb->rp_lock);
  while (jb->rp_done != jb->rp_asked) {
    unsigned g = jb->rp_asked, block = jb->rp_block, f = 0;

    pthread_mutex_unlock(&jb->rp_lock);
    *count += jb->base.hooks->reprepare(jb->base.d, block, still_waiting, jb, &f);
    *failed += f;
    pthread_mutex_lock(&jb->rp_lock);
    *in_time = jb->rp_waiting;
    jb->rp_done = g;
    pthread_cond_broadcast(&jb->rp_cond);
  }
  pthread_mutex_unlock(&jb->rp_lock);
}

/* The engine's sample rate cannot change under Csound and the plugins:
 * this is only reported (restart needed). */
static int on_sample_rate(jack_nframes_t rate, void *arg) {
  jack_backend *jb = arg;

  if (jb->base.sample_rate != 0 && rate != jb->base.sample_rate) {
    atomic_store(&jb->new_rate, rate);
    jb->base.d->eng.wake(jb->base.d->eng.wake_ctx);
  }
  return 0;
}

/* JACK's thread: tell the control thread, which switches the plugins'
 * process level (offline while freewheeling). */
static void on_freewheel(int starting, void *arg) {
  jack_backend *jb = arg;

  atomic_store(&jb->base.freewheeling, starting != 0);
  jb->base.d->eng.wake(jb->base.d->eng.wake_ctx);
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
  jack_set_process_callback(jb->client, on_process, jb);
  jack_set_xrun_callback(jb->client, on_xrun, jb);
  jack_set_buffer_size_callback(jb->client, on_buffer_size, jb);
  jack_set_sample_rate_callback(jb->client, on_sample_rate, jb);
  jack_set_freewheel_callback(jb->client, on_freewheel, jb);
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

/* A helper thread's whole life: close the client of a dead server. */
static void *close_lost_client(void *arg) {
  jack_backend *jb = arg;
  jack_client_t *c = jb->client_closing;

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

/* Control thread: what JACK's callbacks reported. */
static void report_changes(jack_backend *jb) {
  sonod *d = jb->base.d;
  unsigned prepared = 0, failed = 0;
  bool in_time = true;
  uint32_t block, rate = atomic_exchange(&jb->new_rate, 0);
  bool fw = atomic_load(&jb->base.freewheeling);
  char msg[400];

  serve_reprepare(jb, &prepared, &failed, &in_time);
  block = atomic_exchange(&jb->new_block, 0);
  if (block != 0) {
    unsigned ksmps = d->eng.csound != NULL ? d->opt.ksmps : 0;
    char plugins[160] = "";
    size_t len;

    if (prepared > 0 || failed > 0)
      snprintf(plugins, sizeof plugins, "; %u plugin%s re-prepared for it%s%s", prepared,
               prepared == 1 ? "" : "s", in_time ? "" : " after JACK restarted",
               failed > 0 ? ", some could not be (plugin.prepared events)" : "");
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

static const backend_ops jack_ops = {
  "jack", jb_start, jb_stop, jb_poll, jb_destroy, NULL, NULL, jb_freewheel, jb_latency,
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
