/* harness.c - see harness.h.  Failures abort the current Check test. */
#include "tests/support/harness.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "protocol/frame.h"
#include "protocol/wire.h"

static uint64_t next_id = 1;

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int try_connect(const char *path) {
  struct sockaddr_un sa;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
    return fd;
  {
    int e = errno;

    close(fd);
    errno = e;
  }
  return -1;
}

/* daemon_start_strict: only the daemon's own directory as a root. */
static bool strict_roots;

/* --plugin-path for the folder of each test plugin the suite was given
 * (TESTPLUG*=path in the environment), into dirs and argv. */
static int plugin_dirs(const char **argv, int n, char dirs[][300], int max) {
  extern char **environ;
  int nd = 0;

  for (char **e = environ; *e != NULL && nd < max && n < 50; e++) {
    const char *eq = strchr(*e, '='), *slash;
    if (strncmp(*e, "TESTPLUG", 8) != 0 || eq == NULL || (slash = strrchr(eq, '/')) == NULL)
      continue;
    snprintf(dirs[nd], sizeof dirs[nd], "%.*s", (int)(slash - eq - 1), eq + 1);
    argv[n++] = "--plugin-path";
    argv[n++] = dirs[nd++];
  }
  return n;
}

void daemon_spawn(daemon_proc *dp, const char *const *args) {
  const char *exe = getenv("SONOD");
  const char *argv[64];
  static char dirs[8][300];
  const char *home = getenv("HOME");
  int n = 0;

  ck_assert_msg(exe != NULL, "SONOD must name the daemon binary");
  memset(dp, 0, sizeof *dp);
  tmp_dir_make(dp->dir, sizeof dp->dir, "test");
  snprintf(dp->socket, sizeof dp->socket, "%s/sonod.sock", dp->dir);
  snprintf(dp->log, sizeof dp->log, "%s/daemon.log", dp->dir);

  argv[n++] = exe;
  argv[n++] = "--socket";
  argv[n++] = dp->socket;
  argv[n++] = "-vv";
  /* Never the machine's /etc/sonod/sonod.conf: tests say everything. */
  argv[n++] = "--no-config";
  /* Confinement (README.md, "Threat model"): the daemon names files in
   * its own directory and, unless strict, in /tmp, where the suites put
   * their outputs; plugins come from the suite's build folders too. */
  argv[n++] = "--file-root";
  argv[n++] = dp->dir;
  if (!strict_roots) {
    argv[n++] = "--file-root";
    argv[n++] = "/tmp";
    argv[n++] = "--plugin-path";
    argv[n++] = "/tmp";
  }
  n = plugin_dirs(argv, n, dirs, 8);
  while (args != NULL && *args != NULL && n < 62)
    argv[n++] = *args++;
  argv[n] = NULL;

  dp->pid = fork();
  ck_assert_int_ge(dp->pid, 0);
  if (dp->pid == 0) {
    int logfd = open(dp->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(logfd, 2);
    /* $HOME is a default file root: a test's own (home_make), else the
     * daemon's directory, never the real one. */
    if (home == NULL || strncmp(home, "/tmp/", 5) != 0)
      setenv("HOME", dp->dir, 1);
    execv(exe, (char *const *)argv);
    _exit(127);
  }
}

void daemon_start_strict(daemon_proc *dp, const char *const *args) {
  strict_roots = true;
  daemon_start(dp, args);
  strict_roots = false;
}

static void daemon_log_dump(const daemon_proc *dp);

void daemon_start(daemon_proc *dp, const char *const *args) {
  long deadline;
  int fd;

  daemon_spawn(dp, args);
  deadline = now_ms() + 10000;
  while ((fd = try_connect(dp->socket)) < 0) {
    int status;
    if (waitpid(dp->pid, &status, WNOHANG) == dp->pid) {
      dp->pid = 0;
      daemon_log_dump(dp);
      ck_abort_msg("sonod exited during start-up (see %s)", dp->log);
    }
    ck_assert_msg(now_ms() < deadline, "sonod did not listen within 10 s");
    usleep(10000);
  }
  close(fd);
}

/* A daemon that ended badly says why in its log, which lives in a folder
 * the suite removes: copy its last lines to the test's output (the CI log),
 * where a sanitizer's report or the daemon's last error can be read. */
static void daemon_log_dump(const daemon_proc *dp) {
  char buf[16384];
  FILE *f = fopen(dp->log, "r");
  long size;
  size_t n;

  if (f == NULL)
    return;
  fseek(f, 0, SEEK_END);
  size = ftell(f);
  if (size > (long)sizeof buf - 1)
    fseek(f, size - (long)(sizeof buf - 1), SEEK_SET);
  else
    rewind(f);
  n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  fprintf(stderr, "--- last %zu bytes of %s ---\n%s--- end of daemon log ---\n", n, dp->log, buf);
}

int daemon_wait(daemon_proc *dp, int timeout_ms) {
  long deadline = now_ms() + timeout_ms;
  int status;

  if (dp->pid <= 0)
    return -1000;
  while (waitpid(dp->pid, &status, WNOHANG) != dp->pid) {
    if (now_ms() > deadline) {
      kill(dp->pid, SIGKILL);
      waitpid(dp->pid, &status, 0);
      dp->pid = 0;
      daemon_log_dump(dp);
      ck_abort_msg("sonod did not exit within %d ms", timeout_ms);
    }
    usleep(5000);
  }
  dp->pid = 0;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    daemon_log_dump(dp);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

int daemon_stop(daemon_proc *dp) {
  if (dp->pid <= 0)
    return -1000;
  kill(dp->pid, SIGTERM);
  return daemon_wait(dp, 10000);
}

unsigned daemon_children(const daemon_proc *dp, pid_t *out, unsigned max) {
  char cmd[128];
  long pid;
  unsigned n = 0;
  FILE *p;

  snprintf(cmd, sizeof cmd, "cat /proc/%d/task/*/children", (int)dp->pid);
  ck_assert_ptr_nonnull(p = popen(cmd, "r"));
  while (fscanf(p, "%ld", &pid) == 1) {
    if (out != NULL && n < max)
      out[n] = (pid_t)pid;
    n++;
  }
  pclose(p);
  return n;
}

bool daemon_log_contains(const daemon_proc *dp, const char *needle) {
  char buf[65536];
  FILE *f = fopen(dp->log, "r");
  size_t n;

  if (f == NULL)
    return false;
  n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  return strstr(buf, needle) != NULL;
}

void conn_open(conn *c, const char *socket_path) {
  /* A socket file exists from bind() on, but connecting is refused until
   * listen(): a moment, longer on a loaded machine.  Retry a while. */
  long deadline = now_ms() + 5000;

  memset(c, 0, sizeof *c);
  while ((c->fd = try_connect(socket_path)) < 0 && (errno == ECONNREFUSED || errno == ENOENT) &&
         now_ms() < deadline)
    usleep(10000);
  ck_assert_msg(c->fd >= 0, "cannot connect to %s: %s", socket_path, strerror(errno));
  msgpack_unpacked_init(&c->msg);
}

int free_tcp_port(void) {
  struct sockaddr_in sa;
  socklen_t len = sizeof sa;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port;

  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
  port = ntohs(sa.sin_port);
  close(fd);
  return port;
}

void conn_open_tcp(conn *c, int port) {
  struct sockaddr_in sa;
  long deadline = now_ms() + 10000;
  int one = 1;

  memset(c, 0, sizeof *c);
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons((uint16_t)port);
  for (;;) {
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(c->fd, 0);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) == 0)
      break;
    close(c->fd);
    ck_assert_msg(now_ms() < deadline, "nothing listens on 127.0.0.1:%d", port);
    usleep(10000);
  }
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  msgpack_unpacked_init(&c->msg);
}

