/* rt_pool.c - the worker pool (rt/rt_pool.h).  AUDIO THREAD and WORKER
 * THREADS, except rt_pool_create, rt_pool_destroy, rt_pool_stat_get and
 * rt_pool_default_workers (control thread).
 *
 * On the audio thread and the workers: only atomics, arithmetic, clock
 * reads and the futex.  The futex is the one way a thread here waits or
 * wakes another (FUTEX_WAIT_PRIVATE / FUTEX_WAKE_PRIVATE on a 32-bit word):
 *   - `wake`: bumped when work is queued and a worker sleeps; idle workers
 *     wait on it;
 *   - `done`: bumped when the segment's last node is done, or work is
 *     queued while the audio thread waits; the audio thread waits on it.
 * Before sleeping a thread spins for a few microseconds (the next node is
 * often that close).  Sleepers announce themselves (a counter, or a flag
 * for the audio thread) and look at the queue once more; wakers queue,
 * then look at the sleepers: both sides sequentially consistent, so a
 * wake-up is never lost (the futex word is read before the last look). */
#include "daemon/rt/rt_pool.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#define POOL_HAVE_CSR 1
#define POOL_FTZ_DAZ 0x8040u   /* MXCSR flush-to-zero | denormals-are-zero */
#endif

#include "daemon/rt/graph.h"
#include "daemon/rt/meter.h"
#include "daemon/rt/nodes.h"
#include "daemon/rtcheck/rtcheck.h"

/* How long a thread with nothing to do looks for work before it sleeps. */
#define SPIN_NS 4000
/* Worker stacks: their size, and how much of it (the top, where a stack
 * grows from) is locked in memory and touched before the first cycle. */
#define STACK_SIZE (8u << 20)
#define STACK_LOCKED (512u << 10)

typedef struct rt_runner {
  struct rt_pool *pool;
  unsigned index;               /* 0: the audio thread; 1..: worker k */
  pthread_t thread;
  bool started;
  void *stack;
  size_t locked;
  int policy, priority;
  uint32_t csr;                 /* the MXCSR it runs with */
  vst_midi_sink sink;           /* plugin MIDI of its nodes, this segment */
  vst_midi_out *sink_ev;
  /* Written by the runner inside a segment, read and reset by the audio
   * thread between them. */
  _Atomic uint64_t busy_ns;
  _Atomic uint32_t nodes;
  /* Published at the block's end. */
  _Atomic uint32_t pub_busy_ppm;
  _Atomic uint32_t pub_busy_max_ppm;
  _Atomic uint32_t pub_nodes;
} rt_runner;

/* The segment being rendered: written by the audio thread before it
 * queues the first node, read by a runner only while it holds one of the
 * segment's nodes (so the segment cannot end under it). */
typedef struct pool_job {
  rt_graph *g;
  rt_plan *p;
  rt_nodes *ns;
  float *const *out;
  unsigned nchannels, from, len;
  uint32_t csr;
} pool_job;

struct rt_pool {
  unsigned nworkers;
  rt_runner *run;               /* nworkers + 1; run[0] is the audio thread */
  uint64_t min_work_ns;
  pool_job job;
  uint32_t epoch;               /* audio thread: the segment's number */
  /* The ready queue: head and slots carry the epoch in their high half. */
  _Atomic uint64_t head;
  _Atomic uint32_t tail;
  _Atomic uint64_t slot[RT_POOL_MAX_NODES];
  _Atomic uint32_t remaining;   /* nodes of the segment not yet done */
  _Atomic uint32_t wake;        /* futex: workers */
  _Atomic uint32_t sleepers;
  _Atomic uint32_t done;        /* futex: the audio thread */
  _Atomic uint32_t main_waits;
  _Atomic bool quit;
  /* Audio thread. */
  uint64_t last_work_ns;
  bool cycle_parallel;
  /* Control thread: the priority the workers were last given. */
  int following;
  _Atomic uint64_t pub_parallel_cycles;
};

/* ------------------------------------------------------------ futex */

/* The pool's waits and wake-ups are system calls the audio thread makes on
 * purpose (ARCHITECTURE.md, "Worker pool"): allowed by the realtime
 * checker like the control thread's wake-up (rtcheck.h). */
