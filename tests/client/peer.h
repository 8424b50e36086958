/* peer.h - a fake sonod for libsono's tests: a thread at the other end of a
 * socketpair that runs a script of reads and canned writes.
 *
 * The peer never asserts (Check's assertions belong on the test's thread):
 * it records every request it read, and the test inspects them after
 * peer_join(). */
#ifndef TEST_PEER_H
#define TEST_PEER_H

#include "sono.h"

#include <msgpack.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PEER_MAX_REQS 512

typedef struct peer_req {
  uint32_t header;          /* the length prefix as sent */
  char *payload;
  size_t len;
  msgpack_unpacked up;
  const msgpack_object *map;  /* NULL when the payload did not decode */
  uint64_t id;
  char op[64];
} peer_req;

typedef struct peer peer;
typedef void (*peer_script)(peer *p);

struct peer {
  int fd;
  pthread_t thread;
  peer_script script;
  void *ud;
  peer_req reqs[PEER_MAX_REQS];
  size_t n_reqs;
  bool read_failed;         /* the client closed or sent garbage */
  int trailing;             /* bytes left over after a decoded map */
};

/* Starts the script on a new thread and returns the client side as a
 * connection (with a 5 s reply timeout so a broken test fails, not hangs). */
sono_conn *peer_start(peer *p, peer_script script, void *ud);
void peer_join(peer *p);
void peer_free(peer *p);

/* For scripts: reads one request frame (blocking); NULL at end of stream. */
peer_req *peer_read(peer *p);

void peer_write(peer *p, const void *data, size_t n);
/* Writes the frame in sb (built with sono_msg_begin/sono_msg_end) and
 * destroys sb. */
void peer_send(peer *p, msgpack_sbuffer *sb);

/* Canned messages. */
void peer_reply_empty(peer *p, uint64_t id);
void peer_reply_uint(peer *p, uint64_t id, const char *key, uint64_t v);
void peer_reply_error(peer *p, uint64_t id, const char *code, const char *message);
void peer_event_tone(peer *p, bool on, uint64_t frame, double freq);
void peer_event_client(peer *p, uint64_t client, const char *action);

void peer_sleep_ms(int ms);

#endif
