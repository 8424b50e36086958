/* plugin_state.c - the plugins in the session file (STATE.md, `plugins`):
 * written from the registry (state chunk, every parameter, program), read
 * into a staged list, and restored in two steps: the current plugins are
 * unloaded (rank 100), then the file's are loaded one after the other on
 * the thread pool (rank 200), each started when the one before is
 * attached, so that they get their node ids in the file's order, as when
 * loading was synchronous.  Control thread only. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/base/log.h"
#include "daemon/base/options.h"
#include "daemon/engine/engine_ctl.h"
#include "daemon/lv2/lv2.h"
#include "daemon/modules/graph_ctl.h"
#include "daemon/modules/plugin_call.h"
#include "daemon/modules/plugin_ctl.h"
#include "daemon/modules/plugin_state.h"
#include "daemon/session/session.h"
#include "protocol/wire.h"

typedef struct st_plugin {
  uint32_t node;
  char *path;
  int program;
  void *state;                /* NULL when the plugin gave none */
  size_t state_len;
  float *params;
  unsigned nparams;
  int isolate;                /* 1, 0, or -1: not saved (the config decides) */
  char *host;                 /* its host group; NULL: a host of its own, or none */
} st_plugin;

typedef struct staged {
  st_plugin *pl;
  unsigned npl;
  unsigned next;              /* the plugin to load next */
  session_restore *job;
} staged;

/* ---- gathering: each plugin's state, off the loop ---- */

plugin_snapshot *plugin_ctl_snapshot(vst_instance *inst) {
  plugin_snapshot *s = calloc(1, sizeof *s);
  char err[VST_ERR_LEN];
  int i, np = vst_param_count(inst);

  if (s == NULL)
    return NULL;
  s->program = vst_program_get(inst);
  if (np > 0 && (s->params = calloc((size_t)np, sizeof *s->params)) == NULL) {
    free(s);
    return NULL;
  }
  s->nparams = np > 0 ? np : 0;
  for (i = 0; i < s->nparams; i++)
    vst_param_get(inst, i, &s->params[i], NULL);
  if (vst_state_get(inst, &s->state, &s->state_len, &s->kind, err) != VST_OK) {
    s->state = NULL;
    s->state_len = 0;
  }
  return s;
}

void plugin_snapshot_free(plugin_snapshot *s) {
  if (s == NULL)
    return;
  free(s->params);
  free(s->state);
  free(s);
}

typedef struct snap_job {
  session_gather *g;          /* NULL once its save went on without it */
  uint32_t node;
  vst_instance *inst;
  plugin_snapshot *snap;
} snap_job;

static void snap_fn(void *arg) {
  snap_job *j = arg;

  j->snap = plugin_ctl_snapshot(j->inst);
}

static void snap_release(void *arg) {
  snap_job *j = arg;

  plugin_snapshot_free(j->snap);
  free(j);
}

/* The snapshot replaces the node's last one. */
static void snap_keep(snap_job *j) {
  pnode *n = plugin_ctl_find(j->node);

  if (n != NULL && j->snap != NULL) {
    plugin_snapshot_free(n->saved);
    n->saved = j->snap;
    j->snap = NULL;
  }
}

static void snap_done(sonod *d, void *arg, plugin_call_end end) {
  snap_job *j = arg;

  (void)d;
  if (end == PLUGIN_CALL_TIMEOUT) {
    /* The node is hung now (or its host killed); the save goes on. */
    session_gather_late(j->g, j->node);
    session_gather_done(j->g);
    return;   /* the thread still has j */
  }
  if (end == PLUGIN_CALL_DONE) {
    snap_keep(j);
    session_gather_done(j->g);
  }
  snap_release(j);
}

/* Whether a save may call into n now: not while a request's call runs in
 * it (busy) or after one hung (it is written with its last snapshot). */
static bool askable(const pnode *n) {
  return !n->removing && n->hung == NULL && n->busy == NULL;
}

/* At shutdown: every askable node at once, each on a thread, all waited
 * for until one deadline.  A node that misses it is left to its thread
 * (hung: the unload that follows leaves it alone; isolated, its host is
 * killed too). */
