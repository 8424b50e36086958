/* vst2_abi.h - the binary interface between a VST2 host and a plugin.
 *
 * sonod's own description of the VST 2.4 ABI on Linux x86_64 (LP64, SysV
 * calling convention), written from the numbers and offsets collected in
 * shared/reference/vst2-abi.md.  It is not derived from the Steinberg SDK,
 * VeSTige or FST.  Only what sonod uses is declared; every structure layout
 * is pinned by static assertions so a mistake fails the build instead of
 * corrupting a plugin's memory.
 *
 * Names follow the customary VST2 spelling so that readers who know the ABI
 * recognise them. */
#ifndef SONOD_VST_VST2_ABI_H
#define SONOD_VST_VST2_ABI_H

#include <stddef.h>
#include <stdint.h>

typedef int32_t VstInt32;
typedef intptr_t VstIntPtr;

typedef struct AEffect AEffect;

typedef VstIntPtr (*audioMasterCallback)(AEffect *effect, VstInt32 opcode, VstInt32 index,
                                         VstIntPtr value, void *ptr, float opt);
typedef VstIntPtr (*AEffectDispatcherProc)(AEffect *effect, VstInt32 opcode, VstInt32 index,
                                           VstIntPtr value, void *ptr, float opt);
typedef void (*AEffectProcessProc)(AEffect *effect, float **inputs, float **outputs,
                                   VstInt32 sampleFrames);
typedef void (*AEffectProcessDoubleProc)(AEffect *effect, double **inputs, double **outputs,
                                         VstInt32 sampleFrames);
typedef void (*AEffectSetParameterProc)(AEffect *effect, VstInt32 index, float value);
typedef float (*AEffectGetParameterProc)(AEffect *effect, VstInt32 index);

/* The entry point: "VSTPluginMain", or the legacy Linux alias "main". */
typedef AEffect *(*VstPluginMainProc)(audioMasterCallback host);

#define kVstVersion 2400

/* 'VstP' as a big-endian four-character constant. */
#define kEffectMagic 0x56737450

/* The plugin's descriptor.  Many plugins (VeSTige-based: amsynth,
 * ZynAddSubFX) allocate only the first 128 bytes, up to and including
 * processReplacing: processDoubleReplacing and future[] exist only when
 * flags has effFlagsCanDoubleReplacing.  VST2_AEFFECT_CORE_SIZE marks that
 * boundary. */
struct AEffect {
    VstInt32 magic;
    AEffectDispatcherProc dispatcher;
    AEffectProcessProc process;            /* deprecated, accumulating */
    AEffectSetParameterProc setParameter;
    AEffectGetParameterProc getParameter;
    VstInt32 numPrograms;
    VstInt32 numParams;
    VstInt32 numInputs;
    VstInt32 numOutputs;
    VstInt32 flags;
    VstIntPtr resvd1;                      /* host-owned */
    VstIntPtr resvd2;                      /* host-owned */
    VstInt32 initialDelay;                 /* latency in samples */
    VstInt32 realQualities;                /* deprecated */
    VstInt32 offQualities;                 /* deprecated */
    float ioRatio;                         /* deprecated */
    void *object;                          /* plugin-owned */
    void *user;
    VstInt32 uniqueID;
    VstInt32 version;
    AEffectProcessProc processReplacing;
    /* --- end of the 128-byte core --- */
    AEffectProcessDoubleProc processDoubleReplacing;
    char future[56];
};

#define VST2_AEFFECT_CORE_SIZE 128

