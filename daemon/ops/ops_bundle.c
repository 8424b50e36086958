/* ops_bundle.c - bundle {at?|delay?, ops: [{op, ...}]}: every member at
 * the bundle's frame, in order; ok {frame, results: [{ok: ...} |
 * {error: {...}}]}.  A member is a row of ops_synth.c run at the bundle's
 * time (cs_op.h).  A synth.start member using its instrument at a priority
 * it is not compiled at would compile it on the loop: those compiles run
 * off the loop first, one after the other (cs_op_defer), then the members
 * run at once. */
#include "daemon/ops/cs_op.h"
#include "daemon/ops/ops.h"

#include <stdlib.h>
#include <string.h>

#include "daemon/modules/csound_ctl.h"
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

/* Every member, in order, at the bundle's time: their results. */
static void run_members(request *r, const msgpack_object_array *ops, uint64_t at, uint64_t frame,
                        msgpack_packer *pk) {
  uint32_t i;

  msgpack_pack_array(pk, ops->size);
  for (i = 0; i < ops->size; i++)
    cs_op_member(r, member(&ops->ptr[i]), &ops->ptr[i], at, frame, pk);
}

/* The members run as their results are packed, once all were checked
 * (a deferred bundle ran them when its compiles ended). */
static void pack_results(cs_cx *x, cs_io *a, msgpack_packer *pk) {
  if (a->results != NULL)
    msgpack_sbuffer_write(pk->data, a->results->data, a->results->size);
  else
    run_members(x->r, a->ops, a->at, a->frame, pk);
}

/* ---- compiles off the loop ---- */

typedef struct bundle_work {
  cs_deferred base;
  cs_define_job *job;        /* the compile under way */
  uint32_t next;             /* the member to look at after its own */
  msgpack_sbuffer ops;       /* the members, packed (the request is gone by the end) */
  msgpack_unpacked unpacked;
  msgpack_sbuffer results;
  uint64_t at, frame;
} bundle_work;

/* Begins the compile of the first synth.start member from `from` on whose
 * instrument is not compiled at its priority; *next is the member after
 * it.  NULL when none needs one.  A member that is refused for any reason
 * (its instrument unknown, its priority out of range, a compile of its
 * instrument already running) begins nothing: it is refused when it runs,
 * as it would have been. */
static cs_define_job *next_compile(cs_engine *eng, const msgpack_object_array *ops,
                                   uint32_t from, uint32_t *next) {
  uint32_t i;

  for (i = from; i < ops->size; i++) {
    const msgpack_object *o = &ops->ptr[i];
    const msgpack_object *instr = sono_map_get(o, "instr"), *prio = sono_map_get(o, "priority");
    int64_t p = 0;
    cs_define_job *job = NULL;
    cs_error e;
    char *name;

    if (!sono_str_eq(sono_map_get(o, "op"), "synth.start") || instr == NULL ||
        instr->type != MSGPACK_OBJECT_STR || memchr(instr->via.str.ptr, 0, instr->via.str.size))
      continue;
    if (prio != NULL && prio->type == MSGPACK_OBJECT_POSITIVE_INTEGER && prio->via.u64 <= 99)
      p = (int64_t)prio->via.u64;
    else if (prio != NULL)
      continue;
    if ((name = strndup(instr->via.str.ptr, instr->via.str.size)) == NULL)
      continue;
    if (cs_instr_use_begin(eng, name, (int)p, &job, &e) != 0)
      job = NULL;
    free(name);
    if (job != NULL) {
      *next = i + 1;
      return job;
    }
  }
  return NULL;
}

static void bundle_run(cs_deferred *w) {
  cs_instr_define_run(((bundle_work *)w)->job);
}

/* The compile ended; the next one, if a later member needs one.  A
 * compile that failed leaves its member to compile again when it runs,
 * on the loop, where it is refused with the reason. */
static bool bundle_again(cs_deferred *w) {
  bundle_work *bw = (bundle_work *)w;
  cs_error e;

  cs_instr_define_end(bw->job, &e);
  bw->job = next_compile(csound_ctl_engine(), &bw->unpacked.data.via.array, bw->next, &bw->next);
  return bw->job != NULL;
}

static int bundle_end(cs_deferred *w, cs_io *io, cs_error *e) {
  bundle_work *bw = (bundle_work *)w;
  msgpack_packer pk;

  (void)e;
  msgpack_packer_init(&pk, &bw->results, msgpack_sbuffer_write);
  run_members(NULL, &bw->unpacked.data.via.array, bw->at, bw->frame, &pk);
  io->results = &bw->results;
  io->frame = bw->frame;
  return 0;
}

static void bundle_discard(cs_deferred *w) {
  bundle_work *bw = (bundle_work *)w;

  if (bw->job != NULL)
    cs_instr_define_discard(bw->job);
  bw->job = NULL;
}

static void bundle_release(cs_deferred *w) {
  bundle_work *bw = (bundle_work *)w;

  msgpack_unpacked_destroy(&bw->unpacked);
  msgpack_sbuffer_destroy(&bw->ops);
  msgpack_sbuffer_destroy(&bw->results);
  free(bw);
}

/* A copy of the members for the work; NULL when out of memory. */
static bundle_work *bundle_work_new(const cs_io *a) {
  bundle_work *bw = calloc(1, sizeof *bw);
  msgpack_object arr = { .type = MSGPACK_OBJECT_ARRAY };
  msgpack_packer pk;
  size_t off = 0;

  if (bw == NULL)
    return NULL;
  msgpack_sbuffer_init(&bw->ops);
  msgpack_sbuffer_init(&bw->results);
  msgpack_unpacked_init(&bw->unpacked);
  msgpack_packer_init(&pk, &bw->ops, msgpack_sbuffer_write);
  arr.via.array = *a->ops;
  if (msgpack_pack_object(&pk, arr) != 0 ||
      msgpack_unpack_next(&bw->unpacked, bw->ops.data, bw->ops.size, &off) !=
          MSGPACK_UNPACK_SUCCESS ||
      bw->unpacked.data.type != MSGPACK_OBJECT_ARRAY) {
    bundle_release(&bw->base);
    return NULL;
  }
  bw->at = a->at;
  bw->frame = a->frame;
  bw->base.run = bundle_run;
  bw->base.again = bundle_again;
  bw->base.end = bundle_end;
  bw->base.discard = bundle_discard;
  bw->base.release = bundle_release;
  return bw;
}

static bool call_bundle(cs_cx *x, cs_io *a) {
  uint32_t next = 0;
  cs_define_job *job = next_compile(x->eng, a->ops, 0, &next);
  bundle_work *bw;
  cs_error e;

  if (job == NULL)
    return true;   /* nothing to compile: the members run as the reply is packed */
  if ((bw = bundle_work_new(a)) == NULL) {
    cs_instr_define_run(job);   /* no memory to defer it: here, as before */
    cs_instr_define_end(job, &e);
    return true;
  }
  bw->job = job;
  bw->next = next;
  return cs_op_defer(x, &bw->base);
}

static const cs_op bundle_op = {
  .name = "bundle", .in = { ARRAY(ops, "an array of maps"), TIME, CHECK(check_members) },
  .call = call_bundle,
  .out = { OUT(frame), OUT_PACK("results", pack_results) },
};

void op_bundle(request *r) { cs_op_run(r, &bundle_op); }
