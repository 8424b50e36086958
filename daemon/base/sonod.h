/* sonod.h - the daemon as a whole: what the control thread holds. */
#ifndef SONOD_SONOD_H
#define SONOD_SONOD_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "daemon/base/confine.h"
#include "daemon/base/options.h"
#include "daemon/rt/engine.h"
#include "protocol/token.h"

typedef struct client client;
typedef struct backend backend;
typedef struct sonod sonod;
struct engine_module;   /* engine/module.h */
struct op_entry;        /* net/request.h */

/* Control-side modules the engine passes its messages and news to. */
#define SONOD_MODULES_MAX 16

struct sonod {
  uv_loop_t *loop;
  options opt;
  confine roots;            /* file and plugin roots (confine.c) */
  engine eng;
  backend *be;
  /* The protocol's operations, by name (ops/ops.c); main sets it. */
  const struct op_entry *ops;
  /* engine/module.h; in registration order. */
  const struct engine_module *modules[SONOD_MODULES_MAX];
  unsigned nmodules;
  /* The orderly exit main performs (sonod_shutdown calls it). */
  void (*on_shutdown)(sonod *d, const char *reason);

  uv_pipe_t unix_server;
  bool unix_open;
  bool unix_passed;         /* socket activation: the file is not ours to unlink */
  uv_tcp_t tcp_server;
  bool tcp_open;
  char listening[512];      /* "unix:/path, tcp://host:port", for logs and STATUS= */
  char tcp_token[SONO_TOKEN_MAX + 1]; /* --tcp-token-file's token (auth.c) */
  size_t tcp_token_len;     /* 0: TCP clients need no token */

  client *clients;          /* doubly linked, newest first */
  unsigned nclients;
  unsigned tcp_waiting;     /* TCP clients that still owe their token (auth.c) */
  uint64_t refusal_logged_ns; /* connections refused: logged at most once a second */
  uint64_t refused;         /* connections refused since then */
  size_t input_held;        /* bytes all connections' unfinished frames hold (net/client.c) */
  uint32_t next_client_id;
  bool hold_clients;        /* start-up restore: accept, but read no request yet */

  uv_async_t wake;          /* the audio thread has messages; backend news */
  uv_signal_t sigint;
  uv_signal_t sigterm;
  uv_timer_t tick;          /* housekeeping: backend, coalesced drop events */
  uv_timer_t xrun_window;   /* one-shot: the xruns of a rate window (xrun_report.c) */
  uv_check_t flush;         /* after each loop iteration: write out replies */
  uv_timer_t watchdog;      /* WATCHDOG=1 to systemd, when it asks for it */
  bool watchdog_on;
  const char *notified_state; /* the backend state last sent in STATUS= */

  uint64_t started_ns;
  uint32_t reserved;        /* from_rt slots reserved by commands in flight */
  uint64_t xruns_reported;
  uint64_t last_xrun_event_ns;
  uint64_t midi_out_dropped_reported;
  uint64_t last_midi_out_event_ns;
  bool stopping;
  int exit_code;
};

/* Begins an orderly exit: tells subscribers, stops audio, answers whatever
 * the audio thread will now never see, closes every connection.  Any layer
 * may ask; the work is main's (d->on_shutdown), which knows every part. */
void sonod_shutdown(sonod *d, const char *reason);

/* The control thread's monotonic clock, in nanoseconds. */
uint64_t sonod_now_ns(void);

#endif
