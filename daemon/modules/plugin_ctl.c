/* plugin_ctl.c - plugin nodes, control side.  See plugin_ctl.h. */
#include "daemon/modules/plugin_ctl.h"

#include "daemon/engine/module.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "daemon/backend/backend.h"
#include "daemon/net/client.h"
#include "daemon/engine/engine_ctl.h"
#include "daemon/net/events.h"
#include "daemon/modules/graph_ctl.h"
#include "daemon/modules/plugin_call.h"
#include "daemon/modules/plugin_lv2.h"
#include "daemon/base/log.h"
#include "daemon/net/reply.h"
#include "protocol/errors.h"
#include "protocol/wire.h"

#ifndef SONOD_VST_SCAN_BUILD
#define SONOD_VST_SCAN_BUILD ""
#endif

static pnode *nodes;          /* newest last */
static unsigned nnodes;       /* including those being unloaded */
static uint32_t next_id = 1;

/* What plugins report back (automation, MIDI out, lost events) is polled
 * rather than pushed: the host callback only flips lock-free counters and
 * bits, and the poll turns whatever piled up since the last one into at
 * most one event per parameter.  25 times a second is quick enough for a
 * knob on a screen and bounds the event rate per parameter. */
#define POLL_MS 40
#define POLL_BATCH 64

static uv_timer_t poll_timer;
static bool poll_inited;

void plugin_ctl_scanner(void) {
  static bool done;
  const char *b;

  if (done)
    return;
  done = true;
  if (getenv("SONOD_VST_SCAN") != NULL)
    return;
  b = vst_scan_binary();
  if ((b == NULL || access(b, X_OK) != 0) && SONOD_VST_SCAN_BUILD[0] != '\0' &&
      access(SONOD_VST_SCAN_BUILD, X_OK) == 0)
    vst_scan_set_binary(SONOD_VST_SCAN_BUILD);
}

pnode *plugin_ctl_find(uint32_t id) {
  pnode *n;

  for (n = nodes; n != NULL; n = n->next)
    if (n->id == id && !n->removing)
      return n;
  return NULL;
}

uint32_t plugin_ctl_take_id(void) {
  return next_id++;
}

pnode *plugin_ctl_first(void) {
  return nodes;
}

static bool anyone_listens(sonod *d) {
  client *c;

  for (c = d->clients; c != NULL; c = c->next)
    if (c->events & EV_PLUGIN)
      return true;
  return false;
}

static void error_event(sonod *d, pnode *n, const char *code, uint32_t count, const char *fmt,
                        ...) __attribute__((format(printf, 5, 6)));

/* Lost or displaced events are errors the clients must see, and the log
 * keeps them for whoever was not subscribed. */
static void error_event(sonod *d, pnode *n, const char *code, uint32_t count, const char *fmt,
                        ...) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  char msg[300];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  log_error("plugin: node %u: %s", n->id, msg);
  events_begin(&sb, &pk, "plugin.error", 4);
  sono_pack_key_uint(&pk, "node", n->id);
  sono_pack_key_str(&pk, "code", code);
  sono_pack_key_uint(&pk, "count", count);
  sono_pack_key_str(&pk, "message", msg);
  events_emit(d, EV_PLUGIN, &sb);
}

/* plugin.param events: the changes the plugin made itself, each with its
 * display text, which is plugin code: asked on the plugin-call thread with
 * the deadline (plugin_call), the events sent when it answered.  Past the
 * deadline, or for a node that hung before or is being unloaded, they go
 * with display nil. */
typedef struct param_job {
  uint32_t node;
  vst_instance *inst;
  unsigned count, cap;
  vst_param_change *pc;
  char (*display)[VST_STR_LEN];
} param_job;

static void param_job_free(param_job *j) {
  free(j->pc);
  free(j->display);
  free(j);
}

static void param_events(sonod *d, const param_job *j, bool displays) {
  for (unsigned i = 0; i < j->count; i++) {
    msgpack_sbuffer sb;
    msgpack_packer pk;

    events_begin(&sb, &pk, "plugin.param", 4);
    sono_pack_key_uint(&pk, "node", j->node);
    sono_pack_key_int(&pk, "index", j->pc[i].index);
    sono_pack_key_double(&pk, "value", j->pc[i].value);
    if (displays)
      sono_pack_key_str(&pk, "display", j->display[i]);
    else {
      sono_pack_cstr(&pk, "display");
      msgpack_pack_nil(&pk);
    }
    events_emit(d, EV_PLUGIN, &sb);
  }
}

static void displays_fn(void *arg) {
  param_job *j = arg;

  for (unsigned i = 0; i < j->count; i++)
    vst_param_display(j->inst, j->pc[i].index, j->display[i], VST_STR_LEN, NULL);
}

static void displays_done(sonod *d, void *arg, plugin_call_end end) {
  param_job *j = arg;

  if (end == PLUGIN_CALL_TIMEOUT) {
    param_events(d, j, false);
    return;   /* the thread still has j */
  }
  if (end == PLUGIN_CALL_DONE)
    param_events(d, j, true);
  param_job_free(j);
}

