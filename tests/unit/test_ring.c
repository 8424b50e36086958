/* Unit tests: the SPSC ring (daemon/queue/spsc.h), alone and across two
 * threads. */
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>

#include "daemon/queue/spsc.h"
#include "tests/support/check_main.h"
#include "tests/support/resident.h"

/* A ring's slots are in RAM when spsc_create returns: the audio thread's
 * first push or pop into them never page-faults (prefault.h).  4 MiB is
 * well past the size calloc serves from fresh, untouched mappings. */
START_TEST(slots_are_prefaulted) {
  spsc_ring *r;
  size_t total, in;

  resident_no_perturb();
  r = spsc_create(1u << 16, 64);
  ck_assert_ptr_nonnull(r);
  in = resident_pages(spsc_slot(r, 0), spsc_capacity(r) * 64, &total);
  ck_assert_msg(in == total, "%zu of %zu pages resident", in, total);
  spsc_destroy(r);
}
END_TEST

START_TEST(capacity_rounds_to_power_of_two) {
  spsc_ring *r = spsc_create(5, sizeof(uint64_t));
  ck_assert_uint_eq(spsc_capacity(r), 8);
  spsc_destroy(r);
  r = spsc_create(1, sizeof(uint64_t));
  ck_assert_uint_eq(spsc_capacity(r), 1);
  spsc_destroy(r);
  r = spsc_create(1024, 3);
  ck_assert_uint_eq(spsc_capacity(r), 1024);
  spsc_destroy(r);
}
END_TEST

START_TEST(head_and_tail_are_on_their_own_cache_lines) {
  spsc_ring *r = spsc_create(4, sizeof(uint64_t));
  uintptr_t h = (uintptr_t)&r->head, t = (uintptr_t)&r->tail, m = (uintptr_t)&r->mask;

  ck_assert_uint_ne(h / 64, t / 64);
  ck_assert_uint_ne(t / 64, m / 64);
  ck_assert_uint_ne(h / 64, m / 64);
  /* Each side's view of the other index lives on its own line. */
  ck_assert_uint_eq((uintptr_t)&r->tail_seen / 64, h / 64);
  ck_assert_uint_eq((uintptr_t)&r->head_seen / 64, t / 64);
  spsc_destroy(r);
}
END_TEST

START_TEST(empty_ring_refuses_pop_and_peek) {
  spsc_ring *r = spsc_create(4, sizeof(uint64_t));
  uint64_t v = 99;

  ck_assert_int_eq(spsc_pop(r, &v), -1);
  ck_assert_uint_eq(v, 99);
  ck_assert_ptr_null(spsc_peek(r));
  ck_assert_uint_eq(spsc_count(r), 0);
  ck_assert_uint_eq(spsc_space(r), 4);
  spsc_destroy(r);
}
END_TEST

START_TEST(full_ring_refuses_and_keeps_order) {
  spsc_ring *r = spsc_create(4, sizeof(uint64_t));
  uint64_t i, v = 100;

  for (i = 0; i < 4; i++)
    ck_assert_int_eq(spsc_push(r, &i), 0);
  ck_assert_int_eq(spsc_push(r, &v), -1);
  ck_assert_uint_eq(spsc_space(r), 0);
  ck_assert_uint_eq(spsc_count(r), 4);
  for (i = 0; i < 4; i++) {
    ck_assert_int_eq(spsc_pop(r, &v), 0);
    ck_assert_uint_eq(v, i);
  }
  ck_assert_int_eq(spsc_pop(r, &v), -1);
  spsc_destroy(r);
}
END_TEST

START_TEST(peek_then_release_is_a_pop) {
  spsc_ring *r = spsc_create(2, sizeof(uint64_t));
  uint64_t a = 7, b = 8;
  const uint64_t *p;

  spsc_push(r, &a);
  spsc_push(r, &b);
  p = spsc_peek(r);
  ck_assert_ptr_nonnull(p);
  ck_assert_uint_eq(*p, 7);
  ck_assert_uint_eq(spsc_count(r), 2);   /* peek leaves it there */
  spsc_release(r, 1);
  p = spsc_peek(r);
  ck_assert_uint_eq(*p, 8);
  ck_assert_uint_eq(spsc_space(r), 1);
  spsc_destroy(r);
}
END_TEST

