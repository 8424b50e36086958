/* backend_offline.c - rendering to a file as fast as the CPU allows.
 *
 * The renderer thread waits until a client asks for frames (the render op),
 * then runs engine cycles back to back and writes each block to the file.
 * Waiting and writing happen between cycles, outside the realtime section;
 * the engine cycle itself is the same code JACK runs. */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <sndfile.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "daemon/backend/backend.h"
#include "daemon/rtcheck/rtcheck.h"
#include "daemon/net/client.h"
#include "daemon/base/log.h"
#include "daemon/net/reply.h"
#include "daemon/csound/cs_engine.h"
#include "daemon/file/file.h"
#include "daemon/rt/csound_rt.h"
#include "daemon/queue/heap.h"
#include "protocol/errors.h"
#include "protocol/frame.h"
#include "protocol/wire.h"

/* A render that returns its audio, takes input, or both: it holds
 * nothing back (renders exactly to its target). */
typedef struct render_job {
  float *ret;                 /* channels × cap frames, one channel after the other */
  uint64_t cap;
  uint64_t len;               /* frames copied into ret */
  uint64_t start;             /* engine frame of ret's first frame */
  float *input;               /* ninput × in_frames, fed from frame in_start */
  unsigned ninput;
  uint64_t in_frames;
  uint64_t in_start;
} render_job;

typedef struct offline_backend {
  backend base;
  SNDFILE *file;
  unsigned channels;
  unsigned align;             /* every block a multiple of it: Csound's ksmps */
  uint64_t length;            /* frames; 0 = no end */

  pthread_t thread;
  bool started;
  pthread_mutex_t lock;       /* guards target, quit */
  pthread_cond_t cond;
  uint64_t target;            /* render up to this frame */
  bool kicked;                /* commands wait in to_rt */
  bool quit;
  bool busy;                  /* the thread is out of its wait */
  unsigned held;              /* holds (offline_hold): do not run */
  _Atomic bool abort;         /* stop in the middle of a render */
  _Atomic uint64_t reached;   /* frames rendered so far */
  _Atomic int write_error;

  bool pending;               /* a render request waits for its reply */
  uint32_t client;
  uint64_t req_id;
  uint64_t pending_until;

  /* The pending render's audio exchange (render's io): `job` is set up by
   * the control thread and taken under lock with the target; `run` is the
   * render thread's copy for the render it runs (zero otherwise), whose
   * results it stores back into job before it publishes `reached`. */
  render_job job;
  render_job run;
  const float *inptr[64];     /* render thread: this block's input pointers */

  float *mem;
  float *bufs[64];
  float *interleaved;
} offline_backend;

/* Backpressure, offline only: before each cycle, room for everything the
 * cycle may push into the rings the control side drains -- a meter
 * snapshot (and the old plan's partial one, should the plan change), a
 * block of recording and of every capture (whose control side drops what
 * a slow client cannot take, so this wait ends too).  Live backends never wait: there the snapshot ring
 * coalesces and the recorder counts drops.  Offline, waiting costs only
 * speed, and keeps meters exactly per interval and recordings whole. */
#define OFFLINE_METER_MARGIN 64

static bool room_for_cycle(engine *e, unsigned n) {
  rt_plan *p = e->graph.plan;

  if (e->meters.ring != NULL && p != NULL &&
      atomic_load_explicit(&e->meters.period, memory_order_relaxed) != 0 &&
      spsc_space(e->meters.ring) < 2 * (size_t)p->nmeters + 1 + OFFLINE_METER_MARGIN)
    return false;
  if (e->rec != NULL && (rec_space(e->rec) < n || spsc_space(e->rec->gaps) == 0))
    return false;
  return capture_rt_room(&e->caps, n);
}

/* Between cycles, outside the realtime section: wake the control thread
 * (which drains on every wake-up) and sleep briefly until there is room. */
static void wait_for_room(offline_backend *ob, engine *e, unsigned n) {
  static const struct timespec nap = { 0, 200000 };

  while (!room_for_cycle(e, n) && !atomic_load_explicit(&ob->abort, memory_order_relaxed)) {
    e->wake(e->wake_ctx);
    nanosleep(&nap, NULL);
  }
}

