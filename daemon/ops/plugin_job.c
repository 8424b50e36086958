/* plugin_job.c - see plugin_job.h. */
#include "daemon/ops/plugin_job.h"

#include <stdlib.h>

#include "daemon/net/client.h"
#include "daemon/net/reply.h"
#include "protocol/errors.h"

plugin_job *plugin_job_new(request *r, pnode *n) {
  plugin_job *j = calloc(1, sizeof *j);

  if (j == NULL) {
    reply_error(r->c, true, r->id, SONO_E_INTERNAL, "%s: out of memory", r->op);
    return NULL;
  }
  j->op = r->op;
  j->client = r->c->id;
  j->node = n->id;
  j->id = r->id;
  j->inst = n->inst;
  j->host_alive = vst_isolated_alive(n->inst);
  return j;
}

void plugin_job_start(request *r, pnode *n, plugin_job *j, const char *what,
                      plugin_call_fn fn, plugin_call_cb cb) {
  if (plugin_call(r->d, n, what, fn, cb, j) != 0) {
    reply_error(r->c, true, r->id, SONO_E_INTERNAL, "%s: cannot start a thread", r->op);
    free(j->data);
    free(j);
  }
}

/* The client to answer about a state call: NULL when it left, when the
 * call timed out (answered `timeout` here) or returned late. */
client *plugin_job_client(sonod *d, plugin_job *j, plugin_call_end end, const char *what) {
  client *c = end == PLUGIN_CALL_LATE ? NULL : client_find(d, j->client);

  if (end == PLUGIN_CALL_TIMEOUT) {
    pnode *n = plugin_ctl_find(j->node);

    if (c != NULL)
      reply_error(c, true, j->id, SONO_E_TIMEOUT, "%s: plugin node %u: %s did not return "
                  "within %u ms; %s", j->op, j->node, what, plugin_call_deadline_ms(),
                  n != NULL && n->isolated
                      ? "its host process is killed (plugin.restart brings it back)"
                      : "the node is unusable (unload it)");
    return NULL;
  }
  if (end == PLUGIN_CALL_DONE && j->host_alive && !vst_isolated_alive(j->inst)) {
    if (c != NULL)
      reply_error(c, true, j->id, SONO_E_CRASHED, "%s: plugin node %u: its host process died "
                  "during %s (plugin.crashed); plugin.restart brings it back", j->op, j->node,
                  what);
    return NULL;
  }
  return c;
}

void plugin_job_free(plugin_job *j, plugin_call_end end) {
  if (end != PLUGIN_CALL_TIMEOUT) {   /* the thread still uses it */
    free(j->data);
    free(j);
  }
}

