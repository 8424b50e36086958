/* test_conn.c - libsono against a scripted fake server over a socketpair:
 * request framing, reply matching, events during synchronous calls, errors,
 * the asynchronous mode under poll(), and a server that dies mid-frame. */
#include "peer.h"

#include "protocol/frame.h"
#include "protocol/wire.h"

#include <check.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ recording */

#define LOG_MAX 64

/* What the callbacks saw, in order. */
typedef struct {
  char entries[LOG_MAX][96];
  int n;
} cb_log;

static void log_add(cb_log *l, const char *s) {
  if (l->n < LOG_MAX)
    snprintf(l->entries[l->n++], sizeof l->entries[0], "%s", s);
}

static void on_event_log(sono_conn *c, const char *kind, const sono_reply *ev, void *ud) {
  cb_log *l = ud;
  char buf[96];
  uint64_t frame = 0, client = 0;
  bool on = false;
  double freq = 0;

  (void)c;
  if (strcmp(kind, "tone") == 0) {
    ck_assert_int_eq(sono_reply_bool(ev, "on", &on), 0);
    ck_assert_int_eq(sono_reply_uint(ev, "frame", &frame), 0);
    ck_assert_int_eq(sono_reply_double(ev, "freq", &freq), 0);
    snprintf(buf, sizeof buf, "event tone on=%d frame=%llu freq=%.1f", on,
             (unsigned long long)frame, freq);
  } else if (strcmp(kind, "client") == 0) {
    const char *action;
    ck_assert_int_eq(sono_reply_uint(ev, "client", &client), 0);
    ck_assert_int_eq(sono_reply_str(ev, "action", &action, NULL), 0);
    snprintf(buf, sizeof buf, "event client %llu %s", (unsigned long long)client, action);
  } else {
    snprintf(buf, sizeof buf, "event %s", kind);
  }
  log_add(l, buf);
}

typedef struct {
  cb_log *log;
  int tag;
} reply_ctx;

static void on_reply_log(sono_conn *c, const sono_reply *r, const sono_error *err,
                         void *ud) {
  reply_ctx *ctx = ud;
  char buf[96];
  uint64_t n = 0;

  (void)c;
  if (err != NULL) {
    snprintf(buf, sizeof buf, "reply tag=%d error %s/%s r=%s", ctx->tag,
             sono_kind_name(err->kind), err->code, r ? "yes" : "null");
  } else {
    sono_reply_uint(r, "n", &n);
    snprintf(buf, sizeof buf, "reply tag=%d id=%llu n=%llu", ctx->tag,
             (unsigned long long)sono_reply_id(r), (unsigned long long)n);
  }
  log_add(ctx->log, buf);
}

/* Pumps the connection until nothing is pending (or it breaks). */
static void drain(sono_conn *c) {
  int guard = 0;

  while (sono_pending(c) > 0 && guard++ < 100)
    if (sono_wait(c, 1000) < 0)
      break;
}

/* ------------------------------------------------------------ framing */

static void script_read_two(peer *p) {
  peer_req *r;

  if ((r = peer_read(p)) != NULL)
    peer_reply_empty(p, r->id);
  if ((r = peer_read(p)) != NULL)
    peer_reply_empty(p, r->id);
}

