/* client.c - a connection's life: accept, read, split into frames, write,
 * close.  Control thread. */
#include "daemon/net/client.h"

#include <stdlib.h>
#include <string.h>

#include "daemon/net/auth.h"
#include "daemon/net/events.h"
#include "daemon/base/log.h"
#include "daemon/net/reply.h"
#include "daemon/net/request.h"
#include "protocol/errors.h"
#include "protocol/wire.h"

typedef struct write_req {
  uv_write_t req;
  client *c;
  char *data;
  size_t mem;     /* what this write holds, counted in c->writing */
} write_req;

/* What malloc adds to each block, roughly: counted so that many small
 * writes are charged what they really cost. */
#define MALLOC_OVERHEAD 32

/* One read buffer for every connection: libuv fills it, and on_read hands
 * every byte to the client's framer (which keeps what a partial frame
 * needs) before the loop reads again.  A connection costs no buffer of
 * its own until it sends a frame. */
static char read_buf[65536];

static void flush_one(client *c);

client *client_new(sonod *d, bool tcp) {
  client *c = calloc(1, sizeof *c);

  if (c == NULL)
    return NULL;
  c->d = d;
  c->id = ++d->next_client_id;
  c->transport = tcp ? "tcp" : "unix";
  c->h.handle.data = c;
  if (tcp)
    uv_tcp_init(d->loop, &c->h.tcp);
  else
    uv_pipe_init(d->loop, &c->h.pipe, 0);
  c->open_handles = 1;
  c->authed = !auth_needed(d, tcp);
  sono_framer_init(&c->framer, c->authed ? SONO_FRAME_MAX : AUTH_FRAME_MAX);

  c->next = d->clients;
  if (d->clients)
    d->clients->prev = c;
  d->clients = c;
  d->nclients++;
  return c;
}

client *client_find(sonod *d, uint32_t id) {
  client *c;

  for (c = d->clients; c != NULL; c = c->next)
    if (c->id == id)
      return c->closing ? NULL : c;
  return NULL;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)h;
  (void)suggested;
  buf->base = read_buf;
  buf->len = sizeof read_buf;
}

