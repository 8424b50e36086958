/* ops_plugin.c - the plugin.* operations: VST2 plugins as engine nodes
 * (plugin.midi, the longest, is ops_plugin_midi.c).  The registry and the
 * audio-thread hand-over are in modules/plugin_ctl.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/engine/engine_ctl.h"
#include "daemon/modules/graph_ctl.h"
#include "daemon/base/options.h"
#include "daemon/ops/ops.h"
#include "daemon/ops/plugin_job.h"
#include "daemon/modules/plugin_call.h"
#include "daemon/modules/plugin_ctl.h"
#include "daemon/modules/plugin_lv2.h"
#include "daemon/net/reply.h"
#include "daemon/session/session.h"
#include "protocol/errors.h"
#include "protocol/wire.h"

/* uri: the LV2 plugin's URI, NULL for a VST2 plugin. */
static void pack_info(msgpack_packer *pk, uint32_t node, const vst_info *in, const char *uri) {
  msgpack_pack_map(pk, uri != NULL ? 16 : 15);
  sono_pack_key_uint(pk, "node", node);
  sono_pack_key_str(pk, "format", uri != NULL ? "lv2" : "vst2");
  if (uri != NULL)
    sono_pack_key_str(pk, "uri", uri);
  sono_pack_key_str(pk, "name", in->name);
  sono_pack_key_str(pk, "vendor", in->vendor);
  sono_pack_key_str(pk, "product", in->product);
  sono_pack_key_int(pk, "unique_id", in->unique_id);
  sono_pack_key_int(pk, "version", in->version);
  sono_pack_key_str(pk, "category", vst_category_name(in->category));
  sono_pack_key_int(pk, "inputs", in->num_inputs);
  sono_pack_key_int(pk, "outputs", in->num_outputs);
  sono_pack_key_bool(pk, "synth", in->is_synth);
  sono_pack_key_int(pk, "params", in->num_params);
  sono_pack_key_int(pk, "programs", in->num_programs);
  sono_pack_key_int(pk, "latency", in->latency);
  sono_pack_key_int(pk, "flags", in->flags);
}

/* Reads "node"; replies and returns NULL when absent or unknown, when a
 * call into it runs off the loop (busy), or when one missed its deadline
 * (the node is unusable: only plugin.unload, `unload`, still takes it). */
static pnode *arg_node_for(request *r, bool unload, bool rt_only) {
  uint64_t id;
  pnode *n;

  if (!arg_uint(r, "node", true, &id))
    return NULL;
  n = id <= UINT32_MAX ? plugin_ctl_find((uint32_t)id) : NULL;
  if (n == NULL)
    reply_error(r->c, true, r->id, SONO_E_UNKNOWN_NODE, "%s: no plugin node %llu is loaded",
                r->op, (unsigned long long)id);
  else if (n->hung != NULL && !unload)
    reply_error(r->c, true, r->id, SONO_E_TIMEOUT, "%s: plugin node %u is unusable: its %s "
                "did not return within %u ms; unload it", r->op, n->id, n->hung,
                plugin_call_deadline_ms());
  else if (n->busy != NULL && !rt_only)
    reply_error(r->c, true, r->id, SONO_E_BUSY, "%s: plugin node %u is answering another "
                "request (%s); retry when it is done", r->op, n->id, n->busy);
  else
    return n;
  return NULL;
}

pnode *plugin_arg_node(request *r) {
  return arg_node_for(r, false, false);
}

pnode *plugin_arg_node_rt(request *r) {
  return arg_node_for(r, false, true);
}

