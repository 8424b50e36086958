/* file.c - see file.h. */
#include "daemon/file/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *kind_of(mode_t m) {
  if (S_ISDIR(m))
    return "a directory";
  if (S_ISFIFO(m))
    return "a FIFO";
  if (S_ISCHR(m))
    return "a character device";
  if (S_ISBLK(m))
    return "a block device";
  if (S_ISSOCK(m))
    return "a socket";
  if (S_ISLNK(m))
    return "a symbolic link";
  return "not a regular file";
}

static int refuse(const char *path, mode_t m, char *why, size_t whylen) {
  snprintf(why, whylen, "%s is %s, not a regular file", path, kind_of(m));
  errno = EINVAL;
  return -1;
}

/* Says errno's reason for path; closes fd when it is one.  Returns -1. */
static int failed(int fd, const char *path, char *why, size_t whylen) {
  snprintf(why, whylen, "%s: %s", path, strerror(errno));
  if (fd >= 0)
    close(fd);
  return -1;
}

/* The fd as opened (non-blocking), checked and made blocking. */
static int checked(int fd, const char *path, char *why, size_t whylen) {
  struct stat st;

  if (fstat(fd, &st) != 0)
    return failed(fd, path, why, whylen);
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return refuse(path, st.st_mode, why, whylen);
  }
  if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0)
    return failed(fd, path, why, whylen);
  return fd;
}

int file_open_read(const char *path, char *why, size_t whylen) {
  struct stat st;
  int fd;

  if (stat(path, &st) != 0)
    return failed(-1, path, why, whylen);
  if (!S_ISREG(st.st_mode))
    return refuse(path, st.st_mode, why, whylen);
  fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    return failed(-1, path, why, whylen);
  return checked(fd, path, why, whylen);
}

int file_open_write(const char *path, char *why, size_t whylen) {
  struct stat st;
  int fd;

  if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
    return refuse(path, st.st_mode, why, whylen);
  /* No O_TRUNC: nothing is truncated before it is known to be a file. */
  fd = open(path, O_WRONLY | O_CREAT | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0666);
  if (fd < 0 && errno == ENXIO) {   /* a FIFO that appeared in between, no reader */
    snprintf(why, whylen, "%s is a FIFO, not a regular file", path);
    return -1;
  }
  if (fd < 0)
    return failed(-1, path, why, whylen);
  if ((fd = checked(fd, path, why, whylen)) < 0)
    return -1;
  if (ftruncate(fd, 0) != 0)
    return failed(fd, path, why, whylen);
  return fd;
}

int file_may_replace(const char *path, char *why, size_t whylen) {
  struct stat st;

  if (lstat(path, &st) != 0)
    return errno == ENOENT ? 0 : failed(-1, path, why, whylen);
  if (!S_ISREG(st.st_mode)) {
    refuse(path, st.st_mode, why, whylen);
    return -1;
  }
  return 0;
}
