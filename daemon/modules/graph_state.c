/* graph_state.c - the routing graph in the session file (STATE.md,
 * `graph`): its nodes and live connections as graph.get shows them.
 *
 * Restored in two steps.  Rank 300, before Csound frees its buses: the
 * current bus nodes go, since they read those buses.  Rank 700, last: the
 * saved graph over the one the plugins' loading built -- gain nodes made
 * afresh, bus nodes too over the buses as restored, every connection not
 * in the file faded out, the file's made (saved ids mapped to the ones the
 * plugins, gain and bus nodes have now), node settings set, one plan sent.
 * Control thread only. */
#include <stdio.h>
#include <stdlib.h>

#include "daemon/modules/busnode_ctl.h"
#include "daemon/modules/graph_ctl.h"
#include "daemon/modules/graph_state.h"
#include "daemon/modules/plugin_ctl.h"
#include "protocol/wire.h"

typedef struct st_gnode {
  uint32_t id;                /* saved id, or GRAPH_ID_* for the built-in ones */
  graph_kind kind;
  unsigned channels;          /* gain nodes */
  int buses[BUSNODE_MAX_BUSES];  /* bus nodes: saved bus ids */
  unsigned nbuses;
  bool bypass, mute;
  float gain;
} st_gnode;

typedef struct st_gconn {
  uint32_t from, from_port, to, to_port;
  float gain;
} st_gconn;

typedef struct staged {
  bool has_graph;             /* false: nil or absent, the graph stays */
  st_gnode *gn;
  unsigned ngn;
  st_gconn *gc;
  unsigned ngc;
} staged;

/* ---- writing ---- */

/* A node id: "out", "in", "csound" for the built-in nodes, else the id. */
static void pack_gid(msgpack_packer *pk, const char *key, uint32_t id) {
  char lb[16];

  sono_pack_cstr(pk, key);
  if (id >= GRAPH_ID_OUT)
    sono_pack_cstr(pk, graph_node_label(id, lb, sizeof lb));
  else
    msgpack_pack_uint32(pk, id);
}

static void pack_graph(sonod *d, msgpack_packer *pk) {
  graph *g = graph_ctl_graph();
  uint32_t live = 0;
  unsigned i;

  (void)d;
  if (g == NULL) {
    msgpack_pack_nil(pk);
    return;
  }
  for (i = 0; i < g->nconns; i++)
    if (!g->conn[i].dying)
      live++;
  msgpack_pack_map(pk, 2);
  sono_pack_cstr(pk, "nodes");
  msgpack_pack_array(pk, g->nnodes);
  for (i = 0; i < g->nnodes; i++) {
    const gnode *n = &g->node[i];
    unsigned nb = 0, k;
    const int *buses = n->kind == GN_BUS ? busnode_ctl_buses(n->id, &nb) : NULL;

    msgpack_pack_map(pk, buses != NULL ? 7 : 6);
    pack_gid(pk, "node", n->id);
    sono_pack_key_str(pk, "kind", graph_kind_name(n->kind));
    sono_pack_key_uint(pk, "channels", n->kind == GN_GAIN ? n->nin : 0);
    sono_pack_key_bool(pk, "bypass", n->bypass);
    sono_pack_key_bool(pk, "mute", n->mute);
    sono_pack_key_double(pk, "gain", n->gain);
    if (buses != NULL) {
      sono_pack_cstr(pk, "buses");
      msgpack_pack_array(pk, nb);
      for (k = 0; k < nb; k++)
        msgpack_pack_int(pk, buses[k]);
    }
  }
  sono_pack_cstr(pk, "connections");
  msgpack_pack_array(pk, live);
  for (i = 0; i < g->nconns; i++) {
    const gconn *c = &g->conn[i];

    if (c->dying)
      continue;
    msgpack_pack_map(pk, 5);
    pack_gid(pk, "from", c->from);
    sono_pack_key_uint(pk, "from_port", c->from_port);
    pack_gid(pk, "to", c->to);
    sono_pack_key_uint(pk, "to_port", c->to_port);
    sono_pack_key_double(pk, "gain", c->gain);
  }
}

/* ---- reading ---- */

bool graph_state_node_id(const msgpack_object *o, uint32_t *id) {
  int64_t v;

  if (sono_str_eq(o, "out"))
    *id = GRAPH_ID_OUT;
  else if (sono_str_eq(o, "in"))
    *id = GRAPH_ID_IN;
  else if (sono_str_eq(o, "csound"))
    *id = GRAPH_ID_CSOUND;
  else if (session_int(o, 0, GRAPH_ID_OUT - 1, &v))
    *id = (uint32_t)v;
  else
    return false;
  return true;
}

static void free_graph(void *p) {
  staged *s = p;

  free(s->gn);
  free(s->gc);
  free(s);
}

