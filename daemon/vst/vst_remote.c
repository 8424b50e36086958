/* vst_remote.c - isolated plugins, control side: the host process, the
 * calls to it, and the proxy AEffect's control-side functions.
 *
 * An isolated instance is an ordinary vst_instance whose AEffect is ours:
 * dispatcher, getParameter and setParameter forward to the host over the
 * socket; processReplacing (vst_remote_rt.c) hands the block over in the
 * shared region.  The instance's own life-cycle calls (open, sample rate,
 * block size, resume) are answered here: the host ran them when it loaded
 * the plugin, and a later rate or block change reaches it as one VR_RECONF
 * at the next resume.  See vst_remote.h and ARCHITECTURE.md. */
#define SONOD_VST_REMOTE_DAEMON
#include "daemon/vst/vst_remote.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/futex.h>

#include "daemon/vst/vst_instance.h"

extern char **environ;

#define HOST_NAME "sonod-plugin-host"
#define CALL_TIMEOUT_MS 10000   /* a control call the host does not answer kills it (default) */
#define LOAD_TIMEOUT_MS 10000   /* the plugin's load in the host */
#define QUIT_TIMEOUT_MS 2000

/* ---- helpers shared with the host ---- */

bool vr_string_op(int32_t op) {
  switch (op) {
  case effGetProgramName: case effGetParamLabel: case effGetParamDisplay: case effGetParamName:
  case effGetProgramNameIndexed: case effGetEffectName: case effGetVendorString:
  case effGetProductString:
    return true;
  default:
    return false;
  }
}

size_t vr_struct_op(int32_t op) {
  switch (op) {
  case effGetParameterProperties:
    return sizeof(VstParameterProperties);
  default:
    return 0;
  }
}

