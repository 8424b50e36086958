/* reply.c - building reply frames. */
#include "daemon/net/reply.h"

#include <stdarg.h>
#include <stdio.h>

#include "protocol/errors.h"
#include "protocol/frame.h"
#include "protocol/wire.h"

void reply_begin(msgpack_sbuffer *sb, msgpack_packer *pk, uint64_t id) {
  sono_msg_begin(sb, pk);
  msgpack_pack_map(pk, 2);
  sono_pack_key_uint(pk, "id", id);
  sono_pack_cstr(pk, "ok");
}

/* The request id reply_begin packed: the uint right after the frame
 * header, the map's header and the key "id". */
static uint64_t packed_id(const msgpack_sbuffer *sb) {
  const size_t at = SONO_FRAME_HEADER + 1 + 3;
  msgpack_unpacked msg;
  uint64_t id = 0;
  size_t off = 0;

  msgpack_unpacked_init(&msg);
  if (sb->size > at && msgpack_unpack_next(&msg, sb->data + at, sb->size - at, &off) ==
                           MSGPACK_UNPACK_SUCCESS &&
      msg.data.type == MSGPACK_OBJECT_POSITIVE_INTEGER)
    id = msg.data.via.u64;
  msgpack_unpacked_destroy(&msg);
  return id;
}

void reply_end(client *c, msgpack_sbuffer *sb) {
  size_t len = sb->size - SONO_FRAME_HEADER;
  uint64_t id;

  if (sono_msg_end(sb) == 0) {
    client_send(c, sb);
    return;
  }
  /* Never a frame whose header does not match its length: the stream
   * would be lost from there on.  The request gets an error instead. */
  id = packed_id(sb);
  msgpack_sbuffer_destroy(sb);
  reply_error(c, true, id, SONO_E_REPLY_TOO_LARGE,
              "the reply would be %zu bytes, over the %u-byte frame limit", len,
              (unsigned)SONO_FRAME_MAX);
}

void reply_ok_empty(client *c, uint64_t id) {
  msgpack_sbuffer sb;
  msgpack_packer pk;

  reply_begin(&sb, &pk, id);
  msgpack_pack_map(&pk, 0);
  reply_end(c, &sb);
}

void reply_ok_frame(client *c, uint64_t id, uint64_t frame) {
  msgpack_sbuffer sb;
  msgpack_packer pk;

  reply_begin(&sb, &pk, id);
  msgpack_pack_map(&pk, 1);
  sono_pack_key_uint(&pk, "frame", frame);
  reply_end(c, &sb);
}

void reply_error(client *c, bool has_id, uint64_t id, const char *code, const char *fmt, ...) {
  msgpack_sbuffer sb;
  char message[512];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  sono_pack_error_reply(&sb, has_id, id, code, message);
  client_send(c, &sb);
}
