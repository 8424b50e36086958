/* graph_plan.c - the routing graph on the control side.  See graph_plan.h
 * and ARCHITECTURE.md, "Routing graph".
 *
 * Lookups by id for a request are linear (found once per request); the
 * sort and the plan resolve every connection's ends once, by bisection, so
 * a change costs O((nodes + connections) log nodes), never on the audio
 * thread. */
#include "daemon/modules/graph_plan.h"
#include "daemon/queue/prefault.h"

#include "daemon/rt/rt_pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void graph_init(graph *g) {
  memset(g, 0, sizeof *g);
  g->next_conn = 1;
}

void graph_free(graph *g) {
  free(g->node);
  free(g->conn);
  memset(g, 0, sizeof *g);
}

static int node_index(const graph *g, uint32_t id) {
  unsigned i;

  for (i = 0; i < g->nnodes; i++)
    if (g->node[i].id == id)
      return (int)i;
  return -1;
}

gnode *graph_node(graph *g, uint32_t id) {
  int i = node_index(g, id);
  return i < 0 ? NULL : &g->node[i];
}

gnode *graph_add_node(graph *g, uint32_t id, graph_kind kind, const char *name, unsigned nin,
                      unsigned nout) {
  gnode *n;

  if (g->nnodes == g->capnodes) {
    unsigned cap = g->capnodes ? g->capnodes * 2 : 16;
    gnode *p = realloc(g->node, cap * sizeof *p);
    if (p == NULL)
      return NULL;
    g->node = p;
    g->capnodes = cap;
  }
  n = &g->node[g->nnodes++];
  memset(n, 0, sizeof *n);
  n->id = id;
  n->kind = kind;
  n->nin = nin;
  n->nout = nout;
  n->gain = 1.0f;
  snprintf(n->name, sizeof n->name, "%s", name != NULL ? name : "");
  return n;
}

void graph_remove_node(graph *g, uint32_t id) {
  int i = node_index(g, id);
  unsigned k = 0, j;

  if (i < 0)
    return;
  memmove(&g->node[i], &g->node[i + 1], (g->nnodes - (unsigned)i - 1) * sizeof g->node[0]);
  g->nnodes--;
  for (j = 0; j < g->nconns; j++)
    if (g->conn[j].from != id && g->conn[j].to != id)
      g->conn[k++] = g->conn[j];
  g->nconns = k;
}

gconn *graph_find_conn(graph *g, uint32_t from, uint32_t fport, uint32_t to, uint32_t tport) {
  unsigned i;

  for (i = 0; i < g->nconns; i++) {
    gconn *c = &g->conn[i];
    if (c->from == from && c->from_port == fport && c->to == to && c->to_port == tport)
      return c;
  }
  return NULL;
}

gconn *graph_add_conn(graph *g, uint32_t from, uint32_t fport, uint32_t to, uint32_t tport,
                      float gain, bool fade_in) {
  gconn *c;

  if (g->nconns == g->capconns) {
    unsigned cap = g->capconns ? g->capconns * 2 : 32;
    gconn *p = realloc(g->conn, cap * sizeof *p);
    if (p == NULL)
      return NULL;
    g->conn = p;
    g->capconns = cap;
  }
  c = &g->conn[g->nconns++];
  memset(c, 0, sizeof *c);
  /* Keys stay below GRAPH_KEY_BYPASS; ids wrap after 2^30 connections. */
  c->id = g->next_conn;
  g->next_conn = g->next_conn + 1 >= GRAPH_KEY_BYPASS ? 1 : g->next_conn + 1;
  c->from = from;
  c->from_port = fport;
  c->to = to;
  c->to_port = tport;
  c->gain = gain;
  c->fade_in = fade_in;
  return c;
}

unsigned graph_reap(graph *g, uint64_t gen) {
  unsigned i, k = 0, n;

  for (i = 0; i < g->nconns; i++)
    if (g->conn[i].dying == 0 || g->conn[i].dying > gen)
      g->conn[k++] = g->conn[i];
  n = g->nconns - k;
  g->nconns = k;
  return n;
}

/* Depth-first search for a path at -> target over node-level edges;
 * records it in path.  seen is indexed like g->node. */
