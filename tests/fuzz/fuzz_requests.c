/* fuzz_requests.c - libFuzzer harness: bytes from a client, through the
 * framer, the pre-unpack scan and every op, on a whole sonod running the
 * offline backend in this process.
 *
 * One sonod lives for the whole run (like a daemon serving one client that
 * sends everything libFuzzer makes up).  The client is a fake: its
 * connection is never started, so nothing is read from or written to a
 * socket; each input is fed to its framer as if it had arrived, the loop
 * runs until it is idle, and whatever was queued for the client (replies
 * and events) is checked to be well-formed frames of valid msgpack whose
 * strings are UTF-8, then dropped.
 *
 * What a request may touch outside the process is fenced in, so the run is
 * harmless on a developer's machine:
 *   - every `path` or `dir` argument (at any depth) must lie in the run's
 *     sandbox directory; the corpus writes it as /tmp/sonod-fuzz-XXXXXX,
 *     which the harness replaces with the real one (same length, so the
 *     msgpack stays valid); plugins load from the sandbox, where test
 *     plugins are linked in;
 *   - `render` is capped at one second of audio; each time RENDER_BUDGET
 *     frames went by, every regular file over 64 KiB in the sandbox is
 *     truncated to nothing (the output file grows with every render, a
 *     recording with it, saved sessions with every new name; the renderer
 *     goes on writing past the end, which leaves a sparse file), so
 *     renders go on all run long;
 *   - `shutdown` is not passed on (the daemon would stop serving);
 *   - requests that may compile Csound code (csound.compile, instr.define,
 *     state.load, and synth.start or bundle with a `priority`) are capped
 *     at COMPILE_BUDGET per run: every compile keeps memory Csound never
 *     gives back (PROTOCOL.md, the documented cost of a changed body), so
 *     without a cap the run's RSS grows until the limit stops it;
 *   - `node.new` is skipped while the graph holds NODES_MAX nodes: gain
 *     nodes have no limit, and every graph change, `state.save`,
 *     `graph.get` and meter snapshot costs what the graph holds (a run
 *     without the cap had 8 245 nodes after three minutes and spent its
 *     time packing them).  NODES_MAX is above RT_POOL_MAX_NODES, so plans
 *     too big for the worker pool stay reachable.
 * Requests outside the fence are skipped, not answered.  Everything else
 * reaches the daemon unchanged. */
#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/backend/backend.h"
#include "daemon/base/log.h"
#include "daemon/base/sonod.h"
#include "daemon/engine/engine_ctl.h"
#include "daemon/engine/module.h"
#include "daemon/modules/busnode_ctl.h"
#include "daemon/modules/csound_ctl.h"
#include "daemon/modules/csound_state.h"
#include "daemon/modules/graph_ctl.h"
#include "daemon/modules/graph_state.h"
#include "daemon/modules/meter_ctl.h"
#include "daemon/modules/midi_state.h"
#include "daemon/modules/plugin_ctl.h"
#include "daemon/modules/plugin_state.h"
#include "daemon/modules/record_ctl.h"
#include "daemon/net/client.h"
#include "daemon/net/request.h"
#include "daemon/ops/ops.h"
#include "daemon/session/section.h"
#include "daemon/session/session.h"
#include "protocol/frame.h"
#include "protocol/scan.h"
#include "protocol/wire.h"

#define SANDBOX_TEMPLATE "/tmp/sonod-fuzz-XXXXXX"
#define SAMPLE_RATE 8000u
#define RENDER_MAX SAMPLE_RATE                     /* frames per render */
#define RENDER_BUDGET (600ull * SAMPLE_RATE)       /* frames between trims: 10 minutes */
#define TRIM_BYTES (64l << 10)                      /* files larger are trimmed */
#define COMPILE_BUDGET 1000u                        /* requests that may compile, per run */
#define NODES_MAX 1100u                             /* node.new skipped from there on */

static sonod D;
static client *C;
static char sandbox[] = SANDBOX_TEMPLATE;
static uint64_t rendered;
static unsigned compiling;

static void fail(const char *what) {
  fprintf(stderr, "fuzz_requests: %s\n", what);
  abort();
}

/* The daemon asked to stop (only `shutdown` does, and it is fenced off). */
static void on_shutdown(sonod *d, const char *reason) {
  (void)d;
  fprintf(stderr, "fuzz_requests: the daemon asked to shut down: %s\n", reason);
  abort();
}

