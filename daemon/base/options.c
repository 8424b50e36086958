/* options.c - parsing and checking the command line, and the one validator
 * per option that the config file (config.c) shares. */
#include "daemon/base/options.h"

#include <ctype.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --workers when not given: -1, auto; 0, the audio thread alone.  A build
 * may choose (-DSONOD_WORKERS_DEFAULT=...). */
#ifndef SONOD_WORKERS_DEFAULT
#define SONOD_WORKERS_DEFAULT (-1)
#endif

static const char usage[] =
  "Usage: sonod [OPTION]...\n"
  "Realtime audio daemon hosting VST2 plugins and a live Csound engine.\n"
  "\n"
  "  --backend auto|jack|null|offline  audio driver (default auto: JACK when a\n"
  "                            server answers, else the built-in null device)\n"
  "  --socket PATH             Unix socket (default $XDG_RUNTIME_DIR/sonod.sock,\n"
  "                            or /run/sonod/sonod.sock for root)\n"
  "  --tcp HOST:PORT           also listen on TCP (off unless given)\n"
  "  --tcp-token-file PATH     TCP clients must send the token in this file\n"
  "                            (its first line; mode 600) in hello first\n"
  "  --max-clients N           connections at once, Unix and TCP (default 256;\n"
  "                            1-65536); more are refused\n"
  "  --sample-rate HZ          sample rate for null/offline (default 48000)\n"
  "  --block-size FRAMES       frames per block for null/offline (default 256)\n"
  "  --channels N              output channels (default 2)\n"
  "  --inputs N                input channels: JACK ports in_1..in_N, the graph's\n"
  "                            `in` node and Csound's spin (default 2; 0-64)\n"
  "  --ksmps N                 Csound frames per k-cycle; must divide the block\n"
  "                            size (default 32)\n"
  "  --jack-name NAME          JACK client name (default sonod)\n"
  "  --jack-server NAME        JACK server to connect to (default: the default)\n"
  "  --autoconnect             connect outputs to the system playback ports\n"
  "  --output FILE|none        offline: WAV or FLAC file to write (none: no file;\n"
  "                            render's `return` hands the audio back instead)\n"
  "  --output-format F         offline: float (WAV's default), pcm16 or pcm24\n"
  "                            (FLAC's default; FLAC holds no floats)\n"
  "  --length SECONDS          offline: render this long, then exit\n"
  "  --state-dir DIR          autosave the session to DIR/session.sonod and\n"
  "                            restore it at start ($STATE_DIRECTORY wins)\n"
  "  --no-restore              start empty instead of restoring the session\n"
  "  --isolate-plugins[=GROUP] run every plugin in a host process of its own\n"
  "                            (or all in GROUP's one host) unless plugin.load\n"
  "                            says isolate: false\n"
  "  --isolate-deadline-ms MS  how long the audio thread waits for an isolated\n"
  "                            plugin per block (default: one block; offline 2 s)\n"
  "  --file-root DIR           files clients name (state, recordings, tables)\n"
  "                            may also lie under DIR (repeatable; default\n"
  "                            roots: the state directory and $HOME)\n"
  "  --allow-any-path          files clients name may lie anywhere\n"
  "  --plugin-path DIR         plugins may also load from DIR (repeatable;\n"
  "                            default: /usr/lib/vst, /usr/lib/lxvst,\n"
  "                            /usr/local/lib/vst, /usr/local/lib/lxvst,\n"
  "                            ~/.vst, ~/.lxvst)\n"
  "  --allow-any-plugin        plugins may load from anywhere\n"
  "  --csound-unsafe           allow the Csound opcodes that run programs or\n"
  "                            reach files (system, fout, readf, ...)\n"
  "  --workers N|auto          realtime worker threads that render independent\n"
  "                            branches of the graph beside the audio thread\n"
  "                            (0-64; default auto: online cores minus one,\n"
  "                            at most 8; 0: the audio thread alone)\n"
  "  --parallel-min-us US      a block renders in parallel only when the last\n"
  "                            one's graph took at least US microseconds\n"
  "                            (default 50; 0: always)\n"
  "  -v, --verbose             more log output (repeat for debug)\n"
  "  --config FILE             read settings from FILE (default\n"
  "                            /etc/sonod/sonod.conf when it exists); the\n"
  "                            command line wins over the file\n"
  "  --no-config               read no settings file (the last of --config\n"
  "                            and --no-config counts)\n"
  "  --version                 print the version and exit\n"
  "  --help                    print this help and exit\n";

