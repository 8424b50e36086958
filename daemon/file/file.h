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

/* Opens an existing regular file for reading.  Returns a blocking fd, or
 * -1 with why set ("... is a FIFO, not a regular file"). */
int file_open_read(const char *path, char *why, size_t whylen);

/* Opens path for writing from its start: a new file is created (mode 0666
 * less the umask), an existing regular file is truncated.  Anything else
 * is refused without being opened.  Returns a blocking fd, or -1. */
int file_open_write(const char *path, char *why, size_t whylen);

/* Whether rename(tmp, path) may replace what path names: 0 when nothing
 * is there or a regular file is (not a symlink, a device, a FIFO...), else
 * -1 with why set. */
int file_may_replace(const char *path, char *why, size_t whylen);

#endif
