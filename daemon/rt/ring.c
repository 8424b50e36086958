/* ring.c - SPSC ring.  Audio-thread safe: push and pop never allocate,
 * lock or wait; create and destroy are for the control thread. */
#include "daemon/rt/ring.h"

#include <stdlib.h>
#include <string.h>

rt_ring *ring_create(size_t capacity, size_t rec_size) {
  rt_ring *r;
  size_t cap = 2;

  while (cap < capacity)
    cap <<= 1;
  r = aligned_alloc(64, (sizeof *r + 63) & ~(size_t)63);
  if (r == NULL)
    return NULL;
  memset(r, 0, sizeof *r);
  r->slots = calloc(cap, rec_size);
  if (r->slots == NULL) {
    free(r);
    return NULL;
  }
  r->mask = cap - 1;
  r->rec_size = rec_size;
  atomic_init(&r->head, 0);
  atomic_init(&r->tail, 0);
  return r;
}

void ring_destroy(rt_ring *r) {
  if (r == NULL)
    return;
  free(r->slots);
  free(r);
}

size_t ring_capacity(const rt_ring *r) {
  return r->mask + 1;
}

/* Indices run freely and wrap at SIZE_MAX; head - tail is the fill level
 * even across that wrap, because the capacity is a power of two. */
int ring_push(rt_ring *r, const void *rec) {
  size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
  size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);

  if (head - tail > r->mask)
    return -1;
  memcpy(r->slots + (head & r->mask) * r->rec_size, rec, r->rec_size);
  atomic_store_explicit(&r->head, head + 1, memory_order_release);
  return 0;
}

size_t ring_space(const rt_ring *r) {
  size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
  size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
  return r->mask + 1 - (head - tail);
}

int ring_pop(rt_ring *r, void *rec) {
  size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
  size_t head = atomic_load_explicit(&r->head, memory_order_acquire);

  if (head == tail)
    return -1;
  memcpy(rec, r->slots + (tail & r->mask) * r->rec_size, r->rec_size);
  atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
  return 0;
}

size_t ring_count(const rt_ring *r) {
  size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
  size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
  return head - tail;
}
