/* sonoctl_info.c - subcommands that ask: hello, status, ping, sync. */
#include "sonoctl.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Calls op without arguments and prints the reply: JSON, or a table. */
static int call_and_print(ctl *g, const char *op, const sono_args *a) {
  sono_conn *c = ctl_connect(g);
  sono_reply *r;
  sono_error e;

  if (c == NULL)
    return CTL_FAIL;
  if (sono_call(c, op, a, &r, &e) != 0) {
    sono_close(c);
    return ctl_fail(&e);
  }
  if (g->json)
    ctl_print_json(sono_reply_body(r));
  else
    ctl_print_table(sono_reply_body(r));
  sono_reply_free(r);
  sono_close(c);
  return CTL_OK;
}

int ctl_cmd_status(ctl *g, int argc, char **argv) {
  int rc = ctl_no_args(argc, argv);
  return rc >= 0 ? rc : call_and_print(g, "status", NULL);
}

int ctl_cmd_hello(ctl *g, int argc, char **argv) {
  static const struct option opts[] = {
    {"name", required_argument, NULL, 'n'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  const char *name = "sonoctl";
  sono_args *a;
  int ch, rc;

  while ((ch = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
    if (ch == 'n')
      name = optarg;
    else if (ch == 'h')
      return ctl_help(argv[0]);
    else
      return CTL_USAGE;
  }
  if (optind < argc)
    return ctl_usage(argv[0], "unexpected argument '%s'", argv[optind]);
  a = sono_args_new();
  sono_args_uint(a, "version", 1);
  sono_args_str(a, "name", name);
  rc = call_and_print(g, "hello", a);
  sono_args_free(a);
  return rc;
}

int ctl_cmd_sync(ctl *g, int argc, char **argv) {
  sono_conn *c;
  sono_error e;
  uint64_t frame;
  int rc = ctl_no_args(argc, argv);

  if (rc >= 0)
    return rc;
  if ((c = ctl_connect(g)) == NULL)
    return CTL_FAIL;
  rc = sono_sync(c, &frame, &e);
  sono_close(c);
  if (rc != 0)
    return ctl_fail(&e);
  if (g->json)
    printf("{\"frame\":%llu}\n", (unsigned long long)frame);
  else
    printf("synced at frame %llu\n", (unsigned long long)frame);
  return CTL_OK;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void sleep_seconds(double s) {
  struct timespec ts;

  if (s <= 0)
    return;
  ts.tv_sec = (time_t)s;
  ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
  nanosleep(&ts, NULL);
}

int ctl_cmd_ping(ctl *g, int argc, char **argv) {
  static const struct option opts[] = {
    {"count", required_argument, NULL, 'c'},
    {"interval", required_argument, NULL, 'i'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  uint64_t count = 4, i;
  double interval = 0.2, *rtt, median;
  sono_conn *c;
  sono_error e;
  int ch;

  while ((ch = getopt_long(argc, argv, "c:i:h", opts, NULL)) != -1) {
    switch (ch) {
    case 'c':
      if (!ctl_parse_u64(optarg, &count) || count == 0 || count > 1000000)
        return ctl_usage(argv[0], "-c wants a count from 1 to 1000000, not '%s'", optarg);
      break;
    case 'i':
      if (!ctl_parse_double(optarg, &interval) || interval < 0)
        return ctl_usage(argv[0], "-i wants seconds >= 0, not '%s'", optarg);
      break;
    case 'h':
      return ctl_help(argv[0]);
    default:
      return CTL_USAGE;
    }
  }
  if (optind < argc)
    return ctl_usage(argv[0], "unexpected argument '%s'", argv[optind]);
  if ((c = ctl_connect(g)) == NULL)
    return CTL_FAIL;
  rtt = calloc(count, sizeof *rtt);
  if (rtt == NULL) {
    sono_close(c);
    fputs("sonoctl: out of memory\n", stderr);
    return CTL_FAIL;
  }
  for (i = 0; i < count; i++) {
    if (i > 0)
      sleep_seconds(interval);
    if (sono_ping(c, &rtt[i], &e) != 0) {
      free(rtt);
      sono_close(c);
      return ctl_fail(&e);
    }
    if (g->json)
      printf("{\"seq\":%llu,\"rtt_ms\":%.6f}\n", (unsigned long long)i + 1, rtt[i] * 1e3);
    else
      printf("ping %llu: %.3f ms\n", (unsigned long long)i + 1, rtt[i] * 1e3);
    fflush(stdout);
  }
  sono_close(c);
  qsort(rtt, count, sizeof *rtt, cmp_double);
  median = count % 2 ? rtt[count / 2] : (rtt[count / 2 - 1] + rtt[count / 2]) / 2;
  if (g->json)
    printf("{\"count\":%llu,\"min_ms\":%.6f,\"median_ms\":%.6f,\"max_ms\":%.6f}\n",
           (unsigned long long)count, rtt[0] * 1e3, median * 1e3, rtt[count - 1] * 1e3);
  else
    printf("%llu pings: min %.3f ms, median %.3f ms, max %.3f ms\n",
           (unsigned long long)count, rtt[0] * 1e3, median * 1e3, rtt[count - 1] * 1e3);
  free(rtt);
  return CTL_OK;
}
