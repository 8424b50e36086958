/* options.h - the daemon's settings: the command line, and the validators
 * the config file shares with it. */
#ifndef SONOD_OPTIONS_H
#define SONOD_OPTIONS_H

#include <stdbool.h>
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
  char tcp_token_file[4096]; /* empty: TCP clients need no token */
  unsigned sample_rate;
  unsigned block_size;
  unsigned channels;
  unsigned max_clients;     /* connections at once; more are refused */
  unsigned inputs;         /* backend inputs: JACK in_1..in_N, Csound nchnls_i */
  unsigned ksmps;          /* Csound k-cycle; divides the block size */
  char jack_name[64];
  char jack_server[64];    /* empty: the default server */
  int autoconnect;
  char output[4096];       /* offline output file; "none": no file */
  char output_format[8];   /* offline: "float", "pcm16", "pcm24"; empty: by the file's type */
  double length;           /* offline: seconds to render, 0 = until told */
  int verbose;
  char config_path[4096];  /* --config; empty: the default file if it exists */
  int config_given;        /* --config was on the command line */
  int no_config;           /* --no-config: no settings file at all */
  char state_dir[4096];    /* autosave directory; empty: $STATE_DIRECTORY or off */
  int no_restore;          /* do not restore the autosaved session at start */
  int isolate_plugins;     /* plugin.load isolates unless told {isolate: false} */
  char isolate_group[64];  /* ... in this host group ("": each in a host of its own) */
  unsigned isolate_deadline_ms; /* isolated plugins' wait per block; 0: one block (2 s offline) */
  /* Confinement (README.md, "Threat model"): each list repeats its option. */
#define OPTIONS_PATHS_MAX 16
  char file_root[OPTIONS_PATHS_MAX][1024];   /* --file-root: more file roots */
  unsigned nfile_root;
  char plugin_path[OPTIONS_PATHS_MAX][1024]; /* --plugin-path: more plugin folders */
  unsigned nplugin_path;
  int allow_any_path;      /* client-named files anywhere */
  int allow_any_plugin;    /* plugins from anywhere */
  int csound_unsafe;       /* Csound opcodes that run programs or reach files */
  int workers;             /* worker threads beside the audio thread; -1: auto
                              (online cores minus one, at most 8) */
  unsigned parallel_min_us; /* a block goes parallel when the last one's graph
                              work took at least this long */
} options;

typedef enum {
  OPTIONS_RUN = 0,
  OPTIONS_EXIT_OK,      /* --help or --version was printed */
  OPTIONS_ERROR,        /* err holds the reason */
} options_result;

void options_defaults(options *o);
/* Fills o from argv, then checks the options together (options_check).
 * Prints --help/--version text to stdout. */
options_result options_parse(options *o, int argc, char **argv, char *err, size_t errlen);
/* options_parse without the final check: main applies the command line over
 * the config file's settings and checks the result once. */
options_result options_parse_args(options *o, int argc, char **argv, char *err, size_t errlen);
/* Checks what no single option can: offline needs --output, and so on. */
int options_check(const options *o, char *err, size_t errlen);

/* Sets the option called `name` (its long name without "--") from a string,
 * through the same validator the command line uses.  Returns 0; -1 with the
 * reason in err (without the option's name); OPTIONS_SET_UNKNOWN when there
 * is no such option. */
#define OPTIONS_SET_UNKNOWN (-2)
int options_set(options *o, const char *name, const char *value, char *err, size_t errlen);
/* The names options_set knows, comma-separated, for messages. */
const char *options_names(void);
/* Whether a config file may give the key more than once (a list). */
int options_repeatable(const char *name);
const char *backend_kind_name(backend_kind k);

/* A host group's name: 1 to 63 of A-Z a-z 0-9 . _ - (plugin.load, isolate-plugins). */
bool options_group_ok(const char *name, size_t len);

#endif