static void param_changes(sonod *d, pnode *n, bool tell) {
  vst_param_change pc[POLL_BATCH];
  param_job *j = tell ? calloc(1, sizeof *j) : NULL;
  unsigned got;

  if (j != NULL) {
    j->node = n->id;
    j->inst = n->inst;
  }
  do {
    got = vst_take_param_changes(n->inst, pc, POLL_BATCH);
    if (j == NULL || got == 0)
      continue;
    if (j->count + got > j->cap) {
      unsigned cap = j->cap ? 2 * j->cap : POLL_BATCH;
      vst_param_change *p = realloc(j->pc, cap * sizeof *p);

      if (p == NULL)
        continue;   /* out of memory: these go untold */
      j->pc = p;
      j->cap = cap;
    }
    memcpy(j->pc + j->count, pc, got * sizeof *pc);
    j->count += got;
  } while (got == POLL_BATCH);
  if (j == NULL)
    return;
  if (j->count == 0) {
    param_job_free(j);
    return;
  }
  /* A node being unloaded is not asked: its instance is closed next. */
  if (n->hung != NULL || n->removing ||
      (j->display = calloc(j->count, sizeof *j->display)) == NULL ||
      plugin_call(d, n, "effGetParamDisplay", displays_fn, displays_done, j) != 0) {
    param_events(d, j, false);
    param_job_free(j);
  }
}

/* The sysex the plugin sent: a plugin.midi event each, its whole message. */
static void sysex_events(sonod *d, pnode *n, bool tell) {
  static uint8_t buf[VST_SYSEX_OUT_MAX];
  int64_t frame;
  int32_t delta;
  size_t len;

  while ((len = vst_take_sysex_out(n->inst, &frame, &delta, buf, sizeof buf)) > 0 &&
         len <= sizeof buf) {
    msgpack_sbuffer sb;
    msgpack_packer pk;

    if (!tell)
      continue;
    events_begin(&sb, &pk, "plugin.midi", 3);
    sono_pack_key_uint(&pk, "node", n->id);
    sono_pack_key_uint(&pk, "frame", frame < 0 ? 0 : (uint64_t)frame);
    sono_pack_cstr(&pk, "bytes");
    msgpack_pack_bin(&pk, len);
    msgpack_pack_bin_body(&pk, buf, len);
    events_emit(d, EV_PLUGIN, &sb);
  }
}

/* Drains everything the node recorded since the last poll.  The counters
 * and queues are always emptied, listeners or not, so that a client that
 * subscribes later is not flooded with stale news. */
static void poll_node(sonod *d, pnode *n) {
  vst_midi_out mo[POLL_BATCH];
  bool tell = anyone_listens(d);
  unsigned got, i;
  uint32_t count;

  vst_reclaim(n->inst);
  plugin_lv2_poll_outputs(d, n, tell);
  plugin_lv2_poll_properties(d, n, tell);
  if (n->lv2 != NULL) {
    lv2_reclaim(n->lv2);
    if ((count = lv2_take_overflow(n->lv2)) > 0)
      error_event(d, n, "midi_overflow", count,
                  "%u MIDI events did not fit the plugin's atom buffer and were dropped", count);
    if ((count = lv2_take_worker_dropped(n->lv2)) > 0)
      error_event(d, n, "worker_dropped", count,
                  "%u requests or answers of the plugin's worker did not fit its ring", count);
  }
  /* While a call runs in the node, its changes wait (they are kept per
   * parameter, the latest value): their displays are asked after it. */
  if (!tell || n->busy == NULL)
    param_changes(d, n, tell);
  do {
    got = vst_take_midi_out(n->inst, mo, POLL_BATCH);
    for (i = 0; tell && i < got; i++) {
      msgpack_sbuffer sb;
      msgpack_packer pk;

      events_begin(&sb, &pk, "plugin.midi", 3);
      sono_pack_key_uint(&pk, "node", n->id);
      sono_pack_key_uint(&pk, "frame", mo[i].frame < 0 ? 0 : (uint64_t)mo[i].frame);
      sono_pack_cstr(&pk, "bytes");
      msgpack_pack_bin(&pk, mo[i].len);
      msgpack_pack_bin_body(&pk, mo[i].data, mo[i].len);
      events_emit(d, EV_PLUGIN, &sb);
    }
  } while (got == POLL_BATCH);
  sysex_events(d, n, tell);
  if ((count = vst_take_overflow(n->inst)) > 0)
    error_event(d, n, "midi_overflow", count,
                "%u MIDI events did not fit the plugin's event buffer and were dropped", count);
  if ((count = vst_take_missed(n->inst)) > 0) {
    n->missed += count;
    error_event(d, n, "deadline", count,
                "%u blocks: the plugin's host missed its deadline; they were silent", count);
  }
  if ((count = vst_take_non_finite(n->inst)) > 0)
    error_event(d, n, "non_finite", count,
                "%u blocks: the plugin output NaN or infinite samples; they were made silent",
                count);
  if ((count = vst_take_late(n->inst)) > 0)
    error_event(d, n, "midi_late", count,
                "%u MIDI events were due after their block and went to its last frame", count);
  if ((count = vst_take_midi_out_dropped(n->inst)) > 0)
    error_event(d, n, "midi_out_dropped", count,
                "%u MIDI events the plugin sent were dropped (queue full, sysex longer than "
                "%u bytes, or sent outside its process call)", count, VST_SYSEX_OUT_MAX);
}

