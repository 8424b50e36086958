/* vst_host_main.c - sonod-plugin-host: runs isolated plugins for the
 * daemon (see vst_remote.h): one, or a host group's.  The program's main
 * (daemon/lv2/lv2_host_main.c) calls vst_host_main with the opener of the
 * other format it hosts (LV2).
 *
 *   sonod-plugin-host DAEMON-PID LABEL    (fd 3: control socket)
 *
 * The main thread answers control calls on the socket (load, map, the
 * plugin's dispatcher, parameters, reconfigure, quit), each for one slot
 * (one plugin), with the ordinary vst library; each slot has a processing
 * thread that waits on its region's `req` futex, runs one process call per
 * request and publishes `done`.  It dies with the daemon (a thread waits on
 * the daemon's pidfd), when the socket closes, and when its last plugin is
 * unloaded.  LABEL (the plugin's path or the group's name) is for ps. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "daemon/queue/fpu.h"
#include "daemon/vst/vst_instance.h"
#include "daemon/vst/vst_remote.h"

#define SX_ARENA (VR_SYSEX_BYTES + VR_EVENTS * (sizeof(vst_sysex) + 16))

static const vst_host_format *other_format;

typedef struct slot {
  vst_instance *inst;
  vr_shm *shm;
  size_t shm_size;
  unsigned nin, nout;
  uint32_t first_seen;   /* `req` when the region was mapped: already done */
  int prio;
  _Atomic bool stop;     /* the processing thread ends (the plugin is unloaded) */
  pthread_t thread;
  bool thread_on;
  /* Sysex into the plugin: each message copied out of the region into
   * this arena, with its vst_sysex header, for the one call (every event
   * queued is delivered by it).  The instance then puts them on its
   * reclaim list, which is simply dropped: nothing is allocated or freed
   * per call. */
  unsigned char *sx_arena;
  unsigned char msg[VR_MSG_MAX];   /* one message of the format's own, either way */
} slot;

static slot *slots[VR_SLOTS];
static unsigned nslots;

static vst_sysex *sysex_of(slot *s, const vr_event *ev, size_t *used) {
  vr_shm *shm = s->shm;
  unsigned char *sx_arena = s->sx_arena;
  const size_t arena_size = SX_ARENA;
  size_t at = (*used + 15) & ~(size_t)15;
  vst_sysex *sx;

  if (ev->sx_len < 2 || ev->sx_off > VR_SYSEX_BYTES || ev->sx_len > VR_SYSEX_BYTES - ev->sx_off ||
      at + sizeof *sx + ev->sx_len > arena_size)
    return NULL;
  sx = (vst_sysex *)(sx_arena + at);
  sx->next = NULL;
  sx->len = ev->sx_len;
  memcpy(sx->data, shm->sysex + ev->sx_off, ev->sx_len);
  *used = at + sizeof *sx + ev->sx_len;
  return sx;
}

/* What the plugin reported during the call, for the daemon (take_back in
 * vst_remote_rt.c): the MIDI it sent and the parameters it changed itself
 * (also those it changed in control calls since the last call).  MIDI past
 * VR_MIDI_OUT in one call is counted as dropped, automation past
 * VR_AUTOMATE waits for the next call. */
/* The sysex the plugin sent, into the region: as many whole messages as
 * fit (VR_SYSEX_OUT, VR_SYSEX_BYTES); the rest wait in the instance's ring
 * for the next call. */
static void send_sysex(vst_instance *inst, vr_shm *shm) {
  size_t used = 0, len;
  unsigned k = 0;
  int64_t frame;
  int32_t delta;

  while (k < VR_SYSEX_OUT &&
         (len = vst_take_sysex_out(inst, &frame, &delta, shm->sysex_out_bytes + used,
                                   VR_SYSEX_BYTES - used)) > 0 &&
         len <= VR_SYSEX_BYTES - used) {
    shm->sysex_out[k].delta = delta;
    shm->sysex_out[k].len = 0;
    shm->sysex_out[k].sx_off = (uint32_t)used;
    shm->sysex_out[k].sx_len = (uint32_t)len;
    used += len;
    k++;
  }
  shm->nsysex_out = k;
}

/* The format's messages from the daemon, to the plugin before the call:
 * as many as it takes now (the rest wait in the ring).  Its messages for
 * the daemon after the call, as many as the ring has room for (the rest
 * wait in the plugin's own queue).  Each through the slot's scratch
 * (VR_MSG_MAX bytes): nothing allocated, no call. */