static void gather_now(session_gather *g) {
  struct {
    plugin_wait *w;
    snap_job *j;
  } calls[RT_NODES_MAX];
  unsigned k, ncalls = 0;
  struct timespec until;
  unsigned ms = plugin_call_deadline_ms();
  pnode *n;

  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += ms / 1000;
  until.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  for (n = plugin_ctl_first(); n != NULL && ncalls < RT_NODES_MAX; n = n->next) {
    snap_job *j;

    if (!askable(n) || (j = calloc(1, sizeof *j)) == NULL)
      continue;
    j->node = n->id;
    j->inst = n->inst;
    if ((calls[ncalls].w = plugin_call_begin(snap_fn, j, snap_release)) == NULL) {
      free(j);
      continue;
    }
    calls[ncalls++].j = j;
  }
  for (k = 0; k < ncalls; k++) {
    snap_job *j = calls[k].j;
    uint32_t id = j->node;

    if (plugin_call_join(calls[k].w, &until)) {
      snap_keep(j);
      snap_release(j);
      continue;
    }
    session_gather_late(g, id);
    if ((n = plugin_ctl_find(id)) != NULL) {
      log_error("plugin: node %u: effGetChunk did not return within %u ms at shutdown; saved "
                "with its last state", id, ms);
      n->hung = "effGetChunk";
      if (n->isolated)
        vst_isolated_kill(n->inst);
    }
  }
}

static void gather_plugins(sonod *d, session_gather *g, bool now) {
  pnode *n;

  if (now) {
    gather_now(g);
    session_gather_done(g);
    return;
  }
  for (n = plugin_ctl_first(); n != NULL; n = n->next) {
    snap_job *j;

    if (!askable(n) || (j = calloc(1, sizeof *j)) == NULL)
      continue;
    j->g = g;
    j->node = n->id;
    j->inst = n->inst;
    session_gather_hold(g);
    if (plugin_call(d, n, "effGetChunk", snap_fn, snap_done, j) != 0) {
      free(j);
      session_gather_done(g);
    }
  }
  session_gather_done(g);
}

/* ---- writing ---- */

/* An LV2 state's files are kept with the session file (lv2_files.c):
 * copied beside it when outside its folder, named relative to it.  The
 * state as written (malloc'd, *len), or NULL: the snapshot's as it is. */
static char *keep_files(const pnode *n, const plugin_snapshot *s, size_t *len) {
  const char *path = session_saving_path();
  char err[VST_ERR_LEN];
  char *kept;

  if (path == NULL || !n->is_lv2 || s->kind != VST_STATE_CHUNK)
    return NULL;
  if (lv2_state_to_session(s->state, s->state_len, path, n->id, &kept, len, err) != VST_OK) {
    log_warn("state: node %u: its files are named where they are, not kept with %s: %s", n->id,
             path, err);
    return NULL;
  }
  return kept;
}

/* Each node with what the last save that could ask it got (gathered just
 * now for every node that answered); a node never asked, by its path. */
static void pack_plugins(sonod *d, msgpack_packer *pk) {
  pnode *n;
  uint32_t count = 0;

  (void)d;
  for (n = plugin_ctl_first(); n != NULL; n = n->next)
    if (!n->removing)
      count++;
  msgpack_pack_array(pk, count);
  for (n = plugin_ctl_first(); n != NULL; n = n->next) {
    const plugin_snapshot *s = n->saved;
    int i;

    if (n->removing)
      continue;
    msgpack_pack_map(pk, vst_isolated_group(n->inst) != NULL ? 8 : 7);
    sono_pack_key_uint(pk, "node", n->id);
    sono_pack_key_bool(pk, "isolated", n->isolated);
    if (vst_isolated_group(n->inst) != NULL)
      sono_pack_key_str(pk, "host", vst_isolated_group(n->inst));
    sono_pack_key_str(pk, "path", n->path);
    sono_pack_key_str(pk, "name", vst_get_info(n->inst)->name);
    sono_pack_key_int(pk, "program", s != NULL ? s->program : -1);
    sono_pack_cstr(pk, "params");
    msgpack_pack_array(pk, (uint32_t)(s != NULL ? s->nparams : 0));
    for (i = 0; s != NULL && i < s->nparams; i++)
      msgpack_pack_double(pk, s->params[i]);
    sono_pack_cstr(pk, "state");
    if (s != NULL && s->state != NULL) {
      size_t klen = 0;
      char *kept = keep_files(n, s, &klen);

      msgpack_pack_map(pk, 2);
      sono_pack_key_str(pk, "kind", s->kind == VST_STATE_CHUNK ? "chunk" : "params");
      session_pack_bin(pk, "data", kept != NULL ? kept : s->state,
                       kept != NULL ? klen : s->state_len);
      free(kept);
    } else {
      msgpack_pack_nil(pk);
    }
  }
}

