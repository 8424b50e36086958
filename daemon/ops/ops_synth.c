/* ops_synth.c - synth.start / synth.set / synth.automate / synth.stop /
 * synth.list / synth.get: synths of the live Csound engine's instruments.
 * Rows of the Csound op table (cs_op.h); start, set, automate and stop are
 * also the members a bundle holds (ops_bundle.c). */
#include "daemon/ops/cs_op.h"
#include "daemon/ops/ops.h"

#include <stdlib.h>
#include <string.h>

#include "daemon/modules/csound_ctl.h"
#include "protocol/errors.h"
#include "protocol/wire.h"

static bool check_start(cs_cx *x, cs_io *a) {
  if (!cs_instr_exists(x->eng, a->instr))
    return cs_op_fail(x, SONO_E_UNKNOWN_INSTR, "no instrument named '%s'", a->instr);
  if (!cs_op_check_params(x, a->instr, a->args, a->nargs))
    return false;
  if (a->priority < 0 || a->priority > 99)
    return cs_op_fail(x, SONO_E_BAD_VALUE,
                      "'priority' must be 1..99 (0 or absent: the instrument's)");
  return true;
}

/* A synth's first start at a priority its instrument is not compiled at
 * compiles it there off the loop (cs_op_defer), then starts it. */
typedef struct start_work {
  cs_deferred base;
  cs_define_job *job;
  char *instr;
  cs_arg args[CS_OP_MAX_ARGS];   /* names owned */
  unsigned nargs;
  uint64_t at, frame;
  double dur;
  int priority;
  bool spread;
} start_work;

static void start_run(cs_deferred *w) {
  cs_instr_define_run(((start_work *)w)->job);
}

static int start_end(cs_deferred *w, cs_io *io, cs_error *e) {
  start_work *sw = (start_work *)w;
  cs_engine *eng = csound_ctl_engine();
  int rc = cs_instr_define_end(sw->job, e);

  if (rc == 0)
    rc = cs_synth_start_ex(eng, sw->instr, sw->args, sw->nargs, sw->at, sw->dur, sw->priority,
                           sw->spread, &io->synth, e);
  io->frame = sw->frame;
  return rc;
}

static void start_discard(cs_deferred *w) {
  cs_instr_define_discard(((start_work *)w)->job);
}

static void start_release(cs_deferred *w) {
  start_work *sw = (start_work *)w;

  free(sw->instr);
  cs_op_args_free(sw->args, sw->nargs);
  free(sw);
}

static start_work *start_work_new(const cs_io *a, cs_define_job *job) {
  start_work *sw = calloc(1, sizeof *sw);

  if (sw == NULL)
    return NULL;
  if ((sw->instr = strdup(a->instr)) == NULL || !cs_op_args_copy(sw->args, a->args, a->nargs)) {
    free(sw->instr);
    free(sw);
    return NULL;
  }
  sw->job = job;
  sw->nargs = a->nargs;
  sw->at = a->at;
  sw->frame = a->frame;
  sw->dur = a->dur;
  sw->priority = (int)a->priority;
  sw->spread = a->spread;
  sw->base.run = start_run;
  sw->base.end = start_end;
  sw->base.discard = start_discard;
  sw->base.release = start_release;
  return sw;
}

static bool call_start(cs_cx *x, cs_io *a) {
  cs_define_job *job = NULL;
  start_work *sw = NULL;

  /* A bundle's members start in one go, here. */
  if (!x->in_bundle &&
      !cs_ok(x, cs_instr_use_begin(x->eng, a->instr, (int)a->priority, &job, &x->e)))
    return false;
  if (job != NULL && (sw = start_work_new(a, job)) == NULL) {
    cs_instr_define_run(job);   /* no memory to defer it: here */
    if (!cs_ok(x, cs_instr_define_end(job, &x->e)))
      return false;
    job = NULL;
  }
  if (job == NULL)
    return cs_ok(x, cs_synth_start_ex(x->eng, a->instr, a->args, a->nargs, a->at, a->dur,
                                      (int)a->priority, a->spread, &a->synth, &x->e));
  return cs_op_defer(x, &sw->base);
}

static bool check_set(cs_cx *x, cs_io *a) {
  return cs_op_check_params(x, cs_synth_instr(x->eng, a->synth), a->args, a->nargs);
}

static bool call_set(cs_cx *x, cs_io *a) {
  return cs_ok(x, cs_synth_set(x->eng, a->synth, a->args, a->nargs, a->at, &x->e));
}

