/* ops_schedule.c - schedule.list and schedule.cancel: a client's own timed
 * requests (an `at` ahead, or a `delay`) still waiting on the audio thread.
 * The record is engine/schedule.c; the audio thread removes what is
 * cancelled (RT_CMD_CANCEL) and says how many it removed. */
#include <string.h>

#include "daemon/engine/engine_ctl.h"
#include "daemon/engine/schedule.h"
#include "daemon/net/reply.h"
#include "daemon/ops/ops.h"
#include "protocol/errors.h"
#include "protocol/wire.h"

void op_schedule_list(request *r) {
  msgpack_sbuffer sb;
  msgpack_packer pk;

  reply_begin(&sb, &pk, r->id);
  msgpack_pack_map(&pk, 2);
  sono_pack_key_uint(&pk, "share", SCHEDULE_SHARE);
  sono_pack_cstr(&pk, "requests");
  schedule_pack(r->d, r->c, &pk);
  reply_end(r->c, &sb);
}

void op_schedule_cancel(request *r) {
  uint64_t id = 0;
  bool all = false, has_id = sono_map_get(r->args, "request") != NULL;
  rt_cmd cmd;

  if (!arg_uint(r, "request", false, &id) || !arg_bool(r, "all", false, &all))
    return;
  if (has_id == all) {
    reply_error(r->c, true, r->id, SONO_E_BAD_REQUEST,
                "schedule.cancel: give 'request' (the id of a timed request) or 'all': true");
    return;
  }
  /* Only this connection's own requests: ids are the client's to choose,
   * so (connection, id) is what names a request. */
  schedule_forget(r->d, r->c, id, all);
  memset(&cmd, 0, sizeof cmd);
  cmd.type = RT_CMD_CANCEL;
  cmd.at_kind = RT_AT_NOW;
  cmd.u.cancel.client = r->c->id;
  cmd.u.cancel.req_id = id;
  cmd.u.cancel.all = all;
  engine_ctl_send(r, &cmd);
}