enum {
  OPT_BACKEND = 256, OPT_SOCKET, OPT_TCP, OPT_RATE, OPT_BLOCK, OPT_CHANNELS,
  OPT_JACK_NAME, OPT_JACK_SERVER, OPT_AUTOCONNECT, OPT_OUTPUT, OPT_LENGTH,
  OPT_CONFIG, OPT_NO_CONFIG, OPT_VERSION, OPT_HELP, OPT_KSMPS, OPT_INPUTS, OPT_STATE_DIR, OPT_NO_RESTORE,
  OPT_TCP_TOKEN_FILE, OPT_MAX_CLIENTS, OPT_ISOLATE, OPT_ISOLATE_DEADLINE,
  OPT_FILE_ROOT, OPT_ALLOW_ANY_PATH, OPT_PLUGIN_PATH, OPT_ALLOW_ANY_PLUGIN, OPT_CSOUND_UNSAFE,
  OPT_WORKERS, OPT_PARALLEL_MIN, OPT_OUTPUT_FORMAT,
};

static const struct option long_opts[] = {
  { "backend", required_argument, NULL, OPT_BACKEND },
  { "socket", required_argument, NULL, OPT_SOCKET },
  { "tcp", required_argument, NULL, OPT_TCP },
  { "tcp-token-file", required_argument, NULL, OPT_TCP_TOKEN_FILE },
  { "max-clients", required_argument, NULL, OPT_MAX_CLIENTS },
  { "sample-rate", required_argument, NULL, OPT_RATE },
  { "block-size", required_argument, NULL, OPT_BLOCK },
  { "channels", required_argument, NULL, OPT_CHANNELS },
  { "inputs", required_argument, NULL, OPT_INPUTS },
  { "ksmps", required_argument, NULL, OPT_KSMPS },
  { "jack-name", required_argument, NULL, OPT_JACK_NAME },
  { "jack-server", required_argument, NULL, OPT_JACK_SERVER },
  { "autoconnect", no_argument, NULL, OPT_AUTOCONNECT },
  { "output", required_argument, NULL, OPT_OUTPUT },
  { "output-format", required_argument, NULL, OPT_OUTPUT_FORMAT },
  { "length", required_argument, NULL, OPT_LENGTH },
  { "state-dir", required_argument, NULL, OPT_STATE_DIR },
  { "no-restore", no_argument, NULL, OPT_NO_RESTORE },
  { "isolate-plugins", optional_argument, NULL, OPT_ISOLATE },
  { "isolate-deadline-ms", required_argument, NULL, OPT_ISOLATE_DEADLINE },
  { "file-root", required_argument, NULL, OPT_FILE_ROOT },
  { "allow-any-path", no_argument, NULL, OPT_ALLOW_ANY_PATH },
  { "plugin-path", required_argument, NULL, OPT_PLUGIN_PATH },
  { "allow-any-plugin", no_argument, NULL, OPT_ALLOW_ANY_PLUGIN },
  { "csound-unsafe", no_argument, NULL, OPT_CSOUND_UNSAFE },
  { "workers", required_argument, NULL, OPT_WORKERS },
  { "parallel-min-us", required_argument, NULL, OPT_PARALLEL_MIN },
  { "verbose", no_argument, NULL, 'v' },
  { "config", required_argument, NULL, OPT_CONFIG },
  { "no-config", no_argument, NULL, OPT_NO_CONFIG },
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
  o->inputs = 2;
  o->max_clients = 256;
  o->ksmps = 32;
  o->workers = SONOD_WORKERS_DEFAULT;
  o->parallel_min_us = 50;
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

/* One validator per option, shared by the command line and the config
 * file, so both accept exactly the same values.  Each writes its reason
 * without the option's name: the caller says where the value came from. */
#define BAD(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)

static int set_backend(options *o, const char *v, char *err, size_t errlen) {
  if (strcmp(v, "auto") == 0) o->backend = BACKEND_AUTO;
  else if (strcmp(v, "jack") == 0) o->backend = BACKEND_JACK;
  else if (strcmp(v, "null") == 0) o->backend = BACKEND_NULL;
  else if (strcmp(v, "offline") == 0) o->backend = BACKEND_OFFLINE;
  else BAD("'%s' is not one of auto, jack, null, offline", v);
  return 0;
}

static int set_socket(options *o, const char *v, char *err, size_t errlen) {
  if (copy_str(o->socket_path, sizeof o->socket_path, v) != 0)
    BAD("path empty or longer than %zu bytes", sizeof o->socket_path - 1);
  return 0;
}

static int set_tcp(options *o, const char *v, char *err, size_t errlen) {
  if (parse_tcp(o, v) != 0)
    BAD("'%s' is not HOST:PORT with a port from 1 to 65535", v);
  return 0;
}

/* Only the path: main reads the file once the settings are final, so a
 * token file named in sonod.conf and overridden on the command line is
 * never opened. */
static int set_tcp_token_file(options *o, const char *v, char *err, size_t errlen) {
  if (copy_str(o->tcp_token_file, sizeof o->tcp_token_file, v) != 0)
    BAD("path empty or too long");
  return 0;
}

static int set_rate(options *o, const char *v, char *err, size_t errlen) {
  if (parse_uint(v, 8000, 768000, &o->sample_rate) != 0)
    BAD("'%s' is not a whole number from 8000 to 768000", v);
  return 0;
}

static int set_block(options *o, const char *v, char *err, size_t errlen) {
  if (parse_uint(v, 16, 8192, &o->block_size) != 0)
    BAD("'%s' is not a whole number from 16 to 8192", v);
  return 0;
}

static int set_channels(options *o, const char *v, char *err, size_t errlen) {
  if (parse_uint(v, 1, 64, &o->channels) != 0)
    BAD("'%s' is not a whole number from 1 to 64", v);
  return 0;
}

static int set_inputs(options *o, const char *v, char *err, size_t errlen) {
  if (parse_uint(v, 0, 64, &o->inputs) != 0)
    BAD("'%s' is not a whole number from 0 to 64", v);
  return 0;
}

static int set_ksmps(options *o, const char *v, char *err, size_t errlen) {
  if (parse_uint(v, 1, 8192, &o->ksmps) != 0)
    BAD("'%s' is not a number of frames from 1 to 8192", v);
  return 0;
}

static int set_workers(options *o, const char *v, char *err, size_t errlen) {
  unsigned n;

  if (strcmp(v, "auto") == 0) {
    o->workers = -1;
    return 0;
  }
  if (parse_uint(v, 0, 64, &n) != 0)
    BAD("'%s' is not auto or a whole number from 0 to 64", v);
  o->workers = (int)n;
  return 0;
}

static int set_parallel_min(options *o, const char *v, char *err, size_t errlen) {
  if (parse_uint(v, 0, 1000000, &o->parallel_min_us) != 0)
    BAD("'%s' is not a whole number of microseconds from 0 to 1000000", v);
  return 0;
}

static int set_jack_name(options *o, const char *v, char *err, size_t errlen) {
  if (copy_str(o->jack_name, sizeof o->jack_name, v) != 0)
    BAD("name empty or longer than %zu bytes", sizeof o->jack_name - 1);
  return 0;
}

static int set_jack_server(options *o, const char *v, char *err, size_t errlen) {
  if (copy_str(o->jack_server, sizeof o->jack_server, v) != 0)
    BAD("name empty or longer than %zu bytes", sizeof o->jack_server - 1);
  return 0;
}

/* A flag on the command line; true or false in the config file. */
static int set_autoconnect(options *o, const char *v, char *err, size_t errlen) {
  if (strcmp(v, "true") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "1") == 0) o->autoconnect = 1;
  else if (strcmp(v, "false") == 0 || strcmp(v, "no") == 0 || strcmp(v, "0") == 0) o->autoconnect = 0;
  else BAD("'%s' is not true or false", v);
  return 0;
}

