/* session_restore.c - the staged restore: a parsed session file applied
 * step by step on the loop, so that other clients are served meanwhile
 * (ping, status, meters, events).
 *
 * A load is two steps so that a bad file changes nothing: the whole file
 * is read, checked and parsed into every section's staged form first
 * (session_file.c); only then is it applied.  The steps of all sections
 * run one at a time in ascending rank (section.h); one that waits (a
 * plugin loading on the thread pool, a Csound merge) calls
 * session_step_done when it is over.  Applying can still fail part way (a
 * plugin file gone, Csound rejecting code that compiled before), and then
 * the reply says what was and was not restored.
 *
 * One restore at a time (`cur`): state.load refuses a second with busy.
 * While one runs, session_loading() keeps changes from arming the autosave,
 * and neither the autosave, state.save nor shutdown snapshots the
 * half-applied session; the end of a state.load counts as one change.
 * Control thread only. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/base/log.h"
#include "daemon/session/session_internal.h"
#include "protocol/wire.h"

/* A step in the order of the restore, with the section it belongs to. */
typedef struct step_ref {
  const session_step *step;
  unsigned section;
} step_ref;

typedef struct tally {
  const session_tally *t;
  const void *staged;         /* its section's */
  unsigned ok;
  int64_t *saved, *now;       /* id tallies: item i's ids */
  unsigned cap;
} tally;

struct session_restore {
  sonod *d;
  void **staged;              /* one per section */
  step_ref *steps;
  unsigned nsteps, next;      /* the step running (or to run) */
  bool in_step, step_over;    /* session_step_done called from inside run */
  tally *tally;
  unsigned ntally;
  char fail[1500];            /* what failed, "; "-separated */
  size_t flen;
  unsigned failures;
  uv_timer_t timer;           /* session_poll */
  session_poll_fn poll;
  void (*done)(session_restore *j);
  session_asker who;          /* state.load: whom to answer */
  session_loaded_cb loaded;
  session_ready_cb ready;     /* the start-up restore: what runs after it */
  char path[4200];
};

static session_restore *cur;

const char *session_loading(void) {
  return cur != NULL ? cur->path : NULL;
}

sonod *session_sonod(const session_restore *j) {
  return j->d;
}

const char *session_path(const session_restore *j) {
  return j->path;
}

/* ---- what failed, what was restored ---- */

void session_failed(session_restore *j, const char *fmt, ...) {
  va_list ap;

  j->failures++;
  if (j->flen + 4 >= sizeof j->fail)
    return;
  if (j->flen > 0)
    j->flen += (size_t)snprintf(j->fail + j->flen, sizeof j->fail - j->flen, "; ");
  va_start(ap, fmt);
  j->flen += (size_t)vsnprintf(j->fail + j->flen, sizeof j->fail - j->flen, fmt, ap);
  va_end(ap);
  if (j->flen >= sizeof j->fail)
    j->flen = sizeof j->fail - 1;
}

const char *session_failures(const session_restore *j) {
  return j->failures != 0 ? j->fail : NULL;
}

static tally *find_tally(const session_restore *j, const char *name) {
  unsigned i;

  for (i = 0; i < j->ntally; i++)
    if (strcmp(j->tally[i].t->name, name) == 0)
      return &j->tally[i];
  log_error("state: no section counts '%s'", name);
  return NULL;
}

void session_count(session_restore *j, const char *name) {
  tally *t = find_tally(j, name);

  if (t != NULL)
    t->ok++;
}

void session_count_id(session_restore *j, const char *name, int64_t saved, int64_t now) {
  tally *t = find_tally(j, name);

  if (t == NULL)
    return;
  if (t->ok == t->cap) {
    t->cap = t->cap ? t->cap * 2 : 8;
    t->saved = realloc(t->saved, t->cap * sizeof *t->saved);
    t->now = realloc(t->now, t->cap * sizeof *t->now);
    if (t->saved == NULL || t->now == NULL)
      abort();
  }
  t->saved[t->ok] = saved;
  t->now[t->ok++] = now;
}

