/* ops_graph.c - graph.connect / graph.disconnect / graph.get: the routing
 * graph's connections (its nodes: ops_node.c).
 * The model is graph_plan.c; sending plans is graph_ctl.c.  Every change
 * is answered once the audio thread has swapped in the plan carrying it. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "daemon/modules/busnode_ctl.h"
#include "daemon/modules/graph_ctl.h"
#include "daemon/ops/ops.h"
#include "daemon/net/reply.h"
#include "protocol/errors.h"
#include "protocol/wire.h"

#define GAIN_MAX 16.0

/* Reads a "node:port" argument.  Replies and returns NULL on error. */
static gnode *arg_port(request *r, const char *key, bool want_out, uint32_t *port) {
  const char *s;
  size_t len;
  uint32_t id = 0;
  bool is_out = false;
  gnode *n;
  int rc;

  if (!arg_str(r, key, true, &s, &len))
    return NULL;
  rc = graph_parse_port(s, len, &id, port, &is_out);
  if (rc != -1 && busnode_ctl_removing(id)) {
    /* A new connection would keep it from ever going. */
    reply_error(r->c, true, r->id, SONO_E_UNKNOWN_NODE, "%s: '%s': bus node %u is being deleted",
                r->op, key, id);
    return NULL;
  }
  if (rc == -1 || (n = graph_node(graph_ctl_graph(), id)) == NULL) {
    reply_error(r->c, true, r->id, SONO_E_UNKNOWN_NODE,
                "%s: '%s': no node '%.*s' (nodes are out, in, csound, or a plugin, gain or bus node id)",
                r->op, key, (int)(memchr(s, ':', len) ? (const char *)memchr(s, ':', len) - s
                                                       : (int)len), s);
    return NULL;
  }
  if (rc == -2 || is_out != want_out || *port >= (want_out ? n->nout : n->nin)) {
    unsigned count = want_out ? n->nout : n->nin;
    if (count == 0)
      reply_error(r->c, true, r->id, SONO_E_UNKNOWN_PORT, "%s: '%s': '%.*s': node %s has no %s ports",
                  r->op, key, (int)len, s, n->name, want_out ? "output" : "input");
    else
      reply_error(r->c, true, r->id, SONO_E_UNKNOWN_PORT,
                  "%s: '%s': '%.*s': node %s has %s ports %s_1..%s_%u", r->op, key, (int)len, s,
                  n->name, want_out ? "output" : "input", want_out ? "out" : "in",
                  want_out ? "out" : "in", count);
    return NULL;
  }
  return n;
}

bool graph_arg_gain(request *r, bool required, double *g) {
  if (!arg_double(r, "gain", required, g))
    return false;
  if (!isfinite(*g) || *g < 0 || *g > GAIN_MAX) {
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE, "%s: 'gain' must be from 0 to %g", r->op,
                GAIN_MAX);
    return false;
  }
  return true;
}

void op_graph_connect(request *r) {
  graph *g = graph_ctl_graph();
  uint32_t fport, tport, path[16];
  gnode *from, *to;
  gconn *c;
  double gain = 1.0;
  unsigned n, i;

  if ((from = arg_port(r, "from", true, &fport)) == NULL ||
      (to = arg_port(r, "to", false, &tport)) == NULL)
    return;
  if (sono_map_get(r->args, "gain") != NULL && !graph_arg_gain(r, true, &gain))
    return;
  c = graph_find_conn(g, from->id, fport, to->id, tport);
  if (c == NULL && (n = graph_cycle(g, from->id, to->id, path, 16)) > 0) {
    char msg[400], lb[16];
    size_t off = 0;

    for (i = 0; i < n && off < sizeof msg; i++)
      off += (size_t)snprintf(msg + off, sizeof msg - off, "%s -> ",
                              graph_node_label(path[i], lb, sizeof lb));
    if (off < sizeof msg)
      snprintf(msg + off, sizeof msg - off, "%s", graph_node_label(path[0], lb, sizeof lb));
    reply_error(r->c, true, r->id, SONO_E_CYCLE, "graph.connect: it would close the cycle %s",
                msg);
    return;
  }
  if (c == NULL) {
    /* A new connection fades in from silence. */
    if (graph_add_conn(g, from->id, fport, to->id, tport, (float)gain, true) == NULL) {
      reply_error(r->c, true, r->id, SONO_E_INTERNAL, "graph.connect: out of memory");
      return;
    }
  } else {
    /* Connected already (or fading out): the gain ramps to the new one. */
    c->gain = (float)gain;
    c->dying = 0;
  }
  graph_ctl_commit(r->d, r);
}

