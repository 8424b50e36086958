/* lv2.h - sonod's LV2 host library (the public API).
 *
 * An LV2 plugin is loaded through lilv and presented to the VST2 layer as
 * an AEffect: vst_load with cfg.open_effect = lv2_open_effect and the
 * plugin's URI as the path gives a vst_instance on which every vst_* call
 * works (parameters = control input ports, normalised 0..1 over the port's
 * range; programs = presets; chunk = the plugin's state as Turtle; MIDI in
 * and out = atom sequence ports; the transport = time:Position objects).
 * The functions here add what only LV2 has.  Threads as in vst.h:
 * control, rt, any. */
#ifndef SONOD_LV2_LV2_H
#define SONOD_LV2_LV2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lv2/urid/urid.h>

#include "daemon/vst/vst.h"

struct AEffect;
struct file_roots;
typedef struct lv2_fx lv2_fx;

/* Whether target names an LV2 plugin rather than a VST2 file: a URI (a
 * scheme such as http: or urn:, not a path) or a folder (an LV2 bundle,
 * usually *.lv2).  any */
bool lv2_is_target(const char *target);

/* Confinement: when set, bundles are read only from these folders (the
 * world's LV2_PATH is made of them), and a bundle path must resolve inside
 * them.  Set once at start, before any other call.  NULL (the default):
 * LV2_PATH or lilv's defaults, and a bundle anywhere. */
void lv2_set_roots(const struct file_roots *r);

/* The LV2 plugin path searched: the roots when confined, else LV2_PATH
 * or ~/.lv2:/usr/local/lib/lv2:/usr/lib/lv2.  The standard folders, for
 * the confinement's defaults. */
extern const char *const lv2_standard_dirs[];

/* target (a URI, or a bundle folder holding one plugin) -> the plugin's
 * URI.  VST_E_NOT_FOUND (no such plugin), VST_E_DENIED (bundle outside the
 * roots), VST_E_INVALID (a bundle with several plugins: name one by URI).
 * control (any thread; the world has a lock). */
int lv2_resolve(const char *target, char *uri, size_t len, char *err);

/* Isolation (an LV2 plugin in sonod-plugin-host, vst_config.open_arg):
 * what the host needs to see the world the daemon sees (its LV2 path when
 * confined, the plugin's bundle), malloc'd, or NULL.  control */
char *lv2_isolate_arg(const char *uri);
/* In the host, before the first load: makes its world from that. */
int lv2_host_prepare(const char *arg, char *err);

/* Sessions (lv2_files.c): the files a state names kept with the session
 * file at session_path.  to: each file inside the session's folder is
 * written as a URI relative to it; one outside it and outside the LV2
 * path is copied into "<session_path>.files/node-<node>/" first (an
 * up-to-date copy from an earlier save is reused) and written relative
 * too.  from: relative URIs are read against the session's folder, so a
 * moved folder restores.  *out is malloc'd.  control */
int lv2_state_to_session(const char *state, size_t len, const char *session_path,
                         unsigned node, char **out, size_t *out_len, char *err);
int lv2_state_from_session(const char *state, size_t len, const char *session_path, char **out,
                           size_t *out_len, char *err);

/* The process's URID map (and unmap), shared by every plugin: mapping a
 * new URI takes a mutex, looking up a known one takes no lock.  any */
LV2_URID_Map *lv2_urid_map(void);
LV2_URID_Unmap *lv2_urid_unmap(void);

/* The vst_config.open_effect of LV2 plugins: path is the URI.  Checks the
 * required features (VST_E_UNSUPPORTED names the first missing one; a
 * port of a type sonod does not host likewise), instantiates at cfg->sample_rate
 * with cfg->max_block as the bounded block length, allocates every
 * buffer, starts the worker.  control */
struct AEffect *lv2_open_effect(void *ctx, const char *path, const vst_config *cfg,
                                vst_host_fn host, int *rc, char *err);

/* The ports of the plugin with this URI, from its data alone (no plugin
 * code runs): for an isolated plugin, whose instance lives in its host.
 * Only the port calls below (parameters, symbols, groups, audio ports,
 * outputs and properties as their host reports them) work on it; lv2_param_get_info's value is the default.  Free with
 * lv2_describe_free.  control */
