/* log.c - lines to stderr.  Under systemd, when stderr is the journal's
 * stream, each line starts with a syslog-style priority prefix ("<6>"),
 * which journald turns into the entry's priority; in a terminal or a file
 * the prefix would only be noise, so there is none. */
#include "daemon/base/log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static log_level current = LOG_INFO;
static int to_journal = -1;   /* unknown until the first line */

void log_set_level(log_level level) {
  current = level;
}

/* systemd names the journal stream it connected as "DEV:INODE" in
 * $JOURNAL_STREAM; stderr is that stream when they match (sd_journal's
 * documented test). */
static bool stderr_is_journal(void) {
  const char *js = getenv("JOURNAL_STREAM");
  unsigned long long dev, ino;
  struct stat st;

  if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st) != 0)
    return false;
  return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_msg(log_level level, const char *fmt, ...) {
  static const char *prio[] = { "<3>", "<4>", "<6>", "<7>" };
  static const char *name[] = { "error", "warning", "info", "debug" };
  va_list ap;

  if (level > current)
    return;
  if (to_journal < 0)
    to_journal = stderr_is_journal();
  fprintf(stderr, "%ssonod: %s: ", to_journal ? prio[level] : "", name[level]);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}
