/* heap.c - timed command queue.  push/peek/pop run on the audio thread and
 * only move records inside the preallocated array. */
#include "daemon/rt/heap.h"

#include <stdlib.h>

int heap_init(rt_heap *h, size_t capacity) {
  h->items = calloc(capacity, sizeof *h->items);
  h->len = 0;
  h->cap = h->items ? capacity : 0;
  return h->items ? 0 : -1;
}

void heap_free(rt_heap *h) {
  free(h->items);
  h->items = NULL;
  h->len = h->cap = 0;
}

static int before(const rt_cmd *a, const rt_cmd *b) {
  if (a->at != b->at)
    return a->at < b->at;
  return a->seq < b->seq;
}

int heap_push(rt_heap *h, const rt_cmd *c) {
  size_t i;

  if (h->len == h->cap)
    return -1;
  i = h->len++;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!before(c, &h->items[parent]))
      break;
    h->items[i] = h->items[parent];
    i = parent;
  }
  h->items[i] = *c;
  return 0;
}

const rt_cmd *heap_peek(const rt_heap *h) {
  return h->len ? &h->items[0] : NULL;
}

void heap_pop(rt_heap *h, rt_cmd *out) {
  rt_cmd last;
  size_t i = 0;

  *out = h->items[0];
  last = h->items[--h->len];
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= h->len)
      break;
    if (child + 1 < h->len && before(&h->items[child + 1], &h->items[child]))
      child++;
    if (!before(&h->items[child], &last))
      break;
    h->items[i] = h->items[child];
    i = child;
  }
  if (h->len > 0)
    h->items[i] = last;
}
