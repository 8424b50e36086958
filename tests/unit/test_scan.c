/* Unit tests: protocol/scan.c, the check a payload passes before msgpack-c
 * unpacks it. */
#include <check.h>
#include <msgpack.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/scan.h"
#include "tests/support/check_main.h"

static int scan(const void *buf, size_t len, sono_scan_result *r) {
  return sono_scan(buf, len, r);
}

/* 16 bytes that announce 2^32 - 1 elements: msgpack-c would ask for
 * count x sizeof(msgpack_object) before reading one of them. */
START_TEST(count_bombs_are_refused) {
  static const unsigned char arr[] = { 0x81, 0xa4, 'd', 'a', 't', 'a',
                                       0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0, 0xc0 };
  static const unsigned char map[] = { 0xdf, 0x10, 0x00, 0x00, 0x00, 0xa1, 'a', 0xc0 };
  static const unsigned char str[] = { 0xdb, 0x7f, 0xff, 0xff, 0xff, 'x' };
  static const unsigned char bin[] = { 0xc6, 0x7f, 0xff, 0xff, 0xff, 'x' };
  static const unsigned char ext[] = { 0xc9, 0x00, 0x01, 0x00, 0x00, 0x05, 'x' };
  sono_scan_result r;

  ck_assert_int_eq(scan(arr, sizeof arr, &r), SONO_SCAN_TRUNCATED);
  ck_assert_uint_eq(r.at, 6);
  ck_assert_int_eq(scan(map, sizeof map, &r), SONO_SCAN_TRUNCATED);
  ck_assert_uint_eq(r.at, 0);
  ck_assert_int_eq(scan(str, sizeof str, &r), SONO_SCAN_TRUNCATED);
  ck_assert_int_eq(scan(bin, sizeof bin, &r), SONO_SCAN_TRUNCATED);
  ck_assert_int_eq(scan(ext, sizeof ext, &r), SONO_SCAN_TRUNCATED);
}
END_TEST

/* Counts are checked against what is left after every container still
 * open: [[x, x, x], ...] where the outer array's items cannot fit. */
START_TEST(pending_items_count_across_levels) {
  /* [[1, 2, 3], 4, 5]: after the two headers, 3 + 2 items need at
   * least 5 bytes; the cut payload has 4. */
  static const unsigned char cut[] = { 0x93, 0x93, 0x01, 0x02, 0x03, 0x04 };
  static const unsigned char whole[] = { 0x93, 0x93, 0x01, 0x02, 0x03, 0x04, 0x05 };
  sono_scan_result r;

  ck_assert_int_eq(scan(cut, sizeof cut, &r), SONO_SCAN_TRUNCATED);
  ck_assert_int_eq(scan(whole, sizeof whole, &r), SONO_SCAN_OK);
  ck_assert_uint_eq(r.values, 7);
  ck_assert_uint_eq(r.end, sizeof whole);
}
END_TEST

static size_t nest(unsigned char *buf, unsigned levels) {
  size_t n = 0;

  for (unsigned i = 0; i < levels; i++)
    buf[n++] = 0x91;   /* [ */
  buf[n++] = 0x01;
  return n;
}

START_TEST(depth_limit) {
  unsigned char buf[64];
  sono_scan_result r;

  ck_assert_int_eq(scan(buf, nest(buf, SONO_SCAN_MAX_DEPTH), &r), SONO_SCAN_OK);
  ck_assert_uint_eq(r.values, SONO_SCAN_MAX_DEPTH + 1);
  ck_assert_int_eq(scan(buf, nest(buf, SONO_SCAN_MAX_DEPTH + 1), &r), SONO_SCAN_TOO_DEEP);
  ck_assert_uint_eq(r.at, SONO_SCAN_MAX_DEPTH);
}
END_TEST

/* One array of n nils: n + 1 values. */
static unsigned char *nils(uint32_t n, size_t *len) {
  unsigned char *buf = malloc(5 + (size_t)n);

  ck_assert_ptr_nonnull(buf);
  buf[0] = 0xdd;
  buf[1] = (unsigned char)(n >> 24);
  buf[2] = (unsigned char)(n >> 16);
  buf[3] = (unsigned char)(n >> 8);
  buf[4] = (unsigned char)n;
  memset(buf + 5, 0xc0, n);
  *len = 5 + (size_t)n;
  return buf;
}

