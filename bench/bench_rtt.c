/* bench_rtt.c - request latency and pipelined throughput of sonod over its
 * Unix socket, next to a bare echo server speaking the same framing, so the
 * figures can be read as "how much the daemon adds".
 *
 *   bench_rtt [--sonod PATH] [--pings N] [--syncs N] [--pipelined N] [--window W]
 *
 * PATH defaults to $SONOD.  The daemon runs on the null backend on a private
 * socket.  The client does the same work against both servers: it packs
 * {id, op} with msgpack, sends one frame, reads one frame, unpacks it and
 * checks the id.  Output is Markdown. */
#include <errno.h>
#include <fcntl.h>
#include <msgpack.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "protocol/frame.h"
#include "protocol/wire.h"

static void die(const char *what) {
  fprintf(stderr, "bench_rtt: %s: %s\n", what, strerror(errno));
  exit(1);
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void send_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      die("send");
    p += w;
    n -= (size_t)w;
  }
}

static int unix_connect(const char *path) {
  struct sockaddr_un sa;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof sa.sun_path)
    return -1;
  memcpy(sa.sun_path, path, strlen(path) + 1);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
    return fd;
  close(fd);
  return -1;
}

/* ---- the client side: one connection, frames in and out ---- */

typedef struct client {
  int fd;
  char *buf;               /* received bytes not yet consumed */
  size_t len, cap;
  msgpack_sbuffer sb;      /* the request being built, reused */
  msgpack_unpacked msg;
} client;

static void client_init(client *c, int fd) {
  memset(c, 0, sizeof *c);
  c->fd = fd;
  c->cap = 1 << 20;
  c->buf = malloc(c->cap);
  if (c->buf == NULL)
    die("malloc");
  msgpack_sbuffer_init(&c->sb);
  msgpack_unpacked_init(&c->msg);
}

static void client_free(client *c) {
  close(c->fd);
  free(c->buf);
  msgpack_sbuffer_destroy(&c->sb);
  msgpack_unpacked_destroy(&c->msg);
}

/* Appends one request frame {id, op} to c->sb. */
static void pack_request(client *c, uint64_t id, const char *op) {
  static const char zero[SONO_FRAME_HEADER];
  msgpack_packer pk;
  size_t start = c->sb.size;

  msgpack_sbuffer_write(&c->sb, zero, sizeof zero);
  msgpack_packer_init(&pk, &c->sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 2);
  sono_pack_key_uint(&pk, "id", id);
  sono_pack_key_str(&pk, "op", op);
  sono_frame_put_header((unsigned char *)c->sb.data + start,
                        (uint32_t)(c->sb.size - start - SONO_FRAME_HEADER));
}

static void flush_requests(client *c) {
  send_all(c->fd, c->sb.data, c->sb.size);
  c->sb.size = 0;
}

/* Reads more bytes; blocks. */
static void fill(client *c) {
  ssize_t n;

  if (c->len == c->cap)
    die("frame larger than the receive buffer");
  do
    n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
  while (n < 0 && errno == EINTR);
  if (n <= 0) {
    errno = n == 0 ? ECONNRESET : errno;
    die("recv");
  }
  c->len += (size_t)n;
}

/* Unpacks one complete frame from the buffer if there is one, checks it is a
 * reply (or echo) and returns its id through *id.  Returns 0 or -1 (need
 * more bytes). */
static int take_reply(client *c, uint64_t *id) {
  uint32_t len;
  size_t off = 0;

  if (c->len < SONO_FRAME_HEADER)
    return -1;
  len = sono_frame_get_header((unsigned char *)c->buf);
  if (c->len < SONO_FRAME_HEADER + len)
    return -1;
  if (msgpack_unpack_next(&c->msg, c->buf + SONO_FRAME_HEADER, len, &off) !=
          MSGPACK_UNPACK_SUCCESS ||
      c->msg.data.type != MSGPACK_OBJECT_MAP || sono_get_uint(&c->msg.data, "id", id) != SONO_ARG_OK) {
    fprintf(stderr, "bench_rtt: malformed reply\n");
    exit(1);
  }
  if (sono_map_get(&c->msg.data, "error") != NULL) {
    fprintf(stderr, "bench_rtt: the server answered request %llu with an error\n",
            (unsigned long long)*id);
    exit(1);
  }
  memmove(c->buf, c->buf + SONO_FRAME_HEADER + len, c->len - SONO_FRAME_HEADER - len);
  c->len -= SONO_FRAME_HEADER + len;
  return 0;
}

