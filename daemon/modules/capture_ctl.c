/* capture_ctl.c - streaming nodes' audio to clients (capture_ctl.h).
 *
 * capture.start allocates the capture and its ring here, on the control
 * thread, and hands it to the audio thread (RT_CMD_CAPTURE_START), which
 * copies the node's buffers into the ring at every block's end from the
 * block that takes the command; that block's first frame is the reply.
 * Every wake-up (the audio thread wakes the loop when it publishes a
 * record) drains the rings: each record becomes one `capture` event to
 * the capturing client, unless that client's unread output is already over
 * the capture's allowance (about as much audio as the ring holds): then
 * the record is dropped, counted, and reported with the next event sent.
 * A slow reader loses blocks; it never holds up the audio thread nor grows
 * the daemon's memory.  capture.stop (or the client leaving) takes the
 * capture out of the audio thread's table; its acknowledgement brings it
 * back with the partial last record published, whose events go out
 * before the reply. */
#include "daemon/modules/capture_ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/engine/engine_ctl.h"
#include "daemon/engine/module.h"
#include "daemon/net/client.h"
#include "daemon/net/events.h"
#include "daemon/net/reply.h"
#include "daemon/rt/capture.h"
#include "daemon/rt/graph.h"
#include "protocol/errors.h"
#include "protocol/wire.h"

typedef enum { CAP_FREE = 0, CAP_STARTING, CAP_RUNNING, CAP_STOPPING } cap_state;

typedef struct cap_ctl {
  cap_state st;
  rt_capture *rt;
  uint32_t client;          /* who captures */
  char node[16];            /* the node as events name it */
  uint64_t pending_drop;    /* frames dropped here or there, not yet reported */
  uint64_t ctl_dropped;     /* frames dropped here (the client too slow) */
  uint64_t sent;            /* frames sent in events */
  uint64_t last_end;        /* frame after the last record drained */
  size_t allowance;         /* the client's unread output past which records drop */
} cap_ctl;

static cap_ctl C[CAPTURE_MAX];
static uint32_t next_id = 1;

static void rt_free(rt_capture *c) {
  if (c == NULL)
    return;
  spsc_destroy(c->ring);
  free(c);
}

static rt_capture *rt_new(uint32_t id, uint32_t gid, bool inputs, unsigned channels,
                          unsigned block, size_t records) {
  rt_capture *c = aligned_alloc(64, (sizeof *c + 63) & ~(size_t)63);

  if (c == NULL)
    return NULL;
  memset(c, 0, sizeof *c);
  atomic_init(&c->dropped, 0);
  c->id = id;
  c->gid = gid;
  c->inputs = inputs;
  c->channels = channels;
  c->block = block;
  c->ring = spsc_create(records, sizeof(capture_hdr) + (size_t)channels * block * sizeof(float));
  if (c->ring == NULL) {
    free(c);
    return NULL;
  }
  return c;
}

static cap_ctl *find(uint32_t client_id, uint64_t id) {
  for (unsigned i = 0; i < CAPTURE_MAX; i++)
    if (C[i].st != CAP_FREE && C[i].client == client_id && C[i].rt->id == id)
      return &C[i];
  return NULL;
}

static cap_ctl *by_rt(const void *rt) {
  for (unsigned i = 0; i < CAPTURE_MAX; i++)
    if (C[i].st != CAP_FREE && C[i].rt == rt)
      return &C[i];
  return NULL;
}

/* One record as a `capture` event, or dropped when the client is behind. */
static void send_record(sonod *d, cap_ctl *k, capture_hdr *h) {
  rt_capture *c = k->rt;
  client *cl = client_find(d, k->client);
  msgpack_sbuffer sb;
  msgpack_packer pk;

  k->pending_drop += h->dropped;
  if (cl == NULL || cl->closing || client_backlog(cl) > k->allowance) {
    k->pending_drop += h->frames;
    k->ctl_dropped += h->frames;
    return;
  }
  events_begin(&sb, &pk, "capture", 7);
  /* `capture`, not `id`: events carry no id (PROTOCOL.md section 3). */
  sono_pack_key_uint(&pk, "capture", c->id);
  /* As status names nodes: "out", "in", "csound" or the numeric id. */
  if (c->gid >= GRAPH_ID_OUT)
    sono_pack_key_str(&pk, "node", k->node);
  else
    sono_pack_key_uint(&pk, "node", c->gid);
  sono_pack_key_uint(&pk, "frame", h->frame);
  sono_pack_key_uint(&pk, "frames", h->frames);
  sono_pack_key_uint(&pk, "channels", c->channels);
  sono_pack_cstr(&pk, "audio");
  sono_pack_audio(&pk, capture_data(c, h, 0), c->block, c->channels, h->frames);
  sono_pack_key_uint(&pk, "dropped", k->pending_drop);
  sono_msg_end(&sb);
  client_send(cl, &sb);
  k->pending_drop = 0;
  k->sent += h->frames;
}