START_TEST(request_framing) {
  peer p;
  sono_conn *c = peer_start(&p, script_read_two, NULL);
  sono_args *a = sono_args_new();
  static const unsigned char blob[3] = {0x00, 0xff, 0x7f};
  const msgpack_object *m, *v, *arr, *nested;
  peer_req *r;
  uint64_t u;
  int64_t i;
  double d;
  bool b;
  const char *s;
  size_t len;

  ck_assert_ptr_nonnull(c);
  sono_args_uint(a, "u", 18446744073709551615ull);
  sono_args_int(a, "i", -42);
  sono_args_double(a, "d", 0.25);
  sono_args_bool(a, "b", true);
  sono_args_str(a, "s", "héllo");
  sono_args_bin(a, "bin", blob, sizeof blob);
  sono_args_nil(a, "nil");
  sono_args_begin_array(a, "arr");
  sono_args_uint(a, NULL, 1);
  sono_args_str(a, NULL, "two");
  sono_args_begin_map(a, NULL);
  sono_args_bool(a, "deep", false);
  sono_args_end(a);
  sono_args_end(a);
  sono_args_begin_map(a, "map");
  sono_args_begin_map(a, "inner");
  sono_args_int(a, "x", 7);
  sono_args_end(a);
  sono_args_end(a);

  ck_assert_int_eq(sono_call(c, "engine.tone", a, NULL, NULL), 0);
  ck_assert_int_eq(sono_call(c, "ping", NULL, NULL, NULL), 0);
  sono_args_free(a);
  sono_close(c);
  peer_join(&p);

  ck_assert_uint_eq(p.n_reqs, 2);
  r = &p.reqs[0];
  ck_assert_ptr_nonnull(r->map);
  ck_assert_int_eq(p.trailing, 0);          /* exactly one map per frame */
  ck_assert_uint_eq(r->header, r->len);
  m = r->map;
  ck_assert_uint_eq(m->via.map.size, 11);   /* id, op and nine arguments */
  ck_assert_uint_eq(r->id, 1);
  ck_assert_str_eq(r->op, "engine.tone");
  ck_assert_int_eq(sono_get_uint(m, "u", &u), SONO_ARG_OK);
  ck_assert(u == 18446744073709551615ull);
  ck_assert_int_eq(sono_get_int(m, "i", &i), SONO_ARG_OK);
  ck_assert_int_eq(i, -42);
  ck_assert_int_eq(sono_get_double(m, "d", &d), SONO_ARG_OK);
  ck_assert(d == 0.25);
  ck_assert_int_eq(sono_get_bool(m, "b", &b), SONO_ARG_OK);
  ck_assert(b);
  ck_assert_int_eq(sono_get_str(m, "s", &s, &len), SONO_ARG_OK);
  ck_assert_uint_eq(len, 6);
  ck_assert(memcmp(s, "héllo", 6) == 0);
  v = sono_map_get(m, "bin");
  ck_assert_int_eq(v->type, MSGPACK_OBJECT_BIN);
  ck_assert_uint_eq(v->via.bin.size, 3);
  ck_assert(memcmp(v->via.bin.ptr, blob, 3) == 0);
  v = sono_map_get(m, "nil");
  ck_assert_ptr_nonnull(v);
  ck_assert_int_eq(v->type, MSGPACK_OBJECT_NIL);
  arr = sono_map_get(m, "arr");
  ck_assert_int_eq(arr->type, MSGPACK_OBJECT_ARRAY);
  ck_assert_uint_eq(arr->via.array.size, 3);
  ck_assert_uint_eq(arr->via.array.ptr[0].via.u64, 1);
  ck_assert(sono_str_eq(&arr->via.array.ptr[1], "two"));
  ck_assert_int_eq(sono_get_bool(&arr->via.array.ptr[2], "deep", &b), SONO_ARG_OK);
  ck_assert(!b);
  ck_assert_int_eq(sono_get_map(m, "map", &nested), SONO_ARG_OK);
  ck_assert_uint_eq(nested->via.map.size, 1);
  ck_assert_int_eq(sono_get_map(nested, "inner", &nested), SONO_ARG_OK);
  ck_assert_int_eq(sono_get_int(nested, "x", &i), SONO_ARG_OK);
  ck_assert_int_eq(i, 7);

  /* A request without arguments is just {id, op}; ids count up. */
  r = &p.reqs[1];
  ck_assert_uint_eq(r->map->via.map.size, 2);
  ck_assert_uint_eq(r->id, 2);
  ck_assert_str_eq(r->op, "ping");
  peer_free(&p);
}
END_TEST

static void expect_no_conn(int rc, sono_error *e) {
  ck_assert_int_eq(rc, -1);
  ck_assert_int_eq(e->kind, SONO_ERR_USAGE);
  ck_assert_str_eq(e->code, "no_connection");
  memset(e, 0, sizeof *e);
}

/* The README's snippet with no daemon: sono_connect fails, and every call
 * given its NULL connection answers a usage error instead of crashing. */
START_TEST(null_connection_refused) {
  sono_error e;
  sono_conn *c = sono_connect("unix:/nonexistent-sonod-dir/sonod.sock", &e);
  sono_tone_opts t = SONO_TONE_OPTS_INIT;
  sono_status st;
  uint64_t frame;
  double rtt;
  void *data;
  size_t len;
  const char *kinds[] = { "tone" };

  ck_assert_ptr_null(c);
  ck_assert_str_eq(e.code, "connect_failed");
  t.on = true;
  expect_no_conn(sono_tone(c, &t, &frame, &e), &e);
  expect_no_conn(sono_call(c, "ping", NULL, NULL, &e), &e);
  expect_no_conn(sono_hello(c, "x", NULL, &e), &e);
  expect_no_conn(sono_ping(c, &rtt, &e), &e);
  expect_no_conn(sono_get_status(c, &st, &e), &e);
  expect_no_conn(sono_sync(c, &frame, &e), &e);
  expect_no_conn(sono_subscribe(c, kinds, 1, &e), &e);
  expect_no_conn(sono_render(c, 100, 0, &frame, &e), &e);
  expect_no_conn(sono_shutdown(c, &e), &e);
  expect_no_conn(sono_set_token(c, "token", &e), &e);
  expect_no_conn(sono_plugin_state_get(c, 1, &data, &len, NULL, &e), &e);
  expect_no_conn(sono_plugin_state_set(c, 1, "x", 1, &e), &e);
  ck_assert_uint_eq(sono_send(c, "ping", NULL, NULL, NULL), 0);
  ck_assert_int_eq(sono_flush(c), -1);
  ck_assert_int_eq(sono_process(c), -1);
  ck_assert_int_eq(sono_wait(c, 0), -1);
  ck_assert_int_eq(sono_fd(c), -1);
  ck_assert(sono_is_broken(c));
  ck_assert(!sono_want_write(c));
  ck_assert_uint_eq(sono_pending(c), 0);
  ck_assert_str_eq(sono_last_error(c)->code, "no_connection");
  sono_set_timeout(c, 10);
  sono_on_event(c, NULL, NULL);
  sono_close(c);
  /* A NULL argument other than the connection. */
  ck_assert_int_eq(sono_tone(NULL, NULL, NULL, NULL), -1);
}
END_TEST

