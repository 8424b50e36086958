/* state.c - the session state: snapshot, file format, atomic writes,
 * autosave, restore, and the state.save / state.load operations.
 * See state.h; the format is documented in protocol/STATE.md.
 *
 * A load is two steps so that a bad file changes nothing: the whole file
 * is read, checked (msgpack, format, version, CRC32) and parsed into a
 * staging `session` first; only then is it applied, in stages on the loop
 * ("the apply machine" below).  Applying can still fail part way (a
 * plugin file gone, Csound rejecting code that compiled before), and then
 * the reply says what was and was not restored. */
#include "daemon/modules/state.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/backend/backend.h"
#include "daemon/modules/busnode_ctl.h"
#include "daemon/net/client.h"
#include "daemon/modules/csound_ctl.h"
#include "daemon/engine/engine_ctl.h"
#include "daemon/modules/graph_ctl.h"
#include "daemon/base/log.h"
#include "daemon/modules/midi_cs.h"
#include "daemon/modules/midi_ctl.h"
#include "daemon/modules/plugin_ctl.h"
#include "daemon/net/reply.h"
#include "protocol/errors.h"
#include "protocol/wire.h"

#define STATE_FORMAT "sonod-state"
#define STATE_VERSION 1
#define AUTOSAVE_MS 2000
#define STATE_MAX_BYTES (256u << 20)

/* ---- the session, as saved and as staged for a load ---- */

typedef struct st_param {
  char *name;
  double value;
} st_param;

typedef struct st_instr {
  char *name, *body, *init;   /* init may be NULL */
  st_param *p;
  unsigned np;
  int prio;
} st_instr;

typedef struct st_table {
  int num;
  char *path;                 /* read from this file, or NULL: generated */
  double *data;               /* generated: its values (NULL: zeros) */
  size_t size;
} st_table;

typedef struct st_bus {
  int id;
  cs_bus_kind kind;
  double value;
} st_bus;

typedef struct st_plugin {
  uint32_t node;
  char *path;
  int program;
  void *state;                /* NULL when the plugin gave none */
  size_t state_len;
  float *params;
  unsigned nparams;
} st_plugin;

typedef struct st_gnode {
  uint32_t id;                /* saved id, or GRAPH_ID_* for the built-in ones */
  graph_kind kind;
  unsigned channels;          /* gain nodes */
  int buses[BUSNODE_MAX_BUSES];  /* bus nodes: saved bus ids */
  unsigned nbuses;
  bool bypass, mute;
  float gain;
} st_gnode;

typedef struct st_gconn {
  uint32_t from, from_port, to, to_port;
  float gain;
} st_gconn;

typedef struct st_route {
  uint32_t to;                /* saved plugin node id, or GRAPH_ID_CSOUND */
  int32_t channel;            /* -1: all */
  char *instr, *note, *vel;   /* Csound routes; note, vel NULL: not passed */
  unsigned voices;
} st_route;

typedef struct session {
  bool has_graph;
  st_gnode *gn;
  unsigned ngn;
  st_gconn *gc;
  unsigned ngc;
  st_plugin *pl;
  unsigned npl;
  char **code;
  unsigned ncode;
  st_instr *in;
  unsigned nin;
  st_table *tab;
  unsigned ntab;
  st_bus *bus;
  unsigned nbus;
  st_route *rt;               /* MIDI routes */
  unsigned nrt;
} session;

/* What the Csound ops did so far (plugins are read from their registry
 * at save time; tables' current values and buses' from the engine). */
static session rec;

static char autosave_path[4200];    /* empty: autosave off */
static uv_timer_t debounce;
static bool timer_on, dirty, applying;

/* The load being applied, if any (see "the apply machine"). */
typedef struct apply_job apply_job;
static apply_job *cur;
static void job_free(apply_job *j);
static const char *job_path(const apply_job *j);

/* Renames of the autosave file happen in the order snapshots were taken,
 * even when two writes overlap on the thread pool. */
static pthread_mutex_t rename_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t next_seq = 1, renamed_seq;
static uint64_t next_tag = 1;        /* names temporary files apart */

/* ---- small helpers ---- */

static void *grow(void *p, unsigned n, size_t size) {
  /* Room for element n (0-based): doubled as needed. */
  if ((n & (n - 1)) == 0) {
    void *q = realloc(p, (size_t)(n ? n * 2 : 4) * size);
    if (q == NULL) {
      log_error("state: out of memory");
      abort();
    }
    return q;
  }
  return p;
}

static char *xstrdup(const char *s) {
  char *p = s != NULL ? strdup(s) : NULL;

  if (s != NULL && p == NULL) {
    log_error("state: out of memory");
    abort();
  }
  return p;
}

static void instr_free(st_instr *in) {
  unsigned i;

  free(in->name);
  free(in->body);
  free(in->init);
  for (i = 0; i < in->np; i++)
    free(in->p[i].name);
  free(in->p);
}

static void session_free(session *s) {
  unsigned i;

  for (i = 0; i < s->npl; i++) {
    free(s->pl[i].path);
    free(s->pl[i].state);
    free(s->pl[i].params);
  }
  free(s->pl);
  for (i = 0; i < s->ncode; i++)
    free(s->code[i]);
  free(s->code);
  for (i = 0; i < s->nin; i++)
    instr_free(&s->in[i]);
  free(s->in);
  for (i = 0; i < s->ntab; i++) {
    free(s->tab[i].path);
    free(s->tab[i].data);
  }
  free(s->tab);
  free(s->bus);
  free(s->gn);
  free(s->gc);
  for (i = 0; i < s->nrt; i++) {
    free(s->rt[i].instr);
    free(s->rt[i].note);
    free(s->rt[i].vel);
  }
  free(s->rt);
  memset(s, 0, sizeof *s);
}

/* IEEE 802.3 CRC-32 (zlib's crc32, Python's zlib.crc32), so any client can
 * check a file with its standard library. */
