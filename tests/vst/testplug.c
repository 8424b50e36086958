/* testplug.c - a small VST2 plugin, written against sonod's own
 * daemon/vst/vst2_abi.h, that records what its host does.
 *
 * Compiled several times with different macros (tests/vst/meson.build):
 *   TP_MODE      0 normal, 1 wrong magic, 2 NULL effect, 3 crash (SIGSEGV)
 *                in the entry function, 4 hang in the entry function
 *   TP_DOUBLE    1: offer processDoubleReplacing (full-size AEffect); else
 *                allocate only the 128-byte core like VeSTige plugins do
 *   TP_MAIN_ONLY 1: export the entry only as "main" (like DPF plugins)
 *   TP_IN/TP_OUT channel counts (default 2/2)
 *   TP_CHUNK_BYTES  program chunks of that size (effGetChunk), and any chunk
 *                   effSetChunk gives is kept and given back
 *   TP_LATIN1    1: its name, parameter 0's label, parameter 1's name and
 *                program 1's name in Latin-1, not UTF-8 (and with TP_PROPS
 *                parameter 0's category)
 *   TP_PROPS     1: answers effGetParameterProperties: long names "Drive",
 *                "Drive", "drive" (repeats, for the host to tell apart),
 *                parameter 0 an integer range -24..24 in category "Stage",
 *                1 float steps 0.01/0.1, 2 a switch with integer steps 1/1
 *   TP_CRASH_AFTER  N > 0: SIGSEGV in processReplacing after N calls
 *   TP_SLEEP_AFTER  N > 0: from call N on, processReplacing sleeps
 *                   TP_SLEEP_MS (default 300) ms first
 *   TP_HANG_CLOSE, TP_HANG_CHUNK  N: sleep N seconds in effClose, or in
 *                effGetChunk (and offer chunks): a plugin that hangs there
 *   TP_CRASH_CHUNK 1: crash (SIGSEGV) in effGetChunk (and offer chunks);
 *                2: a real fault there instead, SIGBUS: a page of a
 *                memfd ("testplug-bus") mapped past the file's end
 *   TP_HANG_PROGRAM N: sleep N seconds in effSetProgram
 *   TP_HANG_DISPLAY N: sleep N seconds in effGetParamDisplay
 *   TP_HANG_BLOCK N: sleep N seconds in effSetBlockSize when it grows the
 *                block size it was given before (a re-prepare, not the load)
 *   TP_SLOW_CHUNK_MS N: effGetChunk takes N ms and gives a 4-byte chunk:
 *                how many dispatcher calls came in meanwhile (uint32 LE), on
 *                other threads: a host that broke the one-call-at-a-time rule
 *   TP_SYSEX_OUT 1: sysex is heard (sysex_value below) and echoed as
 *                sysex out (its first 16 bytes)
 *   TP_NAN_AFTER N > 0: from call N on, every output sample is NaN, but
 *                for the first of each block: +infinity
 *   TP_PROBE_OUT 1: outputs the song position and whether denormals flush
 *
 * Audio: out[c] = in[c mod TP_IN] * 2 * param0, plus for every note-on an
 * impulse of velocity/127 at the event's deltaFrames on every output.
 *
 * Dispatcher calls are logged as letters (per instance and globally):
 *   R setSampleRate, K setBlockSize, O open, P setProcessPrecision,
 *   M mainsChanged(1), m mainsChanged(0), S startProcess, s stopProcess,
 *   C close. */
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "daemon/vst/vst2_abi.h"
#include "tests/vst/testplug.h"

#ifndef TP_MODE
#define TP_MODE 0
#endif
#ifndef TP_DOUBLE
#define TP_DOUBLE 0
#endif
#ifndef TP_MAIN_ONLY
#define TP_MAIN_ONLY 0
#endif
#ifndef TP_IN
#define TP_IN 2
#endif
#ifndef TP_OUT
#define TP_OUT 2
#endif
/* TP_TIME_OUT 1: outputs 2 and 3 carry what audioMasterGetTime said, for
 * tests that can only listen: out[1] = tempo / 1000, negated when not
 * playing; out[2] = ppqPos / 1000 at the block's start. */