START_TEST(args_misuse_refused) {
  sono_args *a = sono_args_new();
  peer p;
  sono_conn *c = peer_start(&p, script_read_two, NULL);
  sono_error e;

  /* A map element without a key, then an unbalanced end. */
  ck_assert_int_eq(sono_args_begin_map(a, "m"), 0);
  ck_assert_int_eq(sono_args_uint(a, NULL, 1), -1);
  ck_assert_int_eq(sono_call(c, "ping", a, NULL, &e), -1);
  ck_assert_int_eq(e.kind, SONO_ERR_USAGE);
  sono_args_clear(a);
  ck_assert_int_eq(sono_args_end(a), -1);
  ck_assert_uint_eq(sono_send(c, "ping", a, NULL, NULL), 0);
  /* After clearing, the builder works again and nothing bad was sent. */
  sono_args_clear(a);
  ck_assert_int_eq(sono_args_uint(a, "k", 5), 0);
  ck_assert_int_eq(sono_call(c, "ping", a, NULL, &e), 0);
  ck_assert_int_eq(sono_call(c, "ping", NULL, NULL, &e), 0);
  sono_args_free(a);
  sono_close(c);
  peer_join(&p);
  ck_assert_uint_eq(p.n_reqs, 2);
  ck_assert_uint_eq(p.reqs[0].id, 1);
  ck_assert_uint_eq(p.reqs[0].map->via.map.size, 3);
  peer_free(&p);
}
END_TEST

/* ------------------------------------------------------------ matching */

static void script_out_of_order(peer *p) {
  peer_req *r[3];
  int order[3] = {2, 0, 1}, i;

  for (i = 0; i < 3; i++)
    if ((r[i] = peer_read(p)) == NULL)
      return;
  for (i = 0; i < 3; i++)
    peer_reply_uint(p, r[order[i]]->id, "n", r[order[i]]->id * 10);
}

START_TEST(out_of_order_replies) {
  peer p;
  sono_conn *c = peer_start(&p, script_out_of_order, NULL);
  cb_log log = {0};
  reply_ctx ctx[3] = {{&log, 0}, {&log, 1}, {&log, 2}};
  uint64_t ids[3];
  int i;

  for (i = 0; i < 3; i++)
    ids[i] = sono_send(c, "sync", NULL, on_reply_log, &ctx[i]);
  ck_assert(ids[0] == 1 && ids[1] == 2 && ids[2] == 3);
  ck_assert_uint_eq(sono_pending(c), 3);
  drain(c);
  ck_assert_uint_eq(sono_pending(c), 0);
  ck_assert_int_eq(log.n, 3);
  ck_assert_str_eq(log.entries[0], "reply tag=2 id=3 n=30");
  ck_assert_str_eq(log.entries[1], "reply tag=0 id=1 n=10");
  ck_assert_str_eq(log.entries[2], "reply tag=1 id=2 n=20");
  sono_close(c);
  peer_join(&p);
  peer_free(&p);
}
END_TEST

/* Replies byte by byte: the framer must reassemble them. */
static void script_trickle(peer *p) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  peer_req *r = peer_read(p);
  size_t i;

  if (r == NULL)
    return;
  sono_msg_begin(&sb, &pk);
  msgpack_pack_map(&pk, 2);
  sono_pack_key_uint(&pk, "id", r->id);
  sono_pack_cstr(&pk, "ok");
  msgpack_pack_map(&pk, 1);
  sono_pack_key_str(&pk, "server", "sonod 9.9.9");
  sono_msg_end(&sb);
  for (i = 0; i < sb.size; i++) {
    peer_write(p, sb.data + i, 1);
    peer_sleep_ms(1);
  }
  msgpack_sbuffer_destroy(&sb);
}

