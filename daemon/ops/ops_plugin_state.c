/* ops_plugin_state.c - plugin.state.get / plugin.state.set: a plugin's
 * state, whole or in pages (PROTOCOL.md); the pieces of a state being set
 * are gathered by the plugin module (plugin_ctl_piece). */
#include <stdlib.h>

#include "daemon/modules/plugin_ctl.h"
#include "daemon/net/reply.h"
#include "daemon/ops/ops.h"
#include "daemon/session/session.h"
#include "protocol/errors.h"
#include "protocol/wire.h"

/* In pages of at most SONO_STATE_PAGE_MAX bytes when `offset` or `length`
 * is given; whole (up to SONO_STATE_WHOLE_MAX) when neither is. */
void op_plugin_state_get(request *r) {
  pnode *n = plugin_arg_node(r);
  bool paged = sono_map_get(r->args, "offset") != NULL || sono_map_get(r->args, "length") != NULL;
  uint64_t offset = 0, length = SONO_STATE_PAGE_MAX;
  void *data = NULL;
  size_t len = 0, part;
  vst_state_kind kind;
  char err[VST_ERR_LEN];
  msgpack_sbuffer sb;
  msgpack_packer pk;

  if (n == NULL || !arg_uint(r, "offset", false, &offset) || !arg_uint(r, "length", false, &length))
    return;
  if (vst_state_get(n->inst, &data, &len, &kind, err) != VST_OK) {
    reply_error(r->c, true, r->id, SONO_E_NOT_SUPPORTED, "plugin.state.get: %s", err);
    return;
  }
  if (!paged && len > SONO_STATE_WHOLE_MAX) {
    reply_error(r->c, true, r->id, SONO_E_REPLY_TOO_LARGE,
                "plugin.state.get: the state is %zu bytes, over the %u one reply holds: ask for "
                "it in pages (offset, length)", len, SONO_STATE_WHOLE_MAX);
    free(data);
    return;
  }
  if (offset > len) {
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE,
                "plugin.state.get: 'offset' %llu is past the state's %zu bytes",
                (unsigned long long)offset, len);
    free(data);
    return;
  }
  part = len - offset;
  if (paged && part > length)
    part = length;
  if (paged && part > SONO_STATE_PAGE_MAX)
    part = SONO_STATE_PAGE_MAX;
  reply_begin(&sb, &pk, r->id);
  msgpack_pack_map(&pk, 4);
  sono_pack_cstr(&pk, "data");
  msgpack_pack_bin(&pk, part);
  msgpack_pack_bin_body(&pk, (const char *)data + offset, part);
  sono_pack_key_str(&pk, "kind", kind == VST_STATE_CHUNK ? "chunk" : "params");
  sono_pack_key_uint(&pk, "total", len);
  sono_pack_key_uint(&pk, "offset", offset);
  reply_end(r->c, &sb);
  free(data);
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
  int rc;

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
    if (vst_state_set(n->inst, o->via.bin.ptr, o->via.bin.size, err) != VST_OK) {
      reply_error(r->c, true, r->id, SONO_E_BAD_VALUE, "plugin.state.set: %s", err);
      return;
    }
    session_changed(r->d);
    reply_ok_empty(r->c, r->id);
    return;
  }
  if (plugin_ctl_piece(n, r->c->id, offset, total, o->via.bin.ptr, o->via.bin.size, &received,
                       &whole, &code, err, sizeof err) != 0) {
    reply_error(r->c, true, r->id, code, "plugin.state.set: %s", err);
    return;
  }
  rc = VST_OK;
  if (whole != NULL) {
    rc = vst_state_set(n->inst, whole, received, err);
    plugin_ctl_pieces_drop(n);
    if (rc != VST_OK) {
      reply_error(r->c, true, r->id, SONO_E_BAD_VALUE, "plugin.state.set: %s", err);
      return;
    }
    session_changed(r->d);
  }
  reply_begin(&sb, &pk, r->id);
  msgpack_pack_map(&pk, 2);
  sono_pack_key_uint(&pk, "received", received);
  sono_pack_key_bool(&pk, "applied", whole != NULL);
  reply_end(r->c, &sb);
}
