/* rt_sched.c - CONTROL THREAD.  A plan's dependencies for the worker pool
 * (rt/rt_pool.h), built with the plan: who reads whom, found by matching
 * every connection's buffer to the node whose output it is. */
#include <stdint.h>
#include <stdlib.h>

#include "daemon/rt/graph.h"
#include "daemon/rt/rt_pool.h"

/* Output buffers and the plan index of the node that owns each, sorted by
 * address: every source's owner found by bisection (a search of every
 * node's outputs per source made this nodes x sources). */
typedef struct buf_owner {
  const float *buf;
  unsigned node;
} buf_owner;

static int cmp_buf(const void *a, const void *b) {
  const buf_owner *x = a, *y = b;

  if (x->buf != y->buf)
    return (uintptr_t)x->buf < (uintptr_t)y->buf ? -1 : 1;
  return x->node < y->node ? -1 : x->node > y->node;
}

/* The plan index of the node whose output buffer buf is, or -1. */
static int owner(const buf_owner *own, unsigned nown, const float *buf) {
  unsigned lo = 0, hi = nown;

  while (lo < hi) {
    unsigned mid = lo + (hi - lo) / 2;

    if ((uintptr_t)own[mid].buf < (uintptr_t)buf)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < nown && own[lo].buf == buf ? (int)own[lo].node : -1;
}

/* An edge: node `to` reads node `from`. */
typedef struct edge {
  unsigned from, to;
} edge;

static int cmp_edge(const void *a, const void *b) {
  const edge *x = a, *y = b;

  if (x->from != y->from)
    return x->from < y->from ? -1 : 1;
  return x->to < y->to ? -1 : x->to > y->to;
}

void rt_sched_free(rt_sched *s) {
  if (s == NULL)
    return;
  free(s->indeg);
  free(s->succ_at);
  free(s->succ);
  free(s->csdep);
  free((void *)s->pending);
  free((void *)s->ran_on);
  free(s->midi_first);
  free(s->midi_count);
  free(s);
}

rt_sched *rt_sched_build(const rt_plan *p) {
  rt_sched *s = calloc(1, sizeof *s);
  unsigned n = p->nnodes, one = n ? n : 1, i, j, k, m, nown = 0, nsrc = 0, nedges = 0;
  buf_owner *own = NULL;
  edge *e = NULL;

  if (s == NULL)
    goto fail;
  s->n = n;
  s->indeg = calloc(one, sizeof *s->indeg);
  s->succ_at = calloc(one + 1, sizeof *s->succ_at);
  s->csdep = calloc(one, sizeof *s->csdep);
  s->pending = calloc(one, sizeof *s->pending);
  s->ran_on = calloc(one, sizeof *s->ran_on);
  s->midi_first = calloc(one, sizeof *s->midi_first);
  s->midi_count = calloc(one, sizeof *s->midi_count);
  if (s->indeg == NULL || s->succ_at == NULL || s->csdep == NULL || s->pending == NULL ||
      s->ran_on == NULL || s->midi_first == NULL || s->midi_count == NULL)
    goto fail;
  for (i = 0; i < n; i++) {
    nown += p->node[i].nout;
    for (k = 0; k < p->node[i].nin; k++)
      nsrc += p->node[i].nsrc[k];
  }
  own = malloc((nown ? nown : 1) * sizeof *own);
  e = malloc((nsrc ? nsrc : 1) * sizeof *e);
  if (own == NULL || e == NULL)
    goto fail;
  /* A buffer two nodes share as output (none do) belongs to the first. */
  for (i = 0, m = 0; i < n; i++)
    for (k = 0; k < p->node[i].nout; k++) {
      own[m].buf = p->node[i].outbuf[k];
      own[m++].node = i;
    }
  qsort(own, nown, sizeof *own, cmp_buf);
  for (j = 1, m = nown ? 1 : 0; j < nown; j++)
    if (own[j].buf != own[m - 1].buf)
      own[m++] = own[j];
  nown = m;
  /* Who reads whom: each pair once, self-reads left out. */
  for (i = 0; i < n; i++) {
    const rt_gnode *nd = &p->node[i];

    s->csdep[i] = nd->kind == GN_CSOUND || nd->kind == GN_BUS;
    for (k = 0; k < nd->nin; k++)
      for (m = 0; m < nd->nsrc[k]; m++) {
        int f = owner(own, nown, nd->src[k][m].buf);

        if (f >= 0 && (unsigned)f != i) {
          e[nedges].from = (unsigned)f;
          e[nedges++].to = i;
        }
      }
  }
  qsort(e, nedges, sizeof *e, cmp_edge);
  for (j = 0, m = 0; j < nedges; j++)
    if (m == 0 || e[j].from != e[m - 1].from || e[j].to != e[m - 1].to)
      e[m++] = e[j];
  nedges = m;
  s->succ = calloc(nedges ? nedges : 1, sizeof *s->succ);
  if (s->succ == NULL)
    goto fail;
  /* Successor lists in plan order: a node finishing queues its readers
   * in a fixed order (the result does not depend on it; the timing is
   * steadier).  A reader earlier in the plan than what it reads (none
   * is: the plan is sorted) is no successor. */
  for (j = 0, m = 0, k = 0; j < n; j++) {
    s->succ_at[j] = m;
    for (; k < nedges && e[k].from == j; k++) {
      s->indeg[e[k].to]++;
      if (e[k].to > j)
        s->succ[m++] = e[k].to;
    }
  }
  s->succ_at[n] = m;
  /* The plan is in processing order: it is one chain (nothing to run side
   * by side) exactly when every node reads the one before it. */
  for (i = 1; i < n; i++) {
    edge key = { i - 1, i };

    if (bsearch(&key, e, nedges, sizeof *e, cmp_edge) == NULL)
      s->parallel = true;
  }
  /* Csound's block comes first then: beside the graph unless the first
   * node waits for it. */
  s->parallel_cs = n > 0 && (s->parallel || !s->csdep[0]);
  if (n > RT_POOL_MAX_NODES)
    s->parallel = s->parallel_cs = false;
  free(own);
  free(e);
  return s;

fail:
  free(own);
  free(e);
  rt_sched_free(s);
  return NULL;
}
