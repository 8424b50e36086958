/* ops_core.c - session-level operations: hello, ping, status, sync,
 * subscriptions, shutdown. */
#include <sched.h>
#include <string.h>

#include "daemon/net/auth.h"
#include "daemon/backend/backend.h"
#include "daemon/csound/cs_engine.h"
#include "daemon/modules/csound_ctl.h"
#include "daemon/engine/engine_ctl.h"
#include "daemon/net/events.h"
#include "daemon/modules/meter_ctl.h"
#include "daemon/modules/midi_cs.h"
#include "daemon/ops/ops.h"
#include "daemon/modules/plugin_ctl.h"
#include "daemon/net/reply.h"
#include "daemon/rt/rt_pool.h"
#include "protocol/errors.h"
#include "protocol/frame.h"
#include "protocol/wire.h"

void op_hello(request *r) {
  sonod *d = r->d;
  uint64_t version = SONO_PROTOCOL_VERSION;
  const char *name = NULL;
  size_t namelen = 0;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  uint32_t ncaps = 1;

  /* The token first: a stranger gets no other answer. */
  if (!r->c->authed && !auth_check_hello(r))
    return;
  if (!arg_uint(r, "version", false, &version) || !arg_str(r, "name", false, &name, &namelen))
    return;
  if (version != SONO_PROTOCOL_VERSION) {
    reply_error(r->c, true, r->id, SONO_E_UNSUPPORTED_VERSION,
                "hello: this server speaks protocol version %d, not %llu",
                SONO_PROTOCOL_VERSION, (unsigned long long)version);
    return;
  }
  auth_grant(r->c);
  if (name != NULL) {
    if (namelen >= sizeof r->c->name)
      namelen = sizeof r->c->name - 1;
    /* The others learn the name (their `connected` event, sent when the
     * connection was accepted, could not carry it). */
    if (namelen != strlen(r->c->name) || memcmp(r->c->name, name, namelen) != 0) {
      memcpy(r->c->name, name, namelen);
      r->c->name[namelen] = '\0';
      events_client(d, r->c, "named");
    }
  }

  reply_begin(&sb, &pk, r->id);
  msgpack_pack_map(&pk, 9);
  sono_pack_key_uint(&pk, "protocol", SONO_PROTOCOL_VERSION);
  sono_pack_key_str(&pk, "server", "sonod " SONOD_VERSION);
  sono_pack_key_uint(&pk, "client", r->c->id);
  sono_pack_cstr(&pk, "capabilities");
  if (d->be->ops->render != NULL)
    ncaps++;
  if (d->tcp_open)
    ncaps++;
  msgpack_pack_array(&pk, ncaps);
  sono_pack_cstr(&pk, "tone");
  if (d->be->ops->render != NULL)
    sono_pack_cstr(&pk, "render");
  if (d->tcp_open)
    sono_pack_cstr(&pk, "tcp");
  sono_pack_key_uint(&pk, "max_frame", SONO_FRAME_MAX);
  sono_pack_key_str(&pk, "backend", d->be->ops->name);
  sono_pack_key_uint(&pk, "sample_rate", d->eng.sample_rate);
  sono_pack_key_uint(&pk, "block_size", d->be->block_size);
  sono_pack_key_uint(&pk, "channels", d->opt.channels);
  reply_end(r->c, &sb);
}

void op_ping(request *r) {
  const msgpack_object *data = sono_map_get(r->args, "data");
  msgpack_sbuffer sb;
  msgpack_packer pk;

  reply_begin(&sb, &pk, r->id);
  msgpack_pack_map(&pk, 1);
  sono_pack_cstr(&pk, "data");
  if (data != NULL)
    msgpack_pack_object(&pk, *data);
  else
    msgpack_pack_nil(&pk);
  reply_end(r->c, &sb);
}

/* The worker pool's threads (rt/rt_pool.h): how each is scheduled, and
 * its share of the last block. */
static void pack_workers(rt_pool *pl, msgpack_packer *pk) {
  unsigned n = pl != NULL ? rt_pool_workers(pl) : 0, k;

  msgpack_pack_array(pk, n);
  for (k = 1; k <= n; k++) {
    rt_pool_stat st;

    rt_pool_stat_get(pl, k, &st);
    msgpack_pack_map(pk, 7);
    sono_pack_key_uint(pk, "worker", k);
    sono_pack_key_str(pk, "policy", st.policy == SCHED_FIFO ? "fifo" : "other");
    sono_pack_key_uint(pk, "priority", (uint64_t)st.priority);
    sono_pack_key_uint(pk, "stack_locked", st.locked);
    sono_pack_key_double(pk, "busy", st.busy_ppm / 1e6);
    sono_pack_key_double(pk, "busy_max", st.busy_max_ppm / 1e6);
    sono_pack_key_uint(pk, "nodes", st.nodes);
  }
}