_Static_assert(offsetof(AEffect, magic) == 0, "AEffect.magic");
_Static_assert(offsetof(AEffect, dispatcher) == 8, "AEffect.dispatcher");
_Static_assert(offsetof(AEffect, process) == 16, "AEffect.process");
_Static_assert(offsetof(AEffect, setParameter) == 24, "AEffect.setParameter");
_Static_assert(offsetof(AEffect, getParameter) == 32, "AEffect.getParameter");
_Static_assert(offsetof(AEffect, numPrograms) == 40, "AEffect.numPrograms");
_Static_assert(offsetof(AEffect, numParams) == 44, "AEffect.numParams");
_Static_assert(offsetof(AEffect, numInputs) == 48, "AEffect.numInputs");
_Static_assert(offsetof(AEffect, numOutputs) == 52, "AEffect.numOutputs");
_Static_assert(offsetof(AEffect, flags) == 56, "AEffect.flags");
_Static_assert(offsetof(AEffect, resvd1) == 64, "AEffect.resvd1");
_Static_assert(offsetof(AEffect, resvd2) == 72, "AEffect.resvd2");
_Static_assert(offsetof(AEffect, initialDelay) == 80, "AEffect.initialDelay");
_Static_assert(offsetof(AEffect, realQualities) == 84, "AEffect.realQualities");
_Static_assert(offsetof(AEffect, offQualities) == 88, "AEffect.offQualities");
_Static_assert(offsetof(AEffect, ioRatio) == 92, "AEffect.ioRatio");
_Static_assert(offsetof(AEffect, object) == 96, "AEffect.object");
_Static_assert(offsetof(AEffect, user) == 104, "AEffect.user");
_Static_assert(offsetof(AEffect, uniqueID) == 112, "AEffect.uniqueID");
_Static_assert(offsetof(AEffect, version) == 116, "AEffect.version");
_Static_assert(offsetof(AEffect, processReplacing) == 120, "AEffect.processReplacing");
_Static_assert(offsetof(AEffect, processDoubleReplacing) == VST2_AEFFECT_CORE_SIZE,
               "AEffect.processDoubleReplacing starts right after the core");
_Static_assert(offsetof(AEffect, future) == 136, "AEffect.future");
_Static_assert(sizeof(AEffect) == 192, "sizeof(AEffect)");

/* AEffect.flags */
enum {
    effFlagsHasEditor = 1 << 0,
    effFlagsCanReplacing = 1 << 4,
    effFlagsProgramChunks = 1 << 5,
    effFlagsIsSynth = 1 << 8,
    effFlagsNoSoundInStop = 1 << 9,
    effFlagsCanDoubleReplacing = 1 << 12,
};

/* Host -> plugin dispatcher opcodes. */
enum {
    effOpen = 0,
    effClose = 1,
    effSetProgram = 2,
    effGetProgram = 3,
    effSetProgramName = 4,
    effGetProgramName = 5,
    effGetParamLabel = 6,
    effGetParamDisplay = 7,
    effGetParamName = 8,
    effSetSampleRate = 10,
    effSetBlockSize = 11,
    effMainsChanged = 12,
    effEditGetRect = 13,
    effEditOpen = 14,
    effEditClose = 15,
    effEditIdle = 19,
    effGetChunk = 23,
    effSetChunk = 24,
    effProcessEvents = 25,
    effCanBeAutomated = 26,
    effString2Parameter = 27,
    effGetProgramNameIndexed = 29,
    effGetInputProperties = 33,
    effGetOutputProperties = 34,
    effGetPlugCategory = 35,
    effSetSpeakerArrangement = 42,
    effSetBypass = 44,
    effGetEffectName = 45,
    effGetVendorString = 47,
    effGetProductString = 48,
    effGetVendorVersion = 49,
    effVendorSpecific = 50,
    effCanDo = 51,
    effGetTailSize = 52,
    effGetParameterProperties = 56,
    effGetVstVersion = 58,
    effShellGetNextPlugin = 70,
    effStartProcess = 71,
    effStopProcess = 72,
    effSetProcessPrecision = 77,
    effGetNumMidiInputChannels = 78,
    effGetNumMidiOutputChannels = 79,
};

