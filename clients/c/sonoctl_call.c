/* sonoctl_call.c - `sonoctl call OP [JSON]`: any request, for operations
 * that have no subcommand of their own yet. */
#include "sonoctl.h"
#include "json.h"

#include <stdio.h>
#include <string.h>

int ctl_cmd_call(ctl *g, int argc, char **argv) {
  char why[256] = "";
  sono_args *a;
  sono_conn *c;
  sono_reply *r;
  sono_error e;
  int rc;

  if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))
    return ctl_help(argv[0]);
  if (argc < 2 || argc > 3)
    return ctl_usage(argv[0], "usage: call OP [JSON-OBJECT]");
  a = sono_args_new();
  if (a == NULL) {
    fputs("sonoctl: out of memory\n", stderr);
    return CTL_FAIL;
  }
  if (argc == 3 && json_to_args(argv[2], a, why, sizeof why) != 0) {
    sono_args_free(a);
    return ctl_usage(argv[0], "%s", why[0] ? why : "bad JSON");
  }
  if ((c = ctl_connect(g)) == NULL) {
    sono_args_free(a);
    return CTL_FAIL;
  }
  rc = sono_call(c, argv[1], a, &r, &e);
  sono_args_free(a);
  sono_close(c);
  if (rc != 0)
    return ctl_fail(&e);
  /* Replies of unknown operations have no human form: always JSON. */
  ctl_print_json(sono_reply_body(r));
  sono_reply_free(r);
  return CTL_OK;
}
