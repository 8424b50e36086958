/* cs_engine.h - the live Csound engine of sonod.
 *
 * One CSOUND instance runs inside the daemon's audio callback with
 * host-implemented audio.  Everything the protocol needs (compiles,
 * instrument templates with named parameters, synths, automation, buses,
 * tables, raw score events) is offered here.
 *
 * Threads.  Every function is marked with the thread it belongs to:
 *   [control]  the daemon's control thread (libuv loop).  One thread only:
 *              the command ring is single-producer.
 *   [audio]    the audio callback.  Never allocates, frees, locks or logs.
 *   [any]      a plain atomic read, safe anywhere.
 *
 * Timing.  Every timed command carries an absolute engine frame (the count
 * of frames processed by cs_rt_process since the engine was created).  The
 * audio thread holds the command until the k-cycle that contains the frame
 * and applies it at the exact sample where Csound allows it (synth start and
 * stop are sample-exact; parameter writes take effect at the k-cycle that
 * contains the frame).  A frame already in the past means "as soon as
 * possible".  Commands with the same frame keep their arrival order.
 *
 * Errors.  Control functions return 0 or a negative CS_E* code; when given a
 * cs_error they also fill a human readable message (and, for Csound compile
 * errors, Csound's own error text and the line number in the caller's code).
 */
#ifndef SONOD_CSOUND_CS_ENGINE_H
#define SONOD_CSOUND_CS_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cs_engine cs_engine;

enum {
    CS_OK = 0,
    CS_EINVAL = -1,     /* bad argument (unknown parameter, bad mode...) */
    CS_ENOENT = -2,     /* unknown instrument / synth / bus / table, or ended */
    CS_ECOMPILE = -3,   /* Csound rejected the code (text + line in cs_error) */
    CS_EHEADER = -4,    /* header statement disagrees with the running engine */
    CS_EAGAIN = -5,     /* a ring or pool is full; retry after the next block */
    CS_EBUSY = -6,      /* previous compile not merged yet, or object in use */
    CS_ENOMEM = -7,
    CS_EIO = -8,        /* file could not be read */
    CS_ECSOUND = -9,    /* Csound failed to start */
    CS_ELIMIT = -10,    /* a fixed limit was reached (e.g. 1024 channels) */
    CS_EPERF = -11,     /* a .csd render ran, but Csound reported errors (INIT/PERF ERROR) */
    CS_EDENIED = -12,   /* an opcode refused by confinement (cs_confine) */
};

typedef struct cs_error {
    char msg[2048];
    int line;           /* line in the caller's code, 0 when unknown */
} cs_error;

typedef struct cs_config {
    double sr;              /* the backend's sample rate */
    unsigned ksmps;         /* default 32; must divide every block size */
    unsigned nchnls;        /* output channels */
    unsigned nchnls_i;      /* input channels (0 allowed) */
    unsigned max_synths;    /* live synth slots, default 4096 */
    unsigned cmd_capacity;  /* control->audio command ring, default 8192 */
    unsigned audio_buses;   /* default 256 */
    unsigned control_buses; /* default 1024 */
    unsigned compile_wait_ms; /* how long cs_compile waits for the previous
                                 compile to be merged, default 1000; 0 = don't */
    int confined;           /* 1: every compile goes through cs_confine first */
    /* Optional (the offline backend): keeps the audio thread from running
     * until release, when that can be done at once -- between renders.
     * hold returns 1 when held, 0 when audio runs.  While held, a compile
     * merges on the compiling thread (csoundCompileOrc) and a channel binds
     * on the control thread: an idle offline engine runs no k-cycle that
     * would do it.  release may be called from any thread. */
    int (*hold)(void *ctx);
    void (*release)(void *ctx);
    void *hold_ctx;
} cs_config;

/* ---- engine lifetime [control] ---- */

/* Fills defaults for every zero field. */
void cs_config_defaults(cs_config *cfg);