static void futex_wait(_Atomic uint32_t *word, uint32_t expect) {
  RT_SYSCALL_BEGIN();
  (void)syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, expect, NULL, NULL, 0);
  RT_SYSCALL_END();
}

static void futex_wake(_Atomic uint32_t *word, int n) {
  RT_SYSCALL_BEGIN();
  (void)syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
  RT_SYSCALL_END();
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

/* ------------------------------------------------------------ queue */

static void push(rt_pool *pl, uint32_t node) {
  uint32_t t = atomic_fetch_add_explicit(&pl->tail, 1, memory_order_relaxed);

  /* Sequentially consistent, like the sleepers' count the pusher reads
   * next (notify): a sleeper cannot miss both. */
  atomic_store_explicit(&pl->slot[t], ((uint64_t)pl->epoch << 32) | node, memory_order_seq_cst);
}

/* Takes a ready node of the current segment; false if none is ready now. */
static bool pop(rt_pool *pl, uint32_t *node) {
  uint64_t h = atomic_load_explicit(&pl->head, memory_order_acquire);

  for (;;) {
    uint32_t i = (uint32_t)h;
    uint64_t v;

    if (i >= RT_POOL_MAX_NODES)
      return false;
    v = atomic_load_explicit(&pl->slot[i], memory_order_acquire);
    if ((v >> 32) != (h >> 32))
      return false;   /* not filled yet, or h is of a past segment */
    if (atomic_compare_exchange_weak_explicit(&pl->head, &h, h + 1, memory_order_acq_rel,
                                              memory_order_acquire)) {
      *node = (uint32_t)v;
      return true;
    }
  }
}

/* A sleeper's last look at the queue (sequentially consistent). */
static bool ready(rt_pool *pl) {
  uint64_t h = atomic_load_explicit(&pl->head, memory_order_seq_cst);
  uint32_t i = (uint32_t)h;

  return i < RT_POOL_MAX_NODES &&
         (atomic_load_explicit(&pl->slot[i], memory_order_seq_cst) >> 32) == (h >> 32);
}

/* k nodes were queued: wake as many sleeping workers, and the audio
 * thread if it waits. */
static void notify(rt_pool *pl, unsigned k) {
  uint32_t s = atomic_load_explicit(&pl->sleepers, memory_order_seq_cst);
  if (s > 0) {
    atomic_fetch_add_explicit(&pl->wake, 1, memory_order_seq_cst);
    futex_wake(&pl->wake, (int)(k < s ? k : s));
  }
  if (atomic_load_explicit(&pl->main_waits, memory_order_seq_cst)) {
    atomic_fetch_add_explicit(&pl->done, 1, memory_order_seq_cst);
    futex_wake(&pl->done, 1);
  }
}

/* ------------------------------------------------------------ running */

static void set_csr(rt_runner *r, uint32_t csr) {
#ifdef POOL_HAVE_CSR
  if (r->csr != csr) {
    _mm_setcsr(csr);
    r->csr = csr;
  }
#else
  (void)r;
  (void)csr;
#endif
}

/* Node i's turn on runner r: renders it, releases its successors.
 * Returns one successor that became ready, for r to run next without
 * going through the queue, or -1. */
static int run_node(rt_pool *pl, rt_runner *r, uint32_t i) {
  pool_job *j = &pl->job;
  rt_sched *s = j->p->sched;
  rt_gnode *n = &j->p->node[i];
  uint64_t t0, t1;
  uint32_t m0 = r->sink.n, a, pushed = 0;
  int next = -1;

  set_csr(r, j->csr);
  t0 = rt_now_ns();
  graph_rt_node(j->g, j->p, j->ns, n, j->out, j->nchannels, j->from, j->len, &r->sink);
  t1 = rt_now_ns();
  n->load_ns += t1 - t0;
  atomic_store_explicit(&r->busy_ns, atomic_load_explicit(&r->busy_ns, memory_order_relaxed) +
                                         (t1 - t0), memory_order_relaxed);
  atomic_store_explicit(&r->nodes, atomic_load_explicit(&r->nodes, memory_order_relaxed) + 1,
                        memory_order_relaxed);
  atomic_store_explicit(&s->ran_on[i], (uint8_t)r->index, memory_order_relaxed);
  s->midi_first[i] = m0;
  s->midi_count[i] = r->sink.n - m0;
  for (a = s->succ_at[i]; a < s->succ_at[i + 1]; a++) {
    uint32_t x = s->succ[a];

    if (atomic_fetch_sub_explicit(&s->pending[x], 1, memory_order_acq_rel) != 1)
      continue;
    if (next < 0)
      next = (int)x;
    else {
      push(pl, x);
      pushed++;
    }
  }
  if (pushed > 0)
    notify(pl, pushed);
  if (atomic_fetch_sub_explicit(&pl->remaining, 1, memory_order_seq_cst) == 1) {
    /* The segment's last node: release the audio thread. */
    atomic_fetch_add_explicit(&pl->done, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&pl->main_waits, memory_order_seq_cst))
      futex_wake(&pl->done, 1);
  }
  return next;
}

