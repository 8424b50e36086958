/* scan.h - checking a msgpack payload before it is unpacked.
 *
 * msgpack-c's unpacker allocates an array's or a map's whole element
 * storage from the count in its header, before it knows the payload holds
 * that many elements: 16 bytes announcing 2^32 elements ask for 100+ GiB.
 * sono_scan walks the bytes first, without allocating, and refuses a
 * payload that announces more than it holds, nests too deep, holds too
 * many values, has a map key that is not a string, or a string that is
 * not valid UTF-8.  What passes unpacks into at most SONO_SCAN_MAX_VALUES
 * objects.  PROTOCOL.md, "Framing", states the same limits. */
#ifndef SONO_PROTOCOL_SCAN_H
#define SONO_PROTOCOL_SCAN_H

#include <stddef.h>

#include "protocol/utf8.h"   /* sono_utf8_valid, which the scan applies to strings */

/* Containers inside containers, the outermost map counting 1. */
#define SONO_SCAN_MAX_DEPTH 32
/* Every value counts one: scalars, strings, arrays, maps (a map entry is
 * two values, its key and its value). */
#define SONO_SCAN_MAX_VALUES 2097152u

typedef struct sono_scan_result {
  size_t values;        /* values seen (all of them when the payload passed) */
  size_t end;           /* offset just past the first whole value */
  size_t at;            /* on failure: the offset of the offending byte */
} sono_scan_result;

enum {
  SONO_SCAN_OK = 0,
  SONO_SCAN_TRUNCATED = -1,   /* the payload ends inside a value */
  SONO_SCAN_INVALID = -2,     /* a byte that starts no msgpack value (0xc1) */
  SONO_SCAN_TOO_DEEP = -3,
  SONO_SCAN_TOO_MANY = -4,    /* over SONO_SCAN_MAX_VALUES */
  SONO_SCAN_KEY_NOT_STR = -5, /* a map key that is not a string */
  SONO_SCAN_BAD_UTF8 = -6,    /* a str whose bytes are not UTF-8 */
};

/* Checks the first msgpack value in buf[0..len).  Returns SONO_SCAN_OK or
 * one of the failures above, with *res filled either way. */
int sono_scan(const char *buf, size_t len, sono_scan_result *res);

/* A sentence for a failure code, for error replies. */
const char *sono_scan_strerror(int code);

#endif
