/* wire.h - reading and writing protocol messages with msgpack-c.
 *
 * Readers look up a key in a request map and check its type, so that every
 * handler reports a missing or mistyped argument the same way.  Writers build
 * a whole frame (header included) in one msgpack_sbuffer. */
#ifndef SONO_PROTOCOL_WIRE_H
#define SONO_PROTOCOL_WIRE_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
  SONO_ARG_OK = 0,
  SONO_ARG_MISSING,
  SONO_ARG_BAD_TYPE,
} sono_arg;

/* The value stored under key in map, or NULL.  map must be a map object. */
const msgpack_object *sono_map_get(const msgpack_object *map, const char *key);

sono_arg sono_get_uint(const msgpack_object *map, const char *key, uint64_t *out);
sono_arg sono_get_int(const msgpack_object *map, const char *key, int64_t *out);
/* Accepts floats and integers. */
sono_arg sono_get_double(const msgpack_object *map, const char *key, double *out);
sono_arg sono_get_bool(const msgpack_object *map, const char *key, bool *out);
/* The string is not NUL-terminated. */
sono_arg sono_get_str(const msgpack_object *map, const char *key,
                      const char **out, size_t *len);
sono_arg sono_get_array(const msgpack_object *map, const char *key,
                        const msgpack_object_array **out);
sono_arg sono_get_map(const msgpack_object *map, const char *key,
                      const msgpack_object **out);

/* True when obj is a string equal to s. */
bool sono_str_eq(const msgpack_object *obj, const char *s);

/* Frame building: begin reserves the length header, end fills it in.
 * Between them pack exactly one map with pk. */
void sono_msg_begin(msgpack_sbuffer *sb, msgpack_packer *pk);
/* Returns -1 when the payload is larger than SONO_FRAME_MAX. */
int sono_msg_end(msgpack_sbuffer *sb);

void sono_pack_cstr(msgpack_packer *pk, const char *s);
void sono_pack_key_str(msgpack_packer *pk, const char *key, const char *val);
void sono_pack_key_uint(msgpack_packer *pk, const char *key, uint64_t val);
void sono_pack_key_int(msgpack_packer *pk, const char *key, int64_t val);
void sono_pack_key_double(msgpack_packer *pk, const char *key, double val);
void sono_pack_key_bool(msgpack_packer *pk, const char *key, bool val);

/* A complete error reply frame: {id, error: {code, message}}.  has_id false
 * packs id as nil. */
void sono_pack_error_reply(msgpack_sbuffer *sb, bool has_id, uint64_t id,
                           const char *code, const char *message);

#endif