static uint32_t crc32_ieee(const void *data, size_t len) {
  static uint32_t table[256];
  static bool ready;
  const unsigned char *p = data;
  uint32_t c = 0xffffffffu;
  size_t i;

  if (!ready) {
    uint32_t n, k, v;
    for (n = 0; n < 256; n++) {
      for (v = n, k = 0; k < 8; k++)
        v = v & 1 ? 0xedb88320u ^ (v >> 1) : v >> 1;
      table[n] = v;
    }
    ready = true;
  }
  for (i = 0; i < len; i++)
    c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

/* ---- the record the Csound ops keep ---- */

static int find_instr(const session *s, const char *name) {
  unsigned i;

  for (i = 0; i < s->nin; i++)
    if (strcmp(s->in[i].name, name) == 0)
      return (int)i;
  return -1;
}

void state_note_compile(sonod *d, const char *code) {
  rec.code = grow(rec.code, rec.ncode, sizeof *rec.code);
  rec.code[rec.ncode++] = xstrdup(code);
  state_changed(d);
}

void state_note_instr(sonod *d, const char *name, const char *body, const cs_param *p,
                      unsigned np, const char *init, int priority) {
  int i = find_instr(&rec, name);
  st_instr in;
  unsigned k;

  memset(&in, 0, sizeof in);
  in.name = xstrdup(name);
  in.body = xstrdup(body);
  in.init = xstrdup(init);
  in.prio = priority;
  in.np = np;
  in.p = calloc(np ? np : 1, sizeof *in.p);
  if (in.p == NULL)
    abort();
  for (k = 0; k < np; k++) {
    in.p[k].name = xstrdup(p[k].name);
    in.p[k].value = p[k].value;
  }
  /* A redefinition keeps its place: definitions are restored in order. */
  if (i >= 0) {
    instr_free(&rec.in[i]);
    rec.in[i] = in;
  } else {
    rec.in = grow(rec.in, rec.nin, sizeof *rec.in);
    rec.in[rec.nin++] = in;
  }
  state_changed(d);
}

void state_note_instr_undefine(sonod *d, const char *name) {
  int i = find_instr(&rec, name);

  if (i < 0)
    return;
  instr_free(&rec.in[i]);
  memmove(&rec.in[i], &rec.in[i + 1], (rec.nin - (unsigned)i - 1) * sizeof *rec.in);
  rec.nin--;
  state_changed(d);
}

void state_note_table(sonod *d, int tab, const char *path, const double *data, size_t size) {
  st_table *t;

  rec.tab = grow(rec.tab, rec.ntab, sizeof *rec.tab);
  t = &rec.tab[rec.ntab++];
  memset(t, 0, sizeof *t);
  t->num = tab;
  t->path = xstrdup(path);
  t->size = size;
  /* Kept until the table is ready and can be read back from the engine. */
  if (path == NULL && data != NULL && (t->data = malloc(size * sizeof *data)) != NULL)
    memcpy(t->data, data, size * sizeof *data);
  state_changed(d);
}

void state_note_table_free(sonod *d, int tab) {
  unsigned i;

  for (i = 0; i < rec.ntab; i++)
    if (rec.tab[i].num == tab) {
      free(rec.tab[i].path);
      free(rec.tab[i].data);
      memmove(&rec.tab[i], &rec.tab[i + 1], (rec.ntab - i - 1) * sizeof *rec.tab);
      rec.ntab--;
      state_changed(d);
      return;
    }
}

void state_note_bus(sonod *d, int bus, cs_bus_kind kind) {
  rec.bus = grow(rec.bus, rec.nbus, sizeof *rec.bus);
  rec.bus[rec.nbus].id = bus;
  rec.bus[rec.nbus].kind = kind;
  rec.bus[rec.nbus++].value = 0;
  state_changed(d);
}

void state_note_bus_free(sonod *d, int bus) {
  unsigned i;

  for (i = 0; i < rec.nbus; i++)
    if (rec.bus[i].id == bus) {
      memmove(&rec.bus[i], &rec.bus[i + 1], (rec.nbus - i - 1) * sizeof *rec.bus);
      rec.nbus--;
      state_changed(d);
      return;
    }
}

/* ---- snapshot: the session as one msgpack file ---- */

static void pack_bin(msgpack_packer *pk, const char *key, const void *data, size_t len) {
  sono_pack_cstr(pk, key);
  msgpack_pack_bin(pk, len);
  msgpack_pack_bin_body(pk, data, len);
}

static void pack_plugins(msgpack_packer *pk) {
  pnode *n;
  uint32_t count = 0;

  for (n = plugin_ctl_first(); n != NULL; n = n->next)
    if (!n->removing)
      count++;
  msgpack_pack_array(pk, count);
  for (n = plugin_ctl_first(); n != NULL; n = n->next) {
    void *data = NULL;
    size_t len = 0;
    vst_state_kind kind;
    char err[VST_ERR_LEN];
    int i, np = vst_param_count(n->inst);
    bool has_state;

    if (n->removing)
      continue;
    has_state = vst_state_get(n->inst, &data, &len, &kind, err) == VST_OK;
    msgpack_pack_map(pk, 6);
    sono_pack_key_uint(pk, "node", n->id);
    sono_pack_key_str(pk, "path", n->path);
    sono_pack_key_str(pk, "name", vst_get_info(n->inst)->name);
    sono_pack_key_int(pk, "program", vst_program_get(n->inst));
    sono_pack_cstr(pk, "params");
    msgpack_pack_array(pk, (uint32_t)(np > 0 ? np : 0));
    for (i = 0; i < np; i++) {
      float v = 0;
      vst_param_get(n->inst, i, &v, NULL);
      msgpack_pack_double(pk, v);
    }
    sono_pack_cstr(pk, "state");
    if (has_state) {
      msgpack_pack_map(pk, 2);
      sono_pack_key_str(pk, "kind", kind == VST_STATE_CHUNK ? "chunk" : "params");
      pack_bin(pk, "data", data, len);
    } else {
      msgpack_pack_nil(pk);
    }
    free(data);
  }
}

static void pack_csound(msgpack_packer *pk) {
  cs_engine *eng = csound_ctl_engine();
  unsigned i, k;

  msgpack_pack_map(pk, 4);
  sono_pack_cstr(pk, "code");
  msgpack_pack_array(pk, rec.ncode);
  for (i = 0; i < rec.ncode; i++)
    sono_pack_cstr(pk, rec.code[i]);

  sono_pack_cstr(pk, "instrs");
  msgpack_pack_array(pk, rec.nin);
  for (i = 0; i < rec.nin; i++) {
    const st_instr *in = &rec.in[i];

    msgpack_pack_map(pk, 5);
    sono_pack_key_str(pk, "name", in->name);
    sono_pack_key_str(pk, "body", in->body);
    sono_pack_cstr(pk, "init");
    if (in->init != NULL)
      sono_pack_cstr(pk, in->init);
    else
      msgpack_pack_nil(pk);
    sono_pack_key_int(pk, "priority", in->prio);
    sono_pack_cstr(pk, "params");
    msgpack_pack_array(pk, in->np);
    for (k = 0; k < in->np; k++) {
      msgpack_pack_map(pk, 2);
      sono_pack_key_str(pk, "name", in->p[k].name);
      sono_pack_key_double(pk, "value", in->p[k].value);
    }
  }

  sono_pack_cstr(pk, "tables");
  msgpack_pack_array(pk, rec.ntab);
  for (i = 0; i < rec.ntab; i++) {
    const st_table *t = &rec.tab[i];
    long size = -1;
    double *v = NULL;
    cs_error e;
    size_t j;

    if (t->path != NULL) {
      msgpack_pack_map(pk, 2);
      sono_pack_key_uint(pk, "table", (uint64_t)t->num);
      sono_pack_key_str(pk, "path", t->path);
      continue;
    }
    /* The values as they are now (table.set may have changed them); the
     * ones it was made with while it is not ready yet. */
    if (eng != NULL && (size = cs_table_size(eng, t->num, &e)) >= 0 &&
        (v = malloc(((size_t)size ? (size_t)size : 1) * sizeof *v)) != NULL &&
        cs_table_get(eng, t->num, 0, v, (size_t)size, &e) != 0) {
      free(v);
      v = NULL;
    }
    msgpack_pack_map(pk, 3);
    sono_pack_key_uint(pk, "table", (uint64_t)t->num);
    sono_pack_key_uint(pk, "size", v != NULL ? (uint64_t)size : t->size);
    sono_pack_cstr(pk, "data");
    if (v != NULL || t->data != NULL) {
      const double *src = v != NULL ? v : t->data;
      size_t n = v != NULL ? (size_t)size : t->size;

      msgpack_pack_array(pk, (uint32_t)n);
      for (j = 0; j < n; j++)
        msgpack_pack_double(pk, src[j]);
    } else {
      msgpack_pack_nil(pk);   /* zeros */
    }
    free(v);
  }

  sono_pack_cstr(pk, "buses");
  msgpack_pack_array(pk, rec.nbus);
  for (i = 0; i < rec.nbus; i++) {
    double value = 0;

    if (eng != NULL && rec.bus[i].kind == CS_BUS_CONTROL)
      cs_bus_get(eng, rec.bus[i].id, &value, NULL);
    msgpack_pack_map(pk, 3);
    sono_pack_key_uint(pk, "bus", (uint64_t)rec.bus[i].id);
    sono_pack_key_str(pk, "kind", rec.bus[i].kind == CS_BUS_AUDIO ? "audio" : "control");
    sono_pack_key_double(pk, "value", value);
  }
}

/* A node id: "out", "in", "csound" for the built-in nodes, else the id. */
static void pack_gid(msgpack_packer *pk, const char *key, uint32_t id) {
  char lb[16];

  sono_pack_cstr(pk, key);
  if (id >= GRAPH_ID_OUT)
    sono_pack_cstr(pk, graph_node_label(id, lb, sizeof lb));
  else
    msgpack_pack_uint32(pk, id);
}

static void pack_graph(msgpack_packer *pk) {
  graph *g = graph_ctl_graph();
  uint32_t live = 0;
  unsigned i;

  for (i = 0; i < g->nconns; i++)
    if (!g->conn[i].dying)
      live++;
  msgpack_pack_map(pk, 2);
  sono_pack_cstr(pk, "nodes");
  msgpack_pack_array(pk, g->nnodes);
  for (i = 0; i < g->nnodes; i++) {
    const gnode *n = &g->node[i];
    unsigned nb = 0, k;
    const int *buses = n->kind == GN_BUS ? busnode_ctl_buses(n->id, &nb) : NULL;

    msgpack_pack_map(pk, buses != NULL ? 7 : 6);
    pack_gid(pk, "node", n->id);
    sono_pack_key_str(pk, "kind", graph_kind_name(n->kind));
    sono_pack_key_uint(pk, "channels", n->kind == GN_GAIN ? n->nin : 0);
    sono_pack_key_bool(pk, "bypass", n->bypass);
    sono_pack_key_bool(pk, "mute", n->mute);
    sono_pack_key_double(pk, "gain", n->gain);
    if (buses != NULL) {
      sono_pack_cstr(pk, "buses");
      msgpack_pack_array(pk, nb);
      for (k = 0; k < nb; k++)
        msgpack_pack_int(pk, buses[k]);
    }
  }
  sono_pack_cstr(pk, "connections");
  msgpack_pack_array(pk, live);
  for (i = 0; i < g->nconns; i++) {
    const gconn *c = &g->conn[i];

    if (c->dying)
      continue;
    msgpack_pack_map(pk, 5);
    pack_gid(pk, "from", c->from);
    sono_pack_key_uint(pk, "from_port", c->from_port);
    pack_gid(pk, "to", c->to);
    sono_pack_key_uint(pk, "to_port", c->to_port);
    sono_pack_key_double(pk, "gain", c->gain);
  }
}

/* The whole file in a malloc'd buffer. */
static char *snapshot(sonod *d, size_t *len) {
  msgpack_sbuffer body, file;
  msgpack_packer pk;
  char *out;

  msgpack_sbuffer_init(&body);
  msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 6);
  sono_pack_cstr(&pk, "engine");
  msgpack_pack_map(&pk, 3);
  sono_pack_key_uint(&pk, "sample_rate", d->eng.sample_rate);
  sono_pack_key_uint(&pk, "channels", d->opt.channels);
  sono_pack_key_uint(&pk, "ksmps", d->opt.ksmps);
  sono_pack_cstr(&pk, "plugins");
  pack_plugins(&pk);
  sono_pack_cstr(&pk, "csound");
  pack_csound(&pk);
  sono_pack_cstr(&pk, "graph");
  if (graph_ctl_graph() != NULL)
    pack_graph(&pk);
  else
    msgpack_pack_nil(&pk);
  sono_pack_cstr(&pk, "midi");
  midi_ctl_pack_routes(&pk, true);
  /* Reserved for the transport: nil until it exists (STATE.md). */
  sono_pack_cstr(&pk, "transport");
  msgpack_pack_nil(&pk);

  msgpack_sbuffer_init(&file);
  msgpack_packer_init(&pk, &file, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 6);
  sono_pack_key_str(&pk, "format", STATE_FORMAT);
  sono_pack_key_uint(&pk, "version", STATE_VERSION);
  sono_pack_key_str(&pk, "written_by", "sonod " SONOD_VERSION);
  sono_pack_key_uint(&pk, "saved_at", (uint64_t)time(NULL));
  sono_pack_key_uint(&pk, "crc32", crc32_ieee(body.data, body.size));
  pack_bin(&pk, "payload", body.data, body.size);
  msgpack_sbuffer_destroy(&body);
  *len = file.size;
  out = msgpack_sbuffer_release(&file);
  return out;
}

