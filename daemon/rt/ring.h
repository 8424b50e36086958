/* ring.h - single-producer single-consumer ring of fixed-size records.
 *
 * The control thread and the audio thread talk through two of these, one in
 * each direction.  Each side owns one index; the other side only reads it,
 * with acquire/release ordering, so neither ever waits or locks.  Memory is
 * allocated once, by ring_create, on the control thread. */
#ifndef SONOD_RT_RING_H
#define SONOD_RT_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rt_ring {
  _Alignas(64) _Atomic size_t head;   /* next slot to write; producer-owned */
  _Alignas(64) _Atomic size_t tail;   /* next slot to read; consumer-owned */
  _Alignas(64) size_t mask;           /* capacity - 1 */
  size_t rec_size;
  unsigned char *slots;
} rt_ring;

/* Capacity is rounded up to a power of two.  Control thread only. */
rt_ring *ring_create(size_t capacity, size_t rec_size);
void ring_destroy(rt_ring *r);

size_t ring_capacity(const rt_ring *r);

/* Producer side.  Returns 0, or -1 when the ring is full. */
int ring_push(rt_ring *r, const void *rec);
/* Slots the producer can still fill. */
size_t ring_space(const rt_ring *r);

/* Consumer side.  Returns 0 and copies the oldest record out, or -1 when
 * the ring is empty. */
int ring_pop(rt_ring *r, void *rec);
size_t ring_count(const rt_ring *r);

#endif
