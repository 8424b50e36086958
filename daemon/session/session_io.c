/* session_io.c - session files on disk: read whole, written atomically
 * (temporary file, fsync, rename, fsync of the directory), saves on the
 * libuv thread pool.  The snapshot is taken on the control thread; only
 * the write runs on the pool. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/base/log.h"
#include "daemon/file/file.h"
#include "daemon/session/session_internal.h"

#define STATE_MAX_BYTES (256u << 20)

/* Renames of the autosave file happen in the order snapshots were taken,
 * even when two writes overlap on the thread pool. */
static pthread_mutex_t rename_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t next_seq = 1, renamed_seq;
static uint64_t next_tag = 1;        /* names temporary files apart */

/* ---- reading ---- */

char *session_read_whole(const char *path, size_t *len, char *err, size_t errlen) {
  struct stat st;
  char *buf;
  size_t got = 0;
  char why[4300];
  int fd = file_open_read(path, why, sizeof why);

  if (fd < 0) {
    int e = errno;
    /* A FIFO or a device is named as such (EINVAL), never opened. */
    snprintf(err, errlen, e == EINVAL ? "%s" : "cannot open %s", why);
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

/* ---- temporary files a killed save left behind ---- */

unsigned session_clean_temps(const char *dir, const char *name) {
  char prefix[300], path[4400];
  size_t plen;
  unsigned removed = 0;
  struct dirent *e;
  DIR *dp;

  /* write_atomic's names: ".NAME.tmp-PID-TAG". */
  plen = (size_t)snprintf(prefix, sizeof prefix, ".%s.tmp-", name);
  if ((dp = opendir(dir)) == NULL)
    return 0;
  while ((e = readdir(dp)) != NULL) {
    struct stat st;

    if (strncmp(e->d_name, prefix, plen) != 0)
      continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && unlink(path) == 0)
      removed++;
  }
  closedir(dp);
  return removed;
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
  char tmp[4400], dir[4200], why[4300], real[4200];
  const char *slash = strrchr(path, '/');
  int fd, rc = 0;

  /* The temporary file goes next to path: only inside the file roots. */
  if (file_roots_resolve(file_get_roots(), path, real, sizeof real, why, sizeof why) != 0) {
    snprintf(msg, msglen, "%.600s", why);
    return -1;
  }
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
  } else if (file_may_replace(path, why, sizeof why) != 0) {
    /* Only a regular file is replaced: never a device, FIFO or link. */
    snprintf(msg, msglen, "will not replace %.400s", why);
    unlink(tmp);
    rc = -1;
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

int session_write_now(const char *path, const char *buf, size_t len, char *msg, size_t msglen) {
  /* A write still on the pool has an older sequence number and will not
   * rename over this one. */
  return write_atomic(path, buf, len, next_seq++, next_tag++, msg, msglen);
}

/* ---- saves: gather, pack, write on the thread pool ---- */

struct session_gather {
  struct save_job *job;
  unsigned pending;          /* sections still gathering, + 1 while they start */
  uint32_t *late;            /* nodes past their deadline */
  unsigned nlate, late_cap;
};

typedef struct save_job {
  uv_work_t w;
  struct save_job *next;     /* waiting for its turn to gather */
  sonod *d;
  char *path;
  char *buf;
  size_t len;
  bool autosave;
  uint64_t seq, tag;
  int rc;
  char msg[900];
  session_asker who;
  session_saved_cb done;     /* NULL: an autosave, nobody to tell */
  session_gather g;
} save_job;

/* One save gathers at a time (its plugins are busy answering it); the
 * others wait here, in order. */
static save_job *gathering, *waiting, **waiting_tail = &waiting;

static void save_free(save_job *j) {
  free(j->path);
  free(j->buf);
  free(j->g.late);
  free(j);
}

static void save_work(uv_work_t *w) {
  save_job *j = w->data;

  j->rc = write_atomic(j->path, j->buf, j->len, j->seq, j->tag, j->msg, sizeof j->msg);
}

static void save_done(uv_work_t *w, int status) {
  save_job *j = w->data;

  if (status != 0 && j->rc == 0) {
    j->rc = -1;
    snprintf(j->msg, sizeof j->msg, "the write was cancelled");
  }
  if (j->rc != 0) {
    log_error("state: %s", j->msg);
    if (j->done == NULL)
      session_set_dirty(true);   /* try again with the next change or at shutdown */
  } else {
    log_info("state: saved %zu bytes to %s", j->len, j->path);
  }
  if (j->done != NULL)
    j->done(j->d, j->who, j->path, j->len, j->g.late, j->g.nlate, j->rc != 0 ? j->msg : NULL);
  save_free(j);
}

static void gather_start(save_job *j);
static void write_start(save_job *j);

/* Every section of j has gathered: its snapshot is taken now, on the loop,
 * and written on the pool; then the next save may gather. */
static void gathered(save_job *j) {
  gathering = NULL;
  write_start(j);
  if ((j = waiting) != NULL) {
    if ((waiting = j->next) == NULL)
      waiting_tail = &waiting;
    gather_start(j);
  }
}

static void write_start(save_job *j) {
  if (j->d->stopping) {
    /* session_shutdown wrote the session already. */
    snprintf(j->msg, sizeof j->msg, "the daemon is shutting down");
    if (j->done != NULL)
      j->done(j->d, j->who, j->path, 0, j->g.late, j->g.nlate, j->msg);
    save_free(j);
    return;
  }
  j->buf = session_file_pack(j->d, j->path, &j->len);
  /* Numbered when the snapshot is taken: an older one never replaces it. */
  j->seq = j->autosave ? next_seq++ : 0;
  j->w.data = j;
  if (uv_queue_work(j->d->loop, &j->w, save_work, save_done) != 0) {
    j->rc = -1;
    snprintf(j->msg, sizeof j->msg, "cannot start the write");
    save_done(&j->w, 0);
  }
}

void session_gather_hold(session_gather *g) {
  g->pending++;
}

void session_gather_done(session_gather *g) {
  if (--g->pending == 0 && g->job != NULL)
    gathered(g->job);
}

void session_gather_late(session_gather *g, uint32_t id) {
  if (g->nlate == g->late_cap) {
    unsigned cap = g->late_cap ? 2 * g->late_cap : 8;
    uint32_t *p = realloc(g->late, cap * sizeof *p);

    if (p == NULL)
      return;
    g->late = p;
    g->late_cap = cap;
  }
  g->late[g->nlate++] = id;
}

static void gather_start(save_job *j) {
  unsigned i;

  gathering = j;
  j->g.job = j;
  j->g.pending = 1;
  for (i = 0; i < session_nsections(); i++)
    if (session_section_at(i)->gather != NULL) {
      j->g.pending++;
      session_section_at(i)->gather(j->d, &j->g, false);
    }
  session_gather_done(&j->g);
}

int session_save(sonod *d, const char *path, session_asker who, session_saved_cb done) {
  save_job *j = calloc(1, sizeof *j);

  if (j == NULL || (j->path = strdup(path)) == NULL) {
    free(j);
    return -1;
  }
  j->d = d;
  j->autosave = strcmp(path, session_autosave_path()) == 0;
  j->tag = next_tag++;
  j->who = who;
  j->done = done;
  /* A change from now on is not in this save (its plugins are asked
   * after): it makes the session dirty again. */
  if (j->autosave)
    session_set_dirty(false);
  if (gathering != NULL) {
    *waiting_tail = j;
    waiting_tail = &j->next;
  } else {
    gather_start(j);
  }
  return 0;
}

char *session_pack_now(sonod *d, const char *path, size_t *len) {
  session_gather g;
  unsigned i;

  memset(&g, 0, sizeof g);
  g.pending = 1;
  for (i = 0; i < session_nsections(); i++)
    if (session_section_at(i)->gather != NULL) {
      g.pending++;
      session_section_at(i)->gather(d, &g, true);
    }
  if (g.nlate > 0)
    log_warn("state: %u plugin%s did not answer in time; saved with what they last told",
             g.nlate, g.nlate == 1 ? "" : "s");
  free(g.late);
  return session_file_pack(d, path, len);
}
