/* engine.c - AUDIO THREAD.  One engine cycle:
 *
 *   1. take every command the control thread sent, and queue it in the
 *      timed heap (or refuse it: late, or heap full);
 *   2. render Csound's block, then the routing graph and the tone in
 *      segments, applying each queued command at its exact frame between
 *      segments;
 *   3. advance the clock, publish figures, wake the control thread if there
 *      is anything for it.
 *
 * Nothing here allocates, frees, locks, waits, logs or does I/O; the one
 * system call is the wake-up (see ARCHITECTURE.md). */
#include "daemon/rt/engine.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/queue/fpu.h"
#include "daemon/rt/csound_rt.h"
#include "daemon/rt/rt_pool.h"
#include "daemon/rtcheck/rtcheck.h"

typedef struct cycle {
  engine *e;
  uint64_t start;     /* first frame of this block */
  unsigned nframes;
  bool said;          /* pushed anything to from_rt */
  uint64_t work_ns;   /* with the pool: Csound's and the graph's time */
} cycle;

/* The control side reserved room for every message a command can cause
 * (RT_MSG_SLOTS_PER_CMD), so this push cannot fail. */
static void say(cycle *cy, const rt_msg *m) {
  (void)spsc_push(cy->e->from_rt, m);
  cy->said = true;
}

static void reply(cycle *cy, const rt_cmd *c, rt_msg_type type, rt_err code,
                  uint64_t frame, uint64_t value, uint32_t release) {
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
  m.timed = c->at_kind != RT_AT_NOW;
  say(cy, &m);
}

/* Which commands may cause a notification after their acknowledgement. */
static bool notifies(const rt_cmd *c) {
  return c->type == RT_CMD_TONE;
}

/* Where requests for "now" take effect: the block's start, or where the
 * offline backend says the clock stands (engine.h). */
static uint64_t engine_now(engine *e, uint64_t start) {
  uint64_t stand = atomic_load_explicit(&e->stand, memory_order_relaxed);

  return stand > start ? stand : start;
}

/* Step 1: a command arrives from the ring.  Commands with a time are
 * acknowledged now, as queued; commands for "now" when they are applied, so
 * that a sync behind them is answered only after they took effect. */
static void receive(cycle *cy, rt_cmd *c) {
  engine *e = cy->e;
  uint32_t release_on_ack = notifies(c) ? 1 : RT_MSG_SLOTS_PER_CMD;
  uint64_t now = engine_now(e, cy->start);

  switch (c->at_kind) {
  case RT_AT_ABS:
    if (c->at < now) {
      reply(cy, c, RT_MSG_ERROR, RT_ERR_LATE, now, now - c->at, RT_MSG_SLOTS_PER_CMD);
      return;
    }
    break;
  case RT_AT_REL:
    c->at += now;
    break;
  default:
    c->at = now;
    break;
  }
  c->seq = e->seq++;
  /* Only timed requests can be refused: a command for "now" always has
   * room (ENGINE_HEAP_CAPACITY), so the push below cannot fail for it. */
  if ((c->at_kind != RT_AT_NOW && e->timed >= ENGINE_TIMED_CAPACITY) ||
      minheap_push(&e->heap, (minheap_key){ c->at, c->seq }, c) != 0) {
    reply(cy, c, RT_MSG_ERROR, RT_ERR_HEAP_FULL, cy->start, ENGINE_TIMED_CAPACITY,
          RT_MSG_SLOTS_PER_CMD);
    return;
  }
  if (c->at_kind != RT_AT_NOW) {
    e->timed++;
    reply(cy, c, RT_MSG_ACK, RT_ERR_NONE, c->at, 0, release_on_ack);
  }
}

/* schedule.cancel: takes the client's matching timed commands out of the
 * heap.  Scans from the end; a removal can move an unexamined node (from
 * nearer the root) into the removed place, so that place is looked at
 * again.  At most ENGINE_HEAP_CAPACITY looks plus a sift per removal. */
static void cancel(cycle *cy, const rt_cmd *c) {
  engine *e = cy->e;
  size_t i = minheap_len(&e->heap);
  uint32_t kept = 0, removed = 0;
  rt_cmd gone;

  while (i-- > 0) {
    const rt_cmd *x = minheap_item(&e->heap, i);

    if (x->at_kind == RT_AT_NOW || x->client != c->u.cancel.client ||
        (!c->u.cancel.all && x->req_id != c->u.cancel.req_id))
      continue;
    /* Timed commands carry no pointer: nothing to hand back but the
     * from_rt slot a tone kept for its notification. */
    minheap_remove(&e->heap, i, &gone);
    e->timed--;
    removed++;
    kept += notifies(&gone);
    if (i < minheap_len(&e->heap))
      i++;
  }
  /* The answer says how many were removed, and gives back the slots the
   * removed tones kept for their notifications. */
  reply(cy, c, RT_MSG_ACK, RT_ERR_NONE, cy->start, removed, RT_MSG_SLOTS_PER_CMD + kept);
}

