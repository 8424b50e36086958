/* ops_table.c - table.new / table.read / table.get / table.set /
 * table.free: the live Csound engine's function tables.  Rows of the
 * Csound op table (cs_op.h). */
#include "daemon/ops/cs_op.h"
#include "daemon/ops/ops.h"

#include <math.h>
#include <stdlib.h>

#include "daemon/modules/csound_state.h"
#include "daemon/session/session.h"
#include "protocol/errors.h"
#include "protocol/wire.h"

static bool check_size_or_data(cs_cx *x, cs_io *a) {
  bool has_size = sono_map_get(x->args, "size") != NULL;
  bool has_data = sono_map_get(x->args, "data") != NULL;

  (void)a;
  if (has_size == has_data)
    return cs_op_fail(x, SONO_E_BAD_REQUEST, "give 'size' or 'data' (one of them)");
  return true;
}

static bool call_new(cs_cx *x, cs_io *a) {
  if (a->data != NULL)
    a->size = a->ndata;
  if (!cs_ok(x, cs_table_new(x->eng, (size_t)a->size, a->data, &a->table, &x->e)))
    return false;
  state_note_table(x->r->d, a->table, NULL, a->data, (size_t)a->size);
  return true;
}

static bool call_read(cs_cx *x, cs_io *a) {
  double sr;

  if (!cs_ok(x, cs_table_read(x->eng, a->path, &a->table, &a->channels, &sr, &x->e)))
    return false;
  a->sr = sr > 0 && sr < 4e9 ? (unsigned)lround(sr) : 0;
  state_note_table(x->r->d, a->table, a->path, NULL, 0);
  return true;
}

/* The table's size, and by default everything from start to its end. */
static bool check_size(cs_cx *x, cs_io *a) {
  long size = cs_table_size(x->eng, a->table, &x->e);

  if (size < 0)
    return cs_ok(x, (int)size);
  a->size = (uint64_t)size;
  a->count = a->start < a->size ? a->size - a->start : 0;
  return true;
}

static bool call_get(cs_cx *x, cs_io *a) {
  if (a->count > 1u << 20)
    return cs_op_fail(x, SONO_E_BAD_VALUE, "at most 1048576 values per table.get");
  if ((a->data = malloc((a->count ? a->count : 1) * sizeof *a->data)) == NULL)
    return cs_op_fail(x, SONO_E_INTERNAL, "out of memory");
  return cs_ok(x, cs_table_get(x->eng, a->table, (size_t)a->start, a->data, (size_t)a->count,
                               &x->e));
}

static void pack_data(cs_cx *x, cs_io *a, msgpack_packer *pk) {
  uint64_t i;

  (void)x;
  msgpack_pack_array(pk, (uint32_t)a->count);
  for (i = 0; i < a->count; i++)
    msgpack_pack_double(pk, a->data[i]);
}

static bool call_set(cs_cx *x, cs_io *a) {
  if (!cs_ok(x, cs_table_set(x->eng, a->table, (size_t)a->start, a->data, a->ndata, a->at,
                             &x->e)))
    return false;
  session_changed(x->r->d);
  return true;
}

static bool call_free(cs_cx *x, cs_io *a) {
  if (!cs_ok(x, cs_table_free(x->eng, a->table, &x->e)))
    return false;
  state_note_table_free(x->r->d, a->table);
  return true;
}

static const cs_op new_op = {
  .name = "table.new", .in = { CHECK(check_size_or_data), UINT_OPT(size, 0), NUMS(false) },
  .call = call_new, .enoent = SONO_E_UNKNOWN_TABLE,
  .out = { OUT(table), OUT(size) },
};
static const cs_op read_op = {
  .name = "table.read", .in = { STR(path) },
  .call = call_read, .enoent = SONO_E_FILE_ERROR,
  .out = { OUT(table), OUT(channels), OUT(sr) },
};
static const cs_op get_op = {
  .name = "table.get", .in = { TABLE, UINT_OPT(start, 0), CHECK(check_size), UINT_OPT(count, 0) },
  .call = call_get, .enoent = SONO_E_UNKNOWN_TABLE,
  .out = { OUT(table), OUT(start), OUT(size), OUT_PACK("data", pack_data) },
};
static const cs_op set_op = {
  .name = "table.set", .in = { TABLE, UINT_OPT(start, 0), TIME, NUMS(true) },
  .call = call_set, .enoent = SONO_E_UNKNOWN_TABLE,
  .out = { OUT(frame) },
};
static const cs_op free_op = {
  .name = "table.free", .in = { TABLE },
  .call = call_free, .enoent = SONO_E_UNKNOWN_TABLE,
};

void op_table_new(request *r) { cs_op_run(r, &new_op); }
void op_table_read(request *r) { cs_op_run(r, &read_op); }
void op_table_get(request *r) { cs_op_run(r, &get_op); }
void op_table_set(request *r) { cs_op_run(r, &set_op); }
void op_table_free(request *r) { cs_op_run(r, &free_op); }