static int parse_node_buses(const msgpack_object *o, st_gnode *n) {
  const msgpack_object_array *a = session_array(o);
  int64_t v;
  uint32_t k;

  if (a == NULL || a->size == 0 || a->size > BUSNODE_MAX_BUSES)
    return -1;
  for (k = 0; k < a->size; k++) {
    if (!session_int(&a->ptr[k], 0, INT32_MAX, &v))
      return -1;
    n->buses[n->nbuses++] = (int)v;
  }
  return 0;
}

static int parse_nodes(const msgpack_object_array *a, staged *s, char *err, size_t errlen) {
  static const struct { const char *name; graph_kind kind; } kinds[] = {
    { "out", GN_OUT }, { "in", GN_IN }, { "csound", GN_CSOUND },
    { "plugin", GN_PLUGIN }, { "gain", GN_GAIN }, { "bus", GN_BUS },
  };
  uint32_t i;

  s->gn = session_calloc(a->size, sizeof *s->gn);
  for (i = 0; i < a->size; i++) {
    const msgpack_object *m = &a->ptr[i];
    st_gnode *n = &s->gn[s->ngn];
    bool ok = session_is_map(m) && graph_state_node_id(sono_map_get(m, "node"), &n->id);
    double gain = 1;
    int64_t ch = 0;
    size_t k;

    for (k = 0; ok && k < sizeof kinds / sizeof kinds[0]; k++)
      if (sono_str_eq(sono_map_get(m, "kind"), kinds[k].name))
        break;
    if (!ok || k == sizeof kinds / sizeof kinds[0] ||
        !session_num(sono_map_get(m, "gain"), &gain) || !(gain >= 0 && gain <= 16) ||
        (kinds[k].kind == GN_GAIN && !session_int(sono_map_get(m, "channels"), 1, 64, &ch)))
      return session_bad(err, errlen,
                         "graph.nodes[%u] must be {node, kind, channels, bypass, mute, gain}", i);
    n->kind = kinds[k].kind;
    n->channels = (unsigned)ch;
    if (n->kind == GN_BUS && parse_node_buses(sono_map_get(m, "buses"), n) != 0)
      return session_bad(err, errlen,
                         "graph.nodes[%u]: a bus node's 'buses' must hold 1 to %d bus ids", i,
                         BUSNODE_MAX_BUSES);
    n->gain = (float)gain;
    sono_get_bool(m, "bypass", &n->bypass);
    sono_get_bool(m, "mute", &n->mute);
    s->ngn++;
  }
  return 0;
}

static int parse_graph(const msgpack_object *o, void **out, char *err, size_t errlen) {
  staged *s = session_calloc(1, sizeof *s);
  const msgpack_object_array *a;
  uint32_t i;

  *out = s;
  if (o == NULL || o->type == MSGPACK_OBJECT_NIL)
    return 0;
  if (!session_is_map(o))
    return session_bad(err, errlen, "'graph' must be nil or a map");
  s->has_graph = true;
  if ((a = session_array(sono_map_get(o, "nodes"))) == NULL)
    return session_bad(err, errlen, "graph.nodes must be an array");
  if (parse_nodes(a, s, err, errlen) != 0)
    return -1;
  if ((a = session_array(sono_map_get(o, "connections"))) == NULL)
    return session_bad(err, errlen, "graph.connections must be an array");
  s->gc = session_calloc(a->size, sizeof *s->gc);
  for (i = 0; i < a->size; i++) {
    const msgpack_object *m = &a->ptr[i];
    st_gconn *c = &s->gc[s->ngc];
    int64_t fp, tp;
    double gain = 1;

    if (!session_is_map(m) || !graph_state_node_id(sono_map_get(m, "from"), &c->from) ||
        !graph_state_node_id(sono_map_get(m, "to"), &c->to) ||
        !session_int(sono_map_get(m, "from_port"), 0, 1023, &fp) ||
        !session_int(sono_map_get(m, "to_port"), 0, 1023, &tp) ||
        !session_num(sono_map_get(m, "gain"), &gain) || !(gain >= 0 && gain <= 16))
      return session_bad(err, errlen,
                         "graph.connections[%u] must be {from, from_port, to, to_port, gain}", i);
    c->from_port = (uint32_t)fp;
    c->to_port = (uint32_t)tp;
    c->gain = (float)gain;
    s->ngc++;
  }
  return 0;
}

/* ---- restoring ---- */

/* Rank 300: bus nodes read buses the Csound part frees (rank 500), so they
 * go first (made afresh over the restored buses at rank 700). */
static void drop_bus_nodes(session_restore *j, void *p) {
  const staged *s = p;
  sonod *d = session_sonod(j);

  if (busnode_ctl_remove_all(d) > 0 && !s->has_graph)
    graph_ctl_commit(d, NULL);
  session_step_done(j);
}

/* A saved node id as the id it has now (0: none). */
static uint32_t map_gid(const session_restore *j, uint32_t id) {
  int64_t now;

  if (id >= GRAPH_ID_OUT)
    return id;
  if (session_id_now(j, "plugins", id, &now) || session_id_now(j, "gain_nodes", id, &now) ||
      session_id_now(j, "bus_nodes", id, &now))
    return (uint32_t)now;
  return 0;
}