/* ---- writing: temporary file, fsync, rename, fsync the directory ---- */

static int write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

/* seq 0: an explicit save, renamed whatever else happens; otherwise an
 * autosave, renamed only if no later snapshot was renamed first.  tag makes
 * the temporary name unique.  Runs on the thread pool or, at shutdown, on
 * the control thread. */
static int write_atomic(const char *path, const char *buf, size_t len, uint64_t seq,
                        uint64_t tag, char *msg, size_t msglen) {
  char tmp[4400], dir[4200];
  const char *slash = strrchr(path, '/');
  int fd, rc = 0;

  if (slash == NULL)
    snprintf(dir, sizeof dir, ".");
  else if (slash == path)
    snprintf(dir, sizeof dir, "/");
  else
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
  snprintf(tmp, sizeof tmp, "%s/.%s.tmp-%ld-%llu", dir, slash ? slash + 1 : path, (long)getpid(),
           (unsigned long long)tag);
  fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    snprintf(msg, msglen, "cannot create %.400s: %s", tmp, strerror(errno));
    return -1;
  }
  if (write_all(fd, buf, len) != 0 || fsync(fd) != 0) {
    snprintf(msg, msglen, "cannot write %.400s: %s", tmp, strerror(errno));
    close(fd);
    unlink(tmp);
    return -1;
  }
  close(fd);
  pthread_mutex_lock(&rename_lock);
  if (seq != 0 && seq < renamed_seq) {
    unlink(tmp);   /* a newer snapshot is already in place */
  } else if (rename(tmp, path) != 0) {
    snprintf(msg, msglen, "cannot rename %.250s to %.250s: %s", tmp, path, strerror(errno));
    unlink(tmp);
    rc = -1;
  } else if (seq != 0) {
    renamed_seq = seq;
  }
  pthread_mutex_unlock(&rename_lock);
  if (rc == 0) {
    /* The rename itself is durable only once the directory is. */
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
      fsync(fd);
      close(fd);
    }
  }
  return rc;
}

typedef struct save_job {
  uv_work_t w;
  sonod *d;
  char *path;
  char *buf;
  size_t len;
  uint64_t seq, tag;
  int rc;
  char msg[900];
  uint32_t client;           /* 0: autosave, nobody to answer */
  uint64_t req_id;
} save_job;

static void save_work(uv_work_t *w) {
  save_job *j = w->data;

  j->rc = write_atomic(j->path, j->buf, j->len, j->seq, j->tag, j->msg, sizeof j->msg);
}

static void save_done(uv_work_t *w, int status) {
  save_job *j = w->data;
  client *c = j->client != 0 ? client_find(j->d, j->client) : NULL;

  if (status != 0 && j->rc == 0) {
    j->rc = -1;
    snprintf(j->msg, sizeof j->msg, "the write was cancelled");
  }
  if (j->rc != 0) {
    log_error("state: %s", j->msg);
    if (j->client == 0)
      dirty = true;   /* try again with the next change or at shutdown */
    if (c != NULL)
      reply_error(c, true, j->req_id, SONO_E_FILE_ERROR, "state.save: %s", j->msg);
  } else {
    log_info("state: saved %zu bytes to %s", j->len, j->path);
    if (c != NULL) {
      msgpack_sbuffer sb;
      msgpack_packer pk;

      reply_begin(&sb, &pk, j->req_id);
      msgpack_pack_map(&pk, 2);
      sono_pack_key_str(&pk, "path", j->path);
      sono_pack_key_uint(&pk, "bytes", j->len);
      reply_end(c, &sb);
    }
  }
  free(j->path);
  free(j->buf);
  free(j);
}

static int save_async(sonod *d, const char *path, bool autosave, uint32_t client, uint64_t req_id) {
  save_job *j = calloc(1, sizeof *j);

  if (j == NULL || (j->path = strdup(path)) == NULL) {
    free(j);
    return -1;
  }
  j->d = d;
  j->buf = snapshot(d, &j->len);
  j->seq = autosave ? next_seq++ : 0;
  j->tag = next_tag++;
  j->client = client;
  j->req_id = req_id;
  j->w.data = j;
  if (uv_queue_work(d->loop, &j->w, save_work, save_done) != 0) {
    free(j->path);
    free(j->buf);
    free(j);
    return -1;
  }
  return 0;
}

static void on_debounce(uv_timer_t *t) {
  sonod *d = t->data;

  /* A load half applied: its end calls state_changed, which comes back. */
  if (!dirty || d->stopping || applying)
    return;
  dirty = false;
  if (save_async(d, autosave_path, true, 0, 0) != 0) {
    log_error("state: cannot start the autosave");
    dirty = true;
  }
}

void state_changed(sonod *d) {
  if (applying)
    return;
  dirty = true;
  if (timer_on && !d->stopping)
    uv_timer_start(&debounce, on_debounce, AUTOSAVE_MS, 0);
}

void state_shutdown(sonod *d) {
  if (cur != NULL) {
    /* Loads in flight call nobody back during shutdown (plugin_ctl.c). */
    log_warn("state: shutting down while %s is half applied: it is abandoned and not saved",
             job_path(cur));
    job_free(cur);
    cur = NULL;
    applying = false;
    dirty = false;
  }
  if (!timer_on)
    return;
  uv_timer_stop(&debounce);
  uv_close((uv_handle_t *)&debounce, NULL);
  timer_on = false;
  if (dirty) {
    char msg[900];
    size_t len;
    char *buf = snapshot(d, &len);

    /* On this thread: the loop is about to end, and a save must not be
     * lost to it.  A write still on the pool has an older sequence number
     * and will not rename over this one. */
    if (write_atomic(autosave_path, buf, len, next_seq++, next_tag++, msg, sizeof msg) != 0)
      log_error("state: %s", msg);
    else
      log_info("state: saved %zu bytes to %s", len, autosave_path);
    free(buf);
    dirty = false;
  }
}

/* ---- reading and checking a file into a staging session ---- */

static int bad(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int bad(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return -1;
}

static char *obj_strdup(const msgpack_object *o) {
  char *p;

  if (o == NULL || o->type != MSGPACK_OBJECT_STR || memchr(o->via.str.ptr, '\0', o->via.str.size))
    return NULL;
  if ((p = strndup(o->via.str.ptr, o->via.str.size)) == NULL)
    abort();
  return p;
}

static bool obj_num(const msgpack_object *o, double *v) {
  if (o == NULL)
    return false;
  switch (o->type) {
  case MSGPACK_OBJECT_POSITIVE_INTEGER: *v = (double)o->via.u64; return true;
  case MSGPACK_OBJECT_NEGATIVE_INTEGER: *v = (double)o->via.i64; return true;
  case MSGPACK_OBJECT_FLOAT32:
  case MSGPACK_OBJECT_FLOAT64: *v = o->via.f64; return true;
  default: return false;
  }
}

static bool obj_int(const msgpack_object *o, int64_t lo, int64_t hi, int64_t *v) {
  if (o == NULL)
    return false;
  if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= (uint64_t)hi)
    *v = (int64_t)o->via.u64;
  else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
    *v = o->via.i64;
  else
    return false;
  return *v >= lo && *v <= hi;
}

static const msgpack_object_array *obj_arr(const msgpack_object *o) {
  return o != NULL && o->type == MSGPACK_OBJECT_ARRAY ? &o->via.array : NULL;
}

static bool is_map(const msgpack_object *o) {
  return o != NULL && o->type == MSGPACK_OBJECT_MAP;
}

static int parse_plugins(const msgpack_object *o, session *s, char *err, size_t errlen) {
  const msgpack_object_array *a = obj_arr(o);
  uint32_t i, k;

  if (a == NULL)
    return bad(err, errlen, "'plugins' must be an array");
  s->pl = calloc(a->size ? a->size : 1, sizeof *s->pl);
  for (i = 0; i < a->size; i++) {
    const msgpack_object *m = &a->ptr[i], *st;
    const msgpack_object_array *pa;
    st_plugin *p = &s->pl[s->npl];
    int64_t v;

    if (!is_map(m))
      return bad(err, errlen, "plugins[%u] must be a map", i);
    s->npl++;
    if (!obj_int(sono_map_get(m, "node"), 0, UINT32_MAX, &v))
      return bad(err, errlen, "plugins[%u].node must be an unsigned integer", i);
    p->node = (uint32_t)v;
    if ((p->path = obj_strdup(sono_map_get(m, "path"))) == NULL || p->path[0] == '\0')
      return bad(err, errlen, "plugins[%u].path must be a non-empty string", i);
    if (!obj_int(sono_map_get(m, "program"), -1, INT32_MAX, &v))
      return bad(err, errlen, "plugins[%u].program must be an integer", i);
    p->program = (int)v;
    if ((pa = obj_arr(sono_map_get(m, "params"))) == NULL)
      return bad(err, errlen, "plugins[%u].params must be an array of numbers", i);
    p->params = calloc(pa->size ? pa->size : 1, sizeof *p->params);
    for (k = 0; k < pa->size; k++) {
      double d;
      if (!obj_num(&pa->ptr[k], &d) || !(d >= 0.0 && d <= 1.0))
        return bad(err, errlen, "plugins[%u].params[%u] must be a number from 0 to 1", i, k);
      p->params[k] = (float)d;
    }
    p->nparams = pa->size;
    st = sono_map_get(m, "state");
    if (st != NULL && st->type != MSGPACK_OBJECT_NIL) {
      const msgpack_object *data = is_map(st) ? sono_map_get(st, "data") : NULL;

      if (data == NULL || data->type != MSGPACK_OBJECT_BIN)
        return bad(err, errlen, "plugins[%u].state must be nil or a map with bin 'data'", i);
      p->state_len = data->via.bin.size;
      if ((p->state = malloc(p->state_len ? p->state_len : 1)) == NULL)
        abort();
      memcpy(p->state, data->via.bin.ptr, p->state_len);
    }
  }
  return 0;
}

