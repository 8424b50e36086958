/* ops_state.c - the session file's operations, state.save and state.load
 * (PROTOCOL.md, "Session state"; the file: protocol/STATE.md).  The work
 * is the session layer's (daemon/session/); these read the arguments and
 * answer. */
#include <stdio.h>
#include <string.h>

#include "daemon/base/log.h"
#include "daemon/net/client.h"
#include "daemon/net/reply.h"
#include "daemon/ops/ops.h"
#include "daemon/session/session.h"
#include "protocol/errors.h"
#include "protocol/wire.h"

#define PATH_MAX_LEN 4200

/* The string argument `path` into path; false when answered already. */
static bool path_arg(request *r, const char *op, bool required, char *path, bool *given) {
  const char *p = NULL;
  size_t len = 0;

  if (!arg_str(r, "path", required, &p, &len))
    return false;
  *given = p != NULL;
  if (p == NULL)
    return true;
  if (len == 0 || len >= PATH_MAX_LEN || memchr(p, '\0', len) != NULL) {
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE, "%s: 'path' must be a path", op);
    return false;
  }
  memcpy(path, p, len);
  path[len] = '\0';
  return true;
}

static void saved(sonod *d, session_asker who, const char *path, size_t bytes,
                  const uint32_t *late, unsigned nlate, const char *err) {
  client *c = client_find(d, who.client);
  msgpack_sbuffer sb;
  msgpack_packer pk;

  if (c == NULL)
    return;
  if (err != NULL) {
    reply_error(c, true, who.req_id, SONO_E_FILE_ERROR, "state.save: %s", err);
    return;
  }
  reply_begin(&sb, &pk, who.req_id);
  msgpack_pack_map(&pk, 3);
  sono_pack_key_str(&pk, "path", path);
  sono_pack_key_uint(&pk, "bytes", bytes);
  /* Plugins that did not give their state within the deadline: saved with
   * the state they gave the last save that reached them (or by path). */
  sono_pack_cstr(&pk, "timeout");
  msgpack_pack_array(&pk, nlate);
  for (unsigned i = 0; i < nlate; i++)
    msgpack_pack_uint32(&pk, late[i]);
  reply_end(c, &sb);
}

/* state.save {path?}: ok {path, bytes, timeout} once the file is in place. */
void op_state_save(request *r) {
  session_asker who = { r->c->id, r->id };
  char path[PATH_MAX_LEN];
  bool given;

  if (!path_arg(r, "state.save", false, path, &given))
    return;
  if (!given) {
    if (session_autosave_path()[0] == '\0') {
      reply_error(r->c, true, r->id, SONO_E_BAD_VALUE,
                  "state.save: no 'path' given and no state directory (--state-dir) configured");
      return;
    }
    snprintf(path, sizeof path, "%s", session_autosave_path());
  }
  /* Half a session is no session: save it once the load is done. */
  if (session_loading() != NULL) {
    reply_error(r->c, true, r->id, SONO_E_BUSY,
                "state.save: %s is being loaded; save once that is done", session_loading());
    return;
  }
  if (session_save(r->d, path, who, saved) != 0)
    reply_error(r->c, true, r->id, SONO_E_INTERNAL, "state.save: cannot start the write");
}

static void loaded(sonod *d, session_asker who, const session_restore *j) {
  client *c = client_find(d, who.client);
  msgpack_sbuffer sb;
  msgpack_packer pk;
  char sum[400];

  if (c == NULL) {
    session_summary(j, sum, sizeof sum);
    log_info("state: state.load of %s done (%s) after its client left; reply dropped",
             session_path(j), sum);
  } else if (session_failures(j) != NULL) {
    session_summary(j, sum, sizeof sum);
    reply_error(c, true, who.req_id, SONO_E_LOAD_FAILED, "state.load: %s: %s; not restored: %s",
                session_path(j), sum, session_failures(j));
  } else {
    reply_begin(&sb, &pk, who.req_id);
    session_pack_ids(j, &pk);
    reply_end(c, &sb);
  }
}

/* state.load {path}: replaces the session; ok {plugins, gain_nodes,
 * bus_nodes, tables, buses, instrs, midi_routes} with the saved ids and the
 * ids they have now, once the last stage is applied (other requests are
 * served meanwhile). */
void op_state_load(request *r) {
  session_asker who = { r->c->id, r->id };
  char path[PATH_MAX_LEN], why[800];
  bool given;

  if (!path_arg(r, "state.load", true, path, &given))
    return;
  if (session_loading() != NULL) {
    reply_error(r->c, true, r->id, SONO_E_BUSY,
                "state.load: %s is still being loaded; one load at a time, retry once it is "
                "done", session_loading());
    return;
  }
  switch (session_load(r->d, path, who, loaded, why, sizeof why)) {
  case 0:
    break;
  case SESSION_E_FILE:
    reply_error(r->c, true, r->id, SONO_E_FILE_ERROR, "state.load: %s", why);
    break;
  case SESSION_E_BAD:
    reply_error(r->c, true, r->id, SONO_E_BAD_STATE, "state.load: %s: %s; nothing was changed",
                path, why);
    break;
  default:
    reply_error(r->c, true, r->id, SONO_E_BUSY, "state.load: %s", why);
    break;
  }
}
