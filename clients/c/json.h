/* json.h - JSON for sonoctl: printing msgpack values as JSON (--json) and
 * reading JSON request arguments (`sonoctl call`). */
#ifndef SONOCTL_JSON_H
#define SONOCTL_JSON_H

#include "sono.h"

#include <stddef.h>

/* One line of JSON for o, malloc'd and NUL-terminated, or NULL without
 * memory.  Mapping: nil → null; strings are escaped, invalid UTF-8 becomes
 * U+FFFD; floats print in their shortest exact form, NaN/Inf as null; bin
 * becomes a base64 string; ext becomes {"$ext": type, "data": base64}; a map
 * key that is not a string is written as the JSON of the key, quoted. */
char *json_from_msgpack(const msgpack_object *o);

/* d in the shortest %g form that reads back as the same double ("0.3",
 * not "0.29999999999999999"), plain for everyday magnitudes; returns s
 * (n >= 32). */
const char *json_shortest(char *s, size_t n, double d);

/* Parses text, which must be a JSON object, and adds its members to a.
 * Integers become msgpack integers, other numbers doubles.  Returns 0, or -1
 * with a description in err. */
int json_to_args(const char *text, sono_args *a, char *err, size_t errlen);

/* The text of one member's value, [start, end); NULL when absent. */
typedef struct json_span {
  const char *start, *end;
} json_span;

/* As json_to_args, but the top-level members named in keys are not added:
 * spans[i] is set to the text of keys[i]'s value instead (session scripts
 * take "op" and "at" out of a request line this way). */
int json_to_args_ex(const char *text, sono_args *a, const char *const *keys, size_t nkeys,
                    json_span *spans, char *err, size_t errlen);

#endif
