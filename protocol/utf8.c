/* utf8.c - see utf8.h. */
#include "protocol/utf8.h"

#include <stdint.h>
#include <string.h>

/* The length of the valid UTF-8 sequence at p (1..4), or 0 when the
 * bytes there are not one: a stray continuation byte, 0xc0/0xc1 or past
 * 0xf4, a sequence cut short, an overlong form, a surrogate, or a code
 * point past U+10FFFF. */
static size_t utf8_seq(const unsigned char *p, size_t avail) {
  unsigned char c = p[0];
  unsigned n;
  uint32_t cp, min;

  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 1;
    cp = c & 0x1f;
    min = 0x80;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 2;
    cp = c & 0x0f;
    min = 0x800;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 3;
    cp = c & 0x07;
    min = 0x10000;
  } else {
    return 0;
  }
  if (avail <= n)
    return 0;
  for (unsigned i = 1; i <= n; i++) {
    if ((p[i] & 0xc0) != 0x80)
      return 0;
    cp = cp << 6 | (p[i] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return n + 1;
}

int sono_utf8_valid(const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s;
  size_t off = 0, n;

  while (off < len) {
    if ((n = utf8_seq(p + off, len - off)) == 0)
      return 0;
    off += n;
  }
  return 1;
}

size_t sono_utf8_repair(const char *s, size_t len, char *out) {
  const unsigned char *p = (const unsigned char *)s;
  size_t off = 0, w = 0, n;

  while (off < len) {
    if ((n = utf8_seq(p + off, len - off)) > 0) {
      memcpy(out + w, p + off, n);
      w += n;
      off += n;
      continue;
    }
    /* Not UTF-8: read the byte as Latin-1, the likeliest encoding of a
     * plugin's or a file's name that is not. */
    out[w++] = (char)(0xc0 | p[off] >> 6);
    out[w++] = (char)(0x80 | (p[off] & 0x3f));
    off++;
  }
  return w;
}
