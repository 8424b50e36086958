/* ops_csound.c - csound.compile / csound.event / csound.score: orchestra
 * code and score lines for the live Csound engine.  The rows are read by
 * cs_op.c (cs_op.h says how); the other Csound families are ops_instr.c,
 * ops_synth.c, ops_bundle.c, ops_bus.c, ops_table.c and ops_channel.c. */
#include "daemon/ops/cs_op.h"
#include "daemon/ops/ops.h"

#include "daemon/modules/csound_state.h"
#include "protocol/errors.h"

static bool call_compile(cs_cx *x, cs_io *a) {
  if (!cs_ok(x, cs_compile(x->eng, a->code, &x->e)))
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
