/* xport.c - AUDIO THREAD (control: xport_init, and xport_publish once at
 * engine set-up).  The engine's transport; see xport.h.  Arithmetic only. */
#include "daemon/rt/xport.h"

#include <math.h>
#include <string.h>

void xport_init(rt_xport *x) {
  memset(x, 0, sizeof *x);
  x->tempo = 120.0;
  x->num = 4;
  x->den = 4;
}

uint64_t xport_pos(const rt_xport *x, uint64_t f) {
  return x->playing && f > x->at ? x->pos + (f - x->at) : x->pos;
}

void xport_apply(rt_xport *x, uint32_t mask, double tempo, int32_t num, int32_t den,
                 bool playing, uint64_t frame, bool follow, uint64_t f) {
  /* Re-anchor first: what came before the change keeps its timing. */
  x->pos = xport_pos(x, f);
  x->at = f;
  if (mask & XPORT_TEMPO)
    x->tempo = tempo;
  if (mask & XPORT_SIG) {
    x->num = num;
    x->den = den;
  }
  if ((mask & XPORT_PLAYING) && x->playing != playing) {
    x->playing = playing;
    x->changed = true;
  }
  if (mask & XPORT_FRAME) {
    x->pos = frame;
    x->changed = true;
  }
  if (mask & XPORT_FOLLOW)
    x->follow = follow;
}

void xport_follow(rt_xport *x, const rt_xport_ext *ext, uint64_t f) {
  if (!x->follow || !ext->valid)
    return;
  if (ext->playing != x->playing || ext->frame != xport_pos(x, f))
    x->changed = true;
  x->playing = ext->playing;
  x->pos = ext->frame;
  x->at = f;
  if (ext->bbt && ext->tempo > 0.0 && ext->num > 0 && ext->den > 0) {
    x->tempo = ext->tempo;
    x->num = ext->num;
    x->den = ext->den;
  }
}

/* The musical position of song position pos (samples). */
static void musical(vst_transport *t, double pos, unsigned sample_rate) {
  double ppq = sample_rate > 0 ? pos / sample_rate * t->tempo / 60.0 : 0.0;
  /* A bar is num notes of 1/den: num * 4 / den quarter notes. */
  double bar = t->time_sig_den > 0 ? (double)t->time_sig_num * 4.0 / (double)t->time_sig_den : 4.0;

  t->sample_pos = pos;
  t->ppq_pos = ppq;
  t->bar_start_ppq = bar > 0.0 ? floor(ppq / bar) * bar : 0.0;
}

void xport_vst(rt_xport *x, uint64_t f, unsigned sample_rate, vst_transport *t) {
  memset(t, 0, sizeof *t);
  t->frame = (int64_t)f;
  t->tempo = x->tempo;
  t->time_sig_num = x->num;
  t->time_sig_den = x->den;
  musical(t, (double)xport_pos(x, f), sample_rate);
  t->playing = x->playing;
  t->changed = x->changed;
  x->changed = false;
}

void xport_vst_at(const vst_transport *t, uint64_t f, unsigned sample_rate, vst_transport *o) {
  *o = *t;
  if (f <= (uint64_t)t->frame)
    return;
  o->frame = (int64_t)f;
  if (t->playing)
    musical(o, t->sample_pos + (double)(f - (uint64_t)t->frame), sample_rate);
}

void xport_publish(const rt_xport *x, rt_xport_pub *p, uint64_t f) {
  atomic_store_explicit(&p->pos, xport_pos(x, f), memory_order_relaxed);
  atomic_store_explicit(&p->tempo_mbpm, (uint64_t)llround(x->tempo * 1000.0),
                        memory_order_relaxed);
  atomic_store_explicit(&p->sig, (uint32_t)x->num << 16 | (uint32_t)x->den,
                        memory_order_relaxed);
  atomic_store_explicit(&p->playing, x->playing, memory_order_relaxed);
  atomic_store_explicit(&p->follow, x->follow, memory_order_relaxed);
}