static int set_output(options *o, const char *v, char *err, size_t errlen) {
  if (copy_str(o->output, sizeof o->output, v) != 0)
    BAD("path empty or too long");
  return 0;
}

static int set_output_format(options *o, const char *v, char *err, size_t errlen) {
  if (strcmp(v, "float") != 0 && strcmp(v, "pcm16") != 0 && strcmp(v, "pcm24") != 0)
    BAD("'%s' is not one of float, pcm16, pcm24", v);
  snprintf(o->output_format, sizeof o->output_format, "%s", v);
  return 0;
}

static int set_length(options *o, const char *v, char *err, size_t errlen) {
  char *end;
  double len = strtod(v, &end);

  if (v[0] == '\0' || *end != '\0' || !(len > 0) || len > 86400.0 * 7)
    BAD("'%s' is not a number of seconds above 0", v);
  o->length = len;
  return 0;
}

static int set_state_dir(options *o, const char *v, char *err, size_t errlen) {
  if (copy_str(o->state_dir, sizeof o->state_dir, v) != 0)
    BAD("path empty or too long");
  return 0;
}

/* --no-restore on the command line; restore = true|false in the file. */
static int set_restore(options *o, const char *v, char *err, size_t errlen) {
  if (strcmp(v, "true") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "1") == 0) o->no_restore = 0;
  else if (strcmp(v, "false") == 0 || strcmp(v, "no") == 0 || strcmp(v, "0") == 0) o->no_restore = 1;
  else BAD("'%s' is not true or false", v);
  return 0;
}