static void on_wake(uv_async_t *h) {
  sonod *d = h->data;

  engine_ctl_drain(d);
  d->be->ops->poll(d->be);
}

static void wake(void *ctx) {
  uv_async_send(ctx);
}

static const engine_module *const modules[] = {
  &meter_ctl_module, &record_ctl_module, &graph_ctl_module,
  &busnode_ctl_module, &plugin_ctl_module, &csound_ctl_module,
};

static const session_section *const sections[] = {
  &plugin_state_section, &csound_state_section, &graph_state_section, &midi_state_section,
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  remove(path);
  return 0;
}

static void cleanup(void) {
  nftw(sandbox, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int trim_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)ftw;
  if (flag == FTW_F && S_ISREG(st->st_mode) && st->st_size > TRIM_BYTES)
    if (truncate(path, 0) != 0)
      return 0;   /* left as it is: the next trim tries again */
  return 0;
}

/* Empties the big files of the sandbox (symbolic links, as the test
 * plugins are, are not followed). */
static void trim_sandbox(void) {
  nftw(sandbox, trim_entry, 16, FTW_PHYS);
}

static void on_ready(sonod *d) {
  d->hold_clients = false;
}

/* Links the test plugins the build names in $FUZZ_PLUGINS (paths separated
 * by ':') into the sandbox, as 1.so, 2.so, ... */
static void link_plugins(void) {
  const char *list = getenv("FUZZ_PLUGINS");
  char *copy, *tok, *save = NULL, link[PATH_MAX];
  int n = 0;

  if (list == NULL)
    return;
  copy = strdup(list);
  for (tok = strtok_r(copy, ":", &save); tok != NULL; tok = strtok_r(NULL, ":", &save)) {
    snprintf(link, sizeof link, "%s/%d.so", sandbox, ++n);
    if (symlink(tok, link) != 0)
      fail("cannot link a test plugin into the sandbox");
  }
  free(copy);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  char err[512];
  (void)argc;
  (void)argv;

  if (mkdtemp(sandbox) == NULL)
    fail("mkdtemp");
  atexit(cleanup);
  link_plugins();
  log_set_level(getenv("FUZZ_VERBOSE") ? LOG_DEBUG : LOG_ERROR + 1);

  options_defaults(&D.opt);
  D.opt.backend = BACKEND_OFFLINE;
  D.opt.sample_rate = SAMPLE_RATE;
  D.opt.block_size = 64;
  D.opt.channels = 2;
  D.opt.no_restore = 1;
  snprintf(D.opt.output, sizeof D.opt.output, "%s/out.wav", sandbox);
  if (options_check(&D.opt, err, sizeof err) != 0)
    fail(err);

  D.loop = uv_default_loop();
  D.ops = ops_table;
  D.on_shutdown = on_shutdown;
  for (size_t i = 0; i < sizeof modules / sizeof modules[0]; i++)
    engine_ctl_register(&D, modules[i]);
  for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
    session_register(sections[i]);
  D.started_ns = sonod_now_ns();
  if (engine_init(&D.eng, D.opt.sample_rate, D.opt.channels) != 0)
    fail("engine_init");
  uv_async_init(D.loop, &D.wake, on_wake);
  D.wake.data = &D;
  D.eng.wake = wake;
  D.eng.wake_ctx = &D.wake;
  D.be = backend_create(&D, engine_ctl_backend_hooks(), err, sizeof err);
  if (D.be == NULL)
    fail(err);
  D.eng.sample_rate = D.be->sample_rate;
  if (csound_ctl_start(&D, err, sizeof err) != 0 || graph_ctl_start(&D) != 0)
    fail(err);
  if (D.be->ops->start(D.be, err, sizeof err) != 0)
    fail(err);
  D.hold_clients = true;
  session_start(&D, on_ready);
  while (D.hold_clients)
    uv_run(D.loop, UV_RUN_ONCE);

  C = client_new(&D, false);
  if (C == NULL)
    fail("client_new");
  return 0;
}

/* ---- the fence ---------------------------------------------------------- */

static bool str_is(const msgpack_object *o, const char *s) {
  return o->type == MSGPACK_OBJECT_STR && o->via.str.size == strlen(s) &&
         memcmp(o->via.str.ptr, s, o->via.str.size) == 0;
}