/* Plugin -> host (audioMaster) opcodes. */
enum {
    audioMasterAutomate = 0,
    audioMasterVersion = 1,
    audioMasterCurrentId = 2,
    audioMasterIdle = 3,
    audioMasterPinConnected = 4,
    audioMasterWantMidi = 6,
    audioMasterGetTime = 7,
    audioMasterProcessEvents = 8,
    audioMasterSetTime = 9,
    audioMasterTempoAt = 10,
    audioMasterGetNumAutomatableParameters = 11,
    audioMasterGetParameterQuantization = 12,
    audioMasterIOChanged = 13,
    audioMasterNeedIdle = 14,
    audioMasterSizeWindow = 15,
    audioMasterGetSampleRate = 16,
    audioMasterGetBlockSize = 17,
    audioMasterGetInputLatency = 18,
    audioMasterGetOutputLatency = 19,
    audioMasterGetCurrentProcessLevel = 23,
    audioMasterGetAutomationState = 24,
    audioMasterGetVendorString = 32,
    audioMasterGetProductString = 33,
    audioMasterGetVendorVersion = 34,
    audioMasterVendorSpecific = 35,
    audioMasterCanDo = 37,
    audioMasterGetLanguage = 38,
    audioMasterGetDirectory = 41,
    audioMasterUpdateDisplay = 42,
    audioMasterBeginEdit = 43,
    audioMasterEndEdit = 44,
};

/* Answers to audioMasterGetCurrentProcessLevel. */
enum {
    kVstProcessLevelUnknown = 0,
    kVstProcessLevelUser = 1,
    kVstProcessLevelRealtime = 2,
    kVstProcessLevelPrefetch = 3,
    kVstProcessLevelOffline = 4,
};

enum { kVstProcessPrecision32 = 0, kVstProcessPrecision64 = 1 };

/* effGetPlugCategory */
enum {
    kPlugCategUnknown = 0,
    kPlugCategEffect = 1,
    kPlugCategSynth = 2,
    kPlugCategAnalysis = 3,
    kPlugCategMastering = 4,
    kPlugCategSpacializer = 5,
    kPlugCategRoomFx = 6,
    kPlugSurroundFx = 7,
    kPlugCategRestoration = 8,
    kPlugCategOfflineProcess = 9,
    kPlugCategShell = 10,
    kPlugCategGenerator = 11,
};

/* Nominal string sizes.  Real plugins overflow the 8-byte ones, so sonod
 * always passes zeroed buffers of VST2_STRING_BUFFER bytes and truncates. */
enum {
    kVstMaxProgNameLen = 24,
    kVstMaxParamStrLen = 8,
    kVstMaxVendorStrLen = 64,
    kVstMaxProductStrLen = 64,
    kVstMaxEffectNameLen = 32,
};
#define VST2_STRING_BUFFER 256

/* Events passed with effProcessEvents / audioMasterProcessEvents. */
enum { kVstMidiType = 1, kVstSysExType = 6 };
enum { kVstMidiEventIsRealtime = 1 };

typedef struct VstEvent {
    VstInt32 type;
    VstInt32 byteSize;     /* size of the event minus the first 8 bytes */
    VstInt32 deltaFrames;  /* sample offset inside the next process block */
    VstInt32 flags;
    char data[16];
} VstEvent;

typedef struct VstMidiEvent {
    VstInt32 type;         /* kVstMidiType */
    VstInt32 byteSize;
    VstInt32 deltaFrames;
    VstInt32 flags;
    VstInt32 noteLength;
    VstInt32 noteOffset;
    char midiData[4];
    char detune;
    char noteOffVelocity;
    char reserved1;
    char reserved2;
} VstMidiEvent;

typedef struct VstMidiSysexEvent {
    VstInt32 type;         /* kVstSysExType */
    VstInt32 byteSize;
    VstInt32 deltaFrames;
    VstInt32 flags;
    VstInt32 dumpBytes;
    VstIntPtr resvd1;
    char *sysexDump;
    VstIntPtr resvd2;
} VstMidiSysexEvent;

