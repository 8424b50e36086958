/* error.c - filling in sono_error. */
#include "sono_internal.h"

#include <stdio.h>
#include <string.h>

const char *sono_kind_name(sono_kind kind) {
  switch (kind) {
  case SONO_OK: return "ok";
  case SONO_ERR_SERVER: return "server";
  case SONO_ERR_URI: return "uri";
  case SONO_ERR_CONNECT: return "connect";
  case SONO_ERR_IO: return "io";
  case SONO_ERR_CLOSED: return "closed";
  case SONO_ERR_PROTOCOL: return "protocol";
  case SONO_ERR_TIMEOUT: return "timeout";
  case SONO_ERR_NOMEM: return "nomem";
  case SONO_ERR_USAGE: return "usage";
  }
  return "unknown";
}

int sono_need(const void *p, const char *what, sono_error *err) {
  if (p != NULL)
    return 0;
  if (strcmp(what, "connection") == 0)
    sono_err_set(err, SONO_ERR_USAGE, 0, "no_connection",
                 "no connection (NULL): sono_connect failed, see its error");
  else
    sono_err_set(err, SONO_ERR_USAGE, 0, "bad_argument", "%s is NULL", what);
  return -1;
}

void sono_err_set(sono_error *e, sono_kind kind, int sys_errno, const char *code,
                  const char *fmt, ...) {
  va_list ap;

  if (e == NULL)
    return;
  e->kind = kind;
  e->sys_errno = sys_errno;
  snprintf(e->code, sizeof e->code, "%s", code);
  va_start(ap, fmt);
  vsnprintf(e->message, sizeof e->message, fmt, ap);
  va_end(ap);
}

void sono_err_copy(sono_error *dst, const sono_error *src) {
  if (dst != NULL && dst != src)
    *dst = *src;
}

int sono_conn_fail(sono_conn *c, sono_error *err, const sono_error *e) {
  if (c != NULL)
    sono_err_copy(&c->last, e);
  sono_err_copy(err, e);
  return -1;
}