static void on_poll(uv_timer_t *t) {
  sonod *d = t->data;
  pnode *n;

  if (nodes == NULL) {
    uv_timer_stop(t);   /* nothing to watch until the next load */
    return;
  }
  for (n = nodes; n != NULL; n = n->next)
    poll_node(d, n);
}

static void poll_start(sonod *d) {
  if (!poll_inited) {
    uv_timer_init(d->loop, &poll_timer);
    poll_timer.data = d;
    /* Closed by plugin_ctl_shutdown; unref'd so that it alone never keeps
     * the loop running. */
    uv_unref((uv_handle_t *)&poll_timer);
    poll_inited = true;
  }
  if (!uv_is_active((uv_handle_t *)&poll_timer))
    uv_timer_start(&poll_timer, on_poll, POLL_MS, POLL_MS);
}

/* Bytes of every state being gathered in pieces. */
static size_t pieces_held;

void plugin_ctl_pieces_drop(pnode *n) {
  if (n->pieces == NULL)
    return;
  pieces_held -= n->pieces_total;
  free(n->pieces);
  n->pieces = NULL;
  n->pieces_len = n->pieces_total = 0;
}

int plugin_ctl_piece(pnode *n, uint32_t client, uint64_t offset, uint64_t total, const void *data,
                     size_t len, size_t *received, const unsigned char **whole, const char **code,
                     char *err, size_t errlen) {
  *whole = NULL;
  *code = SONO_E_BAD_VALUE;
  if (total == 0 || total > PLUGIN_PIECES_MAX || total > INT32_MAX) {
    snprintf(err, errlen, "'total' must be from 1 to %u bytes", PLUGIN_PIECES_MAX);
    return -1;
  }
  if (offset > total || len > total - offset) {
    snprintf(err, errlen, "a piece of %zu bytes at offset %llu does not fit in 'total' %llu",
             len, (unsigned long long)offset, (unsigned long long)total);
    return -1;
  }
  if (offset == 0) {
    plugin_ctl_pieces_drop(n);
    if (pieces_held + total > PLUGIN_PIECES_MAX) {
      *code = SONO_E_LIMIT;
      snprintf(err, errlen, "states being sent in pieces take %zu bytes; %llu more is over the "
               "%u-byte limit", pieces_held, (unsigned long long)total, PLUGIN_PIECES_MAX);
      return -1;
    }
    if ((n->pieces = malloc(total)) == NULL) {
      *code = SONO_E_INTERNAL;
      snprintf(err, errlen, "out of memory for a %llu-byte state", (unsigned long long)total);
      return -1;
    }
    pieces_held += total;
    n->pieces_total = total;
    n->pieces_client = client;
  } else if (n->pieces == NULL || n->pieces_client != client || n->pieces_total != total ||
             n->pieces_len != offset) {
    if (n->pieces == NULL || n->pieces_client != client)
      snprintf(err, errlen, "no piece at offset 0 started this state (the first piece has "
               "offset 0)");
    else if (n->pieces_total != total)
      snprintf(err, errlen, "'total' %llu is not the %zu bytes the first piece gave",
               (unsigned long long)total, n->pieces_total);
    else
      snprintf(err, errlen, "the next piece starts at offset %zu, not %llu", n->pieces_len,
               (unsigned long long)offset);
    return -1;
  }
  memcpy(n->pieces + offset, data, len);
  n->pieces_len = offset + len;
  *received = n->pieces_len;
  if (n->pieces_len == n->pieces_total)
    *whole = n->pieces;
  return 0;
}


/* ---- isolated plugins: the host's death ---- */

static sonod *watch_d;   /* the daemon, for the exit callbacks */

static void watch_closed(uv_handle_t *h) {
  free(h);
}

static void watch_stop(pnode *n) {
  if (n->watch != NULL) {
    uv_poll_stop(n->watch);
    uv_close((uv_handle_t *)n->watch, watch_closed);
    n->watch = NULL;
  }
}

static void on_host_exit(uv_poll_t *h, int status, int events) {
  pnode *n = h->data;
  sonod *d = watch_d;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  char how[128];
  int ws = 0;

  (void)status;
  (void)events;
  if (!vst_isolated_reap(n->inst, &ws))
    return;
  watch_stop(n);
  n->crashed = true;
  if (n->killed_for != NULL)
    snprintf(how, sizeof how, "killed: %s did not return within %u ms", n->killed_for,
             plugin_call_deadline_ms());
  else if (WIFSIGNALED(ws))
    snprintf(how, sizeof how, "killed by signal %d", WTERMSIG(ws));
  else
    snprintf(how, sizeof how, "exited with status %d", WIFEXITED(ws) ? WEXITSTATUS(ws) : -1);
  log_error("plugin: node %u (%s): its host process %s; the node is silent until plugin.restart",
            n->id, n->path, how);
  events_begin(&sb, &pk, "plugin.crashed", 3);
  sono_pack_key_uint(&pk, "node", n->id);
  sono_pack_key_str(&pk, "path", n->path);
  sono_pack_key_str(&pk, "reason", how);
  events_emit(d, EV_PLUGIN, &sb);
}

