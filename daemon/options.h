/* options.h - the daemon's command line. */
#ifndef SONOD_OPTIONS_H
#define SONOD_OPTIONS_H

#include <stddef.h>

typedef enum {
  BACKEND_AUTO = 0,
  BACKEND_JACK,
  BACKEND_NULL,
  BACKEND_OFFLINE,
} backend_kind;

typedef struct options {
  backend_kind backend;
  char socket_path[108];   /* sizeof sun_path */
  char tcp_host[256];      /* empty: no TCP listener */
  int tcp_port;
  unsigned sample_rate;
  unsigned block_size;
  unsigned channels;
  char jack_name[64];
  char jack_server[64];    /* empty: the default server */
  int autoconnect;
  char output[4096];       /* offline output file */
  double length;           /* offline: seconds to render, 0 = until told */
  int verbose;
} options;

typedef enum {
  OPTIONS_RUN = 0,
  OPTIONS_EXIT_OK,      /* --help or --version was printed */
  OPTIONS_ERROR,        /* err holds the reason */
} options_result;

void options_defaults(options *o);
/* Fills o from argv.  Prints --help/--version text to stdout. */
options_result options_parse(options *o, int argc, char **argv, char *err, size_t errlen);
const char *backend_kind_name(backend_kind k);

#endif