static void take_messages(slot *s) {
  uint32_t len;

  if (other_format == NULL || other_format->message_in == NULL)
    return;
  while ((len = vr_ring_peek(&s->shm->msg_in, s->msg, VR_MSG_MAX)) > 0 &&
         other_format->message_in(s->inst->effect, s->msg, len) == 0)
    vr_ring_next(&s->shm->msg_in, len);
}

static void send_messages(slot *s) {
  uint32_t len;

  if (other_format == NULL || other_format->message_out == NULL)
    return;
  while ((len = other_format->message_out(s->inst->effect, s->msg,
                                          vr_ring_room(&s->shm->msg_out) < VR_MSG_MAX
                                              ? vr_ring_room(&s->shm->msg_out)
                                              : VR_MSG_MAX)) > 0)
    (void)vr_ring_put(&s->shm->msg_out, s->msg, len);
}

static void send_back(slot *s) {
  vst_instance *inst = s->inst;
  vr_shm *shm = s->shm;
  vst_midi_out mo[VR_MIDI_OUT];
  vst_param_change pc[VR_AUTOMATE];
  unsigned n, i;
  uint32_t lost;

  n = vst_take_midi_out(inst, mo, VR_MIDI_OUT);
  for (i = 0; i < n; i++) {
    shm->midi_out[i].delta = mo[i].delta;
    shm->midi_out[i].len = mo[i].len;
    memcpy(shm->midi_out[i].data, mo[i].data, 3);
  }
  shm->nmidi_out = n;
  send_sysex(inst, shm);
  lost = vst_take_midi_out_dropped(inst);
  while (vst_take_midi_out(inst, mo, 1) == 1)
    lost++;
  shm->midi_out_dropped = lost;
  n = vst_take_param_changes(inst, pc, VR_AUTOMATE);
  for (i = 0; i < n; i++) {
    shm->automate[i].index = pc[i].index;
    shm->automate[i].value = pc[i].value;
  }
  shm->nautomate = n;
  shm->non_finite = vst_take_non_finite(inst) > 0;
  shm->nctl_out = other_format != NULL && other_format->control_outputs != NULL
                      ? other_format->control_outputs(inst->effect, shm->ctl_out, VR_CTL_OUT)
                      : 0;
  send_messages(s);
}

static void process_one(slot *s) {
  vst_instance *inst = s->inst;
  vr_shm *shm = s->shm;
  unsigned nin = s->nin, nout = s->nout;
  const float *in[nin > 0 ? nin : 1];
  float *out[nout > 0 ? nout : 1];
  unsigned i, n = shm->nframes, ne = shm->nevents, np = shm->nparams;
  size_t sx_used = 0;

  /* Denormals flushed like on the engine's threads (queue/fpu.h), every
   * call: the plugin may have cleared them in the last one. */
  rt_fpu_flush_denormals();
  if (n > shm->block || n > vst_rt_max_block(inst))
    n = 0;
  if (ne > VR_EVENTS)
    ne = VR_EVENTS;
  if (np > VR_PARAMS)
    np = VR_PARAMS;
  for (i = 0; i < nin; i++)
    in[i] = vr_in(shm, i);
  for (i = 0; i < nout; i++)
    out[i] = vr_out(shm, i);
  for (i = 0; i < np; i++)
    (void)vst_rt_set_param(inst, shm->params[i].index, shm->params[i].value);
  take_messages(s);
  for (i = 0; i < ne && n > 0; i++) {
    vr_event ev = shm->events[i];   /* the daemon's: read once */
    vst_midi_msg m;

    if (ev.len == 0) {
      vst_sysex *sx = sysex_of(s, &ev, &sx_used);

      if (sx == NULL || vst_rt_queue_sysex(inst, ev.delta, sx) != VST_OK)
        atomic_fetch_add_explicit(&inst->overflow, 1, memory_order_relaxed);
      continue;
    }
    memset(&m, 0, sizeof m);
    m.len = 3;
    memcpy(m.data, ev.data, 3);
    (void)vst_rt_queue_midi(inst, ev.delta, m);
  }
  memcpy(&inst->time, &shm->time, sizeof inst->time);
  inst->block_frame = shm->block_frame;
  vst_set_offline(inst, shm->offline != 0);
  if (n > 0)
    vst_rt_process(inst, in, nin, out, nout, n);
  /* The sysex delivered are in the arena: nothing to free. */
  atomic_store_explicit(&inst->reclaim, NULL, memory_order_relaxed);
  send_back(s);
}

