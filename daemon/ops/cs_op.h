/* cs_op.h - the live Csound engine's operations as rows of a table, in the
 * manner of redis's command table: each row names the arguments the op
 * reads (in order), the engine call it makes and what its reply holds.
 * cs_op.c runs a row; the rows are in ops_csound.c (csound.*),
 * ops_instr.c, ops_synth.c, ops_bundle.c, ops_bus.c, ops_table.c and
 * ops_channel.c.  Control thread only.  Private to daemon/ops.
 *
 * A row runs in three steps, the same for a single request and for a
 * member of a bundle:
 *   1. read: every `in` entry in order, into the op's cs_io; the first
 *      that fails records the error and ends the op.  A CHECK entry runs a
 *      function at that point, so checks keep their place among the reads.
 *   2. call: the engine call (or NULL for ops that only read), which
 *      records the engine's refusal with cs_ok().
 *   3. reply: a map of the `out` entries, each a field of cs_io or packed
 *      by a function.
 * Times: TIME turns `at` (engine frame) or `delay` (seconds) into the
 * Csound module's absolute frame (at) and the engine frame (frame) here,
 * on the control thread; the module applies them on the audio thread.  In
 * a bundle the members take the bundle's time. */
#ifndef SONOD_CS_OP_H
#define SONOD_CS_OP_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/csound/cs_engine.h"
#include "daemon/net/request.h"

#define CS_OP_MAX_ARGS 128   /* entries of an `args` / `params` map */
#define CS_OP_MAX_DUPS 64    /* strings copied out of one request */

/* What an op reads and what its reply holds, by field name: an argument or
 * a reply key is the name of its field here. */
typedef struct cs_io {
  const char *code, *name, *body, *init, *instr, *param, *mode, *kind, *path, *line, *text;
  cs_arg args[CS_OP_MAX_ARGS];    /* the `args` or `params` map */
  unsigned nargs;
  int64_t priority;
  bool spread;                    /* `spread`: starts may wait for room (csound.score, synth.start) */
  double dur, value;
  cs_synth_id synth;
  int bus, table;
  uint64_t id;                    /* bus.free's `bus`, before it is checked */
  uint64_t start, count, size;
  double *data;                   /* numbers (owned: freed with the op) */
  size_t ndata;
  const msgpack_object_array *ops, *points;  /* arrays as given */
  cs_bus_kind bus_kind;
  cs_auto_mode auto_mode;
  unsigned channels;
  unsigned sr;                    /* Hz: an integer, as every rate sonod reports */
  uint64_t at, frame;             /* TIME: the module's frame, the engine's */
  char warning[400];              /* csound.compile's, "" = none (OUT_TEXT_OPT) */
  const msgpack_sbuffer *results; /* a deferred bundle's results, packed (ops_bundle.c) */
} cs_io;

typedef struct cs_cx cs_cx;
typedef bool (*cs_fn)(cs_cx *x, cs_io *a);
typedef void (*cs_pack_fn)(cs_cx *x, cs_io *a, msgpack_packer *pk);

typedef enum {
  CS_IN_END = 0,
  CS_IN_STR,      /* a string without NUL bytes, copied */
  CS_IN_UINT,
  CS_IN_INT,
  CS_IN_DOUBLE,   /* finite */
  CS_IN_BOOL,
  CS_IN_ARGS,     /* a map of names to finite numbers, into args/nargs */
  CS_IN_ARRAY,    /* an array, as given */
  CS_IN_NUMS,     /* `data`: a non-empty array of finite numbers, into data/ndata */
  CS_IN_SYNTH,    /* `synth`: a live synth */
  CS_IN_BUS,      /* `bus`: a bus in use */
  CS_IN_TABLE,    /* `table`: a table number */
  CS_IN_TIME,     /* `at` or `delay` (or the bundle's time) into at/frame */
  CS_IN_CHECK,    /* runs fn */
} cs_in_kind;

