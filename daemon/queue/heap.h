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
 * allocate, lock or wait (audio thread).  One thread at a time. */
#ifndef SONOD_QUEUE_HEAP_H
#define SONOD_QUEUE_HEAP_H

#include <stddef.h>
#include <stdint.h>

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

/* Copies rec in under key.  0, or -1 when full. */
int minheap_push(minheap *h, minheap_key key, const void *rec);

/* The record with the smallest key, left in the heap; NULL when empty. */
static inline const void *minheap_peek(const minheap *h) {
  return h->len > 0 ? h->recs + (size_t)h->node[0].slot * h->rec_size : NULL;
}

/* Copies the record with the smallest key out and removes it.  0, or -1
 * when empty. */
int minheap_pop(minheap *h, void *out);

/* The i-th record held (i < len), in no particular order: for draining a
 * heap that is being torn down. */
static inline const void *minheap_item(const minheap *h, size_t i) {
  return h->recs + (size_t)h->node[i].slot * h->rec_size;
}

#endif