lv2_fx *lv2_describe_ports(const char *uri, char *err);
void lv2_describe_free(lv2_fx *fx);
/* Parameter index's value in its port's units for normalised 0..1. */
float lv2_param_plain(const lv2_fx *fx, int index, float norm);

/* The LV2 plugin behind an AEffect, or NULL for a VST2 plugin.  any */
lv2_fx *lv2_of(struct AEffect *e);
const char *lv2_uri(const lv2_fx *fx);

/* Control ports.  Index i of the parameters is the i-th control input
 * port; outputs are numbered apart.  control */
typedef struct lv2_param_info {
    const char *symbol;
    const char *name;
    const char *unit;       /* "" when none */
    float min, max, def;
    float value;            /* plain (in the port's units) */
    bool integer, toggled, enumeration, logarithmic;
    const char *group;      /* its port group's symbol, "" when none */
    const char *designation;/* lv2:designation's last part ("attack"), "" when none */
} lv2_param_info;
int lv2_param_count(const lv2_fx *fx);
int lv2_param_get_info(lv2_fx *fx, int index, lv2_param_info *out);
/* The input with this symbol, or -1. */
int lv2_param_by_symbol(const lv2_fx *fx, const char *symbol);
/* plain value -> normalised 0..1 for vst_param_set / vst_rt_set_param;
 * VST_E_PARAM_VALUE when outside the port's range. */
int lv2_param_normalise(const lv2_fx *fx, int index, double plain, float *norm);
int lv2_output_count(const lv2_fx *fx);
int lv2_output_get_info(lv2_fx *fx, int index, lv2_param_info *out);
int lv2_output_by_symbol(const lv2_fx *fx, const char *symbol);

/* Port groups (pg:group): ports that belong together, e.g. a stereo
 * output ("out", StereoGroup, output, main) or the envelope controls.
 * control */
typedef struct lv2_group_info {
    const char *uri, *symbol, *label;
    const char *type;       /* the group's class, e.g. "StereoGroup"; "" */
    const char *direction;  /* "input", "output" or "" */
    bool main;              /* the plugin's main input or output */
} lv2_group_info;
int lv2_group_count(const lv2_fx *fx);
int lv2_group_get(const lv2_fx *fx, int i, lv2_group_info *out);
/* Audio port k of the inputs or outputs (the graph's in_<k+1> or
 * out_<k+1>, CV ports among them in port order): its symbol, name, group
 * and designation ("left"). */
typedef struct lv2_audio_info {
    const char *symbol, *name, *group, *designation;
    bool cv;                /* a CV port (control values at audio rate) */
} lv2_audio_info;
int lv2_audio_get_info(const lv2_fx *fx, bool output, int k, lv2_audio_info *out);

/* Properties (patch:writable parameters that are not control ports: a
 * file, a number, a string), set with patch:Set at the next block.
 * str is the value for a Path, String or URI range (num for the numeric
 * ranges); VST_E_PARAM_VALUE when it does not fit the range, VST_E_FULL
 * when too many wait.  A path should be confined first (lv2_confine or the
 * file roots).  control */
typedef enum lv2_value_kind { LV2V_NONE, LV2V_STRING, LV2V_NUMBER, LV2V_BOOL } lv2_value_kind;
typedef struct lv2_property {
    const char *uri, *label, *range;   /* range: an atom type URI, or "" */
    bool writable;                     /* patch:writable (else only patch:readable) */
    /* The value the plugin last reported (patch:Set on its output): none
     * until it reports one; str for a path, string or URI, num else. */
    lv2_value_kind kind;
    const char *str;
    double num;
} lv2_property;
int lv2_property_count(const lv2_fx *fx);
int lv2_property_get(const lv2_fx *fx, int i, lv2_property *out);
int lv2_property_find(const lv2_fx *fx, const char *uri);
/* VST_E_PARAM_VALUE also for a property that is only readable. */
int lv2_patch_set(lv2_fx *fx, int i, const char *str, double num, char *err);
/* patch:Get: asks the plugin for the property's value (i -1: every
 * property), at the next block; its answer arrives on its output and is
 * read by lv2_take_property_changes.  Sent for every property at load
 * and after a state or preset is restored.  control */
