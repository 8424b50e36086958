/* plugin_ctl.h - the control side of plugin nodes: the registry of loaded
 * plugins (node id -> instance), loading and unloading, MIDI batches and
 * event-buffer growth, and the messages the audio thread sends back about
 * them.  Control thread only. */
#ifndef SONOD_PLUGIN_CTL_H
#define SONOD_PLUGIN_CTL_H

#include <stdbool.h>
#include <stdint.h>

#include <msgpack.h>

#include "daemon/net/client.h"
#include "daemon/rt/nodes.h"
#include "daemon/lv2/lv2.h"
#include "daemon/backend/backend.h"
#include "daemon/base/sonod.h"

/* What the session file keeps of a plugin (plugin_state.c): its program,
 * every parameter and its state, read on the plugin-call thread with the
 * deadline (plugin_ctl_snapshot) at each save, and kept on the node, so a
 * node that cannot be asked at a save (hung, or answering a request) is
 * written with what it last told. */
typedef struct plugin_snapshot {
  int program;             /* -1: none */
  float *params;
  int nparams;
  void *state;             /* NULL: the plugin gave none */
  size_t state_len;
  vst_state_kind kind;
} plugin_snapshot;

/* Reads inst's program, parameters and state into a new snapshot: on the
 * plugin-call thread (it calls plugin code).  NULL when out of memory. */
plugin_snapshot *plugin_ctl_snapshot(vst_instance *inst);
void plugin_snapshot_free(plugin_snapshot *s);

typedef struct pnode {
  struct pnode *next;
  uint32_t id;
  vst_instance *inst;
  rt_node *rt;
  char *path;              /* VST2: the file; LV2: the plugin's URI */
  lv2_fx *lv2;             /* the LV2 plugin behind inst, NULL for VST2 and isolated LV2 */
  bool is_lv2;             /* an LV2 plugin, in the daemon or isolated */
  lv2_fx *lv2_ports;       /* isolated LV2: its ports described (lv2_describe_ports), or NULL */
  bool removing;           /* unload sent; the audio thread still has it */
  uint64_t outstanding;    /* MIDI events sent and not yet reported done */
  unsigned evcap;          /* capacity of the event buffer installed */
  /* plugin.state.set in pieces: the state being gathered (plugin_ctl_piece). */
  unsigned char *pieces;
  size_t pieces_len;       /* bytes gathered, all from offset 0 on */
  size_t pieces_total;     /* the whole state's size */
  uint32_t pieces_client;  /* the client sending it */
  bool isolated;           /* runs in a sonod-plugin-host process */
  bool crashed;            /* isolated and its host died: silent until plugin.restart */
  struct uv_poll_s *watch; /* isolated: the host's pidfd */
  uint64_t missed;         /* isolated: blocks silent for a missed deadline, in all */
  const char *busy;        /* a call into it runs off the loop (plugin_call.c): which */
  const char *hung;        /* the call that missed its deadline: the node is unusable */
  const char *killed_for;  /* isolated: the call whose deadline killed its host */
  plugin_snapshot *saved;  /* its state at the last save that could ask it; NULL before */
  /* Re-preparing for a longer period (plugin_prepare.c). */
  unsigned block;          /* the block size it is prepared with, as the loop knows it */
  bool prep_wanted;        /* to re-prepare once the call running in it ends */
  struct prep_job *prep;   /* its re-prepare call, running (or hung) */
} pnode;

/* Points the library at sonod-vst-scan: $SONOD_VST_SCAN, else the usual
 * places, else the build tree's copy (SONOD_VST_SCAN_BUILD). */
void plugin_ctl_scanner(void);

/* Scans (child process, killed after timeout_ms; 0 for the library's
 * 10 s) and loads path off the control thread: the scan and the load run
 * in libuv's thread pool (loads one at a time), then the node is handed to
 * the audio thread and cb runs on the control thread with it, or with node
 * NULL and a protocol error code and message.  Returns -1 (with code and
 * message, cb never called) when the load cannot even start.  During
 * shutdown cb is not called: the finished instance is unloaded, and the
 * loop waits for loads in flight.  While plugins are loaded a timer polls
 * them and sends plugin.* events (EV_PLUGIN). */
typedef void (*plugin_ctl_load_cb)(sonod *d, void *ud, const char *path, pnode *node,
                                   const char *code, const char *err);
int plugin_ctl_load_async(sonod *d, const char *path, unsigned timeout_ms, plugin_ctl_load_cb cb,
                          void *ud, const char **code, char *err, size_t errlen);
