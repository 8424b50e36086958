/* request.h - decoding a request frame, finding its handler, and reading
 * its arguments with uniform error replies. */
#ifndef SONOD_REQUEST_H
#define SONOD_REQUEST_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/net/client.h"
#include "daemon/rt/cmd.h"

typedef struct request {
  sonod *d;
  client *c;
  uint64_t id;
  const char *op;
  const msgpack_object *args;   /* the whole request map */
  const char *payload;          /* the frame it came in, for client_retry_later */
  size_t len;
} request;

typedef void (*op_handler)(request *r);

typedef struct op_entry {
  const char *name;
  op_handler fn;
} op_entry;

/* Handles one frame's payload: decode, validate, dispatch. */
void request_handle(client *c, const char *payload, size_t len);

/* Argument readers.  Each returns true with *out set (or left at its
 * default when the argument is optional and absent), or replies with
 * missing_field / bad_type / bad_value and returns false: the handler then
 * simply returns. */
bool arg_uint(request *r, const char *key, bool required, uint64_t *out);
bool arg_int(request *r, const char *key, bool required, int64_t *out);
bool arg_double(request *r, const char *key, bool required, double *out);
bool arg_bool(request *r, const char *key, bool required, bool *out);
bool arg_str(request *r, const char *key, bool required, const char **out, size_t *len);
bool arg_array(request *r, const char *key, bool required, const msgpack_object_array **out);

/* Reads the optional "at" / "delay" into c->at_kind and c->at. */
bool arg_time(request *r, rt_cmd *c);

#endif
