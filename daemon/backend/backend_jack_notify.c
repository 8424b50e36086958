/* backend_jack_notify.c - JACK's notification thread: the JACK backend's
 * callbacks for xruns, period and sample-rate changes, freewheel and the
 * server's shutdown.  Not realtime, but JACK waits for some of them (the
 * period change) before it runs the next cycle: each only records what
 * happened (atomics) and wakes the control thread, which reports it
 * (backend_jack.c, report_changes); the period change also waits, bounded,
 * for the control thread to re-prepare the plugins. */
#include <errno.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "daemon/backend/backend_jack_internal.h"
#include "daemon/base/log.h"

/* How long the buffer-size callback waits for the plugins' re-prepare
 * (the control thread starts it, each plugin's call runs on a thread of
 * its own with the plugin-call deadline, and the wait ends as soon as all
 * have returned or passed it).  jack2 gives a synchronous notification
 * SOCKET_TIME_OUT (2 s) before it gives up on the client; the wait must
 * end well before, and also ends a deadlock with a control thread that is
 * itself waiting on the server (which is waiting on us). */
#define REPREPARE_WAIT_MS 1000

/* JACK's notification thread: count, and let the control thread tell
 * subscribers now rather than at its next tick. */
int jb_on_xrun(void *arg) {
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
 * thread, which starts one call per plugin off the loop
 * (plugin_prepare.c) and answers when they all ended, and waited for here
 * so that it happens while no cycle runs.  If it takes too long JACK goes
 * on; the calls still running keep the audio thread out of their plugin,
 * and the others' calls are split (rt/nodes.c) until their turn. */
int jb_on_buffer_size(jack_nframes_t nframes, void *arg) {
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

/* The engine's sample rate cannot change under Csound and the plugins:
 * this is only reported (restart needed). */
int jb_on_sample_rate(jack_nframes_t rate, void *arg) {
  jack_backend *jb = arg;

  if (jb->base.sample_rate != 0 && rate != jb->base.sample_rate) {
    atomic_store(&jb->new_rate, rate);
    jb->base.d->eng.wake(jb->base.d->eng.wake_ctx);
  }
  return 0;
}

/* JACK's thread: tell the control thread, which switches the plugins'
 * process level (offline while freewheeling). */
void jb_on_freewheel(int starting, void *arg) {
  jack_backend *jb = arg;

  atomic_store(&jb->base.freewheeling, starting != 0);
  jb->base.d->eng.wake(jb->base.d->eng.wake_ctx);
}

void jb_on_shutdown(jack_status_t code, const char *reason, void *arg) {
  jack_backend *jb = arg;
  int cs = cancel_off();

  (void)code;
  (void)reason;
  /* For close_lost_client, which lets this thread end before it closes. */
  atomic_store(&jb->gone_tid, (int)syscall(SYS_gettid));
  atomic_store(&jb->gone, true);
  jb->base.d->eng.wake(jb->base.d->eng.wake_ctx);
  cancel_restore(cs);
}
