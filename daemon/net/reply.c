/* reply.c - building reply frames. */
#include "daemon/net/reply.h"

#include <stdarg.h>
#include <stdio.h>

#include "protocol/wire.h"

void reply_begin(msgpack_sbuffer *sb, msgpack_packer *pk, uint64_t id) {
  sono_msg_begin(sb, pk);
  msgpack_pack_map(pk, 2);
  sono_pack_key_uint(pk, "id", id);
  sono_pack_cstr(pk, "ok");
}

void reply_end(client *c, msgpack_sbuffer *sb) {
  sono_msg_end(sb);
  client_send(c, sb);
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