bool session_id_now(const session_restore *j, const char *name, int64_t saved, int64_t *now) {
  const tally *t = find_tally(j, name);
  unsigned i;

  for (i = 0; t != NULL && t->saved != NULL && i < t->ok; i++)
    if (t->saved[i] == saved) {
      *now = t->now[i];
      return true;
    }
  return false;
}

void session_summary(const session_restore *j, char *out, size_t len) {
  size_t n = (size_t)snprintf(out, len, "restored");
  const char *sep = " ";
  unsigned i;

  for (i = 0; i < j->ntally && n < len; i++) {
    const tally *t = &j->tally[i];

    if (t->t->label == NULL)
      continue;
    n += (size_t)snprintf(out + n, len - n, "%s%u of %u %s", sep, t->ok, t->t->total(t->staged),
                          t->t->label);
    sep = ", ";
  }
}

void session_pack_ids(const session_restore *j, msgpack_packer *pk) {
  const tally *order[64];
  unsigned n = 0, i, k;

  /* By reply_rank; ties in the sections' order. */
  for (i = 0; i < j->ntally && n < 64; i++) {
    const tally *t = &j->tally[i];

    if (t->t->reply_rank < 0)
      continue;
    for (k = n; k > 0 && order[k - 1]->t->reply_rank > t->t->reply_rank; k--)
      order[k] = order[k - 1];
    order[k] = t;
    n++;
  }
  msgpack_pack_map(pk, n);
  for (i = 0; i < n; i++) {
    const tally *t = order[i];

    if (t->t->id_key == NULL) {
      sono_pack_key_uint(pk, t->t->name, t->ok);
      continue;
    }
    sono_pack_cstr(pk, t->t->name);
    msgpack_pack_array(pk, t->ok);
    for (k = 0; k < t->ok; k++) {
      msgpack_pack_map(pk, 2);
      sono_pack_key_int(pk, "saved", t->saved[k]);
      sono_pack_key_int(pk, t->t->id_key, t->now[k]);
    }
  }
}

/* ---- the job ---- */

/* Takes over staged. */
static session_restore *job_new(sonod *d, void **staged, const char *path) {
  session_restore *j = session_calloc(1, sizeof *j);
  unsigned ns = session_nsections(), i, k, n = 0, nt = 0;

  j->d = d;
  j->staged = staged;
  snprintf(j->path, sizeof j->path, "%s", path);
  for (i = 0; i < ns; i++) {
    n += session_section_at(i)->nsteps;
    nt += session_section_at(i)->ntallies;
  }
  j->steps = session_calloc(n, sizeof *j->steps);
  j->tally = session_calloc(nt, sizeof *j->tally);
  for (i = 0; i < ns; i++) {
    const session_section *s = session_section_at(i);

    /* By rank; ties in the order of registration, then of the steps. */
    for (k = 0; k < s->nsteps; k++) {
      unsigned at = j->nsteps;

      for (; at > 0 && j->steps[at - 1].step->rank > s->steps[k].rank; at--)
        j->steps[at] = j->steps[at - 1];
      j->steps[at].step = &s->steps[k];
      j->steps[at].section = i;
      j->nsteps++;
    }
    for (k = 0; k < s->ntallies; k++) {
      j->tally[j->ntally].t = &s->tallies[k];
      j->tally[j->ntally++].staged = staged[i];
    }
  }
  uv_timer_init(d->loop, &j->timer);
  j->timer.data = j;
  return j;
}

static void job_closed(uv_handle_t *h) {
  free(h->data);
}

static void job_free(session_restore *j) {
  unsigned i;

  for (i = 0; i < j->ntally; i++) {
    free(j->tally[i].saved);
    free(j->tally[i].now);
  }
  free(j->tally);
  free(j->steps);
  session_staged_free(j->staged);
  uv_close((uv_handle_t *)&j->timer, job_closed);
}

