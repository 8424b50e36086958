/* nodes.c - AUDIO THREAD.  Plugin nodes: the node array, rendering, and the
 * plugin commands.
 *
 * The routing graph (rt/graph_rt.c) decides when a node renders and with
 * which buffers: the engine splits the block at every command's frame and
 * renders the whole plan segment by segment, so a parameter change due at
 * offset q finds every node rendered up to q, and is sample-exact.  MIDI
 * events are not split on: before each process call the node queues, from
 * its active batches, every event that falls before the end of that call,
 * with deltaFrames relative to the call's first frame.
 *
 * Only pointer work and arithmetic here: no allocation, free, lock, wait,
 * log or I/O.  Plugin calls are bracketed inside the vst library. */
#include "daemon/rt/nodes.h"

#include <string.h>

static void push(rt_nodes *ns, const rt_msg *m) {
  /* The control side reserved the slots (RT_MSG_SLOTS_PER_CMD). */
  (void)spsc_push(ns->from_rt, m);
  ns->said = true;
}

static void msg(rt_nodes *ns, const rt_cmd *c, rt_msg_type type, rt_err code, uint64_t frame,
                uint64_t value, uint32_t release, void *garbage) {
  rt_msg m;

  memset(&m, 0, sizeof m);
  m.type = (uint16_t)type;
  m.code = (uint16_t)code;
  m.client = c->client;
  m.req_id = c->req_id;
  m.frame = frame;
  m.value = value;
  m.release = release;
  m.cmd_type = c->type;
  m.garbage = garbage;
  push(ns, &m);
}

bool nodes_owns_reply(const rt_cmd *c) {
  return c->type == RT_CMD_NODE_REMOVE || c->type == RT_CMD_MIDI || c->type == RT_CMD_NODE_EVBUF;
}

static int find(const rt_nodes *ns, uint32_t id) {
  unsigned i;

  for (i = 0; i < ns->n; i++)
    if (ns->node[i]->id == id)
      return (int)i;
  return -1;
}

/* The next event of a batch in time order (abs and rel merged, ties in
 * request order), or NULL.  *t gets its absolute frame. */
static rt_midi_ev *batch_peek(rt_midi_batch *b, uint64_t *t) {
  rt_midi_ev *a = b->iabs < b->nabs ? &b->ev[b->iabs] : NULL;
  rt_midi_ev *r = b->irel < b->nrel ? &b->ev[b->nabs + b->irel] : NULL;
  uint64_t rt;

  if (r == NULL) {
    if (a != NULL)
      *t = a->t;
    return a;
  }
  rt = b->base + r->t;
  if (a != NULL && (a->t < rt || (a->t == rt && a->order < r->order))) {
    *t = a->t;
    return a;
  }
  *t = rt;
  return r;
}

static void batch_next(rt_midi_batch *b, const rt_midi_ev *ev) {
  if (ev >= &b->ev[b->nabs])
    b->irel++;
  else
    b->iabs++;
}

/* Queues every event before frame `until`; `first` is the frame of the
 * coming process call's first sample. */
static void queue_due(rt_node *n, uint64_t first, uint64_t until) {
  rt_midi_batch **link = &n->batches;

  while (*link != NULL) {
    rt_midi_batch *b = *link;
    rt_midi_ev *ev;
    uint64_t t;

    while ((ev = batch_peek(b, &t)) != NULL && t < until) {
      int32_t delta = t > first ? (int32_t)(t - first) : 0;
      int rc = ev->sx != NULL ? vst_rt_queue_sysex(n->inst, delta, ev->sx)
                              : vst_rt_queue_midi(n->inst, delta, ev->msg);
      if (rc == VST_OK) {
        b->queued++;
        ev->sx = NULL;   /* the instance owns it now */
      }
      else
        b->refused++;
      batch_next(b, ev);
    }
    if (ev == NULL) {
      rt_midi_batch **tail = &n->done;

      if (n->tail == &b->next)
        n->tail = link;
      /* Finished: said by nodes_flush, on the audio thread. */
      *link = b->next;
      b->next = NULL;
      b->done_at = until;
      while (*tail != NULL)
        tail = &(*tail)->next;
      *tail = b;
      continue;
    }
    link = &b->next;
  }
}

/* Live MIDI routed to n with offsets in [from, from + len), deltas
 * relative to from: sample-exact, like a batch.  Refused events (the
 * node's event buffer full) are lost; routes are few, events per cycle
 * bounded (RT_LIVE_MIDI_MAX). */