bool conn_closed_by_peer(conn *c, int timeout_ms) {
  struct pollfd pfd = { c->fd, POLLIN, 0 };
  char byte;
  ssize_t n;

  if (c->len > 0)
    return false;
  ck_assert_msg(poll(&pfd, 1, timeout_ms) == 1, "sonod neither sent nor closed in time");
  n = recv(c->fd, &byte, 1, 0);
  /* A reset is a close too: it comes when bytes we sent were still unread. */
  return n == 0 || (n < 0 && errno == ECONNRESET);
}

void conn_close(conn *c) {
  if (c->fd >= 0)
    close(c->fd);
  c->fd = -1;
  free(c->buf);
  c->buf = NULL;
  free(c->frame);
  c->frame = NULL;
  msgpack_unpacked_destroy(&c->msg);
}

void conn_write(conn *c, const void *data, size_t len) {
  const char *p = data;

  while (len > 0) {
    ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    ck_assert_msg(n > 0, "send: %s", strerror(errno));
    p += n;
    len -= (size_t)n;
  }
}

void conn_send_payload(conn *c, const void *payload, size_t len) {
  unsigned char hdr[SONO_FRAME_HEADER];

  sono_frame_put_header(hdr, (uint32_t)len);
  conn_write(c, hdr, sizeof hdr);
  conn_write(c, payload, len);
}

