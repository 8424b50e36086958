/* sono.h - libsono, the C client library of the sonod audio daemon.
 *
 * libsono speaks the sonod wire protocol (protocol/PROTOCOL.md): frames of a
 * 4-byte big-endian length and one msgpack map.  It offers two ways to talk to
 * the daemon over one connection, and they can be mixed freely:
 *
 *   - synchronous: sono_call() sends a request and blocks until its reply;
 *     typed wrappers (sono_status(), sono_tone(), ...) sit on top of it.
 *   - asynchronous: sono_send() queues a request and returns its id at once;
 *     the completion callback runs from sono_process() when the reply comes.
 *     sono_fd(), sono_want_write() and sono_process() plug the connection
 *     into any event loop (poll, epoll, libuv's uv_poll_t, ...).
 *
 * Nothing the server sends is ever dropped by the library: events, and
 * replies to other requests that arrive while sono_call() waits, are queued
 * and their callbacks run just before sono_call() returns.
 *
 * Threads: a connection belongs to one thread at a time.  No function here
 * locks; calling into one sono_conn from two threads at once is undefined.
 * Separate connections are independent and may live in separate threads.
 * Callbacks run on the thread that called into the library; they may make
 * further requests on their connection but must not sono_close() it.
 *
 * Conventions: functions returning int return 0 on success and -1 on failure.
 * Every sono_error *err parameter may be NULL; the last error of a connection
 * is also kept and can be read with sono_last_error(). */
#ifndef SONO_H
#define SONO_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(SONO_BUILDING) && defined(__GNUC__)
#define SONO_API __attribute__((visibility("default")))
#else
#define SONO_API
#endif

#define SONO_LIB_VERSION "0.1.0"

/* ---------------------------------------------------------------- errors */

typedef enum sono_kind {
  SONO_OK = 0,
  SONO_ERR_SERVER,   /* the server answered with an error; see code/message */
  SONO_ERR_URI,      /* the URI could not be parsed */
  SONO_ERR_CONNECT,  /* socket() / getaddrinfo() / connect() failed */
  SONO_ERR_IO,       /* read or write on the socket failed */
  SONO_ERR_CLOSED,   /* the server closed the connection */
  SONO_ERR_PROTOCOL, /* the server sent something that is not protocol v1 */
  SONO_ERR_TIMEOUT,  /* no reply within the connection's timeout */
  SONO_ERR_NOMEM,
  SONO_ERR_USAGE,    /* the caller passed something invalid */
} sono_kind;

typedef struct sono_error {
  sono_kind kind;
  int sys_errno;     /* errno behind a CONNECT or IO error, else 0 */
  /* For SONO_ERR_SERVER the server's stable code ("bad_value", "late", ...);
   * for local errors a fixed name ("connection_closed", "timeout", ...). */
  char code[64];
  char message[512];
} sono_error;

/* A short name for a kind: "server", "connect", "closed", ... */
SONO_API const char *sono_kind_name(sono_kind kind);

/* ------------------------------------------------------------------- URIs */

typedef enum sono_uri_type { SONO_URI_UNIX, SONO_URI_TCP } sono_uri_type;

typedef struct sono_uri {
  sono_uri_type type;
  char path[108];   /* SONO_URI_UNIX: socket path (sizeof sun_path) */
  char host[256];   /* SONO_URI_TCP: name or address, IPv6 without brackets */
  char port[16];    /* SONO_URI_TCP: port number or service name */
} sono_uri;

/* Parses "unix:/path", "unix:///path", a bare path, or "tcp://host:port"
 * (host may be a name, an IPv4 address or a bracketed IPv6 address:
 * "tcp://[::1]:7000").  NULL or "" selects sono_default_uri(). */
SONO_API int sono_uri_parse(const char *uri, sono_uri *out, sono_error *err);

/* The URI used when none is given: $SONOD_SOCKET, else
 * $XDG_RUNTIME_DIR/sonod.sock, else /run/sonod/sonod.sock.  Writes it into
 * buf (truncated to size) and returns buf. */
SONO_API char *sono_default_uri(char *buf, size_t size);

/* ------------------------------------------------------------ connections */

typedef struct sono_conn sono_conn;

/* Connects (blocking) and returns a connection, or NULL with err set.
 * Every call given a NULL connection fails cleanly (SONO_ERR_USAGE, code
 * "no_connection"; sono_send returns 0, sono_fd -1), and so do calls given
 * a NULL for an argument they need: a missed check does not crash. */
