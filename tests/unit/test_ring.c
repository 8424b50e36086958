/* Unit tests: the SPSC ring, alone and across two threads. */
#include <check.h>
#include <pthread.h>
#include <stdint.h>

#include "daemon/rt/ring.h"
#include "tests/support/check_main.h"

START_TEST(capacity_rounds_to_power_of_two) {
  rt_ring *r = ring_create(5, sizeof(uint64_t));
  ck_assert_uint_eq(ring_capacity(r), 8);
  ring_destroy(r);
}
END_TEST

START_TEST(full_ring_refuses_and_keeps_order) {
  rt_ring *r = ring_create(4, sizeof(uint64_t));
  uint64_t v, i;

  for (i = 0; i < 4; i++)
    ck_assert_int_eq(ring_push(r, &i), 0);
  v = 99;
  ck_assert_int_eq(ring_push(r, &v), -1);
  ck_assert_uint_eq(ring_space(r), 0);
  ck_assert_uint_eq(ring_count(r), 4);
  for (i = 0; i < 4; i++) {
    ck_assert_int_eq(ring_pop(r, &v), 0);
    ck_assert_uint_eq(v, i);
  }
  ck_assert_int_eq(ring_pop(r, &v), -1);
  ring_destroy(r);
}
END_TEST

START_TEST(wraps_around_many_times) {
  rt_ring *r = ring_create(8, sizeof(uint64_t));
  uint64_t next_in = 0, next_out = 0, v;
  int round;

  /* Fill and drain by uneven amounts so the indices cross the end of the
   * slot array at every possible offset. */
  for (round = 0; round < 1000; round++) {
    int k, push = 1 + round % 7, pop = 1 + (round * 3) % 7;
    for (k = 0; k < push && ring_space(r) > 0; k++) {
      ck_assert_int_eq(ring_push(r, &next_in), 0);
      next_in++;
    }
    for (k = 0; k < pop && ring_pop(r, &v) == 0; k++) {
      ck_assert_uint_eq(v, next_out);
      next_out++;
    }
  }
  ck_assert_uint_gt(next_out, 1000);
  ring_destroy(r);
}
END_TEST

START_TEST(indices_survive_counter_overflow) {
  rt_ring *r = ring_create(4, sizeof(uint64_t));
  uint64_t v, i;

  atomic_store(&r->head, SIZE_MAX - 1);
  atomic_store(&r->tail, SIZE_MAX - 1);
  for (i = 0; i < 4; i++)
    ck_assert_int_eq(ring_push(r, &i), 0);
  ck_assert_int_eq(ring_push(r, &i), -1);
  for (i = 0; i < 4; i++) {
    ck_assert_int_eq(ring_pop(r, &v), 0);
    ck_assert_uint_eq(v, i);
  }
  ring_destroy(r);
}
END_TEST

#define N_THREADED 200000u

static void *producer(void *arg) {
  rt_ring *r = arg;
  uint64_t i;

  for (i = 0; i < N_THREADED; i++)
    while (ring_push(r, &i) != 0)
      ;
  return NULL;
}

START_TEST(two_threads_see_every_record_in_order) {
  rt_ring *r = ring_create(64, sizeof(uint64_t));
  pthread_t t;
  uint64_t expect = 0, v;

  pthread_create(&t, NULL, producer, r);
  while (expect < N_THREADED)
    if (ring_pop(r, &v) == 0) {
      ck_assert_uint_eq(v, expect);
      expect++;
    }
  pthread_join(t, NULL);
  ring_destroy(r);
}
END_TEST

static Suite *ring_suite(void) {
  Suite *s = suite_create("ring");
  TCase *tc = tcase_create("core");

  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, capacity_rounds_to_power_of_two);
  tcase_add_test(tc, full_ring_refuses_and_keeps_order);
  tcase_add_test(tc, wraps_around_many_times);
  tcase_add_test(tc, indices_survive_counter_overflow);
  tcase_add_test(tc, two_threads_see_every_record_in_order);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(ring_suite)
