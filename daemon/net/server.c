/* server.c - accepting connections on the Unix and TCP sockets, whether
 * sonod opened them or systemd passed them in (socket activation). */
#include "daemon/net/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/net/auth.h"
#include "daemon/net/client.h"
#include "daemon/base/log.h"

/* Says why connections are refused, at most once a second. */
static void refusal(sonod *d, const char *why) {
  uint64_t now = sonod_now_ns();

  if (now - d->refusal_logged_ns >= 1000000000ull) {
    log_warn("accept: %s", why);
    d->refusal_logged_ns = now;
  }
}

/* Whether fd, just accepted, took the last file descriptor: the table
 * fills from the lowest number, so every lower one is in use.  libuv then
 * closes the next connections unanswered without calling on_connection
 * (its EMFILE trick), so this is the one moment to say so. */
static bool last_fd(int fd, unsigned long long *limit) {
  struct rlimit rl;

  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
    return false;
  *limit = (unsigned long long)rl.rlim_cur;
  return (unsigned long long)fd + 1 >= *limit;
}

static void on_connection(uv_stream_t *server, int status) {
  sonod *d = server->data;
  bool tcp = server == (uv_stream_t *)&d->tcp_server;
  unsigned long long limit;
  char why[160];
  client *c;
  uv_os_fd_t fd;

  if (status < 0) {
    snprintf(why, sizeof why, "%s (the file descriptor limit? see LimitNOFILE)",
             uv_strerror(status));
    refusal(d, why);
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
  if (uv_fileno(&c->h.handle, &fd) == 0 && last_fd(fd, &limit)) {
    snprintf(why, sizeof why, "all %llu file descriptors are in use (LimitNOFILE, ulimit -n): "
             "new connections are closed unanswered until some are freed", limit);
    refusal(d, why);
  }
  if (d->nclients > d->opt.max_clients) {
    char why[96];

    snprintf(why, sizeof why, "too many connections (max-clients %u)", d->opt.max_clients);
    client_refuse(c, why);
    return;
  }
  if (!c->authed && !auth_start(c))
    return;
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

/* Appends one address to d->listening, the list STATUS= and the log show. */
static void add_listening(sonod *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_listening(sonod *d, const char *fmt, ...) {
  size_t n = strlen(d->listening);
  va_list ap;

  if (n > 0 && n + 2 < sizeof d->listening) {
    memcpy(d->listening + n, ", ", 3);
    n += 2;
  }
  va_start(ap, fmt);
  vsnprintf(d->listening + n, sizeof d->listening - n, fmt, ap);
  va_end(ap);
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
  /* Bound and listening under a temporary name, then renamed into place:
   * a client that connects as soon as the path exists is never refused
   * (between bind and listen it was: connect_failed under load). */
  char tmp[sizeof ((struct sockaddr_un *)0)->sun_path];
  bool renamed = snprintf(tmp, sizeof tmp, "%s.new", path) < (int)sizeof tmp;
  if (renamed)
    unlink(tmp);
  rc = uv_pipe_bind(&d->unix_server, renamed ? tmp : path);
  if (rc == 0) {
    /* Owner and group: put users who may control sonod in its group. */
    chmod(renamed ? tmp : path, 0660);
    rc = uv_listen((uv_stream_t *)&d->unix_server, 128, on_connection);
  }
  if (rc == 0 && renamed && rename(tmp, path) != 0)
    rc = uv_translate_sys_error(errno);
  if (rc != 0 && renamed)
    unlink(tmp);
  if (rc != 0) {
    snprintf(err, errlen, "cannot listen on %s: %s", path, uv_strerror(rc));
    return -1;
  }
  log_info("listening on unix:%s", path);
  add_listening(d, "unix:%s", path);
  return 0;
}

static int listen_tcp(sonod *d, char *err, size_t errlen) {
  uv_getaddrinfo_t req;
  struct addrinfo hints;
  char port[16], name[sizeof d->opt.tcp_host + 16];
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
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&d->tcp_server, 128, on_connection);
  if (rc != 0) {
    uv_freeaddrinfo(req.addrinfo);
    snprintf(err, errlen, "cannot listen on %s:%d: %s", d->opt.tcp_host, d->opt.tcp_port,
             uv_strerror(rc));
    return -1;
  }
  log_info("listening on tcp://%s:%d%s", d->opt.tcp_host, d->opt.tcp_port,
           d->tcp_token_len > 0 ? " (clients need the token)" : "");
  snprintf(name, sizeof name, strchr(d->opt.tcp_host, ':') ? "tcp://[%s]:%d" : "tcp://%s:%d",
           d->opt.tcp_host, d->opt.tcp_port);
  add_listening(d, "%s", name);
  auth_check_exposure(d, req.addrinfo->ai_addr, name);
  uv_freeaddrinfo(req.addrinfo);
  return 0;
}

/* Socket activation, sd_listen_fds(3): when LISTEN_PID is this process,
 * LISTEN_FDS listening sockets start at descriptor 3.  The protocol is a
 * few lines, so sonod reads it itself (see notify.c for why).  A passed Unix
 * socket stands in for --socket and a passed TCP socket for --tcp; sonod
 * opens what was configured but not passed. */
#define LISTEN_FDS_START 3

static int open_passed(sonod *d, int fd, char *err, size_t errlen) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  int type = 0, listening = 0, rc;
  socklen_t olen = sizeof type;
  char name[sizeof ((struct sockaddr_un *)0)->sun_path + 16];

  /* Ours now: keep it from the processes sonod starts. */
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &olen) != 0 || type != SOCK_STREAM ||
      (olen = sizeof listening, getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &olen)) != 0 ||
      !listening || getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
    snprintf(err, errlen, "socket activation: descriptor %d is not a listening stream socket "
             "(use ListenStream=)", fd);
    return -1;
  }
  if (ss.ss_family == AF_UNIX) {
    const struct sockaddr_un *sa = (const struct sockaddr_un *)&ss;
    size_t plen = len > offsetof(struct sockaddr_un, sun_path)
                    ? len - offsetof(struct sockaddr_un, sun_path) : 0;

    if (d->unix_open) {
      snprintf(err, errlen, "socket activation: more than one Unix socket passed");
      return -1;
    }
    uv_pipe_init(d->loop, &d->unix_server, 0);
    d->unix_server.data = d;
    d->unix_open = d->unix_passed = true;
    rc = uv_pipe_open(&d->unix_server, fd);
    if (rc == 0)
      rc = uv_listen((uv_stream_t *)&d->unix_server, 128, on_connection);
    if (plen > 0 && sa->sun_path[0] == '\0')
      snprintf(name, sizeof name, "unix:@%.*s", (int)plen - 1, sa->sun_path + 1);
    else
      snprintf(name, sizeof name, "unix:%.*s", (int)strnlen(sa->sun_path, plen), sa->sun_path);
  } else if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) {
    char host[INET6_ADDRSTRLEN] = "?";
    int port;

    if (d->tcp_open) {
      snprintf(err, errlen, "socket activation: more than one TCP socket passed");
      return -1;
    }
    uv_tcp_init(d->loop, &d->tcp_server);
    d->tcp_server.data = d;
    d->tcp_open = true;
    rc = uv_tcp_open(&d->tcp_server, fd);
    if (rc == 0)
      rc = uv_listen((uv_stream_t *)&d->tcp_server, 128, on_connection);
    if (ss.ss_family == AF_INET) {
      const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
      inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
      port = ntohs(in->sin_port);
      snprintf(name, sizeof name, "tcp://%s:%d", host, port);
    } else {
      const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
      inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
      port = ntohs(in6->sin6_port);
      snprintf(name, sizeof name, "tcp://[%s]:%d", host, port);
    }
    auth_check_exposure(d, (const struct sockaddr *)&ss, name);
  } else {
    snprintf(err, errlen, "socket activation: descriptor %d is neither a Unix nor a TCP socket", fd);
    return -1;
  }
  if (rc != 0) {
    snprintf(err, errlen, "socket activation: cannot listen on descriptor %d: %s", fd,
             uv_strerror(rc));
    return -1;
  }
  log_info("listening on %s (passed as descriptor %d)", name, fd);
  add_listening(d, "%s", name);
  return 0;
}