static void run_from(rt_pool *pl, rt_runner *r, uint32_t i) {
  int next = (int)i;

  while (next >= 0)
    next = run_node(pl, r, (uint32_t)next);
}

/* Takes and runs nodes until none is ready for SPIN_NS. */
static void work(rt_pool *pl, rt_runner *r) {
  uint64_t idle_since = 0;
  uint32_t i;

  for (;;) {
    if (pop(pl, &i)) {
      run_from(pl, r, i);
      idle_since = 0;
      continue;
    }
    if (atomic_load_explicit(&pl->quit, memory_order_relaxed))
      return;
    if (idle_since == 0)
      idle_since = rt_now_ns();
    else if (rt_now_ns() - idle_since > SPIN_NS)
      return;
    cpu_relax();
  }
}

static void *worker_main(void *arg) {
  rt_runner *r = arg;
  rt_pool *pl = r->pool;
  char name[16];

  snprintf(name, sizeof name, "sonod-w%u", r->index);
  pthread_setname_np(pthread_self(), name);
#ifdef POOL_HAVE_CSR
  _mm_setcsr(_mm_getcsr() | POOL_FTZ_DAZ);
  r->csr = _mm_getcsr();
#endif
  for (;;) {
    uint32_t seen;

    if (atomic_load_explicit(&pl->quit, memory_order_acquire))
      break;
    /* The worker's part of a cycle is a realtime section, checked like
     * the audio thread's (RTSan build). */
    RT_CYCLE_BEGIN();
    work(pl, r);
    RT_CYCLE_END();
    seen = atomic_load_explicit(&pl->wake, memory_order_seq_cst);
    atomic_fetch_add_explicit(&pl->sleepers, 1, memory_order_seq_cst);
    if (!ready(pl) && !atomic_load_explicit(&pl->quit, memory_order_acquire))
      futex_wait(&pl->wake, seen);
    atomic_fetch_sub_explicit(&pl->sleepers, 1, memory_order_seq_cst);
  }
  return NULL;
}

/* ------------------------------------------------------------ audio thread */

bool rt_pool_cycle_begin(rt_pool *pl, const rt_plan *p, bool csound, unsigned nframes) {
  const rt_sched *s = p != NULL ? p->sched : NULL;

  pl->cycle_parallel = nframes > 0 && s != NULL && (csound ? s->parallel_cs : s->parallel) &&
                       pl->last_work_ns >= pl->min_work_ns;
  return pl->cycle_parallel;
}

/* Puts the runners' plugin MIDI into the nodes' sink in plan order, as
 * the single thread would have, and empties the runners' sinks. */
static void merge_midi(rt_pool *pl, rt_plan *p, rt_nodes *ns) {
  rt_sched *s = p->sched;
  vst_midi_sink *dst = &ns->out;
  unsigned i, k, any = 0;

  for (k = 0; k <= pl->nworkers; k++)
    any |= pl->run[k].sink.n | pl->run[k].sink.dropped;
  if (!any)
    return;
  for (i = 0; i < p->nnodes; i++) {
    const vst_midi_sink *src = &pl->run[atomic_load_explicit(&s->ran_on[i],
                                                             memory_order_relaxed)].sink;

    for (k = 0; k < s->midi_count[i]; k++) {
      if (dst->n < dst->cap)
        dst->ev[dst->n++] = src->ev[s->midi_first[i] + k];
      else
        dst->dropped++;
    }
  }
  for (k = 0; k <= pl->nworkers; k++) {
    dst->dropped += pl->run[k].sink.dropped;
    pl->run[k].sink.n = 0;
    pl->run[k].sink.dropped = 0;
  }
}

