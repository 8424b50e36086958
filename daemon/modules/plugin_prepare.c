/* plugin_prepare.c - re-preparing loaded plugins for a longer block
 * (JACK grew its period).  Control thread, but for prep_fn.  See
 * plugin_ctl.h.
 *
 * VST2 wants effMainsChanged(0) -> effSetBlockSize -> effMainsChanged(1)
 * off the audio thread and while the plugin is not processed, and plugin
 * code may take long there or never return: each node's re-prepare is a
 * call off the loop with the deadline (plugin_call.c), named
 * "effSetBlockSize", so the loop serves every client meanwhile.
 *
 * Serialised with the node's other control calls, as the dispatcher is not
 * thread safe: plugin_call runs one call per node at a time (pnode.busy).
 * A node busy with another call (a chunk get, a display) when the period
 * grows is marked prep_wanted and re-prepared when that call has ended
 * (plugin_prepare_idle, from plugin_call.c); requests to it meanwhile get
 * `busy`, as during any call.  A hung node is not called at all.  The
 * audio thread is kept out by the node's hold/busy flags (rt/nodes.h): the
 * call thread sets hold and waits for busy to clear before it calls the
 * plugin, the loop lets go when the call is done.  A call past its
 * deadline keeps the hold: in process the node is hung (unusable, silent
 * from then on); isolated, its host is killed (plugin_call.c) and the hold
 * is let go once the call has returned (the crashed node is silent until
 * plugin.restart, which prepares it for the new size).  When JACK stopped
 * its driver for the change (backend_jack_notify.c waits for the round)
 * nothing is skipped at all.
 *
 * A round is one request of the backend: every node prepared for less,
 * each counted until it is answered for (its plugin.prepared event sent,
 * or it was unloaded); done runs when none is left.  A node unloaded while
 * its call runs leaves its instance and rt_node to the call (node_free:
 * the audio thread has let go of the rt_node, the call thread has not),
 * which closes and frees them once it has returned. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "daemon/base/log.h"
#include "daemon/modules/plugin_call.h"
#include "daemon/modules/plugin_ctl.h"
#include "daemon/net/events.h"
#include "protocol/wire.h"

typedef struct prep_job {
  pnode *n;                /* loop: NULL once the node went (node_free) */
  vst_instance *inst;
  rt_node *rt;
  unsigned from, block;
  int rc;                  /* the call thread's, read once it returned */
  char err[VST_ERR_LEN];
  bool counted;            /* loop: still counted in the round */
} prep_job;

static struct {
  bool on;
  unsigned block;
  unsigned pending;        /* nodes not answered for yet, +1 while starting */
  unsigned prepared, failed;
  bool (*in_time)(void *);
  void *ctx;
  reprepare_done_fn done;
  void *arg;
} round;

static void settle(sonod *d) {
  if (!round.on || --round.pending > 0)
    return;
  round.on = false;
  round.done(d, round.arg, round.prepared, round.failed);
}

/* n answered for: logged, a plugin.prepared event, counted. */
static void answer(sonod *d, pnode *n, unsigned from, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void answer(sonod *d, pnode *n, unsigned from, bool ok, const char *fmt, ...) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  char msg[400];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (ok)
    log_info("plugin: node %u: %s", n->id, msg);
  else
    log_error("plugin: node %u: %s", n->id, msg);
  events_begin(&sb, &pk, "plugin.prepared", 5);
  sono_pack_key_uint(&pk, "node", n->id);
  sono_pack_key_uint(&pk, "block_size", ok ? round.block : from);
  sono_pack_key_uint(&pk, "previous", from);
  sono_pack_key_bool(&pk, "ok", ok);
  sono_pack_key_str(&pk, "message", msg);
  events_emit(d, EV_PLUGIN, &sb);
  if (ok)
    round.prepared++;
  else
    round.failed++;
  settle(d);
}

/* Sets hold and waits until the audio thread is out of the plugin: at
 * most the rest of one plugin call.  The call thread. */
static void hold(rt_node *rt) {
  const struct timespec pause = { 0, 50000 };

  atomic_store(&rt->hold, true);
  while (atomic_load(&rt->busy))
    nanosleep(&pause, NULL);
}

static void prep_fn(void *arg) {
  prep_job *j = arg;

  hold(j->rt);
  j->rc = vst_reconfigure(j->inst, 0.0, j->block, j->err);
}

