/* server.h - the listening sockets. */
#ifndef SONOD_SERVER_H
#define SONOD_SERVER_H

#include <stddef.h>

#include "daemon/sonod.h"

/* Opens the Unix socket and, when configured, the TCP socket. */
int server_listen(sonod *d, char *err, size_t errlen);
/* Stops accepting and removes the Unix socket file. */
void server_close(sonod *d);

#endif
