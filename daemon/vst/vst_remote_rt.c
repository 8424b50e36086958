/* vst_remote_rt.c - AUDIO THREAD.  An isolated plugin's process call: the
 * block goes to its host process through the shared region and comes back
 * in the same cycle, or not at all.
 *
 * vst_rt_process calls this as the proxy AEffect's processReplacing, with
 * the instance's own input buffers (already mapped) and its outputs.  It
 * copies inputs, the MIDI events queued for it and the time info into
 * the region, bumps `req` and wakes the
 * host (FUTEX_WAKE), then waits for `done` (FUTEX_WAIT with a relative
 * timeout) until the deadline.  Those two system calls are the only ones;
 * they are outside the realtime checker's promise (RT_FOREIGN), like the
 * plugin calls they replace.  Everything else is copying.
 *
 * A host that misses the deadline gives silence for the block (counted in
 * `missed`); while it is still busy with that call, later blocks are silent
 * too without waking it (the region is not touched under its feet).  A
 * dead host (the control side clears `alive` and sets `done` to VR_DEAD)
 * gives silence at once. */
#define SONOD_VST_REMOTE_DAEMON
#include "daemon/vst/vst_remote.h"

#include <string.h>
#include <time.h>

#include "daemon/rtcheck/rtcheck.h"
#include "daemon/vst/vst_instance.h"

/* A parameter change for the host's next call: a later change of the
 * same parameter replaces the earlier; false when VR_PARAMS others wait. */
static bool pend_param(vst_remote *r, VstInt32 index, float value) {
  unsigned i;

  for (i = 0; i < r->npend; i++)
    if (r->pend[i].index == index) {
      r->pend[i].value = value;
      return true;
    }
  if (r->npend == VR_PARAMS)
    return false;
  r->pend[r->npend].index = index;
  r->pend[r->npend].value = value;
  r->npend++;
  return true;
}

/* The waiting changes into the region, for the call about to be made:
 * the host applies them before it processes.  They are in flight until
 * the host is done with the call (landed). */
static void give_params(vst_remote *r, vr_shm *s) {
  unsigned i;

  memcpy(s->params, r->pend, r->npend * sizeof r->pend[0]);
  s->nparams = r->npend;
  for (i = 0; i < r->npend && r->nflight < VR_PARAMS; i++)
    r->flight[r->nflight++] = r->pend[i].index;
  r->npend = 0;
}

static bool pending(const vst_remote *r, int32_t index) {
  unsigned i;

  for (i = 0; i < r->npend; i++)
    if (r->pend[i].index == index)
      return true;
  return false;
}

/* The host is done with the last call: the changes given with it are
 * applied (one set again since waits in pend, still unapplied). */
static void landed(vst_remote *r) {
  unsigned i;

  for (i = 0; i < r->nflight; i++)
    if (r->unapplied != NULL && !pending(r, r->flight[i]))
      atomic_store_explicit(&r->unapplied[r->flight[i]], 0, memory_order_release);
  r->nflight = 0;
}

/* Copies the call into the region. */
static void fill(vst_remote *r, vst_instance *inst, float **in, unsigned n) {
  vr_shm *s = r->shm;
  unsigned i, k = 0;
  size_t sx = 0;   /* sysex bytes in the region */

  for (i = 0; i < r->shm_in; i++)
    memcpy(s->audio + (size_t)i * r->shm_block, in[i], n * sizeof(float));
  s->nframes = n;
  give_params(r, s);
  if (r->events != NULL)
    for (i = 0; i < (unsigned)r->events->numEvents; i++) {
      const VstEvent *e = r->events->events[i];
      const VstMidiEvent *m = (const VstMidiEvent *)e;

      if (e->type == kVstSysExType && k < VR_EVENTS) {
        const VstMidiSysexEvent *x = (const VstMidiSysexEvent *)e;
        size_t len = x->dumpBytes > 0 ? (size_t)x->dumpBytes : 0;

        if (len > 0 && len <= VR_SYSEX_BYTES - sx && x->sysexDump != NULL) {
          memcpy(s->sysex + sx, x->sysexDump, len);
          s->events[k].delta = e->deltaFrames;
          s->events[k].len = 0;
          s->events[k].sx_off = (uint32_t)sx;
          s->events[k].sx_len = (uint32_t)len;
          sx += len;
          k++;
          continue;
        }
      }
      if (e->type != kVstMidiType || k >= VR_EVENTS) {
        /* More than VR_EVENTS events, or VR_SYSEX_BYTES of sysex, in one
         * block: reported like events that did not fit (plugin.error
         * midi_overflow). */
        atomic_fetch_add_explicit(&inst->overflow, 1, memory_order_relaxed);
        continue;
      }
      s->events[k].delta = e->deltaFrames;
      s->events[k].len = 3;
      memcpy(s->events[k].data, m->midiData, 3);
      k++;
    }
  s->nevents = k;
  memcpy(&s->time, &inst->time, sizeof s->time);
  s->block_frame = inst->block_frame;
  s->offline = __atomic_load_n(&inst->offline, __ATOMIC_RELAXED);
}

