/* plugin_call.c - see plugin_call.h.
 *
 * One detached thread per call (control calls are rare; a thread that
 * never comes back costs only itself, where a hung libuv pool thread would
 * take a quarter of the pool and make the loop wait for it at exit).  The
 * thread puts its finished call on a list and wakes the loop (uv_async);
 * a uv_timer per call is its deadline.  A call is freed once both its
 * timer is closed and its thread has finished: a hung call never is. */
#include "daemon/modules/plugin_call.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "daemon/base/log.h"

typedef struct call {
  struct call *next;         /* on the finished list */
  sonod *d;
  uint32_t node;             /* 0: no node (an unload) */
  const char *what;
  plugin_call_fn fn;
  plugin_call_cb cb;
  void *arg;
  uv_timer_t deadline;
  bool timed_out;            /* loop only */
  bool finished;             /* under lock: fn returned */
  int refs;                  /* loop only: the timer handle, the thread */
} call;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static call *finished;       /* under lock */
static uv_async_t wake;
static bool wake_inited;
static unsigned running;     /* loop only */

unsigned plugin_call_deadline_ms(void) {
  const char *env = getenv("SONOD_PLUGIN_DEADLINE_MS");
  long v = env != NULL ? strtol(env, NULL, 10) : 0;

  return v >= 100 && v <= 600000 ? (unsigned)v : PLUGIN_CALL_DEADLINE_MS;
}

unsigned plugin_call_running(void) {
  return running;
}

static void unref(call *c) {
  if (--c->refs == 0)
    free(c);
}

static void timer_closed(uv_handle_t *h) {
  unref(h->data);
}

/* The call is over for the node (done, or past its deadline: hung).  An
 * isolated node is not left hung: its host is killed (vst_isolated_kill),
 * which ends the call at once (the thread returns, PLUGIN_CALL_LATE) and
 * makes the node crashed, as a crash would (plugin.crashed, plugin.restart).
 * It stays busy until the thread has returned: the thread may still use the
 * instance after the host is gone. */
static void node_idle(call *c, plugin_call_end end) {
  pnode *n = c->node != 0 ? plugin_ctl_find(c->node) : NULL;

  if (n == NULL)
    return;
  if (end == PLUGIN_CALL_TIMEOUT && n->isolated) {
    n->killed_for = c->what;
    vst_isolated_kill(n->inst);
    return;
  }
  if (end == PLUGIN_CALL_LATE && !n->isolated)
    return;   /* hung for good */
  n->busy = NULL;
  if (end == PLUGIN_CALL_TIMEOUT)
    n->hung = c->what;
}

/* After the call's callback: the node may take the next call, a
 * re-prepare that waited for this one (plugin_prepare.c). */
static void node_next(call *c) {
  pnode *n = c->node != 0 ? plugin_ctl_find(c->node) : NULL;

  if (n != NULL)
    plugin_prepare_idle(c->d, n);
}

static void on_deadline(uv_timer_t *t) {
  call *c = t->data;
  bool done;

  pthread_mutex_lock(&lock);
  done = c->finished;
  pthread_mutex_unlock(&lock);
  if (done)
    return;   /* on the finished list already: on_wake answers it */
  c->timed_out = true;
  {
    pnode *n = c->node != 0 ? plugin_ctl_find(c->node) : NULL;
    log_error("plugin: node %u: %s did not return within %u ms; %s", c->node, c->what,
              plugin_call_deadline_ms(), n != NULL && n->isolated
                  ? "its host process is killed (plugin.restart brings it back)"
                  : "the node is unusable");
  }
  node_idle(c, PLUGIN_CALL_TIMEOUT);
  c->cb(c->d, c->arg, PLUGIN_CALL_TIMEOUT);
  node_next(c);
  uv_close((uv_handle_t *)&c->deadline, timer_closed);
}

