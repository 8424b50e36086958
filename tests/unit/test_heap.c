/* Unit tests: the timed-command heap. */
#include <check.h>
#include <stdlib.h>

#include "daemon/rt/heap.h"
#include "tests/support/check_main.h"

static rt_cmd cmd_at(uint64_t at, uint64_t seq) {
  rt_cmd c = { 0 };
  c.at = at;
  c.seq = seq;
  c.req_id = seq;
  return c;
}

START_TEST(pops_in_time_order) {
  rt_heap h;
  uint64_t times[] = { 50, 10, 40, 30, 20, 60, 0 };
  rt_cmd out;
  size_t i;

  heap_init(&h, 16);
  for (i = 0; i < 7; i++) {
    rt_cmd c = cmd_at(times[i], i);
    ck_assert_int_eq(heap_push(&h, &c), 0);
  }
  for (i = 0; i < 7; i++) {
    heap_pop(&h, &out);
    ck_assert_uint_eq(out.at, i * 10);
  }
  ck_assert_ptr_null(heap_peek(&h));
  heap_free(&h);
}
END_TEST

START_TEST(equal_times_keep_arrival_order) {
  rt_heap h;
  rt_cmd out;
  uint64_t i;

  heap_init(&h, 1024);
  /* 1000 commands on three frames, interleaved. */
  for (i = 0; i < 1000; i++) {
    rt_cmd c = cmd_at(100 * (i % 3), i);
    heap_push(&h, &c);
  }
  for (i = 0; i < 1000; i++) {
    uint64_t frame = i < 334 ? 0 : i < 667 ? 100 : 200;
    uint64_t k = i < 334 ? i : i < 667 ? i - 334 : i - 667;
    heap_pop(&h, &out);
    ck_assert_uint_eq(out.at, frame);
    ck_assert_uint_eq(out.seq, frame / 100 + 3 * k);
  }
  heap_free(&h);
}
END_TEST

START_TEST(full_heap_refuses) {
  rt_heap h;
  rt_cmd c = cmd_at(1, 1);
  int i;

  heap_init(&h, 4);
  for (i = 0; i < 4; i++)
    ck_assert_int_eq(heap_push(&h, &c), 0);
  ck_assert_int_eq(heap_push(&h, &c), -1);
  ck_assert_uint_eq(h.len, 4);
  heap_free(&h);
}
END_TEST

START_TEST(random_order_against_sort) {
  rt_heap h;
  rt_cmd out, prev = { 0 };
  int i;

  srand(7);
  heap_init(&h, 4096);
  for (i = 0; i < 4096; i++) {
    rt_cmd c = cmd_at((uint64_t)(rand() % 500), (uint64_t)i);
    heap_push(&h, &c);
  }
  for (i = 0; i < 4096; i++) {
    heap_pop(&h, &out);
    if (i > 0) {
      ck_assert_uint_ge(out.at, prev.at);
      if (out.at == prev.at)
        ck_assert_uint_gt(out.seq, prev.seq);
    }
    prev = out;
  }
  heap_free(&h);
}
END_TEST

static Suite *heap_suite(void) {
  Suite *s = suite_create("heap");
  TCase *tc = tcase_create("core");

  tcase_add_test(tc, pops_in_time_order);
  tcase_add_test(tc, equal_times_keep_arrival_order);
  tcase_add_test(tc, full_heap_refuses);
  tcase_add_test(tc, random_order_against_sort);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(heap_suite)
