/* Unit tests: splitting a byte stream into frames, and the msgpack
 * helpers shared by the daemon and libsono. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/frame.h"
#include "protocol/wire.h"
#include "tests/support/check_main.h"

typedef struct seen {
  int frames;
  int oversize;
  uint32_t oversize_len;
  char last[256];
  size_t last_len;
} seen;

static void on_frame(void *ud, const char *p, size_t n) {
  seen *s = ud;
  s->frames++;
  s->last_len = n;
  memcpy(s->last, p, n < sizeof s->last ? n : sizeof s->last);
}

static void on_oversize(void *ud, uint32_t len) {
  seen *s = ud;
  s->oversize++;
  s->oversize_len = len;
}

static size_t make_frame(char *out, const char *payload, uint32_t len) {
  sono_frame_put_header((unsigned char *)out, len);
  memcpy(out + 4, payload, len);
  return len + 4;
}

START_TEST(header_is_big_endian) {
  unsigned char h[4];
  sono_frame_put_header(h, 0x01020304);
  ck_assert_int_eq(h[0], 1);
  ck_assert_int_eq(h[3], 4);
  ck_assert_uint_eq(sono_frame_get_header(h), 0x01020304);
}
END_TEST

START_TEST(frames_split_at_every_byte) {
  char stream[64];
  size_t n = make_frame(stream, "hello", 5), i;
  sono_framer f;
  seen s = { 0 };

  n += make_frame(stream + n, "world!", 6);
  sono_framer_init(&f, 0);
  for (i = 0; i < n; i++)
    ck_assert_int_eq(sono_framer_feed(&f, stream + i, 1, on_frame, on_oversize, &s), 0);
  ck_assert_int_eq(s.frames, 2);
  ck_assert_uint_eq(s.last_len, 6);
  ck_assert_mem_eq(s.last, "world!", 6);
  ck_assert(!sono_framer_partial(&f));
  sono_framer_free(&f);
}
END_TEST

START_TEST(many_frames_in_one_read) {
  char stream[4096];
  size_t n = 0;
  int i;
  sono_framer f;
  seen s = { 0 };

  for (i = 0; i < 100; i++)
    n += make_frame(stream + n, "abc", 3);
  sono_framer_init(&f, 0);
  sono_framer_feed(&f, stream, n, on_frame, on_oversize, &s);
  ck_assert_int_eq(s.frames, 100);
  sono_framer_free(&f);
}
END_TEST

START_TEST(oversize_is_skipped_and_stream_recovers) {
  char *stream = malloc(2000);
  size_t n = 0;
  sono_framer f;
  seen s = { 0 };

  sono_frame_put_header((unsigned char *)stream, 1000);
  memset(stream + 4, 'x', 1000);
  n = 1004;
  n += make_frame(stream + n, "ok", 2);
  sono_framer_init(&f, 100);
  /* In two pieces, the cut inside the skipped payload. */
  sono_framer_feed(&f, stream, 500, on_frame, on_oversize, &s);
  ck_assert_int_eq(s.oversize, 1);
  ck_assert_uint_eq(s.oversize_len, 1000);
  ck_assert(sono_framer_partial(&f));
  sono_framer_feed(&f, stream + 500, n - 500, on_frame, on_oversize, &s);
  ck_assert_int_eq(s.frames, 1);
  ck_assert_mem_eq(s.last, "ok", 2);
  /* Nothing was buffered for the oversized frame. */
  ck_assert_uint_le(f.cap, 100);
  sono_framer_free(&f);
  free(stream);
}
END_TEST

START_TEST(empty_frame_is_delivered) {
  char stream[8];
  sono_framer f;
  seen s = { 0 };

  make_frame(stream, "", 0);
  sono_framer_init(&f, 0);
  sono_framer_feed(&f, stream, 4, on_frame, on_oversize, &s);
  ck_assert_int_eq(s.frames, 1);
  ck_assert_uint_eq(s.last_len, 0);
  sono_framer_free(&f);
}
END_TEST

static void unpack(msgpack_unpacked *u, const msgpack_sbuffer *sb) {
  size_t off = 0;
  msgpack_unpacked_init(u);
  ck_assert_int_eq(msgpack_unpack_next(u, sb->data + 4, sb->size - 4, &off), MSGPACK_UNPACK_SUCCESS);
  ck_assert_uint_eq(sono_frame_get_header((unsigned char *)sb->data), sb->size - 4);
}