void op_status(request *r) {
  sonod *d = r->d;
  engine *e = &d->eng;
  /* The clock: the end of the last block, or where an offline render
   * stopped (its reply's frame), as transport.get's engine_frame. */
  uint64_t frame = engine_ctl_now(d);
  uint32_t load = atomic_load(&e->pub_load_ppm);
  uint32_t load_max = atomic_exchange(&e->pub_load_max_ppm, 0);
  msgpack_sbuffer sb;
  msgpack_packer pk;
  unsigned cap = 0, play = 0;

  if (d->be->ops->latency != NULL)
    d->be->ops->latency(d->be, &cap, &play);
  reply_begin(&sb, &pk, r->id);
  msgpack_pack_map(&pk, 26);
  sono_pack_key_str(&pk, "backend", d->be->ops->name);
  sono_pack_key_str(&pk, "state", d->be->state);
  sono_pack_key_uint(&pk, "sample_rate", e->sample_rate);
  sono_pack_key_uint(&pk, "block_size", d->be->block_size);
  sono_pack_key_uint(&pk, "channels", d->opt.channels);
  sono_pack_key_uint(&pk, "frame", frame);
  sono_pack_key_double(&pk, "seconds", (double)frame / e->sample_rate);
  sono_pack_key_double(&pk, "dsp_load", load / 1e6);
  sono_pack_key_double(&pk, "dsp_load_max", (load_max > load ? load_max : load) / 1e6);
  sono_pack_cstr(&pk, "nodes");
  meter_ctl_pack_loads(d, &pk);
  sono_pack_cstr(&pk, "workers");
  pack_workers(e->pool, &pk);
  sono_pack_key_uint(&pk, "parallel_cycles",
                     e->pool != NULL ? rt_pool_parallel_cycles(e->pool) : 0);
  sono_pack_cstr(&pk, "plugins");
  plugin_ctl_pack_prepared(&pk);
  sono_pack_cstr(&pk, "latency");
  msgpack_pack_map(&pk, 2);
  sono_pack_key_uint(&pk, "capture", cap);
  sono_pack_key_uint(&pk, "playback", play);
  sono_pack_cstr(&pk, "transport");
  transport_pack(d, &pk, false);
  sono_pack_cstr(&pk, "midi_csound");
  midi_cs_pack_stats(&pk);
  sono_pack_key_uint(&pk, "csound_input_delay",
                     csound_ctl_engine() != NULL ? cs_engine_input_delay(csound_ctl_engine()) : 0);
  sono_pack_key_uint(&pk, "csound_exits",
                     csound_ctl_engine() != NULL ? cs_engine_exits(csound_ctl_engine(), NULL) : 0);
  sono_pack_key_uint(&pk, "csound_score_over",
                     csound_ctl_engine() != NULL ? cs_engine_score_over(csound_ctl_engine(), NULL)
                                                 : 0);
  sono_pack_key_uint(&pk, "csound_score_spread",
                     csound_ctl_engine() != NULL
                         ? cs_engine_score_spread(csound_ctl_engine(), NULL)
                         : 0);
  sono_pack_key_uint(&pk, "xruns", atomic_load(&d->be->xruns));
  sono_pack_key_uint(&pk, "midi_out_dropped", atomic_load(&d->be->midi_out_dropped));
  sono_pack_key_uint(&pk, "clients", d->nclients);
  sono_pack_key_double(&pk, "uptime", (double)(sonod_now_ns() - d->started_ns) / 1e9);
  sono_pack_key_uint(&pk, "heap_used", atomic_load(&e->pub_heap_used));
  sono_pack_key_uint(&pk, "heap_capacity", ENGINE_TIMED_CAPACITY);
  reply_end(r->c, &sb);
}

void op_sync(request *r) {
  rt_cmd cmd;

  memset(&cmd, 0, sizeof cmd);
  cmd.type = RT_CMD_SYNC;
  cmd.at_kind = RT_AT_NOW;
  engine_ctl_send(r, &cmd);
}

/* Reads the "events" array; replies unknown_event and returns false if any
 * name is not a kind, so a bad request changes nothing. */
static bool read_kinds(request *r, uint32_t *mask) {
  const msgpack_object_array *arr;
  uint32_t i;

  *mask = 0;
  if (!arg_array(r, "events", true, &arr))
    return false;
  for (i = 0; i < arr->size; i++) {
    uint32_t k;
    if (arr->ptr[i].type != MSGPACK_OBJECT_STR) {
      reply_error(r->c, true, r->id, SONO_E_BAD_TYPE, "%s: 'events' must hold strings", r->op);
      return false;
    }
    k = event_kind_parse(&arr->ptr[i]);
    if (k == 0) {
      reply_error(r->c, true, r->id, SONO_E_UNKNOWN_EVENT, "%s: unknown event kind '%.*s'",
                  r->op, (int)(arr->ptr[i].via.str.size > 64 ? 64 : arr->ptr[i].via.str.size),
                  arr->ptr[i].via.str.ptr);
      return false;
    }
    *mask |= k;
  }
  return true;
}

static void reply_kinds(request *r) {
  msgpack_sbuffer sb;
  msgpack_packer pk;

  reply_begin(&sb, &pk, r->id);
  msgpack_pack_map(&pk, 1);
  sono_pack_cstr(&pk, "events");
  event_kinds_pack(&pk, r->c->events);
  reply_end(r->c, &sb);
}

void op_subscribe(request *r) {
  uint32_t mask;

  if (!read_kinds(r, &mask))
    return;
  r->c->events |= mask;
  reply_kinds(r);
}

void op_unsubscribe(request *r) {
  uint32_t mask;

  if (!read_kinds(r, &mask))
    return;
  r->c->events &= ~mask;
  reply_kinds(r);
}

void op_shutdown(request *r) {
  reply_ok_empty(r->c, r->id);
  sonod_shutdown(r->d, "a client asked for shutdown");
}