/* The block just rendered goes to the file (when there is one) and, for a
 * render that returns its audio, into the reply's buffer. */
static void write_frames(offline_backend *ob, unsigned n) {
  unsigned ch, i;

  render_job *j = &ob->run;

  if (j->ret != NULL && j->len + n <= j->cap) {
    for (ch = 0; ch < ob->channels; ch++)
      memcpy(j->ret + (size_t)ch * j->cap + j->len, ob->bufs[ch], n * sizeof(float));
    j->len += n;
  }
  if (ob->file == NULL)
    return;
  for (i = 0; i < n; i++)
    for (ch = 0; ch < ob->channels; ch++)
      ob->interleaved[(size_t)i * ob->channels + ch] = ob->bufs[ch][i];
  if (sf_writef_float(ob->file, ob->interleaved, n) != n)
    atomic_store(&ob->write_error, 1);
}

/* The client's input for frames [done, done + n), when the render has
 * some there: the `in` node's and Csound's inputs for the next cycle. */
static void feed_input(offline_backend *ob, engine *e, uint64_t done, unsigned n) {
  const render_job *j = &ob->run;
  unsigned k;

  if (j->input == NULL || done < j->in_start || done + n > j->in_start + j->in_frames)
    return;
  for (k = 0; k < j->ninput; k++)
    ob->inptr[k] = j->input + (size_t)k * j->in_frames + (done - j->in_start);
  e->in = ob->inptr;
  e->nin = j->ninput;
}

/* Renders [*done, stop) in blocks and writes them. */
static void render_span(offline_backend *ob, engine *e, uint64_t *done, uint64_t stop) {
  while (*done < stop && !atomic_load_explicit(&ob->abort, memory_order_relaxed)) {
    unsigned n = ob->base.block_size;

    if (stop - *done < n)
      n = (unsigned)(stop - *done);
    wait_for_room(ob, e, n);
    /* The render's last block publishes the meters however short it is,
     * so every interval the render completes is sent before its reply. */
    if (*done + n == stop)
      e->meters.snap_at_end = true;
    feed_input(ob, e, *done, n);
    engine_process(e, ob->bufs, ob->channels, n);
    write_frames(ob, n);
    *done += n;
  }
}

/* A render that ends inside a Csound k-cycle stops at the k-cycle's start
 * and holds the remaining frames back: rendering them would make Csound
 * render its whole k-cycle, fixing its output past the render's end before
 * the requests timed there arrive.  Meanwhile the engine's clock stands at
 * the render's end (engine.h, `stand`), so requests timed there, and
 * requests for "now", take effect there.  The held frames are rendered by
 * the next render, or here: when a request for "now" waits for them (its
 * reply comes when it is applied, and its client may wait for that before
 * it renders again), or when sonod stops.  Csound then renders the whole
 * k-cycle ahead (its FIFO, daemon/csound/cs_process_rt.c): its requests timed inside the rest of
 * that k-cycle are late. */
/* The header names the frames written so far: a client may read the file
 * between renders (libsndfile writes the counts only on close otherwise,
 * and a WAV read meanwhile said 0 frames).  On the render thread, the
 * file's only writer. */
static void update_header(offline_backend *ob) {
  if (ob->file != NULL)
    sf_command(ob->file, SFC_UPDATE_HEADER_NOW, NULL, 0);
}

static void render_held(offline_backend *ob, engine *e, uint64_t *done, uint64_t reached) {
  unsigned held = (unsigned)(reached - *done);

  wait_for_room(ob, e, held);
  engine_process(e, ob->bufs, ob->channels, held);
  write_frames(ob, held);
  *done = reached;
}

/* Where a render to target stops: there, or at the start of the Csound
 * k-cycle holding it unless Csound has rendered that far already. */
