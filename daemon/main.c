/* main.c - sonod: start up, run the control loop, shut down. */
#include <sched.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>

#include "daemon/net/auth.h"
#include "daemon/backend/backend.h"
#include "daemon/net/client.h"
#include "daemon/modules/csound_ctl.h"
#include "daemon/modules/csound_state.h"
#include "daemon/base/config.h"
#include "daemon/base/crash_log.h"
#include "daemon/engine/engine_ctl.h"
#include "daemon/net/events.h"
#include "daemon/base/log.h"
#include "daemon/modules/graph_ctl.h"
#include "daemon/modules/graph_state.h"
#include "daemon/modules/midi_cs.h"
#include "daemon/modules/midi_state.h"
#include "daemon/base/notify.h"
#include "daemon/engine/module.h"
#include "daemon/engine/schedule.h"
#include "daemon/modules/busnode_ctl.h"
#include "daemon/modules/meter_ctl.h"
#include "daemon/modules/plugin_ctl.h"
#include "daemon/modules/plugin_state.h"
#include "daemon/modules/capture_ctl.h"
#include "daemon/modules/record_ctl.h"
#include "daemon/ops/ops.h"
#include "daemon/rt/rt_pool.h"
#include "daemon/rtcheck/rtcheck.h"
#include "daemon/net/server.h"
#include "daemon/session/section.h"
#include "daemon/session/session.h"
#include "daemon/modules/xrun_report.h"
#include "daemon/vst/vst.h"
#include "protocol/wire.h"

#define TICK_MS 100
#define MIDI_OUT_EVENT_NS 1000000000ull   /* at most one midi_out drop event a second */

/* A fatal signal leaves a report in the log before the daemon dies (the
 * plugin and call it happened in, when it was inside one, the signal,
 * address, mapping and backtrace: crash_log.c); then the signal again
 * with its default action, so the exit status and any core dump are the
 * signal's.  Not under AddressSanitizer, whose own report says more. */
#ifndef __SANITIZE_ADDRESS__
static void on_crash(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  crash_log_write(2, sig, si);
  signal(sig, SIG_DFL);
  raise(sig);
}
#endif

static void crash_reports(void) {
#ifndef __SANITIZE_ADDRESS__
  static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
  struct sigaction sa;
  size_t i;

  crash_log_prepare();
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_crash;
  sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    sigaction(sigs[i], &sa, NULL);
#endif
}

/* Called by whichever thread drives the engine, and by JACK's callbacks. */
static void wake(void *ctx) {
  uv_async_send(ctx);
}

/* STATUS= for the service manager: what `systemctl status` shows.  Sent
 * at start and whenever the backend's state changes (JACK lost, back). */
static void notify_state(sonod *d, const char *also) {
  const backend *be = d->be;

  d->notified_state = be->state;
  if (strcmp(be->state, "lost") == 0)
    notify_send("%sSTATUS=%s server lost: on the internal clock at %u Hz, reconnecting; "
                "listening on %s", also, be->ops->name, be->sample_rate, d->listening);
  else
    notify_send("%sSTATUS=%s on %s at %u Hz, listening on %s", also, be->state, be->ops->name,
                be->sample_rate, d->listening);
}

static void poll_backend(sonod *d) {
  d->be->ops->poll(d->be);
  if (!d->stopping && d->be->state != d->notified_state)
    notify_state(d, "");
}

static void on_wake(uv_async_t *h) {
  sonod *d = h->data;

  engine_ctl_drain(d);
  if (!d->stopping) {
    poll_backend(d);
    xrun_report_poll(d);
  }
}

/* The control thread proves it is alive; a loop stuck for a whole
 * WatchdogSec gets sonod restarted. */
static void on_watchdog(uv_timer_t *t) {
  (void)t;
  notify_send("WATCHDOG=1");
}

/* MIDI events the JACK backend could not write to midi_out: one `backend`
 * event when the count grew, coalesced to at most one a second. */
