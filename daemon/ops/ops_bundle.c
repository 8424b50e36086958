/* ops_bundle.c - bundle {at?|delay?, ops: [{op, ...}]}: every member at
 * the bundle's frame, in order; ok {frame, results: [{ok: ...} |
 * {error: {...}}]}.  A member is a row of ops_synth.c run at the bundle's
 * time (cs_op.h). */
#include "daemon/ops/cs_op.h"
#include "daemon/ops/ops.h"

#include "protocol/errors.h"
#include "protocol/wire.h"

static const cs_op *const members[] = {
  &cs_synth_start_op,
  &cs_synth_set_op,
  &cs_synth_automate_op,
  &cs_synth_stop_op,
};
#define NMEMBERS (sizeof members / sizeof members[0])

static const cs_op *member(const msgpack_object *o) {
  const msgpack_object *name = o->type == MSGPACK_OBJECT_MAP ? sono_map_get(o, "op") : NULL;
  size_t k;

  if (name != NULL)
    for (k = 0; k < NMEMBERS; k++)
      if (sono_str_eq(name, members[k]->name))
        return members[k];
  return NULL;
}

static bool check_members(cs_cx *x, cs_io *a) {
  uint32_t i;

  for (i = 0; i < a->ops->size; i++) {
    const msgpack_object *o = &a->ops->ptr[i];

    if (o->type != MSGPACK_OBJECT_MAP || sono_map_get(o, "op") == NULL)
      return cs_op_fail(x, SONO_E_BAD_TYPE, "ops[%u] must be a map with 'op'", i);
    if (member(o) == NULL)
      return cs_op_fail(x, SONO_E_BAD_VALUE,
                        "ops[%u]: a bundle holds synth.start, synth.set, synth.automate and "
                        "synth.stop", i);
    /* Refused whole, before any member runs: a member timed on its own
     * would otherwise leave the rest of the chord applied without it. */
    if (sono_map_get(o, "at") != NULL || sono_map_get(o, "delay") != NULL)
      return cs_op_fail(x, SONO_E_BAD_REQUEST,
                        "ops[%u]: a bundle member takes its time from the bundle (no 'at' or "
                        "'delay' of its own)", i);
  }
  return true;
}

/* The members run as their results are packed, once all were checked. */
static void pack_results(cs_cx *x, cs_io *a, msgpack_packer *pk) {
  uint32_t i;

  msgpack_pack_array(pk, a->ops->size);
  for (i = 0; i < a->ops->size; i++)
    cs_op_member(x->r, member(&a->ops->ptr[i]), &a->ops->ptr[i], a->at, a->frame, pk);
}

static const cs_op bundle_op = {
  .name = "bundle", .in = { ARRAY(ops, "an array of maps"), TIME, CHECK(check_members) },
  .out = { OUT(frame), OUT_PACK("results", pack_results) },
};

void op_bundle(request *r) { cs_op_run(r, &bundle_op); }
