/* offline.c - see offline.h. */
#include "tests/support/offline.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define EXTRA_MAX 40

void offline_start_to(daemon_proc *dp, conn *c, offline_paths *p, const char *name,
                      const char *output, const char *const *extra) {
  const char *args[8 + EXTRA_MAX + 1];
  int n = 0;

  home_make(p->home, sizeof p->home, name);
  snprintf(p->out, sizeof p->out, "/tmp/sonod-%s-%d-%ld.wav", name, getpid(), random());
  args[n++] = "--backend";
  args[n++] = "offline";
  args[n++] = "--output";
  args[n++] = output != NULL ? output : p->out;
  args[n++] = "--block-size";
  args[n++] = "256";
  while (extra != NULL && *extra != NULL) {
    ck_assert_int_lt(n, 6 + EXTRA_MAX);
    args[n++] = *extra++;
  }
  args[n] = NULL;
  daemon_start(dp, args);
  conn_open(c, dp->socket);
}

void offline_start(daemon_proc *dp, conn *c, offline_paths *p, const char *name,
                   const char *const *extra) {
  offline_start_to(dp, c, p, name, NULL, extra);
}

void offline_start_state(daemon_proc *dp, conn *c, const char *output, const char *state_dir) {
  const char *args[] = { "--backend", "offline", "--output", output, "--block-size", "256", "-v",
                         "--state-dir", state_dir, NULL };

  if (state_dir == NULL)
    args[7] = NULL;
  daemon_start(dp, args);
  conn_open(c, dp->socket);
}

void offline_finish(daemon_proc *dp, conn *c, offline_paths *p) {
  daemon_shutdown(dp, c);
  home_remove(p->home);
}

void conn_render(conn *c, uint64_t frames) {
  conn_ok(c, conn_request(c, "render", "u", "frames", frames));
}
