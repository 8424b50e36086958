/* Unit tests: the min-heap (daemon/queue/heap.h). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/queue/heap.h"
#include "tests/support/check_main.h"

/* A record larger than a node, with its key and a check of its own. */
typedef struct rec {
  uint64_t at;
  uint64_t seq;
  uint64_t check;
  char pad[40];
} rec;

static rec rec_of(uint64_t at, uint64_t seq) {
  rec r;

  memset(&r, 0, sizeof r);
  r.at = at;
  r.seq = seq;
  r.check = at * 1000003u + seq;
  memset(r.pad, (int)(seq & 0x7f), sizeof r.pad);
  return r;
}

static int push(minheap *h, rec r) {
  return minheap_push(h, (minheap_key){ r.at, r.seq }, &r);
}

static void assert_intact(const rec *r) {
  ck_assert_uint_eq(r->check, r->at * 1000003u + r->seq);
  ck_assert_int_eq(r->pad[0], (int)(r->seq & 0x7f));
  ck_assert_int_eq(r->pad[sizeof r->pad - 1], (int)(r->seq & 0x7f));
}

START_TEST(pops_in_key_order) {
  minheap h;
  uint64_t times[] = { 50, 10, 40, 30, 20, 60, 0 };
  rec out;
  size_t i;

  ck_assert_int_eq(minheap_init(&h, 16, sizeof(rec)), 0);
  for (i = 0; i < 7; i++)
    ck_assert_int_eq(push(&h, rec_of(times[i], i)), 0);
  ck_assert_uint_eq(minheap_len(&h), 7);
  for (i = 0; i < 7; i++) {
    const rec *top = minheap_peek(&h);
    ck_assert_ptr_nonnull(top);
    ck_assert_uint_eq(top->at, i * 10);
    ck_assert_int_eq(minheap_pop(&h, &out), 0);
    ck_assert_uint_eq(out.at, i * 10);
    assert_intact(&out);
  }
  ck_assert_ptr_null(minheap_peek(&h));
  ck_assert_int_eq(minheap_pop(&h, &out), -1);
  minheap_free(&h);
}
END_TEST

START_TEST(equal_keys_at_keep_arrival_order) {
  minheap h;
  rec out;
  uint64_t i;

  ck_assert_int_eq(minheap_init(&h, 64, sizeof(rec)), 0);
  /* Interleave two times so the ties do not arrive in heap order. */
  for (i = 0; i < 40; i++)
    ck_assert_int_eq(push(&h, rec_of(i % 2 ? 100 : 5, i)), 0);
  for (i = 0; i < 40; i++) {
    ck_assert_int_eq(minheap_pop(&h, &out), 0);
    ck_assert_uint_eq(out.at, i < 20 ? 5 : 100);
    /* The i-th of each time is the i-th that arrived with it. */
    ck_assert_uint_eq(out.seq, i < 20 ? 2 * i : 2 * (i - 20) + 1);
    assert_intact(&out);
  }
  minheap_free(&h);
}
END_TEST

START_TEST(full_heap_refuses) {
  minheap h;
  rec out;
  uint64_t i;

  ck_assert_int_eq(minheap_init(&h, 4, sizeof(rec)), 0);
  ck_assert_uint_eq(minheap_capacity(&h), 4);
  for (i = 0; i < 4; i++)
    ck_assert_int_eq(push(&h, rec_of(10 - i, i)), 0);
  ck_assert_int_eq(push(&h, rec_of(0, 4)), -1);
  ck_assert_uint_eq(minheap_len(&h), 4);
  /* The refused record is not in it: the smallest is still 7. */
  ck_assert_int_eq(minheap_pop(&h, &out), 0);
  ck_assert_uint_eq(out.at, 7);
  /* One out, one in again. */
  ck_assert_int_eq(push(&h, rec_of(1, 5)), 0);
  ck_assert_int_eq(push(&h, rec_of(1, 6)), -1);
  ck_assert_int_eq(minheap_pop(&h, &out), 0);
  ck_assert_uint_eq(out.seq, 5);
  assert_intact(&out);
  minheap_free(&h);
}
END_TEST

START_TEST(items_are_every_record_held) {
  minheap h;
  uint64_t seen = 0, i;

  ck_assert_int_eq(minheap_init(&h, 8, sizeof(rec)), 0);
  for (i = 0; i < 6; i++)
    push(&h, rec_of(50 - i, i));
  for (i = 0; i < minheap_len(&h); i++) {
    const rec *r = minheap_item(&h, i);
    assert_intact(r);
    seen |= 1u << r->seq;
  }
  ck_assert_uint_eq(seen, 0x3f);
  minheap_free(&h);
}
END_TEST

