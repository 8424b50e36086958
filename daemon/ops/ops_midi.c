/* ops_midi.c - midi.route / midi.unroute / midi.routes: live MIDI from
 * the backend's MIDI input to plugin nodes or Csound instruments.  See
 * PROTOCOL.md, "Transport and live MIDI".
 *
 * The plugin routing table: modules/midi_ctl.c; routes to Csound
 * instruments: modules/midi_cs.c.  Route changes arm the autosave (they
 * are session state). */
#include <string.h>

#include "daemon/modules/csound_ctl.h"
#include "daemon/modules/graph_ctl.h"
#include "daemon/modules/midi_cs.h"
#include "daemon/modules/midi_ctl.h"
#include "daemon/session/session.h"
#include "daemon/net/reply.h"
#include "daemon/ops/ops.h"
#include "protocol/errors.h"
#include "protocol/wire.h"

/* "to": a plugin node's id, as a string ("3") or a number. */
static bool arg_node(request *r, uint32_t *id) {
  const msgpack_object *v = sono_map_get(r->args, "to");
  gnode *n;

  if (v == NULL) {
    reply_error(r->c, true, r->id, SONO_E_MISSING_FIELD, "%s: 'to' is required", r->op);
    return false;
  }
  if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 < GRAPH_ID_OUT)
    *id = (uint32_t)v->via.u64;
  else if (v->type == MSGPACK_OBJECT_STR) {
    const char *s = v->via.str.ptr;
    uint32_t n2 = v->via.str.size, i;
    uint64_t x = 0;

    if (n2 == 6 && memcmp(s, "csound", 6) == 0) {
      if (csound_ctl_engine() == NULL) {
        reply_error(r->c, true, r->id, SONO_E_NOT_SUPPORTED,
                    "%s: Csound is not running in this daemon", r->op);
        return false;
      }
      *id = GRAPH_ID_CSOUND;
      return true;
    }
    for (i = 0; i < n2 && i < 10 && s[i] >= '0' && s[i] <= '9'; i++)
      x = x * 10 + (uint64_t)(s[i] - '0');
    if (n2 == 0 || i != n2 || x >= GRAPH_ID_OUT) {
      reply_error(r->c, true, r->id, SONO_E_UNKNOWN_NODE, "%s: no plugin node '%.*s'", r->op,
                  (int)n2, s);
      return false;
    }
    *id = (uint32_t)x;
  } else {
    reply_error(r->c, true, r->id, SONO_E_BAD_TYPE, "%s: 'to' must be a node id", r->op);
    return false;
  }
  n = graph_node(graph_ctl_graph(), *id);
  if (n == NULL || n->kind != GN_PLUGIN) {
    reply_error(r->c, true, r->id, SONO_E_UNKNOWN_NODE, "%s: no plugin node %u", r->op, *id);
    return false;
  }
  return true;
}

void op_midi_route(request *r) {
  uint32_t node;
  int64_t channel = -1;

  if (!arg_node(r, &node) || !arg_int(r, "channel", false, &channel))
    return;
  if (node == GRAPH_ID_CSOUND) {
    midi_cs_route(r, channel);
    return;
  }
  if (channel < -1 || channel > 15) {
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE,
                "midi.route: 'channel' must be from 0 to 15 (omitted: all)");
    return;
  }
  /* One route per node: routing again changes its channel. */
  if (midi_ctl_set(node, (int32_t)channel) != 0) {
    reply_error(r->c, true, r->id, SONO_E_LIMIT, "midi.route: at most %u routes",
                MIDI_MAX_ROUTES);
    return;
  }
  /* The session changed even if the send fails: the table is the truth,
   * and the next change sends all of it. */
  session_changed(r->d);
  midi_ctl_commit(r->d, r);
}

void op_midi_unroute(request *r) {
  uint32_t node;

  if (!arg_node(r, &node))
    return;
  if (node == GRAPH_ID_CSOUND) {
    midi_cs_unroute(r);
    return;
  }
  if (midi_ctl_remove(node) != 0) {
    reply_error(r->c, true, r->id, SONO_E_NOT_CONNECTED, "midi.unroute: node %u has no route",
                node);
    return;
  }
  session_changed(r->d);
  midi_ctl_commit(r->d, r);
}

void op_midi_routes(request *r) {
  msgpack_sbuffer sb;
  msgpack_packer pk;

  reply_begin(&sb, &pk, r->id);
  msgpack_pack_map(&pk, 1);
  sono_pack_cstr(&pk, "routes");
  midi_ctl_pack_routes(&pk, false);
  reply_end(r->c, &sb);
}
