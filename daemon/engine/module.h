/* module.h - how a control-side module plugs into the engine.
 *
 * A module (daemon/modules/) fills one engine_module with the hooks it
 * needs and main registers it at start-up (engine_ctl_register).  The
 * engine then reaches it only through these pointers: engine_ctl.c names
 * no module, and a new one (LV2 plugins, an isolated-plugin host) joins
 * without editing it.  Every hook is optional (NULL) and runs on the
 * control thread.  Modules are called in the order they were registered. */
#ifndef SONOD_ENGINE_MODULE_H
#define SONOD_ENGINE_MODULE_H

#include <stdbool.h>

#include "daemon/backend/backend.h"
#include "daemon/base/sonod.h"
#include "daemon/net/client.h"
#include "daemon/rt/cmd.h"

typedef struct engine_module {
  const char *name;
  /* The messages from the audio thread this module owns (by m->type).
   * c is the client the command was sent for, or NULL (gone, or none). */
  bool (*handles)(const rt_msg *m);
  void (*msg)(sonod *d, client *c, const rt_msg *m);
  /* Once per drain of the audio thread's messages: snapshots, notices. */
  void (*poll)(sonod *d);
  /* At shutdown, for each command the audio thread will never run (still
   * in the ring or the timed heap): release what it carries. */
  void (*drop_cmd)(sonod *d, const rt_cmd *cmd);
  /* After the audio thread has stopped for good. */
  void (*shutdown)(sonod *d);
  /* Backend news, passed on by the engine (backend.h, backend_hooks):
   * the period grew to `block` frames and whatever was prepared for a
   * shorter one must be prepared again, off the control thread; returns
   * at once and calls done(d, arg, prepared, failed) exactly once, when
   * every call it started has ended or missed its deadline.  in_time(ctx)
   * says whether the driver still waits for the answer. */
  void (*reprepare)(sonod *d, unsigned block, bool (*in_time)(void *), void *ctx,
                    reprepare_done_fn done, void *arg);
  /* The server's freewheel mode switched. */
  void (*freewheel)(sonod *d, bool on);
} engine_module;

/* Adds m (static storage) after the ones registered before.  Returns -1
 * when SONOD_MODULES_MAX are registered already. */
int engine_ctl_register(sonod *d, const engine_module *m);

#endif
