/* resident.h - for tests: how many of the pages of [p, p + n) are in RAM
 * (mincore), and how many there are.  A page the process never touched is
 * not: memory prefaulted for the audio thread (daemon/queue/prefault.h) is. */
#ifndef SONOD_TESTS_RESIDENT_H
#define SONOD_TESTS_RESIDENT_H

#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* glibc's MALLOC_PERTURB_ (meson test sets it) fills every allocation,
 * touching its pages: a test of prefaulting switches it off first. */
static inline void resident_no_perturb(void) {
  mallopt(M_PERTURB, 0);
}

static inline size_t resident_pages(const void *p, size_t n, size_t *total) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  uintptr_t a = (uintptr_t)p & ~(uintptr_t)(page - 1);
  size_t len = (uintptr_t)p + n - a, np = (len + page - 1) / page, i, in = 0;
  unsigned char *v = malloc(np);

  *total = np;
  if (v == NULL || mincore((void *)a, len, v) != 0) {
    free(v);
    return 0;
  }
  for (i = 0; i < np; i++)
    in += v[i] & 1;
  free(v);
  return in;
}

#endif
