/* graph_ctl.c - the routing graph in the daemon.  See graph_ctl.h. */
#include "daemon/modules/graph_ctl.h"
#include "daemon/modules/meter_ctl.h"

#include "daemon/engine/module.h"

#include <stdlib.h>
#include <string.h>

#include "daemon/backend/backend.h"
#include "daemon/modules/busnode_ctl.h"
#include "daemon/engine/engine_ctl.h"
#include "daemon/base/log.h"
#include "daemon/net/reply.h"
#include "daemon/rt/csound_rt.h"
#include "daemon/session/session.h"
#include "protocol/errors.h"

static graph G;
static bool started;

graph *graph_ctl_graph(void) {
  return &G;
}

/* JACK may change its period while we run, and the audio thread cannot
 * wait for a new plan: plans under JACK are sized for JACK's largest
 * period (8192 frames), so a buffer-size change needs nothing here. */
#define JACK_MAX_BLOCK 8192

static unsigned max_block(sonod *d) {
  unsigned b = d->be != NULL && d->be->block_size > 0 ? d->be->block_size : 4096;

  if (d->be != NULL && strcmp(d->be->ops->name, "jack") == 0 && b < JACK_MAX_BLOCK)
    b = JACK_MAX_BLOCK;
  return b;
}

int graph_ctl_commit(sonod *d, request *r) {
  rt_plan *p = graph_plan_build(&G, max_block(d));
  rt_cmd cmd;

  session_changed(d);   /* every graph change comes through here */
  if (p == NULL) {
    if (r != NULL)
      reply_error(r->c, true, r->id, SONO_E_INTERNAL, "%s: out of memory building the plan",
                  r->op);
    return -1;
  }
  memset(&cmd, 0, sizeof cmd);
  cmd.type = RT_CMD_GRAPH_PLAN;
  cmd.at_kind = RT_AT_NOW;
  cmd.u.ptr = p;
  if (r != NULL ? engine_ctl_send(r, &cmd) != 0 : engine_ctl_push(d, &cmd) != 0) {
    graph_plan_free(p);
    if (r == NULL)
      log_error("graph: the queue to the audio thread is full; the change goes with the next plan");
    return -1;
  }
  return 0;
}

int graph_ctl_start(sonod *d) {
  unsigned ch = d->opt.channels, k;
  rt_csound *cs = d->eng.csound;

  graph_init(&G);
  started = true;
  if (graph_add_node(&G, GRAPH_ID_OUT, GN_OUT, "out", ch, 0) == NULL ||
      graph_add_node(&G, GRAPH_ID_IN, GN_IN, "in", 0, d->opt.inputs) == NULL)
    return -1;
  if (cs != NULL) {
    gnode *n = graph_add_node(&G, GRAPH_ID_CSOUND, GN_CSOUND, "csound", 0, cs->nch);

    if (n == NULL)
      return -1;
    n->ext_out = cs->scratch;
    /* Compatibility default: Csound sounds without wiring. */
    for (k = 0; k < cs->nch && k < ch; k++)
      if (graph_add_conn(&G, GRAPH_ID_CSOUND, k, GRAPH_ID_OUT, k, 1.0f, false) == NULL)
        return -1;
  }
  return graph_ctl_commit(d, NULL);
}

void graph_ctl_plugin_added(sonod *d, uint32_t id, const char *name, struct rt_node *rt) {
  unsigned ch = d->opt.channels, k, c;
  gnode *n;

  if (!started)
    return;
  n = graph_add_node(&G, id, GN_PLUGIN, name, rt->nin, rt->nout);
  if (n == NULL) {
    log_error("graph: out of memory adding node %u", id);
    return;
  }
  n->vst = rt;
  /* Compatibility default: a new plugin sounds without wiring, at full
   * gain at once (it was silent before, so there is nothing to fade). */
  for (k = 0; k < rt->nout && ch > 0; k++) {
    if (rt->nout == 1) {
      for (c = 0; c < ch; c++)
        graph_add_conn(&G, id, 0, GRAPH_ID_OUT, c, 1.0f, false);
    } else if (k < ch) {
      graph_add_conn(&G, id, k, GRAPH_ID_OUT, k, 1.0f, false);
    }
  }
  graph_ctl_commit(d, NULL);
}

void graph_ctl_node_removed(sonod *d, uint32_t id) {
  graph_ctl_nodes_removed(d, &id, 1);
}

int graph_ctl_nodes_removed(sonod *d, const uint32_t *ids, unsigned n) {
  unsigned i, gone = 0;

  if (!started)
    return 0;
  for (i = 0; i < n; i++)
    if (graph_node(&G, ids[i]) != NULL) {
      graph_remove_node(&G, ids[i]);
      gone++;
    }
  return gone > 0 ? graph_ctl_commit(d, NULL) : 0;
}

/* Calls waiting for a later plan to settle (graph_ctl_after_plan). */
typedef struct after_plan {
  uint64_t gen;               /* the graph's generation when asked */
  void (*fn)(sonod *d, uint32_t arg);
  uint32_t arg;
} after_plan;
static after_plan *afters;
static unsigned nafters, capafters;

