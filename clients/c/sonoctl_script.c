/* sonoctl_script.c - `sonoctl render SCRIPT -o OUT.wav`: a session script
 * rendered offline by a private sonod.
 *
 * A script is a list of requests with their times: "at" in seconds or
 * "frame" in frames (default 0), as JSON lines or msgpack maps (read by
 * sonoctl_script_read.c).  sonoctl starts `sonod --backend offline --output OUT` on a
 * private socket, and for each line in time order (file order among equal
 * times) renders up to the line's frame, then sends the request with
 * "at": that frame.  The engine stands exactly at that frame, idle, so the
 * request takes effect there whether the operation reads "at" or applies
 * "now" - the same frame a live daemon would give the same request with the
 * same "at".  Nothing depends on wall-clock time or thread scheduling: the
 * same script renders byte-identical files.  See README.md. */
#include "sonoctl.h"
#include "sonoctl_script.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SCRIPT_TAIL_SECONDS 2.0
#define CHUNK_SECONDS 0.5

/* Stable: equal times keep the file's order. */
static int cmp_line(const void *a, const void *b) {
  const sline *x = a, *y = b;

  if (x->frame != y->frame)
    return x->frame < y->frame ? -1 : 1;
  return x->lineno < y->lineno ? -1 : x->lineno > y->lineno;
}

/* $SONOD, else sonod next to this sonoctl (also ../../daemon/sonod: the
 * build tree), else the PATH. */
static void find_sonod(char *out, size_t len) {
  const char *env = getenv("SONOD");
  char self[PATH_MAX];
  ssize_t n;

  if (env != NULL && env[0] != '\0') {
    snprintf(out, len, "%s", env);
    return;
  }
  n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    char *slash;

    self[n] = '\0';
    if ((slash = strrchr(self, '/')) != NULL) {
      *slash = '\0';
      snprintf(out, len, "%s/sonod", self);
      if (access(out, X_OK) == 0)
        return;
      snprintf(out, len, "%s/../../daemon/sonod", self);
      if (access(out, X_OK) == 0)
        return;
    }
  }
  snprintf(out, len, "sonod");
}

typedef struct daemon {
  pid_t pid;
  char dir[64];
  char sock[128];
  char log[128];
} daemon_t;

static int start_daemon(daemon_t *dm, const char *output, const char *rate, const char *block,
                        const char *channels) {
  char exe[PATH_MAX + 32];
  const char *argv[20];
  int n = 0;

  find_sonod(exe, sizeof exe);
  snprintf(dm->dir, sizeof dm->dir, "/tmp/sonoctl-render-XXXXXX");
  if (mkdtemp(dm->dir) == NULL) {
    fprintf(stderr, "sonoctl render: cannot make a private directory: %s\n", strerror(errno));
    return -1;
  }
  snprintf(dm->sock, sizeof dm->sock, "%s/sonod.sock", dm->dir);
  snprintf(dm->log, sizeof dm->log, "%s/sonod.log", dm->dir);
  argv[n++] = exe;
  argv[n++] = "--backend";
  argv[n++] = "offline";
  argv[n++] = "--output";
  argv[n++] = output;
  argv[n++] = "--socket";
  argv[n++] = dm->sock;
  /* Only what the command line says: no machine config, no restored
   * session, so the render depends on the script alone. */
  argv[n++] = "--no-config";
  if (rate != NULL) {
    argv[n++] = "--sample-rate";
    argv[n++] = rate;
  }
  if (block != NULL) {
    argv[n++] = "--block-size";
    argv[n++] = block;
  }
  if (channels != NULL) {
    argv[n++] = "--channels";
    argv[n++] = channels;
  }
  argv[n] = NULL;
  dm->pid = fork();
  if (dm->pid < 0) {
    fprintf(stderr, "sonoctl render: fork: %s\n", strerror(errno));
    return -1;
  }
  if (dm->pid == 0) {
    int fd = open(dm->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    if (fd >= 0)
      dup2(fd, 2);
    unsetenv("STATE_DIRECTORY");
    execvp(exe, (char *const *)argv);
    fprintf(stderr, "cannot run %s: %s\n", exe, strerror(errno));
    _exit(127);
  }
  return 0;
}

static void show_log(const daemon_t *dm) {
  char buf[4096];
  FILE *f = fopen(dm->log, "r");
  size_t n;

  bool said = false;

  if (f == NULL)
    return;
  /* Only when it said something: an empty log is no news. */
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
    if (!said)
      fputs("sonoctl render: the daemon said:\n", stderr);
    said = true;
    fwrite(buf, 1, n, stderr);
  }
  fclose(f);
}