#ifndef TP_TIME_OUT
#define TP_TIME_OUT 0
#endif
/* TP_BLOCK_OUT 1: every output carries K + (frame mod 1000) / 1000, K the
 * block size effSetBlockSize last gave and frame counting every frame ever
 * processed, for tests that can only listen: K shows what the plugin was
 * prepared with, the fraction that no frame was lost or repeated.  A call
 * that breaks the contract gives -1 (more frames than the block size) or
 * -2 (processed while suspended). */
/* TP_CHUNK_BYTES > 0: program chunks of that many bytes (effGetChunk),
 * byte i being i mod 251, for state larger than a frame; effSetChunk keeps
 * a copy of the chunk it is given (any size), which effGetChunk then
 * returns, so a round trip shows every byte arrived. */
#ifndef TP_LATIN1
#define TP_LATIN1 0
#endif
#ifndef TP_PROPS
#define TP_PROPS 0
#endif
#ifndef TP_CHUNK_BYTES
#define TP_CHUNK_BYTES 0
#endif
#ifndef TP_BLOCK_OUT
#define TP_BLOCK_OUT 0
#endif
#ifndef TP_SYSEX_OUT
#define TP_SYSEX_OUT 0
#endif
/* TP_NAN 1: output 1 is all NaN, the others all +infinity. */
#ifndef TP_NAN
#define TP_NAN 0
#endif

/* TP_PROBE_OUT 1: output 1 carries the samplePos audioMasterGetTime gave
 * this call plus the frame's offset in it; output 2 is 0.5 exactly when
 * the thread running the call flushes denormals (FTZ), more otherwise. */
#ifndef TP_PROBE_OUT
#define TP_PROBE_OUT 0
#endif

#ifndef TP_CRASH_AFTER
#define TP_CRASH_AFTER 0
#endif
#ifndef TP_SLEEP_AFTER
#define TP_SLEEP_AFTER 0
#endif
#ifndef TP_SLEEP_MS
#define TP_SLEEP_MS 300
#endif
#ifndef TP_NAN_AFTER
#define TP_NAN_AFTER 0
#endif

#define EXPORT __attribute__((visibility("default")))

typedef struct plug {
    AEffect *e;
    audioMasterCallback host;
    float params[TP_NUM_PARAMS];
    int program;
    int block_events;   /* events for the coming process call */
    unsigned char *chunk;
    size_t chunk_len;
    int resumed;        /* between effMainsChanged(1) and (0) */
    unsigned long long frames;   /* frames processed since load */
    VstMidiEvent echo[8];
    VstMidiSysexEvent sx_echo[8];
    char sx_bytes[8][16];
    struct {
        VstInt32 numEvents;
        VstIntPtr reserved;
        VstEvent *events[16];
    } echo_list;
    tp_stats st;
} plug;

static char global_log[256];

EXPORT const char *testplug_global_log(void) { return global_log; }
EXPORT void testplug_global_log_reset(void) { global_log[0] = '\0'; }

static plug *plug_of(AEffect *e) { return (plug *)e->object; }

EXPORT tp_stats *testplug_stats(AEffect *e) { return &plug_of(e)->st; }

static void log_call(plug *p, char c)
{
    size_t n = strlen(p->st.calls);
    if (n + 1 < sizeof p->st.calls) {
        p->st.calls[n] = c;
        p->st.calls[n + 1] = '\0';
    }
    n = strlen(global_log);
    if (n + 1 < sizeof global_log) {
        global_log[n] = c;
        global_log[n + 1] = '\0';
    }
}

static const char *const param_names[TP_NUM_PARAMS] = {
    "Gain", TP_LATIN1 ? "\xc9" "cho" : "Echo", "A Parameter With A Very Long Name Indeed",
};
static const char *const program_names[TP_NUM_PROGRAMS] = {
    "Init", TP_LATIN1 ? "Cl\xe4r" : "Bright", "Dark", "Long",
};

