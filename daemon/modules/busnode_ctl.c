/* busnode_ctl.c - the graph's `bus` nodes.  See busnode_ctl.h and
 * ARCHITECTURE.md, "Routing graph". */
#include "daemon/modules/busnode_ctl.h"

#include "daemon/engine/module.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/csound/cs_engine.h"
#include "daemon/modules/csound_ctl.h"
#include "daemon/modules/graph_ctl.h"
#include "daemon/base/log.h"
#include "daemon/modules/plugin_ctl.h"
#include "daemon/rt/csound_rt.h"
#include "protocol/errors.h"

typedef struct busnode {
  uint32_t id;
  unsigned n;
  int bus[BUSNODE_MAX_BUSES];
  int tap[BUSNODE_MAX_BUSES];
  float *buf[BUSNODE_MAX_BUSES];  /* the node's ext_out; the engine owns them */
  bool removing;                  /* deleted: fading out, or gone */
  bool gone;                      /* out of the graph: released after a plan */
  struct busnode *next;
} busnode;

static busnode *nodes;

static busnode *find(uint32_t id) {
  busnode *b;

  for (b = nodes; b != NULL; b = b->next)
    if (b->id == id)
      return b;
  return NULL;
}

uint32_t busnode_ctl_exposing(int bus) {
  busnode *b;
  unsigned k;

  for (b = nodes; b != NULL; b = b->next)
    for (k = 0; k < b->n && !b->removing; k++)
      if (b->bus[k] == bus)
        return b->id;
  return 0;
}

bool busnode_ctl_removing(uint32_t id) {
  busnode *b = find(id);

  return b != NULL && b->removing;
}

const int *busnode_ctl_buses(uint32_t id, unsigned *n) {
  busnode *b = find(id);

  if (b == NULL)
    return NULL;
  *n = b->n;
  return b->bus;
}

static void untap(cs_engine *eng, busnode *b, unsigned count) {
  cs_error e;
  unsigned k;

  for (k = 0; k < count; k++)
    if (cs_bus_untap(eng, b->tap[k], &e) != 0)
      /* The buffer stays the engine's, freed when it is destroyed. */
      log_warn("graph: bus node %u: bus %d not untapped: %s", b->id, b->bus[k], e.msg);
}

