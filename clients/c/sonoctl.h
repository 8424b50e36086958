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
  const char *token_file; /* --token-file, else $SONOD_TOKEN_FILE; for TCP only */
  int wait_ms;        /* --wait: retry connecting this long while nothing listens */
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

/* Reads a whole file, or stdin for "-", NUL-terminated (binary files too:
 * len gets the size when not NULL).  max bytes at most (0: no limit).
 * NULL after printing why. */
char *ctl_slurp(const char *path, size_t max, size_t *len);

/* Strict number parsing for option values; false when s is not a number. */
bool ctl_parse_u64(const char *s, uint64_t *out);
bool ctl_parse_int(const char *s, int *out);
bool ctl_parse_double(const char *s, double *out);

/* sonoctl_util.c: the helpers of the one-request subcommands. */

/* Connects, calls, closes.  On failure prints the error and returns NULL
 * with *rc set to CTL_FAIL; else *rc is CTL_OK. */
sono_reply *ctl_call(ctl *g, const char *op, const sono_args *a, int *rc);

/* ctl_call, then frees a (NULL is fine): most commands build the
 * arguments only to send them once. */
sono_reply *ctl_send(ctl *g, const char *op, sono_args *a, int *rc);

/* Prints the reply's ok map (JSON with --json, else a table), frees r and
 * returns CTL_OK. */
int ctl_print_reply(ctl *g, sono_reply *r);

/* Prints the {frame} reply of a change: JSON, or "WHAT at frame N".  Frees
 * r and returns CTL_OK. */
int ctl_print_frame(ctl *g, sono_reply *r, const char *what);

/* Sends op with a (freed here) and prints the reply: JSON with --json, else
 * "WHAT at frame N" when the reply has a frame, or "WHAT"; a NULL what
 * prints the ok map as a table.  Returns the exit status. */
int ctl_send_print(ctl *g, const char *op, sono_args *a, const char *what);

/* Writes a string field of a map to stdout as it is (values from the
 * server may hold any bytes), or nothing. */
void ctl_put_str(const msgpack_object *map, const char *key);

/* --at FRAME / --delay SEC: when a change takes effect. */
typedef struct ctl_when {
  int kind;   /* 0 the next block, 'A' at a frame, 'd' after a delay */
  uint64_t at;
  double delay;
} ctl_when;

/* Takes the value of --at (ch 'A') or --delay (ch 'd').  Returns NULL, or
 * why it is refused as a printf format taking arg.  Giving both is for the
 * caller to refuse (w->kind != 0): each command words that its own way. */
const char *ctl_parse_when(ctl_when *w, int ch, const char *arg);

/* Adds "at" or "delay" to a, or nothing for the next block. */
void ctl_args_when(sono_args *a, const ctl_when *w);

/* on/1/true or off/0/false. */
bool ctl_parse_onoff(const char *s, bool *on);

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
 * and the local .csd render behind `render FILE -o OUT` (sonoctl_render.c). */
int ctl_cmd_csound(ctl *g, int argc, char **argv);
int ctl_csd_render(ctl *g, const char *csd, const char *out);
/* `render SCRIPT.jsonl -o OUT.wav` (sonoctl_script.c): argv as for render. */
int ctl_script_render(ctl *g, int argc, char **argv);
/* `top` (sonoctl_top.c). */
int ctl_cmd_top(ctl *g, int argc, char **argv);
/* `record` (sonoctl_record.c). */
int ctl_cmd_record(ctl *g, int argc, char **argv);
int ctl_cmd_capture(ctl *g, int argc, char **argv);
/* transport, midi, freewheel (sonoctl_jack.c). */
int ctl_cmd_transport(ctl *g, int argc, char **argv);
int ctl_cmd_midi(ctl *g, int argc, char **argv);
int ctl_cmd_freewheel(ctl *g, int argc, char **argv);

#endif
