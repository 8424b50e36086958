/* vst_remote.h - isolated plugins: what the daemon and its plugin host
 * process (sonod-plugin-host, vst_host_main.c) share.
 *
 * The daemon gives an isolated plugin a proxy AEffect (vst_remote.c,
 * vst_remote_rt.c) whose functions talk to the host process instead of
 * running plugin code, so every vst_* function, the graph, MIDI, params,
 * programs and state work the same for both kinds of instance.
 *
 * Two channels:
 *  - a stream socket pair for control calls (one request, one reply, each a
 *    vr_msg header and `len` bytes of payload), made by the daemon;
 *  - a memfd the daemon creates and maps, the host maps too (vr_shm): the
 *    block's inputs and outputs, its MIDI events and parameter changes, the
 *    time info, and two futex words: `req` (the daemon bumps it and wakes
 *    the host) and `done` (the host sets it to req when finished and wakes
 *    the daemon's audio thread, which waits with a deadline). */
#ifndef SONOD_VST_REMOTE_H
#define SONOD_VST_REMOTE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "daemon/vst/vst.h"
#include "daemon/vst/vst2_abi.h"

/* The host's control socket (set up by the daemon before exec).  Each
 * plugin's region comes with its VR_MAP call (SCM_RIGHTS on one byte after
 * the request): a group's host gets plugins after it started. */
#define VR_FD_SOCK 3
#define VR_SLOTS 256        /* plugins per host */

#define VR_EVENTS 4096      /* MIDI events per process call */
#define VR_PARAMS 64        /* parameter changes per call (the daemon sends one at a time) */
#define VR_MIDI_OUT 256     /* MIDI the plugin sent, per process call */
#define VR_AUTOMATE 256     /* parameter changes the plugin reported, per call */
#define VR_SYSEX_BYTES 65536 /* sysex bytes into the plugin, per process call; out of it too */
#define VR_SYSEX_OUT 64     /* sysex messages the plugin sent, per process call */
#define VR_CTL_OUT 256      /* control output values (LV2's meters, latency) after each call */
#define VR_MSG_RING 65536u  /* bytes of each message ring (a power of two) */
#define VR_MSG_MAX VST_ISOLATED_MSG_MAX /* the largest message either way, bytes */
#define VR_MIN_BLOCK 8192   /* the region holds at least this many frames */
#define VR_DEAD 0xFFFFFFFFu /* `done` when the control side saw the host die */

typedef struct vr_event {
  int32_t delta;
  uint8_t len;              /* 1-3: a short message in data; 0: sysex (into the plugin) */
  uint8_t data[3];
  uint32_t sx_off, sx_len;  /* sysex: its bytes in vr_shm.sysex */
} vr_event;

typedef struct vr_param {
  int32_t index;
  float value;
} vr_param;

/* A byte ring of the region carrying another format's messages (LV2's
 * property messages), opaque here: records {uint32 len, len bytes}, each
 * whole or absent.  One producer writes `head` (release) after the bytes,
 * one consumer `tail` after reading them; both count bytes freely (mod
 * 2^32).  Neither side trusts the other's index: a ring whose indices or
 * record make no sense is emptied by its consumer.  No lock, no call. */
typedef struct vr_ring {
  uint32_t head, tail;
  uint8_t buf[VR_MSG_RING];
} vr_ring;

/* Producer: writes a record; 0, or -1 when it does not fit now (nothing
 * written).  The room for a record's bytes, 0 when none. */
int vr_ring_put(vr_ring *r, const void *data, uint32_t len);
uint32_t vr_ring_room(const vr_ring *r);
/* Consumer: the next record's length (copied into out when it fits cap;
 * else the record is dropped and 0 returned), 0 when empty, without
 * consuming it; vr_ring_next consumes the record peeked. */
uint32_t vr_ring_peek(vr_ring *r, void *out, uint32_t cap);
void vr_ring_next(vr_ring *r, uint32_t len);

typedef struct vr_shm {
  uint32_t req;             /* futex: daemon -> host, the call's sequence number */
  uint32_t done;            /* futex: host -> daemon, the last sequence finished */
  uint32_t block;           /* frames each audio buffer holds */
  uint32_t nin, nout;       /* audio buffers in the region */
  uint32_t nframes;         /* this call */
  uint32_t nevents, nparams;
  uint32_t nmidi_out;       /* host -> daemon: MIDI the plugin sent in the call */
  uint32_t nautomate;       /* host -> daemon: parameters the plugin changed itself */
  uint32_t midi_out_dropped; /* host -> daemon: MIDI it sent that was lost */
  uint32_t non_finite;      /* host -> daemon: 1 when the output had NaN or inf (made 0) */
  uint32_t offline;
  int64_t block_frame;
  union {
    VstTimeInfo ti;
    unsigned char bytes[VST2_TIMEINFO_BUFFER];
  } time;
  vr_param params[VR_PARAMS];
  vr_event events[VR_EVENTS];
  vr_event midi_out[VR_MIDI_OUT];
  vr_param automate[VR_AUTOMATE];
  uint32_t nsysex_out;      /* host -> daemon: sysex the plugin sent (its place in sysex_out_bytes) */
  vr_event sysex_out[VR_SYSEX_OUT];
  uint8_t sysex[VR_SYSEX_BYTES];
  uint8_t sysex_out_bytes[VR_SYSEX_BYTES];
  uint32_t nctl_out;        /* host -> daemon: control outputs' values after the call */
  float ctl_out[VR_CTL_OUT];
  vr_ring msg_in;           /* daemon control side -> host processing thread, at its next call */
  vr_ring msg_out;          /* host processing thread, after each call -> daemon control side */
  float audio[];            /* nin x block inputs, then nout x block outputs */
} vr_shm;