SONO_API sono_conn *sono_connect(const char *uri, sono_error *err);

/* Adopts an already connected stream socket (a socketpair end, an inherited
 * descriptor).  The connection owns fd from then on, even on failure. */
SONO_API sono_conn *sono_open_fd(int fd, sono_error *err);

/* Closes the socket and frees the connection.  Requests still waiting get
 * their callbacks with a SONO_ERR_CLOSED error first. */
SONO_API void sono_close(sono_conn *c);

/* ---------------------------------------------------------- authentication
 *
 * A sonod started with --tcp-token-file answers TCP clients only after a
 * hello carrying its token (PROTOCOL.md, "Authentication").  Unix-socket
 * clients need none.  The token travels in clear text: see sonod(8). */

#define SONO_TOKEN_MAX 256

/* Reads a token file under sonod's rules: the first line, surrounding
 * whitespace trimmed, 16 to SONO_TOKEN_MAX printable bytes, and no
 * permissions for group or others (chmod 600), as ssh wants for keys.
 * buf needs SONO_TOKEN_MAX + 1 bytes.  SONO_ERR_USAGE with the reason. */
SONO_API int sono_read_token_file(const char *path, char *buf, size_t size,
                                  sono_error *err);

/* The token sono_hello() sends from now on (copied; NULL for none). */
SONO_API int sono_set_token(sono_conn *c, const char *token, sono_error *err);

/* sono_connect(), then, for a TCP URI and a token that is not NULL, a hello
 * with it (waiting up to timeout_ms, negative: forever): the connection it
 * returns is ready for any request.  A wrong token fails with
 * SONO_ERR_SERVER and code "unauthorized".  Over a Unix socket the token is
 * not sent. */
SONO_API sono_conn *sono_connect_token(const char *uri, const char *token,
                                       int timeout_ms, sono_error *err);

/* How long sono_call() and the typed wrappers wait for a reply, in
 * milliseconds; negative (the default) waits forever. */
SONO_API void sono_set_timeout(sono_conn *c, int timeout_ms);

/* The last error recorded on this connection (kind SONO_OK if none). */
SONO_API const sono_error *sono_last_error(const sono_conn *c);

/* True once the connection has failed; every later request fails too. */
SONO_API bool sono_is_broken(const sono_conn *c);

/* ------------------------------------------------------- request arguments */

/* A builder for the argument keys of a request.  Every setter takes a key;
 * inside an array opened with sono_args_begin_array() the key is ignored and
 * should be NULL.  Mistakes (a missing key in a map, an unbalanced end) are
 * remembered and make the request fail with SONO_ERR_USAGE. */
typedef struct sono_args sono_args;

SONO_API sono_args *sono_args_new(void);
SONO_API void sono_args_free(sono_args *a);
SONO_API void sono_args_clear(sono_args *a);

SONO_API int sono_args_uint(sono_args *a, const char *key, uint64_t v);
SONO_API int sono_args_int(sono_args *a, const char *key, int64_t v);
SONO_API int sono_args_double(sono_args *a, const char *key, double v);
SONO_API int sono_args_bool(sono_args *a, const char *key, bool v);
SONO_API int sono_args_str(sono_args *a, const char *key, const char *s);
SONO_API int sono_args_strn(sono_args *a, const char *key, const char *s, size_t n);
SONO_API int sono_args_bin(sono_args *a, const char *key, const void *p, size_t n);
SONO_API int sono_args_nil(sono_args *a, const char *key);
/* Any msgpack value, copied, e.g. a value taken from an earlier reply. */
SONO_API int sono_args_object(sono_args *a, const char *key, const msgpack_object *o);
SONO_API int sono_args_begin_array(sono_args *a, const char *key);
SONO_API int sono_args_begin_map(sono_args *a, const char *key);
/* What was built so far: *count top-level members as msgpack, key then
 * value each, in data[0..len) (valid until the next change to a); for a
 * program that reads back or rewrites what it built.  NULL a: nothing.
 * -1 while a container is open or after a mistake. */
SONO_API int sono_args_body(const sono_args *a, const char **data, size_t *len,
                            uint32_t *count);
/* Closes the innermost open array or map. */
SONO_API int sono_args_end(sono_args *a);

/* ----------------------------------------------------------------- replies */

/* A reply or an event: the decoded message plus the bytes it points into.
 * For a success reply the getters read the "ok" map, for an event the event
 * map itself. */