static void stop_daemon(daemon_t *dm, bool kill_it) {
  char path[200];
  int status;

  if (dm->pid > 0) {
    if (kill_it)
      kill(dm->pid, SIGTERM);
    waitpid(dm->pid, &status, 0);
    dm->pid = 0;
  }
  unlink(dm->sock);
  unlink(dm->log);
  snprintf(path, sizeof path, "%s", dm->dir);
  rmdir(path);
}

static sono_conn *connect_daemon(daemon_t *dm, int timeout_ms) {
  char uri[200];
  struct timespec ts = {0, 20 * 1000 * 1000};
  int waited = 0;

  snprintf(uri, sizeof uri, "unix:%s", dm->sock);
  for (;;) {
    sono_error e;
    sono_conn *c;
    int status;

    if (access(dm->sock, F_OK) == 0 && (c = sono_connect(uri, &e)) != NULL) {
      sono_set_timeout(c, timeout_ms);
      return c;
    }
    if (waitpid(dm->pid, &status, WNOHANG) == dm->pid) {
      dm->pid = 0;
      fputs("sonoctl render: sonod exited during start-up\n", stderr);
      show_log(dm);
      return NULL;
    }
    if (waited > 10000) {
      fputs("sonoctl render: sonod did not start within 10 s\n", stderr);
      show_log(dm);
      return NULL;
    }
    nanosleep(&ts, NULL);
    waited += 20;
  }
}

static void progress(bool tty, uint64_t done, uint64_t total, unsigned rate) {
  char bar[41];
  unsigned i, fill;

  if (!tty || total == 0)
    return;
  fill = (unsigned)(done * 40 / total);
  for (i = 0; i < 40; i++)
    bar[i] = i < fill ? '#' : '.';
  bar[40] = '\0';
  fprintf(stderr, "\r[%s] %3u%%  %.1f / %.1f s", bar, (unsigned)(done * 100 / total),
          (double)done / rate, (double)total / rate);
  fflush(stderr);
}

