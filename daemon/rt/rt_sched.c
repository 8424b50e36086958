/* rt_sched.c - CONTROL THREAD.  A plan's dependencies for the worker pool
 * (rt/rt_pool.h), built with the plan: who reads whom, found by matching
 * every connection's buffer to the node whose output it is. */
#include <stdlib.h>

#include "daemon/rt/graph.h"
#include "daemon/rt/rt_pool.h"

/* The plan index of the node whose output buffer buf is, or -1. */
static int owner(const rt_plan *p, const float *buf) {
  unsigned i, k;

  for (i = 0; i < p->nnodes; i++)
    for (k = 0; k < p->node[i].nout; k++)
      if (p->node[i].outbuf[k] == buf)
        return (int)i;
  return -1;
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
  unsigned n = p->nnodes, one = n ? n : 1, i, j, k, m, nedges = 0;
  /* pred[i * n + f]: node i reads node f (plans are small: at most a few
   * hundred nodes). */
  uint8_t *pred = calloc((size_t)one * one, 1);

  if (s == NULL || pred == NULL)
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
    const rt_gnode *nd = &p->node[i];

    s->csdep[i] = nd->kind == GN_CSOUND || nd->kind == GN_BUS;
    for (k = 0; k < nd->nin; k++)
      for (m = 0; m < nd->nsrc[k]; m++) {
        int f = owner(p, nd->src[k][m].buf);

        if (f >= 0 && (unsigned)f != i && !pred[(size_t)i * n + (unsigned)f]) {
          pred[(size_t)i * n + (unsigned)f] = 1;
          s->indeg[i]++;
          nedges++;
        }
      }
  }
  s->succ = calloc(nedges ? nedges : 1, sizeof *s->succ);
  if (s->succ == NULL)
    goto fail;
  /* Successor lists in plan order: a node finishing queues its readers
   * in a fixed order (the result does not depend on it; the timing is
   * steadier). */
  for (j = 0, m = 0; j < n; j++) {
    s->succ_at[j] = m;
    for (i = j + 1; i < n; i++)
      if (pred[(size_t)i * n + j])
        s->succ[m++] = i;
  }
  s->succ_at[n] = m;
  /* The plan is in processing order: it is one chain (nothing to run side
   * by side) exactly when every node reads the one before it. */
  for (i = 1; i < n; i++)
    if (!pred[(size_t)i * n + (i - 1)])
      s->parallel = true;
  /* Csound's block comes first then: beside the graph unless the first
   * node waits for it. */
  s->parallel_cs = n > 0 && (s->parallel || !s->csdep[0]);
  if (n > RT_POOL_MAX_NODES)
    s->parallel = s->parallel_cs = false;
  free(pred);
  return s;

fail:
  free(pred);
  rt_sched_free(s);
  return NULL;
}