/* Reads "index" or "name"; replies and returns -1 when neither or unknown. */
static int arg_param(request *r, pnode *n) {
  const char *name;
  size_t len;
  int64_t index;
  char buf[VST_STR_LEN], err[VST_ERR_LEN];
  int count = vst_param_count(n->inst), rc;

  if (sono_map_get(r->args, "index") != NULL && sono_map_get(r->args, "name") != NULL) {
    reply_error(r->c, true, r->id, SONO_E_BAD_REQUEST, "%s: give 'index' or 'name', not both",
                r->op);
    return -1;
  }
  if (sono_map_get(r->args, "index") != NULL) {
    if (!arg_int(r, "index", true, &index))
      return -1;
    if (index < 0 || index >= count) {
      reply_error(r->c, true, r->id, SONO_E_UNKNOWN_PARAM,
                  "%s: parameter index %lld is out of range; node %u has %d parameters (0..%d)",
                  r->op, (long long)index, n->id, count, count - 1);
      return -1;
    }
    return (int)index;
  }
  if (sono_map_get(r->args, "name") == NULL) {
    reply_error(r->c, true, r->id, SONO_E_MISSING_FIELD, "%s: give 'index' or 'name'", r->op);
    return -1;
  }
  if (!arg_str(r, "name", true, &name, &len))
    return -1;
  if (len >= sizeof buf)
    len = sizeof buf - 1;
  memcpy(buf, name, len);
  buf[len] = '\0';
  rc = vst_param_find(n->inst, buf, err);
  if (rc < 0)
    rc = plugin_lv2_param_by_symbol(n, buf);   /* an LV2 port's symbol */
  if (rc < 0) {
    reply_error(r->c, true, r->id, SONO_E_UNKNOWN_PARAM, "%s: node %u has no parameter named '%s'",
                r->op, n->id, buf);
    return -1;
  }
  return rc;
}

/* Reads "timeout" (ms the scan child may take): 0 when absent, which the
 * library turns into its 10 s.  Replies and returns false when bad. */
#define TIMEOUT_MAX_MS 600000

static bool arg_timeout(request *r, unsigned *ms) {
  uint64_t v = 0;

  *ms = 0;
  if (!arg_uint(r, "timeout", false, &v))
    return false;
  if (sono_map_get(r->args, "timeout") == NULL)
    return true;
  if (v == 0 || v > TIMEOUT_MAX_MS) {
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE,
                "%s: 'timeout' must be from 1 to %u ms, not %llu", r->op, TIMEOUT_MAX_MS,
                (unsigned long long)v);
    return false;
  }
  *ms = (unsigned)v;
  return true;
}

/* Who asked, for the reply once the load is done.  By id, not pointer:
 * the client may be gone by then. */
typedef struct load_req {
  uint32_t client;
  uint64_t id;
} load_req;

/* A client that disconnected while its load ran does not undo it: like
 * any request it sent, the load takes effect, and the node stays in the
 * graph (plugin.list, graph.get) for others to use or unload. */
static void load_done(sonod *d, void *ud, const char *path, pnode *n, const char *code,
                      const char *err) {
  load_req *lr = ud;
  client *c = client_find(d, lr->client);
  msgpack_sbuffer sb;
  msgpack_packer pk;

  if (n == NULL) {
    if (c != NULL)
      reply_error(c, true, lr->id, code, "plugin.load: %s: %s", path, err);
  } else {
    session_changed(d);
    if (c != NULL) {
      reply_begin(&sb, &pk, lr->id);
      pack_info(&pk, n->id, vst_get_info(n->inst), n->is_lv2 ? n->path : NULL);
      reply_end(c, &sb);
    }
  }
  free(lr);
}

void op_plugin_load(request *r) {
  const char *path;
  size_t len;
  char *p, err[512];
  const char *code;
  load_req *lr;
  unsigned timeout;
  bool isolate = false;
  int iso;

  /* An LV2 plugin by "uri" (or a bundle folder as "path"), a VST2 plugin
   * by "path". */
  if (sono_map_get(r->args, "uri") != NULL && sono_map_get(r->args, "path") != NULL) {
    reply_error(r->c, true, r->id, SONO_E_BAD_REQUEST, "plugin.load: give 'path' or 'uri', not both");
    return;
  }
  const msgpack_object *iso_arg = sono_map_get(r->args, "isolate");
  char group[64] = "";

  /* isolate: a bool, or a host group's name (several plugins, one host). */
  if (iso_arg != NULL && iso_arg->type == MSGPACK_OBJECT_STR) {
    if (!options_group_ok(iso_arg->via.str.ptr, iso_arg->via.str.size)) {
      reply_error(r->c, true, r->id, SONO_E_BAD_VALUE, "plugin.load: 'isolate' must be a bool or a "
                  "host group's name (1 to 63 of A-Z a-z 0-9 . _ -)");
      return;
    }
    memcpy(group, iso_arg->via.str.ptr, iso_arg->via.str.size);
    group[iso_arg->via.str.size] = '\0';
    isolate = true;
  }
  if (!arg_str(r, sono_map_get(r->args, "uri") != NULL ? "uri" : "path", true, &path, &len) ||
      !arg_timeout(r, &timeout) || (group[0] == '\0' && !arg_bool(r, "isolate", false, &isolate)))
    return;
  if (sono_map_get(r->args, "uri") != NULL && (len == 0 || !lv2_is_target(strndupa(path, len)))) {
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE, "plugin.load: 'uri' must be an LV2 plugin's URI");
    return;
  }
  iso = sono_map_get(r->args, "isolate") == NULL ? -1 : isolate ? 1 : 0;
  p = strndup(path, len);
  if (p == NULL || strlen(p) != len || len == 0) {
    free(p);
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE, "plugin.load: 'path' must be a non-empty path");
    return;
  }
  lr = malloc(sizeof *lr);
  if (lr == NULL) {
    free(p);
    reply_error(r->c, true, r->id, SONO_E_INTERNAL, "plugin.load: out of memory");
    return;
  }
  lr->client = r->c->id;
  lr->id = r->id;
  /* The scan may take up to its timeout and the load runs plugin code:
   * both run in the thread pool, and the reply comes from load_done. */
  if (plugin_ctl_load_iso(r->d, p, timeout, iso, group[0] != '\0' ? group : NULL, load_done, lr,
                          &code, err, sizeof err) != 0) {
    reply_error(r->c, true, r->id, code, "plugin.load: %s: %s", p, err);
    free(lr);
  }
  free(p);
}

