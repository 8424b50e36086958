/* Unit: the routing graph's control side (daemon/graph_plan.c): processing
 * order, reachability of out, cycle detection, plan shape, port names. */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/modules/graph_plan.h"
#include "daemon/rt/rt_pool.h"
#include "tests/support/check_main.h"
#include "tests/support/resident.h"

#define OUT GRAPH_ID_OUT
#define RANDOM_NODES 24

static graph g;

static void setup(void) {
  graph_init(&g);
  ck_assert_ptr_nonnull(graph_add_node(&g, OUT, GN_OUT, "out", 2, 0));
  ck_assert_ptr_nonnull(graph_add_node(&g, 1, GN_GAIN, "a", 2, 2));
  ck_assert_ptr_nonnull(graph_add_node(&g, 2, GN_GAIN, "b", 2, 2));
  ck_assert_ptr_nonnull(graph_add_node(&g, 3, GN_GAIN, "c", 2, 2));
}

static void teardown(void) {
  graph_free(&g);
}

START_TEST(chain_order_and_activity) {
  uint32_t order[8];
  int n;

  /* Created in the order out, a, b, c; wired c -> b -> a -> out. */
  graph_add_conn(&g, 3, 0, 2, 0, 1, false);
  graph_add_conn(&g, 2, 0, 1, 0, 1, false);
  graph_add_conn(&g, 1, 0, OUT, 0, 1, false);
  n = graph_sort(&g, order);
  ck_assert_int_eq(n, 4);
  ck_assert_uint_eq(order[0], 3);
  ck_assert_uint_eq(order[1], 2);
  ck_assert_uint_eq(order[2], 1);
  ck_assert_uint_eq(order[3], OUT);
}
END_TEST

START_TEST(unreachable_is_inactive) {
  uint32_t order[8];

  graph_add_conn(&g, 1, 0, OUT, 0, 1, false);
  graph_add_conn(&g, 3, 0, 2, 0, 1, false);   /* c -> b, b goes nowhere */
  ck_assert_int_eq(graph_sort(&g, order), 2);
  ck_assert(graph_node(&g, 1)->active);
  ck_assert(!graph_node(&g, 2)->active);
  ck_assert(!graph_node(&g, 3)->active);
  ck_assert_uint_eq(order[1], OUT);
}
END_TEST

START_TEST(fan_in_and_fan_out) {
  uint32_t order[8];
  rt_plan *p;
  unsigned i;

  /* a feeds b and c (fan-out); b and c both feed out:in_1 (fan-in). */
  graph_add_conn(&g, 1, 0, 2, 0, 1, false);
  graph_add_conn(&g, 1, 0, 3, 0, 1, false);
  graph_add_conn(&g, 2, 0, OUT, 0, 0.5f, false);
  graph_add_conn(&g, 3, 0, OUT, 0, 0.25f, true);
  ck_assert_int_eq(graph_sort(&g, order), 4);
  ck_assert_uint_eq(order[0], 1);
  ck_assert_uint_eq(order[3], OUT);
  p = graph_plan_build(&g, 64);
  ck_assert_ptr_nonnull(p);
  ck_assert_uint_eq(p->nnodes, 4);
  ck_assert_uint_eq(p->node[3].kind, GN_OUT);
  ck_assert_uint_eq(p->node[3].nsrc[0], 2);
  ck_assert_uint_eq(p->node[3].nsrc[1], 0);
  /* Both b and c read a's first output buffer. */
  ck_assert_ptr_eq(p->node[1].src[0][0].buf, p->node[0].outbuf[0]);
  ck_assert_ptr_eq(p->node[2].src[0][0].buf, p->node[0].outbuf[0]);
  /* 4 node gains + 4 connections, sorted by key. */
  ck_assert_uint_eq(p->nramps, 8);
  for (i = 1; i < p->nramps; i++)
    ck_assert_uint_lt(p->ramp[i - 1].key, p->ramp[i].key);
  /* A faded-in connection starts from 0, the others at their gain. */
  for (i = 0; i < p->nramps; i++)
    if (p->ramp[i].key == g.conn[3].id)
      ck_assert(p->ramp[i].cur == 0.0f && p->ramp[i].target == 0.25f);
  graph_plan_free(p);
}
END_TEST

/* The audio side of a plan: fan-in sums (the first source written, the
 * others added), connection and node gains multiply, a faded-in
 * connection rises linearly over GRAPH_FADE_FRAMES, frame for frame. */
