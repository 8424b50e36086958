/* utf8.h - checking and repairing UTF-8, shared by the protocol (every str
 * sonod sends or accepts is UTF-8) and the VST host library (plugins'
 * names in Latin-1 are converted when they are read).  No dependencies. */
#ifndef SONO_PROTOCOL_UTF8_H
#define SONO_PROTOCOL_UTF8_H

#include <stddef.h>

/* 1 when s[0..len) is valid UTF-8 (no overlongs, no surrogates, nothing
 * past U+10FFFF), else 0. */
int sono_utf8_valid(const char *s, size_t len);

/* Writes s[0..len) to out as valid UTF-8: valid sequences as they are,
 * every other byte read as Latin-1 (two bytes each).  out must have room
 * for 2 * len bytes.  Returns the bytes written. */
size_t sono_utf8_repair(const char *s, size_t len, char *out);

#endif
