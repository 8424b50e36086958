/* record_ctl.c - recording the live output (the ops record.start /
 * record.stop are ops/ops_record.c).  See record_ctl.h, rt/rec.h and
 * ARCHITECTURE.md, "Recording".
 *
 * One recording at a time.  record.start opens the file (here, on the
 * control thread: one open), allocates the ring (about 2 s of audio) and
 * hands it to the audio thread, which fills it from the first frame of the
 * block that takes the command; that frame is the reply.  A 20 ms timer and
 * every wake-up drain the ring into the file.  record.stop's command ends
 * the copy at its frame; its acknowledgement brings the ring back, the rest
 * is written, the file closed, and the reply says how many frames it
 * holds.  Frames the audio thread could not fit (overflow) are reported as
 * `record.error` events to the recording client and in the reply, and are
 * written as silence where they belong. */
#include "daemon/modules/record_ctl.h"

#include "daemon/engine/module.h"

#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/net/client.h"
#include "daemon/engine/engine_ctl.h"
#include "daemon/net/events.h"
#include "daemon/base/log.h"
#include "daemon/file/file.h"
#include "daemon/net/reply.h"
#include "protocol/errors.h"
#include "protocol/wire.h"

#define REC_POLL_MS 20
#define REC_RING_SECONDS 2
#define REC_ZEROS_FRAMES 1024

static struct {
  record_state st;
  rt_rec *rec;
  SNDFILE *file;
  char path[RECORD_PATH_MAX];
  uint32_t client;          /* who started it */
  uint64_t written;         /* frames in the file, silence included */
  bool have_gap;
  rec_gap gap;              /* popped, not yet reached */
  uint64_t reported;        /* dropped frames already told */
  bool write_error;
  float *zeros;             /* REC_ZEROS_FRAMES × channels of silence */
  uv_timer_t timer;
  bool timer_ready, timer_on;
} R;

static void rec_free(rt_rec *r) {
  if (r == NULL)
    return;
  spsc_destroy(r->gaps);
  spsc_destroy(r->frames);
  free(r);
}

static rt_rec *rec_new(unsigned sample_rate, unsigned channels) {
  rt_rec *r = aligned_alloc(64, (sizeof *r + 63) & ~(size_t)63);

  if (r == NULL)
    return NULL;
  memset(r, 0, sizeof *r);
  r->channels = channels;
  r->frames = spsc_create((size_t)sample_rate * REC_RING_SECONDS, channels * sizeof(float));
  r->gaps = spsc_create(REC_GAPS_CAPACITY, sizeof(rec_gap));
  if (r->frames == NULL || r->gaps == NULL) {
    rec_free(r);
    return NULL;
  }
  atomic_init(&r->dropped, 0);
  r->stop = REC_RUNNING;
  return r;
}

static void write_frames(const float *p, uint64_t n) {
  if (n == 0)
    return;
  if (sf_writef_float(R.file, p, (sf_count_t)n) != (sf_count_t)n)
    R.write_error = true;
  R.written += n;
}

static void write_silence(uint64_t n) {
  while (n > 0) {
    uint64_t k = n < REC_ZEROS_FRAMES ? n : REC_ZEROS_FRAMES;
    write_frames(R.zeros, k);
    n -= k;
  }
}

/* Everything the audio thread has published, gaps in their places. */
static void drain(void) {
  rt_rec *r = R.rec;

  if (r == NULL || R.file == NULL)
    return;
  for (;;) {
    uint64_t tail = spsc_read_pos(r->frames);
    uint64_t limit = tail + spsc_count(r->frames);
    uint64_t cap = spsc_capacity(r->frames);

    if (!R.have_gap && spsc_pop(r->gaps, &R.gap) == 0)
      R.have_gap = true;
    if (R.have_gap && R.gap.at <= tail) {
      write_silence(R.gap.frames);
      R.have_gap = false;
      continue;
    }
    if (R.have_gap && R.gap.at < limit)
      limit = R.gap.at;
    if (tail == limit)
      return;
    while (tail < limit) {
      uint64_t off = tail & (cap - 1);
      uint64_t n = limit - tail;

      if (n > cap - off)
        n = cap - off;
      write_frames(spsc_slot(r->frames, tail), n);
      spsc_release(r->frames, n);
      tail += n;
    }
  }
}

static void timer_stop(void) {
  if (R.timer_on) {
    uv_timer_stop(&R.timer);
    R.timer_on = false;
  }
}

/* Closes the file and forgets the recording.  Returns false if writing
 * failed at any point. */