/* The array is declared with two entries; hosts allocate as many as needed.
 * VST2_EVENTS_SIZE(n) is the byte size of a block holding n pointers. */
typedef struct VstEvents {
    VstInt32 numEvents;
    VstIntPtr reserved;
    VstEvent *events[2];
} VstEvents;

#define VST2_EVENTS_SIZE(n) (offsetof(VstEvents, events) + (size_t)(n) * sizeof(VstEvent *))

_Static_assert(offsetof(VstEvent, type) == 0, "VstEvent.type");
_Static_assert(offsetof(VstEvent, byteSize) == 4, "VstEvent.byteSize");
_Static_assert(offsetof(VstEvent, deltaFrames) == 8, "VstEvent.deltaFrames");
_Static_assert(offsetof(VstEvent, flags) == 12, "VstEvent.flags");
_Static_assert(offsetof(VstEvent, data) == 16, "VstEvent.data");
_Static_assert(sizeof(VstEvent) == 32, "sizeof(VstEvent)");

_Static_assert(offsetof(VstMidiEvent, type) == 0, "VstMidiEvent.type");
_Static_assert(offsetof(VstMidiEvent, byteSize) == 4, "VstMidiEvent.byteSize");
_Static_assert(offsetof(VstMidiEvent, deltaFrames) == 8, "VstMidiEvent.deltaFrames");
_Static_assert(offsetof(VstMidiEvent, flags) == 12, "VstMidiEvent.flags");
_Static_assert(offsetof(VstMidiEvent, noteLength) == 16, "VstMidiEvent.noteLength");
_Static_assert(offsetof(VstMidiEvent, noteOffset) == 20, "VstMidiEvent.noteOffset");
_Static_assert(offsetof(VstMidiEvent, midiData) == 24, "VstMidiEvent.midiData");
_Static_assert(offsetof(VstMidiEvent, detune) == 28, "VstMidiEvent.detune");
_Static_assert(offsetof(VstMidiEvent, noteOffVelocity) == 29, "VstMidiEvent.noteOffVelocity");
_Static_assert(offsetof(VstMidiEvent, reserved1) == 30, "VstMidiEvent.reserved1");
_Static_assert(offsetof(VstMidiEvent, reserved2) == 31, "VstMidiEvent.reserved2");
_Static_assert(sizeof(VstMidiEvent) == 32, "sizeof(VstMidiEvent)");

_Static_assert(offsetof(VstMidiSysexEvent, type) == 0, "VstMidiSysexEvent.type");
_Static_assert(offsetof(VstMidiSysexEvent, byteSize) == 4, "VstMidiSysexEvent.byteSize");
_Static_assert(offsetof(VstMidiSysexEvent, deltaFrames) == 8, "VstMidiSysexEvent.deltaFrames");
_Static_assert(offsetof(VstMidiSysexEvent, flags) == 12, "VstMidiSysexEvent.flags");
_Static_assert(offsetof(VstMidiSysexEvent, dumpBytes) == 16, "VstMidiSysexEvent.dumpBytes");
_Static_assert(offsetof(VstMidiSysexEvent, resvd1) == 24, "VstMidiSysexEvent.resvd1");
_Static_assert(offsetof(VstMidiSysexEvent, sysexDump) == 32, "VstMidiSysexEvent.sysexDump");
_Static_assert(offsetof(VstMidiSysexEvent, resvd2) == 40, "VstMidiSysexEvent.resvd2");
_Static_assert(sizeof(VstMidiSysexEvent) == 48, "sizeof(VstMidiSysexEvent)");

_Static_assert(offsetof(VstEvents, numEvents) == 0, "VstEvents.numEvents");
_Static_assert(offsetof(VstEvents, reserved) == 8, "VstEvents.reserved");
_Static_assert(offsetof(VstEvents, events) == 16, "VstEvents.events");
_Static_assert(sizeof(VstEvents) == 32, "sizeof(VstEvents)");

