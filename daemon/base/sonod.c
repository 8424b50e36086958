/* sonod.c - the two calls on the daemon as a whole that any layer makes.
 * See sonod.h. */
#include "daemon/base/sonod.h"

uint64_t sonod_now_ns(void) {
  return uv_hrtime();
}

void sonod_shutdown(sonod *d, const char *reason) {
  if (d->on_shutdown != NULL)
    d->on_shutdown(d, reason);
}