/* What the plugin reported during the call, from the host: its MIDI out
 * and its own parameter changes go where an in-process plugin's would
 * (vst_callback_rt.c: the MIDI-out ring and same-cycle sink, the
 * automation bits).  The counts are the host's: clamped. */
/* The sysex the plugin sent in the call, handed on as the plugin would:
 * each message's bytes stay in the region (its place clamped to it) while
 * the instance copies them into its own ring. */
static void take_sysex(vst_remote *r, vst_instance *inst) {
  vr_shm *s = r->shm;
  uint32_t n = __atomic_load_n(&s->nsysex_out, __ATOMIC_RELAXED), i, k = 0;

  if (n > VR_SYSEX_OUT)
    n = VR_SYSEX_OUT;
  for (i = 0; i < n; i++) {
    vr_event ev = s->sysex_out[i];   /* the host's: read once */
    VstMidiSysexEvent *x = &r->sx_ev[k];

    if (ev.sx_len == 0 || ev.sx_off > VR_SYSEX_BYTES || ev.sx_len > VR_SYSEX_BYTES - ev.sx_off) {
      atomic_fetch_add_explicit(&inst->midi_out_dropped, 1, memory_order_relaxed);
      continue;
    }
    memset(x, 0, sizeof *x);
    x->type = kVstSysExType;
    x->byteSize = (VstInt32)sizeof *x;
    x->deltaFrames = ev.delta;
    x->dumpBytes = (VstInt32)ev.sx_len;
    x->sysexDump = (char *)s->sysex_out_bytes + ev.sx_off;
    r->sx_list.events[k++] = (VstEvent *)x;
  }
  if (k > 0) {
    r->sx_list.numEvents = (VstInt32)k;
    vst_rt_plugin_midi_out(inst, (const VstEvents *)&r->sx_list);
  }
}

static void take_back(vst_remote *r, vst_instance *inst) {
  vr_shm *s = r->shm;
  uint32_t n = __atomic_load_n(&s->nmidi_out, __ATOMIC_RELAXED);
  uint32_t na = __atomic_load_n(&s->nautomate, __ATOMIC_RELAXED);
  uint32_t lost = __atomic_load_n(&s->midi_out_dropped, __ATOMIC_RELAXED);
  uint32_t i;

  if (n > VR_MIDI_OUT)
    n = VR_MIDI_OUT;
  if (na > VR_AUTOMATE)
    na = VR_AUTOMATE;
  for (i = 0; i < n; i++) {
    VstMidiEvent *m = &r->mo_ev[i];

    memset(m, 0, sizeof *m);
    m->type = kVstMidiType;
    m->byteSize = (VstInt32)sizeof *m;
    m->deltaFrames = s->midi_out[i].delta;
    memcpy(m->midiData, s->midi_out[i].data, 3);
    r->mo_list.events[i] = (VstEvent *)m;
  }
  if (n > 0) {
    r->mo_list.numEvents = (VstInt32)n;
    vst_rt_plugin_midi_out(inst, (const VstEvents *)&r->mo_list);
  }
  take_sysex(r, inst);
  for (i = 0; i < na; i++)
    vst_rt_plugin_automate(inst, s->automate[i].index, s->automate[i].value);
  if (lost > 0)
    atomic_fetch_add_explicit(&inst->midi_out_dropped, lost, memory_order_relaxed);
  if (__atomic_load_n(&s->non_finite, __ATOMIC_RELAXED) != 0)
    atomic_fetch_add_explicit(&inst->non_finite, 1, memory_order_relaxed);
}