static void watch_start(sonod *d, pnode *n) {
  int fd = vst_isolated_pidfd(n->inst);

  watch_d = d;
  if (fd < 0 || (n->watch = calloc(1, sizeof *n->watch)) == NULL)
    return;
  if (uv_poll_init(d->loop, n->watch, fd) != 0) {
    free(n->watch);
    n->watch = NULL;
    return;
  }
  n->watch->data = n;
  uv_poll_start(n->watch, UV_READABLE, on_host_exit);
  uv_unref((uv_handle_t *)n->watch);
}

int plugin_ctl_restart_check(const pnode *n, const char **code, char *err, size_t errlen) {
  *code = SONO_E_BAD_VALUE;
  if (!n->isolated) {
    snprintf(err, errlen, "node %u runs inside the daemon; only isolated plugins restart", n->id);
    return -1;
  }
  if (!n->crashed) {
    snprintf(err, errlen, "node %u has not crashed", n->id);
    return -1;
  }
  return 0;
}

void plugin_ctl_restarted(sonod *d, pnode *n, bool running) {
  if (running) {
    n->crashed = false;
    n->killed_for = NULL;
    log_info("plugin: node %u restarted", n->id);
  }
  else
    vst_isolated_kill(n->inst);   /* came back past its deadline: the watch reaps it */
  watch_start(d, n);
}

const char *plugin_ctl_state(const pnode *n) {
  return n->crashed ? "crashed" : n->hung != NULL ? "hung" : "running";
}

/* Plugin code runs while it loads (its entry function, effOpen, resume)
 * and closes, and plugins are free to keep global state that is not safe
 * against a second instance being created or closed at the same time.  So
 * loads and closes take turns, whichever thread they are on (the scans
 * before loads, child processes and a locked cache, run in parallel).  A
 * close past its deadline gives up its turn (its plugin sleeps or spins;
 * better than no load ever again). */
static pthread_mutex_t turn_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_free = PTHREAD_COND_INITIALIZER;
static bool turn_taken;

static void turn_take(void) {
  pthread_mutex_lock(&turn_lock);
  while (turn_taken)
    pthread_cond_wait(&turn_free, &turn_lock);
  turn_taken = true;
  pthread_mutex_unlock(&turn_lock);
}

static void turn_give(void) {
  pthread_mutex_lock(&turn_lock);
  turn_taken = false;
  pthread_cond_signal(&turn_free);
  pthread_mutex_unlock(&turn_lock);
}

/* effClose off the loop, with a deadline (plugin_call.c): only the
 * instance goes there, the node is freed at once. */
typedef struct unload_job {
  vst_instance *inst;
  atomic_bool turn_held;    /* the close's turn, given back once */
} unload_job;

static void unload_fn(void *arg) {
  unload_job *j = arg;

  if (vst_is_isolated(j->inst)) {   /* its code runs in its own process */
    vst_unload(j->inst);
    return;
  }
  turn_take();
  atomic_store(&j->turn_held, true);
  vst_unload(j->inst);
  if (atomic_exchange(&j->turn_held, false))
    turn_give();
}

static void unload_done(sonod *d, void *arg, plugin_call_end end) {
  unload_job *j = arg;

  (void)d;
  if (end == PLUGIN_CALL_TIMEOUT) {
    log_error("plugin: an unloaded plugin's effClose hangs; its instance is left behind");
    if (atomic_exchange(&j->turn_held, false))
      turn_give();
    return;   /* the thread still has j */
  }
  free(j);
}

/* effClose off the loop; on the loop itself if no thread can start. */
static void close_instance(sonod *d, vst_instance *inst) {
  unload_job *uj = calloc(1, sizeof *uj);

  if (uj == NULL ||
      (uj->inst = inst, plugin_call(d, NULL, "effClose", unload_fn, unload_done, uj)) != 0) {
    free(uj);
    turn_take();
    vst_unload(inst);
    turn_give();
  }
}

void plugin_ctl_close_instance(sonod *d, vst_instance *inst) {
  close_instance(d, inst);
}