static bool check_automate(cs_cx *x, cs_io *a) {
  static const char *const modes[] = { "linear", "exp", "cos", "smooth" };
  const char *instr = cs_synth_instr(x->eng, a->synth);
  unsigned m;

  if (!cs_instr_has_param(x->eng, instr, a->param))
    return cs_op_fail(x, SONO_E_UNKNOWN_PARAM, "instrument '%s' has no parameter '%s'", instr,
                      a->param);
  for (m = 0; m < 4 && strcmp(modes[m], a->mode) != 0; m++)
    ;
  if (m == 4)
    return cs_op_fail(x, SONO_E_BAD_VALUE, "'mode' must be linear, exp, cos or smooth");
  a->auto_mode = (cs_auto_mode)m;
  return true;
}

static bool check_pairs(cs_cx *x, cs_io *a) {
  if (a->points->size < 2 || a->points->size % 2 != 0)
    return cs_op_fail(x, SONO_E_BAD_VALUE,
                      "'points' must hold pairs t0, v0, t1, v1, ... (at least one)");
  return true;
}

static bool call_automate(cs_cx *x, cs_io *a) {
  uint32_t i, n = a->points->size;

  if ((a->data = malloc(n * sizeof *a->data)) == NULL)
    return cs_op_fail(x, SONO_E_INTERNAL, "out of memory");
  for (i = 0; i < n; i++)
    if (!cs_op_number(&a->points->ptr[i], &a->data[i]))
      return cs_op_fail(x, cs_op_number_code(&a->points->ptr[i]),
                        "'points[%u]' must be a finite number", i);
  return cs_ok(x, cs_synth_automate(x->eng, a->synth, a->param, a->data, n / 2, a->auto_mode,
                                    a->at, &x->e));
}

static bool call_stop(cs_cx *x, cs_io *a) {
  return cs_ok(x, cs_synth_stop(x->eng, a->synth, a->at, &x->e));
}

static void pack_synths(cs_cx *x, cs_io *a, msgpack_packer *pk) {
  uint32_t n = 0, i;
  cs_synth_id id;

  (void)a;
  while (cs_synth_at(x->eng, n) != 0)
    n++;
  msgpack_pack_array(pk, n);
  for (i = 0; i < n; i++) {
    id = cs_synth_at(x->eng, i);
    msgpack_pack_map(pk, 2);
    sono_pack_key_uint(pk, "synth", id);
    sono_pack_key_str(pk, "instr", cs_synth_instr(x->eng, id));
  }
}

static bool call_get(cs_cx *x, cs_io *a) {
  a->instr = cs_synth_instr(x->eng, a->synth);
  return true;
}

const cs_op cs_synth_start_op = {
  .name = "synth.start",
  .in = { STR(instr), ARGS("args", false), DOUBLE_OPT(dur, -1), INT_OPT(priority, 0),
          BOOL_OPT(spread, false), CHECK(check_start), TIME },
  .call = call_start, .enoent = SONO_E_UNKNOWN_INSTR,
  .out = { OUT(synth), OUT(frame) },
};
const cs_op cs_synth_set_op = {
  .name = "synth.set", .in = { SYNTH, ARGS("args", true), CHECK(check_set), TIME },
  .call = call_set, .enoent = SONO_E_UNKNOWN_SYNTH,
  .out = { OUT(frame) },
};
const cs_op cs_synth_automate_op = {
  .name = "synth.automate",
  .in = { SYNTH, STR(param), STR_OPT(mode, "linear"), CHECK(check_automate),
          ARRAY(points, "an array of numbers"), CHECK(check_pairs), TIME },
  .call = call_automate, .enoent = SONO_E_UNKNOWN_SYNTH,
  .out = { OUT(frame) },
};
const cs_op cs_synth_stop_op = {
  .name = "synth.stop", .in = { SYNTH, TIME },
  .call = call_stop, .enoent = SONO_E_UNKNOWN_SYNTH,
  .out = { OUT(frame) },
};
static const cs_op list_op = {
  .name = "synth.list",
  .out = { OUT_PACK("synths", pack_synths) },
};
static const cs_op get_op = {
  .name = "synth.get", .in = { SYNTH },
  .call = call_get,
  .out = { OUT(synth), OUT(instr), OUT_PACK("params", cs_op_pack_params) },
};

void op_synth_start(request *r) { cs_op_run(r, &cs_synth_start_op); }
void op_synth_set(request *r) { cs_op_run(r, &cs_synth_set_op); }
void op_synth_automate(request *r) { cs_op_run(r, &cs_synth_automate_op); }
void op_synth_stop(request *r) { cs_op_run(r, &cs_synth_stop_op); }
void op_synth_list(request *r) { cs_op_run(r, &list_op); }
void op_synth_get(request *r) { cs_op_run(r, &get_op); }