/* ---- reading ---- */

static void free_plugins(void *p) {
  staged *s = p;
  unsigned i;

  for (i = 0; i < s->npl; i++) {
    free(s->pl[i].path);
    free(s->pl[i].host);
    free(s->pl[i].state);
    free(s->pl[i].params);
  }
  free(s->pl);
  free(s);
}

static int parse_plugins(const msgpack_object *o, void **out, char *err, size_t errlen) {
  const msgpack_object_array *a = session_array(o);
  staged *s = session_calloc(1, sizeof *s);
  uint32_t i, k;

  *out = s;
  if (a == NULL)
    return session_bad(err, errlen, "'plugins' must be an array");
  s->pl = session_calloc(a->size, sizeof *s->pl);
  for (i = 0; i < a->size; i++) {
    const msgpack_object *m = &a->ptr[i], *st;
    const msgpack_object_array *pa;
    st_plugin *p = &s->pl[s->npl];
    int64_t v;

    if (!session_is_map(m))
      return session_bad(err, errlen, "plugins[%u] must be a map", i);
    s->npl++;
    if (!session_int(sono_map_get(m, "node"), 0, UINT32_MAX, &v))
      return session_bad(err, errlen, "plugins[%u].node must be an unsigned integer", i);
    p->node = (uint32_t)v;
    if ((p->path = session_str(sono_map_get(m, "path"))) == NULL || p->path[0] == '\0')
      return session_bad(err, errlen, "plugins[%u].path must be a non-empty string", i);
    if (!session_int(sono_map_get(m, "program"), -1, INT32_MAX, &v))
      return session_bad(err, errlen, "plugins[%u].program must be an integer", i);
    p->program = (int)v;
    st = sono_map_get(m, "isolated");
    if (st != NULL && st->type != MSGPACK_OBJECT_BOOLEAN)
      return session_bad(err, errlen, "plugins[%u].isolated must be a bool", i);
    p->isolate = st == NULL ? -1 : st->via.boolean ? 1 : 0;
    st = sono_map_get(m, "host");
    if (st != NULL && (!session_opt_str(st, &p->host) ||
                       (p->host != NULL && !options_group_ok(p->host, strlen(p->host)))))
      return session_bad(err, errlen, "plugins[%u].host must be nil or a host group's name", i);
    if ((pa = session_array(sono_map_get(m, "params"))) == NULL)
      return session_bad(err, errlen, "plugins[%u].params must be an array of numbers", i);
    p->params = session_calloc(pa->size, sizeof *p->params);
    for (k = 0; k < pa->size; k++) {
      double d;
      if (!session_num(&pa->ptr[k], &d) || !(d >= 0.0 && d <= 1.0))
        return session_bad(err, errlen, "plugins[%u].params[%u] must be a number from 0 to 1",
                           i, k);
      p->params[k] = (float)d;
    }
    p->nparams = pa->size;
    st = sono_map_get(m, "state");
    if (st != NULL && st->type != MSGPACK_OBJECT_NIL) {
      const msgpack_object *data = session_is_map(st) ? sono_map_get(st, "data") : NULL;

      if (data == NULL || data->type != MSGPACK_OBJECT_BIN)
        return session_bad(err, errlen, "plugins[%u].state must be nil or a map with bin 'data'",
                           i);
      p->state_len = data->via.bin.size;
      if ((p->state = malloc(p->state_len ? p->state_len : 1)) == NULL)
        abort();
      memcpy(p->state, data->via.bin.ptr, p->state_len);
    }
  }
  return 0;
}