int vr_read_full(int fd, void *buf, size_t n) {
  unsigned char *p = buf;

  while (n > 0) {
    ssize_t k = read(fd, p, n);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return -1;
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

int vr_write_full(int fd, const void *buf, size_t n) {
  const unsigned char *p = buf;

  while (n > 0) {
    ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return -1;
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

/* One byte, and room for one fd beside it. */
typedef union {
  struct cmsghdr h;
  char buf[CMSG_SPACE(sizeof(int))];
} fd_ctl;

static void fd_msg(struct msghdr *msg, struct iovec *iov, char *byte, fd_ctl *ctl) {
  iov->iov_base = byte;
  iov->iov_len = 1;
  memset(msg, 0, sizeof *msg);
  memset(ctl, 0, sizeof *ctl);
  msg->msg_iov = iov;
  msg->msg_iovlen = 1;
  msg->msg_control = ctl->buf;
  msg->msg_controllen = sizeof ctl->buf;
}

int vr_send_fd(int sock, int fd) {
  char byte = 'F';
  struct iovec iov;
  struct msghdr msg;
  fd_ctl ctl;
  struct cmsghdr *c;
  ssize_t k;

  fd_msg(&msg, &iov, &byte, &ctl);
  c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  do
    k = sendmsg(sock, &msg, MSG_NOSIGNAL);
  while (k < 0 && errno == EINTR);
  return k == 1 ? 0 : -1;
}

int vr_recv_fd(int sock) {
  char byte;
  struct iovec iov;
  struct msghdr msg;
  fd_ctl ctl;
  struct cmsghdr *c;
  ssize_t k;
  int fd = -1;

  fd_msg(&msg, &iov, &byte, &ctl);
  do
    k = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  while (k < 0 && errno == EINTR);
  if (k != 1)
    return -2;
  c = CMSG_FIRSTHDR(&msg);
  if (c != NULL && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
    memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

int vr_futex_wait(uint32_t *word, uint32_t expect, const struct timespec *rel) {
  return (int)syscall(SYS_futex, word, FUTEX_WAIT, expect, rel, NULL, 0);
}

void vr_futex_wake(uint32_t *word) {
  syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* ---- the message rings (either side) ---- */

static void ring_copy_in(vr_ring *r, uint32_t at, const void *data, uint32_t len) {
  uint32_t off = at & (VR_MSG_RING - 1), first = VR_MSG_RING - off;

  if (first > len)
    first = len;
  memcpy(r->buf + off, data, first);
  memcpy(r->buf, (const uint8_t *)data + first, len - first);
}

static void ring_copy_out(const vr_ring *r, uint32_t at, void *out, uint32_t len) {
  uint32_t off = at & (VR_MSG_RING - 1), first = VR_MSG_RING - off;

  if (first > len)
    first = len;
  memcpy(out, r->buf + off, first);
  memcpy((uint8_t *)out + first, r->buf, len - first);
}

uint32_t vr_ring_room(const vr_ring *r) {
  uint32_t used = r->head - __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);

  if (used > VR_MSG_RING || VR_MSG_RING - used < sizeof(uint32_t))
    return 0;   /* full, or the consumer's index makes no sense: nothing fits */
  return VR_MSG_RING - used - (uint32_t)sizeof(uint32_t);
}

int vr_ring_put(vr_ring *r, const void *data, uint32_t len) {
  uint32_t head = r->head;

  if (len == 0 || len > VR_MSG_MAX || len > vr_ring_room(r))
    return -1;
  ring_copy_in(r, head, &len, sizeof len);
  ring_copy_in(r, head + (uint32_t)sizeof len, data, len);
  __atomic_store_n(&r->head, head + (uint32_t)sizeof len + len, __ATOMIC_RELEASE);
  return 0;
}

uint32_t vr_ring_peek(vr_ring *r, void *out, uint32_t cap) {
  uint32_t tail = r->tail, head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
  uint32_t used = head - tail, len;

  if (used == 0)
    return 0;
  if (used < sizeof len || used > VR_MSG_RING) {
    __atomic_store_n(&r->tail, head, __ATOMIC_RELEASE);   /* nonsense: emptied */
    return 0;
  }
  ring_copy_out(r, tail, &len, sizeof len);
  if (len == 0 || len > VR_MSG_MAX || len > used - sizeof len) {
    __atomic_store_n(&r->tail, head, __ATOMIC_RELEASE);
    return 0;
  }
  if (len > cap) {
    vr_ring_next(r, len);   /* too long for the reader: dropped */
    return 0;
  }
  ring_copy_out(r, tail + (uint32_t)sizeof len, out, len);
  return len;
}

void vr_ring_next(vr_ring *r, uint32_t len) {
  __atomic_store_n(&r->tail, r->tail + (uint32_t)sizeof len + len, __ATOMIC_RELEASE);
}

/* ---- the host process ---- */

static void find_host(char *buf, size_t len) {
  vst_find_helper("SONOD_PLUGIN_HOST", NULL, HOST_NAME, buf, len);
}

/* Host lock held. */
static void kill_host(vr_host *h) {
  if (h->pid > 0) {
    kill(h->pid, SIGKILL);
    while (waitpid(h->pid, &h->status, 0) < 0 && errno == EINTR)
      ;
  }
  h->pid = 0;
  /* The pidfd stays open until the host is freed: the instances' own
   * copies may be polled by the control side. */
  if (h->sock >= 0)
    close(h->sock);
  h->sock = -1;
}

/* The audio thread stops waiting and gives silence from now on. */
static void mark_dead(vst_remote *r) {
  atomic_store(&r->alive, false);
  if (r->shm != NULL) {
    __atomic_store_n(&r->shm->done, VR_DEAD, __ATOMIC_SEQ_CST);
    vr_futex_wake(&r->shm->done);
  }
}

static int spawn_host(vr_host *h, const char *label, char *err) {
  char bin[PATH_MAX], ppid[32];
  int sv[2], rc, child_sock;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  sigset_t none, all;

  find_host(bin, sizeof bin);
  if (access(bin, X_OK) != 0)
    return vst_fail(err, VST_E_SCANNER, "plugin host not found at %s (set SONOD_PLUGIN_HOST)", bin);
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return vst_fail(err, VST_E_SCANNER, "socketpair: %s", strerror(errno));
  /* Above the target, so that the dup2 cannot overwrite its source. */
  child_sock = fcntl(sv[1], F_DUPFD_CLOEXEC, 10);
  close(sv[1]);
  if (child_sock < 0) {
    rc = errno;
    close(sv[0]);
    return vst_fail(err, VST_E_SCANNER, "fcntl: %s", strerror(rc));
  }
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, 2, 1);   /* plugin chatter goes to our stderr */
  posix_spawn_file_actions_adddup2(&fa, child_sock, VR_FD_SOCK);
  sigemptyset(&none);
  sigfillset(&all);
  /* Its own process group: a terminal's ^C reaches the daemon, which
   * closes its hosts; the host's watch on the daemon covers the rest. */
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  snprintf(ppid, sizeof ppid, "%ld", (long)getpid());
  char *argv[] = { bin, ppid, (char *)label, NULL };
  rc = posix_spawn(&h->pid, bin, &fa, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(child_sock);
  if (rc != 0) {
    close(sv[0]);
    h->pid = 0;
    return vst_fail(err, VST_E_SCANNER, "cannot run the plugin host %s: %s", bin, strerror(rc));
  }
  h->sock = sv[0];
  h->status = 0;
  h->pidfd = (int)syscall(SYS_pidfd_open, h->pid, 0);
  if (h->pidfd < 0) {
    rc = errno;
    kill_host(h);
    return vst_fail(err, VST_E_SCANNER, "pidfd_open: %s", strerror(rc));
  }
  fcntl(h->pidfd, F_SETFD, FD_CLOEXEC);
  return VST_OK;
}

/* ---- hosts: one per plugin, or one per group ---- */

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static vr_host *groups;      /* the running hosts of groups */

static void host_free(vr_host *h) {
  pthread_mutex_lock(&h->lock);
  kill_host(h);
  pthread_mutex_unlock(&h->lock);
  if (h->pidfd >= 0)
    close(h->pidfd);
  pthread_mutex_destroy(&h->lock);
  free(h->group);
  free(h);
}

/* A slot on the running host of `group` (NULL: a new host of one's own),
 * started when none runs.  NULL with err set. */
static vr_host *host_get(const char *group, const char *label, int32_t *slot, int *rc, char *err) {
  vr_host *h;
  int32_t k;

  pthread_mutex_lock(&registry_lock);
  for (h = group != NULL ? groups : NULL; h != NULL; h = h->next) {
    bool running;

    if (strcmp(h->group, group) != 0)
      continue;
    pthread_mutex_lock(&h->lock);   /* registry lock, then a host's: the one order */
    running = h->pid > 0 && h->sock >= 0;
    pthread_mutex_unlock(&h->lock);
    if (running)
      break;
  }
  if (h == NULL) {
    if ((h = calloc(1, sizeof *h)) == NULL ||
        (group != NULL && (h->group = strdup(group)) == NULL)) {
      free(h);
      pthread_mutex_unlock(&registry_lock);
      *rc = vst_fail(err, VST_E_NOMEM, "out of memory");
      return NULL;
    }
    pthread_mutex_init(&h->lock, NULL);
    h->pidfd = h->sock = -1;
    if ((*rc = spawn_host(h, group != NULL ? group : label, err)) != VST_OK) {
      pthread_mutex_unlock(&registry_lock);
      host_free(h);
      return NULL;
    }
    if (group != NULL) {
      h->next = groups;
      groups = h;
    }
  }
  for (k = 0; k < VR_SLOTS && h->slots[k]; k++)
    ;
  if (k == VR_SLOTS) {
    pthread_mutex_unlock(&registry_lock);
    *rc = vst_fail(err, VST_E_INVALID, "host group %s holds %d plugins already", group, VR_SLOTS);
    return NULL;
  }
  h->slots[k] = true;
  h->refs++;
  *slot = k;
  pthread_mutex_unlock(&registry_lock);
  return h;
}

/* The instance lets go of its slot; the last one ends the host. */
static void host_put(vr_host *h, int32_t slot) {
  bool last;

  pthread_mutex_lock(&registry_lock);
  h->slots[slot] = false;
  last = --h->refs == 0;
  if (last && h->group != NULL) {
    vr_host **link;

    for (link = &groups; *link != NULL; link = &(*link)->next)
      if (*link == h) {
        *link = h->next;
        break;
      }
  }
  pthread_mutex_unlock(&registry_lock);
  if (last)
    host_free(h);
}

/* One call: request and payload out (and the region's memfd for VR_MAP),
 * reply and payload (malloc'd, NUL after the end) back.  The instance's
 * lock held; takes its host's.  A host that fails to answer within its
 * time (the load's, else the control calls' own) is killed: with it every
 * plugin of its group. */
static int call(vst_remote *r, vr_msg *m, const void *payload, void **out, char *err) {
  unsigned ms = m->op == VR_LOAD ? LOAD_TIMEOUT_MS : r->call_ms;
  vr_host *h = r->host;
  struct pollfd p;
  uint32_t len;
  void *buf;
  int rc;

  if (out != NULL)
    *out = NULL;
  pthread_mutex_lock(&h->lock);
  if (h->sock < 0) {
    pthread_mutex_unlock(&h->lock);
    return vst_fail(err, VST_E_CRASHED, "the plugin's host process is not running");
  }
  m->slot = r->slot;
  len = m->len;
  if (vr_write_full(h->sock, m, sizeof *m) != 0 ||
      (len > 0 && vr_write_full(h->sock, payload, len) != 0) ||
      (m->op == VR_MAP && vr_send_fd(h->sock, r->memfd) != 0))
    goto broken;
  p.fd = h->sock;
  p.events = POLLIN;
  do
    rc = poll(&p, 1, (int)ms);
  while (rc < 0 && errno == EINTR);
  if (rc == 0) {
    mark_dead(r);
    kill_host(h);
    pthread_mutex_unlock(&h->lock);
    return vst_fail(err, VST_E_TIMEOUT, "the plugin's host did not answer within %u ms; killed",
                    ms);
  }
  if (rc < 0 || vr_read_full(h->sock, m, sizeof *m) != 0 || m->len > VR_MAX_PAYLOAD)
    goto broken;
  buf = malloc((size_t)m->len + 1);
  if (buf == NULL || (m->len > 0 && vr_read_full(h->sock, buf, m->len) != 0)) {
    free(buf);
    goto broken;
  }
  pthread_mutex_unlock(&h->lock);
  ((char *)buf)[m->len] = '\0';
  if (m->status != VST_OK) {
    rc = vst_fail(err, m->status, "%s", (char *)buf);
    free(buf);
    return rc;
  }
  if (out != NULL)
    *out = buf;
  else
    free(buf);
  return VST_OK;
broken:
  /* It died (or broke the protocol: it is killed).  The audio thread
   * stops waiting for it at once; the pidfd tells the control side. */
  mark_dead(r);
  kill_host(h);
  pthread_mutex_unlock(&h->lock);
  return vst_fail(err, VST_E_CRASHED, "the plugin's host process is gone");
}

static int call_simple(vst_remote *r, int op, int32_t opcode, int32_t index, int64_t value,
                       float opt, double d, vr_msg *reply, char *err) {
  vr_msg m;
  int rc;

  memset(&m, 0, sizeof m);
  m.op = op;
  m.opcode = opcode;
  m.index = index;
  m.value = value;
  m.opt = opt;
  m.d = d;
  rc = call(r, &m, NULL, NULL, err);
  if (reply != NULL)
    *reply = m;
  return rc;
}

/* The instance's pidfd: the host's, at the one number it keeps. */
static int take_pidfd(vst_remote *r, char *err) {
  int fd = fcntl(r->host->pidfd, F_DUPFD_CLOEXEC, 0);

  if (fd < 0)
    return vst_fail(err, VST_E_SCANNER, "dup: %s", strerror(errno));
  if (r->pidfd < 0) {
    r->pidfd = fd;
  } else {
    dup3(fd, r->pidfd, O_CLOEXEC);
    close(fd);
  }
  return VST_OK;
}

/* Takes a slot on a host (its own, or the group's running one, started
 * when none runs), loads the plugin there and maps the region (made here
 * the first time, the same one on a restart).  Lock held. */
static int start(vst_remote *r, char *err) {
  vr_msg m;
  vr_loaded *ld = NULL;
  int rc;

  if ((r->host = host_get(r->group, r->path, &r->slot, &rc, err)) == NULL)
    return rc;
  if ((rc = take_pidfd(r, err)) != VST_OK)
    goto fail;
  memset(&m, 0, sizeof m);
  m.op = VR_LOAD;
  m.d = r->rate;
  m.index = (int32_t)r->max_block;
  m.value = r->load_flags;
  m.opcode = r->rt_priority;
  if (r->open_arg != NULL) {
    /* Another format: "path\0open_arg" (vst_host_main.c). */
    size_t pl = strlen(r->path), al = strlen(r->open_arg);
    char *payload = malloc(pl + 1 + al);

    if (payload == NULL) {
      rc = vst_fail(err, VST_E_NOMEM, "out of memory");
      goto fail;
    }
    memcpy(payload, r->path, pl + 1);
    memcpy(payload + pl + 1, r->open_arg, al);
    m.len = (uint32_t)(pl + 1 + al);
    rc = call(r, &m, payload, (void **)&ld, err);
    free(payload);
  } else {
    m.len = (uint32_t)strlen(r->path);
    rc = call(r, &m, r->path, (void **)&ld, err);
  }
  if (rc == VST_OK && m.len < sizeof *ld)
    rc = vst_fail(err, VST_E_CRASHED, "the plugin host answered the load with %u bytes", m.len);
  if (rc != VST_OK)
    goto fail;
  if (r->shm == NULL) {
    unsigned nin = ld->num_inputs > 0 ? (unsigned)ld->num_inputs : 0;
    unsigned nout = ld->num_outputs > 0 ? (unsigned)ld->num_outputs : 0;
    unsigned block = r->max_block > VR_MIN_BLOCK ? r->max_block : VR_MIN_BLOCK;
    void *p;

    r->shm_size = vr_shm_size(nin, nout, block);
    if (ftruncate(r->memfd, (off_t)r->shm_size) != 0) {
      rc = vst_fail(err, VST_E_NOMEM, "sizing the shared region: %s", strerror(errno));
      goto fail_loaded;
    }
    p = mmap(NULL, r->shm_size, PROT_READ | PROT_WRITE, MAP_SHARED, r->memfd, 0);
    if (p == MAP_FAILED) {
      rc = vst_fail(err, VST_E_NOMEM, "mapping the shared region: %s", strerror(errno));
      goto fail_loaded;
    }
    (void)mlock(p, r->shm_size);   /* like the engine's memory, when allowed */
    r->shm = p;
    r->shm->block = r->shm_block = block;
    r->shm->nin = r->shm_in = nin;
    r->shm->nout = r->shm_out = nout;
    r->fx.numPrograms = ld->num_programs;
    r->fx.numParams = ld->num_params;
    r->fx.numInputs = ld->num_inputs;
    r->fx.numOutputs = ld->num_outputs;
    /* The host picks its own precision: the daemon side is float. */
    r->fx.flags = ld->flags & ~effFlagsCanDoubleReplacing;
    r->fx.initialDelay = ld->initial_delay;
    r->fx.uniqueID = ld->unique_id;
    r->fx.version = ld->version;
  } else if ((ld->num_inputs > 0 ? (unsigned)ld->num_inputs : 0) != r->shm_in ||
             (ld->num_outputs > 0 ? (unsigned)ld->num_outputs : 0) != r->shm_out) {
    rc = vst_fail(err, VST_E_INVALID, "the plugin came back with other channel counts");
    goto fail_loaded;
  }
  /* The host maps the region and starts the slot's processing thread,
   * which takes the current `req` as already seen. */
  __atomic_store_n(&r->shm->done, __atomic_load_n(&r->shm->req, __ATOMIC_SEQ_CST), __ATOMIC_SEQ_CST);
  rc = call_simple(r, VR_MAP, 0, 0, (int64_t)r->shm_size, 0.0f, 0.0, NULL, err);
  if (rc != VST_OK)
    goto fail_loaded;
  free(ld);
  return VST_OK;
fail_loaded:
  /* Loaded in the host and not usable: a host of its own goes; a group's
   * host, which serves others, is killed only when it broke (call). */
  free(ld);
  ld = NULL;
  if (r->group == NULL) {
    pthread_mutex_lock(&r->host->lock);
    kill_host(r->host);
    pthread_mutex_unlock(&r->host->lock);
  } else {
    (void)call_simple(r, VR_QUIT, 0, 0, 0, 0.0f, 0.0, NULL, NULL);
  }
fail:
  free(ld);
  host_put(r->host, r->slot);
  r->host = NULL;
  return rc;
}

/* ---- the proxy AEffect, control side ---- */

static vst_remote *remote_of(AEffect *e) {
  return e->object;
}

static void remember_chunk(vst_remote *r, const void *data, size_t len) {
  void *copy = malloc(len ? len : 1);

  if (copy == NULL)
    return;
  memcpy(copy, data, len);
  free(r->chunk);
  r->chunk = copy;
  r->chunk_len = len;
}

static void remember_param(vst_remote *r, VstInt32 index, float value) {
  uint32_t bits;

  if (index < 0 || index >= r->fx.numParams || r->values == NULL)
    return;
  memcpy(&bits, &value, sizeof bits);
  atomic_store_explicit(&r->values[index], bits, memory_order_relaxed);
  atomic_store_explicit(&r->known[index], 1, memory_order_relaxed);
}

/* Lets go of the host: QUIT for its slot.  A host of its own (or the
 * group's last plugin) unloads it and exits; a group's host that serves
 * others unloads it and answers.  Either within QUIT_TIMEOUT_MS, else it
 * is killed (with the group's other plugins).  The host, which knows how
 * many plugins it has, decides which: a load into the group meanwhile
 * cannot make us wait for the wrong one. */
static void leave_host(vst_remote *r) {
  vr_host *h = r->host;
  vr_msg m;

  if (h == NULL)
    return;
  pthread_mutex_lock(&h->lock);
  if (h->sock >= 0) {
    struct pollfd p[2] = { { .fd = h->sock, .events = POLLIN }, { .fd = h->pidfd, .events = POLLIN } };
    bool answered = false;

    memset(&m, 0, sizeof m);
    m.op = VR_QUIT;
    m.slot = r->slot;
    if (vr_write_full(h->sock, &m, sizeof m) == 0) {
      while (poll(p, 2, QUIT_TIMEOUT_MS) < 0 && errno == EINTR)
        ;
      /* An answer; or the end of the socket (it exited). */
      answered = (p[0].revents & POLLIN) && vr_read_full(h->sock, &m, sizeof m) == 0 && m.len == 0;
    }
    if (!answered)
      kill_host(h);   /* exited (reaped here), or did not answer in time */
  }
  pthread_mutex_unlock(&h->lock);
  host_put(h, r->slot);
  r->host = NULL;
}

static void close_remote(vst_remote *r) {
  pthread_mutex_lock(&r->lock);
  leave_host(r);
  pthread_mutex_unlock(&r->lock);
  if (r->pidfd >= 0)
    close(r->pidfd);
  if (r->shm != NULL)
    munmap(r->shm, r->shm_size);
  close(r->memfd);
  pthread_mutex_destroy(&r->lock);
  free(r->chunk);
  free(r->chunk_out);
  free(r->values);
  free(r->known);
  free(r->unapplied);
  free(r->group);
  free(r->open_arg);
  free(r->path);
  free(r);
}

static VstIntPtr proxy_dispatch(AEffect *e, VstInt32 op, VstInt32 index, VstIntPtr value,
                                void *ptr, float opt) {
  vst_remote *r = remote_of(e);
  vr_msg m;
  void *out = NULL;
  VstIntPtr ret = 0;
  uint32_t sent;

  switch (op) {
  case effProcessEvents:   /* audio thread: taken with the coming process call */
    r->events = ptr;
    return 1;
  case effClose:
    close_remote(r);
    return 0;
  case effSetSampleRate:
    r->want_rate = opt;
    r->reconf = r->resumed_once;
    return 0;
  case effSetBlockSize:
    r->want_block = (unsigned)value;
    r->reconf = r->resumed_once;
    return 0;
  case effMainsChanged:
    if (value != 0) {
      if (r->reconf) {
        pthread_mutex_lock(&r->lock);
        (void)call_simple(r, VR_RECONF, 0, (int32_t)r->want_block, 0, 0.0f, r->want_rate, NULL, NULL);
        pthread_mutex_unlock(&r->lock);
      }
      r->reconf = false;
      r->resumed_once = true;
    }
    return 0;
  case effOpen: case effStartProcess: case effStopProcess: case effSetProcessPrecision:
    return 0;   /* the host's own instance went through these */
  case effGetChunk: case effSetChunk: case effSetProgram: case effGetProgram:
  case effGetVendorVersion: case effGetVstVersion: case effGetPlugCategory:
  case effCanBeAutomated:
    break;
  default:
    if (!vr_string_op(op) && vr_struct_op(op) == 0)
      return 0;
  }
  memset(&m, 0, sizeof m);
  m.op = VR_DISPATCH;
  m.opcode = op;
  m.index = index;
  m.value = value;
  m.opt = opt;
  if (op == effSetChunk && ptr != NULL && value > 0 && (uint64_t)value <= VR_MAX_PAYLOAD)
    m.len = (uint32_t)value;
  sent = m.len;
  pthread_mutex_lock(&r->lock);
  r->last_status = call(r, &m, ptr, &out, NULL);
  if (r->last_status == VST_OK) {
    ret = (VstIntPtr)m.value;
    if (vr_string_op(op) && ptr != NULL) {
      size_t n = m.len < VST2_STRING_BUFFER - 1 ? m.len : VST2_STRING_BUFFER - 1;
      memcpy(ptr, out, n);
      ((char *)ptr)[n] = '\0';
    } else if (vr_struct_op(op) > 0 && ptr != NULL) {
      size_t size = vr_struct_op(op);

      memcpy(ptr, out, m.len < size ? m.len : size);
    } else if (op == effGetChunk && ptr != NULL) {
      free(r->chunk_out);
      r->chunk_out = out;
      out = NULL;
      *(void **)ptr = r->chunk_out;
      ret = (VstIntPtr)m.len;
      remember_chunk(r, r->chunk_out, m.len);
    } else if (op == effSetChunk && sent > 0) {
      /* m holds the reply now: what was sent is `sent`. */
      remember_chunk(r, ptr, sent);
    } else if (op == effSetProgram) {
      /* The program's values replace those seen before it: a restart
       * sets the program, then what was set after it. */
      r->program = (int32_t)value;
      for (VstInt32 i = 0; r->known != NULL && i < r->fx.numParams; i++)
        atomic_store_explicit(&r->known[i], 0, memory_order_relaxed);
    }
  } else if (op == effGetChunk && ptr != NULL) {
    /* A dead host's state is the last one seen: a session saved while
     * the node is crashed keeps it. */
    *(void **)ptr = NULL;
    if (r->chunk != NULL && (out = malloc(r->chunk_len ? r->chunk_len : 1)) != NULL) {
      memcpy(out, r->chunk, r->chunk_len);
      free(r->chunk_out);
      r->chunk_out = out;
      out = NULL;
      *(void **)ptr = r->chunk_out;
      ret = (VstIntPtr)r->chunk_len;
    }
  }
  pthread_mutex_unlock(&r->lock);
  free(out);
  return ret;
}

/* The host's value of a parameter; while a value set on the audio thread
 * has not reached the host (vst_remote_rt_param: its call missed the
 * deadline, or waits for the host's next), that value: a plugin.get after
 * a plugin.set's reply reads what was set.  A value the host answers is
 * remembered unless the audio thread set another meanwhile. */
static float proxy_get_param(AEffect *e, VstInt32 index) {
  vst_remote *r = remote_of(e);
  bool in_range = index >= 0 && index < r->fx.numParams && r->values != NULL;
  uint32_t bits = 0;
  vr_msg m;
  float v = 0.0f;

  pthread_mutex_lock(&r->lock);
  if (in_range && atomic_load_explicit(&r->unapplied[index], memory_order_acquire)) {
    bits = atomic_load_explicit(&r->values[index], memory_order_relaxed);
    memcpy(&v, &bits, sizeof v);
  } else {
    if (in_range)
      bits = atomic_load_explicit(&r->values[index], memory_order_relaxed);
    if (call_simple(r, VR_GET_PARAM, 0, index, 0, 0.0f, 0.0, &m, NULL) == VST_OK) {
      uint32_t got;

      v = m.opt;
      memcpy(&got, &v, sizeof got);
      if (in_range && atomic_compare_exchange_strong_explicit(&r->values[index], &bits, got,
                                                              memory_order_relaxed,
                                                              memory_order_relaxed))
        atomic_store_explicit(&r->known[index], 1, memory_order_relaxed);
    } else if (in_range) {
      bits = atomic_load_explicit(&r->values[index], memory_order_relaxed);
      memcpy(&v, &bits, sizeof v);
    }
  }
  pthread_mutex_unlock(&r->lock);
  return v;
}

static void proxy_set_param(AEffect *e, VstInt32 index, float value) {
  vst_remote *r = remote_of(e);

  /* vst_rt_set_param marks the audio thread's calls. */
  if (vst_tls_rt != NULL && vst_tls_rt->effect == e) {
    vst_remote_rt_param(r, index, value);
    return;
  }
  pthread_mutex_lock(&r->lock);
  (void)call_simple(r, VR_SET_PARAM, 0, index, 0, value, 0.0, NULL, NULL);
  remember_param(r, index, value);
  pthread_mutex_unlock(&r->lock);
}

AEffect *vst_remote_open(const char *path, const vst_config *cfg, int *rc, char *err) {
  vst_remote *r = calloc(1, sizeof *r);

  if (r == NULL || (r->path = strdup(path)) == NULL ||
      (cfg->open_effect != NULL &&
       (r->open_arg = strdup(cfg->open_arg != NULL ? cfg->open_arg : "")) == NULL)) {
    if (r != NULL)
      free(r->path);
    free(r);
    *rc = vst_fail(err, VST_E_NOMEM, "out of memory");
    return NULL;
  }
  pthread_mutex_init(&r->lock, NULL);
  r->pidfd = -1;
  r->program = -1;
  if (cfg->host_group != NULL && cfg->host_group[0] != '\0' &&
      (r->group = strdup(cfg->host_group)) == NULL) {
    free(r->open_arg);
    free(r->path);
    free(r);
    *rc = vst_fail(err, VST_E_NOMEM, "out of memory");
    return NULL;
  }
  r->rate = r->want_rate = cfg->sample_rate;
  r->max_block = r->want_block = cfg->max_block;
  r->load_flags = (cfg->offline ? VR_LOAD_OFFLINE : 0) | (cfg->float_only ? VR_LOAD_FLOAT_ONLY : 0) |
                  (cfg->open_effect != NULL ? VR_LOAD_OTHER : 0);
  r->rt_priority = cfg->rt_priority;
  r->call_ms = cfg->call_timeout_ms > 0 ? cfg->call_timeout_ms : CALL_TIMEOUT_MS;
  r->deadline_ns = cfg->deadline_us > 0 ? (uint64_t)cfg->deadline_us * 1000u
                   : cfg->offline ? 2000000000u
                                  : (uint64_t)(1e9 * cfg->max_block / cfg->sample_rate);
  atomic_init(&r->alive, false);
  r->memfd = (int)syscall(SYS_memfd_create, "sonod-plugin", MFD_CLOEXEC);
  if (r->memfd < 0) {
    *rc = vst_fail(err, VST_E_NOMEM, "memfd_create: %s", strerror(errno));
    free(r->open_arg);
    free(r->path);
    free(r);
    return NULL;
  }
  pthread_mutex_lock(&r->lock);
  *rc = start(r, err);
  pthread_mutex_unlock(&r->lock);
  if (*rc == VST_OK && r->fx.numParams > 0) {
    r->values = calloc((size_t)r->fx.numParams, sizeof *r->values);
    r->known = calloc((size_t)r->fx.numParams, sizeof *r->known);
    r->unapplied = calloc((size_t)r->fx.numParams, sizeof *r->unapplied);
    if (r->values == NULL || r->known == NULL || r->unapplied == NULL)
      *rc = vst_fail(err, VST_E_NOMEM, "out of memory");
  }
  if (*rc != VST_OK) {
    close_remote(r);
    return NULL;
  }
  r->fx.magic = kEffectMagic;
  r->fx.object = r;
  r->fx.dispatcher = proxy_dispatch;
  r->fx.getParameter = proxy_get_param;
  r->fx.setParameter = proxy_set_param;
  r->fx.processReplacing = vst_remote_rt_process;
  atomic_store(&r->alive, true);
  return &r->fx;
}

/* ---- the public API (vst.h) ---- */

static vst_remote *remote(const vst_instance *inst) {
  return inst != NULL && inst->dl == NULL && inst->effect != NULL &&
                 inst->effect->dispatcher == proxy_dispatch
             ? inst->effect->object
             : NULL;
}

bool vst_is_isolated(const vst_instance *inst) {
  return remote(inst) != NULL;
}

int vst_isolated_pidfd(const vst_instance *inst) {
  vst_remote *r = remote(inst);

  return r != NULL ? r->pidfd : -1;
}

bool vst_isolated_alive(const vst_instance *inst) {
  vst_remote *r = remote(inst);

  return r != NULL && atomic_load(&r->alive);
}

bool vst_isolated_reap(vst_instance *inst, int *wstatus) {
  vst_remote *r = remote(inst);
  vr_host *h;
  int st = 0;
  pid_t got;

  if (r == NULL)
    return false;
  pthread_mutex_lock(&r->lock);
  if ((h = r->host) != NULL) {
    pthread_mutex_lock(&h->lock);
    if (h->pid > 0) {
      do
        got = waitpid(h->pid, &st, WNOHANG);
      while (got < 0 && errno == EINTR);
      if (got == 0) {
        pthread_mutex_unlock(&h->lock);
        pthread_mutex_unlock(&r->lock);
        return false;   /* still running */
      }
      h->pid = 0;
      h->status = st;
    } else {
      st = h->status;   /* reaped already: by kill_host, or for another plugin of the group */
    }
    kill_host(h);   /* closes the socket */
    pthread_mutex_unlock(&h->lock);
  }
  mark_dead(r);
  pthread_mutex_unlock(&r->lock);
  if (wstatus != NULL)
    *wstatus = st;
  return true;
}

unsigned vst_isolated_outputs(const vst_instance *inst, float *out, unsigned max) {
  vst_remote *r = remote(inst);
  unsigned n;

  /* The region is mapped from the first load to the close, both on this
   * thread, and a restart keeps it; the host writes it after every call,
   * so a value may be a block newer than the count: both are only read,
   * and the count is the host's, so bounded here. */
  if (r == NULL || r->shm == NULL)
    return 0;
  n = __atomic_load_n(&r->shm->nctl_out, __ATOMIC_ACQUIRE);
  if (n > VR_CTL_OUT)
    n = VR_CTL_OUT;
  if (n > max)
    n = max;
  memcpy(out, r->shm->ctl_out, n * sizeof *out);
  return n;
}

int vst_isolated_send(const vst_instance *inst, const void *msg, uint32_t len, char *err) {
  vst_remote *r = remote(inst);

  /* The region lives from the first load to the close (a restart keeps
   * it, so a message waiting there reaches the new host). */
  if (r == NULL || r->shm == NULL)
    return vst_fail(err, VST_E_INVALID, "the plugin is not isolated");
  if (len == 0 || len > VR_MSG_MAX)
    return vst_fail(err, VST_E_INVALID,
                    "a message of %u bytes does not fit the shared region (at most %u)", len,
                    VR_MSG_MAX);
  if (vr_ring_put(&r->shm->msg_in, msg, len) != 0)
    return vst_fail(err, VST_E_FULL,
                    "the plugin's host has not taken the messages waiting for it yet");
  return VST_OK;
}

uint32_t vst_isolated_receive(const vst_instance *inst, void *out, uint32_t cap) {
  vst_remote *r = remote(inst);
  uint32_t len, tries;

  if (r == NULL || r->shm == NULL)
    return 0;
  /* One dropped for being too long is skipped: the next, if any (a
   * bounded number of them: the host writes while we read). */
  for (tries = 0; tries < 64 && __atomic_load_n(&r->shm->msg_out.head, __ATOMIC_ACQUIRE) !=
                                    r->shm->msg_out.tail;
       tries++) {
    if ((len = vr_ring_peek(&r->shm->msg_out, out, cap)) > 0) {
      vr_ring_next(&r->shm->msg_out, len);
      return len;
    }
  }
  return 0;
}

void vst_isolated_kill(const vst_instance *inst) {
  vst_remote *r = remote(inst);

  /* pidfd_send_signal: a host already reaped is not a process that could
   * have taken its pid. */
  if (r != NULL && r->pidfd >= 0)
    (void)syscall(SYS_pidfd_send_signal, r->pidfd, SIGKILL, NULL, 0);
}

/* h's pid, 0 when it is not running (or h is NULL). */
static pid_t host_pid(vr_host *h) {
  pid_t pid = 0;

  if (h != NULL) {
    pthread_mutex_lock(&h->lock);
    pid = h->pid;
    pthread_mutex_unlock(&h->lock);
  }
  return pid;
}

static bool host_running(vr_host *h) {
  return host_pid(h) > 0;
}

int vst_isolated_restart(vst_instance *inst, char *err) {
  vst_remote *r = remote(inst);
  int rc;

  if (r == NULL)
    return vst_fail(err, VST_E_INVALID, "the plugin is not isolated");
  pthread_mutex_lock(&r->lock);
  if (atomic_load(&r->alive) || host_running(r->host)) {
    pthread_mutex_unlock(&r->lock);
    return vst_fail(err, VST_E_INVALID, "the plugin's host is running");
  }
  /* The dead host is let go of; the group's running one (or a new one)
   * takes the plugin. */
  if (r->host != NULL) {
    host_put(r->host, r->slot);
    r->host = NULL;
  }
  r->max_block = r->want_block;
  r->rate = r->want_rate;
  rc = start(r, err);
  if (rc == VST_OK) {
    /* Its last saved state: the last chunk seen, else every parameter
     * value seen. */
    if (r->chunk != NULL) {
      vr_msg m;

      memset(&m, 0, sizeof m);
      m.op = VR_DISPATCH;
      m.opcode = effSetChunk;
      m.value = (int64_t)r->chunk_len;
      m.len = (uint32_t)r->chunk_len;
      rc = call(r, &m, r->chunk, NULL, err);
    } else {
      if (r->program >= 0)
        rc = call_simple(r, VR_DISPATCH, effSetProgram, 0, r->program, 0.0f, 0.0, NULL, err);
      for (VstInt32 i = 0; rc == VST_OK && i < r->fx.numParams; i++)
        if (atomic_load_explicit(&r->known[i], memory_order_relaxed)) {
          uint32_t bits = atomic_load_explicit(&r->values[i], memory_order_relaxed);
          float v;

          memcpy(&v, &bits, sizeof v);
          rc = call_simple(r, VR_SET_PARAM, 0, i, 0, v, 0.0, NULL, err);
        }
    }
    if (rc != VST_OK)
      leave_host(r);
  }
  /* What the new host has is what it was just given: nothing set on the
   * audio thread waits for it (that thread sets none while it is dead). */
  for (VstInt32 i = 0; rc == VST_OK && r->unapplied != NULL && i < r->fx.numParams; i++)
    atomic_store_explicit(&r->unapplied[i], 0, memory_order_relaxed);
  if (rc == VST_OK)
    atomic_store(&r->alive, true);
  pthread_mutex_unlock(&r->lock);
  return rc;
}

const char *vst_isolated_group(const vst_instance *inst) {
  vst_remote *r = remote(inst);

  return r != NULL ? r->group : NULL;
}

long vst_isolated_host_pid(const vst_instance *inst) {
  vst_remote *r = remote(inst);
  long pid;

  if (r == NULL)
    return 0;
  pthread_mutex_lock(&r->lock);
  pid = host_pid(r->host);
  pthread_mutex_unlock(&r->lock);
  return pid;
}

int vst_remote_last_status(vst_instance *inst) {
  vst_remote *r = remote(inst);
  int rc;

  if (r == NULL)
    return VST_OK;
  pthread_mutex_lock(&r->lock);
  rc = r->last_status;
  pthread_mutex_unlock(&r->lock);
  return rc;
}

uint32_t vst_take_missed(vst_instance *inst) {
  vst_remote *r = remote(inst);

  return r != NULL ? (uint32_t)atomic_exchange(&r->missed, 0) : 0;
}