static void node_free(sonod *d, pnode *n) {
  pnode **link;
  bool prep_keeps;

  plugin_ctl_pieces_drop(n);
  /* A re-prepare call still running keeps the rt_node (it holds the audio
   * thread out with it) and the instance: it frees and closes them once
   * it has returned (plugin_prepare.c). */
  prep_keeps = plugin_prepare_forget(d, n);

  for (link = &nodes; *link != NULL; link = &(*link)->next)
    if (*link == n) {
      *link = n->next;
      nnodes--;
      break;
    }
  if (n->rt != NULL) {
    rt_midi_batch *b = n->rt->batches, *next;
    for (; b != NULL; b = next) {
      next = b->next;
      plugin_ctl_batch_free(b);
    }
    n->rt->batches = NULL;
    if (!prep_keeps)
      free(n->rt);
  }
  watch_stop(n);
  if (prep_keeps) {
    log_warn("plugin: node %u unloaded while its effSetBlockSize runs: its instance is closed "
             "once that returns", n->id);
    if (n->isolated)
      vst_isolated_kill(n->inst);
  } else if (n->hung != NULL) {
    log_warn("plugin: node %u hung in %s: its instance is left behind, not closed", n->id, n->hung);
  } else if (n->busy != NULL) {
    /* A call still runs in the instance on its thread (a session save's
     * snapshot when state.load or shutdown unloads everything): closing it
     * now would free what that thread reads.  It is left behind like a
     * hung one; an isolated one's host is stopped, which ends the call. */
    log_warn("plugin: node %u unloaded while its %s runs: its instance is left behind, not "
             "closed", n->id, n->busy);
    if (n->isolated)
      vst_isolated_kill(n->inst);
  } else {
    close_instance(d, n->inst);
  }
  plugin_snapshot_free(n->saved);
  if (n->lv2_ports != NULL)
    lv2_describe_free(n->lv2_ports);
  free(n->path);
  free(n);
}

/* Loads take turns with each other and with closes (turn_take above);
 * isolated ones run their plugin's code in its own process and need not. */
static unsigned loading;      /* jobs in the thread pool */

static int limit_check(const char **code, char *err, size_t errlen) {
  if (nnodes + loading >= RT_NODES_MAX) {
    *code = SONO_E_LIMIT;
    snprintf(err, errlen, "%u plugins are loaded or loading, the most the engine holds; "
             "unload one first", nnodes + loading);
    return -1;
  }
  return 0;
}

static void config_of(sonod *d, vst_config *cfg, int isolate) {
  vst_config_init(cfg);
  cfg->sample_rate = d->eng.sample_rate;
  cfg->max_block = d->be->block_size;
  cfg->offline = strcmp(d->be->ops->name, "offline") == 0;
  cfg->isolate = isolate < 0 ? d->opt.isolate_plugins != 0 : isolate != 0;
  cfg->deadline_us = d->opt.isolate_deadline_ms * 1000u;
  /* The proxy's own wait for an answer: a backstop at twice the deadline
   * of the calls off the loop (plugin_call.c), whose timer must be first to
   * kill a host that hangs (the request is then answered `timeout`, not
   * `crashed`); it bounds the few isolated calls still on the loop. */
  cfg->call_timeout_ms = 2 * plugin_call_deadline_ms();
  /* The host's processing thread in the engine's scheduling class: the
   * SCHED_FIFO priority of JACK's process thread (or the null clock's),
   * plain scheduling when the engine has none (offline, JACK without
   * realtime). */
  cfg->rt_priority = d->be->ops->rt_priority != NULL ? d->be->ops->rt_priority(d->be) : 0;
}

/* The slow part: the scan in a child process, then the load in this
 * process.  Any thread; touches nothing of the daemon's. */
static int scan_and_load(const char *path, unsigned timeout_ms, const vst_config *cfg,
                         vst_instance **inst, char *err, size_t errlen) {
  char verr[VST_ERR_LEN];
  vst_info info;
  int rc;

  verr[0] = '\0';
  if (cfg->open_effect != NULL) {
    /* LV2: no scan child (lilv reads only data until instantiation); the
     * URI was resolved and confined by the caller. */
    if (!cfg->isolate)
      turn_take();
    rc = vst_load(path, cfg, inst, verr);
    if (!cfg->isolate)
      turn_give();
    if (rc != VST_OK) {
      snprintf(err, errlen, "%s (%s)", verr, vst_status_name(rc));
      return rc;
    }
    return 0;
  }
  rc = vst_scan(path, timeout_ms, &info, verr);
  if (rc == VST_E_TIMEOUT) {
    snprintf(err, errlen, "the plugin hung while loading: %s (%s)", verr, vst_status_name(rc));
    return -1;
  }
  if (rc != VST_OK) {
    snprintf(err, errlen, "%s (%s)", verr, vst_status_name(rc));
    return -1;
  }
  if (!cfg->isolate)
    turn_take();
  rc = vst_load(path, cfg, inst, verr);
  /* The parameters' names and properties, read here rather than at the
   * first request on the control loop (an isolated plugin answers each
   * question with a round trip to its host). */
  if (rc == VST_OK && (rc = vst_params_prepare(*inst, verr)) != VST_OK) {
    vst_unload(*inst);
    *inst = NULL;
  }
  if (!cfg->isolate)
    turn_give();
  if (rc != VST_OK) {
    snprintf(err, errlen, "%s (%s)", verr, vst_status_name(rc));
    return -1;
  }
  return 0;
}

/* The quick part, on the control thread: registers a loaded instance and
 * hands it to the audio thread.  Unloads it on failure. */
