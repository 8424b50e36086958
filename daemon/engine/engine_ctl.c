/* engine_ctl.c - commands out, acknowledgements and notifications in.
 *
 * Flow control: from_rt has room for RT_MSG_SLOTS_PER_CMD messages per
 * command that can be in flight (in to_rt or in the heap).  Each command
 * reserves its slots here when sent; each message gives back the number it
 * carries in `release`.  So the audio thread never finds from_rt full, and
 * nothing it says is lost. */
#include "daemon/engine/engine_ctl.h"

#include <stdlib.h>

#include "daemon/backend/backend.h"
#include "daemon/base/log.h"
#include "daemon/engine/module.h"
#include "daemon/engine/schedule.h"
#include "daemon/net/client.h"
#include "daemon/net/events.h"
#include "daemon/net/reply.h"
#include "protocol/errors.h"
#include "protocol/wire.h"

uint64_t engine_ctl_now(const sonod *d) {
  return engine_clock(&d->eng);
}

int engine_ctl_push(sonod *d, rt_cmd *cmd) {
  engine *e = &d->eng;

  if (d->reserved + RT_MSG_SLOTS_PER_CMD > spsc_capacity(e->from_rt) ||
      spsc_push(e->to_rt, cmd) != 0)
    return -1;
  d->reserved += RT_MSG_SLOTS_PER_CMD;
  if (d->be->ops->kick != NULL)
    d->be->ops->kick(d->be);
  return 0;
}

int engine_ctl_send(request *r, rt_cmd *cmd) {
  bool timed = cmd->at_kind != RT_AT_NOW;

  cmd->client = r->c->id;
  cmd->req_id = r->id;
  if (timed && !schedule_has_room(r->d, r->c)) {
    reply_error(r->c, true, r->id, SONO_E_HEAP_FULL,
                "%s: this connection has %u timed requests waiting, its share of the audio "
                "thread's queue; cancel some (schedule.cancel) or wait for them", r->op,
                SCHEDULE_SHARE);
    return -1;
  }
  if (engine_ctl_push(r->d, cmd) != 0) {
    reply_error(r->c, true, r->id, SONO_E_QUEUE_FULL,
                "%s: the queue to the audio thread is full (%zu commands); retry shortly",
                r->op, spsc_capacity(r->d->eng.to_rt));
    return -1;
  }
  if (timed)
    schedule_add(r->d, r->c, cmd, r->op);
  return 0;
}

static void error_reply(client *c, const rt_msg *m, double sample_rate) {
  switch (m->code) {
  case RT_ERR_LATE:
    reply_error(c, true, m->req_id, SONO_E_LATE,
                "requested time is %llu frames (%.3f ms) in the past; the engine was at frame %llu",
                (unsigned long long)m->value, (double)m->value * 1000.0 / sample_rate,
                (unsigned long long)m->frame);
    break;
  case RT_ERR_HEAP_FULL:
    reply_error(c, true, m->req_id, SONO_E_HEAP_FULL,
                "the audio thread's queue of timed requests is full (%llu entries)",
                (unsigned long long)m->value);
    break;
  case RT_ERR_UNKNOWN_NODE:
    reply_error(c, true, m->req_id, SONO_E_UNKNOWN_NODE, "node %llu was unloaded",
                (unsigned long long)m->value);
    break;
  default:
    reply_error(c, true, m->req_id, SONO_E_INTERNAL, "audio thread error %u", m->code);
    break;
  }
}

/* schedule.cancel's answer: how many timed requests were taken out. */
static void cancelled_reply(client *c, const rt_msg *m) {
  msgpack_sbuffer sb;
  msgpack_packer pk;

  reply_begin(&sb, &pk, m->req_id);
  msgpack_pack_map(&pk, 2);
  sono_pack_key_uint(&pk, "cancelled", m->value);
  sono_pack_key_uint(&pk, "frame", m->frame);
  reply_end(c, &sb);
}

static void tone_event(sonod *d, const rt_msg *m) {
  msgpack_sbuffer sb;
  msgpack_packer pk;

  events_begin(&sb, &pk, "tone", 3);
  sono_pack_key_bool(&pk, "on", m->value != 0);
  sono_pack_key_uint(&pk, "frame", m->frame);
  sono_pack_key_double(&pk, "freq", m->fvalue);
  events_emit(d, EV_TONE, &sb);
}

int engine_ctl_register(sonod *d, const engine_module *m) {
  if (d->nmodules == SONOD_MODULES_MAX)
    return -1;
  d->modules[d->nmodules++] = m;
  return 0;
}