void op_plugin_unload(request *r) {
  pnode *n = arg_node_for(r, true, false);
  rt_cmd cmd;

  if (n == NULL)
    return;
  /* A node that sounds fades out first (graph_ctl_fade_out_node): the
   * reply comes now, the removal once the fade has settled, so a client
   * of the idle offline backend is not kept waiting for frames. */
  if (graph_ctl_fade_out_node(r->d, n->id)) {
    n->removing = true;
    reply_ok_frame(r->c, r->id, engine_ctl_now(r->d));
    session_changed(r->d);
    return;
  }
  /* Nothing to fade: the plan without the node goes first, so the audio
   * thread stops rendering it before it lets go of it. */
  graph_ctl_node_removed(r->d, n->id);
  memset(&cmd, 0, sizeof cmd);
  cmd.type = RT_CMD_NODE_REMOVE;
  cmd.at_kind = RT_AT_NOW;
  cmd.u.node.id = n->id;
  if (engine_ctl_send(r, &cmd) == 0) {
    n->removing = true;
    session_changed(r->d);
  }
}

void op_plugin_list(request *r) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  pnode *n;
  uint32_t count = 0;

  for (n = plugin_ctl_first(); n != NULL; n = n->next)
    if (!n->removing)
      count++;
  reply_begin(&sb, &pk, r->id);
  msgpack_pack_map(&pk, 1);
  sono_pack_cstr(&pk, "nodes");
  msgpack_pack_array(&pk, count);
  for (n = plugin_ctl_first(); n != NULL; n = n->next) {
    if (n->removing)
      continue;
    msgpack_pack_map(&pk, 8);
    sono_pack_key_uint(&pk, "node", n->id);
    sono_pack_key_str(&pk, "name", vst_get_info(n->inst)->name);
    sono_pack_key_str(&pk, "path", n->path);
    sono_pack_key_bool(&pk, "isolated", n->isolated);
    sono_pack_key_str(&pk, "state", plugin_ctl_state(n));
    sono_pack_key_uint(&pk, "missed", n->missed);
    sono_pack_key_str(&pk, "format", n->is_lv2 ? "lv2" : "vst2");
    sono_pack_cstr(&pk, "host");
    if (vst_isolated_group(n->inst) != NULL)
      sono_pack_cstr(&pk, vst_isolated_group(n->inst));
    else
      msgpack_pack_nil(&pk);
  }
  reply_end(r->c, &sb);
}

static void restart_fn(void *arg) {
  plugin_job *j = arg;

  j->rc = vst_isolated_restart(j->inst, j->err);
}

static void restart_done(sonod *d, void *arg, plugin_call_end end) {
  plugin_job *j = arg;
  client *c = plugin_job_client(d, j, end, "the restart");
  pnode *n = plugin_ctl_find(j->node);

  if (end != PLUGIN_CALL_TIMEOUT && j->rc == VST_OK && n != NULL)
    plugin_ctl_restarted(d, n, end == PLUGIN_CALL_DONE);
  if (c != NULL && j->rc == VST_OK)
    reply_ok_frame(c, j->id, engine_ctl_now(d));
  else if (c != NULL)
    reply_error(c, true, j->id, SONO_E_LOAD_FAILED, "plugin.restart: %s", j->err);
  plugin_job_free(j, end);
}