static void expect_reply(client *c, uint64_t want) {
  uint64_t id;

  while (take_reply(c, &id) != 0)
    fill(c);
  if (id != want) {
    fprintf(stderr, "bench_rtt: reply %llu, expected %llu\n", (unsigned long long)id,
            (unsigned long long)want);
    exit(1);
  }
}

/* ---- measurements ---- */

typedef struct stats {
  size_t n;
  double p50, p99, max;    /* microseconds */
} stats;

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static stats summarize(uint64_t *ns, size_t n) {
  stats s;

  qsort(ns, n, sizeof *ns, cmp_u64);
  s.n = n;
  s.p50 = (double)ns[n / 2] / 1e3;
  s.p99 = (double)ns[n * 99 / 100] / 1e3;
  s.max = (double)ns[n - 1] / 1e3;
  return s;
}

static uint64_t next_id = 1;

/* n sequential requests, one in flight; warm-up requests are not counted. */
static stats round_trips(client *c, const char *op, size_t n, size_t warmup) {
  uint64_t *ns = malloc(n * sizeof *ns);
  size_t i;

  if (ns == NULL)
    die("malloc");
  for (i = 0; i < warmup + n; i++) {
    uint64_t id = next_id++, t0 = now_ns();
    pack_request(c, id, op);
    flush_requests(c);
    expect_reply(c, id);
    if (i >= warmup)
      ns[i - warmup] = now_ns() - t0;
  }
  stats s = summarize(ns, n);
  free(ns);
  return s;
}

/* n pings with up to `window` in flight; returns requests per second.
 * Replies to control-thread ops come back in order (PROTOCOL.md). */
static double pipelined(client *c, size_t n, size_t window) {
  uint64_t first = next_id, t0 = now_ns();
  size_t sent = 0, done = 0;

  while (done < n) {
    uint64_t id;
    while (sent < n && sent - done < window) {
      pack_request(c, next_id++, "ping");
      sent++;
    }
    if (c->sb.size > 0)
      flush_requests(c);
    fill(c);
    while (take_reply(c, &id) == 0) {
      if (id != first + done) {
        fprintf(stderr, "bench_rtt: pipelined reply %llu out of order\n", (unsigned long long)id);
        exit(1);
      }
      done++;
    }
  }
  return (double)n / ((double)(now_ns() - t0) / 1e9);
}

/* ---- the baseline: an echo server with the same framing ---- */

static int echo_listen_fd;

/* Sends back every complete frame as it is, in one write per read, which is
 * also what the daemon does with a batch of pipelined replies. */
static void *echo_thread(void *arg) {
  size_t cap = 1 << 20, len = 0;
  char *buf = malloc(cap);
  int fd = accept(echo_listen_fd, NULL, NULL);

  (void)arg;
  if (fd < 0 || buf == NULL)
    die("echo accept");
  for (;;) {
    size_t off = 0;
    ssize_t n = recv(fd, buf + len, cap - len, 0);
    if (n <= 0)
      break;
    len += (size_t)n;
    while (len - off >= SONO_FRAME_HEADER) {
      uint32_t flen = sono_frame_get_header((unsigned char *)buf + off);
      if (len - off < SONO_FRAME_HEADER + flen)
        break;
      off += SONO_FRAME_HEADER + flen;
    }
    if (off > 0) {
      send_all(fd, buf, off);
      memmove(buf, buf + off, len - off);
      len -= off;
    }
  }
  close(fd);
  free(buf);
  return NULL;
}

static int echo_start(const char *path, pthread_t *th) {
  struct sockaddr_un sa;
  int fd;

  echo_listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof sa.sun_path)
    die("socket path too long");
  memcpy(sa.sun_path, path, strlen(path) + 1);
  if (bind(echo_listen_fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(echo_listen_fd, 4) != 0)
    die("echo listen");
  if (pthread_create(th, NULL, echo_thread, NULL) != 0)
    die("pthread_create");
  fd = unix_connect(path);
  if (fd < 0)
    die("echo connect");
  return fd;
}

/* ---- the daemon ---- */

static pid_t daemon_start(const char *exe, const char *sock, const char *log) {
  pid_t pid = fork();
  int i, fd;

  if (pid < 0)
    die("fork");
  if (pid == 0) {
    int logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    dup2(logfd, 2);
    execl(exe, exe, "--backend", "null", "--socket", sock, (char *)NULL);
    _exit(127);
  }
  for (i = 0; i < 1000; i++) {
    if ((fd = unix_connect(sock)) >= 0) {
      close(fd);
      return pid;
    }
    usleep(10000);
  }
  fprintf(stderr, "bench_rtt: %s did not listen on %s within 10 s (see %s)\n", exe, sock, log);
  exit(1);
}