START_TEST(value_limit) {
  sono_scan_result r;
  size_t len;
  unsigned char *buf = nils(SONO_SCAN_MAX_VALUES - 1, &len);

  ck_assert_int_eq(scan(buf, len, &r), SONO_SCAN_OK);
  ck_assert_uint_eq(r.values, SONO_SCAN_MAX_VALUES);
  free(buf);
  buf = nils(SONO_SCAN_MAX_VALUES, &len);
  ck_assert_int_eq(scan(buf, len, &r), SONO_SCAN_TOO_MANY);
  ck_assert_uint_eq(r.at, len - 1);
  free(buf);
}
END_TEST

START_TEST(keys_must_be_strings) {
  static const unsigned char intkey[] = { 0x81, 0x01, 0x02 };
  static const unsigned char inner[] = { 0x81, 0xa1, 'a', 0x81, 0xc0, 0x02 };
  static const unsigned char ok[] = { 0x81, 0xa1, 'a', 0x81, 0xa1, 'b', 0x01 };
  sono_scan_result r;

  ck_assert_int_eq(scan(intkey, sizeof intkey, &r), SONO_SCAN_KEY_NOT_STR);
  ck_assert_uint_eq(r.at, 1);
  ck_assert_int_eq(scan(inner, sizeof inner, &r), SONO_SCAN_KEY_NOT_STR);
  ck_assert_uint_eq(r.at, 4);
  ck_assert_int_eq(scan(ok, sizeof ok, &r), SONO_SCAN_OK);
}
END_TEST

START_TEST(utf8) {
  ck_assert_int_eq(sono_utf8_valid("plain", 5), 1);
  ck_assert_int_eq(sono_utf8_valid("\xc3\xa9t\xc3\xa9", 6), 1);            /* été */
  ck_assert_int_eq(sono_utf8_valid("\xe2\x82\xac", 3), 1);                 /* € */
  ck_assert_int_eq(sono_utf8_valid("\xf0\x9f\x8e\xb9", 4), 1);             /* U+1F3B9 */
  ck_assert_int_eq(sono_utf8_valid("\xf4\x8f\xbf\xbf", 4), 1);             /* U+10FFFF */
  ck_assert_int_eq(sono_utf8_valid("caf\xe9", 4), 0);                      /* Latin-1 */
  ck_assert_int_eq(sono_utf8_valid("\xc0\x80", 2), 0);                     /* overlong NUL */
  ck_assert_int_eq(sono_utf8_valid("\xe0\x80\xaf", 3), 0);                 /* overlong '/' */
  ck_assert_int_eq(sono_utf8_valid("\xed\xa0\x80", 3), 0);                 /* surrogate */
  ck_assert_int_eq(sono_utf8_valid("\xf4\x90\x80\x80", 4), 0);             /* > U+10FFFF */
  ck_assert_int_eq(sono_utf8_valid("\xe2\x82", 2), 0);                     /* cut short */
  ck_assert_int_eq(sono_utf8_valid("\x80", 1), 0);                         /* lone continuation */
}
END_TEST

static void repaired(const char *in, const char *want) {
  char out[64];
  size_t n = sono_utf8_repair(in, strlen(in), out);

  ck_assert_uint_eq(n, strlen(want));
  ck_assert(memcmp(out, want, n) == 0);
  ck_assert_int_eq(sono_utf8_valid(out, n), 1);
}

/* What sonod sends is repaired, byte by byte read as Latin-1 where it is
 * not UTF-8; what is UTF-8 already is left alone. */
START_TEST(utf8_repair) {
  repaired("plain", "plain");
  repaired("\xc3\xa9t\xc3\xa9", "\xc3\xa9t\xc3\xa9");
  repaired("caf\xe9", "caf\xc3\xa9");                         /* Latin-1 e acute */
  repaired("\xb0" "C", "\xc2\xb0" "C");                         /* Latin-1 degree */
  repaired("cut \xe2\x82", "cut \xc3\xa2\xc2\x82");              /* a character cut short */
  repaired("\xed\xa0\x80", "\xc3\xad\xc2\xa0\xc2\x80");         /* surrogate */
  repaired("\xf0\x9f\x8e\xb9!", "\xf0\x9f\x8e\xb9!");
}
END_TEST

START_TEST(strings_are_checked) {
  static const unsigned char bad[] = { 0x81, 0xa2, 'o', 'p', 0xa3, 'x', 0xff, 'y' };
  static const unsigned char badkey[] = { 0x81, 0xa2, 'o', 0xfe, 0x01 };
  static const unsigned char binary[] = { 0x81, 0xa1, 'b', 0xc4, 0x02, 0xff, 0xfe };
  sono_scan_result r;

  ck_assert_int_eq(scan(bad, sizeof bad, &r), SONO_SCAN_BAD_UTF8);
  ck_assert_uint_eq(r.at, 4);
  ck_assert_int_eq(scan(badkey, sizeof badkey, &r), SONO_SCAN_BAD_UTF8);
  /* bin is bytes: anything goes. */
  ck_assert_int_eq(scan(binary, sizeof binary, &r), SONO_SCAN_OK);
}
END_TEST