/* Every record the audio thread has published. */
static void drain(sonod *d, cap_ctl *k) {
  spsc_ring *ring = k->rt->ring;
  size_t n = spsc_count(ring), i, pos = spsc_read_pos(ring);

  for (i = 0; i < n; i++) {
    capture_hdr *h = capture_hdr_at(k->rt, pos + i);

    send_record(d, k, h);
    k->last_end = h->frame + h->frames;
  }
  spsc_release(ring, n);
}

static int send_cmd(sonod *d, int type, cap_ctl *k, uint32_t client_id, uint64_t req_id) {
  rt_cmd cmd;

  memset(&cmd, 0, sizeof cmd);
  cmd.type = (uint16_t)type;
  cmd.at_kind = RT_AT_NOW;
  cmd.client = client_id;
  cmd.req_id = req_id;
  cmd.u.ptr = k->rt;
  return engine_ctl_push(d, &cmd);
}

static void forget(cap_ctl *k) {
  rt_free(k->rt);
  memset(k, 0, sizeof *k);
}

void capture_ctl_start(request *r, uint32_t gid, const char *label, bool inputs,
                       unsigned channels, unsigned block) {
  sonod *d = r->d;
  unsigned i, mine = 0, free_slot = CAPTURE_MAX;
  size_t records, want, per_record;
  cap_ctl *k;

  for (i = 0; i < CAPTURE_MAX; i++) {
    if (C[i].st == CAP_FREE && free_slot == CAPTURE_MAX)
      free_slot = i;
    if (C[i].st != CAP_FREE && C[i].client == r->c->id)
      mine++;
  }
  if (mine >= CAPTURE_PER_CLIENT) {
    reply_error(r->c, true, r->id, SONO_E_LIMIT,
                "capture.start: a connection may hold %d captures at once; stop one first",
                CAPTURE_PER_CLIENT);
    return;
  }
  if (free_slot == CAPTURE_MAX) {
    reply_error(r->c, true, r->id, SONO_E_LIMIT,
                "capture.start: %d captures are running (every client's); try later", CAPTURE_MAX);
    return;
  }
  /* About CAPTURE_RING_MS of audio, at least 4 records, and room for two
   * of the backend's periods (the offline backend waits for that much). */
  want = ((size_t)d->eng.sample_rate * CAPTURE_RING_MS / 1000 + block - 1) / block;
  if (want < 4)
    want = 4;
  if (want < 2 * (size_t)d->be->block_size / block + 4)
    want = 2 * (size_t)d->be->block_size / block + 4;
  for (records = 4; records < want; records *= 2)
    ;
  per_record = sizeof(capture_hdr) + (size_t)channels * block * sizeof(float);
  k = &C[free_slot];
  k->rt = rt_new(next_id, gid, inputs, channels, block, records);
  if (k->rt == NULL) {
    reply_error(r->c, true, r->id, SONO_E_INTERNAL, "capture.start: out of memory");
    memset(k, 0, sizeof *k);
    return;
  }
  next_id++;
  k->st = CAP_STARTING;
  k->client = r->c->id;
  snprintf(k->node, sizeof k->node, "%s", label);
  k->allowance = records * per_record;
  if (k->allowance < 64 * 1024)
    k->allowance = 64 * 1024;
  if (send_cmd(d, RT_CMD_CAPTURE_START, k, r->c->id, r->id) != 0) {
    reply_error(r->c, true, r->id, SONO_E_QUEUE_FULL,
                "capture.start: the queue to the audio thread is full; retry shortly");
    forget(k);
  }
}