START_TEST(rendering_sums_and_scales) {
  enum { N = 2 * GRAPH_FADE_FRAMES };
  static float in0[N], in1[N], o0[N], o1[N];
  const float *ins[2] = { in0, in1 };
  float *outs[2] = { o0, o1 };
  rt_graph rg;
  rt_plan *p;
  unsigned i;

  ck_assert_ptr_nonnull(graph_add_node(&g, GRAPH_ID_IN, GN_IN, "in", 0, 2));
  graph_node(&g, 1)->gain = 0.5f;
  /* a = in_1 + 2 in_2, then × 0.5;  b = in_1; c = nothing. */
  graph_add_conn(&g, GRAPH_ID_IN, 0, 1, 0, 1, false);
  graph_add_conn(&g, GRAPH_ID_IN, 1, 1, 0, 2, false);
  graph_add_conn(&g, GRAPH_ID_IN, 0, 2, 0, 1, false);
  /* out_1 = a + 0.25 b (fading in); out_2 = c, silent. */
  graph_add_conn(&g, 1, 0, OUT, 0, 1, false);
  graph_add_conn(&g, 2, 0, OUT, 0, 0.25f, true);
  graph_add_conn(&g, 3, 0, OUT, 1, 1, false);
  for (i = 0; i < N; i++) {
    in0[i] = 0.001f * (float)(i + 1);
    in1[i] = -0.5f;
    o0[i] = o1[i] = 0.0f;
  }
  memset(&rg, 0, sizeof rg);
  rg.in = ins;
  rg.nin = 2;
  p = graph_plan_build(&g, N);
  ck_assert_ptr_nonnull(p);
  ck_assert_ptr_null(graph_rt_swap(&rg, p));
  /* Two segments, as a block split at a command frame is. */
  graph_rt_render(&rg, NULL, outs, 2, 0, 100);
  graph_rt_render(&rg, NULL, outs, 2, 100, N);
  for (i = 0; i < N; i++) {
    float fade = i < GRAPH_FADE_FRAMES ? 0.25f * (float)i / GRAPH_FADE_FRAMES : 0.25f;
    float want = 0.5f * (in0[i] + 2.0f * in1[i]) + fade * in0[i];

    ck_assert_msg(fabsf(o0[i] - want) < 1e-6f, "out_1[%u] = %.7f, want %.7f", i, o0[i], want);
    ck_assert_msg(o1[i] == 0.0f, "out_2[%u] = %g", i, o1[i]);
  }
  graph_plan_free(graph_rt_swap(&rg, NULL));
}
END_TEST

/* A plan's buffers are in RAM when it is built, before the hand-over:
 * the audio thread's first write into them never page-faults
 * (prefault.h).  Blocks of 65536 frames make buffers calloc maps fresh. */
START_TEST(plan_buffers_are_prefaulted) {
  rt_plan *p;
  size_t total, in;
  unsigned i;

  resident_no_perturb();
  graph_add_conn(&g, 1, 0, 2, 0, 1, false);
  graph_add_conn(&g, 2, 0, OUT, 0, 1, false);
  p = graph_plan_build(&g, 65536);
  ck_assert_ptr_nonnull(p);
  for (i = 0; i < p->nnodes; i++) {
    if (p->node[i].nin > 0) {
      in = resident_pages(p->node[i].inbuf[0], 65536 * sizeof(float) * p->node[i].nin, &total);
      ck_assert_msg(in == total, "node %u inputs: %zu of %zu pages resident", i, in, total);
    }
    if (p->node[i].nout > 0) {
      in = resident_pages(p->node[i].outbuf[0], 65536 * sizeof(float) * p->node[i].nout, &total);
      ck_assert_msg(in == total, "node %u outputs: %zu of %zu pages resident", i, in, total);
    }
  }
  graph_plan_free(p);
}
END_TEST

START_TEST(cycles_are_found_and_named) {
  uint32_t path[8];
  unsigned n;

  graph_add_conn(&g, 1, 0, 2, 0, 1, false);
  graph_add_conn(&g, 2, 0, 3, 0, 1, false);
  ck_assert_uint_eq(graph_cycle(&g, 1, 3, path, 8), 0);   /* a second path */
  n = graph_cycle(&g, 3, 1, path, 8);                      /* c -> a closes it */
  ck_assert_uint_eq(n, 3);
  ck_assert_uint_eq(path[0], 3);
  ck_assert_uint_eq(path[1], 1);
  ck_assert_uint_eq(path[2], 2);
  ck_assert_uint_eq(graph_cycle(&g, 2, 2, path, 8), 1);   /* self loop */
  ck_assert_uint_eq(path[0], 2);
}
END_TEST

