/* csound_record.c - the record of what the live Csound engine was given.
 * Csound keeps no record of the code and definitions it compiled, so the
 * Csound ops report each successful compile, instr.define/undefine, table
 * and bus here (state_note_*); saving writes the record, with the tables'
 * and control buses' values read back from the engine (STATE.md, `csound`).
 * Control thread only. */
#include <stdlib.h>
#include <string.h>

#include "daemon/base/log.h"
#include "daemon/modules/csound_ctl.h"
#include "daemon/modules/csound_record.h"
#include "daemon/modules/csound_state.h"
#include "daemon/session/session.h"
#include "protocol/wire.h"

/* What the Csound ops did so far. */
static cs_session rec;

/* ---- helpers ---- */

static void *grow(void *p, unsigned n, size_t size) {
  /* Room for element n (0-based): doubled as needed. */
  if ((n & (n - 1)) == 0) {
    void *q = realloc(p, (size_t)(n ? n * 2 : 4) * size);
    if (q == NULL) {
      log_error("state: out of memory");
      abort();
    }
    return q;
  }
  return p;
}

static char *xstrdup(const char *s) {
  char *p = s != NULL ? strdup(s) : NULL;

  if (s != NULL && p == NULL) {
    log_error("state: out of memory");
    abort();
  }
  return p;
}

static void instr_free(st_instr *in) {
  unsigned i;

  free(in->name);
  free(in->body);
  free(in->init);
  for (i = 0; i < in->np; i++)
    free(in->p[i].name);
  free(in->p);
}

int cs_session_find_instr(const cs_session *s, const char *name) {
  unsigned i;

  for (i = 0; i < s->nin; i++)
    if (strcmp(s->in[i].name, name) == 0)
      return (int)i;
  return -1;
}

void cs_session_free(cs_session *s) {
  unsigned i;

  for (i = 0; i < s->ncode; i++)
    free(s->code[i]);
  free(s->code);
  for (i = 0; i < s->nin; i++)
    instr_free(&s->in[i]);
  free(s->in);
  for (i = 0; i < s->ntab; i++) {
    free(s->tab[i].path);
    free(s->tab[i].data);
  }
  free(s->tab);
  free(s->bus);
  memset(s, 0, sizeof *s);
}

/* ---- the record the Csound ops keep ---- */

void state_note_compile(sonod *d, const char *code) {
  rec.code = grow(rec.code, rec.ncode, sizeof *rec.code);
  rec.code[rec.ncode++] = xstrdup(code);
  session_changed(d);
}

void state_note_instr(sonod *d, const char *name, const char *body, const cs_param *p,
                      unsigned np, const char *init, int priority) {
  int i = cs_session_find_instr(&rec, name);
  st_instr in;
  unsigned k;

  memset(&in, 0, sizeof in);
  in.name = xstrdup(name);
  in.body = xstrdup(body);
  in.init = xstrdup(init);
  in.prio = priority;
  in.np = np;
  in.p = session_calloc(np, sizeof *in.p);
  for (k = 0; k < np; k++) {
    in.p[k].name = xstrdup(p[k].name);
    in.p[k].value = p[k].value;
  }
  /* A redefinition keeps its place: definitions are restored in order. */
  if (i >= 0) {
    instr_free(&rec.in[i]);
    rec.in[i] = in;
  } else {
    rec.in = grow(rec.in, rec.nin, sizeof *rec.in);
    rec.in[rec.nin++] = in;
  }
  session_changed(d);
}

void state_note_instr_undefine(sonod *d, const char *name) {
  int i = cs_session_find_instr(&rec, name);

  if (i < 0)
    return;
  instr_free(&rec.in[i]);
  memmove(&rec.in[i], &rec.in[i + 1], (rec.nin - (unsigned)i - 1) * sizeof *rec.in);
  rec.nin--;
  session_changed(d);
}

void state_note_table(sonod *d, int tab, const char *path, const double *data, size_t size) {
  st_table *t;

  rec.tab = grow(rec.tab, rec.ntab, sizeof *rec.tab);
  t = &rec.tab[rec.ntab++];
  memset(t, 0, sizeof *t);
  t->num = tab;
  t->path = xstrdup(path);
  t->size = size;
  /* Kept until the table is ready and can be read back from the engine. */
  if (path == NULL && data != NULL && (t->data = malloc(size * sizeof *data)) != NULL)
    memcpy(t->data, data, size * sizeof *data);
  session_changed(d);
}

void state_note_table_free(sonod *d, int tab) {
  unsigned i;

  for (i = 0; i < rec.ntab; i++)
    if (rec.tab[i].num == tab) {
      free(rec.tab[i].path);
      free(rec.tab[i].data);
      memmove(&rec.tab[i], &rec.tab[i + 1], (rec.ntab - i - 1) * sizeof *rec.tab);
      rec.ntab--;
      session_changed(d);
      return;
    }
}

void state_note_bus(sonod *d, int bus, cs_bus_kind kind) {
  rec.bus = grow(rec.bus, rec.nbus, sizeof *rec.bus);
  rec.bus[rec.nbus].id = bus;
  rec.bus[rec.nbus].kind = kind;
  rec.bus[rec.nbus++].value = 0;
  session_changed(d);
}