static void wait_done(rt_pool *pl, rt_runner *me) {
  uint64_t idle_since = 0;
  uint32_t i;

  while (atomic_load_explicit(&pl->remaining, memory_order_acquire) != 0) {
    uint32_t d;

    if (pop(pl, &i)) {
      run_from(pl, me, i);
      idle_since = 0;
      continue;
    }
    if (idle_since == 0)
      idle_since = rt_now_ns();
    if (rt_now_ns() - idle_since < SPIN_NS) {
      cpu_relax();
      continue;
    }
    /* The last node runs elsewhere and takes a while: sleep until it is
     * done or more work is queued.  The one wait on the audio thread, by
     * design (like JACK2's and Ardour's graph threads). */
    atomic_store_explicit(&pl->main_waits, 1, memory_order_seq_cst);
    d = atomic_load_explicit(&pl->done, memory_order_seq_cst);
    if (atomic_load_explicit(&pl->remaining, memory_order_seq_cst) != 0 && !ready(pl))
      futex_wait(&pl->done, d);
    atomic_store_explicit(&pl->main_waits, 0, memory_order_seq_cst);
    idle_since = 0;
  }
}

void rt_pool_render(rt_pool *pl, rt_graph *g, rt_nodes *ns, float *const *out,
                    unsigned nchannels, unsigned from, unsigned to, void (*pre)(void *),
                    void *pre_ctx) {
  rt_plan *p = g->plan;
  rt_sched *s = p != NULL ? p->sched : NULL;
  rt_runner *me = &pl->run[0];
  unsigned i, nroots = 0, len = to - from;
  pool_job *j = &pl->job;

  /* A plan swapped in during the block may have nothing to run side by
   * side, or not fit: the audio thread alone, as without the pool. */
  if (s == NULL || len == 0 || to > p->max_block || !(pre != NULL ? s->parallel_cs : s->parallel)) {
    if (pre != NULL)
      pre(pre_ctx);
    if (s != NULL && s->ran_parallel) {
      for (i = 0; i < s->n; i++)
        atomic_store_explicit(&s->ran_on[i], 0, memory_order_relaxed);
      s->ran_parallel = false;
    }
    graph_rt_render(g, ns, out, nchannels, from, to);
    return;
  }
  j->g = g;
  j->p = p;
  j->ns = ns;
  j->out = out;
  j->nchannels = nchannels;
  j->from = from;
  j->len = len;
#ifdef POOL_HAVE_CSR
  j->csr = _mm_getcsr();
  me->csr = j->csr;
#endif
  /* Slots start tagged 0: no segment is numbered 0. */
  if (++pl->epoch == 0)
    pl->epoch = 1;
  for (i = 0; i < s->n; i++)
    atomic_store_explicit(&s->pending[i], s->indeg[i] + (pre != NULL && s->csdep[i]),
                          memory_order_relaxed);
  atomic_store_explicit(&pl->tail, 0, memory_order_relaxed);
  atomic_store_explicit(&pl->remaining, s->n, memory_order_relaxed);
  atomic_store_explicit(&pl->head, (uint64_t)pl->epoch << 32, memory_order_release);
  /* The roots by their in-degree, not their counter: a worker may already
   * have run the first root and brought a later node's counter to zero
   * (that node is its to queue or run, not ours). */
  for (i = 0; i < s->n; i++)
    if (s->indeg[i] == 0 && !(pre != NULL && s->csdep[i])) {
      push(pl, i);
      nroots++;
    }
  /* The audio thread takes one of the roots itself unless Csound keeps it
   * busy first. */
  if (nroots > (pre != NULL ? 0u : 1u))
    notify(pl, nroots - (pre != NULL ? 0u : 1u));
  if (pre != NULL) {
    unsigned pushed = 0;
    uint64_t t0 = rt_now_ns();

    pre(pre_ctx);
    atomic_store_explicit(&me->busy_ns, atomic_load_explicit(&me->busy_ns, memory_order_relaxed) +
                                            (rt_now_ns() - t0), memory_order_relaxed);
    for (i = 0; i < s->n; i++)
      if (s->csdep[i] &&
          atomic_fetch_sub_explicit(&s->pending[i], 1, memory_order_acq_rel) == 1) {
        push(pl, i);
        pushed++;
      }
    if (pushed > 1)
      notify(pl, pushed - 1);
  }
  wait_done(pl, me);
  s->ran_parallel = true;
  if (ns != NULL)
    merge_midi(pl, p, ns);
  graph_rt_segment_end(p, ns, to);
}

