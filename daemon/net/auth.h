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

/* A TCP client has this long to authenticate before it is closed. */
#define AUTH_TIMEOUT_MS 5000u
/* A wrong or missing token is answered this much later: guessing costs
 * time, not only a TCP handshake. */
#define AUTH_FAIL_DELAY_MS 1000u
/* TCP connections that may wait to authenticate at once; more are
 * refused.  With the delay, at most this many guesses a second. */
#define AUTH_WAITING_MAX 16u

/* Reads --tcp-token-file, if given, into d.  Returns 0, or -1 with the
 * reason in err (naming the file, never quoting the token). */
int auth_load(sonod *d, char *err, size_t errlen);

/* Whether a new client starts authenticated: Unix clients always (the
 * socket's permissions guard them), TCP clients when no token is set. */
bool auth_needed(const sonod *d, bool tcp);

/* A new connection that must authenticate: refuses it (limit) when
 * AUTH_WAITING_MAX others are waiting, else gives it AUTH_TIMEOUT_MS.
 * Returns false when it was refused. */
bool auth_start(client *c);
/* hello from a client that has not authenticated: true when it carries
 * the right token.  Otherwise logs the peer, stops reading, and after
 * AUTH_FAIL_DELAY_MS replies unauthorized and closes the connection;
 * returns false. */
bool auth_check_hello(request *r);
/* Marks the client authenticated (after a successful hello). */
void auth_grant(client *c);
/* The connection is closing: it no longer waits. */
void auth_forget(client *c);

/* Warns when TCP listens on a non-loopback address without a token. */
void auth_check_exposure(const sonod *d, const struct sockaddr *addr, const char *name);

#endif
