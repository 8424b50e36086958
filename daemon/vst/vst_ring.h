/* vst_ring.h - single-producer single-consumer ring of fixed-size records.
 *
 * Used for MIDI the plugin sends from its process call: the audio thread
 * pushes (never blocks, never allocates; a full ring reports failure), the
 * control side pops.  Capacity is a power of two; the storage is allocated
 * by vst_ring_init on the control side. */
#ifndef SONOD_VST_RING_H
#define SONOD_VST_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct vst_ring {
    unsigned char *data;
    size_t rec_size;
    size_t mask;               /* capacity - 1 */
    _Atomic size_t head;       /* next write, owned by the producer */
    _Atomic size_t tail;       /* next read, owned by the consumer */
} vst_ring;

/* control */
static inline int vst_ring_init(vst_ring *r, size_t rec_size, size_t min_capacity)
{
    size_t cap = 16;
    while (cap < min_capacity)
        cap <<= 1;
    r->data = calloc(cap, rec_size);
    if (!r->data)
        return -1;
    r->rec_size = rec_size;
    r->mask = cap - 1;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    return 0;
}

/* control */
static inline void vst_ring_free(vst_ring *r)
{
    free(r->data);
    r->data = NULL;
}

/* producer (rt) */
static inline bool vst_ring_push(vst_ring *r, const void *rec)
{
    size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (head - tail > r->mask)
        return false;
    memcpy(r->data + (head & r->mask) * r->rec_size, rec, r->rec_size);
    atomic_store_explicit(&r->head, head + 1, memory_order_release);
    return true;
}

/* consumer (control) */
static inline bool vst_ring_pop(vst_ring *r, void *rec)
{
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    if (tail == head)
        return false;
    memcpy(rec, r->data + (tail & r->mask) * r->rec_size, r->rec_size);
    atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
    return true;
}

#endif
