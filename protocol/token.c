/* token.c - reading a token file and comparing tokens (token.h). */
#include "protocol/token.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Room for the longest token and whitespace around it; a longer first
 * line is not a token. */
#define LINE_MAX_BYTES (SONO_TOKEN_MAX + 256)

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); goto out; } while (0)

static int is_space(unsigned char ch) {
  return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\v' || ch == '\f';
}

/* Reads up to the first newline (or the end) into line; returns its length,
 * LINE_MAX_BYTES when the line does not fit, or -1 on a read error. */
static ssize_t read_line(int fd, char *line) {
  size_t len = 0;

  while (len < LINE_MAX_BYTES) {
    ssize_t n = read(fd, line + len, LINE_MAX_BYTES - len);
    char *nl;

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -1;
    if (n == 0)
      return (ssize_t)len;
    nl = memchr(line + len, '\n', (size_t)n);
    if (nl != NULL)
      return nl - line;
    len += (size_t)n;
  }
  return LINE_MAX_BYTES;
}

int sono_token_read(const char *path, char *buf, size_t size, char *err, size_t errlen) {
  char line[LINE_MAX_BYTES];
  struct stat st;
  ssize_t n;
  size_t start = 0, end, i;
  int fd, rc = -1;

  fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
  }
  if (fstat(fd, &st) != 0)
    FAIL("%s: %s", path, strerror(errno));
  if (!S_ISREG(st.st_mode))
    FAIL("%s: not a regular file", path);
  if ((st.st_mode & 077) != 0)
    FAIL("%s: permissions %04o are too open: group or others may read or change the token "
         "(chmod 600 %s)", path, (unsigned)(st.st_mode & 07777), path);
  n = read_line(fd, line);
  if (n < 0)
    FAIL("%s: %s", path, strerror(errno));
  end = (size_t)n;
  if (end == LINE_MAX_BYTES)
    FAIL("%s: the first line is longer than %d bytes", path, SONO_TOKEN_MAX);
  while (start < end && is_space((unsigned char)line[start]))
    start++;
  while (end > start && is_space((unsigned char)line[end - 1]))
    end--;
  if (end == start)
    FAIL("%s: no token on the first line", path);
  if (end - start < SONO_TOKEN_MIN || end - start > SONO_TOKEN_MAX)
    FAIL("%s: the token has %zu bytes; it must have %d to %d (e.g. openssl rand -hex 32)",
         path, end - start, SONO_TOKEN_MIN, SONO_TOKEN_MAX);
  for (i = start; i < end; i++)
    if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
      FAIL("%s: the token holds a control character", path);
  if (size < end - start + 1)
    FAIL("%s: no room for the token", path);
  memcpy(buf, line + start, end - start);
  buf[end - start] = '\0';
  rc = (int)(end - start);
out:
  /* The secret should not outlive its use in stack memory. */
  explicit_bzero(line, sizeof line);
  close(fd);
  return rc;
}

bool sono_token_equal(const char *want, size_t wantlen, const char *got, size_t gotlen) {
  /* volatile: keeps the compiler from stopping at the first difference. */
  volatile unsigned char diff = wantlen != gotlen;
  size_t i;

  /* Always wantlen steps; a shorter guess is compared against zeros. */
  for (i = 0; i < wantlen; i++)
    diff |= (unsigned char)want[i] ^ (unsigned char)(i < gotlen ? got[i] : 0);
  return diff == 0;
}