START_TEST(wraps_around_many_times) {
  spsc_ring *r = spsc_create(8, sizeof(uint64_t));
  uint64_t next_in = 0, next_out = 0, v;
  int round;

  /* Uneven pushes and pops walk the indices across the end many times. */
  for (round = 0; round < 1000; round++) {
    unsigned push = 1 + round % 7, pop = 1 + (round * 3) % 7, k;
    for (k = 0; k < push && spsc_space(r) > 0; k++) {
      ck_assert_int_eq(spsc_push(r, &next_in), 0);
      next_in++;
    }
    for (k = 0; k < pop && spsc_pop(r, &v) == 0; k++) {
      ck_assert_uint_eq(v, next_out);
      next_out++;
    }
    ck_assert_uint_eq(spsc_count(r), next_in - next_out);
  }
  ck_assert_uint_gt(next_out, 100 * 8);
  spsc_destroy(r);
}
END_TEST

START_TEST(indices_survive_counter_overflow) {
  spsc_ring *r = spsc_create(4, sizeof(uint64_t));
  uint64_t i, v;

  atomic_store(&r->head, SIZE_MAX - 1);
  atomic_store(&r->tail, SIZE_MAX - 1);
  r->tail_seen = r->head_seen = SIZE_MAX - 1;   /* as if it had run that far */
  for (i = 0; i < 4; i++)
    ck_assert_int_eq(spsc_push(r, &i), 0);
  ck_assert_int_eq(spsc_push(r, &i), -1);
  for (i = 0; i < 4; i++) {
    ck_assert_int_eq(spsc_pop(r, &v), 0);
    ck_assert_uint_eq(v, i);
  }
  ck_assert_int_eq(spsc_pop(r, &v), -1);
  spsc_destroy(r);
}
END_TEST

/* Runs written and read in place (the recording ring's way): records of
 * three floats, runs that straddle the end of the storage. */
START_TEST(runs_in_place_across_the_end) {
  spsc_ring *r = spsc_create(8, 3 * sizeof(float));
  size_t written = 0, read = 0;
  int round;

  for (round = 0; round < 200; round++) {
    size_t n = 1 + (size_t)round % 5, pos = spsc_write_pos(r), i, avail;

    if (spsc_space(r) >= n) {
      for (i = 0; i < n; i++) {
        float *f = spsc_slot(r, pos + i);
        f[0] = (float)(written + i);
        f[1] = -f[0];
        f[2] = 0.5f;
      }
      spsc_publish(r, n);
      written += n;
    }
    avail = spsc_count(r);
    ck_assert_uint_eq(avail, written - read);
    /* Read all but one, so the tail keeps moving unevenly. */
    for (i = 0; i + 1 < avail; i++) {
      const float *f = spsc_slot(r, spsc_read_pos(r) + i);
      ck_assert_float_eq(f[0], (float)(read + i));
      ck_assert_float_eq(f[1], -(float)(read + i));
      ck_assert_float_eq(f[2], 0.5f);
    }
    spsc_release(r, i);
    read += i;
    ck_assert_uint_eq(spsc_read_pos(r), read);
  }
  ck_assert_uint_gt(read, 4 * 8);
  spsc_destroy(r);
}
END_TEST

/* Copying and in-place calls on one ring: each side's cached view of the
 * other index must not let it read or write past what is really there. */