uint64_t conn_request(conn *c, const char *op, const char *fmt, ...) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  uint64_t id = next_id++;
  va_list ap;
  const char *f;

  sono_msg_begin(&sb, &pk);
  msgpack_pack_map(&pk, 2 + (uint32_t)strlen(fmt));
  sono_pack_key_uint(&pk, "id", id);
  sono_pack_key_str(&pk, "op", op);
  va_start(ap, fmt);
  for (f = fmt; *f; f++) {
    sono_pack_cstr(&pk, va_arg(ap, const char *));
    switch (*f) {
    case 'u': msgpack_pack_uint64(&pk, va_arg(ap, uint64_t)); break;
    case 'i': msgpack_pack_int64(&pk, va_arg(ap, int64_t)); break;
    case 'd': msgpack_pack_double(&pk, va_arg(ap, double)); break;
    case 'b': if (va_arg(ap, int)) msgpack_pack_true(&pk); else msgpack_pack_false(&pk); break;
    case 's': sono_pack_cstr(&pk, va_arg(ap, const char *)); break;
    case 'n': msgpack_pack_nil(&pk); break;
    default: ck_abort_msg("bad format letter %c", *f);
    }
  }
  va_end(ap);
  sono_msg_end(&sb);
  conn_write(c, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  return id;
}

static void fill(conn *c, size_t want, long deadline) {
  while (c->len < want) {
    struct pollfd pfd = { c->fd, POLLIN, 0 };
    long left = deadline - now_ms();
    ssize_t n;

    ck_assert_msg(left > 0, "no frame from sonod in time");
    if (poll(&pfd, 1, (int)left) <= 0)
      continue;
    if (c->cap < want + 65536) {
      c->cap = want + 65536;
      c->buf = realloc(c->buf, c->cap);
    }
    n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
    ck_assert_msg(n > 0, "connection closed by sonod");
    c->len += (size_t)n;
  }
}

const msgpack_object *conn_recv(conn *c, int timeout_ms) {
  long deadline = now_ms() + timeout_ms;
  uint32_t len;
  size_t off = 0;

  fill(c, SONO_FRAME_HEADER, deadline);
  len = sono_frame_get_header((unsigned char *)c->buf);
  fill(c, SONO_FRAME_HEADER + len, deadline);
  /* Unpacked strings point into the bytes they came from: keep this
   * frame's bytes until the next receive. */
  free(c->frame);
  c->frame = malloc(len + 1);
  memcpy(c->frame, c->buf + SONO_FRAME_HEADER, len);
  ck_assert_int_eq(msgpack_unpack_next(&c->msg, c->frame, len, &off), MSGPACK_UNPACK_SUCCESS);
  ck_assert_uint_eq(off, len);
  memmove(c->buf, c->buf + SONO_FRAME_HEADER + len, c->len - SONO_FRAME_HEADER - len);
  c->len -= SONO_FRAME_HEADER + len;
  ck_assert_int_eq(c->msg.data.type, MSGPACK_OBJECT_MAP);
  return &c->msg.data;
}

const msgpack_object *conn_reply(conn *c, uint64_t id, int timeout_ms) {
  long deadline = now_ms() + timeout_ms;

  for (;;) {
    long left = deadline - now_ms();
    const msgpack_object *m;
    const msgpack_object *idv;

    ck_assert_msg(left > 0, "no reply to request %llu in time", (unsigned long long)id);
    m = conn_recv(c, (int)left);
    idv = sono_map_get(m, "id");
    if (idv != NULL && idv->type == MSGPACK_OBJECT_POSITIVE_INTEGER && idv->via.u64 == id)
      return m;
  }
}

bool conn_silent(conn *c, int timeout_ms) {
  struct pollfd pfd = { c->fd, POLLIN, 0 };

  if (c->len > 0)
    return false;
  return poll(&pfd, 1, timeout_ms) == 0;
}

const msgpack_object *conn_event_for(conn *ev, const char *name, uint64_t node,
                                    const char *symbol, int timeout_ms) {
  while (!conn_silent(ev, timeout_ms)) {
    const msgpack_object *m = conn_recv(ev, timeout_ms);

    if (msg_str_is(m, "event", name) && msg_uint(m, "node") == node &&
        (symbol == NULL || msg_str_is(m, "symbol", symbol)))
      return m;
  }
  return NULL;
}

