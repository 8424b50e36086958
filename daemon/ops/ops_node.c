/* ops_node.c - node.new / node.delete / node.bypass / node.mute /
 * node.gain: the routing graph's nodes (gain nodes, bus nodes; plugin
 * nodes come from plugin.load).  The model is modules/graph_plan.c;
 * sending plans is modules/graph_ctl.c.  Every change is answered once the
 * audio thread has swapped in the plan carrying it. */
#include <stdio.h>
#include <string.h>

#include "daemon/modules/busnode_ctl.h"
#include "daemon/engine/engine_ctl.h"
#include "daemon/modules/graph_ctl.h"
#include "daemon/ops/ops.h"
#include "daemon/modules/plugin_ctl.h"
#include "daemon/net/reply.h"
#include "daemon/session/session.h"
#include "protocol/errors.h"
#include "protocol/wire.h"

#define GAIN_CHANNELS_MAX 64

gnode *node_arg(request *r) {
  const msgpack_object *o = sono_map_get(r->args, "node");
  uint32_t id = 0, port;
  bool is_out;
  uint64_t v;
  gnode *n = NULL;

  if (o != NULL && o->type == MSGPACK_OBJECT_STR) {
    if (graph_parse_port(o->via.str.ptr, o->via.str.size, &id, &port, &is_out) != -1)
      n = graph_node(graph_ctl_graph(), id);
  } else {
    if (!arg_uint(r, "node", true, &v))
      return NULL;
    if (v <= UINT32_MAX)
      n = graph_node(graph_ctl_graph(), (uint32_t)v);
  }
  if (n == NULL)
    reply_error(r->c, true, r->id, SONO_E_UNKNOWN_NODE, "%s: no such node", r->op);
  return n;
}

static void reply_node(request *r, uint32_t id) {
  msgpack_sbuffer sb;
  msgpack_packer pk;

  /* Unconnected, so inactive: the plan does not change yet. */
  session_changed(r->d);
  reply_begin(&sb, &pk, r->id);
  msgpack_pack_map(&pk, 1);
  sono_pack_key_uint(&pk, "node", id);
  reply_end(r->c, &sb);
}

/* node.new {kind: "bus", buses: [audio bus ids]}: out_k is buses[k-1]. */
static void new_bus_node(request *r) {
  const msgpack_object_array *a;
  int64_t buses[BUSNODE_MAX_BUSES];
  const char *code;
  char msg[200];
  uint32_t i, id;

  if (!arg_array(r, "buses", true, &a))
    return;
  if (a->size == 0 || a->size > BUSNODE_MAX_BUSES) {
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE, "node.new: 'buses' must hold 1 to %d buses",
                BUSNODE_MAX_BUSES);
    return;
  }
  for (i = 0; i < a->size; i++) {
    const msgpack_object *o = &a->ptr[i];

    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
      reply_error(r->c, true, r->id, SONO_E_BAD_TYPE,
                  "node.new: 'buses' must hold bus ids (unsigned integers)");
      return;
    }
    buses[i] = o->via.u64 > INT32_MAX ? -1 : (int64_t)o->via.u64;
  }
  if (busnode_ctl_new(r->d, buses, a->size, &id, &code, msg, sizeof msg) != 0) {
    reply_error(r->c, true, r->id, code, "node.new: %s", msg);
    return;
  }
  reply_node(r, id);
}

void op_node_new(request *r) {
  const char *kind;
  size_t len;
  uint64_t channels = 2;
  char name[32];
  uint32_t id;

  if (!arg_str(r, "kind", true, &kind, &len))
    return;
  if (len == 3 && memcmp(kind, "bus", 3) == 0) {
    new_bus_node(r);
    return;
  }
  if (!arg_uint(r, "channels", false, &channels))
    return;
  if (len != 4 || memcmp(kind, "gain", 4) != 0) {
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE,
                "node.new: 'kind' must be \"gain\" or \"bus\" (plugins come from plugin.load)");
    return;
  }
  if (channels == 0 || channels > GAIN_CHANNELS_MAX) {
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE, "node.new: 'channels' must be from 1 to %d",
                GAIN_CHANNELS_MAX);
    return;
  }
  id = plugin_ctl_take_id();
  snprintf(name, sizeof name, "gain %u", id);
  if (graph_add_node(graph_ctl_graph(), id, GN_GAIN, name, (unsigned)channels,
                     (unsigned)channels) == NULL) {
    reply_error(r->c, true, r->id, SONO_E_INTERNAL, "node.new: out of memory");
    return;
  }
  reply_node(r, id);
}

void op_node_delete(request *r) {
  gnode *n = node_arg(r);

  if (n == NULL)
    return;
  if (n->kind == GN_BUS) {
    int rc = busnode_ctl_delete(r->d, n->id);

    if (rc < 0) {
      reply_error(r->c, true, r->id, SONO_E_UNKNOWN_NODE,
                  "node.delete: node %s is being removed already", n->name);
      return;
    }
    /* As plugin.unload: a node that sounds fades out first, and the reply
     * comes now. */
    if (rc > 0) {
      reply_ok_frame(r->c, r->id, atomic_load(&r->d->eng.pub_frame) +
                     atomic_load(&r->d->eng.pub_block));
      session_changed(r->d);
      return;
    }
    graph_ctl_commit(r->d, r);
    return;
  }
  if (n->kind != GN_GAIN) {
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE,
                "node.delete: node %s is not a gain or bus node (plugins go with plugin.unload)",
                n->name);
    return;
  }
  graph_remove_node(graph_ctl_graph(), n->id);
  graph_ctl_commit(r->d, r);
}

void op_node_bypass(request *r) {
  gnode *n = node_arg(r);
  bool on;

  if (n == NULL || !arg_bool(r, "on", true, &on))
    return;
  if (n->kind != GN_PLUGIN && n->kind != GN_GAIN) {
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE,
                "node.bypass: only plugin and gain nodes can be bypassed, not %s", n->name);
    return;
  }
  n->bypass = on;
  graph_ctl_commit(r->d, r);
}

void op_node_mute(request *r) {
  gnode *n = node_arg(r);
  bool on;

  if (n == NULL || !arg_bool(r, "on", true, &on))
    return;
  n->mute = on;
  graph_ctl_commit(r->d, r);
}

void op_node_gain(request *r) {
  gnode *n = node_arg(r);
  double gain;
  rt_cmd cmd;

  memset(&cmd, 0, sizeof cmd);
  if (n == NULL || !graph_arg_gain(r, true, &gain) || !arg_time(r, &cmd))
    return;
  n->gain = (float)gain;
  if (cmd.at_kind == RT_AT_NOW) {
    graph_ctl_commit(r->d, r);
    return;
  }
  /* At a frame: the ramp of the current plan is retargeted then.  (A plan
   * built in between already carries the new gain.) */
  cmd.type = RT_CMD_GRAPH_GAIN;
  cmd.u.node.id = GRAPH_KEY_NODE | n->id;
  cmd.u.node.value = n->mute ? 0.0f : (n->bypass && n->kind == GN_GAIN ? 1.0f : (float)gain);
  engine_ctl_send(r, &cmd);
}