static int parse_csound(const msgpack_object *o, session *s, char *err, size_t errlen) {
  const msgpack_object_array *a;
  uint32_t i, k;

  if (o == NULL || o->type == MSGPACK_OBJECT_NIL)
    return 0;
  if (!is_map(o))
    return bad(err, errlen, "'csound' must be a map");
  if ((a = obj_arr(sono_map_get(o, "code"))) == NULL)
    return bad(err, errlen, "csound.code must be an array of strings");
  s->code = calloc(a->size ? a->size : 1, sizeof *s->code);
  for (i = 0; i < a->size; i++) {
    if ((s->code[i] = obj_strdup(&a->ptr[i])) == NULL)
      return bad(err, errlen, "csound.code[%u] must be a string", i);
    s->ncode++;
  }

  if ((a = obj_arr(sono_map_get(o, "instrs"))) == NULL)
    return bad(err, errlen, "csound.instrs must be an array");
  s->in = calloc(a->size ? a->size : 1, sizeof *s->in);
  for (i = 0; i < a->size; i++) {
    const msgpack_object *m = &a->ptr[i], *init;
    const msgpack_object_array *pa;
    st_instr *in = &s->in[s->nin];
    int64_t v;

    if (!is_map(m))
      return bad(err, errlen, "csound.instrs[%u] must be a map", i);
    s->nin++;
    if ((in->name = obj_strdup(sono_map_get(m, "name"))) == NULL ||
        (in->body = obj_strdup(sono_map_get(m, "body"))) == NULL)
      return bad(err, errlen, "csound.instrs[%u] needs string 'name' and 'body'", i);
    init = sono_map_get(m, "init");
    if (init != NULL && init->type != MSGPACK_OBJECT_NIL && (in->init = obj_strdup(init)) == NULL)
      return bad(err, errlen, "csound.instrs[%u].init must be nil or a string", i);
    if (!obj_int(sono_map_get(m, "priority"), 1, 99, &v))
      return bad(err, errlen, "csound.instrs[%u].priority must be 1..99", i);
    in->prio = (int)v;
    if ((pa = obj_arr(sono_map_get(m, "params"))) == NULL)
      return bad(err, errlen, "csound.instrs[%u].params must be an array", i);
    in->p = calloc(pa->size ? pa->size : 1, sizeof *in->p);
    for (k = 0; k < pa->size; k++) {
      const msgpack_object *pm = &pa->ptr[k];

      if (!is_map(pm) || (in->p[k].name = obj_strdup(sono_map_get(pm, "name"))) == NULL ||
          !obj_num(sono_map_get(pm, "value"), &in->p[k].value))
        return bad(err, errlen, "csound.instrs[%u].params[%u] must be {name, value}", i, k);
      in->np++;
    }
  }

  if ((a = obj_arr(sono_map_get(o, "tables"))) == NULL)
    return bad(err, errlen, "csound.tables must be an array");
  s->tab = calloc(a->size ? a->size : 1, sizeof *s->tab);
  for (i = 0; i < a->size; i++) {
    const msgpack_object *m = &a->ptr[i], *data;
    st_table *t = &s->tab[s->ntab];
    int64_t v;

    if (!is_map(m))
      return bad(err, errlen, "csound.tables[%u] must be a map", i);
    s->ntab++;
    if (!obj_int(sono_map_get(m, "table"), 0, INT32_MAX, &v))
      return bad(err, errlen, "csound.tables[%u].table must be a table number", i);
    t->num = (int)v;
    if (sono_map_get(m, "path") != NULL) {
      if ((t->path = obj_strdup(sono_map_get(m, "path"))) == NULL)
        return bad(err, errlen, "csound.tables[%u].path must be a string", i);
      continue;
    }
    if (!obj_int(sono_map_get(m, "size"), 1, INT32_MAX, &v))
      return bad(err, errlen, "csound.tables[%u] needs 'path' or a positive 'size'", i);
    t->size = (size_t)v;
    data = sono_map_get(m, "data");
    if (data != NULL && data->type != MSGPACK_OBJECT_NIL) {
      const msgpack_object_array *da = obj_arr(data);

      if (da == NULL || da->size != t->size)
        return bad(err, errlen, "csound.tables[%u].data must be nil or %zu numbers", i, t->size);
      if ((t->data = malloc(t->size * sizeof *t->data)) == NULL)
        abort();
      for (k = 0; k < da->size; k++)
        if (!obj_num(&da->ptr[k], &t->data[k]))
          return bad(err, errlen, "csound.tables[%u].data[%u] must be a number", i, k);
    }
  }

  if ((a = obj_arr(sono_map_get(o, "buses"))) == NULL)
    return bad(err, errlen, "csound.buses must be an array");
  s->bus = calloc(a->size ? a->size : 1, sizeof *s->bus);
  for (i = 0; i < a->size; i++) {
    const msgpack_object *m = &a->ptr[i], *kind;
    st_bus *b = &s->bus[s->nbus];
    int64_t v;

    kind = is_map(m) ? sono_map_get(m, "kind") : NULL;
    if (!is_map(m) || !obj_int(sono_map_get(m, "bus"), 0, INT32_MAX, &v) ||
        !(sono_str_eq(kind, "audio") || sono_str_eq(kind, "control")))
      return bad(err, errlen, "csound.buses[%u] must be {bus, kind: audio|control, value}", i);
    b->id = (int)v;
    b->kind = sono_str_eq(kind, "audio") ? CS_BUS_AUDIO : CS_BUS_CONTROL;
    if (!obj_num(sono_map_get(m, "value"), &b->value))
      b->value = 0;
    s->nbus++;
  }
  return 0;
}

static bool obj_gid(const msgpack_object *o, uint32_t *id) {
  int64_t v;

  if (sono_str_eq(o, "out"))
    *id = GRAPH_ID_OUT;
  else if (sono_str_eq(o, "in"))
    *id = GRAPH_ID_IN;
  else if (sono_str_eq(o, "csound"))
    *id = GRAPH_ID_CSOUND;
  else if (obj_int(o, 0, GRAPH_ID_OUT - 1, &v))
    *id = (uint32_t)v;
  else
    return false;
  return true;
}

static int parse_node_buses(const msgpack_object *o, st_gnode *n) {
  const msgpack_object_array *a = obj_arr(o);
  int64_t v;
  uint32_t k;

  if (a == NULL || a->size == 0 || a->size > BUSNODE_MAX_BUSES)
    return -1;
  for (k = 0; k < a->size; k++) {
    if (!obj_int(&a->ptr[k], 0, INT32_MAX, &v))
      return -1;
    n->buses[n->nbuses++] = (int)v;
  }
  return 0;
}

static int parse_graph(const msgpack_object *o, session *s, char *err, size_t errlen) {
  static const struct { const char *name; graph_kind kind; } kinds[] = {
    { "out", GN_OUT }, { "in", GN_IN }, { "csound", GN_CSOUND },
    { "plugin", GN_PLUGIN }, { "gain", GN_GAIN }, { "bus", GN_BUS },
  };
  const msgpack_object_array *a;
  uint32_t i;

  if (o == NULL || o->type == MSGPACK_OBJECT_NIL)
    return 0;
  if (!is_map(o))
    return bad(err, errlen, "'graph' must be nil or a map");
  s->has_graph = true;
  if ((a = obj_arr(sono_map_get(o, "nodes"))) == NULL)
    return bad(err, errlen, "graph.nodes must be an array");
  s->gn = calloc(a->size ? a->size : 1, sizeof *s->gn);
  for (i = 0; i < a->size; i++) {
    const msgpack_object *m = &a->ptr[i];
    st_gnode *n = &s->gn[s->ngn];
    bool ok = is_map(m) && obj_gid(sono_map_get(m, "node"), &n->id);
    double gain = 1;
    int64_t ch = 0;
    size_t k;

    for (k = 0; ok && k < sizeof kinds / sizeof kinds[0]; k++)
      if (sono_str_eq(sono_map_get(m, "kind"), kinds[k].name))
        break;
    if (!ok || k == sizeof kinds / sizeof kinds[0] ||
        !obj_num(sono_map_get(m, "gain"), &gain) || !(gain >= 0 && gain <= 16) ||
        (kinds[k].kind == GN_GAIN && !obj_int(sono_map_get(m, "channels"), 1, 64, &ch)))
      return bad(err, errlen, "graph.nodes[%u] must be {node, kind, channels, bypass, mute, gain}",
                 i);
    n->kind = kinds[k].kind;
    n->channels = (unsigned)ch;
    if (n->kind == GN_BUS && parse_node_buses(sono_map_get(m, "buses"), n) != 0)
      return bad(err, errlen, "graph.nodes[%u]: a bus node's 'buses' must hold 1 to %d bus ids",
                 i, BUSNODE_MAX_BUSES);
    n->gain = (float)gain;
    sono_get_bool(m, "bypass", &n->bypass);
    sono_get_bool(m, "mute", &n->mute);
    s->ngn++;
  }
  if ((a = obj_arr(sono_map_get(o, "connections"))) == NULL)
    return bad(err, errlen, "graph.connections must be an array");
  s->gc = calloc(a->size ? a->size : 1, sizeof *s->gc);
  for (i = 0; i < a->size; i++) {
    const msgpack_object *m = &a->ptr[i];
    st_gconn *c = &s->gc[s->ngc];
    int64_t fp, tp;
    double gain = 1;

    if (!is_map(m) || !obj_gid(sono_map_get(m, "from"), &c->from) ||
        !obj_gid(sono_map_get(m, "to"), &c->to) ||
        !obj_int(sono_map_get(m, "from_port"), 0, 1023, &fp) ||
        !obj_int(sono_map_get(m, "to_port"), 0, 1023, &tp) ||
        !obj_num(sono_map_get(m, "gain"), &gain) || !(gain >= 0 && gain <= 16))
      return bad(err, errlen,
                 "graph.connections[%u] must be {from, from_port, to, to_port, gain}", i);
    c->from_port = (uint32_t)fp;
    c->to_port = (uint32_t)tp;
    c->gain = (float)gain;
    s->ngc++;
  }
  return 0;
}