bool options_group_ok(const char *name, size_t len) {
  size_t i;

  if (len == 0 || len > 63)
    return false;
  for (i = 0; i < len; i++)
    if (!isalnum((unsigned char)name[i]) && name[i] != '.' && name[i] != '_' && name[i] != '-')
      return false;
  return true;
}

/* --isolate-plugins[=GROUP] on the command line; isolate-plugins =
 * true|false|GROUP in the file. */
static int set_isolate(options *o, const char *v, char *err, size_t errlen) {
  o->isolate_group[0] = '\0';
  if (strcmp(v, "true") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "1") == 0) o->isolate_plugins = 1;
  else if (strcmp(v, "false") == 0 || strcmp(v, "no") == 0 || strcmp(v, "0") == 0) o->isolate_plugins = 0;
  else if (options_group_ok(v, strlen(v))) {
    o->isolate_plugins = 1;
    snprintf(o->isolate_group, sizeof o->isolate_group, "%s", v);
  } else BAD("'%s' is not true, false or a host group's name (1 to 63 of A-Z a-z 0-9 . _ -)", v);
  return 0;
}

static int set_isolate_deadline(options *o, const char *v, char *err, size_t errlen) {
  if (parse_uint(v, 0, 60000, &o->isolate_deadline_ms) != 0)
    BAD("'%s' is not a whole number of ms from 0 to 60000", v);
  return 0;
}

static int parse_bool(const char *v, int *out) {
  if (strcmp(v, "true") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "1") == 0) *out = 1;
  else if (strcmp(v, "false") == 0 || strcmp(v, "no") == 0 || strcmp(v, "0") == 0) *out = 0;
  else return -1;
  return 0;
}

