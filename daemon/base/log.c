/* log.c - lines to stderr with a syslog-style priority prefix, which
 * journald understands when sonod runs under systemd. */
#include "daemon/base/log.h"

#include <stdarg.h>
#include <stdio.h>

static log_level current = LOG_INFO;

void log_set_level(log_level level) {
  current = level;
}

void log_msg(log_level level, const char *fmt, ...) {
  static const char *prio[] = { "<3>", "<4>", "<6>", "<7>" };
  static const char *name[] = { "error", "warning", "info", "debug" };
  va_list ap;

  if (level > current)
    return;
  fprintf(stderr, "%ssonod: %s: ", prio[level], name[level]);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}
