/* client.h - one connection: reading frames, writing replies and events. */
#ifndef SONOD_CLIENT_H
#define SONOD_CLIENT_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "daemon/base/sonod.h"
#include "protocol/frame.h"

/* Memory held for output a client has not read yet (frames queued or
 * being written, with their allocation overhead) beyond which events are
 * discarded for it (and counted, and reported in a "lost" event).
 * Replies are never discarded. */
#define CLIENT_EVENT_BACKLOG (8u * 1024u * 1024u)
/* Back-pressure: past CLIENT_READ_STOP bytes of unread output sonod stops
 * reading the client's requests, and starts again once its output is
 * below CLIENT_READ_RESUME.  A client that sends and never reads costs a
 * bounded amount of memory; it blocks in its own writes instead. */
#define CLIENT_READ_STOP (8u * 1024u * 1024u)
#define CLIENT_READ_RESUME (2u * 1024u * 1024u)
/* What all connections' unfinished frames may hold together.  Past it, a
 * connection whose unfinished frame holds more than CLIENT_INPUT_SMALL is
 * not read until others finish theirs; after CLIENT_STARVE_MS of that its
 * frame is refused and it is closed.  A connection that leaves a frame
 * unfinished for CLIENT_STALL_MS is closed too. */
#define CLIENT_INPUT_BUDGET (256u * 1024u * 1024u)
#define CLIENT_INPUT_SMALL (64u * 1024u)
#define CLIENT_STARVE_MS 10000u
#define CLIENT_STALL_MS 30000u

struct client {
  sonod *d;
  client *prev;
  client *next;
  uint32_t id;
  char name[64];
  const char *transport;   /* "unix" or "tcp" */
  union {
    uv_handle_t handle;
    uv_stream_t stream;
    uv_pipe_t pipe;
    uv_tcp_t tcp;
  } h;
  uv_shutdown_t shutdown_req;
  sono_framer framer;
  bool authed;             /* may make requests: not a TCP client still owing its token */
  uint32_t events;         /* subscribed event kinds, a mask of event_kind */
  uint64_t lost;           /* events discarded and not yet reported */
  char *out;               /* frames queued this loop iteration, written by clients_flush */
  size_t out_len;
  size_t out_cap;
  size_t writing;          /* memory held by writes libuv has not finished */
  bool closing;
  bool held;               /* accepted while d->hold_clients: not reading yet */
  bool paused;             /* not reading: its unread output is over CLIENT_READ_STOP */
  bool starved;            /* not reading: the input budget is spent (CLIENT_INPUT_BUDGET) */
  bool reading;            /* uv_read_start is in force */
  uint64_t starved_ns;     /* when it was starved */
  uint64_t last_read_ns;   /* when bytes last came */
  bool busy;               /* not reading: one of its requests is handled off the loop */
  struct deferred_req *deferred, *deferred_tail;   /* read meanwhile, handled after it */
  /* TCP clients that owe a token (auth.c): the deadline, then the delayed
   * answer to a wrong hello. */
  uv_timer_t auth_timer;
  bool waiting;            /* counted in d->tcp_waiting, auth_timer open */
  bool refused_hello;      /* the timer now answers hello failed_id */
  uint64_t failed_id;
  bool failed_given;       /* that hello had a token (a wrong one) */
  unsigned open_handles;   /* handles to close before c is freed */
  bool announced;          /* its `client` connected event went out */
  unsigned scheduled;      /* its timed requests waiting (engine/schedule.c) */
  /* Waiting for room in a queue to the audio thread (ops/cs_room.c): the
   * request is first in `deferred`, handled again once there is room. */
  bool room_wait;
  bool room_expired;       /* the audio thread stood still: run it, and be refused */
  unsigned room_need;      /* commands the request may queue */
  uint64_t room_mark;      /* the engine's position when it last moved */
  uint64_t room_mark_ns;   /* and when that was seen */
};

/* Allocates a client whose handle is initialised for transport; the server
 * accepts into c->h.stream and then calls client_start. */
client *client_new(sonod *d, bool tcp);
void client_start(client *c);
/* Starts reading from the clients accepted while d->hold_clients was set
 * (their requests waited in the socket) and clears it. */
void clients_release(sonod *d);
/* Closes at once; pending output is dropped.  Safe to call twice. */
void client_close(client *c);
/* Closes after pending output has been written. */
void client_close_gently(client *c);
/* A connection over a limit: one error frame (code limit), then closed.
 * The refusal is logged, at most once a second with a count. */
void client_refuse(client *c, const char *why);
/* Starts or stops reading c as its state asks (see client.c). */
void client_update_reading(client *c);
/* Reads again from the starved connections, while the budget allows. */
void clients_feed_starved(sonod *d);
/* Once a tick: closes connections that waited too long for the input
 * budget, or left a frame unfinished too long. */
void clients_tick(sonod *d);
/* A request of c is handled off the loop (a worker) and answered later;
 * c's later requests must wait for that answer, as if handled in order:
 * sonod stops reading c, and keeps the requests already read (the rest of
 * the read buffer) for client_resume. */
void client_hold(client *c);
/* The held request was answered: the requests kept meanwhile are handled
 * now, in order (one may hold c again), then reading goes on. */
void client_resume(client *c);
/* The request being handled (payload, len) cannot run yet: it is kept
 * first in line, c is held (client_hold), and client_resume handles it
 * again before anything read after it.  Returns -1 when out of memory
 * (nothing kept, c not held). */
int client_retry_later(client *c, const char *payload, size_t len);
/* Frees c once its last handle has closed (uv_close callback). */
void client_handle_closed(uv_handle_t *h);

/* Queues a finished frame (see sono_msg_end); sb is emptied.  Frames
 * queued during one loop iteration leave in one write (clients_flush). */
void client_send(client *c, msgpack_sbuffer *sb);
/* Sends a copy of an event frame, unless the client's backlog is too long. */
void client_send_event(client *c, const msgpack_sbuffer *sb);

/* Sends a "lost" event with the count of discarded events, if any. */
void client_report_lost(client *c);

/* Memory held for c's output that it has not read yet (see
 * CLIENT_EVENT_BACKLOG). */
size_t client_backlog(const client *c);

client *client_find(sonod *d, uint32_t id);

/* Writes out every client's queued frames.  Runs once per loop iteration
 * (a uv_check handle), so a burst of pipelined requests is answered with
 * one write instead of one per reply. */
void clients_flush(sonod *d);
void clients_flush_start(sonod *d);

#endif
