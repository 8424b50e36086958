/* sonoctl_csound.c - the live Csound engine from the command line: `sonoctl
 * compile|instr|synth|bus|table|channel|event|score ...` (the csound.*,
 * instr.*, synth.* operations of PROTOCOL.md; bus, table and channel are
 * in sonoctl_csdata.c, the option reading in sonoctl_verbs.c).
 *
 * Every family is one entry of the main table pointing at ctl_cmd_csound,
 * which picks the family by argv[0] and the verb by argv[1].  Every verb
 * makes one connection, sends one request and prints the reply: with
 * --json the reply's ok map as one line of JSON, else a human form. */
#include "sonoctl_verbs.h"
#include "json.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- compile */

static int f_compile(ctl *g, const char *fam, int argc, char **argv) {
  sono_args *a;
  char *code;

  OPTS("", "FILE|-")
  if ((rc = want_args(fam, NULL, o.npos, 1, 1)) >= 0)
    return rc;
  if ((code = ctl_slurp(o.pos[0], CODE_MAX, NULL)) == NULL)
    return CTL_FAIL;
  a = sono_args_new();
  sono_args_str(a, "code", code);
  free(code);
  return ctl_send_print(g, "csound.compile", a, "compiled");
}

/* ---------------------------------------------------------------- instr */

static int v_instr_define(ctl *g, const char *fam, int argc, char **argv) {
  sono_args *a;
  sono_reply *r;
  char *body, *init = NULL;

  OPTS("P:p:i:", "NAME FILE|- [--param NAME=VALUE]... [--priority N] [--init FILE]")
  if ((rc = want_args(fam, argv[0], o.npos, 2, 2)) >= 0) {
      return rc;
  }
  if ((body = ctl_slurp(o.pos[1], CODE_MAX, NULL)) == NULL ||
      (o.init != NULL && (init = ctl_slurp(o.init, CODE_MAX, NULL)) == NULL)) {
    free(body);
      return CTL_FAIL;
  }
  a = sono_args_new();
  sono_args_str(a, "name", o.pos[0]);
  sono_args_str(a, "body", body);
  if (init != NULL)
    sono_args_str(a, "init", init);
  if (o.priority > 0)
    sono_args_int(a, "priority", o.priority);
  if (o.nparams > 0 && !put_kvs(a, "params", o.params, o.nparams, fam, argv[0], &rc)) {
    sono_args_free(a);
    free(body);
    free(init);
      return rc;
  }
  free(body);
  free(init);
  if ((r = ctl_send(g, "instr.define", a, &rc)) == NULL)
    return rc;
  if (g->json) {
    ctl_print_json(sono_reply_body(r));
  } else {
    printf("defined ");
    ctl_put_str(sono_reply_body(r), "name");
    putchar(':');
    putchar(' ');
    print_params(sono_reply_get(r, "params"));
    putchar('\n');
  }
  sono_reply_free(r);
  return CTL_OK;
}

static int v_instr_list(ctl *g, const char *fam, int argc, char **argv) {
  const msgpack_object *list;
  sono_reply *r;
  uint32_t i;

  OPTS("", "")
  if ((rc = want_args(fam, argv[0], o.npos, 0, 0)) >= 0)
    return rc;
  if ((r = ctl_call(g, "instr.list", NULL, &rc)) == NULL)
    return rc;
  list = sono_reply_get(r, "instrs");
  if (g->json) {
    ctl_print_json(sono_reply_body(r));
  } else if (list == NULL || list->type != MSGPACK_OBJECT_ARRAY || list->via.array.size == 0) {
    puts("no instruments defined");
  } else {
    for (i = 0; i < list->via.array.size; i++) {
      ctl_put_str(&list->via.array.ptr[i], "name");
      fputs("  ", stdout);
      print_params(sono_obj_get(&list->via.array.ptr[i], "params"));
      putchar('\n');
    }
  }
  sono_reply_free(r);
  return CTL_OK;
}

static int v_instr_undefine(ctl *g, const char *fam, int argc, char **argv) {
  sono_args *a;

  OPTS("", "NAME")
  if ((rc = want_args(fam, argv[0], o.npos, 1, 1)) >= 0)
    return rc;
  a = sono_args_new();
  sono_args_str(a, "name", o.pos[0]);
  return ctl_send_print(g, "instr.undefine", a, "undefined");
}

/* ---------------------------------------------------------------- synth */

