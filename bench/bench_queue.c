/* bench_queue.c - the speed of daemon/queue: the SPSC ring across two
 * threads and the min-heap, each against a baseline run in the same
 * process, in the same run.
 *
 *   bench_queue [--runs R] [--records N]
 *
 * ring  N 16-byte sequenced records (default 200 000) pushed by one thread
 *       and popped by another through a 1024-record ring; the consumer
 *       checks the order.  The two threads are pinned to CPUs 0 and 1, so
 *       the indices really cross between cores.  Records per second for
 *         - spsc_ring (queue/spsc.h): head and tail on their own cache
 *           lines, each side with its own view of the other's index;
 *         - the old daemon/rt/ring.c, layout and code: head, tail and the
 *           rest on their own lines, but no cached views;
 *         - the old daemon/vst/vst_ring.h: the same code with data,
 *           rec_size, mask, head and tail on one cache line (false sharing);
 *         - a mutex-protected ring (pthread_mutex around the same array).
 *       A side that finds the ring full or empty spins with a pause, and
 *       yields after 64 tries (the machine may be shared).
 * heap  4096 records of 64 bytes (the size of an rt_cmd) with random keys
 *       (at in 0..999, seq in arrival order) pushed, then all popped; 64
 *       rounds.  Nanoseconds per push + pop for minheap (queue/heap.h) and
 *       for the old rt/heap.c algorithm (typed, sifting whole records).
 *
 * R runs (default 31); in each run every variant runs once, one after the
 * other, in an order that rotates.  Figures: medians over the runs, ratios
 * taken within each run, and the best run of each variant (on a shared
 * machine, the run least disturbed by other work). */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include "daemon/queue/heap.h"
#include "daemon/queue/spsc.h"

#define MAX_RUNS 32
#define RING_CAP 1024
#define HEAP_CAP 4096
#define HEAP_ROUNDS 64

static double thread_cpu(void) {
  struct timespec ts;

  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void backoff(unsigned *tries) {
  if (++*tries < 64) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  } else {
    *tries = 0;
    sched_yield();
  }
}

/* ------------------------------------------------------------ baselines */

typedef struct rec16 {
  uint64_t seq;
  uint64_t check;
} rec16;

/* The two old rings: the same code (that of daemon/rt/ring.c and
 * daemon/vst/vst_ring.h) on two layouts.  shared_ring is vst_ring's: data,
 * rec_size, mask, head and tail on one cache line.  split_ring is rt/ring.c's:
 * head, tail and the rest each on its own line, but no cached views, so
 * every push reads the consumer's line and every pop the producer's. */
typedef struct shared_ring {
  unsigned char *data;
  size_t rec_size;
  size_t mask;
  _Atomic size_t head;
  _Atomic size_t tail;
} shared_ring;

typedef struct split_ring {
  _Alignas(64) _Atomic size_t head;
  _Alignas(64) _Atomic size_t tail;
  _Alignas(64) size_t mask;
  size_t rec_size;
  unsigned char *data;
} split_ring;

#define OLD_RING_CODE(T)                                                          \
  static int T##_push(T *r, const void *rec) {                                    \
    size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);           \
    size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);           \
    if (head - tail > r->mask)                                                    \
      return -1;                                                                  \
    memcpy(r->data + (head & r->mask) * r->rec_size, rec, r->rec_size);           \
    atomic_store_explicit(&r->head, head + 1, memory_order_release);              \
    return 0;                                                                     \
  }                                                                               \
  static int T##_pop(T *r, void *rec) {                                           \
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);           \
    size_t head = atomic_load_explicit(&r->head, memory_order_acquire);           \
    if (tail == head)                                                             \
      return -1;                                                                  \
    memcpy(rec, r->data + (tail & r->mask) * r->rec_size, r->rec_size);           \
    atomic_store_explicit(&r->tail, tail + 1, memory_order_release);              \
    return 0;                                                                     \
  }                                                                               \
  static T *T##_new(void) {                                                       \
    T *r = aligned_alloc(64, (sizeof(T) + 63) & ~(size_t)63);                     \
    memset(r, 0, sizeof *r);                                                      \
    r->data = calloc(RING_CAP, sizeof(rec16));                                    \
    r->rec_size = sizeof(rec16);                                                  \
    r->mask = RING_CAP - 1;                                                       \
    return r;                                                                     \
  }

