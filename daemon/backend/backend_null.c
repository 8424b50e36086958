/* backend_null.c - the built-in device: the engine clocked by a thread,
 * its output discarded. */
#include <stdio.h>
#include <stdlib.h>

#include "daemon/backend/backend.h"
#include "daemon/backend/null_clock.h"

typedef struct null_backend {
  backend base;
  null_clock clock;
} null_backend;

static int null_start(backend *b, char *err, size_t errlen) {
  null_backend *nb = (null_backend *)b;
  sonod *d = b->d;

  if (null_clock_start(&nb->clock, &d->eng, b->sample_rate, b->block_size, d->opt.channels) != 0) {
    snprintf(err, errlen, "cannot start the clock thread");
    return -1;
  }
  b->state = "running";
  return 0;
}

static void null_stop(backend *b) {
  null_backend *nb = (null_backend *)b;

  null_clock_stop(&nb->clock);
  b->state = "stopped";
}

static void null_poll(backend *b) {
  (void)b;
}

static void null_destroy(backend *b) {
  free(b);
}

static int null_rt_priority(backend *b) {
  return null_clock_priority(&((null_backend *)b)->clock);
}

static const backend_ops null_ops = {
  "null", null_start, null_stop, null_poll, null_destroy, NULL, NULL, NULL, NULL,
  null_rt_priority, NULL, NULL,
};

backend *backend_null_create(sonod *d) {
  null_backend *nb = calloc(1, sizeof *nb);

  if (nb == NULL)
    return NULL;
  nb->base.ops = &null_ops;
  nb->base.d = d;
  nb->base.state = "stopped";
  nb->base.sample_rate = d->opt.sample_rate;
  nb->base.block_size = d->opt.block_size;
  return &nb->base;
}
