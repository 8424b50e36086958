/* meter_ctl.c - meter subscriptions and events.  See meter_ctl.h and
 * ARCHITECTURE.md, "Meters and load".
 *
 * Time is counted in engine frames, not wall-clock time: a client at rate
 * R gets an event each time another sample_rate / R frames have been
 * metered (carrying the remainder, so the long-run rate is exact), at the
 * granularity of the audio thread's snapshots (sample_rate / 240 frames,
 * rounded up to block ends).  On a live backend engine frames are wall
 * time; on the offline backend the same script gives the same events
 * however fast it renders.  Each client's accumulators cover exactly the
 * frames since its last event: peak is the maximum, RMS comes from the
 * summed squares.  One event per interval: when a snapshot covers several
 * intervals (a full ring, a slow control thread) they coalesce into one.
 * Events go through the client's bounded output like every event (beyond
 * the backlog they are dropped and counted in a `lost` event). */
#include "daemon/modules/meter_ctl.h"

#include "daemon/engine/module.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/net/client.h"
#include "daemon/net/events.h"
#include "daemon/modules/graph_ctl.h"
#include "daemon/rt/rt_pool.h"
#include "protocol/wire.h"

#define METER_SNAPSHOTS_PER_SEC 240
#define METER_POLL_MS 10

typedef struct mport {
  uint32_t node, port;
  float peak;
  double sumsq;
} mport;

typedef struct msub {
  struct msub *next;
  uint32_t client;
  unsigned rate;
  uint32_t *nodes;          /* what it asked for, in its order */
  unsigned nnodes;
  uint32_t *want;           /* the same ids sorted, each once: found by bisection */
  unsigned nwant;
  mport *acc;               /* per port seen since the last event */
  unsigned nacc, capacc;
  unsigned *by_node;        /* acc's indices sorted by node, then by index */
  unsigned hint;            /* the acc index the next record most likely updates */
  uint64_t frames;          /* frames covered by acc */
  uint64_t phase;           /* frames × rate since the last event, mod sample_rate */
} msub;

static msub *subs;
static uv_timer_t timer;
static bool timer_ready, timer_on;

static void sub_free(msub *s) {
  free(s->nodes);
  free(s->want);
  free(s->acc);
  free(s->by_node);
  free(s);
}

static msub **find_sub(uint32_t client) {
  msub **pp;

  for (pp = &subs; *pp != NULL; pp = &(*pp)->next)
    if ((*pp)->client == client)
      return pp;
  return NULL;
}

/* Every record of a snapshot passes through here, and a snapshot holds
 * every metered port of the plan, 240 times a second of audio: with a
 * subscription to every node of a big graph, the linear searches this
 * replaced cost ports × (nodes + ports) per snapshot (the fuzzer's daemon,
 * 516 ports and 3 402 nodes, spent half its time here).  Now a record
 * costs O(log) at most, O(1) when it comes in the order of the last
 * snapshot (the plan's order, which only a change of the plan alters). */
static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static bool wants(const msub *s, uint32_t node) {
  return bsearch(&node, s->want, s->nwant, sizeof *s->want, cmp_u32) != NULL;
}

