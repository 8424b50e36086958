/* sonoctl_state.c - `sonoctl state save [PATH]` and `sonoctl state load
 * PATH`: the whole session as one file (protocol/STATE.md).  The daemon
 * reads and writes the file itself, so PATH is a path on the daemon's
 * machine; a relative one is made absolute here, against sonoctl's
 * directory, because the daemon's working directory is not the user's. */
#include "sonoctl.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void state_usage(FILE *f) {
  fputs("usage: sonoctl state save [PATH]   write the session (default: the autosave file)\n"
        "       sonoctl state load PATH     replace the session with a saved one\n", f);
}

static int state_call(ctl *g, const char *op, const char *path) {
  char abs[PATH_MAX];
  sono_conn *c;
  sono_args *a = sono_args_new();
  sono_reply *r = NULL;
  sono_error e;
  int rc = CTL_OK;

  if (path != NULL) {
    /* realpath needs the file to exist, which a save target may not. */
    if (path[0] != '/' && getcwd(abs, sizeof abs) != NULL &&
        strlen(abs) + 1 + strlen(path) < sizeof abs) {
      strcat(abs, "/");
      strcat(abs, path);
      path = abs;
    }
    sono_args_str(a, "path", path);
  }
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
  state_usage(stderr);
  return CTL_USAGE;
}