static bool finish(bool keep_file) {
  bool ok = !R.write_error;

  timer_stop();
  if (R.file != NULL) {
    if (sf_close(R.file) != 0)
      ok = false;
    R.file = NULL;
  }
  if (!keep_file)
    unlink(R.path);
  rec_free(R.rec);
  R.rec = NULL;
  free(R.zeros);
  R.zeros = NULL;
  R.st = RECORD_IDLE;
  R.have_gap = false;
  R.write_error = false;
  return ok;
}

static void report_drops(sonod *d) {
  uint64_t dropped;
  client *c;
  msgpack_sbuffer sb;
  msgpack_packer pk;

  if (R.rec == NULL)
    return;
  dropped = atomic_load_explicit(&R.rec->dropped, memory_order_relaxed);
  if (dropped == R.reported)
    return;
  R.reported = dropped;
  log_warn("record: %llu frames dropped so far (the ring overflowed); written as silence",
           (unsigned long long)dropped);
  c = client_find(d, R.client);
  if (c == NULL)
    return;
  events_begin(&sb, &pk, "record.error", 3);
  sono_pack_key_uint(&pk, "dropped_frames", dropped);
  sono_pack_key_uint(&pk, "frame", atomic_load(&d->eng.pub_frame));
  sono_pack_key_str(&pk, "path", R.path);
  sono_msg_end(&sb);
  client_send_event(c, &sb);
  msgpack_sbuffer_destroy(&sb);
}

static int send_stop(sonod *d, uint32_t client_id, uint64_t req_id) {
  rt_cmd cmd;

  memset(&cmd, 0, sizeof cmd);
  cmd.type = RT_CMD_RECORD_STOP;
  cmd.at_kind = RT_AT_NOW;
  cmd.client = client_id;
  cmd.req_id = req_id;
  return engine_ctl_push(d, &cmd);
}

static void record_ctl_poll(sonod *d) {
  if (R.st == RECORD_IDLE)
    return;
  drain();
  report_drops(d);
  /* The recording client went away: the recording ends with it, so the
   * next one is not refused forever. */
  if (R.st == RECORD_RUNNING && client_find(d, R.client) == NULL && !d->stopping &&
      send_stop(d, 0, 0) == 0) {
    log_info("record: the recording client left; stopping %s", R.path);
    R.st = RECORD_STOPPING;
  }
}

static void on_timer(uv_timer_t *t) {
  record_ctl_poll(t->data);
}

static bool record_ctl_handles(const rt_msg *m) {
  return m->cmd_type == RT_CMD_RECORD_START || m->cmd_type == RT_CMD_RECORD_STOP;
}

static void reply_stopped(client *c, uint64_t req_id, uint64_t start, uint64_t frames,
                          uint64_t dropped, bool ok) {
  msgpack_sbuffer sb;
  msgpack_packer pk;

  if (c == NULL)
    return;
  if (!ok) {
    reply_error(c, true, req_id, SONO_E_FILE_ERROR,
                "record.stop: writing %s failed (disk full?); %llu frames recorded", R.path,
                (unsigned long long)frames);
    return;
  }
  reply_begin(&sb, &pk, req_id);
  msgpack_pack_map(&pk, 4);
  sono_pack_key_uint(&pk, "frames", frames);
  sono_pack_key_str(&pk, "path", R.path);
  sono_pack_key_uint(&pk, "start", start);
  sono_pack_key_uint(&pk, "dropped_frames", dropped);
  reply_end(c, &sb);
}

/* The ring is back: write what is left, then the gap still pending. */
static void complete(sonod *d, client *c, uint64_t req_id) {
  rt_rec *r = R.rec;
  uint64_t dropped, start;
  bool ok;

  drain();
  report_drops(d);
  if (R.have_gap) {
    write_silence(R.gap.frames);
    R.have_gap = false;
  }
  write_silence(r->gap);
  dropped = atomic_load(&r->dropped);
  start = r->start;
  if (R.written != r->stop - r->start)
    log_error("record: %llu frames written for %llu recorded", (unsigned long long)R.written,
              (unsigned long long)(r->stop - r->start));
  log_info("record: %s closed, %llu frames (%llu dropped)", R.path,
           (unsigned long long)R.written, (unsigned long long)dropped);
  {
    uint64_t frames = R.written;
    ok = finish(true);
    reply_stopped(c, req_id, start, frames, dropped, ok);
  }
}

