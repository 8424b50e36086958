/* test_rtsan.c - proves the realtime checker works: built with
 * -Drtsan=true, a call that may block or allocate made inside the engine's
 * realtime section (engine_process) kills the process with RTSan's report,
 * a clean cycle does not, and RT_FOREIGN_BEGIN/END switch the check off.
 *
 * Each case runs the engine in a child process, because the RTSan 19
 * runtime ends the process (status 1) at the first violation. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <signal.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/rt/engine.h"
#include "daemon/rtcheck/rtcheck.h"
#include "tests/support/check_main.h"

#define CYCLES 50
#define BLOCK 256

/* Volatile so the compiler cannot pair up and delete malloc/free. */
static void *volatile sink;
static unsigned wakes;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* engine_process calls e->wake inside its realtime section whenever it
 * pushed a message, so these run on the "audio thread". */
static void wake_clean(void *ctx) {
  (void)ctx;
  wakes++;
}

static void wake_malloc(void *ctx) {
  (void)ctx;
  sink = malloc(64);
  wakes++;
}

static void wake_lock(void *ctx) {
  (void)ctx;
  pthread_mutex_lock(&lock);
  wakes++;
  pthread_mutex_unlock(&lock);
}

/* What a plugin call looks like: outside our promise, so not checked. */
static void wake_foreign_malloc(void *ctx) {
  (void)ctx;
  RT_FOREIGN_BEGIN();
  sink = malloc(4096);
  free(sink);
  pthread_mutex_lock(&lock);
  pthread_mutex_unlock(&lock);
  RT_FOREIGN_END();
  wakes++;
}

/* rtcheck.c's half, armed as the daemon arms it: 0 not armed, 1 system
 * calls, 2 system calls and page faults. */
static int arm_mode;
static int efd = -1;
static char *fresh;   /* pages never touched: each first touch faults */

/* The wake-up as the daemon makes it (uv_async_send: a write to an
 * eventfd): the one system call allowed in the cycle. */
static void wake_eventfd(void *ctx) {
  uint64_t one = 1;

  (void)ctx;
  if (write(efd, &one, sizeof one) != sizeof one)
    _exit(13);
  wakes++;
}

/* What the cycle's own code would be doing if it logged: a write, which
 * RTSan 19 does not intercept.  (Called from the wake-up, so it steps out
 * of the wake-up's allowance first.) */
static void say(const char *s) {
  if (write(2, s, strlen(s)) < 0)
    _exit(15);
}

static void wake_write(void *ctx) {
  (void)ctx;
  RT_SYSCALL_END();
  say("logging from the audio thread\n");
  RT_SYSCALL_BEGIN();
  wakes++;
}

/* The same inside a foreign section (a plugin logging): not ours. */
static void wake_foreign_write(void *ctx) {
  (void)ctx;
  RT_SYSCALL_END();
  RT_FOREIGN_BEGIN();
  say("a plugin logging\n");
  RT_FOREIGN_END();
  RT_SYSCALL_BEGIN();
  wakes++;
}

/* Signals delivered inside the cycle (a timer's, here) return through
 * rt_sigreturn: not the cycle's system call. */
static volatile sig_atomic_t ticks;
static bool timer_in_child;   /* run_engine: a 1 ms SIGALRM timer */
static void on_alarm(int sig) {
  (void)sig;
  ticks++;
}

