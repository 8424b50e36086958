/* backend.c - picking a backend. */
#include "daemon/backend/backend.h"

#include "daemon/base/log.h"

backend *backend_create(sonod *d, char *err, size_t errlen) {
  backend *b;

  switch (d->opt.backend) {
  case BACKEND_JACK:
    return backend_jack_create(d, err, errlen);
  case BACKEND_NULL:
    return backend_null_create(d);
  case BACKEND_OFFLINE:
    return backend_offline_create(d, err, errlen);
  default:
    b = backend_jack_create(d, err, errlen);
    if (b != NULL)
      return b;
    log_info("no JACK server answered (%s); using the built-in null device", err);
    return backend_null_create(d);
  }
}