static void queue_live(const rt_nodes *ns, rt_node *n, unsigned from, unsigned len) {
  const rt_midi_routes *rt = ns->routes;
  unsigned i, k;

  if (rt == NULL || ns->nlive == 0)
    return;
  for (k = 0; k < rt->n; k++) {
    if (rt->r[k].node != n->id)
      continue;
    for (i = 0; i < ns->nlive; i++) {
      const rt_live_ev *ev = &ns->live[i];
      vst_midi_msg m;

      if (ev->offset < from || ev->offset >= from + len)
        continue;
      if (rt->r[k].channel >= 0 && ev->data[0] < 0xF0 &&
          (ev->data[0] & 0x0F) != (unsigned)rt->r[k].channel)
        continue;
      memset(&m, 0, sizeof m);
      m.len = ev->len;
      memcpy(m.data, ev->data, ev->len);
      (void)vst_rt_queue_midi(n->inst, (int32_t)(ev->offset - from), m);
    }
    break;   /* one route per node (the control side keeps it so) */
  }
}

/* One plugin call: frames [from, from + len) of the block. */
static void process_one(const rt_nodes *ns, rt_node *n, float **in, unsigned nin, float **out,
                        unsigned nout, unsigned from, unsigned len, vst_midi_sink *sink) {
  uint64_t first = ns->start + from;
  vst_transport t;

  /* Its own time: a block split at command frames is several calls, and
   * each sees the song position (and its MIDI output is stamped) at its
   * own first frame, not the block's. */
  xport_vst_at(&ns->tr, first, ns->sample_rate, &t);
  vst_rt_set_transport(n->inst, &t);
  queue_due(n, first, first + len);
  queue_live(ns, n, from, len);
  sink->base = (int32_t)from;
  vst_rt_set_midi_sink(n->inst, sink);
  vst_rt_process(n->inst, (const float *const *)in, nin, out, nout, len);
  vst_rt_set_midi_sink(n->inst, NULL);
}

void nodes_process(rt_nodes *ns, rt_node *n, float **in, unsigned nin, float **out,
                   unsigned nout, unsigned from, unsigned len, vst_midi_sink *sink) {
  unsigned done = 0, k;

  if (sink == NULL)
    sink = &ns->out;
  atomic_store(&n->busy, true);
  if (atomic_load(&n->hold)) {
    /* Being re-prepared on the control side (rarely: only when that could
     * not finish while JACK had its driver stopped). */
    atomic_store(&n->busy, false);
    for (k = 0; k < nout; k++)
      memset(out[k], 0, len * sizeof(float));
    nodes_skip(ns, n, from + len);
    return;
  }
  /* JACK's period may have grown past the size the plugin was prepared
   * with, and VST2 forbids longer calls: split.  MIDI goes to the call its
   * frame falls in, so it stays sample-exact. */
  while (done < len) {
    unsigned max = vst_rt_max_block(n->inst), c = len - done;

    if (c > max)
      c = max;
    process_one(ns, n, in, nin, out, nout, from + done, c, sink);
    done += c;
    if (done < len) {
      for (k = 0; k < nin; k++)
        in[k] += c;
      for (k = 0; k < nout; k++)
        out[k] += c;
    }
  }
  atomic_store(&n->busy, false);
}

void nodes_skip(rt_nodes *ns, rt_node *n, unsigned to) {
  rt_midi_batch *b;
  uint64_t until = ns->start + to, t;
  rt_midi_ev *ev;

  /* Not rendered: its due events are dropped (counted as refused) so that
   * a node reconnected later does not get a backlog of stale notes. */
  for (b = n->batches; b != NULL; b = b->next)
    while ((ev = batch_peek(b, &t)) != NULL && t < until) {
      b->refused++;
      batch_next(b, ev);
    }
  queue_due(n, until, until);   /* finished batches go back (nodes_flush) */
}

void nodes_flush(rt_nodes *ns, rt_node *n) {
  while (n->done != NULL) {
    rt_midi_batch *b = n->done;
    rt_msg m;

    n->done = b->next;
    b->next = NULL;
    memset(&m, 0, sizeof m);
    m.type = RT_MSG_DONE;
    m.cmd_type = RT_CMD_MIDI;
    m.release = 1;
    m.frame = b->done_at;
    m.garbage = b;
    push(ns, &m);
  }
}

