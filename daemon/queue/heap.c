/* heap.c - creating and freeing the binary min-heap (heap.h).  Control
 * side: the only allocation a heap ever does.  Push and pop are inline in
 * heap.h. */
#include "daemon/queue/heap.h"
#include "daemon/queue/prefault.h"

#include <stdlib.h>
#include <string.h>

int minheap_init(minheap *h, size_t capacity, size_t rec_size) {
  size_t i;

  memset(h, 0, sizeof *h);
  if (capacity > UINT32_MAX)
    return -1;
  h->node = prefault_calloc(capacity ? capacity : 1, sizeof *h->node);
  h->recs = prefault_calloc(capacity ? capacity : 1, rec_size ? rec_size : 1);
  h->free = prefault_calloc(capacity ? capacity : 1, sizeof *h->free);
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

