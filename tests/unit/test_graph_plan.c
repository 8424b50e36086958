/* Unit: the routing graph's control side (daemon/graph_plan.c): processing
 * order, reachability of out, cycle detection, plan shape, port names. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "daemon/modules/graph_plan.h"
#include "tests/support/check_main.h"

#define OUT GRAPH_ID_OUT

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

static Suite *graph_plan_suite(void) {
  Suite *s = suite_create("graph_plan");
  TCase *tc = tcase_create("core");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, chain_order_and_activity);
  tcase_add_test(tc, bus_node_outputs_are_its_own_buffers);
  tcase_add_test(tc, unreachable_is_inactive);
  tcase_add_test(tc, fan_in_and_fan_out);
  tcase_add_test(tc, rendering_sums_and_scales);
  tcase_add_test(tc, cycles_are_found_and_named);
  tcase_add_test(tc, dying_connections_are_reaped);
  tcase_add_test(tc, removing_a_node_removes_its_connections);
  tcase_add_test(tc, port_names);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(graph_plan_suite)
