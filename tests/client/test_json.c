/* test_json.c - the msgpack→JSON printer and the JSON→arguments reader of
 * sonoctl. */
#include "json.h"

#include "protocol/frame.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Packs with pk into sb, unpacks, prints, compares. */
static void expect_json(msgpack_sbuffer *sb, const char *want) {
  msgpack_unpacked up;
  char *got;

  msgpack_unpacked_init(&up);
  ck_assert_int_eq(msgpack_unpack_next(&up, sb->data, sb->size, NULL),
                   MSGPACK_UNPACK_SUCCESS);
  got = json_from_msgpack(&up.data);
  ck_assert_ptr_nonnull(got);
  ck_assert_str_eq(got, want);
  free(got);
  msgpack_unpacked_destroy(&up);
  msgpack_sbuffer_clear(sb);
}

static void pack_str(msgpack_packer *pk, const char *s, size_t n) {
  msgpack_pack_str(pk, n);
  msgpack_pack_str_body(pk, s, n);
}

START_TEST(scalars) {
  msgpack_sbuffer sb;
  msgpack_packer pk;

  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);

  msgpack_pack_nil(&pk);
  expect_json(&sb, "null");
  msgpack_pack_true(&pk);
  expect_json(&sb, "true");
  msgpack_pack_uint64(&pk, 18446744073709551615ull);
  expect_json(&sb, "18446744073709551615");
  msgpack_pack_int64(&pk, INT64_MIN);
  expect_json(&sb, "-9223372036854775808");
  msgpack_pack_double(&pk, 440.0);
  expect_json(&sb, "440.0");
  msgpack_pack_double(&pk, 0.1);
  expect_json(&sb, "0.1");
  msgpack_pack_double(&pk, 1.0 / 3.0);
  expect_json(&sb, "0.3333333333333333");
  msgpack_pack_double(&pk, -2.5e-7);
  expect_json(&sb, "-2.5e-07");
  msgpack_pack_float(&pk, 0.5f);
  expect_json(&sb, "0.5");
  msgpack_pack_double(&pk, NAN);
  expect_json(&sb, "null");
  msgpack_pack_double(&pk, -INFINITY);
  expect_json(&sb, "null");
  msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(strings) {
  msgpack_sbuffer sb;
  msgpack_packer pk;

  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);

  pack_str(&pk, "a\"b\\c\n\t\x01/", 9);
  expect_json(&sb, "\"a\\\"b\\\\c\\n\\t\\u0001/\"");
  pack_str(&pk, "h\xc3\xa9llo \xf0\x9f\x8e\xb5", 11);   /* é and a 4-byte emoji */
  expect_json(&sb, "\"h\xc3\xa9llo \xf0\x9f\x8e\xb5\"");
  pack_str(&pk, "bad\xff\xc3", 5);                      /* invalid, then cut off */
  expect_json(&sb, "\"bad\\ufffd\\ufffd\"");
  pack_str(&pk, "\xc0\xaf", 2);                         /* overlong '/' */
  expect_json(&sb, "\"\\ufffd\\ufffd\"");
  pack_str(&pk, "nul\0x", 5);
  expect_json(&sb, "\"nul\\u0000x\"");
  pack_str(&pk, "", 0);
  expect_json(&sb, "\"\"");
  msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(containers_and_binary) {
  msgpack_sbuffer sb;
  msgpack_packer pk;

  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);

  /* {"event":"tone","on":true,"frame":24064,"freq":440.0,"tags":[1,[],{}]} */
  msgpack_pack_map(&pk, 5);
  pack_str(&pk, "event", 5);
  pack_str(&pk, "tone", 4);
  pack_str(&pk, "on", 2);
  msgpack_pack_true(&pk);
  pack_str(&pk, "frame", 5);
  msgpack_pack_uint32(&pk, 24064);
  pack_str(&pk, "freq", 4);
  msgpack_pack_double(&pk, 440);
  pack_str(&pk, "tags", 4);
  msgpack_pack_array(&pk, 3);
  msgpack_pack_int(&pk, 1);
  msgpack_pack_array(&pk, 0);
  msgpack_pack_map(&pk, 0);
  expect_json(&sb, "{\"event\":\"tone\",\"on\":true,\"frame\":24064,\"freq\":440.0,"
                   "\"tags\":[1,[],{}]}");

  /* Keys that are not strings are quoted JSON. */
  msgpack_pack_map(&pk, 3);
  msgpack_pack_int(&pk, -1);
  msgpack_pack_nil(&pk);
  msgpack_pack_true(&pk);
  msgpack_pack_int(&pk, 2);
  msgpack_pack_array(&pk, 1);
  pack_str(&pk, "k", 1);
  msgpack_pack_int(&pk, 3);
  expect_json(&sb, "{\"-1\":null,\"true\":2,\"[\\\"k\\\"]\":3}");

  /* bin as base64, with each padding length. */
  msgpack_pack_array(&pk, 4);
  msgpack_pack_bin(&pk, 0);
  msgpack_pack_bin(&pk, 1);
  msgpack_pack_bin_body(&pk, "\xff", 1);
  msgpack_pack_bin(&pk, 2);
  msgpack_pack_bin_body(&pk, "\x00\x10", 2);
  msgpack_pack_bin(&pk, 3);
  msgpack_pack_bin_body(&pk, "Man", 3);
  expect_json(&sb, "[\"\",\"/w==\",\"ABA=\",\"TWFu\"]");

  msgpack_pack_ext(&pk, 2, 5);
  msgpack_pack_ext_body(&pk, "ab", 2);
  expect_json(&sb, "{\"$ext\":5,\"data\":\"YWI=\"}");
  msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* Sends args over a socketpair with libsono and returns the request as JSON:
 * JSON → builder → wire → msgpack → JSON. */
