/* sonoctl_csdata.c - the live Csound engine's data from the command line:
 * `sonoctl bus|table|channel VERB ...` (the bus.*, table.* and channel.*
 * operations of PROTOCOL.md).  Each verb makes one connection, sends one
 * request and prints the reply (--json: the ok map as one line of JSON). */
#include "sonoctl_verbs.h"
#include "json.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- bus */

static int v_bus_new(ctl *g, const char *fam, int argc, char **argv) {
  sono_args *a;
  sono_reply *r;
  uint64_t bus = 0;

  OPTS("", "audio|control")
  if ((rc = want_args(fam, argv[0], o.npos, 1, 1)) >= 0)
    return rc;
  a = sono_args_new();
  sono_args_str(a, "kind", o.pos[0]);
  if ((r = ctl_send(g, "bus.new", a, &rc)) == NULL)
    return rc;
  sono_reply_uint(r, "bus", &bus);
  if (g->json)
    ctl_print_json(sono_reply_body(r));
  else
    printf("bus %llu (%s)\n", (unsigned long long)bus, o.pos[0]);
  sono_reply_free(r);
  return CTL_OK;
}

static int v_bus_get(ctl *g, const char *fam, int argc, char **argv) {
  sono_args *a;
  uint64_t bus;

  OPTS("", "BUS")
  if ((rc = want_args(fam, argv[0], o.npos, 1, 1)) >= 0 ||
      !parse_id(fam, argv[0], "BUS", o.pos[0], &bus, &rc))
    return rc;
  a = sono_args_new();
  sono_args_uint(a, "bus", bus);
  return send_print_value(g, "bus.get", a);
}

static int v_bus_set(ctl *g, const char *fam, int argc, char **argv) {
  sono_args *a;
  uint64_t bus;
  double v;

  OPTS("A:d:", "BUS VALUE [--at FRAME | --delay SEC]")
  if ((rc = want_args(fam, argv[0], o.npos, 2, 2)) >= 0 ||
      !parse_id(fam, argv[0], "BUS", o.pos[0], &bus, &rc))
    return rc;
  if (!ctl_parse_double(o.pos[1], &v))
    return usage_err(fam, argv[0], "VALUE is a number, not '%s'", o.pos[1]);
  a = sono_args_new();
  sono_args_uint(a, "bus", bus);
  sono_args_double(a, "value", v);
  ctl_args_when(a, &o.w);
  return ctl_send_print(g, "bus.set", a, "set");
}

static int v_bus_free(ctl *g, const char *fam, int argc, char **argv) {
  OPTS("", "BUS")
  return send_id(g, fam, argv[0], &o, "BUS", "bus", "bus.free", "freed");
}

/* ---------------------------------------------------------------- table */

static int v_table_new(ctl *g, const char *fam, int argc, char **argv) {
  sono_args *a;
  sono_reply *r;
  uint64_t tab = 0, size = 0;
  int i, n;

  OPTS("S:", "--size N | VALUE...")
  n = o.npos;
  if (o.has_size == (n > 0))
    return usage_err(fam, argv[0], "%s", "give --size N or the values, one of them");
  a = sono_args_new();
  if (o.has_size) {
    sono_args_uint(a, "size", o.size);
  } else {
    sono_args_begin_array(a, "data");
    for (i = 0; i < n; i++) {
      double v;
      if (!ctl_parse_double(o.pos[i], &v)) {
        sono_args_free(a);
        return usage_err(fam, argv[0], "values are numbers, not '%s'", o.pos[i]);
      }
      sono_args_double(a, NULL, v);
    }
    sono_args_end(a);
  }
  if ((r = ctl_send(g, "table.new", a, &rc)) == NULL)
    return rc;
  sono_reply_uint(r, "table", &tab);
  sono_reply_uint(r, "size", &size);
  if (g->json)
    ctl_print_json(sono_reply_body(r));
  else
    printf("table %llu (%llu values)\n", (unsigned long long)tab, (unsigned long long)size);
  sono_reply_free(r);
  return CTL_OK;
}

static int v_table_read(ctl *g, const char *fam, int argc, char **argv) {
  char path[PATH_MAX];
  sono_args *a;
  sono_reply *r;
  uint64_t tab = 0, chans = 0;
  double sr = 0;

  OPTS("", "PATH")
  if ((rc = want_args(fam, argv[0], o.npos, 1, 1)) >= 0)
    return rc;
  /* The daemon has its own working directory: send an absolute path. */
  if (o.pos[0][0] != '/' && getcwd(path, sizeof path) != NULL &&
      strlen(path) + strlen(o.pos[0]) + 2 <= sizeof path) {
    strcat(path, "/");
    strcat(path, o.pos[0]);
  } else {
    snprintf(path, sizeof path, "%s", o.pos[0]);
  }
  a = sono_args_new();
  sono_args_str(a, "path", path);
  if ((r = ctl_send(g, "table.read", a, &rc)) == NULL)
    return rc;
  sono_reply_uint(r, "table", &tab);
  sono_reply_uint(r, "channels", &chans);
  sono_reply_double(r, "sr", &sr);
  if (g->json)
    ctl_print_json(sono_reply_body(r));
  else
    printf("table %llu (%llu channels, %g Hz)\n", (unsigned long long)tab,
           (unsigned long long)chans, sr);
  sono_reply_free(r);
  return CTL_OK;
}