void state_note_bus_free(sonod *d, int bus) {
  unsigned i;

  for (i = 0; i < rec.nbus; i++)
    if (rec.bus[i].id == bus) {
      memmove(&rec.bus[i], &rec.bus[i + 1], (rec.nbus - i - 1) * sizeof *rec.bus);
      rec.nbus--;
      session_changed(d);
      return;
    }
}

/* ---- writing ---- */

static void pack_instrs(msgpack_packer *pk) {
  unsigned i, k;

  sono_pack_cstr(pk, "instrs");
  msgpack_pack_array(pk, rec.nin);
  for (i = 0; i < rec.nin; i++) {
    const st_instr *in = &rec.in[i];

    msgpack_pack_map(pk, 5);
    sono_pack_key_str(pk, "name", in->name);
    sono_pack_key_str(pk, "body", in->body);
    sono_pack_cstr(pk, "init");
    if (in->init != NULL)
      sono_pack_cstr(pk, in->init);
    else
      msgpack_pack_nil(pk);
    sono_pack_key_int(pk, "priority", in->prio);
    sono_pack_cstr(pk, "params");
    msgpack_pack_array(pk, in->np);
    for (k = 0; k < in->np; k++) {
      msgpack_pack_map(pk, 2);
      sono_pack_key_str(pk, "name", in->p[k].name);
      sono_pack_key_double(pk, "value", in->p[k].value);
    }
  }
}

static void pack_tables(msgpack_packer *pk, cs_engine *eng) {
  unsigned i;

  sono_pack_cstr(pk, "tables");
  msgpack_pack_array(pk, rec.ntab);
  for (i = 0; i < rec.ntab; i++) {
    const st_table *t = &rec.tab[i];
    long size = -1;
    double *v = NULL;
    cs_error e;
    size_t j;

    if (t->path != NULL) {
      msgpack_pack_map(pk, 2);
      sono_pack_key_uint(pk, "table", (uint64_t)t->num);
      sono_pack_key_str(pk, "path", t->path);
      continue;
    }
    /* The values as they are now (table.set may have changed them); the
     * ones it was made with while it is not ready yet. */
    if (eng != NULL && (size = cs_table_size(eng, t->num, &e)) >= 0 &&
        (v = malloc(((size_t)size ? (size_t)size : 1) * sizeof *v)) != NULL &&
        cs_table_get(eng, t->num, 0, v, (size_t)size, &e) != 0) {
      free(v);
      v = NULL;
    }
    msgpack_pack_map(pk, 3);
    sono_pack_key_uint(pk, "table", (uint64_t)t->num);
    sono_pack_key_uint(pk, "size", v != NULL ? (uint64_t)size : t->size);
    sono_pack_cstr(pk, "data");
    if (v != NULL || t->data != NULL) {
      const double *src = v != NULL ? v : t->data;
      size_t n = v != NULL ? (size_t)size : t->size;

      msgpack_pack_array(pk, (uint32_t)n);
      for (j = 0; j < n; j++)
        msgpack_pack_double(pk, src[j]);
    } else {
      msgpack_pack_nil(pk);   /* zeros */
    }
    free(v);
  }
}

void csound_record_pack(msgpack_packer *pk) {
  cs_engine *eng = csound_ctl_engine();
  unsigned i;

  msgpack_pack_map(pk, 4);
  sono_pack_cstr(pk, "code");
  msgpack_pack_array(pk, rec.ncode);
  for (i = 0; i < rec.ncode; i++)
    sono_pack_cstr(pk, rec.code[i]);
  pack_instrs(pk);
  pack_tables(pk, eng);
  sono_pack_cstr(pk, "buses");
  msgpack_pack_array(pk, rec.nbus);
  for (i = 0; i < rec.nbus; i++) {
    double value = 0;

    if (eng != NULL && rec.bus[i].kind == CS_BUS_CONTROL)
      cs_bus_get(eng, rec.bus[i].id, &value, NULL);
    msgpack_pack_map(pk, 3);
    sono_pack_key_uint(pk, "bus", (uint64_t)rec.bus[i].id);
    sono_pack_key_str(pk, "kind", rec.bus[i].kind == CS_BUS_AUDIO ? "audio" : "control");
    sono_pack_key_double(pk, "value", value);
  }
}

/* ---- a load ---- */

/* What the file does not define goes; compiled code cannot be taken
 * back from Csound, so the record simply starts over with the file's. */
void csound_record_reset(session_restore *j, const cs_session *file, cs_engine *eng) {
  sonod *d = session_sonod(j);
  cs_error e;
  unsigned i;

  for (i = rec.nin; i-- > 0;)
    if (cs_session_find_instr(file, rec.in[i].name) < 0) {
      if (cs_instr_undefine(eng, rec.in[i].name, &e) != 0)
        session_failed(j, "instrument '%s' (not in the file) kept: %s", rec.in[i].name, e.msg);
      else
        state_note_instr_undefine(d, rec.in[i].name);
    }
  for (i = 0; i < rec.ntab; i++)
    cs_table_free(eng, rec.tab[i].num, &e);
  for (i = 0; i < rec.nbus; i++)
    cs_bus_free(eng, rec.bus[i].id, &e);
  while (rec.ntab > 0)
    state_note_table_free(d, rec.tab[0].num);
  while (rec.nbus > 0)
    state_note_bus_free(d, rec.bus[0].id);
  while (rec.ncode > 0)
    free(rec.code[--rec.ncode]);
}