static int64_t now_ns(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Wakes the host for call `seq` and waits for it until the deadline. */
static bool run(vst_remote *r, uint32_t seq) {
  vr_shm *s = r->shm;
  int64_t end;
  bool ok = true;

  RT_FOREIGN_BEGIN();
  end = now_ns() + (int64_t)r->deadline_ns;
  __atomic_store_n(&s->req, seq, __ATOMIC_SEQ_CST);
  vr_futex_wake(&s->req);
  for (;;) {
    uint32_t done = __atomic_load_n(&s->done, __ATOMIC_ACQUIRE);
    int64_t left;
    struct timespec rel;

    if (done == seq)
      break;
    left = end - now_ns();
    if (left <= 0 || done == VR_DEAD || !atomic_load_explicit(&r->alive, memory_order_acquire)) {
      ok = false;
      break;
    }
    rel.tv_sec = (time_t)(left / 1000000000);
    rel.tv_nsec = (long)(left % 1000000000);
    (void)vr_futex_wait(&s->done, done, &rel);
  }
  RT_FOREIGN_END();
  return ok;
}

/* Whether the host may be given a call: alive, and done with the last. */
static bool ready(vst_remote *r) {
  if (!atomic_load_explicit(&r->alive, memory_order_acquire))
    return false;
  if (r->stuck && __atomic_load_n(&r->shm->done, __ATOMIC_ACQUIRE) == r->seq)
    r->stuck = false;
  if (!r->stuck)
    landed(r);
  return !r->stuck;
}

static bool post(vst_remote *r) {
  uint32_t seq = r->seq + 1;
  bool ok;

  if (seq == VR_DEAD)
    seq = 1;
  r->seq = seq;
  ok = run(r, seq);
  r->stuck = !ok;
  if (ok)
    landed(r);
  return ok;
}

/* setParameter on the audio thread (vst_rt_set_param, at the frame the
 * engine split the block at): reaches the plugin at once, like in
 * process, in a call of 0 frames.  A host still busy with a call past its
 * deadline cannot be given it: it waits, the latest value per parameter,
 * and goes with the next call the host takes (before that call's audio,
 * so no later block is processed without it).  A call of 0 frames that
 * misses the deadline is not counted: the host has the change and applies
 * it when it gets there; only a change that finds VR_PARAMS others
 * waiting is lost (counted as missed). */
void vst_remote_rt_param(vst_remote *r, VstInt32 index, float value) {
  vr_shm *s = r->shm;
  bool in_range = index >= 0 && index < r->fx.numParams && r->values != NULL;

  RT_FOREIGN_END();
  if (in_range) {
    uint32_t bits;

    memcpy(&bits, &value, sizeof bits);
    atomic_store_explicit(&r->values[index], bits, memory_order_relaxed);
    atomic_store_explicit(&r->known[index], 1, memory_order_relaxed);
  }
  if (!atomic_load_explicit(&r->alive, memory_order_acquire)) {
    r->npend = 0;   /* a restart gives the new host every value seen */
  } else if (!pend_param(r, index, value)) {
    atomic_fetch_add_explicit(&r->missed, 1, memory_order_relaxed);
  } else {
    /* The set's reply goes out once this returns, maybe before the host
     * has the change: until it has, plugin.get answers this value. */
    if (in_range && r->unapplied != NULL)
      atomic_store_explicit(&r->unapplied[index], 1, memory_order_release);
    if (ready(r)) {
      s->nframes = 0;
      s->nevents = 0;
      give_params(r, s);
      if (post(r))
        take_back(r, (vst_instance *)r->fx.resvd1);   /* an Automate from its setParameter */
    }
  }
  RT_FOREIGN_BEGIN();
}

void vst_remote_rt_process(AEffect *e, float **in, float **out, VstInt32 nframes) {
  vst_remote *r = e->object;
  vst_instance *inst = (vst_instance *)e->resvd1;
  vr_shm *s = r->shm;
  unsigned n = nframes > 0 ? (unsigned)nframes : 0, c;
  bool ok = false, alive;

  /* vst_rt_process brackets this call as foreign: our own code is checked. */
  RT_FOREIGN_END();
  alive = atomic_load_explicit(&r->alive, memory_order_acquire);
  if (n <= r->shm_block && ready(r)) {
    fill(r, inst, in, n);
    ok = post(r);
  }
  if (ok) {
    for (c = 0; c < r->shm_out; c++)
      memcpy(out[c], s->audio + (size_t)(r->shm_in + c) * r->shm_block, n * sizeof(float));
    take_back(r, inst);
  } else {
    for (c = 0; c < (unsigned)(e->numOutputs > 0 ? e->numOutputs : 0); c++)
      memset(out[c], 0, n * sizeof(float));
    if (alive)   /* a dead host is reported once, as a crash */
      atomic_fetch_add_explicit(&r->missed, 1, memory_order_relaxed);
  }
  r->events = NULL;
  RT_FOREIGN_BEGIN();
}