/* The new host loads the plugin and gets its last state off the loop,
 * with the deadline of every plugin call. */
void op_plugin_restart(request *r) {
  pnode *n = plugin_arg_node(r);
  const char *code;
  char err[512];
  plugin_job *j;

  if (n == NULL)
    return;
  if (plugin_ctl_restart_check(n, &code, err, sizeof err) != 0) {
    reply_error(r->c, true, r->id, code, "plugin.restart: %s", err);
    return;
  }
  if ((j = plugin_job_new(r, n)) != NULL)
    plugin_job_start(r, n, j, "the restart", restart_fn, restart_done);
}

/* plugin.set {node, property, value}: an LV2 property (patch:Set). */
static void set_property(request *r, pnode *n) {
  const char *uri, *code;
  size_t len;
  char buf[1024], err[1024];

  if (!arg_str(r, "property", true, &uri, &len))
    return;
  snprintf(buf, sizeof buf, "%.*s", (int)len, uri);
  if (plugin_lv2_set_property(n, buf, sono_map_get(r->args, "value"), &code, err, sizeof err) != 0) {
    reply_error(r->c, true, r->id, code, "plugin.set: %s", err);
    return;
  }
  session_changed(r->d);
  reply_ok_frame(r->c, r->id, engine_ctl_now(r->d));
}

void op_plugin_set(request *r) {
  /* A value goes to the audio thread, not through a call off the loop:
   * taken while one runs (a save asking the plugin for its state). */
  pnode *n = sono_map_get(r->args, "property") != NULL ? plugin_arg_node(r) : plugin_arg_node_rt(r);
  rt_cmd cmd;
  double value;
  int index;

  if (n != NULL && sono_map_get(r->args, "property") != NULL) {
    set_property(r, n);
    return;
  }
  if (n == NULL || (index = arg_param(r, n)) < 0)
    return;
  memset(&cmd, 0, sizeof cmd);
  if (!arg_double(r, "value", true, &value) || !arg_time(r, &cmd))
    return;
  if (value < 0.0 || value > 1.0) {
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE, "plugin.set: 'value' must be from 0 to 1, not %g",
                value);
    return;
  }
  cmd.type = RT_CMD_PARAM;
  cmd.u.node.id = n->id;
  cmd.u.node.index = index;
  cmd.u.node.value = (float)value;
  if (engine_ctl_send(r, &cmd) == 0)
    session_changed(r->d);
}


/* ---- scan ---- */


/* plugin.scan runs in the thread pool: every plugin is a child process
 * that may take up to the timeout.  The worker only packs into its own
 * buffer; the loop thread sends it. */
typedef struct scan_job {
  uv_work_t work;
  sonod *d;
  char *dir;
  unsigned timeout;
  bool vst2, lv2;          /* which formats to list */
  uint32_t client;
  uint64_t id;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  uint32_t count;
} scan_job;

static void scan_cb(void *ud, const char *path, int status, const vst_info *info, const char *err) {
  scan_job *a = ud;

  a->count++;
  if (status == VST_OK) {
    msgpack_pack_map(&a->pk, 4);
    sono_pack_key_str(&a->pk, "format", "vst2");
    sono_pack_key_str(&a->pk, "path", path);
    sono_pack_key_bool(&a->pk, "ok", true);
    sono_pack_cstr(&a->pk, "info");
    pack_info(&a->pk, 0, info, NULL);
  } else {
    msgpack_pack_map(&a->pk, 5);
    sono_pack_key_str(&a->pk, "format", "vst2");
    sono_pack_key_str(&a->pk, "path", path);
    sono_pack_key_bool(&a->pk, "ok", false);
    sono_pack_key_str(&a->pk, "error", vst_status_name(status));
    sono_pack_key_str(&a->pk, "message", err != NULL ? err : "");
  }
}

/* One LV2 plugin of the world: {format, uri, path (its bundle), ok, info
 * | error, message}. */