static uint64_t render_stop(const offline_backend *ob, const engine *e, uint64_t done,
                            uint64_t target) {
  /* Csound has rendered up to its own clock, maybe ahead of ours. */
  uint64_t fixed = e->csound != NULL ? cs_engine_frame(e->csound->eng) : done;

  if (fixed >= target)
    return target;
  return target - target % ob->align;
}

/* After a zero-frame cycle: does a request wait at the clock's stand? */
static bool waits_for_held(engine *e, uint64_t done, uint64_t reached) {
  const rt_cmd *next = minheap_peek(&e->heap);

  return reached > done && next != NULL && next->at <= reached;
}

/* The thread's engine work is over until its next wake-up: a holder
 * (offline_hold) may go ahead.  Before the render's reply, so that a
 * client's next request finds the engine idle. */
static void set_idle(offline_backend *ob) {
  pthread_mutex_lock(&ob->lock);
  ob->busy = false;
  pthread_cond_broadcast(&ob->cond);
  pthread_mutex_unlock(&ob->lock);
}

static void *render_thread(void *arg) {
  offline_backend *ob = arg;
  engine *e = &ob->base.d->eng;
  uint64_t done = 0;      /* frames rendered and written */
  uint64_t reached = 0;   /* where the last render ended: done + frames held back */

  RT_CHECK_THREAD();   /* the realtime checker's half: rtcheck.c */
  for (;;) {
    uint64_t target;
    bool kicked, exact;

    pthread_mutex_lock(&ob->lock);
    while (!ob->quit && (ob->held > 0 || (ob->target <= reached && !ob->kicked)))
      pthread_cond_wait(&ob->cond, &ob->lock);
    target = ob->target;
    kicked = ob->kicked;
    ob->kicked = false;
    ob->busy = true;
    exact = target > reached && (ob->job.ret != NULL || ob->job.input != NULL);
    if (exact)
      ob->run = ob->job;
    pthread_mutex_unlock(&ob->lock);
    if (ob->quit || atomic_load(&ob->abort))
      break;
    if (target <= reached) {
      /* Idle: take and answer commands without advancing the clock. */
      if (kicked) {
        engine_process(e, ob->bufs, ob->channels, 0);
        if (waits_for_held(e, done, reached)) {
          render_held(ob, e, &done, reached);
          update_header(ob);
        }
      }
      set_idle(ob);
      continue;
    }

    /* A render that returns its audio or takes input renders exactly its
     * frames: first what the previous render held back (returned with
     * these, without input), then all of its own. */
    if (exact) {
      ob->run.start = done;
      if (reached > done)
        render_held(ob, e, &done, reached);
    }
    render_span(ob, e, &done, exact ? target : render_stop(ob, e, done, target));
    update_header(ob);
    if (exact) {
      ob->job.len = ob->run.len;
      ob->job.start = ob->run.start;
      memset(&ob->run, 0, sizeof ob->run);
    }
    set_idle(ob);
    reached = atomic_load_explicit(&ob->abort, memory_order_relaxed) ? done : target;
    atomic_store_explicit(&e->stand, reached, memory_order_relaxed);
    atomic_store_explicit(&ob->reached, reached, memory_order_release);
    ob->base.d->eng.wake(ob->base.d->eng.wake_ctx);
  }
  if (reached > done)
    render_held(ob, e, &done, reached);
  return NULL;
}

static int offline_start(backend *b, char *err, size_t errlen) {
  offline_backend *ob = (offline_backend *)b;

  ob->align = b->d->eng.csound != NULL ? b->d->eng.csound->ksmps : 1;
  if (pthread_create(&ob->thread, NULL, render_thread, ob) != 0) {
    snprintf(err, errlen, "cannot start the render thread");
    return -1;
  }
  ob->started = true;
  b->state = "running";
  return 0;
}

static void offline_stop(backend *b) {
  offline_backend *ob = (offline_backend *)b;

  if (!ob->started)
    return;
  atomic_store(&ob->abort, true);
  pthread_mutex_lock(&ob->lock);
  ob->quit = true;
  ob->target = 0;
  pthread_cond_broadcast(&ob->cond);
  pthread_mutex_unlock(&ob->lock);
  pthread_join(ob->thread, NULL);
  ob->started = false;
  b->state = "stopped";
}