static void prep_done(sonod *d, void *arg, plugin_call_end end) {
  prep_job *j = arg;
  pnode *n = j->n;

  if (end == PLUGIN_CALL_TIMEOUT) {
    if (n != NULL && j->counted) {
      j->counted = false;
      answer(d, n, j->from, false,
             "effSetBlockSize (re-preparing for %u frames) did not return within %u ms; %s",
             j->block, plugin_call_deadline_ms(),
             n->isolated ? "its host process is killed (plugin.restart brings it back, "
                           "prepared for the new size)"
                         : "the node is unusable and silent from now on (unload it)");
    }
    return;   /* the thread still has j */
  }
  /* The thread has returned. */
  if (n == NULL) {
    /* Unloaded meanwhile: what node_free left to the call. */
    free(j->rt);
    plugin_ctl_close_instance(d, j->inst);
    free(j);
    return;
  }
  n->prep = NULL;
  n->block = vst_get_max_block(n->inst);
  if (end == PLUGIN_CALL_LATE) {
    /* Past its deadline: in process hung for good, and held; an isolated
     * one's host was killed, and the node plays (silence) until it is
     * restarted. */
    if (n->isolated)
      atomic_store(&n->rt->hold, false);
    free(j);
    return;
  }
  atomic_store(&n->rt->hold, false);
  if (j->counted) {
    j->counted = false;
    if (j->rc != VST_OK)
      answer(d, n, j->from, false,
             "could not re-prepare for %u frames (%s); it keeps %u frames and longer periods "
             "are split into calls of that size", j->block, j->err, j->from);
    else
      answer(d, n, j->from, true, "re-prepared for %u-frame blocks (was %u)%s", j->block,
             j->from, round.in_time != NULL && !round.in_time(round.ctx)
                          ? ", after JACK restarted: skipped for the cycles it took"
                          : "");
  }
  free(j);
}

static void start(sonod *d, pnode *n) {
  prep_job *j = calloc(1, sizeof *j);

  if (j == NULL) {
    answer(d, n, n->block, false, "could not re-prepare for %u frames (out of memory); it "
           "keeps %u frames and longer periods are split", round.block, n->block);
    return;
  }
  j->n = n;
  j->inst = n->inst;
  j->rt = n->rt;
  j->from = n->block;
  j->block = round.block;
  j->counted = true;
  n->prep = j;
  if (plugin_call(d, n, "effSetBlockSize", prep_fn, prep_done, j) != 0) {
    n->prep = NULL;
    free(j);
    answer(d, n, n->block, false, "could not re-prepare for %u frames (no thread could be "
           "started); it keeps %u frames and longer periods are split", round.block, n->block);
  }
}

/* A node of the round whose turn it is: called, unless hung. */
static void go(sonod *d, pnode *n) {
  if (n->hung != NULL)
    answer(d, n, n->block, false, "not re-prepared for %u frames: the node is unusable since "
           "its %s did not return; it keeps %u frames", round.block, n->hung, n->block);
  else
    start(d, n);
}

void plugin_ctl_reprepare(sonod *d, unsigned block, bool (*in_time)(void *), void *ctx,
                          reprepare_done_fn done, void *arg) {
  pnode *n;

  if (round.on) {
    /* The backend asks one at a time; were it not, the second request
     * would only be answered at once. */
    log_warn("plugin: a re-prepare for %u frames asked while one runs; ignored", block);
    done(d, arg, 0, 0);
    return;
  }
  round.on = true;
  round.block = block;
  round.pending = 1;
  round.prepared = round.failed = 0;
  round.in_time = in_time;
  round.ctx = ctx;
  round.done = done;
  round.arg = arg;
  for (n = plugin_ctl_first(); n != NULL; n = n->next) {
    if (n->removing || n->block >= block)
      continue;
    round.pending++;
    if (n->busy != NULL)
      n->prep_wanted = true;   /* after that call: plugin_prepare_idle */
    else
      go(d, n);
  }
  settle(d);
}

void plugin_prepare_idle(sonod *d, pnode *n) {
  if (!n->prep_wanted || n->busy != NULL)
    return;
  n->prep_wanted = false;
  go(d, n);
}

bool plugin_prepare_forget(sonod *d, pnode *n) {
  prep_job *j = n->prep;

  if (n->prep_wanted) {
    n->prep_wanted = false;
    settle(d);
  }
  if (j == NULL)
    return false;
  n->prep = NULL;
  j->n = NULL;
  if (j->counted) {
    j->counted = false;
    settle(d);
  }
  return true;
}

void plugin_ctl_pack_prepared(msgpack_packer *pk) {
  unsigned k = 0;
  pnode *n;

  for (n = plugin_ctl_first(); n != NULL; n = n->next)
    if (!n->removing)
      k++;
  msgpack_pack_array(pk, k);
  for (n = plugin_ctl_first(); n != NULL; n = n->next) {
    if (n->removing)
      continue;
    msgpack_pack_map(pk, 3);
    sono_pack_key_uint(pk, "node", n->id);
    sono_pack_key_str(pk, "format", n->is_lv2 ? "lv2" : "vst2");
    sono_pack_key_uint(pk, "block_size", n->block);
  }
}
