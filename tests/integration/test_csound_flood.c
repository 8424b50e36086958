/* Integration: a client that floods the live Csound engine with requests
 * (issue 15, "queues that fill").  Csound ops are answered once queued, so
 * a fast client filled the 8 192-command ring to the audio thread and got
 * queue_full while the audio thread ran.  Now such a request waits, its
 * client held, until the ring has room (daemon/ops/cs_room.c): on the null
 * backend, whose audio thread runs on its own clock, every request of the
 * flood is answered ok, in order, and the last values are the ones that
 * sound.  On the offline backend between renders nothing takes commands:
 * there the flood is refused with queue_full after a second, not held for
 * ever, and a render lets the queued ones through. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "protocol/wire.h"
#include "tests/support/check_main.h"
#include "tests/support/harness.h"

#define NPARAMS 32          /* k-parameters set by every synth.set (a template's most): 32 commands each */
#define FLOOD 4000          /* requests: 128 000 commands, 15 ring-fulls */

static daemon_proc dp;
static conn c;

/* |k1=0, ..., k32=0| and a body that reads k1 (the rest only queue). */
static char *wide_body(void) {
  size_t cap = 64 + NPARAMS * 12, n = 0;
  char *b = malloc(cap);
  unsigned i;

  ck_assert_ptr_nonnull(b);
  n += (size_t)snprintf(b + n, cap - n, "|");
  for (i = 1; i <= NPARAMS; i++)
    n += (size_t)snprintf(b + n, cap - n, "%skx%u=0", i > 1 ? ", " : "", i);
  snprintf(b + n, cap - n, "|\nasig oscili 0.1 + kx1 * 0, 440\nouts asig, asig\n");
  return b;
}

/* One synth.set {synth, args: {k1..k32: value}} frame, id given. */
static void pack_set(msgpack_sbuffer *sb, uint64_t id, uint64_t synth, double value) {
  msgpack_packer pk;
  unsigned i;
  char key[12];

  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 4);
  sono_pack_key_uint(&pk, "id", id);
  sono_pack_key_str(&pk, "op", "synth.set");
  sono_pack_key_uint(&pk, "synth", synth);
  sono_pack_cstr(&pk, "args");
  msgpack_pack_map(&pk, NPARAMS);
  for (i = 1; i <= NPARAMS; i++) {
    snprintf(key, sizeof key, "kx%u", i);
    sono_pack_key_double(&pk, key, value);
  }
}

/* The flood: every request framed into one buffer, written by a thread
 * while the test reads the replies (sonod stops reading a client whose
 * replies pile up, so writing it all before reading would stall both). */
typedef struct flood {
  int fd;
  char *data;
  size_t len;
} flood;

static void *write_all(void *arg) {
  flood *f = arg;
  size_t off = 0;

  while (off < f->len) {
    ssize_t n = write(f->fd, f->data + off, f->len - off);
    if (n <= 0)
      break;
    off += (size_t)n;
  }
  return NULL;
}

static void flood_build(flood *f, uint64_t first_id, uint64_t synth, unsigned count) {
  msgpack_sbuffer all, one;
  unsigned i;

  msgpack_sbuffer_init(&all);
  for (i = 0; i < count; i++) {
    unsigned char hdr[4];

    msgpack_sbuffer_init(&one);
    pack_set(&one, first_id + i, synth, (double)i);
    hdr[0] = (unsigned char)(one.size >> 24);
    hdr[1] = (unsigned char)(one.size >> 16);
    hdr[2] = (unsigned char)(one.size >> 8);
    hdr[3] = (unsigned char)one.size;
    msgpack_sbuffer_write(&all, (const char *)hdr, 4);
    msgpack_sbuffer_write(&all, one.data, one.size);
    msgpack_sbuffer_destroy(&one);
  }
  f->fd = c.fd;
  f->len = all.size;
  f->data = msgpack_sbuffer_release(&all);
}

static uint64_t start_wide_synth(void) {
  char *body = wide_body();
  uint64_t id;

  conn_ok(&c, conn_request(&c, "instr.define", "ss", "name", "wide", "body", body));
  free(body);
  id = msg_uint(conn_ok(&c, conn_request(&c, "synth.start", "s", "instr", "wide")), "synth");
  ck_assert_uint_ne(id, 0);
  return id;
}

