/* ops_csound.c - csound.compile / csound.event / csound.score: orchestra
 * code and score lines for the live Csound engine.  The rows are read by
 * cs_op.c (cs_op.h says how); the other Csound families are ops_instr.c,
 * ops_synth.c, ops_bundle.c, ops_bus.c, ops_table.c and ops_channel.c. */
#include "daemon/ops/cs_op.h"
#include "daemon/ops/ops.h"

#include "daemon/base/log.h"
#include "daemon/modules/csound_ctl.h"
#include "daemon/modules/csound_state.h"
#include "protocol/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* csound.compile runs off the loop (cs_op_defer). */
typedef struct compile_work {
  cs_deferred base;
  cs_compile_job *job;
  char *code;             /* for the session, once compiled */
  cs_global_info global;  /* what its global part costs the merge */
} compile_work;

static void compile_run(cs_deferred *w) {
  compile_work *cw = (compile_work *)w;

  cs_compile_run(cw->job);
  if (cs_global_scan(cw->code, &cw->global) != 0)
    memset(&cw->global, 0, sizeof cw->global);
}

/* The reply's warning when the code's global part would hold the audio
 * thread up at the merge (cs_global_scan: Csound 6.18 runs instr 0's init
 * pass there and nowhere else while it performs); also logged. */
static void global_warning(const cs_global_info *g, char *w, size_t n) {
  if (g->tables > 0)
    snprintf(w, n, "global code runs its init pass on the audio thread when Csound merges "
             "it: %u table%s of over %d points, of a size not written as a number, or read "
             "from a file (line %d) will interrupt the audio; make big tables with "
             "table.new or table.read, which are built off the audio thread",
             g->tables, g->tables == 1 ? "" : "s", CS_GLOBAL_TABLE_POINTS, g->table_line);
  else
    snprintf(w, n, "global code runs its init pass on the audio thread when Csound merges "
             "it: %u statements outside instruments (over %d, from line %d) may interrupt "
             "the audio; keep global code short (values: channel.set, tables: table.new)",
             g->statements, CS_GLOBAL_STATEMENTS, g->first_line);
  log_warn("csound.compile: %s", w);
}

static int compile_end(cs_deferred *w, cs_io *io, cs_error *e) {
  compile_work *cw = (compile_work *)w;
  int rc = cs_compile_end(cw->job, e);

  if (rc == 0) {
    state_note_compile(w->d, cw->code);
    if (cw->global.heavy)
      global_warning(&cw->global, io->warning, sizeof io->warning);
  }
  return rc;
}

static void compile_discard(cs_deferred *w) {
  cs_compile_discard(((compile_work *)w)->job);
}

static void compile_release(cs_deferred *w) {
  free(((compile_work *)w)->code);
  free(w);
}

static bool call_compile(cs_cx *x, cs_io *a) {
  compile_work *cw = calloc(1, sizeof *cw);

  if (cw == NULL || (cw->code = strdup(a->code)) == NULL) {
    free(cw);
    return cs_op_fail(x, SONO_E_INTERNAL, "out of memory");
  }
  cw->base.run = compile_run;
  cw->base.end = compile_end;
  cw->base.discard = compile_discard;
  cw->base.release = compile_release;
  if (!cs_ok(x, cs_compile_begin(x->eng, a->code, &cw->job, &x->e))) {
    compile_release(&cw->base);
    return false;
  }
  return cs_op_defer(x, &cw->base);
}

static bool call_event(cs_cx *x, cs_io *a) {
  return cs_ok(x, cs_event_ex(x->eng, a->line, a->at, a->spread, &x->e));
}

static bool call_score(cs_cx *x, cs_io *a) {
  return cs_ok(x, cs_score_ex(x->eng, a->text, a->at, a->spread, &x->e));
}

static const cs_op compile_op = {
  .name = "csound.compile", .in = { STR(code) },
  .call = call_compile, .enoent = SONO_E_INTERNAL,
  .out = { OUT_TEXT_OPT(warning) },
};
static const cs_op event_op = {
  .name = "csound.event", .in = { STR(line), BOOL_OPT(spread, false), TIME },
  .call = call_event, .enoent = SONO_E_UNKNOWN_INSTR,
  .out = { OUT(frame) },
};
static const cs_op score_op = {
  .name = "csound.score", .in = { STR(text), BOOL_OPT(spread, false), TIME },
  .call = call_score, .enoent = SONO_E_UNKNOWN_INSTR,
  .out = { OUT(frame) },
};

void op_csound_compile(request *r) { cs_op_run(r, &compile_op); }
void op_csound_event(request *r) { cs_op_run(r, &event_op); }
void op_csound_score(request *r) { cs_op_run(r, &score_op); }