OLD_RING_CODE(shared_ring)
OLD_RING_CODE(split_ring)

typedef struct mutex_ring {
  pthread_mutex_t lock;
  unsigned char *data;
  size_t rec_size, mask, head, tail;
} mutex_ring;

static int mutex_push(mutex_ring *r, const void *rec) {
  int rc = -1;

  pthread_mutex_lock(&r->lock);
  if (r->head - r->tail <= r->mask) {
    memcpy(r->data + (r->head & r->mask) * r->rec_size, rec, r->rec_size);
    r->head++;
    rc = 0;
  }
  pthread_mutex_unlock(&r->lock);
  return rc;
}

static int mutex_pop(mutex_ring *r, void *rec) {
  int rc = -1;

  pthread_mutex_lock(&r->lock);
  if (r->head != r->tail) {
    memcpy(rec, r->data + (r->tail & r->mask) * r->rec_size, r->rec_size);
    r->tail++;
    rc = 0;
  }
  pthread_mutex_unlock(&r->lock);
  return rc;
}

/* ----------------------------------------------------------------- ring */

enum { V_SPSC, V_SPLIT, V_SHARED, V_MUTEX, NVARIANTS };
static const char *variant_name[NVARIANTS] = {
  "`spsc_ring` (queue/spsc.h)",
  "old rt/ring.c: own lines, no cached views (baseline)",
  "old vst_ring: one cache line (baseline)",
  "mutex-protected ring (baseline)",
};

typedef struct ring_job {
  int variant;
  void *ring;
  uint64_t n;
  double cpu;         /* the producer's CPU time, seconds */
} ring_job;

static int push_any(int v, void *r, const rec16 *x) {
  switch (v) {
  case V_SPSC: return spsc_push(r, x);
  case V_SPLIT: return split_ring_push(r, x);
  case V_SHARED: return shared_ring_push(r, x);
  default: return mutex_push(r, x);
  }
}

static int pop_any(int v, void *r, rec16 *x) {
  switch (v) {
  case V_SPSC: return spsc_pop(r, x);
  case V_SPLIT: return split_ring_pop(r, x);
  case V_SHARED: return shared_ring_pop(r, x);
  default: return mutex_pop(r, x);
  }
}

/* Each thread on its own CPU when there are two: no time-slicing of one
 * CPU between them, so what is measured is the cache lines moving. */
