/* conn.c - a connection: the socket, its buffers, the requests waiting for
 * replies, and the loops that move bytes.
 *
 * Received frames are never handled inside the framer's callback: they are
 * decoded and appended to an inbox, and callbacks run from the inbox only
 * once the framer has returned.  This keeps user callbacks free to call back
 * into the library (even sono_call()) without tearing the framer's state. */
#include "sono_internal.h"

#include "protocol/wire.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK 65536

/* ---------------------------------------------------------- setup */

sono_conn *sono_open_fd(int fd, sono_error *err) {
  sono_conn *c;
  int fl;

  fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
    int e = errno;
    close(fd);
    sono_err_set(err, SONO_ERR_CONNECT, e, "connect_failed", "fcntl: %s",
                 strerror(e));
    return NULL;
  }
  c = calloc(1, sizeof *c);
  if (c == NULL) {
    close(fd);
    sono_err_set(err, SONO_ERR_NOMEM, 0, "out_of_memory", "out of memory");
    return NULL;
  }
  c->fd = fd;
  c->timeout_ms = -1;
  c->next_id = 1;
  sono_framer_init(&c->framer, SONO_FRAME_MAX);
  return c;
}

sono_conn *sono_connect(const char *uri, sono_error *err) {
  sono_uri u;
  int fd;

  if (sono_uri_parse(uri, &u, err) != 0)
    return NULL;
  fd = sono_socket_connect(&u, err);
  if (fd < 0)
    return NULL;
  return sono_open_fd(fd, err);
}

/* A NULL connection (sono_connect failed) is refused by every call: as
 * broken, with no descriptor, nothing pending, and the error below. */
static const sono_error no_conn = {SONO_ERR_USAGE, 0, "no_connection",
                                   "no connection (NULL): sono_connect failed, see its error"};

void sono_set_timeout(sono_conn *c, int timeout_ms) {
  if (c != NULL)
    c->timeout_ms = timeout_ms;
}
const sono_error *sono_last_error(const sono_conn *c) { return c ? &c->last : &no_conn; }
bool sono_is_broken(const sono_conn *c) { return c == NULL || c->broken; }
int sono_fd(const sono_conn *c) { return c ? c->fd : -1; }
bool sono_want_write(const sono_conn *c) { return c != NULL && c->out_len > c->out_off; }
size_t sono_pending(const sono_conn *c) { return c ? c->n_pending : 0; }

void sono_on_event(sono_conn *c, sono_event_cb cb, void *ud) {
  if (c == NULL)
    return;
  c->on_event = cb;
  c->on_event_ud = ud;
}

/* ---------------------------------------------------------- pending list */

static void pending_unlink(sono_conn *c, sono_pending_req *p) {
  if (p->prev)
    p->prev->next = p->next;
  else
    c->head = p->next;
  if (p->next)
    p->next->prev = p->prev;
  else
    c->tail = p->prev;
  c->n_pending--;
}

static sono_pending_req *pending_add(sono_conn *c, uint64_t id) {
  sono_pending_req *p = calloc(1, sizeof *p);

  if (p == NULL)
    return NULL;
  p->id = id;
  p->prev = c->tail;
  if (c->tail)
    c->tail->next = p;
  else
    c->head = p;
  c->tail = p;
  c->n_pending++;
  return p;
}

static sono_pending_req *pending_find(sono_conn *c, uint64_t id) {
  sono_pending_req *p;

  for (p = c->head; p != NULL; p = p->next)
    if (p->id == id)
      return p;
  return NULL;
}

/* ---------------------------------------------------------- failure */

static void inbox_push(sono_conn *c, sono_reply *msg);

/* Marks the connection dead and fails every request still waiting.  Their
 * callbacks are not run here (we may be deep inside a read loop) but queued
 * as synthetic entries and run by the next dispatch. */
static int conn_break(sono_conn *c, const sono_error *e) {
  if (!c->broken) {
    c->broken = true;
    c->last = *e;
  }
  return -1;
}

/* Runs the callbacks of requests that can no longer be answered. */
static void fail_pending(sono_conn *c) {
  sono_pending_req *p;

  while ((p = c->head) != NULL) {
    pending_unlink(c, p);
    if (p->slot_done != NULL)
      *p->slot_done = true; /* the waiting sono_call() sees no reply */
    else if (p->cb != NULL)
      p->cb(c, NULL, &c->last, p->ud);
    free(p);
  }
}

/* ---------------------------------------------------------- writing */

static int read_available(sono_conn *c);