/* Creates and starts Csound (no audio runs until cs_rt_process is called). */
int cs_engine_create(const cs_config *cfg, cs_engine **out, cs_error *err);
/* The audio thread must have stopped calling cs_rt_process. */
void cs_engine_destroy(cs_engine *eng);

/* Engine values read back from Csound. [any] */
double cs_engine_sr(const cs_engine *eng);
unsigned cs_engine_ksmps(const cs_engine *eng);
unsigned cs_engine_nchnls(const cs_engine *eng);
/* Frames processed so far; the clock of every "frame" argument. [any] */
uint64_t cs_engine_frame(const cs_engine *eng);
/* The queue of commands to the audio thread: records free now, and all
 * it holds.  A request that fits in the space queues all its commands:
 * only the control thread adds to it. [control] */
size_t cs_engine_cmd_space(const cs_engine *eng);
size_t cs_engine_cmd_capacity(const cs_engine *eng);
/* Frames by which Csound hears its audio input late: 0, or ksmps-1 once
 * a block was not a multiple of ksmps (cs_rt_process). [any] */
unsigned cs_engine_input_delay(const cs_engine *eng);

/* ---- the audio callback [audio] ---- */

/* Processes one block of any nframes.  in may be NULL (silence); channels
 * beyond nchnls/nchnls_i are zero-filled / ignored.  Blocks that are not a
 * multiple of ksmps go through a FIFO (cs_process_rt.c): the output is the
 * same sample for sample, Csound's clock (cs_engine_frame) runs up to
 * ksmps-1 frames ahead of the frames handed out, and Csound hears silence
 * for the input frames past the block's end in the cycle rendered ahead.
 * Returns 0. */
int cs_rt_process(cs_engine *eng, const float *const *in, unsigned nin,
                  float *const *out, unsigned nout, unsigned nframes);

/* 1 when notices or message lines wait for the control thread: the host's
 * audio callback uses it to decide whether to wake the control thread. [any] */
int cs_has_news(cs_engine *eng);

/* Silences the first nframes of every bus tap, for a block the host does
 * not let Csound render (larger than its buffers). */
void cs_rt_taps_silence(cs_engine *eng, unsigned nframes);

/* ---- Csound messages [control] ---- */

/* Pops one message line printed by Csound on the audio thread (or by the
 * merge of a compile).  Returns 1 and copies it (NUL-terminated, truncated to
 * cap) or 0 when empty.  attr is Csound's message attribute (CSOUNDMSG_*). */
int cs_message_pop(cs_engine *eng, char *line, size_t cap, int *attr);
/* Lines lost because the ring was full, and lines cut at the line size. [any] */
uint64_t cs_messages_dropped(const cs_engine *eng);
uint64_t cs_messages_truncated(const cs_engine *eng);

/* ---- compile [control] ---- */

/* Compiles orchestra code into the running engine (asynchronous merge, one
 * compile at a time).  Header statements (sr, kr, ksmps, nchnls, nchnls_i,
 * 0dbfs) that agree with the engine are dropped, ones that disagree fail with
 * CS_EHEADER.  Syntax errors fail with CS_ECOMPILE and Csound's text. */
int cs_compile(cs_engine *eng, const char *code, cs_error *err);

/* cs_compile in three steps, for a parse off the control thread: begin
 * [control] checks the code (as cs_compile does) and waits for the previous
 * merge; run [any one thread] parses and compiles (seconds for a huge
 * orchestra); end [control] hands the merge mark to the audio thread and
 * frees the job, returning what cs_compile would have.  Between begin and
 * end every other compile (cs_compile, instr.define's, a synth's first
 * start at a priority) fails at once with CS_EBUSY; the engine must not be
 * destroyed while run is under way. */
