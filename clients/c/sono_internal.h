/* sono_internal.h - the insides of libsono, shared by its source files and
 * never installed. */
#ifndef SONO_INTERNAL_H
#define SONO_INTERNAL_H

#include "sono.h"
#include "protocol/frame.h"

#include <stdarg.h>

/* One request waiting for its reply, kept in send order so that replies that
 * come back in order (the common case) are found at the head. */
typedef struct sono_pending_req {
  struct sono_pending_req *next, *prev;
  uint64_t id;
  sono_reply_cb cb;
  void *ud;
  /* Set while sono_call() waits for this request: the reply is parked here
   * instead of being dispatched. */
  sono_reply **slot;
  bool *slot_done;
} sono_pending_req;

/* A received message waiting to be dispatched. */
typedef struct sono_inbox_item {
  struct sono_inbox_item *next;
  sono_reply *msg;
} sono_inbox_item;

struct sono_reply {
  char *buf;                  /* the payload; the objects point into it */
  msgpack_unpacked up;
  const msgpack_object *root;
  const msgpack_object *body; /* ok map, event map, or error map */
  bool is_event;
  bool is_error;
  bool has_id;
  uint64_t id;
  char *kind;                 /* events: the "event" string */
  char *err_code, *err_message;
};

struct sono_conn {
  int fd;
  bool broken;
  int timeout_ms;
  uint64_t next_id;
  sono_error last;

  sono_framer framer;

  char *out;                  /* bytes queued for writing */
  size_t out_off, out_len, out_cap;

  sono_pending_req *head, *tail;
  size_t n_pending;

  sono_inbox_item *in_head, *in_tail;

  sono_event_cb on_event;
  void *on_event_ud;

  /* Set while sono_frame_cb runs, so parse failures reach the read loop. */
  int frame_err;

  char token[SONO_TOKEN_MAX + 1]; /* sono_set_token(); empty: none */
};

struct sono_args {
  /* A stack of open containers; level 0 is the request's own map. */
  struct sono_args_level {
    msgpack_sbuffer sb;
    uint32_t count;
    bool is_map;
    char *key;                /* the key this container goes under */
  } *lv;
  size_t depth, cap;
  bool bad;
};

/* error.c */
void sono_err_set(sono_error *e, sono_kind kind, int sys_errno, const char *code,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void sono_err_copy(sono_error *dst, const sono_error *src);
/* Records e as the connection's last error and copies it to err. */
int sono_conn_fail(sono_conn *c, sono_error *err, const sono_error *e);

/* reply.c */
/* Decodes one payload (copied).  Returns NULL with e set on a malformed one. */
sono_reply *sono_reply_parse(const char *payload, size_t len, sono_error *e);

/* args.c: sono_args_body is public (sono.h). */

/* connect.c */
int sono_socket_connect(const sono_uri *u, sono_error *err);

/* ops.c helpers used by several typed requests. */
int sono_call_frame(sono_conn *c, const char *op, sono_args *a,
                    uint64_t *frame, sono_error *err);

/* Refuses a NULL argument the call needs (a connection whose sono_connect
 * failed, most often) with a usage error in err, instead of crashing.
 * Returns -1 when p is NULL, else 0. */
int sono_need(const void *p, const char *what, sono_error *err);

#endif