/* The reply frame around the audio: {id, ok: {frame, start, frames,
 * channels, audio: [bin...]}} takes well under this. */
#define RETURN_OVERHEAD 1024

/* Control thread, between renders: the buffers of the render being set up
 * (io's input is taken), or a refusal when its audio would not fit a reply. */
static int setup_io(offline_backend *ob, uint64_t until, render_io *io, char *err,
                    size_t errlen) {
  uint64_t reached = atomic_load(&ob->reached);
  /* The frames the previous render held back come first (< ksmps). */
  uint64_t cap = until - reached + ob->align;
  uint64_t per_frame = (uint64_t)ob->channels * sizeof(float);
  uint64_t fit = (SONO_FRAME_MAX - RETURN_OVERHEAD) / per_frame;

  if (io->ret && cap > fit) {
    snprintf(err, errlen, "%" PRIu64 " frames of %u channels would not fit a reply; "
             "at most %" PRIu64 " frames per render with return", until - reached,
             ob->channels, fit - ob->align);
    return RENDER_TOO_LARGE;
  }
  render_job j;

  memset(&j, 0, sizeof j);
  if (io->ret) {
    j.ret = malloc(cap * per_frame);
    if (j.ret == NULL) {
      snprintf(err, errlen, "out of memory for %" PRIu64 " frames", cap);
      return RENDER_TOO_LARGE;
    }
    j.cap = cap;
  }
  j.start = reached;
  j.input = io->input;
  j.ninput = io->ninput;
  j.in_frames = io->nframes;
  j.in_start = reached;
  io->input = NULL;
  pthread_mutex_lock(&ob->lock);
  ob->job = j;
  pthread_mutex_unlock(&ob->lock);
  return 0;
}

/* The render's reply to req_id: its frame, and job j's audio when asked. */
static void reply_render(const offline_backend *ob, const render_job *j, client *c,
                         uint64_t req_id, uint64_t reached) {
  msgpack_sbuffer sb;
  msgpack_packer pk;

  if (j->ret == NULL) {
    reply_ok_frame(c, req_id, reached);
    return;
  }
  reply_begin(&sb, &pk, req_id);
  msgpack_pack_map(&pk, 5);
  sono_pack_key_uint(&pk, "frame", reached);
  sono_pack_key_uint(&pk, "start", j->start);
  sono_pack_key_uint(&pk, "frames", j->len);
  sono_pack_key_uint(&pk, "channels", ob->channels);
  sono_pack_cstr(&pk, "audio");
  sono_pack_audio(&pk, j->ret, j->cap, ob->channels, j->len);
  reply_end(c, &sb);
}

/* Control thread: takes the render's job out (its buffers are the
 * caller's to free); the next render starts without one. */
static void take_job(offline_backend *ob, render_job *j) {
  pthread_mutex_lock(&ob->lock);
  *j = ob->job;
  memset(&ob->job, 0, sizeof ob->job);
  pthread_mutex_unlock(&ob->lock);
}

static void free_job(render_job *j) {
  free(j->ret);
  free(j->input);
  memset(j, 0, sizeof *j);
}

/* offline_render's work; io's input is taken when set up (NULL then). */
static int offline_schedule(offline_backend *ob, uint32_t client_id, uint64_t req_id,
                            uint64_t frames, render_io *io, char *err, size_t errlen) {
  uint64_t until = 0;
  int rc;

  if (ob->pending) {
    snprintf(err, errlen, "another render is still running");
    return RENDER_BUSY;
  }
  /* Between renders the thread is idle, so `reached` is where it stands. */
  if (frames != RENDER_TO_LENGTH)
    until = atomic_load(&ob->reached) + frames;
  else if (ob->length == 0) {
    snprintf(err, errlen, "no frames given and no --length to render to");
    return RENDER_NO_LENGTH;
  } else
    until = ob->length;
  if (ob->length > 0 && until > ob->length)
    until = ob->length;
  if (io != NULL && (io->ret || io->input != NULL) &&
      (rc = setup_io(ob, until, io, err, errlen)) != 0)
    return rc;
  ob->pending = true;
  ob->client = client_id;
  ob->req_id = req_id;
  ob->pending_until = until;
  pthread_mutex_lock(&ob->lock);
  if (until > ob->target)
    ob->target = until;
  pthread_cond_broadcast(&ob->cond);
  pthread_mutex_unlock(&ob->lock);
  /* Already there: answer at the next poll. */
  if (until <= atomic_load(&ob->reached))
    ob->base.d->eng.wake(ob->base.d->eng.wake_ctx);
  return 0;
}

