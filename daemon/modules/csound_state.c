/* csound_state.c - the live Csound engine's section of the session file
 * (STATE.md, `csound`): written from the record the Csound ops keep
 * (csound_record.c), read into a staged form, restored.
 *
 * Restored in one step (rank 500), after the plugins and the MIDI routes
 * to instruments were closed: it waits for the closed routes' voices to
 * let go of their synth slots, undefines and frees what the file does not
 * define, compiles the file's code blocks and instruments one at a time,
 * each once Csound merged the one before (a 1 ms poll, given up after
 * 3 s) and each parsed on a libuv worker (restore_work), then makes its
 * tables and buses.  Control thread, but for the parse. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/backend/backend.h"
#include "daemon/modules/csound_ctl.h"
#include "daemon/modules/csound_record.h"
#include "daemon/modules/csound_state.h"
#include "daemon/modules/midi_cs.h"
#include "protocol/wire.h"

#define MERGE_POLL_MS 1
#define MERGE_WAIT_MS 3000

typedef struct staged {
  cs_session s;
  unsigned next;              /* the compile to do next: code blocks, then instruments */
  uint64_t wait_from;         /* loop time when the current wait began */
  session_restore *job;
} staged;

static void pack_csound(sonod *d, msgpack_packer *pk) {
  (void)d;
  csound_record_pack(pk);
}

/* ---- reading ---- */

static void free_csound(void *p) {
  staged *st = p;

  cs_session_free(&st->s);
  free(st);
}

static int parse_instrs(const msgpack_object_array *a, cs_session *s, char *err, size_t errlen) {
  uint32_t i, k;

  s->in = session_calloc(a->size, sizeof *s->in);
  for (i = 0; i < a->size; i++) {
    const msgpack_object *m = &a->ptr[i], *init;
    const msgpack_object_array *pa;
    st_instr *in = &s->in[s->nin];
    int64_t v;

    if (!session_is_map(m))
      return session_bad(err, errlen, "csound.instrs[%u] must be a map", i);
    s->nin++;
    if ((in->name = session_str(sono_map_get(m, "name"))) == NULL ||
        (in->body = session_str(sono_map_get(m, "body"))) == NULL)
      return session_bad(err, errlen, "csound.instrs[%u] needs string 'name' and 'body'", i);
    init = sono_map_get(m, "init");
    if (init != NULL && init->type != MSGPACK_OBJECT_NIL && (in->init = session_str(init)) == NULL)
      return session_bad(err, errlen, "csound.instrs[%u].init must be nil or a string", i);
    if (!session_int(sono_map_get(m, "priority"), 1, 99, &v))
      return session_bad(err, errlen, "csound.instrs[%u].priority must be 1..99", i);
    in->prio = (int)v;
    if ((pa = session_array(sono_map_get(m, "params"))) == NULL)
      return session_bad(err, errlen, "csound.instrs[%u].params must be an array", i);
    in->p = session_calloc(pa->size, sizeof *in->p);
    for (k = 0; k < pa->size; k++) {
      const msgpack_object *pm = &pa->ptr[k];

      if (!session_is_map(pm) || (in->p[k].name = session_str(sono_map_get(pm, "name"))) == NULL ||
          !session_num(sono_map_get(pm, "value"), &in->p[k].value))
        return session_bad(err, errlen, "csound.instrs[%u].params[%u] must be {name, value}", i,
                           k);
      in->np++;
    }
  }
  return 0;
}