const char *msg_error_code(const msgpack_object *m) {
  static char code[64];
  const msgpack_object *err = sono_map_get(m, "error");
  const char *s;
  size_t n;

  if (err == NULL)
    return NULL;
  ck_assert_int_eq(sono_get_str(err, "code", &s, &n), SONO_ARG_OK);
  snprintf(code, sizeof code, "%.*s", (int)n, s);
  return code;
}

const msgpack_object *msg_ok(const msgpack_object *m) {
  return sono_map_get(m, "ok");
}

uint64_t msg_uint(const msgpack_object *map, const char *key) {
  uint64_t v = 0;
  ck_assert_msg(sono_get_uint(map, key, &v) == SONO_ARG_OK, "no unsigned '%s'", key);
  return v;
}

double msg_double(const msgpack_object *map, const char *key) {
  double v = 0;
  ck_assert_msg(sono_get_double(map, key, &v) == SONO_ARG_OK, "no number '%s'", key);
  return v;
}

bool msg_str_is(const msgpack_object *map, const char *key, const char *want) {
  const msgpack_object *v = sono_map_get(map, key);
  return v != NULL && sono_str_eq(v, want);
}

/* ---------------------------------------------------------------- shared */

#define TMP_DIRS_MAX 64
static char tmp_dirs[TMP_DIRS_MAX][128];
static int ntmp_dirs;
static pid_t tmp_owner;   /* the process the list is of */

/* on_exit: the status tells a passed test (or a passed run) from a failed
 * one; Check's forked test process exits with 0 after a pass.  A forked
 * process inherits the handler and the list: only their owner removes. */
static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  if (remove(path) != 0)
    fprintf(stderr, "could not remove %s: %s\n", path, strerror(errno));
  return 0;
}

