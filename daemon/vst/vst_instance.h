/* vst_instance.h - the private layout of a hosted plugin instance.
 *
 * Shared by the control-side files and the audio-thread (*_rt.c) files of
 * daemon/vst.  Fields are grouped by who writes them; anything both threads
 * touch is atomic. */
#ifndef SONOD_VST_INSTANCE_H
#define SONOD_VST_INSTANCE_H

#include <stdatomic.h>

#include "daemon/vst/vst.h"
#include "daemon/vst/vst2_abi.h"
#include "daemon/queue/spsc.h"

/* Control-owned sysex bytes.  `next` links it into the instance's reclaim
 * stack once the audio thread is done with it. */
struct vst_sysex {
    struct vst_sysex *next;
    size_t len;
    uint8_t data[];
};

/* One queued event.  The VstEvent comes first so that a pointer to the slot
 * is a pointer to the event. */
typedef struct vst_event_slot {
    union {
        VstEvent head;
        VstMidiEvent midi;
        VstMidiSysexEvent sysex;
    } ev;
    struct vst_sysex *owner;   /* sysex to reclaim after the block, or NULL */
} vst_event_slot;

/* Events queued for the next block, in queue order, plus the arrays the
 * audio thread needs to sort and deliver them without allocating. */
struct vst_event_buf {
    unsigned capacity;
    unsigned count;
    vst_event_slot *slots;     /* capacity entries, queue order */
    VstEvent **scratch;        /* capacity pointers, merge sort temporary */
    VstEvents *list;           /* header + capacity pointers, handed to the plugin */
};

struct vst_instance {
    char label[128];        /* who it is in a crash report (vst_set_label) */
    /* Written on the control side only (read by both). */
    AEffect *effect;
    void *dl;
    char *path;
    vst_info info;
    double sample_rate;
    unsigned max_block;
    bool offline;
    bool float_only;
    bool use_double;
    bool running;              /* between resume and suspend */
    int32_t proc_in, proc_out; /* channel counts the buffers are sized for */
    vst_param_info *params;    /* vst_params_prepare: nparams entries, or NULL */
    int nparams;
    int8_t indexed_names;      /* effGetProgramNameIndexed: 1 works, 0 not, -1 untried */

    /* Audio thread, preallocated. */
    vst_event_buf *events;
    float **pin, **pout;       /* pointer arrays handed to processReplacing */
    float *in_buf;             /* proc_in  x max_block */
    float *out_buf;            /* proc_out x max_block */
    double **dpin, **dpout;    /* same for processDoubleReplacing */
    double *din_buf, *dout_buf;
    union {
        VstTimeInfo ti;
        unsigned char bytes[VST2_TIMEINFO_BUFFER];
    } time;
    int64_t block_frame;
    struct vst_midi_sink *sink;   /* same-cycle MIDI out, or NULL (audio thread) */

    /* Shared: written by the host callback or the audio thread, read and
     * reset by the control side. */
    atomic_uint_fast32_t overflow;
    atomic_uint_fast32_t late;
    atomic_uint_fast32_t midi_out_dropped;
    atomic_uint_fast32_t non_finite;   /* blocks whose output had NaN or inf (silenced) */
    atomic_uint notes;
    int auto_params;           /* bits in the bitmaps below */
    unsigned auto_words;
    _Atomic uint64_t *auto_dirty;
    _Atomic uint32_t *auto_value;   /* float bits */
    _Atomic uint64_t *editing;
    spsc_ring *midi_out;            /* of vst_midi_out; producer = audio thread */
    /* Sysex the plugin sent, a byte ring: per message a 16-byte header
     * (int64 frame, int32 delta, uint32 length) and its bytes; producer =
     * audio thread (vst_callback_rt.c), consumer vst_take_sysex_out. */
    spsc_ring *sysex_out;
    _Atomic(struct vst_sysex *) reclaim;
};

/* The instance whose entry function or early dispatcher call is running on
 * this thread: lets the host callback answer plugins that call it with a
 * NULL effect, or before resvd1 is set. */
extern __thread vst_instance *vst_tls_loading __attribute__((tls_model("initial-exec")));

/* The instance whose plugin code the audio thread is running right now
 * (inside a foreign section); NULL elsewhere. */
extern __thread vst_instance *vst_tls_rt __attribute__((tls_model("initial-exec")));
/* The instance and dispatcher opcode of the control-side call this thread
 * is in (vst_dispatch), for vst_crash_where. */
extern __thread vst_instance *vst_tls_ctl __attribute__((tls_model("initial-exec")));
extern __thread VstInt32 vst_tls_ctl_op __attribute__((tls_model("initial-exec")));

/* The host callback handed to every plugin (vst_callback_rt.c). */
VstIntPtr vst_host_callback(AEffect *effect, VstInt32 opcode, VstInt32 index, VstIntPtr value,
                            void *ptr, float opt);

/* What the callback does with a plugin's audioMasterAutomate and
 * audioMasterProcessEvents, for an isolated plugin's reports coming back
 * from its host (vst_remote_rt.c) without the callback's foreign-section
 * switch.  audio (MIDI out: inside the instance's process call) */
void vst_rt_plugin_automate(vst_instance *inst, int index, float value);
void vst_rt_plugin_midi_out(vst_instance *inst, const VstEvents *evs);

/* The instance a callback belongs to: resvd1, else the one loading. */
static inline vst_instance *vst_instance_of(AEffect *effect)
{
    if (effect && effect->resvd1)
        return (vst_instance *)effect->resvd1;
    return vst_tls_loading;
}

/* Control-side dispatcher call. */
static inline VstIntPtr vst_dispatch(vst_instance *inst, VstInt32 op, VstInt32 index,
                                     VstIntPtr value, void *ptr, float opt)
{
    vst_instance *outer = vst_tls_ctl;
    VstInt32 outer_op = vst_tls_ctl_op;
    vst_tls_ctl = inst;
    vst_tls_ctl_op = op;
    VstIntPtr r = inst->effect->dispatcher(inst->effect, op, index, value, ptr, opt);
    vst_tls_ctl = outer;
    vst_tls_ctl_op = outer_op;
    return r;
}


/* Copy a plugin-written string buffer into buf (len bytes), stripping
 * trailing spaces, converting it to UTF-8 (bytes that are not UTF-8 are
 * read as Latin-1), cutting it at a character boundary to fit and making
 * sure it is terminated. */
void vst_copy_string(char *buf, size_t len, const char *src, size_t srclen);

/* Internal: (re)allocate the processing buffers for the current channel
 * counts and max_block (vst_buffers.c). */
int vst_buffers_alloc(vst_instance *inst);
void vst_buffers_free(vst_instance *inst);

/* Internal: a helper program's path: $env, else override, else next to
 * /proc/self/exe (or in its vst/ subdirectory), else libexecdir
 * (vst_scan.c). */
void vst_find_helper(const char *env, const char *override, const char *name, char *buf,
                     size_t len);

/* Internal: the proxy AEffect of an isolated plugin (vst_remote.c). */
AEffect *vst_remote_open(const char *path, const vst_config *cfg, int *rc, char *err);
/* Internal: whether an isolated plugin's last dispatcher call reached its
 * host and came back (VST_OK), else why not; VST_OK for others. */
int vst_remote_last_status(vst_instance *inst);

/* Internal: query the plugin description (vst_info.c). */
void vst_info_query(vst_instance *inst);

/* Internal: free what vst_params_prepare read (vst_param.c). */
void vst_params_free(vst_instance *inst);

#endif
