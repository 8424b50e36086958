/* sonoctl_capture.c - `sonoctl capture NODE [--port out|in] [--seconds S |
 * --frames N] [--block N] [-o OUT.wav]`: a node's audio sent back to this
 * client (capture.start), written here, not by the daemon: a float WAV of
 * exactly the frames asked for, or, without -o, one line per block with its
 * frame and each channel's peak.  Works over TCP from another machine,
 * where `record` (the daemon writes the file) cannot reach.
 *
 * Length is audio time, counted in frames received, not wall time: on the
 * offline backend the capture ends when someone has rendered that far.
 * Frames the daemon reports dropped are written as silence, so the file
 * keeps the engine's timeline, and make the exit status 1. */
#include "sonoctl.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHANNELS_MAX 64

typedef struct capture_run {
  ctl *g;
  FILE *out;               /* NULL: print block lines */
  uint64_t want;           /* frames to keep, 0 = until stopped */
  uint64_t kept;           /* frames written or printed */
  uint64_t dropped;        /* frames the daemon lost (reported) */
  uint64_t channels;
  bool failed;             /* a write failed or an event was malformed */
  char why[700];           /* the first failure, said at the end */
} capture_run;

/* Records that the run failed, and the first reason why. */
static void fail(capture_run *cr, const char *fmt, ...) {
  va_list ap;

  if (cr->failed)
    return;
  cr->failed = true;
  va_start(ap, fmt);
  vsnprintf(cr->why, sizeof cr->why, fmt, ap);
  va_end(ap);
}

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

static void put_le32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)v;
  p[1] = (unsigned char)(v >> 8);
  p[2] = (unsigned char)(v >> 16);
  p[3] = (unsigned char)(v >> 24);
}

/* The 44-byte header of a WAV of 32-bit float samples (format tag 3). */
static void wav_header(unsigned char h[44], uint64_t channels, uint64_t rate, uint64_t frames) {
  uint32_t data = (uint32_t)(frames * channels * 4);

  memcpy(h, "RIFF", 4);
  put_le32(h + 4, 36 + data);
  memcpy(h + 8, "WAVEfmt ", 8);
  put_le32(h + 16, 16);
  h[20] = 3, h[21] = 0;                              /* IEEE float */
  h[22] = (unsigned char)channels, h[23] = 0;
  put_le32(h + 24, (uint32_t)rate);
  put_le32(h + 28, (uint32_t)(rate * channels * 4)); /* bytes per second */
  h[32] = (unsigned char)(channels * 4), h[33] = 0;  /* bytes per frame */
  h[34] = 32, h[35] = 0;
  memcpy(h + 36, "data", 4);
  put_le32(h + 40, data);
}

/* Writes n frames of silence (dropped frames keep their place). */
static void write_silence(capture_run *cr, uint64_t n) {
  static const unsigned char zero[CHANNELS_MAX * 4];

  for (; n > 0 && !cr->failed; n--)
    if (fwrite(zero, 4, (size_t)cr->channels, cr->out) != cr->channels)
      fail(cr, "writing the file: %s", strerror(errno));
}

/* Interleaves frames [0, n) of the block's channels (little-endian float32
 * each, as WAV wants them) into the file. */
static void write_block(capture_run *cr, const msgpack_object *audio, uint64_t n) {
  uint64_t i, ch;

  for (i = 0; i < n && !cr->failed; i++)
    for (ch = 0; ch < cr->channels; ch++)
      if (fwrite(audio->via.array.ptr[ch].via.bin.ptr + i * 4, 4, 1, cr->out) != 1)
        fail(cr, "writing the file: %s", strerror(errno));
}

static float read_le_float(const char *p) {
  uint32_t u = (uint32_t)(unsigned char)p[0] | (uint32_t)(unsigned char)p[1] << 8 |
               (uint32_t)(unsigned char)p[2] << 16 | (uint32_t)(unsigned char)p[3] << 24;
  float f;

  memcpy(&f, &u, sizeof f);
  return f;
}

/* "FRAME FRAMES PEAK..." for frames [0, n) of the block, or as JSON. */
static void print_block(capture_run *cr, uint64_t frame, const msgpack_object *audio,
                        uint64_t n, uint64_t dropped) {
  uint64_t i, ch;

  if (cr->g->json)
    printf("{\"frame\":%llu,\"frames\":%llu,\"dropped\":%llu,\"peak\":[",
           (unsigned long long)frame, (unsigned long long)n, (unsigned long long)dropped);
  else
    printf("%llu %llu", (unsigned long long)frame, (unsigned long long)n);
  for (ch = 0; ch < cr->channels; ch++) {
    const char *s = audio->via.array.ptr[ch].via.bin.ptr;
    double peak = 0;

    for (i = 0; i < n; i++)
      peak = fmax(peak, fabs((double)read_le_float(s + i * 4)));
    if (cr->g->json)
      printf("%s%.9g", ch == 0 ? "" : ",", peak);
    else
      printf(" %.6f", peak);
  }
  puts(cr->g->json ? "]}" : "");
  fflush(stdout);
}