typedef struct sono_reply sono_reply;

SONO_API void sono_reply_free(sono_reply *r);

SONO_API uint64_t sono_reply_id(const sono_reply *r);
SONO_API bool sono_reply_is_error(const sono_reply *r);
/* The server's error code and message; NULL for a success reply. */
SONO_API const char *sono_reply_error_code(const sono_reply *r);
SONO_API const char *sono_reply_error_message(const sono_reply *r);

/* The whole message as received, and the map the getters read. */
SONO_API const msgpack_object *sono_reply_root(const sono_reply *r);
SONO_API const msgpack_object *sono_reply_body(const sono_reply *r);

/* Typed getters: 0 when key exists with a fitting type, else -1 and *out is
 * left alone.  Integers convert when the value fits; sono_reply_double
 * accepts integers too.  Strings are NUL-terminated copies owned by r; len
 * may be NULL. */
SONO_API const msgpack_object *sono_reply_get(const sono_reply *r, const char *key);
SONO_API int sono_reply_uint(const sono_reply *r, const char *key, uint64_t *out);
SONO_API int sono_reply_int(const sono_reply *r, const char *key, int64_t *out);
SONO_API int sono_reply_double(const sono_reply *r, const char *key, double *out);
SONO_API int sono_reply_bool(const sono_reply *r, const char *key, bool *out);
SONO_API int sono_reply_str(const sono_reply *r, const char *key,
                            const char **out, size_t *len);

/* The same getters on any msgpack map (nested maps, event fields).
 * sono_obj_str does not NUL-terminate: use len. */
SONO_API const msgpack_object *sono_obj_get(const msgpack_object *map, const char *key);
SONO_API int sono_obj_uint(const msgpack_object *map, const char *key, uint64_t *out);
SONO_API int sono_obj_int(const msgpack_object *map, const char *key, int64_t *out);
SONO_API int sono_obj_double(const msgpack_object *map, const char *key, double *out);
SONO_API int sono_obj_bool(const msgpack_object *map, const char *key, bool *out);
SONO_API int sono_obj_str(const msgpack_object *map, const char *key,
                          const char **out, size_t *len);
/* Copies a string value into buf as a C string (truncating). */
SONO_API int sono_obj_strcpy(const msgpack_object *map, const char *key,
                             char *buf, size_t size);

/* ------------------------------------------------------- synchronous calls */

/* Sends {id, op, ...args} (args may be NULL) and waits for its reply.  On
 * success *out (if out is not NULL) receives the reply, to be freed with
 * sono_reply_free().  An error reply fails the call with SONO_ERR_SERVER and
 * the server's code and message in err. */
SONO_API int sono_call(sono_conn *c, const char *op, const sono_args *args,
                       sono_reply **out, sono_error *err);

/* ------------------------------------------------------------------ async */

/* Runs once per request sent with sono_send().  On success err is NULL; on
 * an error reply err->kind is SONO_ERR_SERVER and r is that reply; when the
 * connection fails first, r is NULL.  r belongs to the library and is valid
 * only during the callback. */
typedef void (*sono_reply_cb)(sono_conn *c, const sono_reply *r,
                              const sono_error *err, void *ud);

/* Runs for every event.  kind is the "event" string; the fields are read with
 * the sono_reply_* getters.  ev is valid only during the callback. */
typedef void (*sono_event_cb)(sono_conn *c, const char *kind,
                              const sono_reply *ev, void *ud);

SONO_API void sono_on_event(sono_conn *c, sono_event_cb cb, void *ud);

/* Queues a request and returns its id (>= 1), or 0 on failure.  It is
 * written as far as the socket takes it without blocking; the rest goes out
 * from sono_flush() / sono_process().  cb may be NULL to ignore the reply. */
SONO_API uint64_t sono_send(sono_conn *c, const char *op, const sono_args *args,
                            sono_reply_cb cb, void *ud);

/* The socket, for poll()/epoll.  Watch it for reading always, and for
 * writing while sono_want_write() is true. */
SONO_API int sono_fd(const sono_conn *c);
SONO_API bool sono_want_write(const sono_conn *c);

/* Writes what it can of the output buffer without blocking: 0 when all is
 * written, 1 when some remains, -1 on error. */
SONO_API int sono_flush(sono_conn *c);

