/* connect.c - opening the socket a URI names. */
#include "sono_internal.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int connect_unix(const sono_uri *u, sono_error *err) {
  struct sockaddr_un sa;
  int fd, e;

  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, u->path, strlen(u->path) + 1);
  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    e = errno;
    sono_err_set(err, SONO_ERR_CONNECT, e, "connect_failed", "socket: %s", strerror(e));
    return -1;
  }
  while (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    if (errno == EINTR)
      continue;
    e = errno;
    close(fd);
    sono_err_set(err, SONO_ERR_CONNECT, e, "connect_failed", "unix:%s: %s",
                 u->path, strerror(e));
    return -1;
  }
  return fd;
}

static int connect_tcp(const sono_uri *u, sono_error *err) {
  struct addrinfo hints, *res, *ai;
  int fd = -1, rc, e = 0, one = 1;

  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  rc = getaddrinfo(u->host, u->port, &hints, &res);
  if (rc != 0) {
    sono_err_set(err, SONO_ERR_CONNECT, 0, "connect_failed", "tcp://%s:%s: %s",
                 u->host, u->port, gai_strerror(rc));
    return -1;
  }
  /* Try every address the name resolves to, as a browser would. */
  for (ai = res; ai != NULL; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      e = errno;
      continue;
    }
    do
      rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
    while (rc != 0 && errno == EINTR);
    if (rc == 0)
      break;
    e = errno;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) {
    sono_err_set(err, SONO_ERR_CONNECT, e, "connect_failed", "tcp://%s:%s: %s",
                 u->host, u->port, strerror(e));
    return -1;
  }
  /* Requests are small and latency matters more than packet count. */
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

int sono_socket_connect(const sono_uri *u, sono_error *err) {
  return u->type == SONO_URI_TCP ? connect_tcp(u, err) : connect_unix(u, err);
}