static void scan_lv2_cb(void *ud, const char *uri, const char *bundle, int status,
                        const vst_info *info, const char *err) {
  scan_job *a = ud;

  a->count++;
  msgpack_pack_map(&a->pk, status == VST_OK ? 5 : 7);
  sono_pack_key_str(&a->pk, "format", "lv2");
  sono_pack_key_str(&a->pk, "uri", uri);
  sono_pack_key_str(&a->pk, "path", bundle);
  sono_pack_key_bool(&a->pk, "ok", status == VST_OK);
  sono_pack_cstr(&a->pk, "info");
  pack_info(&a->pk, 0, info, uri);
  if (status != VST_OK) {
    sono_pack_key_str(&a->pk, "error", vst_status_name(status));
    sono_pack_key_str(&a->pk, "message", err != NULL ? err : "");
  }
}

static void scan_work(uv_work_t *w) {
  scan_job *j = w->data;

  if (j->vst2)
    vst_scan_dir(j->dir, j->timeout, scan_cb, j);
  /* Without a folder: the LV2 plugins too (every bundle of the LV2 path;
   * lilv reads their data, no plugin code runs). */
  if (j->lv2 && j->dir == NULL)
    lv2_scan(scan_lv2_cb, j);
}

static void scan_after(uv_work_t *w, int status) {
  scan_job *j = w->data;
  client *c = client_find(j->d, j->client);
  msgpack_sbuffer sb;
  msgpack_packer pk;

  (void)status;
  if (c != NULL && !j->d->stopping) {
    reply_begin(&sb, &pk, j->id);
    msgpack_pack_map(&pk, 1);
    sono_pack_cstr(&pk, "plugins");
    msgpack_pack_array(&pk, j->count);
    msgpack_sbuffer_write(&sb, j->sb.data, j->sb.size);
    reply_end(c, &sb);
  }
  msgpack_sbuffer_destroy(&j->sb);
  free(j->dir);
  free(j);
}

void op_plugin_scan(request *r) {
  const char *dir = NULL, *format = NULL;
  size_t len = 0, flen = 0;
  scan_job *j;
  unsigned timeout;

  if (!arg_str(r, "dir", false, &dir, &len) || !arg_timeout(r, &timeout) ||
      !arg_str(r, "format", false, &format, &flen))
    return;
  if (format != NULL && !(flen == 3 && memcmp(format, "lv2", 3) == 0) &&
      !(flen == 4 && memcmp(format, "vst2", 4) == 0)) {
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE,
                "plugin.scan: 'format' must be \"vst2\" or \"lv2\"");
    return;
  }
  j = calloc(1, sizeof *j);
  if (j == NULL || (dir != NULL && (j->dir = strndup(dir, len)) == NULL)) {
    free(j);
    reply_error(r->c, true, r->id, SONO_E_INTERNAL, "plugin.scan: out of memory");
    return;
  }
  if (j->dir != NULL) {
    /* A folder outside the plugin paths is refused, whether it exists or
     * not: the walk would name what is in it. */
    char real[PATH_MAX], err[VST_ERR_LEN];
    if (vst_confine(j->dir, real, sizeof real, err) != VST_OK) {
      reply_error(r->c, true, r->id, SONO_E_DENIED, "plugin.scan: %s", err);
      free(j->dir);
      free(j);
      return;
    }
  }
  plugin_ctl_scanner();
  j->d = r->d;
  j->timeout = timeout;
  j->vst2 = format == NULL || flen == 4;
  j->lv2 = format == NULL || flen == 3;
  j->client = r->c->id;
  j->id = r->id;
  j->work.data = j;
  msgpack_sbuffer_init(&j->sb);
  msgpack_packer_init(&j->pk, &j->sb, msgpack_sbuffer_write);
  /* Queued work keeps the loop running: a shutdown waits for the scan. */
  if (uv_queue_work(r->d->loop, &j->work, scan_work, scan_after) != 0) {
    msgpack_sbuffer_destroy(&j->sb);
    free(j->dir);
    free(j);
    reply_error(r->c, true, r->id, SONO_E_INTERNAL, "plugin.scan: could not queue the scan");
  }
}

/* ---- programs ---- */

static void program_fn(void *arg) {
  plugin_job *j = arg;

  if (j->program >= 0)
    j->rc = vst_program_set(j->inst, (int)j->program, j->err);
  j->cur = vst_program_get(j->inst);
  vst_program_name(j->inst, j->cur, j->name, sizeof j->name, &j->known, NULL);
}

