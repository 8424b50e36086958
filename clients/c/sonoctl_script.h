/* sonoctl_script.h - session scripts for `sonoctl render`: reading them
 * (sonoctl_script_read.c) and rendering them (sonoctl_script.c).
 *
 * A script is a list of timed requests, in one of two encodings, told
 * apart by the file's first byte:
 *   - JSON lines: one request object per line; blank lines and lines
 *     starting with '#' are skipped;
 *   - msgpack: a stream of request maps back to back (the first byte is a
 *     map's, 0x80-0x8f, 0xde or 0xdf, which no JSON text starts with).
 * Either way a request is {"op", "at" (seconds) | "frame", ...arguments}. */
#ifndef SONOCTL_SCRIPT_H
#define SONOCTL_SCRIPT_H

#include "sono.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCRIPT_NAME_MAX 64

typedef struct sline {
  unsigned lineno;          /* JSON: the line; msgpack: the request's number from 1 */
  uint64_t frame;
  char op[128];
  char as[SCRIPT_NAME_MAX]; /* "as": the name of its reply, or "" */
  sono_args *args;          /* its arguments, without op/at/frame */
  bool end;                 /* {"op": "end"}: the render's length */
} sline;

typedef struct script {
  sline *v;
  size_t n, cap;
  bool msgpack;
  const char *path;
} script;

/* Reads and checks the whole script at path ("-": stdin).  On an error
 * prints it (with the file and line or request number) and returns -1. */
int script_load(const char *path, unsigned rate, script *s);
void script_free(script *s);

/* "song.jsonl:12" or "song.msgpack: request 12", for messages. */
void script_where(const script *s, const sline *l, char *out, size_t len);

/* Named replies (sonoctl_script_refs.c): "as" names a request's reply, and
 * "$name" or "$name.path" in a later request's string values stands for
 * the reply's id or a member of it ("$$" escapes a literal "$").  An entry
 * with no reply yet (r NULL) is a name seen while checking the script. */
typedef struct script_ref {
  char name[SCRIPT_NAME_MAX];
  sono_reply *r;
} script_ref;

typedef struct script_names {
  script_ref *v;
  size_t n, cap;
} script_names;

/* A name: a letter or _, then letters, digits, _; under SCRIPT_NAME_MAX. */
bool script_name_ok(const char *s, size_t n);
/* Names r (the table owns it from then on; NULL while checking). */
int script_name(script_names *nm, const char *name, sono_reply *r);
void script_names_free(script_names *nm);
/* The arguments with every reference replaced (nil while checking); -1
 * with why set for a name no earlier line gave, or a missing member. */
int script_bind(const sono_args *in, const script_names *nm, sono_args **out, char *why,
                size_t whylen);
/* "body_file": PATH becomes "body": the file's text (PATH relative to the
 * script's folder).  -1 with why set. */
int script_read_files(sline *l, const char *script_path, char *why, size_t whylen);

#endif