void capture_ctl_stop(request *r, uint64_t id) {
  cap_ctl *k = find(r->c->id, id);

  if (k == NULL || k->st == CAP_STOPPING) {
    reply_error(r->c, true, r->id, SONO_E_UNKNOWN_CAPTURE,
                "capture.stop: this connection has no capture %llu%s", (unsigned long long)id,
                k != NULL ? " running (it is stopping)" : "");
    return;
  }
  if (send_cmd(r->d, RT_CMD_CAPTURE_STOP, k, r->c->id, r->id) != 0) {
    reply_error(r->c, true, r->id, SONO_E_QUEUE_FULL,
                "capture.stop: the queue to the audio thread is full; retry shortly");
    return;
  }
  k->st = CAP_STOPPING;
}

static bool capture_ctl_handles(const rt_msg *m) {
  return m->cmd_type == RT_CMD_CAPTURE_START || m->cmd_type == RT_CMD_CAPTURE_STOP;
}

static void reply_started(client *c, const rt_msg *m, const cap_ctl *k) {
  msgpack_sbuffer sb;
  msgpack_packer pk;

  reply_begin(&sb, &pk, m->req_id);
  msgpack_pack_map(&pk, 4);
  sono_pack_key_uint(&pk, "capture", k->rt->id);
  sono_pack_key_uint(&pk, "frame", m->frame);
  sono_pack_key_uint(&pk, "channels", k->rt->channels);
  sono_pack_key_uint(&pk, "frames", k->rt->block);
  reply_end(c, &sb);
}

static void reply_stopped(client *c, const rt_msg *m, const cap_ctl *k) {
  msgpack_sbuffer sb;
  msgpack_packer pk;

  reply_begin(&sb, &pk, m->req_id);
  msgpack_pack_map(&pk, 3);
  sono_pack_key_uint(&pk, "frame", m->frame);
  sono_pack_key_uint(&pk, "frames", k->sent);
  sono_pack_key_uint(&pk, "dropped",
                     atomic_load(&k->rt->dropped) + k->ctl_dropped);
  reply_end(c, &sb);
}

static void capture_ctl_msg(sonod *d, client *c, const rt_msg *m) {
  cap_ctl *k = by_rt(m->garbage);   /* every message carries its capture */

  if (m->cmd_type == RT_CMD_CAPTURE_START) {
    if (m->type == RT_MSG_ACK) {
      if (k == NULL)
        return;
      if (k->st == CAP_STARTING)
        k->st = CAP_RUNNING;   /* (a capture.stop may be on its way already) */
      k->last_end = m->frame;
      if (c != NULL)
        reply_started(c, m, k);
      return;
    }
    if (k != NULL) {
      if (c != NULL)
        reply_error(c, true, m->req_id, SONO_E_LIMIT,
                    "capture.start: the audio thread's table of %d captures is full",
                    CAPTURE_MAX);
      forget(k);
    }
    return;
  }
  /* RT_CMD_CAPTURE_STOP: the capture is back, its last record published. */
  if (k == NULL)
    return;
  drain(d, k);
  if (c != NULL)
    reply_stopped(c, m, k);
  forget(k);
}

/* Drains every running capture; a capture whose client left is stopped. */
static void capture_ctl_poll(sonod *d) {
  for (unsigned i = 0; i < CAPTURE_MAX; i++) {
    cap_ctl *k = &C[i];

    if (k->st != CAP_RUNNING && k->st != CAP_STOPPING)
      continue;
    drain(d, k);
    if (k->st == CAP_RUNNING && client_find(d, k->client) == NULL && !d->stopping &&
        send_cmd(d, RT_CMD_CAPTURE_STOP, k, 0, 0) == 0)
      k->st = CAP_STOPPING;
  }
}

/* The audio thread has stopped for good: every capture is ours again. */
static void capture_ctl_shutdown(sonod *d) {
  d->eng.caps.n = 0;
  for (unsigned i = 0; i < CAPTURE_MAX; i++)
    if (C[i].st != CAP_FREE)
      forget(&C[i]);
}

const engine_module capture_ctl_module = {
  .name = "capture",
  .handles = capture_ctl_handles,
  .msg = capture_ctl_msg,
  .poll = capture_ctl_poll,
  .shutdown = capture_ctl_shutdown,
};
