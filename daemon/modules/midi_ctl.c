/* midi_ctl.c - the live MIDI routes to plugin nodes, and the routes as
 * session state.  See midi_ctl.h; the ops are in ops_jack.c, routes to
 * Csound instruments in midi_cs.c.
 *
 * The table lives here (control thread); every change sends the audio
 * thread a fresh copy by pointer (RT_CMD_MIDI_ROUTES), and it hands the
 * old one back, freed by engine_ctl_drain.  A deleted node's route stays,
 * matching nothing (node ids are never reused); it is neither listed nor
 * saved. */
#include "daemon/modules/midi_ctl.h"

#include <stdlib.h>
#include <string.h>

#include "daemon/engine/engine_ctl.h"
#include "daemon/modules/graph_ctl.h"
#include "daemon/modules/midi_cs.h"
#include "daemon/net/reply.h"
#include "daemon/rt/xport.h"
#include "protocol/errors.h"
#include "protocol/wire.h"

static rt_midi_route routes[MIDI_MAX_ROUTES];
static unsigned nroutes;

static int find_route(uint32_t node) {
  unsigned i;

  for (i = 0; i < nroutes; i++)
    if (routes[i].node == node)
      return (int)i;
  return -1;
}

int midi_ctl_set(uint32_t node, int32_t channel) {
  int i = find_route(node);

  if (i < 0) {
    if (nroutes == MIDI_MAX_ROUTES)
      return -1;
    i = (int)nroutes++;
  }
  routes[i].node = node;
  routes[i].channel = channel;
  return 0;
}

int midi_ctl_remove(uint32_t node) {
  int i = find_route(node);

  if (i < 0)
    return -1;
  routes[i] = routes[--nroutes];
  return 0;
}

void midi_ctl_clear(void) {
  nroutes = 0;
}

int midi_ctl_commit(sonod *d, request *r) {
  rt_midi_routes *t = malloc(sizeof *t + nroutes * sizeof t->r[0]);
  rt_cmd cmd;

  if (t == NULL) {
    if (r != NULL)
      reply_error(r->c, true, r->id, SONO_E_INTERNAL, "%s: out of memory", r->op);
    return -1;
  }
  t->n = nroutes;
  memcpy(t->r, routes, nroutes * sizeof routes[0]);
  memset(&cmd, 0, sizeof cmd);
  cmd.type = RT_CMD_MIDI_ROUTES;
  cmd.at_kind = RT_AT_NOW;
  cmd.u.ptr = t;
  if ((r != NULL ? engine_ctl_send(r, &cmd) : engine_ctl_push(d, &cmd)) != 0) {
    free(t);
    return -1;
  }
  return 0;
}

static bool live(uint32_t node) {
  graph *g = graph_ctl_graph();
  const gnode *n = g != NULL ? graph_node(g, node) : NULL;

  return n != NULL && n->kind == GN_PLUGIN;
}

void midi_ctl_pack_routes(msgpack_packer *pk, bool file) {
  unsigned i, nlive = 0;
  char buf[16];

  for (i = 0; i < nroutes; i++)
    if (live(routes[i].node))
      nlive++;
  msgpack_pack_array(pk, nlive + midi_cs_count());
  for (i = 0; i < nroutes; i++) {
    if (!live(routes[i].node))
      continue;
    msgpack_pack_map(pk, 2);
    if (file)
      sono_pack_key_uint(pk, "to", routes[i].node);
    else
      sono_pack_key_str(pk, "to", graph_node_label(routes[i].node, buf, sizeof buf));
    sono_pack_cstr(pk, "channel");
    if (routes[i].channel < 0)
      msgpack_pack_nil(pk);
    else
      msgpack_pack_uint32(pk, (uint32_t)routes[i].channel);
  }
  for (i = 0; i < midi_cs_count(); i++)
    midi_cs_pack_route(pk, i);
}
