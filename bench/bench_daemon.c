/* bench_daemon.c - a private offline sonod for the benchmarks
 * (bench_daemon.h). */
#include "bench/bench_daemon.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define ARGS_MAX 40

static const char *bench_name = "bench";

void bench_daemon_name(const char *name) {
  bench_name = name;
}

void bench_die(const char *what, const sono_error *e) {
  fprintf(stderr, "%s: %s: %s%s%s\n", bench_name, what, e != NULL ? e->code : "",
          e != NULL ? ": " : "", e != NULL ? e->message : "");
  exit(1);
}

void bench_daemon_start(bench_daemon *d, const char *sonod, const char *dir,
                        const char *const *extra) {
  static char sock[300], out[300];
  const char *argv[ARGS_MAX] = {
    sonod, "--no-config", "--backend", "offline", "--socket", sock, "--output", out,
    "--sample-rate", "48000", "--no-restore",
  };
  char uri[310];
  sono_error e;
  int i, n = 11;

  snprintf(sock, sizeof sock, "%s/sonod.sock", dir);
  snprintf(out, sizeof out, "%s/out.wav", dir);
  for (i = 0; extra != NULL && extra[i] != NULL && n < ARGS_MAX - 1; i++)
    argv[n++] = extra[i];
  argv[n] = NULL;
  unlink(sock);
  fflush(stdout);   /* the child must not print our buffered lines again */
  d->pid = fork();
  if (d->pid == 0) {
    if (freopen("/dev/null", "w", stdout) == NULL || freopen("/dev/null", "w", stderr) == NULL)
      _exit(127);
    execv(sonod, (char *const *)argv);
    _exit(127);
  }
  if (d->pid < 0)
    bench_die("fork", NULL);
  snprintf(uri, sizeof uri, "unix:%s", sock);
  for (i = 0; i < 1000; i++) {
    if ((d->c = sono_connect(uri, &e)) != NULL)
      break;
    usleep(10000);
  }
  if (d->c == NULL)
    bench_die("could not connect to the daemon", &e);
  sono_set_timeout(d->c, 600000);
}

void bench_daemon_stop(bench_daemon *d) {
  sono_reply *r = NULL;
  sono_error e;
  int st;

  if (sono_call(d->c, "shutdown", NULL, &r, &e) == 0)
    sono_reply_free(r);
  sono_close(d->c);
  waitpid(d->pid, &st, 0);
}

sono_reply *bench_call(bench_daemon *d, const char *op, sono_args *a) {
  sono_reply *r = NULL;
  sono_error e;

  if (sono_call(d->c, op, a, &r, &e) != 0)
    bench_die(op, &e);
  if (a != NULL)
    sono_args_clear(a);
  return r;
}

void bench_call0(bench_daemon *d, const char *op, sono_args *a) {
  sono_reply_free(bench_call(d, op, a));
}