START_TEST(dying_connections_are_reaped) {
  rt_plan *p;
  gconn *c;

  graph_add_conn(&g, 1, 0, OUT, 0, 1, false);
  c = graph_add_conn(&g, 2, 0, OUT, 0, 1, false);
  c->dying = g.gen + 1;
  p = graph_plan_build(&g, 32);
  ck_assert_uint_eq(p->nnodes, 3);   /* b still sounds while it fades */
  ck_assert_uint_eq(graph_reap(&g, p->gen - 1), 0);
  ck_assert_uint_eq(graph_reap(&g, p->gen), 1);
  graph_plan_free(p);
  p = graph_plan_build(&g, 32);
  ck_assert_uint_eq(p->nnodes, 2);
  graph_plan_free(p);
}
END_TEST

START_TEST(removing_a_node_removes_its_connections) {
  uint32_t order[8];

  graph_add_conn(&g, 1, 0, 2, 0, 1, false);
  graph_add_conn(&g, 2, 0, OUT, 0, 1, false);
  graph_remove_node(&g, 2);
  ck_assert_uint_eq(g.nconns, 0);
  ck_assert_int_eq(graph_sort(&g, order), 1);
  ck_assert(!graph_node(&g, 1)->active);
}
END_TEST

/* A bus node's outputs are the buffers it was given (Csound fills them),
 * read by the nodes it feeds; freeing the plan leaves them alone (ASan). */
START_TEST(bus_node_outputs_are_its_own_buffers) {
  static float left[256], right[256];
  float *ext[2] = { left, right };
  gnode *n = graph_add_node(&g, 4, GN_BUS, "bus 0,1", 0, 2);
  rt_plan *p;
  unsigned i;

  ck_assert_ptr_nonnull(n);
  n->ext_out = ext;
  ck_assert_str_eq(graph_kind_name(GN_BUS), "bus");
  graph_add_conn(&g, 4, 1, OUT, 0, 1, false);
  p = graph_plan_build(&g, 256);
  ck_assert_ptr_nonnull(p);
  ck_assert_uint_eq(p->nnodes, 2);
  ck_assert_uint_eq(p->node[0].kind, GN_BUS);
  ck_assert_uint_eq(p->node[0].id, 4);
  ck_assert_ptr_eq(p->node[0].outbuf[0], left);
  ck_assert_ptr_eq(p->node[0].outbuf[1], right);
  for (i = 0; i < p->nnodes && p->node[i].kind != GN_OUT; i++)
    ;
  ck_assert_uint_eq(p->node[i].nsrc[0], 1);
  ck_assert_ptr_eq(p->node[i].src[0][0].buf, right);
  graph_plan_free(p);
}
END_TEST

START_TEST(port_names) {
  uint32_t node, port;
  bool out;

  ck_assert_int_eq(graph_parse_port("3:out_2", 7, &node, &port, &out), 0);
  ck_assert(node == 3 && port == 1 && out);
  ck_assert_int_eq(graph_parse_port("out:in_1", 8, &node, &port, &out), 0);
  ck_assert(node == OUT && port == 0 && !out);
  ck_assert_int_eq(graph_parse_port("csound:out_2", 12, &node, &port, &out), 0);
  ck_assert(node == GRAPH_ID_CSOUND && port == 1);
  ck_assert_int_eq(graph_parse_port("x:out_1", 7, &node, &port, &out), -1);
  ck_assert_int_eq(graph_parse_port("3:out_0", 7, &node, &port, &out), -2);
  ck_assert_int_eq(graph_parse_port("3:left", 6, &node, &port, &out), -2);
  ck_assert_int_eq(graph_parse_port("3", 1, &node, &port, &out), -2);
}
END_TEST

/* The order graph_sort promises, computed the plain way: active = reaches
 * out (repeat until nothing changes); then, among the active nodes whose
 * active inputs are all placed, the one created first, out only when no
 * other is ready.  -1 on a cycle.  The oracle for the random graphs. */
