/* heap.h - the audio thread's queue of timed commands.
 *
 * A binary min-heap over (at, seq) in storage allocated once on the control
 * side.  seq grows with arrival, so commands due on the same frame run in
 * the order they arrived. */
#ifndef SONOD_RT_HEAP_H
#define SONOD_RT_HEAP_H

#include <stddef.h>

#include "daemon/rt/cmd.h"

typedef struct rt_heap {
  rt_cmd *items;
  size_t len;
  size_t cap;
} rt_heap;

int heap_init(rt_heap *h, size_t capacity);   /* control thread */
void heap_free(rt_heap *h);                   /* control thread */

/* Audio thread.  push returns -1 when full. */
int heap_push(rt_heap *h, const rt_cmd *c);
const rt_cmd *heap_peek(const rt_heap *h);
void heap_pop(rt_heap *h, rt_cmd *out);

#endif
