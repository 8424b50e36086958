/* session_autosave.c - the state directory and the autosave: start-up
 * (where the file is, the restore of the last session), the debounce timer
 * every change re-arms, the save at shutdown.  Control thread only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/base/log.h"
#include "daemon/session/session_internal.h"

#define AUTOSAVE_MS 2000

static char autosave_path[4200];    /* empty: autosave off */
static uv_timer_t debounce;
static bool timer_on, dirty;

const char *session_autosave_path(void) {
  return autosave_path;
}

void session_set_dirty(bool d) {
  dirty = d;
}

static void on_debounce(uv_timer_t *t) {
  sonod *d = t->data;
  static const session_asker nobody;

  /* A load half applied: its end calls session_changed, which comes back. */
  if (!dirty || d->stopping || session_loading() != NULL)
    return;
  if (session_save(d, autosave_path, nobody, NULL) != 0) {
    log_error("state: cannot start the autosave");
    dirty = true;
  }
}

void session_changed(sonod *d) {
  if (session_loading() != NULL)
    return;
  dirty = true;
  if (timer_on && !d->stopping)
    uv_timer_start(&debounce, on_debounce, AUTOSAVE_MS, 0);
}

void session_shutdown(sonod *d) {
  if (session_restore_abandon())
    dirty = false;
  if (!timer_on)
    return;
  uv_timer_stop(&debounce);
  uv_close((uv_handle_t *)&debounce, NULL);
  timer_on = false;
  if (dirty) {
    char msg[900];
    size_t len;
    char *buf = session_pack_now(d, autosave_path, &len);

    /* On this thread: the loop is about to end, and a save must not be
     * lost to it. */
    if (session_write_now(autosave_path, buf, len, msg, sizeof msg) != 0)
      log_error("state: %s", msg);
    else
      log_info("state: saved %zu bytes to %s", len, autosave_path);
    free(buf);
    dirty = false;
  }
}

/* mkdir -p: the folders above `path` as 0755 (less the umask), `path`
 * itself 0700, so that `--state-dir ~/.local/state/sonod` works for a user
 * who has no ~/.local/state yet. */
static int make_dirs(const char *path) {
  char buf[4096];
  size_t i, n = strlen(path);

  if (n == 0 || n >= sizeof buf)
    return -1;
  memcpy(buf, path, n + 1);
  for (i = 1; i < n; i++) {
    if (buf[i] != '/')
      continue;
    buf[i] = '\0';
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
      return -1;
    buf[i] = '/';
  }
  return mkdir(buf, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

void session_start(sonod *d, session_ready_cb ready) {
  const char *dir = getenv("STATE_DIRECTORY");
  char first[4096];

  /* systemd may list several directories, colon-separated: ours is the
   * first. */
  if (dir != NULL && dir[0] != '\0') {
    snprintf(first, sizeof first, "%.*s", (int)strcspn(dir, ":"), dir);
  } else if (d->opt.state_dir[0] != '\0') {
    snprintf(first, sizeof first, "%s", d->opt.state_dir);
  } else {
    log_info("state: no state directory (--state-dir, $STATE_DIRECTORY): autosave off");
    ready(d);
    return;
  }
  if (make_dirs(first) != 0)
    log_warn("state: cannot create %s: %s", first, strerror(errno));
  snprintf(autosave_path, sizeof autosave_path, "%s/" SESSION_FILE, first);
  unsigned stale = session_clean_temps(first, SESSION_FILE);
  if (stale > 0)
    log_info("state: removed %u temporary file%s of saves interrupted earlier", stale,
             stale == 1 ? "" : "s");
  uv_timer_init(d->loop, &debounce);
  debounce.data = d;
  timer_on = true;
  dirty = false;   /* the first plan is no change of the session */
  log_info("state: autosave to %s", autosave_path);

  if (d->opt.no_restore)
    log_info("state: not restoring (--no-restore)");
  else if (session_restore_start(d, autosave_path, ready))
    return;   /* the restore's end runs ready */
  dirty = false;
  ready(d);
}