START_TEST(invalid_and_truncated) {
  static const unsigned char c1[] = { 0x91, 0xc1 };
  static const unsigned char cut_header[] = { 0x81, 0xa1, 'a', 0xcd, 0x01 };
  static const unsigned char cut_map16[] = { 0xde, 0x00 };
  sono_scan_result r;

  ck_assert_int_eq(scan(c1, sizeof c1, &r), SONO_SCAN_INVALID);
  ck_assert_uint_eq(r.at, 1);
  ck_assert_int_eq(scan(cut_header, sizeof cut_header, &r), SONO_SCAN_TRUNCATED);
  ck_assert_int_eq(scan(cut_map16, sizeof cut_map16, &r), SONO_SCAN_TRUNCATED);
  ck_assert_int_eq(scan("", 0, &r), SONO_SCAN_TRUNCATED);
}
END_TEST

/* Packs a random value of every msgpack type; returns how many values. */
static size_t pack_random(msgpack_packer *pk, unsigned depth, unsigned *seed) {
  unsigned kind = (unsigned)rand_r(seed) % (depth < 4 ? 12 : 10);
  size_t n = 1;
  char bytes[300];
  unsigned len = (unsigned)rand_r(seed) % 300;

  for (unsigned i = 0; i < len; i++)
    bytes[i] = (char)('a' + i % 26);
  switch (kind) {
  case 0: msgpack_pack_nil(pk); break;
  case 1: msgpack_pack_true(pk); break;
  case 2: msgpack_pack_uint64(pk, (uint64_t)rand_r(seed) << (rand_r(seed) % 40)); break;
  case 3: msgpack_pack_int64(pk, -(int64_t)((uint64_t)rand_r(seed) << (rand_r(seed) % 30))); break;
  case 4: msgpack_pack_float(pk, 1.5f); break;
  case 5: msgpack_pack_double(pk, -2.25); break;
  case 6: msgpack_pack_str_with_body(pk, bytes, len); break;
  case 7: msgpack_pack_bin_with_body(pk, bytes, len); break;
  case 8: msgpack_pack_ext_with_body(pk, bytes, len % 20, 7); break;
  case 9: msgpack_pack_int8(pk, -3); break;
  case 10: {
    unsigned items = (unsigned)rand_r(seed) % 20;

    msgpack_pack_array(pk, items);
    for (unsigned i = 0; i < items; i++)
      n += pack_random(pk, depth + 1, seed);
    break;
  }
  default: {
    unsigned items = (unsigned)rand_r(seed) % 20;

    msgpack_pack_map(pk, items);
    for (unsigned i = 0; i < items; i++) {
      msgpack_pack_str_with_body(pk, "k", 1);
      n += 1 + pack_random(pk, depth + 1, seed);
    }
    break;
  }
  }
  return n;
}

/* Whatever msgpack-c packs (with string keys and UTF-8 strings) passes,
 * with every value counted, and every prefix of it is refused. */
START_TEST(agrees_with_msgpack_c) {
  unsigned seed = 12345;

  for (int round = 0; round < 300; round++) {
    msgpack_sbuffer sb;
    msgpack_packer pk;
    sono_scan_result r;
    size_t values;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 3);
    values = 1;
    for (int i = 0; i < 3; i++)
      values += pack_random(&pk, 1, &seed);
    ck_assert_int_eq(scan(sb.data, sb.size, &r), SONO_SCAN_OK);
    ck_assert_uint_eq(r.values, values);
    ck_assert_uint_eq(r.end, sb.size);
    for (size_t cut = 0; cut < sb.size; cut += 1 + sb.size / 50)
      ck_assert_int_eq(scan(sb.data, cut, &r), SONO_SCAN_TRUNCATED);
    msgpack_sbuffer_destroy(&sb);
  }
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("scan");
  TCase *t = tcase_create("scan");

  tcase_add_test(t, count_bombs_are_refused);
  tcase_add_test(t, pending_items_count_across_levels);
  tcase_add_test(t, depth_limit);
  tcase_add_test(t, value_limit);
  tcase_add_test(t, keys_must_be_strings);
  tcase_add_test(t, utf8);
  tcase_add_test(t, utf8_repair);
  tcase_add_test(t, strings_are_checked);
  tcase_add_test(t, invalid_and_truncated);
  tcase_add_test(t, agrees_with_msgpack_c);
  suite_add_tcase(s, t);
  return s;
}

CHECK_MAIN(suite)