/* A program's name, nil when the plugin does not tell it. */
static void pack_program_name(msgpack_packer *pk, bool known, const char *name) {
  if (known)
    sono_pack_cstr(pk, name);
  else
    msgpack_pack_nil(pk);
}

static void program_done(sonod *d, void *arg, plugin_call_end end) {
  plugin_job *j = arg;
  client *c = plugin_job_client(d, j, end, j->program >= 0 ? "effSetProgram" : "effGetProgramName");
  msgpack_sbuffer sb;
  msgpack_packer pk;

  if (end == PLUGIN_CALL_DONE && j->program >= 0 && j->rc == VST_OK)
    session_changed(d);
  if (c != NULL && j->rc != VST_OK) {
    reply_error(c, true, j->id, SONO_E_BAD_VALUE, "plugin.program: %s", j->err);
  } else if (c != NULL) {
    reply_begin(&sb, &pk, j->id);
    msgpack_pack_map(&pk, 2);
    sono_pack_key_int(&pk, "program", j->cur);
    sono_pack_cstr(&pk, "name");
    pack_program_name(&pk, j->known, j->name);
    reply_end(c, &sb);
  }
  plugin_job_free(j, end);
}

void op_plugin_program(request *r) {
  pnode *n = plugin_arg_node(r);
  int64_t program = -1;
  plugin_job *j;
  int count;

  if (n == NULL || !arg_int(r, "program", false, &program))
    return;
  count = vst_program_count(n->inst);
  if (sono_map_get(r->args, "program") != NULL && (program < 0 || program >= count)) {
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE,
                "plugin.program: program %lld is out of range; node %u has %d programs",
                (long long)program, n->id, count);
    return;
  }
  if ((j = plugin_job_new(r, n)) == NULL)
    return;
  j->program = sono_map_get(r->args, "program") != NULL ? program : -1;
  plugin_job_start(r, n, j, j->program >= 0 ? "effSetProgram" : "effGetProgramName", program_fn,
                  program_done);
}

typedef struct program_view {
  char name[VST_STR_LEN];
  bool known;
} program_view;

static void programs_fn(void *arg) {
  plugin_job *j = arg;
  program_view *p = j->data;

  j->cur = vst_program_get(j->inst);
  j->indexed = vst_program_names_indexed(j->inst);
  /* Without indexed names only the current program can be named: the
   * others stay unknown without asking the plugin 3 584 times. */
  for (int i = 0; i < j->count; i++)
    if (j->indexed || i == j->cur)
      vst_program_name(j->inst, i, p[i].name, VST_STR_LEN, &p[i].known, NULL);
}

static void programs_done(sonod *d, void *arg, plugin_call_end end) {
  plugin_job *j = arg;
  client *c = plugin_job_client(d, j, end, "effGetProgramName");
  const program_view *p = j->data;
  msgpack_sbuffer sb;
  msgpack_packer pk;

  if (c != NULL) {
    reply_begin(&sb, &pk, j->id);
    msgpack_pack_map(&pk, 3);
    sono_pack_key_int(&pk, "current", j->cur);
    sono_pack_key_bool(&pk, "indexed", j->indexed);
    sono_pack_cstr(&pk, "programs");
    msgpack_pack_array(&pk, (uint32_t)j->count);
    for (int i = 0; i < j->count; i++)
      pack_program_name(&pk, p[i].known, p[i].name);
    reply_end(c, &sb);
  }
  plugin_job_free(j, end);
}

void op_plugin_programs(request *r) {
  pnode *n = plugin_arg_node(r);
  plugin_job *j;
  int count;

  if (n == NULL || (j = plugin_job_new(r, n)) == NULL)
    return;
  count = vst_program_count(n->inst);
  j->count = count > 0 ? count : 0;
  if ((j->data = calloc((size_t)j->count + 1, sizeof(program_view))) == NULL) {
    reply_error(r->c, true, r->id, SONO_E_INTERNAL, "plugin.programs: out of memory");
    free(j);
    return;
  }
  plugin_job_start(r, n, j, "effGetProgramName", programs_fn, programs_done);
}

/* ---- parameters: names, labels, displays, values ---- */

typedef struct param_view {
  char name[VST_STR_LEN], short_name[VST_STR_LEN], label[VST_STR_LEN], display[VST_STR_LEN];
  char category[VST_STR_LEN];
  vst_param_info info;   /* its strings point into the view, not the instance */
  float value;
} param_view;