static bool path_ok(const msgpack_object *v) {
  size_t n = strlen(sandbox);

  if (v->type != MSGPACK_OBJECT_STR)
    return true;   /* the daemon refuses it: bad_type */
  if (v->via.str.size < n + 2 || memcmp(v->via.str.ptr, sandbox, n) != 0 ||
      v->via.str.ptr[n] != '/')
    return false;
  for (uint32_t i = 0; i < v->via.str.size; i++)
    if (v->via.str.ptr[i] == '\0' ||
        (i + 1 < v->via.str.size && v->via.str.ptr[i] == '.' && v->via.str.ptr[i + 1] == '.'))
      return false;
  return true;
}

static bool fenced(const msgpack_object *o, unsigned depth) {
  if (depth > SONO_SCAN_MAX_DEPTH + 1)
    return false;
  if (o->type == MSGPACK_OBJECT_ARRAY) {
    for (uint32_t i = 0; i < o->via.array.size; i++)
      if (!fenced(&o->via.array.ptr[i], depth + 1))
        return false;
  } else if (o->type == MSGPACK_OBJECT_MAP) {
    for (uint32_t i = 0; i < o->via.map.size; i++) {
      const msgpack_object_kv *kv = &o->via.map.ptr[i];

      if ((str_is(&kv->key, "path") || str_is(&kv->key, "dir")) && !path_ok(&kv->val))
        return false;
      if (!fenced(&kv->val, depth + 1))
        return false;
    }
  }
  return true;
}