static int v_synth_start(ctl *g, const char *fam, int argc, char **argv) {
  sono_args *a;
  sono_reply *r;
  uint64_t id = 0, frame = 0;

  OPTS("A:d:D:p:r", "INSTR [NAME=VALUE...] [--at FRAME | --delay SEC] [--dur SEC] [--priority N] "
                   "[--spread]")
  if ((rc = want_args(fam, argv[0], o.npos, 1, -1)) >= 0)
    return rc;
  a = sono_args_new();
  sono_args_str(a, "instr", o.pos[0]);
  if (o.npos > 1 &&
      !put_kvs(a, "args", o.pos + 1, o.npos - 1, fam, argv[0], &rc)) {
    sono_args_free(a);
    return rc;
  }
  if (o.dur >= 0)
    sono_args_double(a, "dur", o.dur);
  if (o.priority > 0)
    sono_args_int(a, "priority", o.priority);
  if (o.spread)
    sono_args_bool(a, "spread", true);
  ctl_args_when(a, &o.w);
  if ((r = ctl_send(g, "synth.start", a, &rc)) == NULL)
    return rc;
  sono_reply_uint(r, "synth", &id);
  sono_reply_uint(r, "frame", &frame);
  if (g->json)
    ctl_print_json(sono_reply_body(r));
  else
    printf("synth %llu at frame %llu\n", (unsigned long long)id, (unsigned long long)frame);
  sono_reply_free(r);
  return CTL_OK;
}

static int v_synth_set(ctl *g, const char *fam, int argc, char **argv) {
  sono_args *a;
  uint64_t id;

  OPTS("A:d:", "SYNTH NAME=VALUE... [--at FRAME | --delay SEC]")
  if ((rc = want_args(fam, argv[0], o.npos, 2, -1)) >= 0 ||
      !parse_id(fam, argv[0], "SYNTH", o.pos[0], &id, &rc))
    return rc;
  a = sono_args_new();
  sono_args_uint(a, "synth", id);
  if (!put_kvs(a, "args", o.pos + 1, o.npos - 1, fam, argv[0], &rc)) {
    sono_args_free(a);
    return rc;
  }
  ctl_args_when(a, &o.w);
  return ctl_send_print(g, "synth.set", a, "set");
}

static int v_synth_automate(ctl *g, const char *fam, int argc, char **argv) {
  sono_args *a;
  uint64_t id;
  int i, n;

  OPTS("A:d:m:", "SYNTH PARAM T0 V0 [T1 V1...] [--mode linear|exp|cos|smooth] "
                 "[--at FRAME | --delay SEC]")
  if ((rc = want_args(fam, argv[0], o.npos, 4, -1)) >= 0 ||
      !parse_id(fam, argv[0], "SYNTH", o.pos[0], &id, &rc))
    return rc;
  n = o.npos - 2;
  if (n % 2 != 0)
    return usage_err(fam, argv[0], "%s", "points come in pairs: T0 V0 T1 V1 ...");
  a = sono_args_new();
  sono_args_uint(a, "synth", id);
  sono_args_str(a, "param", o.pos[1]);
  sono_args_begin_array(a, "points");
  for (i = 0; i < n; i++) {
    double v;
    if (!ctl_parse_double(o.pos[2 + i], &v)) {
      sono_args_free(a);
      return usage_err(fam, argv[0], "points are numbers, not '%s'", o.pos[2 + i]);
    }
    sono_args_double(a, NULL, v);
  }
  sono_args_end(a);
  if (o.mode != NULL)
    sono_args_str(a, "mode", o.mode);
  ctl_args_when(a, &o.w);
  return ctl_send_print(g, "synth.automate", a, "automated");
}

static int v_synth_stop(ctl *g, const char *fam, int argc, char **argv) {
  OPTS("A:d:", "SYNTH [--at FRAME | --delay SEC]")
  return send_id(g, fam, argv[0], &o, "SYNTH", "synth", "synth.stop", "stopped");
}

static int v_synth_list(ctl *g, const char *fam, int argc, char **argv) {
  const msgpack_object *list;
  sono_reply *r;
  uint32_t i;

  OPTS("", "")
  if ((rc = want_args(fam, argv[0], o.npos, 0, 0)) >= 0)
    return rc;
  if ((r = ctl_call(g, "synth.list", NULL, &rc)) == NULL)
    return rc;
  list = sono_reply_get(r, "synths");
  if (g->json) {
    ctl_print_json(sono_reply_body(r));
  } else if (list == NULL || list->type != MSGPACK_OBJECT_ARRAY || list->via.array.size == 0) {
    puts("no synths");
  } else {
    for (i = 0; i < list->via.array.size; i++) {
      uint64_t id = 0;
      sono_obj_uint(&list->via.array.ptr[i], "synth", &id);
      printf("%llu  ", (unsigned long long)id);
      ctl_put_str(&list->via.array.ptr[i], "instr");
      putchar('\n');
    }
  }
  sono_reply_free(r);
  return CTL_OK;
}