static int reference_sort(graph *rg, uint32_t *order, bool *active) {
  unsigned n = rg->nnodes, i, j, count = 0, nactive = 0;
  bool grew, placed[RANDOM_NODES + 1] = { false };
  int out = -1;

  for (i = 0; i < n; i++) {
    active[i] = rg->node[i].id == OUT;
    if (active[i])
      out = (int)i;
  }
  do {
    grew = false;
    for (j = 0; j < rg->nconns; j++)
      for (i = 0; i < n; i++)
        if (rg->node[i].id == rg->conn[j].from && !active[i]) {
          unsigned t;
          for (t = 0; t < n; t++)
            if (rg->node[t].id == rg->conn[j].to && active[t])
              active[i] = grew = true;
        }
  } while (grew);
  for (i = 0; i < n; i++)
    nactive += active[i];
  while (count < nactive) {
    int pick = -1;

    for (i = 0; i < n && pick < 0; i++) {
      bool ready = active[i] && !placed[i] && (int)i != out;
      for (j = 0; ready && j < rg->nconns; j++)
        if (rg->conn[j].to == rg->node[i].id) {
          unsigned f;
          for (f = 0; f < n; f++)
            if (rg->node[f].id == rg->conn[j].from && active[f] && !placed[f])
              ready = false;
        }
      if (ready)
        pick = (int)i;
    }
    if (pick < 0 && out >= 0 && !placed[out]) {
      bool ready = true;
      for (j = 0; j < rg->nconns; j++)
        if (rg->conn[j].to == OUT)
          for (i = 0; i < n; i++)
            if (rg->node[i].id == rg->conn[j].from && active[i] && !placed[i])
              ready = false;
      if (ready)
        pick = out;
    }
    if (pick < 0)
      return -1;
    placed[pick] = true;
    order[count++] = rg->node[pick].id;
  }
  return (int)count;
}

static uint32_t rng_state = 12345;

static uint32_t rng(void) {
  rng_state = rng_state * 1103515245u + 12345u;
  return rng_state >> 8;
}

/* Random graphs: nodes created in a shuffled order with scattered ids,
 * connections that go "down" a hidden rank (no cycle) plus, in some graphs,
 * one that goes up (a cycle, if both ends are active and it closes one),
 * connections to ids that name no node, and nodes that reach nothing. */
START_TEST(random_graphs_sort_as_the_reference) {
  unsigned trial;

  for (trial = 0; trial < 300; trial++) {
    graph rg;
    uint32_t ids[RANDOM_NODES], got[RANDOM_NODES + 1], want[RANDOM_NODES + 1];
    bool active[RANDOM_NODES + 1];
    unsigned n = 1 + rng() % RANDOM_NODES, nc = rng() % (3 * n + 1), i, j;
    int a, b;

    graph_init(&rg);
    for (i = 0; i < n; i++)
      ids[i] = 10 + i * 7;   /* rank i: ids[i] may feed ids[j] for j < i */
    for (i = 0; i < n; i++) {   /* a shuffled creation order, out among them */
      unsigned k = i + rng() % (n - i);
      uint32_t t = ids[i];
      ids[i] = ids[k];
      ids[k] = t;
    }
    for (i = 0; i < n; i++)
      graph_add_node(&rg, ids[i], GN_GAIN, NULL, 2, 2);
    graph_add_node(&rg, OUT, GN_OUT, "out", 2, 0);
    for (j = 0; j < nc; j++) {
      uint32_t from = 10 + (rng() % n) * 7, to = 10 + (rng() % n) * 7;
      if (rng() % 4 == 0)
        to = OUT;
      else if (from <= to && !(trial % 10 == 0 && j == 0))
        continue;   /* keep ranks going down, but for one edge in a tenth */
      if (rng() % 20 == 0)
        to = 9999;   /* names no node */
      graph_add_conn(&rg, from, 0, to, 0, 1, false);
    }
    a = graph_sort(&rg, got);
    b = reference_sort(&rg, want, active);
    ck_assert_msg(a == b, "trial %u: %d nodes sorted, reference %d", trial, a, b);
    for (i = 0; a > 0 && i < (unsigned)a; i++)
      ck_assert_msg(got[i] == want[i], "trial %u: order[%u] %u, reference %u", trial, i, got[i],
                    want[i]);
    for (i = 0; i < rg.nnodes; i++)
      ck_assert_msg(rg.node[i].active == active[i], "trial %u: node %u activity", trial,
                    rg.node[i].id);
    graph_free(&rg);
  }
}
END_TEST