static int v_table_get(ctl *g, const char *fam, int argc, char **argv) {
  const msgpack_object *data;
  sono_args *a;
  sono_reply *r;
  uint64_t tab;
  uint32_t i;

  OPTS("s:c:", "TABLE [--start I] [--count N]")
  if ((rc = want_args(fam, argv[0], o.npos, 1, 1)) >= 0 ||
      !parse_id(fam, argv[0], "TABLE", o.pos[0], &tab, &rc))
    return rc;
  a = sono_args_new();
  sono_args_uint(a, "table", tab);
  sono_args_uint(a, "start", o.start);
  if (o.has_count)
    sono_args_uint(a, "count", o.count);
  if ((r = ctl_send(g, "table.get", a, &rc)) == NULL)
    return rc;
  data = sono_reply_get(r, "data");
  if (g->json) {
    ctl_print_json(sono_reply_body(r));
  } else if (data != NULL && data->type == MSGPACK_OBJECT_ARRAY) {
    /* One value per line: easy to feed to other tools. */
    for (i = 0; i < data->via.array.size; i++)
      printf("%s\n", json_shortest((char[40]){0}, 40, data->via.array.ptr[i].via.f64));
  }
  sono_reply_free(r);
  return CTL_OK;
}

static int v_table_set(ctl *g, const char *fam, int argc, char **argv) {
  sono_args *a;
  uint64_t tab;
  int i;

  OPTS("s:A:d:", "TABLE VALUE... [--start I] [--at FRAME | --delay SEC]")
  if ((rc = want_args(fam, argv[0], o.npos, 2, -1)) >= 0 ||
      !parse_id(fam, argv[0], "TABLE", o.pos[0], &tab, &rc))
    return rc;
  a = sono_args_new();
  sono_args_uint(a, "table", tab);
  sono_args_uint(a, "start", o.start);
  sono_args_begin_array(a, "data");
  for (i = 1; i < o.npos; i++) {
    double v;
    if (!ctl_parse_double(o.pos[i], &v)) {
      sono_args_free(a);
      return usage_err(fam, argv[0], "values are numbers, not '%s'", o.pos[i]);
    }
    sono_args_double(a, NULL, v);
  }
  sono_args_end(a);
  ctl_args_when(a, &o.w);
  return ctl_send_print(g, "table.set", a, "set");
}

static int v_table_free(ctl *g, const char *fam, int argc, char **argv) {
  OPTS("", "TABLE")
  return send_id(g, fam, argv[0], &o, "TABLE", "table", "table.free", "freed");
}

/* ---------------------------------------------------------------- channel */

static int v_channel_set(ctl *g, const char *fam, int argc, char **argv) {
  sono_args *a;
  double v;

  OPTS("A:d:", "NAME VALUE [--at FRAME | --delay SEC]")
  if ((rc = want_args(fam, argv[0], o.npos, 2, 2)) >= 0)
    return rc;
  if (!ctl_parse_double(o.pos[1], &v))
    return usage_err(fam, argv[0], "VALUE is a number, not '%s'", o.pos[1]);
  a = sono_args_new();
  sono_args_str(a, "name", o.pos[0]);
  sono_args_double(a, "value", v);
  ctl_args_when(a, &o.w);
  return ctl_send_print(g, "channel.set", a, "set");
}

static int v_channel_get(ctl *g, const char *fam, int argc, char **argv) {
  sono_args *a;

  OPTS("", "NAME")
  if ((rc = want_args(fam, argv[0], o.npos, 1, 1)) >= 0)
    return rc;
  a = sono_args_new();
  sono_args_str(a, "name", o.pos[0]);
  return send_print_value(g, "channel.get", a);
}

/* ---------------------------------------------------------------- verbs */

const verb bus_verbs[] = {
  {"new", v_bus_new, "audio|control", "make a bus; prints its number"},
  {"get", v_bus_get, "BUS", "a control bus's value"},
  {"set", v_bus_set, "BUS VALUE [--at FRAME | --delay SEC]", "set a control bus"},
  {"free", v_bus_free, "BUS", "release a bus (reclaimed when its last user ends)"},
  {NULL, NULL, NULL, NULL},
};

const verb table_verbs[] = {
  {"new", v_table_new, "--size N | VALUE...", "a zero table of N values, or one of the values"},
  {"read", v_table_read, "PATH", "a table from a sound file (read by the daemon)"},
  {"get", v_table_get, "TABLE [--start I] [--count N]", "values, one per line"},
  {"set", v_table_set, "TABLE VALUE... [--start I] [--at FRAME | --delay SEC]", "write values"},
  {"free", v_table_free, "TABLE", "free a table"},
  {NULL, NULL, NULL, NULL},
};

const verb channel_verbs[] = {
  {"set", v_channel_set, "NAME VALUE [--at FRAME | --delay SEC]",
   "set a Csound control channel (chnget \"NAME\")"},
  {"get", v_channel_get, "NAME", "a control channel's value"},
  {NULL, NULL, NULL, NULL},
};
