/* plugin_job.h - a request's call into a plugin, run off the loop with a
 * deadline (modules/plugin_call.c): what the plugin ops carry to the call
 * thread and back.  Control thread, except the call itself. */
#ifndef SONOD_OPS_PLUGIN_JOB_H
#define SONOD_OPS_PLUGIN_JOB_H

#include "daemon/modules/plugin_call.h"
#include "daemon/net/request.h"

typedef struct plugin_job {
  const char *op;
  uint32_t client, node;
  uint64_t id;
  vst_instance *inst;
  void *data;
  size_t len;
  vst_state_kind kind;
  int rc;
  char err[VST_ERR_LEN];
  bool paged, pieces;    /* state.get: in pages; state.set: the last of its pieces */
  uint64_t offset, length;
  int64_t program;       /* plugin.program: the one to select, -1 none */
  int count, cur;        /* programs, and the current one; parameters, the first */
  bool single;           /* plugin.get: one parameter's map, not {params} */
  bool indexed, known;   /* programs: names by index; program: its name is known */
  char name[VST_STR_LEN];
  bool host_alive;       /* isolated, and its host was running when the call began */
} plugin_job;

/* A job for the request on node n; NULL when answered (out of memory). */
plugin_job *plugin_job_new(request *r, pnode *n);
/* Runs fn on its own thread; cb on the loop (plugin_call); answers and
 * frees j when no thread could start.  what names the call ("effGetChunk"). */
void plugin_job_start(request *r, pnode *n, plugin_job *j, const char *what, plugin_call_fn fn,
                      plugin_call_cb cb);
/* The client to answer: NULL when it left, when the call timed out
 * (answered `timeout` here, naming what), when an isolated plugin's host
 * died during it (answered `crashed` here), or when it returned late. */
client *plugin_job_client(sonod *d, plugin_job *j, plugin_call_end end, const char *what);
/* Frees j and its data, unless the call timed out (its thread still has
 * them: freed at PLUGIN_CALL_LATE). */
void plugin_job_free(plugin_job *j, plugin_call_end end);

#endif