static int attach(sonod *d, const char *path, vst_instance *inst, unsigned evcap, pnode **out,
                  const char **code, char *err, size_t errlen) {
  pnode *n;
  rt_node *rt;
  rt_cmd cmd;

  if (nnodes >= RT_NODES_MAX) {
    vst_unload(inst);
    *code = SONO_E_LIMIT;
    snprintf(err, errlen, "%u plugins are loaded, the most the engine holds; unload one first",
             nnodes);
    return -1;
  }
  n = calloc(1, sizeof *n);
  rt = calloc(1, sizeof *rt);
  if (n != NULL && rt != NULL)
    n->path = strdup(path);
  if (n == NULL || rt == NULL || n->path == NULL) {
    free(rt);
    if (n != NULL)
      free(n->path);
    free(n);
    vst_unload(inst);
    *code = SONO_E_INTERNAL;
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  /* Prepared for the period in the thread pool (load_work); if JACK's
   * period grew again since, its calls are split until the next
   * re-prepare (no plugin call on the loop). */
  n->block = vst_get_max_block(inst);
  /* The graph owns the port buffers (graph_plan.c). */
  rt->nin = vst_get_info(inst)->num_inputs > 0 ? (unsigned)vst_get_info(inst)->num_inputs : 0;
  rt->nout = vst_get_info(inst)->num_outputs > 0 ? (unsigned)vst_get_info(inst)->num_outputs : 0;
  rt->inst = inst;
  rt->ctl = n;
  n->inst = inst;
  n->rt = rt;
  n->evcap = evcap;
  n->id = rt->id = next_id;
  {
    char label[160];
    snprintf(label, sizeof label, "node %u (%s)", n->id, path);
    vst_set_label(inst, label);
  }

  memset(&cmd, 0, sizeof cmd);
  cmd.type = RT_CMD_NODE_ADD;
  cmd.at_kind = RT_AT_NOW;
  cmd.u.ptr = rt;
  if (engine_ctl_push(d, &cmd) != 0) {
    free(rt);
    free(n->path);
    free(n);
    vst_unload(inst);
    *code = SONO_E_QUEUE_FULL;
    snprintf(err, errlen, "the queue to the audio thread is full; retry shortly");
    return -1;
  }
  next_id++;
  {
    pnode **link = &nodes;
    while (*link != NULL)
      link = &(*link)->next;
    *link = n;
  }
  nnodes++;
  graph_ctl_plugin_added(d, n->id, vst_get_info(inst)->name, rt);
  poll_start(d);
  n->isolated = vst_is_isolated(inst);
  n->lv2 = lv2_of(vst_get_effect(inst));
  n->is_lv2 = n->lv2 != NULL || lv2_is_target(path);
  if (n->is_lv2 && n->lv2 == NULL) {
    /* Isolated: the plugin runs in its host; its ports' symbols, ranges
     * and groups come from its data here. */
    char verr[VST_ERR_LEN];
    if ((n->lv2_ports = lv2_describe_ports(path, verr)) == NULL)
      log_warn("plugin: node %u: %s", n->id, verr);
  }
  if (n->isolated)
    watch_start(d, n);
  log_info("plugin: loaded %s as node %u", path, n->id);
  *out = n;
  return 0;
}

/* ---- loads and scans in the thread pool ---- */

typedef struct load_job {
  uv_work_t work;
  sonod *d;
  char *path;
  char *group;                /* the host group, NULL: a host of its own */
  unsigned timeout_ms;
  vst_config cfg;
  char *open_arg;          /* an isolated LV2 plugin: what its host is told */
  vst_instance *inst;
  int rc;
  char err[512];
  plugin_ctl_load_cb cb;
  void *ud;
} load_job;

static void load_work(uv_work_t *w) {
  load_job *j = w->data;

  if (j->cfg.open_effect != NULL) {
    /* An LV2 target (URI or bundle) becomes the plugin's URI, inside the
     * LV2 path: the name the node keeps (plugin.list, the session). */
    char uri[4096], verr[VST_ERR_LEN] = "";
    int rc = lv2_resolve(j->path, uri, sizeof uri, verr);
    char *copy = rc == VST_OK ? strdup(uri) : NULL;
    if (rc != VST_OK || copy == NULL) {
      j->rc = rc != VST_OK ? rc : VST_E_NOMEM;
      snprintf(j->err, sizeof j->err, "%s (%s)", rc != VST_OK ? verr : "out of memory",
               vst_status_name(j->rc));
      return;
    }
    free(j->path);
    j->path = copy;
    if (j->cfg.isolate && (j->cfg.open_arg = j->open_arg = lv2_isolate_arg(uri)) == NULL) {
      j->rc = VST_E_NOMEM;
      snprintf(j->err, sizeof j->err, "out of memory (%s)", vst_status_name(j->rc));
      return;
    }
  }
  j->rc = scan_and_load(j->path, j->timeout_ms, &j->cfg, &j->inst, j->err, sizeof j->err);
  if (j->rc == 0) {
    /* JACK's period grew past the size it was configured with while it
     * loaded (a re-prepare then did not know it): prepare it for the
     * period before the audio thread sees it; if that fails, its calls
     * are split.  The period is written by JACK's notification thread. */
    unsigned block = __atomic_load_n(&j->d->be->block_size, __ATOMIC_RELAXED);

    if (vst_get_max_block(j->inst) < block)
      (void)vst_reconfigure(j->inst, 0.0, block, NULL);
  }
}

/* The protocol's code for a failed load. */
static const char *load_code(int rc) {
  return rc == VST_E_UNSUPPORTED ? SONO_E_NOT_SUPPORTED
         : rc == VST_E_DENIED    ? SONO_E_DENIED
                                 : SONO_E_LOAD_FAILED;
}

static void load_after(uv_work_t *w, int status) {
  load_job *j = w->data;
  const char *code = SONO_E_LOAD_FAILED;
  pnode *n = NULL;

  (void)status;   /* never cancelled */
  loading--;
  if (j->d->stopping) {
    /* The engine is gone and so are the clients: nothing to attach to. */
    if (j->rc == 0)
      vst_unload(j->inst);
    log_info("plugin: %s finished loading during shutdown; unloaded", j->path);
  } else if (j->rc != 0 ||
             attach(j->d, j->path, j->inst, j->cfg.event_capacity, &n, &code, j->err,
                    sizeof j->err) != 0) {
    if (j->rc != 0)
      code = load_code(j->rc);
    j->cb(j->d, j->ud, j->path, NULL, code, j->err);
  } else {
    j->cb(j->d, j->ud, j->path, n, NULL, NULL);
  }
  free(j->open_arg);
  free(j->path);
  free(j->group);
  free(j);
}

int plugin_ctl_load_async(sonod *d, const char *path, unsigned timeout_ms, plugin_ctl_load_cb cb,
                          void *ud, const char **code, char *err, size_t errlen) {
  return plugin_ctl_load_iso(d, path, timeout_ms, -1, NULL, cb, ud, code, err, errlen);
}

int plugin_ctl_load_iso(sonod *d, const char *path, unsigned timeout_ms, int isolate,
                        const char *group, plugin_ctl_load_cb cb, void *ud, const char **code,
                        char *err, size_t errlen) {
  load_job *j;

  if (group != NULL)
    isolate = 1;
  else if (isolate < 0 && d->opt.isolate_plugins && d->opt.isolate_group[0] != '\0')
    group = d->opt.isolate_group;

  *code = SONO_E_LOAD_FAILED;
  if (limit_check(code, err, errlen) != 0)
    return -1;
  bool lv2 = lv2_is_target(path);
  if (!lv2) {
    /* Refused here already (the worker checks again before the scanner
     * child runs the file): outside the plugin paths, nothing is queued. */
    char real[PATH_MAX], verr[VST_ERR_LEN];
    if (vst_confine(path, real, sizeof real, verr) != VST_OK) {
      *code = SONO_E_DENIED;
      snprintf(err, errlen, "%s (denied)", verr);
      return -1;
    }
  }
  j = calloc(1, sizeof *j);
  if (j == NULL || (j->path = strdup(path)) == NULL ||
      (group != NULL && (j->group = strdup(group)) == NULL)) {
    if (j != NULL)
      free(j->path);
    free(j);
    *code = SONO_E_INTERNAL;
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  plugin_ctl_scanner();   /* on this thread: it may set the library's path */
  j->d = d;
  j->timeout_ms = timeout_ms;
  config_of(d, &j->cfg, isolate);
  j->cfg.host_group = j->group;
  if (lv2)
    j->cfg.open_effect = lv2_open_effect;   /* isolated: the host's own (lv2_host_main.c) */
  j->cb = cb;
  j->ud = ud;
  j->work.data = j;
  /* A queued work request keeps the loop running, so a shutdown waits
   * for the load (at most its scan timeout plus the load) and
   * load_after unloads what it brought. */
  if (uv_queue_work(d->loop, &j->work, load_work, load_after) != 0) {
    free(j->path);
    free(j->group);
    free(j);
    *code = SONO_E_INTERNAL;
    snprintf(err, errlen, "could not queue the load");
    return -1;
  }
  loading++;
  return 0;
}

int plugin_ctl_reserve_events(sonod *d, pnode *n, uint64_t more) {
  uint64_t need = n->outstanding + more;

  if (need > n->evcap) {
    uint64_t cap = (uint64_t)n->evcap * 2;
    vst_event_buf *buf;
    rt_cmd cmd;

    if (cap < need)
      cap = need;
    if (cap > UINT32_MAX / 2)
      return -2;
    if (n->lv2 != NULL && lv2_reserve_events(n->lv2, (unsigned)cap) != VST_OK)
      return -2;
    buf = vst_event_buf_new((unsigned)cap);
    if (buf == NULL)
      return -2;
    memset(&cmd, 0, sizeof cmd);
    cmd.type = RT_CMD_NODE_EVBUF;
    cmd.at_kind = RT_AT_NOW;
    cmd.u.node.id = n->id;
    cmd.u.node.buf = buf;
    if (engine_ctl_push(d, &cmd) != 0) {
      vst_event_buf_free(buf);
      return -1;
    }
    n->evcap = (unsigned)cap;
  }
  n->outstanding += more;
  return 0;
}

void plugin_ctl_unreserve_events(pnode *n, uint64_t count) {
  n->outstanding = count > n->outstanding ? 0 : n->outstanding - count;
}

void plugin_ctl_batch_free(rt_midi_batch *b) {
  uint32_t i;

  if (b == NULL)
    return;
  /* The audio thread clears sx once the instance owns it. */
  for (i = 0; i < b->nabs + b->nrel; i++)
    if (b->ev[i].sx != NULL)
      vst_sysex_free(b->ev[i].sx);
  free(b);
}

static bool plugin_ctl_handles(const rt_msg *m) {
  return m->cmd_type == RT_CMD_NODE_REMOVE || m->cmd_type == RT_CMD_MIDI ||
         m->cmd_type == RT_CMD_NODE_EVBUF;
}

static void batch_back(sonod *d, const rt_msg *m) {
  rt_midi_batch *b = m->garbage;
  pnode *n;

  (void)d;
  if (b == NULL)
    return;
  for (n = nodes; n != NULL; n = n->next)
    if (n->id == b->node) {
      plugin_ctl_unreserve_events(n, (uint64_t)b->nabs + b->nrel);
      /* Refused events also went into the overflow counter: poll_node
       * reports them as plugin.error. */
      vst_reclaim(n->inst);
      break;
    }
  plugin_ctl_batch_free(b);
}

static void plugin_ctl_msg(sonod *d, client *c, const rt_msg *m) {
  switch (m->cmd_type) {
  case RT_CMD_MIDI:
    if (m->type == RT_MSG_ACK) {
      if (c != NULL)
        reply_ok_frame(c, m->req_id, m->frame);
      return;
    }
    if (m->type == RT_MSG_ERROR && c != NULL) {
      if (m->code == RT_ERR_LATE)
        reply_error(c, true, m->req_id, SONO_E_LATE,
                    "plugin.midi: the first event is %llu frames in the past; the engine was at "
                    "frame %llu", (unsigned long long)m->value, (unsigned long long)m->frame);
      else
        reply_error(c, true, m->req_id, SONO_E_UNKNOWN_NODE,
                    "plugin.midi: node %llu was unloaded", (unsigned long long)m->value);
    }
    batch_back(d, m);
    break;
  case RT_CMD_NODE_REMOVE:
    if (m->type == RT_MSG_ACK && m->garbage != NULL) {
      rt_node *rt = m->garbage;
      pnode *n = rt->ctl;
      rt_midi_batch *b;

      /* Batches still active never send RT_MSG_DONE: give back their slot. */
      for (b = rt->batches; b != NULL; b = b->next)
        d->reserved -= 1;
      if (c != NULL)
        reply_ok_frame(c, m->req_id, m->frame);
      log_info("plugin: unloaded node %u", n->id);
      poll_node(d, n);   /* its last news */
      node_free(d, n);
    } else if (c != NULL) {
      reply_error(c, true, m->req_id, SONO_E_UNKNOWN_NODE, "plugin.unload: node %llu is not loaded",
                  (unsigned long long)m->value);
    }
    break;
  case RT_CMD_NODE_EVBUF:
    if (m->value != 0)
      log_error("plugin: a bigger event buffer was refused by the audio thread");
    vst_event_buf_free(m->garbage);
    break;
  default:
    break;
  }
}

static void plugin_ctl_drop_cmd(sonod *d, const rt_cmd *c) {
  (void)d;
  switch (c->type) {
  case RT_CMD_MIDI:
    plugin_ctl_batch_free(c->u.ptr);
    break;
  case RT_CMD_NODE_EVBUF:
    vst_event_buf_free(c->u.node.buf);
    break;
  case RT_CMD_NODE_ADD: {
    rt_node *rt = c->u.ptr;
    /* Never reached the audio thread: it is not in the engine's array, and
     * node_free below releases it with its record. */
    (void)rt;
    break;
  }
  default:
    break;
  }
}

static void plugin_ctl_shutdown(sonod *d) {
  if (poll_inited) {
    uv_close((uv_handle_t *)&poll_timer, NULL);
    poll_inited = false;
  }
  d->eng.nodes.n = 0;
  while (nodes != NULL)
    node_free(d, nodes);
}

/* Freewheeling plugins render offline (kVstProcessLevelOffline). */
static void plugin_ctl_freewheel(sonod *d, bool on) {
  (void)d;
  for (pnode *n = plugin_ctl_first(); n != NULL; n = n->next)
    vst_set_offline(n->inst, on);
}

/* Messages about plugin commands; a command never applied frees what it
 * carries; at shutdown every plugin is unloaded; JACK's period growth and
 * freewheel reach the plugins from the backend. */
const engine_module plugin_ctl_module = {
  .name = "plugin",
  .handles = plugin_ctl_handles,
  .msg = plugin_ctl_msg,
  .drop_cmd = plugin_ctl_drop_cmd,
  .shutdown = plugin_ctl_shutdown,
  .reprepare = plugin_ctl_reprepare,
  .freewheel = plugin_ctl_freewheel,
};
