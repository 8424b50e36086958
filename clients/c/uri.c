/* uri.c - turning "unix:/path", "tcp://host:port" or a bare path into an
 * address, and choosing the default one. */
#include "sono_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *sono_default_uri(char *buf, size_t size) {
  const char *env = getenv("SONOD_SOCKET");
  const char *xdg = getenv("XDG_RUNTIME_DIR");

  if (size == 0)
    return buf;
  if (env != NULL && env[0] != '\0')
    snprintf(buf, size, "%s", env);
  else if (xdg != NULL && xdg[0] != '\0')
    snprintf(buf, size, "%s/sonod.sock", xdg);
  else
    snprintf(buf, size, "/run/sonod/sonod.sock");
  return buf;
}

static int parse_unix(const char *path, sono_uri *out, sono_error *err) {
  size_t n = strlen(path);

  if (n == 0) {
    sono_err_set(err, SONO_ERR_URI, 0, "bad_uri", "empty socket path");
    return -1;
  }
  if (n >= sizeof out->path) {
    sono_err_set(err, SONO_ERR_URI, 0, "bad_uri",
                 "socket path is %zu bytes long, the limit is %zu", n,
                 sizeof out->path - 1);
    return -1;
  }
  out->type = SONO_URI_UNIX;
  memcpy(out->path, path, n + 1);
  return 0;
}

static int parse_tcp(const char *rest, const char *uri, sono_uri *out,
                     sono_error *err) {
  const char *host = rest, *host_end, *port;
  size_t hn, pn;

  if (rest[0] == '[') {
    /* IPv6 literals are bracketed because they contain colons. */
    host = rest + 1;
    host_end = strchr(host, ']');
    if (host_end == NULL || host_end[1] != ':') {
      sono_err_set(err, SONO_ERR_URI, 0, "bad_uri",
                   "'%s': expected tcp://[ipv6]:port", uri);
      return -1;
    }
    port = host_end + 2;
  } else {
    host_end = strrchr(rest, ':');
    if (host_end == NULL) {
      sono_err_set(err, SONO_ERR_URI, 0, "bad_uri",
                   "'%s': expected tcp://host:port", uri);
      return -1;
    }
    if (memchr(rest, ':', (size_t)(host_end - rest)) != NULL) {
      sono_err_set(err, SONO_ERR_URI, 0, "bad_uri",
                   "'%s': put an IPv6 address in brackets", uri);
      return -1;
    }
    port = host_end + 1;
  }
  hn = (size_t)(host_end - host);
  pn = strlen(port);
  if (port[pn ? pn - 1 : 0] == '/')
    pn--; /* tolerate "tcp://host:port/" */
  if (hn == 0 || pn == 0 || hn >= sizeof out->host || pn >= sizeof out->port ||
      memchr(port, '/', pn) != NULL) {
    sono_err_set(err, SONO_ERR_URI, 0, "bad_uri",
                 "'%s': expected tcp://host:port", uri);
    return -1;
  }
  out->type = SONO_URI_TCP;
  memcpy(out->host, host, hn);
  out->host[hn] = '\0';
  memcpy(out->port, port, pn);
  out->port[pn] = '\0';
  return 0;
}

int sono_uri_parse(const char *uri, sono_uri *out, sono_error *err) {
  char def[4096];

  memset(out, 0, sizeof *out);
  if (uri == NULL || uri[0] == '\0')
    uri = sono_default_uri(def, sizeof def); /* may itself be a URI */
  if (strncmp(uri, "unix://", 7) == 0)
    return parse_unix(uri + 7, out, err);
  if (strncmp(uri, "unix:", 5) == 0)
    return parse_unix(uri + 5, out, err);
  if (strncmp(uri, "tcp://", 6) == 0)
    return parse_tcp(uri + 6, uri, out, err);
  if (strstr(uri, "://") != NULL) {
    sono_err_set(err, SONO_ERR_URI, 0, "bad_uri",
                 "'%s': unknown scheme (use unix: or tcp://)", uri);
    return -1;
  }
  return parse_unix(uri, out, err);
}