static void record_ctl_msg(sonod *d, client *c, const rt_msg *m) {
  if (m->cmd_type == RT_CMD_RECORD_START) {
    if (m->type == RT_MSG_ACK) {
      if (R.st == RECORD_STARTING)
        R.st = RECORD_RUNNING;   /* (a record.stop may already be on its way) */
      if (!R.timer_ready) {
        uv_timer_init(d->loop, &R.timer);
        R.timer.data = d;
        R.timer_ready = true;
      }
      if (!d->stopping) {
        uv_timer_start(&R.timer, on_timer, REC_POLL_MS, REC_POLL_MS);
        R.timer_on = true;
      }
      if (c != NULL)
        reply_ok_frame(c, m->req_id, m->frame);
      return;
    }
    /* Refused (heap full, or a recording still there): nothing recorded. */
    finish(false);
    if (c != NULL)
      reply_error(c, true, m->req_id, m->code == RT_ERR_BUSY ? SONO_E_BUSY : SONO_E_HEAP_FULL,
                  "record.start: the audio thread refused it (%s)",
                  m->code == RT_ERR_BUSY ? "a recording is running" : "its queue is full");
    return;
  }
  /* RT_CMD_RECORD_STOP */
  if (m->type != RT_MSG_ACK) {
    R.st = RECORD_RUNNING;
    if (c != NULL)
      reply_error(c, true, m->req_id, SONO_E_HEAP_FULL,
                  "record.stop: the audio thread's queue is full; retry");
    return;
  }
  if (m->garbage == NULL || m->garbage != R.rec) {
    if (c != NULL)
      reply_error(c, true, m->req_id, SONO_E_NOT_RECORDING, "record.stop: nothing is recording");
    return;
  }
  complete(d, c, m->req_id);
}

static void record_ctl_shutdown(sonod *d) {
  if (R.st == RECORD_IDLE) {
    if (R.timer_ready) {
      uv_close((uv_handle_t *)&R.timer, NULL);
      R.timer_ready = false;
    }
    return;
  }
  /* The audio thread is gone: the ring is ours wherever it was. */
  if (d->eng.rec == R.rec)
    d->eng.rec = NULL;
  if (R.st == RECORD_STARTING) {
    finish(false);
  } else {
    drain();
    if (R.have_gap)
      write_silence(R.gap.frames);
    R.have_gap = false;
    write_silence(R.rec->gap);
    log_info("record: %s closed at shutdown, %llu frames", R.path, (unsigned long long)R.written);
    finish(true);
  }
  if (R.timer_ready) {
    uv_close((uv_handle_t *)&R.timer, NULL);
    R.timer_ready = false;
  }
}

record_state record_ctl_state(const char **path, uint32_t *client_id) {
  if (path != NULL)
    *path = R.path;
  if (client_id != NULL)
    *client_id = R.client;
  return R.st;
}

rt_rec *record_ctl_open(sonod *d, const char *path, int format, unsigned channels,
                        uint32_t client_id, const char **code, char *err, size_t errlen) {
  SF_INFO info;
  int fd;
  char why[4200];

  snprintf(R.path, sizeof R.path, "%s", path);
  memset(&info, 0, sizeof info);
  info.samplerate = (int)d->eng.sample_rate;
  info.channels = (int)channels;
  info.format = format;
  fd = file_open_write(R.path, why, sizeof why);
  if (fd < 0) {
    *code = SONO_E_FILE_ERROR;
    snprintf(err, errlen, "cannot write %s", why);
    return NULL;
  }
  R.file = sf_open_fd(fd, SFM_WRITE, &info, SF_TRUE);
  if (R.file == NULL) {
    close(fd);
    unlink(R.path);
    *code = SONO_E_FILE_ERROR;
    snprintf(err, errlen, "cannot write %s: %s", R.path, sf_strerror(NULL));
    return NULL;
  }
  R.rec = rec_new(d->eng.sample_rate, channels);
  R.zeros = calloc((size_t)REC_ZEROS_FRAMES * channels, sizeof(float));
  if (R.rec == NULL || R.zeros == NULL) {
    finish(false);
    *code = SONO_E_INTERNAL;
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  R.client = client_id;
  R.written = 0;
  R.reported = 0;
  R.write_error = false;
  R.st = RECORD_STARTING;
  return R.rec;
}

void record_ctl_abandon(void) {
  finish(false);
}

int record_ctl_stop(sonod *d, uint32_t client_id, uint64_t req_id) {
  if (send_stop(d, client_id, req_id) != 0)
    return -1;
  R.st = RECORD_STOPPING;
  return 0;
}

/* The recording ring is drained into the file on every wake-up (and by a
 * 20 ms timer while recording); at shutdown a recording in progress is
 * finished. */
const engine_module record_ctl_module = {
  .name = "record",
  .handles = record_ctl_handles,
  .msg = record_ctl_msg,
  .poll = record_ctl_poll,
  .shutdown = record_ctl_shutdown,
};