#if TP_PROPS
static VstIntPtr properties(VstInt32 index, VstParameterProperties *pp)
{
    static const char *const labels[TP_NUM_PARAMS] = {"Drive", "Drive", "drive"};
    if (index < 0 || index >= TP_NUM_PARAMS)
        return 0;
    strcpy(pp->label, labels[index]);
    if (index == 0) {
        pp->flags = kVstParameterUsesIntegerMinMax | kVstParameterSupportsDisplayCategory;
        pp->minInteger = -24;
        pp->maxInteger = 24;
        strcpy(pp->categoryLabel, TP_LATIN1 ? "\xc9tage" : "Stage");
        pp->category = 1;
        pp->numParametersInCategory = 1;
    } else if (index == 1) {
        pp->flags = kVstParameterUsesFloatStep;
        pp->stepFloat = 0.01f;
        pp->smallStepFloat = 0.001f;
        pp->largeStepFloat = 0.1f;
    } else {
        pp->flags = kVstParameterIsSwitch | kVstParameterUsesIntStep;
        pp->stepInteger = 1;
        pp->largeStepInteger = 1;
    }
    return 1;
}
#endif

static void set_parameter(AEffect *e, VstInt32 index, float value)
{
    plug *p = plug_of(e);
    if (index < 0 || index >= TP_NUM_PARAMS)
        return;
    p->params[index] = value;
    if (index == 1) {
        /* "Echo" moves Gain too and tells the host, as a GUI would. */
        p->params[0] = value;
        p->host(e, audioMasterAutomate, 0, 0, NULL, value);
    } else if (index == 2) {
        p->host(e, value > 0.5f ? audioMasterBeginEdit : audioMasterEndEdit, 2, 0, NULL, 0.0f);
    }
}

static float get_parameter(AEffect *e, VstInt32 index)
{
    plug *p = plug_of(e);
    if (index < 0 || index >= TP_NUM_PARAMS)
        return 0.0f;
    return p->params[index];
}

static void record_events(plug *p, const VstEvents *evs)
{
    p->st.events_calls++;
    p->st.nevents = 0;
    for (VstInt32 i = 0; i < evs->numEvents && i < TP_MAX_EVENTS; i++) {
        const VstEvent *ev = evs->events[i];
        tp_event *r = &p->st.events[p->st.nevents++];
        memset(r, 0, sizeof *r);
        r->type = ev->type;
        r->delta = ev->deltaFrames;
        if (ev->type == kVstMidiType) {
            memcpy(r->data, ((const VstMidiEvent *)ev)->midiData, 4);
        } else if (ev->type == kVstSysExType) {
            const VstMidiSysexEvent *sx = (const VstMidiSysexEvent *)ev;
            r->sysex_len = sx->dumpBytes;
            memcpy(r->sysex, sx->sysexDump,
                   (size_t)(sx->dumpBytes < 16 ? sx->dumpBytes : 16));
        }
    }
    p->block_events = p->st.nevents;
}

static void ask_time(plug *p)
{
    AEffect *e = p->e;
    p->st.process_level = p->host(e, audioMasterGetCurrentProcessLevel, 0, 0, NULL, 0.0f);
    const VstTimeInfo *ti =
        (const VstTimeInfo *)p->host(e, audioMasterGetTime, 0, 0xff00, NULL, 0.0f);
    p->st.have_time = ti != NULL;
    if (!ti)
        return;
    p->st.time_sample_pos = ti->samplePos;
    if (p->st.ntime_log >= 0 && p->st.ntime_log < TP_TIME_LOG)
        p->st.time_log[p->st.ntime_log++] = ti->samplePos;
    p->st.time_sample_rate = ti->sampleRate;
    p->st.time_tempo = ti->tempo;
    p->st.time_ppq = ti->ppqPos;
    p->st.time_bar = ti->barStartPos;
    p->st.time_num = ti->timeSigNumerator;
    p->st.time_den = ti->timeSigDenominator;
    p->st.time_flags = ti->flags;
}

/* Echo up to 8 note-ons of the block, an octave up, as MIDI out; with
 * TP_SYSEX_OUT its sysex messages too (up to 16 bytes each), at their
 * frames. */