/* Step 2: a command's frame has come. */
static void apply(cycle *cy, const rt_cmd *c, uint64_t frame) {
  engine *e = cy->e;
  rt_msg m;

  if (c->at_kind == RT_AT_NOW && !nodes_owns_reply(c) && c->type != RT_CMD_GRAPH_PLAN &&
      c->type != RT_CMD_MIDI_ROUTES && c->type != RT_CMD_RECORD_START &&
      c->type != RT_CMD_RECORD_STOP && c->type != RT_CMD_CANCEL &&
      c->type != RT_CMD_CAPTURE_START && c->type != RT_CMD_CAPTURE_STOP)
    reply(cy, c, RT_MSG_ACK, RT_ERR_NONE, frame, 0,
          notifies(c) ? 1 : RT_MSG_SLOTS_PER_CMD);

  switch (c->type) {
  case RT_CMD_TONE:
    if (c->u.tone.on)
      tone_start(&e->tone, c->u.tone.freq, c->u.tone.amp, c->u.tone.channel, e->sample_rate);
    else
      tone_stop(&e->tone);
    memset(&m, 0, sizeof m);
    m.type = RT_MSG_TONE;
    m.client = c->client;
    m.req_id = c->req_id;
    m.frame = frame;
    m.value = c->u.tone.on;
    m.fvalue = c->u.tone.freq;
    m.release = 1;
    m.cmd_type = c->type;
    say(cy, &m);
    break;
  case RT_CMD_SYNC:
    break;
  case RT_CMD_CANCEL:
    cancel(cy, c);
    break;
  case RT_CMD_GRAPH_PLAN: {
    rt_plan *old;

    /* The old plan's part of the current meter interval goes out first. */
    meter_rt_flush(&e->meters, e->graph.plan);
    old = graph_rt_swap(&e->graph, c->u.ptr);

    /* This ack gives back one slot; the other stays with the new plan for
     * its RT_MSG_GRAPH_SETTLED.  An old plan that never settled gives its
     * unused one back now. */
    memset(&m, 0, sizeof m);
    m.type = RT_MSG_ACK;
    m.client = c->client;
    m.req_id = c->req_id;
    m.frame = frame;
    m.release = 1 + (old != NULL && !old->settled ? 1 : 0);
    m.cmd_type = c->type;
    m.garbage = old;
    say(cy, &m);
    break;
  }
  case RT_CMD_GRAPH_GAIN:
    graph_rt_set_gain(&e->graph, c->u.node.id, c->u.node.value);
    break;
  case RT_CMD_TRANSPORT: {
    vst_transport t;

    xport_apply(&e->xport, c->u.xport.mask, c->u.xport.tempo, c->u.xport.num, c->u.xport.den,
                c->u.xport.playing != 0, (uint64_t)c->u.xport.frame, c->u.xport.follow != 0,
                frame);
    /* Plugins see the change from the segment that starts here. */
    xport_vst(&e->xport, frame, e->sample_rate, &t);
    nodes_transport(&e->nodes, &t);
    break;
  }
  case RT_CMD_MIDI_ROUTES:
    /* The old table goes back to be freed on the control side; storing
     * the function's address is not a call. */
    memset(&m, 0, sizeof m);
    m.type = RT_MSG_ACK;
    m.client = c->client;
    m.req_id = c->req_id;
    m.frame = frame;
    m.release = RT_MSG_SLOTS_PER_CMD;
    m.cmd_type = c->type;
    m.garbage = e->routes;
    m.garbage_free = free;
    e->routes = c->u.ptr;
    e->nodes.routes = e->routes;
    say(cy, &m);
    break;
  case RT_CMD_RECORD_START: {
    rt_rec *r = c->u.ptr;

    if (e->rec != NULL) {
      /* The control side allows one recording at a time; should one
       * still be here, the new ring goes back unused. */
      memset(&m, 0, sizeof m);
      m.type = RT_MSG_ERROR;
      m.code = RT_ERR_BUSY;
      m.client = c->client;
      m.req_id = c->req_id;
      m.frame = frame;
      m.release = RT_MSG_SLOTS_PER_CMD;
      m.cmd_type = c->type;
      m.garbage = r;
      say(cy, &m);
      break;
    }
    r->start = frame;
    r->stop = REC_RUNNING;
    e->rec = r;
    reply(cy, c, RT_MSG_ACK, RT_ERR_NONE, frame, 0, RT_MSG_SLOTS_PER_CMD);
    break;
  }
  case RT_CMD_RECORD_STOP:
    if (e->rec == NULL || e->rec->stop != REC_RUNNING) {
      reply(cy, c, RT_MSG_ACK, RT_ERR_NONE, frame, 0, RT_MSG_SLOTS_PER_CMD);
      break;
    }
    /* The frames of this block before `frame` are still to be copied:
     * the ring goes back at the block's end (rec_finish). */
    e->rec->stop = frame;
    e->rec->stop_client = c->client;
    e->rec->stop_req = c->req_id;
    break;
  case RT_CMD_CAPTURE_START:
  case RT_CMD_CAPTURE_STOP: {
    bool start = c->type == RT_CMD_CAPTURE_START;
    bool done = start ? capture_rt_add(&e->caps, c->u.ptr) : capture_rt_remove(&e->caps, c->u.ptr);

    memset(&m, 0, sizeof m);
    m.type = start && !done ? RT_MSG_ERROR : RT_MSG_ACK;
    m.code = start && !done ? RT_ERR_BUSY : RT_ERR_NONE;
    m.client = c->client;
    m.req_id = c->req_id;
    m.frame = frame;
    m.value = done;
    m.release = RT_MSG_SLOTS_PER_CMD;
    m.cmd_type = c->type;
    /* The capture itself, to find it by (garbage_free NULL: capture_ctl
     * frees it once it is back). */
    m.garbage = c->u.ptr;
    say(cy, &m);
    break;
  }
  default:
    nodes_apply(&e->nodes, c, frame);
    break;
  }
}

