/* offline.h - the integration suites' usual daemon: sonod on the offline
 * backend, rendering to a fresh WAV in /tmp, with a $HOME of its own. */
#ifndef SONOD_TESTS_OFFLINE_H
#define SONOD_TESTS_OFFLINE_H

#include "tests/support/harness.h"

typedef struct offline_paths {
  char home[300];   /* the test's $HOME (home_make), removed by offline_finish */
  char out[400];    /* the WAV the render goes to; the test reads and unlinks it */
} offline_paths;

/* Starts sonod with `--backend offline --output P->out --block-size 256`
 * and then `extra` (NULL-terminated, may be NULL; a later option wins, so
 * extra may give another block size), and connects c.  `name` names the
 * folders (sonod-NAME-home-..., sonod-NAME-PID-N.wav). */
void offline_start(daemon_proc *dp, conn *c, offline_paths *p, const char *name,
                   const char *const *extra);

/* The same with the render going to `output` instead of p->out (which is
 * still made, unused). */
void offline_start_to(daemon_proc *dp, conn *c, offline_paths *p, const char *name,
                      const char *output, const char *const *extra);

/* The session suites' daemon, restarted over one $HOME: the offline
 * backend rendering to `output`, 256-frame blocks, -v, and --state-dir
 * state_dir unless NULL; connects c. */
void offline_start_state(daemon_proc *dp, conn *c, const char *output, const char *state_dir);

/* shutdown (the daemon must exit 0), then the $HOME folder removed. */
void offline_finish(daemon_proc *dp, conn *c, offline_paths *p);

/* render {frames} on c, which must be answered ok. */
void conn_render(conn *c, uint64_t frames);

#endif
