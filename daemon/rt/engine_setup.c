/* engine_setup.c - allocating and freeing the engine.  Control thread:
 * everything the audio thread will touch is allocated here, up front. */
#include <stdlib.h>
#include <string.h>

#include "daemon/rt/engine.h"

int engine_init(engine *e, unsigned sample_rate, unsigned channels) {
  memset(e, 0, sizeof *e);
  e->sample_rate = sample_rate;
  e->channels = channels;
  e->to_rt = spsc_create(ENGINE_RING_CAPACITY, sizeof(rt_cmd));
  e->from_rt = spsc_create((ENGINE_RING_CAPACITY + ENGINE_HEAP_CAPACITY) * RT_MSG_SLOTS_PER_CMD,
                           sizeof(rt_msg));
  e->meters.ring = spsc_create(METER_RING_CAPACITY, sizeof(rt_meter_rec));
  atomic_init(&e->meters.period, 0);
  if (e->to_rt == NULL || e->from_rt == NULL || e->meters.ring == NULL ||
      minheap_init(&e->heap, ENGINE_HEAP_CAPACITY, sizeof(rt_cmd)) != 0) {
    engine_destroy(e);
    return -1;
  }
  e->nodes.from_rt = e->from_rt;
  xport_init(&e->xport);
  /* Readable before the first block (a request may come first). */
  xport_publish(&e->xport, &e->pub_xport, 0);
  atomic_init(&e->pub_frame, 0);
  atomic_init(&e->stand, 0);
  atomic_init(&e->pub_block, 0);
  atomic_init(&e->pub_load_ppm, 0);
  atomic_init(&e->pub_load_max_ppm, 0);
  atomic_init(&e->pub_heap_used, 0);
  atomic_init(&e->pub_cycles, 0);
  return 0;
}

void engine_destroy(engine *e) {
  spsc_destroy(e->to_rt);
  spsc_destroy(e->from_rt);
  spsc_destroy(e->meters.ring);
  e->meters.ring = NULL;
  minheap_free(&e->heap);
  /* The live MIDI routing table last swapped in (ops_jack.c). */
  free(e->routes);
  e->routes = NULL;
  e->to_rt = e->from_rt = NULL;
}