/* Transport information returned by audioMasterGetTime. */
typedef struct VstTimeInfo {
    double samplePos;
    double sampleRate;
    double nanoSeconds;
    double ppqPos;
    double tempo;
    double barStartPos;
    double cycleStartPos;
    double cycleEndPos;
    VstInt32 timeSigNumerator;
    VstInt32 timeSigDenominator;
    VstInt32 smpteOffset;
    VstInt32 smpteFrameRate;
    VstInt32 samplesToNextClock;
    VstInt32 flags;
} VstTimeInfo;

/* One variant of the layout (FST) runs to 96 bytes, so the block handed to
 * plugins is zero-padded to this size. */
#define VST2_TIMEINFO_BUFFER 128

_Static_assert(offsetof(VstTimeInfo, samplePos) == 0, "VstTimeInfo.samplePos");
_Static_assert(offsetof(VstTimeInfo, sampleRate) == 8, "VstTimeInfo.sampleRate");
_Static_assert(offsetof(VstTimeInfo, nanoSeconds) == 16, "VstTimeInfo.nanoSeconds");
_Static_assert(offsetof(VstTimeInfo, ppqPos) == 24, "VstTimeInfo.ppqPos");
_Static_assert(offsetof(VstTimeInfo, tempo) == 32, "VstTimeInfo.tempo");
_Static_assert(offsetof(VstTimeInfo, barStartPos) == 40, "VstTimeInfo.barStartPos");
_Static_assert(offsetof(VstTimeInfo, cycleStartPos) == 48, "VstTimeInfo.cycleStartPos");
_Static_assert(offsetof(VstTimeInfo, cycleEndPos) == 56, "VstTimeInfo.cycleEndPos");
_Static_assert(offsetof(VstTimeInfo, timeSigNumerator) == 64, "VstTimeInfo.timeSigNumerator");
_Static_assert(offsetof(VstTimeInfo, timeSigDenominator) == 68, "VstTimeInfo.timeSigDenominator");
_Static_assert(offsetof(VstTimeInfo, smpteOffset) == 72, "VstTimeInfo.smpteOffset");
_Static_assert(offsetof(VstTimeInfo, smpteFrameRate) == 76, "VstTimeInfo.smpteFrameRate");
_Static_assert(offsetof(VstTimeInfo, samplesToNextClock) == 80, "VstTimeInfo.samplesToNextClock");
_Static_assert(offsetof(VstTimeInfo, flags) == 84, "VstTimeInfo.flags");
_Static_assert(sizeof(VstTimeInfo) == 88, "sizeof(VstTimeInfo)");
_Static_assert(sizeof(VstTimeInfo) <= VST2_TIMEINFO_BUFFER, "time info buffer");

/* VstTimeInfo.flags */
enum {
    kVstTransportChanged = 1 << 0,
    kVstTransportPlaying = 1 << 1,
    kVstTransportCycleActive = 1 << 2,
    kVstTransportRecording = 1 << 3,
    kVstAutomationWriting = 1 << 6,
    kVstAutomationReading = 1 << 7,
    kVstNanosValid = 1 << 8,
    kVstPpqPosValid = 1 << 9,
    kVstTempoValid = 1 << 10,
    kVstBarsValid = 1 << 11,
    kVstCyclePosValid = 1 << 12,
    kVstTimeSigValid = 1 << 13,
    kVstSmpteValid = 1 << 14,
    kVstClockValid = 1 << 15,
};

/* Editor rectangle (effEditGetRect). */
typedef struct ERect {
    int16_t top, left, bottom, right;
} ERect;
_Static_assert(sizeof(ERect) == 8, "sizeof(ERect)");

