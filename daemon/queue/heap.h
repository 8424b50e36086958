/* heap.h - the binary min-heap of timed records.
 *
 * The one heap of the daemon: the engine's timed commands (rt/engine.c) and
 * Csound's (csound/cs_process_rt.c).  Records of a fixed size are ordered by
 * a key the caller gives with each: (at, seq), smallest first.  at is a
 * time (an engine frame); seq breaks ties, so a caller that numbers records
 * in arrival order gets records due at the same time back in that order.
 *
 * Records stay where push copied them (a slab of capacity slots); the heap
 * itself moves only small (key, slot) nodes.  All storage is allocated by
 * minheap_init, on the control side; push, peek, pop and item never
 * allocate, lock or wait (audio thread).  One thread at a time.  Internal
 * names have two underscores (minheap__rise). */
#ifndef SONOD_QUEUE_HEAP_H
#define SONOD_QUEUE_HEAP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct minheap_key {
  uint64_t at;
  uint64_t seq;
} minheap_key;

typedef struct minheap_node {
  minheap_key key;
  uint32_t slot;      /* the record's index in recs */
} minheap_node;

typedef struct minheap {
  minheap_node *node; /* the heap: node[0] is the smallest key */
  size_t len;
  size_t cap;
  size_t rec_size;
  unsigned char *recs;  /* cap records */
  uint32_t *free;       /* slots not in use: free[0 .. cap - len) */
} minheap;

/* Control side.  0, or -1 when out of memory (the heap is then empty with
 * capacity 0, and minheap_free is still fine). */
int minheap_init(minheap *h, size_t capacity, size_t rec_size);
void minheap_free(minheap *h);

static inline size_t minheap_len(const minheap *h) {
  return h->len;
}

static inline size_t minheap_capacity(const minheap *h) {
  return h->cap;
}

/* The record with the smallest key, left in the heap; NULL when empty. */
static inline const void *minheap_peek(const minheap *h) {
  return h->len > 0 ? h->recs + (size_t)h->node[0].slot * h->rec_size : NULL;
}

/* The i-th record held (i < len), in no particular order: for draining a
 * heap that is being torn down. */
static inline const void *minheap_item(const minheap *h, size_t i) {
  return h->recs + (size_t)h->node[i].slot * h->rec_size;
}

/* Push and pop are here, inline, like the ring's: the callers' loops keep
 * them (about 1.2x the time per push + pop when they were calls). */

/* Without branches: heap keys come in no order a predictor could learn. */
static inline int minheap__before(const minheap_key *a, const minheap_key *b) {
  return (a->at < b->at) | ((a->at == b->at) & (a->seq < b->seq));
}

/* Puts n at the hole i, after moving down the parents it comes before. */
static inline void minheap__rise(minheap *h, size_t i, minheap_node n) {
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!minheap__before(&n.key, &h->node[parent].key))
      break;
    h->node[i] = h->node[parent];
    i = parent;
  }
  h->node[i] = n;
}

/* Copies rec in under key.  0, or -1 when full. */
static inline int minheap_push(minheap *h, minheap_key key, const void *rec) {
  minheap_node n;

  if (h->len == h->cap)
    return -1;
  n.key = key;
  n.slot = h->free[h->cap - h->len - 1];
  memcpy(h->recs + (size_t)n.slot * h->rec_size, rec, h->rec_size);
  minheap__rise(h, h->len++, n);
  return 0;
}

/* Copies out and removes the i-th record held (i < len, numbered as
 * minheap_item numbers them).  Floyd's way: the hole left at i goes down to
 * a leaf along the smaller children (one comparison per level), then the
 * last node rises from there (usually a level or two, past i when it must):
 * about half the comparisons of sifting it down. */
static inline void minheap_remove(minheap *h, size_t i, void *out) {
  minheap_node last;
  uint32_t slot = h->node[i].slot;

  memcpy(out, h->recs + (size_t)slot * h->rec_size, h->rec_size);
  last = h->node[--h->len];
  if (i < h->len) {
    for (;;) {
      size_t child = 2 * i + 1;
      if (child >= h->len)
        break;
      if (child + 1 < h->len)
        child += (size_t)minheap__before(&h->node[child + 1].key, &h->node[child].key);
      h->node[i] = h->node[child];
      i = child;
    }
    minheap__rise(h, i, last);
  }
  h->free[h->cap - h->len - 1] = slot;
}

/* Copies the record with the smallest key out and removes it.  0, or -1
 * when empty. */
static inline int minheap_pop(minheap *h, void *out) {
  if (h->len == 0)
    return -1;
  minheap_remove(h, 0, out);
  return 0;
}

#endif