static bool dfs(const graph *g, uint32_t at, uint32_t target, bool *seen, uint32_t *path,
                unsigned *len, unsigned cap) {
  int ai = node_index(g, at);
  unsigned i;

  if (ai < 0 || seen[ai])
    return false;
  seen[ai] = true;
  if (*len < cap)
    path[*len] = at;
  (*len)++;
  if (at == target)
    return true;
  for (i = 0; i < g->nconns; i++)
    if (g->conn[i].from == at && dfs(g, g->conn[i].to, target, seen, path, len, cap))
      return true;
  (*len)--;
  return false;
}

unsigned graph_cycle(const graph *g, uint32_t from, uint32_t to, uint32_t *path, unsigned cap) {
  unsigned n = g->nnodes ? g->nnodes : 1, len = 0, i, out = 0;
  bool *seen = calloc(n, sizeof *seen);
  uint32_t *tmp = calloc(n + 1, sizeof *tmp);

  if (from == to) {
    free(seen);
    free(tmp);
    if (cap > 0)
      path[0] = from;
    return 1;
  }
  /* from -> to closes a cycle iff to already reaches from: the cycle is
   * from, to, ..., the node before from (tmp ends with from itself). */
  if (seen != NULL && tmp != NULL && dfs(g, to, from, seen, tmp, &len, n + 1)) {
    if (out < cap)
      path[out++] = from;
    for (i = 0; i + 1 < len && out < cap; i++)
      path[out++] = tmp[i];
  }
  free(seen);
  free(tmp);
  return out;
}

/* ---- sorting ---- */

/* The sort's scratch, all sized by the graph and freed together: each
 * connection's node indices resolved once (cf, ct; -1 for an id that names
 * no node), the connections by source and by target in index order (CSR:
 * out_at[i] .. out_at[i + 1] index into out_conn), and a min-heap of ready
 * node indices.  Resolving ids once is what keeps the sort O((nodes +
 * connections) log nodes): the fuzzer found the old linear lookups inside
 * the connection loop at nodes² × connections per sort, and a state.load
 * that unloaded hundreds of plugins sorted once per plugin (22 s). */
typedef struct sorter {
  int *cf, *ct;
  unsigned *out_at, *out_conn, *in_at, *in_conn;
  unsigned *indeg, *heap, *stack;
  unsigned nheap;
} sorter;

typedef struct id_index {
  uint32_t id;
  unsigned index;
} id_index;

static int cmp_id(const void *a, const void *b) {
  uint32_t x = ((const id_index *)a)->id, y = ((const id_index *)b)->id;
  return x < y ? -1 : x > y;
}

static int find_id(const id_index *ids, unsigned n, uint32_t id) {
  id_index key = { id, 0 };
  const id_index *hit = bsearch(&key, ids, n, sizeof *ids, cmp_id);
  return hit != NULL ? (int)hit->index : -1;
}

/* Ids to indices, sorted for find_id: the plan's (ids: the plan's order)
 * or the graph's nodes. */
static id_index *index_ids(const uint32_t *ids, const gnode *nodes, unsigned n) {
  id_index *x = malloc((n ? n : 1) * sizeof *x);
  unsigned i;

  if (x == NULL)
    return NULL;
  for (i = 0; i < n; i++) {
    x[i].id = ids != NULL ? ids[i] : nodes[i].id;
    x[i].index = i;
  }
  qsort(x, n, sizeof *x, cmp_id);
  return x;
}

static void sorter_free(sorter *s) {
  free(s->cf);
  free(s->ct);
  free(s->out_at);
  free(s->out_conn);
  free(s->in_at);
  free(s->in_conn);
  free(s->indeg);
  free(s->heap);
  free(s->stack);
}

/* Counting sort of the connections by one end (key[j], -1 left out). */
static void csr_build(const int *key, unsigned nconns, unsigned n, unsigned *at, unsigned *list) {
  unsigned i, j;

  memset(at, 0, (n + 1) * sizeof *at);
  for (j = 0; j < nconns; j++)
    if (key[j] >= 0)
      at[key[j] + 1]++;
  for (i = 0; i < n; i++)
    at[i + 1] += at[i];
  for (j = 0; j < nconns; j++)
    if (key[j] >= 0)
      list[at[key[j]]++] = j;
  /* at[i] now holds the end of node i's run: shift back to its start. */
  for (i = n; i > 0; i--)
    at[i] = at[i - 1];
  at[0] = 0;
}