static void handle(sonod *d, const rt_msg *m) {
  client *c = m->client ? client_find(d, m->client) : NULL;

  schedule_answered(d, m);
  if (m->cmd_type == RT_CMD_CANCEL) {
    if (c != NULL)
      cancelled_reply(c, m);
    return;
  }

  for (unsigned i = 0; i < d->nmodules; i++) {
    const engine_module *mod = d->modules[i];

    if (mod->handles != NULL && mod->handles(m)) {
      mod->msg(d, c, m);
      return;
    }
  }
  switch (m->type) {
  case RT_MSG_ACK:
    if (c != NULL)
      reply_ok_frame(c, m->req_id, m->frame);
    break;
  case RT_MSG_ERROR:
    if (c != NULL)
      error_reply(c, m, d->eng.sample_rate);
    break;
  case RT_MSG_TONE:
    tone_event(d, m);
    break;
  default:
    log_error("unknown message %u from the audio thread", m->type);
    break;
  }
}

void engine_ctl_drain(sonod *d) {
  rt_msg m;

  while (spsc_pop(d->eng.from_rt, &m) == 0) {
    d->reserved -= m.release;
    handle(d, &m);
    if (m.garbage != NULL && m.garbage_free != NULL)
      m.garbage_free(m.garbage);
  }
  /* Module news (meter events...) before whatever the backend answers
   * next (a render). */
  for (unsigned i = 0; i < d->nmodules; i++)
    if (d->modules[i]->poll != NULL)
      d->modules[i]->poll(d);
}

/* A command the audio thread never took, at shutdown: what it carries is
 * freed by whoever made it.  The MIDI routing table is the engine's own
 * (engine.c swaps it in, engine_destroy frees the one in place). */
static void drop_cmd(sonod *d, const rt_cmd *cmd) {
  if (cmd->type == RT_CMD_MIDI_ROUTES)
    free(cmd->u.ptr);
  for (unsigned i = 0; i < d->nmodules; i++)
    if (d->modules[i]->drop_cmd != NULL)
      d->modules[i]->drop_cmd(d, cmd);
}

static void abandon(sonod *d, const rt_cmd *cmd) {
  client *c = client_find(d, cmd->client);

  if (c != NULL)
    reply_error(c, true, cmd->req_id, SONO_E_SHUTTING_DOWN,
                "the daemon stopped before this request took effect");
}

void engine_ctl_abandon(sonod *d) {
  engine *e = &d->eng;
  rt_cmd cmd;

  engine_ctl_drain(d);
  /* Commands in the heap were acknowledged as queued when they arrived;
   * only those the audio thread never read are still owed a reply. */
  while (spsc_pop(e->to_rt, &cmd) == 0) {
    abandon(d, &cmd);
    drop_cmd(d, &cmd);
  }
  while (minheap_pop(&e->heap, &cmd) == 0)
    drop_cmd(d, &cmd);
  e->timed = 0;
  d->reserved = 0;
  for (unsigned i = 0; i < d->nmodules; i++)
    if (d->modules[i]->shutdown != NULL)
      d->modules[i]->shutdown(d);
}

/* The backend's news, fanned out to the modules that asked for it.  A
 * re-prepare ends when every module's has: one tally per request. */
typedef struct reprepare_fan {
  unsigned left, prepared, failed;
  reprepare_done_fn done;
  void *arg;
} reprepare_fan;

static void fan_one(sonod *d, void *arg, unsigned prepared, unsigned failed) {
  reprepare_fan *f = arg;

  f->prepared += prepared;
  f->failed += failed;
  if (--f->left > 0)
    return;
  f->done(d, f->arg, f->prepared, f->failed);
  free(f);
}

static void hook_reprepare(sonod *d, unsigned block, bool (*in_time)(void *), void *ctx,
                           reprepare_done_fn done, void *arg) {
  reprepare_fan *f = calloc(1, sizeof *f);

  if (f == NULL) {
    log_error("engine: out of memory: nothing is re-prepared for %u frames (split instead)",
              block);
    done(d, arg, 0, 0);
    return;
  }
  f->left = 1;   /* this call's own, dropped below */
  f->done = done;
  f->arg = arg;
  for (unsigned i = 0; i < d->nmodules; i++)
    if (d->modules[i]->reprepare != NULL) {
      f->left++;
      d->modules[i]->reprepare(d, block, in_time, ctx, fan_one, f);
    }
  fan_one(d, f, 0, 0);
}

static void hook_freewheel(sonod *d, bool on) {
  for (unsigned i = 0; i < d->nmodules; i++)
    if (d->modules[i]->freewheel != NULL)
      d->modules[i]->freewheel(d, on);
}

const backend_hooks *engine_ctl_backend_hooks(void) {
  static const backend_hooks hooks = {
    .reprepare = hook_reprepare,
    .freewheel = hook_freewheel,
    .drain = engine_ctl_drain,
  };

  return &hooks;
}
