/* scan.c - see scan.h.  One pass over the bytes with an explicit stack of
 * open containers, so neither hostile counts nor hostile nesting cost
 * memory or recursion. */
#include "protocol/scan.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

typedef struct open_container {
  uint64_t left;   /* items still to come; a map's entries count two */
  bool map;
} open_container;

static uint64_t be(const unsigned char *p, unsigned n) {
  uint64_t v = 0;

  for (unsigned i = 0; i < n; i++)
    v = v << 8 | p[i];
  return v;
}

/* What a value's header says. */
typedef struct value_head {
  uint64_t payload;   /* bytes after the header (strings, bin, ext, numbers) */
  uint64_t items;     /* a container's items; a map's entries count two */
  bool container;
  bool map;
  bool str;
} value_head;

/* Reads the header of the value at p into *v.  Returns the header's
 * length, 0 for 0xc1, -1 when the header itself is cut short. */
static int header(const unsigned char *p, size_t avail, value_head *v) {
  unsigned char b = p[0];
  unsigned lenbytes = 0, fixed = 0, skip = 0;

  *v = (value_head){0};
  if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
    return 1;
  if (b >= 0x80 && b <= 0x9f) {               /* fixmap, fixarray */
    v->container = true;
    v->map = b <= 0x8f;
    v->items = (uint64_t)(b & 0x0f) * (v->map ? 2 : 1);
    return 1;
  }
  if (b >= 0xa0 && b <= 0xbf) {
    v->payload = b & 0x1f;
    v->str = true;
    return 1;
  }
  switch (b) {
  case 0xc4: case 0xc5: case 0xc6:          /* bin 8/16/32 */
    lenbytes = 1u << (b - 0xc4);
    break;
  case 0xc7: case 0xc8: case 0xc9:          /* ext 8/16/32: length, then type */
    lenbytes = 1u << (b - 0xc7);
    skip = 1;
    break;
  case 0xca: fixed = 4; break;              /* float 32 */
  case 0xcb: fixed = 8; break;              /* float 64 */
  case 0xcc: case 0xd0: fixed = 1; break;   /* (u)int 8 */
  case 0xcd: case 0xd1: fixed = 2; break;
  case 0xce: case 0xd2: fixed = 4; break;
  case 0xcf: case 0xd3: fixed = 8; break;
  case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:  /* fixext: type + 1..16 */
    fixed = 1 + (1u << (b - 0xd4));
    break;
  case 0xd9: case 0xda: case 0xdb:          /* str 8/16/32 */
    lenbytes = 1u << (b - 0xd9);
    v->str = true;
    break;
  case 0xdc: case 0xdd:                     /* array 16/32 */
  case 0xde: case 0xdf:                     /* map 16/32 */
    lenbytes = b == 0xdc || b == 0xde ? 2 : 4;
    if (avail < 1 + (size_t)lenbytes)
      return -1;
    v->container = true;
    v->map = b >= 0xde;
    v->items = be(p + 1, lenbytes) * (v->map ? 2 : 1);
    return 1 + (int)lenbytes;
  default:                                  /* 0xc1: never used */
    return 0;
  }
  if (fixed > 0) {
    v->payload = fixed;
    return 1;
  }
  if (avail < 1 + (size_t)lenbytes + skip)
    return -1;
  v->payload = be(p + 1, lenbytes);
  return 1 + (int)(lenbytes + skip);
}

static int fail(sono_scan_result *res, int code, size_t at) {
  res->at = at;
  return code;
}

int sono_scan(const char *buf, size_t len, sono_scan_result *res) {
  const unsigned char *p = (const unsigned char *)buf;
  open_container stack[SONO_SCAN_MAX_DEPTH];
  unsigned depth = 0;
  uint64_t pending = 0;   /* items announced and not yet seen, all levels */
  size_t off = 0;

  res->values = res->end = res->at = 0;
  do {
    value_head v;
    bool is_key;
    size_t start = off;
    int h;

    if (off >= len)
      return fail(res, SONO_SCAN_TRUNCATED, off);
    is_key = depth > 0 && stack[depth - 1].map && stack[depth - 1].left % 2 == 0;
    h = header(p + off, len - off, &v);
    if (h == 0)
      return fail(res, SONO_SCAN_INVALID, off);
    if (h < 0)
      return fail(res, SONO_SCAN_TRUNCATED, off);
    if (is_key && !v.str)
      return fail(res, SONO_SCAN_KEY_NOT_STR, off);
    if (++res->values > SONO_SCAN_MAX_VALUES)
      return fail(res, SONO_SCAN_TOO_MANY, off);
    if (depth > 0) {
      stack[depth - 1].left--;
      pending--;
    }
    off += (size_t)h;
    if (v.payload > len - off)
      return fail(res, SONO_SCAN_TRUNCATED, start);
    if (v.str && !sono_utf8_valid(buf + off, (size_t)v.payload))
      return fail(res, SONO_SCAN_BAD_UTF8, start);
    off += (size_t)v.payload;
    if (v.container) {
      /* Every item announced, here and in the containers still open,
       * needs at least one byte of what is left. */
      if (depth == SONO_SCAN_MAX_DEPTH)
        return fail(res, SONO_SCAN_TOO_DEEP, start);
      if (v.items > len - off || pending + v.items > len - off)
        return fail(res, SONO_SCAN_TRUNCATED, start);
      stack[depth].left = v.items;
      stack[depth].map = v.map;
      depth++;
      pending += v.items;
    }
    while (depth > 0 && stack[depth - 1].left == 0)
      depth--;
  } while (depth > 0);
  res->end = off;
  return SONO_SCAN_OK;
}

const char *sono_scan_strerror(int code) {
  switch (code) {
  case SONO_SCAN_OK:
    return "valid";
  case SONO_SCAN_TRUNCATED:
    return "the payload ends inside a msgpack value, or a container announces more "
           "elements than the payload holds";
  case SONO_SCAN_INVALID:
    return "a byte that starts no msgpack value (0xc1)";
  case SONO_SCAN_TOO_DEEP:
    return "containers nested deeper than 32 levels";
  case SONO_SCAN_TOO_MANY:
    return "more than 2097152 msgpack values in one frame";
  case SONO_SCAN_KEY_NOT_STR:
    return "a map key that is not a string";
  case SONO_SCAN_BAD_UTF8:
    return "a string that is not valid UTF-8";
  default:
    return "invalid msgpack";
  }
}
