/* reply.h - answering requests. */
#ifndef SONOD_REPLY_H
#define SONOD_REPLY_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/net/client.h"

/* {id, ok: <map the caller packs>}: begin, pack one map, end. */
void reply_begin(msgpack_sbuffer *sb, msgpack_packer *pk, uint64_t id);
void reply_end(client *c, msgpack_sbuffer *sb);
/* {id, ok: {}} */
void reply_ok_empty(client *c, uint64_t id);
/* {id, ok: {frame: F}} */
void reply_ok_frame(client *c, uint64_t id, uint64_t frame);

void reply_error(client *c, bool has_id, uint64_t id, const char *code,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
