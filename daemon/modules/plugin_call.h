/* plugin_call.h - calls into plugin code off the control thread, each
 * with a deadline (issue 16, "No foreign call on the loop").
 *
 * A plugin's control-side call (effClose, effGetChunk, effSetChunk ...)
 * may never return.  plugin_call runs it on a thread of its own and tells
 * the loop when it is done; the loop serves every client meanwhile.  A call
 * past its deadline is reported at once (PLUGIN_CALL_TIMEOUT: answer the
 * request with `timeout`); the node is marked unusable (pnode.hung) and
 * later requests to it get a clear error.  An isolated node's host is
 * killed instead: the node is crashed, as if the plugin had crashed, and
 * plugin.restart brings it back.  If the call ever returns, the
 * callback runs once more (PLUGIN_CALL_LATE) to free what it used.  While a
 * call runs on a node, the node is busy (pnode.busy): one call at a time,
 * as VST2 plugins expect; after each call's callback, a re-prepare for a
 * longer period that waited for the node takes its turn
 * (plugin_prepare_idle).  Control thread, except fn. */
#ifndef SONOD_PLUGIN_CALL_H
#define SONOD_PLUGIN_CALL_H

#include "daemon/modules/plugin_ctl.h"

/* Default deadline of a call, in milliseconds; $SONOD_PLUGIN_DEADLINE_MS
 * (100..600000) replaces it. */
#define PLUGIN_CALL_DEADLINE_MS 5000

typedef enum {
  PLUGIN_CALL_DONE,      /* fn returned in time: answer, free */
  PLUGIN_CALL_TIMEOUT,   /* the deadline passed: answer `timeout`; fn still runs, free nothing */
  PLUGIN_CALL_LATE,      /* fn returned after its timeout: only free */
} plugin_call_end;

typedef void (*plugin_call_fn)(void *arg);       /* the call thread */
typedef void (*plugin_call_cb)(sonod *d, void *arg, plugin_call_end end);

/* Runs fn(arg) on a new thread; cb(d, arg, ...) on the loop as above.  n
 * (NULL for a node already gone, as in an unload) is marked busy until
 * DONE, hung at TIMEOUT.  what names the call for messages ("effGetChunk").
 * Returns 0, or -1 when no thread could be started (nothing was called). */
int plugin_call(sonod *d, pnode *n, const char *what, plugin_call_fn fn, plugin_call_cb cb,
                void *arg);

/* When the loop no longer runs its callbacks (the save at shutdown): runs
 * fn(arg) on a thread of its own, returned as a handle for
 * plugin_call_join; NULL when no thread could start (nothing was called).
 * Marks nothing on any node. */
typedef struct plugin_wait plugin_wait;
plugin_wait *plugin_call_begin(plugin_call_fn fn, void *arg, void (*release)(void *arg));
/* Waits for that call until `until` (CLOCK_MONOTONIC) and frees w: true
 * when fn returned (arg is the caller's again); false when it is still
 * running: the thread then keeps arg and calls release(arg) if fn ever
 * returns. */
bool plugin_call_join(plugin_wait *w, const struct timespec *until);

/* The deadline in force, in milliseconds. */
unsigned plugin_call_deadline_ms(void);

/* Calls still running (hung ones included). */
unsigned plugin_call_running(void);

#endif