typedef struct cs_compile_job cs_compile_job;
int cs_compile_begin(cs_engine *eng, const char *code, cs_compile_job **job, cs_error *err);
void cs_compile_run(cs_compile_job *job);
int cs_compile_end(cs_compile_job *job, cs_error *err);
/* Frees a job whose engine was destroyed after run. [control] */
void cs_compile_discard(cs_compile_job *job);
/* Confinement, a pure function over the code text (cs_confine.c): 0, or
 * CS_EDENIED with the opcode and its line in err when the code uses
 *  - an opcode that runs programs or code from strings: system, system_i,
 *    compilestr, compileorc, compilecsd, evalstr, the py* and lua_* opcodes,
 *    vstinit;
 *  - an opcode that writes files or reads them by any name: fout, fouti,
 *    foutir, foutk, fprints, fprintks, fiopen, ficlose, dumpk, dumpk2..4,
 *    ftsave, ftsavek, ftaudio, pvsfwrite, hdf5write, readf, readfi, readk,
 *    readk2..4, readks, ftload, ftloadk, fin, fini, fink, directory,
 *    hdf5read;
 *  - an opcode that reads the sound or analysis file it names (soundin,
 *    diskin, diskin2, diskgrain, mp3in, mp3len, pvsfread, pvsdiskin,
 *    filelen, filesr, filenchnls, filepeak, filebit, filevalid, lpread,
 *    sfload, fluidLoad, the ATS* opcodes), or ftgen/ftgenonce/ftgentmp with
 *    GEN 1, 23, 28, 43 or 49, unless every name is a quoted absolute path
 *    inside the file roots (daemon/file); an ftgen whose GEN is not a
 *    literal number or name;
 *  - an f statement sent from orchestra code (scoreline, scoreline_i,
 *    readscore, event, event_i with "f");
 *  - two macros, or a macro and a name, written together ($A$B, $A.x): a
 *    name built that way could be any of the above.
 * The words are found as Csound's lexer finds names: outside comments and
 * strings.  [any] */
int cs_confine(const char *code, cs_error *err);

/* Global code (statements outside instr..endin and opcode..endop, header
 * statements not counted) runs its init pass, instr 0, on the audio thread:
 * Csound 6.18 does it inside the merge (merge_state: engineState_merge then
 * init0, neither exported), which a live engine can only run on the thread
 * that performs, or on another thread while that one waits for the API lock.
 * cs_global_scan, a pure function over the code text like cs_confine,
 * counts what makes that pass long: every statement (about 1.5 us each with
 * its merge, a `gk init`, measured: bench/RESULTS.md) and the table generators whose
 * size is over CS_GLOBAL_TABLE_POINTS, not a literal number (2^22 and
 * products are read), or read from a file (GEN 1, 23, 28, 43, 49, ftload,
 * ftsamplebank).  heavy: more than CS_GLOBAL_STATEMENTS statements or any
 * such table.  Lines are the code's, from 1.  [any] */
#define CS_GLOBAL_STATEMENTS 256
#define CS_GLOBAL_TABLE_POINTS 16384
typedef struct cs_global_info {
    unsigned statements, tables;
    int first_line, table_line;     /* the first of each, 0 = none */
    int heavy;
} cs_global_info;
int cs_global_scan(const char *code, cs_global_info *info);
/* 1 while the last compile is being parsed (cs_compile_begin..end) or is
 * not merged yet (merges happen in the next audio block). */
int cs_compile_pending(const cs_engine *eng);

/* ---- instrument templates [control] ---- */

typedef struct cs_param {
    const char *name;   /* "kfreq" (k-rate, settable) or "ifreq" (init only) */
    double value;       /* default */
} cs_param;

/* Defines (or redefines) a template.  params may be NULL/0 when the body's
 * first line is the inline form "|kfreq=440, kamp=0.1|".  init is optional
 * code run once per synth before the body.  priority 1..99 orders processing:
 * lower priorities run first in each k-cycle. */
int cs_instr_define(cs_engine *eng, const char *name, const char *body,
                    const cs_param *params, unsigned nparams,
                    const char *init, int priority, cs_error *err);
/* cs_instr_define in three steps, for a parse off the control thread (as
 * cs_compile_begin/run/end): begin [control] checks and, when there is code
 * to compile, gives a job (else *job is NULL and the definition is done:
 * the same code redefined compiles nothing); run [any one thread] parses;
 * end [control] puts the new template in place (the old one serves until
 * then, and stays when the compile fails) and frees the job.  Meanwhile
 * every other compile is CS_EBUSY, and so are a definition or an undefine
 * of the same name. */
