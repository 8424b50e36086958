/* main.c - sonod: start up, run the control loop, shut down. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/backend.h"
#include "daemon/client.h"
#include "daemon/engine_ctl.h"
#include "daemon/events.h"
#include "daemon/log.h"
#include "daemon/rt/rtcheck.h"
#include "daemon/server.h"
#include "protocol/wire.h"

#define TICK_MS 100
#define XRUN_EVENT_NS 100000000ull   /* at most 10 xrun events a second */

uint64_t sonod_now_ns(void) {
  return uv_hrtime();
}

/* Called by whichever thread drives the engine, and by JACK's callbacks. */
static void wake(void *ctx) {
  uv_async_send(ctx);
}

static void on_wake(uv_async_t *h) {
  sonod *d = h->data;

  engine_ctl_drain(d);
  if (!d->stopping)
    d->be->ops->poll(d->be);
}

static void xrun_event(sonod *d, uint64_t total) {
  msgpack_sbuffer sb;
  msgpack_packer pk;

  events_begin(&sb, &pk, "xrun", 2);
  sono_pack_key_uint(&pk, "xruns", total);
  sono_pack_key_uint(&pk, "new", total - d->xruns_reported);
  events_emit(d, EV_XRUN, &sb);
  d->xruns_reported = total;
  d->last_xrun_event_ns = sonod_now_ns();
}

static void on_tick(uv_timer_t *t) {
  sonod *d = t->data;
  uint64_t xruns = atomic_load(&d->be->xruns);
  client *c;

  d->be->ops->poll(d->be);
  if (xruns != d->xruns_reported && sonod_now_ns() - d->last_xrun_event_ns >= XRUN_EVENT_NS)
    xrun_event(d, xruns);
  for (c = d->clients; c != NULL; c = c->next)
    if (c->lost > 0 && uv_stream_get_write_queue_size(&c->h.stream) < CLIENT_EVENT_BACKLOG)
      client_report_lost(c);
}

static void on_signal(uv_signal_t *s, int signum) {
  sonod *d = s->data;

  log_info("received %s", signum == SIGINT ? "SIGINT" : "SIGTERM");
  sonod_shutdown(d, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

void sonod_shutdown(sonod *d, const char *reason) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  client *c, *next;

  if (d->stopping)
    return;
  d->stopping = true;
  log_info("shutting down: %s", reason);
  events_begin(&sb, &pk, "shutdown", 1);
  sono_pack_key_str(&pk, "reason", reason);
  events_emit(d, EV_SHUTDOWN, &sb);

  d->be->ops->stop(d->be);
  engine_ctl_abandon(d);
  server_close(d);
  for (c = d->clients; c != NULL; c = next) {
    next = c->next;
    client_close_gently(c);
  }
  uv_close((uv_handle_t *)&d->wake, NULL);
  uv_close((uv_handle_t *)&d->sigint, NULL);
  uv_close((uv_handle_t *)&d->sigterm, NULL);
  uv_close((uv_handle_t *)&d->tick, NULL);
}

static int run(sonod *d) {
  char err[512];

  d->loop = uv_default_loop();
  d->started_ns = sonod_now_ns();
  if (engine_init(&d->eng, d->opt.sample_rate, d->opt.channels) != 0) {
    log_error("out of memory setting up the engine");
    return 1;
  }
  uv_async_init(d->loop, &d->wake, on_wake);
  d->wake.data = d;
  d->eng.wake = wake;
  d->eng.wake_ctx = &d->wake;

  d->be = backend_create(d, err, sizeof err);
  if (d->be == NULL) {
    log_error("%s", err);
    return 1;
  }
  d->eng.sample_rate = d->be->sample_rate;

  if (server_listen(d, err, sizeof err) != 0) {
    log_error("%s", err);
    server_close(d);
    d->be->ops->destroy(d->be);
    return 1;
  }
  if (d->be->ops->start(d->be, err, sizeof err) != 0) {
    log_error("%s", err);
    server_close(d);
    d->be->ops->destroy(d->be);
    return 1;
  }
  log_info("sonod %s running: backend %s, %u Hz, %u frames per block, %u channels",
           SONOD_VERSION, d->be->ops->name, d->be->sample_rate, d->be->block_size,
           d->opt.channels);

  uv_signal_init(d->loop, &d->sigint);
  uv_signal_init(d->loop, &d->sigterm);
  d->sigint.data = d->sigterm.data = d;
  uv_signal_start(&d->sigint, on_signal, SIGINT);
  uv_signal_start(&d->sigterm, on_signal, SIGTERM);
  uv_timer_init(d->loop, &d->tick);
  d->tick.data = d;
  uv_timer_start(&d->tick, on_tick, TICK_MS, TICK_MS);

  uv_run(d->loop, UV_RUN_DEFAULT);

  d->be->ops->destroy(d->be);
  engine_destroy(&d->eng);
  uv_loop_close(d->loop);
  log_info("stopped");
  return d->exit_code;
}

int main(int argc, char **argv) {
  static sonod d;
  char err[512];

  RT_CHECK_INIT();
  options_defaults(&d.opt);
  switch (options_parse(&d.opt, argc, argv, err, sizeof err)) {
  case OPTIONS_EXIT_OK:
    return 0;
  case OPTIONS_ERROR:
    fprintf(stderr, "sonod: %s\n", err);
    return 2;
  default:
    break;
  }
  log_set_level(d.opt.verbose >= 2 ? LOG_DEBUG : d.opt.verbose == 1 ? LOG_INFO : LOG_WARN);
  signal(SIGPIPE, SIG_IGN);
  return run(&d);
}
