/* sonoctl_state.c - `sonoctl state save [PATH]` and `sonoctl state load
 * PATH`: the whole session as one file (protocol/STATE.md).  The daemon
 * reads and writes the file itself, so PATH is a path on the daemon's
 * machine; a relative one is made absolute here, against sonoctl's
 * directory, because the daemon's working directory is not the user's. */
#include "sonoctl.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void state_usage(FILE *f) {
  fputs("usage: sonoctl state save [PATH]   write the session (default: the autosave file)\n"
        "       sonoctl state load PATH     replace the session with a saved one\n"
        "       sonoctl state export SCRIPT.jsonl\n"
        "                                   the session as a script for `sonoctl render`\n"
        "                                   (saved next to it as SCRIPT.sonod)\n", f);
}

/* path made absolute against sonoctl's directory, into abs (or path itself). */
static const char *absolute(const char *path, char *abs, size_t size) {
  /* realpath needs the file to exist, which a save target may not. */
  if (path[0] != '/' && getcwd(abs, size) != NULL && strlen(abs) + 1 + strlen(path) < size) {
    strcat(abs, "/");
    strcat(abs, path);
    return abs;
  }
  return path;
}

static int state_call(ctl *g, const char *op, const char *path) {
  char abs[PATH_MAX];
  sono_conn *c;
  sono_args *a = sono_args_new();
  sono_reply *r = NULL;
  sono_error e;
  int rc = CTL_OK;

  if (path != NULL)
    sono_args_str(a, "path", absolute(path, abs, sizeof abs));
  if ((c = ctl_connect(g)) == NULL) {
    sono_args_free(a);
    return CTL_FAIL;
  }
  if (sono_call(c, op, a, &r, &e) != 0)
    rc = ctl_fail(&e);
  else if (g->json)
    ctl_print_json(sono_reply_body(r));
  else
    ctl_print_table(sono_reply_body(r));
  sono_reply_free(r);
  sono_close(c);
  sono_args_free(a);
  return rc;
}

/* `state export SCRIPT.jsonl`: the daemon saves the session next to the
 * script (SCRIPT.sonod), and the script loads it at frame 0, its reply
 * named "session" (its "plugins", "tables", ... map saved ids to the ids
 * the render hands out).  The user adds the timed requests. */
static int state_export(ctl *g, const char *script) {
  char abs[PATH_MAX], sess[PATH_MAX + 8];
  const char *dot, *p;
  size_t base;
  FILE *f;
  int rc;

  p = absolute(script, abs, sizeof abs);
  dot = strrchr(p, '.');
  base = dot != NULL && strchr(dot, '/') == NULL ? (size_t)(dot - p) : strlen(p);
  snprintf(sess, sizeof sess, "%.*s.sonod", (int)base, p);
  for (const char *q = sess; *q; q++)
    if (*q == '"' || *q == '\\' || (unsigned char)*q < 0x20) {
      fprintf(stderr, "sonoctl state export: %s: a path with quotes, backslashes or control "
              "characters cannot go into the script\n", sess);
      return CTL_FAIL;
    }
  if ((rc = state_call(g, "state.save", sess)) != CTL_OK)
    return rc;
  if ((f = fopen(script, "w")) == NULL) {
    fprintf(stderr, "sonoctl state export: cannot write %s: %s\n", script, strerror(errno));
    return CTL_FAIL;
  }
  fprintf(f,
          "# A sonod session, exported by `sonoctl state export`: plugins with their state,\n"
          "# the graph, Csound code, instruments, tables, buses and MIDI routes, saved in\n"
          "# %s and loaded at frame 0.  Add timed requests below, then\n"
          "# `sonoctl render THIS.jsonl -o OUT.wav`.  Ids are handed out afresh:\n"
          "# \"$session.plugins.0.node\" is the first saved plugin's node in the render.\n"
          "{\"at\": 0, \"op\": \"state.load\", \"path\": \"%s\", \"as\": \"session\"}\n",
          sess, sess);
  if (fclose(f) != 0) {
    fprintf(stderr, "sonoctl state export: cannot write %s: %s\n", script, strerror(errno));
    return CTL_FAIL;
  }
  return CTL_OK;
}

int ctl_cmd_state(ctl *g, int argc, char **argv) {
  if (argc < 2) {
    state_usage(stderr);
    return CTL_USAGE;
  }
  if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
    state_usage(stdout);
    return CTL_OK;
  }
  if (strcmp(argv[1], "save") == 0 && argc <= 3)
    return state_call(g, "state.save", argc == 3 ? argv[2] : NULL);
  if (strcmp(argv[1], "load") == 0 && argc == 3)
    return state_call(g, "state.load", argv[2]);
  if (strcmp(argv[1], "export") == 0 && argc == 3)
    return state_export(g, argv[2]);
  state_usage(stderr);
  return CTL_USAGE;
}