static void pin(int cpu) {
  cpu_set_t set;

  if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
    return;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void *producer(void *arg) {
  ring_job *j = arg;
  double c0;
  uint64_t i;

  pin(1);
  c0 = thread_cpu();

  for (i = 0; i < j->n; i++) {
    rec16 x = { i, ~i };
    unsigned tries = 0;

    while (push_any(j->variant, j->ring, &x) != 0)
      backoff(&tries);
  }
  j->cpu = thread_cpu() - c0;
  return NULL;
}

/* Records per second through one ring of the variant (wall clock); *cpu_ns:
 * CPU time of both threads per record, which counts less of the time a
 * thread spent descheduled while the other waited for it. */
static double ring_run(int v, uint64_t n, double *cpu_ns) {
  ring_job j = { v, NULL, n, 0 };
  spsc_ring *s = NULL;
  shared_ring *sh = NULL;
  split_ring *sp = NULL;
  mutex_ring mx;
  pthread_t t;
  uint64_t expect = 0;
  double t0, t1, c0;

  if (v == V_SPSC) {
    s = spsc_create(RING_CAP, sizeof(rec16));
    j.ring = s;
  } else if (v == V_SHARED) {
    j.ring = sh = shared_ring_new();
  } else if (v == V_SPLIT) {
    j.ring = sp = split_ring_new();
  } else {
    memset(&mx, 0, sizeof mx);
    pthread_mutex_init(&mx.lock, NULL);
    mx.data = calloc(RING_CAP, sizeof(rec16));
    mx.rec_size = sizeof(rec16);
    mx.mask = RING_CAP - 1;
    j.ring = &mx;
  }
  t0 = bench_now();
  c0 = thread_cpu();
  pthread_create(&t, NULL, producer, &j);
  while (expect < n) {
    rec16 x;
    unsigned tries = 0;

    while (pop_any(v, j.ring, &x) != 0)
      backoff(&tries);
    if (x.seq != expect || x.check != ~expect) {
      fprintf(stderr, "bench_queue: %s: record %llu out of order\n", variant_name[v],
              (unsigned long long)expect);
      exit(1);
    }
    expect++;
  }
  *cpu_ns = (thread_cpu() - c0) * 1e9 / (double)n;
  pthread_join(t, NULL);
  t1 = bench_now();
  *cpu_ns += j.cpu * 1e9 / (double)n;
  if (v == V_SPSC) {
    spsc_destroy(s);
  } else if (v == V_SHARED) {
    free(sh->data);
    free(sh);
  } else if (v == V_SPLIT) {
    free(sp->data);
    free(sp);
  } else {
    pthread_mutex_destroy(&mx.lock);
    free(mx.data);
  }
  return (double)n / (t1 - t0);
}

/* ----------------------------------------------------------------- heap */

typedef struct rec64 {
  uint64_t at;
  uint64_t seq;
  uint64_t payload[6];
} rec64;

/* The old daemon/rt/heap.c, on a 64-byte record. */
typedef struct typed_heap {
  rec64 *items;
  size_t len, cap;
} typed_heap;

static int typed_before(const rec64 *a, const rec64 *b) {
  if (a->at != b->at)
    return a->at < b->at;
  return a->seq < b->seq;
}

static int typed_push(typed_heap *h, const rec64 *c) {
  size_t i;

  if (h->len == h->cap)
    return -1;
  i = h->len++;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!typed_before(c, &h->items[parent]))
      break;
    h->items[i] = h->items[parent];
    i = parent;
  }
  h->items[i] = *c;
  return 0;
}

static void typed_pop(typed_heap *h, rec64 *out) {
  rec64 last;
  size_t i = 0;

  *out = h->items[0];
  last = h->items[--h->len];
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= h->len)
      break;
    if (child + 1 < h->len && typed_before(&h->items[child + 1], &h->items[child]))
      child++;
    if (!typed_before(&h->items[child], &last))
      break;
    h->items[i] = h->items[child];
    i = child;
  }
  if (h->len > 0)
    h->items[i] = last;
}

static uint64_t keys[HEAP_CAP];

/* Nanoseconds per push + pop; sum of popped keys into *check. */
static double heap_run(int typed, uint64_t *check) {
  minheap mh;
  typed_heap th = { calloc(HEAP_CAP, sizeof(rec64)), 0, HEAP_CAP };
  uint64_t seq = 0, prev_at, sum = 0;
  double t0, t1;
  int round, i;

  minheap_init(&mh, HEAP_CAP, sizeof(rec64));
  t0 = bench_now();
  /* Round -1 is not timed: it faults the fresh arrays in and warms the
   * caches, whichever heap ran before. */
  for (round = -1; round < HEAP_ROUNDS; round++) {
    if (round == 0)
      t0 = bench_now();
    for (i = 0; i < HEAP_CAP; i++) {
      rec64 c = { keys[i], seq++, { 0 } };
      if (typed)
        typed_push(&th, &c);
      else
        minheap_push(&mh, (minheap_key){ c.at, c.seq }, &c);
    }
    prev_at = 0;
    for (i = 0; i < HEAP_CAP; i++) {
      rec64 out;
      if (typed)
        typed_pop(&th, &out);
      else
        minheap_pop(&mh, &out);
      if (out.at < prev_at) {
        fprintf(stderr, "bench_queue: heap out of order\n");
        exit(1);
      }
      prev_at = out.at;
      sum += out.at;
    }
  }
  t1 = bench_now();
  minheap_free(&mh);
  free(th.items);
  *check = sum;
  return (t1 - t0) * 1e9 / ((double)HEAP_ROUNDS * HEAP_CAP);
}

static double best(const double *v, int n, int want_max) {
  double b = v[0];
  int i;

  for (i = 1; i < n; i++)
    if (want_max ? v[i] > b : v[i] < b)
      b = v[i];
  return b;
}