static inline size_t vr_shm_size(unsigned nin, unsigned nout, unsigned block) {
  size_t s = sizeof(vr_shm) + (size_t)(nin + nout) * block * sizeof(float);
  return (s + 4095) & ~(size_t)4095;
}

static inline float *vr_in(vr_shm *s, unsigned c) { return s->audio + (size_t)c * s->block; }
static inline float *vr_out(vr_shm *s, unsigned c) {
  return s->audio + (size_t)(s->nin + c) * s->block;
}

enum {
  VR_LOAD = 1,   /* payload: path; d: rate; index: max block; value: flags; opcode: rt prio */
  VR_MAP,        /* value: region size; the memfd follows: map it, start the slot's processing thread */
  VR_DISPATCH,   /* opcode, index, value, opt; payload in (effSetChunk); payload out */
  VR_GET_PARAM,  /* index -> opt */
  VR_SET_PARAM,  /* index, opt */
  VR_RECONF,     /* d: rate (0 = same), index: max block */
  VR_QUIT,       /* unload the slot's plugin; the last one: exit (no reply), else reply */
};

#define VR_LOAD_OFFLINE 1
#define VR_LOAD_FLOAT_ONLY 2
#define VR_LOAD_OTHER 4   /* another format (vst_config.open_effect): payload "path\0open_arg" */

typedef struct vr_msg {
  int32_t op;
  int32_t slot;       /* which of the host's plugins (0..VR_SLOTS-1) */
  int32_t opcode;
  int32_t index;
  int32_t status;     /* reply: VST_OK or a VST_E_* code (payload: the message) */
  int64_t value;      /* reply: the dispatcher's return value */
  double d;
  float opt;
  uint32_t len;       /* payload bytes that follow */
} vr_msg;

/* VR_LOAD's reply payload: the AEffect fields the proxy copies. */
typedef struct vr_loaded {
  int32_t num_programs, num_params, num_inputs, num_outputs;
  int32_t flags, initial_delay, unique_id, version;
} vr_loaded;

#define VR_MAX_PAYLOAD (256u << 20)

/* Whether a dispatcher opcode fills a string at ptr: the host sends that
 * string back in its reply and the proxy copies it to the caller.  Both
 * sides must agree, so this is the one list. */
bool vr_string_op(int32_t op);
/* The size of the struct a dispatcher opcode fills at ptr (the host sends
 * those bytes back and the proxy copies them), else 0.  The one list, as
 * for strings. */
size_t vr_struct_op(int32_t op);

/* Reads or writes exactly n bytes (EINTR retried); -1 on error or EOF. */
int vr_read_full(int fd, void *buf, size_t n);
int vr_write_full(int fd, const void *buf, size_t n);

/* A file descriptor with one byte over the socket (SCM_RIGHTS): 0 or -1;
 * the fd received, -1 when none came with the byte, -2 when the socket
 * broke. */
int vr_send_fd(int sock, int fd);
int vr_recv_fd(int sock);

/* futex(2) on a word of the shared region (not FUTEX_PRIVATE: two processes). */
int vr_futex_wait(uint32_t *word, uint32_t expect, const struct timespec *rel);
void vr_futex_wake(uint32_t *word);

/* The host program (vst_host_main.c).  other: how it opens a plugin of
 * another format (VR_LOAD_OTHER): prepare(open_arg) first, then
 * vst_load with open_effect; NULL when the program hosts only VST2.
 * Returns the exit status.  daemon/lv2/lv2_host_main.c is the
 * sonod-plugin-host program: its main is this with LV2's opener. */