/* nil or absent: *out stays NULL. */
static bool obj_opt_str(const msgpack_object *o, char **out) {
  if (o == NULL || o->type == MSGPACK_OBJECT_NIL)
    return true;
  return (*out = obj_strdup(o)) != NULL;
}

/* The MIDI routes; a file without them (older sonod) has none. */
static int parse_midi(const msgpack_object *o, session *s, char *err, size_t errlen) {
  const msgpack_object_array *a;
  uint32_t i;

  if (o == NULL || o->type == MSGPACK_OBJECT_NIL)
    return 0;
  if ((a = obj_arr(o)) == NULL)
    return bad(err, errlen, "'midi' must be nil or an array");
  s->rt = calloc(a->size ? a->size : 1, sizeof *s->rt);
  for (i = 0; i < a->size; i++) {
    const msgpack_object *m = &a->ptr[i], *ch, *voices;
    st_route *rt = &s->rt[s->nrt];
    int64_t v;

    if (!is_map(m))
      return bad(err, errlen, "midi[%u] must be a map", i);
    s->nrt++;
    if (!obj_gid(sono_map_get(m, "to"), &rt->to) ||
        (rt->to >= GRAPH_ID_OUT && rt->to != GRAPH_ID_CSOUND))
      return bad(err, errlen, "midi[%u].to must be a plugin node id or \"csound\"", i);
    rt->channel = -1;
    ch = sono_map_get(m, "channel");
    if (ch != NULL && ch->type != MSGPACK_OBJECT_NIL) {
      if (!obj_int(ch, 0, 15, &v))
        return bad(err, errlen, "midi[%u].channel must be nil or 0..15", i);
      rt->channel = (int32_t)v;
    }
    if (rt->to != GRAPH_ID_CSOUND)
      continue;
    if ((rt->instr = obj_strdup(sono_map_get(m, "instr"))) == NULL || rt->instr[0] == '\0')
      return bad(err, errlen, "midi[%u].instr must be a non-empty string", i);
    if (!obj_opt_str(sono_map_get(m, "note"), &rt->note) ||
        !obj_opt_str(sono_map_get(m, "velocity"), &rt->vel))
      return bad(err, errlen, "midi[%u].note and .velocity must be nil or strings", i);
    rt->voices = CS_POOL_VOICES;
    voices = sono_map_get(m, "voices");
    if (voices != NULL && voices->type != MSGPACK_OBJECT_NIL) {
      if (!obj_int(voices, 1, CS_POOL_MAX_VOICES, &v))
        return bad(err, errlen, "midi[%u].voices must be 1..%d", i, CS_POOL_MAX_VOICES);
      rt->voices = (unsigned)v;
    }
  }
  return 0;
}

/* Checks and parses a whole file's bytes into s.  -1 with the reason. */
static int parse_state(const char *buf, size_t len, session *s, char *err, size_t errlen) {
  msgpack_unpacked outer, inner;
  const msgpack_object *o, *pl;
  size_t off = 0;
  uint64_t crc, version;
  int rc = -1;

  memset(s, 0, sizeof *s);
  msgpack_unpacked_init(&outer);
  msgpack_unpacked_init(&inner);
  if (len == 0) {
    bad(err, errlen, "the file is empty");
    goto out;
  }
  if (msgpack_unpack_next(&outer, buf, len, &off) != MSGPACK_UNPACK_SUCCESS) {
    bad(err, errlen, "not one msgpack map: cut short or corrupted (%zu bytes)", len);
    goto out;
  }
  if (off != len) {
    bad(err, errlen, "%zu bytes of garbage after the state map", len - off);
    goto out;
  }
  o = &outer.data;
  if (!is_map(o) || !sono_str_eq(sono_map_get(o, "format"), STATE_FORMAT)) {
    bad(err, errlen, "not a sonod state file (no format: \"" STATE_FORMAT "\")");
    goto out;
  }
  if (sono_get_uint(o, "version", &version) != SONO_ARG_OK) {
    bad(err, errlen, "no version");
    goto out;
  }
  if (version != STATE_VERSION) {
    bad(err, errlen, "version %llu; this sonod reads version %d", (unsigned long long)version,
        STATE_VERSION);
    goto out;
  }
  pl = sono_map_get(o, "payload");
  if (pl == NULL || pl->type != MSGPACK_OBJECT_BIN ||
      sono_get_uint(o, "crc32", &crc) != SONO_ARG_OK) {
    bad(err, errlen, "no bin 'payload' or no 'crc32'");
    goto out;
  }
  if (crc32_ieee(pl->via.bin.ptr, pl->via.bin.size) != crc) {
    bad(err, errlen, "checksum mismatch: the payload is corrupted (crc32 %08llx, computed %08x)",
        (unsigned long long)crc, crc32_ieee(pl->via.bin.ptr, pl->via.bin.size));
    goto out;
  }
  off = 0;
  if (msgpack_unpack_next(&inner, pl->via.bin.ptr, pl->via.bin.size, &off) !=
          MSGPACK_UNPACK_SUCCESS || off != pl->via.bin.size || !is_map(&inner.data)) {
    bad(err, errlen, "the payload is not one msgpack map");
    goto out;
  }
  o = &inner.data;
  if (parse_plugins(sono_map_get(o, "plugins"), s, err, errlen) != 0 ||
      parse_csound(sono_map_get(o, "csound"), s, err, errlen) != 0 ||
      parse_graph(sono_map_get(o, "graph"), s, err, errlen) != 0 ||
      parse_midi(sono_map_get(o, "midi"), s, err, errlen) != 0)
    goto out;
  rc = 0;
out:
  if (rc != 0)
    session_free(s);
  msgpack_unpacked_destroy(&outer);
  msgpack_unpacked_destroy(&inner);
  return rc;
}

/* Reads path whole; NULL with the reason and errno set (ENOENT: absent). */
static char *read_file(const char *path, size_t *len, char *err, size_t errlen) {
  struct stat st;
  char *buf;
  size_t got = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);

  if (fd < 0) {
    int e = errno;
    snprintf(err, errlen, "cannot open %s: %s", path, strerror(e));
    errno = e;
    return NULL;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > STATE_MAX_BYTES) {
    snprintf(err, errlen, "%s is not a regular file of at most %u bytes", path, STATE_MAX_BYTES);
    close(fd);
    errno = EINVAL;
    return NULL;
  }
  buf = malloc((size_t)st.st_size + 1);
  while (buf != NULL && got < (size_t)st.st_size) {
    ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  close(fd);
  if (buf == NULL || got != (size_t)st.st_size) {
    snprintf(err, errlen, "cannot read %s", path);
    free(buf);
    errno = EIO;
    return NULL;
  }
  *len = got;
  return buf;
}

/* ---- applying a staged session ---- */

typedef struct report {
  char fail[1500];            /* what failed, "; "-separated */
  size_t flen;
  unsigned failures;
  unsigned pl_ok, in_ok, tab_ok, bus_ok, code_ok, gc_ok, gn_ok;
  uint32_t *pl_saved, *pl_new;
  int *tab_saved, *tab_new, *bus_saved, *bus_new;
  uint32_t *gn_saved, *gn_new;  /* gain nodes */
  unsigned bn_ok;
  uint32_t *bn_saved, *bn_new;  /* bus nodes */
  unsigned rt_ok;               /* MIDI routes */
} report;