static void on_wake(uv_async_t *h) {
  call *list, *c;

  (void)h;
  pthread_mutex_lock(&lock);
  list = finished;
  finished = NULL;
  pthread_mutex_unlock(&lock);
  while ((c = list) != NULL) {
    list = c->next;
    running--;
    if (c->timed_out) {
      log_warn("plugin: node %u: %s returned after all", c->node, c->what);
      node_idle(c, PLUGIN_CALL_LATE);
      c->cb(c->d, c->arg, PLUGIN_CALL_LATE);
    } else {
      node_idle(c, PLUGIN_CALL_DONE);
      c->cb(c->d, c->arg, PLUGIN_CALL_DONE);
      uv_close((uv_handle_t *)&c->deadline, timer_closed);
    }
    node_next(c);
    unref(c);
  }
}

static void *run(void *arg) {
  call *c = arg;

  c->fn(c->arg);
  pthread_mutex_lock(&lock);
  c->finished = true;
  c->next = finished;
  finished = c;
  pthread_mutex_unlock(&lock);
  uv_async_send(&wake);
  return NULL;
}

int plugin_call(sonod *d, pnode *n, const char *what, plugin_call_fn fn, plugin_call_cb cb,
                void *arg) {
  pthread_attr_t attr;
  pthread_t th;
  call *c;
  int rc;

  if (!wake_inited) {
    uv_async_init(d->loop, &wake, on_wake);
    /* Never keeps the loop running by itself: the deadline timers do,
     * until each call ends or times out. */
    uv_unref((uv_handle_t *)&wake);
    wake_inited = true;
  }
  if ((c = calloc(1, sizeof *c)) == NULL)
    return -1;
  c->d = d;
  c->node = n != NULL ? n->id : 0;
  c->what = what;
  c->fn = fn;
  c->cb = cb;
  c->arg = arg;
  c->refs = 2;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  rc = pthread_create(&th, &attr, run, c);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    free(c);
    return -1;
  }
  uv_timer_init(d->loop, &c->deadline);
  c->deadline.data = c;
  uv_timer_start(&c->deadline, on_deadline, plugin_call_deadline_ms(), 0);
  if (n != NULL)
    n->busy = what;
  running++;
  return 0;
}

/* ---- calls waited for on the calling thread (shutdown) ---- */

struct plugin_wait {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  plugin_call_fn fn;
  void *arg;
  void (*release)(void *arg);
  bool done, abandoned;
};

static void wait_free(plugin_wait *w) {
  pthread_mutex_destroy(&w->lock);
  pthread_cond_destroy(&w->cond);
  free(w);
}

static void *run_waited(void *arg) {
  plugin_wait *w = arg;
  bool abandoned;

  w->fn(w->arg);
  pthread_mutex_lock(&w->lock);
  w->done = true;
  abandoned = w->abandoned;
  pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&w->lock);
  if (abandoned) {
    w->release(w->arg);
    wait_free(w);
  }
  return NULL;
}

plugin_wait *plugin_call_begin(plugin_call_fn fn, void *arg, void (*release)(void *arg)) {
  pthread_condattr_t ca;
  pthread_attr_t attr;
  pthread_t th;
  plugin_wait *w = calloc(1, sizeof *w);
  int rc;

  if (w == NULL)
    return NULL;
  w->fn = fn;
  w->arg = arg;
  w->release = release;
  pthread_mutex_init(&w->lock, NULL);
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&w->cond, &ca);
  pthread_condattr_destroy(&ca);
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  rc = pthread_create(&th, &attr, run_waited, w);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    wait_free(w);
    return NULL;
  }
  return w;
}

bool plugin_call_join(plugin_wait *w, const struct timespec *until) {
  bool done;

  pthread_mutex_lock(&w->lock);
  while (!w->done && pthread_cond_timedwait(&w->cond, &w->lock, until) == 0)
    ;
  done = w->done;
  w->abandoned = !done;
  pthread_mutex_unlock(&w->lock);
  if (done)
    wait_free(w);
  return done;
}