static int offline_render(backend *b, uint32_t client_id, uint64_t req_id, uint64_t frames,
                          render_io *io, char *err, size_t errlen) {
  int rc = offline_schedule((offline_backend *)b, client_id, req_id, frames, io, err, errlen);

  if (io != NULL) {
    free(io->input);   /* NULL once taken */
    io->input = NULL;
  }
  return rc;
}

static void offline_kick(backend *b) {
  offline_backend *ob = (offline_backend *)b;

  pthread_mutex_lock(&ob->lock);
  ob->kicked = true;
  pthread_cond_broadcast(&ob->cond);
  pthread_mutex_unlock(&ob->lock);
}

/* Held only while the thread waits: a render or a kick in progress is work
 * the holder must not overlap.  Waits up to 100 ms for it to end (a kick,
 * or a render's last steps, take microseconds); a longer render is left
 * running and not held, and the control thread not stalled: a compile then
 * merges in that render's next k-cycle. */
#define HOLD_WAIT_NS 100000000L

static bool offline_hold(backend *b) {
  offline_backend *ob = (offline_backend *)b;
  struct timespec until;
  bool ok;

  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_nsec += HOLD_WAIT_NS % 1000000000L;
  until.tv_sec += HOLD_WAIT_NS / 1000000000L + until.tv_nsec / 1000000000L;
  until.tv_nsec %= 1000000000L;
  pthread_mutex_lock(&ob->lock);
  while (ob->busy && pthread_cond_timedwait(&ob->cond, &ob->lock, &until) == 0)
    ;
  ok = !ob->busy;
  if (ok)
    ob->held++;
  pthread_mutex_unlock(&ob->lock);
  return ok;
}

static void offline_release(backend *b) {
  offline_backend *ob = (offline_backend *)b;

  pthread_mutex_lock(&ob->lock);
  ob->held--;
  pthread_cond_broadcast(&ob->cond);
  pthread_mutex_unlock(&ob->lock);
}

static void offline_poll(backend *b) {
  offline_backend *ob = (offline_backend *)b;
  uint64_t reached = atomic_load_explicit(&ob->reached, memory_order_acquire), req_id;
  uint32_t client_id;
  render_job job;
  client *c;

  if (!ob->pending || reached < ob->pending_until)
    return;
  ob->pending = false;
  client_id = ob->client;
  req_id = ob->req_id;
  /* The render's buffers, taken before the drain below (which may start
   * another render, a Csound k-cycle for a session's compile). */
  take_job(ob, &job);
  if (ob->file != NULL)
    sf_write_sync(ob->file);
  /* Everything the thread published before `reached` (acquired above)
   * goes out before the reply: the wake-up's drain may have run just
   * before the render ended. */
  if (b->hooks != NULL && b->hooks->drain != NULL)
    b->hooks->drain(b->d);
  c = client_find(b->d, client_id);
  if (c != NULL) {
    if (atomic_load(&ob->write_error))
      reply_error(c, true, req_id, SONO_E_INTERNAL, "writing the output file failed: %s",
                  sf_strerror(ob->file));
    else
      reply_render(ob, &job, c, req_id, reached);
  }
  free_job(&job);
  if (ob->length > 0 && reached >= ob->length)
    sonod_shutdown(b->d, "the offline render reached its length");
}

