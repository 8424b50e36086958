/* rtcheck.c - the realtime checker's own half (-Drtsan=true only): what
 * RealtimeSanitizer 19 cannot see.  Its runtime intercepts malloc, locks,
 * sleeps and file calls, but not write, mmap, futex or anything glibc does
 * inside (fprintf), nor page faults.  Once armed (the daemon arms it at
 * start), every thread that runs an audio cycle:
 *
 *   - turns on Linux's syscall user dispatch (prctl
 *     PR_SET_SYSCALL_USER_DISPATCH, 5.11+) with a per-thread selector byte,
 *     set to BLOCK inside the cycle's own code: any system call there
 *     becomes a SIGSYS, whose handler notes it (the first one's stack goes
 *     to stderr), lets it run (re-issued with the selector on ALLOW, so the
 *     program goes on as it would) and the cycle's end fails the process;
 *     plugins and Csound (RT_FOREIGN_*) and the one wake-up
 *     (RT_SYSCALL_*) run with the selector on ALLOW;
 *   - counts the thread's page faults (getrusage RUSAGE_THREAD, read with
 *     the selector on ALLOW at the cycle's ends and around foreign code):
 *     after WARMUP_CYCLES cycles on a thread, a fault in our own code fails
 *     the process (only when memory is locked: without mlockall first
 *     touches fault legitimately).
 *
 * A failure prints "Real-time violation: ..." and exits with status 1, as
 * RealtimeSanitizer does. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "daemon/rtcheck/rtcheck.h"

#ifdef SONOD_RTSAN
#include <errno.h>
#include <execinfo.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH 59
#define PR_SYS_DISPATCH_OFF 0
#define PR_SYS_DISPATCH_ON 1
#endif
#ifndef SYSCALL_DISPATCH_FILTER_ALLOW
#define SYSCALL_DISPATCH_FILTER_ALLOW 0
#define SYSCALL_DISPATCH_FILTER_BLOCK 1
#endif
#ifndef SYS_USER_DISPATCH
#define SYS_USER_DISPATCH 2
#endif

#define WARMUP_CYCLES 8

static atomic_bool armed, faults_armed;
/* glibc's signal return trampoline (__restore_rt): its rt_sigreturn must
 * pass even inside the cycle, or a signal delivered there could not return. */
static void *restorer;

static __thread volatile char sel;    /* SYSCALL_DISPATCH_FILTER_* */
static __thread bool enrolled;        /* RT_CHECK_THREAD: checked here */
static __thread int dispatch;         /* 0 not tried, 1 on, -1 unavailable */
static __thread unsigned depth;       /* RT_CYCLE nesting (the JACK callback, engine_process) */
static __thread unsigned foreign;     /* RT_FOREIGN nesting inside the cycle */
static __thread unsigned long cycles;
static __thread long flt_start, flt_foreign, flt_foreign_start;
static __thread long bad_syscall = -1;

static void say(const char *s) {
  ssize_t r = write(2, s, strlen(s));
  (void)r;
}

static long faults_now(void) {
  struct rusage ru;

  if (getrusage(RUSAGE_THREAD, &ru) != 0)
    return 0;
  return ru.ru_minflt + ru.ru_majflt;
}

static void block(void) {
  if (dispatch == 1 && foreign == 0 && bad_syscall < 0)
    sel = SYSCALL_DISPATCH_FILTER_BLOCK;
}

#if defined(__x86_64__)
static void on_sigsys(int sig, siginfo_t *si, void *ucv) {
  ucontext_t *uc = ucv;
  greg_t *g = uc->uc_mcontext.gregs;
  int saved = errno;
  long r;

  (void)sig;
  sel = SYSCALL_DISPATCH_FILTER_ALLOW;
  if (si->si_code != SYS_USER_DISPATCH) {
    signal(SIGSYS, SIG_DFL);
    raise(SIGSYS);
    return;
  }
  if (bad_syscall < 0) {
    char msg[160];
    void *frames[32];
    int n;

    bad_syscall = si->si_syscall;
    snprintf(msg, sizeof msg,
             "Real-time violation: system call %ld on the audio thread, in our own code. "
             "Stack trace:\n", bad_syscall);
    say(msg);
    __rtsan_off();   /* the report is not the audio thread's work */
    n = backtrace(frames, 32);
    backtrace_symbols_fd(frames, n, 2);
    __rtsan_on();
  }
  /* Run it after all: the program goes on as it would have; the cycle's
   * end fails the process. */
  r = syscall(si->si_syscall, g[REG_RDI], g[REG_RSI], g[REG_RDX], g[REG_R10], g[REG_R8],
              g[REG_R9]);
  g[REG_RAX] = r == -1 ? -errno : r;
  errno = saved;
}
#endif

void rtcheck_arm(bool faults) {
#if defined(__x86_64__)
  struct sigaction sa;

  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sigsys;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGSYS, &sa, NULL) != 0)
    return;
  {
    struct sigaction back;

    if (sigaction(SIGSYS, NULL, &back) == 0)
      restorer = (void *)back.sa_restorer;
  }
  {
    /* backtrace loads libgcc on its first call: not in the handler. */
    void *frames[4];
    (void)backtrace(frames, 4);
  }
#endif
  atomic_store(&faults_armed, faults);
  atomic_store(&armed, true);
}

/* Only sonod's own audio threads enroll.  JACK's process thread does not:
 * jack2 cancels it asynchronously when the server goes away, and with the
 * dispatch on it did not finish closing under load (tests/jack, restart);
 * its callback stays inside RTSan's region. */
void rtcheck_thread(void) {
  enrolled = true;
}

void rtcheck_cycle_begin(void) {
  if (!enrolled || !atomic_load_explicit(&armed, memory_order_relaxed) || depth++ > 0)
    return;
#if defined(__x86_64__)
  if (dispatch == 0)
    dispatch = prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, (unsigned long)restorer,
                     restorer != NULL ? 16ul : 0ul, &sel) == 0 ? 1 : -1;
#else
  dispatch = -1;
#endif
  cycles++;
  foreign = 0;
  flt_foreign = 0;
  flt_start = faults_now();
  block();
}

static void fail(const char *what) {
  say("Real-time violation: ");
  say(what);
  say("\n");
  _exit(1);
}

void rtcheck_cycle_end(void) {
  long own;

  if (depth == 0 || --depth > 0)
    return;
  sel = SYSCALL_DISPATCH_FILTER_ALLOW;
  own = faults_now() - flt_start - flt_foreign;
  if (bad_syscall >= 0)
    fail("a system call in the audio cycle (its stack is above)");
  if (atomic_load_explicit(&faults_armed, memory_order_relaxed) && cycles > WARMUP_CYCLES &&
      own > 0) {
    char msg[160];

    snprintf(msg, sizeof msg, "%ld page fault%s in the audio cycle's own code (cycle %lu of this thread)",
             own, own == 1 ? "" : "s", cycles);
    fail(msg);
  }
}

void rtcheck_foreign_begin(void) {
  if (depth == 0 || foreign++ > 0)
    return;
  sel = SYSCALL_DISPATCH_FILTER_ALLOW;
  flt_foreign_start = faults_now();
}

void rtcheck_foreign_end(void) {
  if (depth == 0 || foreign == 0 || --foreign > 0)
    return;
  flt_foreign += faults_now() - flt_foreign_start;
  block();
}

void rtcheck_syscall_begin(void) {
  if (depth > 0)
    sel = SYSCALL_DISPATCH_FILTER_ALLOW;
}

void rtcheck_syscall_end(void) {
  if (depth > 0)
    block();
}
#endif