static void on_event(sono_conn *c, const char *kind, const sono_reply *ev, void *ud) {
  capture_run *cr = ud;
  const msgpack_object *audio = sono_reply_get(ev, "audio");
  uint64_t frame = 0, frames = 0, dropped = 0, n, ch;

  (void)c;
  if (strcmp(kind, "capture") != 0 || (cr->want > 0 && cr->kept >= cr->want))
    return;
  sono_reply_uint(ev, "frame", &frame);
  sono_reply_uint(ev, "frames", &frames);
  sono_reply_uint(ev, "dropped", &dropped);
  if (audio == NULL || audio->type != MSGPACK_OBJECT_ARRAY ||
      audio->via.array.size != cr->channels) {
    fail(cr, "a capture event at frame %llu without an audio array of %llu channels",
         (unsigned long long)frame, (unsigned long long)cr->channels);
    return;
  }
  for (ch = 0; ch < cr->channels; ch++)
    if (audio->via.array.ptr[ch].type != MSGPACK_OBJECT_BIN ||
        audio->via.array.ptr[ch].via.bin.size != frames * 4) {
      fail(cr, "a capture event at frame %llu whose channel %llu is not %llu frames of float",
           (unsigned long long)frame, (unsigned long long)ch, (unsigned long long)frames);
      return;
    }
  if (dropped > 0) {
    fprintf(stderr, "sonoctl capture: %llu frames dropped before frame %llu%s\n",
            (unsigned long long)dropped, (unsigned long long)frame,
            cr->out != NULL ? " (written as silence)" : "");
    cr->dropped += dropped;
    if (cr->want > 0 && dropped > cr->want - cr->kept)
      dropped = cr->want - cr->kept;
    if (cr->out != NULL)
      write_silence(cr, dropped);
    cr->kept += dropped;
  }
  n = frames;
  if (cr->want > 0 && n > cr->want - cr->kept)
    n = cr->want - cr->kept;
  if (n == 0)
    return;
  if (cr->out != NULL)
    write_block(cr, audio, n);
  else
    print_block(cr, frame, audio, n, dropped);
  cr->kept += n;
}