static int parse_tables(const msgpack_object_array *a, cs_session *s, char *err, size_t errlen) {
  uint32_t i, k;

  s->tab = session_calloc(a->size, sizeof *s->tab);
  for (i = 0; i < a->size; i++) {
    const msgpack_object *m = &a->ptr[i], *data;
    st_table *t = &s->tab[s->ntab];
    int64_t v;

    if (!session_is_map(m))
      return session_bad(err, errlen, "csound.tables[%u] must be a map", i);
    s->ntab++;
    if (!session_int(sono_map_get(m, "table"), 0, INT32_MAX, &v))
      return session_bad(err, errlen, "csound.tables[%u].table must be a table number", i);
    t->num = (int)v;
    if (sono_map_get(m, "path") != NULL) {
      if ((t->path = session_str(sono_map_get(m, "path"))) == NULL)
        return session_bad(err, errlen, "csound.tables[%u].path must be a string", i);
      continue;
    }
    if (!session_int(sono_map_get(m, "size"), 1, INT32_MAX, &v))
      return session_bad(err, errlen, "csound.tables[%u] needs 'path' or a positive 'size'", i);
    t->size = (size_t)v;
    data = sono_map_get(m, "data");
    if (data != NULL && data->type != MSGPACK_OBJECT_NIL) {
      const msgpack_object_array *da = session_array(data);

      if (da == NULL || da->size != t->size)
        return session_bad(err, errlen, "csound.tables[%u].data must be nil or %zu numbers", i,
                           t->size);
      if ((t->data = malloc(t->size * sizeof *t->data)) == NULL)
        abort();
      for (k = 0; k < da->size; k++)
        if (!session_num(&da->ptr[k], &t->data[k]))
          return session_bad(err, errlen, "csound.tables[%u].data[%u] must be a number", i, k);
    }
  }
  return 0;
}

static int parse_buses(const msgpack_object_array *a, cs_session *s, char *err, size_t errlen) {
  uint32_t i;

  s->bus = session_calloc(a->size, sizeof *s->bus);
  for (i = 0; i < a->size; i++) {
    const msgpack_object *m = &a->ptr[i], *kind;
    st_bus *b = &s->bus[s->nbus];
    int64_t v;

    kind = session_is_map(m) ? sono_map_get(m, "kind") : NULL;
    if (!session_is_map(m) || !session_int(sono_map_get(m, "bus"), 0, INT32_MAX, &v) ||
        !(sono_str_eq(kind, "audio") || sono_str_eq(kind, "control")))
      return session_bad(err, errlen,
                         "csound.buses[%u] must be {bus, kind: audio|control, value}", i);
    b->id = (int)v;
    b->kind = sono_str_eq(kind, "audio") ? CS_BUS_AUDIO : CS_BUS_CONTROL;
    if (!session_num(sono_map_get(m, "value"), &b->value))
      b->value = 0;
    s->nbus++;
  }
  return 0;
}

static int parse_csound(const msgpack_object *o, void **out, char *err, size_t errlen) {
  staged *st = session_calloc(1, sizeof *st);
  cs_session *s = &st->s;
  const msgpack_object_array *a;
  uint32_t i;

  *out = st;
  if (o == NULL || o->type == MSGPACK_OBJECT_NIL)
    return 0;
  if (!session_is_map(o))
    return session_bad(err, errlen, "'csound' must be a map");
  if ((a = session_array(sono_map_get(o, "code"))) == NULL)
    return session_bad(err, errlen, "csound.code must be an array of strings");
  s->code = session_calloc(a->size, sizeof *s->code);
  for (i = 0; i < a->size; i++) {
    if ((s->code[i] = session_str(&a->ptr[i])) == NULL)
      return session_bad(err, errlen, "csound.code[%u] must be a string", i);
    s->ncode++;
  }
  if ((a = session_array(sono_map_get(o, "instrs"))) == NULL)
    return session_bad(err, errlen, "csound.instrs must be an array");
  if (parse_instrs(a, s, err, errlen) != 0)
    return -1;
  if ((a = session_array(sono_map_get(o, "tables"))) == NULL)
    return session_bad(err, errlen, "csound.tables must be an array");
  if (parse_tables(a, s, err, errlen) != 0)
    return -1;
  if ((a = session_array(sono_map_get(o, "buses"))) == NULL)
    return session_bad(err, errlen, "csound.buses must be an array");
  return parse_buses(a, s, err, errlen);
}