static int sorter_init(sorter *s, const graph *g, const id_index *ids) {
  unsigned n = g->nnodes, c = g->nconns, j;

  memset(s, 0, sizeof *s);
  s->cf = malloc((c ? c : 1) * sizeof *s->cf);
  s->ct = malloc((c ? c : 1) * sizeof *s->ct);
  s->out_at = malloc((n + 1) * sizeof *s->out_at);
  s->in_at = malloc((n + 1) * sizeof *s->in_at);
  s->out_conn = malloc((c ? c : 1) * sizeof *s->out_conn);
  s->in_conn = malloc((c ? c : 1) * sizeof *s->in_conn);
  s->indeg = calloc(n ? n : 1, sizeof *s->indeg);
  s->heap = malloc((n ? n : 1) * sizeof *s->heap);
  s->stack = malloc((n ? n : 1) * sizeof *s->stack);
  if (s->cf == NULL || s->ct == NULL || s->out_at == NULL || s->in_at == NULL ||
      s->out_conn == NULL || s->in_conn == NULL || s->indeg == NULL || s->heap == NULL ||
      s->stack == NULL) {
    sorter_free(s);
    return -1;
  }
  for (j = 0; j < c; j++) {
    s->cf[j] = find_id(ids, n, g->conn[j].from);
    s->ct[j] = find_id(ids, n, g->conn[j].to);
  }
  csr_build(s->cf, c, n, s->out_at, s->out_conn);
  csr_build(s->ct, c, n, s->in_at, s->in_conn);
  return 0;
}

