/* vst_callback_rt.c - the host callback (audioMaster) given to plugins.
 *
 * AUDIO-THREAD CODE.  Plugins call this from their entry function, from
 * dispatcher calls on the control thread, from their own GUI or timer
 * threads, and from inside processReplacing on the audio thread.  So every
 * answer is computed without allocating, locking, waiting, logging or I/O:
 * fixed strings, fields of the instance, atomics, and the preallocated
 * VstTimeInfo and MIDI-out ring.
 *
 * When called on the audio thread the caller is plugin code inside a
 * foreign section (checks off); this is our code again, so the checker is
 * switched back on for the duration of the callback. */
#include <string.h>

#include "daemon/rtcheck/rtcheck.h"
#include "daemon/vst/vst_instance.h"

__thread vst_instance *vst_tls_loading __attribute__((tls_model("initial-exec")));
__thread vst_instance *vst_tls_rt __attribute__((tls_model("initial-exec")));
__thread vst_instance *vst_tls_ctl __attribute__((tls_model("initial-exec")));
__thread VstInt32 vst_tls_ctl_op __attribute__((tls_model("initial-exec")));

#define HOST_NAME "sonod"
#define HOST_VENDOR_VERSION 0x0100

static const char *const can_do_yes[] = {
    "sendVstEvents",
    "sendVstMidiEvent",
    "receiveVstEvents",
    "receiveVstMidiEvent",
    "sendVstTimeInfo",
    "supplyIdle",
};

static const char *const can_do_no[] = {
    "sizeWindow",
    "offline",
    "openFileSelector",
    "closeFileSelector",
    "startStopProcess",
    "supportShell",
    "shellCategory",
    "editFile",
    "acceptIOChanges",
    "reportConnectionChanges",
    "sendVstMidiEventFlagIsRealtime",
};

static VstIntPtr can_do(const char *what)
{
    if (!what)
        return 0;
    for (size_t i = 0; i < sizeof can_do_yes / sizeof can_do_yes[0]; i++)
        if (strcmp(what, can_do_yes[i]) == 0)
            return 1;
    for (size_t i = 0; i < sizeof can_do_no / sizeof can_do_no[0]; i++)
        if (strcmp(what, can_do_no[i]) == 0)
            return -1;
    return 0;
}

/* Copy s into a plugin buffer of the documented 64 bytes. */
static VstIntPtr put_string(void *ptr, const char *s)
{
    if (!ptr)
        return 0;
    size_t n = strlen(s);
    if (n > (size_t)kVstMaxVendorStrLen - 1)
        n = kVstMaxVendorStrLen - 1;
    memcpy(ptr, s, n);
    ((char *)ptr)[n] = '\0';
    return 1;
}

static void automate(vst_instance *inst, int index, float value)
{
    if (!inst || !inst->auto_dirty || index < 0 || index >= inst->auto_params)
        return;
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    atomic_store_explicit(&inst->auto_value[index], bits, memory_order_relaxed);
    atomic_fetch_or_explicit(&inst->auto_dirty[index / 64], (uint64_t)1 << (index % 64),
                             memory_order_release);
}

static void edit_gesture(vst_instance *inst, int index, bool begin)
{
    if (!inst || !inst->editing || index < 0 || index >= inst->auto_params)
        return;
    uint64_t bit = (uint64_t)1 << (index % 64);
    if (begin)
        atomic_fetch_or_explicit(&inst->editing[index / 64], bit, memory_order_relaxed);
    else
        atomic_fetch_and_explicit(&inst->editing[index / 64], ~bit, memory_order_relaxed);
}

/* n bytes into the byte ring r at free-running position pos. */
static void ring_write(spsc_ring *r, size_t pos, const void *src, size_t n)
{
    size_t first = spsc_capacity(r) - (pos & (spsc_capacity(r) - 1));

    if (first > n)
        first = n;
    memcpy(spsc_slot(r, pos), src, first);
    memcpy(spsc_slot(r, pos + first), (const uint8_t *)src + first, n - first);
}

/* A sysex message into the sysex-out ring: its header, then its bytes, in
 * one publish.  -1 when it is empty, too long or does not fit now. */
static int sysex_out(vst_instance *inst, const VstMidiSysexEvent *x)
{
    spsc_ring *r = inst->sysex_out;
    uint8_t head[16];
    int64_t frame = inst->block_frame + x->deltaFrames;
    int32_t delta = x->deltaFrames;
    uint32_t len = x->dumpBytes > 0 ? (uint32_t)x->dumpBytes : 0;
    size_t pos;

    if (r == NULL || len == 0 || len > VST_SYSEX_OUT_MAX || x->sysexDump == NULL ||
        spsc_space(r) < sizeof head + len)
        return -1;
    memcpy(head, &frame, 8);
    memcpy(head + 8, &delta, 4);
    memcpy(head + 12, &len, 4);
    pos = spsc_write_pos(r);
    ring_write(r, pos, head, sizeof head);
    ring_write(r, pos + sizeof head, x->sysexDump, len);
    spsc_publish(r, sizeof head + len);
    return 0;
}

/* MIDI from the plugin.  The rings have one producer, the audio thread, so
 * events sent from any other thread are counted as dropped.  Sysex goes to
 * its own ring (not to the same-cycle sink: routes carry short messages). */