void rt_pool_cycle_end(rt_pool *pl, rt_plan *p, unsigned nframes, unsigned sample_rate,
                       uint64_t work_ns) {
  uint64_t period = (uint64_t)nframes * 1000000000u / (sample_rate ? sample_rate : 1);
  uint64_t total = 0;
  unsigned k;

  if (nframes == 0)
    return;
  /* Which worker ran a node says the last cycle: none when it was not
   * parallel. */
  if (!pl->cycle_parallel && p != NULL && p->sched != NULL && p->sched->ran_parallel) {
    for (k = 0; k < p->sched->n; k++)
      atomic_store_explicit(&p->sched->ran_on[k], 0, memory_order_relaxed);
    p->sched->ran_parallel = false;
  }
  for (k = 0; k <= pl->nworkers; k++) {
    rt_runner *r = &pl->run[k];
    uint64_t b = atomic_exchange_explicit(&r->busy_ns, 0, memory_order_relaxed);
    uint32_t ppm = period ? (uint32_t)(b * 1000000u / period) : 0;

    total += b;
    atomic_store_explicit(&r->pub_busy_ppm, ppm, memory_order_relaxed);
    if (ppm > atomic_load_explicit(&r->pub_busy_max_ppm, memory_order_relaxed))
      atomic_store_explicit(&r->pub_busy_max_ppm, ppm, memory_order_relaxed);
    atomic_store_explicit(&r->pub_nodes, atomic_exchange_explicit(&r->nodes, 0,
                                                                  memory_order_relaxed),
                          memory_order_relaxed);
  }
  /* The graph's work: the runners' total when parallel, else what the
   * engine measured around the graph. */
  pl->last_work_ns = pl->cycle_parallel ? total : work_ns;
  if (pl->cycle_parallel)
    atomic_fetch_add_explicit(&pl->pub_parallel_cycles, 1, memory_order_relaxed);
}

/* ------------------------------------------------------------ control side */

unsigned rt_pool_default_workers(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);

  if (n < 2)
    return 0;
  return n - 1 > 8 ? 8u : (unsigned)(n - 1);
}

unsigned rt_pool_workers(const rt_pool *pl) {
  return pl->nworkers;
}

uint64_t rt_pool_parallel_cycles(const rt_pool *pl) {
  return atomic_load_explicit(&pl->pub_parallel_cycles, memory_order_relaxed);
}

void rt_pool_stat_get(rt_pool *pl, unsigned k, rt_pool_stat *st) {
  rt_runner *r = &pl->run[k];

  memset(st, 0, sizeof *st);
  st->policy = r->policy;
  st->priority = r->priority;
  st->locked = r->locked;
  st->busy_ppm = atomic_load_explicit(&r->pub_busy_ppm, memory_order_relaxed);
  st->busy_max_ppm = atomic_exchange_explicit(&r->pub_busy_max_ppm, 0, memory_order_relaxed);
  if (st->busy_max_ppm < st->busy_ppm)
    st->busy_max_ppm = st->busy_ppm;
  st->nodes = atomic_load_explicit(&r->pub_nodes, memory_order_relaxed);
}

/* A stack of STACK_SIZE; its top STACK_LOCKED touched and locked in
 * memory when the limits allow (RLIMIT_MEMLOCK), so the first cycles do
 * not fault pages in. */
