/* auth.c - the shared secret of TCP clients.  A token, not TLS: see
 * ARCHITECTURE.md, "TCP and its token", for why and what it does not
 * protect against. */
#include "daemon/net/auth.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "daemon/net/client.h"
#include "daemon/base/log.h"
#include "daemon/net/reply.h"
#include "protocol/errors.h"
#include "protocol/frame.h"
#include "protocol/token.h"
#include "protocol/wire.h"

int auth_load(sonod *d, char *err, size_t errlen) {
  char why[4096 + 256];
  int n;

  d->tcp_token_len = 0;
  if (d->opt.tcp_token_file[0] == '\0')
    return 0;
  n = sono_token_read(d->opt.tcp_token_file, d->tcp_token, sizeof d->tcp_token, why, sizeof why);
  if (n < 0) {
    snprintf(err, errlen, "tcp-token-file %s", why);
    return -1;
  }
  d->tcp_token_len = (size_t)n;
  return 0;
}

bool auth_needed(const sonod *d, bool tcp) {
  return tcp && d->tcp_token_len > 0;
}

/* "203.0.113.9:50412" for the log: whom to block when guesses pile up. */
static void peer_name(client *c, char *buf, size_t size) {
  struct sockaddr_storage ss;
  int len = sizeof ss;
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;

  if (uv_tcp_getpeername(&c->h.tcp, (struct sockaddr *)&ss, &len) == 0) {
    if (ss.ss_family == AF_INET) {
      const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
      inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
      port = ntohs(in->sin_port);
    } else if (ss.ss_family == AF_INET6) {
      const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
      inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
      port = ntohs(in6->sin6_port);
    }
  }
  snprintf(buf, size, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
}

/* The deadline passed, or the delay before answering a wrong hello. */
static void on_auth_timer(uv_timer_t *t) {
  client *c = t->data;

  if (c->refused_hello)
    reply_error(c, true, c->failed_id, SONO_E_UNAUTHORIZED,
                c->failed_given ? "hello: wrong token; closing the connection"
                                : "hello: this TCP socket needs a 'token' (a string); closing "
                                  "the connection");
  else
    reply_error(c, false, 0, SONO_E_UNAUTHORIZED,
                "no hello with the token within %u s; closing the connection",
                AUTH_TIMEOUT_MS / 1000);
  client_close_gently(c);
}

bool auth_start(client *c) {
  sonod *d = c->d;

  if (d->tcp_waiting >= AUTH_WAITING_MAX) {
    client_refuse(c, "too many TCP connections waiting to authenticate");
    return false;
  }
  uv_timer_init(d->loop, &c->auth_timer);
  c->auth_timer.data = c;
  c->open_handles++;
  c->waiting = true;
  d->tcp_waiting++;
  uv_timer_start(&c->auth_timer, on_auth_timer, AUTH_TIMEOUT_MS, 0);
  return true;
}

void auth_forget(client *c) {
  if (!c->waiting)
    return;
  c->waiting = false;
  c->d->tcp_waiting--;
  uv_timer_stop(&c->auth_timer);
  uv_close((uv_handle_t *)&c->auth_timer, client_handle_closed);
}

bool auth_check_hello(request *r) {
  const sonod *d = r->d;
  client *c = r->c;
  const char *token = NULL;
  size_t len = 0;
  char peer[INET6_ADDRSTRLEN + 16];
  bool given = sono_get_str(r->args, "token", &token, &len) == SONO_ARG_OK;

  if (given && sono_token_equal(d->tcp_token, d->tcp_token_len, token, len))
    return true;
  /* One guess per connection, answered a second later, with at most
   * AUTH_WAITING_MAX connections waiting: a handful of guesses a second. */
  peer_name(c, peer, sizeof peer);
  log_warn("client %u (tcp %s): hello with %s; closing", c->id, peer,
           given ? "a wrong token" : "no token");
  c->refused_hello = true;
  c->failed_id = r->id;
  c->failed_given = given;
  client_update_reading(c);
  if (c->waiting)
    uv_timer_start(&c->auth_timer, on_auth_timer, AUTH_FAIL_DELAY_MS, 0);
  else
    on_auth_timer(&c->auth_timer);
  return false;
}

void auth_grant(client *c) {
  if (c->authed)
    return;
  c->authed = true;
  c->framer.max = SONO_FRAME_MAX;
  auth_forget(c);
  log_info("client %u authenticated", c->id);
}

static bool is_loopback(const struct sockaddr *sa) {
  if (sa->sa_family == AF_INET)
    return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
  if (sa->sa_family == AF_INET6) {
    const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(a) ||
           (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
  }
  return false;
}

void auth_check_exposure(const sonod *d, const struct sockaddr *addr, const char *name) {
  if (d->tcp_token_len > 0 || is_loopback(addr))
    return;
  log_warn("%s is not a loopback address and has no token: anyone who can reach it controls "
           "sonod (loads plugins, writes files); set tcp-token-file (sonod(8))", name);
}