/* effGetInputProperties / effGetOutputProperties */
typedef struct VstPinProperties {
    char label[64];
    VstInt32 flags;
    VstInt32 arrangementType;
    char shortLabel[8];
    char future[48];
} VstPinProperties;

enum { kVstPinIsActive = 1, kVstPinIsStereo = 2, kVstPinUseSpeaker = 4 };

_Static_assert(offsetof(VstPinProperties, label) == 0, "VstPinProperties.label");
_Static_assert(offsetof(VstPinProperties, flags) == 64, "VstPinProperties.flags");
_Static_assert(offsetof(VstPinProperties, arrangementType) == 68, "VstPinProperties.arrangementType");
_Static_assert(offsetof(VstPinProperties, shortLabel) == 72, "VstPinProperties.shortLabel");
_Static_assert(offsetof(VstPinProperties, future) == 80, "VstPinProperties.future");
_Static_assert(sizeof(VstPinProperties) == 128, "sizeof(VstPinProperties)");

/* effGetParameterProperties */
typedef struct VstParameterProperties {
    float stepFloat;
    float smallStepFloat;
    float largeStepFloat;
    char label[64];
    VstInt32 flags;
    VstInt32 minInteger;
    VstInt32 maxInteger;
    VstInt32 stepInteger;
    VstInt32 largeStepInteger;
    char shortLabel[8];
    int16_t displayIndex;
    int16_t category;
    int16_t numParametersInCategory;
    int16_t reserved;
    char categoryLabel[24];
    char future[16];
} VstParameterProperties;

enum {
    kVstParameterIsSwitch = 1 << 0,
    kVstParameterUsesIntegerMinMax = 1 << 1,
    kVstParameterUsesFloatStep = 1 << 2,
    kVstParameterUsesIntStep = 1 << 3,
    kVstParameterSupportsDisplayIndex = 1 << 4,
    kVstParameterSupportsDisplayCategory = 1 << 5,
    kVstParameterCanRamp = 1 << 6,
};

_Static_assert(offsetof(VstParameterProperties, stepFloat) == 0, "VstParameterProperties.stepFloat");
_Static_assert(offsetof(VstParameterProperties, smallStepFloat) == 4, "VstParameterProperties.smallStepFloat");
_Static_assert(offsetof(VstParameterProperties, largeStepFloat) == 8, "VstParameterProperties.largeStepFloat");
_Static_assert(offsetof(VstParameterProperties, label) == 12, "VstParameterProperties.label");
_Static_assert(offsetof(VstParameterProperties, flags) == 76, "VstParameterProperties.flags");
_Static_assert(offsetof(VstParameterProperties, minInteger) == 80, "VstParameterProperties.minInteger");
_Static_assert(offsetof(VstParameterProperties, maxInteger) == 84, "VstParameterProperties.maxInteger");
_Static_assert(offsetof(VstParameterProperties, stepInteger) == 88, "VstParameterProperties.stepInteger");
_Static_assert(offsetof(VstParameterProperties, largeStepInteger) == 92, "VstParameterProperties.largeStepInteger");
_Static_assert(offsetof(VstParameterProperties, shortLabel) == 96, "VstParameterProperties.shortLabel");
_Static_assert(offsetof(VstParameterProperties, displayIndex) == 104, "VstParameterProperties.displayIndex");
_Static_assert(offsetof(VstParameterProperties, category) == 106, "VstParameterProperties.category");
_Static_assert(offsetof(VstParameterProperties, numParametersInCategory) == 108,
               "VstParameterProperties.numParametersInCategory");
_Static_assert(offsetof(VstParameterProperties, reserved) == 110, "VstParameterProperties.reserved");
_Static_assert(offsetof(VstParameterProperties, categoryLabel) == 112, "VstParameterProperties.categoryLabel");
_Static_assert(offsetof(VstParameterProperties, future) == 136, "VstParameterProperties.future");
_Static_assert(sizeof(VstParameterProperties) == 152, "sizeof(VstParameterProperties)");

#endif