START_TEST(reply_in_pieces) {
  peer p;
  sono_conn *c = peer_start(&p, script_trickle, NULL);
  sono_reply *r;
  const char *s;
  size_t len;

  ck_assert_int_eq(sono_call(c, "hello", NULL, &r, NULL), 0);
  ck_assert_int_eq(sono_reply_str(r, "server", &s, &len), 0);
  ck_assert_str_eq(s, "sonod 9.9.9");
  ck_assert_uint_eq(len, 11);
  ck_assert(!sono_reply_is_error(r));
  ck_assert_ptr_null(sono_reply_error_code(r));
  sono_reply_free(r);
  sono_close(c);
  peer_join(&p);
  peer_free(&p);
}
END_TEST

/* ------------------------------------------------------------ events */

/* The client has one async request (id 1) out, then calls sync (id 2).  The
 * server answers with an event, the async reply, another event, and only then
 * the sync reply; one more event follows later. */
static void script_events_during_call(peer *p) {
  peer_req *a = peer_read(p), *s = peer_read(p);

  if (a == NULL || s == NULL)
    return;
  peer_event_tone(p, true, 100, 440.0);
  peer_reply_uint(p, a->id, "n", 11);
  peer_sleep_ms(20); /* let the client see these in a separate read */
  peer_event_client(p, 7, "connected");
  peer_reply_uint(p, s->id, "frame", 777);
  peer_sleep_ms(50);
  peer_event_tone(p, false, 900, 440.0);
  peer_read(p); /* wait for the client to close */
}

START_TEST(events_during_sync_call) {
  peer p;
  sono_conn *c = peer_start(&p, script_events_during_call, NULL);
  cb_log log = {0};
  reply_ctx ctx = {&log, 1};
  uint64_t frame = 0;

  sono_on_event(c, on_event_log, &log);
  ck_assert_uint_eq(sono_send(c, "ping", NULL, on_reply_log, &ctx), 1);
  ck_assert_int_eq(sono_sync(c, &frame, NULL), 0);
  ck_assert_uint_eq(frame, 777);
  /* Everything that came before the sync reply was delivered, in order,
   * before sono_sync() returned. */
  ck_assert_int_eq(log.n, 3);
  ck_assert_str_eq(log.entries[0], "event tone on=1 frame=100 freq=440.0");
  ck_assert_str_eq(log.entries[1], "reply tag=1 id=1 n=11");
  ck_assert_str_eq(log.entries[2], "event client 7 connected");
  ck_assert_uint_eq(sono_pending(c), 0);
  /* The later event comes through sono_wait(). */
  ck_assert_int_eq(sono_wait(c, 2000), 1);
  ck_assert_int_eq(log.n, 4);
  ck_assert_str_eq(log.entries[3], "event tone on=0 frame=900 freq=440.0");
  sono_close(c);
  peer_join(&p);
  peer_free(&p);
}
END_TEST

/* An event callback that itself makes a synchronous call. */
static void script_reentrant(peer *p) {
  peer_req *r = peer_read(p);

  if (r == NULL)
    return;
  peer_event_tone(p, true, 5, 220.0);
  peer_reply_uint(p, r->id, "frame", 1);
  if ((r = peer_read(p)) == NULL)
    return;
  peer_reply_uint(p, r->id, "frame", 2);
  peer_read(p);
}

static void on_event_calls(sono_conn *c, const char *kind, const sono_reply *ev, void *ud) {
  uint64_t *inner = ud;

  (void)kind;
  (void)ev;
  ck_assert_int_eq(sono_sync(c, inner, NULL), 0);
}

START_TEST(reentrant_call_from_callback) {
  peer p;
  sono_conn *c = peer_start(&p, script_reentrant, NULL);
  uint64_t outer = 0, inner = 0;

  sono_on_event(c, on_event_calls, &inner);
  ck_assert_int_eq(sono_sync(c, &outer, NULL), 0);
  ck_assert_uint_eq(outer, 1);
  ck_assert_uint_eq(inner, 2);
  sono_close(c);
  peer_join(&p);
  peer_free(&p);
}
END_TEST

/* ------------------------------------------------------------ errors */

static void script_errors(peer *p) {
  peer_req *r;

  if ((r = peer_read(p)) != NULL)
    peer_reply_error(p, r->id, "bad_type", "'on' must be a boolean");
  if ((r = peer_read(p)) != NULL)
    peer_reply_error(p, r->id, "late", "late by 512 frames");
  if ((r = peer_read(p)) != NULL)
    peer_reply_error(p, r->id, "unknown_op", "no operation 'nope'");
  if ((r = peer_read(p)) != NULL)
    peer_reply_empty(p, r->id);
}

