/* sonoctl_record.c - `sonoctl record -o OUT.wav [--seconds N] [--format
 * wav|flac] [--channels N]`: records the daemon's live output (what goes
 * to the backend) to a file the daemon writes.  Starts, waits N seconds
 * (or until Ctrl-C / SIGTERM), stops, prints the frames.  Overflow
 * reports (`record.error` events) are printed to stderr as they come. */
#include "sonoctl.h"

#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

static void on_event(sono_conn *c, const char *kind, const sono_reply *ev, void *ud) {
  uint64_t dropped = 0;

  (void)c;
  (void)ud;
  if (strcmp(kind, "record.error") != 0)
    return;
  sono_reply_uint(ev, "dropped_frames", &dropped);
  fprintf(stderr, "sonoctl record: %llu frames dropped so far (written as silence)\n",
          (unsigned long long)dropped);
}

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int ctl_cmd_record(ctl *g, int argc, char **argv) {
  static const struct option opts[] = {
    {"output", required_argument, NULL, 'o'},
    {"seconds", required_argument, NULL, 'n'},
    {"format", required_argument, NULL, 'f'},
    {"channels", required_argument, NULL, 'c'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  const char *out = NULL, *format = NULL;
  char path[PATH_MAX + 2], cwd[PATH_MAX];
  double seconds = -1;
  uint64_t channels = 0, frames = 0, start = 0, dropped = 0, rate = 0;
  struct sigaction sa;
  sono_args *a = NULL;
  sono_reply *r = NULL;
  sono_conn *c;
  sono_error e;
  long deadline;
  int ch;

  while ((ch = getopt_long(argc, argv, "o:n:f:c:h", opts, NULL)) != -1) {
    switch (ch) {
    case 'o':
      out = optarg;
      break;
    case 'n':
      if (!ctl_parse_double(optarg, &seconds) || seconds <= 0 || seconds > 86400.0 * 7)
        return ctl_usage(argv[0], "--seconds wants a positive number, not '%s'", optarg);
      break;
    case 'f':
      if (strcmp(optarg, "wav") != 0 && strcmp(optarg, "flac") != 0)
        return ctl_usage(argv[0], "--format is wav or flac, not '%s'", optarg);
      format = optarg;
      break;
    case 'c':
      if (!ctl_parse_u64(optarg, &channels) || channels < 1 || channels > 64)
        return ctl_usage(argv[0], "--channels wants 1..64, not '%s'", optarg);
      break;
    case 'h':
      return ctl_help(argv[0]);
    default:
      return CTL_USAGE;
    }
  }
  if (optind < argc)
    return ctl_usage(argv[0], "unexpected argument '%s'", argv[optind]);
  if (out == NULL)
    return ctl_usage(argv[0], "-o OUT.wav is required");
  /* The daemon opens the file: give it an absolute name. */
  if (out[0] == '/') {
    snprintf(path, sizeof path, "%s", out);
  } else {
    if (getcwd(cwd, sizeof cwd) == NULL)
      return ctl_usage(argv[0], "cannot tell the current directory");
    if ((size_t)snprintf(path, sizeof path, "%s/%s", cwd, out) >= sizeof path)
      return ctl_usage(argv[0], "the path is too long");
  }

  if ((c = ctl_connect(g)) == NULL)
    return CTL_FAIL;
  sono_on_event(c, on_event, NULL);
  if ((a = sono_args_new()) == NULL || sono_args_str(a, "path", path) != 0 ||
      (format != NULL && sono_args_str(a, "format", format) != 0) ||
      (channels > 0 && sono_args_uint(a, "channels", channels) != 0) ||
      sono_call(c, "record.start", a, &r, &e) != 0) {
    sono_args_free(a);
    sono_close(c);
    return ctl_fail(&e);
  }
  sono_args_free(a);
  sono_reply_uint(r, "frame", &start);
  sono_reply_free(r);
  if (!g->json)
    fprintf(stderr, "recording to %s from frame %llu%s\n", path, (unsigned long long)start,
            seconds > 0 ? "" : " (Ctrl-C to stop)");

  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  deadline = seconds > 0 ? now_ms() + (long)(seconds * 1000.0) : 0;
  while (!stop) {
    long left = deadline ? deadline - now_ms() : 100;

    if (left <= 0)
      break;
    if (sono_wait(c, left < 100 ? (int)left : 100) < 0 && sono_is_broken(c)) {
      fputs("sonoctl record: the connection closed\n", stderr);
      sono_close(c);
      return CTL_FAIL;
    }
  }

  if (sono_call(c, "record.stop", NULL, &r, &e) != 0) {
    sono_close(c);
    return ctl_fail(&e);
  }
  if (g->json) {
    ctl_print_json(sono_reply_body(r));
  } else {
    sono_reply_uint(r, "frames", &frames);
    sono_reply_uint(r, "dropped_frames", &dropped);
    sono_reply_free(r);
    r = NULL;
    if (sono_call(c, "status", NULL, &r, &e) == 0)
      sono_reply_uint(r, "sample_rate", &rate);
    printf("%llu frames (%.3f s) recorded to %s", (unsigned long long)frames,
           rate ? (double)frames / (double)rate : 0.0, path);
    if (dropped > 0)
      printf("; %llu frames dropped, written as silence", (unsigned long long)dropped);
    putchar('\n');
  }
  sono_reply_free(r);
  sono_close(c);
  return dropped > 0 ? CTL_FAIL : CTL_OK;
}
