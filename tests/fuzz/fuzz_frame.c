/* fuzz_frame.c - libFuzzer harness for the bottom of the request path: the
 * framer (protocol/frame.c) and the check before unpacking
 * (protocol/scan.c), against msgpack-c itself.
 *
 * Properties checked on every input:
 *   - the framer hands back the same frames (and oversize reports) however
 *     the bytes are split into reads: all at once, and in pieces whose
 *     sizes the input's first byte chooses;
 *   - a payload sono_scan passes, msgpack-c unpacks whole, ending where the
 *     scan said the value ends, into no more values than the scan counted. */
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/frame.h"
#include "protocol/scan.h"

#define FRAME_MAX 4096   /* small: oversize frames are within the fuzzer's reach */

typedef struct trace {
  unsigned char sum[64];   /* a running digest of the frames seen */
  size_t frames;
  size_t oversize;
} trace;

static void mix(trace *t, const char *p, size_t n, unsigned char tag) {
  size_t h = t->frames * 31 + t->oversize * 17 + tag;

  for (size_t i = 0; i < n; i++) {
    h = h * 1099511628211u + (unsigned char)p[i];
    t->sum[i % sizeof t->sum] ^= (unsigned char)h;
  }
  t->sum[0] ^= (unsigned char)(n * 7 + tag);
  t->sum[1] ^= (unsigned char)(n >> 8);
}

static size_t count_values(const msgpack_object *o) {
  size_t n = 1;

  if (o->type == MSGPACK_OBJECT_ARRAY)
    for (uint32_t i = 0; i < o->via.array.size; i++)
      n += count_values(&o->via.array.ptr[i]);
  else if (o->type == MSGPACK_OBJECT_MAP)
    for (uint32_t i = 0; i < o->via.map.size; i++)
      n += count_values(&o->via.map.ptr[i].key) + count_values(&o->via.map.ptr[i].val);
  return n;
}

static void check_payload(const char *p, size_t len) {
  sono_scan_result sr;
  int rc = sono_scan(p, len, &sr);
  msgpack_unpacked msg;
  msgpack_unpack_return ret;
  size_t off = 0;

  /* Only what passed: msgpack-c would allocate what a refused payload
   * announces (that is why the scan exists). */
  if (rc != SONO_SCAN_OK)
    return;
  msgpack_unpacked_init(&msg);
  ret = msgpack_unpack_next(&msg, p, len, &off);
  {
    if (ret != MSGPACK_UNPACK_SUCCESS) {
      fprintf(stderr, "scan passed what msgpack-c does not unpack (%d)\n", (int)ret);
      abort();
    }
    if (off != sr.end) {
      fprintf(stderr, "scan says the value ends at %zu, msgpack-c at %zu\n", sr.end, off);
      abort();
    }
    if (count_values(&msg.data) > sr.values) {
      fprintf(stderr, "scan counted %zu values, msgpack-c made more\n", sr.values);
      abort();
    }
  }
  msgpack_unpacked_destroy(&msg);
}

static void on_frame(void *ud, const char *payload, size_t len) {
  trace *t = ud;

  mix(t, payload, len, 1);
  t->frames++;
  check_payload(payload, len);
}

static void on_oversize(void *ud, uint32_t len) {
  trace *t = ud;

  mix(t, (const char *)&len, sizeof len, 2);
  t->oversize++;
}

static void run(const char *data, size_t size, unsigned step, trace *t) {
  sono_framer f;
  size_t at = 0;

  memset(t, 0, sizeof *t);
  sono_framer_init(&f, FRAME_MAX);
  while (at < size) {
    size_t n = step == 0 ? size - at : (at % step) + 1;

    if (n > size - at)
      n = size - at;
    if (sono_framer_feed(&f, data + at, n, on_frame, on_oversize, t) != 0)
      abort();
    at += n;
  }
  sono_framer_free(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  trace whole, pieces;

  if (size == 0)
    return 0;
  run((const char *)data + 1, size - 1, 0, &whole);
  run((const char *)data + 1, size - 1, (data[0] % 13) + 1, &pieces);
  if (whole.frames != pieces.frames || whole.oversize != pieces.oversize ||
      memcmp(whole.sum, pieces.sum, sizeof whole.sum) != 0) {
    fprintf(stderr, "the framer cut differently when the reads were split\n");
    abort();
  }
  /* The payload alone, unframed, through the scan as well. */
  check_payload((const char *)data + 1, size - 1);
  return 0;
}