bool session_restore_abandon(void) {
  if (cur == NULL)
    return false;
  /* Loads in flight call nobody back during shutdown (plugin_ctl.c). */
  log_warn("state: shutting down while %s is half applied: it is abandoned and not saved",
           cur->path);
  job_free(cur);
  cur = NULL;
  return true;
}

static void finish(session_restore *j) {
  cur = NULL;
  j->done(j);
  job_free(j);
}

/* Runs steps until one waits, or the last is over. */
static void advance(session_restore *j) {
  while (j->next < j->nsteps) {
    const step_ref *s = &j->steps[j->next];

    j->in_step = true;
    j->step_over = false;
    s->step->run(j, j->staged[s->section]);
    if (cur != j)
      return;   /* a shutdown came meanwhile and dropped j */
    j->in_step = false;
    if (!j->step_over)
      return;   /* session_step_done goes on */
    j->next++;
  }
  finish(j);
}

void session_step_done(session_restore *j) {
  if (j->in_step) {
    j->step_over = true;
    return;
  }
  j->next++;
  advance(j);
}

static void on_poll(uv_timer_t *t) {
  session_restore *j = t->data;

  j->poll(j, j->staged[j->steps[j->next].section]);
}

void session_poll(session_restore *j, unsigned ms, session_poll_fn fn) {
  j->poll = fn;
  uv_timer_start(&j->timer, on_poll, ms, ms);
}

void session_poll_stop(session_restore *j) {
  uv_timer_stop(&j->timer);
}

static void start(session_restore *j) {
  cur = j;
  j->next = 0;
  advance(j);
}

/* ---- state.load ---- */

static void load_done(session_restore *j) {
  j->loaded(j->d, j->who, j);
  session_changed(j->d);
}

int session_load(sonod *d, const char *path, session_asker who, session_loaded_cb done,
                 char *err, size_t errlen) {
  session_restore *j;
  void **staged;
  size_t len;
  char *buf;

  if (cur != NULL) {
    snprintf(err, errlen, "%s is still being loaded", cur->path);
    return SESSION_E_BUSY;
  }
  if ((buf = session_read_whole(path, &len, err, errlen)) == NULL)
    return SESSION_E_FILE;
  staged = session_file_parse(buf, len, err, errlen);
  free(buf);
  if (staged == NULL)
    return SESSION_E_BAD;
  j = job_new(d, staged, path);
  j->done = load_done;
  j->who = who;
  j->loaded = done;
  start(j);
  return 0;
}

/* ---- the start-up restore ---- */

static void restore_done(session_restore *j) {
  char sum[400];

  session_summary(j, sum, sizeof sum);
  if (j->failures != 0)
    log_error("state: from %s %s; failed: %s", j->path, sum, j->fail);
  else
    log_info("state: from %s %s", j->path, sum);
  /* What start-up did (the first plan, the restore) is no change to save. */
  session_set_dirty(false);
  j->ready(j->d);
}

bool session_restore_start(sonod *d, const char *path, session_ready_cb ready) {
  char why[600];
  session_restore *j;
  void **staged;
  size_t len;
  char *buf;

  if ((buf = session_read_whole(path, &len, why, sizeof why)) == NULL) {
    if (errno != ENOENT)
      log_error("state: %s; starting empty", why);
    return false;
  }
  staged = session_file_parse(buf, len, why, sizeof why);
  free(buf);
  if (staged == NULL) {
    char aside[4300];

    snprintf(aside, sizeof aside, "%s.corrupt-%lld", path, (long long)time(NULL));
    if (rename(path, aside) == 0)
      log_error("state: %s is not a good state file (%s); moved aside to %s, starting empty",
                path, why, aside);
    else
      log_error("state: %s is not a good state file (%s) and cannot be moved aside (%s); "
                "starting empty", path, why, strerror(errno));
    return false;
  }
  log_info("state: restoring %s", path);
  j = job_new(d, staged, path);
  j->done = restore_done;
  j->ready = ready;
  start(j);
  return true;
}
