/* file.c - see file.h. */
#include "daemon/file/file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- roots ---- */

static const file_roots *the_roots;

void file_set_roots(const file_roots *r) { the_roots = r; }
const file_roots *file_get_roots(void) { return the_roots; }

/* path made absolute against the working directory; -1 when too long. */
static int absolute(const char *path, char *out, size_t outlen) {
  char cwd[PATH_MAX];
  int w;

  if (path[0] == '/')
    w = snprintf(out, outlen, "%s", path);
  else if (getcwd(cwd, sizeof cwd) == NULL)
    return -1;
  else
    w = snprintf(out, outlen, "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, path);
  return w < 0 || (size_t)w >= outlen ? -1 : 0;
}

int file_roots_add(file_roots *r, const char *dir) {
  char abs[FILE_ROOT_LEN];
  unsigned i;

  if (dir == NULL || dir[0] == '\0' || absolute(dir, abs, sizeof abs) != 0)
    return -1;
  for (i = 0; i < r->n; i++)
    if (strcmp(r->dir[i], abs) == 0)
      return 0;
  if (r->n >= FILE_ROOTS_MAX)
    return -1;
  memcpy(r->dir[r->n++], abs, strlen(abs) + 1);
  return 0;
}

/* Whether the resolved path lies in the resolved root or is it. */
static int beneath(const char *path, const char *root) {
  size_t n = strlen(root);

  if (strcmp(root, "/") == 0)
    return 1;
  return strncmp(path, root, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static int outside(const file_roots *r, const char *path, char *why, size_t whylen) {
  /* The same words whether path exists or not, and whatever is on the way. */
  snprintf(why, whylen, "%s: not inside the allowed folders (see %s), or its folder does not exist",
           path, r->setting != NULL ? r->setting : "the roots");
  errno = EACCES;
  return -1;
}

static int in_roots(const file_roots *r, const char *resolved) {
  char root[PATH_MAX];
  unsigned i;

  for (i = 0; i < r->n; i++)
    if (realpath(r->dir[i], root) != NULL && beneath(resolved, root))
      return 1;
  return 0;
}

int file_roots_resolve(const file_roots *r, const char *path, char *out, size_t outlen, char *why,
                       size_t whylen) {
  char abs[PATH_MAX], parent[PATH_MAX], cand[PATH_MAX], real[PATH_MAX];
  const char *base;
  char *slash;
  struct stat st;
  int w;

  if (r == NULL || r->any) {
    if (snprintf(out, outlen, "%s", path) >= (int)outlen) {
      snprintf(why, whylen, "path too long");
      errno = ENAMETOOLONG;
      return -1;
    }
    return 0;
  }
  if (absolute(path, abs, sizeof abs) != 0)
    return outside(r, path, why, whylen);
  slash = strrchr(abs, '/');
  base = slash + 1;
  if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
    return outside(r, path, why, whylen);
  if (slash == abs)
    snprintf(parent, sizeof parent, "/");
  else
    snprintf(parent, sizeof parent, "%.*s", (int)(slash - abs), abs);
  if (realpath(parent, real) == NULL)
    return outside(r, path, why, whylen);
  w = snprintf(cand, sizeof cand, "%s/%s", strcmp(real, "/") == 0 ? "" : real, base);
  if (w < 0 || (size_t)w >= sizeof cand || !in_roots(r, cand))
    return outside(r, path, why, whylen);
  /* The last part may be a symlink (its folder is inside): where it leads
   * must be inside too.  A dangling one is refused like the rest. */
  if (lstat(cand, &st) == 0 && S_ISLNK(st.st_mode)) {
    if (realpath(cand, real) == NULL || !in_roots(r, real))
      return outside(r, path, why, whylen);
    snprintf(cand, sizeof cand, "%s", real);
  }
  if (snprintf(out, outlen, "%s", cand) >= (int)outlen)
    return outside(r, path, why, whylen);
  return 0;
}

/* ---- opening ---- */

/* Opens real, a path file_roots_resolve made, beneath the root it lies in:
 * openat2 with RESOLVE_BENEATH and RESOLVE_NO_SYMLINKS, so a folder swapped
 * for a symlink since the check is refused, not followed.  Kernels before
 * 5.6 (ENOSYS): open with O_NOFOLLOW, which guards the last part only.
 * Unconfined: open as it is. */
static int open_in(const file_roots *r, const char *real, int flags, mode_t mode) {
  char root[PATH_MAX];
  unsigned i;

  if (r == NULL || r->any)
    return open(real, flags, mode);
  for (i = 0; i < r->n; i++) {
    struct open_how how;
    const char *rel;
    int rootfd, fd, e;

    if (realpath(r->dir[i], root) == NULL || !beneath(real, root))
      continue;
    rel = real + (strcmp(root, "/") == 0 ? 1 : strlen(root) + (real[strlen(root)] == '/'));
    if ((rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
      return -1;
    memset(&how, 0, sizeof how);
    how.flags = (uint64_t)(flags | O_NOFOLLOW);
    how.mode = (flags & O_CREAT) ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    fd = (int)syscall(SYS_openat2, rootfd, rel[0] != '\0' ? rel : ".", &how, sizeof how);
    e = errno;
    close(rootfd);
    if (fd < 0 && e == ENOSYS)
      return open(real, flags | O_NOFOLLOW, mode);
    errno = e;
    return fd;
  }
  errno = EACCES;
  return -1;
}

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

/* The roots' resolution of path into real, or -1 with why set. */
#define RESOLVE(path, real) RESOLVE_IN(the_roots, path, real)
#define RESOLVE_IN(roots, path, real) \
  if (file_roots_resolve(roots, path, real, sizeof real, why, whylen) != 0) \
    return -1


int file_open_read(const char *path, char *why, size_t whylen) {
  char real[PATH_MAX];
  struct stat st;
  int fd;

  RESOLVE(path, real);
  if (stat(real, &st) != 0)
    return failed(-1, path, why, whylen);
  if (!S_ISREG(st.st_mode))
    return refuse(path, st.st_mode, why, whylen);
  fd = open_in(the_roots, real, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0);
  if (fd < 0)
    return failed(-1, path, why, whylen);
  return checked(fd, path, why, whylen);
}

static int open_write(const file_roots *roots, const char *path, char *why, size_t whylen) {
  char real[PATH_MAX];
  struct stat st;
  int fd;

  RESOLVE_IN(roots, path, real);
  if (stat(real, &st) == 0 && !S_ISREG(st.st_mode))
    return refuse(path, st.st_mode, why, whylen);
  /* No O_TRUNC: nothing is truncated before it is known to be a file. */
  fd = open_in(roots, real, O_WRONLY | O_CREAT | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0666);
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

int file_open_write(const char *path, char *why, size_t whylen) {
  return open_write(the_roots, path, why, whylen);
}

int file_open_write_any(const char *path, char *why, size_t whylen) {
  return open_write(NULL, path, why, whylen);
}

int file_regular_or_absent(const char *path, char *why, size_t whylen) {
  struct stat st;

  if (stat(path, &st) != 0 || S_ISREG(st.st_mode))
    return 0;
  return refuse(path, st.st_mode, why, whylen);
}

int file_may_replace(const char *path, char *why, size_t whylen) {
  char real[PATH_MAX];
  struct stat st;

  /* Checked inside the roots; the link itself (not where it leads) is
   * what a rename would replace, so it is what is looked at. */
  RESOLVE(path, real);
  if (lstat(path, &st) != 0)
    return errno == ENOENT ? 0 : failed(-1, path, why, whylen);
  if (!S_ISREG(st.st_mode)) {
    refuse(path, st.st_mode, why, whylen);
    return -1;
  }
  return 0;
}