static void echo_notes(plug *p)
{
    if (p->block_events > 8)
        return;
    int n = 0;
    for (int i = 0; i < p->block_events; i++) {
        const tp_event *r = &p->st.events[i];
        if (TP_SYSEX_OUT && r->type == kVstSysExType && r->sysex_len > 0) {
            VstMidiSysexEvent *x = &p->sx_echo[i];
            int len = r->sysex_len < 16 ? r->sysex_len : 16;
            memset(x, 0, sizeof *x);
            memcpy(p->sx_bytes[i], r->sysex, (size_t)len);
            x->type = kVstSysExType;
            x->byteSize = sizeof *x;
            x->deltaFrames = r->delta;
            x->dumpBytes = len;
            x->sysexDump = p->sx_bytes[i];
            p->echo_list.events[n++] = (VstEvent *)x;
            continue;
        }
        if (r->type != kVstMidiType || (r->data[0] & 0xF0) != 0x90)
            continue;
        VstMidiEvent *m = &p->echo[i];
        memset(m, 0, sizeof *m);
        m->type = kVstMidiType;
        m->byteSize = sizeof *m;
        m->deltaFrames = r->delta;
        m->midiData[0] = (char)r->data[0];
        m->midiData[1] = (char)(r->data[1] + 12);
        m->midiData[2] = (char)r->data[2];
        p->echo_list.events[n] = (VstEvent *)m;
        n++;
    }
    if (n) {
        p->echo_list.numEvents = n;
        p->host(p->e, audioMasterProcessEvents, 0, 0, &p->echo_list, 0.0f);
    }
}

/* TP_SYSEX_OUT 1: a sysex event adds, at its frame, its length / 1000
 * plus the sum of its first 16 bytes / 10^6 on every output: tests that
 * can only listen hear that it arrived, when, how long and what. */
static double sysex_value(const tp_event *r)
{
    unsigned sum = 0;
    for (int i = 0; i < r->sysex_len && i < 16; i++)
        sum += r->sysex[i];
    return r->sysex_len / 1000.0 + sum / 1e6;
}

#define RENDER(T)                                                                   \
    do {                                                                            \
        float gain = 2.0f * p->params[0];                                           \
        for (int c = 0; c < TP_OUT; c++)                                            \
            for (VstInt32 i = 0; i < n; i++)                                        \
                out[c][i] = TP_IN > 0 ? (T)(in[c % (TP_IN > 0 ? TP_IN : 1)][i] * gain) \
                                      : (T)0;                                       \
        for (int k = 0; k < p->block_events; k++) {                                   \
            const tp_event *r = &p->st.events[k];                                   \
            if (r->type == kVstMidiType && (r->data[0] & 0xF0) == 0x90 &&           \
                r->data[2] > 0 && r->delta >= 0 && r->delta < n)                    \
                for (int c = 0; c < TP_OUT; c++)                                    \
                    out[c][r->delta] += (T)(r->data[2] / 127.0);                    \
            if (TP_SYSEX_OUT && r->type == kVstSysExType && r->delta >= 0 && r->delta < n) \
                for (int c = 0; c < TP_OUT; c++)                                    \
                    out[c][r->delta] += (T)sysex_value(r);                          \
        }                                                                           \
    } while (0)

static void process_replacing(AEffect *e, float **in, float **out, VstInt32 n)
{
    plug *p = plug_of(e);
    p->st.process_calls++;
#if TP_CRASH_AFTER > 0
    if (p->st.process_calls > TP_CRASH_AFTER)
        raise(SIGSEGV);
#endif
#if TP_SLEEP_AFTER > 0
    if (p->st.process_calls >= TP_SLEEP_AFTER)
        usleep(TP_SLEEP_MS * 1000);
#endif
    p->st.last_nframes = n;
    ask_time(p);
    RENDER(float);
#if TP_TIME_OUT
    for (VstInt32 i = 0; i < n && TP_OUT >= 3; i++) {
        int playing = (p->st.time_flags & kVstTransportPlaying) != 0;
        out[1][i] = (float)(p->st.time_tempo / 1000.0) * (playing ? 1.0f : -1.0f);
        out[2][i] = (float)(p->st.time_ppq / 1000.0);
    }
#endif
#if TP_NAN
    for (int c = 0; c < TP_OUT; c++)
        for (VstInt32 i = 0; i < n; i++)
            out[c][i] = c == 0 ? __builtin_nanf("") : __builtin_inff();
#endif
#if TP_PROBE_OUT
    {
        /* 1e-30 * 1e-10 is a denormal (about 1e-40), or 0 under FTZ;
         * volatile keeps the compiler from folding it. */
        volatile float tiny = 1e-30f, small = 1e-10f;
        float probe = 0.5f + (tiny * small) * 1e30f * 1e9f;

        (void)probe;

        for (VstInt32 i = 0; i < n; i++) {
            out[0][i] = (float)(p->st.time_sample_pos + (double)i);
#if TP_OUT > 1
            out[1][i] = probe;
#endif
        }
    }
#endif
#if TP_BLOCK_OUT
    for (VstInt32 i = 0; i < n; i++) {
        float v = !p->resumed ? -2.0f
                  : n > p->st.block_size
                      ? -1.0f
                      : (float)p->st.block_size + (float)((p->frames + (unsigned)i) % 1000u) / 1000.0f;
        for (int c = 0; c < TP_OUT; c++)
            out[c][i] = v;
    }
    p->frames += (unsigned)n;
#endif
#if TP_NAN_AFTER > 0
    if (p->st.process_calls >= TP_NAN_AFTER)
        for (int c = 0; c < TP_OUT; c++)
            for (VstInt32 i = 0; i < n; i++)
                out[c][i] = i == 0 ? __builtin_inff() : __builtin_nanf("");
#endif
    echo_notes(p);
    p->block_events = 0;   /* the record stays for the test to read */
}

