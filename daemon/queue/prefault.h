/* prefault.h - control side: touch every page of memory the audio thread
 * will use, before it is handed over.
 *
 * calloc hands out large blocks as fresh mappings whose pages the kernel
 * maps only at their first touch: without this, that first touch, and its
 * page fault (which may sleep), would happen on the audio thread.  With
 * mlockall(MCL_FUTURE) in effect the kernel populates new mappings itself;
 * this makes the same true when the limit does not allow locking.  The
 * bytes written are zeros: for memory from calloc, no change. */
#ifndef SONOD_QUEUE_PREFAULT_H
#define SONOD_QUEUE_PREFAULT_H

#include <stddef.h>
#include <stdlib.h>

#define PREFAULT_PAGE 4096u   /* the smallest page size Linux uses */

static inline void *prefault_zeroed(void *p, size_t n) {
  volatile char *c = p;
  size_t i;

  if (p == NULL || n == 0)
    return p;
  for (i = 0; i < n; i += PREFAULT_PAGE)
    c[i] = 0;
  c[n - 1] = 0;
  return p;
}

/* calloc, every page touched. */
static inline void *prefault_calloc(size_t n, size_t size) {
  void *p = calloc(n, size);

  return p != NULL ? prefault_zeroed(p, n * size) : NULL;
}

#endif
