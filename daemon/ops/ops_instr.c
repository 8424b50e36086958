/* ops_instr.c - instr.define / instr.list / instr.undefine: the live Csound
 * engine's instrument templates.  Rows of the Csound op table (cs_op.h). */
#include "daemon/ops/cs_op.h"
#include "daemon/ops/ops.h"

#include "daemon/modules/midi_cs.h"
#include "daemon/modules/csound_state.h"
#include "protocol/errors.h"
#include "protocol/wire.h"

#include <stdlib.h>
#include <string.h>

static bool check_priority(cs_cx *x, cs_io *a) {
  if (a->priority < 1 || a->priority > 99)
    return cs_op_fail(x, SONO_E_BAD_VALUE, "'priority' must be 1..99");
  return true;
}

/* instr.define with code to compile runs off the loop (cs_op_defer); what
 * the session and the MIDI routes note is kept until the end. */
typedef struct define_work {
  cs_deferred base;
  cs_define_job *job;
  char *name, *body, *init;
  cs_arg p[CS_OP_MAX_ARGS];   /* names owned */
  unsigned np;
  int priority;
} define_work;

static void define_run(cs_deferred *w) {
  cs_instr_define_run(((define_work *)w)->job);
}

/* The definition is in place: the session and the MIDI routes learn it. */
static void defined(sonod *d, define_work *dw) {
  cs_param p[CS_OP_MAX_ARGS];
  unsigned i;

  for (i = 0; i < dw->np; i++) {
    p[i].name = dw->p[i].name;
    p[i].value = dw->p[i].value;
  }
  state_note_instr(d, dw->name, dw->body, p, dw->np, dw->init, dw->priority);
  midi_cs_instr_defined(d, dw->name);
}

static int define_end(cs_deferred *w, cs_io *io, cs_error *e) {
  define_work *dw = (define_work *)w;
  int rc = cs_instr_define_end(dw->job, e);

  if (rc == 0) {
    defined(w->d, dw);
    io->name = io->instr = dw->name;   /* the reply: its name and params */
  }
  return rc;
}

static void define_discard(cs_deferred *w) {
  cs_instr_define_discard(((define_work *)w)->job);
}

static void define_release(cs_deferred *w) {
  define_work *dw = (define_work *)w;

  free(dw->name);
  free(dw->body);
  free(dw->init);
  cs_op_args_free(dw->p, dw->np);
  free(dw);
}

static define_work *define_work_new(const cs_io *a) {
  define_work *dw = calloc(1, sizeof *dw);

  if (dw == NULL)
    return NULL;
  dw->base.run = define_run;
  dw->base.end = define_end;
  dw->base.discard = define_discard;
  dw->base.release = define_release;
  dw->priority = (int)a->priority;
  if ((dw->name = strdup(a->name)) == NULL || (dw->body = strdup(a->body)) == NULL ||
      (a->init != NULL && (dw->init = strdup(a->init)) == NULL) ||
      !cs_op_args_copy(dw->p, a->args, a->nargs)) {
    define_release(&dw->base);
    return NULL;
  }
  dw->np = a->nargs;
  return dw;
}

static bool call_define(cs_cx *x, cs_io *a) {
  define_work *dw = define_work_new(a);
  cs_param p[CS_OP_MAX_ARGS];
  unsigned i;

  if (dw == NULL)
    return cs_op_fail(x, SONO_E_INTERNAL, "out of memory");
  for (i = 0; i < dw->np; i++) {
    p[i].name = dw->p[i].name;
    p[i].value = dw->p[i].value;
  }
  if (!cs_ok(x, cs_instr_define_begin(x->eng, dw->name, dw->body, p, dw->np, dw->init,
                                      dw->priority, &dw->job, &x->e))) {
    define_release(&dw->base);
    return false;
  }
  if (dw->job != NULL)
    return cs_op_defer(x, &dw->base);
  /* The same code again: nothing to compile, done here. */
  defined(x->r->d, dw);
  define_release(&dw->base);
  a->instr = a->name;   /* for its params in the reply */
  return true;
}

static void pack_instrs(cs_cx *x, cs_io *a, msgpack_packer *pk) {
  uint32_t n = 0, i;

  while (cs_instr_name(x->eng, n) != NULL)
    n++;
  msgpack_pack_array(pk, n);
  for (i = 0; i < n; i++) {
    a->instr = cs_instr_name(x->eng, i);
    msgpack_pack_map(pk, 2);
    sono_pack_key_str(pk, "name", a->instr);
    sono_pack_cstr(pk, "params");
    cs_op_pack_params(x, a, pk);
  }
}

static bool call_undefine(cs_cx *x, cs_io *a) {
  if (!cs_ok(x, cs_instr_undefine(x->eng, a->name, &x->e)))
    return false;
  state_note_instr_undefine(x->r->d, a->name);
  return true;
}

static const cs_op define_op = {
  .name = "instr.define",
  .in = { STR(name), STR(body), ARGS("params", false), STR_OPT(init, NULL),
          INT_OPT(priority, 1), CHECK(check_priority) },
  .call = call_define, .enoent = SONO_E_UNKNOWN_INSTR,
  .out = { OUT(name), OUT_PACK("params", cs_op_pack_params) },
};
static const cs_op list_op = {
  .name = "instr.list",
  .out = { OUT_PACK("instrs", pack_instrs) },
};
static const cs_op undefine_op = {
  .name = "instr.undefine", .in = { STR(name) },
  .call = call_undefine, .enoent = SONO_E_UNKNOWN_INSTR,
};

void op_instr_define(request *r) { cs_op_run(r, &define_op); }
void op_instr_list(request *r) { cs_op_run(r, &list_op); }
void op_instr_undefine(request *r) { cs_op_run(r, &undefine_op); }