static size_t arg_size(const char *s) {
  char *end;
  unsigned long long v = strtoull(s, &end, 10);

  if (*end != '\0' || v == 0) {
    fprintf(stderr, "bench_rtt: '%s' is not a positive number\n", s);
    exit(2);
  }
  return (size_t)v;
}

static void row(const char *what, const char *server, stats s, stats base) {
  printf("| %s | %s | %zu | %.1f | %.1f | %.1f | %.2f× | %.2f× |\n", what, server, s.n, s.p50,
         s.p99, s.max, s.p50 / base.p50, s.p99 / base.p99);
}

int main(int argc, char **argv) {
  const char *exe = getenv("SONOD");
  size_t npings = 20000, nsyncs = 2000, npipe = 100000, window = 256;
  char dir[] = "/tmp/bench-rtt-XXXXXX", sock[64], echo_sock[64], log[64];
  stats echo_rtt, ping_rtt, sync_rtt;
  double echo_tput, ping_tput;
  client ec, dc;
  pthread_t th;
  pid_t pid;
  int i, status;

  for (i = 1; i < argc; i++) {
    if (i + 1 < argc && strcmp(argv[i], "--sonod") == 0) exe = argv[++i];
    else if (i + 1 < argc && strcmp(argv[i], "--pings") == 0) npings = arg_size(argv[++i]);
    else if (i + 1 < argc && strcmp(argv[i], "--syncs") == 0) nsyncs = arg_size(argv[++i]);
    else if (i + 1 < argc && strcmp(argv[i], "--pipelined") == 0) npipe = arg_size(argv[++i]);
    else if (i + 1 < argc && strcmp(argv[i], "--window") == 0) window = arg_size(argv[++i]);
    else {
      fprintf(stderr, "usage: bench_rtt [--sonod PATH] [--pings N] [--syncs N] "
                      "[--pipelined N] [--window W]\n");
      return 2;
    }
  }
  if (exe == NULL) {
    fprintf(stderr, "bench_rtt: give --sonod PATH or set SONOD\n");
    return 2;
  }
  if (mkdtemp(dir) == NULL)
    die("mkdtemp");
  snprintf(sock, sizeof sock, "%s/sonod.sock", dir);
  snprintf(echo_sock, sizeof echo_sock, "%s/echo.sock", dir);
  snprintf(log, sizeof log, "%s/sonod.log", dir);

  /* Baseline first, on its own, then the daemon: never both at once. */
  client_init(&ec, echo_start(echo_sock, &th));
  echo_rtt = round_trips(&ec, "ping", npings, 1000);
  echo_tput = pipelined(&ec, npipe, window);
  client_free(&ec);
  pthread_join(th, NULL);
  close(echo_listen_fd);

  pid = daemon_start(exe, sock, log);
  client_init(&dc, unix_connect(sock));
  ping_rtt = round_trips(&dc, "ping", npings, 1000);
  sync_rtt = round_trips(&dc, "sync", nsyncs, 50);
  ping_tput = pipelined(&dc, npipe, window);
  client_free(&dc);
  kill(pid, SIGTERM);
  waitpid(pid, &status, 0);

  printf("| Round trip | Server | n | p50 (µs) | p99 (µs) | max (µs) | p50 / echo | p99 / echo |\n");
  printf("|---|---|---:|---:|---:|---:|---:|---:|\n");
  row("bare echo (baseline)", "echo thread", echo_rtt, echo_rtt);
  row("`ping`", "sonod", ping_rtt, echo_rtt);
  row("`sync` (via the audio thread)", "sonod", sync_rtt, echo_rtt);
  printf("\n");
  printf("| Pipelined (`ping`, window %zu) | n | requests/s | vs echo |\n", window);
  printf("|---|---:|---:|---:|\n");
  printf("| bare echo (baseline) | %zu | %.0f | 1.00× |\n", npipe, echo_tput);
  printf("| sonod | %zu | %.0f | %.2f× |\n", npipe, ping_tput, ping_tput / echo_tput);
  printf("\nsonod: null backend, 48000 Hz, 256-frame blocks (block period %.0f µs); "
         "sonod exit status %d.\n", 256 / 48000.0 * 1e6,
         WIFEXITED(status) ? WEXITSTATUS(status) : -1);

  unlink(sock);
  unlink(echo_sock);
  unlink(log);
  rmdir(dir);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