/* The plan graph_plan_build promises, checked the plain way on random
 * graphs with several ports, fan-in, fan-out, connections to ports and
 * ids that do not exist, nodes that reach nothing and plugins left idle:
 * each node the graph node of its id; each input port's sources the
 * connections into it from nodes in the plan, in connection order, each
 * reading its source's output buffer through its own ramp; the ramps one
 * per node gain, plugin bypass and connection in the plan; the schedule's
 * in-degrees (distinct nodes read), successor lists (readers later in the
 * plan, in plan order) and chain test as a node × node matrix gives them.
 * graph_plan_build and rt_sched_build used to compute exactly this with
 * linear searches inside their loops; they now resolve ids and buffers
 * once (the fuzzer's daemon spent a large share of its time rebuilding
 * plans of a graph of thousands of nodes). */
static int plain_plan_index(const rt_plan *p, uint32_t gid) {
  unsigned i;

  for (i = 0; i < p->nnodes; i++)
    if (p->node[i].gid == gid)
      return (int)i;
  return -1;
}

static void check_plan_plainly(graph *rg, const rt_plan *p, unsigned trial) {
  unsigned n = p->nnodes, i, j, k, m, ns, nr = 0;
  uint8_t *pred = calloc((size_t)(n ? n : 1) * (n ? n : 1), 1);
  bool chain = true;

  ck_assert_ptr_nonnull(pred);
  for (i = 0; i < n; i++) {
    const rt_gnode *pn = &p->node[i];
    const gnode *gn = graph_node(rg, pn->gid);

    ck_assert_ptr_nonnull(gn);
    ck_assert_uint_eq(pn->kind, gn->kind);
    ck_assert_uint_eq(pn->nin, gn->nin);
    ck_assert_uint_eq(pn->nout, gn->nout);
    ck_assert_ptr_eq(pn->vst, gn->vst);
    nr += gn->kind == GN_PLUGIN ? 2 : 1;
    for (k = 0; k < pn->nin; k++) {
      for (j = 0, ns = 0; j < rg->nconns; j++) {
        const gconn *c = &rg->conn[j];
        int f = plain_plan_index(p, c->from);

        if (c->to != pn->gid || c->to_port != k || f < 0)
          continue;
        ck_assert_msg(ns < pn->nsrc[k], "trial %u: node %u in_%u has too few sources", trial,
                      pn->gid, k + 1);
        ck_assert_ptr_eq(pn->src[k][ns].buf, p->node[f].outbuf[c->from_port]);
        ck_assert_int_eq((int)pn->src[k][ns].ramp, rt_plan_ramp(p, c->id));
        ck_assert_int_ge((int)pn->src[k][ns].ramp, 0);
        ns++;
        /* Who reads whom, by the owner of the buffer read. */
        for (m = 0; m < n; m++) {
          unsigned q;
          for (q = 0; q < p->node[m].nout; q++)
            if (p->node[m].outbuf[q] == pn->src[k][ns - 1].buf)
              break;
          if (q < p->node[m].nout) {
            if (m != i)
              pred[(size_t)i * n + m] = 1;
            break;
          }
        }
      }
      ck_assert_msg(ns == pn->nsrc[k], "trial %u: node %u in_%u: %u sources, plainly %u", trial,
                    pn->gid, k + 1, pn->nsrc[k], ns);
    }
  }
  for (j = 0; j < rg->nconns; j++)
    if (plain_plan_index(p, rg->conn[j].from) >= 0 && plain_plan_index(p, rg->conn[j].to) >= 0)
      nr++;
  ck_assert_uint_eq(p->nramps, nr);
  ck_assert_ptr_nonnull(p->sched);
  ck_assert_uint_eq(p->sched->n, n);
  for (i = 0; i < n; i++) {
    unsigned indeg = 0, at = p->sched->succ_at[i];

    for (m = 0; m < n; m++)
      indeg += pred[(size_t)i * n + m];
    ck_assert_msg(p->sched->indeg[i] == indeg, "trial %u: node %u reads %u nodes, plainly %u",
                  trial, p->node[i].gid, p->sched->indeg[i], indeg);
    for (m = i + 1; m < n; m++)
      if (pred[(size_t)m * n + i]) {
        ck_assert_uint_lt(at, p->sched->succ_at[i + 1]);
        ck_assert_uint_eq(p->sched->succ[at], m);
        at++;
      }
    ck_assert_uint_eq(at, p->sched->succ_at[i + 1]);
    if (i > 0 && !pred[(size_t)i * n + i - 1])
      chain = false;
  }
  if (n <= RT_POOL_MAX_NODES)
    ck_assert_int_eq(p->sched->parallel, !chain);
  free(pred);
}

