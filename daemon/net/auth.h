/* auth.h - the token TCP clients authenticate with (PROTOCOL.md,
 * "Authentication"; ARCHITECTURE.md, "TCP and its token"). */
#ifndef SONOD_AUTH_H
#define SONOD_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "daemon/net/request.h"
#include "daemon/base/sonod.h"

/* Before a TCP client has authenticated, frames larger than this are
 * skipped: a hello is small, and a stranger should not make sonod buffer
 * 16 MiB. */
#define AUTH_FRAME_MAX 4096u

/* Reads --tcp-token-file, if given, into d.  Returns 0, or -1 with the
 * reason in err (naming the file, never quoting the token). */
int auth_load(sonod *d, char *err, size_t errlen);

/* Whether a new client starts authenticated: Unix clients always (the
 * socket's permissions guard them), TCP clients when no token is set. */
bool auth_needed(const sonod *d, bool tcp);

/* hello from a client that has not authenticated: true when it carries
 * the right token.  Otherwise replies unauthorized, logs the peer and
 * closes the connection after the reply, and returns false. */
bool auth_check_hello(request *r);
/* Marks the client authenticated (after a successful hello). */
void auth_grant(client *c);

/* Warns when TCP listens on a non-loopback address without a token. */
void auth_check_exposure(const sonod *d, const struct sockaddr *addr, const char *name);

#endif
