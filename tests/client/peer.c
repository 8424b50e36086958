/* peer.c - the fake sonod of libsono's tests. */
#include "peer.h"

#include "protocol/frame.h"
#include "protocol/wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

void peer_sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void *run(void *arg) {
  peer *p = arg;

  p->script(p);
  /* Closing ends the stream for the client, as a daemon exiting would. */
  shutdown(p->fd, SHUT_RDWR);
  return NULL;
}

sono_conn *peer_start(peer *p, peer_script script, void *ud) {
  int sv[2];
  sono_conn *c;

  memset(p, 0, sizeof *p);
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return NULL;
  p->fd = sv[0];
  p->script = script;
  p->ud = ud;
  c = sono_open_fd(sv[1], NULL);
  if (c == NULL)
    return NULL;
  sono_set_timeout(c, 5000);
  if (pthread_create(&p->thread, NULL, run, p) != 0) {
    sono_close(c);
    return NULL;
  }
  return c;
}

void peer_join(peer *p) { pthread_join(p->thread, NULL); }

void peer_free(peer *p) {
  size_t i;

  for (i = 0; i < p->n_reqs; i++) {
    msgpack_unpacked_destroy(&p->reqs[i].up);
    free(p->reqs[i].payload);
  }
  p->n_reqs = 0;
  close(p->fd);
}

static bool read_full(int fd, void *buf, size_t n) {
  char *b = buf;

  while (n > 0) {
    ssize_t got = read(fd, b, n);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      return false;
    b += got;
    n -= (size_t)got;
  }
  return true;
}

peer_req *peer_read(peer *p) {
  unsigned char hdr[SONO_FRAME_HEADER];
  peer_req *r;
  const msgpack_object *op;
  size_t off = 0;

  if (p->n_reqs == PEER_MAX_REQS || !read_full(p->fd, hdr, sizeof hdr)) {
    p->read_failed = true;
    return NULL;
  }
  r = &p->reqs[p->n_reqs];
  memset(r, 0, sizeof *r);
  r->header = sono_frame_get_header(hdr);
  r->len = r->header;
  r->payload = malloc(r->len ? r->len : 1);
  if (r->payload == NULL || !read_full(p->fd, r->payload, r->len)) {
    free(r->payload);
    p->read_failed = true;
    return NULL;
  }
  p->n_reqs++;
  msgpack_unpacked_init(&r->up);
  if (msgpack_unpack_next(&r->up, r->payload, r->len, &off) == MSGPACK_UNPACK_SUCCESS &&
      r->up.data.type == MSGPACK_OBJECT_MAP) {
    r->map = &r->up.data;
    p->trailing += (int)(r->len - off);
    sono_get_uint(r->map, "id", &r->id);
    op = sono_map_get(r->map, "op");
    if (op != NULL && op->type == MSGPACK_OBJECT_STR && op->via.str.size < sizeof r->op)
      memcpy(r->op, op->via.str.ptr, op->via.str.size);
  }
  return r;
}

void peer_write(peer *p, const void *data, size_t n) {
  const char *b = data;

  while (n > 0) {
    ssize_t put = send(p->fd, b, n, MSG_NOSIGNAL);
    if (put < 0 && errno == EINTR)
      continue;
    if (put <= 0)
      return;
    b += put;
    n -= (size_t)put;
  }
}

void peer_send(peer *p, msgpack_sbuffer *sb) {
  sono_msg_end(sb);
  peer_write(p, sb->data, sb->size);
  msgpack_sbuffer_destroy(sb);
}

void peer_reply_empty(peer *p, uint64_t id) {
  msgpack_sbuffer sb;
  msgpack_packer pk;

  sono_msg_begin(&sb, &pk);
  msgpack_pack_map(&pk, 2);
  sono_pack_key_uint(&pk, "id", id);
  sono_pack_cstr(&pk, "ok");
  msgpack_pack_map(&pk, 0);
  peer_send(p, &sb);
}

void peer_reply_uint(peer *p, uint64_t id, const char *key, uint64_t v) {
  msgpack_sbuffer sb;
  msgpack_packer pk;

  sono_msg_begin(&sb, &pk);
  msgpack_pack_map(&pk, 2);
  sono_pack_key_uint(&pk, "id", id);
  sono_pack_cstr(&pk, "ok");
  msgpack_pack_map(&pk, 1);
  sono_pack_key_uint(&pk, key, v);
  peer_send(p, &sb);
}

void peer_reply_error(peer *p, uint64_t id, const char *code, const char *message) {
  msgpack_sbuffer sb;

  sono_pack_error_reply(&sb, true, id, code, message);
  peer_write(p, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
}

void peer_event_tone(peer *p, bool on, uint64_t frame, double freq) {
  msgpack_sbuffer sb;
  msgpack_packer pk;

  sono_msg_begin(&sb, &pk);
  msgpack_pack_map(&pk, 4);
  sono_pack_key_str(&pk, "event", "tone");
  sono_pack_key_bool(&pk, "on", on);
  sono_pack_key_uint(&pk, "frame", frame);
  sono_pack_key_double(&pk, "freq", freq);
  peer_send(p, &sb);
}

void peer_event_client(peer *p, uint64_t client, const char *action) {
  msgpack_sbuffer sb;
  msgpack_packer pk;

  sono_msg_begin(&sb, &pk);
  msgpack_pack_map(&pk, 4);
  sono_pack_key_str(&pk, "event", "client");
  sono_pack_key_uint(&pk, "client", client);
  sono_pack_key_str(&pk, "action", action);
  sono_pack_key_str(&pk, "name", "other");
  peer_send(p, &sb);
}
