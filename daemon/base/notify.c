/* notify.c - sd_notify(3) spoken directly: one datagram of "KEY=value"
 * lines to the Unix socket named by $NOTIFY_SOCKET ("@name" for the abstract
 * namespace).  The protocol is a documented stable interface of systemd,
 * and ten lines of sendto() spare sonod a libsystemd dependency on systems
 * without systemd; see ARCHITECTURE.md, "Service integration".  systemd
 * learns who is talking from the kernel's SCM_CREDENTIALS, so nothing
 * identifies the sender in the message itself. */
#include "daemon/base/notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/base/log.h"

static int sock = -1;
static struct sockaddr_un addr;
static socklen_t addrlen;
static uint64_t watchdog_usec;

static void init_socket(const char *path) {
  size_t n = strlen(path);

  if (n < 2 || (path[0] != '/' && path[0] != '@') || n >= sizeof addr.sun_path) {
    log_warn("NOTIFY_SOCKET '%s' is not a socket path sonod can use; not notifying", path);
    return;
  }
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path, n);
  if (path[0] == '@')
    addr.sun_path[0] = '\0';   /* abstract: the length, not a NUL, ends it */
  addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/'));
  /* Non-blocking: the control thread never waits on the service manager.
   * A lost watchdog ping is sent again half an interval later. */
  sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (sock < 0)
    log_warn("NOTIFY_SOCKET: socket: %s", strerror(errno));
}

/* sd_watchdog_enabled(3): WATCHDOG_USEC applies to us only when
 * WATCHDOG_PID is unset or names this process. */
static void init_watchdog(const char *usec, const char *pid) {
  char *end;
  unsigned long long v;

  if (usec == NULL)
    return;
  if (pid != NULL && strtol(pid, NULL, 10) != (long)getpid())
    return;
  errno = 0;
  v = strtoull(usec, &end, 10);
  if (errno != 0 || end == usec || *end != '\0' || v == 0) {
    log_warn("WATCHDOG_USEC '%s' is not a positive number; no watchdog pings", usec);
    return;
  }
  watchdog_usec = v;
}

void notify_init(void) {
  const char *path = getenv("NOTIFY_SOCKET");

  if (path != NULL && path[0] != '\0') {
    init_socket(path);
    if (sock >= 0)
      init_watchdog(getenv("WATCHDOG_USEC"), getenv("WATCHDOG_PID"));
  }
  unsetenv("NOTIFY_SOCKET");
  unsetenv("WATCHDOG_USEC");
  unsetenv("WATCHDOG_PID");
}

void notify_send(const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  int n;

  if (sock < 0)
    return;
  va_start(ap, fmt);
  n = vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  if ((size_t)n >= sizeof msg)
    n = sizeof msg - 1;   /* a long STATUS= is cut, never dropped */
  if (sendto(sock, msg, (size_t)n, MSG_NOSIGNAL, (struct sockaddr *)&addr, addrlen) < 0)
    log_debug("NOTIFY_SOCKET: %s", strerror(errno));
}

uint64_t notify_watchdog_usec(void) {
  return watchdog_usec;
}