/* The block's end: copy the final output of the recorded frames, and hand
 * a stopped recording back with record.stop's acknowledgement. */
static void rec_block(cycle *cy, float *const *out, unsigned nchannels, unsigned nframes) {
  rt_rec *r = cy->e->rec;
  uint64_t a, b;
  rt_msg m;

  if (r == NULL)
    return;
  a = r->start > cy->start ? r->start : cy->start;
  b = cy->start + nframes;
  if (r->stop < b)
    b = r->stop;
  if (b > a)
    rec_rt_write(r, out, nchannels, (unsigned)(a - cy->start), (unsigned)(b - cy->start));
  if (r->stop == REC_RUNNING)
    return;
  memset(&m, 0, sizeof m);
  m.type = RT_MSG_ACK;
  m.client = r->stop_client;
  m.req_id = r->stop_req;
  m.frame = r->stop;
  m.release = RT_MSG_SLOTS_PER_CMD;
  m.cmd_type = RT_CMD_RECORD_STOP;
  m.garbage = r;   /* garbage_free NULL: record_ctl finishes the file with it */
  say(cy, &m);
  cy->e->rec = NULL;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void publish(engine *e, uint64_t start, unsigned nframes, uint64_t t0) {
  uint64_t spent = now_ns() - t0;
  uint64_t period = (uint64_t)nframes * 1000000000u / (e->sample_rate ? e->sample_rate : 1);
  uint32_t ppm = period ? (uint32_t)(spent * 1000000u / period) : 0;

  atomic_store_explicit(&e->pub_frame, start, memory_order_relaxed);
  atomic_store_explicit(&e->pub_block, nframes, memory_order_relaxed);
  atomic_store_explicit(&e->pub_load_ppm, ppm, memory_order_relaxed);
  if (ppm > atomic_load_explicit(&e->pub_load_max_ppm, memory_order_relaxed))
    atomic_store_explicit(&e->pub_load_max_ppm, ppm, memory_order_relaxed);
  atomic_store_explicit(&e->pub_heap_used, e->timed, memory_order_relaxed);
  atomic_fetch_add_explicit(&e->pub_cycles, 1, memory_order_release);
}

/* Csound's block (all of it, its own commands timed inside): a source for
 * the graph's segments.  It reads the backend's inputs directly
 * (spin/inch).  Before the first segment; with the pool in the first
 * segment, beside the nodes that do not need it. */
static void csound_block(void *arg) {
  cycle *cy = arg;
  engine *e = cy->e;
  uint64_t tc = rt_now_ns(), spent;

  if (csound_rt_process(e->csound, e->in, e->nin, cy->nframes))
    cy->said = true;
  spent = rt_now_ns() - tc;
  meter_rt_add_time(&e->graph, GRAPH_ID_CSOUND, spent);
  cy->work_ns += spent;
}

void engine_process(engine *e, float *const *out, unsigned nchannels, unsigned nframes) {
  cycle cy = { e, e->frame, nframes, false, 0 };
  /* With the worker pool: whether this block renders in parallel, and
   * then Csound's block goes with the first segment. */
  bool par = e->pool != NULL &&
             rt_pool_cycle_begin(e->pool, e->graph.plan, e->csound != NULL, nframes);
  bool cs_pending = par && e->csound != NULL;
  vst_transport tr;
  uint64_t t0;
  unsigned ch, pos = 0;
  rt_cmd c;
  rt_msg m;

  RT_CYCLE_BEGIN();
  rt_fpu_flush_denormals();
  t0 = now_ns();

  while (spsc_pop(e->to_rt, &c) == 0)
    receive(&cy, &c);

  for (ch = 0; ch < nchannels; ch++)
    memset(out[ch], 0, nframes * sizeof(float));
  /* Following JACK's transport: it is the truth at the block's start. */
  xport_follow(&e->xport, &e->ext, cy.start);
  xport_vst(&e->xport, cy.start, e->sample_rate, &tr);
  e->nodes.live = e->live;
  e->nodes.nlive = e->nlive;
  e->nodes.routes = e->routes;
  /* The block's notes reach Csound's voice pools before it renders the
   * block: started and stopped at their own frames, in this block. */
  if (e->csound != NULL)
    csound_rt_midi(e->csound, e->live, e->nlive);
  e->nodes.sample_rate = e->sample_rate;
  nodes_begin(&e->nodes, cy.start, nframes, &tr);
  e->graph.in = e->in;
  e->graph.nin = e->nin;
  e->graph.metering = atomic_load_explicit(&e->meters.period, memory_order_relaxed) != 0;
  if (e->csound != NULL && !cs_pending)
    csound_block(&cy);

  /* Commands due at the block's end are applied now rather than at the
   * start of the next block: the same frame either way.  A cycle of zero
   * frames thus applies what is due without advancing the clock. */
  for (;;) {
    const rt_cmd *next = minheap_peek(&e->heap);
    unsigned seg_end = nframes;

    if (next != NULL && next->at <= cy.start + pos) {
      minheap_pop(&e->heap, &c);
      if (c.at_kind != RT_AT_NOW)
        e->timed--;
      apply(&cy, &c, cy.start + pos);
      continue;
    }
    if (pos >= nframes)
      break;
    if (next != NULL && next->at < cy.start + nframes)
      seg_end = (unsigned)(next->at - cy.start);
    /* Every node renders up to the command's frame: every command is
     * sample-exact, and a plugin's parameter change finds its inputs
     * rendered up to the frame too. */
    if (e->pool == NULL)
      graph_rt_render(&e->graph, &e->nodes, out, nchannels, pos, seg_end);
    else if (par) {
      rt_pool_render(e->pool, &e->graph, &e->nodes, out, nchannels, pos, seg_end,
                     cs_pending ? csound_block : NULL, &cy);
      cs_pending = false;
    } else {
      uint64_t tg = rt_now_ns();

      graph_rt_render(&e->graph, &e->nodes, out, nchannels, pos, seg_end);
      cy.work_ns += rt_now_ns() - tg;
    }
    tone_render(&e->tone, out, nchannels, pos, seg_end);
    pos = seg_end;
  }

  if (graph_rt_settled_now(&e->graph)) {
    memset(&m, 0, sizeof m);
    m.type = RT_MSG_GRAPH_SETTLED;
    m.cmd_type = RT_CMD_GRAPH_PLAN;
    m.frame = cy.start + nframes;
    m.value = e->graph.plan->gen;
    m.release = 1;
    say(&cy, &m);
  }
  if (e->nodes.said) {
    cy.said = true;
    e->nodes.said = false;
  }

  if (cs_pending)
    csound_block(&cy);   /* no segment was rendered (cannot happen with frames) */
  if (e->pool != NULL)
    rt_pool_cycle_end(e->pool, e->graph.plan, nframes, e->sample_rate, cy.work_ns);

  rec_block(&cy, out, nchannels, nframes);
  if (e->caps.n > 0 && capture_rt_block(&e->caps, e->graph.plan, out, nchannels, nframes, cy.start))
    cy.said = true;
  meter_rt_block(&e->meters, &e->graph, out, nchannels, nframes, cy.start + nframes,
                 e->sample_rate);
  e->frame += nframes;
  xport_publish(&e->xport, &e->pub_xport, e->frame);
  /* The backend sets these afresh every cycle; none carries over. */
  e->in = NULL;
  e->nin = 0;
  e->live = NULL;
  e->nlive = 0;
  e->ext.valid = false;
  e->nodes.live = NULL;
  e->nodes.nlive = 0;
  e->graph.in = NULL;
  e->graph.nin = 0;
  publish(e, cy.start, nframes, t0);
  if (cy.said && e->wake) {
    RT_SYSCALL_BEGIN();   /* the one system call (ARCHITECTURE.md) */
    e->wake(e->wake_ctx);
    RT_SYSCALL_END();
  }
  RT_CYCLE_END();
}