static int parse_args(int argc, char **argv, const char **port, double *seconds,
                      uint64_t *frames, uint64_t *block, const char **out) {
  static const struct option opts[] = {
    {"port", required_argument, NULL, 'p'},
    {"seconds", required_argument, NULL, 'n'},
    {"frames", required_argument, NULL, 'f'},
    {"block", required_argument, NULL, 'b'},
    {"output", required_argument, NULL, 'o'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  int ch;

  while ((ch = getopt_long(argc, argv, "p:n:f:b:o:h", opts, NULL)) != -1) {
    switch (ch) {
    case 'p':
      if (strcmp(optarg, "out") != 0 && strcmp(optarg, "in") != 0)
        return ctl_usage(argv[0], "--port is out or in, not '%s'", optarg);
      *port = optarg;
      break;
    case 'n':
      if (!ctl_parse_double(optarg, seconds) || *seconds <= 0 || *seconds > 86400.0)
        return ctl_usage(argv[0], "--seconds wants a positive number up to a day, not '%s'",
                         optarg);
      break;
    case 'f':
      if (!ctl_parse_u64(optarg, frames) || *frames == 0)
        return ctl_usage(argv[0], "--frames wants a count > 0, not '%s'", optarg);
      break;
    case 'b':
      if (!ctl_parse_u64(optarg, block) || *block < 16 || *block > 65536)
        return ctl_usage(argv[0], "--block wants 16..65536 frames, not '%s'", optarg);
      break;
    case 'o':
      *out = optarg;
      break;
    case 'h':
      return ctl_help(argv[0]);
    default:
      return CTL_USAGE;
    }
  }
  if (*seconds > 0 && *frames > 0)
    return ctl_usage(argv[0], "give --seconds or --frames, not %s", "both");
  if (optind + 1 != argc)
    return ctl_usage(argv[0], "%s", optind == argc ? "NODE is missing" : "one NODE only");
  return -1;
}

int ctl_cmd_capture(ctl *g, int argc, char **argv) {
  const char *port = NULL, *out = NULL, *node;
  double seconds = 0;
  uint64_t frames = 0, block = 0, id = 0, start = 0, rate = 0, id_node;
  capture_run cr;
  unsigned char header[44];
  struct sigaction sa;
  sono_args *a = NULL;
  sono_reply *r = NULL;
  sono_conn *c;
  sono_error e;
  int rc;

  if ((rc = parse_args(argc, argv, &port, &seconds, &frames, &block, &out)) >= 0)
    return rc;
  node = argv[optind];
  memset(&cr, 0, sizeof cr);
  cr.g = g;
  if ((c = ctl_connect(g)) == NULL)
    return CTL_FAIL;
  if (sono_call(c, "status", NULL, &r, &e) != 0) {
    sono_close(c);
    return ctl_fail(&e);
  }
  sono_reply_uint(r, "sample_rate", &rate);
  sono_reply_free(r);
  cr.want = frames > 0 ? frames : (uint64_t)llround(seconds * (double)rate);
  if (out != NULL && (cr.out = fopen(out, "wb")) == NULL) {
    fprintf(stderr, "sonoctl capture: cannot write %s\n", out);
    sono_close(c);
    return CTL_FAIL;
  }
  /* The header's sizes are filled in at the end: a placeholder first. */
  if (cr.out != NULL && fwrite(memset(header, 0, sizeof header), 1, 44, cr.out) != 44)
    fail(&cr, "writing the file: %s", strerror(errno));
  sono_on_event(c, on_event, &cr);

  a = sono_args_new();
  if (ctl_parse_u64(node, &id_node))
    sono_args_uint(a, "node", id_node);
  else
    sono_args_str(a, "node", node);
  if (port != NULL)
    sono_args_str(a, "port", port);
  if (block > 0)
    sono_args_uint(a, "frames", block);
  if (sono_call(c, "capture.start", a, &r, &e) != 0) {
    sono_args_free(a);
    sono_close(c);
    if (cr.out != NULL) {
      fclose(cr.out);
      remove(out);
    }
    return ctl_fail(&e);
  }
  sono_args_free(a);
  sono_reply_uint(r, "capture", &id);
  sono_reply_uint(r, "frame", &start);
  sono_reply_uint(r, "channels", &cr.channels);
  sono_reply_free(r);
  if (cr.channels > CHANNELS_MAX)
    cr.channels = CHANNELS_MAX;
  /* Scripts wait for this line before they make the sound they capture. */
  fprintf(stderr, "capturing %s (%llu channels) from frame %llu%s\n", node,
          (unsigned long long)cr.channels, (unsigned long long)start,
          cr.want > 0 ? "" : " (Ctrl-C to stop)");

  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  while (!stop && !cr.failed && (cr.want == 0 || cr.kept < cr.want))
    if (sono_wait(c, 100) < 0 && sono_is_broken(c)) {
      fail(&cr, "the connection broke after %llu of the frames (%s: %s)",
           (unsigned long long)cr.kept, sono_last_error(c)->code, sono_last_error(c)->message);
      break;
    }

  a = sono_args_new();
  sono_args_uint(a, "capture", id);
  if (sono_is_broken(c)) {
    fail(&cr, "the connection broke before capture.stop (%s: %s)", sono_last_error(c)->code,
         sono_last_error(c)->message);
    rc = -1;
  } else {
    rc = sono_call(c, "capture.stop", a, &r, &e);
  }
  sono_args_free(a);
  if (rc == 0) {
    sono_process(c); /* the last block, sent before the reply */
    sono_reply_free(r);
  }
  sono_close(c);
  if (cr.out != NULL) {
    wav_header(header, cr.channels, rate, cr.kept);
    if (fseek(cr.out, 0, SEEK_SET) != 0 || fwrite(header, 1, 44, cr.out) != 44)
      fail(&cr, "writing the file's header: %s", strerror(errno));
    if (fclose(cr.out) != 0)
      fail(&cr, "closing the file: %s", strerror(errno));
  }
  if (rc != 0 && !cr.failed)
    return ctl_fail(&e);
  if (cr.failed) {
    fprintf(stderr, "sonoctl capture: failed: %s\n", cr.why);
    return CTL_FAIL;
  }
  if (out != NULL && g->json)
    printf("{\"frame\":%llu,\"frames\":%llu,\"dropped\":%llu}\n", (unsigned long long)start,
           (unsigned long long)cr.kept, (unsigned long long)cr.dropped);
  else if (out != NULL)
    printf("%llu frames (%.3f s) of %s captured to %s\n", (unsigned long long)cr.kept,
           rate ? (double)cr.kept / (double)rate : 0.0, node, out);
  return cr.dropped > 0 ? CTL_FAIL : CTL_OK;
}