/* How many frames a render request asks for; UINT64_MAX when too many. */
static uint64_t render_frames(const msgpack_object *m) {
  const msgpack_object *f = sono_map_get(m, "frames"), *s = sono_map_get(m, "seconds");

  if (f == NULL && s == NULL)
    return UINT64_MAX;   /* to --length: there is none, refused, but cheap either way */
  if (f != NULL && f->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
    return f->via.u64 <= RENDER_MAX ? f->via.u64 : UINT64_MAX;
  if (s != NULL && (s->type == MSGPACK_OBJECT_FLOAT64 || s->type == MSGPACK_OBJECT_FLOAT32))
    return s->via.f64 >= 0 && s->via.f64 <= 1.0 ? (uint64_t)(s->via.f64 * SAMPLE_RATE) + 1
                                                 : UINT64_MAX;
  if (s != NULL && s->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
    return s->via.u64 <= 1 ? s->via.u64 * SAMPLE_RATE : UINT64_MAX;
  return 0;   /* a type the daemon refuses */
}

/* Whether o holds the key `priority` at any depth. */
static bool has_priority(const msgpack_object *o, unsigned depth) {
  if (depth > SONO_SCAN_MAX_DEPTH + 1)
    return false;
  if (o->type == MSGPACK_OBJECT_ARRAY) {
    for (uint32_t i = 0; i < o->via.array.size; i++)
      if (has_priority(&o->via.array.ptr[i], depth + 1))
        return true;
  } else if (o->type == MSGPACK_OBJECT_MAP) {
    for (uint32_t i = 0; i < o->via.map.size; i++)
      if (str_is(&o->via.map.ptr[i].key, "priority") ||
          has_priority(&o->via.map.ptr[i].val, depth + 1))
        return true;
  }
  return false;
}

/* Whether request m may make Csound compile code. */
static bool may_compile(const msgpack_object *m, const msgpack_object *op) {
  if (op == NULL)
    return false;
  if (str_is(op, "csound.compile") || str_is(op, "instr.define") || str_is(op, "state.load"))
    return true;
  return (str_is(op, "synth.start") || str_is(op, "bundle")) && has_priority(m, 1);
}

/* Whether the daemon may see this frame. */
static bool allowed(const char *payload, size_t len) {
  msgpack_unpacked msg;
  sono_scan_result sr;
  size_t off = 0;
  bool ok = true;

  if (sono_scan(payload, len, &sr) != SONO_SCAN_OK)
    return true;   /* refused before unpacking */
  msgpack_unpacked_init(&msg);
  if (msgpack_unpack_next(&msg, payload, len, &off) == MSGPACK_UNPACK_SUCCESS &&
      msg.data.type == MSGPACK_OBJECT_MAP) {
    const msgpack_object *op = sono_map_get(&msg.data, "op");

    if (op != NULL && str_is(op, "shutdown"))
      ok = false;
    else if (may_compile(&msg.data, op))
      ok = compiling < COMPILE_BUDGET;
    else if (op != NULL && str_is(op, "node.new"))
      ok = graph_ctl_graph()->nnodes < NODES_MAX;
    else if (op != NULL && str_is(op, "render")) {
      uint64_t n = render_frames(&msg.data);

      if (n != UINT64_MAX) {
        if (rendered + n > RENDER_BUDGET) {
          trim_sandbox();
          rendered = 0;
        }
        rendered += n;
      } else if (sono_map_get(&msg.data, "frames") != NULL ||
                 sono_map_get(&msg.data, "seconds") != NULL)
        ok = false;
    }
    if (ok)
      ok = fenced(&msg.data, 1);
    if (ok && may_compile(&msg.data, op))
      compiling++;
  }
  msgpack_unpacked_destroy(&msg);
  return ok;
}

/* ---- what comes back ---------------------------------------------------- */

static void check_strings(const msgpack_object *o) {
  switch (o->type) {
  case MSGPACK_OBJECT_STR:
    if (!sono_utf8_valid(o->via.str.ptr, o->via.str.size))
      fail("a str sonod sent is not UTF-8");
    break;
  case MSGPACK_OBJECT_ARRAY:
    for (uint32_t i = 0; i < o->via.array.size; i++)
      check_strings(&o->via.array.ptr[i]);
    break;
  case MSGPACK_OBJECT_MAP:
    for (uint32_t i = 0; i < o->via.map.size; i++) {
      check_strings(&o->via.map.ptr[i].key);
      check_strings(&o->via.map.ptr[i].val);
    }
    break;
  default:
    break;
  }
}

/* Every frame queued for the client: a length that matches, one msgpack
 * map, a reply ({id, ok|error}) or an event, strings in UTF-8. */
static void check_output(void) {
  size_t at = 0;

  while (at < C->out_len) {
    uint32_t n;
    msgpack_unpacked msg;
    size_t off = 0;

    if (C->out_len - at < SONO_FRAME_HEADER)
      fail("a frame header cut short");
    n = sono_frame_get_header((const unsigned char *)C->out + at);
    at += SONO_FRAME_HEADER;
    if (n == 0 || n > SONO_FRAME_MAX || n > C->out_len - at)
      fail("a frame whose length does not match");
    msgpack_unpacked_init(&msg);
    if (msgpack_unpack_next(&msg, C->out + at, n, &off) != MSGPACK_UNPACK_SUCCESS || off != n)
      fail("a frame that is not one msgpack value");
    if (msg.data.type != MSGPACK_OBJECT_MAP)
      fail("a frame that is not a map");
    if (sono_map_get(&msg.data, "event") == NULL &&
        (sono_map_get(&msg.data, "id") == NULL ||
         (sono_map_get(&msg.data, "ok") == NULL) == (sono_map_get(&msg.data, "error") == NULL)))
      fail("a reply without id, or without exactly one of ok and error");
    check_strings(&msg.data);
    msgpack_unpacked_destroy(&msg);
    at += n;
  }
  C->out_len = 0;
  if (C->out_cap > 1u << 20) {
    free(C->out);
    C->out = NULL;
    C->out_cap = 0;
  }
}

static void on_frame(void *ud, const char *payload, size_t len) {
  (void)ud;
  if (allowed(payload, len))
    request_handle(C, payload, len);
  /* Replies that come from the loop (the audio thread's answers, worker
   * threads) arrive meanwhile; a few turns let most of them in. */
  for (int i = 0; i < 4; i++)
    uv_run(D.loop, UV_RUN_NOWAIT);
  check_output();
}

static void on_oversize(void *ud, uint32_t len) {
  (void)ud;
  (void)len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static char *buf;
  static size_t cap;
  size_t n = strlen(sandbox);

  if (size == 0)
    return 0;
  if (size > cap) {
    free(buf);
    cap = size;
    buf = malloc(cap);
    if (buf == NULL)
      fail("out of memory");
  }
  memcpy(buf, data, size);
  /* The corpus names the sandbox by its template. */
  for (size_t i = 0; i + n <= size; i++)
    if (memcmp(buf + i, SANDBOX_TEMPLATE, n) == 0)
      memcpy(buf + i, sandbox, n);
  /* Each input is a connection's bytes from the start: a fresh framer. */
  sono_framer_free(&C->framer);
  sono_framer_init(&C->framer, SONO_FRAME_MAX);
  if (sono_framer_feed(&C->framer, buf, size, on_frame, on_oversize, NULL) != 0)
    fail("the framer ran out of memory");
  check_output();
  return 0;
}