static void *process_thread(void *arg) {
  slot *s = arg;
  vr_shm *shm = s->shm;
  uint32_t seen = s->first_seen;

  while (!atomic_load(&s->stop)) {
    uint32_t cur = __atomic_load_n(&shm->req, __ATOMIC_ACQUIRE);

    if (cur == seen) {
      (void)vr_futex_wait(&shm->req, seen, NULL);
      continue;
    }
    seen = cur;
    process_one(s);
    __atomic_store_n(&shm->done, cur, __ATOMIC_RELEASE);
    vr_futex_wake(&shm->done);
  }
  return NULL;
}

static int start_thread(slot *s, int prio) {
  pthread_t t;
  pthread_attr_t attr;
  struct sched_param sp;
  int rc = -1;

  /* The engine's scheduling class when we may: otherwise it misses
   * deadlines under load.  Plain scheduling when refused. */
  if (prio > 0) {
    pthread_attr_init(&attr);
    pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
    pthread_attr_setschedpolicy(&attr, SCHED_FIFO);
    memset(&sp, 0, sizeof sp);
    sp.sched_priority = prio;
    pthread_attr_setschedparam(&attr, &sp);
    rc = pthread_create(&t, &attr, process_thread, s);
    pthread_attr_destroy(&attr);
  }
  if (rc != 0)
    rc = pthread_create(&t, NULL, process_thread, s);
  if (rc == 0) {
    s->thread = t;
    s->thread_on = true;
  }
  return rc;
}

static void reply(vr_msg *m, int status, const void *payload, uint32_t len) {
  m->status = status;
  m->len = len;
  if (vr_write_full(VR_FD_SOCK, m, sizeof *m) != 0 ||
      (len > 0 && vr_write_full(VR_FD_SOCK, payload, len) != 0))
    _exit(0);
}

static void reply_err(vr_msg *m, int status, const char *err) {
  reply(m, status, err, (uint32_t)strlen(err));
}

static void on_load(vr_msg *m, const char *path) {
  size_t plen = strlen(path);
  vst_config cfg;
  char err[VST_ERR_LEN] = "";
  vr_loaded ld;
  AEffect *e;
  slot *s;
  int rc;

  if (m->slot < 0 || m->slot >= VR_SLOTS || slots[m->slot] != NULL) {
    reply_err(m, VST_E_INVALID, "that slot is taken");
    return;
  }
  if ((s = calloc(1, sizeof *s)) == NULL || (s->sx_arena = aligned_alloc(16, SX_ARENA)) == NULL) {
    free(s);
    reply_err(m, VST_E_NOMEM, "out of memory");
    return;
  }
  (void)mlock(s->sx_arena, SX_ARENA);
  s->prio = m->opcode;
  vst_config_init(&cfg);
  cfg.sample_rate = m->d;
  cfg.max_block = (unsigned)m->index;
  cfg.offline = (m->value & VR_LOAD_OFFLINE) != 0;
  cfg.float_only = (m->value & VR_LOAD_FLOAT_ONLY) != 0;
  cfg.event_capacity = VR_EVENTS;   /* all a call can bring */
  cfg.midi_out_capacity = VR_MIDI_OUT * 2;
  if (m->value & VR_LOAD_OTHER) {
    /* Another format: "path\0open_arg". */
    const char *arg = plen < m->len ? path + plen + 1 : "";

    rc = other_format == NULL ? vst_fail(err, VST_E_UNSUPPORTED,
                                         "this plugin host runs VST2 plugins only")
                              : other_format->prepare(arg, err);
    if (rc != VST_OK) {
      free(s->sx_arena);
      free(s);
      reply_err(m, rc, err);
      return;
    }
    cfg.open_effect = other_format->open_effect;
  }
  rc = vst_load(path, &cfg, &s->inst, err);
  if (rc != VST_OK) {
    free(s->sx_arena);
    free(s);
    reply_err(m, rc, err);
    return;
  }
  slots[m->slot] = s;
  nslots++;
  e = vst_get_effect(s->inst);
  s->nin = e->numInputs > 0 ? (unsigned)e->numInputs : 0;
  s->nout = e->numOutputs > 0 ? (unsigned)e->numOutputs : 0;
  ld.num_programs = e->numPrograms;
  ld.num_params = e->numParams;
  ld.num_inputs = e->numInputs;
  ld.num_outputs = e->numOutputs;
  ld.flags = e->flags;
  ld.initial_delay = e->initialDelay;
  ld.unique_id = e->uniqueID;
  ld.version = e->version;
  m->value = 0;
  reply(m, VST_OK, &ld, sizeof ld);
}

