/* server.c - accepting connections on the Unix and TCP sockets. */
#include "daemon/server.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/client.h"
#include "daemon/log.h"

static void on_connection(uv_stream_t *server, int status) {
  sonod *d = server->data;
  bool tcp = server == (uv_stream_t *)&d->tcp_server;
  client *c;

  if (status < 0) {
    log_warn("accept: %s", uv_strerror(status));
    return;
  }
  c = client_new(d, tcp);
  if (c == NULL) {
    log_error("accept: out of memory");
    return;
  }
  if (uv_accept(server, &c->h.stream) != 0) {
    client_close(c);
    return;
  }
  if (tcp)
    uv_tcp_nodelay(&c->h.tcp, 1);
  client_start(c);
}

/* A socket file may be left over from a daemon that died.  Remove it only
 * when nothing answers on it, so two daemons never share one path. */
static int claim_path(const char *path, char *err, size_t errlen) {
  struct sockaddr_un sa;
  int fd, rc;

  if (access(path, F_OK) != 0)
    return 0;
  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return 0;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
  rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
  close(fd);
  if (rc == 0) {
    snprintf(err, errlen, "another daemon is already listening on %s", path);
    return -1;
  }
  unlink(path);
  return 0;
}

static void make_parent(const char *path) {
  char dir[sizeof ((struct sockaddr_un *)0)->sun_path];
  char *slash;

  snprintf(dir, sizeof dir, "%s", path);
  slash = strrchr(dir, '/');
  if (slash == NULL || slash == dir)
    return;
  *slash = '\0';
  if (mkdir(dir, 0755) != 0 && errno != EEXIST)
    log_debug("mkdir %s: %s", dir, strerror(errno));
}

static int listen_unix(sonod *d, char *err, size_t errlen) {
  const char *path = d->opt.socket_path;
  int rc;

  make_parent(path);
  if (claim_path(path, err, errlen) != 0)
    return -1;
  uv_pipe_init(d->loop, &d->unix_server, 0);
  d->unix_server.data = d;
  d->unix_open = true;
  rc = uv_pipe_bind(&d->unix_server, path);
  if (rc == 0) {
    /* Owner and group: put users who may control sonod in its group. */
    chmod(path, 0660);
    rc = uv_listen((uv_stream_t *)&d->unix_server, 128, on_connection);
  }
  if (rc != 0) {
    snprintf(err, errlen, "cannot listen on %s: %s", path, uv_strerror(rc));
    return -1;
  }
  log_info("listening on unix:%s", path);
  return 0;
}

static int listen_tcp(sonod *d, char *err, size_t errlen) {
  uv_getaddrinfo_t req;
  struct addrinfo hints;
  char port[16];
  int rc;

  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  snprintf(port, sizeof port, "%d", d->opt.tcp_port);
  rc = uv_getaddrinfo(d->loop, &req, NULL, d->opt.tcp_host, port, &hints);
  if (rc != 0) {
    snprintf(err, errlen, "--tcp %s: %s", d->opt.tcp_host, uv_strerror(rc));
    return -1;
  }
  uv_tcp_init(d->loop, &d->tcp_server);
  d->tcp_server.data = d;
  d->tcp_open = true;
  rc = uv_tcp_bind(&d->tcp_server, req.addrinfo->ai_addr, 0);
  uv_freeaddrinfo(req.addrinfo);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&d->tcp_server, 128, on_connection);
  if (rc != 0) {
    snprintf(err, errlen, "cannot listen on %s:%d: %s", d->opt.tcp_host, d->opt.tcp_port,
             uv_strerror(rc));
    return -1;
  }
  log_info("listening on tcp://%s:%d", d->opt.tcp_host, d->opt.tcp_port);
  return 0;
}

int server_listen(sonod *d, char *err, size_t errlen) {
  if (listen_unix(d, err, errlen) != 0)
    return -1;
  if (d->opt.tcp_host[0] != '\0' && listen_tcp(d, err, errlen) != 0)
    return -1;
  return 0;
}

void server_close(sonod *d) {
  if (d->unix_open) {
    uv_close((uv_handle_t *)&d->unix_server, NULL);
    unlink(d->opt.socket_path);
    d->unix_open = false;
  }
  if (d->tcp_open) {
    uv_close((uv_handle_t *)&d->tcp_server, NULL);
    d->tcp_open = false;
  }
}