/* ---- restoring ---- */

/* Compile i of the file (its code blocks, then its instruments) runs on a
 * libuv worker: Csound parses a big one for seconds, and the loop serves
 * every client meanwhile (as csound.compile and instr.define do). */
typedef struct restore_work {
  uv_work_t work;
  staged *st;
  sonod *d;
  unsigned i;
  cs_compile_job *code;       /* a code block's, or */
  cs_define_job *instr;       /* an instrument's */
} restore_work;

static void compile_next(staged *st);

/* Compile i is over (rc, e): the session's record learns it, or it failed. */
static void compile_done(session_restore *j, const cs_session *s, unsigned i, int rc,
                         const cs_error *e) {
  sonod *d = session_sonod(j);
  unsigned k;

  if (i < s->ncode) {
    if (rc != 0) {
      session_failed(j, "csound.code[%u] not compiled: %s", i, e->msg);
      return;
    }
    state_note_compile(d, s->code[i]);
    session_count(j, "code");
  } else {
    const st_instr *in = &s->in[i - s->ncode];
    cs_param p[128];

    if (rc != 0) {
      session_failed(j, "instrument '%s' not defined: %s", in->name, e->msg);
      return;
    }
    for (k = 0; k < in->np && k < 128; k++) {
      p[k].name = in->p[k].name;
      p[k].value = in->p[k].value;
    }
    state_note_instr(d, in->name, in->body, p, k, in->init, in->prio);
    midi_cs_instr_defined(d, in->name);
    session_count(j, "instrs");
  }
}

static void restore_run(uv_work_t *w) {
  restore_work *rw = w->data;

  if (rw->code != NULL)
    cs_compile_run(rw->code);
  else
    cs_instr_define_run(rw->instr);
  csound_ctl_work_end();
}

/* Ends rw's compile; its result in e. */
static int restore_end(restore_work *rw, cs_error *e) {
  return rw->code != NULL ? cs_compile_end(rw->code, e) : cs_instr_define_end(rw->instr, e);
}

static void restore_after(uv_work_t *w, int status) {
  restore_work *rw = w->data;
  staged *st = rw->st;
  cs_error e;
  int rc;

  (void)status;   /* never cancelled */
  if (rw->d->stopping || csound_ctl_engine() == NULL) {
    /* The restore was abandoned and st is gone with it. */
    if (rw->code != NULL)
      cs_compile_discard(rw->code);
    else
      cs_instr_define_discard(rw->instr);
    free(rw);
    return;
  }
  memset(&e, 0, sizeof e);
  rc = restore_end(rw, &e);
  compile_done(st->job, &st->s, rw->i, rc, &e);
  free(rw);
  csound_ctl_poll(session_sonod(st->job));   /* what Csound printed */
  compile_next(st);
}

/* Begins compile i of the file.  Returns true when a worker has it
 * (restore_after goes on), false when it is over already. */
static bool compile_one(staged *st, cs_engine *eng, unsigned i) {
  const cs_session *s = &st->s;
  sonod *d = session_sonod(st->job);
  restore_work *rw = calloc(1, sizeof *rw);
  cs_error e;
  int rc;

  memset(&e, 0, sizeof e);
  if (rw == NULL) {
    snprintf(e.msg, sizeof e.msg, "out of memory");
    compile_done(st->job, s, i, CS_ENOMEM, &e);
    return false;
  }
  if (i < s->ncode) {
    rc = cs_compile_begin(eng, s->code[i], &rw->code, &e);
  } else {
    const st_instr *in = &s->in[i - s->ncode];
    cs_param p[128];
    unsigned k;

    for (k = 0; k < in->np && k < 128; k++) {
      p[k].name = in->p[k].name;
      p[k].value = in->p[k].value;
    }
    rc = cs_instr_define_begin(eng, in->name, in->body, p, k, in->init, in->prio, &rw->instr,
                               &e);
  }
  if (rc != 0 || (rw->code == NULL && rw->instr == NULL)) {   /* refused, or nothing to do */
    compile_done(st->job, s, i, rc, &e);
    free(rw);
    return false;
  }
  rw->work.data = rw;
  rw->st = st;
  rw->d = d;
  rw->i = i;
  csound_ctl_work_begin();
  if (uv_queue_work(d->loop, &rw->work, restore_run, restore_after) == 0)
    return true;
  /* No worker: here. */
  restore_run(&rw->work);
  rc = restore_end(rw, &e);
  compile_done(st->job, s, i, rc, &e);
  free(rw);
  return false;
}

