/* csound_record.h - what csound_record.c and csound_state.c share: the
 * Csound part of a session in memory (the record the ops keep, or a file's
 * staged).  Nothing else includes it.  Control thread only. */
#ifndef SONOD_CSOUND_RECORD_H
#define SONOD_CSOUND_RECORD_H

#include <msgpack.h>
#include <stddef.h>

#include "daemon/csound/cs_engine.h"
#include "daemon/session/section.h"

typedef struct st_param {
  char *name;
  double value;
} st_param;

typedef struct st_instr {
  char *name, *body, *init;   /* init may be NULL */
  st_param *p;
  unsigned np;
  int prio;
} st_instr;

typedef struct st_table {
  int num;
  char *path;                 /* read from this file, or NULL: generated */
  double *data;               /* generated: its values (NULL: zeros) */
  size_t size;
} st_table;

typedef struct st_bus {
  int id;
  cs_bus_kind kind;
  double value;
} st_bus;

/* The Csound part of a session: the record, or a file's, staged. */
typedef struct cs_session {
  char **code;
  unsigned ncode;
  st_instr *in;
  unsigned nin;
  st_table *tab;
  unsigned ntab;
  st_bus *bus;
  unsigned nbus;
} cs_session;

/* Frees what s holds (not s). */
void cs_session_free(cs_session *s);
/* The index of instrument `name` in s, or -1. */
int cs_session_find_instr(const cs_session *s, const char *name);

/* The section's value (STATE.md, `csound`) from the record and the engine. */
void csound_record_pack(msgpack_packer *pk);
/* A load starts Csound over: what `file` does not define is undefined (a
 * failure when Csound refuses), every table and bus is freed, and the
 * record forgets them and its code. */
void csound_record_reset(session_restore *j, const cs_session *file, cs_engine *eng);

#endif