/* A list option: each use adds one directory. */
static int add_dir(char list[][1024], unsigned *n, const char *v, char *err, size_t errlen) {
  if (*n >= OPTIONS_PATHS_MAX)
    BAD("more than %d directories", OPTIONS_PATHS_MAX);
  if (copy_str(list[*n], sizeof list[*n], v) != 0)
    BAD("path empty or longer than %zu bytes", sizeof list[*n] - 1);
  (*n)++;
  return 0;
}

static int set_file_root(options *o, const char *v, char *err, size_t errlen) {
  return add_dir(o->file_root, &o->nfile_root, v, err, errlen);
}

static int set_plugin_path(options *o, const char *v, char *err, size_t errlen) {
  return add_dir(o->plugin_path, &o->nplugin_path, v, err, errlen);
}

/* true|false in the file; a flag on the command line. */
#define FLAG_SETTER(fn, field) \
  static int fn(options *o, const char *v, char *err, size_t errlen) { \
    if (parse_bool(v, &o->field) != 0) \
      BAD("'%s' is not true or false", v); \
    return 0; \
  }

FLAG_SETTER(set_allow_any_path, allow_any_path)
FLAG_SETTER(set_allow_any_plugin, allow_any_plugin)
FLAG_SETTER(set_csound_unsafe, csound_unsafe)

/* -v counts on the command line; the config file names the level. */
static int set_max_clients(options *o, const char *v, char *err, size_t errlen) {
  if (parse_uint(v, 1, 65536, &o->max_clients) != 0)
    BAD("'%s' is not a whole number from 1 to 65536", v);
  return 0;
}

static int set_verbose(options *o, const char *v, char *err, size_t errlen) {
  unsigned level;

  if (parse_uint(v, 0, 2, &level) != 0)
    BAD("'%s' is not 0, 1 or 2", v);
  o->verbose = (int)level;
  return 0;
}

static const struct {
  const char *name;
  int (*set)(options *o, const char *v, char *err, size_t errlen);
} setters[] = {
  { "backend", set_backend },
  { "socket", set_socket },
  { "tcp", set_tcp },
  { "tcp-token-file", set_tcp_token_file },
  { "max-clients", set_max_clients },
  { "sample-rate", set_rate },
  { "block-size", set_block },
  { "channels", set_channels },
  { "inputs", set_inputs },
  { "ksmps", set_ksmps },
  { "jack-name", set_jack_name },
  { "jack-server", set_jack_server },
  { "autoconnect", set_autoconnect },
  { "output", set_output },
  { "output-format", set_output_format },
  { "length", set_length },
  { "verbose", set_verbose },
  { "state-dir", set_state_dir },
  { "restore", set_restore },
  { "isolate-plugins", set_isolate },
  { "isolate-deadline-ms", set_isolate_deadline },
  { "file-root", set_file_root },
  { "allow-any-path", set_allow_any_path },
  { "plugin-path", set_plugin_path },
  { "allow-any-plugin", set_allow_any_plugin },
  { "csound-unsafe", set_csound_unsafe },
  { "workers", set_workers },
  { "parallel-min-us", set_parallel_min },
};

#define NSETTERS (sizeof setters / sizeof setters[0])

const char *options_names(void) {
  return "backend, socket, tcp, tcp-token-file, max-clients, sample-rate, block-size, channels, inputs, ksmps, jack-name, jack-server, "
         "autoconnect, output, output-format, length, verbose, state-dir, restore, isolate-plugins, "
         "isolate-deadline-ms, file-root, allow-any-path, plugin-path, allow-any-plugin, "
         "csound-unsafe, workers, parallel-min-us";
}

int options_repeatable(const char *name) {
  return strcmp(name, "file-root") == 0 || strcmp(name, "plugin-path") == 0;
}