static int take_passed(sonod *d, char *err, size_t errlen) {
  const char *pid_s = getenv("LISTEN_PID");
  const char *n_s = getenv("LISTEN_FDS");
  char *end;
  long pid, n, i;

  if (pid_s == NULL || n_s == NULL)
    return 0;
  pid = strtol(pid_s, &end, 10);
  if (*end != '\0' || pid != (long)getpid()) {
    log_debug("LISTEN_PID %s is not this process; no socket activation", pid_s);
    return 0;
  }
  n = strtol(n_s, &end, 10);
  if (*end != '\0' || n < 0 || n > 64) {
    snprintf(err, errlen, "socket activation: LISTEN_FDS '%s' is not a count", n_s);
    return -1;
  }
  for (i = 0; i < n; i++)
    if (open_passed(d, LISTEN_FDS_START + (int)i, err, errlen) != 0)
      return -1;
  return 0;
}

int server_listen(sonod *d, char *err, size_t errlen) {
  int rc = take_passed(d, err, errlen);

  /* Whatever happened, the processes sonod starts must not think the
   * sockets are meant for them. */
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  unsetenv("LISTEN_FDNAMES");
  if (rc != 0)
    return -1;
  if (!d->unix_open && listen_unix(d, err, errlen) != 0)
    return -1;
  if (d->opt.tcp_host[0] != '\0' && !d->tcp_open && listen_tcp(d, err, errlen) != 0)
    return -1;
  return 0;
}

void server_close(sonod *d) {
  if (d->unix_open) {
    uv_close((uv_handle_t *)&d->unix_server, NULL);
    /* A passed socket's file belongs to the socket unit, which keeps
     * listening on it while sonod restarts. */
    if (!d->unix_passed)
      unlink(d->opt.socket_path);
    d->unix_open = false;
  }
  if (d->tcp_open) {
    uv_close((uv_handle_t *)&d->tcp_server, NULL);
    d->tcp_open = false;
  }
}