static void on_map(vr_msg *m, slot *s) {
  int fd = vr_recv_fd(VR_FD_SOCK);   /* the region's memfd follows the request */
  void *p = fd >= 0 ? mmap(NULL, (size_t)m->value, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
                    : MAP_FAILED;

  if (fd == -2)
    _exit(0);   /* the daemon is gone */
  if (fd >= 0)
    close(fd);
  if (s->shm != NULL || p == MAP_FAILED) {
    if (p != MAP_FAILED)
      munmap(p, (size_t)m->value);
    reply_err(m, VST_E_NOMEM, "cannot map the shared region");
    return;
  }
  (void)mlock(p, (size_t)m->value);
  s->shm = p;
  s->shm_size = (size_t)m->value;
  /* Read here, before the reply lets the daemon post a call: the thread
   * may start after that call, which it must not take as seen. */
  s->first_seen = __atomic_load_n(&s->shm->req, __ATOMIC_ACQUIRE);
  if (s->shm->nin != s->nin || s->shm->nout != s->nout || start_thread(s, s->prio) != 0) {
    reply_err(m, VST_E_INVALID, "the shared region does not fit the plugin");
    return;
  }
  reply(m, VST_OK, NULL, 0);
}

/* QUIT for a slot: its plugin is unloaded; the last one's host exits.  A
 * process call still running in it (past its deadline) would race with
 * effClose: that plugin is left as it is (the host exits if it was the
 * last). */
static void on_quit(vr_msg *m) {
  slot *s = m->slot >= 0 && m->slot < VR_SLOTS ? slots[m->slot] : NULL;
  bool idle;

  if (s != NULL) {
    slots[m->slot] = NULL;
    nslots--;
    idle = s->shm == NULL || __atomic_load_n(&s->shm->done, __ATOMIC_ACQUIRE) ==
                                 __atomic_load_n(&s->shm->req, __ATOMIC_ACQUIRE);
    if (nslots == 0) {
      if (idle)
        vst_unload(s->inst);
      _exit(0);
    }
    if (idle) {
      if (s->thread_on) {
        atomic_store(&s->stop, true);
        __atomic_fetch_add(&s->shm->req, 1, __ATOMIC_SEQ_CST);   /* its wait ends */
        vr_futex_wake(&s->shm->req);
        pthread_join(s->thread, NULL);
      }
      vst_unload(s->inst);
      if (s->shm != NULL)
        munmap(s->shm, s->shm_size);
      free(s->sx_arena);
      free(s);
    }
  } else if (nslots == 0) {
    _exit(0);
  }
  reply(m, VST_OK, NULL, 0);
}

static void on_dispatch(vr_msg *m, slot *s, char *payload) {
  AEffect *e = vst_get_effect(s->inst);
  char buf[VST2_STRING_BUFFER];

  if (vr_string_op(m->opcode)) {
    memset(buf, 0, sizeof buf);
    m->value = e->dispatcher(e, m->opcode, m->index, (VstIntPtr)m->value, buf, m->opt);
    buf[sizeof buf - 1] = '\0';
    reply(m, VST_OK, buf, (uint32_t)strlen(buf));
  } else if (vr_struct_op(m->opcode) > 0) {
    /* Zeroed, with room to spare for a plugin that writes past the end. */
    union {
      VstParameterProperties pp;
      char bytes[VST2_STRING_BUFFER];
    } out;

    _Static_assert(sizeof(VstParameterProperties) <= VST2_STRING_BUFFER, "struct buffer");
    memset(&out, 0, sizeof out);
    m->value = e->dispatcher(e, m->opcode, m->index, (VstIntPtr)m->value, &out, m->opt);
    reply(m, VST_OK, &out, (uint32_t)vr_struct_op(m->opcode));
  } else if (m->opcode == effGetChunk) {
    void *chunk = NULL;
    VstIntPtr size = e->dispatcher(e, effGetChunk, m->index, 0, &chunk, 0.0f);

    if (chunk == NULL || size <= 0 || (uint64_t)size > VR_MAX_PAYLOAD)
      size = 0;
    m->value = size;
    reply(m, VST_OK, chunk, (uint32_t)size);
  } else if (m->opcode == effSetChunk) {
    /* payload has a NUL after its end (amsynth runs strlen on it). */
    m->value = e->dispatcher(e, effSetChunk, m->index, (VstIntPtr)m->len, payload, 0.0f);
    reply(m, VST_OK, NULL, 0);
  } else {
    m->value = e->dispatcher(e, m->opcode, m->index, (VstIntPtr)m->value, NULL, m->opt);
    reply(m, VST_OK, NULL, 0);
  }
}

static void *watch_daemon(void *arg) {
  struct pollfd p = { .fd = (int)(intptr_t)arg, .events = POLLIN };

  while (poll(&p, 1, -1) < 0 && errno == EINTR)
    ;
  _exit(0);
}

/* Dies with the daemon: a thread waits for the daemon's pidfd to become
 * readable.  Not PR_SET_PDEATHSIG, which fires when the daemon's *thread*
 * that spawned this host ends, and a restart spawns it from a call thread
 * that ends right after (plugin_call.c); it is only the fallback, for
 * kernels without pidfd_open. */
static void die_with(pid_t daemon) {
  int fd = (int)syscall(SYS_pidfd_open, daemon, 0);
  pthread_t t;

  if (fd < 0 || pthread_create(&t, NULL, watch_daemon, (void *)(intptr_t)fd) != 0)
    prctl(PR_SET_PDEATHSIG, SIGKILL);
  else
    pthread_detach(t);
}

int vst_host_main(int argc, char **argv, const vst_host_format *other) {
  pid_t daemon = argc >= 2 ? (pid_t)atol(argv[1]) : 0;

  /* Die with the daemon; if it is already gone (checked after the watch
   * is set: the pid was still its own then), do not start. */
  if (daemon > 0)
    die_with(daemon);
  if (daemon <= 0 || getppid() != daemon) {
    fprintf(stderr, "sonod-plugin-host: run by sonod only\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  other_format = other;
  for (;;) {
    vr_msg m;
    char *payload;
    char err[VST_ERR_LEN] = "";
    slot *sl;

    if (vr_read_full(VR_FD_SOCK, &m, sizeof m) != 0 || m.len > VR_MAX_PAYLOAD)
      _exit(0);
    payload = malloc((size_t)m.len + 1);
    if (payload == NULL || (m.len > 0 && vr_read_full(VR_FD_SOCK, payload, m.len) != 0))
      _exit(0);
    payload[m.len] = '\0';
    sl = m.slot >= 0 && m.slot < VR_SLOTS ? slots[m.slot] : NULL;
    if (m.op == VR_QUIT) {
      on_quit(&m);
    } else if (m.op == VR_LOAD) {
      on_load(&m, payload);
    } else if (sl == NULL) {
      reply_err(&m, VST_E_INVALID, "no plugin loaded in that slot");
    } else {
      vst_instance *inst = sl->inst;

      switch (m.op) {
      case VR_MAP:
        on_map(&m, sl);
        break;
      case VR_DISPATCH:
        on_dispatch(&m, sl, payload);
        break;
      case VR_GET_PARAM: {
        float v = 0.0f;
        int rc = vst_param_get(inst, m.index, &v, err);

        m.opt = v;
        if (rc != VST_OK)
          reply_err(&m, rc, err);
        else
          reply(&m, VST_OK, NULL, 0);
        break;
      }
      case VR_SET_PARAM: {
        int rc = vst_param_set(inst, m.index, m.opt, err);

        if (rc != VST_OK)
          reply_err(&m, rc, err);
        else
          reply(&m, VST_OK, NULL, 0);
        break;
      }
      case VR_RECONF: {
        /* The daemon holds the node meanwhile: no process call runs. */
        int rc = vst_reconfigure(inst, m.d, (unsigned)m.index, err);

        if (rc != VST_OK)
          reply_err(&m, rc, err);
        else
          reply(&m, VST_OK, NULL, 0);
        break;
      }
      default:
        reply_err(&m, VST_E_INVALID, "unknown call");
      }
    }
    free(payload);
  }
}
