/* ops_meter.c - meter.subscribe {rate?, nodes?} / meter.unsubscribe: `meter`
 * events for a client.  The subscriptions, the draining of the audio
 * thread's snapshots and the events are modules/meter_ctl.c; see
 * ARCHITECTURE.md, "Meters and load". */
#include <stdlib.h>

#include "daemon/modules/graph_ctl.h"
#include "daemon/modules/meter_ctl.h"
#include "daemon/net/reply.h"
#include "daemon/ops/ops.h"
#include "protocol/errors.h"
#include "protocol/wire.h"

#define METER_RATE_MAX 60
#define METER_NODES_MAX 256

/* Reads `nodes` (ids or "out"/"in"/"csound"); every one must be in the
 * graph.  Absent: every node in the graph now. */
static bool read_nodes(request *r, uint32_t **out, unsigned *n) {
  const msgpack_object_array *arr = NULL;
  graph *g = graph_ctl_graph();
  uint32_t *ids;
  unsigned i, k = 0;

  if (!arg_array(r, "nodes", false, &arr))
    return false;
  if (arr == NULL) {
    ids = calloc(g->nnodes ? g->nnodes : 1, sizeof *ids);
    if (ids == NULL)
      goto oom;
    for (i = 0; i < g->nnodes; i++)
      ids[k++] = g->node[i].id;
    *out = ids;
    *n = k;
    return true;
  }
  if (arr->size > METER_NODES_MAX) {
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE, "%s: at most %d nodes", r->op,
                METER_NODES_MAX);
    return false;
  }
  ids = calloc(arr->size ? arr->size : 1, sizeof *ids);
  if (ids == NULL)
    goto oom;
  for (i = 0; i < arr->size; i++) {
    const msgpack_object *o = &arr->ptr[i];
    uint32_t id;
    uint32_t port;
    bool is_out;

    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= UINT32_MAX) {
      id = (uint32_t)o->via.u64;
    } else if (o->type == MSGPACK_OBJECT_STR &&
               graph_parse_port(o->via.str.ptr, o->via.str.size, &id, &port, &is_out) == -2) {
      /* A node name without a port: -2 is "no port", which is fine here. */
    } else {
      free(ids);
      reply_error(r->c, true, r->id, SONO_E_BAD_TYPE,
                  "%s: 'nodes' holds node ids or \"out\", \"in\", \"csound\"", r->op);
      return false;
    }
    if (graph_node(g, id) == NULL) {
      char buf[16];
      free(ids);
      reply_error(r->c, true, r->id, SONO_E_UNKNOWN_NODE, "%s: no node %s", r->op,
                  graph_node_label(id, buf, sizeof buf));
      return false;
    }
    ids[k++] = id;
  }
  *out = ids;
  *n = k;
  return true;

oom:
  reply_error(r->c, true, r->id, SONO_E_INTERNAL, "%s: out of memory", r->op);
  return false;
}

void op_meter_subscribe(request *r) {
  uint64_t rate = 10;
  uint32_t *ids = NULL;
  unsigned n = 0, i;
  msgpack_sbuffer sb;
  msgpack_packer pk;

  if (!arg_uint(r, "rate", false, &rate))
    return;
  if (rate < 1 || rate > METER_RATE_MAX) {
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE, "%s: rate must be 1..%d Hz, not %llu",
                r->op, METER_RATE_MAX, (unsigned long long)rate);
    return;
  }
  if (!read_nodes(r, &ids, &n))
    return;
  if (meter_ctl_subscribe(r->d, r->c->id, (unsigned)rate, ids, n) != 0) {
    free(ids);
    reply_error(r->c, true, r->id, SONO_E_INTERNAL, "%s: out of memory", r->op);
    return;
  }
  reply_begin(&sb, &pk, r->id);
  msgpack_pack_map(&pk, 3);
  sono_pack_key_uint(&pk, "rate", rate);
  sono_pack_key_uint(&pk, "interval", r->d->eng.sample_rate / rate);
  sono_pack_cstr(&pk, "nodes");
  msgpack_pack_array(&pk, n);
  for (i = 0; i < n; i++)
    meter_ctl_pack_node(&pk, ids[i]);
  reply_end(r->c, &sb);
}

void op_meter_unsubscribe(request *r) {
  meter_ctl_unsubscribe(r->d, r->c->id);
  reply_ok_empty(r->c, r->id);
}