static char *round_trip(sono_args *a) {
  int sv[2];
  unsigned char hdr[4];
  char *payload, *json;
  msgpack_unpacked up;
  sono_conn *c;
  uint32_t n;

  ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  c = sono_open_fd(sv[1], NULL);
  ck_assert_ptr_nonnull(c);
  ck_assert_uint_eq(sono_send(c, "x", a, NULL, NULL), 1);
  ck_assert(!sono_want_write(c));
  ck_assert_int_eq(recv(sv[0], hdr, 4, MSG_WAITALL), 4);
  n = sono_frame_get_header(hdr);
  payload = malloc(n);
  ck_assert_int_eq(recv(sv[0], payload, n, MSG_WAITALL), (int)n);
  msgpack_unpacked_init(&up);
  ck_assert_int_eq(msgpack_unpack_next(&up, payload, n, NULL), MSGPACK_UNPACK_SUCCESS);
  json = json_from_msgpack(&up.data);
  msgpack_unpacked_destroy(&up);
  free(payload);
  sono_close(c);
  close(sv[0]);
  return json;
}

START_TEST(read_arguments) {
  sono_args *a = sono_args_new();
  char err[128] = "";
  char *got;

  ck_assert_int_eq(json_to_args(" { \"on\": true, \"freq\": 440, \"amp\": 0.5, "
                                "\"neg\": -3, \"big\": 18446744073709551615, "
                                "\"s\": \"x\\u00e9\\ud83c\\udfb5\\n\", "
                                "\"arr\": [1, [2, false], {}], \"m\": {\"k\": null} } ",
                                a, err, sizeof err),
                   0);
  got = round_trip(a);
  ck_assert_str_eq(got, "{\"id\":1,\"op\":\"x\",\"on\":true,\"freq\":440,\"amp\":0.5,"
                        "\"neg\":-3,\"big\":18446744073709551615,"
                        "\"s\":\"x\xc3\xa9\xf0\x9f\x8e\xb5\\n\","
                        "\"arr\":[1,[2,false],{}],\"m\":{\"k\":null}}");
  free(got);

  sono_args_clear(a);
  ck_assert_int_eq(json_to_args("{}", a, err, sizeof err), 0);
  got = round_trip(a);
  ck_assert_str_eq(got, "{\"id\":1,\"op\":\"x\"}");
  free(got);
  sono_args_free(a);
}
END_TEST

static void read_bad(const char *text, const char *why) {
  sono_args *a = sono_args_new();
  char err[128] = "";

  ck_assert_int_eq(json_to_args(text, a, err, sizeof err), -1);
  ck_assert_msg(strstr(err, why) != NULL, "'%s': got '%s', want '%s'", text, err, why);
  sono_args_free(a);
}

START_TEST(read_errors) {
  read_bad("[1]", "must be a JSON object");
  read_bad("{\"a\":}", "unexpected character '}'");
  read_bad("{\"a\":1} x", "trailing characters");
  read_bad("{\"a\":1,}", "expected a string key");
  read_bad("{\"a\" 1}", "expected ':'");
  read_bad("{\"a\":\"open", "unterminated string");
  read_bad("{\"a\":tru}", "unexpected character 't'");
  read_bad("{\"a\":[1 2]}", "expected ',' or ']'");
  read_bad("{\"a\":\"\\q\"}", "bad escape");
  read_bad("{\"a\":1.2.3}", "malformed number");
}
END_TEST

int main(void) {
  Suite *s = suite_create("sonoctl-json");
  TCase *tc = tcase_create("json");
  SRunner *sr;
  int failed;

  tcase_set_timeout(tc, 10);
  tcase_add_test(tc, scalars);
  tcase_add_test(tc, strings);
  tcase_add_test(tc, containers_and_binary);
  tcase_add_test(tc, read_arguments);
  tcase_add_test(tc, read_errors);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
