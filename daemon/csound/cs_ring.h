/* cs_ring.h - single-producer single-consumer ring of fixed-size records.
 *
 * Used in both directions between the control thread and the audio thread.
 * Push and pop are wait-free and never allocate: the storage is allocated once
 * by cs_ring_init on the control thread.  Capacity is rounded up to a power
 * of two. */
#ifndef SONOD_CSOUND_CS_RING_H
#define SONOD_CSOUND_CS_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct cs_ring {
    _Alignas(64) _Atomic size_t head;   /* next slot to write (producer) */
    _Alignas(64) _Atomic size_t tail;   /* next slot to read (consumer) */
    _Alignas(64) size_t mask;
    size_t rec_size;
    unsigned char *buf;
} cs_ring;

int cs_ring_init(cs_ring *r, size_t capacity, size_t rec_size);  /* control */
void cs_ring_free(cs_ring *r);                                   /* control */

static inline size_t cs_ring_capacity(const cs_ring *r) { return r->mask + 1; }

/* Producer side.  Returns 0 when full. */
static inline int cs_ring_push(cs_ring *r, const void *rec)
{
    size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (head - tail > r->mask)
        return 0;
    memcpy(r->buf + (head & r->mask) * r->rec_size, rec, r->rec_size);
    atomic_store_explicit(&r->head, head + 1, memory_order_release);
    return 1;
}

/* Consumer side.  Returns 0 when empty. */
static inline int cs_ring_pop(cs_ring *r, void *rec)
{
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    if (tail == head)
        return 0;
    memcpy(rec, r->buf + (tail & r->mask) * r->rec_size, r->rec_size);
    atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
    return 1;
}

/* Consumer side: look at the oldest record without removing it. */
static inline const void *cs_ring_peek(cs_ring *r)
{
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    if (tail == head)
        return NULL;
    return r->buf + (tail & r->mask) * r->rec_size;
}

static inline void cs_ring_drop(cs_ring *r)
{
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
}

/* Free slots as seen by the producer. */
static inline size_t cs_ring_space(cs_ring *r)
{
    size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    return r->mask + 1 - (head - tail);
}

#endif
