/* sonoctl_verbs.h - how sonoctl's Csound commands are read: a family per
 * command word (instr, synth, bus, table, channel; compile, event and score
 * are families of one command), a verb per second word, the options each
 * verb accepts (anywhere on the line; negative numbers stay arguments), and
 * the small argument checks every verb makes.  sonoctl_csound.c and
 * sonoctl_csdata.c hold the verbs. */
#ifndef SONOCTL_VERBS_H
#define SONOCTL_VERBS_H

#include "sonoctl.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CODE_MAX (16u << 20)   /* a frame holds no more */

/* What a verb's options may hold; each verb says which it accepts. */
typedef struct vopts {
  ctl_when w;
  double dur;          /* --dur, <0 = until stopped */
  int priority;        /* --priority, 0 = not given */
  const char *mode;    /* --mode */
  const char *init;    /* --init FILE */
  uint64_t size, start, count;
  bool has_size, has_count;
  bool spread;         /* --spread (a flag: no value) */
  char **params;       /* --param k=v, in order */
  int nparams;
  char **pos;          /* positional arguments */
  int npos;
} vopts;

typedef struct verb {
  const char *name;
  int (*run)(ctl *g, const char *fam, int argc, char **argv);
  const char *args;
  const char *help;
} verb;

typedef struct family {
  const char *name;
  const verb *verbs;   /* ended by a NULL name; NULL: a single command */
  int (*run)(ctl *g, const char *fam, int argc, char **argv);
  const char *args, *help;
} family;

/* Prints "sonoctl FAM VERB: " and fmt with arg to stderr; CTL_USAGE. */
int usage_err(const char *fam, const char *verb, const char *fmt, const char *arg);
/* Options of `allow` (letters) into o, positional arguments into o->pos;
 * -1 to go on, else the exit status (help printed, or a usage error). */
int parse_opts(const char *fam, int argc, char **argv, const char *allow, vopts *o,
               const char *synopsis);
/* -1 when min <= have <= max (max < 0: no upper bound), else a usage error. */
int want_args(const char *fam, const char *verb, int have, int min, int max);
bool put_kvs(sono_args *a, const char *key, char **kvs, int n, const char *fam,
             const char *verb, int *rc);
int send_print_value(ctl *g, const char *op, sono_args *a);
bool parse_id(const char *fam, const char *verb, const char *what, const char *s,
              uint64_t *id, int *rc);
void print_params(const msgpack_object *m);
/* A verb whose one argument is an id (WHAT: BUS, TABLE, SYNTH): sends
 * {key: id} and o's --at/--delay to op, prints `done`. */
int send_id(ctl *g, const char *fam, const char *verb, const vopts *o, const char *what,
            const char *key, const char *op, const char *done);
void vopts_free(vopts *o);
int run_family(const family *families, size_t nfamilies, ctl *g, int argc, char **argv);

/* The bus, table and channel verbs (sonoctl_csdata.c). */
extern const verb bus_verbs[], table_verbs[], channel_verbs[];

/* Every verb starts with OPTS: vopts_free runs by the cleanup attribute on
 * every return path. */
#define OPTS(allow, synopsis)                                                   \
  vopts o __attribute__((cleanup(vopts_free)));                                 \
  int rc;                                                                       \
  if ((rc = parse_opts(fam, argc, argv, allow, &o, synopsis)) >= 0)             \
    return rc;

#endif
