/* options.c - parsing and checking the command line. */
#include "daemon/options.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
  "Usage: sonod [OPTION]...\n"
  "Realtime audio daemon hosting VST2 plugins and a live Csound engine.\n"
  "\n"
  "  --backend auto|jack|null|offline  audio driver (default auto: JACK when a\n"
  "                            server answers, else the built-in null device)\n"
  "  --socket PATH             Unix socket (default $XDG_RUNTIME_DIR/sonod.sock,\n"
  "                            or /run/sonod/sonod.sock for root)\n"
  "  --tcp HOST:PORT           also listen on TCP (off unless given)\n"
  "  --sample-rate HZ          sample rate for null/offline (default 48000)\n"
  "  --block-size FRAMES       frames per block for null/offline (default 256)\n"
  "  --channels N              output channels (default 2)\n"
  "  --jack-name NAME          JACK client name (default sonod)\n"
  "  --jack-server NAME        JACK server to connect to (default: the default)\n"
  "  --autoconnect             connect outputs to the system playback ports\n"
  "  --output FILE             offline: WAV or FLAC file to write\n"
  "  --length SECONDS          offline: render this long, then exit\n"
  "  -v, --verbose             more log output (repeat for debug)\n"
  "  --version                 print the version and exit\n"
  "  --help                    print this help and exit\n";

enum {
  OPT_BACKEND = 256, OPT_SOCKET, OPT_TCP, OPT_RATE, OPT_BLOCK, OPT_CHANNELS,
  OPT_JACK_NAME, OPT_JACK_SERVER, OPT_AUTOCONNECT, OPT_OUTPUT, OPT_LENGTH,
  OPT_VERSION, OPT_HELP,
};

static const struct option long_opts[] = {
  { "backend", required_argument, NULL, OPT_BACKEND },
  { "socket", required_argument, NULL, OPT_SOCKET },
  { "tcp", required_argument, NULL, OPT_TCP },
  { "sample-rate", required_argument, NULL, OPT_RATE },
  { "block-size", required_argument, NULL, OPT_BLOCK },
  { "channels", required_argument, NULL, OPT_CHANNELS },
  { "jack-name", required_argument, NULL, OPT_JACK_NAME },
  { "jack-server", required_argument, NULL, OPT_JACK_SERVER },
  { "autoconnect", no_argument, NULL, OPT_AUTOCONNECT },
  { "output", required_argument, NULL, OPT_OUTPUT },
  { "length", required_argument, NULL, OPT_LENGTH },
  { "verbose", no_argument, NULL, 'v' },
  { "version", no_argument, NULL, OPT_VERSION },
  { "help", no_argument, NULL, OPT_HELP },
  { NULL, 0, NULL, 0 },
};

const char *backend_kind_name(backend_kind k) {
  switch (k) {
  case BACKEND_JACK: return "jack";
  case BACKEND_NULL: return "null";
  case BACKEND_OFFLINE: return "offline";
  default: return "auto";
  }
}

void options_defaults(options *o) {
  const char *xdg = getenv("XDG_RUNTIME_DIR");

  memset(o, 0, sizeof *o);
  o->backend = BACKEND_AUTO;
  if (xdg != NULL && xdg[0] != '\0' && strlen(xdg) + sizeof "/sonod.sock" <= sizeof o->socket_path)
    snprintf(o->socket_path, sizeof o->socket_path, "%s/sonod.sock", xdg);
  else
    snprintf(o->socket_path, sizeof o->socket_path, "/run/sonod/sonod.sock");
  o->sample_rate = 48000;
  o->block_size = 256;
  o->channels = 2;
  snprintf(o->jack_name, sizeof o->jack_name, "sonod");
}

static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out) {
  char *end;
  unsigned long v;

  if (s[0] == '\0' || s[0] == '-')
    return -1;
  v = strtoul(s, &end, 10);
  if (*end != '\0' || v < lo || v > hi)
    return -1;
  *out = (unsigned)v;
  return 0;
}

static int copy_str(char *dst, size_t size, const char *src) {
  if (strlen(src) >= size || src[0] == '\0')
    return -1;
  memcpy(dst, src, strlen(src) + 1);
  return 0;
}