/* ---- restoring ---- */

/* Rank 100: the current plugins go (their nodes are freed when the audio
 * thread lets go of them); the file's come in, in the saved order. */
static void unload_plugins(session_restore *j, void *p) {
  sonod *d = session_sonod(j);
  unsigned count = 0, k = 0;
  uint32_t *ids;
  pnode *n;

  (void)p;
  for (n = plugin_ctl_first(); n != NULL; n = n->next)
    count += !n->removing;
  if ((ids = malloc((count ? count : 1) * sizeof *ids)) == NULL) {
    session_failed(j, "out of memory unloading %u plugins", count);
    session_step_done(j);
    return;
  }
  for (n = plugin_ctl_first(); n != NULL; n = n->next)
    if (!n->removing)
      ids[k++] = n->id;
  /* As plugin.unload: the plan without the nodes goes first, one plan for
   * them all (a plan per node cost a sort each: hundreds of plugins took
   * seconds of the control thread). */
  graph_ctl_nodes_removed(d, ids, count);
  free(ids);
  for (n = plugin_ctl_first(); n != NULL; n = n->next) {
    rt_cmd cmd;

    if (n->removing)
      continue;
    memset(&cmd, 0, sizeof cmd);
    cmd.type = RT_CMD_NODE_REMOVE;
    cmd.at_kind = RT_AT_NOW;
    cmd.u.node.id = n->id;
    if (engine_ctl_push(d, &cmd) == 0)
      n->removing = true;
    else
      session_failed(j, "plugin node %u could not be unloaded (queue full)", n->id);
  }
  session_step_done(j);
}

/* A saved plugin just loaded: its program, chunk and parameters, given on
 * the plugin-call thread with the deadline (plugin_call), from a copy of
 * what the file says (the thread may outlive the restore). */
typedef struct restore_job {
  staged *s;
  sonod *d;
  uint32_t saved, node;
  vst_instance *inst;
  int program;
  void *state;
  size_t state_len;
  float *params;
  unsigned nparams;
  bool refused;               /* the plugin refused the chunk */
  char err[VST_ERR_LEN];
} restore_job;

static void restore_job_free(restore_job *j) {
  free(j->state);
  free(j->params);
  free(j);
}

static void restore_fn(void *arg) {
  restore_job *j = arg;
  char verr[VST_ERR_LEN];
  int k;

  if (j->program >= 0 && j->program < vst_program_count(j->inst))
    vst_program_set(j->inst, j->program, verr);
  if (j->state != NULL && vst_state_set(j->inst, j->state, j->state_len, j->err) != VST_OK)
    j->refused = true;
  /* Then the parameters, always: some plugins' chunks hold their current
   * preset rather than the edited values (amsynth does). */
  for (k = 0; k < (int)j->nparams && k < vst_param_count(j->inst); k++)
    vst_param_set(j->inst, k, j->params[k], verr);
}

static void load_next(staged *s);

static void restore_done(sonod *d, void *arg, plugin_call_end end) {
  restore_job *j = arg;
  staged *s = j->s;

  if (end == PLUGIN_CALL_LATE || d->stopping) {
    /* Late: the restore went on without it.  Stopping: the restore is
     * gone (session_restore_abandon). */
    if (end != PLUGIN_CALL_TIMEOUT)
      restore_job_free(j);
    return;
  }
  if (end == PLUGIN_CALL_TIMEOUT) {
    session_failed(s->job, "plugin node %u (saved node %u): its program, state and parameters "
                   "were not all given: the plugin did not return within %u ms (the node is "
                   "unusable)", j->node, j->saved, plugin_call_deadline_ms());
  } else {
    if (j->refused)
      log_warn("state: node %u refused its saved chunk (%s); its parameters were restored",
               j->node, j->err);
    session_count_id(s->job, "plugins", j->saved, j->node);
  }
  s->next++;
  load_next(s);
  if (end == PLUGIN_CALL_DONE)
    restore_job_free(j);
}

