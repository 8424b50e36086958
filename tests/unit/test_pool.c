/* Unit: the worker pool (daemon/rt/rt_pool.c) and a plan's dependencies
 * (rt_sched.c).
 *
 *   - the dependencies: in-degrees, successors, and whether a plan has
 *     anything to run side by side (a chain has not, a diamond has);
 *   - many segments: random graphs of gain nodes fed by a deterministic
 *     input, rendered block after block in random segments with gain
 *     changes between them, once on the audio thread alone
 *     (graph_rt_render) and once on a pool of 1, 2 and 3 workers
 *     (rt_pool_render) from a second plan of the same graph: every output
 *     sample must be the same bits.  Thousands of segments, so a lost
 *     wake-up would hang the test and a race would show as a difference. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/modules/graph_plan.h"
#include "daemon/rt/rt_pool.h"
#include "tests/support/check_main.h"

#define OUT GRAPH_ID_OUT
#define IN GRAPH_ID_IN
#define BLOCK 128
#define BLOCKS 600

static graph g;

static void setup(void) {
  graph_init(&g);
  ck_assert_ptr_nonnull(graph_add_node(&g, OUT, GN_OUT, "out", 2, 0));
  ck_assert_ptr_nonnull(graph_add_node(&g, IN, GN_IN, "in", 0, 2));
}

static void teardown(void) {
  graph_free(&g);
}

static unsigned plan_index(const rt_plan *p, uint32_t gid) {
  unsigned i;

  for (i = 0; i < p->nnodes; i++)
    if (p->node[i].gid == gid)
      return i;
  ck_abort_msg("node %u not in the plan", gid);
  return 0;
}

START_TEST(dependencies_of_a_chain_and_a_diamond) {
  rt_plan *p;
  rt_sched *s;
  unsigned a, b, c, o, i;

  graph_add_node(&g, 1, GN_GAIN, "a", 2, 2);
  graph_add_node(&g, 2, GN_GAIN, "b", 2, 2);
  graph_add_node(&g, 3, GN_GAIN, "c", 2, 2);
  /* in -> a -> b -> c -> out: one chain. */
  graph_add_conn(&g, IN, 0, 1, 0, 1, false);
  graph_add_conn(&g, 1, 0, 2, 0, 1, false);
  graph_add_conn(&g, 1, 1, 2, 1, 1, false);   /* a second edge a -> b counts once */
  graph_add_conn(&g, 2, 0, 3, 0, 1, false);
  graph_add_conn(&g, 3, 0, OUT, 0, 1, false);
  p = graph_plan_build(&g, BLOCK);
  ck_assert_ptr_nonnull(p);
  s = p->sched;
  ck_assert_ptr_nonnull(s);
  ck_assert_uint_eq(s->n, 5);
  ck_assert(!s->parallel);
  b = plan_index(p, 2);
  ck_assert_uint_eq(s->indeg[b], 1);
  for (i = 0; i < s->n; i++)
    ck_assert(!s->csdep[i]);
  graph_plan_free(p);

  /* Now a also feeds c directly and in feeds out: a -> {b, c}, b -> c,
   * in -> out: out can run beside a, b and c. */
  graph_add_conn(&g, 1, 0, 3, 1, 1, false);
  graph_add_conn(&g, IN, 1, OUT, 1, 1, false);
  p = graph_plan_build(&g, BLOCK);
  ck_assert_ptr_nonnull(p);
  s = p->sched;
  a = plan_index(p, 1);
  b = plan_index(p, 2);
  c = plan_index(p, 3);
  o = plan_index(p, OUT);
  ck_assert_uint_eq(s->indeg[c], 2);
  ck_assert_uint_eq(s->indeg[o], 2);
  ck_assert_uint_eq(s->succ_at[a + 1] - s->succ_at[a], 2);
  ck_assert_uint_eq(s->succ[s->succ_at[a]], b);
  ck_assert_uint_eq(s->succ[s->succ_at[a] + 1], c);
  /* Still every node reads the one before it in plan order (in, a, b,
   * c, out): nothing to run side by side. */
  ck_assert(!s->parallel);
  graph_plan_free(p);

  /* A fourth node fed by in alone: beside a, b and c. */
  graph_add_node(&g, 4, GN_GAIN, "d", 2, 2);
  graph_add_conn(&g, IN, 0, 4, 0, 1, false);
  graph_add_conn(&g, 4, 0, OUT, 0, 1, false);
  p = graph_plan_build(&g, BLOCK);
  ck_assert_ptr_nonnull(p);
  ck_assert(p->sched->parallel);
  ck_assert(p->sched->parallel_cs);
  graph_plan_free(p);
}
END_TEST

