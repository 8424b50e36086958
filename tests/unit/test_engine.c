/* Unit tests: the engine cycle driven directly, block by block, as the
 * audio thread would. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "daemon/modules/graph_plan.h"
#include "daemon/rt/engine.h"
#include "daemon/queue/fpu.h"
#include "tests/support/check_main.h"

#define RATE 48000
#define BLOCK 64

static engine e;
static float buf_l[BLOCK], buf_r[BLOCK];
static float *bufs[2] = { buf_l, buf_r };
static int wakes;

static void count_wake(void *ctx) {
  (void)ctx;
  wakes++;
}

static void setup(void) {
  ck_assert_int_eq(engine_init(&e, RATE, 2), 0);
  e.wake = count_wake;
  wakes = 0;
}

static void teardown(void) {
  engine_destroy(&e);
}

static void send_cmd(rt_cmd *c) {
  ck_assert_int_eq(spsc_push(e.to_rt, c), 0);
}

static rt_cmd tone_cmd(bool on, rt_at_kind kind, uint64_t at, uint64_t id) {
  rt_cmd c;
  memset(&c, 0, sizeof c);
  c.type = RT_CMD_TONE;
  c.at_kind = kind;
  c.at = at;
  c.client = 1;
  c.req_id = id;
  c.u.tone.on = on;
  c.u.tone.freq = 1000.0;
  c.u.tone.amp = 0.5;
  c.u.tone.channel = -1;
  return c;
}

static rt_msg next_msg(void) {
  rt_msg m;
  ck_assert_msg(spsc_pop(e.from_rt, &m) == 0, "expected a message from the audio thread");
  return m;
}

START_TEST(tone_starts_and_stops_on_exact_frames) {
  rt_cmd on = tone_cmd(true, RT_AT_ABS, 100, 1);
  rt_cmd off = tone_cmd(false, RT_AT_ABS, 200, 2);
  float out[256];
  int b, i;
  rt_msg m;

  send_cmd(&on);
  send_cmd(&off);
  for (b = 0; b < 4; b++) {
    engine_process(&e, bufs, 2, BLOCK);
    memcpy(out + b * BLOCK, buf_l, sizeof buf_l);
    ck_assert_mem_eq(buf_l, buf_r, sizeof buf_l);
  }
  for (i = 0; i < 256; i++) {
    double want = (i >= 100 && i < 200) ? 0.5 * sin(2 * M_PI * 1000.0 * (i - 100) / RATE) : 0.0;
    ck_assert_msg(fabs(out[i] - want) < 1e-6, "frame %d: %f, want %f", i, out[i], want);
  }
  ck_assert_float_ne(out[101], 0.0f);

  /* Both acknowledged as queued at their frames, then two notifications. */
  m = next_msg();
  ck_assert_int_eq(m.type, RT_MSG_ACK);
  ck_assert_uint_eq(m.frame, 100);
  ck_assert_uint_eq(m.release, 1);
  m = next_msg();
  ck_assert_int_eq(m.type, RT_MSG_ACK);
  ck_assert_uint_eq(m.frame, 200);
  m = next_msg();
  ck_assert_int_eq(m.type, RT_MSG_TONE);
  ck_assert_uint_eq(m.frame, 100);
  ck_assert_uint_eq(m.value, 1);
  m = next_msg();
  ck_assert_int_eq(m.type, RT_MSG_TONE);
  ck_assert_uint_eq(m.frame, 200);
  ck_assert_uint_eq(m.value, 0);
  ck_assert_int_eq(spsc_count(e.from_rt), 0);
  ck_assert_uint_eq(atomic_load(&e.pub_frame), 3 * BLOCK);
}
END_TEST

START_TEST(late_command_is_refused_not_applied) {
  rt_cmd on = tone_cmd(true, RT_AT_ABS, 10, 7);
  rt_msg m;
  int i;

  engine_process(&e, bufs, 2, BLOCK);   /* now at frame 64 */
  send_cmd(&on);
  engine_process(&e, bufs, 2, BLOCK);
  m = next_msg();
  ck_assert_int_eq(m.type, RT_MSG_ERROR);
  ck_assert_int_eq(m.code, RT_ERR_LATE);
  ck_assert_uint_eq(m.value, 54);
  ck_assert_uint_eq(m.req_id, 7);
  ck_assert_uint_eq(m.release, RT_MSG_SLOTS_PER_CMD);
  for (i = 0; i < BLOCK; i++)
    ck_assert_float_eq(buf_l[i], 0.0f);
}
END_TEST