static void midi_out_event(sonod *d, uint64_t total) {
  char msg[160];

  snprintf(msg, sizeof msg, "midi_out: %llu MIDI events dropped (%llu in all)",
           (unsigned long long)(total - d->midi_out_dropped_reported), (unsigned long long)total);
  log_warn("%s", msg);
  backend_event(d, d->be->state, msg);
  d->midi_out_dropped_reported = total;
  d->last_midi_out_event_ns = sonod_now_ns();
}

static void follow_priority(sonod *d);

static void on_tick(uv_timer_t *t) {
  sonod *d = t->data;
  client *c;

  poll_backend(d);
  follow_priority(d);
  if (atomic_load(&d->be->midi_out_dropped) != d->midi_out_dropped_reported &&
      sonod_now_ns() - d->last_midi_out_event_ns >= MIDI_OUT_EVENT_NS)
    midi_out_event(d, atomic_load(&d->be->midi_out_dropped));
  midi_cs_tick(d);
  clients_tick(d);
  meter_ctl_tick(d);
  for (c = d->clients; c != NULL; c = c->next)
    if (c->lost > 0 && client_backlog(c) < CLIENT_EVENT_BACKLOG)
      client_report_lost(c);
}

static void on_signal(uv_signal_t *s, int signum) {
  sonod *d = s->data;

  log_info("received %s", signum == SIGINT ? "SIGINT" : "SIGTERM");
  sonod_shutdown(d, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

/* d->on_shutdown: see sonod_shutdown in base/sonod.h. */
static void shutdown_now(sonod *d, const char *reason) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  client *c, *next;

  if (d->stopping)
    return;
  d->stopping = true;
  log_info("shutting down: %s", reason);
  notify_send("STOPPING=1\nSTATUS=stopping: %s", reason);
  events_begin(&sb, &pk, "shutdown", 1);
  sono_pack_key_str(&pk, "reason", reason);
  events_emit(d, EV_SHUTDOWN, &sb);

  /* Saved while the engine still runs: plugins answer for their state. */
  session_shutdown(d);
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
  ops_close();
  xrun_report_close(d);
  uv_close((uv_handle_t *)&d->flush, NULL);
  if (d->watchdog_on)
    uv_close((uv_handle_t *)&d->watchdog, NULL);
}

/* The start-up restore is over (or there was none): clients can be
 * served. */
static void on_restored(sonod *d) {
  clients_release(d);
  notify_state(d, "READY=1\n");
}

/* The control-side modules, in the order the engine calls them: messages,
 * polls, and at shutdown (the bus nodes let go of Csound's buffers before
 * the Csound module destroys its engine). */
static const engine_module *const modules[] = {
  &meter_ctl_module,
  &record_ctl_module,
  &capture_ctl_module,
  &graph_ctl_module,
  &busnode_ctl_module,
  &plugin_ctl_module,
  &csound_ctl_module,
};

/* The sections of the session file (session/section.h), in the order the
 * file holds them; each step of a restore runs by its own rank. */
static const session_section *const sections[] = {
  &plugin_state_section,
  &csound_state_section,
  &graph_state_section,
  &midi_state_section,
};

/* The worker pool (--workers), at the audio thread's priority. */
static int start_workers(sonod *d, char *err, size_t errlen) {
  unsigned n = d->opt.workers < 0 ? rt_pool_default_workers() : (unsigned)d->opt.workers;
  rt_pool_stat st;

  if (n == 0)
    return 0;
  d->eng.pool = rt_pool_create(n, (uint64_t)d->opt.parallel_min_us * 1000u, err, errlen);
  if (d->eng.pool == NULL)
    return -1;
  rt_pool_stat_get(d->eng.pool, 1, &st);
  log_info("%u worker thread%s, %zu KiB of stack locked each", n, n == 1 ? "" : "s",
           st.locked / 1024);
  return 0;
}

/* The workers run at the audio thread's priority, which the backend knows
 * once it runs and which may change (JACK restarted): looked at on every
 * tick. */
static void follow_priority(sonod *d) {
  if (d->eng.pool != NULL)
    rt_pool_follow(d->eng.pool,
                   d->be->ops->rt_priority != NULL ? d->be->ops->rt_priority(d->be) : 0);
}

#if !defined(__SANITIZE_ADDRESS__)
/* Does this process hold CAP_IPC_LOCK (no limit on locked memory)? */
static bool can_lock_any(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  unsigned long long eff = 0;
  bool found = false;

  if (f == NULL)
    return false;
  while (!found && fgets(line, sizeof line, f) != NULL)
    found = sscanf(line, "CapEff: %llx", &eff) == 1;
  fclose(f);
  return found && (eff & (1ull << 14)) != 0;   /* CAP_IPC_LOCK */
}
#endif

/* Every page the process has and will map stays in RAM: the audio thread
 * never waits for a page to come back from swap or to be first mapped
 * (ARCHITECTURE.md, "Memory the audio thread touches").  Only when the
 * limit allows locking everything: with MCL_FUTURE under a finite
 * RLIMIT_MEMLOCK, allocations would start failing once it is reached.
 * Not under AddressSanitizer, whose terabytes of shadow mappings cannot be
 * locked. */
static bool lock_memory(void) {
#if defined(__SANITIZE_ADDRESS__)
  log_info("memory not locked: AddressSanitizer build");
  return false;
#else
  struct rlimit rl;

  if (getrlimit(RLIMIT_MEMLOCK, &rl) != 0 || (rl.rlim_cur != RLIM_INFINITY && !can_lock_any())) {
    log_warn("memory not locked (RLIMIT_MEMLOCK is %llu KiB; the service unit sets "
             "LimitMEMLOCK=infinity): the audio thread may wait for page faults",
             (unsigned long long)rl.rlim_cur / 1024);
    return false;
  }
  if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0) {
    log_warn("memory not locked: mlockall: %s", strerror(errno));
    return false;
  }
  log_info("memory locked (mlockall)");
  return true;
#endif
}

