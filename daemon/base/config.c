/* config.c - reading sonod.conf.  The format is deliberately the command
 * line written down: one `key = value` per line, keys named like the long
 * options, `#` starting a comment line.  A library format (INI, TOML) would
 * add sections and quoting rules that map to nothing here.  Every value goes
 * through options_set, the validator the command line uses, so the two
 * cannot drift apart. */
#include "daemon/base/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KEYS 32   /* more than options_set knows; a repeat is refused */

static char *trim(char *s) {
  char *end;

  while (*s == ' ' || *s == '\t')
    s++;
  end = s + strlen(s);
  while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
    *--end = '\0';
  return s;
}

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); goto out; } while (0)

int config_load(options *o, const char *path, int required, int *loaded, char *err,
                size_t errlen) {
  struct { char name[32]; unsigned line; } seen[MAX_KEYS];
  unsigned nseen = 0, lineno = 0, i;
  char *line = NULL, why[256];
  size_t cap = 0;
  int rc = -1;
  FILE *f;

  *loaded = 0;
  f = fopen(path, "r");
  if (f == NULL) {
    if (errno == ENOENT && !required)
      return 0;
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
  }
  errno = 0;
  while (getline(&line, &cap, f) != -1) {
    char *s, *eq, *key, *value;

    lineno++;
    s = trim(line);
    if (s[0] == '\0' || s[0] == '#')
      continue;
    eq = strchr(s, '=');
    if (eq == NULL) {
      s[strcspn(s, " \t")] = '\0';
      FAIL("%s:%u: %s: no '=' (lines are key = value)", path, lineno, s);
    }
    *eq = '\0';
    key = trim(s);
    value = trim(eq + 1);
    if (key[0] == '\0')
      FAIL("%s:%u: no key before '='", path, lineno);
    for (i = 0; i < nseen && !options_repeatable(key); i++)
      if (strcmp(seen[i].name, key) == 0)
        FAIL("%s:%u: %s: given twice (first on line %u)", path, lineno, key, seen[i].line);
    switch (options_set(o, key, value, why, sizeof why)) {
    case 0:
      break;
    case OPTIONS_SET_UNKNOWN:
      FAIL("%s:%u: %s", path, lineno, why);
    default:
      FAIL("%s:%u: %s: %s", path, lineno, key, why);
    }
    /* options_set knows each key only once, so this cannot overflow (a
     * list key may repeat and is not remembered). */
    if (nseen < MAX_KEYS && !options_repeatable(key)) {
      snprintf(seen[nseen].name, sizeof seen[nseen].name, "%s", key);
      seen[nseen++].line = lineno;
    }
  }
  if (ferror(f))
    FAIL("%s: %s", path, strerror(errno ? errno : EIO));
  *loaded = 1;
  rc = 0;
out:
  free(line);
  fclose(f);
  return rc;
}