static void wake_signalled(void *ctx) {
  sig_atomic_t t0 = ticks;
  struct timespec a, b;

  (void)ctx;
  RT_SYSCALL_END();
  clock_gettime(CLOCK_MONOTONIC, &a);   /* the vDSO: no system call */
  do
    clock_gettime(CLOCK_MONOTONIC, &b);
  while (ticks == t0 && (b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < 50000000L);
  RT_SYSCALL_BEGIN();
  if (ticks == t0)
    _exit(16);   /* no signal came: the test proves nothing */
  wakes++;
}

/* After the warm-up, the cycle's own code touches a page for the first
 * time: a page fault. */
static void wake_fault(void *ctx) {
  (void)ctx;
  if (wakes >= 20)
    fresh[(size_t)(wakes - 20) * 4096] = 1;
  wakes++;
}

/* The child: a real engine, a sync command per cycle (so the cycle has a
 * message to say and calls wake).  Exit 0 when every cycle ran and woke. */
static void run_engine(void (*wake)(void *)) {
  static float l[BLOCK], r[BLOCK];
  float *out[2] = { l, r };
  engine e;
  rt_cmd c;
  int i;

  RT_CHECK_INIT();
  if (arm_mode > 0)
    RT_CHECK_ARM(arm_mode == 2);
  RT_CHECK_THREAD();
  efd = eventfd(0, EFD_NONBLOCK);
  fresh = mmap(NULL, (size_t)CYCLES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
               -1, 0);
  if (efd < 0 || fresh == MAP_FAILED)
    _exit(14);
  if (timer_in_child) {
    struct itimerval it = { { 0, 1000 }, { 0, 1000 } };
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGALRM, &sa, NULL) != 0 || setitimer(ITIMER_REAL, &it, NULL) != 0)
      _exit(17);
  }
  if (engine_init(&e, 48000, 2) != 0)
    _exit(10);
  e.wake = wake;
  for (i = 0; i < CYCLES; i++) {
    memset(&c, 0, sizeof c);
    c.type = RT_CMD_SYNC;
    c.at_kind = RT_AT_NOW;
    c.req_id = (uint64_t)i + 1;
    if (spsc_push(e.to_rt, &c) != 0)
      _exit(11);
    engine_process(&e, out, 2, BLOCK);
  }
  if (wakes != CYCLES || e.frame != (uint64_t)CYCLES * BLOCK)
    _exit(12);
  engine_destroy(&e);
  _exit(0);
}

/* Runs run_engine(wake) in a child; returns its exit status (or 128 +
 * signal) and what it wrote to stderr. */
static int in_child(void (*wake)(void *), char *err, size_t errlen) {
  int fds[2], status;
  size_t len = 0;
  ssize_t n;
  pid_t pid;

  ck_assert_int_eq(pipe(fds), 0);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], 2);
    run_engine(wake);
  }
  close(fds[1]);
  while (len + 1 < errlen && (n = read(fds[0], err + len, errlen - 1 - len)) > 0)
    len += (size_t)n;
  err[len] = '\0';
  close(fds[0]);
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

START_TEST(test_malloc_in_cycle_is_caught) {
  char err[16384];
  int rc = in_child(wake_malloc, err, sizeof err);

  ck_assert_msg(rc == 1, "child exited %d; stderr:\n%s", rc, err);
  ck_assert_msg(strstr(err, "Real-time violation") != NULL, "stderr:\n%s", err);
  ck_assert_msg(strstr(err, "malloc") != NULL, "stderr:\n%s", err);
}
END_TEST

START_TEST(test_lock_in_cycle_is_caught) {
  char err[16384];
  int rc = in_child(wake_lock, err, sizeof err);

  ck_assert_msg(rc == 1, "child exited %d; stderr:\n%s", rc, err);
  ck_assert_msg(strstr(err, "Real-time violation") != NULL, "stderr:\n%s", err);
  ck_assert_msg(strstr(err, "pthread_mutex_lock") != NULL, "stderr:\n%s", err);
}
END_TEST

START_TEST(test_clean_cycles_pass) {
  char err[16384];
  int rc = in_child(wake_clean, err, sizeof err);

  ck_assert_msg(rc == 0, "child exited %d; stderr:\n%s", rc, err);
  ck_assert_msg(strstr(err, "Real-time violation") == NULL, "stderr:\n%s", err);
}
END_TEST

START_TEST(test_foreign_section_is_not_checked) {
  char err[16384];
  int rc = in_child(wake_foreign_malloc, err, sizeof err);

  ck_assert_msg(rc == 0, "child exited %d; stderr:\n%s", rc, err);
  ck_assert_msg(strstr(err, "Real-time violation") == NULL, "stderr:\n%s", err);
}
END_TEST