/* HOST:PORT, where HOST may be [v6-address]. */
static int parse_tcp(options *o, const char *s) {
  const char *colon = strrchr(s, ':');
  const char *host = s;
  size_t hlen;
  unsigned port;

  if (colon == NULL || parse_uint(colon + 1, 1, 65535, &port) != 0)
    return -1;
  hlen = (size_t)(colon - s);
  if (hlen >= 2 && s[0] == '[' && s[hlen - 1] == ']') {
    host++;
    hlen -= 2;
  }
  if (hlen == 0 || hlen >= sizeof o->tcp_host)
    return -1;
  memcpy(o->tcp_host, host, hlen);
  o->tcp_host[hlen] = '\0';
  o->tcp_port = (int)port;
  return 0;
}

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return OPTIONS_ERROR; } while (0)

options_result options_parse(options *o, int argc, char **argv, char *err, size_t errlen) {
  int c;

  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":v", long_opts, NULL)) != -1) {
    switch (c) {
    case OPT_BACKEND:
      if (strcmp(optarg, "auto") == 0) o->backend = BACKEND_AUTO;
      else if (strcmp(optarg, "jack") == 0) o->backend = BACKEND_JACK;
      else if (strcmp(optarg, "null") == 0) o->backend = BACKEND_NULL;
      else if (strcmp(optarg, "offline") == 0) o->backend = BACKEND_OFFLINE;
      else FAIL("--backend: '%s' is not one of auto, jack, null, offline", optarg);
      break;
    case OPT_SOCKET:
      if (copy_str(o->socket_path, sizeof o->socket_path, optarg) != 0)
        FAIL("--socket: path empty or longer than %zu bytes", sizeof o->socket_path - 1);
      break;
    case OPT_TCP:
      if (parse_tcp(o, optarg) != 0)
        FAIL("--tcp: '%s' is not HOST:PORT with a port from 1 to 65535", optarg);
      break;
    case OPT_RATE:
      if (parse_uint(optarg, 8000, 768000, &o->sample_rate) != 0)
        FAIL("--sample-rate: '%s' is not a whole number from 8000 to 768000", optarg);
      break;
    case OPT_BLOCK:
      if (parse_uint(optarg, 16, 8192, &o->block_size) != 0)
        FAIL("--block-size: '%s' is not a whole number from 16 to 8192", optarg);
      break;
    case OPT_CHANNELS:
      if (parse_uint(optarg, 1, 64, &o->channels) != 0)
        FAIL("--channels: '%s' is not a whole number from 1 to 64", optarg);
      break;
    case OPT_JACK_NAME:
      if (copy_str(o->jack_name, sizeof o->jack_name, optarg) != 0)
        FAIL("--jack-name: name empty or longer than %zu bytes", sizeof o->jack_name - 1);
      break;
    case OPT_JACK_SERVER:
      if (copy_str(o->jack_server, sizeof o->jack_server, optarg) != 0)
        FAIL("--jack-server: name empty or longer than %zu bytes", sizeof o->jack_server - 1);
      break;
    case OPT_AUTOCONNECT:
      o->autoconnect = 1;
      break;
    case OPT_OUTPUT:
      if (copy_str(o->output, sizeof o->output, optarg) != 0)
        FAIL("--output: path empty or too long");
      break;
    case OPT_LENGTH: {
      char *end;
      o->length = strtod(optarg, &end);
      if (*end != '\0' || !(o->length > 0) || o->length > 86400.0 * 7)
        FAIL("--length: '%s' is not a number of seconds above 0", optarg);
      break;
    }
    case 'v':
      o->verbose++;
      break;
    case OPT_VERSION:
      printf("sonod %s\n", SONOD_VERSION);
      return OPTIONS_EXIT_OK;
    case OPT_HELP:
      fputs(usage, stdout);
      return OPTIONS_EXIT_OK;
    case ':':
      FAIL("%s needs a value", argv[optind - 1]);
    default:
      FAIL("unknown option '%s' (see --help)", argv[optind - 1]);
    }
  }
  if (optind < argc)
    FAIL("unexpected argument '%s' (see --help)", argv[optind]);

  if (o->backend == BACKEND_OFFLINE && o->output[0] == '\0')
    FAIL("--backend offline needs --output FILE");
  if (o->backend != BACKEND_OFFLINE && (o->output[0] != '\0' || o->length > 0))
    FAIL("--output and --length apply only to --backend offline");
  return OPTIONS_RUN;
}
