/* ops_plugin_state.c - plugin.state.get / plugin.state.set: a plugin's
 * state, whole or in pages (PROTOCOL.md); the pieces of a state being set
 * are gathered by the plugin module (plugin_ctl_piece).  The calls into
 * the plugin (effGetChunk, effSetChunk) run off the loop with a deadline
 * (modules/plugin_call.c). */
#include <stdlib.h>
#include <string.h>

#include "daemon/modules/plugin_call.h"
#include "daemon/modules/plugin_ctl.h"
#include "daemon/net/reply.h"
#include "daemon/ops/ops.h"
#include "daemon/ops/plugin_job.h"
#include "daemon/session/session.h"
#include "protocol/errors.h"
#include "protocol/wire.h"

static void state_get_fn(void *arg) {
  plugin_job *j = arg;

  j->rc = vst_state_get(j->inst, &j->data, &j->len, &j->kind, j->err);
}

static void state_get_reply(client *c, const plugin_job *j) {
  size_t part;
  msgpack_sbuffer sb;
  msgpack_packer pk;

  if (j->rc != VST_OK) {
    reply_error(c, true, j->id, SONO_E_NOT_SUPPORTED, "plugin.state.get: %s", j->err);
    return;
  }
  if (!j->paged && j->len > SONO_STATE_WHOLE_MAX) {
    reply_error(c, true, j->id, SONO_E_REPLY_TOO_LARGE,
                "plugin.state.get: the state is %zu bytes, over the %u one reply holds: ask for "
                "it in pages (offset, length)", j->len, SONO_STATE_WHOLE_MAX);
    return;
  }
  if (j->offset > j->len) {
    reply_error(c, true, j->id, SONO_E_BAD_VALUE,
                "plugin.state.get: 'offset' %llu is past the state's %zu bytes",
                (unsigned long long)j->offset, j->len);
    return;
  }
  part = j->len - j->offset;
  if (j->paged && part > j->length)
    part = j->length;
  if (j->paged && part > SONO_STATE_PAGE_MAX)
    part = SONO_STATE_PAGE_MAX;
  reply_begin(&sb, &pk, j->id);
  msgpack_pack_map(&pk, 4);
  sono_pack_cstr(&pk, "data");
  msgpack_pack_bin(&pk, part);
  msgpack_pack_bin_body(&pk, (const char *)j->data + j->offset, part);
  sono_pack_key_str(&pk, "kind", j->kind == VST_STATE_CHUNK ? "chunk" : "params");
  sono_pack_key_uint(&pk, "total", j->len);
  sono_pack_key_uint(&pk, "offset", j->offset);
  reply_end(c, &sb);
}

static void state_get_done(sonod *d, void *arg, plugin_call_end end) {
  plugin_job *j = arg;
  client *c = plugin_job_client(d, j, end, "effGetChunk");

  if (c != NULL)
    state_get_reply(c, j);
  plugin_job_free(j, end);
}

/* In pages of at most SONO_STATE_PAGE_MAX bytes when `offset` or `length`
 * is given; whole (up to SONO_STATE_WHOLE_MAX) when neither is. */
void op_plugin_state_get(request *r) {
  pnode *n = plugin_arg_node(r);
  uint64_t offset = 0, length = SONO_STATE_PAGE_MAX;
  plugin_job *j;

  if (n == NULL || !arg_uint(r, "offset", false, &offset) || !arg_uint(r, "length", false, &length))
    return;
  if ((j = plugin_job_new(r, n)) == NULL)
    return;
  j->paged = sono_map_get(r->args, "offset") != NULL || sono_map_get(r->args, "length") != NULL;
  j->offset = offset;
  j->length = length;
  plugin_job_start(r, n, j, "effGetChunk", state_get_fn, state_get_done);
}

static void state_set_fn(void *arg) {
  plugin_job *j = arg;

  j->rc = vst_state_set(j->inst, j->data, j->len, j->err);
}

/* A state refused by the checks is the client's (bad_value); an isolated
 * plugin whose host is gone (crashed) or did not answer in time (timeout)
 * could not be given it. */