/* Outside the cycle the same calls are fine: the check is scoped to the
 * realtime section, not the thread. */
START_TEST(test_outside_cycle_is_not_checked) {
  pid_t pid;
  int status;

  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    RT_CHECK_INIT();
    sink = malloc(64);
    free(sink);
    pthread_mutex_lock(&lock);
    pthread_mutex_unlock(&lock);
    _exit(0);
  }
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert(WIFEXITED(status));
  ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

/* rtcheck.c: what RTSan misses.  A system call in the cycle's own code
 * (a write, as logging makes) fails the process; the wake-up's write does not, nor
 * one in a foreign section; a page fault after the warm-up fails it when
 * page faults are checked. */
START_TEST(test_syscall_in_cycle_is_caught) {
  char err[16384];
  int rc;

  arm_mode = 1;
  rc = in_child(wake_write, err, sizeof err);
  ck_assert_msg(rc == 1, "child exited %d; stderr:\n%s", rc, err);
  ck_assert_msg(strstr(err, "Real-time violation: system call 1 ") != NULL, "stderr:\n%s", err);
  /* Reported at the first, and the program went on to the cycle's end:
   * the line was written. */
  ck_assert_msg(strstr(err, "logging from the audio thread") != NULL, "stderr:\n%s", err);
  arm_mode = 0;
}
END_TEST

START_TEST(test_wakeup_and_foreign_syscalls_pass) {
  char err[16384];
  int rc;

  arm_mode = 2;
  rc = in_child(wake_eventfd, err, sizeof err);
  ck_assert_msg(rc == 0, "child exited %d; stderr:\n%s", rc, err);
  rc = in_child(wake_foreign_write, err, sizeof err);
  ck_assert_msg(rc == 0, "child exited %d; stderr:\n%s", rc, err);
  ck_assert_msg(strstr(err, "a plugin logging") != NULL, "stderr:\n%s", err);
  /* Not armed, the write in the cycle passes unseen (RTSan alone misses it). */
  arm_mode = 0;
  rc = in_child(wake_write, err, sizeof err);
  ck_assert_msg(rc == 0, "child exited %d; stderr:\n%s", rc, err);
}
END_TEST

START_TEST(test_signal_in_cycle_passes) {
  char err[16384];
  int rc;

  arm_mode = 1;
  timer_in_child = true;
  rc = in_child(wake_signalled, err, sizeof err);
  timer_in_child = false;
  arm_mode = 0;
  ck_assert_msg(rc == 0, "child exited %d; stderr:\n%s", rc, err);
}
END_TEST

START_TEST(test_page_fault_in_cycle_is_caught) {
  char err[16384];
  int rc;

  arm_mode = 2;
  rc = in_child(wake_fault, err, sizeof err);
  ck_assert_msg(rc == 1, "child exited %d; stderr:\n%s", rc, err);
  ck_assert_msg(strstr(err, "page fault") != NULL, "stderr:\n%s", err);
  /* Faults are checked only when armed for them (memory locked). */
  arm_mode = 1;
  rc = in_child(wake_fault, err, sizeof err);
  ck_assert_msg(rc == 0, "child exited %d; stderr:\n%s", rc, err);
  arm_mode = 0;
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("rtsan");
  TCase *tc = tcase_create("engine");

  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_malloc_in_cycle_is_caught);
  tcase_add_test(tc, test_lock_in_cycle_is_caught);
  tcase_add_test(tc, test_clean_cycles_pass);
  tcase_add_test(tc, test_foreign_section_is_not_checked);
  tcase_add_test(tc, test_outside_cycle_is_not_checked);
  tcase_add_test(tc, test_syscall_in_cycle_is_caught);
  tcase_add_test(tc, test_wakeup_and_foreign_syscalls_pass);
  tcase_add_test(tc, test_page_fault_in_cycle_is_caught);
  tcase_add_test(tc, test_signal_in_cycle_passes);
  suite_add_tcase(s, tc);
  return s;
}

CHECK_MAIN(make_suite)