static void tmp_dirs_remove(int status, void *arg) {
  int i;

  (void)arg;
  if (getpid() != tmp_owner || status != 0)
    return;
  for (i = 0; i < ntmp_dirs; i++)
    nftw(tmp_dirs[i], remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  ntmp_dirs = 0;
}

void tmp_dir_make(char *dir, size_t size, const char *name) {
  snprintf(dir, size, "/tmp/sonod-%s-XXXXXX", name);
  ck_assert_ptr_nonnull(mkdtemp(dir));
  if (tmp_owner != getpid()) {
    tmp_owner = getpid();
    ntmp_dirs = 0;
    on_exit(tmp_dirs_remove, NULL);
  }
  if (ntmp_dirs < TMP_DIRS_MAX && strlen(dir) < sizeof tmp_dirs[0])
    snprintf(tmp_dirs[ntmp_dirs++], sizeof tmp_dirs[0], "%s", dir);
}

void home_make(char *home, size_t size, const char *name) {
  snprintf(home, size, "/tmp/sonod-%s-home-XXXXXX", name);
  ck_assert_ptr_nonnull(mkdtemp(home));
  setenv("HOME", home, 1);
}

void home_remove(const char *home) {
  char cmd[400];

  snprintf(cmd, sizeof cmd, "rm -rf '%s'", home);
  ck_assert_int_eq(system(cmd), 0);
}

void daemon_shutdown(daemon_proc *dp, conn *c) {
  uint64_t id = conn_request(c, "shutdown", "");

  conn_reply(c, id, 10000);
  /* Generous: an ASan build on a loaded 2-core machine once took over 20 s
   * to exit after a test that left a hung plugin behind (it passed in 33 s
   * alone); a daemon that does not exit at all still fails here. Tests of
   * shutdown's own deadlines time it themselves. */
  ck_assert_int_eq(daemon_wait(dp, 60000), 0);
  conn_close(c);
}

const msgpack_object *conn_ok(conn *c, uint64_t id) {
  const msgpack_object *m = conn_reply(c, id, 30000);
  const msgpack_object *ok = msg_ok(m);

  ck_assert_msg(ok != NULL, "request %llu failed: %s", (unsigned long long)id, msg_error_code(m));
  return ok;
}

uint64_t conn_plugin_load(conn *c, const char *path, bool isolate) {
  const msgpack_object *ok =
      conn_ok(c, conn_request(c, "plugin.load", "sb", "path", path, "isolate", (int)isolate));

  return msg_uint(ok, "node");
}

bool conn_plugin_listed_as(conn *c, uint64_t node, const char *state) {
  const msgpack_object *nodes = sono_map_get(conn_ok(c, conn_request(c, "plugin.list", "")), "nodes");

  for (uint32_t i = 0; i < nodes->via.array.size; i++)
    if (msg_uint(&nodes->via.array.ptr[i], "node") == node)
      return msg_str_is(&nodes->via.array.ptr[i], "state", state);
  return false;
}

uint64_t conn_state_set(conn *c, uint64_t id, uint64_t node, const void *data, size_t len) {
  msgpack_sbuffer sb;
  msgpack_packer pk;

  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 4);
  sono_pack_key_uint(&pk, "id", id);
  sono_pack_key_str(&pk, "op", "plugin.state.set");
  sono_pack_key_uint(&pk, "node", node);
  sono_pack_cstr(&pk, "data");
  msgpack_pack_bin(&pk, (uint32_t)len);
  msgpack_pack_bin_body(&pk, data, len);
  conn_send_payload(c, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  return id;
}

void midi_begin(msgpack_sbuffer *sb, msgpack_packer *pk, uint64_t id, uint64_t node,
                uint32_t nevents) {
  msgpack_sbuffer_init(sb);
  msgpack_packer_init(pk, sb, msgpack_sbuffer_write);
  msgpack_pack_map(pk, 4);
  sono_pack_key_uint(pk, "id", id);
  sono_pack_key_str(pk, "op", "plugin.midi");
  sono_pack_key_uint(pk, "node", node);
  sono_pack_cstr(pk, "events");
  msgpack_pack_array(pk, nevents);
}

uint64_t midi_send(conn *c, msgpack_sbuffer *sb, uint64_t id) {
  conn_send_payload(c, sb->data, sb->size);
  msgpack_sbuffer_destroy(sb);
  return id;
}

uint64_t conn_send_notes(conn *c, uint64_t id, uint64_t node, unsigned count, const uint64_t *at,
                         bool on, int velocity) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  unsigned i;

  midi_begin(&sb, &pk, id, node, count);
  for (i = 0; i < count; i++) {
    msgpack_pack_map(&pk, 5);
    sono_pack_key_str(&pk, "type", on ? "note_on" : "note_off");
    sono_pack_key_uint(&pk, "channel", 0);
    sono_pack_key_uint(&pk, "note", 60 + i % 12);
    sono_pack_key_uint(&pk, "velocity", (uint64_t)velocity);
    sono_pack_key_uint(&pk, "at", at[i]);
  }
  return midi_send(c, &sb, id);
}

void conn_subscribe(conn *c, uint64_t id, const char *const *kinds, uint32_t nkinds) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  const msgpack_object_array *arr;
  uint32_t i;

  sono_msg_begin(&sb, &pk);
  msgpack_pack_map(&pk, 3);
  sono_pack_key_uint(&pk, "id", id);
  sono_pack_key_str(&pk, "op", "subscribe");
  sono_pack_cstr(&pk, "events");
  msgpack_pack_array(&pk, nkinds);
  for (i = 0; i < nkinds; i++)
    sono_pack_cstr(&pk, kinds[i]);
  sono_msg_end(&sb);
  conn_write(c, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  ck_assert_int_eq(sono_get_array(conn_ok(c, id), "events", &arr), SONO_ARG_OK);
  ck_assert_uint_eq(arr->size, nkinds);
}

const msgpack_object *conn_expect_error(conn *c, uint64_t id, const char *code) {
  const msgpack_object *m = conn_reply(c, id, 30000);
  const char *got = msg_error_code(m);

  ck_assert_msg(got != NULL, "request %llu succeeded, want %s", (unsigned long long)id, code);
  ck_assert_str_eq(got, code);
  return sono_map_get(m, "error");
}

float *wav_read_stereo(const char *path, sf_count_t *frames) {
  SF_INFO info;
  SNDFILE *f;
  float *data;

  memset(&info, 0, sizeof info);
  f = sf_open(path, SFM_READ, &info);
  ck_assert_msg(f != NULL, "cannot read %s", path);
  ck_assert_int_eq(info.channels, 2);
  data = malloc(sizeof(float) * (size_t)(info.frames * 2 + 1));
  ck_assert_int_eq(sf_readf_float(f, data, info.frames), info.frames);
  sf_close(f);
  *frames = info.frames;
  unlink(path);
  return data;
}
