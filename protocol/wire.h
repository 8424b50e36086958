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

/* plugin.state.get / plugin.state.set in pieces: the most state bytes one
 * page carries (PROTOCOL.md). */
#define SONO_STATE_PAGE_MAX (8u * 1024u * 1024u)
/* ...and the most plugin.state.get sends whole, unpaged: what fits in a
 * frame with room for the reply around it. */
#define SONO_STATE_WHOLE_MAX (16u * 1024u * 1024u - 4096u)

/* Looks for a map, anywhere in o (o itself, maps in arrays and in maps),
 * that holds the same string key twice.  Returns 1 with *dup the second
 * occurrence's key and *top true when that map is o itself; 0 when every
 * map's keys are distinct; -1 when out of memory.  Small maps are compared
 * pairwise, large ones sorted: O(n log n) in the keys.  Nesting must be
 * bounded (sono_scan bounds it for requests). */
int sono_dup_key(const msgpack_object *o, const msgpack_object **dup, bool *top);

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
/* Audio as data: an array of `channels` bins, bin k the `frames` float32
 * samples at base + k × stride (non-interleaved; little-endian, as the
 * hosts are). */
void sono_pack_audio(msgpack_packer *pk, const float *base, size_t stride, unsigned channels,
                     size_t frames);

/* A complete error reply frame: {id, error: {code, message}}.  has_id false
 * packs id as nil. */
void sono_pack_error_reply(msgpack_sbuffer *sb, bool has_id, uint64_t id,
                           const char *code, const char *message);

#endif