/* The same with isolation chosen: 1 in a host process, 0 in the daemon,
 * -1 the configured default (isolate-plugins, and its group).  group (not
 * NULL: isolated) names the host group: one host process for all its
 * plugins, which crash together (vst_config.host_group).  An isolated node whose
 * host dies is marked crashed (plugin.crashed event; it gives silence, the
 * graph plays on); a host that misses its deadline gives silence for the
 * block, reported by the poll as plugin.error code "deadline". */
int plugin_ctl_load_iso(sonod *d, const char *path, unsigned timeout_ms, int isolate,
                        const char *group, plugin_ctl_load_cb cb, void *ud, const char **code,
                        char *err, size_t errlen);
/* plugin.restart: whether n can be restarted (an isolated node that
 * crashed); -1 with code and message when not.  The restart itself
 * (vst_isolated_restart) runs off the loop with a deadline (plugin_call);
 * plugin_ctl_restarted then watches the new host, and, when `running`,
 * marks the node running again (false: it came back after its deadline
 * had it killed). */
int plugin_ctl_restart_check(const pnode *n, const char **code, char *err, size_t errlen);
void plugin_ctl_restarted(sonod *d, pnode *n, bool running);
/* "running" or "crashed" (in-process nodes are always running). */
const char *plugin_ctl_state(const pnode *n);
/* A node by id, NULL if none or being unloaded. */
pnode *plugin_ctl_find(uint32_t id);
pnode *plugin_ctl_first(void);
/* A fresh node id from the plugins' sequence (gain nodes share it). */
uint32_t plugin_ctl_take_id(void);
/* Makes sure the node's event buffer holds `more` events beyond those in
 * flight, sending a bigger one to the audio thread if not; then counts
 * them as in flight.  -1 when the queue to the audio thread is full. */
int plugin_ctl_reserve_events(sonod *d, pnode *n, uint64_t more);
void plugin_ctl_unreserve_events(pnode *n, uint64_t count);

/* Frees a batch (and any sysex it still owns).  */
void plugin_ctl_batch_free(rt_midi_batch *b);

/* Re-prepares every loaded plugin whose block size is below `block`
 * (effMainsChanged(0), effSetBlockSize, effMainsChanged(1)), each on a
 * plugin-call thread with the deadline (plugin_call.c), keeping the audio
 * thread out of it meanwhile (plugin_prepare.c), and sends a
 * plugin.prepared event for each.  A node busy with another call is
 * re-prepared after it; a hung one is not called.  in_time(ctx), when
 * given, says whether JACK is still waiting (its driver stopped): only for
 * the message.  Returns at once; done(d, arg, prepared, failed) runs once
 * every node has been answered for (re-prepared; failed, past its deadline
 * or hung: those keep their size and longer periods are split; unloaded).
 * One at a time (the backend's requests are). */
void plugin_ctl_reprepare(sonod *d, unsigned block, bool (*in_time)(void *), void *ctx,
                          reprepare_done_fn done, void *arg);
/* plugin_call.c: a call into n has ended (or passed its deadline); a
 * re-prepare waiting for it may go. */
void plugin_prepare_idle(sonod *d, pnode *n);
/* node_free: n goes; a re-prepare waiting for it or running in it lets
 * go of it.  True when that call keeps n->rt (it may still use it; it
 * frees it once it has returned). */
bool plugin_prepare_forget(sonod *d, pnode *n);
/* Closes an instance whose node is gone (effClose off the loop, with the
 * deadline; plugin_ctl.c). */
void plugin_ctl_close_instance(sonod *d, vst_instance *inst);
/* status: [{node, block_size}] of every loaded plugin. */
void plugin_ctl_pack_prepared(msgpack_packer *pk);

/* plugin.state.set in pieces (PROTOCOL.md): a piece of `len` bytes at
 * `offset` of a state of `total` bytes, from client.  A piece at offset 0
 * starts over; the others must follow on where the last one ended, from
 * the same client, with the same total.  Every state being gathered counts
 * against PLUGIN_PIECES_MAX bytes in all.  Returns 0 with *received set
 * (and *whole pointing at the whole state once received == total: apply
 * it, then plugin_ctl_pieces_drop), or -1 with a protocol error code and a
 * message. */
#define PLUGIN_PIECES_MAX (256u * 1024u * 1024u)
int plugin_ctl_piece(pnode *n, uint32_t client, uint64_t offset, uint64_t total, const void *data,
                     size_t len, size_t *received, const unsigned char **whole, const char **code,
                     char *err, size_t errlen);
void plugin_ctl_pieces_drop(pnode *n);

/* Its hooks into the engine (engine/module.h); main registers it. */
extern const struct engine_module plugin_ctl_module;

#endif
