/* vst.h - sonod's VST2 host library (the public API).
 *
 * Two threads use an instance, and every function below belongs to exactly
 * one of them:
 *
 *   control  the thread that loads, queries, configures and unloads plugins
 *            (the libuv loop or a worker of it).  May allocate, lock, do I/O.
 *            Control functions on one instance must not run concurrently
 *            with each other (serialise them per instance).
 *
 *   rt       the audio thread.  Functions named vst_rt_* never allocate,
 *            free, lock, wait, log or do I/O; everything they touch was
 *            prepared on the control side.  They must not run concurrently
 *            with each other for the same instance.
 *
 *   any      pure helpers with no shared state.
 *
 * Lifecycle: vst_load (control) returns a resumed, ready instance; hand the
 * pointer to the audio thread; every block call vst_rt_set_transport, queue
 * events with vst_rt_queue_*, then vst_rt_process; unlink the pointer on the
 * audio thread, then vst_unload (control).  See README.md for the details. */
#ifndef SONOD_VST_VST_H
#define SONOD_VST_VST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VST_ERR_LEN 256   /* size of every error buffer ("char *err") */
#define VST_STR_LEN 256   /* size of every name buffer */

/* Error codes.  Functions return 0 on success or one of these (negative)
 * and write a sentence into err when err is not NULL. */
typedef enum vst_status {
    VST_OK = 0,
    VST_E_NOT_FOUND = -1,      /* no file at the path */
    VST_E_NOT_SO = -2,         /* not a shared object (no ELF header) */
    VST_E_DLOPEN = -3,         /* an ELF file the dynamic loader refused */
    VST_E_NO_ENTRY = -4,       /* neither VSTPluginMain nor main exported */
    VST_E_NULL_EFFECT = -5,    /* entry function returned NULL */
    VST_E_BAD_MAGIC = -6,      /* AEffect.magic is not 'VstP' */
    VST_E_NO_REPLACING = -7,   /* plugin offers no processReplacing */
    VST_E_CRASHED = -8,        /* scan child died on a signal */
    VST_E_TIMEOUT = -9,        /* scan child hung and was killed */
    VST_E_SCANNER = -10,       /* scanner binary missing or spoke nonsense */
    VST_E_PARAM_INDEX = -11,   /* parameter index out of range */
    VST_E_PARAM_NAME = -12,    /* no parameter with that name */
    VST_E_PARAM_VALUE = -13,   /* value outside 0..1 or not a number */
    VST_E_PROGRAM = -14,       /* program index out of range */
    VST_E_STATE = -15,         /* state blob rejected */
    VST_E_FULL = -16,          /* event buffer full (rt) */
    VST_E_MIDI = -17,          /* malformed MIDI message or time */
    VST_E_BLOCK = -18,         /* block larger than the configured maximum */
    VST_E_NOMEM = -19,
    VST_E_INVALID = -20,       /* bad argument */
    VST_E_DENIED = -21,        /* outside the plugin paths (vst_set_roots) */
    VST_E_UNSUPPORTED = -22,   /* the plugin needs something the host lacks */
} vst_status;

/* Crash reports.  vst_set_label names the instance in them ("node 3
 * (/usr/lib/vst/x.so)"; control side).  vst_crash_where says which
 * instance this thread was calling into and which call: processing audio,
 * or the dispatcher opcode (its name when known, else its number); for a
 * signal handler, async-signal-safe (it only reads).  Returns 0, site
 * untouched, when the thread was in no plugin call. */
struct vst_instance;
typedef struct vst_crash_site {
    const char *label;     /* the instance's label */
    bool audio;            /* in its process call */
    const char *op_name;   /* else the opcode's name, or NULL: */
    int opcode;            /* its number */
} vst_crash_site;
void vst_set_label(struct vst_instance *inst, const char *label);
int vst_crash_where(vst_crash_site *site);

/* A stable short name for a status ("not_found", "bad_magic", ...), suitable
 * as a protocol error code suffix.  any */
const char *vst_status_name(int status);

/* Write a formatted error message (at most VST_ERR_LEN bytes) into err
 * when err is not NULL; returns status.  For the library and the formats
 * hosted behind it (daemon/lv2).  any */