START_TEST(delay_counts_from_the_receiving_block) {
  rt_cmd on = tone_cmd(true, RT_AT_REL, 10, 1);
  rt_msg m;

  engine_process(&e, bufs, 2, BLOCK);
  send_cmd(&on);
  engine_process(&e, bufs, 2, BLOCK);
  m = next_msg();
  ck_assert_int_eq(m.type, RT_MSG_ACK);
  ck_assert_uint_eq(m.frame, BLOCK + 10);
  ck_assert_float_eq(buf_l[10], 0.0f);
  ck_assert_float_ne(buf_l[11], 0.0f);
  ck_assert_float_eq(buf_l[9], 0.0f);
}
END_TEST

START_TEST(sync_is_answered_after_earlier_commands_apply) {
  rt_cmd on = tone_cmd(true, RT_AT_NOW, 0, 1);
  rt_cmd sync;
  rt_msg m;

  memset(&sync, 0, sizeof sync);
  sync.type = RT_CMD_SYNC;
  sync.client = 1;
  sync.req_id = 2;
  send_cmd(&on);
  send_cmd(&sync);
  engine_process(&e, bufs, 2, BLOCK);
  m = next_msg();
  ck_assert_int_eq(m.type, RT_MSG_ACK);
  ck_assert_uint_eq(m.req_id, 1);
  m = next_msg();
  ck_assert_int_eq(m.type, RT_MSG_TONE);
  m = next_msg();
  ck_assert_int_eq(m.type, RT_MSG_ACK);
  ck_assert_uint_eq(m.req_id, 2);
  ck_assert_uint_eq(m.release, RT_MSG_SLOTS_PER_CMD);
  ck_assert_int_eq(wakes, 1);
}
END_TEST

/* Takes every place for timed commands (tones far ahead, ids 0..), in one
 * cycle: the ring holds as many. */
static void fill_timed(void) {
  rt_cmd c = tone_cmd(true, RT_AT_ABS, 1000000, 0);

  for (unsigned i = 0; i < ENGINE_TIMED_CAPACITY; i++) {
    c.req_id = i;
    send_cmd(&c);
  }
  engine_process(&e, bufs, 2, BLOCK);
}

START_TEST(full_heap_is_reported) {
  rt_cmd c = tone_cmd(true, RT_AT_ABS, 1000000, 0);
  rt_msg m;
  unsigned errors = 0, acks = 0;

  /* One more timed command than may wait. */
  fill_timed();
  c.req_id = 99999;
  send_cmd(&c);
  engine_process(&e, bufs, 2, BLOCK);
  while (spsc_pop(e.from_rt, &m) == 0) {
    if (m.type == RT_MSG_ERROR) {
      ck_assert_int_eq(m.code, RT_ERR_HEAP_FULL);
      ck_assert_uint_eq(m.req_id, 99999);
      ck_assert_uint_eq(m.value, ENGINE_TIMED_CAPACITY);
      errors++;
    } else {
      acks++;
    }
  }
  ck_assert_uint_eq(errors, 1);
  ck_assert_uint_eq(acks, ENGINE_TIMED_CAPACITY);
  ck_assert_uint_eq(atomic_load(&e.pub_heap_used), ENGINE_TIMED_CAPACITY);
}
END_TEST

/* With every timed place taken, a ring's worth of commands for "now" is
 * still applied in the next cycle: the control side has committed to them
 * (a plugin installed, a plan sent) and must never see them refused. */
START_TEST(full_heap_still_takes_commands_for_now) {
  rt_cmd c;
  rt_msg m;
  unsigned i, now_acks = 0;

  fill_timed();
  while (spsc_pop(e.from_rt, &m) == 0)
    ck_assert_int_eq(m.type, RT_MSG_ACK);
  c = tone_cmd(true, RT_AT_NOW, 0, 0);
  c.type = RT_CMD_SYNC;
  for (i = 0; i < ENGINE_RING_CAPACITY; i++) {
    c.req_id = 100000 + i;
    send_cmd(&c);
  }
  engine_process(&e, bufs, 2, BLOCK);
  while (spsc_pop(e.from_rt, &m) == 0) {
    ck_assert_int_eq(m.type, RT_MSG_ACK);
    ck_assert_uint_eq(m.req_id, 100000 + now_acks);
    ck_assert_uint_eq(m.frame, BLOCK);
    now_acks++;
  }
  ck_assert_uint_eq(now_acks, ENGINE_RING_CAPACITY);
  ck_assert_uint_eq(atomic_load(&e.pub_heap_used), ENGINE_TIMED_CAPACITY);
}
END_TEST