START_TEST(random_plans_build_as_the_plain_way) {
  unsigned trial;

  for (trial = 0; trial < 300; trial++) {
    graph rg;
    unsigned n = 1 + rng() % RANDOM_NODES, nc = rng() % (4 * n + 1), i, j;
    rt_plan *p;

    graph_init(&rg);
    graph_add_node(&rg, OUT, GN_OUT, "out", 2, 0);
    for (i = 0; i < n; i++) {
      uint32_t id = 10 + ((i * 7919u + trial) % RANDOM_NODES) * 7 + i * 1000;
      graph_kind kind = rng() % 3 == 0 ? GN_PLUGIN : GN_GAIN;
      gnode *gn = graph_add_node(&rg, id, kind, NULL, 1 + rng() % 3, 1 + rng() % 3);

      ck_assert_ptr_nonnull(gn);
      gn->vst = (struct rt_node *)(uintptr_t)(0x1000 + 16 * i);   /* never dereferenced */
    }
    for (j = 0; j < nc; j++) {
      unsigned a = rng() % n, b = rng() % n;
      uint32_t from = rg.node[1 + a].id, to;
      uint32_t fport = rng() % rg.node[1 + a].nout, tport;

      if (rng() % 4 == 0) {
        to = OUT;
        tport = rng() % 3;   /* out has 2 inputs: in_3 names none */
      } else if (a < b) {
        to = rg.node[1 + b].id;   /* creation order down: no cycle */
        tport = rng() % (rg.node[1 + b].nin + 1);
      } else
        continue;
      if (rng() % 20 == 0)
        to = 9;   /* names no node */
      if (graph_find_conn(&rg, from, fport, to, tport) == NULL)
        ck_assert_ptr_nonnull(graph_add_conn(&rg, from, fport, to, tport, 0.5f, rng() % 2));
    }
    p = graph_plan_build(&rg, 64);
    ck_assert_ptr_nonnull(p);
    check_plan_plainly(&rg, p, trial);
    graph_plan_free(p);
    graph_free(&rg);
  }
}
END_TEST

/* A long chain created backwards (every node's input created after it):
 * the order is the chain's, whatever the creation order. */
START_TEST(long_chain_created_backwards) {
  enum { LEN = 2000 };
  uint32_t *order = calloc(LEN + 1, sizeof *order);
  graph rg;
  unsigned i;

  graph_init(&rg);
  graph_add_node(&rg, OUT, GN_OUT, "out", 2, 0);
  for (i = 0; i < LEN; i++)
    graph_add_node(&rg, 100 + i, GN_GAIN, NULL, 2, 2);
  graph_add_conn(&rg, 100, 0, OUT, 0, 1, false);
  for (i = 1; i < LEN; i++)
    graph_add_conn(&rg, 100 + i, 0, 100 + i - 1, 0, 1, false);
  ck_assert_int_eq(graph_sort(&rg, order), LEN + 1);
  for (i = 0; i < LEN; i++)
    ck_assert_uint_eq(order[i], 100 + LEN - 1 - i);
  ck_assert_uint_eq(order[LEN], OUT);
  graph_free(&rg);
  free(order);
}
END_TEST

static Suite *graph_plan_suite(void) {
  Suite *s = suite_create("graph_plan");
  TCase *tc = tcase_create("core");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, chain_order_and_activity);
  tcase_add_test(tc, plan_buffers_are_prefaulted);
  tcase_add_test(tc, bus_node_outputs_are_its_own_buffers);
  tcase_add_test(tc, unreachable_is_inactive);
  tcase_add_test(tc, fan_in_and_fan_out);
  tcase_add_test(tc, rendering_sums_and_scales);
  tcase_add_test(tc, cycles_are_found_and_named);
  tcase_add_test(tc, dying_connections_are_reaped);
  tcase_add_test(tc, removing_a_node_removes_its_connections);
  tcase_add_test(tc, port_names);
  tcase_add_test(tc, random_graphs_sort_as_the_reference);
  tcase_add_test(tc, random_plans_build_as_the_plain_way);
  tcase_add_test(tc, long_chain_created_backwards);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(graph_plan_suite)
