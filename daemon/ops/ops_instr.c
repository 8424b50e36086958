/* ops_instr.c - instr.define / instr.list / instr.undefine: the live Csound
 * engine's instrument templates.  Rows of the Csound op table (cs_op.h). */
#include "daemon/ops/cs_op.h"
#include "daemon/ops/ops.h"

#include "daemon/modules/midi_cs.h"
#include "daemon/modules/csound_state.h"
#include "protocol/errors.h"
#include "protocol/wire.h"

static bool check_priority(cs_cx *x, cs_io *a) {
  if (a->priority < 1 || a->priority > 99)
    return cs_op_fail(x, SONO_E_BAD_VALUE, "'priority' must be 1..99");
  return true;
}

static bool call_define(cs_cx *x, cs_io *a) {
  cs_param p[CS_OP_MAX_ARGS];
  unsigned i;

  for (i = 0; i < a->nargs; i++) {
    p[i].name = a->args[i].name;
    p[i].value = a->args[i].value;
  }
  if (!cs_ok(x, cs_instr_define(x->eng, a->name, a->body, p, a->nargs, a->init,
                                (int)a->priority, &x->e)))
    return false;
  state_note_instr(x->r->d, a->name, a->body, p, a->nargs, a->init, (int)a->priority);
  midi_cs_instr_defined(x->r->d, a->name);
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