static int v_synth_get(ctl *g, const char *fam, int argc, char **argv) {
  sono_args *a;
  sono_reply *r;
  uint64_t id;

  OPTS("", "SYNTH")
  if ((rc = want_args(fam, argv[0], o.npos, 1, 1)) >= 0 ||
      !parse_id(fam, argv[0], "SYNTH", o.pos[0], &id, &rc))
    return rc;
  a = sono_args_new();
  sono_args_uint(a, "synth", id);
  if ((r = ctl_send(g, "synth.get", a, &rc)) == NULL)
    return rc;
  if (g->json) {
    ctl_print_json(sono_reply_body(r));
  } else {
    printf("synth %llu ", (unsigned long long)id);
    ctl_put_str(sono_reply_body(r), "instr");
    fputs(": ", stdout);
    print_params(sono_reply_get(r, "params"));
    putchar('\n');
  }
  sono_reply_free(r);
  return CTL_OK;
}

/* ---------------------------------------------------------------- score */

static int f_event(ctl *g, const char *fam, int argc, char **argv) {
  sono_args *a;

  OPTS("A:d:r", "\"LINE\" [--at FRAME | --delay SEC] [--spread]")
  if ((rc = want_args(fam, NULL, o.npos, 1, 1)) >= 0)
    return rc;
  a = sono_args_new();
  sono_args_str(a, "line", o.pos[0]);
  if (o.spread)
    sono_args_bool(a, "spread", true);
  ctl_args_when(a, &o.w);
  return ctl_send_print(g, "csound.event", a, "queued");
}

static int f_score(ctl *g, const char *fam, int argc, char **argv) {
  sono_args *a;
  char *text;

  OPTS("A:d:r", "FILE|- [--at FRAME | --delay SEC] [--spread]")
  if ((rc = want_args(fam, NULL, o.npos, 1, 1)) >= 0)
    return rc;
  if ((text = ctl_slurp(o.pos[0], CODE_MAX, NULL)) == NULL)
    return CTL_FAIL;
  a = sono_args_new();
  sono_args_str(a, "text", text);
  free(text);
  if (o.spread)
    sono_args_bool(a, "spread", true);
  ctl_args_when(a, &o.w);
  return ctl_send_print(g, "csound.score", a, "queued");
}

/* ---------------------------------------------------------------- verbs */

static const verb instr_verbs[] = {
  {"define", v_instr_define, "NAME FILE|- [--param NAME=VALUE]... [--priority N] [--init FILE]",
   "define (or replace) an instrument from a file of instrument code (no instr/endin)"},
  {"list", v_instr_list, "", "list instruments and their parameter defaults"},
  {"undefine", v_instr_undefine, "NAME", "remove an instrument"},
  {NULL, NULL, NULL, NULL},
};

static const verb synth_verbs[] = {
  {"start", v_synth_start,
   "INSTR [NAME=VALUE...] [--at FRAME | --delay SEC] [--dur SEC] [--priority N] [--spread]",
   "start a synth; prints its id"},
  {"set", v_synth_set, "SYNTH NAME=VALUE... [--at FRAME | --delay SEC]",
   "set k-rate parameters"},
  {"automate", v_synth_automate,
   "SYNTH PARAM T0 V0 [T1 V1...] [--mode linear|exp|cos|smooth] [--at FRAME | --delay SEC]",
   "move a parameter along breakpoints (seconds, values)"},
  {"stop", v_synth_stop, "SYNTH [--at FRAME | --delay SEC]", "stop (or cancel) a synth"},
  {"list", v_synth_list, "", "live and pending synths: ID  INSTR"},
  {"get", v_synth_get, "SYNTH", "current parameter values"},
  {NULL, NULL, NULL, NULL},
};

static const family families[] = {
  {"compile", NULL, f_compile, "FILE|-", "compile orchestra code into the live Csound"},
  {"instr", instr_verbs, NULL, NULL, NULL},
  {"synth", synth_verbs, NULL, NULL, NULL},
  {"bus", bus_verbs, NULL, NULL, NULL},
  {"table", table_verbs, NULL, NULL, NULL},
  {"channel", channel_verbs, NULL, NULL, NULL},
  {"event", NULL, f_event, "\"LINE\" [--at FRAME | --delay SEC] [--spread]",
   "send one score line"},
  {"score", NULL, f_score, "FILE|- [--at FRAME | --delay SEC] [--spread]",
   "send score lines timed from --at/--delay"},
};

int ctl_cmd_csound(ctl *g, int argc, char **argv) {
  return run_family(families, sizeof families / sizeof families[0], g, argc, argv);
}