/* Non-blocking: writes what it can, reads what is there, and runs callbacks
 * for every complete message.  Returns how many messages were dispatched, or
 * -1 when the connection failed (waiting requests have been told). */
SONO_API int sono_process(sono_conn *c);

/* Blocking: waits up to timeout_ms (negative: forever) until at least one
 * message has been dispatched.  Returns the count, 0 on timeout, -1 on
 * failure.  For programs without an event loop of their own. */
SONO_API int sono_wait(sono_conn *c, int timeout_ms);

/* Requests sent and not yet answered. */
SONO_API size_t sono_pending(const sono_conn *c);

/* ------------------------------------------------- typed protocol requests */

typedef struct sono_hello_info {
  uint64_t protocol;
  char server[64];
  uint64_t client;
  uint64_t max_frame;
  char backend[16];
  uint64_t sample_rate;
  uint64_t block_size;
  uint64_t channels;
  size_t n_capabilities;
  char capabilities[16][32];
} sono_hello_info;

/* name may be NULL.  Sends the token set with sono_set_token(), if any. */
SONO_API int sono_hello(sono_conn *c, const char *name, sono_hello_info *out,
                        sono_error *err);
SONO_API bool sono_hello_has(const sono_hello_info *h, const char *capability);

/* Round trip of one ping, in seconds, measured on CLOCK_MONOTONIC. */
SONO_API int sono_ping(sono_conn *c, double *rtt_seconds, sono_error *err);

typedef struct sono_status {
  char backend[16];
  char state[16];
  uint64_t sample_rate;
  uint64_t block_size;
  uint64_t channels;
  uint64_t frame;
  double seconds;
  double dsp_load;
  double dsp_load_max;
  uint64_t xruns;
  uint64_t clients;
  double uptime;
  uint64_t heap_used;
  uint64_t heap_capacity;
} sono_status;

SONO_API int sono_get_status(sono_conn *c, sono_status *out, sono_error *err);

/* frame may be NULL. */
SONO_API int sono_sync(sono_conn *c, uint64_t *frame, sono_error *err);

SONO_API int sono_subscribe(sono_conn *c, const char *const *kinds, size_t n,
                            sono_error *err);
SONO_API int sono_unsubscribe(sono_conn *c, const char *const *kinds, size_t n,
                              sono_error *err);

/* When a timed request takes effect (PROTOCOL.md, section 4). */
typedef enum sono_when { SONO_NEXT_BLOCK, SONO_AT_FRAME, SONO_AFTER_DELAY } sono_when;

typedef struct sono_tone_opts {
  bool on;
  double freq;      /* Hz; <= 0 leaves the server default (440) */
  double amp;       /* 0..1; < 0 leaves the server default (0.25) */
  int channel;      /* output channel from 0, -1 for all */
  sono_when when;
  uint64_t at;      /* with SONO_AT_FRAME */
  double delay;     /* seconds, with SONO_AFTER_DELAY */
} sono_tone_opts;

#define SONO_TONE_OPTS_INIT {false, 0.0, -1.0, -1, SONO_NEXT_BLOCK, 0, 0.0}

/* frame (may be NULL) receives the frame at which the change takes effect. */
SONO_API int sono_tone(sono_conn *c, const sono_tone_opts *o, uint64_t *frame,
                       sono_error *err);

/* Offline backend: renders frames (if > 0) or seconds (if > 0) or, with
 * neither, up to the daemon's --length.  frame receives the frame reached. */
SONO_API int sono_render(sono_conn *c, uint64_t frames, double seconds,
                         uint64_t *frame, sono_error *err);

SONO_API int sono_shutdown(sono_conn *c, sono_error *err);

/* A plugin node's state (plugin.state.get), of any size: asked for in
 * pages of 8 MiB until `total` is read.  *data
 * (malloc'd, free() it) receives *len bytes; kind (may be NULL, 16 bytes)
 * "chunk" or "params".  A state that changes size while it is read fails
 * with SONO_ERR_PROTOCOL. */
SONO_API int sono_plugin_state_get(sono_conn *c, uint64_t node, void **data, size_t *len,
                                   char *kind, sono_error *err);
/* Sets it (plugin.state.set): whole when it fits in one page, else in
 * pieces (offset, total) that the daemon assembles and applies with the
 * last one. */
SONO_API int sono_plugin_state_set(sono_conn *c, uint64_t node, const void *data, size_t len,
                                   sono_error *err);

#ifdef __cplusplus
}
#endif

#endif