static int cmp_key(const void *a, const void *b) {
  const rec *x = a, *y = b;

  if (x->at != y->at)
    return x->at < y->at ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Random pushes and pops, interleaved, against a reference kept sorted:
 * every pop gives the reference's smallest, and the records come back
 * whole (slots are reused many times over). */
/* Inserts c after every record not greater: the reference stays sorted. */
static void ref_insert(rec *ref, size_t *nref, rec c) {
  size_t at = *nref;

  while (at > 0 && cmp_key(&ref[at - 1], &c) > 0)
    at--;
  memmove(ref + at + 1, ref + at, (*nref - at) * sizeof *ref);
  ref[at] = c;
  (*nref)++;
}

START_TEST(random_push_pop_against_sorted_reference) {
  enum { CAP = 512, OPS = 200000 };
  minheap h;
  rec ref[CAP], out;
  size_t nref = 0;
  uint64_t seq = 0;
  unsigned seed = 12345;
  int op;

  ck_assert_int_eq(minheap_init(&h, CAP, sizeof(rec)), 0);
  for (op = 0; op < OPS; op++) {
    int r = rand_r(&seed);
    /* Drift between filling and draining so both full and empty happen. */
    int want_push = (op / 5000) % 2 ? r % 4 != 0 : r % 4 == 0;

    if (want_push) {
      rec c = rec_of((uint64_t)(rand_r(&seed) % 64), seq++);
      int rc = push(&h, c);

      if (nref == CAP) {
        ck_assert_int_eq(rc, -1);
        continue;
      }
      ck_assert_int_eq(rc, 0);
      ref_insert(ref, &nref, c);
    } else if (nref == 0) {
      ck_assert_int_eq(minheap_pop(&h, &out), -1);
    } else {
      ck_assert_int_eq(minheap_pop(&h, &out), 0);
      ck_assert_uint_eq(out.at, ref[0].at);
      ck_assert_uint_eq(out.seq, ref[0].seq);
      assert_intact(&out);
      memmove(ref, ref + 1, --nref * sizeof *ref);
    }
    ck_assert_uint_eq(minheap_len(&h), nref);
  }
  minheap_free(&h);
}
END_TEST

/* Removing records from anywhere (a cancelled timed request) keeps the
 * rest in key order: random pushes, pops and removals of a random held
 * record, against the sorted reference. */
START_TEST(remove_anywhere_keeps_order) {
  enum { CAP = 256, OPS = 100000 };
  minheap h;
  rec ref[CAP], out;
  size_t nref = 0;
  uint64_t seq = 0;
  unsigned seed = 777;

  ck_assert_int_eq(minheap_init(&h, CAP, sizeof(rec)), 0);
  for (int op = 0; op < OPS; op++) {
    int r = rand_r(&seed) % 3;

    if (r == 0 && nref < CAP) {
      rec c = rec_of((uint64_t)(rand_r(&seed) % 100), seq++);

      ck_assert_int_eq(push(&h, c), 0);
      ref_insert(ref, &nref, c);
    } else if (r == 1 && nref > 0) {
      size_t i = (size_t)rand_r(&seed) % nref, k = 0;
      const rec *victim = minheap_item(&h, i);
      uint64_t vseq = victim->seq;

      minheap_remove(&h, i, &out);
      ck_assert_uint_eq(out.seq, vseq);
      assert_intact(&out);
      while (ref[k].seq != vseq)
        k++;
      memmove(ref + k, ref + k + 1, (--nref - k) * sizeof *ref);
    } else if (nref > 0) {
      ck_assert_int_eq(minheap_pop(&h, &out), 0);
      ck_assert_uint_eq(out.seq, ref[0].seq);
      memmove(ref, ref + 1, --nref * sizeof *ref);
    }
    ck_assert_uint_eq(minheap_len(&h), nref);
  }
  minheap_free(&h);
}
END_TEST

static Suite *heap_suite(void) {
  Suite *s = suite_create("heap");
  TCase *tc = tcase_create("core");

  tcase_set_timeout(tc, 100);
  tcase_add_test(tc, pops_in_key_order);
  tcase_add_test(tc, equal_keys_at_keep_arrival_order);
  tcase_add_test(tc, full_heap_refuses);
  tcase_add_test(tc, items_are_every_record_held);
  tcase_add_test(tc, random_push_pop_against_sorted_reference);
  tcase_add_test(tc, remove_anywhere_keeps_order);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(heap_suite)