int vst_fail(char *err, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ------------------------------------------------------------------ */
/* Plugin description (filled at load, or by a scan).                  */

typedef struct vst_info {
    char name[VST_STR_LEN];     /* effGetEffectName, else the file name */
    char vendor[VST_STR_LEN];
    char product[VST_STR_LEN];
    int32_t unique_id;          /* four-character code, e.g. 'amsy' */
    char unique_id_str[5];      /* printable form of unique_id ('?' for odd bytes) */
    int32_t version;            /* AEffect.version */
    int32_t vendor_version;     /* effGetVendorVersion */
    int32_t vst_version;        /* effGetVstVersion (2400 for 2.4) */
    int32_t category;           /* kPlugCateg* from vst2_abi.h */
    int32_t num_inputs;
    int32_t num_outputs;
    int32_t num_params;
    int32_t num_programs;
    int32_t latency;            /* AEffect.initialDelay, samples */
    int32_t flags;              /* AEffect.flags (effFlags*) */
    bool is_synth;              /* effFlagsIsSynth */
    bool has_editor;
    bool has_chunks;            /* effFlagsProgramChunks */
    bool can_double;            /* effFlagsCanDoubleReplacing */
} vst_info;

/* Name of a kPlugCateg* value ("effect", "synth", ...).  any */
const char *vst_category_name(int32_t category);

/* ------------------------------------------------------------------ */
/* Loading (control).                                                  */

typedef struct vst_instance vst_instance;

/* The host callback (audioMasterCallback of vst2_abi.h), for openers. */
struct AEffect;
typedef intptr_t (*vst_host_fn)(struct AEffect *effect, int32_t opcode, int32_t index,
                                intptr_t value, void *ptr, float opt);

typedef struct vst_config {
    double sample_rate;          /* default 48000 */
    unsigned max_block;          /* largest nframes for vst_rt_process; default 1024 */
    unsigned event_capacity;     /* initial MIDI events per block; default 1024 */
    unsigned midi_out_capacity;  /* MIDI-out ring records (rounded to 2^n); default 1024 */
    bool offline;                /* answer kVstProcessLevelOffline instead of realtime */
    bool float_only;             /* never use processDoubleReplacing */
    /* Isolation (vst_remote.c): run the plugin in a sonod-plugin-host
     * process; the audio thread waits for it at most deadline_us per call
     * (0: one block's duration, 2 s offline), its processing thread runs
     * SCHED_FIFO at rt_priority when > 0 and allowed.  A control call the
     * host does not answer within call_timeout_ms (0: 10 s) kills it; the
     * load itself gets 10 s. */
    bool isolate;
    /* With isolate: the host group.  NULL or "": a host of its own; a
     * name: the one host process of every isolated instance opened with
     * that name (started by the first, ended with the last).  They crash
     * together: any one's crash, or a call past its time, kills the host,
     * and each instance is then restarted on its own (the first restart
     * starts a new host for the group, the others join it). */
    const char *host_group;
    unsigned deadline_us;
    int rt_priority;
    unsigned call_timeout_ms;
    /* Another plugin format behind the VST2 ABI (daemon/lv2): when set,
     * vst_load takes its AEffect from open_effect(open_ctx, path, cfg, &rc,
     * err) instead of dlopen; path is then a name (an LV2 URI), not a file,
     * and is neither confined nor checked here (the opener does that).
     * NULL with rc and err set is a refusal.  With isolate too, the
     * plugin host process opens it instead, with the opener its program
     * gives vst_host_main, handed path and open_arg (a string the format
     * needs there; LV2: where its world reads bundles). */
    struct AEffect *(*open_effect)(void *ctx, const char *path, const struct vst_config *cfg,
                                   vst_host_fn host, int *rc, char *err);
    void *open_ctx;
    const char *open_arg;
} vst_config;

/* Isolated instances (cfg.isolate).  A host that dies makes its pidfd
 * readable: call vst_isolated_reap, which marks the instance dead (its
 * process calls give silence); vst_isolated_restart starts a new host with
 * the last state seen (the last chunk got or set, else every parameter
 * value seen).  vst_take_missed counts process calls the host did not
 * finish by the deadline (silence).  control */
bool vst_is_isolated(const vst_instance *inst);
int vst_isolated_pidfd(const vst_instance *inst);
bool vst_isolated_alive(const vst_instance *inst);
bool vst_isolated_reap(vst_instance *inst, int *wstatus);
/* SIGKILLs the host through its pidfd, without waiting for anything: safe
 * from any thread while another one is inside a call to the host (which
 * then fails at once); the pidfd then becomes readable as for a crash.
 * any */
void vst_isolated_kill(const vst_instance *inst);
int vst_isolated_restart(vst_instance *inst, char *err);
/* The instance's host group, NULL for a host of its own (or in process). */
const char *vst_isolated_group(const vst_instance *inst);
/* The pid of the instance's host process, 0 when none runs. */
long vst_isolated_host_pid(const vst_instance *inst);
uint32_t vst_take_missed(vst_instance *inst);
/* An isolated instance's control output values as its host last sent them
 * (LV2 control outputs; VST2 has none), up to max; the count.  control */
unsigned vst_isolated_outputs(const vst_instance *inst, float *out, unsigned max);
/* Messages of another format (LV2's property messages) to and from an
 * isolated instance's plugin, through its shared region: no call to the
 * host, nothing waited for.  send: the host hands it to the plugin before
 * its next process call; VST_OK, VST_E_FULL (the ring holds messages the
 * host has not taken yet), VST_E_INVALID (longer than a message may be,
 * VST_ISOLATED_MSG_MAX bytes, or the instance is not isolated).
 * receive: the next message the host sent back into out (its length, 0
 * when none; one longer than cap is dropped).  Each from one thread at a
 * time.  control */
#define VST_ISOLATED_MSG_MAX 8192u
int vst_isolated_send(const vst_instance *inst, const void *msg, uint32_t len, char *err);
uint32_t vst_isolated_receive(const vst_instance *inst, void *out, uint32_t cap);

/* Fill cfg with the defaults above.  any */
void vst_config_init(vst_config *cfg);

/* dlopen the plugin, run its entry function, initialise it (sample rate,
 * block size, effOpen, precision, effMainsChanged(1), effStartProcess) and
 * preallocate everything the audio thread needs.  The plugin code runs in
 * this process: call vst_scan first for paths not known to be safe.
 * cfg may be NULL for defaults.  control */
int vst_load(const char *path, const vst_config *cfg, vst_instance **out, char *err);

/* effStopProcess, effMainsChanged(0), effClose, dlclose, free.  The audio
 * thread must no longer reference the instance.  NULL is ignored.  control */
void vst_unload(vst_instance *inst);

/* Change sample rate and/or max block (0 keeps the current one and is not
 * sent again): suspends (effStopProcess, effMainsChanged(0)), sends the new
 * values (effSetSampleRate, effSetBlockSize), re-reads the channel counts
 * and latency, reallocates the buffers, resumes.  On failure the old block
 * size stays.  No vst_rt_* call may run on the instance meanwhile.  control */
int vst_reconfigure(vst_instance *inst, double sample_rate, unsigned max_block, char *err);

/* Switch the process level the plugin is told (audioMasterGetCurrent-
 * ProcessLevel): offline (JACK freewheel, rendering) or realtime.  Takes
 * effect at the plugin's next question.  any */
void vst_set_offline(vst_instance *inst, bool offline);

/* The description read at load (refreshed by vst_refresh_info).  control */
const vst_info *vst_get_info(const vst_instance *inst);

/* Re-read latency and the other fields that may change after load (after a
 * VST_NOTE_IO_CHANGED notification).  Returns 1 when the plugin's channel
 * counts differ from the ones being processed (vst_reconfigure needed), 0
 * otherwise.  control */
int vst_refresh_info(vst_instance *inst);

const char *vst_get_path(const vst_instance *inst);      /* control */
double vst_get_sample_rate(const vst_instance *inst);    /* control */
unsigned vst_get_max_block(const vst_instance *inst);    /* control */
bool vst_uses_double(const vst_instance *inst);          /* control */
/* The largest nframes vst_rt_process takes now: a caller with a longer
 * block splits it.  rt */
unsigned vst_rt_max_block(const vst_instance *inst);

/* The raw descriptor, for diagnostics and tests.  control */
struct AEffect *vst_get_effect(vst_instance *inst);

/* ------------------------------------------------------------------ */
/* Parameters (control unless marked rt).  Values are normalised 0..1.  */

int vst_param_count(const vst_instance *inst);

/* What a parameter is, read once (vst_params_prepare) and kept: strings
 * are UTF-8 (a plugin's Latin-1 bytes converted), trailing spaces cut.
 *   name        unique among the plugin's parameters and stable for the
 *               instance: the long name (effGetParameterProperties' label,
 *               else effGetParamName, else "Parameter <index>"); a name
 *               already taken (ignoring case) by a lower index gets " #2",
 *               " #3", ... (the first free one), so every parameter can be
 *               reached by name.
 *   short_name  what effGetParamName answers (an internal id for LSP, the
 *               name cut to 15 bytes for DPF); may repeat or be empty.
 * The rest comes from effGetParameterProperties (all false/0/NULL when the
 * plugin does not answer it), each value only when its flag says the
 * plugin gives it:
 *   is_switch   kVstParameterIsSwitch: on/off
 *   min, max    has_range (UsesIntegerMinMax): the integer range the
 *               plugin maps 0..1 to
 *   step, small_step, large_step      has_step (UsesFloatStep), normalised
 *   int_step, int_large_step          has_int_step (UsesIntStep)
 *   category    SupportsDisplayCategory: its category's label, else NULL
 * automatable: effCanBeAutomated said yes. */
typedef struct vst_param_info {
    const char *name;
    const char *short_name;
    const char *category;
    bool has_properties;       /* effGetParameterProperties answered */
    bool automatable;
    bool is_switch, has_range, has_step, has_int_step;
    int32_t flags;             /* the kVstParameter* bits as given */
    int32_t min, max, int_step, int_large_step;
    float step, small_step, large_step;
} vst_param_info;

/* Reads every parameter's description (a few dispatcher calls each) unless
 * done already; the functions below call it when needed.  Call it right
 * after vst_load on a worker to keep the first request quick.  control */
int vst_params_prepare(vst_instance *inst, char *err);
/* The description of parameter index, or NULL when out of range. */
const vst_param_info *vst_param_info_get(vst_instance *inst, int index);

/* The unique name (vst_param_info.name). */
int vst_param_name(vst_instance *inst, int index, char *buf, size_t len, char *err);
/* Asked of the plugin at each call: the unit (effGetParamLabel: "dB") and
 * the text for the current value (effGetParamDisplay). */
int vst_param_label(vst_instance *inst, int index, char *buf, size_t len, char *err);
int vst_param_display(vst_instance *inst, int index, char *buf, size_t len, char *err);
int vst_param_get(vst_instance *inst, int index, float *value, char *err);
/* Sets now, from the control thread (VST2 allows setParameter from a
 * non-audio thread).  A value outside 0..1 is VST_E_PARAM_VALUE. */
int vst_param_set(vst_instance *inst, int index, float value, char *err);
/* Index of the parameter called `name`: its unique name, else its short
 * name (the lowest index having it), each exactly first, then ignoring
 * case.  Returns the index (>= 0) or VST_E_PARAM_NAME. */
int vst_param_find(vst_instance *inst, const char *name, char *err);
/* Validation only: what vst_rt_set_param would accept.  any */
int vst_param_check(const vst_instance *inst, int index, float value, char *err);

/* rt: setParameter at the start of the current block (the caller splits
 * blocks for sample-exact parameter changes).  Returns VST_OK,
 * VST_E_PARAM_INDEX or VST_E_PARAM_VALUE (nothing is called then). */
int vst_rt_set_param(vst_instance *inst, int index, float value);

/* ------------------------------------------------------------------ */
/* Programs and state (control).                                       */

int vst_program_count(const vst_instance *inst);
/* Name of program index: effGetProgramNameIndexed when the plugin answers
 * it (known, perhaps empty); otherwise the current program's
 * effGetProgramName (known when not empty), and for the others an empty
 * name that is not known: the plugin is never switched to another program
 * to read its name.  *known (may be NULL) says which. */
int vst_program_name(vst_instance *inst, int index, char *buf, size_t len, bool *known,
                     char *err);
/* Whether the plugin answers effGetProgramNameIndexed (asked once, of
 * program 0): when not, only the current program's name can be known. */
bool vst_program_names_indexed(vst_instance *inst);
int vst_program_get(vst_instance *inst);
int vst_program_set(vst_instance *inst, int index, char *err);

typedef enum vst_state_kind {
    VST_STATE_CHUNK = 1,   /* the plugin's own chunk (effGetChunk, bank) */
    VST_STATE_PARAMS = 2,  /* sonod parameter snapshot, see README.md */
} vst_state_kind;

/* The plugin's whole state as a malloc'd copy (free() it).  Plugins with
 * effFlagsProgramChunks give their chunk; others a parameter snapshot. */
int vst_state_get(vst_instance *inst, void **data, size_t *len, vst_state_kind *kind, char *err);
/* Restore a blob from vst_state_get of the same plugin. */
int vst_state_set(vst_instance *inst, const void *data, size_t len, char *err);

/* ------------------------------------------------------------------ */
/* MIDI in.                                                            */

/* A short MIDI message (1-3 bytes), fixed size so it fits into a timed
 * event record.  The builders return a message with len 0 when an
 * argument is out of range (channel 0..15, data 0..127, bend 0..16383).
 * any */
typedef struct vst_midi_msg {
    uint8_t len;
    uint8_t data[3];
} vst_midi_msg;

vst_midi_msg vst_midi_note_on(int channel, int key, int velocity);
vst_midi_msg vst_midi_note_off(int channel, int key, int velocity);
vst_midi_msg vst_midi_cc(int channel, int controller, int value);
vst_midi_msg vst_midi_program_change(int channel, int program);
vst_midi_msg vst_midi_pitch_bend(int channel, int value14);  /* 8192 = centre */
vst_midi_msg vst_midi_poly_aftertouch(int channel, int key, int pressure);
vst_midi_msg vst_midi_channel_aftertouch(int channel, int pressure);
/* 1-3 raw bytes; the first must be a status byte (>= 0x80, not 0xF0/0xF7),
 * the others data bytes. */
vst_midi_msg vst_midi_raw(const uint8_t *bytes, size_t len);

/* A sysex message in control-owned memory.  Create it on the control side,
 * pass the pointer through the timed event; once queued the instance owns
 * it and returns it via vst_reclaim (control), which frees it. */
typedef struct vst_sysex vst_sysex;
/* data must start with 0xF0 and end with 0xF7.  control */
vst_sysex *vst_sysex_new(const uint8_t *data, size_t len, char *err);
void vst_sysex_free(vst_sysex *sx);   /* control; only if never queued */

/* rt: queue an event for the next vst_rt_process; delta is its sample
 * offset in that block (0 <= delta < max_block).  Events are delivered
 * sorted by delta, in queue order among equal deltas.  When the buffer is
 * full the event is not queued, VST_E_FULL is returned and the overflow
 * counter is incremented (vst_take_overflow).  A refused sysex stays owned
 * by the caller. */
int vst_rt_queue_midi(vst_instance *inst, int32_t delta, vst_midi_msg msg);
int vst_rt_queue_sysex(vst_instance *inst, int32_t delta, vst_sysex *sx);

/* The per-block event buffer, growable without touching the audio thread's
 * allocator: create a bigger one on the control side, hand it over,
 * vst_rt_swap_events moves the pending events into it and returns the
 * buffer that is no longer used, which goes back to the control side for
 * vst_event_buf_free.  If the new buffer is too small for the events
 * already pending it is not installed and is itself returned. */
typedef struct vst_event_buf vst_event_buf;
vst_event_buf *vst_event_buf_new(unsigned capacity);            /* control */
void vst_event_buf_free(vst_event_buf *buf);                    /* control */
unsigned vst_event_buf_capacity(const vst_event_buf *buf);      /* any */
vst_event_buf *vst_rt_swap_events(vst_instance *inst, vst_event_buf *bigger);  /* rt */
unsigned vst_rt_event_capacity(const vst_instance *inst);       /* rt */
unsigned vst_rt_events_pending(const vst_instance *inst);       /* rt */

/* Number of events refused for lack of space since the last call, and
 * reset.  Non-zero means events were lost: report an error.  control */
uint32_t vst_take_overflow(vst_instance *inst);
/* Number of events whose delta was >= the block's nframes and which were
 * moved to its last frame, since the last call.  control */
uint32_t vst_take_late(vst_instance *inst);
/* Process calls whose output had NaN or infinite samples since the last
 * call: vst_rt_process writes those samples as 0, so one plugin cannot
 * poison the mix of every other (an isolated plugin's host counts them
 * and they come back with the block). */
uint32_t vst_take_non_finite(vst_instance *inst);

/* ------------------------------------------------------------------ */
/* Processing (rt).                                                    */

typedef struct vst_transport {
    int64_t frame;          /* engine frame of the block's first sample */
    double sample_pos;      /* song position in samples */
    double tempo;           /* BPM; <= 0 means unknown */
    double ppq_pos;         /* quarter notes since song start */
    double bar_start_ppq;   /* ppq of the current bar's start */
    int32_t time_sig_num;   /* 0 means unknown */
    int32_t time_sig_den;
    bool playing;
    bool changed;           /* transport jumped or started/stopped */
} vst_transport;

/* rt: update the VstTimeInfo answered to audioMasterGetTime for the next
 * block.  Call once per block before vst_rt_process. */
void vst_rt_set_transport(vst_instance *inst, const vst_transport *t);

/* rt: deliver the queued events (effProcessEvents, sorted), then run
 * processReplacing (or processDoubleReplacing, converting through
 * preallocated buffers).  nframes <= max_block.  Channel mapping when nin or
 * nout differ from the plugin's counts (README.md):
 *   inputs:  equal counts map 1:1; one host input feeds every plugin input;
 *            a mono plugin gets the mean of several host inputs; otherwise
 *            plugin input i gets host input i, silence when absent.
 *   outputs: equal counts map 1:1; a mono plugin output is copied to every
 *            host output; one host output gets the mean of several plugin
 *            outputs; otherwise host output j gets plugin output j, silence
 *            when absent, extra plugin outputs are dropped.
 * in may be NULL when nin is 0.  Input and output buffers may alias.
 * Returns VST_OK, or VST_E_BLOCK (outputs silenced, events kept). */
int vst_rt_process(vst_instance *inst, const float *const *in, unsigned nin,
                   float *const *out, unsigned nout, unsigned nframes);

/* ------------------------------------------------------------------ */
/* What the plugin told us (control, polled; written lock-free by the
 * host callback on whatever thread the plugin calls it from).          */

/* audioMasterAutomate, coalesced: each changed parameter appears once with
 * its latest value.  Returns how many entries were written (<= max); call
 * again until it returns less than max. */
typedef struct vst_param_change {
    int index;
    float value;
} vst_param_change;
unsigned vst_take_param_changes(vst_instance *inst, vst_param_change *out, unsigned max);

/* audioMasterBeginEdit/EndEdit: is a gesture in progress on this param. */
bool vst_param_editing(vst_instance *inst, int index);

/* One-shot notifications, returned as a bit set and cleared. */
enum {
    VST_NOTE_IO_CHANGED = 1 << 0,      /* audioMasterIOChanged */
    VST_NOTE_UPDATE_DISPLAY = 1 << 1,  /* audioMasterUpdateDisplay */
    VST_NOTE_WANT_MIDI = 1 << 2,       /* audioMasterWantMidi */
};
unsigned vst_take_notifications(vst_instance *inst);

/* MIDI the plugin sent (audioMasterProcessEvents from its process call). */
typedef struct vst_midi_out {
    int64_t frame;       /* transport frame of the block + deltaFrames */
    int32_t delta;
    uint8_t len;         /* 1-3 (sysex: vst_take_sysex_out) */
    uint8_t data[3];
} vst_midi_out;
/* Pops up to max events; returns the number popped. */
unsigned vst_take_midi_out(vst_instance *inst, vst_midi_out *out, unsigned max);
/* Sysex the plugin sent from its process call, up to VST_SYSEX_OUT_MAX
 * bytes a message (longer ones are dropped, counted), in a ring of twice
 * that.  Pops the next message into buf and returns its length, its
 * engine frame in *frame and its deltaFrames in *delta; 0 when there is
 * none; more than cap (nothing popped) when it does not fit in buf. */
#define VST_SYSEX_OUT_MAX 65536
size_t vst_take_sysex_out(vst_instance *inst, int64_t *frame, int32_t *delta, uint8_t *buf,
                          size_t cap);
/* MIDI-out events lost (ring full, sysex too long, or sent from a
 * non-audio thread) since the last call. */
uint32_t vst_take_midi_out_dropped(vst_instance *inst);

/* Same-cycle MIDI out [audio]: while a sink is set, every short MIDI
 * message the plugin sends during its process call is also appended to it,
 * delta = sink->base + deltaFrames (the host sets base to the offset of the
 * process call inside its own block), besides going to the ring above.
 * Events past cap are counted in sink->dropped.  The host owns the sink and
 * empties it (n = 0) when it wants. */
typedef struct vst_midi_sink {
    vst_midi_out *ev;
    unsigned cap, n;
    unsigned dropped;
    int32_t base;
} vst_midi_sink;
void vst_rt_set_midi_sink(vst_instance *inst, vst_midi_sink *sink);

/* Free sysex messages the audio thread has finished with.  Call regularly
 * (e.g. with the other polls).  Returns how many were freed. */
unsigned vst_reclaim(vst_instance *inst);

/* ------------------------------------------------------------------ */
/* Scanning: load in a child process so a crash or hang cannot hurt us.  */

/* Path of the sonod-vst-scan binary: $SONOD_VST_SCAN if set, else the
 * explicit path given to vst_scan_set_binary, else "sonod-vst-scan" next to
 * /proc/self/exe, else the installed libexec copy.  control */
void vst_scan_set_binary(const char *path);   /* NULL restores the default */
const char *vst_scan_binary(void);

/* Scan one plugin: spawn the scanner, wait at most timeout_ms (0 = 10 s),
 * kill it on timeout.  Results (successes and load errors, not timeouts or
 * spawn failures) are cached in memory by path, mtime and size.  The
 * scanner's own load error is returned with its code and message.
 * Thread-safe (the cache has its own lock).  control */
int vst_scan(const char *path, unsigned timeout_ms, vst_info *info, char *err);

/* Confinement: when set, vst_scan, vst_load and vst_scan_dir accept only
 * plugin files that resolve (realpath: symlinks and `..` followed) inside
 * these directories, checked before the scanner child runs anything;
 * anything else is VST_E_DENIED with the same message whether the file
 * exists or not.  vst_scan_dir(NULL) walks these directories, and a walk
 * passes over what leads outside them without a word.  NULL (the
 * default) confines nothing.  Set once at start; r must outlive its use. */
struct file_roots;
void vst_set_roots(const struct file_roots *r);
/* path resolved inside the plugin roots into real (path as given when
 * nothing is confined), or VST_E_DENIED with err set.  any */
int vst_confine(const char *path, char *real, size_t reallen, char *err);
/* Whether roots are in force, and which.  any */
bool vst_confined(void);
const struct file_roots *vst_roots(void);
void vst_scan_cache_clear(void);
/* Save/load the cache as a text file (optional persistence). */
int vst_scan_cache_save(const char *file, char *err);
int vst_scan_cache_load(const char *file, char *err);

/* Scan every *.so under dir (recursively, symlinks resolved, each file
 * once).  dir NULL scans the standard paths (vst_standard_paths).  The
 * callback gets every candidate: status 0 with info, or an error.
 * Returns the number of candidates.  control */
typedef void (*vst_scan_cb)(void *ud, const char *path, int status, const vst_info *info,
                            const char *err);
int vst_scan_dir(const char *dir, unsigned timeout_ms, vst_scan_cb cb, void *ud);

/* The standard search path as a colon-separated list written into buf:
 * $VST_PATH and $LXVST_PATH when either is set (they replace the
 * defaults), else ~/.vst:~/.lxvst:/usr/local/lib/vst:/usr/local/lib/lxvst:
 * /usr/lib/vst:/usr/lib/lxvst.  control */
void vst_standard_paths(char *buf, size_t len);

/* The line format spoken between the scanner and vst_scan (README.md).
 * any */
void vst_info_write(int fd, const vst_info *info);
int vst_info_parse(const char *text, vst_info *info, int *status, char *err);

#endif
