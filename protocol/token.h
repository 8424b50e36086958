/* token.h - the shared secret of TCP clients (PROTOCOL.md, "Authentication").
 *
 * sonod and sonoctl read the token from a file under the same rules, so a
 * file one accepts the other accepts too, and compare it in time that does
 * not depend on where a guess goes wrong. */
#ifndef SONO_PROTOCOL_TOKEN_H
#define SONO_PROTOCOL_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

/* A token shorter than this could be guessed over the network: sonod does
 * not slow down guesses made on fresh connections. */
#define SONO_TOKEN_MIN 16
#define SONO_TOKEN_MAX 256

/* Reads the token: the file's first line with surrounding whitespace
 * trimmed, SONO_TOKEN_MIN to SONO_TOKEN_MAX printable bytes, into buf
 * (at least SONO_TOKEN_MAX + 1 bytes, NUL-terminated).  Refuses, as ssh
 * does for keys, a file that group or others have any permission on, and
 * anything but a regular file.  Returns the token's length, or -1 with
 * "PATH: why" in err; the reason never quotes the file's contents. */
int sono_token_read(const char *path, char *buf, size_t size, char *err, size_t errlen);

/* Whether got equals want.  Takes the same time for every got of a given
 * length: a guess learns nothing from how long the answer took. */
bool sono_token_equal(const char *want, size_t wantlen, const char *got, size_t gotlen);

#endif
