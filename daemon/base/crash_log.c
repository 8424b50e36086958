/* crash_log.c - what the daemon writes when it dies of a fatal signal.
 *
 * A daemon that dies on a headless box leaves only its log; "killed by
 * SIGBUS" there says nothing about where.  Like redis's crash report, the
 * handler writes the signal, the address and which mapping holds it (a
 * SIGBUS is nearly always a mapped file or shared memory shorter than its
 * mapping: the mapping's path names the culprit), the thread and a
 * backtrace, then the signal takes its default action (main.c).
 *
 * A crash inside a plugin call says first which plugin and call
 * (vst_crash_where).
 *
 * Everything here runs in a signal handler after memory may be corrupt:
 * no stdio, no malloc; numbers are formatted by hand, /proc/self/maps is
 * read with read(2) into a stack buffer.  backtrace_symbols_fd writes
 * without allocating once backtrace has loaded libgcc, which
 * crash_log_prepare does at start. */
#include "daemon/base/crash_log.h"

#include <execinfo.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "daemon/vst/vst.h"

#define MAX_FRAMES 48

static void put(int fd, const char *s) {
  size_t n = strlen(s);

  while (n > 0) {
    ssize_t w = write(fd, s, n);

    if (w <= 0)
      return;
    s += w;
    n -= (size_t)w;
  }
}

static void put_num(int fd, uintptr_t v, unsigned base) {
  char buf[24], *p = buf + sizeof buf - 1;

  *p = '\0';
  do {
    *--p = "0123456789abcdef"[v % base];
    v /= base;
  } while (v != 0);
  if (base == 16)
    put(fd, "0x");
  put(fd, p);
}

static const char *sig_name(int sig) {
  switch (sig) {
  case SIGSEGV: return "SIGSEGV";
  case SIGBUS: return "SIGBUS";
  case SIGILL: return "SIGILL";
  case SIGFPE: return "SIGFPE";
  case SIGABRT: return "SIGABRT";
  default: return "signal";
  }
}

static uintptr_t parse_hex(const char **s) {
  uintptr_t v = 0;

  for (;; (*s)++) {
    char c = **s;

    if (c >= '0' && c <= '9')
      v = v * 16 + (uintptr_t)(c - '0');
    else if (c >= 'a' && c <= 'f')
      v = v * 16 + (uintptr_t)(c - 'a' + 10);
    else
      return v;
  }
}

/* Writes the line of /proc/self/maps whose range holds addr, if any. */
static void put_mapping(int fd, uintptr_t addr) {
  char buf[4096];
  size_t have = 0;
  int m = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

  if (m < 0)
    return;
  for (;;) {
    ssize_t r = read(m, buf + have, sizeof buf - 1 - have);
    char *line = buf, *nl;

    if (r <= 0)
      break;
    have += (size_t)r;
    buf[have] = '\0';
    while ((nl = strchr(line, '\n')) != NULL) {
      const char *p = line;
      uintptr_t lo = parse_hex(&p), hi;

      p++;   /* the '-' */
      hi = parse_hex(&p);
      if (addr >= lo && addr < hi) {
        put(fd, "sonod: the address is in the mapping ");
        *nl = '\0';
        put(fd, line);
        put(fd, "\n");
        close(m);
        return;
      }
      line = nl + 1;
    }
    /* Keep the partial line; a line longer than the buffer is dropped. */
    have = (size_t)(buf + have - line);
    if (have == sizeof buf - 1)
      have = 0;
    memmove(buf, line, have);
  }
  put(fd, "sonod: the address is in no mapping\n");
  close(m);
}

void crash_log_prepare(void) {
  void *frames[4];

  (void)backtrace(frames, 4);
}

void crash_log_write(int fd, int sig, const siginfo_t *si) {
  void *frames[MAX_FRAMES];
  int n;

  vst_crash_site site;

  /* Inside a plugin call first: which plugin took the daemon down. */
  if (vst_crash_where(&site)) {
    put(fd, "sonod: crashed inside plugin ");
    put(fd, site.label);
    if (site.audio) {
      put(fd, " while processing audio");
    } else if (site.op_name != NULL) {
      put(fd, " in ");
      put(fd, site.op_name);
    } else {
      put(fd, " in dispatcher opcode ");
      put_num(fd, (uintptr_t)(unsigned)site.opcode, 10);
    }
    put(fd, "\n");
  }
  put(fd, "sonod: fatal ");
  put(fd, sig_name(sig));
  put(fd, " (signal ");
  put_num(fd, (uintptr_t)sig, 10);
  put(fd, ") in thread ");
  put_num(fd, (uintptr_t)syscall(SYS_gettid), 10);
  if (si != NULL && si->si_code <= 0) {
    /* Sent (kill, raise, abort), not a fault: there is no address. */
    put(fd, ", sent by process ");
    put_num(fd, (uintptr_t)si->si_pid, 10);
    put(fd, "\n");
  } else if (si != NULL && sig != SIGABRT) {
    put(fd, ", code ");
    put_num(fd, (uintptr_t)si->si_code, 10);
    put(fd, ", at address ");
    put_num(fd, (uintptr_t)si->si_addr, 16);
    put(fd, "\n");
    if (sig == SIGSEGV || sig == SIGBUS)
      put_mapping(fd, (uintptr_t)si->si_addr);
  } else {
    put(fd, "\n");
  }
  put(fd, "sonod: backtrace:\n");
  n = backtrace(frames, MAX_FRAMES);
  backtrace_symbols_fd(frames, n, fd);
}