/* The first position in by_node whose port belongs to node or a later one. */
static unsigned node_start(const msub *s, uint32_t node) {
  unsigned lo = 0, hi = s->nacc;

  while (lo < hi) {
    unsigned mid = lo + (hi - lo) / 2;

    if (s->acc[s->by_node[mid]].node < node)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* The accumulator of r's port, or nacc when it has none; *at is where its
 * index goes in by_node then (after the node's other ports). */
static unsigned find_port(const msub *s, const rt_meter_rec *r, unsigned *at) {
  unsigned k;

  if (s->hint < s->nacc && s->acc[s->hint].node == r->node && s->acc[s->hint].port == r->port)
    return s->hint;
  for (k = node_start(s, r->node); k < s->nacc && s->acc[s->by_node[k]].node == r->node; k++)
    if (s->acc[s->by_node[k]].port == r->port)
      return s->by_node[k];
  *at = k;
  return s->nacc;
}

static void add_port(msub *s, const rt_meter_rec *r) {
  unsigned i, at = 0;
  mport *m;

  i = find_port(s, r, &at);
  if (i == s->nacc) {
    if (s->nacc == s->capacc) {
      unsigned cap = s->capacc ? s->capacc * 2 : 16;
      mport *p = realloc(s->acc, cap * sizeof *p);
      unsigned *q;

      if (p == NULL)
        return;   /* out of memory: this port goes unreported */
      s->acc = p;
      q = realloc(s->by_node, cap * sizeof *q);
      if (q == NULL)
        return;
      s->by_node = q;
      s->capacc = cap;
    }
    memmove(&s->by_node[at + 1], &s->by_node[at], (s->nacc - at) * sizeof *s->by_node);
    s->by_node[at] = s->nacc;
    m = &s->acc[s->nacc++];
    m->node = r->node;
    m->port = r->port;
    m->peak = 0.0f;
    m->sumsq = 0.0;
  }
  s->hint = i + 1;
  m = &s->acc[i];
  if (r->u.v.peak > m->peak || isnan(r->u.v.peak))   /* NaN stays NaN */
    m->peak = r->u.v.peak;
  m->sumsq += r->u.v.sumsq;
}

/* How many ports node has in acc, from position *start of by_node. */
static unsigned node_ports(const msub *s, uint32_t node, unsigned *start) {
  unsigned k;

  *start = node_start(s, node);
  for (k = *start; k < s->nacc && s->acc[s->by_node[k]].node == node; k++)
    ;
  return k - *start;
}

void meter_ctl_pack_node(msgpack_packer *pk, uint32_t id) {
  char buf[16];

  if (id == GRAPH_ID_OUT || id == GRAPH_ID_IN || id == GRAPH_ID_CSOUND)
    sono_pack_cstr(pk, graph_node_label(id, buf, sizeof buf));
  else
    msgpack_pack_uint32(pk, id);
}

static void send_event(client *c, msub *s, uint64_t frame) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  unsigned i, k, n, np, start;
  char name[16];

  events_begin(&sb, &pk, "meter", 2);
  sono_pack_key_uint(&pk, "frame", frame);
  sono_pack_cstr(&pk, "nodes");
  /* The nodes it asked for that are in the graph, in its order; each
   * node's ports in the order they were first seen. */
  for (i = 0, n = 0; i < s->nnodes; i++)
    if (node_ports(s, s->nodes[i], &start) > 0)
      n++;
  msgpack_pack_array(&pk, n);
  for (i = 0; i < s->nnodes; i++) {
    np = node_ports(s, s->nodes[i], &start);
    if (np == 0)
      continue;
    msgpack_pack_map(&pk, 2);
    sono_pack_cstr(&pk, "node");
    meter_ctl_pack_node(&pk, s->nodes[i]);
    sono_pack_cstr(&pk, "ports");
    msgpack_pack_array(&pk, np);
    for (k = start; k < start + np; k++) {
      mport *m = &s->acc[s->by_node[k]];

      /* The out node's metered ports are its inputs. */
      snprintf(name, sizeof name, "%s_%u", m->node == GRAPH_ID_OUT ? "in" : "out", m->port + 1);
      msgpack_pack_map(&pk, 3);
      sono_pack_key_str(&pk, "port", name);
      sono_pack_key_double(&pk, "peak", m->peak);
      sono_pack_key_double(&pk, "rms", s->frames > 0 ? sqrt(m->sumsq / (double)s->frames) : 0.0);
    }
  }
  sono_msg_end(&sb);
  client_send_event(c, &sb);
  msgpack_sbuffer_destroy(&sb);
}

/* A trailer: the snapshot covered `frames` frames up to `frame`. */
static void interval(sonod *d, uint32_t frames, uint64_t frame) {
  uint64_t sr = d->eng.sample_rate ? d->eng.sample_rate : 1;
  msub **pp = &subs;

  while (*pp != NULL) {
    msub *s = *pp;
    client *c;
    unsigned j;

    s->frames += frames;
    s->phase += (uint64_t)frames * s->rate;
    if (s->phase < sr) {
      pp = &s->next;
      continue;
    }
    s->phase %= sr;   /* one event however many intervals went by */
    c = client_find(d, s->client);
    if (c == NULL) {
      /* Gone: forget it here rather than hook every disconnect. */
      *pp = s->next;
      sub_free(s);
      continue;
    }
    send_event(c, s, frame);
    for (j = 0; j < s->nacc; j++) {
      s->acc[j].peak = 0.0f;
      s->acc[j].sumsq = 0.0;
    }
    s->frames = 0;
    pp = &s->next;
  }
}

static void meter_ctl_poll(sonod *d) {
  rt_meter_rec r;
  msub *s;

  if (d->eng.meters.ring == NULL)
    return;
  while (spsc_pop(d->eng.meters.ring, &r) == 0) {
    if (r.node == METER_REC_END) {
      interval(d, r.port, r.u.frame);
      continue;
    }
    for (s = subs; s != NULL; s = s->next)
      if (wants(s, r.node))
        add_port(s, &r);
  }
}

static void on_timer(uv_timer_t *t) {
  meter_ctl_poll(t->data);
}

/* Metering runs on the audio thread only while someone listens. */
static void update(sonod *d) {
  uint32_t period = d->eng.sample_rate / METER_SNAPSHOTS_PER_SEC;

  if (period == 0)
    period = 1;
  atomic_store(&d->eng.meters.period, subs != NULL ? period : 0);
  if (subs != NULL && !timer_on && !d->stopping) {
    if (!timer_ready) {
      uv_timer_init(d->loop, &timer);
      timer.data = d;
      timer_ready = true;
    }
    uv_timer_start(&timer, on_timer, METER_POLL_MS, METER_POLL_MS);
    timer_on = true;
  } else if (subs == NULL && timer_on) {
    uv_timer_stop(&timer);
    timer_on = false;
  }
}

int meter_ctl_subscribe(sonod *d, uint32_t client_id, unsigned rate, uint32_t *nodes,
                        unsigned n) {
  msub *s;
  unsigned i;

  /* Take what waits in the ring first: it belongs to the old intervals. */
  meter_ctl_poll(d);
  meter_ctl_unsubscribe(d, client_id);
  s = calloc(1, sizeof *s);
  if (s == NULL)
    return -1;
  s->want = malloc((n ? n : 1) * sizeof *s->want);
  if (s->want == NULL) {
    free(s);
    return -1;
  }
  memcpy(s->want, nodes, n * sizeof *nodes);
  qsort(s->want, n, sizeof *s->want, cmp_u32);
  for (i = 0; i < n; i++)
    if (s->nwant == 0 || s->want[s->nwant - 1] != s->want[i])
      s->want[s->nwant++] = s->want[i];
  s->client = client_id;
  s->rate = rate;
  s->nodes = nodes;
  s->nnodes = n;
  s->next = subs;
  subs = s;
  update(d);
  return 0;
}

void meter_ctl_unsubscribe(sonod *d, uint32_t client_id) {
  msub **pp = find_sub(client_id);

  if (pp != NULL) {
    msub *s = *pp;
    *pp = s->next;
    sub_free(s);
  }
  update(d);
}

/* ---- nodes that gave NaN or infinity (rt/graph_rt.c guard) ---- */

#define NONFINITE_EVENT_NS 1000000000ull   /* at most one event a second per node */

typedef struct nfnode {
  uint32_t gid;
  uint64_t total;          /* blocks silenced since start */
  uint64_t reported;       /* total when the last event went out */
  uint64_t last_ns;        /* when it went out */
} nfnode;

static nfnode *nf;
static unsigned nnf, capnf;

static nfnode *nf_find(uint32_t gid, bool add) {
  unsigned i;

  for (i = 0; i < nnf; i++)
    if (nf[i].gid == gid)
      return &nf[i];
  if (!add)
    return NULL;
  if (nnf == capnf) {
    unsigned cap = capnf ? 2 * capnf : 8;
    nfnode *p = realloc(nf, cap * sizeof *p);

    if (p == NULL)
      return NULL;
    nf = p;
    capnf = cap;
  }
  memset(&nf[nnf], 0, sizeof nf[nnf]);
  nf[nnf].gid = gid;
  return &nf[nnf++];
}

void meter_ctl_take_nonfinite(rt_plan *p) {
  unsigned i;

  for (i = 0; p != NULL && i < p->nnodes; i++) {
    uint32_t n = atomic_exchange_explicit(&p->node[i].nonfinite, 0, memory_order_relaxed);
    nfnode *x = n > 0 ? nf_find(p->node[i].gid, true) : NULL;

    if (x != NULL)
      x->total += n;
  }
}

void meter_ctl_tick(sonod *d) {
  uint64_t now = sonod_now_ns();
  unsigned i;

  if (d->stopping)
    return;   /* the modules may be shut down: the plan is gone */
  meter_ctl_take_nonfinite(atomic_load_explicit(&d->eng.graph.live, memory_order_acquire));
  for (i = 0; i < nnf; i++) {
    nfnode *x = &nf[i];
    msgpack_sbuffer sb;
    msgpack_packer pk;

    if (x->total == x->reported || (x->last_ns != 0 && now - x->last_ns < NONFINITE_EVENT_NS))
      continue;
    events_begin(&sb, &pk, "node.nonfinite", 3);
    sono_pack_cstr(&pk, "node");
    meter_ctl_pack_node(&pk, x->gid);
    sono_pack_key_uint(&pk, "blocks", x->total - x->reported);
    sono_pack_key_uint(&pk, "total", x->total);
    events_emit(d, EV_NODE, &sb);
    x->reported = x->total;
    x->last_ns = now;
  }
}

void meter_ctl_pack_loads(sonod *d, msgpack_packer *pk) {
  rt_plan *p = atomic_load_explicit(&d->eng.graph.live, memory_order_acquire);
  unsigned i;

  if (p == NULL) {
    msgpack_pack_array(pk, 0);
    return;
  }
  meter_ctl_take_nonfinite(p);
  msgpack_pack_array(pk, p->nnodes);
  for (i = 0; i < p->nnodes; i++) {
    const nfnode *x = nf_find(p->node[i].gid, false);

    msgpack_pack_map(pk, 4);
    sono_pack_cstr(pk, "node");
    meter_ctl_pack_node(pk, p->node[i].gid);
    sono_pack_key_double(pk, "load",
                         atomic_load_explicit(&p->node[i].load_ppm, memory_order_relaxed) / 1e6);
    /* Where it ran in the last block: 0 the audio thread, k worker k. */
    sono_pack_key_uint(pk, "worker",
                       p->sched != NULL
                           ? atomic_load_explicit(&p->sched->ran_on[i], memory_order_relaxed)
                           : 0);
    sono_pack_key_uint(pk, "nonfinite", x != NULL ? x->total : 0);
  }
}

static void meter_ctl_shutdown(sonod *d) {
  free(nf);
  nf = NULL;
  nnf = capnf = 0;
  while (subs != NULL) {
    msub *s = subs;
    subs = s->next;
    sub_free(s);
  }
  atomic_store(&d->eng.meters.period, 0);
  if (timer_ready) {
    uv_close((uv_handle_t *)&timer, NULL);
    timer_ready = timer_on = false;
  }
}

/* Meter snapshots drained into events on every wake-up (before a render's
 * reply) and by a 10 ms timer while anyone is subscribed; at shutdown
 * every subscription is forgotten and the timer stopped. */
const engine_module meter_ctl_module = {
  .name = "meter",
  .poll = meter_ctl_poll,
  .shutdown = meter_ctl_shutdown,
};