int graph_ctl_after_plan(void (*fn)(sonod *d, uint32_t arg), uint32_t arg) {
  if (nafters == capafters) {
    unsigned cap = capafters ? capafters * 2 : 16;
    after_plan *p = realloc(afters, cap * sizeof *p);

    if (p == NULL)
      return -1;
    afters = p;
    capafters = cap;
  }
  afters[nafters++] = (after_plan){ G.gen, fn, arg };
  return 0;
}

/* A plan of generation gen settled: every plan before it is out of use. */
static void run_afters(sonod *d, uint64_t gen) {
  unsigned i = 0;

  while (i < nafters) {
    after_plan a = afters[i];

    if (gen <= a.gen) {
      i++;
      continue;
    }
    afters[i] = afters[--nafters];
    a.fn(d, a.arg);
  }
}

/* Plugin and bus nodes fading out before they are removed (graph_ctl_fade_out_node). */
static uint32_t fading[RT_NODES_MAX];
static unsigned nfading;

static bool touches(const graph *g, uint32_t id) {
  unsigned i;

  for (i = 0; i < g->nconns; i++)
    if (g->conn[i].from == id || g->conn[i].to == id)
      return true;
  return false;
}

bool graph_ctl_fade_out_node(sonod *d, uint32_t id) {
  unsigned i, live = 0;

  if (!started || graph_node(&G, id) == NULL || nfading == RT_NODES_MAX)
    return false;
  for (i = 0; i < G.nconns; i++) {
    gconn *c = &G.conn[i];
    if ((c->from == id || c->to == id) && c->dying == 0) {
      c->dying = G.gen + 1;
      live++;
    }
  }
  if (live == 0)
    return false;
  fading[nfading++] = id;
  graph_ctl_commit(d, NULL);
  return true;
}

/* After a settle: nodes whose connections have all faded and been reaped
 * leave the graph, then the audio thread lets go of them. */
static void remove_faded(sonod *d) {
  unsigned i = 0;

  while (i < nfading) {
    uint32_t id = fading[i];
    unsigned nb;
    rt_cmd cmd;

    if (touches(&G, id)) {
      i++;
      continue;
    }
    if (busnode_ctl_buses(id, &nb) != NULL) {
      busnode_ctl_gone(d, id);   /* before the plan without the node */
      graph_ctl_node_removed(d, id);
      fading[i] = fading[--nfading];
      continue;
    }
    graph_ctl_node_removed(d, id);
    memset(&cmd, 0, sizeof cmd);
    cmd.type = RT_CMD_NODE_REMOVE;
    cmd.at_kind = RT_AT_NOW;
    cmd.u.node.id = id;
    if (engine_ctl_push(d, &cmd) != 0) {
      /* Retried at the next settle; the node stays silent meanwhile. */
      log_warn("graph: the queue to the audio thread is full; node %u is removed later", id);
      i++;
      continue;
    }
    fading[i] = fading[--nfading];
  }
}

static bool graph_ctl_handles(const rt_msg *m) {
  return m->cmd_type == RT_CMD_GRAPH_PLAN;
}

static void graph_ctl_msg(sonod *d, client *c, const rt_msg *m) {
  if (m->type == RT_MSG_GRAPH_SETTLED) {
    /* Connections that were fading out are silent now: the next plan
     * leaves them out. */
    if (graph_reap(&G, m->value) > 0)
      graph_ctl_commit(d, NULL);
    remove_faded(d);
    run_afters(d, m->value);
    return;
  }
  if (c != NULL && m->type == RT_MSG_ACK)
    reply_ok_frame(c, m->req_id, m->frame);
  meter_ctl_take_nonfinite(m->garbage);   /* its last counts */
  graph_plan_free(m->garbage);
}

static void graph_ctl_drop_cmd(const rt_cmd *c) {
  if (c->type == RT_CMD_GRAPH_PLAN)
    graph_plan_free(c->u.ptr);
}

static void graph_ctl_shutdown(sonod *d) {
  /* Readers of the live plan (status, the non-finite tick) see none. */
  atomic_store_explicit(&d->eng.graph.live, NULL, memory_order_release);
  graph_plan_free(d->eng.graph.plan);
  d->eng.graph.plan = NULL;
  if (started)
    graph_free(&G);
  started = false;
  free(afters);
  afters = NULL;
  nafters = capafters = 0;
  nfading = 0;
}

static void graph_ctl_drop(sonod *d, const rt_cmd *c) {
  (void)d;
  graph_ctl_drop_cmd(c);
}

/* Plan swaps and settled ramps; plans never swapped in are freed. */
const engine_module graph_ctl_module = {
  .name = "graph",
  .handles = graph_ctl_handles,
  .msg = graph_ctl_msg,
  .drop_cmd = graph_ctl_drop,
  .shutdown = graph_ctl_shutdown,
};