static VstIntPtr midi_out(vst_instance *inst, const VstEvents *evs)
{
    if (!inst || !evs || !inst->midi_out)
        return 0;
    bool producer = (vst_tls_rt == inst);
    for (VstInt32 i = 0; i < evs->numEvents; i++) {
        const VstEvent *e = evs->events[i];
        if (!e)
            continue;
        if (producer && e->type == kVstSysExType) {
            if (sysex_out(inst, (const VstMidiSysexEvent *)e) != 0)
                atomic_fetch_add_explicit(&inst->midi_out_dropped, 1, memory_order_relaxed);
            continue;
        }
        if (!producer || e->type != kVstMidiType) {
            atomic_fetch_add_explicit(&inst->midi_out_dropped, 1, memory_order_relaxed);
            continue;
        }
        const VstMidiEvent *m = (const VstMidiEvent *)e;
        vst_midi_out rec = {0};
        rec.delta = m->deltaFrames;
        rec.frame = inst->block_frame + m->deltaFrames;
        memcpy(rec.data, m->midiData, 3);
        uint8_t status = (uint8_t)m->midiData[0];
        if (status >= 0xF8 || status == 0xF6)
            rec.len = 1;
        else if ((status & 0xF0) == 0xC0 || (status & 0xF0) == 0xD0 || status == 0xF1 ||
                 status == 0xF3)
            rec.len = 2;
        else
            rec.len = 3;
        if (spsc_push(inst->midi_out, &rec) != 0)
            atomic_fetch_add_explicit(&inst->midi_out_dropped, 1, memory_order_relaxed);
        vst_midi_sink *sk = inst->sink;
        if (sk) {
            if (sk->n < sk->cap) {
                vst_midi_out *o = &sk->ev[sk->n++];
                *o = rec;
                o->delta = sk->base + m->deltaFrames;
            } else {
                sk->dropped++;
            }
        }
    }
    return 1;
}

void vst_rt_plugin_automate(vst_instance *inst, int index, float value)
{
    automate(inst, index, value);
}

void vst_rt_plugin_midi_out(vst_instance *inst, const VstEvents *evs)
{
    (void)midi_out(inst, evs);
}

void vst_rt_set_midi_sink(vst_instance *inst, vst_midi_sink *sink)
{
    inst->sink = sink;
}

static VstIntPtr dispatch(vst_instance *inst, VstInt32 opcode, VstInt32 index, VstIntPtr value,
                          void *ptr, float opt)
{
    (void)value;
    switch (opcode) {
    case audioMasterAutomate:
        automate(inst, index, opt);
        return 0;
    case audioMasterVersion:
        return kVstVersion;
    case audioMasterCurrentId:
        return 0;   /* no shell plugin support: no sub-plugin being created */
    case audioMasterIdle:
        return 0;
    case audioMasterWantMidi:
        if (inst)
            atomic_fetch_or_explicit(&inst->notes, VST_NOTE_WANT_MIDI, memory_order_relaxed);
        return 1;
    case audioMasterGetTime:
        /* Filled once per block by vst_rt_set_transport; the requested mask
         * (value) is a hint, unfilled fields are flagged invalid. */
        if (!inst)
            return 0;
        return (VstIntPtr)&inst->time.ti;
    case audioMasterProcessEvents:
        return midi_out(inst, (const VstEvents *)ptr);
    case audioMasterIOChanged:
        if (inst)
            atomic_fetch_or_explicit(&inst->notes, VST_NOTE_IO_CHANGED, memory_order_relaxed);
        return 1;
    case audioMasterSizeWindow:
        return 0;   /* no editor hosting */
    case audioMasterGetSampleRate:
        return inst ? (VstIntPtr)inst->sample_rate : 0;
    case audioMasterGetBlockSize:
        return inst ? (VstIntPtr)inst->max_block : 0;
    case audioMasterGetInputLatency:
    case audioMasterGetOutputLatency:
        return 0;
    case audioMasterGetCurrentProcessLevel:
        if (inst && __atomic_load_n(&inst->offline, __ATOMIC_RELAXED))
            return kVstProcessLevelOffline;
        return vst_tls_rt ? kVstProcessLevelRealtime : kVstProcessLevelUser;
    case audioMasterGetAutomationState:
        return 1;   /* off: no automation recording */
    case audioMasterGetVendorString:
        return put_string(ptr, HOST_NAME);
    case audioMasterGetProductString:
        return put_string(ptr, HOST_NAME);
    case audioMasterGetVendorVersion:
        return HOST_VENDOR_VERSION;
    case audioMasterCanDo:
        return can_do((const char *)ptr);
    case audioMasterGetLanguage:
        return 1;   /* English */
    case audioMasterUpdateDisplay:
        if (inst)
            atomic_fetch_or_explicit(&inst->notes, VST_NOTE_UPDATE_DISPLAY, memory_order_relaxed);
        return 1;
    case audioMasterBeginEdit:
        edit_gesture(inst, index, true);
        return 1;
    case audioMasterEndEdit:
        edit_gesture(inst, index, false);
        return 1;
    default:
        return 0;
    }
}

VstIntPtr vst_host_callback(AEffect *effect, VstInt32 opcode, VstInt32 index, VstIntPtr value,
                            void *ptr, float opt)
{
    bool on_audio_thread = vst_tls_rt != NULL;
    if (on_audio_thread)
        RT_FOREIGN_END();
    VstIntPtr r = dispatch(vst_instance_of(effect), opcode, index, value, ptr, opt);
    if (on_audio_thread)
        RT_FOREIGN_BEGIN();
    return r;
}
