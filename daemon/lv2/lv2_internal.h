/* lv2_internal.h - the private layout of a hosted LV2 plugin (daemon/lv2).
 *
 * An LV2 plugin is hosted behind a VST2 AEffect (lv2_effect.c): the VST2
 * layer (daemon/vst) loads, runs, queues MIDI for, polls and unloads it like
 * any VST2 plugin, and the graph, the ops and the session see one kind of
 * node.  This header is shared by the control-side files and the
 * audio-thread file (lv2_process_rt.c); fields are grouped by writer and
 * anything both threads touch is atomic. */
#ifndef SONOD_LV2_INTERNAL_H
#define SONOD_LV2_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <lilv/lilv.h>
#include <lv2/atom/atom.h>
#include <lv2/atom/forge.h>
#include <lv2/log/log.h>
#include <lv2/options/options.h>
#include <lv2/state/state.h>
#include <lv2/urid/urid.h>
#include <lv2/worker/worker.h>

#include "daemon/lv2/lv2.h"
#include "daemon/vst/vst2_abi.h"

enum lv2_port_kind {
    LV2P_AUDIO_IN,
    LV2P_AUDIO_OUT,
    LV2P_CONTROL_IN,
    LV2P_CONTROL_OUT,
    LV2P_ATOM_IN,
    LV2P_ATOM_OUT,
    LV2P_OTHER,          /* optional port of an unknown type: connected to NULL */
};

typedef struct lv2_port {
    uint32_t index;      /* LV2 port index */
    enum lv2_port_kind kind;
    char *symbol;
    char *name;
    char unit[16];       /* units:symbol, "" when none */
    float min, max, def;
    bool integer, toggled, enumeration, logarithmic;
    bool midi;           /* atom port carrying midi:MidiEvent */
    bool time;           /* atom input taking time:Position */
    bool latency;        /* control output reporting latency */
    bool cv;             /* a CV port, hosted as an audio one */
    int group;           /* index into lv2_fx.groups, -1 none (lv2_groups.c) */
    char *designation;   /* lv2:designation's last part ("left", "attack"), or NULL */
    /* Atom ports: their buffer (audio thread). */
    LV2_Atom_Sequence *seq;
    uint32_t seq_cap;    /* bytes after the LV2_Atom header */
} lv2_port;

/* The buffers of the MIDI atom ports (the MIDI input and every MIDI
 * output), in one allocation so they grow together: made on the control
 * side (lv2_reserve_events), installed by the audio thread, handed back
 * through the reclaim stack. */
typedef struct lv2_seqbuf {
    struct lv2_seqbuf *next;
    uint32_t cap;        /* bytes after each sequence's header */
    uint32_t n;          /* sequences: one per entry of lv2_fx.mports */
    LV2_Atom_Sequence *seq[];
} lv2_seqbuf;

#define LV2_PATCH_MAX 4096u      /* the largest patch message either way */

/* A patch:writable or patch:readable property of the plugin, with the
 * value it last reported (control side). */
typedef struct lv2_prop {
    char *uri, *label, *range;
    LV2_URID urid;
    bool writable;
    lv2_value_kind kind;
    char *str;           /* LV2V_STRING: a path, string or URI */
    double num;          /* LV2V_NUMBER, LV2V_BOOL */
    bool changed;        /* reported since lv2_take_property_changes */
} lv2_prop;

/* A port group (pg:group): ports that belong together. */
typedef struct lv2_group {
    char *uri, *symbol, *label;
    char *type;            /* e.g. "StereoGroup", "" */
    const char *direction; /* "input", "output" or "" */
    bool main;             /* pg:mainInput / pg:mainOutput */
} lv2_group;

/* A lock-free single-producer single-consumer byte ring of records
 * {uint32 size, bytes}: the worker's requests and responses. */
typedef struct lv2_ring {
    _Atomic uint32_t head;   /* written by the producer */
    _Atomic uint32_t tail;   /* written by the consumer */
    uint32_t size;           /* power of two */
    uint8_t *buf;
} lv2_ring;

int lv2_ring_init(lv2_ring *r, uint32_t size);
void lv2_ring_free(lv2_ring *r);
/* Whole records only: 0, or -1 when it does not fit (nothing written). */
int lv2_ring_write(lv2_ring *r, const void *data, uint32_t len);
/* Bytes a record may still have (after its header), 0 when none. */
uint32_t lv2_ring_room(lv2_ring *r);
/* Size of the next record, or 0 when empty. */
uint32_t lv2_ring_peek(lv2_ring *r);
/* Copies the next record (at most cap bytes are copied; the record is
 * consumed whole); returns its size. */
uint32_t lv2_ring_read(lv2_ring *r, void *out, uint32_t cap);

struct lv2_fx {
    AEffect fx;                  /* first: the AEffect the VST2 layer holds */
    vst_host_fn host;            /* the VST2 layer's host callback */

