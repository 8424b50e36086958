/* harness.h - integration-test helpers: run a real sonod on a private
 * socket, and talk to it frame by frame over a real connection. */
#ifndef SONOD_TESTS_HARNESS_H
#define SONOD_TESTS_HARNESS_H

#include <msgpack.h>
#include <sndfile.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct daemon_proc {
  pid_t pid;
  char dir[256];        /* private temporary directory */
  char socket[300];
  char log[300];        /* the daemon's stderr */
} daemon_proc;

/* Starts $SONOD with the given extra arguments (NULL-terminated) plus
 * --socket in a fresh directory, and waits until it accepts connections. */
void daemon_start(daemon_proc *dp, const char *const *args);
/* daemon_start with only dp->dir as a file root (and HOME), and plugins
 * only from the standard folders and the suite's TESTPLUG* folders: the
 * confinement tests' daemon.  daemon_start adds /tmp to both, where the
 * suites write their files. */
void daemon_start_strict(daemon_proc *dp, const char *const *args);
/* The same without waiting: for a daemon expected to exit at start. */
void daemon_spawn(daemon_proc *dp, const char *const *args);
/* SIGTERM, then waits; returns the exit status (or -signal). */
int daemon_stop(daemon_proc *dp);
/* Waits for the daemon to exit on its own; returns as daemon_stop. */
int daemon_wait(daemon_proc *dp, int timeout_ms);
bool daemon_log_contains(const daemon_proc *dp, const char *needle);
/* The daemon's child processes (its plugin hosts, once loads are
 * answered): how many, and up to max of their pids into out (NULL: only
 * count). */
unsigned daemon_children(const daemon_proc *dp, pid_t *out, unsigned max);

typedef struct conn {
  int fd;
  char *buf;
  size_t len;
  size_t cap;
  char *frame;            /* the bytes behind msg */
  msgpack_unpacked msg;   /* the last message received */
} conn;

void conn_open(conn *c, const char *socket_path);
/* Connects to 127.0.0.1:port, retrying for up to 10 s while nothing
 * listens there yet (the Unix socket is up a moment before TCP). */
void conn_open_tcp(conn *c, int port);
void conn_close(conn *c);
/* A loopback TCP port that was free a moment ago. */
int free_tcp_port(void);

/* Sends raw bytes, or one whole frame around a payload. */
void conn_write(conn *c, const void *data, size_t len);
void conn_send_payload(conn *c, const void *payload, size_t len);
/* Sends a request built from a tiny format: pairs of key and typed value,
 *   "id" 1, ... see harness.c for the letters.  Returns the id. */
uint64_t conn_request(conn *c, const char *op, const char *fmt, ...);

/* Receives the next frame (fails the test after timeout_ms).  The result
 * stays valid until the next receive. */
const msgpack_object *conn_recv(conn *c, int timeout_ms);
/* Receives until a reply with this id arrives; events seen on the way are
 * counted into *events_seen when not NULL. */
const msgpack_object *conn_reply(conn *c, uint64_t id, int timeout_ms);
/* True if no frame arrives within timeout_ms. */
bool conn_silent(conn *c, int timeout_ms);
/* With every frame received already consumed: true when sonod closed the
 * connection (end of file within timeout_ms), false when more bytes came. */
bool conn_closed_by_peer(conn *c, int timeout_ms);

/* Accessors for assertions. */
const char *msg_error_code(const msgpack_object *m);    /* NULL when ok */
const msgpack_object *msg_ok(const msgpack_object *m);  /* NULL when error */
uint64_t msg_uint(const msgpack_object *map, const char *key);
double msg_double(const msgpack_object *map, const char *key);
bool msg_str_is(const msgpack_object *map, const char *key, const char *want);

/* What most integration tests do the same way; failures fail the test. */

/* A fresh directory "/tmp/sonod-NAME-XXXXXX" (its path into dir), removed
 * with all it holds when this process exits with status 0, so that runs do
 * not pile up in the user's /tmp; kept for a look when a test failed or
 * was killed. */
void tmp_dir_make(char *dir, size_t size, const char *name);
/* A fresh private $HOME, "/tmp/sonod-NAME-home-XXXXXX", set in the
 * environment: the daemon keeps its state there, not in the user's.
 * mkdtemp, so that a pid repeated across runs still gets a new one. */
void home_make(char *home, size_t size, const char *name);
/* Removes it and all it holds. */
void home_remove(const char *home);
/* Sends shutdown over c, checks that the daemon exits with 0, closes c. */
void daemon_shutdown(daemon_proc *dp, conn *c);
/* The ok map of the reply to id (within 30 s); fails the test on an
 * error reply. */
const msgpack_object *conn_ok(conn *c, uint64_t id);
/* subscribe (an array conn_request cannot build) with request id `id`;
 * fails the test unless the reply lists nkinds kinds. */
void conn_subscribe(conn *c, uint64_t id, const char *const *kinds, uint32_t nkinds);
/* On ev, a connection that only listens (conn_reply skips the events it
 * meets, so a connection that also makes requests loses them): the next
 * event `name` about `node` (and, unless NULL, port `symbol`), or NULL once
 * ev stays silent for timeout_ms. */
const msgpack_object *conn_event_for(conn *ev, const char *name, uint64_t node,
                                    const char *symbol, int timeout_ms);
/* plugin.load {path, isolate}; fails the test on an error; the node. */
uint64_t conn_plugin_load(conn *c, const char *path, bool isolate);
/* Whether plugin.list (over c) lists node with that state. */
bool conn_plugin_listed_as(conn *c, uint64_t node, const char *state);
/* plugin.state.set {node, data} (a bin, which conn_request cannot build),
 * whole, with request id `id`; returns id. */
uint64_t conn_state_set(conn *c, uint64_t id, uint64_t node, const void *data, size_t len);
/* A plugin.midi request built by hand: midi_begin starts {id, op, node,
 * events: [...]} in sb/pk for nevents events, which the caller packs;
 * midi_send sends it on c, frees sb and returns id. */
void midi_begin(msgpack_sbuffer *sb, msgpack_packer *pk, uint64_t id, uint64_t node,
                uint32_t nevents);
uint64_t midi_send(conn *c, msgpack_sbuffer *sb, uint64_t id);

/* plugin.midi {node, events} (an array of maps, which conn_request cannot
 * build) with request id `id`: a note on (velocity) or off (velocity 0
 * sent as given) on channel 0 at each frame of at[0 .. count), note
 * 60 + i mod 12; returns id. */
uint64_t conn_send_notes(conn *c, uint64_t id, uint64_t node, unsigned count, const uint64_t *at,
                         bool on, int velocity);
/* Checks that the reply to id (within 30 s) is the error code; returns
 * the error map. */
const msgpack_object *conn_expect_error(conn *c, uint64_t id, const char *code);
/* Reads a stereo sound file whole (interleaved, malloc'd), then removes
 * it so that the next render writes a new one. */
float *wav_read_stereo(const char *path, sf_count_t *frames);

#endif