static void failed(report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void failed(report *r, const char *fmt, ...) {
  va_list ap;

  r->failures++;
  if (r->flen + 4 >= sizeof r->fail)
    return;
  if (r->flen > 0)
    r->flen += (size_t)snprintf(r->fail + r->flen, sizeof r->fail - r->flen, "; ");
  va_start(ap, fmt);
  r->flen += (size_t)vsnprintf(r->fail + r->flen, sizeof r->fail - r->flen, fmt, ap);
  va_end(ap);
  if (r->flen >= sizeof r->fail)
    r->flen = sizeof r->fail - 1;
}

static void plugins_unload(sonod *d, report *r) {
  pnode *n;

  /* The current plugins go (their nodes are freed when the audio thread
   * lets go of them); the file's come in, in the saved order. */
  for (n = plugin_ctl_first(); n != NULL; n = n->next) {
    rt_cmd cmd;

    if (n->removing)
      continue;
    /* As plugin.unload: the plan without the node goes first. */
    graph_ctl_node_removed(d, n->id);
    memset(&cmd, 0, sizeof cmd);
    cmd.type = RT_CMD_NODE_REMOVE;
    cmd.at_kind = RT_AT_NOW;
    cmd.u.node.id = n->id;
    if (engine_ctl_push(d, &cmd) == 0)
      n->removing = true;
    else
      failed(r, "plugin node %u could not be unloaded (queue full)", n->id);
  }
}

/* A saved plugin just loaded as node n: its program, chunk, parameters. */
static void plugin_restore(const st_plugin *p, pnode *n, report *r) {
  char verr[VST_ERR_LEN];
  int k;

  if (p->program >= 0 && p->program < vst_program_count(n->inst))
    vst_program_set(n->inst, p->program, verr);
  if (p->state != NULL && vst_state_set(n->inst, p->state, p->state_len, verr) != VST_OK)
    log_warn("state: %s refused its saved chunk (%s); restoring its parameters", p->path, verr);
  /* Then the parameters, always: some plugins' chunks hold their current
   * preset rather than the edited values (amsynth does). */
  for (k = 0; k < (int)p->nparams && k < vst_param_count(n->inst); k++)
    vst_param_set(n->inst, k, p->params[k], verr);
  r->pl_saved[r->pl_ok] = p->node;
  r->pl_new[r->pl_ok++] = n->id;
}

/* What the file does not define goes; compiled code cannot be taken
 * back from Csound, so the record simply starts over with the file's. */
static void csound_clear(sonod *d, const session *s, report *r, cs_engine *eng) {
  cs_error e;
  unsigned i;

  for (i = rec.nin; i-- > 0;)
    if (find_instr(s, rec.in[i].name) < 0) {
      if (cs_instr_undefine(eng, rec.in[i].name, &e) != 0)
        failed(r, "instrument '%s' (not in the file) kept: %s", rec.in[i].name, e.msg);
      else
        state_note_instr_undefine(d, rec.in[i].name);
    }
  for (i = 0; i < rec.ntab; i++)
    cs_table_free(eng, rec.tab[i].num, &e);
  for (i = 0; i < rec.nbus; i++)
    cs_bus_free(eng, rec.bus[i].id, &e);
  while (rec.ntab > 0)
    state_note_table_free(d, rec.tab[0].num);
  while (rec.nbus > 0)
    state_note_bus_free(d, rec.bus[0].id);
  while (rec.ncode > 0)
    free(rec.code[--rec.ncode]);
}

/* Compile i of the file: its code blocks, then its instruments.  Csound
 * takes one compile at a time, so the caller waited for the previous
 * one's merge. */
static void csound_compile_one(sonod *d, const session *s, report *r, cs_engine *eng,
                               unsigned i) {
  cs_error e;
  unsigned k;

  memset(&e, 0, sizeof e);
  if (i < s->ncode) {
    if (cs_compile(eng, s->code[i], &e) != 0) {
      failed(r, "csound.code[%u] not compiled: %s", i, e.msg);
      return;
    }
    state_note_compile(d, s->code[i]);
    r->code_ok++;
  } else {
    const st_instr *in = &s->in[i - s->ncode];
    cs_param p[128];

    for (k = 0; k < in->np && k < 128; k++) {
      p[k].name = in->p[k].name;
      p[k].value = in->p[k].value;
    }
    if (cs_instr_define(eng, in->name, in->body, p, k, in->init, in->prio, &e) != 0) {
      failed(r, "instrument '%s' not defined: %s", in->name, e.msg);
      return;
    }
    state_note_instr(d, in->name, in->body, p, k, in->init, in->prio);
    midi_cs_instr_defined(d, in->name);
    r->in_ok++;
  }
}

/* Tables and buses, after the compiles. */
static void csound_data(sonod *d, const session *s, report *r, cs_engine *eng) {
  cs_error e;
  unsigned i;

  for (i = 0; i < s->ntab; i++) {
    const st_table *t = &s->tab[i];
    unsigned ch;
    double sr;
    int tab, rc;

    if (t->path != NULL)
      rc = cs_table_read(eng, t->path, &tab, &ch, &sr, &e);
    else
      rc = cs_table_new(eng, t->size, t->data, &tab, &e);
    if (rc != 0) {
      failed(r, "table %d not restored: %s", t->num, e.msg);
      continue;
    }
    state_note_table(d, tab, t->path, t->data, t->size);
    r->tab_saved[r->tab_ok] = t->num;
    r->tab_new[r->tab_ok++] = tab;
  }
  for (i = 0; i < s->nbus; i++) {
    int bus;

    if (cs_bus_new(eng, s->bus[i].kind, &bus, &e) != 0) {
      failed(r, "bus %d not restored: %s", s->bus[i].id, e.msg);
      continue;
    }
    if (s->bus[i].kind == CS_BUS_CONTROL)
      cs_bus_set(eng, bus, s->bus[i].value, 0, &e);
    state_note_bus(d, bus, s->bus[i].kind);
    r->bus_saved[r->bus_ok] = s->bus[i].id;
    r->bus_new[r->bus_ok++] = bus;
  }
  csound_ctl_poll(d);
}

/* A saved node id as the id it has now (0: none). */
static uint32_t map_gid(const report *r, const uint32_t *gsaved, const uint32_t *gnew, unsigned ng,
                        uint32_t id) {
  unsigned i;

  if (id >= GRAPH_ID_OUT)
    return id;
  for (i = 0; i < r->pl_ok; i++)
    if (r->pl_saved[i] == id)
      return r->pl_new[i];
  for (i = 0; i < ng; i++)
    if (gsaved[i] == id)
      return gnew[i];
  for (i = 0; i < r->bn_ok; i++)
    if (r->bn_saved[i] == id)
      return r->bn_new[i];
  return 0;
}

/* A saved bus node over the buses as restored (their ids mapped). */
static void restore_bus_node(sonod *d, const st_gnode *sn, report *r) {
  int64_t buses[BUSNODE_MAX_BUSES];
  const char *code;
  char msg[200];
  unsigned k, j;
  uint32_t id;

  for (k = 0; k < sn->nbuses; k++) {
    for (j = 0; j < r->bus_ok && r->bus_saved[j] != sn->buses[k]; j++)
      ;
    if (j == r->bus_ok) {
      failed(r, "graph: bus node %u not restored: bus %d was not restored", sn->id,
             sn->buses[k]);
      return;
    }
    buses[k] = r->bus_new[j];
  }
  if (busnode_ctl_new(d, buses, sn->nbuses, &id, &code, msg, sizeof msg) != 0) {
    failed(r, "graph: bus node %u not restored: %s", sn->id, msg);
    return;
  }
  r->bn_saved[r->bn_ok] = sn->id;
  r->bn_new[r->bn_ok++] = id;
}

/* The saved graph over the one the plugins' loading built: gain nodes
 * made afresh, every connection not in the file faded out, the file's
 * connected (mapped to the new ids), node settings set, one plan sent. */
static void apply_graph(sonod *d, const session *s, report *r) {
  graph *g = graph_ctl_graph();
  uint32_t *gsaved, *gnew, path[16];
  unsigned i, ng = 0, ok = 0;

  if (!s->has_graph || g == NULL)
    return;
  gsaved = r->gn_saved;
  gnew = r->gn_new;
  for (i = g->nnodes; i-- > 0;)
    if (g->node[i].kind == GN_GAIN)
      graph_remove_node(g, g->node[i].id);
  for (i = 0; i < g->nconns; i++)
    if (!g->conn[i].dying)
      g->conn[i].dying = g->gen + 1;
  for (i = 0; i < s->ngn; i++) {
    const st_gnode *sn = &s->gn[i];
    uint32_t id;
    gnode *n;

    if (sn->kind == GN_GAIN) {
      char name[32];

      id = plugin_ctl_take_id();
      snprintf(name, sizeof name, "gain %u", id);
      if (graph_add_node(g, id, GN_GAIN, name, sn->channels, sn->channels) == NULL) {
        failed(r, "graph: gain node %u not restored (out of memory)", sn->id);
        continue;
      }
      gsaved[ng] = sn->id;
      gnew[ng++] = id;
    } else if (sn->kind == GN_BUS) {
      restore_bus_node(d, sn, r);
    }
    id = map_gid(r, gsaved, gnew, ng, sn->id);
    if (id == 0 || (n = graph_node(g, id)) == NULL)
      continue;   /* a plugin that did not load: already reported */
    n->bypass = sn->bypass;
    n->mute = sn->mute;
    n->gain = sn->gain;
  }
  for (i = 0; i < s->ngc; i++) {
    const st_gconn *sc = &s->gc[i];
    uint32_t from = map_gid(r, gsaved, gnew, ng, sc->from);
    uint32_t to = map_gid(r, gsaved, gnew, ng, sc->to);
    gnode *fn = from ? graph_node(g, from) : NULL, *tn = to ? graph_node(g, to) : NULL;
    gconn *c;

    if (fn == NULL || tn == NULL || sc->from_port >= fn->nout || sc->to_port >= tn->nin) {
      failed(r, "graph: connection %u (node %u:%u -> %u:%u) not restored: no such node or port",
             i, sc->from, sc->from_port + 1, sc->to, sc->to_port + 1);
      continue;
    }
    if ((c = graph_find_conn(g, from, sc->from_port, to, sc->to_port)) != NULL) {
      c->gain = sc->gain;
      c->dying = 0;
    } else if (graph_cycle(g, from, to, path, 16) > 0 ||
               graph_add_conn(g, from, sc->from_port, to, sc->to_port, sc->gain, true) == NULL) {
      failed(r, "graph: connection %u would close a cycle (or out of memory)", i);
      continue;
    }
    ok++;
  }
  r->gc_ok = ok;
  r->gn_ok = ng;
  if (graph_ctl_commit(d, NULL) != 0)
    failed(r, "graph: the new plan could not be built");
}

/* The file's MIDI routes replace the current ones: plugin routes to the
 * nodes their plugins have now, Csound routes to the instruments as
 * restored (the old Csound routes went before Csound was cleared). */
static void apply_midi(sonod *d, const session *s, report *r) {
  unsigned i, k;

  midi_ctl_clear();
  for (i = 0; i < s->nrt; i++) {
    const st_route *sr = &s->rt[i];
    char msg[600];

    if (sr->to == GRAPH_ID_CSOUND) {
      if (midi_cs_restore(sr->instr, sr->note, sr->vel, sr->channel, sr->voices, msg,
                          sizeof msg) != 0)
        failed(r, "MIDI route to Csound instrument '%s' not restored: %s", sr->instr, msg);
      else
        r->rt_ok++;
      continue;
    }
    for (k = 0; k < r->pl_ok && r->pl_saved[k] != sr->to; k++)
      ;
    if (k == r->pl_ok)
      failed(r, "MIDI route to plugin node %u not restored: its plugin was not restored",
             sr->to);
    else if (midi_ctl_set(r->pl_new[k], sr->channel) != 0)
      failed(r, "MIDI route to plugin node %u not restored: at most %d routes", sr->to,
             MIDI_MAX_ROUTES);
    else
      r->rt_ok++;
  }
  if (midi_ctl_commit(d, NULL) != 0)
    failed(r, "the MIDI routes to plugins were not passed to the audio thread (out of memory "
           "or its queue full); the next midi.route does");
}

static void pack_idmap(msgpack_packer *pk, const char *key, const char *idkey, unsigned n,
                       const int64_t *saved, const int64_t *now) {
  unsigned i;

  sono_pack_cstr(pk, key);
  msgpack_pack_array(pk, n);
  for (i = 0; i < n; i++) {
    msgpack_pack_map(pk, 2);
    sono_pack_key_int(pk, "saved", saved[i]);
    sono_pack_key_int(pk, idkey, now[i]);
  }
}

/* The reply's map of saved ids to the ids they have now. */
static void pack_ids(const report *r, msgpack_packer *ids) {
  unsigned n = r->pl_ok + r->tab_ok + r->bus_ok + r->gn_ok + r->bn_ok + 1, i;
  int64_t *a = calloc(n, sizeof *a), *b = calloc(n, sizeof *b);

  if (a == NULL || b == NULL)
    abort();
  msgpack_pack_map(ids, 7);
  for (i = 0; i < r->pl_ok; i++)
    a[i] = r->pl_saved[i], b[i] = r->pl_new[i];
  pack_idmap(ids, "plugins", "node", r->pl_ok, a, b);
  for (i = 0; i < r->gn_ok; i++)
    a[i] = r->gn_saved[i], b[i] = r->gn_new[i];
  pack_idmap(ids, "gain_nodes", "node", r->gn_ok, a, b);
  for (i = 0; i < r->bn_ok; i++)
    a[i] = r->bn_saved[i], b[i] = r->bn_new[i];
  pack_idmap(ids, "bus_nodes", "node", r->bn_ok, a, b);
  for (i = 0; i < r->tab_ok; i++)
    a[i] = r->tab_saved[i], b[i] = r->tab_new[i];
  pack_idmap(ids, "tables", "table", r->tab_ok, a, b);
  for (i = 0; i < r->bus_ok; i++)
    a[i] = r->bus_saved[i], b[i] = r->bus_new[i];
  pack_idmap(ids, "buses", "bus", r->bus_ok, a, b);
  sono_pack_key_uint(ids, "instrs", r->in_ok);
  sono_pack_key_uint(ids, "midi_routes", r->rt_ok);
  free(a);
  free(b);
}

/* ---- the apply machine ----
 *
 * A staged session is applied in steps driven by the loop, so that other
 * clients are served meanwhile (ping, status, meters, events):
 *   1. the current plugins are unloaded, and the file's loaded one after
 *      the other on the thread pool (plugin_ctl_load_async), each started
 *      when the one before is attached: they get their node ids in the
 *      file's order, as when loading was synchronous;
 *   2. Csound: the current MIDI routes to instruments are closed (the same
 *      timer waits for their voices to let go of their synth slots), what
 *      the file does not define goes, then its code blocks and instruments
 *      are compiled one at a time, each once the previous one has merged
 *      (a 1 ms timer looks, and gives up after 3 s), then tables and buses;
 *   3. the file's MIDI routes replace the current ones, then the graph, in
 *      one go; then the reply (or the restore's log line).
 * One apply at a time (`cur`): a second state.load is refused with busy.
 * While one runs, `applying` keeps changes from arming the autosave, and
 * neither the autosave, state.save nor shutdown snapshots the half-applied
 * session; the end of a state.load counts as one change. */

#define MERGE_POLL_MS 1
#define MERGE_WAIT_MS 3000

struct apply_job {
  sonod *d;
  session s;
  report r;
  unsigned next;              /* the plugin, then the compile, to do next */
  uv_timer_t timer;           /* looks for Csound's merges */
  uint64_t wait_from;         /* loop time when the current wait began */
  void (*done)(apply_job *j);
  uint32_t client;            /* state.load: whom to answer (0: the restore) */
  uint64_t req_id;
  state_ready_cb ready;       /* the restore: what runs after it */
  char path[4200];
};

static void stage_plugins(apply_job *j);
static void csound_next(apply_job *j);
static void offline_kcycle(sonod *d, cs_engine *eng);

/* Takes over s (the caller forgets it). */
static apply_job *job_new(sonod *d, const session *s, const char *path) {
  apply_job *j = calloc(1, sizeof *j);
  report *r;

  if (j == NULL)
    abort();
  r = &j->r;
  j->d = d;
  j->s = *s;
  snprintf(j->path, sizeof j->path, "%s", path);
  r->pl_saved = calloc(s->npl + 1, sizeof *r->pl_saved);
  r->pl_new = calloc(s->npl + 1, sizeof *r->pl_new);
  r->tab_saved = calloc(s->ntab + 1, sizeof(int));
  r->tab_new = calloc(s->ntab + 1, sizeof(int));
  r->bus_saved = calloc(s->nbus + 1, sizeof(int));
  r->bus_new = calloc(s->nbus + 1, sizeof(int));
  r->gn_saved = calloc(s->ngn + 1, sizeof *r->gn_saved);
  r->gn_new = calloc(s->ngn + 1, sizeof *r->gn_new);
  r->bn_saved = calloc(s->ngn + 1, sizeof *r->bn_saved);
  r->bn_new = calloc(s->ngn + 1, sizeof *r->bn_new);
  if (r->pl_saved == NULL || r->pl_new == NULL || r->tab_saved == NULL || r->tab_new == NULL ||
      r->bus_saved == NULL || r->bus_new == NULL || r->gn_saved == NULL || r->gn_new == NULL ||
      r->bn_saved == NULL || r->bn_new == NULL)
    abort();
  uv_timer_init(d->loop, &j->timer);
  j->timer.data = j;
  return j;
}

static const char *job_path(const apply_job *j) {
  return j->path;
}

static void job_closed(uv_handle_t *h) {
  free(h->data);
}

static void job_free(apply_job *j) {
  report *r = &j->r;

  free(r->pl_saved);
  free(r->pl_new);
  free(r->tab_saved);
  free(r->tab_new);
  free(r->bus_saved);
  free(r->bus_new);
  free(r->gn_saved);
  free(r->gn_new);
  free(r->bn_saved);
  free(r->bn_new);
  session_free(&j->s);
  uv_close((uv_handle_t *)&j->timer, job_closed);
}

static void apply_start(apply_job *j) {
  cur = j;
  applying = true;
  plugins_unload(j->d, &j->r);
  j->next = 0;
  stage_plugins(j);
}

static void on_plugin_loaded(sonod *d, void *ud, const char *path, pnode *node, const char *code,
                             const char *err) {
  apply_job *j = ud;
  const st_plugin *p = &j->s.pl[j->next];

  (void)d;
  (void)path;
  (void)code;
  if (node == NULL)
    failed(&j->r, "plugin %s (saved node %u) not loaded: %s", p->path, p->node, err);
  else
    plugin_restore(p, node, &j->r);
  j->next++;
  stage_plugins(j);
}

static void stage_graph(apply_job *j) {
  apply_midi(j->d, &j->s, &j->r);
  apply_graph(j->d, &j->s, &j->r);
  applying = false;
  cur = NULL;
  j->done(j);
  job_free(j);
}

/* Csound once no voice pool is closing any more: what the file does not
 * define goes, then its compiles one by one. */
static void csound_begin(apply_job *j) {
  csound_clear(j->d, &j->s, &j->r, csound_ctl_engine());
  j->next = 0;
  csound_next(j);
}

/* Waits for the closed pools' voices to end (their stop takes a block;
 * release tails take longer); after MERGE_WAIT_MS it goes on, and an
 * instrument that cannot be undefined is reported by csound_clear. */
static void on_pools_poll(uv_timer_t *t) {
  apply_job *j = t->data;
  sonod *d = j->d;
  cs_engine *eng = csound_ctl_engine();

  csound_ctl_poll(d);
  if (cs_pools_closing(eng) > 0 && uv_now(d->loop) - j->wait_from < MERGE_WAIT_MS) {
    offline_kcycle(d, eng);
    return;   /* (the poll in it may have ended a --length render and with it sonod) */
  }
  uv_timer_stop(t);
  if (d->be->ops->render != NULL) {
    d->be->ops->poll(d->be);
    if (d->stopping)
      return;   /* state_shutdown freed j */
  }
  csound_begin(j);
}

static void stage_csound(apply_job *j) {
  cs_engine *eng = csound_ctl_engine();
  const session *s = &j->s;

  /* Bus nodes read buses the Csound part frees: they go first (made
   * afresh over the restored buses by apply_graph). */
  if (busnode_ctl_remove_all(j->d) > 0 && !s->has_graph)
    graph_ctl_commit(j->d, NULL);
  if (eng == NULL) {
    if (s->ncode + s->nin + s->ntab + s->nbus > 0)
      failed(&j->r, "the Csound engine is not running: no code, instruments, tables or buses");
    stage_graph(j);
    return;
  }
  /* The routes go first: an instrument whose pool still holds synth
   * slots cannot be undefined, and the file's routes want the slots. */
  midi_cs_clear();
  csound_ctl_poll(j->d);
  if (cs_pools_closing(eng) == 0) {
    csound_begin(j);
    return;
  }
  j->wait_from = uv_now(j->d->loop);
  uv_timer_start(&j->timer, on_pools_poll, MERGE_POLL_MS, MERGE_POLL_MS);
  offline_kcycle(j->d, eng);
}

static void stage_plugins(apply_job *j) {
  while (j->next < j->s.npl) {
    const st_plugin *p = &j->s.pl[j->next];
    const char *code;
    char err[600];

    if (plugin_ctl_load_async(j->d, p->path, 0, on_plugin_loaded, j, &code, err, sizeof err) == 0)
      return;   /* on_plugin_loaded goes on */
    failed(&j->r, "plugin %s (saved node %u) not loaded: %s", p->path, p->node, err);
    j->next++;
  }
  stage_csound(j);
}

/* The offline backend runs no k-cycles while idle: ask it for one, with
 * no client waiting for that render.  The null and JACK clocks run them by
 * themselves. */
static void offline_kcycle(sonod *d, cs_engine *eng) {
  char err[200];

  if (d->be->ops->render != NULL) {
    d->be->ops->poll(d->be);
    d->be->ops->render(d->be, 0, 0, cs_engine_ksmps(eng), err, sizeof err);
  }
}

static void on_merge_poll(uv_timer_t *t) {
  apply_job *j = t->data;
  sonod *d = j->d;
  cs_engine *eng = csound_ctl_engine();
  unsigned total = j->s.ncode + j->s.nin;

  if (cs_compile_pending(eng) && uv_now(d->loop) - j->wait_from < MERGE_WAIT_MS) {
    offline_kcycle(d, eng);
    return;   /* (the poll in it may have ended a --length render and with it sonod) */
  }
  uv_timer_stop(t);
  /* Given up: the rest would wait as long again. */
  for (; cs_compile_pending(eng) && j->next < total; j->next++) {
    if (j->next < j->s.ncode)
      failed(&j->r, "csound.code[%u] not compiled: the previous compile was not merged "
             "within %d ms (is the audio thread running?)", j->next, MERGE_WAIT_MS);
    else
      failed(&j->r, "instrument '%s' not defined: the previous compile was not merged "
             "within %d ms (is the audio thread running?)", j->s.in[j->next - j->s.ncode].name,
             MERGE_WAIT_MS);
  }
  if (d->be->ops->render != NULL) {
    d->be->ops->poll(d->be);
    if (d->stopping)
      return;   /* state_shutdown freed j */
  }
  csound_next(j);
}

/* Code blocks, then instruments, each once Csound merged the one before;
 * then tables and buses, then the graph. */
static void csound_next(apply_job *j) {
  cs_engine *eng = csound_ctl_engine();

  while (j->next < j->s.ncode + j->s.nin) {
    if (cs_compile_pending(eng)) {
      j->wait_from = uv_now(j->d->loop);
      uv_timer_start(&j->timer, on_merge_poll, MERGE_POLL_MS, MERGE_POLL_MS);
      offline_kcycle(j->d, eng);
      return;
    }
    csound_compile_one(j->d, &j->s, &j->r, eng, j->next++);
  }
  csound_data(j->d, &j->s, &j->r, eng);
  stage_graph(j);
}

static void summary(const session *s, const report *r, char *out, size_t len) {
  snprintf(out, len,
           "restored %u of %u plugins, %u of %u code blocks, %u of %u instruments, %u of %u "
           "tables, %u of %u buses, %u of %u graph connections, %u of %u MIDI routes",
           r->pl_ok, s->npl, r->code_ok, s->ncode, r->in_ok, s->nin, r->tab_ok, s->ntab,
           r->bus_ok, s->nbus, r->gc_ok, s->ngc, r->rt_ok, s->nrt);
}

/* ---- start-up ---- */

static void restore_done(apply_job *j) {
  char sum[400];

  summary(&j->s, &j->r, sum, sizeof sum);
  if (j->r.failures != 0)
    log_error("state: from %s %s; failed: %s", j->path, sum, j->r.fail);
  else
    log_info("state: from %s %s", j->path, sum);
  /* What start-up did (the first plan, the restore) is no change to save. */
  dirty = false;
  j->ready(j->d);
}

/* Starts restoring the autosave file; false when there is none to restore
 * (or it is corrupt and was moved aside). */
static bool restore_start(sonod *d, state_ready_cb ready) {
  char why[600];
  apply_job *j;
  session s;
  size_t len;
  char *buf;

  if ((buf = read_file(autosave_path, &len, why, sizeof why)) == NULL) {
    if (errno != ENOENT)
      log_error("state: %s; starting empty", why);
    return false;
  }
  if (parse_state(buf, len, &s, why, sizeof why) != 0) {
    char aside[4300];

    free(buf);
    snprintf(aside, sizeof aside, "%s.corrupt-%lld", autosave_path, (long long)time(NULL));
    if (rename(autosave_path, aside) == 0)
      log_error("state: %s is not a good state file (%s); moved aside to %s, starting empty",
                autosave_path, why, aside);
    else
      log_error("state: %s is not a good state file (%s) and cannot be moved aside (%s); "
                "starting empty", autosave_path, why, strerror(errno));
    return false;
  }
  free(buf);
  log_info("state: restoring %s", autosave_path);
  j = job_new(d, &s, autosave_path);
  j->done = restore_done;
  j->ready = ready;
  apply_start(j);
  return true;
}

void state_start(sonod *d, state_ready_cb ready) {
  const char *dir = getenv("STATE_DIRECTORY");
  char first[4096];

  /* systemd may list several directories, colon-separated: ours is the
   * first. */
  if (dir != NULL && dir[0] != '\0') {
    snprintf(first, sizeof first, "%.*s", (int)strcspn(dir, ":"), dir);
  } else if (d->opt.state_dir[0] != '\0') {
    snprintf(first, sizeof first, "%s", d->opt.state_dir);
  } else {
    log_info("state: no state directory (--state-dir, $STATE_DIRECTORY): autosave off");
    ready(d);
    return;
  }
  if (mkdir(first, 0700) != 0 && errno != EEXIST)
    log_warn("state: cannot create %s: %s", first, strerror(errno));
  snprintf(autosave_path, sizeof autosave_path, "%s/" STATE_FILE, first);
  uv_timer_init(d->loop, &debounce);
  debounce.data = d;
  timer_on = true;
  dirty = false;   /* the first plan is no change of the session */
  log_info("state: autosave to %s", autosave_path);

  if (d->opt.no_restore)
    log_info("state: not restoring (--no-restore)");
  else if (restore_start(d, ready))
    return;   /* restore_done runs ready */
  dirty = false;
  ready(d);
}

/* ---- the operations ---- */

/* state.save {path?}: ok {path, bytes} once the file is in place. */
void op_state_save(request *r) {
  const char *p = NULL;
  size_t len = 0;
  char path[4200];

  if (!arg_str(r, "path", false, &p, &len))
    return;
  if (p != NULL) {
    if (len == 0 || len >= sizeof path || memchr(p, '\0', len) != NULL) {
      reply_error(r->c, true, r->id, SONO_E_BAD_VALUE, "state.save: 'path' must be a path");
      return;
    }
    memcpy(path, p, len);
    path[len] = '\0';
  } else if (autosave_path[0] != '\0') {
    snprintf(path, sizeof path, "%s", autosave_path);
  } else {
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE,
                "state.save: no 'path' given and no state directory (--state-dir) configured");
    return;
  }
  /* Half a session is no session: save it once the load is done. */
  if (cur != NULL) {
    reply_error(r->c, true, r->id, SONO_E_BUSY,
                "state.save: %s is being loaded; save once that is done", cur->path);
    return;
  }
  /* Saving to the autosave file is an autosave: ordered with the others. */
  if (save_async(r->d, path, strcmp(path, autosave_path) == 0, r->c->id, r->id) != 0)
    reply_error(r->c, true, r->id, SONO_E_INTERNAL, "state.save: cannot start the write");
  else if (strcmp(path, autosave_path) == 0)
    dirty = false;
}

