/* plugin_prepare.c - re-preparing loaded plugins for a longer block
 * (JACK grew its period).  Control thread.  See plugin_ctl.h.
 *
 * VST2 wants effMainsChanged(0) -> effSetBlockSize -> effMainsChanged(1)
 * off the audio thread and while the plugin is not processed.  The
 * dispatcher is not thread safe, and every other dispatcher call of a
 * loaded plugin is made on this thread, so doing it here serialises it
 * with them.  The audio thread is kept out by the node's hold/busy flags
 * (rt/nodes.h): it skips a held node.  When JACK stopped its driver for
 * the change (backend_jack_notify.c waits for us) nothing is skipped at all. */
#include <stdio.h>
#include <time.h>

#include "daemon/net/events.h"
#include "daemon/base/log.h"
#include "daemon/modules/plugin_ctl.h"
#include "protocol/wire.h"

/* Sets hold and waits until the audio thread is out of the plugin: at
 * most the rest of one plugin call. */
static void hold(rt_node *rt) {
  const struct timespec pause = { 0, 50000 };

  atomic_store(&rt->hold, true);
  while (atomic_load(&rt->busy))
    nanosleep(&pause, NULL);
}

static void prepared_event(sonod *d, pnode *n, unsigned from, unsigned to, bool ok,
                           const char *msg) {
  msgpack_sbuffer sb;
  msgpack_packer pk;

  events_begin(&sb, &pk, "plugin.prepared", 5);
  sono_pack_key_uint(&pk, "node", n->id);
  sono_pack_key_uint(&pk, "block_size", ok ? to : from);
  sono_pack_key_uint(&pk, "previous", from);
  sono_pack_key_bool(&pk, "ok", ok);
  sono_pack_key_str(&pk, "message", msg);
  events_emit(d, EV_PLUGIN, &sb);
}

unsigned plugin_ctl_reprepare(sonod *d, unsigned block, bool (*in_time)(void *), void *ctx,
                              unsigned *failed) {
  unsigned count = 0;
  pnode *n;

  *failed = 0;
  for (n = plugin_ctl_first(); n != NULL; n = n->next) {
    unsigned from = vst_get_max_block(n->inst);
    char err[VST_ERR_LEN], msg[400];
    bool late = in_time != NULL && !in_time(ctx);
    int rc;

    if (n->removing || from >= block)
      continue;
    hold(n->rt);
    rc = vst_reconfigure(n->inst, 0.0, block, err);
    atomic_store(&n->rt->hold, false);
    if (rc != VST_OK) {
      snprintf(msg, sizeof msg, "could not re-prepare for %u frames (%s); it keeps %u frames and "
               "longer periods are split into calls of that size", block, err, from);
      log_error("plugin: node %u: %s", n->id, msg);
      (*failed)++;
    } else {
      snprintf(msg, sizeof msg, "re-prepared for %u-frame blocks (was %u)%s", block, from,
               late ? ", after JACK restarted: skipped for the cycles it took" : "");
      log_info("plugin: node %u: %s", n->id, msg);
      count++;
    }
    prepared_event(d, n, from, block, rc == VST_OK, msg);
  }
  return count;
}

void plugin_ctl_pack_prepared(msgpack_packer *pk) {
  unsigned k = 0;
  pnode *n;

  for (n = plugin_ctl_first(); n != NULL; n = n->next)
    if (!n->removing)
      k++;
  msgpack_pack_array(pk, k);
  for (n = plugin_ctl_first(); n != NULL; n = n->next) {
    if (n->removing)
      continue;
    msgpack_pack_map(pk, 3);
    sono_pack_key_uint(pk, "node", n->id);
    sono_pack_key_str(pk, "format", n->is_lv2 ? "lv2" : "vst2");
    sono_pack_key_uint(pk, "block_size", vst_get_max_block(n->inst));
  }
}
