/* jackd_util.h - a private jackd (dummy driver) for tests, and an in-test
 * JACK client that records what sonod plays. */
#ifndef SONOD_TESTS_JACKD_UTIL_H
#define SONOD_TESTS_JACKD_UTIL_H

#include <check.h>
#include <jack/jack.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct jackd_proc {
  pid_t pid;
  char name[64];        /* server name, given to jackd -n */
  char log[300];        /* jackd's stdout and stderr */
} jackd_proc;

/* Starts `jackd -n name -r -d dummy -r 48000 -p 256` and waits until a
 * client can connect (fails the test after 10 s). */
void jackd_start(jackd_proc *j, const char *name, const char *log);
/* The same with realtime scheduling: `jackd -R -P prio` (prio > 0). */
void jackd_start_rt(jackd_proc *j, const char *name, const char *log, int prio);
/* Starts `jackd -n name ARGS...` (args NULL-ended) without waiting for it,
 * inside the network namespace of process netns_pid when that is > 0 (the
 * test must be allowed to enter it: root).  Stale files of an earlier
 * server with this name are removed first. */
void jackd_spawn_in(jackd_proc *j, const char *name, const char *log, pid_t netns_pid,
                    const char *const *args);
/* Waits until a client can connect (fails the test after 10 s). */
void jackd_wait_ready(jackd_proc *j);
/* SIGTERM, then waits (SIGKILL after 10 s).  Safe to call twice. */
void jackd_stop(jackd_proc *j);
/* Removes the /dev/shm files that carry this server's name; a jackd that
 * was killed hard leaves them behind and they can block a restart. */
void jackd_clean_shm(const char *name);
bool jack_server_answers(const char *name);
/* A JACK client of the test itself on that server (exactly this name, no
 * server started, the library's messages silenced); NULL if it cannot. */
jack_client_t *jack_rig_open(const char *server, const char *name);

/* How often a timing test may try again when xruns spoiled its recording.
 * A wrong result without an xrun fails at once, so this only decides how
 * much load the machine may put on jackd (one CI run saw two attempts in a
 * row spoiled, with 23 and 3 xruns). */
#define JACK_TEST_ATTEMPTS 5

/* Exact names of the ports matching the regex on that server, in JACK's
 * order, joined by spaces into buf.  Returns how many there are. */
int jack_list_ports(const char *server, const char *regex, char *buf, size_t len);

/* Ends an in-test JACK client.  A recording one first clears *recording
 * (its process callback then appends nothing) and lets a few periods pass:
 * jackd disconnects a leaving client's ports before it stops calling it,
 * so its last cycles may read silence or skip or repeat a period.  NULL
 * for a client that records nothing by then. */
void jack_client_leave(jack_client_t *c, _Atomic bool *recording);

/* Records one JACK input, connected to `source`, into a preallocated buffer
 * from the moment capture_start returns. */
void capture_start(const char *server, const char *client_name, const char *source);
/* Stops, disconnects and closes the client.  Returns the samples. */
const float *capture_stop(size_t *n);
/* Xruns the server reported since capture_start: a recording with one may
 * have lost or repeated a block (the dummy driver without realtime
 * scheduling can fall behind on a loaded machine). */
unsigned capture_xruns(void);
/* Samples recorded so far. */
size_t capture_count(void);

/* Names unique to this run, so parallel runs and leftovers never collide:
 * the server, sonod's JACK client, the test's own client and jackd's log,
 * each with the tag; also keeps JACK from starting a server by itself. */
void jack_test_names(const char *tag, char server[64], char jname[64], char client[64],
                     char log[128]);
/* The suite of a jack test file: one tcase, "jackd", of the NULL-ended
 * tests, with setup and teardown as its unchecked fixture (teardown runs in
 * the runner even after a test failed or timed out: the place to clean up
 * the server's files). */
Suite *jack_suite(const char *name, int timeout, void (*setup)(void), void (*teardown)(void),
                  const TTest *const *tests);

#endif