static int fail(const char **code, const char *c, char *msg, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail(const char **code, const char *c, char *msg, size_t len, const char *fmt, ...) {
  va_list ap;

  *code = c;
  va_start(ap, fmt);
  vsnprintf(msg, len, fmt, ap);
  va_end(ap);
  return -1;
}

int busnode_ctl_new(sonod *d, const int64_t *buses, unsigned n, uint32_t *id, const char **code,
                    char *msg, size_t len) {
  cs_engine *eng = csound_ctl_engine();
  rt_csound *rc = d->eng.csound;
  busnode *b;
  char name[64];
  size_t off;
  unsigned k, j;
  cs_error e;
  gnode *gn;

  if (eng == NULL || rc == NULL)
    return fail(code, SONO_E_NOT_SUPPORTED, msg, len, "the Csound engine is not running");
  if (n == 0 || n > BUSNODE_MAX_BUSES)
    return fail(code, SONO_E_BAD_VALUE, msg, len, "'buses' must hold 1 to %d audio buses",
                BUSNODE_MAX_BUSES);
  for (k = 0; k < n; k++) {
    if (buses[k] < 0 || buses[k] > INT32_MAX || cs_bus_state(eng, (int)buses[k]) != 1)
      return fail(code, SONO_E_UNKNOWN_BUS, msg, len, "no bus %lld", (long long)buses[k]);
    for (j = 0; j < k; j++)
      if (buses[j] == buses[k])
        return fail(code, SONO_E_BAD_VALUE, msg, len, "bus %lld is listed twice",
                    (long long)buses[k]);
    if ((*id = busnode_ctl_exposing((int)buses[k])) != 0)
      return fail(code, SONO_E_BUSY, msg, len, "bus %lld is already exposed by graph node %u",
                  (long long)buses[k], *id);
  }
  if ((b = calloc(1, sizeof *b)) == NULL)
    return fail(code, SONO_E_INTERNAL, msg, len, "out of memory");
  b->n = n;
  for (k = 0; k < n; k++) {
    int rcode;

    b->bus[k] = (int)buses[k];
    /* As long as Csound's scratch: every block it renders fits. */
    if ((b->buf[k] = calloc(rc->cap, sizeof(float))) == NULL) {
      rcode = CS_ENOMEM;
      snprintf(e.msg, sizeof e.msg, "out of memory");
    } else {
      rcode = cs_bus_tap(eng, b->bus[k], b->buf[k], rc->cap, &b->tap[k], &e);
    }
    if (rcode != 0) {
      /* Never in a plan: the taps made so far can go at once. */
      free(b->buf[k]);
      untap(eng, b, k);
      free(b);
      return fail(code,
                  rcode == CS_EINVAL   ? SONO_E_BAD_VALUE
                  : rcode == CS_EAGAIN ? SONO_E_QUEUE_FULL
                  : rcode == CS_ELIMIT ? SONO_E_LIMIT
                  : rcode == CS_ENOENT ? SONO_E_UNKNOWN_BUS
                                       : SONO_E_INTERNAL,
                  msg, len, "%s", e.msg);
    }
  }
  b->id = plugin_ctl_take_id();
  off = (size_t)snprintf(name, sizeof name, "bus %d", b->bus[0]);
  for (k = 1; k < n && off < sizeof name; k++)
    off += (size_t)snprintf(name + off, sizeof name - off, ",%d", b->bus[k]);
  if ((gn = graph_add_node(graph_ctl_graph(), b->id, GN_BUS, name, 0, n)) == NULL) {
    untap(eng, b, n);
    free(b);
    return fail(code, SONO_E_INTERNAL, msg, len, "out of memory");
  }
  gn->ext_out = b->buf;
  b->next = nodes;
  nodes = b;
  *id = b->id;
  return 0;
}

/* The plan without the node has settled: no plan in use reads the
 * buffers any more, so Csound may stop filling them and hand them back. */
static void release(sonod *d, uint32_t id) {
  busnode **pp, *b;

  (void)d;
  for (pp = &nodes; *pp != NULL; pp = &(*pp)->next)
    if ((*pp)->id == id)
      break;
  if ((b = *pp) == NULL)
    return;
  *pp = b->next;
  if (csound_ctl_engine() != NULL)
    untap(csound_ctl_engine(), b, b->n);
  free(b);
}

void busnode_ctl_gone(sonod *d, uint32_t id) {
  busnode *b = find(id);

  (void)d;
  if (b == NULL || b->gone)
    return;
  b->removing = true;
  b->gone = true;
  if (graph_ctl_after_plan(release, id) != 0)
    /* Never released: the taps and buffers stay until the engine goes. */
    log_error("graph: out of memory: bus node %u keeps its buffers", id);
}

int busnode_ctl_delete(sonod *d, uint32_t id) {
  busnode *b = find(id);

  if (b == NULL || b->removing)
    return -1;
  if (graph_ctl_fade_out_node(d, id)) {
    b->removing = true;
    return 1;
  }
  busnode_ctl_gone(d, id);
  graph_remove_node(graph_ctl_graph(), id);
  return 0;
}

unsigned busnode_ctl_remove_all(sonod *d) {
  unsigned count = 0;
  busnode *b;

  for (b = nodes; b != NULL; b = b->next) {
    if (b->gone)
      continue;
    busnode_ctl_gone(d, b->id);
    graph_remove_node(graph_ctl_graph(), b->id);
    count++;
  }
  return count;
}

static void busnode_ctl_shutdown(void) {
  while (nodes != NULL) {
    busnode *b = nodes;

    nodes = b->next;
    free(b);
  }
}

static void busnode_ctl_stop(sonod *d) {
  (void)d;
  busnode_ctl_shutdown();
}

/* Registered before the Csound module: its shutdown runs first, before the
 * Csound engine is destroyed (which frees the buffers still tapped). */
const engine_module busnode_ctl_module = {
  .name = "busnode",
  .shutdown = busnode_ctl_stop,
};