static int out_reserve(sono_conn *c, size_t more) {
  size_t need, cap;
  char *p;

  /* Reclaim the written prefix before growing. */
  if (c->out_off > 0 && c->out_off == c->out_len) {
    c->out_off = c->out_len = 0;
  } else if (c->out_off > 0 && c->out_len + more > c->out_cap) {
    memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
    c->out_len -= c->out_off;
    c->out_off = 0;
  }
  need = c->out_len + more;
  if (need <= c->out_cap)
    return 0;
  cap = c->out_cap ? c->out_cap : 4096;
  while (cap < need)
    cap *= 2;
  p = realloc(c->out, cap);
  if (p == NULL)
    return -1;
  c->out = p;
  c->out_cap = cap;
  return 0;
}

int sono_flush(sono_conn *c) {
  sono_error e;

  if (c == NULL || c->broken)
    return -1;
  while (c->out_off < c->out_len) {
    ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                     MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return 1;
      sono_err_set(&e, errno == EPIPE ? SONO_ERR_CLOSED : SONO_ERR_IO, errno,
                   errno == EPIPE ? "connection_closed" : "io_error",
                   "write: %s", strerror(errno));
      /* The server may have answered (or said why) before it went away:
       * collect what it sent, so those replies are not lost. */
      read_available(c);
      return conn_break(c, &e);
    }
    c->out_off += (size_t)n;
  }
  c->out_off = c->out_len = 0;
  return 0;
}

/* Appends one request frame {id, op, ...args} to the output buffer. */
static int queue_request(sono_conn *c, uint64_t id, const char *op,
                         const sono_args *args, sono_error *err) {
  const char *body;
  size_t body_len, op_len;
  uint32_t count;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  sono_error e;
  int rc = -1;

  if (op == NULL || sono_args_body(args, &body, &body_len, &count) != 0) {
    sono_err_set(&e, SONO_ERR_USAGE, 0, "bad_arguments",
                 op == NULL ? "no op given" : "malformed argument builder");
    return sono_conn_fail(c, err, &e);
  }
  op_len = strlen(op);
  sono_msg_begin(&sb, &pk);
  msgpack_pack_map(&pk, count + 2);
  sono_pack_key_uint(&pk, "id", id);
  msgpack_pack_str(&pk, 2);
  msgpack_pack_str_body(&pk, "op", 2);
  msgpack_pack_str(&pk, op_len);
  msgpack_pack_str_body(&pk, op, op_len);
  if (body_len > 0)
    msgpack_sbuffer_write(&sb, body, body_len);
  if (sono_msg_end(&sb) != 0) {
    sono_err_set(&e, SONO_ERR_USAGE, 0, "frame_too_large",
                 "request of %zu bytes exceeds the %u-byte frame limit",
                 sb.size - SONO_FRAME_HEADER, SONO_FRAME_MAX);
    sono_conn_fail(c, err, &e);
  } else if (out_reserve(c, sb.size) != 0) {
    sono_err_set(&e, SONO_ERR_NOMEM, 0, "out_of_memory", "out of memory");
    sono_conn_fail(c, err, &e);
  } else {
    memcpy(c->out + c->out_len, sb.data, sb.size);
    c->out_len += sb.size;
    rc = 0;
  }
  msgpack_sbuffer_destroy(&sb);
  return rc;
}

static int refuse_broken(sono_conn *c, sono_error *err) {
  sono_err_copy(err, &c->last);
  return -1;
}

/* Queues a request and registers it as pending.  Returns NULL on failure. */
static sono_pending_req *start_request(sono_conn *c, const char *op,
                                       const sono_args *args, sono_error *err) {
  sono_pending_req *p;
  sono_error e;
  uint64_t id;

  if (c->broken) {
    refuse_broken(c, err);
    return NULL;
  }
  id = c->next_id;
  if (queue_request(c, id, op, args, err) != 0)
    return NULL;
  p = pending_add(c, id);
  if (p == NULL) {
    sono_err_set(&e, SONO_ERR_NOMEM, 0, "out_of_memory", "out of memory");
    sono_conn_fail(c, err, &e);
    return NULL;
  }
  c->next_id++;
  return p;
}

uint64_t sono_send(sono_conn *c, const char *op, const sono_args *args,
                   sono_reply_cb cb, void *ud) {
  sono_pending_req *p = c != NULL && op != NULL ? start_request(c, op, args, NULL) : NULL;

  if (p == NULL)
    return 0;
  p->cb = cb;
  p->ud = ud;
  /* A failed write is reported by the next sono_process(), which is where
   * callbacks may run; here we only try our luck. */
  sono_flush(c);
  return p->id;
}