static uint32_t rng;

static uint32_t rnd(uint32_t n) {
  rng = rng * 1664525u + 1013904223u;
  return (rng >> 8) % n;
}

/* A random DAG of n gain nodes (ids 1..n): each reads 1-3 of in and the
 * nodes before it; the last third also go to out. */
static void random_graph(unsigned n) {
  unsigned i, k;

  for (i = 1; i <= n; i++) {
    graph_add_node(&g, i, GN_GAIN, "g", 2, 2)->gain = 0.5f + 0.125f * (float)rnd(8);
    for (k = 0; k < 1 + rnd(3); k++) {
      uint32_t from = rnd(i) == 0 ? IN : 1 + rnd(i - 1 ? i - 1 : 1);

      if (from >= i)
        from = IN;
      graph_add_conn(&g, from, rnd(2), i, rnd(2), 0.25f * (float)(1 + rnd(4)), rnd(3) == 0);
    }
    if (i > 2 * n / 3 || rnd(4) == 0)
      graph_add_conn(&g, i, rnd(2), OUT, rnd(2), 0.5f, false);
  }
}

START_TEST(pool_renders_bit_identical) {
  static const unsigned workers[] = { 1, 2, 3 };
  static float in0[BLOCK], in1[BLOCK], ra[BLOCK], rb[BLOCK], pa[BLOCK], pb[BLOCK];
  const float *ins[2] = { in0, in1 };
  float *ref_out[2] = { ra, rb }, *pool_out[2] = { pa, pb };
  rt_graph ref, par;
  rt_pool *pool;
  rt_plan *p1, *p2;
  char err[200];
  unsigned blk, i, nseg = 0;

  rng = 0xC0FFEEu + (uint32_t)_i * 7919u;
  random_graph(8 + rnd(24));
  pool = rt_pool_create(workers[_i % 3], 0, err, sizeof err);
  ck_assert_msg(pool != NULL, "%s", err);
  memset(&ref, 0, sizeof ref);
  memset(&par, 0, sizeof par);
  p1 = graph_plan_build(&g, BLOCK);
  p2 = graph_plan_build(&g, BLOCK);
  ck_assert_ptr_nonnull(p1);
  ck_assert_ptr_nonnull(p2);
  ck_assert(p1->sched->parallel);
  graph_rt_swap(&ref, p1);
  graph_rt_swap(&par, p2);
  ref.in = par.in = ins;
  ref.nin = par.nin = 2;
  for (blk = 0; blk < BLOCKS; blk++) {
    unsigned from = 0;

    for (i = 0; i < BLOCK; i++) {
      in0[i] = (float)((blk * BLOCK + i) % 97) / 97.0f - 0.5f;
      in1[i] = (float)((blk * BLOCK + i) % 31) / 62.0f;
    }
    memset(ra, 0, sizeof ra);
    memset(rb, 0, sizeof rb);
    memset(pa, 0, sizeof pa);
    memset(pb, 0, sizeof pb);
    /* Random segments, a gain change between them. */
    while (from < BLOCK) {
      unsigned to = rnd(3) == 0 ? BLOCK : from + 1 + rnd(BLOCK - from);
      uint32_t key = GRAPH_KEY_NODE | (1 + rnd(8));
      float gain = 0.25f * (float)rnd(8);

      graph_rt_render(&ref, NULL, ref_out, 2, from, to);
      rt_pool_render(pool, &par, NULL, pool_out, 2, from, to, NULL, NULL);
      graph_rt_set_gain(&ref, key, gain);
      graph_rt_set_gain(&par, key, gain);
      from = to;
      nseg++;
    }
    rt_pool_cycle_end(pool, par.plan, BLOCK, 48000, 0);
    ck_assert_msg(memcmp(ra, pa, sizeof ra) == 0 && memcmp(rb, pb, sizeof rb) == 0,
                  "block %u differs with %u workers", blk, workers[_i % 3]);
  }
  ck_assert_uint_gt(nseg, BLOCKS);
  graph_plan_free(graph_rt_swap(&ref, NULL));
  graph_plan_free(graph_rt_swap(&par, NULL));
  rt_pool_destroy(pool);
}
END_TEST

static Suite *pool_suite(void) {
  Suite *s = suite_create("pool");
  TCase *t = tcase_create("core");

  tcase_add_checked_fixture(t, setup, teardown);
  tcase_set_timeout(t, 120);
  tcase_add_test(t, dependencies_of_a_chain_and_a_diamond);
  tcase_add_loop_test(t, pool_renders_bit_identical, 0, 6);
  suite_add_tcase(s, t);
  return s;
}

CHECK_MAIN(pool_suite)