static int run(sonod *d) {
  char err[512];

  d->loop = uv_default_loop();
  d->ops = ops_table;
  d->on_shutdown = shutdown_now;
  for (size_t i = 0; i < sizeof modules / sizeof modules[0]; i++)
    engine_ctl_register(d, modules[i]);
  for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
    session_register(sections[i]);
  d->started_ns = sonod_now_ns();
  /* The realtime checker's build: system calls in the audio cycle fail
   * the daemon, and page faults too when memory is locked. */
  RT_CHECK_ARM(lock_memory());
  /* Catch SIGINT/SIGTERM before the socket accepts anyone: a signal that
   * arrives during start-up waits for the loop instead of killing us. */
  uv_signal_init(d->loop, &d->sigint);
  uv_signal_init(d->loop, &d->sigterm);
  d->sigint.data = d->sigterm.data = d;
  uv_signal_start(&d->sigint, on_signal, SIGINT);
  uv_signal_start(&d->sigterm, on_signal, SIGTERM);
  if (engine_init(&d->eng, d->opt.sample_rate, d->opt.channels) != 0 || schedule_init() != 0) {
    log_error("out of memory setting up the engine");
    return 1;
  }
  uv_async_init(d->loop, &d->wake, on_wake);
  d->wake.data = d;
  d->eng.wake = wake;
  d->eng.wake_ctx = &d->wake;

  d->be = backend_create(d, engine_ctl_backend_hooks(), err, sizeof err);
  if (d->be == NULL) {
    log_error("%s", err);
    return 1;
  }
  d->eng.sample_rate = d->be->sample_rate;
  if (start_workers(d, err, sizeof err) != 0) {
    log_error("%s", err);
    d->be->ops->destroy(d->be);
    return 1;
  }
  if (csound_ctl_start(d, err, sizeof err) != 0) {
    log_error("%s", err);
    d->be->ops->destroy(d->be);
    return 1;
  }
  if (graph_ctl_start(d) != 0) {
    log_error("graph: out of memory");
    d->be->ops->destroy(d->be);
    return 1;
  }

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
  follow_priority(d);
  log_info("sonod %s running: backend %s, %u Hz, %u frames per block, %u channels",
           SONOD_VERSION, d->be->ops->name, d->be->sample_rate, d->be->block_size,
           d->opt.channels);

  uv_timer_init(d->loop, &d->tick);
  d->tick.data = d;
  uv_timer_start(&d->tick, on_tick, TICK_MS, TICK_MS);
  xrun_report_init(d);
  clients_flush_start(d);
  if (notify_watchdog_usec() > 0) {
    uint64_t ms = notify_watchdog_usec() / 2000;   /* ping at half the interval */

    uv_timer_init(d->loop, &d->watchdog);
    uv_timer_start(&d->watchdog, on_watchdog, ms > 0 ? ms : 1, ms > 0 ? ms : 1);
    d->watchdog_on = true;
  }
  /* The last session comes back before READY and before any request is
   * read, so that whoever waits for the service (or just connects) finds
   * it in place.  The restore runs on the loop (plugins load on the thread
   * pool), so connections are accepted meanwhile but held. */
  d->hold_clients = true;
  session_start(d, on_restored);

  uv_run(d->loop, UV_RUN_DEFAULT);

  d->be->ops->destroy(d->be);
  rt_pool_destroy(d->eng.pool);
  d->eng.pool = NULL;
  engine_destroy(&d->eng);
  schedule_free();
  uv_loop_close(d->loop);
  log_info("stopped");
  return d->exit_code;
}

