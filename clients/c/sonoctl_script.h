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

typedef struct sline {
  unsigned lineno;          /* JSON: the line; msgpack: the request's number from 1 */
  uint64_t frame;
  char op[128];
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

#endif
