/* bench_daemon.h - a private sonod on the offline backend for the
 * benchmarks that drive the daemon through the protocol (bench_graph,
 * bench_parallel): started in a folder of the bench's own, called with
 * blocking requests, shut down.  Any failure ends the bench with a message:
 * a benchmark that half ran has no figures worth printing. */
#ifndef SONOD_BENCH_DAEMON_H
#define SONOD_BENCH_DAEMON_H

#include <sys/types.h>

#include "clients/c/sono.h"

typedef struct bench_daemon {
  pid_t pid;
  sono_conn *c;
} bench_daemon;

/* Prints "NAME: WHAT: CODE: MESSAGE" and exits 1 (NAME from
 * bench_daemon_name, default "bench"). */
void bench_die(const char *what, const sono_error *e);
void bench_daemon_name(const char *name);

/* Runs SONOD --no-config --backend offline --socket DIR/sonod.sock --output
 * DIR/out.wav --sample-rate 48000 --no-restore, then the NULL-terminated
 * extra arguments (block size, workers, ...), its output thrown away, and
 * connects (up to 10 s) with a 10-minute reply timeout. */
void bench_daemon_start(bench_daemon *d, const char *sonod, const char *dir,
                        const char *const *extra);
/* shutdown, close, wait for the process. */
void bench_daemon_stop(bench_daemon *d);

/* Calls op with a (cleared afterwards for the next request; may be NULL);
 * the reply is the caller's.  bench_call0 frees it. */
sono_reply *bench_call(bench_daemon *d, const char *op, sono_args *a);
void bench_call0(bench_daemon *d, const char *op, sono_args *a);

#endif
