/* null_clock.h - a thread that drives the engine at sample-rate/block-size
 * with no audio device.  The null backend is one; the JACK backend uses one
 * to keep the clock running while the JACK server is gone. */
#ifndef SONOD_NULL_CLOCK_H
#define SONOD_NULL_CLOCK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "daemon/rt/engine.h"

/* The clock thread asks for SCHED_FIFO at this priority (plain scheduling
 * when the system refuses). */
#define NULL_CLOCK_PRIORITY 10

typedef struct null_clock {
  engine *e;
  unsigned rate;
  unsigned block;
  unsigned channels;
  pthread_t thread;
  _Atomic bool run;
  bool started;
  _Atomic int priority;   /* SCHED_FIFO priority the thread got, 0 none */
  float *mem;
  float *bufs[64];
} null_clock;

int null_clock_start(null_clock *nc, engine *e, unsigned rate, unsigned block, unsigned channels);
void null_clock_stop(null_clock *nc);
/* The clock thread's SCHED_FIFO priority, 0 when refused.  any */
int null_clock_priority(null_clock *nc);

#endif
