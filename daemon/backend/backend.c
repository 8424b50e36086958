/* backend.c - picking a backend, and the `backend` event. */
#include "daemon/backend/backend.h"

#include "daemon/base/log.h"
#include "daemon/net/events.h"
#include "protocol/wire.h"

static backend *create(sonod *d, char *err, size_t errlen) {
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
    /* A first run without JACK: say that nothing will be heard, and how to
     * get sound. */
    log_warn("no JACK server answered (%s): running on the built-in null device, which keeps "
             "time but is SILENT. For sound, start a JACK server (jackd -d alsa), or run sonod "
             "under PipeWire's JACK (pw-jack sonod), then start sonod again", err);
    return backend_null_create(d);
  }
}

backend *backend_create(sonod *d, const backend_hooks *hooks, char *err, size_t errlen) {
  backend *b = create(d, err, errlen);

  if (b != NULL)
    b->hooks = hooks;
  return b;
}

void backend_event(sonod *d, const char *state, const char *message) {
  msgpack_sbuffer sb;
  msgpack_packer pk;

  events_begin(&sb, &pk, "backend", 3);
  sono_pack_key_str(&pk, "backend", d->be ? d->be->ops->name : "none");
  sono_pack_key_str(&pk, "state", state);
  sono_pack_key_str(&pk, "message", message);
  events_emit(d, EV_BACKEND, &sb);
}
