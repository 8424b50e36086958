/* auth.c - the token of TCP connections (sono.h, "authentication"). */
#include "sono_internal.h"

#include <string.h>

#include "protocol/token.h"

/* sono.h cannot include protocol/token.h, so both define SONO_TOKEN_MAX:
 * including both here makes the build refuse two different values. */

int sono_read_token_file(const char *path, char *buf, size_t size, sono_error *err) {
  char why[512];

  if (sono_token_read(path, buf, size, why, sizeof why) < 0) {
    sono_err_set(err, SONO_ERR_USAGE, 0, "bad_token_file", "%s", why);
    return -1;
  }
  return 0;
}

int sono_set_token(sono_conn *c, const char *token, sono_error *err) {
  size_t n = token != NULL ? strlen(token) : 0;

  if (sono_need(c, "connection", err))
    return -1;
  if (n > SONO_TOKEN_MAX) {
    sono_error e;
    sono_err_set(&e, SONO_ERR_USAGE, 0, "bad_token", "a token has at most %d bytes",
                 SONO_TOKEN_MAX);
    return sono_conn_fail(c, err, &e);
  }
  memcpy(c->token, token != NULL ? token : "", n + 1);
  return 0;
}

sono_conn *sono_connect_token(const char *uri, const char *token, int timeout_ms,
                              sono_error *err) {
  sono_hello_info h;
  sono_uri u;
  sono_conn *c;

  if (sono_uri_parse(uri, &u, err) != 0 || (c = sono_connect(uri, err)) == NULL)
    return NULL;
  sono_set_timeout(c, timeout_ms);
  if (token == NULL || u.type != SONO_URI_TCP)
    return c;
  if (sono_set_token(c, token, err) != 0 || sono_hello(c, NULL, &h, err) != 0) {
    sono_close(c);
    return NULL;
  }
  return c;
}