START_TEST(in_place_and_copying_calls_mix) {
  spsc_ring *r = spsc_create(4, sizeof(uint64_t));
  uint64_t v, next_in = 0, next_out = 0;
  int round;

  for (round = 0; round < 300; round++) {
    size_t k, n;

    /* Producer: in place up to the space it sees, or one push. */
    if (round % 3 == 0) {
      n = spsc_space(r);
      for (k = 0; k < n; k++)
        *(uint64_t *)spsc_slot(r, spsc_write_pos(r) + k) = next_in++;
      spsc_publish(r, n);
    } else if (spsc_push(r, &next_in) == 0) {
      next_in++;
    }
    if (spsc_count(r) == 4)
      ck_assert_int_eq(spsc_push(r, &v), -1);
    /* Consumer: peek + release, a run in place, or pops to empty. */
    switch (round % 4) {
    case 0:
      if (spsc_peek(r) != NULL) {
        ck_assert_uint_eq(*(const uint64_t *)spsc_peek(r), next_out);
        spsc_release(r, 1);
        next_out++;
      }
      break;
    case 1:
      n = spsc_count(r);
      for (k = 0; k < n; k++)
        ck_assert_uint_eq(*(uint64_t *)spsc_slot(r, spsc_read_pos(r) + k), next_out + k);
      spsc_release(r, n);
      next_out += n;
      /* Empty now, though the consumer's last view of head was older. */
      ck_assert_int_eq(spsc_pop(r, &v), -1);
      ck_assert_ptr_null(spsc_peek(r));
      break;
    default:
      while (spsc_pop(r, &v) == 0)
        ck_assert_uint_eq(v, next_out++);
      break;
    }
    ck_assert_uint_eq(spsc_count(r), next_in - next_out);
  }
  ck_assert_uint_gt(next_out, 300);
  spsc_destroy(r);
}
END_TEST

/* Two threads: N sequenced records, each carrying a check word, through a
 * small ring so both sides meet full and empty often. */
#define N_THREADED 2000000u

typedef struct seq_rec {
  uint64_t seq;
  uint64_t check;
} seq_rec;

static uint64_t check_of(uint64_t seq) {
  return seq * 0x9E3779B97F4A7C15u ^ 0xA5A5A5A5u;
}

static void *producer(void *arg) {
  spsc_ring *r = arg;
  uint64_t i;

  for (i = 0; i < N_THREADED; i++) {
    seq_rec rec = { i, check_of(i) };
    while (spsc_push(r, &rec) != 0)
      sched_yield();
  }
  return NULL;
}

START_TEST(two_threads_see_every_record_in_order) {
  spsc_ring *r = spsc_create(64, sizeof(seq_rec));
  pthread_t t;
  uint64_t expect = 0;
  seq_rec rec;

  ck_assert_int_eq(pthread_create(&t, NULL, producer, r), 0);
  while (expect < N_THREADED) {
    if (spsc_pop(r, &rec) != 0) {
      sched_yield();
      continue;
    }
    if (rec.seq != expect || rec.check != check_of(expect))
      ck_abort_msg("record %llu: got seq %llu check %llx", (unsigned long long)expect,
                   (unsigned long long)rec.seq, (unsigned long long)rec.check);
    expect++;
  }
  pthread_join(t, NULL);
  ck_assert_int_eq(spsc_pop(r, &rec), -1);   /* nothing more than N */
  ck_assert_uint_eq(expect, N_THREADED);
  spsc_destroy(r);
}
END_TEST

static Suite *ring_suite(void) {
  Suite *s = suite_create("ring");
  TCase *tc = tcase_create("core");

  tcase_set_timeout(tc, 100);
  tcase_add_test(tc, capacity_rounds_to_power_of_two);
  tcase_add_test(tc, slots_are_prefaulted);
  tcase_add_test(tc, head_and_tail_are_on_their_own_cache_lines);
  tcase_add_test(tc, empty_ring_refuses_pop_and_peek);
  tcase_add_test(tc, full_ring_refuses_and_keeps_order);
  tcase_add_test(tc, peek_then_release_is_a_pop);
  tcase_add_test(tc, wraps_around_many_times);
  tcase_add_test(tc, indices_survive_counter_overflow);
  tcase_add_test(tc, runs_in_place_across_the_end);
  tcase_add_test(tc, in_place_and_copying_calls_mix);
  tcase_add_test(tc, two_threads_see_every_record_in_order);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(ring_suite)