typedef struct cs_define_job cs_define_job;
int cs_instr_define_begin(cs_engine *eng, const char *name, const char *body,
                          const cs_param *params, unsigned nparams, const char *init,
                          int priority, cs_define_job **job, cs_error *err);
void cs_instr_define_run(cs_define_job *job);
int cs_instr_define_end(cs_define_job *job, cs_error *err);
/* Frees a job whose engine was destroyed after run. [control] */
void cs_instr_define_discard(cs_define_job *job);
/* A template's first use at a priority it is not compiled at (synth.start
 * {priority}) as such a job: the template's own definition compiled at
 * priority (0: its own), run and ended as above.  *job is NULL when there
 * is nothing to compile (compiled there already, or no such instrument or
 * priority: cs_synth_start says why). */
int cs_instr_use_begin(cs_engine *eng, const char *name, int priority, cs_define_job **job,
                       cs_error *err);
int cs_instr_undefine(cs_engine *eng, const char *name, cs_error *err);
/* Iterates templates: returns the name of template i or NULL past the end. */
const char *cs_instr_name(const cs_engine *eng, unsigned i);
/* Parameter i of a template (name and default); CS_ENOENT past the end. */
int cs_instr_param(const cs_engine *eng, const char *name, unsigned i,
                   const char **pname, double *def);
/* Whether template name exists, and whether it has parameter param. */
bool cs_instr_exists(const cs_engine *eng, const char *name);
bool cs_instr_has_param(const cs_engine *eng, const char *name, const char *param);

/* ---- synths [control] ---- */

typedef uint64_t cs_synth_id;

typedef struct cs_arg {
    const char *name;
    double value;
} cs_arg;

/* Starts a synth of template instr at absolute frame `at` (0 = as soon as
 * possible).  dur in seconds, negative = until stopped.  priority 0 = the
 * template's.  Returns the new id in *id. */
int cs_synth_start(cs_engine *eng, const char *instr, const cs_arg *args,
                   unsigned nargs, uint64_t at, double dur, int priority,
                   cs_synth_id *id, cs_error *err);
/* The same; spread: the start may wait for a later k-cycle when the
 * k-cycle of `at` already has its bound of starts (one per 16 frames of
 * ksmps, at least one: 2 at ksmps 32; score events, synth starts and MIDI
 * voices alike), and then starts at that k-cycle's first frame (its
 * CS_NOTICE_STARTED carries the frame), dur counted from there. */
int cs_synth_start_ex(cs_engine *eng, const char *instr, const cs_arg *args,
                      unsigned nargs, uint64_t at, double dur, int priority, bool spread,
                      cs_synth_id *id, cs_error *err);
int cs_synth_set(cs_engine *eng, cs_synth_id id, const cs_arg *args,
                 unsigned nargs, uint64_t at, cs_error *err);

typedef enum { CS_AUTO_LINEAR, CS_AUTO_EXP, CS_AUTO_COS, CS_AUTO_SMOOTH } cs_auto_mode;
/* points = t0,v0,t1,v1,... (seconds from `at`, values); any count >= 1 pair.
 * Replaces any running automation of that parameter. */
int cs_synth_automate(cs_engine *eng, cs_synth_id id, const char *param,
                      const double *points, unsigned npoints_pairs,
                      cs_auto_mode mode, uint64_t at, cs_error *err);
/* Stops at frame `at` (sample-exact when the instrument has no release; with
 * a release (xtratim, linenr, madsr...) the release starts at that k-cycle).
 * A synth that has not started yet is cancelled. */
int cs_synth_stop(cs_engine *eng, cs_synth_id id, uint64_t at, cs_error *err);
/* Current parameter values as last seen on the audio thread (k-rate params
 * are updated every k-cycle). */
int cs_synth_get(cs_engine *eng, cs_synth_id id, const char *param,
                 double *value, cs_error *err);