/* Tables and buses, after the compiles. */
static void csound_data(session_restore *j, const cs_session *s, cs_engine *eng) {
  sonod *d = session_sonod(j);
  cs_error e;
  unsigned i;

  for (i = 0; i < s->ntab; i++) {
    const st_table *t = &s->tab[i];
    unsigned ch;
    double sr;
    int tab, rc;

    if (t->path != NULL)
      rc = cs_table_read(eng, t->path, &tab, &ch, &sr, &e);
    else
      rc = cs_table_new(eng, t->size, t->data, &tab, &e);
    if (rc != 0) {
      session_failed(j, "table %d not restored: %s", t->num, e.msg);
      continue;
    }
    state_note_table(d, tab, t->path, t->data, t->size);
    session_count_id(j, "tables", t->num, tab);
  }
  for (i = 0; i < s->nbus; i++) {
    int bus;

    if (cs_bus_new(eng, s->bus[i].kind, &bus, &e) != 0) {
      session_failed(j, "bus %d not restored: %s", s->bus[i].id, e.msg);
      continue;
    }
    if (s->bus[i].kind == CS_BUS_CONTROL)
      cs_bus_set(eng, bus, s->bus[i].value, 0, &e);
    state_note_bus(d, bus, s->bus[i].kind);
    session_count_id(j, "buses", s->bus[i].id, bus);
  }
  csound_ctl_poll(d);
}

/* The offline backend runs no k-cycles while idle: ask it for one, with
 * no client waiting for that render (a compile there merges at once, the
 * engine held; only one queued during a render can still be waiting).
 * The null and JACK clocks run them by themselves. */
static void offline_kcycle(sonod *d, cs_engine *eng) {
  char err[200];

  if (d->be->ops->render != NULL) {
    d->be->ops->poll(d->be);
    d->be->ops->render(d->be, 0, 0, cs_engine_ksmps(eng), NULL, err, sizeof err);
  }
}

static void on_merge_poll(session_restore *j, void *p);

/* Code blocks, then instruments, each once Csound merged the one before;
 * then tables and buses, and the step is over. */
static void compile_next(staged *st) {
  session_restore *j = st->job;
  sonod *d = session_sonod(j);
  cs_engine *eng = csound_ctl_engine();

  while (st->next < st->s.ncode + st->s.nin) {
    if (cs_compile_pending(eng)) {
      st->wait_from = uv_now(d->loop);
      session_poll(j, MERGE_POLL_MS, on_merge_poll);
      offline_kcycle(d, eng);
      return;
    }
    if (compile_one(st, eng, st->next++))
      return;   /* restore_after goes on */
  }
  csound_data(j, &st->s, eng);
  session_step_done(j);
}

