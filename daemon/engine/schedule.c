/* schedule.c - see schedule.h.
 *
 * One heap of entries ordered by frame: expiring is popping what has come
 * due.  A cancelled or refused entry stays in the heap, marked, until its
 * frame passes (lookups are linear over at most a queue's worth of entries
 * and are rare: an error, a list, a cancel). */
#include "daemon/engine/schedule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/queue/heap.h"
#include "daemon/rt/engine.h"
#include "protocol/wire.h"

typedef struct entry {
  uint64_t at;
  uint64_t req_id;
  uint32_t client;
  bool gone;          /* cancelled, or refused by the audio thread */
  char op[32];
} entry;

static minheap entries;
static uint64_t next_seq;

int schedule_init(void) {
  return minheap_init(&entries, ENGINE_TIMED_CAPACITY + ENGINE_RING_CAPACITY, sizeof(entry));
}

void schedule_free(void) {
  minheap_free(&entries);
}

/* A client's count goes down with its entries (if it is still here). */
static void release(sonod *d, entry *e) {
  client *c = client_find(d, e->client);

  e->gone = true;
  if (c != NULL && c->scheduled > 0)
    c->scheduled--;
}

bool schedule_has_room(sonod *d, client *c) {
  schedule_expire(d);
  return c->scheduled < SCHEDULE_SHARE;
}

void schedule_add(sonod *d, client *c, const rt_cmd *cmd, const char *op) {
  entry e;

  memset(&e, 0, sizeof e);
  e.at = cmd->at_kind == RT_AT_ABS ? cmd->at : engine_clock(&d->eng) + cmd->at;
  e.req_id = cmd->req_id;
  e.client = c->id;
  snprintf(e.op, sizeof e.op, "%s", op);
  /* Room is certain: the entries in the heap are the timed commands in
   * flight, which the queues bound (the caller checked the share). */
  if (minheap_push(&entries, (minheap_key){ e.at, next_seq++ }, &e) == 0)
    c->scheduled++;
}

/* The live entry of (client, req_id), or NULL. */
static entry *find(uint32_t client, uint64_t req_id) {
  for (size_t i = 0; i < minheap_len(&entries); i++) {
    entry *e = (entry *)minheap_item(&entries, i);

    if (!e->gone && e->client == client && e->req_id == req_id)
      return e;
  }
  return NULL;
}

void schedule_answered(sonod *d, const rt_msg *m) {
  entry *e;

  if (!m->timed || m->type != RT_MSG_ERROR)
    return;
  if ((e = find(m->client, m->req_id)) != NULL)
    release(d, e);
}

void schedule_expire(sonod *d) {
  uint64_t now = engine_clock(&d->eng);
  const entry *top;
  entry e;

  while ((top = minheap_peek(&entries)) != NULL && top->at < now) {
    minheap_pop(&entries, &e);
    if (!e.gone)
      release(d, &e);
  }
}

static int by_frame(const void *a, const void *b) {
  const entry *x = *(const entry *const *)a, *y = *(const entry *const *)b;

  if (x->at != y->at)
    return x->at < y->at ? -1 : 1;
  return x->req_id < y->req_id ? -1 : x->req_id > y->req_id;
}

void schedule_pack(sonod *d, client *c, msgpack_packer *pk) {
  const entry *mine[SCHEDULE_SHARE];
  size_t n = 0;

  schedule_expire(d);
  for (size_t i = 0; i < minheap_len(&entries) && n < SCHEDULE_SHARE; i++) {
    const entry *e = minheap_item(&entries, i);

    if (!e->gone && e->client == c->id)
      mine[n++] = e;
  }
  qsort(mine, n, sizeof mine[0], by_frame);
  msgpack_pack_array(pk, (uint32_t)n);
  for (size_t i = 0; i < n; i++) {
    msgpack_pack_map(pk, 3);
    sono_pack_key_uint(pk, "id", mine[i]->req_id);
    sono_pack_key_str(pk, "op", mine[i]->op);
    sono_pack_key_uint(pk, "at", mine[i]->at);
  }
}

unsigned schedule_forget(sonod *d, client *c, uint64_t req_id, bool all) {
  unsigned n = 0;

  schedule_expire(d);
  for (size_t i = 0; i < minheap_len(&entries); i++) {
    entry *e = (entry *)minheap_item(&entries, i);

    if (!e->gone && e->client == c->id && (all || e->req_id == req_id)) {
      release(d, e);
      n++;
    }
  }
  return n;
}