/* The template name of a live synth, NULL when it does not exist. */
const char *cs_synth_instr(const cs_engine *eng, cs_synth_id id);
/* Iterate live synths (started or pending): index i, returns 0 past the end. */
cs_synth_id cs_synth_at(const cs_engine *eng, unsigned i);
unsigned cs_synth_count(const cs_engine *eng);

/* ---- MIDI voice pools ----
 *
 * Live MIDI into an instrument, sample-exact: the control side reserves a
 * pool of synth slots for one instrument (voices), and the audio thread,
 * handed the block's MIDI before cs_rt_process, starts a synth for each
 * note-on at the note's frame (cs_engine_frame() + offset) and stops the
 * voice holding that channel and key at a note-off's frame, in the same
 * block.  The synths report STARTED/ENDED like any other (ids from the same
 * counter), and accept cs_synth_set/get/stop; a voice returns to its pool
 * when cs_notice_pop drains its end.  A note-on finding no idle voice is
 * refused and counted (cs_pool_stats), never queued. */

#define CS_POOL_VOICES 32       /* default voices per pool */
#define CS_POOL_MAX_VOICES 1024

typedef struct cs_pool_stats {
    uint64_t dropped;       /* note-ons refused: every voice busy */
    uint64_t failed;        /* voices whose start failed (init error) */
    unsigned sounding;      /* voices started and not yet ended (drained) */
} cs_pool_stats;

/* Opens a pool of `voices` (0 = CS_POOL_VOICES) slots for template instr at
 * its priority, compiling it if needed.  note / vel name parameters that
 * get the key (0..127) and velocity/127 (NULL: not passed); channel 0..15
 * or -1 for all.  Notes reach it from the next cs_rt_midi on.  CS_EAGAIN
 * when fewer free slots than voices, CS_ELIMIT when 32 pools are open or
 * still closing.
 * [control] */
int cs_pool_open(cs_engine *eng, const char *instr, const char *note, const char *vel,
                 int channel, unsigned voices, int *pool, cs_error *err);
/* Closes a pool: the audio thread stops its held voices at the start of its
 * next block and takes no more notes; the slots go back to the engine once
 * every voice's end was drained (then the pool number is free again; until
 * then it counts towards CS_ELIMIT).  [control] */
int cs_pool_close(cs_engine *eng, int pool);
/* Pools still waiting for their voices to end after cs_pool_close. [control] */
unsigned cs_pools_closing(const cs_engine *eng);
/* Counters of an open pool (0 on success). [control] */
int cs_pool_stats_get(const cs_engine *eng, int pool, cs_pool_stats *st);

/* One MIDI message of the block cs_rt_process renders next, offset frames
 * into it: note-on (velocity > 0) and note-off (or note-on velocity 0) go
 * to every open pool whose channel matches; anything else is ignored.
 * After an odd-sized block the first frames of the next were rendered
 * ahead already: a note among them starts at the first frame not rendered.
 * Call in time order, before cs_rt_process for that block. [audio] */
void cs_rt_midi(cs_engine *eng, const unsigned char *msg, unsigned len, unsigned offset);

/* ---- notices [control] ---- */

typedef enum {
    CS_NOTICE_STARTED = 1,  /* synth began its init pass (frame = its start) */
    CS_NOTICE_ENDED,        /* synth is gone; frame = k-cycle of its end */
    CS_NOTICE_FAILED,       /* synth never ran (init error, cancelled: see code) */
    CS_NOTICE_BUS_FREED,
    CS_NOTICE_TABLE_READY,
} cs_notice_kind;

typedef struct cs_notice {
    cs_notice_kind kind;
    uint64_t id;            /* synth id, bus id or table number */
    uint64_t frame;
    int code;               /* FAILED: 1 cancelled before start, 2 init failed */
} cs_notice;

/* Drains the audio thread's replies: returns 1 and fills *n, 0 when empty.
 * Must be called regularly: synth slots and pointers handed to the audio
 * thread are reclaimed here.  Ends are never dropped: the ring is sized for
 * every slot, bus and in-flight pointer. */