START_TEST(wire_getters_check_types) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_unpacked u;
  uint64_t uv;
  int64_t iv;
  double dv;
  bool bv;
  const char *s;
  size_t len;
  const msgpack_object_array *arr;

  sono_msg_begin(&sb, &pk);
  msgpack_pack_map(&pk, 6);
  sono_pack_key_uint(&pk, "u", 42);
  sono_pack_key_int(&pk, "neg", -7);
  sono_pack_key_double(&pk, "f", 0.5);
  sono_pack_key_bool(&pk, "b", true);
  sono_pack_key_str(&pk, "s", "text");
  sono_pack_cstr(&pk, "a");
  msgpack_pack_array(&pk, 2);
  msgpack_pack_int(&pk, 1);
  msgpack_pack_int(&pk, 2);
  ck_assert_int_eq(sono_msg_end(&sb), 0);
  unpack(&u, &sb);

  ck_assert_int_eq(sono_get_uint(&u.data, "u", &uv), SONO_ARG_OK);
  ck_assert_uint_eq(uv, 42);
  ck_assert_int_eq(sono_get_uint(&u.data, "neg", &uv), SONO_ARG_BAD_TYPE);
  ck_assert_int_eq(sono_get_int(&u.data, "neg", &iv), SONO_ARG_OK);
  ck_assert_int_eq(iv, -7);
  ck_assert_int_eq(sono_get_int(&u.data, "u", &iv), SONO_ARG_OK);
  ck_assert_int_eq(iv, 42);
  ck_assert_int_eq(sono_get_double(&u.data, "f", &dv), SONO_ARG_OK);
  ck_assert_double_eq(dv, 0.5);
  ck_assert_int_eq(sono_get_double(&u.data, "u", &dv), SONO_ARG_OK);
  ck_assert_double_eq(dv, 42.0);
  ck_assert_int_eq(sono_get_double(&u.data, "s", &dv), SONO_ARG_BAD_TYPE);
  ck_assert_int_eq(sono_get_bool(&u.data, "b", &bv), SONO_ARG_OK);
  ck_assert(bv);
  ck_assert_int_eq(sono_get_bool(&u.data, "u", &bv), SONO_ARG_BAD_TYPE);
  ck_assert_int_eq(sono_get_str(&u.data, "s", &s, &len), SONO_ARG_OK);
  ck_assert_uint_eq(len, 4);
  ck_assert_mem_eq(s, "text", 4);
  ck_assert_int_eq(sono_get_array(&u.data, "a", &arr), SONO_ARG_OK);
  ck_assert_uint_eq(arr->size, 2);
  ck_assert_int_eq(sono_get_str(&u.data, "missing", &s, &len), SONO_ARG_MISSING);
  msgpack_unpacked_destroy(&u);
  msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(error_reply_shape) {
  msgpack_sbuffer sb;
  msgpack_unpacked u;
  const msgpack_object *err, *id;
  const char *s;
  size_t len;

  sono_pack_error_reply(&sb, false, 0, "bad_type", "'on' must be a boolean");
  unpack(&u, &sb);
  id = sono_map_get(&u.data, "id");
  ck_assert_ptr_nonnull(id);
  ck_assert_int_eq(id->type, MSGPACK_OBJECT_NIL);
  ck_assert_int_eq(sono_get_map(&u.data, "error", &err), SONO_ARG_OK);
  ck_assert_int_eq(sono_get_str(err, "code", &s, &len), SONO_ARG_OK);
  ck_assert_mem_eq(s, "bad_type", len);
  msgpack_unpacked_destroy(&u);
  msgpack_sbuffer_destroy(&sb);
}
END_TEST

static Suite *frame_suite(void) {
  Suite *s = suite_create("frame");
  TCase *tc = tcase_create("core");

  tcase_add_test(tc, header_is_big_endian);
  tcase_add_test(tc, frames_split_at_every_byte);
  tcase_add_test(tc, many_frames_in_one_read);
  tcase_add_test(tc, oversize_is_skipped_and_stream_recovers);
  tcase_add_test(tc, empty_frame_is_delivered);
  tcase_add_test(tc, wire_getters_check_types);
  tcase_add_test(tc, error_reply_shape);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(frame_suite)