int options_set(options *o, const char *name, const char *value, char *err, size_t errlen) {
  size_t i;

  for (i = 0; i < NSETTERS; i++)
    if (strcmp(setters[i].name, name) == 0)
      return setters[i].set(o, value, err, errlen) == 0 ? 0 : -1;
  snprintf(err, errlen, "unknown key '%s' (keys are: %s)", name, options_names());
  return OPTIONS_SET_UNKNOWN;
}

int options_check(const options *o, char *err, size_t errlen) {
  if (o->backend == BACKEND_OFFLINE && o->output[0] == '\0')
    BAD("--backend offline needs --output FILE");
  if (o->backend != BACKEND_OFFLINE &&
      (o->output[0] != '\0' || o->length > 0 || o->output_format[0] != '\0'))
    BAD("--output, --output-format and --length apply only to --backend offline");
  return 0;
}

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return OPTIONS_ERROR; } while (0)

/* The long option getopt matched, by the index it reports. */
static options_result set_from_argv(options *o, int idx, char *err, size_t errlen) {
  char why[256];

  if (options_set(o, long_opts[idx].name, optarg, why, sizeof why) != 0)
    FAIL("--%s: %s", long_opts[idx].name, why);
  return OPTIONS_RUN;
}

options_result options_parse_args(options *o, int argc, char **argv, char *err, size_t errlen) {
  int c, idx = 0, nverbose = 0;

  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":v", long_opts, &idx)) != -1) {
    switch (c) {
    case OPT_BACKEND: case OPT_SOCKET: case OPT_TCP: case OPT_RATE: case OPT_BLOCK:
    case OPT_CHANNELS: case OPT_JACK_NAME: case OPT_JACK_SERVER: case OPT_OUTPUT:
    case OPT_LENGTH: case OPT_OUTPUT_FORMAT: case OPT_KSMPS: case OPT_INPUTS: case OPT_STATE_DIR:
    case OPT_TCP_TOKEN_FILE: case OPT_MAX_CLIENTS: case OPT_ISOLATE_DEADLINE:
    case OPT_FILE_ROOT: case OPT_PLUGIN_PATH: case OPT_WORKERS: case OPT_PARALLEL_MIN:
      if (set_from_argv(o, idx, err, errlen) != OPTIONS_RUN)
        return OPTIONS_ERROR;
      break;
    case OPT_CONFIG:
      if (copy_str(o->config_path, sizeof o->config_path, optarg) != 0)
        FAIL("--config: path empty or too long");
      o->config_given = 1;
      o->no_config = 0;
      break;
    case OPT_NO_CONFIG:     /* like --config, the last one given counts */
      o->no_config = 1;
      o->config_given = 0;
      break;
    case OPT_AUTOCONNECT:
      o->autoconnect = 1;
      break;
    case OPT_NO_RESTORE:
      o->no_restore = 1;
      break;
    case OPT_ISOLATE:
      if (set_isolate(o, optarg != NULL ? optarg : "true", err, errlen) != 0)
        return OPTIONS_ERROR;
      break;
    case OPT_ALLOW_ANY_PATH:
      o->allow_any_path = 1;
      break;
    case OPT_ALLOW_ANY_PLUGIN:
      o->allow_any_plugin = 1;
      break;
    case OPT_CSOUND_UNSAFE:
      o->csound_unsafe = 1;
      break;
    case 'v':
      /* Counted afresh, so -v on the command line replaces the config
       * file's level instead of adding to it. */
      o->verbose = ++nverbose;
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
  return OPTIONS_RUN;
}

options_result options_parse(options *o, int argc, char **argv, char *err, size_t errlen) {
  options_result r = options_parse_args(o, argc, argv, err, errlen);

  if (r != OPTIONS_RUN)
    return r;
  return options_check(o, err, errlen) == 0 ? OPTIONS_RUN : OPTIONS_ERROR;
}