    /* Control side, fixed after load. */
    const LilvPlugin *plugin;
    LilvInstance *instance;
    char *uri;
    char *name, *vendor;
    double rate;
    unsigned max_block;          /* told to the plugin (options) */
    bool offline;
    bool active;
    lv2_port *ports;
    uint32_t nports;
    uint32_t *ain, *aout;        /* port numbers (into ports) of audio ports */
    uint32_t nain, naout;
    uint32_t *cin;               /* control inputs: the VST2 parameters */
    uint32_t ncin;
    uint32_t *cout;              /* control outputs */
    uint32_t ncout;
    uint32_t *atin, *atout;      /* atom ports */
    uint32_t natin, natout;
    int32_t midi_port;           /* the atom input MIDI goes to, -1 none */
    bool has_time;               /* an atom input takes time:Position */
    int32_t patch_port;          /* the atom input taking patch:Message, -1 none */
    lv2_group *groups;           /* port groups */
    unsigned ngroups;
    lv2_prop *props;             /* patch:writable properties */
    unsigned nprops;
    lv2_ring patches;            /* control -> audio: patch:Set and patch:Get atoms */
    uint8_t *patch_scratch;      /* audio thread: one message */
    lv2_ring reports;            /* audio -> control: the plugin's patch:Set answers */
    uint8_t *report_scratch;     /* control side: one answer */
    uint32_t *mports;            /* MIDI atom ports (midi_port first if any): midi_buf's */
    uint32_t nmports;
    uint32_t midi_cap;           /* control side: the largest MIDI buffers made */
    LV2_Feature **features;      /* NULL-terminated, for instantiate */
    LV2_Feature **state_features;/* the same without the path features (lilv adds its own) */
    float state_val;             /* a port value lilv copies while saving */
    LV2_Options_Option options[6];
    int32_t opt_rate_i;
    float opt_rate;
    int32_t opt_min, opt_max, opt_nominal, opt_seq;
    LV2_Log_Log log;
    LV2_Worker_Schedule sched;
    LV2_State_Make_Path make_path;
    LV2_State_Map_Path map_path;
    LV2_State_Free_Path free_path;
    char *scratch_dir;           /* makePath's folder, made on first use */
    LV2_Feature f_map, f_unmap, f_opts, f_bounded, f_log, f_sched, f_default, f_make, f_mappath,
        f_freepath;
    /* Presets (programs). */
    LilvNode **presets;
    char **preset_names;
    int npresets;
    _Atomic int program;
    char *chunk;                 /* the last effGetChunk answer */

    /* Values: control inputs' targets (plain units, float bits) written by
     * any thread; the audio thread copies them into the port buffers.
     * Control outputs are published after each run. */
    float *ctl;                  /* one float per port (port buffers), audio thread */
    _Atomic uint32_t *target;    /* per control input */
    _Atomic uint32_t *outval;    /* per control output */
    float *reported;             /* control side: per output, as last taken */

    /* Audio thread. */
    lv2_seqbuf *midi_buf;        /* current buffers of the MIDI ports, or NULL */
    VstEvents *ev;               /* the events effProcessEvents handed over */
    VstEvents *out_list;         /* MIDI out to the host: header + out_cap pointers */
    VstMidiEvent *out_ev;
    uint32_t out_cap;
    double pos_block;            /* transport sample position seen this block */
    uint64_t pos_off;            /* frames run since pos_block was seen */
    bool pos_valid;
    float pos_speed;
    double pos_bpm;
    int32_t pos_num, pos_den;
    uint32_t urid_cache[32];     /* atom/time/midi/patch URIDs, mapped at load */
    LV2_Atom_Forge forge;
    /* An isolated plugin's host, its processing thread: the property
     * messages the daemon sent through the region (lv2_host_message_in),
     * forged there into a ring of their own (the control side writes
     * `patches`), read by the audio thread (the same thread) after
     * `patches`. */
    LV2_Atom_Forge pforge;
    lv2_ring rpatches;

    /* Shared. */
    _Atomic(lv2_seqbuf *) next_midi;   /* control -> audio */
    _Atomic(lv2_seqbuf *) reclaim;     /* audio -> control (stack) */
    atomic_uint_fast32_t overflow;     /* MIDI events that did not fit */
    _Atomic int hold;                  /* control wants the plugin to itself */
    _Atomic int busy;                  /* the audio thread is in it */

    /* The worker (lv2_worker.c), when the plugin has one. */
    const LV2_Worker_Interface *worker;
    lv2_ring requests, responses;
    pthread_t worker_thread;
    bool worker_running;
    _Atomic uint32_t worker_wake;      /* futex word */
    _Atomic int worker_quit;
    pthread_mutex_t worker_lock;       /* work() and response writes, worker side only */
    uint8_t *resp_scratch;             /* audio thread: one response */
    uint8_t *work_scratch;             /* worker thread: one request */
    atomic_uint_fast32_t worker_dropped;
};

/* URIDs cached at load (urid_cache). */
enum {
    U_ATOM_SEQUENCE, U_ATOM_CHUNK, U_ATOM_OBJECT, U_ATOM_FLOAT, U_ATOM_DOUBLE, U_ATOM_INT,
    U_ATOM_LONG, U_MIDI_EVENT, U_TIME_POSITION, U_TIME_FRAME, U_TIME_SPEED, U_TIME_BPM,
    U_TIME_BAR, U_TIME_BARBEAT, U_TIME_BPB, U_TIME_BEATUNIT, U_PATCH_SET, U_PATCH_PROPERTY,
    U_PATCH_VALUE, U_ATOM_URID, U_PATCH_GET, U_ATOM_PATH, U_ATOM_STRING, U_ATOM_URI, U_ATOM_BOOL,
};