/* The settings: defaults, then the config file, then the command line over
 * it.  The command line is read first only to find --config (and to answer
 * --help and to refuse a bad option before touching any file), then again
 * over the file's settings so that it wins.  Returns -1 to go on, else the
 * exit status. */
static int configure(options *o, int argc, char **argv) {
  static options cli;
  const char *path;
  char err[512];
  int loaded;

  options_defaults(&cli);
  switch (options_parse_args(&cli, argc, argv, err, sizeof err)) {
  case OPTIONS_EXIT_OK:
    return 0;
  case OPTIONS_ERROR:
    fprintf(stderr, "sonod: %s\n", err);
    return 2;
  default:
    break;
  }
  path = cli.config_given ? cli.config_path : CONFIG_DEFAULT_PATH;
  options_defaults(o);
  loaded = 0;
  if (!cli.no_config && config_load(o, path, cli.config_given, &loaded, err, sizeof err) != 0) {
    fprintf(stderr, "sonod: %s\n", err);
    return 2;
  }
  /* Cannot fail: the same arguments were accepted above. */
  options_parse_args(o, argc, argv, err, sizeof err);
  if (options_check(o, err, sizeof err) != 0) {
    if (loaded)
      fprintf(stderr, "sonod: %s (settings from %s and the command line)\n", err, path);
    else
      fprintf(stderr, "sonod: %s\n", err);
    return 2;
  }
  if (loaded)
    snprintf(o->config_path, sizeof o->config_path, "%s", path);
  else
    o->config_path[0] = '\0';
  return -1;
}

int main(int argc, char **argv) {
  static sonod d;
  char err[4096 + 512];
  int rc;

  RT_CHECK_INIT();
  rc = configure(&d.opt, argc, argv);
  if (rc >= 0)
    return rc;
  /* A token file that is missing, empty or readable by others is a
   * configuration error like a bad value: exit 2 before anything starts. */
  if (auth_load(&d, err, sizeof err) != 0) {
    fprintf(stderr, "sonod: %s\n", err);
    return 2;
  }
  log_set_level(d.opt.verbose >= 2 ? LOG_DEBUG : d.opt.verbose == 1 ? LOG_INFO : LOG_WARN);
  if (d.opt.config_path[0] != '\0')
    log_info("settings from %s", d.opt.config_path);
  confine_init(&d.roots, &d.opt);
  crash_reports();
  notify_init();
  signal(SIGPIPE, SIG_IGN);
  return run(&d);
}