static void load_done(apply_job *j) {
  client *c = client_find(j->d, j->client);
  msgpack_sbuffer sb;
  msgpack_packer pk;
  char sum[400];

  if (c == NULL) {
    summary(&j->s, &j->r, sum, sizeof sum);
    log_info("state: state.load of %s done (%s) after its client left; reply dropped", j->path,
             sum);
  } else if (j->r.failures != 0) {
    summary(&j->s, &j->r, sum, sizeof sum);
    reply_error(c, true, j->req_id, SONO_E_LOAD_FAILED, "state.load: %s: %s; not restored: %s",
                j->path, sum, j->r.fail);
  } else {
    reply_begin(&sb, &pk, j->req_id);
    pack_ids(&j->r, &pk);
    reply_end(c, &sb);
  }
  state_changed(j->d);
}

/* state.load {path}: replaces the session; ok {plugins, gain_nodes, tables,
 * buses, instrs} with the saved ids and the ids they have now, once the
 * last stage is applied (other requests are served meanwhile). */
void op_state_load(request *r) {
  const char *p;
  size_t len, flen;
  char path[4200], why[800];
  apply_job *j;
  session s;
  char *buf;

  if (!arg_str(r, "path", true, &p, &len))
    return;
  if (len == 0 || len >= sizeof path || memchr(p, '\0', len) != NULL) {
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE, "state.load: 'path' must be a path");
    return;
  }
  memcpy(path, p, len);
  path[len] = '\0';
  if (cur != NULL) {
    reply_error(r->c, true, r->id, SONO_E_BUSY,
                "state.load: %s is still being loaded; one load at a time, retry once it is "
                "done", cur->path);
    return;
  }
  if ((buf = read_file(path, &flen, why, sizeof why)) == NULL) {
    reply_error(r->c, true, r->id, SONO_E_FILE_ERROR, "state.load: %s", why);
    return;
  }
  if (parse_state(buf, flen, &s, why, sizeof why) != 0) {
    free(buf);
    reply_error(r->c, true, r->id, SONO_E_BAD_STATE,
                "state.load: %s: %s; nothing was changed", path, why);
    return;
  }
  free(buf);
  j = job_new(r->d, &s, path);
  j->done = load_done;
  j->client = r->c->id;
  j->req_id = r->id;
  apply_start(j);
}