/* The world (lv2_world.c): one lilv world for the process, guarded by a
 * mutex (lilv is not thread-safe); the URID map is its own. */
LilvWorld *lv2_world_lock(void);
void lv2_world_unlock(void);
const LilvPlugin *lv2_world_plugin(LilvWorld *w, const char *uri);
/* The roots lv2_set_roots gave, or NULL. */
const struct file_roots *lv2_roots(void);
/* NULL when sonod can host the plugin, else why not (written into why):
 * a required feature it lacks.  World locked. */
const char *lv2_unsupported(LilvWorld *w, const LilvPlugin *p, char *why, size_t len);
/* A vst_info from the plugin's data (no plugin code runs).  World locked. */
void lv2_describe(LilvWorld *w, const LilvPlugin *p, vst_info *info);

/* Port groups and designations (lv2_groups.c).  World locked for load. */
int lv2_groups_load(struct lv2_fx *fx, LilvWorld *w);
void lv2_groups_free(struct lv2_fx *fx);
/* A port's group symbol and designation, "" when none. */
const char *lv2_port_group(const struct lv2_fx *fx, uint32_t port);
const char *lv2_port_designation(const struct lv2_fx *fx, uint32_t port);

/* patch:Set (lv2_patch.c).  World locked for load; describe reads the
 * properties only (an isolated plugin's description in the daemon). */
int lv2_patch_load(struct lv2_fx *fx, LilvWorld *w);
int lv2_patch_describe(struct lv2_fx *fx, LilvWorld *w);
void lv2_patch_free(struct lv2_fx *fx);
/* Audio thread: the plugin's patch:Set messages on its atom outputs
 * (answers to patch:Get, or values it changed itself) into `reports`. */
void lv2_rt_take_reports(struct lv2_fx *fx);

/* The URIDs of urid_cache and the audio thread's forge (lv2_effect.c). */
void lv2_map_urids(struct lv2_fx *fx);

/* The worker (lv2_worker.c). */
int lv2_worker_start(struct lv2_fx *fx, char *err);
void lv2_worker_stop(struct lv2_fx *fx);
LV2_Worker_Status lv2_worker_schedule(LV2_Worker_Schedule_Handle h, uint32_t size,
                                      const void *data);

/* State and presets (lv2_state.c).  The caller holds the plugin
 * (lv2_hold). */
int lv2_presets_load(struct lv2_fx *fx, LilvWorld *w);
void lv2_presets_free(struct lv2_fx *fx);
int lv2_preset_apply(struct lv2_fx *fx, int index);
VstIntPtr lv2_chunk_get(struct lv2_fx *fx, void **out);
VstIntPtr lv2_chunk_set(struct lv2_fx *fx, const void *data, size_t len);
void lv2_path_features(struct lv2_fx *fx);
void lv2_path_cleanup(struct lv2_fx *fx);

/* Keeps the audio thread out of the plugin (it gives silence meanwhile)
 * for a control-side call that must not run concurrently with run(). */
void lv2_hold(struct lv2_fx *fx);
void lv2_release(struct lv2_fx *fx);

/* Normalised 0..1 <-> plain value of a control port.  any */
static inline float lv2_to_plain(const lv2_port *p, float norm)
{
    float v = p->min + norm * (p->max - p->min);
    if (p->integer || p->toggled || p->enumeration)
        v = (float)(long)(v + (v >= 0.0f ? 0.5f : -0.5f));
    return v;
}

static inline float lv2_to_norm(const lv2_port *p, float plain)
{
    if (!(p->max > p->min))
        return 0.0f;
    float n = (plain - p->min) / (p->max - p->min);
    return n < 0.0f ? 0.0f : n > 1.0f ? 1.0f : n;
}

/* Float values in atomics (float bits).  any */
static inline float lv2_load_f(_Atomic uint32_t *a)
{
    uint32_t bits = atomic_load_explicit(a, memory_order_relaxed);
    float f;
    __builtin_memcpy(&f, &bits, sizeof f);
    return f;
}

static inline void lv2_store_f(_Atomic uint32_t *a, float f)
{
    uint32_t bits;
    __builtin_memcpy(&bits, &f, sizeof bits);
    atomic_store_explicit(a, bits, memory_order_relaxed);
}

/* The audio-thread entry points of the AEffect (lv2_process_rt.c). */
void lv2_rt_process(AEffect *e, float **in, float **out, VstInt32 n);
void lv2_rt_set_param(AEffect *e, VstInt32 index, float value);
float lv2_rt_get_param(AEffect *e, VstInt32 index);
void lv2_rt_events(struct lv2_fx *fx, VstEvents *ev);

/* The struct lv2_fx an AEffect belongs to. */
static inline struct lv2_fx *lv2_fx_of(AEffect *e) { return (struct lv2_fx *)e; }

#endif
