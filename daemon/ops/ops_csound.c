/* ops_csound.c - csound.compile / csound.event / csound.score: orchestra
 * code and score lines for the live Csound engine.  The rows are read by
 * cs_op.c (cs_op.h says how); the other Csound families are ops_instr.c,
 * ops_synth.c, ops_bundle.c, ops_bus.c, ops_table.c and ops_channel.c. */
#include "daemon/ops/cs_op.h"
#include "daemon/ops/ops.h"

#include "daemon/modules/csound_ctl.h"
#include "daemon/modules/csound_state.h"
#include "daemon/net/client.h"
#include "protocol/errors.h"

#include <stdlib.h>
#include <string.h>

static const cs_op compile_op;

/* csound.compile off the loop: Csound parses on a libuv worker (seconds for
 * a big orchestra) while the loop serves every client; this client's later
 * requests wait for the reply (client_hold), so they still apply in the
 * order it sent them. */
typedef struct compile_work {
  uv_work_t work;
  sonod *d;
  uint32_t client;
  uint64_t id;
  cs_compile_job *job;
  char *code;
} compile_work;

static void compile_run(uv_work_t *w) {
  compile_work *cw = w->data;

  cs_compile_run(cw->job);
  csound_ctl_work_end();
}

static void compile_after(uv_work_t *w, int status) {
  compile_work *cw = w->data;
  cs_error e;
  client *c = client_find(cw->d, cw->client);
  int rc;

  (void)status;
  memset(&e, 0, sizeof e);
  if (csound_ctl_engine() == NULL) {   /* shut down meanwhile */
    cs_compile_discard(cw->job);
  } else {
    rc = cs_compile_end(cw->job, &e);
    if (rc == 0)
      state_note_compile(cw->d, cw->code);
    if (c != NULL)
      cs_op_finish(c, cw->id, &compile_op, rc, &e);
    csound_ctl_poll(cw->d);   /* what Csound printed */
  }
  if (c != NULL)
    client_resume(c);
  free(cw->code);
  free(cw);
}

static bool call_compile(cs_cx *x, cs_io *a) {
  compile_work *cw;
  cs_compile_job *job;

  if (!cs_ok(x, cs_compile_begin(x->eng, a->code, &job, &x->e)))
    return false;
  cw = calloc(1, sizeof *cw);
  if (cw != NULL && (cw->code = strdup(a->code)) != NULL) {
    cw->work.data = cw;
    cw->d = x->r->d;
    cw->client = x->r->c->id;
    cw->id = x->r->id;
    cw->job = job;
    csound_ctl_work_begin();
    if (uv_queue_work(x->r->d->loop, &cw->work, compile_run, compile_after) == 0) {
      client_hold(x->r->c);
      x->deferred = true;
      return true;
    }
    csound_ctl_work_end();
    free(cw->code);
  }
  free(cw);
  /* No worker: parse here. */
  cs_compile_run(job);
  if (!cs_ok(x, cs_compile_end(job, &x->e)))
    return false;
  state_note_compile(x->r->d, a->code);
  return true;
}

static bool call_event(cs_cx *x, cs_io *a) {
  return cs_ok(x, cs_event(x->eng, a->line, a->at, &x->e));
}

static bool call_score(cs_cx *x, cs_io *a) {
  return cs_ok(x, cs_score(x->eng, a->text, a->at, &x->e));
}

static const cs_op compile_op = {
  .name = "csound.compile", .in = { STR(code) },
  .call = call_compile, .enoent = SONO_E_INTERNAL,
};
static const cs_op event_op = {
  .name = "csound.event", .in = { STR(line), TIME },
  .call = call_event, .enoent = SONO_E_UNKNOWN_INSTR,
  .out = { OUT(frame) },
};
static const cs_op score_op = {
  .name = "csound.score", .in = { STR(text), TIME },
  .call = call_score, .enoent = SONO_E_UNKNOWN_INSTR,
  .out = { OUT(frame) },
};

void op_csound_compile(request *r) { cs_op_run(r, &compile_op); }
void op_csound_event(request *r) { cs_op_run(r, &event_op); }
void op_csound_score(request *r) { cs_op_run(r, &score_op); }