static double mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int ctl_script_render(ctl *g, int argc, char **argv) {
  static const struct option opts[] = {
    {"output", required_argument, NULL, 'o'},
    {"sample-rate", required_argument, NULL, 'r'},
    {"block-size", required_argument, NULL, 'b'},
    {"channels", required_argument, NULL, 'c'},
    {"length", required_argument, NULL, 'l'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  const char *output = NULL, *rate_s = NULL, *block_s = NULL, *chan_s = NULL, *path;
  double length = -1, t0;
  uint64_t v, rate = 48000, total = 0, done = 0, chunk;
  script s;
  script_names names = {0};
  bool tty = isatty(2), end_given = false;
  daemon_t dm;
  sono_conn *c = NULL;
  sono_error e;
  size_t i;
  int ch, rc = CTL_FAIL;

  while ((ch = getopt_long(argc, argv, "o:r:b:c:l:h", opts, NULL)) != -1) {
    switch (ch) {
    case 'o':
      output = optarg;
      break;
    case 'r':
      if (!ctl_parse_u64(optarg, &rate) || rate == 0 || rate > 768000)
        return ctl_usage(argv[0], "--sample-rate wants a rate in Hz, not '%s'", optarg);
      rate_s = optarg;
      break;
    case 'b':
      if (!ctl_parse_u64(optarg, &v) || v == 0)
        return ctl_usage(argv[0], "--block-size wants a positive count, not '%s'", optarg);
      block_s = optarg;
      break;
    case 'c':
      if (!ctl_parse_u64(optarg, &v) || v == 0)
        return ctl_usage(argv[0], "--channels wants a positive count, not '%s'", optarg);
      chan_s = optarg;
      break;
    case 'l':
      if (!ctl_parse_double(optarg, &length) || length <= 0)
        return ctl_usage(argv[0], "--length wants a positive number of seconds, not '%s'",
                         optarg);
      break;
    case 'h':
      printf("usage: sonoctl render SCRIPT.jsonl|SCRIPT.msgpack -o OUT.wav [--sample-rate HZ] "
             "[--block-size N] [--channels N] [--length S]\n");
      return CTL_OK;
    default:
      return CTL_USAGE;
    }
  }
  if (optind != argc - 1 || output == NULL)
    return ctl_usage(argv[0], "render a script as: render SCRIPT.jsonl -o OUT.wav (or SCRIPT.msgpack)");
  path = argv[optind];
  if (script_load(path, (unsigned)rate, &s) != 0) {
    script_free(&s);
    return CTL_FAIL;
  }
  qsort(s.v, s.n, sizeof *s.v, cmp_line);
  /* Every "$name" must name an earlier line's reply: checked in time order
   * before any rendering. */
  for (i = 0; i < s.n; i++) {
    sono_args *bound;
    char where[400], why[600];

    if (script_bind(s.v[i].args, &names, &bound, why, sizeof why) != 0) {
      script_where(&s, &s.v[i], where, sizeof where);
      fprintf(stderr, "sonoctl render: %s: %s\n", where, why);
      script_names_free(&names);
      script_free(&s);
      return CTL_FAIL;
    }
    sono_args_free(bound);
    if (s.v[i].as[0] != '\0')
      script_name(&names, s.v[i].as, NULL);
  }
  script_names_free(&names);

  /* The length: --length, else an "end" line, else the last request
   * plus a tail for releases and reverbs. */
  for (i = 0; i < s.n; i++)
    if (s.v[i].end) {
      total = s.v[i].frame;
      end_given = true;
    }
  if (length > 0)
    total = (uint64_t)llround(length * (double)rate);
  else if (!end_given)
    total = (s.n > 0 ? s.v[s.n - 1].frame : 0) + (uint64_t)(SCRIPT_TAIL_SECONDS * rate);
  chunk = (uint64_t)(CHUNK_SECONDS * rate);

  memset(&dm, 0, sizeof dm);
  if (start_daemon(&dm, output, rate_s, block_s, chan_s) != 0) {
    script_free(&s);
    return CTL_FAIL;
  }
  if ((c = connect_daemon(&dm, g->timeout_ms > 0 ? g->timeout_ms : 600000)) == NULL)
    goto out;
  t0 = mono_s();
  for (i = 0; i <= s.n; i++) {
    uint64_t target = i < s.n ? s.v[i].frame : total;
    sono_reply *r;
    char where[400];

    if (target > total)
      target = total;
    while (done < target) {
      uint64_t n = target - done < chunk ? target - done : chunk, frame;

      if (sono_render(c, n, 0, &frame, &e) != 0) {
        if (tty)
          fputc('\n', stderr);
        ctl_fail(&e);
        goto out;
      }
      done = frame;
      progress(tty, done, total, (unsigned)rate);
    }
    if (i == s.n)
      break;
    if (s.v[i].end || s.v[i].frame > total)
      continue;
    script_where(&s, &s.v[i], where, sizeof where);
    {
      sono_args *bound;
      char why[600];

      if (script_bind(s.v[i].args, &names, &bound, why, sizeof why) != 0) {
        fprintf(stderr, "%ssonoctl render: %s: %s\n", tty ? "\n" : "", where, why);
        goto out;
      }
      sono_args_free(s.v[i].args);
      s.v[i].args = bound;
    }
    if (sono_args_uint(s.v[i].args, "at", s.v[i].frame) != 0) {
      fprintf(stderr, "sonoctl render: %s: out of memory\n", where);
      goto out;
    }
    if (sono_call(c, s.v[i].op, s.v[i].args, &r, &e) != 0) {
      if (tty)
        fputc('\n', stderr);
      fprintf(stderr, "sonoctl render: %s: %s: %s: %s\n", where, s.v[i].op,
              e.code[0] ? e.code : sono_kind_name(e.kind), e.message);
      goto out;
    }
    if (s.v[i].as[0] == '\0')
      sono_reply_free(r);
    else if (script_name(&names, s.v[i].as, r) != 0) {
      sono_reply_free(r);
      fprintf(stderr, "sonoctl render: %s: out of memory\n", where);
      goto out;
    }
  }
  if (tty)
    fputc('\n', stderr);
  if (sono_shutdown(c, &e) != 0) {
    ctl_fail(&e);
    goto out;
  }
  sono_close(c);
  c = NULL;
  stop_daemon(&dm, false);
  {
    double took = mono_s() - t0, secs = (double)total / (double)rate;

    if (g->json)
      printf("{\"output\":\"%s\",\"frames\":%llu,\"seconds\":%.6f,\"requests\":%zu,"
             "\"elapsed\":%.3f}\n", output, (unsigned long long)total, secs, s.n, took);
    else
      printf("rendered %s: %.3f s (%llu frames), %zu requests, in %.2f s (%.0fx realtime)\n",
             output, secs, (unsigned long long)total, s.n, took, took > 0 ? secs / took : 0.0);
  }
  rc = CTL_OK;

out:
  if (c != NULL)
    sono_close(c);
  if (rc != CTL_OK && dm.pid > 0)
    show_log(&dm);
  stop_daemon(&dm, rc != CTL_OK);
  script_names_free(&names);
  script_free(&s);
  return rc;
}