static void copy_str(char *dst, const char *src) {
  snprintf(dst, VST_STR_LEN, "%s", src != NULL ? src : "");
}

/* j->data: j->count views from index j->cur on. */
static void params_fn(void *arg) {
  plugin_job *j = arg;
  param_view *p = j->data;

  for (int i = 0; i < j->count; i++) {
    const vst_param_info *in = vst_param_info_get(j->inst, j->cur + i);

    if (in != NULL)
      p[i].info = *in;
    copy_str(p[i].name, in != NULL ? in->name : NULL);
    copy_str(p[i].short_name, in != NULL ? in->short_name : NULL);
    copy_str(p[i].category, in != NULL ? in->category : NULL);
    p[i].info.category = in != NULL && in->category != NULL ? p[i].category : NULL;
    vst_param_label(j->inst, j->cur + i, p[i].label, VST_STR_LEN, NULL);
    vst_param_display(j->inst, j->cur + i, p[i].display, VST_STR_LEN, NULL);
    vst_param_get(j->inst, j->cur + i, &p[i].value, NULL);
  }
}

/* A field the plugin may not give: its value, or nil. */
static void pack_opt_int(msgpack_packer *pk, const char *key, bool have, int64_t v) {
  sono_pack_cstr(pk, key);
  if (have)
    msgpack_pack_int64(pk, v);
  else
    msgpack_pack_nil(pk);
}

static void pack_opt_double(msgpack_packer *pk, const char *key, bool have, double v) {
  sono_pack_cstr(pk, key);
  if (have)
    msgpack_pack_double(pk, v);
  else
    msgpack_pack_nil(pk);
}

/* plugin.params' entry for a VST2 parameter: every field PROTOCOL.md
 * names, in its order. */
static void pack_vst_param(msgpack_packer *pk, int index, const param_view *p) {
  const vst_param_info *in = &p->info;

  msgpack_pack_map(pk, 15);
  sono_pack_key_int(pk, "index", index);
  sono_pack_key_str(pk, "name", p->name);
  sono_pack_key_str(pk, "short_name", p->short_name);
  sono_pack_key_str(pk, "label", p->label);
  sono_pack_key_str(pk, "display", p->display);
  sono_pack_key_double(pk, "value", p->value);
  sono_pack_key_bool(pk, "automatable", in->automatable);
  sono_pack_key_bool(pk, "switch", in->is_switch);
  pack_opt_int(pk, "min", in->has_range, in->min);
  pack_opt_int(pk, "max", in->has_range, in->max);
  pack_opt_double(pk, "step", in->has_step, in->step);
  pack_opt_double(pk, "large_step", in->has_step, in->large_step);
  pack_opt_int(pk, "int_step", in->has_int_step, in->int_step);
  pack_opt_int(pk, "int_large_step", in->has_int_step, in->int_large_step);
  sono_pack_cstr(pk, "category");
  if (in->category != NULL)
    sono_pack_cstr(pk, in->category);
  else
    msgpack_pack_nil(pk);
}

/* plugin.params lists index, name, label, display, value (a VST2 node's
 * more, above); plugin.get answers index, name, value, display, label (the
 * orders clients see). */
static void pack_param(msgpack_packer *pk, pnode *n, int index, const param_view *p, bool single) {
  if (!single && !plugin_lv2_described(n)) {
    pack_vst_param(pk, index, p);
    return;
  }
  msgpack_pack_map(pk, 5 + plugin_lv2_param_fields(n));
  sono_pack_key_int(pk, "index", index);
  sono_pack_key_str(pk, "name", p->name);
  if (single)
    sono_pack_key_double(pk, "value", p->value);
  else
    sono_pack_key_str(pk, "label", p->label);
  sono_pack_key_str(pk, "display", p->display);
  if (single)
    sono_pack_key_str(pk, "label", p->label);
  else
    sono_pack_key_double(pk, "value", p->value);
  plugin_lv2_pack_param(pk, n, index, p->value);   /* an LV2 node's symbol, range, plain value */
}