typedef struct vst_host_format {
  int (*prepare)(const char *open_arg, char *err);
  struct AEffect *(*open_effect)(void *ctx, const char *path, const vst_config *cfg,
                                 vst_host_fn host, int *rc, char *err);
  /* The plugin's control output values after a process call, up to max;
   * the count.  Processing thread: reads only.  NULL: none. */
  unsigned (*control_outputs)(struct AEffect *e, float *out, unsigned max);
  /* Messages of the format's own through the region's rings (LV2: its
   * properties), on the processing thread, bounded, no allocation:
   * message_in hands the plugin one from the daemon before a process call
   * (0 taken or refused for good; -1 no room yet: it stays in the ring for
   * the next call); message_out the next one for the daemon after the
   * call, when it fits cap (its length; 0: none, or it waits).  NULL: none. */
  int (*message_in)(struct AEffect *e, const void *msg, uint32_t len);
  uint32_t (*message_out)(struct AEffect *e, void *out, uint32_t cap);
} vst_host_format;
int vst_host_main(int argc, char **argv, const vst_host_format *other);

#endif

/* ---- the daemon's side (vst_remote.c, vst_remote_rt.c) ---- */
#ifdef SONOD_VST_REMOTE_DAEMON
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

/* A host process, of one plugin or of a group's (vst_remote.c). */
typedef struct vr_host {
  struct vr_host *next;      /* the registry of groups' hosts */
  char *group;               /* NULL: one plugin's own */
  unsigned refs;             /* instances that use it (registry lock) */
  bool slots[VR_SLOTS];      /* taken (registry lock) */
  pthread_mutex_t lock;      /* one call at a time on the socket; pid, status, sock */
  pid_t pid;                 /* 0 once killed or reaped */
  int status;                /* its wait status once reaped */
  int pidfd, sock;
} vr_host;

typedef struct vst_remote {
  AEffect fx;                /* the proxy the instance calls; fx.object = this */
  char *path;
  char *group;               /* NULL: a host of its own */
  vr_host *host;             /* the current one (also once dead, until a restart) */
  int32_t slot;              /* its place in the host */
  char *open_arg;            /* VR_LOAD_OTHER: what the host's opener is handed */
  double rate;
  unsigned max_block;
  uint32_t load_flags;
  int rt_priority;
  uint64_t deadline_ns;      /* the audio thread's wait, per call */
  unsigned call_ms;          /* a control call's wait for the host's answer */

  /* Control side (lock held for calls to the host; then the host's lock). */
  pthread_mutex_t lock;
  int pidfd, memfd;          /* pidfd: the host's, one fd number for the instance's life
                              * (vst_isolated_kill; its own dup, a restart dup3s over it) */
  vr_shm *shm;
  size_t shm_size;
  unsigned shm_in, shm_out;  /* the region's audio buffers (our copy: the host can write it) */
  unsigned shm_block;
  bool resumed_once;         /* the instance finished its first resume */
  bool reconf;               /* rate or block changed since: tell the host at resume */
  double want_rate;
  unsigned want_block;
  void *chunk;               /* last chunk seen (get or set): restored on restart */
  size_t chunk_len;
  void *chunk_out;           /* effGetChunk's answer, kept until the next */
  int32_t program;           /* the last program set (effSetProgram), -1 none: restored on restart */
  int last_status;           /* the last forwarded dispatcher call: VST_OK or why not */
  _Atomic uint32_t *values;  /* last value seen per parameter (float bits) */
  _Atomic uint8_t *known;
  /* Per parameter: a value the audio thread set (in values) that the host
   * may not have applied yet: given with a call it has not finished, or
   * waiting for its next.  Set and cleared by the audio thread; while set,
   * plugin.get answers the value set instead of asking the host. */
  _Atomic uint8_t *unapplied;

  /* Read by the audio thread, written by the control side. */
  _Atomic bool alive;

  /* Audio thread. */
  uint32_t seq;
  bool stuck;                /* missed its deadline and has not finished since */
  const VstEvents *events;   /* from effProcessEvents, for the coming call */
  vr_param pend[VR_PARAMS];  /* changes a stuck host could not be given yet, one per index */
  unsigned npend;
  int32_t flight[VR_PARAMS]; /* the indices given with the host's last call, until it is done */
  unsigned nflight;

  /* Audio thread -> control side. */
  atomic_uint_fast32_t missed;

  /* Audio thread: the plugin's MIDI out, handed on as the plugin would. */
  VstMidiEvent mo_ev[VR_MIDI_OUT];
  struct {
    VstInt32 numEvents;
    VstIntPtr reserved;
    VstEvent *events[VR_MIDI_OUT];
  } mo_list;
  VstMidiSysexEvent sx_ev[VR_SYSEX_OUT];   /* its sysex: bytes in the region */
  struct {
    VstInt32 numEvents;
    VstIntPtr reserved;
    VstEvent *events[VR_SYSEX_OUT];
  } sx_list;
} vst_remote;

/* The proxy AEffect for `path`, its host started and the plugin loaded
 * there; NULL with err filled on failure (status in *rc). */
AEffect *vst_remote_open(const char *path, const vst_config *cfg, int *rc, char *err);
/* Audio thread: the proxy's processReplacing and its audio-thread setParameter. */
void vst_remote_rt_process(AEffect *e, float **in, float **out, VstInt32 n);
void vst_remote_rt_param(vst_remote *r, VstInt32 index, float value);
#endif