void nodes_begin(rt_nodes *ns, uint64_t start, unsigned nframes, const vst_transport *t) {
  ns->start = start;
  ns->nframes = nframes;
  ns->out.ev = ns->out_ev;
  ns->out.cap = RT_LIVE_MIDI_MAX;
  ns->out.n = 0;
  if (nframes > 0)
    nodes_transport(ns, t);
}

void nodes_transport(rt_nodes *ns, const vst_transport *t) {
  ns->tr = *t;
}

static void add(rt_nodes *ns, const rt_cmd *c) {
  rt_node *n = c->u.ptr;

  /* The control side never sends more than RT_NODES_MAX nodes. */
  if (ns->n >= RT_NODES_MAX)
    return;
  n->batches = NULL;
  n->done = NULL;
  n->tail = &n->batches;
  ns->node[ns->n++] = n;
}

static void remove_node(rt_nodes *ns, const rt_cmd *c, uint64_t frame) {
  int i = find(ns, c->u.node.id);
  rt_node *n;

  if (i < 0) {
    msg(ns, c, RT_MSG_ERROR, RT_ERR_UNKNOWN_NODE, frame, c->u.node.id, RT_MSG_SLOTS_PER_CMD, NULL);
    return;
  }
  n = ns->node[i];
  /* Keep the order of the others: they are summed in order. */
  memmove(&ns->node[i], &ns->node[i + 1], (ns->n - (unsigned)i - 1) * sizeof ns->node[0]);
  ns->n--;
  /* Its active batches go back with it (n->batches). */
  msg(ns, c, RT_MSG_ACK, RT_ERR_NONE, frame, c->u.node.id, RT_MSG_SLOTS_PER_CMD, n);
}

static void param(rt_nodes *ns, const rt_cmd *c, uint64_t frame) {
  int i = find(ns, c->u.node.id);

  (void)frame;
  if (i < 0)   /* unloaded before its time came: nothing to do */
    return;
  /* The engine split the block here: the whole graph is rendered up to
   * this frame, so the change is sample-exact. */
  vst_rt_set_param(ns->node[i]->inst, c->u.node.index, c->u.node.value);
}

static void midi(rt_nodes *ns, const rt_cmd *c, uint64_t frame) {
  rt_midi_batch *b = c->u.ptr;
  int i = find(ns, b->node);
  rt_node *n;

  if (i < 0) {
    msg(ns, c, RT_MSG_ERROR, RT_ERR_UNKNOWN_NODE, frame, b->node, RT_MSG_SLOTS_PER_CMD, b);
    return;
  }
  if (b->nabs > 0 && b->ev[0].t < frame) {
    msg(ns, c, RT_MSG_ERROR, RT_ERR_LATE, frame, frame - b->ev[0].t, RT_MSG_SLOTS_PER_CMD, b);
    return;
  }
  n = ns->node[i];
  b->base = frame;
  b->iabs = b->irel = 0;
  b->queued = b->refused = 0;
  b->next = NULL;
  /* Appended at the tail: thousands of pending batches cost no walk. */
  if (n->tail == NULL)
    n->tail = &n->batches;
  *n->tail = b;
  n->tail = &b->next;
  /* One slot for this acknowledgement, one for RT_MSG_DONE. */
  msg(ns, c, RT_MSG_ACK, RT_ERR_NONE, frame, 0, 1, NULL);
}

static void evbuf(rt_nodes *ns, const rt_cmd *c, uint64_t frame) {
  int i = find(ns, c->u.node.id);
  void *old = c->u.node.buf;

  if (i >= 0)
    old = vst_rt_swap_events(ns->node[i]->inst, c->u.node.buf);
  msg(ns, c, RT_MSG_ACK, RT_ERR_NONE, frame, old == c->u.node.buf, RT_MSG_SLOTS_PER_CMD, old);
}

void nodes_apply(rt_nodes *ns, const rt_cmd *c, uint64_t frame) {
  switch (c->type) {
  case RT_CMD_NODE_ADD:
    add(ns, c);
    break;
  case RT_CMD_NODE_REMOVE:
    remove_node(ns, c, frame);
    break;
  case RT_CMD_PARAM:
    param(ns, c, frame);
    break;
  case RT_CMD_MIDI:
    midi(ns, c, frame);
    break;
  case RT_CMD_NODE_EVBUF:
    evbuf(ns, c, frame);
    break;
  default:
    break;
  }
}