static void offline_destroy(backend *b) {
  offline_backend *ob = (offline_backend *)b;
  render_job job;

  offline_stop(b);
  if (ob->file != NULL)
    sf_close(ob->file);
  take_job(ob, &job);
  free_job(&job);
  pthread_mutex_destroy(&ob->lock);
  pthread_cond_destroy(&ob->cond);
  free(ob->mem);
  free(ob->interleaved);
  free(ob);
}

static const backend_ops offline_ops = {
  "offline", offline_start, offline_stop, offline_poll, offline_destroy, offline_render,
  offline_kick, NULL, NULL, NULL, offline_hold, offline_release,
};

/* The file's format: its type by the name, its samples by --output-format
 * (float WAV and 24-bit FLAC unless told). */
static int format_for(const char *path, const char *sample, char *err, size_t errlen) {
  const char *dot = strrchr(path, '.');
  bool flac = dot != NULL && strcasecmp(dot, ".flac") == 0;

  if (strcmp(sample, "pcm16") == 0)
    return (flac ? SF_FORMAT_FLAC : SF_FORMAT_WAV) | SF_FORMAT_PCM_16;
  if (strcmp(sample, "pcm24") == 0 || (flac && sample[0] == '\0'))
    return (flac ? SF_FORMAT_FLAC : SF_FORMAT_WAV) | SF_FORMAT_PCM_24;
  if (flac) {
    snprintf(err, errlen, "--output-format float: FLAC holds no floats (pcm16 or pcm24)");
    return -1;
  }
  return SF_FORMAT_WAV | SF_FORMAT_FLOAT;
}

backend *backend_offline_create(sonod *d, char *err, size_t errlen) {
  offline_backend *ob = calloc(1, sizeof *ob);
  SF_INFO info;
  unsigned ch;
  int fd;
  char why[4200];

  if (ob == NULL) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  ob->base.ops = &offline_ops;
  ob->base.d = d;
  ob->base.state = "stopped";
  ob->base.sample_rate = d->opt.sample_rate;
  ob->base.block_size = d->opt.block_size;
  ob->channels = d->opt.channels;
  ob->length = (uint64_t)llround(d->opt.length * d->opt.sample_rate);
  pthread_mutex_init(&ob->lock, NULL);
  pthread_cond_init(&ob->cond, NULL);
  ob->mem = calloc((size_t)ob->channels * ob->base.block_size, sizeof(float));
  ob->interleaved = calloc((size_t)ob->channels * ob->base.block_size, sizeof(float));
  if (ob->mem == NULL || ob->interleaved == NULL) {
    snprintf(err, errlen, "out of memory");
    offline_destroy(&ob->base);
    return NULL;
  }
  for (ch = 0; ch < ob->channels; ch++)
    ob->bufs[ch] = ob->mem + (size_t)ch * ob->base.block_size;

  if (strcmp(d->opt.output, "none") == 0) {
    log_info("offline: rendering to no file (render's return hands the audio back)");
    return &ob->base;
  }
  memset(&info, 0, sizeof info);
  info.samplerate = (int)d->opt.sample_rate;
  info.channels = (int)ob->channels;
  info.format = format_for(d->opt.output, d->opt.output_format, err, errlen);
  if (info.format < 0) {
    offline_destroy(&ob->base);
    return NULL;
  }
  fd = file_open_write_any(d->opt.output, why, sizeof why);   /* the operator's */
  if (fd < 0) {
    snprintf(err, errlen, "cannot write %s", why);
    offline_destroy(&ob->base);
    return NULL;
  }
  ob->file = sf_open_fd(fd, SFM_WRITE, &info, SF_TRUE);
  if (ob->file == NULL) {
    close(fd);
    snprintf(err, errlen, "cannot write %s: %s", d->opt.output, sf_strerror(NULL));
    offline_destroy(&ob->base);
    return NULL;
  }
  /* libsndfile stamps float WAV files with the time of writing in a PEAK
   * chunk: without it the same render gives the same bytes. */
  sf_command(ob->file, SFC_SET_ADD_PEAK_CHUNK, NULL, SF_FALSE);
  log_info("offline: rendering to %s", d->opt.output);
  return &ob->base;
}