/* Starts giving node n what the file saved for it; false when it could
 * not start (out of memory, no thread): then nothing was given. */
static bool plugin_restore(sonod *d, staged *s, const st_plugin *p, pnode *n) {
  restore_job *j = calloc(1, sizeof *j);

  if (j == NULL)
    return false;
  j->s = s;
  j->d = d;
  j->saved = p->node;
  j->node = n->id;
  j->inst = n->inst;
  j->program = p->program;
  j->nparams = p->nparams;
  if (p->nparams > 0 && (j->params = malloc(p->nparams * sizeof *j->params)) == NULL) {
    restore_job_free(j);
    return false;
  }
  if (p->state != NULL) {
    const void *state = p->state;
    size_t len = p->state_len;
    char *abs = NULL, verr[VST_ERR_LEN];

    /* An LV2 state names its files relative to the session's folder. */
    if (n->is_lv2 &&
        lv2_state_from_session(p->state, p->state_len, session_path(s->job), &abs, &len, verr) ==
            VST_OK)
      state = abs;
    else
      len = p->state_len;
    if ((j->state = malloc(len ? len : 1)) != NULL)
      memcpy(j->state, state, len);
    j->state_len = len;
    free(abs);
    if (j->state == NULL) {
      restore_job_free(j);
      return false;
    }
  }
  if (p->nparams > 0)
    memcpy(j->params, p->params, p->nparams * sizeof *j->params);
  if (plugin_call(d, n, "effSetProgram or effSetChunk", restore_fn, restore_done, j) != 0) {
    restore_job_free(j);
    return false;
  }
  return true;
}

static void on_plugin_loaded(sonod *d, void *ud, const char *path, pnode *node, const char *code,
                             const char *err) {
  staged *s = ud;
  const st_plugin *p = &s->pl[s->next];

  (void)path;
  (void)code;
  if (node != NULL && plugin_restore(d, s, p, node))
    return;   /* restore_done goes on */
  if (node == NULL)
    session_failed(s->job, "plugin %s (saved node %u) not loaded: %s", p->path, p->node, err);
  else
    session_failed(s->job, "plugin %s (saved node %u): its state could not be given (out of "
                   "memory)", p->path, p->node);
  s->next++;
  load_next(s);
}

static void load_next(staged *s) {
  while (s->next < s->npl) {
    const st_plugin *p = &s->pl[s->next];
    const char *code;
    char err[600];

    if (plugin_ctl_load_iso(session_sonod(s->job), p->path, 0, p->isolate,
                            p->isolate != 0 ? p->host : NULL, on_plugin_loaded, s,
                            &code, err, sizeof err) == 0)
      return;   /* on_plugin_loaded goes on */
    session_failed(s->job, "plugin %s (saved node %u) not loaded: %s", p->path, p->node, err);
    s->next++;
  }
  session_step_done(s->job);
}

/* Rank 200. */
static void load_plugins(session_restore *j, void *p) {
  staged *s = p;

  s->job = j;
  s->next = 0;
  load_next(s);
}

static unsigned total_plugins(const void *p) {
  return ((const staged *)p)->npl;
}

static const session_step steps[] = {
  { 100, unload_plugins },
  { 200, load_plugins },
};

static const session_tally tallies[] = {
  { "plugins", "node", 10, "plugins", total_plugins },
};

const session_section plugin_state_section = {
  .key = "plugins",
  .pack = pack_plugins,
  .gather = gather_plugins,
  .parse = parse_plugins,
  .free = free_plugins,
  .steps = steps,
  .nsteps = sizeof steps / sizeof steps[0],
  .tallies = tallies,
  .ntallies = sizeof tallies / sizeof tallies[0],
};