#if TP_DOUBLE
static void process_double(AEffect *e, double **in, double **out, VstInt32 n)
{
    plug *p = plug_of(e);
    p->st.process_double_calls++;
    p->st.last_nframes = n;
    ask_time(p);
    RENDER(double);
    echo_notes(p);
    p->block_events = 0;
}
#endif

static void probe_host(plug *p)
{
    AEffect *e = p->e;
    p->st.open_sample_rate = p->host(e, audioMasterGetSampleRate, 0, 0, NULL, 0.0f);
    p->st.open_block_size = p->host(e, audioMasterGetBlockSize, 0, 0, NULL, 0.0f);
    p->st.open_process_level = p->host(e, audioMasterGetCurrentProcessLevel, 0, 0, NULL, 0.0f);
    p->st.can_do_send_events = p->host(e, audioMasterCanDo, 0, 0, (void *)"sendVstEvents", 0.0f);
    p->st.can_do_receive_midi =
        p->host(e, audioMasterCanDo, 0, 0, (void *)"receiveVstMidiEvent", 0.0f);
    p->st.can_do_time_info = p->host(e, audioMasterCanDo, 0, 0, (void *)"sendVstTimeInfo", 0.0f);
    p->st.can_do_size_window = p->host(e, audioMasterCanDo, 0, 0, (void *)"sizeWindow", 0.0f);
    p->st.can_do_bogus = p->host(e, audioMasterCanDo, 0, 0, (void *)"makeCoffee", 0.0f);
    p->st.unknown_opcode = p->host(e, 9999, 1, 2, NULL, 3.0f);
    p->st.current_id = p->host(e, audioMasterCurrentId, 0, 0, NULL, 0.0f);
    /* Deprecated and unknown opcodes with junk arguments must not crash. */
    p->host(e, 5, 0, 0, NULL, 0.0f);
    p->host(e, audioMasterGetDirectory, 0, 0, NULL, 0.0f);
    p->host(e, audioMasterAutomate, 12345, 0, NULL, 0.5f);
    p->host(e, audioMasterAutomate, -1, 0, NULL, 0.5f);
    p->host(e, audioMasterProcessEvents, 0, 0, NULL, 0.0f);
}