/* The ready set: node indices, smallest first. */
static void ready_push(sorter *s, unsigned v) {
  unsigned i = s->nheap++;

  while (i > 0 && s->heap[(i - 1) / 2] > v) {
    s->heap[i] = s->heap[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  s->heap[i] = v;
}

static unsigned ready_pop(sorter *s) {
  unsigned top = s->heap[0], v = s->heap[--s->nheap], i = 0, k;

  while ((k = 2 * i + 1) < s->nheap) {
    if (k + 1 < s->nheap && s->heap[k + 1] < s->heap[k])
      k++;
    if (s->heap[k] >= v)
      break;
    s->heap[i] = s->heap[k];
    i = k;
  }
  s->heap[i] = v;
  return top;
}

/* Active: reaches out (dying connections count: they still sound).  A walk
 * back from out along the connections into each node. */
static void mark_active(graph *g, sorter *s, int out) {
  unsigned i, k, sp = 0;

  for (i = 0; i < g->nnodes; i++)
    g->node[i].active = (int)i == out;
  if (out < 0)
    return;
  s->stack[sp++] = (unsigned)out;
  while (sp > 0) {
    unsigned t = s->stack[--sp];
    for (k = s->in_at[t]; k < s->in_at[t + 1]; k++) {
      int f = s->cf[s->in_conn[k]];
      if (f >= 0 && !g->node[f].active) {
        g->node[f].active = true;
        s->stack[sp++] = (unsigned)f;
      }
    }
  }
}

/* graph_sort with the graph's nodes indexed by id (index_ids). */
static int sort_indexed(graph *g, const id_index *ids, uint32_t *order) {
  unsigned n = g->nnodes, i, j, k, count = 0, nactive = 0;
  int out = find_id(ids, n, GRAPH_ID_OUT);
  sorter s;

  if (sorter_init(&s, g, ids) != 0)
    return -1;
  mark_active(g, &s, out);
  for (i = 0; i < n; i++)
    if (g->node[i].active)
      nactive++;
  for (j = 0; j < g->nconns; j++)
    if (s.cf[j] >= 0 && s.ct[j] >= 0 && g->node[s.cf[j]].active && g->node[s.ct[j]].active)
      s.indeg[s.ct[j]]++;
  /* Kahn, lowest index first among the ready: the order is deterministic
   * (creation order where the graph leaves a choice).  Out goes last, when
   * nothing else is ready. */
  for (i = 0; i < n; i++)
    if (g->node[i].active && s.indeg[i] == 0 && (int)i != out)
      ready_push(&s, i);
  while (count < nactive) {
    unsigned pick;

    if (s.nheap > 0)
      pick = ready_pop(&s);
    else if (out >= 0 && s.indeg[out] == 0)
      pick = (unsigned)out;
    else
      break;   /* a cycle */
    order[count++] = g->node[pick].id;
    for (k = s.out_at[pick]; k < s.out_at[pick + 1]; k++) {
      int t = s.ct[s.out_conn[k]];
      if (t >= 0 && g->node[t].active && --s.indeg[t] == 0 && t != out)
        ready_push(&s, (unsigned)t);
    }
  }
  sorter_free(&s);
  return count == nactive ? (int)count : -1;
}

int graph_sort(graph *g, uint32_t *order) {
  id_index *ids = index_ids(NULL, g->node, g->nnodes);
  int n = ids != NULL ? sort_indexed(g, ids, order) : -1;

  free(ids);
  return n;
}

static int cmp_ramp(const void *a, const void *b) {
  uint32_t x = ((const rt_gramp *)a)->key, y = ((const rt_gramp *)b)->key;
  return x < y ? -1 : x > y;
}

static float node_target(const gnode *n) {
  if (n->mute)
    return 0.0f;
  if (n->bypass && n->kind == GN_GAIN)
    return 1.0f;
  return n->gain;
}

void graph_plan_free(rt_plan *p) {
  unsigned i, k;

  if (p == NULL)
    return;
  for (i = 0; i < p->nnodes; i++) {
    rt_gnode *n = &p->node[i];
    for (k = 0; n->src != NULL && k < n->nin; k++)
      free(n->src[k]);
    free(n->src);
    free(n->nsrc);
    if (n->inbuf != NULL)
      free(n->inbuf[0]);
    free(n->inbuf);
    if (n->outbuf != NULL && n->kind != GN_CSOUND && n->kind != GN_BUS)
      free(n->outbuf[0]);
    free(n->outbuf);
    free(n->inptr);
    free(n->outptr);
  }
  free(p->node);
  free(p->meter);
  free(p->ramp);
  free(p->idle);
  rt_sched_free(p->sched);
  free(p);
}

/* Buffers and pointer arrays for one node of the plan. */
static int alloc_node(rt_gnode *pn, const gnode *n, unsigned max_block) {
  unsigned k;
  size_t one = max_block;

  pn->id = n->kind == GN_PLUGIN || n->kind == GN_GAIN || n->kind == GN_BUS ? n->id : 0;
  pn->gid = n->id;
  pn->kind = (uint8_t)n->kind;
  pn->bypass = n->bypass;
  pn->nin = n->nin;
  pn->nout = n->nout;
  pn->vst = n->vst;
  pn->nsrc = calloc(n->nin ? n->nin : 1, sizeof *pn->nsrc);
  pn->src = calloc(n->nin ? n->nin : 1, sizeof *pn->src);
  pn->inbuf = calloc(n->nin ? n->nin : 1, sizeof *pn->inbuf);
  pn->outbuf = calloc(n->nout ? n->nout : 1, sizeof *pn->outbuf);
  pn->inptr = calloc(n->nin ? n->nin : 1, sizeof *pn->inptr);
  pn->outptr = calloc(n->nout ? n->nout : 1, sizeof *pn->outptr);
  if (pn->nsrc == NULL || pn->src == NULL || pn->inbuf == NULL || pn->outbuf == NULL ||
      pn->inptr == NULL || pn->outptr == NULL)
    return -1;
  if (n->nin > 0) {
    if ((pn->inbuf[0] = prefault_calloc(one * n->nin, sizeof(float))) == NULL)
      return -1;
    for (k = 1; k < n->nin; k++)
      pn->inbuf[k] = pn->inbuf[0] + one * k;
  }
  if (n->kind == GN_CSOUND || n->kind == GN_BUS) {
    for (k = 0; k < n->nout; k++)
      pn->outbuf[k] = n->ext_out[k];
  } else if (n->nout > 0) {
    if ((pn->outbuf[0] = prefault_calloc(one * n->nout, sizeof(float))) == NULL)
      return -1;
    for (k = 1; k < n->nout; k++)
      pn->outbuf[k] = pn->outbuf[0] + one * k;
  }
  return 0;
}

rt_plan *graph_plan_build(graph *g, unsigned max_block) {
  uint32_t *order = calloc(g->nnodes ? g->nnodes : 1, sizeof *order);
  rt_plan *p = calloc(1, sizeof *p);
  id_index *in_plan = NULL, *in_graph = NULL;
  int *cf = NULL, *ct = NULL;   /* each connection's ends in the plan, -1 when out of it */
  unsigned i, j, k, nr = 0, nidle = 0;
  int count;

  /* Every lookup below by bisection, in tables made once (the sort's
   * too): linear ones made this nodes × connections and worse (the
   * fuzzer's daemon: a node.gain on a graph of thousands of nodes rebuilt
   * the plan in a large share of its time). */
  if (order == NULL || p == NULL || (in_graph = index_ids(NULL, g->node, g->nnodes)) == NULL ||
      (count = sort_indexed(g, in_graph, order)) < 0)
    goto fail;
  in_plan = index_ids(order, NULL, (unsigned)count);
  cf = malloc((g->nconns ? g->nconns : 1) * sizeof *cf);
  ct = malloc((g->nconns ? g->nconns : 1) * sizeof *ct);
  if (in_plan == NULL || cf == NULL || ct == NULL)
    goto fail;
  for (j = 0; j < g->nconns; j++) {
    cf[j] = find_id(in_plan, (unsigned)count, g->conn[j].from);
    ct[j] = find_id(in_plan, (unsigned)count, g->conn[j].to);
  }
  p->gen = ++g->gen;
  p->max_block = max_block;
  p->nnodes = (unsigned)count;
  p->node = prefault_calloc(p->nnodes ? p->nnodes : 1, sizeof *p->node);
  /* One ramp per active node (its gain), one more per plugin (its bypass
   * crossfade) and one per connection between them. */
  p->ramp = prefault_calloc(2 * (size_t)p->nnodes + g->nconns + 1, sizeof *p->ramp);
  for (i = 0; i < g->nnodes; i++)
    if (!g->node[i].active && g->node[i].kind == GN_PLUGIN)
      nidle++;
  p->idle = calloc(nidle ? nidle : 1, sizeof *p->idle);
  if (p->node == NULL || p->ramp == NULL || p->idle == NULL)
    goto fail;
  for (i = 0; i < g->nnodes; i++)
    if (!g->node[i].active && g->node[i].kind == GN_PLUGIN)
      p->idle[p->nidle++] = g->node[i].vst;

  for (i = 0; i < p->nnodes; i++) {
    gnode *n = &g->node[find_id(in_graph, g->nnodes, order[i])];
    rt_gramp *r = &p->ramp[nr++];

    if (alloc_node(&p->node[i], n, max_block) != 0)
      goto fail;
    r->key = GRAPH_KEY_NODE | n->id;
    r->target = node_target(n);
    r->cur = r->target;   /* a node new to the plan does not fade its gain */
    if (n->kind == GN_PLUGIN) {
      r = &p->ramp[nr++];
      r->key = GRAPH_KEY_BYPASS | n->id;
      r->target = n->bypass ? 0.0f : 1.0f;
      r->cur = r->target;   /* nor its bypass */
    }
  }
  for (j = 0; j < g->nconns; j++) {
    gconn *c = &g->conn[j];
    rt_gramp *r;

    if (cf[j] < 0 || ct[j] < 0)
      continue;
    r = &p->ramp[nr++];
    r->key = c->id;
    r->target = c->dying ? 0.0f : c->gain;
    r->cur = c->fade_in ? 0.0f : r->target;
  }
  /* Meters: every node's outputs, the out node's inputs. */
  for (i = 0; i < p->nnodes; i++) {
    p->node[i].meter0 = p->nmeters;
    p->nmeters += p->node[i].kind == GN_OUT ? p->node[i].nin : p->node[i].nout;
  }
  if ((p->meter = prefault_calloc(p->nmeters ? p->nmeters : 1, sizeof *p->meter)) == NULL)
    goto fail;
  p->nramps = nr;
  qsort(p->ramp, nr, sizeof *p->ramp, cmp_ramp);
  for (i = 0; i < p->nnodes; i++) {
    p->node[i].gain_ramp = (uint32_t)rt_plan_ramp(p, GRAPH_KEY_NODE | order[i]);
    if (p->node[i].kind == GN_PLUGIN)
      p->node[i].wet_ramp = (uint32_t)rt_plan_ramp(p, GRAPH_KEY_BYPASS | order[i]);
  }

  /* Input mixing lists.  Fan-in: several sources on one port are summed
   * (in the order of the connections); fan-out: several ports read the
   * same output buffer.  Counted first, then filled. */
  for (j = 0; j < g->nconns; j++)
    if (cf[j] >= 0 && ct[j] >= 0 && g->conn[j].to_port < p->node[ct[j]].nin)
      p->node[ct[j]].nsrc[g->conn[j].to_port]++;
  for (i = 0; i < p->nnodes; i++) {
    rt_gnode *pn = &p->node[i];

    for (k = 0; k < pn->nin; k++) {
      if (pn->nsrc[k] == 0)
        continue;
      if ((pn->src[k] = calloc(pn->nsrc[k], sizeof *pn->src[k])) == NULL)
        goto fail;
      pn->nsrc[k] = 0;
    }
  }
  for (j = 0; j < g->nconns; j++) {
    gconn *c = &g->conn[j];
    rt_gnode *pn;

    if (cf[j] < 0 || ct[j] < 0 || c->to_port >= p->node[ct[j]].nin)
      continue;
    pn = &p->node[ct[j]];
    pn->src[c->to_port][pn->nsrc[c->to_port]].buf = p->node[cf[j]].outbuf[c->from_port];
    pn->src[c->to_port][pn->nsrc[c->to_port]].ramp = (uint32_t)rt_plan_ramp(p, c->id);
    pn->nsrc[c->to_port]++;
  }
  if ((p->sched = rt_sched_build(p)) == NULL)
    goto fail;
  free(order);
  free(in_plan);
  free(in_graph);
  free(cf);
  free(ct);
  return p;

fail:
  free(order);
  free(in_plan);
  free(in_graph);
  free(cf);
  free(ct);
  graph_plan_free(p);
  return NULL;
}

const char *graph_kind_name(graph_kind k) {
  switch (k) {
  case GN_OUT:
    return "out";
  case GN_IN:
    return "in";
  case GN_CSOUND:
    return "csound";
  case GN_PLUGIN:
    return "plugin";
  case GN_GAIN:
    return "gain";
  case GN_BUS:
    return "bus";
  }
  return "?";
}

const char *graph_node_label(uint32_t id, char *buf, size_t len) {
  switch (id) {
  case GRAPH_ID_OUT:
    return "out";
  case GRAPH_ID_IN:
    return "in";
  case GRAPH_ID_CSOUND:
    return "csound";
  default:
    snprintf(buf, len, "%u", id);
    return buf;
  }
}

int graph_parse_port(const char *s, size_t len, uint32_t *node, uint32_t *port, bool *is_out) {
  const char *colon = memchr(s, ':', len);
  size_t nl = colon != NULL ? (size_t)(colon - s) : len, pl, i;
  const char *p;
  unsigned long v = 0;

  if (nl == 3 && memcmp(s, "out", 3) == 0)
    *node = GRAPH_ID_OUT;
  else if (nl == 2 && memcmp(s, "in", 2) == 0)
    *node = GRAPH_ID_IN;
  else if (nl == 6 && memcmp(s, "csound", 6) == 0)
    *node = GRAPH_ID_CSOUND;
  else {
    if (nl == 0 || nl > 9)
      return -1;
    for (i = 0; i < nl; i++) {
      if (s[i] < '0' || s[i] > '9')
        return -1;
      v = v * 10 + (unsigned long)(s[i] - '0');
    }
    *node = (uint32_t)v;
  }
  if (colon == NULL)
    return -2;
  p = colon + 1;
  pl = len - nl - 1;
  if (pl > 4 && memcmp(p, "out_", 4) == 0) {
    *is_out = true;
    p += 4;
    pl -= 4;
  } else if (pl > 3 && memcmp(p, "in_", 3) == 0) {
    *is_out = false;
    p += 3;
    pl -= 3;
  } else
    return -2;
  if (pl > 6)
    return -2;
  v = 0;
  for (i = 0; i < pl; i++) {
    if (p[i] < '0' || p[i] > '9')
      return -2;
    v = v * 10 + (unsigned long)(p[i] - '0');
  }
  if (v == 0)
    return -2;
  *port = (uint32_t)(v - 1);
  return 0;
}