START_TEST(error_replies) {
  peer p;
  sono_conn *c = peer_start(&p, script_errors, NULL);
  sono_args *a = sono_args_new();
  sono_tone_opts t = SONO_TONE_OPTS_INIT;
  cb_log log = {0};
  reply_ctx ctx = {&log, 9};
  sono_reply *r = (sono_reply *)&ctx; /* must be reset to NULL */
  sono_error e;

  sono_args_str(a, "on", "yes");
  ck_assert_int_eq(sono_call(c, "engine.tone", a, &r, &e), -1);
  ck_assert_ptr_null(r);
  ck_assert_int_eq(e.kind, SONO_ERR_SERVER);
  ck_assert_str_eq(e.code, "bad_type");
  ck_assert_str_eq(e.message, "'on' must be a boolean");
  ck_assert_str_eq(sono_last_error(c)->code, "bad_type");

  t.on = true;
  t.when = SONO_AT_FRAME;
  t.at = 10;
  ck_assert_int_eq(sono_tone(c, &t, NULL, &e), -1);
  ck_assert_int_eq(e.kind, SONO_ERR_SERVER);
  ck_assert_str_eq(e.code, "late");
  ck_assert_str_eq(e.message, "late by 512 frames");

  /* Async: the callback sees the code and the error reply itself. */
  ck_assert_uint_eq(sono_send(c, "nope", NULL, on_reply_log, &ctx), 3);
  drain(c);
  ck_assert_int_eq(log.n, 1);
  ck_assert_str_eq(log.entries[0], "reply tag=9 error server/unknown_op r=yes");

  /* The connection is still usable. */
  ck_assert(!sono_is_broken(c));
  ck_assert_int_eq(sono_call(c, "ping", NULL, NULL, &e), 0);
  sono_args_free(a);
  sono_close(c);
  peer_join(&p);
  peer_free(&p);
}
END_TEST

static void on_error_reply_fields(sono_conn *c, const sono_reply *r,
                                  const sono_error *err, void *ud) {
  int *checked = ud;

  (void)c;
  ck_assert_ptr_nonnull(err);
  ck_assert_ptr_nonnull(r);
  ck_assert(sono_reply_is_error(r));
  ck_assert_str_eq(sono_reply_error_code(r), "busy");
  ck_assert_str_eq(sono_reply_error_message(r), "render in progress");
  ck_assert_str_eq(err->message, "render in progress");
  *checked = 1;
}

static void script_busy(peer *p) {
  peer_req *r = peer_read(p);
  if (r != NULL)
    peer_reply_error(p, r->id, "busy", "render in progress");
}

START_TEST(error_reply_object) {
  peer p;
  sono_conn *c = peer_start(&p, script_busy, NULL);
  int checked = 0;

  ck_assert_uint_ne(sono_send(c, "render", NULL, on_error_reply_fields, &checked), 0);
  drain(c);
  ck_assert_int_eq(checked, 1);
  sono_close(c);
  peer_join(&p);
  peer_free(&p);
}
END_TEST

static void script_late_reply(peer *p) {
  peer_req *a = peer_read(p), *b;

  if (a == NULL || (b = peer_read(p)) == NULL)
    return;
  /* Answer the abandoned request first: the client must drop it. */
  peer_reply_uint(p, a->id, "frame", 1);
  peer_reply_uint(p, b->id, "frame", 2);
}

START_TEST(timeout_then_recover) {
  peer p;
  sono_conn *c = peer_start(&p, script_late_reply, NULL);
  uint64_t frame = 0;
  sono_error e;

  sono_set_timeout(c, 100);
  ck_assert_int_eq(sono_sync(c, &frame, &e), -1);
  ck_assert_int_eq(e.kind, SONO_ERR_TIMEOUT);
  ck_assert_str_eq(e.code, "timeout");
  ck_assert(!sono_is_broken(c));
  sono_set_timeout(c, 5000);
  ck_assert_int_eq(sono_sync(c, &frame, &e), 0);
  ck_assert_uint_eq(frame, 2);
  ck_assert_uint_eq(sono_pending(c), 0);
  sono_close(c);
  peer_join(&p);
  peer_free(&p);
}
END_TEST

/* ------------------------------------------------------------ broken peers */

static void script_close_mid_frame(peer *p) {
  static const char partial[] = {0, 0, 0, 100, (char)0x82, (char)0xa2, 'i', 'd'};

  if (peer_read(p) == NULL || peer_read(p) == NULL)
    return;
  peer_write(p, partial, sizeof partial); /* announces 100 bytes, sends 4 */
}