typedef struct cs_in {
  cs_in_kind kind;
  const char *key;
  bool required;
  size_t off;               /* the field in cs_io */
  const char *what;         /* CS_IN_ARRAY: "an array of ..." */
  cs_fn fn;                 /* CS_IN_CHECK */
  int64_t idef;             /* defaults of optional arguments */
  double ddef;
  const char *sdef;
} cs_in;

typedef enum { CS_OUT_END = 0, CS_OUT_U64, CS_OUT_INT, CS_OUT_UNSIGNED, CS_OUT_DOUBLE, CS_OUT_STR,
               CS_OUT_PACK, CS_OUT_TEXT_OPT } cs_out_kind;

typedef struct cs_out {
  cs_out_kind kind;
  const char *key;
  size_t off;
  cs_pack_fn pack;          /* CS_OUT_PACK */
} cs_out;

typedef struct cs_op {
  const char *name;
  cs_in in[8];
  cs_fn call;               /* the engine call; NULL: none */
  const char *enoent;       /* the protocol error for the engine's CS_ENOENT */
  cs_out out[5];            /* none: the reply is {} */
} cs_op;

/* The offset of field f of cs_io, which must have type t (else the
 * _Generic has no match and the table does not compile). */
#define CS_FIELD(f, t) _Generic(((cs_io *)0)->f, t: offsetof(cs_io, f))

