/* frame.h - the length-prefixed framing of the sonod protocol.
 *
 * A frame is a 4-byte big-endian payload length followed by the payload.
 * The framer is fed whatever bytes arrive and hands back whole payloads.
 * An oversized frame is reported and then skipped byte by byte, so a peer
 * that sends one loses that frame, not its connection. */
#ifndef SONO_PROTOCOL_FRAME_H
#define SONO_PROTOCOL_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define SONO_FRAME_HEADER 4
#define SONO_FRAME_MAX (16u * 1024u * 1024u)

typedef void (*sono_frame_cb)(void *ud, const char *payload, size_t len);
typedef void (*sono_oversize_cb)(void *ud, uint32_t len);

typedef struct sono_framer {
  unsigned char hdr[SONO_FRAME_HEADER];
  size_t hdr_len;   /* header bytes gathered so far */
  char *buf;        /* payload being assembled */
  size_t len;       /* payload bytes gathered so far */
  size_t cap;
  size_t need;      /* payload length announced by the header */
  size_t skip;      /* bytes of an oversized payload still to discard */
  size_t max;       /* largest payload accepted */
} sono_framer;

void sono_framer_init(sono_framer *f, size_t max);
void sono_framer_free(sono_framer *f);

/* Consumes all n bytes, calling on_frame for each complete payload and
 * on_oversize for each frame over the limit.  Returns 0, or -1 when memory
 * for a payload could not be allocated (the caller should drop the peer). */
int sono_framer_feed(sono_framer *f, const char *data, size_t n,
                     sono_frame_cb on_frame, sono_oversize_cb on_oversize, void *ud);

/* True while a frame is partly received: closing now would lose it. */
int sono_framer_partial(const sono_framer *f);

void sono_frame_put_header(unsigned char out[SONO_FRAME_HEADER], uint32_t len);
uint32_t sono_frame_get_header(const unsigned char in[SONO_FRAME_HEADER]);

#endif