START_TEST(server_closes_mid_frame) {
  peer p;
  sono_conn *c = peer_start(&p, script_close_mid_frame, NULL);
  cb_log log = {0};
  reply_ctx ctx = {&log, 4};
  sono_error e;

  ck_assert_uint_eq(sono_send(c, "ping", NULL, on_reply_log, &ctx), 1);
  ck_assert_int_eq(sono_call(c, "status", NULL, NULL, &e), -1);
  ck_assert_int_eq(e.kind, SONO_ERR_CLOSED);
  ck_assert_str_eq(e.code, "connection_closed");
  ck_assert_ptr_nonnull(strstr(e.message, "middle of a frame"));
  ck_assert(sono_is_broken(c));
  /* The outstanding async request was failed, without a reply object. */
  ck_assert_int_eq(log.n, 1);
  ck_assert_str_eq(log.entries[0], "reply tag=4 error closed/connection_closed r=null");
  ck_assert_uint_eq(sono_pending(c), 0);
  /* Later requests fail at once. */
  ck_assert_uint_eq(sono_send(c, "ping", NULL, NULL, NULL), 0);
  ck_assert_int_eq(sono_call(c, "ping", NULL, NULL, &e), -1);
  ck_assert_int_eq(e.kind, SONO_ERR_CLOSED);
  ck_assert_int_eq(sono_process(c), -1);
  sono_close(c);
  peer_join(&p);
  peer_free(&p);
}
END_TEST

static void script_garbage(peer *p) {
  static const char not_a_map[] = {0, 0, 0, 1, 0x2a}; /* the integer 42 */

  if (peer_read(p) == NULL)
    return;
  peer_write(p, not_a_map, sizeof not_a_map);
  peer_read(p);
}

START_TEST(server_sends_garbage) {
  peer p;
  sono_conn *c = peer_start(&p, script_garbage, NULL);
  sono_error e;

  ck_assert_int_eq(sono_call(c, "ping", NULL, NULL, &e), -1);
  ck_assert_int_eq(e.kind, SONO_ERR_PROTOCOL);
  ck_assert_str_eq(e.code, "protocol_error");
  ck_assert(sono_is_broken(c));
  sono_close(c);
  peer_join(&p);
  peer_free(&p);
}
END_TEST

/* ------------------------------------------------------------ async + poll */

#define BULK_REQS 200
#define BULK_BYTES 65536

/* Reads all requests before answering any, so the client's output must
 * queue up far beyond the socket buffer. */
static void script_bulk(peer *p) {
  volatile int *all_queued = p->ud;
  size_t i;

  /* Read nothing until the client has queued everything, so its output
   * must have overflowed the socket buffer. */
  while (!__atomic_load_n(all_queued, __ATOMIC_ACQUIRE))
    peer_sleep_ms(1);
  for (i = 0; i < BULK_REQS; i++)
    if (peer_read(p) == NULL)
      return;
  for (i = 0; i < BULK_REQS; i++)
    peer_reply_uint(p, p->reqs[i].id, "n", p->reqs[i].id * 10);
}

typedef struct {
  int done;
  int wrong;
} bulk_state;

static void on_bulk_reply(sono_conn *c, const sono_reply *r, const sono_error *err,
                          void *ud) {
  bulk_state *st = ud;
  uint64_t n;

  (void)c;
  if (err != NULL || sono_reply_uint(r, "n", &n) != 0 || n != sono_reply_id(r) * 10)
    st->wrong++;
  st->done++;
}

START_TEST(async_with_poll) {
  static int all_queued;
  peer p;
  sono_conn *c;
  all_queued = 0;
  c = peer_start(&p, script_bulk, &all_queued);
  static char blob[BULK_BYTES];
  bulk_state st = {0, 0};
  sono_args *a = sono_args_new();
  bool saw_want_write = false;
  int i, loops = 0;
  const msgpack_object *bin;

  memset(blob, 0x5a, sizeof blob);
  sono_args_bin(a, "data", blob, sizeof blob);
  for (i = 0; i < BULK_REQS; i++)
    ck_assert_uint_eq(sono_send(c, "ping", a, on_bulk_reply, &st), (uint64_t)i + 1);
  sono_args_free(a);
  /* 13 MB cannot all be in the kernel yet: the rest waits in libsono. */
  ck_assert(sono_want_write(c));
  ck_assert_int_eq(sono_flush(c), 1);
  __atomic_store_n(&all_queued, 1, __ATOMIC_RELEASE);

  while (st.done < BULK_REQS && loops++ < 100000) {
    struct pollfd pfd = {sono_fd(c), POLLIN, 0};
    if (sono_want_write(c)) {
      pfd.events |= POLLOUT;
      saw_want_write = true;
    }
    ck_assert_int_ge(poll(&pfd, 1, 2000), 1);
    ck_assert_int_ge(sono_process(c), 0);
  }
  ck_assert(saw_want_write);
  ck_assert(!sono_want_write(c));
  ck_assert_int_eq(st.done, BULK_REQS);
  ck_assert_int_eq(st.wrong, 0);
  ck_assert_uint_eq(sono_pending(c), 0);
  sono_close(c);
  peer_join(&p);

  ck_assert_uint_eq(p.n_reqs, BULK_REQS);
  for (i = 0; i < BULK_REQS; i++) {
    ck_assert_uint_eq(p.reqs[i].id, (uint64_t)i + 1);
    bin = sono_map_get(p.reqs[i].map, "data");
    ck_assert_ptr_nonnull(bin);
    ck_assert_uint_eq(bin->via.bin.size, BULK_BYTES);
    ck_assert_int_eq(bin->via.bin.ptr[BULK_BYTES - 1], 0x5a);
  }
  peer_free(&p);
}
END_TEST

