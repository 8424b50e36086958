/* backend_jack_process.c - AUDIO THREAD: the JACK backend's process
 * callback, which runs on JACK's process thread, and what it reads and
 * writes in a cycle (MIDI in and out, the transport).
 *
 * Everything here follows the realtime rule: it never allocates, frees,
 * locks, waits, logs or does I/O.  The libjack calls it makes are the
 * ones JACK documents as safe in the process callback (port buffers,
 * MIDI events, jack_transport_query).  The control thread's side of the
 * backend is backend_jack.c, JACK's notification thread's is
 * backend_jack_notify.c. */
#include <jack/midiport.h>
#include <jack/transport.h>
#include <string.h>

#include "daemon/backend/backend_jack_internal.h"
#include "daemon/rtcheck/rtcheck.h"
#include "daemon/vst/vst.h"

/* AUDIO THREAD.  This cycle's MIDI input, in JACK's order (by frame):
 * channel messages of 1-3 bytes; sysex and realtime bytes are dropped. */
static unsigned read_midi(jack_backend *jb, jack_nframes_t nframes) {
  void *buf = jack_port_get_buffer(jb->midi_in, nframes);
  uint32_t i, n = jack_midi_get_event_count(buf);
  unsigned k = 0;

  for (i = 0; i < n; i++) {
    jack_midi_event_t ev;

    if (jack_midi_event_get(&ev, buf, i) != 0)
      continue;
    if (ev.size < 1 || ev.size > 3 || ev.buffer[0] < 0x80 || ev.buffer[0] >= 0xF0 ||
        k == RT_LIVE_MIDI_MAX || ev.time >= nframes) {
      atomic_fetch_add_explicit(&jb->midi_dropped, 1, memory_order_relaxed);
      continue;
    }
    jb->live[k].offset = ev.time;
    jb->live[k].len = (uint8_t)ev.size;
    memcpy(jb->live[k].data, ev.buffer, ev.size);
    k++;
  }
  return k;
}

/* AUDIO THREAD.  jack_transport_query is realtime-safe (JACK's docs). */
static void read_transport(jack_backend *jb, rt_xport_ext *x) {
  jack_position_t pos;
  jack_transport_state_t st = jack_transport_query(jb->client, &pos);

  x->valid = true;
  x->playing = st == JackTransportRolling;
  x->frame = pos.frame;
  x->bbt = (pos.valid & JackPositionBBT) != 0;
  x->tempo = x->bbt ? pos.beats_per_minute : 0.0;
  x->num = x->bbt ? (int32_t)pos.beats_per_bar : 0;
  x->den = x->bbt ? (int32_t)pos.beat_type : 0;
}

/* AUDIO THREAD.  The MIDI the plugins sent in this cycle (collected by the
 * graph, rt/nodes.c) goes to midi_out at its offsets: sorted by offset
 * first (JACK wants time order; a stable insertion sort, at most
 * RT_LIVE_MIDI_MAX events), offsets clamped into the period.
 * jack_midi_event_write only copies into the port buffer. */
static void write_midi(jack_backend *jb, vst_midi_sink *sk, jack_nframes_t nframes) {
  void *buf = jack_port_get_buffer(jb->midi_out, nframes);
  unsigned i, j, lost = sk->dropped;

  jack_midi_clear_buffer(buf);
  for (i = 1; i < sk->n; i++) {
    vst_midi_out x = sk->ev[i];

    for (j = i; j > 0 && sk->ev[j - 1].delta > x.delta; j--)
      sk->ev[j] = sk->ev[j - 1];
    sk->ev[j] = x;
  }
  for (i = 0; i < sk->n; i++) {
    int32_t t = sk->ev[i].delta;

    if (t < 0)
      t = 0;
    if ((jack_nframes_t)t >= nframes)
      t = (int32_t)nframes - 1;
    if (jack_midi_event_write(buf, (jack_nframes_t)t, sk->ev[i].data, sk->ev[i].len) != 0)
      lost++;
  }
  sk->n = 0;
  sk->dropped = 0;
  if (lost)
    atomic_fetch_add_explicit(&jb->base.midi_out_dropped, lost, memory_order_relaxed);
}

/* AUDIO THREAD (JACK's process thread). */
int jb_on_process(jack_nframes_t nframes, void *arg) {
  jack_backend *jb = arg;
  engine *e = &jb->base.d->eng;
  int cs = cancel_off();
  unsigned ch;

  /* The realtime checker's region is the whole callback, ours and
   * engine_process's (which marks its own too: they nest); all but the
   * cancellation switch, which must come first (see cancel_off). */
  RT_CYCLE_BEGIN();
  /* Marked before the gate is read, and the gate set before the mark is
   * read on the other side (both sequentially consistent): either this
   * cycle sees shut_out, or go_lost sees it running and waits. */
  atomic_store(&jb->in_cycle, true);
  if (atomic_load(&jb->shut_out)) {
    atomic_store(&jb->in_cycle, false);
    RT_CYCLE_END();
    cancel_restore(cs);
    return 0;
  }
  for (ch = 0; ch < jb->channels; ch++)
    jb->bufs[ch] = jack_port_get_buffer(jb->ports[ch], nframes);
  for (ch = 0; ch < jb->inputs; ch++)
    jb->in_bufs[ch] = jack_port_get_buffer(jb->in_ports[ch], nframes);
  e->in = jb->in_bufs;
  e->nin = jb->inputs;
  e->nlive = read_midi(jb, nframes);
  e->live = jb->live;
  read_transport(jb, &e->ext);
  engine_process(e, jb->bufs, jb->channels, nframes);
  write_midi(jb, &e->nodes.out, nframes);
  atomic_store(&jb->in_cycle, false);
  RT_CYCLE_END();
  cancel_restore(cs);
  return 0;
}
