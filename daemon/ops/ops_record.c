/* ops_record.c - record.start {path, format?, channels?} / record.stop:
 * recording the live output to a file.  The file, the ring the audio
 * thread fills and the replies that follow its acknowledgements are
 * modules/record_ctl.c; see ARCHITECTURE.md, "Recording". */
#include <sndfile.h>
#include <string.h>
#include <strings.h>

#include "daemon/engine/engine_ctl.h"
#include "daemon/modules/record_ctl.h"
#include "daemon/net/reply.h"
#include "daemon/ops/ops.h"
#include "protocol/errors.h"

static int format_of(request *r, const char *path, const char *fmt, size_t fmtlen) {
  const char *dot = strrchr(path, '.');

  if (fmt == NULL)
    return dot != NULL && strcasecmp(dot, ".flac") == 0 ? SF_FORMAT_FLAC | SF_FORMAT_PCM_24
                                                         : SF_FORMAT_WAV | SF_FORMAT_FLOAT;
  if (fmtlen == 3 && strncmp(fmt, "wav", 3) == 0)
    return SF_FORMAT_WAV | SF_FORMAT_FLOAT;
  if (fmtlen == 4 && strncmp(fmt, "flac", 4) == 0)
    return SF_FORMAT_FLAC | SF_FORMAT_PCM_24;
  reply_error(r->c, true, r->id, SONO_E_BAD_VALUE, "record.start: 'format' is \"wav\" or \"flac\"");
  return 0;
}

void op_record_start(request *r) {
  sonod *d = r->d;
  const char *path, *fmt = NULL, *cur, *code;
  char file[RECORD_PATH_MAX], err[RECORD_PATH_MAX + 200];
  size_t pathlen, fmtlen = 0;
  uint64_t channels = d->opt.channels;
  uint32_t owner;
  rt_cmd cmd;
  int format;

  if (!arg_str(r, "path", true, &path, &pathlen) || !arg_str(r, "format", false, &fmt, &fmtlen) ||
      !arg_uint(r, "channels", false, &channels))
    return;
  if (record_ctl_state(&cur, &owner) != RECORD_IDLE) {
    reply_error(r->c, true, r->id, SONO_E_BUSY, "record.start: already recording to %s (client %u)",
                cur, owner);
    return;
  }
  if (channels < 1 || channels > d->opt.channels) {
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE, "record.start: 'channels' must be 1..%u",
                d->opt.channels);
    return;
  }
  if (pathlen == 0 || pathlen >= sizeof file || path[0] != '/' ||
      memchr(path, '\0', pathlen) != NULL) {
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE,
                "record.start: 'path' must be an absolute file name (the daemon's directory is not yours)");
    return;
  }
  memcpy(file, path, pathlen);
  file[pathlen] = '\0';
  if ((format = format_of(r, file, fmt, fmtlen)) == 0)
    return;
  memset(&cmd, 0, sizeof cmd);
  cmd.u.ptr = record_ctl_open(d, file, format, (unsigned)channels, r->c->id, &code, err,
                              sizeof err);
  if (cmd.u.ptr == NULL) {
    reply_error(r->c, true, r->id, code, "record.start: %s", err);
    return;
  }
  cmd.type = RT_CMD_RECORD_START;
  cmd.at_kind = RT_AT_NOW;
  if (engine_ctl_send(r, &cmd) != 0)
    record_ctl_abandon();
}

void op_record_stop(request *r) {
  record_state st = record_ctl_state(NULL, NULL);

  if (st != RECORD_RUNNING && st != RECORD_STARTING) {
    reply_error(r->c, true, r->id, SONO_E_NOT_RECORDING,
                st == RECORD_STOPPING ? "record.stop: the recording is already stopping"
                                      : "record.stop: nothing is recording");
    return;
  }
  if (record_ctl_stop(r->d, r->c->id, r->id) != 0) {
    reply_error(r->c, true, r->id, SONO_E_QUEUE_FULL,
                "record.stop: the queue to the audio thread is full; retry shortly");
    return;
  }
}
