/* ops_channel.c - channel.set {name, value, at?|delay?} / channel.get
 * {name}: Csound's named control channels (the module's cs_channel.c says
 * how they stay safe).  Rows of the Csound op table (cs_op.h). */
#include "daemon/ops/cs_op.h"
#include "daemon/ops/ops.h"

#include "protocol/errors.h"

static bool call_set(cs_cx *x, cs_io *a) {
  return cs_ok(x, cs_channel_set(x->eng, a->name, a->value, a->at, &x->e));
}

static bool call_get(cs_cx *x, cs_io *a) {
  return cs_ok(x, cs_channel_get(x->eng, a->name, &a->value, &x->e));
}

static const cs_op set_op = {
  .name = "channel.set", .in = { STR(name), DOUBLE(value), TIME },
  .call = call_set, .enoent = SONO_E_INTERNAL,
  .out = { OUT(frame) },
};
static const cs_op get_op = {
  .name = "channel.get", .in = { STR(name) },
  .call = call_get, .enoent = SONO_E_INTERNAL,
  .out = { OUT(name), OUT(value) },
};

void op_channel_set(request *r) { cs_op_run(r, &set_op); }
void op_channel_get(request *r) { cs_op_run(r, &get_op); }