int cs_notice_pop(cs_engine *eng, cs_notice *n);

/* ---- buses [control] ---- */

typedef enum { CS_BUS_AUDIO, CS_BUS_CONTROL } cs_bus_kind;

/* Instruments use: asig sonod_abusin ibus / sonod_abusout ibus, asig (adds) /
 * kval sonod_kbusin ibus / sonod_kbusout ibus, kval (overwrites).  A synth
 * that touches a bus holds a reference until it ends. */
int cs_bus_new(cs_engine *eng, cs_bus_kind kind, int *bus, cs_error *err);
int cs_bus_set(cs_engine *eng, int bus, double value, uint64_t at, cs_error *err);
int cs_bus_get(cs_engine *eng, int bus, double *value, cs_error *err);
/* Drops the client's reference; the id is reclaimed when the last synth using
 * it ends (CS_NOTICE_BUS_FREED). */
int cs_bus_free(cs_engine *eng, int bus, cs_error *err);
/* 0 no such bus, 1 held by the client, 2 freed by the client but still
 * used by live synths (reclaimed when the last ends). */
int cs_bus_state(const cs_engine *eng, int bus);

/* ---- bus taps [control] ----
 * A tap copies an audio bus out of Csound after every k-cycle, into `buf`
 * at the cycle's place in the block, scaled by 1/0dbfs like the main
 * outputs: the host reads it after cs_rt_process (sonod's graph `bus`
 * nodes).  `buf` (malloc'd, `len` frames) belongs to the engine from a
 * successful cs_bus_tap on; the engine frees it once the audio thread has
 * let go of it after cs_bus_untap (or at destroy).  On failure it stays the
 * caller's.  Frames of a block before the tap's first k-cycle are left as
 * they were. */
int cs_bus_tap(cs_engine *eng, int bus, float *buf, unsigned len, int *tap, cs_error *err);
int cs_bus_untap(cs_engine *eng, int tap, cs_error *err);

/* ---- tables [control] ---- */

/* New zero table of size frames*channels or filled with data.  The number is
 * returned at once; the table exists from the next block
 * (CS_NOTICE_TABLE_READY). */
int cs_table_new(cs_engine *eng, size_t size, const double *data, int *tabnum,
                 cs_error *err);
/* Reads a sound file (interleaved) with libsndfile on this thread. */
int cs_table_read(cs_engine *eng, const char *path, int *tabnum,
                  unsigned *channels, double *file_sr, cs_error *err);
int cs_table_get(cs_engine *eng, int tabnum, size_t offset, double *dst,
                 size_t count, cs_error *err);
int cs_table_set(cs_engine *eng, int tabnum, size_t offset, const double *src,
                 size_t count, uint64_t at, cs_error *err);
int cs_table_free(cs_engine *eng, int tabnum, cs_error *err);
/* Size in values of a ready table, or CS_ENOENT / CS_EBUSY (not ready). */
long cs_table_size(cs_engine *eng, int tabnum, cs_error *err);

/* ---- named control channels [control] ----
 *
 * The ones instruments read with `chnget "name"` and write with `chnset`.
 * Csound's channel table has no lock, so this side never touches it: the
 * first command for a name makes the audio thread look it up (creating a
 * control channel if Csound has none of that name), and the value pointer
 * it finds is then read here atomically.  At most CS_MAX_CHANNELS (1024)
 * names, never forgotten (Csound cannot delete channels either). */

/* Writes the channel at the k-cycle that holds frame `at` (0 = asap). */
int cs_channel_set(cs_engine *eng, const char *name, double value, uint64_t at,
                   cs_error *err);
/* Reads the current value.  A name not bound yet is sent to the audio
 * thread for binding and waited for up to compile_wait_ms; CS_EBUSY if the
 * audio thread did not get to it in that time (offline backend: render a
 * block first).  CS_EINVAL if Csound has the name as an audio or string
 * channel. */
int cs_channel_get(cs_engine *eng, const char *name, double *value, cs_error *err);

/* ---- raw score [control] ---- */