/* synth.get's value of parameter name. */
static double param_of(uint64_t synth, const char *name) {
  const msgpack_object *ok = conn_ok(&c, conn_request(&c, "synth.get", "u", "synth", synth));
  const msgpack_object *params = NULL;
  uint32_t i;

  for (i = 0; i < ok->via.map.size; i++)
    if (ok->via.map.ptr[i].key.via.str.size == 6 &&
        memcmp(ok->via.map.ptr[i].key.via.str.ptr, "params", 6) == 0)
      params = &ok->via.map.ptr[i].val;
  ck_assert_ptr_nonnull(params);
  return msg_double(params, name);
}

START_TEST(flood_waits_for_room) {
  const char *args[] = { "--backend", "null", "--block-size", "4096", "--ksmps", "32", NULL };
  uint64_t synth, i;
  unsigned errors = 0;
  pthread_t writer;
  flood f;
  int tries;

  daemon_start(&dp, args);
  conn_open(&c, dp.socket);
  synth = start_wide_synth();
  flood_build(&f, 1000, synth, FLOOD);
  ck_assert_int_eq(pthread_create(&writer, NULL, write_all, &f), 0);
  for (i = 0; i < FLOOD; i++) {
    const msgpack_object *m = conn_reply(&c, 1000 + i, 30000);
    const char *code = msg_error_code(m);

    if (code != NULL && errors++ == 0)
      fprintf(stderr, "test_csound_flood: request %llu refused: %s\n", (unsigned long long)i,
              code);
  }
  pthread_join(writer, NULL);
  free(f.data);
  ck_assert_msg(errors == 0, "%u of %d synth.set refused while the audio thread ran", errors,
                FLOOD);
  /* The daemon did have to wait: it says so in no reply, but the ring was
   * over-full 15 times; the values that count are the last ones, applied. */
  for (tries = 0; tries < 100 && param_of(synth, "kx32") != FLOOD - 1; tries++)
    usleep(20000);
  ck_assert_double_eq(param_of(synth, "kx1"), FLOOD - 1);
  ck_assert_double_eq(param_of(synth, "kx32"), FLOOD - 1);
  daemon_shutdown(&dp, &c);
}
END_TEST

START_TEST(flood_without_audio_is_refused_in_time) {
  char out[300], dir[200];
  const char *args[] = { "--backend", "offline", "--output", out, "--block-size", "256",
                         "--ksmps", "32", NULL };
  uint64_t synth, i, first_refused = 0;
  unsigned ok = 0, full = 0;
  pthread_t writer;
  flood f;

  tmp_dir_make(dir, sizeof dir, "flood");
  snprintf(out, sizeof out, "%s/out.wav", dir);
  daemon_start(&dp, args);
  conn_open(&c, dp.socket);
  /* The offline engine merges a compile only while it renders. */
  conn_ok(&c, conn_request(&c, "render", "u", "frames", (uint64_t)256));
  synth = start_wide_synth();
  conn_ok(&c, conn_request(&c, "render", "u", "frames", (uint64_t)256));
  flood_build(&f, 1000, synth, 400);   /* 12 800 commands for 8 192 places */
  ck_assert_int_eq(pthread_create(&writer, NULL, write_all, &f), 0);
  for (i = 0; i < 400; i++) {
    const msgpack_object *m = conn_reply(&c, 1000 + i, 10000);
    const char *code = msg_error_code(m);

    if (code == NULL) {
      ck_assert_msg(full == 0, "request %llu queued after a refusal", (unsigned long long)i);
      ok++;
    } else {
      ck_assert_str_eq(code, "queue_full");
      if (full++ == 0)
        first_refused = i;
    }
  }
  pthread_join(writer, NULL);
  free(f.data);
  /* Exactly what fits: 8 192 places, 32 commands a request. */
  ck_assert_uint_eq(ok, 8192 / NPARAMS);
  ck_assert_uint_eq(first_refused, ok);
  ck_assert_uint_eq(full, 400 - ok);
  ck_assert(daemon_log_contains(&dp, "took no command for 1000 ms"));
  /* A render takes the queued values; then the queue has room again. */
  conn_ok(&c, conn_request(&c, "render", "u", "frames", (uint64_t)512));
  ck_assert_double_eq(param_of(synth, "kx32"), (double)(ok - 1));
  daemon_shutdown(&dp, &c);
}
END_TEST

static Suite *flood_suite(void) {
  Suite *s = suite_create("csound_flood");
  TCase *tc = tcase_create("core");

  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, flood_waits_for_room);
  tcase_add_test(tc, flood_without_audio_is_refused_in_time);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(flood_suite)