static void params_done(sonod *d, void *arg, plugin_call_end end) {
  plugin_job *j = arg;
  client *c = plugin_job_client(d, j, end, "effGetParamDisplay");
  const param_view *p = j->data;
  pnode *n = plugin_ctl_find(j->node);   /* NULL if unloaded meanwhile */
  bool lv2 = plugin_lv2_described(n);
  msgpack_sbuffer sb;
  msgpack_packer pk;

  if (c != NULL) {
    reply_begin(&sb, &pk, j->id);
    if (!j->single) {   /* plugin.params: all of them */
      msgpack_pack_map(&pk, lv2 ? 5 : 1);
      if (lv2) {
        /* An LV2 node's properties (plugin.set {property}) and control
         * outputs (meters, latency), read-only: no plugin call. */
        unsigned k, nout = plugin_lv2_outputs(n);
        sono_pack_cstr(&pk, "properties");
        plugin_lv2_pack_properties(&pk, n);
        sono_pack_cstr(&pk, "outputs");
        msgpack_pack_array(&pk, nout);
        for (k = 0; k < nout; k++)
          plugin_lv2_pack_output(&pk, n, (int)k);
        sono_pack_cstr(&pk, "groups");
        plugin_lv2_pack_groups(&pk, n);
        sono_pack_cstr(&pk, "audio");
        plugin_lv2_pack_audio(&pk, n);
      }
      sono_pack_cstr(&pk, "params");
      msgpack_pack_array(&pk, (uint32_t)j->count);
    }
    for (int i = 0; i < j->count; i++)
      pack_param(&pk, n, j->cur + i, &p[i], j->single);
    reply_end(c, &sb);
  }
  plugin_job_free(j, end);
}

/* Starts the job for count parameters from index first; single: the reply
 * is the one parameter's map (plugin.get), else {params: [...]}. */
static void params_start(request *r, pnode *n, int first, int count, bool single) {
  plugin_job *j = plugin_job_new(r, n);

  if (j == NULL)
    return;
  j->cur = first;
  j->count = count > 0 ? count : 0;
  j->single = single;
  if ((j->data = calloc((size_t)j->count + 1, sizeof(param_view))) == NULL) {
    reply_error(r->c, true, r->id, SONO_E_INTERNAL, "%s: out of memory", r->op);
    free(j);
    return;
  }
  plugin_job_start(r, n, j, "effGetParamDisplay", params_fn, params_done);
}

void op_plugin_params(request *r) {
  pnode *n = plugin_arg_node(r);

  if (n != NULL)
    params_start(r, n, 0, vst_param_count(n->inst), false);
}

/* plugin.get {node, output}: an LV2 control output by symbol (no plugin
 * call: the value the audio thread published). */
static void get_output(request *r, pnode *n) {
  const char *sym;
  size_t len;
  char buf[VST_STR_LEN];
  msgpack_sbuffer sb;
  msgpack_packer pk;
  int k;

  if (!arg_str(r, "output", true, &sym, &len))
    return;
  snprintf(buf, sizeof buf, "%.*s", (int)len, sym);
  if ((k = plugin_lv2_output_by_symbol(n, buf)) < 0) {
    reply_error(r->c, true, r->id, SONO_E_UNKNOWN_PARAM, "%s: node %u has no control output '%s'",
                r->op, n->id, buf);
    return;
  }
  reply_begin(&sb, &pk, r->id);
  plugin_lv2_pack_output(&pk, n, k);
  reply_end(r->c, &sb);
}

/* plugin.get {node, property}: an LV2 property's value as the plugin
 * last reported it (no plugin call). */
static void get_property(request *r, pnode *n) {
  const char *uri, *code;
  size_t len;
  char buf[1024], err[1024];
  msgpack_sbuffer sb;
  msgpack_packer pk;

  if (!arg_str(r, "property", true, &uri, &len))
    return;
  snprintf(buf, sizeof buf, "%.*s", (int)len, uri);
  reply_begin(&sb, &pk, r->id);
  if (plugin_lv2_get_property(&pk, n, buf, &code, err, sizeof err) != 0) {
    msgpack_sbuffer_destroy(&sb);
    reply_error(r->c, true, r->id, code, "plugin.get: %s", err);
    return;
  }
  reply_end(r->c, &sb);
}

void op_plugin_get(request *r) {
  pnode *n = plugin_arg_node(r);
  int index;

  if (n != NULL && sono_map_get(r->args, "property") != NULL) {
    get_property(r, n);
    return;
  }
  if (n != NULL && plugin_lv2_described(n) && sono_map_get(r->args, "output") != NULL) {
    get_output(r, n);
    return;
  }
  if (n != NULL && (index = arg_param(r, n)) >= 0)
    params_start(r, n, index, 1, true);
}