/* A denormal input through a gain node comes out as zero, whatever the
 * thread's floating-point state was: engine_process sets FTZ|DAZ on the
 * thread that runs it (queue/fpu.h), as a fresh JACK or clock thread has
 * neither. */
START_TEST(denormals_are_flushed_through_a_gain_node) {
  static float in0[BLOCK];
  const float *ins[1] = { in0 };
  graph g;
  rt_plan *p;
  rt_cmd c;
  int i;

  for (i = 0; i < BLOCK; i++)
    in0[i] = 1e-39f;   /* denormal */
  ck_assert(in0[0] != 0.0f);
  graph_init(&g);
  ck_assert_ptr_nonnull(graph_add_node(&g, GRAPH_ID_OUT, GN_OUT, "out", 2, 0));
  ck_assert_ptr_nonnull(graph_add_node(&g, GRAPH_ID_IN, GN_IN, "in", 0, 1));
  ck_assert_ptr_nonnull(graph_add_node(&g, 1, GN_GAIN, "g", 1, 1));
  graph_node(&g, 1)->gain = 0.75f;
  graph_add_conn(&g, GRAPH_ID_IN, 0, 1, 0, 1, false);
  graph_add_conn(&g, 1, 0, GRAPH_ID_OUT, 0, 1, false);
  p = graph_plan_build(&g, BLOCK);
  ck_assert_ptr_nonnull(p);
  memset(&c, 0, sizeof c);
  c.type = RT_CMD_GRAPH_PLAN;
  c.at_kind = RT_AT_NOW;
  c.u.ptr = p;
  send_cmd(&c);

  rt_fpu_clear();
  ck_assert(!rt_fpu_flushing());
  e.in = ins;
  e.nin = 1;
  engine_process(&e, bufs, 2, BLOCK);
  for (i = 0; i < BLOCK; i++)
    ck_assert_msg(buf_l[i] == 0.0f, "frame %d: %g", i, (double)buf_l[i]);
  ck_assert(rt_fpu_flushing());
  rt_fpu_clear();
  graph_plan_free(graph_rt_swap(&e.graph, NULL));
  graph_free(&g);
}
END_TEST

START_TEST(tone_on_one_channel) {
  rt_cmd on = tone_cmd(true, RT_AT_NOW, 0, 1);
  int i;

  on.u.tone.channel = 1;
  send_cmd(&on);
  engine_process(&e, bufs, 2, BLOCK);
  for (i = 0; i < BLOCK; i++)
    ck_assert_float_eq(buf_l[i], 0.0f);
  ck_assert_float_ne(buf_r[5], 0.0f);
}
END_TEST

/* The transport reads right before the first block: a request can reach
 * the control thread before the audio thread has run once (a slow start,
 * no realtime priority), and must not read tempo 0 and signature 0/0. */
START_TEST(transport_published_before_the_first_block) {
  uint32_t sig = atomic_load(&e.pub_xport.sig);

  ck_assert_uint_eq(atomic_load(&e.pub_xport.tempo_mbpm), 120000);
  ck_assert_uint_eq(sig >> 16, 4);
  ck_assert_uint_eq(sig & 0xFFFF, 4);
  ck_assert_uint_eq(atomic_load(&e.pub_xport.pos), 0);
  ck_assert(!atomic_load(&e.pub_xport.playing));
}
END_TEST

static Suite *engine_suite(void) {
  Suite *s = suite_create("engine");
  TCase *tc = tcase_create("cycle");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, tone_starts_and_stops_on_exact_frames);
  tcase_add_test(tc, late_command_is_refused_not_applied);
  tcase_add_test(tc, delay_counts_from_the_receiving_block);
  tcase_add_test(tc, sync_is_answered_after_earlier_commands_apply);
  tcase_add_test(tc, full_heap_is_reported);
  tcase_add_test(tc, full_heap_still_takes_commands_for_now);
  tcase_add_test(tc, tone_on_one_channel);
  tcase_add_test(tc, transport_published_before_the_first_block);
  tcase_add_test(tc, denormals_are_flushed_through_a_gain_node);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(engine_suite)
