/* file.h - opening the files clients name, safely.
 *
 * A path in a request may name anything: a FIFO (opening it blocks the
 * control thread until someone opens the other end), a device node
 * (opening some has effects: a watchdog arms, a tape rewinds; writing to
 * /dev/full fails, a rename replaces /dev/null), a directory, a socket.
 * sonod reads and writes only regular files: these calls look before they
 * open (stat), open without blocking (O_NONBLOCK, O_NOCTTY), and check
 * again what they opened (fstat), so a swap in between is caught too.
 * Control thread (or a worker); never the audio thread. */
#ifndef SONOD_FILE_H
#define SONOD_FILE_H

#include <stddef.h>

/* ---- roots: where the paths a client names may lead ----
 *
 * A set of directories.  A path resolves inside the roots when its folder,
 * with every symlink and `..` resolved (realpath), is a root or lies below
 * one, and its last part, if a symlink, leads below one too.  A refused
 * path gets the same answer whether it exists or not, so nothing outside
 * the roots can be probed.  Roots are kept as given and resolved at each
 * check, so a root created later (~/.vst) counts from then on. */
#define FILE_ROOTS_MAX 32
#define FILE_ROOT_LEN 1024

typedef struct file_roots {
  unsigned n;
  int any;                  /* no confinement: every path as it is */
  const char *setting;      /* the option that adds roots, for messages */
  char dir[FILE_ROOTS_MAX][FILE_ROOT_LEN];
} file_roots;

/* Adds dir (made absolute against the working directory).  A repeat is
 * ignored.  Returns 0, or -1 when dir is empty, too long or the set full. */
int file_roots_add(file_roots *r, const char *dir);

/* Resolves path inside r into out (an absolute path whose folders hold no
 * symlink or `..`, nor its last part a symlink).  r NULL or r->any: out is
 * path as given.  Returns 0, or -1 with why set and errno EACCES. */
int file_roots_resolve(const file_roots *r, const char *path, char *out, size_t outlen, char *why,
                       size_t whylen);

/* The roots file_open_read, file_open_write and file_may_replace confine
 * the paths they are given to; NULL (the default) confines nothing.  Set
 * once at start, before any other thread runs; r must outlive its use. */
void file_set_roots(const file_roots *r);
const file_roots *file_get_roots(void);

/* Each of these first resolves path inside the roots (file_set_roots),
 * then opens what it resolved to beneath its root without following any
 * symlink (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS). */

/* Opens an existing regular file for reading.  Returns a blocking fd, or
 * -1 with why set ("... is a FIFO, not a regular file"). */
int file_open_read(const char *path, char *why, size_t whylen);

/* Opens path for writing from its start: a new file is created (mode 0666
 * less the umask), an existing regular file is truncated.  Anything else
 * is refused without being opened.  Returns a blocking fd, or -1. */
int file_open_write(const char *path, char *why, size_t whylen);
/* file_open_write outside the roots: for paths the operator gave (the
 * offline backend's --output), never for a client's. */
int file_open_write_any(const char *path, char *why, size_t whylen);

/* Whether a file named now for a later read (Csound code's sound files) is
 * harmless to open then: 0 when nothing is there or a regular file is
 * (symlinks followed), else -1 with why set ("... is a FIFO, not a regular
 * file").  Looks with stat, never opens. */
int file_regular_or_absent(const char *path, char *why, size_t whylen);

/* Whether rename(tmp, path) may replace what path names: 0 when nothing
 * is there or a regular file is (not a symlink, a device, a FIFO...), else
 * -1 with why set. */
int file_may_replace(const char *path, char *why, size_t whylen);

#endif