/* ---------------------------------------------------------- reading */

static void inbox_push(sono_conn *c, sono_reply *msg) {
  sono_inbox_item *it = malloc(sizeof *it);

  if (it == NULL) {
    sono_error e;
    sono_reply_free(msg);
    sono_err_set(&e, SONO_ERR_NOMEM, 0, "out_of_memory", "out of memory");
    conn_break(c, &e);
    return;
  }
  it->msg = msg;
  it->next = NULL;
  if (c->in_tail)
    c->in_tail->next = it;
  else
    c->in_head = it;
  c->in_tail = it;
}

static void on_frame(void *ud, const char *payload, size_t len) {
  sono_conn *c = ud;
  sono_pending_req *p;
  sono_reply *msg;
  sono_error e;

  if (c->broken)
    return;
  msg = sono_reply_parse(payload, len, &e);
  if (msg == NULL) {
    conn_break(c, &e);
    return;
  }
  /* A reply sono_call() is waiting for goes straight to it; everything else
   * waits in the inbox, in arrival order. */
  if (!msg->is_event && msg->has_id && (p = pending_find(c, msg->id)) != NULL &&
      p->slot != NULL) {
    *p->slot = msg;
    *p->slot_done = true;
    pending_unlink(c, p);
    free(p);
    return;
  }
  inbox_push(c, msg);
}

static void on_oversize(void *ud, uint32_t len) {
  sono_conn *c = ud;
  sono_error e;

  /* The server promises never to do this; treat it as a broken peer. */
  sono_err_set(&e, SONO_ERR_PROTOCOL, 0, "protocol_error",
               "the server sent a %u-byte frame, over the limit", len);
  conn_break(c, &e);
}

/* Reads everything available without blocking.  Returns 0, or -1 once the
 * connection is broken (end of stream, error, garbage). */
static int read_available(sono_conn *c) {
  char buf[READ_CHUNK];
  sono_error e;

  while (!c->broken) {
    ssize_t n = recv(c->fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return 0;
      sono_err_set(&e, errno == ECONNRESET ? SONO_ERR_CLOSED : SONO_ERR_IO, errno,
                   errno == ECONNRESET ? "connection_closed" : "io_error",
                   "read: %s", strerror(errno));
      return conn_break(c, &e);
    }
    if (n == 0) {
      if (sono_framer_partial(&c->framer))
        sono_err_set(&e, SONO_ERR_CLOSED, 0, "connection_closed",
                     "the server closed the connection in the middle of a frame");
      else
        sono_err_set(&e, SONO_ERR_CLOSED, 0, "connection_closed",
                     "the server closed the connection");
      return conn_break(c, &e);
    }
    if (sono_framer_feed(&c->framer, buf, (size_t)n, on_frame, on_oversize, c) != 0) {
      sono_err_set(&e, SONO_ERR_NOMEM, 0, "out_of_memory", "out of memory");
      return conn_break(c, &e);
    }
    if ((size_t)n < sizeof buf)
      return c->broken ? -1 : 0;
  }
  return -1;
}

/* ---------------------------------------------------------- dispatch */

static void dispatch_one(sono_conn *c, sono_reply *msg) {
  sono_pending_req *p;
  sono_error e;

  if (msg->is_event) {
    if (c->on_event != NULL)
      c->on_event(c, msg->kind, msg, c->on_event_ud);
    return;
  }
  /* A reply with a nil id answers a request the server could not read; no
   * callback can own it, and a reply nobody waits for (a sono_call() that
   * timed out) is simply dropped. */
  if (!msg->has_id || (p = pending_find(c, msg->id)) == NULL)
    return;
  pending_unlink(c, p);
  if (p->cb != NULL) {
    if (msg->is_error) {
      sono_err_set(&e, SONO_ERR_SERVER, 0, msg->err_code, "%s",
                   msg->err_message ? msg->err_message : "");
      p->cb(c, msg, &e, p->ud);
    } else {
      p->cb(c, msg, NULL, p->ud);
    }
  }
  free(p);
}

/* Runs callbacks for everything in the inbox, then, on a broken connection,
 * for every request that will never be answered. */
static int dispatch(sono_conn *c) {
  sono_inbox_item *it;
  int n = 0;

  while ((it = c->in_head) != NULL) {
    /* Unlink first: the callback may re-enter and dispatch further. */
    c->in_head = it->next;
    if (c->in_head == NULL)
      c->in_tail = NULL;
    dispatch_one(c, it->msg);
    sono_reply_free(it->msg);
    free(it);
    n++;
  }
  if (c->broken)
    fail_pending(c);
  return n;
}