size_t client_backlog(const client *c) {
  return c->writing + c->out_cap;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

/* Reads from c exactly when nothing holds it back: the start-up restore
 * (held), back-pressure (paused), the input budget (starved), a request
 * answered off the loop (busy), a refused hello, or closing. */
void client_update_reading(client *c) {
  bool want = !c->closing && !c->held && !c->paused && !c->starved && !c->busy &&
              !c->refused_hello;

  if (want == c->reading)
    return;
  c->reading = want;
  if (want)
    uv_read_start(&c->h.stream, on_alloc, on_read);
  else
    uv_read_stop(&c->h.stream);
}

/* Back-pressure: stop reading a client whose replies pile up unread, and
 * read again once they have drained. */
static void pace(client *c) {
  if (c->closing)
    return;
  if (!c->paused && client_backlog(c) > CLIENT_READ_STOP) {
    c->paused = true;
    log_debug("client %u: %zu bytes unread; not reading its requests until it catches up",
              c->id, client_backlog(c));
  } else if (c->paused && client_backlog(c) < CLIENT_READ_RESUME) {
    c->paused = false;
  }
  client_update_reading(c);
}

/* The input budget: what every connection's partial frames hold together
 * (CLIENT_INPUT_BUDGET).  Over it, a connection in the middle of a large
 * frame is not read until others have finished theirs; small frames always
 * pass.  in_held is kept as the sum of the framers' buffers. */
static void account_input(client *c, size_t before) {
  sonod *d = c->d;

  d->input_held = d->input_held - before + c->framer.cap;
  if (c->framer.cap < before)
    clients_feed_starved(d);
  if (!c->starved && d->input_held > CLIENT_INPUT_BUDGET &&
      c->framer.cap > CLIENT_INPUT_SMALL && sono_framer_partial(&c->framer)) {
    c->starved = true;
    c->starved_ns = sonod_now_ns();
    log_warn("client %u: %zu bytes of unfinished frames held in all; not reading its %zu-byte "
             "frame until others finish", c->id, d->input_held, c->framer.need);
    client_update_reading(c);
  }
}

void clients_feed_starved(sonod *d) {
  for (client *c = d->clients; c != NULL && d->input_held <= CLIENT_INPUT_BUDGET; c = c->next)
    if (c->starved) {
      c->starved = false;
      client_update_reading(c);
    }
}

/* A request read while the client is busy (client_hold). */
typedef struct deferred_req {
  struct deferred_req *next;
  size_t len;
  char payload[];
} deferred_req;

/* A copy of one request's frame, to handle later; NULL when out of memory. */
static deferred_req *deferred_new(const char *payload, size_t len) {
  deferred_req *q = malloc(sizeof *q + len);

  if (q != NULL) {
    q->next = NULL;
    q->len = len;
    memcpy(q->payload, payload, len);
  }
  return q;
}

static void on_frame(void *ud, const char *payload, size_t len) {
  client *c = ud;
  deferred_req *q;

  /* After a refused hello nothing more is read or answered. */
  if (c->closing || c->refused_hello)
    return;
  if (!c->busy) {
    request_handle(c, payload, len);
    return;
  }
  if ((q = deferred_new(payload, len)) == NULL) {
    log_warn("client %u: out of memory for a request; disconnecting", c->id);
    client_close(c);
    return;
  }
  if (c->deferred_tail != NULL)
    c->deferred_tail->next = q;
  else
    c->deferred = q;
  c->deferred_tail = q;
}

void client_hold(client *c) {
  c->busy = true;
  client_update_reading(c);
}

int client_retry_later(client *c, const char *payload, size_t len) {
  deferred_req *q = deferred_new(payload, len);

  if (q == NULL)
    return -1;
  if ((q->next = c->deferred) == NULL)
    c->deferred_tail = q;
  c->deferred = q;
  client_hold(c);
  return 0;
}

static void deferred_free(client *c) {
  deferred_req *q;

  while ((q = c->deferred) != NULL) {
    c->deferred = q->next;
    free(q);
  }
  c->deferred_tail = NULL;
}

void client_resume(client *c) {
  deferred_req *q;

  c->busy = false;
  while (!c->busy && !c->closing && (q = c->deferred) != NULL) {
    if ((c->deferred = q->next) == NULL)
      c->deferred_tail = NULL;
    request_handle(c, q->payload, q->len);
    free(q);
  }
  /* Not read while held: a frame left partial then has not stalled. */
  c->last_read_ns = sonod_now_ns();
  client_update_reading(c);
}

static void on_oversize(void *ud, uint32_t len) {
  client *c = ud;

  if (!c->closing)
    reply_error(c, false, 0, SONO_E_FRAME_TOO_LARGE,
                "frame of %u bytes exceeds the limit of %zu bytes%s; skipped",
                len, c->framer.max, c->authed ? "" : " before hello with the token");
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  client *c = s->data;
  size_t before;

  if (n < 0) {
    if (n != UV_EOF)
      log_debug("client %u: read: %s", c->id, uv_strerror((int)n));
    else if (sono_framer_partial(&c->framer))
      log_debug("client %u: closed in the middle of a frame", c->id);
    client_close(c);
    return;
  }
  before = c->framer.cap;
  c->last_read_ns = sonod_now_ns();
  if (sono_framer_feed(&c->framer, buf->base, (size_t)n, on_frame, on_oversize, c) != 0) {
    log_warn("client %u: out of memory for a frame; disconnecting", c->id);
    account_input(c, before);
    client_close(c);
    return;
  }
  account_input(c, before);
  pace(c);
}

void client_start(client *c) {
  log_debug("client %u connected (%s)", c->id, c->transport);
  c->announced = true;
  events_client(c->d, c, "connected");
  c->held = c->d->hold_clients;
  c->last_read_ns = sonod_now_ns();
  client_update_reading(c);
}

void clients_tick(sonod *d) {
  uint64_t now = sonod_now_ns();
  client *c, *next;

  for (c = d->clients; c != NULL; c = next) {
    next = c->next;
    if (c->starved && now - c->starved_ns > (uint64_t)CLIENT_STARVE_MS * 1000000u) {
      char why[160];

      snprintf(why, sizeof why, "a frame of %zu bytes waited %u s for the daemon's input "
               "buffers (%u MiB for all connections)", c->framer.need, CLIENT_STARVE_MS / 1000,
               CLIENT_INPUT_BUDGET >> 20);
      client_refuse(c, why);
    } else if (!c->starved && c->reading && sono_framer_partial(&c->framer) &&
               now - c->last_read_ns > (uint64_t)CLIENT_STALL_MS * 1000000u) {
      log_warn("client %u: a frame left unfinished for %u s; closing", c->id,
               CLIENT_STALL_MS / 1000);
      reply_error(c, false, 0, SONO_E_BAD_REQUEST, "a frame was left unfinished for %u s; "
                  "closing", CLIENT_STALL_MS / 1000);
      client_close_gently(c);
    }
  }
}

void clients_release(sonod *d) {
  client *c;

  d->hold_clients = false;
  for (c = d->clients; c != NULL; c = c->next)
    if (c->held) {
      c->held = false;
      client_update_reading(c);
    }
}

void client_handle_closed(uv_handle_t *h) {
  client *c = h->data;

  if (--c->open_handles > 0)
    return;
  c->d->input_held -= c->framer.cap;
  clients_feed_starved(c->d);
  sono_framer_free(&c->framer);
  free(c->out);
  deferred_free(c);
  free(c);
}

/* Takes c off the daemon's list, so nothing more is sent to it, and tells
 * the other clients.  Returns false if it was already closing. */
static bool detach(client *c) {
  sonod *d = c->d;

  if (c->closing)
    return false;
  c->closing = true;
  if (c->prev)
    c->prev->next = c->next;
  else
    d->clients = c->next;
  if (c->next)
    c->next->prev = c->prev;
  d->nclients--;
  auth_forget(c);
  if (c->announced) {
    log_debug("client %u disconnected", c->id);
    events_client(d, c, "disconnected");
  }
  return true;
}

void client_close(client *c) {
  if (detach(c))
    uv_close(&c->h.handle, client_handle_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  client *c = req->data;
  (void)status;
  uv_close(&c->h.handle, client_handle_closed);
}

void client_close_gently(client *c) {
  flush_one(c);
  if (!detach(c))
    return;
  client_update_reading(c);
  c->shutdown_req.data = c;
  if (uv_shutdown(&c->shutdown_req, &c->h.stream, on_shutdown) != 0)
    uv_close(&c->h.handle, client_handle_closed);
}

/* libuv calls this for every write, also for those a close cancels,
 * before the handle's close callback frees the client. */
void client_refuse(client *c, const char *why) {
  sonod *d = c->d;
  uint64_t now = sonod_now_ns();

  d->refused++;
  if (now - d->refusal_logged_ns >= 1000000000ull) {
    log_warn("refused %llu connection%s: %s", (unsigned long long)d->refused,
             d->refused == 1 ? "" : "s", why);
    d->refusal_logged_ns = now;
    d->refused = 0;
  }
  reply_error(c, false, 0, SONO_E_LIMIT, "%s; closing", why);
  client_close_gently(c);
}

static void on_written(uv_write_t *req, int status) {
  write_req *w = (write_req *)req;
  client *c = w->c;
  (void)status;
  c->writing -= w->mem;
  free(w->data);
  free(w);
  pace(c);
}

/* Hands a buffer of len bytes (cap allocated) to libuv; freed when
 * written. */
static void write_owned(client *c, char *data, size_t len, size_t cap) {
  write_req *w = malloc(sizeof *w);
  uv_buf_t buf;

  if (w == NULL) {
    free(data);
    log_error("client %u: out of memory writing; disconnecting", c->id);
    client_close(c);
    return;
  }
  w->c = c;
  w->data = data;
  w->mem = cap + sizeof *w + 2 * MALLOC_OVERHEAD;
  buf = uv_buf_init(data, (unsigned)len);
  if (uv_write(&w->req, &c->h.stream, &buf, 1, on_written) != 0) {
    free(data);
    free(w);
    client_close(c);
    return;
  }
  c->writing += w->mem;
}

static void flush_one(client *c) {
  char *data = c->out, *fit;
  size_t len = c->out_len, cap = c->out_cap;

  if (len == 0)
    return;
  c->out = NULL;
  c->out_len = c->out_cap = 0;
  /* A write may wait long in libuv's queue: give back what the buffer
   * has beyond its frames (a lone event would otherwise hold 4 KiB). */
  if (cap - len >= 256 && (fit = realloc(data, len)) != NULL) {
    data = fit;
    cap = len;
  }
  write_owned(c, data, len, cap);
  pace(c);
}

void clients_flush(sonod *d) {
  client *c, *next;

  for (c = d->clients; c != NULL; c = next) {
    next = c->next;
    flush_one(c);
  }
}

static void on_flush(uv_check_t *h) {
  clients_flush(h->data);
}

void clients_flush_start(sonod *d) {
  uv_check_init(d->loop, &d->flush);
  d->flush.data = d;
  uv_check_start(&d->flush, on_flush);
}

static void queue_bytes(client *c, const char *data, size_t len) {
  if (c->closing)
    return;
  if (c->out_len + len > c->out_cap) {
    size_t cap = c->out_cap ? c->out_cap : 4096;
    char *p;

    while (cap < c->out_len + len)
      cap *= 2;
    p = realloc(c->out, cap);
    if (p == NULL) {
      log_error("client %u: out of memory queueing a frame; disconnecting", c->id);
      client_close(c);
      return;
    }
    c->out = p;
    c->out_cap = cap;
  }
  memcpy(c->out + c->out_len, data, len);
  c->out_len += len;
}

void client_send(client *c, msgpack_sbuffer *sb) {
  queue_bytes(c, sb->data, sb->size);
  msgpack_sbuffer_destroy(sb);
}

/* Reports discarded events once the backlog has drained enough to take the
 * report, so the client learns how many it missed. */
void client_report_lost(client *c) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  uint64_t lost = c->lost;

  c->lost = 0;
  events_begin(&sb, &pk, "lost", 1);
  sono_pack_key_uint(&pk, "count", lost);
  sono_msg_end(&sb);
  client_send(c, &sb);
}

void client_send_event(client *c, const msgpack_sbuffer *sb) {
  if (c->closing)
    return;
  if (client_backlog(c) + sb->size > CLIENT_EVENT_BACKLOG) {
    c->lost++;
    return;
  }
  if (c->lost > 0)
    client_report_lost(c);
  queue_bytes(c, sb->data, sb->size);
}
