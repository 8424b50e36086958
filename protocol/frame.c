/* frame.c - incremental splitter for length-prefixed frames. */
#include "protocol/frame.h"

#include <stdlib.h>
#include <string.h>

void sono_framer_init(sono_framer *f, size_t max) {
  memset(f, 0, sizeof *f);
  f->max = max ? max : SONO_FRAME_MAX;
}

void sono_framer_free(sono_framer *f) {
  free(f->buf);
  f->buf = NULL;
  f->cap = f->len = 0;
}

int sono_framer_partial(const sono_framer *f) {
  return f->hdr_len > 0 || f->len > 0 || f->skip > 0;
}

void sono_frame_put_header(unsigned char out[SONO_FRAME_HEADER], uint32_t len) {
  out[0] = (unsigned char)(len >> 24);
  out[1] = (unsigned char)(len >> 16);
  out[2] = (unsigned char)(len >> 8);
  out[3] = (unsigned char)len;
}

uint32_t sono_frame_get_header(const unsigned char in[SONO_FRAME_HEADER]) {
  return (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
}

/* Grows the payload buffer in steps, so a peer that announces a large frame
 * costs memory only as its bytes actually arrive. */
static int reserve(sono_framer *f, size_t want) {
  size_t cap;
  char *p;

  if (want <= f->cap)
    return 0;
  cap = f->cap ? f->cap : 4096;
  while (cap < want)
    cap *= 2;
  if (cap > f->need)
    cap = f->need;
  p = realloc(f->buf, cap);
  if (p == NULL)
    return -1;
  f->buf = p;
  f->cap = cap;
  return 0;
}

int sono_framer_feed(sono_framer *f, const char *data, size_t n,
                     sono_frame_cb on_frame, sono_oversize_cb on_oversize, void *ud) {
  while (n > 0) {
    size_t take;

    if (f->skip > 0) {
      take = n < f->skip ? n : f->skip;
      f->skip -= take;
      data += take;
      n -= take;
      continue;
    }

    if (f->hdr_len < SONO_FRAME_HEADER) {
      take = SONO_FRAME_HEADER - f->hdr_len;
      if (take > n)
        take = n;
      memcpy(f->hdr + f->hdr_len, data, take);
      f->hdr_len += take;
      data += take;
      n -= take;
      if (f->hdr_len < SONO_FRAME_HEADER)
        break;
      f->need = sono_frame_get_header(f->hdr);
      f->len = 0;
      if (f->need > f->max) {
        f->skip = f->need;
        f->hdr_len = 0;
        on_oversize(ud, (uint32_t)f->need);
        continue;
      }
      if (f->need == 0) {
        f->hdr_len = 0;
        on_frame(ud, "", 0);
        continue;
      }
      if (n == 0)
        break;
    }

    take = f->need - f->len;
    if (take > n)
      take = n;
    /* A whole payload that is already in the caller's buffer is handed
     * over in place, without copying. */
    if (f->len == 0 && take == f->need) {
      f->hdr_len = 0;
      on_frame(ud, data, take);
      data += take;
      n -= take;
      continue;
    }
    if (reserve(f, f->len + take) != 0)
      return -1;
    memcpy(f->buf + f->len, data, take);
    f->len += take;
    data += take;
    n -= take;
    if (f->len == f->need) {
      f->hdr_len = 0;
      f->len = 0;
      on_frame(ud, f->buf, f->need);
      /* Do not keep a large buffer around for one large frame. */
      if (f->cap > 1024 * 1024) {
        sono_framer_free(f);
      }
    }
  }
  return 0;
}