int sono_process(sono_conn *c) {
  int n;

  if (c == NULL)
    return -1;
  if (!c->broken && sono_want_write(c))
    sono_flush(c);
  if (!c->broken)
    read_available(c);
  n = dispatch(c);
  if (c->broken)
    return n > 0 ? n : -1;
  return n;
}

/* ---------------------------------------------------------- blocking */

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until the socket is readable (or writable while output is queued),
 * then moves bytes both ways.  Returns 0 on progress, 1 on timeout, -1 once
 * the connection is broken. */
static int pump(sono_conn *c, int64_t deadline) {
  struct pollfd pfd;
  int timeout = -1, rc;

  if (c->broken)
    return -1;
  if (deadline >= 0) {
    int64_t left = deadline - now_ms();
    if (left <= 0)
      return 1;
    timeout = left > 1000000 ? 1000000 : (int)left;
  }
  pfd.fd = c->fd;
  /* Always read while waiting, even when only writing: a server blocked on
   * writing to us would otherwise never drain our requests. */
  pfd.events = POLLIN | (sono_want_write(c) ? POLLOUT : 0);
  pfd.revents = 0;
  rc = poll(&pfd, 1, timeout);
  if (rc < 0) {
    if (errno == EINTR)
      return 0;
    sono_error e;
    sono_err_set(&e, SONO_ERR_IO, errno, "io_error", "poll: %s", strerror(errno));
    return conn_break(c, &e);
  }
  if (rc == 0)
    return 1;
  if (pfd.revents & POLLOUT)
    sono_flush(c);
  if (pfd.revents & (POLLIN | POLLHUP | POLLERR))
    read_available(c);
  return c->broken ? -1 : 0;
}

int sono_wait(sono_conn *c, int timeout_ms) {
  int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
  int n;

  if (c == NULL)
    return -1;
  for (;;) {
    n = dispatch(c);
    if (n > 0)
      return n;
    if (c->broken)
      return -1;
    if (pump(c, deadline) == 1)
      return 0;
  }
}

int sono_call(sono_conn *c, const char *op, const sono_args *args,
              sono_reply **out, sono_error *err) {
  sono_pending_req *p;
  sono_reply *reply = NULL;
  bool done = false;
  int64_t deadline;
  sono_error e;
  int rc;

  if (out != NULL)
    *out = NULL;
  if (sono_need(c, "connection", err) || sono_need(op, "op", err))
    return -1;
  deadline = c->timeout_ms < 0 ? -1 : now_ms() + c->timeout_ms;
  p = start_request(c, op, args, err);
  if (p == NULL)
    return -1;
  p->slot = &reply;
  p->slot_done = &done;

  while (!done) {
    rc = pump(c, deadline);
    if (rc == 1) {
      /* Give up on this reply: it will be dropped when it comes. */
      p->slot = NULL;
      p->slot_done = NULL;
      sono_err_set(&e, SONO_ERR_TIMEOUT, 0, "timeout",
                   "no reply to '%s' within %d ms", op, c->timeout_ms);
      dispatch(c);
      return sono_conn_fail(c, err, &e);
    }
    if (rc < 0)
      break;
  }
  /* Everything that arrived meanwhile is delivered before returning, so
   * that an event loop never sits on messages the socket no longer shows. */
  dispatch(c);

  if (reply == NULL) {
    sono_err_copy(err, &c->last);
    return -1;
  }
  if (reply->is_error) {
    sono_err_set(&e, SONO_ERR_SERVER, 0, reply->err_code, "%s",
                 reply->err_message ? reply->err_message : "");
    sono_reply_free(reply);
    return sono_conn_fail(c, err, &e);
  }
  if (out != NULL)
    *out = reply;
  else
    sono_reply_free(reply);
  return 0;
}

/* ---------------------------------------------------------- teardown */

void sono_close(sono_conn *c) {
  sono_error e;

  if (c == NULL)
    return;
  if (!c->broken) {
    sono_err_set(&e, SONO_ERR_CLOSED, 0, "connection_closed",
                 "the connection was closed by the client");
    conn_break(c, &e);
  }
  /* Replies already received are still delivered; the rest fail. */
  dispatch(c);
  close(c->fd);
  sono_framer_free(&c->framer);
  free(c->out);
  free(c);
}