static VstIntPtr dispatcher(AEffect *e, VstInt32 op, VstInt32 index, VstIntPtr value, void *ptr,
                            float opt)
{
    plug *p = plug_of(e);
#ifdef TP_SLOW_CHUNK_MS
    static _Atomic int in_chunk;
    static _Atomic uint32_t overlaps;

    if (op != effGetChunk && atomic_load(&in_chunk))
        atomic_fetch_add(&overlaps, 1);
#endif
    switch (op) {
    case effOpen:
        log_call(p, 'O');
        probe_host(p);
        return 0;
    case effClose:
        log_call(p, 'C');
#ifdef TP_HANG_CLOSE
        sleep(TP_HANG_CLOSE);
#endif
        free(p->chunk);
        free(p);
        free(e);
        return 0;
#if defined(TP_CRASH_CHUNK) && TP_CRASH_CHUNK == 2
    case effGetChunk: {
        int fd = memfd_create("testplug-bus", 0);
        volatile char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

        *page = 1;   /* the file is empty: SIGBUS */
        return 0;
    }
#elif defined(TP_CRASH_CHUNK)
    case effGetChunk:
        *(volatile int *)ptr = 0;
        raise(SIGSEGV);
        return 0;
#elif defined(TP_HANG_CHUNK)
    case effGetChunk:
        sleep(TP_HANG_CHUNK);
        *(void **)ptr = NULL;
        return 0;
#elif defined(TP_SLOW_CHUNK_MS)
    case effGetChunk: {
        uint32_t n;

        atomic_store(&in_chunk, 1);
        usleep(TP_SLOW_CHUNK_MS * 1000);
        atomic_store(&in_chunk, 0);
        n = atomic_exchange(&overlaps, 0);
        free(p->chunk);
        if ((p->chunk = malloc(4)) == NULL)
            return 0;
        memcpy(p->chunk, &n, 4);
        p->chunk_len = 4;
        *(void **)ptr = p->chunk;
        return 4;
    }
#elif TP_CHUNK_BYTES > 0
    case effGetChunk:
        if (p->chunk == NULL && (p->chunk = malloc(TP_CHUNK_BYTES)) != NULL) {
            for (size_t i = 0; i < TP_CHUNK_BYTES; i++)
                p->chunk[i] = (unsigned char)(i % 251);
            p->chunk_len = TP_CHUNK_BYTES;
        }
        *(void **)ptr = p->chunk;
        return p->chunk != NULL ? (VstIntPtr)p->chunk_len : 0;
    case effSetChunk: {
        unsigned char *copy = value > 0 ? malloc((size_t)value) : NULL;

        if (copy == NULL)
            return 0;
        memcpy(copy, ptr, (size_t)value);
        free(p->chunk);
        p->chunk = copy;
        p->chunk_len = (size_t)value;
        return 1;
    }
#endif
    case effSetSampleRate:
        log_call(p, 'R');
        p->st.sample_rate = opt;
        return 0;
    case effSetBlockSize:
        log_call(p, 'K');
#ifdef TP_HANG_BLOCK
        if (p->st.block_size != 0 && value > p->st.block_size)
            sleep(TP_HANG_BLOCK);
#endif
        p->st.block_size = value;
        return 0;
    case effSetProcessPrecision:
        log_call(p, 'P');
        p->st.precision = (int)value;
        return 1;
    case effMainsChanged:
        log_call(p, value ? 'M' : 'm');
        p->resumed = value != 0;
        return 0;
    case effStartProcess:
        log_call(p, 'S');
        return 0;
    case effStopProcess:
        log_call(p, 's');
        return 0;
    case effProcessEvents:
        record_events(p, (const VstEvents *)ptr);
        return 1;
    case effGetParamName:
        if (index < 0 || index >= TP_NUM_PARAMS)
            return 0;
        strcpy(ptr, param_names[index]);   /* deliberately ignores the 8-byte limit */
        return 0;
#if TP_PROPS
    case effGetParameterProperties:
        return properties(index, ptr);
#endif
    case effCanBeAutomated:
        return index != 2;
    case effGetParamLabel:
        strcpy(ptr, index != 0 ? "" : TP_LATIN1 ? "\xb0" : "x");   /* Latin-1 degree sign */
        return 0;
    case effGetParamDisplay:
#ifdef TP_HANG_DISPLAY
        sleep(TP_HANG_DISPLAY);
#endif
        if (index < 0 || index >= TP_NUM_PARAMS)
            return 0;
        snprintf(ptr, 32, "%.3f", index == 0 ? 2.0 * p->params[0] : (double)p->params[index]);
        return 0;
    case effSetProgram:
#ifdef TP_HANG_PROGRAM
        sleep(TP_HANG_PROGRAM);
#endif
        if (value >= 0 && value < TP_NUM_PROGRAMS)
            p->program = (int)value;
        p->host(e, value == 3 ? audioMasterIOChanged : audioMasterUpdateDisplay, 0, 0, NULL, 0);
        return 0;
    case effGetProgram:
        return p->program;
    case effGetProgramName:
        strcpy(ptr, program_names[p->program]);
        return 0;
    case effGetProgramNameIndexed:
        if (index < 0 || index >= TP_NUM_PROGRAMS)
            return 0;
        strcpy(ptr, program_names[index]);
        return 1;
    case effGetEffectName:
        strcpy(ptr, TP_LATIN1 ? "B\xe4ss test plugin" : "sonod test plugin");
        return 1;
    case effGetVendorString:
        strcpy(ptr, "sonod tests");
        return 1;
    case effGetProductString:
        strcpy(ptr, "testplug");
        return 1;
    case effGetVendorVersion:
        return 7;
    case effGetVstVersion:
        return kVstVersion;
    case effGetPlugCategory:
        return kPlugCategEffect;
    case effCanDo:
        if (ptr && (strcmp(ptr, "receiveVstEvents") == 0 || strcmp(ptr, "receiveVstMidiEvent") == 0))
            return 1;
        return 0;
    default:
        return 0;
    }
}

