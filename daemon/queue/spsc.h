/* spsc.h - the single-producer single-consumer ring of fixed-size records.
 *
 * The one ring of the daemon: control -> audio commands, audio -> control
 * messages and meters, Csound's command, note and message rings and its idle
 * voices, a plugin's MIDI output, the recording ring (rt/rec.h) and the
 * capture rings (rt/capture.h).
 *
 * Exactly one producer thread and one consumer thread.  Each side owns one
 * index (head: producer, tail: consumer) and only reads the other's, with
 * acquire/release ordering, so neither ever waits or locks.  The two indices
 * sit on separate cache lines, each with its owner's last view of the other
 * index: push reads the consumer's line only when the ring looked full, pop
 * the producer's only when it looked empty, so in the steady state each side
 * touches its own line and the slots.  Indices run freely and wrap at SIZE_MAX;
 * head - tail is the fill level across that wrap because the capacity is a
 * power of two.
 *
 * spsc_create and spsc_destroy allocate and free: control side only.
 * Everything else only copies and touches atomics: safe on the audio thread.
 * Failures are -1 (full on push, empty on pop). */
#ifndef SONOD_QUEUE_SPSC_H
#define SONOD_QUEUE_SPSC_H

#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

typedef struct spsc_ring {
  _Alignas(64) _Atomic size_t head;   /* next record to write; producer-owned */
  size_t tail_seen;                   /* producer only: tail as last loaded */
  _Alignas(64) _Atomic size_t tail;   /* next record to read; consumer-owned */
  size_t head_seen;                   /* consumer only: head as last loaded */
  _Alignas(64) size_t mask;           /* capacity - 1; read-only after create */
  size_t rec_size;
  unsigned char *slots;
} spsc_ring;

/* Control side.  Capacity (records) is rounded up to a power of two. */
spsc_ring *spsc_create(size_t capacity, size_t rec_size);
void spsc_destroy(spsc_ring *r);   /* NULL is fine */

static inline size_t spsc_capacity(const spsc_ring *r) {
  return r->mask + 1;
}

/* The record at free-running index pos. */
static inline void *spsc_slot(const spsc_ring *r, size_t pos) {
  return r->slots + (pos & r->mask) * r->rec_size;
}

/* ---- Producer side ---- */

/* Records the producer can still write. */
static inline size_t spsc_space(const spsc_ring *r) {
  size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
  size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
  return r->mask + 1 - (head - tail);
}

/* Writing in place (runs of records, as the recording ring does): the
 * producer fills spsc_slot(r, spsc_write_pos(r) + i) for i below
 * spsc_space(r), then publishes them in one store. */
static inline size_t spsc_write_pos(const spsc_ring *r) {
  return atomic_load_explicit(&r->head, memory_order_relaxed);
}

static inline void spsc_publish(spsc_ring *r, size_t n) {
  size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
  atomic_store_explicit(&r->head, head + n, memory_order_release);
}

/* Copies one record in.  0, or -1 when the ring is full. */
static inline int spsc_push(spsc_ring *r, const void *rec) {
  size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);

  /* Full as far as the producer knows (also when spsc_publish moved head
   * further than its last view of tail allowed): look at tail again. */
  if (head - r->tail_seen > r->mask) {
    r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (head - r->tail_seen > r->mask)
      return -1;
  }
  memcpy(spsc_slot(r, head), rec, r->rec_size);
  atomic_store_explicit(&r->head, head + 1, memory_order_release);
  return 0;
}

/* ---- Consumer side ---- */

/* Records waiting to be read. */
static inline size_t spsc_count(const spsc_ring *r) {
  size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
  size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
  return head - tail;
}

/* Reading in place: spsc_slot(r, spsc_read_pos(r) + i) for i below
 * spsc_count(r), then spsc_release(r, n) hands n records back. */
static inline size_t spsc_read_pos(const spsc_ring *r) {
  return atomic_load_explicit(&r->tail, memory_order_relaxed);
}

static inline void spsc_release(spsc_ring *r, size_t n) {
  size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
  atomic_store_explicit(&r->tail, tail + n, memory_order_release);
}

/* Records readable at tail as far as the consumer knows; head is loaded
 * again only when its last view shows none (or fell behind a tail that
 * spsc_release moved past it). */
static inline size_t spsc__known(spsc_ring *r, size_t tail) {
  if (r->head_seen - tail - 1 > r->mask)
    r->head_seen = atomic_load_explicit(&r->head, memory_order_acquire);
  return r->head_seen - tail;
}

/* The oldest record, left in the ring; NULL when empty. */
static inline const void *spsc_peek(spsc_ring *r) {
  size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);

  return spsc__known(r, tail) > 0 ? spsc_slot(r, tail) : NULL;
}

/* Copies the oldest record out and removes it.  0, or -1 when empty. */
static inline int spsc_pop(spsc_ring *r, void *rec) {
  size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);

  if (spsc__known(r, tail) == 0)
    return -1;
  memcpy(rec, spsc_slot(r, tail), r->rec_size);
  atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
  return 0;
}

#endif
