/* sonoctl_engine.c - subcommands that act on the engine: tone, render,
 * shutdown.  `render PIECE.csd -o OUT.wav` is passed on to the local .csd
 * renderer (sonoctl_render.c). */
#include "sonoctl.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static int print_frame(ctl *g, const char *what, uint64_t frame) {
  if (g->json)
    printf("{\"frame\":%llu}\n", (unsigned long long)frame);
  else
    printf("%s at frame %llu\n", what, (unsigned long long)frame);
  return CTL_OK;
}

int ctl_cmd_tone(ctl *g, int argc, char **argv) {
  static const struct option opts[] = {
    {"freq", required_argument, NULL, 'f'},
    {"amp", required_argument, NULL, 'a'},
    {"channel", required_argument, NULL, 'c'},
    {"at", required_argument, NULL, 'A'},
    {"delay", required_argument, NULL, 'd'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  sono_tone_opts o = SONO_TONE_OPTS_INIT;
  sono_conn *c;
  sono_error e;
  uint64_t frame;
  int ch, rc;

  while ((ch = getopt_long(argc, argv, "f:a:c:A:d:h", opts, NULL)) != -1) {
    switch (ch) {
    case 'f':
      if (!ctl_parse_double(optarg, &o.freq) || o.freq <= 0)
        return ctl_usage(argv[0], "--freq wants a positive number of Hz, not '%s'", optarg);
      break;
    case 'a':
      if (!ctl_parse_double(optarg, &o.amp) || o.amp < 0)
        return ctl_usage(argv[0], "--amp wants a number from 0 to 1, not '%s'", optarg);
      break;
    case 'c':
      if (!ctl_parse_int(optarg, &o.channel) || o.channel < -1)
        return ctl_usage(argv[0], "--channel wants a channel from 0, or -1, not '%s'", optarg);
      break;
    case 'A':
      if (o.when != SONO_NEXT_BLOCK)
        return ctl_usage(argv[0], "give --at or --delay, not both");
      if (!ctl_parse_u64(optarg, &o.at))
        return ctl_usage(argv[0], "--at wants a frame number, not '%s'", optarg);
      o.when = SONO_AT_FRAME;
      break;
    case 'd':
      if (o.when != SONO_NEXT_BLOCK)
        return ctl_usage(argv[0], "give --at or --delay, not both");
      if (!ctl_parse_double(optarg, &o.delay) || o.delay < 0)
        return ctl_usage(argv[0], "--delay wants seconds >= 0, not '%s'", optarg);
      o.when = SONO_AFTER_DELAY;
      break;
    case 'h':
      return ctl_help(argv[0]);
    default:
      return CTL_USAGE;
    }
  }
  if (optind != argc - 1)
    return ctl_usage(argv[0], "say 'on' or 'off'");
  if (strcmp(argv[optind], "on") == 0)
    o.on = true;
  else if (strcmp(argv[optind], "off") == 0)
    o.on = false;
  else
    return ctl_usage(argv[0], "say 'on' or 'off', not '%s'", argv[optind]);

  if ((c = ctl_connect(g)) == NULL)
    return CTL_FAIL;
  rc = sono_tone(c, &o, &frame, &e);
  sono_close(c);
  if (rc != 0)
    return ctl_fail(&e);
  return print_frame(g, o.on ? "tone on" : "tone off", frame);
}

int ctl_cmd_render(ctl *g, int argc, char **argv) {
  static const struct option opts[] = {
    {"frames", required_argument, NULL, 'f'},
    {"seconds", required_argument, NULL, 's'},
    {"output", required_argument, NULL, 'o'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  const char *output = NULL;
  uint64_t frames = 0, frame;
  double seconds = 0;
  sono_conn *c;
  sono_error e;
  int ch, rc;

  /* `render SCRIPT.jsonl -o OUT.wav` (or .json, .msgpack, .mpk): a
   * session script (sonoctl_script.c), which tells the encodings apart by
   * content. */
  for (ch = 1; ch < argc; ch++) {
    static const char *const exts[] = {".jsonl", ".json", ".msgpack", ".mpk"};
    size_t n = strlen(argv[ch]), k;

    for (k = 0; k < sizeof exts / sizeof exts[0]; k++)
      if (n > strlen(exts[k]) && strcmp(argv[ch] + n - strlen(exts[k]), exts[k]) == 0)
        return ctl_script_render(g, argc, argv);
  }

  while ((ch = getopt_long(argc, argv, "f:s:o:h", opts, NULL)) != -1) {
    switch (ch) {
    case 'o':
      output = optarg;
      break;
    case 'f':
      if (!ctl_parse_u64(optarg, &frames) || frames == 0)
        return ctl_usage(argv[0], "--frames wants a positive count, not '%s'", optarg);
      break;
    case 's':
      if (!ctl_parse_double(optarg, &seconds) || seconds <= 0)
        return ctl_usage(argv[0], "--seconds wants a positive number, not '%s'", optarg);
      break;
    case 'h':
      return ctl_help(argv[0]);
    default:
      return CTL_USAGE;
    }
  }
  if (frames > 0 && seconds > 0)
    return ctl_usage(argv[0], "give --frames or --seconds, not both");
  /* `render PIECE.csd -o OUT.wav`: a local Csound render, no daemon. */
  if (output != NULL || optind < argc) {
    if (frames > 0 || seconds > 0)
      return ctl_usage(argv[0], "a .csd render takes its length from the score, not --frames");
    if (output == NULL || optind != argc - 1)
      return ctl_usage(argv[0], "render a .csd as: render PIECE.csd -o OUT.wav");
    return ctl_csd_render(g, argv[optind], output);
  }
  if (optind < argc)
    return ctl_usage(argv[0], "unexpected argument '%s'", argv[optind]);

  if ((c = ctl_connect(g)) == NULL)
    return CTL_FAIL;
  rc = sono_render(c, frames, seconds, &frame, &e);
  sono_close(c);
  if (rc != 0)
    return ctl_fail(&e);
  if (g->json)
    printf("{\"frame\":%llu}\n", (unsigned long long)frame);
  else
    printf("rendered up to frame %llu\n", (unsigned long long)frame);
  return CTL_OK;
}

int ctl_cmd_shutdown(ctl *g, int argc, char **argv) {
  sono_conn *c;
  sono_error e;
  int rc = ctl_no_args(argc, argv);

  if (rc >= 0)
    return rc;
  if ((c = ctl_connect(g)) == NULL)
    return CTL_FAIL;
  rc = sono_shutdown(c, &e);
  sono_close(c);
  if (rc != 0)
    return ctl_fail(&e);
  if (g->json)
    puts("{}");
  else
    puts("sonod is shutting down");
  return CTL_OK;
}
