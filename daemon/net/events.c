/* events.c - who gets which event. */
#include "daemon/net/events.h"

#include "daemon/base/log.h"

#include "daemon/net/client.h"
#include "protocol/wire.h"

static const struct {
  const char *name;
  event_kind kind;
} kinds[] = {
  { "tone", EV_TONE },
  { "backend", EV_BACKEND },
  { "xrun", EV_XRUN },
  { "client", EV_CLIENT },
  { "shutdown", EV_SHUTDOWN },
  { "synth", EV_SYNTH },
  { "csound", EV_CSOUND },
  { "plugin", EV_PLUGIN },
  { "node", EV_NODE },
};

#define NKINDS (sizeof kinds / sizeof kinds[0])

uint32_t event_kind_parse(const msgpack_object *obj) {
  size_t i;

  for (i = 0; i < NKINDS; i++)
    if (sono_str_eq(obj, kinds[i].name))
      return kinds[i].kind;
  return 0;
}

void event_kinds_pack(msgpack_packer *pk, uint32_t mask) {
  uint32_t n = 0;
  size_t i;

  for (i = 0; i < NKINDS; i++)
    if (mask & kinds[i].kind)
      n++;
  msgpack_pack_array(pk, n);
  for (i = 0; i < NKINDS; i++)
    if (mask & kinds[i].kind)
      sono_pack_cstr(pk, kinds[i].name);
}

void events_begin(msgpack_sbuffer *sb, msgpack_packer *pk, const char *kind, uint32_t nfields) {
  sono_msg_begin(sb, pk);
  msgpack_pack_map(pk, nfields + 1);
  sono_pack_key_str(pk, "event", kind);
}

void events_emit(sonod *d, event_kind kind, msgpack_sbuffer *sb) {
  client *c;

  /* No event comes near 16 MiB; one that did would be a bug, said in the
   * log rather than sent as a frame whose length is wrong. */
  if (sono_msg_end(sb) != 0) {
    log_error("an event of %zu bytes is over the frame limit; not sent", sb->size);
    msgpack_sbuffer_destroy(sb);
    return;
  }
  for (c = d->clients; c != NULL; c = c->next)
    if (c->events & kind)
      client_send_event(c, sb);
  msgpack_sbuffer_destroy(sb);
}

void events_client(sonod *d, client *who, const char *action) {
  msgpack_sbuffer sb;
  msgpack_packer pk;

  events_begin(&sb, &pk, "client", 3);
  sono_pack_key_uint(&pk, "client", who->id);
  sono_pack_key_str(&pk, "action", action);
  sono_pack_key_str(&pk, "name", who->name);
  events_emit(d, EV_CLIENT, &sb);
}
