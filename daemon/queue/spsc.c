/* spsc.c - creating and destroying the SPSC ring (spsc.h).  Control side:
 * the only allocation a ring ever does. */
#include "daemon/queue/spsc.h"
#include "daemon/queue/prefault.h"

#include <stdlib.h>

spsc_ring *spsc_create(size_t capacity, size_t rec_size) {
  spsc_ring *r;
  size_t cap = 1;

  while (cap < capacity)
    cap <<= 1;
  r = aligned_alloc(64, (sizeof *r + 63) & ~(size_t)63);
  if (r == NULL)
    return NULL;
  memset(r, 0, sizeof *r);
  r->slots = prefault_calloc(cap, rec_size);   /* the audio thread pushes or pops */
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

void spsc_destroy(spsc_ring *r) {
  if (r == NULL)
    return;
  free(r->slots);
  free(r);
}