/* ------------------------------------------------------------ typed ops */

static void script_typed(peer *p) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  peer_req *r;

  /* hello */
  if ((r = peer_read(p)) == NULL)
    return;
  sono_msg_begin(&sb, &pk);
  msgpack_pack_map(&pk, 2);
  sono_pack_key_uint(&pk, "id", r->id);
  sono_pack_cstr(&pk, "ok");
  msgpack_pack_map(&pk, 9);
  sono_pack_key_uint(&pk, "protocol", 1);
  sono_pack_key_str(&pk, "server", "sonod 0.1.0");
  sono_pack_key_uint(&pk, "client", 3);
  sono_pack_cstr(&pk, "capabilities");
  msgpack_pack_array(&pk, 2);
  sono_pack_cstr(&pk, "tone");
  sono_pack_cstr(&pk, "tcp");
  sono_pack_key_uint(&pk, "max_frame", SONO_FRAME_MAX);
  sono_pack_key_str(&pk, "backend", "null");
  sono_pack_key_uint(&pk, "sample_rate", 48000);
  sono_pack_key_uint(&pk, "block_size", 256);
  sono_pack_key_uint(&pk, "channels", 2);
  peer_send(p, &sb);

  /* status */
  if ((r = peer_read(p)) == NULL)
    return;
  sono_msg_begin(&sb, &pk);
  msgpack_pack_map(&pk, 2);
  sono_pack_key_uint(&pk, "id", r->id);
  sono_pack_cstr(&pk, "ok");
  msgpack_pack_map(&pk, 14);
  sono_pack_key_str(&pk, "backend", "null");
  sono_pack_key_str(&pk, "state", "running");
  sono_pack_key_uint(&pk, "sample_rate", 48000);
  sono_pack_key_uint(&pk, "block_size", 256);
  sono_pack_key_uint(&pk, "channels", 2);
  sono_pack_key_uint(&pk, "frame", 96000);
  sono_pack_key_double(&pk, "seconds", 2.0);
  sono_pack_key_double(&pk, "dsp_load", 0.125);
  sono_pack_key_double(&pk, "dsp_load_max", 0.5);
  sono_pack_key_uint(&pk, "xruns", 0);
  sono_pack_key_uint(&pk, "clients", 4);
  sono_pack_key_double(&pk, "uptime", 2.5);
  sono_pack_key_uint(&pk, "heap_used", 1);
  sono_pack_key_uint(&pk, "heap_capacity", 4096);
  peer_send(p, &sb);

  /* subscribe, engine.tone, render, shutdown */
  if ((r = peer_read(p)) == NULL)
    return;
  peer_reply_empty(p, r->id);
  if ((r = peer_read(p)) == NULL)
    return;
  peer_reply_uint(p, r->id, "frame", 24064);
  if ((r = peer_read(p)) == NULL)
    return;
  peer_reply_uint(p, r->id, "frame", 48000);
  if ((r = peer_read(p)) == NULL)
    return;
  peer_reply_empty(p, r->id);
}