void op_graph_disconnect(request *r) {
  graph *g = graph_ctl_graph();
  uint32_t fport, tport;
  gnode *from, *to;
  gconn *c;

  if ((from = arg_port(r, "from", true, &fport)) == NULL ||
      (to = arg_port(r, "to", false, &tport)) == NULL)
    return;
  c = graph_find_conn(g, from->id, fport, to->id, tport);
  if (c == NULL || c->dying != 0) {
    reply_error(r->c, true, r->id, SONO_E_NOT_CONNECTED, "graph.disconnect: the ports are not connected");
    return;
  }
  /* It fades out in the next plan and leaves the one after it settles. */
  c->dying = g->gen + 1;
  graph_ctl_commit(r->d, r);
}

static void pack_id(msgpack_packer *pk, uint32_t id) {
  char lb[16];

  if (id >= GRAPH_ID_OUT)
    sono_pack_cstr(pk, graph_node_label(id, lb, sizeof lb));
  else
    msgpack_pack_uint32(pk, id);
}

static void pack_port(msgpack_packer *pk, const char *key, uint32_t id, bool out, uint32_t port) {
  char buf[48], lb[16];

  snprintf(buf, sizeof buf, "%s:%s_%u", graph_node_label(id, lb, sizeof lb), out ? "out" : "in",
           port + 1);
  sono_pack_key_str(pk, key, buf);
}

void op_graph_get(request *r) {
  graph *g = graph_ctl_graph();
  uint32_t order[1024];
  uint32_t live = 0;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  unsigned i;
  int count;

  if (g->nnodes > 1024 || (count = graph_sort(g, order)) < 0) {
    reply_error(r->c, true, r->id, SONO_E_INTERNAL, "graph.get: the graph cannot be sorted");
    return;
  }
  for (i = 0; i < g->nconns; i++)
    if (!g->conn[i].dying)
      live++;
  reply_begin(&sb, &pk, r->id);
  msgpack_pack_map(&pk, 3);
  sono_pack_cstr(&pk, "nodes");
  msgpack_pack_array(&pk, g->nnodes);
  for (i = 0; i < g->nnodes; i++) {
    gnode *n = &g->node[i];
    unsigned nb = 0, k;
    const int *buses = n->kind == GN_BUS ? busnode_ctl_buses(n->id, &nb) : NULL;

    msgpack_pack_map(&pk, buses != NULL ? 10 : 9);
    sono_pack_cstr(&pk, "id");
    pack_id(&pk, n->id);
    sono_pack_key_str(&pk, "kind", graph_kind_name(n->kind));
    sono_pack_key_str(&pk, "name", n->name);
    sono_pack_key_uint(&pk, "inputs", n->nin);
    sono_pack_key_uint(&pk, "outputs", n->nout);
    sono_pack_key_bool(&pk, "active", n->active);
    sono_pack_key_bool(&pk, "bypass", n->bypass);
    sono_pack_key_bool(&pk, "mute", n->mute);
    sono_pack_key_double(&pk, "gain", n->gain);
    if (buses != NULL) {
      sono_pack_cstr(&pk, "buses");
      msgpack_pack_array(&pk, nb);
      for (k = 0; k < nb; k++)
        msgpack_pack_int(&pk, buses[k]);
    }
  }
  sono_pack_cstr(&pk, "connections");
  msgpack_pack_array(&pk, live);
  for (i = 0; i < g->nconns; i++) {
    gconn *c = &g->conn[i];

    if (c->dying)
      continue;
    msgpack_pack_map(&pk, 3);
    pack_port(&pk, "from", c->from, true, c->from_port);
    pack_port(&pk, "to", c->to, false, c->to_port);
    sono_pack_key_double(&pk, "gain", c->gain);
  }
  sono_pack_cstr(&pk, "order");
  msgpack_pack_array(&pk, (uint32_t)count);
  for (i = 0; i < (unsigned)count; i++)
    pack_id(&pk, order[i]);
  reply_end(r->c, &sb);
}