static int make_stack(rt_runner *r, pthread_attr_t *attr) {
  void *mem = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  char *top;

  if (mem == MAP_FAILED)
    return -1;
  r->stack = mem;
  top = (char *)mem + STACK_SIZE - STACK_LOCKED;
  memset(top, 0, STACK_LOCKED);
  r->locked = mlock(top, STACK_LOCKED) == 0 ? STACK_LOCKED : 0;
  return pthread_attr_setstack(attr, mem, STACK_SIZE);
}

static int start_worker(rt_runner *r) {
  pthread_attr_t attr;
  int rc;

  if (pthread_attr_init(&attr) != 0)
    return -1;
  if (make_stack(r, &attr) != 0) {
    pthread_attr_destroy(&attr);
    return -1;
  }
  r->policy = SCHED_OTHER;
  r->priority = 0;
  rc = pthread_create(&r->thread, &attr, worker_main, r);
  pthread_attr_destroy(&attr);
  if (rc != 0)
    return -1;
  r->started = true;
  return 0;
}

void rt_pool_follow(rt_pool *pl, int rt_priority) {
  unsigned k;

  if (rt_priority == pl->following)
    return;
  pl->following = rt_priority;
  for (k = 1; k <= pl->nworkers; k++) {
    rt_runner *r = &pl->run[k];
    struct sched_param sp = { .sched_priority = rt_priority };

    if (rt_priority > 0 && pthread_setschedparam(r->thread, SCHED_FIFO, &sp) == 0) {
      r->policy = SCHED_FIFO;
      r->priority = rt_priority;
      continue;
    }
    /* 0, or realtime refused: the default policy. */
    sp.sched_priority = 0;
    (void)pthread_setschedparam(r->thread, SCHED_OTHER, &sp);
    r->policy = SCHED_OTHER;
    r->priority = 0;
  }
}

rt_pool *rt_pool_create(unsigned nworkers, uint64_t min_work_ns, char *err, size_t errlen) {
  rt_pool *pl;
  unsigned k;

  if (nworkers == 0 || nworkers > RT_POOL_MAX_WORKERS) {
    snprintf(err, errlen, "workers: %u is not 1..%u", nworkers, RT_POOL_MAX_WORKERS);
    return NULL;
  }
  if ((pl = calloc(1, sizeof *pl)) == NULL ||
      (pl->run = calloc(nworkers + 1, sizeof *pl->run)) == NULL) {
    free(pl);
    snprintf(err, errlen, "workers: out of memory");
    return NULL;
  }
  pl->nworkers = nworkers;
  pl->min_work_ns = min_work_ns;
  /* An empty queue until the first segment. */
  atomic_store(&pl->head, RT_POOL_MAX_NODES);
  /* The first cycle may go parallel at once (the threshold looks at the
   * last cycle, and there was none). */
  pl->last_work_ns = UINT64_MAX;
  for (k = 0; k <= nworkers; k++) {
    rt_runner *r = &pl->run[k];

    r->pool = pl;
    r->index = k;
    if ((r->sink_ev = calloc(RT_LIVE_MIDI_MAX, sizeof *r->sink_ev)) == NULL) {
      snprintf(err, errlen, "workers: out of memory");
      rt_pool_destroy(pl);
      return NULL;
    }
    r->sink.ev = r->sink_ev;
    r->sink.cap = RT_LIVE_MIDI_MAX;
  }
  for (k = 1; k <= nworkers; k++)
    if (start_worker(&pl->run[k]) != 0) {
      snprintf(err, errlen, "workers: cannot start worker thread %u: %s", k, strerror(errno));
      rt_pool_destroy(pl);
      return NULL;
    }
  return pl;
}

void rt_pool_destroy(rt_pool *pl) {
  unsigned k;

  if (pl == NULL)
    return;
  atomic_store_explicit(&pl->quit, true, memory_order_seq_cst);
  atomic_fetch_add_explicit(&pl->wake, 1, memory_order_seq_cst);
  futex_wake(&pl->wake, INT_MAX);
  for (k = 1; k <= pl->nworkers; k++)
    if (pl->run[k].started)
      pthread_join(pl->run[k].thread, NULL);
  for (k = 0; k <= pl->nworkers; k++) {
    free(pl->run[k].sink_ev);
    if (pl->run[k].stack != NULL)
      munmap(pl->run[k].stack, STACK_SIZE);
  }
  free(pl->run);
  free(pl);
}