static AEffect *create(audioMasterCallback host)
{
    tp_stats entry = {0};
    entry.entry_version = host(NULL, audioMasterVersion, 0, 0, NULL, 0.0f);
    if (entry.entry_version == 0)
        return NULL;   /* what DPF does with a host that does not answer */
    host(NULL, audioMasterGetProductString, 0, 0, entry.entry_product, 0.0f);
    host(NULL, audioMasterGetVendorString, 0, 0, entry.entry_vendor, 0.0f);
    entry.entry_vendor_version = host(NULL, audioMasterGetVendorVersion, 0, 0, NULL, 0.0f);
    entry.entry_sample_rate = host(NULL, audioMasterGetSampleRate, 0, 0, NULL, 0.0f);
    entry.entry_block_size = host(NULL, audioMasterGetBlockSize, 0, 0, NULL, 0.0f);

#if TP_MODE == 2
    return NULL;
#elif TP_MODE == 3
    raise(SIGSEGV);
    return NULL;
#elif TP_MODE == 4
    for (;;)
        pause();
#endif

#if TP_MODE == 1
    /* Never closed by a host (it cannot trust a bad magic): static, so it
     * does not show up as a leak. */
    static plug bad_plug;
    static AEffect bad_effect;
    plug *p = &bad_plug;
    AEffect *e = &bad_effect;
#else
    plug *p = calloc(1, sizeof *p);
#endif
#if TP_MODE == 1
#elif TP_DOUBLE
    AEffect *e = calloc(1, sizeof(AEffect));
#else
    /* Only the core, like VeSTige-based plugins: the host must not read
     * processDoubleReplacing or future[].  (The size goes through a
     * volatile so the compiler does not object to the short struct.) */
    volatile size_t core = VST2_AEFFECT_CORE_SIZE;
    AEffect *e = calloc(1, core);
#endif
#if TP_MODE != 1
    if (!p || !e) {
        free(p);
        free(e);
        return NULL;
    }
#endif
    p->st = entry;
    p->e = e;
    p->host = host;
    p->params[0] = 0.5f;
    e->magic = TP_MODE == 1 ? 0x12345678 : kEffectMagic;
    e->dispatcher = dispatcher;
    e->setParameter = set_parameter;
    e->getParameter = get_parameter;
    e->numPrograms = TP_NUM_PROGRAMS;
    e->numParams = TP_NUM_PARAMS;
    e->numInputs = TP_IN;
    e->numOutputs = TP_OUT;
    e->flags = effFlagsCanReplacing;
    e->initialDelay = 5;
    e->ioRatio = 1.0f;
    e->object = p;
    e->uniqueID = TP_UNIQUE_ID;
    e->version = 3;
    e->processReplacing = process_replacing;
#if TP_CHUNK_BYTES > 0 || defined(TP_HANG_CHUNK) || defined(TP_CRASH_CHUNK) ||                   \
    defined(TP_SLOW_CHUNK_MS)
    e->flags |= effFlagsProgramChunks;
#endif
#if TP_DOUBLE
    e->flags |= effFlagsCanDoubleReplacing;
    e->processDoubleReplacing = process_double;
#endif
    return e;
}

#if TP_MAIN_ONLY
/* Exported under the legacy name only, as DPF does. */
EXPORT AEffect *tp_entry(audioMasterCallback host) __asm__("main");
AEffect *tp_entry(audioMasterCallback host) { return create(host); }
#else
EXPORT AEffect *VSTPluginMain(audioMasterCallback host);
AEffect *VSTPluginMain(audioMasterCallback host) { return create(host); }
#endif