int lv2_patch_get(lv2_fx *fx, int i, char *err);
/* Reads what the plugin reported since the last call (patch:Set messages
 * on its atom outputs) into the properties' values; the properties whose
 * value it reported, each once (up to max).  control */
unsigned lv2_take_property_changes(lv2_fx *fx, int *out, unsigned max);
/* An isolated plugin's properties cross the process boundary as
 * messages of LV2's own (no URIDs: each process has its map), through the
 * VST2 layer's region rings (vst_isolated_send and _receive, the host
 * format's message_in and message_out); each side's half is bounded and
 * allocates nothing on the threads that run the plugin.
 * lv2_patch_message (daemon, control): property i's change, checked as
 * lv2_patch_set checks it (the same errors), as a message for the host
 * into out (cap bytes): its length in *len.
 * lv2_host_message_in (host, processing thread, before a call): the
 * change as patch:Set and a patch:Get for it, for the plugin's next run;
 * 0, or -1 when its queue is full now (the message waits).
 * lv2_host_message_out (host, processing thread, after a call): the next
 * value the plugin reported (patch:Set on its output) as a message, when
 * it fits cap: its length, 0 when none or it waits.
 * lv2_property_message (daemon, control): stores such a value into the
 * node's description (lv2_describe_ports), where lv2_property_get and
 * lv2_take_property_changes find it. */
int lv2_patch_message(lv2_fx *fx, int i, const char *str, double num, void *out, uint32_t cap,
                      uint32_t *len, char *err);
int lv2_host_message_in(struct AEffect *e, const void *msg, uint32_t len);
uint32_t lv2_host_message_out(struct AEffect *e, void *out, uint32_t cap);
void lv2_property_message(lv2_fx *fx, const void *msg, uint32_t len);
/* path resolved inside the LV2 path's folders (when confined), as for
 * bundles.  any */
int lv2_confine(const char *path, char *real, size_t len, char *err);

/* Control outputs that changed since the last call (compared with what
 * the last call returned): up to max, each once with its latest value.
 * control */
typedef struct lv2_output_change {
    int index;
    float value;
} lv2_output_change;
unsigned lv2_take_output_changes(lv2_fx *fx, lv2_output_change *out, unsigned max);

/* An isolated plugin's control outputs cross the process boundary as
 * values: lv2_output_values reads them in the host process after each
 * call (up to max, the count; the plugin's AEffect; any thread, reads
 * only), lv2_output_store puts one into the daemon's description of the
 * node (lv2_describe_ports), where lv2_output_get_info and
 * lv2_take_output_changes find it.  control */
unsigned lv2_output_values(struct AEffect *e, float *out, unsigned max);
void lv2_output_store(lv2_fx *fx, unsigned index, float value);

/* The no-cap MIDI promise: make the MIDI-in buffer hold `events` short
 * messages per block (a bigger buffer goes to the audio thread by
 * pointer; the old one comes back to lv2_reclaim).  control */
int lv2_reserve_events(lv2_fx *fx, unsigned events);
unsigned lv2_reclaim(lv2_fx *fx);
/* MIDI events that did not fit into the atom buffer; requests the worker
 * ring refused.  Since the last call.  control */
uint32_t lv2_take_overflow(lv2_fx *fx);
uint32_t lv2_take_worker_dropped(lv2_fx *fx);
/* Whether the plugin has a worker (work:interface). */
bool lv2_has_worker(const lv2_fx *fx);

/* Scan: every plugin of the world, with what a VST2 scan gives (name,
 * vendor, audio ports as inputs/outputs, control inputs as params, presets
 * as programs, is_synth for instruments), or the reason it cannot load
 * here (unsupported features).  No plugin code runs: lilv reads only the
 * bundles' data.  control */
typedef void (*lv2_scan_cb)(void *ud, const char *uri, const char *bundle, int status,
                            const vst_info *info, const char *err);
unsigned lv2_scan(lv2_scan_cb cb, void *ud);

#endif