static const char *state_set_code(int rc) {
  return rc == VST_E_CRASHED   ? SONO_E_CRASHED
         : rc == VST_E_TIMEOUT ? SONO_E_TIMEOUT
                               : SONO_E_BAD_VALUE;
}

static void state_set_done(sonod *d, void *arg, plugin_call_end end) {
  plugin_job *j = arg;
  client *c = plugin_job_client(d, j, end, "effSetChunk");
  msgpack_sbuffer sb;
  msgpack_packer pk;

  if (end == PLUGIN_CALL_DONE && j->rc == VST_OK)
    session_changed(d);
  if (c != NULL && j->rc != VST_OK) {
    reply_error(c, true, j->id, state_set_code(j->rc), "plugin.state.set: %s", j->err);
  } else if (c != NULL && j->pieces) {
    reply_begin(&sb, &pk, j->id);
    msgpack_pack_map(&pk, 2);
    sono_pack_key_uint(&pk, "received", j->len);
    sono_pack_key_bool(&pk, "applied", true);
    reply_end(c, &sb);
  } else if (c != NULL) {
    reply_ok_empty(c, j->id);
  }
  plugin_job_free(j, end);
}

/* Sets a copy of data (len bytes) off the loop; pieces: the reply says
 * {received, applied}. */
static void state_set_start(request *r, pnode *n, const void *data, size_t len, bool pieces) {
  plugin_job *j = plugin_job_new(r, n);

  if (j == NULL)
    return;
  j->len = len;
  j->pieces = pieces;
  if ((j->data = malloc(len ? len : 1)) == NULL) {
    reply_error(r->c, true, r->id, SONO_E_INTERNAL, "plugin.state.set: out of memory");
    free(j);
    return;
  }
  memcpy(j->data, data, len);
  plugin_job_start(r, n, j, "effSetChunk", state_set_fn, state_set_done);
}

/* Whole, or in pieces when `total` is given (plugin_ctl_piece). */
void op_plugin_state_set(request *r) {
  pnode *n = plugin_arg_node(r);
  const msgpack_object *o;
  char err[VST_ERR_LEN + 64];
  uint64_t offset = 0, total = 0;
  const unsigned char *whole;
  const char *code;
  size_t received;
  bool pieces = sono_map_get(r->args, "total") != NULL;
  msgpack_sbuffer sb;
  msgpack_packer pk;

  if (n == NULL)
    return;
  o = sono_map_get(r->args, "data");
  if (o == NULL) {
    reply_error(r->c, true, r->id, SONO_E_MISSING_FIELD, "plugin.state.set: 'data' is required");
    return;
  }
  if (o->type != MSGPACK_OBJECT_BIN) {
    reply_error(r->c, true, r->id, SONO_E_BAD_TYPE, "plugin.state.set: 'data' must be bin");
    return;
  }
  if (!arg_uint(r, "total", false, &total) || !arg_uint(r, "offset", false, &offset))
    return;
  if (!pieces) {
    if (sono_map_get(r->args, "offset") != NULL) {
      reply_error(r->c, true, r->id, SONO_E_MISSING_FIELD,
                  "plugin.state.set: a piece ('offset') needs 'total'");
      return;
    }
    state_set_start(r, n, o->via.bin.ptr, o->via.bin.size, false);
    return;
  }
  if (plugin_ctl_piece(n, r->c->id, offset, total, o->via.bin.ptr, o->via.bin.size, &received,
                       &whole, &code, err, sizeof err) != 0) {
    reply_error(r->c, true, r->id, code, "plugin.state.set: %s", err);
    return;
  }
  if (whole != NULL) {
    state_set_start(r, n, whole, received, true);
    plugin_ctl_pieces_drop(n);
    return;
  }
  reply_begin(&sb, &pk, r->id);
  msgpack_pack_map(&pk, 2);
  sono_pack_key_uint(&pk, "received", received);
  sono_pack_key_bool(&pk, "applied", false);
  reply_end(r->c, &sb);
}
