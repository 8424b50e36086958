/* null_clock.c - the internal clock thread.  The sleeping and the scheduling
 * happen outside engine_process, so the realtime section is the same as
 * under JACK. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1   /* pthread_setname_np */
#endif
#include "daemon/backend/null_clock.h"
#include "daemon/rtcheck/rtcheck.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void add_ns(struct timespec *t, long ns) {
  t->tv_nsec += ns;
  while (t->tv_nsec >= 1000000000L) {
    t->tv_nsec -= 1000000000L;
    t->tv_sec++;
  }
}

static long behind_ns(const struct timespec *deadline) {
  struct timespec now;

  clock_gettime(CLOCK_MONOTONIC, &now);
  return (now.tv_sec - deadline->tv_sec) * 1000000000L + (now.tv_nsec - deadline->tv_nsec);
}

static void *run(void *arg) {
  null_clock *nc = arg;
  long period = (long)((double)nc->block * 1e9 / nc->rate);
  struct timespec next;
  struct sched_param sp = { .sched_priority = NULL_CLOCK_PRIORITY };

  /* Named for top -H, and for bench/op_cost, which reads its counters. */
  (void)pthread_setname_np(pthread_self(), "sonod-audio");
  RT_CHECK_THREAD();
  /* Realtime priority when the system grants it; plain scheduling works too. */
  if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0)
    atomic_store(&nc->priority, sp.sched_priority);
  clock_gettime(CLOCK_MONOTONIC, &next);
  while (atomic_load_explicit(&nc->run, memory_order_acquire)) {
    engine_process(nc->e, nc->bufs, nc->channels, nc->block);
    add_ns(&next, period);
    /* After a long stall (a suspended machine, a debugger) start afresh
     * instead of racing to catch up. */
    if (behind_ns(&next) > 100 * period)
      clock_gettime(CLOCK_MONOTONIC, &next);
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
  }
  return NULL;
}

int null_clock_start(null_clock *nc, engine *e, unsigned rate, unsigned block, unsigned channels) {
  unsigned ch;

  memset(nc, 0, sizeof *nc);
  if (channels > sizeof nc->bufs / sizeof nc->bufs[0])
    return -1;
  nc->e = e;
  nc->rate = rate;
  nc->block = block;
  nc->channels = channels;
  nc->mem = calloc((size_t)channels * block, sizeof(float));
  if (nc->mem == NULL)
    return -1;
  for (ch = 0; ch < channels; ch++)
    nc->bufs[ch] = nc->mem + (size_t)ch * block;
  atomic_store(&nc->run, true);
  if (pthread_create(&nc->thread, NULL, run, nc) != 0) {
    free(nc->mem);
    nc->mem = NULL;
    return -1;
  }
  nc->started = true;
  return 0;
}

void null_clock_stop(null_clock *nc) {
  if (!nc->started)
    return;
  atomic_store_explicit(&nc->run, false, memory_order_release);
  pthread_join(nc->thread, NULL);
  nc->started = false;
  free(nc->mem);
  nc->mem = NULL;
}

int null_clock_priority(null_clock *nc) {
  return atomic_load(&nc->priority);
}