static void on_merge_poll(session_restore *j, void *p) {
  staged *st = p;
  sonod *d = session_sonod(j);
  cs_engine *eng = csound_ctl_engine();
  unsigned total = st->s.ncode + st->s.nin;

  if (cs_compile_pending(eng) && uv_now(d->loop) - st->wait_from < MERGE_WAIT_MS) {
    offline_kcycle(d, eng);
    return;   /* (the poll in it may have ended a --length render and with it sonod) */
  }
  session_poll_stop(j);
  /* Given up: the rest would wait as long again. */
  for (; cs_compile_pending(eng) && st->next < total; st->next++) {
    if (st->next < st->s.ncode)
      session_failed(j, "csound.code[%u] not compiled: the previous compile was not merged "
                     "within %d ms (is the audio thread running?)", st->next, MERGE_WAIT_MS);
    else
      session_failed(j, "instrument '%s' not defined: the previous compile was not merged "
                     "within %d ms (is the audio thread running?)",
                     st->s.in[st->next - st->s.ncode].name, MERGE_WAIT_MS);
  }
  if (d->be->ops->render != NULL) {
    d->be->ops->poll(d->be);
    if (d->stopping)
      return;   /* session_shutdown freed j */
  }
  compile_next(st);
}

/* Once no voice pool is closing any more: what the file does not define
 * goes, then its compiles one by one. */
static void csound_begin(staged *st) {
  csound_record_reset(st->job, &st->s, csound_ctl_engine());
  st->next = 0;
  compile_next(st);
}

/* Waits for the closed pools' voices to end (their stop takes a block;
 * release tails take longer); after MERGE_WAIT_MS it goes on, and an
 * instrument that cannot be undefined is reported by csound_clear. */
static void on_pools_poll(session_restore *j, void *p) {
  sonod *d = session_sonod(j);
  cs_engine *eng = csound_ctl_engine();

  csound_ctl_poll(d);
  if (cs_pools_closing(eng) > 0 && uv_now(d->loop) - ((staged *)p)->wait_from < MERGE_WAIT_MS) {
    offline_kcycle(d, eng);
    return;   /* (the poll in it may have ended a --length render and with it sonod) */
  }
  session_poll_stop(j);
  if (d->be->ops->render != NULL) {
    d->be->ops->poll(d->be);
    if (d->stopping)
      return;   /* session_shutdown freed j */
  }
  csound_begin(p);
}

/* Rank 500, after the MIDI routes to instruments were closed (rank 400):
 * an instrument whose pool still holds synth slots cannot be undefined. */
static void restore_csound(session_restore *j, void *p) {
  staged *st = p;
  const cs_session *s = &st->s;
  sonod *d = session_sonod(j);
  cs_engine *eng = csound_ctl_engine();

  st->job = j;
  if (eng == NULL) {
    if (s->ncode + s->nin + s->ntab + s->nbus > 0)
      session_failed(j, "the Csound engine is not running: no code, instruments, tables or buses");
    session_step_done(j);
    return;
  }
  csound_ctl_poll(d);
  if (cs_pools_closing(eng) == 0) {
    csound_begin(st);
    return;
  }
  st->wait_from = uv_now(d->loop);
  session_poll(j, MERGE_POLL_MS, on_pools_poll);
  offline_kcycle(d, eng);
}

static unsigned total_code(const void *p) {
  return ((const staged *)p)->s.ncode;
}

static unsigned total_instrs(const void *p) {
  return ((const staged *)p)->s.nin;
}

static unsigned total_tables(const void *p) {
  return ((const staged *)p)->s.ntab;
}

static unsigned total_buses(const void *p) {
  return ((const staged *)p)->s.nbus;
}

static const session_step steps[] = {
  { 500, restore_csound },
};

/* The summary lists them in this order. */
static const session_tally tallies[] = {
  { "code", NULL, -1, "code blocks", total_code },
  { "instrs", NULL, 32, "instruments", total_instrs },
  { "tables", "table", 30, "tables", total_tables },
  { "buses", "bus", 31, "buses", total_buses },
};

const session_section csound_state_section = {
  .key = "csound",
  .pack = pack_csound,
  .parse = parse_csound,
  .free = free_csound,
  .steps = steps,
  .nsteps = sizeof steps / sizeof steps[0],
  .tallies = tallies,
  .ntallies = sizeof tallies / sizeof tallies[0],
};
