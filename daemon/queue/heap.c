/* heap.c - the binary min-heap (heap.h).  minheap_init and minheap_free
 * allocate and free (control side); push and pop only move nodes inside the
 * preallocated arrays and copy one record (audio thread safe). */
#include "daemon/queue/heap.h"

#include <stdlib.h>
#include <string.h>

int minheap_init(minheap *h, size_t capacity, size_t rec_size) {
  size_t i;

  memset(h, 0, sizeof *h);
  if (capacity > UINT32_MAX)
    return -1;
  h->node = calloc(capacity ? capacity : 1, sizeof *h->node);
  h->recs = calloc(capacity ? capacity : 1, rec_size ? rec_size : 1);
  h->free = calloc(capacity ? capacity : 1, sizeof *h->free);
  if (h->node == NULL || h->recs == NULL || h->free == NULL) {
    minheap_free(h);
    return -1;
  }
  h->cap = capacity;
  h->rec_size = rec_size;
  /* Popped from the end: slot 0 is used first. */
  for (i = 0; i < capacity; i++)
    h->free[i] = (uint32_t)(capacity - 1 - i);
  return 0;
}

void minheap_free(minheap *h) {
  free(h->node);
  free(h->recs);
  free(h->free);
  memset(h, 0, sizeof *h);
}

static int before(const minheap_key *a, const minheap_key *b) {
  return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

int minheap_push(minheap *h, minheap_key key, const void *rec) {
  minheap_node n;
  size_t i;

  if (h->len == h->cap)
    return -1;
  n.key = key;
  n.slot = h->free[h->cap - h->len - 1];
  memcpy(h->recs + (size_t)n.slot * h->rec_size, rec, h->rec_size);
  i = h->len++;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!before(&n.key, &h->node[parent].key))
      break;
    h->node[i] = h->node[parent];
    i = parent;
  }
  h->node[i] = n;
  return 0;
}

int minheap_pop(minheap *h, void *out) {
  minheap_node last;
  uint32_t slot;
  size_t i = 0;

  if (h->len == 0)
    return -1;
  slot = h->node[0].slot;
  memcpy(out, h->recs + (size_t)slot * h->rec_size, h->rec_size);
  last = h->node[--h->len];
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= h->len)
      break;
    if (child + 1 < h->len && before(&h->node[child + 1].key, &h->node[child].key))
      child++;
    if (!before(&h->node[child].key, &last.key))
      break;
    h->node[i] = h->node[child];
    i = child;
  }
  if (h->len > 0)
    h->node[i] = last;
  h->free[h->cap - h->len - 1] = slot;
  return 0;
}