/* ---- `in` entries ---- */
#define STR(f) { .kind = CS_IN_STR, .key = #f, .required = true, .off = CS_FIELD(f, const char *) }
#define STR_OPT(f, d) \
  { .kind = CS_IN_STR, .key = #f, .off = CS_FIELD(f, const char *), .sdef = (d) }
#define UINT_OPT(f, d) { .kind = CS_IN_UINT, .key = #f, .off = CS_FIELD(f, uint64_t), .idef = (d) }
#define UINT_AS(key_, f) \
  { .kind = CS_IN_UINT, .key = key_, .required = true, .off = CS_FIELD(f, uint64_t) }
#define INT_OPT(f, d) { .kind = CS_IN_INT, .key = #f, .off = CS_FIELD(f, int64_t), .idef = (d) }
#define BOOL_OPT(f, d) { .kind = CS_IN_BOOL, .key = #f, .off = CS_FIELD(f, bool), .idef = (d) }
#define DOUBLE(f) { .kind = CS_IN_DOUBLE, .key = #f, .required = true, .off = CS_FIELD(f, double) }
#define DOUBLE_OPT(f, d) { .kind = CS_IN_DOUBLE, .key = #f, .off = CS_FIELD(f, double), .ddef = (d) }
#define ARGS(key_, req) { .kind = CS_IN_ARGS, .key = key_, .required = (req) }
#define ARRAY(f, what_) \
  { .kind = CS_IN_ARRAY, .key = #f, .required = true, \
    .off = CS_FIELD(f, const msgpack_object_array *), .what = what_ }
#define NUMS(req) { .kind = CS_IN_NUMS, .key = "data", .required = (req) }
#define SYNTH { .kind = CS_IN_SYNTH, .key = "synth", .required = true }
#define BUS { .kind = CS_IN_BUS, .key = "bus", .required = true }
#define TABLE { .kind = CS_IN_TABLE, .key = "table", .required = true }
#define TIME { .kind = CS_IN_TIME }
#define CHECK(f) { .kind = CS_IN_CHECK, .fn = (f) }

/* ---- `out` entries ---- */
#define OUT(f) \
  { .kind = _Generic(((cs_io *)0)->f, uint64_t: CS_OUT_U64, int: CS_OUT_INT, \
                     unsigned: CS_OUT_UNSIGNED, double: CS_OUT_DOUBLE, const char *: CS_OUT_STR), \
    .key = #f, .off = offsetof(cs_io, f) }
#define OUT_PACK(key_, f) { .kind = CS_OUT_PACK, .key = key_, .pack = (f) }
/* A char array of cs_io, in the reply only when not empty. */
#define OUT_TEXT_OPT(f) { .kind = CS_OUT_TEXT_OPT, .key = #f, .off = offsetof(cs_io, f) }

/* The state of one op while it runs. */
struct cs_cx {
  request *r;
  const msgpack_object *args;  /* the map being read */
  const char *op;
  const cs_op *row;
  cs_engine *eng;
  bool in_bundle;              /* the time is the bundle's: at_cs/frame */
  uint64_t at_cs, frame;
  const char *code;            /* NULL = ok so far */
  char msg[2048];
  int line;                    /* csound_error: line, 0 = none */
  cs_error e;                  /* for the engine call */
  bool deferred;               /* the call answers later (cs_op_defer) */
  struct cs_deferred *ran;     /* deferred but ran here (no worker): released with x */
  char *dups[CS_OP_MAX_DUPS];
  unsigned ndups;
  cs_io io;
};

/* ops_synth.c: the rows a bundle's members run (ops_bundle.c). */
extern const cs_op cs_synth_start_op, cs_synth_set_op, cs_synth_automate_op, cs_synth_stop_op;

/* Answers request r with row: the whole of a Csound op handler.  A call
 * may hand its work to cs_op_defer, which answers later. */
void cs_op_run(request *r, const cs_op *row);

/* A call that parses Csound code (seconds for a big orchestra) runs it off
 * the loop: the row's call fills the fields of a struct that begins with a
 * cs_deferred and hands it to cs_op_defer.  run goes on a libuv worker while
 * the loop serves every client; end, back on the loop, finishes the engine's
 * part and returns its result (0, or a CS_E* code with e), filling io with
 * what the row's reply packs.  This client's later requests wait for the
 * reply (client_hold), so they apply in the order it sent them.  The
 * daemon's shutdown waits for run (csound_ctl_work_*); discard replaces end
 * when the engine is gone meanwhile; release frees the struct, always
 * last.  again (may be NULL), back on the loop after each run and before
 * end, finishes that run's parse and may begin another for the same
 * request (a bundle's members at several priorities): true sends run to a
 * worker again. */
typedef struct cs_deferred cs_deferred;
struct cs_deferred {
  uv_work_t work;
  sonod *d;
  uint32_t client;
  uint64_t id;
  const cs_op *row;
  void (*run)(cs_deferred *w);
  int (*end)(cs_deferred *w, cs_io *io, cs_error *e);
  void (*discard)(cs_deferred *w);
  void (*release)(cs_deferred *w);
  bool (*again)(cs_deferred *w);
};
/* Copies of n args with their names, for a deferred call; false when out
 * of memory (nothing left to free).  cs_op_args_free frees them. */
bool cs_op_args_copy(cs_arg *to, const cs_arg *from, unsigned n);
void cs_op_args_free(cs_arg *a, unsigned n);
/* Queues w for row x (x->deferred: the reply comes later).  Without a
 * worker it runs here and answers as the call would: false with the error
 * recorded in x, else end's results in x's io.  w is released either way
 * (then with x). */
bool cs_op_defer(cs_cx *x, cs_deferred *w);

/* Runs row against map args inside a bundle at the bundle's time, packing
 * {ok: ...} or {error: {...}} into pk.  r may be NULL (a deferred bundle,
 * whose request is gone): the members need only the engine. */
void cs_op_member(request *r, const cs_op *row, const msgpack_object *args, uint64_t at_cs,
                  uint64_t frame, msgpack_packer *pk);

/* Records an error (code, "<op>: " fmt) and returns false. */
bool cs_op_fail(cs_cx *x, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* rc == 0, or records the engine's refusal (x->e) and returns false. */
bool cs_ok(cs_cx *x, int rc);
/* A finite number from a msgpack object. */
bool cs_op_number(const msgpack_object *o, double *v);
/* Why it refused o: bad_value for a float that is not finite, else bad_type. */
const char *cs_op_number_code(const msgpack_object *o);
/* Every name in a[0..n) is a parameter of instrument instr. */
bool cs_op_check_params(cs_cx *x, const char *instr, const cs_arg *a, unsigned n);
/* The parameters of a->instr with their defaults, or a->synth's values
 * when a->synth is not 0: {name: value}. */
void cs_op_pack_params(cs_cx *x, cs_io *a, msgpack_packer *pk);

#endif