int main(int argc, char **argv) {
  int runs = 31, r, v;
  uint64_t n = 200000;
  double rate[NVARIANTS][MAX_RUNS], cpu[NVARIANTS][MAX_RUNS], ratio[NVARIANTS][MAX_RUNS];
  double hnew[MAX_RUNS], hold[MAX_RUNS], hratio[MAX_RUNS];
  unsigned seed = 1;
  uint64_t c1, c2;

  for (r = 1; r < argc; r++) {
    if (strcmp(argv[r], "--runs") == 0 && r + 1 < argc)
      runs = atoi(argv[++r]);
    else if (strcmp(argv[r], "--records") == 0 && r + 1 < argc)
      n = strtoull(argv[++r], NULL, 10);
    else {
      fprintf(stderr, "usage: bench_queue [--runs R] [--records N]\n");
      return 2;
    }
  }
  if (runs < 1 || runs > MAX_RUNS || n == 0) {
    fprintf(stderr, "bench_queue: --runs 1..%d, --records > 0\n", MAX_RUNS);
    return 2;
  }
  pin(0);
  for (r = 0; r < HEAP_CAP; r++)
    keys[r] = (uint64_t)(rand_r(&seed) % 1000);

  for (r = 0; r < runs; r++) {
    /* The order rotates from run to run, so a drift in the machine's load
     * does not always fall on the same variant. */
    for (v = 0; v < NVARIANTS; v++) {
      int w = (v + r) % NVARIANTS;
      rate[w][r] = ring_run(w, n, &cpu[w][r]);
    }
    for (v = 0; v < NVARIANTS; v++)
      ratio[v][r] = rate[V_SPSC][r] / rate[v][r];
    if (r % 2) {
      hold[r] = heap_run(1, &c2);
      hnew[r] = heap_run(0, &c1);
    } else {
      hnew[r] = heap_run(0, &c1);
      hold[r] = heap_run(1, &c2);
    }
    if (c1 != c2) {
      fprintf(stderr, "bench_queue: the two heaps popped different keys\n");
      return 1;
    }
    hratio[r] = hnew[r] / hold[r];
  }

  printf("Ring: %llu records of 16 bytes per run, ring of %d, two threads; %d runs.\n\n",
         (unsigned long long)n, RING_CAP, runs);
  printf("| ring | records/s, median | spsc_ring / this, median of runs | records/s, best run "
         "| spsc_ring best / this best | CPU ns per record, median |\n"
         "|---|---:|---:|---:|---:|---:|\n");
  for (v = 0; v < NVARIANTS; v++)
    printf("| %s | %.1f M | %.2f× | %.1f M | %.2f× | %.1f |\n", variant_name[v],
           bench_median(rate[v], runs) / 1e6, bench_median(ratio[v], runs),
           best(rate[v], runs, 1) / 1e6, best(rate[V_SPSC], runs, 1) / best(rate[v], runs, 1),
           bench_median(cpu[v], runs));
  printf("\nHeap: %d records of 64 bytes, random at in 0..999, pushed then popped, %d rounds "
         "per run; %d runs.\n\n", HEAP_CAP, HEAP_ROUNDS, runs);
  printf("| heap | ns per push + pop, median | this / old, median of runs | best run (ns) |\n"
         "|---|---:|---:|---:|\n");
  printf("| `minheap` (queue/heap.h) | %.1f | %.2f× | %.1f |\n", bench_median(hnew, runs),
         bench_median(hratio, runs), best(hnew, runs, 0));
  printf("| old rt/heap.c, typed, sifting records (baseline) | %.1f | 1.00× | %.1f |\n",
         bench_median(hold, runs), best(hold, runs, 0));
  printf("\nPer run, spsc / old rt/ring.c:");
  for (r = 0; r < runs; r++)
    printf(" %.2f", ratio[V_SPLIT][r]);
  printf("\nPer run, spsc / shared line:");
  for (r = 0; r < runs; r++)
    printf(" %.2f", ratio[V_SHARED][r]);
  printf("\nPer run, spsc / mutex:");
  for (r = 0; r < runs; r++)
    printf(" %.2f", ratio[V_MUTEX][r]);
  printf("\nPer run, heap new / old:");
  for (r = 0; r < runs; r++)
    printf(" %.2f", hratio[r]);
  printf("\n");
  return 0;
}