/* A saved bus node over the buses as restored (their ids mapped). */
static void restore_bus_node(session_restore *j, const st_gnode *sn) {
  int64_t buses[BUSNODE_MAX_BUSES];
  const char *code;
  char msg[200];
  unsigned k;
  uint32_t id;

  for (k = 0; k < sn->nbuses; k++)
    if (!session_id_now(j, "buses", sn->buses[k], &buses[k])) {
      session_failed(j, "graph: bus node %u not restored: bus %d was not restored", sn->id,
                     sn->buses[k]);
      return;
    }
  if (busnode_ctl_new(session_sonod(j), buses, sn->nbuses, &id, &code, msg, sizeof msg) != 0) {
    session_failed(j, "graph: bus node %u not restored: %s", sn->id, msg);
    return;
  }
  session_count_id(j, "bus_nodes", sn->id, id);
}

/* The file's nodes: gain and bus nodes made, every node's settings set. */
static void restore_nodes(session_restore *j, const staged *s, graph *g) {
  unsigned i;

  for (i = 0; i < s->ngn; i++) {
    const st_gnode *sn = &s->gn[i];
    uint32_t id;
    gnode *n;

    if (sn->kind == GN_GAIN) {
      char name[32];

      id = plugin_ctl_take_id();
      snprintf(name, sizeof name, "gain %u", id);
      if (graph_add_node(g, id, GN_GAIN, name, sn->channels, sn->channels) == NULL) {
        session_failed(j, "graph: gain node %u not restored (out of memory)", sn->id);
        continue;
      }
      session_count_id(j, "gain_nodes", sn->id, id);
    } else if (sn->kind == GN_BUS) {
      restore_bus_node(j, sn);
    }
    id = map_gid(j, sn->id);
    if (id == 0 || (n = graph_node(g, id)) == NULL)
      continue;   /* a plugin that did not load: already reported */
    n->bypass = sn->bypass;
    n->mute = sn->mute;
    n->gain = sn->gain;
  }
}

/* Rank 700, after the plugins, Csound's buses and the MIDI routes. */
static void restore_graph(session_restore *j, void *p) {
  const staged *s = p;
  sonod *d = session_sonod(j);
  graph *g = graph_ctl_graph();
  uint32_t path[16];
  unsigned i;

  if (!s->has_graph || g == NULL) {
    session_step_done(j);
    return;
  }
  for (i = g->nnodes; i-- > 0;)
    if (g->node[i].kind == GN_GAIN)
      graph_remove_node(g, g->node[i].id);
  for (i = 0; i < g->nconns; i++)
    if (!g->conn[i].dying)
      g->conn[i].dying = g->gen + 1;
  restore_nodes(j, s, g);
  for (i = 0; i < s->ngc; i++) {
    const st_gconn *sc = &s->gc[i];
    uint32_t from = map_gid(j, sc->from), to = map_gid(j, sc->to);
    gnode *fn = from ? graph_node(g, from) : NULL, *tn = to ? graph_node(g, to) : NULL;
    gconn *c;

    if (fn == NULL || tn == NULL || sc->from_port >= fn->nout || sc->to_port >= tn->nin) {
      session_failed(j, "graph: connection %u (node %u:%u -> %u:%u) not restored: no such node "
                     "or port", i, sc->from, sc->from_port + 1, sc->to, sc->to_port + 1);
      continue;
    }
    if ((c = graph_find_conn(g, from, sc->from_port, to, sc->to_port)) != NULL) {
      c->gain = sc->gain;
      c->dying = 0;
    } else if (graph_cycle(g, from, to, path, 16) > 0 ||
               graph_add_conn(g, from, sc->from_port, to, sc->to_port, sc->gain, true) == NULL) {
      session_failed(j, "graph: connection %u would close a cycle (or out of memory)", i);
      continue;
    }
    session_count(j, "connections");
  }
  if (graph_ctl_commit(d, NULL) != 0)
    session_failed(j, "graph: the new plan could not be built");
  session_step_done(j);
}

static unsigned total_connections(const void *p) {
  return ((const staged *)p)->ngc;
}

static const session_step steps[] = {
  { 300, drop_bus_nodes },
  { 700, restore_graph },
};

static const session_tally tallies[] = {
  { "connections", NULL, -1, "graph connections", total_connections },
  { "gain_nodes", "node", 20, NULL, NULL },
  { "bus_nodes", "node", 21, NULL, NULL },
};

const session_section graph_state_section = {
  .key = "graph",
  .pack = pack_graph,
  .parse = parse_graph,
  .free = free_graph,
  .steps = steps,
  .nsteps = sizeof steps / sizeof steps[0],
  .tallies = tallies,
  .ntallies = sizeof tallies / sizeof tallies[0],
};