/* One score line ("i 1 0 2 440"), applied at frame `at`; its p2 is relative
 * to `at` with Csound's own sample-accurate start. */
int cs_event(cs_engine *eng, const char *line, uint64_t at, cs_error *err);
/* Several lines ("i", "f", "e" not allowed), times relative to `at`. */
int cs_score(cs_engine *eng, const char *text, uint64_t at, cs_error *err);
/* The same; spread: an event whose k-cycle already has its bound of starts
 * (as cs_synth_start_ex; the starts that may not wait counted first) waits
 * for the next k-cycle with room, in score order, and starts at its first
 * frame with p3 as written (cs_engine_score_spread counts them). */
int cs_event_ex(cs_engine *eng, const char *line, uint64_t at, bool spread, cs_error *err);
int cs_score_ex(cs_engine *eng, const char *text, uint64_t at, bool spread, cs_error *err);

/* ---- offline .csd [control] ---- */

typedef struct cs_csd_settings {
    double sr;
    unsigned ksmps, nchnls, nchnls_i;
    double zerodbfs;
} cs_csd_settings;

/* Reads sr, ksmps (or kr), nchnls, nchnls_i and 0dbfs from a .csd's
 * orchestra header (Csound defaults where absent). */
int cs_csd_settings_read(const char *path, cs_csd_settings *s, cs_error *err);

/* An engine built from a .csd (its settings, orchestra and score); drive it
 * with cs_rt_process until cs_engine_finished. */
int cs_engine_create_csd(const char *path, cs_engine **out, cs_error *err);
/* 1 once a .csd's score has ended (never for the live engine). [any] */
int cs_engine_finished(const cs_engine *eng);

/* How often orchestra code stopped the live engine's Csound and the engine
 * carried on (a .csd render ends there instead): Csound exited out of a
 * k-cycle (CS_EXIT_JUMP: exitnow, or an opcode calling csoundDie; the
 * instance whose init pass exited stays allocated and silent) or its
 * score ended (CS_EXIT_END: an "e" event; Csound turned off the notes that
 * had a duration).  *last (may be NULL) gets the latest one's kind. [any] */
enum { CS_EXIT_END = 1, CS_EXIT_JUMP = 2 };
uint64_t cs_engine_exits(const cs_engine *eng, int *last);

/* Score events (cs_score, cs_event) are given to Csound in the k-cycle of
 * their start, never earlier nor later.  The k-cycles in which more than
 * 32 fell due (a chord of more than 32 notes, say), all given there anyway;
 * *events (may be NULL) gets the events beyond 32 in them.  Csound's cost
 * for notes of one instrument starting in one k-cycle grows with their
 * square (each start walks the instrument's instances and the active
 * list): 2 000 at once take about 25 periods of 256 frames. [any] */
uint64_t cs_engine_score_over(const cs_engine *eng, uint64_t *events);
/* k-cycles in which score events of requests with `spread` started later
 * than asked (their own k-cycle had no room); *events (may be NULL) gets how
 * many started late in them. [any] */
uint64_t cs_engine_score_spread(const cs_engine *eng, uint64_t *events);
/* The largest delay in frames of such an event since the previous call
 * (0: none), and starts over. [control] */
uint64_t cs_engine_score_spread_max_take(cs_engine *eng);

/* Renders a whole .csd (orchestra and score) through an engine built with its
 * own settings and cs_rt_process, block by block, into a sound file whose
 * format follows out_path's name (.wav/.aif(f)/.caf/.w64 float, .flac 24-bit;
 * another name is CS_EINVAL), like `csound -o`.  out_path stands for any -o
 * in <CsOptions> (the command line's -o overrides it too); an -i FILE there
 * is read as the audio input (its channels must be nchnls_i, its rate sr;
 * a device is CS_EINVAL).  Csound's INIT/PERF ERRORs while it performs make
 * it CS_EPERF with their count and the first (the file is written). */
int cs_render_csd(const char *csd_path, const char *out_path,
                  unsigned block_frames, cs_error *err);

#endif
