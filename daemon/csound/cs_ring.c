/* cs_ring.c - allocation of the SPSC rings (control thread). */
#include "cs_ring.h"

#include <stdlib.h>

int cs_ring_init(cs_ring *r, size_t capacity, size_t rec_size)
{
    size_t cap = 1;
    while (cap < capacity)
        cap <<= 1;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    r->mask = cap - 1;
    r->rec_size = rec_size;
    r->buf = calloc(cap, rec_size);
    return r->buf ? 0 : -1;
}

void cs_ring_free(cs_ring *r)
{
    free(r->buf);
    r->buf = NULL;
}
