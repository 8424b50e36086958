/* sonoctl.h - what the sonoctl subcommands share.
 *
 * Every subcommand is one function in a table (sonoctl.c).  It receives the
 * global options and its own argv (argv[0] is the subcommand's name), parses
 * its options with getopt_long, talks to sonod through libsono and returns
 * the exit status.  Adding a subcommand is: write the function, add a line to
 * the table. */
#ifndef SONOCTL_H
#define SONOCTL_H

#include "sono.h"

#include <stdbool.h>

enum { CTL_OK = 0, CTL_FAIL = 1, CTL_USAGE = 2 };

typedef struct ctl {
  const char *uri;    /* NULL: libsono's default */
  bool json;          /* --json: machine-readable output */
  int timeout_ms;     /* --timeout, -1 for none */
} ctl;

typedef struct ctl_command {
  const char *name;
  int (*run)(ctl *g, int argc, char **argv);
  const char *args;   /* synopsis after the name */
  const char *help;   /* one line */
} ctl_command;

/* Connects with the global options; on failure prints the error and returns
 * NULL. */
sono_conn *ctl_connect(ctl *g);

/* Prints "sonoctl: <code>: <message>" and returns CTL_FAIL. */
int ctl_fail(const sono_error *e);

/* Prints "sonoctl <cmd>: <message>" and returns CTL_USAGE. */
int ctl_usage(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints a msgpack value as one line of JSON. */
void ctl_print_json(const msgpack_object *o);

/* Prints a map as aligned "key  value" lines, strings unquoted. */
void ctl_print_table(const msgpack_object *map);

/* Prints "usage: sonoctl NAME ARGS" and the help line of a subcommand. */
int ctl_help(const char *name);

/* For subcommands without options: handles -h/--help and refuses extra
 * arguments.  Returns -1 to go on, else the exit status. */
int ctl_no_args(int argc, char **argv);

/* Strict number parsing for option values; false when s is not a number. */
bool ctl_parse_u64(const char *s, uint64_t *out);
bool ctl_parse_int(const char *s, int *out);
bool ctl_parse_double(const char *s, double *out);

/* The subcommands. */
int ctl_cmd_hello(ctl *g, int argc, char **argv);
int ctl_cmd_status(ctl *g, int argc, char **argv);
int ctl_cmd_ping(ctl *g, int argc, char **argv);
int ctl_cmd_sync(ctl *g, int argc, char **argv);
int ctl_cmd_monitor(ctl *g, int argc, char **argv);
int ctl_cmd_tone(ctl *g, int argc, char **argv);
int ctl_cmd_render(ctl *g, int argc, char **argv);
int ctl_cmd_shutdown(ctl *g, int argc, char **argv);
int ctl_cmd_call(ctl *g, int argc, char **argv);
int ctl_cmd_plugin(ctl *g, int argc, char **argv);
int ctl_cmd_state(ctl *g, int argc, char **argv);
int ctl_cmd_graph(ctl *g, int argc, char **argv);   /* also connect, disconnect, node */
int ctl_cmd_connect(ctl *g, int argc, char **argv);
int ctl_cmd_node(ctl *g, int argc, char **argv);
/* compile, instr, synth, bus, table, channel, event, score (by argv[0]),
 * and the local .csd render behind `render FILE -o OUT` (sonoctl_csound.c). */
int ctl_cmd_csound(ctl *g, int argc, char **argv);
int ctl_csd_render(ctl *g, const char *csd, const char *out);
/* `render SCRIPT.jsonl -o OUT.wav` (sonoctl_script.c): argv as for render. */
int ctl_script_render(ctl *g, int argc, char **argv);
/* `top` (sonoctl_top.c). */
int ctl_cmd_top(ctl *g, int argc, char **argv);
/* `record` (sonoctl_record.c). */
int ctl_cmd_record(ctl *g, int argc, char **argv);
/* transport, midi, freewheel (sonoctl_jack.c). */
int ctl_cmd_transport(ctl *g, int argc, char **argv);
int ctl_cmd_midi(ctl *g, int argc, char **argv);
int ctl_cmd_freewheel(ctl *g, int argc, char **argv);

#endif
