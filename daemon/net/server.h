/* server.h - the listening sockets. */
#ifndef SONOD_SERVER_H
#define SONOD_SERVER_H

#include <stddef.h>

#include "daemon/base/sonod.h"

/* Listens on the sockets systemd passed (LISTEN_FDS), then opens the Unix
 * socket and, when configured, the TCP socket, unless one of the same kind
 * was passed.  Fills d->listening. */
int server_listen(sonod *d, char *err, size_t errlen);
/* Stops accepting and removes the Unix socket file, unless it was passed. */
void server_close(sonod *d);

#endif