START_TEST(typed_requests) {
  peer p;
  sono_conn *c = peer_start(&p, script_typed, NULL);
  static const char *const kinds[] = {"tone", "client"};
  sono_tone_opts t = SONO_TONE_OPTS_INIT;
  sono_hello_info h;
  sono_status st;
  uint64_t frame = 0, u;
  const msgpack_object *m, *ev;
  const char *s;
  size_t len;
  double d;
  int64_t i;
  bool b;

  ck_assert_int_eq(sono_hello(c, "tests", &h, NULL), 0);
  ck_assert_uint_eq(h.protocol, 1);
  ck_assert_str_eq(h.server, "sonod 0.1.0");
  ck_assert_uint_eq(h.client, 3);
  ck_assert_uint_eq(h.max_frame, 16777216);
  ck_assert_str_eq(h.backend, "null");
  ck_assert_uint_eq(h.sample_rate, 48000);
  ck_assert_uint_eq(h.block_size, 256);
  ck_assert_uint_eq(h.channels, 2);
  ck_assert_uint_eq(h.n_capabilities, 2);
  ck_assert(sono_hello_has(&h, "tone"));
  ck_assert(sono_hello_has(&h, "tcp"));
  ck_assert(!sono_hello_has(&h, "render"));

  ck_assert_int_eq(sono_get_status(c, &st, NULL), 0);
  ck_assert_str_eq(st.backend, "null");
  ck_assert_str_eq(st.state, "running");
  ck_assert_uint_eq(st.sample_rate, 48000);
  ck_assert_uint_eq(st.frame, 96000);
  ck_assert(st.seconds == 2.0);
  ck_assert(st.dsp_load == 0.125);
  ck_assert(st.dsp_load_max == 0.5);
  ck_assert_uint_eq(st.clients, 4);
  ck_assert(st.uptime == 2.5);
  ck_assert_uint_eq(st.heap_used, 1);
  ck_assert_uint_eq(st.heap_capacity, 4096);

  ck_assert_int_eq(sono_subscribe(c, kinds, 2, NULL), 0);

  t.on = true;
  t.freq = 880;
  t.amp = 0.5;
  t.channel = 1;
  t.when = SONO_AFTER_DELAY;
  t.delay = 0.5;
  ck_assert_int_eq(sono_tone(c, &t, &frame, NULL), 0);
  ck_assert_uint_eq(frame, 24064);
  ck_assert_int_eq(sono_render(c, 0, 1.0, &frame, NULL), 0);
  ck_assert_uint_eq(frame, 48000);
  ck_assert_int_eq(sono_shutdown(c, NULL), 0);
  sono_close(c);
  peer_join(&p);

  ck_assert_uint_eq(p.n_reqs, 6);
  ck_assert_str_eq(p.reqs[0].op, "hello");
  ck_assert_int_eq(sono_get_uint(p.reqs[0].map, "version", &u), SONO_ARG_OK);
  ck_assert_uint_eq(u, 1);
  ck_assert_int_eq(sono_get_str(p.reqs[0].map, "name", &s, &len), SONO_ARG_OK);
  ck_assert(len == 5 && memcmp(s, "tests", 5) == 0);
  ck_assert_str_eq(p.reqs[1].op, "status");
  ck_assert_str_eq(p.reqs[2].op, "subscribe");
  ev = sono_map_get(p.reqs[2].map, "events");
  ck_assert_int_eq(ev->type, MSGPACK_OBJECT_ARRAY);
  ck_assert_uint_eq(ev->via.array.size, 2);
  ck_assert(sono_str_eq(&ev->via.array.ptr[0], "tone"));
  ck_assert(sono_str_eq(&ev->via.array.ptr[1], "client"));
  m = p.reqs[3].map;
  ck_assert_str_eq(p.reqs[3].op, "engine.tone");
  ck_assert_int_eq(sono_get_bool(m, "on", &b), SONO_ARG_OK);
  ck_assert(b);
  ck_assert_int_eq(sono_get_double(m, "freq", &d), SONO_ARG_OK);
  ck_assert(d == 880);
  ck_assert_int_eq(sono_get_double(m, "amp", &d), SONO_ARG_OK);
  ck_assert(d == 0.5);
  ck_assert_int_eq(sono_get_int(m, "channel", &i), SONO_ARG_OK);
  ck_assert_int_eq(i, 1);
  ck_assert_int_eq(sono_get_double(m, "delay", &d), SONO_ARG_OK);
  ck_assert(d == 0.5);
  ck_assert_ptr_null(sono_map_get(m, "at")); /* never both */
  ck_assert_str_eq(p.reqs[4].op, "render");
  ck_assert_int_eq(sono_get_double(p.reqs[4].map, "seconds", &d), SONO_ARG_OK);
  ck_assert(d == 1.0);
  ck_assert_ptr_null(sono_map_get(p.reqs[4].map, "frames"));
  ck_assert_str_eq(p.reqs[5].op, "shutdown");
  ck_assert_uint_eq(p.reqs[5].map->via.map.size, 2);
  peer_free(&p);
}
END_TEST

/* ------------------------------------------------------------ suite */

int main(void) {
  Suite *s = suite_create("libsono-conn");
  TCase *tc = tcase_create("conn");
  SRunner *sr;
  int failed;

  tcase_set_timeout(tc, 20);
  tcase_add_test(tc, request_framing);
  tcase_add_test(tc, args_misuse_refused);
  tcase_add_test(tc, null_connection_refused);
  tcase_add_test(tc, out_of_order_replies);
  tcase_add_test(tc, reply_in_pieces);
  tcase_add_test(tc, events_during_sync_call);
  tcase_add_test(tc, reentrant_call_from_callback);
  tcase_add_test(tc, error_replies);
  tcase_add_test(tc, error_reply_object);
  tcase_add_test(tc, timeout_then_recover);
  tcase_add_test(tc, server_closes_mid_frame);
  tcase_add_test(tc, server_sends_garbage);
  tcase_add_test(tc, async_with_poll);
  tcase_add_test(tc, typed_requests);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
