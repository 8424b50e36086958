/* ops_bus.c - bus.new / bus.set / bus.get / bus.free: the live Csound
 * engine's audio and control buses.  Rows of the Csound op table
 * (cs_op.h).  A bus a graph node exposes (modules/busnode_ctl.c) is not
 * freed under it. */
#include "daemon/ops/cs_op.h"
#include "daemon/ops/ops.h"

#include <string.h>

#include "daemon/modules/busnode_ctl.h"
#include "daemon/modules/csound_state.h"
#include "daemon/session/session.h"
#include "protocol/errors.h"

static bool check_kind(cs_cx *x, cs_io *a) {
  if (strcmp(a->kind, "audio") == 0)
    a->bus_kind = CS_BUS_AUDIO;
  else if (strcmp(a->kind, "control") == 0)
    a->bus_kind = CS_BUS_CONTROL;
  else
    return cs_op_fail(x, SONO_E_BAD_VALUE, "'kind' must be audio or control");
  return true;
}

static bool call_new(cs_cx *x, cs_io *a) {
  if (!cs_ok(x, cs_bus_new(x->eng, a->bus_kind, &a->bus, &x->e)))
    return false;
  state_note_bus(x->r->d, a->bus, a->bus_kind);
  return true;
}

static bool call_set(cs_cx *x, cs_io *a) {
  if (!cs_ok(x, cs_bus_set(x->eng, a->bus, a->value, a->at, &x->e)))
    return false;
  session_changed(x->r->d);
  return true;
}

static bool call_get(cs_cx *x, cs_io *a) {
  return cs_ok(x, cs_bus_get(x->eng, a->bus, &a->value, &x->e));
}

/* Not yet the bus: a freed bus still in use says so. */
static bool check_freeable(cs_cx *x, cs_io *a) {
  uint32_t node;

  if (a->id <= INT32_MAX && cs_bus_state(x->eng, (int)a->id) == 2)
    return cs_op_fail(x, SONO_E_BUSY,
                      "bus %llu was already freed and is still in use by live synths; it is "
                      "reclaimed when the last of them ends",
                      (unsigned long long)a->id);
  if (a->id > INT32_MAX || cs_bus_state(x->eng, (int)a->id) != 1)
    return cs_op_fail(x, SONO_E_UNKNOWN_BUS, "no bus %llu", (unsigned long long)a->id);
  if ((node = busnode_ctl_exposing((int)a->id)) != 0)
    return cs_op_fail(x, SONO_E_BUSY, "bus %llu is exposed by graph node %u; node.delete it first",
                      (unsigned long long)a->id, node);
  a->bus = (int)a->id;
  return true;
}

static bool call_free(cs_cx *x, cs_io *a) {
  if (!cs_ok(x, cs_bus_free(x->eng, a->bus, &x->e)))
    return false;
  state_note_bus_free(x->r->d, a->bus);
  return true;
}

static const cs_op new_op = {
  .name = "bus.new", .in = { STR(kind), CHECK(check_kind) },
  .call = call_new, .enoent = SONO_E_UNKNOWN_BUS,
  .out = { OUT(bus), OUT(kind) },
};
static const cs_op set_op = {
  .name = "bus.set", .in = { BUS, DOUBLE(value), TIME },
  .call = call_set, .enoent = SONO_E_UNKNOWN_BUS,
  .out = { OUT(frame) },
};
static const cs_op get_op = {
  .name = "bus.get", .in = { BUS },
  .call = call_get, .enoent = SONO_E_UNKNOWN_BUS,
  .out = { OUT(bus), OUT(value) },
};
static const cs_op free_op = {
  .name = "bus.free", .in = { UINT_AS("bus", id), CHECK(check_freeable) },
  .call = call_free, .enoent = SONO_E_UNKNOWN_BUS,
};

void op_bus_new(request *r) { cs_op_run(r, &new_op); }
void op_bus_set(request *r) { cs_op_run(r, &set_op); }
void op_bus_get(request *r) { cs_op_run(r, &get_op); }
void op_bus_free(request *r) { cs_op_run(r, &free_op); }
