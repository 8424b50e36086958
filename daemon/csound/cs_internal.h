/* cs_internal.h - the engine's data, shared by the control-side and the
 * audio-side (*_rt.c) files of daemon/csound.  Ownership of each field is
 * written next to it: [C] control thread, [A] audio thread, [C>A] written by
 * the control thread before the record is handed over, then read by audio. */
#ifndef SONOD_CSOUND_CS_INTERNAL_H
#define SONOD_CSOUND_CS_INTERNAL_H

#include <csound/csound.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>

#include "cs_engine.h"
#include "daemon/queue/heap.h"
#include "daemon/queue/spsc.h"

#define CS_MAX_PARAMS      32     /* named parameters per template */
#define CS_MAX_TEMPLATES   999    /* template index 1..999 */
#define CS_MAX_PRIORITY    99
#define CS_SLOT_BUSES      16     /* buses refcounted per synth */
#define CS_MSG_LINE        256    /* bytes per message line, NUL included */
#define CS_MSG_LINES       1024
#define CS_CAPTURE_BYTES   16384
#define CS_MAX_TABLES      1024
#define CS_TABLE_BASE      20001  /* Csound table numbers we hand out */
#define CS_SYNTH_SLOT_BITS 16     /* synth id = serial << 16 | slot */
#define CS_MAX_CHANNELS    1024   /* named control channels sonod touches */
#define CS_CHAN_NAME       64     /* bytes per channel name, NUL included */
#define CS_MAX_TAPS        256    /* audio buses copied out to the host */
#define CS_MAX_POOLS       32     /* MIDI voice pools, open or closing (cs_pool.c) */
/* Score events (csound.score) due in one k-cycle beyond which the cycle is
 * counted (score_over): all are given to Csound in that k-cycle anyway,
 * never later, and Csound's cost for them grows with their square
 * (cs_process_rt.c apply_events). */
#define CS_SCORE_PER_CYCLE 32
/* Starts (score events and synth starts, MIDI voices included) given to
 * Csound in one k-cycle beyond which the events of requests with `spread`
 * wait for the next k-cycles (cs_process_rt.c spread_drain): one per
 * CS_SPREAD_FRAMES frames of the k-cycle, at least one (2 at ksmps 32).
 * Measured (bench/RESULTS.md, "spread"): a 2 000-note chord of one
 * instrument spread this way costs 0.19-0.30 of a 256-frame period and
 * 0.27-0.32 of a 64-frame one; 4 a k-cycle 0.34-0.47, 8 1.1-2.0, 32 (the
 * report's figure) 6.7-9.2, against 30-130 unspread.  Csound's cost per start
 * grows with the instrument's instances and its active notes, so the
 * figure that holds for big chords is this low. */
#define CS_SPREAD_FRAMES 16

/* Csound instrument numbers of templates (cs_instr.c): priority p owns the
 * band CS_INSTR_BASE + (p-1)*CS_INSTR_BAND ... + CS_INSTR_BAND-1, a number
 * of it taken by each template compiled at p.  Lower numbers run first in a
 * k-cycle, so priority 1 feeds priority 2 within one cycle.  The top band
 * ends at 32671: Csound keeps instrument numbers in 16 bits (INSDS.insno).
 * Numbers below CS_INSTR_BASE are user code's (csound.compile refuses an
 * instr in the templates' range). */
#define CS_INSTR_BASE      20000
#define CS_INSTR_BAND      128
#define CS_INSTR_TOP       32767  /* Csound's highest instrument number */

/* ---- data handed to the audio thread by pointer (allocated and freed on
 * the control thread; the audio thread returns it with a FREE notice) ---- */

typedef struct cs_auto {
    int mode;              /* cs_auto_mode */
    unsigned npairs;
    unsigned cursor;       /* [A] current segment */
    uint64_t start_frame;  /* [A] set when the command is applied */
    double pts[];          /* t0,v0,t1,v1... t in frames from start */
} cs_auto;

/* A block of score events, in Csound's score order (cs_score.c).  The
 * audio thread hands each to Csound in the k-cycle of its start sample and
 * keeps the block in its timed heap, at the next event's sample, until all
 * have been given. */
typedef struct cs_events {
    uint32_t nevents;
    uint32_t nvals;        /* total doubles in vals */
    uint64_t base;         /* [A] frame p2 counts from, set on first apply */
    uint32_t next;         /* [A] first event not yet given to Csound */
    uint32_t based;        /* [A] base is set */
    /* 16-byte records keep the doubles that follow 8-byte aligned */
    struct { uint32_t type, first, count, pad; } ev[];  /* then vals follow */
} cs_events;

static inline double *cs_events_vals(cs_events *e)
{
    return (double *)(void *)&e->ev[e->nevents];
}

typedef struct cs_tabdata {
    size_t n;
    double d[];
} cs_tabdata;

/* ---- commands, control -> audio ---- */

typedef enum {
    CMD_START = 1, CMD_STOP, CMD_SET, CMD_AUTOMATE, CMD_COMPILE_MARK,
    CMD_BUS_NEW, CMD_BUS_SET, CMD_BUS_RELEASE,
    CMD_TABLE_NEW, CMD_TABLE_SET, CMD_TABLE_FREE, CMD_EVENTS,
    CMD_CHAN_SET, CMD_CHAN_BIND, CMD_TAP_ADD, CMD_TAP_REMOVE,
} cs_cmd_type;

/* b of a CMD_START or CMD_EVENTS: its starts may wait for a later
 * k-cycle when the cycle's bound is reached (`spread`). */
#define CS_CMD_SPREAD 1u

typedef struct cs_cmd {
    uint64_t frame;        /* absolute engine frame */
    uint64_t seq;          /* [A] arrival order, ties in the heap */
    uint64_t id;           /* synth id / compile mark */
    uint32_t type;
    uint32_t slot;         /* synth slot, bus id or table index */
    uint32_t a, b;         /* param index / instr number / offsets; START, EVENTS: b flags */
    double v;              /* a spread START: its duration in frames (0: until stopped) */
    void *ptr;             /* handed-over data, returned in a FREE notice */
    uint64_t need_compile; /* START: compile mark that must be merged */
} cs_cmd;

/* ---- replies, audio -> control ---- */

enum {                          /* internal kinds, never returned by cs_notice_pop */
    NOTE_FREE_PTR = 100,        /* free ptr on the control side */
    NOTE_TAP_FREED,             /* the same for a tap's buffer; frees the tap slot (id) */
    NOTE_POOL_CLOSED,           /* id = pool: the audio thread let go of it */
    NOTE_FREE_FUNC,             /* a Csound table (FUNC) out of Csound's list: free it */
};

typedef struct cs_note {
    int kind;              /* cs_notice_kind or NOTE_FREE_PTR */
    int code;
    uint64_t id;
    uint64_t frame;
    void *ptr;
    size_t len;
} cs_note;

/* ---- synth slots ---- */

enum { SLOT_FREE = 0, SLOT_PENDING, SLOT_FIRED, SLOT_RUNNING, SLOT_ENDED };

typedef struct cs_slot {
    _Atomic uint64_t owner;                /* [C] synth id using the slot */
    int state;                             /* [A] */
    int instr;                             /* [A] Csound instrument number */
    _Atomic uint64_t params[CS_MAX_PARAMS];/* [C>A] then [A]; double bits */
    cs_auto *autom[CS_MAX_PARAMS];         /* [A] */
    uint32_t start_offset;                 /* [A] sample offset in the cycle */
    uint32_t stop_offset;                  /* [A] */
    int stop_req;                          /* [A] 1 = stop this cycle */
    void *insds;                           /* [A] Csound instance */
    uint16_t buses[CS_SLOT_BUSES];         /* [A] buses referenced */
    unsigned nbuses;                       /* [A] */
} cs_slot;

static inline double cs_bits_to_d(uint64_t b) { double d; memcpy(&d, &b, 8); return d; }
static inline uint64_t cs_d_to_bits(double d) { uint64_t b; memcpy(&b, &d, 8); return b; }

static inline double cs_slot_param(cs_slot *s, unsigned i)
{
    return cs_bits_to_d(atomic_load_explicit(&s->params[i], memory_order_relaxed));
}

static inline void cs_slot_param_set(cs_slot *s, unsigned i, double v)
{
    atomic_store_explicit(&s->params[i], cs_d_to_bits(v), memory_order_relaxed);
}

/* ---- MIDI voice pools (cs_pool.c, cs_pool_rt.c) ----
 * Slots reserved on the control side for one MIDI route, so that the audio
 * thread can start a synth for a note-on itself, at the note's sample.  A
 * voice goes back to the pool (the idle ring) on the control side once its
 * end notice was drained: a slot never carries two lives in the notice
 * ring, which keeps the ring's sizing valid. */
enum { POOL_FREE = 0, POOL_OPEN, POOL_CLOSING, POOL_CLOSED };

typedef struct cs_voice {
    uint32_t slot;                         /* [C>A] */
    int key;                               /* [A] channel << 7 | note held, -1 none */
    uint64_t id;                           /* [A] synth id of its last start */
} cs_voice;

typedef struct cs_pool {
    _Atomic int state;                     /* POOL_*: C sets OPEN/CLOSING/FREE, A CLOSED */
    /* [C>A] written while FREE, read by the audio thread while OPEN/CLOSING */
    int tmpl, instr, channel;              /* channel -1: all */
    int note_idx, vel_idx;                 /* parameter indexes, -1: not passed */
    unsigned nparams;
    double pdef[CS_MAX_PARAMS];
    uint64_t need_compile;
    unsigned nvoices;
    cs_voice *voices;
    spsc_ring *idle;                       /* C -> A: indexes of voices ready to sound */
    _Atomic uint64_t started;              /* [A] voices taken */
    _Atomic uint64_t dropped;              /* [A] note-ons refused: no idle voice */
    /* [C] */
    uint64_t returned;                     /* end notices of its voices drained */
    uint64_t failed;                       /* of which FAILED (init error, cancelled) */
    int closed_seen;                       /* NOTE_POOL_CLOSED drained */
} cs_pool;

/* ---- buses ---- */

/* What the control side knows of a slot (slot_ctl). */
enum { SLOTC_FREE = 0, SLOTC_SYNTH, SLOTC_POOL };

typedef struct cs_bus_rt {                 /* all [A] */
    int live, kind, released;
    unsigned users;
} cs_bus_rt;

/* ---- bus taps ---- */

typedef struct cs_tap {                    /* all [A] */
    float *buf;                            /* NULL: slot unused */
    uint32_t bus, len;                     /* audio bus; frames in buf */
} cs_tap;

/* ---- templates (control side) ---- */

typedef struct cs_template {
    char *name;                            /* NULL = unused index */
    char *body, *init;
    unsigned nparams;
    char *pname[CS_MAX_PARAMS];
    double pdef[CS_MAX_PARAMS];
    int priority;
    uint64_t compiled[CS_MAX_PRIORITY + 1];/* compile mark, 0 = not compiled */
    int num[CS_MAX_PRIORITY + 1];          /* Csound instr number, 0 = none yet */
} cs_template;

/* ---- named control channels (cs_channel.c) ----
 * Csound's channel table is a hash with no lock: only the audio thread (the
 * thread that performs) ever looks a name up or creates it.  The control
 * side keeps this table of names; the audio thread binds an entry to
 * Csound's value pointer on the first command for it and publishes the
 * pointer, after which the control side reads the value atomically. */
enum { CHAN_UNBOUND = 0, CHAN_BOUND, CHAN_REFUSED };

typedef struct cs_chan {
    char name[CS_CHAN_NAME];               /* [C>A] immutable once sent */
    MYFLT *_Atomic ptr;                    /* [A] Csound's value, once bound */
    _Atomic int state;                     /* [A] CHAN_* */
} cs_chan;

typedef struct cs_msg_rec {               /* one line of the message ring */
    int attr;
    char text[CS_MSG_LINE];
} cs_msg_rec;

typedef struct cs_capture {
    char buf[CS_CAPTURE_BYTES];
    size_t len;
} cs_capture;

struct cs_engine {
    CSOUND *cs;
    cs_config cfg;
    double sr;
    unsigned ksmps, nchnls, nchnls_i;
    double *spin, *spout;                  /* Csound's buffers */
    double out_scale;                      /* 1/0dbfs (1 for the live engine) */
    _Atomic int finished;                  /* [A] score ended (.csd render) */
    _Atomic uint64_t exits;                /* [A] exits/ends the live engine survived */
    _Atomic int exit_kind;                 /* [A] CS_EXIT_* of the latest */
    int is_csd;                            /* [C] built from a .csd (its end is normal) */
    uint64_t finish_frame;                 /* [A] first frame not performed */

    _Atomic uint64_t frame;                /* [A] frames processed */
    uint64_t cycle_frame;                  /* [A] first frame of this k-cycle */

    /* rings */
    spsc_ring *cmd_ring;                   /* C -> A, cs_cmd */
    spsc_ring *note_ring;                  /* A -> C, cs_note */
    spsc_ring *msg_ring;                   /* A -> C, message lines */
    _Atomic uint64_t notes_lost;           /* must stay 0: sizing bug if not */

    /* audio-side scheduling */
    minheap heap;                          /* [A] of cs_cmd on (frame, seq) */
    size_t client_heap;                    /* [set at create] entries client commands
                                            * may fill; the rest (two per slot) is
                                            * the MIDI pools' room for starts and
                                            * stops: a note-off is never refused */
    uint64_t seq;
    cs_cmd *defer;                         /* [A] re-queued next cycle */
    size_t ndefer;
    uint32_t *fired;                       /* [A] slots fired this cycle */
    size_t nfired;
    uint64_t mark_this_cycle;              /* [A] */
    unsigned score_handed;                 /* [A] score events given in this k-cycle */
    unsigned cycle_started;                /* [A] starts given in this k-cycle (all kinds) */
    unsigned spread_bound;                 /* [set at create] ksmps / CS_SPREAD_FRAMES, >= 1 */
    /* Spread commands due, in the order they fell due, waiting for room
     * under spread_bound (a ring over minheap_capacity entries). */
    cs_cmd *spread;                        /* [A] */
    size_t spread_head, nspread;           /* [A] */
    unsigned spread_late;                  /* [A] score events started late this k-cycle */
    uint64_t spread_late_max;              /* [A] the largest delay among them, frames */
    _Atomic uint64_t score_spread;         /* [A] k-cycles that started spread events late */
    _Atomic uint64_t score_spread_events;  /* [A] score events started late in them */
    _Atomic uint64_t score_spread_max;     /* [A] max delay, frames; [C] takes it (exchange) */
    int ev_open;                           /* [A] Csound's events detached (events_open) */
    void *ev_saved, *ev_head, *ev_tail;    /* [A] the list detached; the chain given */
    _Atomic uint64_t score_over;           /* [A] k-cycles given more than the bound */
    _Atomic uint64_t score_over_events;    /* [A] events given beyond it in those */
    _Atomic uint64_t merged_mark;          /* [A] last merged compile mark */

    /* audio-side message line being assembled */
    char msg_acc[CS_MSG_LINE];
    size_t msg_len;
    int msg_attr;
    _Atomic uint64_t msg_dropped, msg_truncated;

    /* synths */
    cs_slot *slots;
    unsigned nslots;
    _Atomic uint64_t synth_serial;         /* [any] fetch-add: ids from both threads */

    /* MIDI voice pools */
    cs_pool pools[CS_MAX_POOLS];

    /* buses */
    double *abus;                          /* [A] audio_buses * ksmps */
    /* A bus holds this k-cycle's sum only when its stamp is this cycle's
     * number: nothing clears the buses, the first write of a cycle does
     * (256 buses cleared every k-cycle were a third of a light .csd's
     * render). */
    uint64_t *abus_stamp;                  /* [A] audio_buses: cycle last written */
    uint64_t abus_cycle;                   /* [A] this k-cycle's number, from 1 */
    /* One k-cycle rendered ahead for a block that is not a multiple of
     * ksmps: nahead frames wait at the front of each buffer. */
    float *ahead;                          /* [A] nchnls * ksmps */
    float **ahead_out;                     /* [A] the nchnls channels of ahead */
    float *tap_ahead;                      /* [A] CS_MAX_TAPS * ksmps, by tap slot */
    unsigned nahead;                       /* [A] */
    /* Once a block was not a multiple of ksmps, Csound hears its input
     * in_delay = ksmps-1 frames late, so that the cycle rendered ahead has
     * every input frame it needs (the last ones from in_hist). */
    float *in_hist;                        /* [A] nchnls_i * ksmps: the last input frames */
    unsigned in_delay;                     /* [A] 0 or ksmps-1 */
    _Atomic unsigned in_delay_pub;         /* [A] writes, [C] reads: in_delay */
    _Atomic uint64_t *kbus;                /* [A] writes, [C] reads; bits */
    cs_bus_rt *bus_rt;                     /* [A] */
    unsigned nbuses;                       /* audio ids first, then control */

    /* bus taps: by slot, and the live slots packed for the k-cycle loop */
    cs_tap taps[CS_MAX_TAPS];              /* [A] */
    uint16_t tap_live[CS_MAX_TAPS];        /* [A] */
    unsigned ntaps;                        /* [A] */

    /* tables */
    double *tab_ptr[CS_MAX_TABLES];        /* [A] */
    size_t tab_len[CS_MAX_TABLES];         /* [A] */

    /* channels: names [C>A], binding [A], count [C] */
    cs_chan chans[CS_MAX_CHANNELS];
    unsigned nchans;

    /* ---- control side only ---- */
    cs_capture cap;
    uint64_t compile_mark;                 /* last mark handed out */
    int job_running;                       /* [C] a cs_compile_job is between begin and end */
    struct cs_define_job *defining;        /* [C] the instr.define being parsed, or NULL */
    cs_template tmpl[CS_MAX_TEMPLATES + 1];
    uint8_t instr_used[CS_MAX_PRIORITY + 1][CS_INSTR_BAND]; /* template numbers taken */
    int *slot_ctl;                         /* SLOTC_* */
    uint32_t *slot_voice;                  /* pool << 16 | voice of a SLOTC_POOL slot */
    unsigned *free_slots;                  /* stack of free slot indexes */
    unsigned nfree_slots;
    unsigned live_synths;
    int *slot_tmpl;                        /* template index of each slot */
    unsigned ptrs_in_flight;               /* pointer commands not returned */
    unsigned ptr_budget;
    int *bus_ctl;                          /* 0 free, 1 owned, 2 released */
    int tap_ctl[CS_MAX_TAPS];              /* 0 free, 1 tapping, 2 untapped */
    int tab_ctl[CS_MAX_TABLES];            /* 0 free, 1 creating, 2 ready */
    double *tab_cptr[CS_MAX_TABLES];       /* control copy of table pointers */
    size_t tab_clen[CS_MAX_TABLES];
    void *tab_func[CS_MAX_TABLES];         /* the FUNC built for each (cs_table.c) */
    long tab_maxlen;                       /* Csound's longest table (MAXLEN) */
};

/* A fresh synth id for slot s.  One atomic counter: the audio thread (MIDI
 * voices) and the control thread never hand out the same id. */
static inline uint64_t cs_next_id(cs_engine *eng, unsigned s)
{
    uint64_t serial = atomic_fetch_add_explicit(&eng->synth_serial, 1, memory_order_relaxed) + 1;
    return serial << CS_SYNTH_SLOT_BITS | s;
}

/* [A] Queues c in the timed heap at (frame, seq): commands due on the same
 * frame run in arrival order.  1 when queued, 0 when the heap is full. */
static inline int cs_heap_push(cs_engine *eng, const cs_cmd *c)
{
    return minheap_push(&eng->heap, (minheap_key){ c->frame, c->seq }, c) == 0;
}

/* cs_engine.c: csd != NULL builds the engine from a .csd (offline render):
 * settings and score come from the file instead of cfg. */
int cs_engine_create_ex(const cs_config *cfg, const char *csd, cs_engine **out,
                        cs_error *err);

/* cs_msg.c / cs_msg_rt.c */
void cs_msg_callback(CSOUND *cs, int attr, const char *format, va_list args);
/* The header statements a compile drops or refuses (cs_compile.c). */
extern const char *const cs_header_names[];
void cs_capture_begin(cs_engine *eng);
/* The same into another buffer (a compile job on a worker thread). */
void cs_capture_begin_into(cs_capture *cap);
void cs_capture_end(cs_engine *eng);

/* cs_opcodes_rt.c (registration itself runs on the control thread) */
int cs_opcodes_register(cs_engine *eng);
/* Replaces Csound's ReAlloc with one that is safe while another thread
 * allocates (cs_alloc.c); -1 if this Csound's block layout is not the one
 * it knows (Csound's own stays). */
int cs_alloc_install(CSOUND *cs);
/* Csound's LongJmp caught inside cs_perform_guarded (cs_guard_rt.c). */
#define CS_PERF_EXITED (-1000)
void cs_guard_install(CSOUND *cs);
/* csoundPerformKsmps, or CS_PERF_EXITED when Csound exited out of it. [audio] */
int cs_perform_guarded(CSOUND *cs);

/* cs_notes_rt.c: push a reply; never drops (the ring is sized for it). */
void cs_rt_note(cs_engine *eng, int kind, uint64_t id, uint64_t frame, int code,
                void *ptr, size_t len);
void cs_rt_bus_unref(cs_engine *eng, unsigned bus);
/* Binds channel i (cs_process_rt.c): audio thread, or control while held. */
MYFLT *cs_chan_bind(cs_engine *eng, unsigned i);
double cs_rt_auto_eval(cs_auto *a, uint64_t frame, int *done);

/* cs_instr.c */
int cs_template_find(const cs_engine *eng, const char *name);
int cs_template_compile(cs_engine *eng, int t, int prio, cs_error *err);
/* Csound instrument number of template t compiled at priority p. */
static inline int cs_instr_number(const cs_engine *eng, int t, int prio)
{
    return eng->tmpl[t].num[prio];
}

/* cs_compile.c */
int cs_compile_internal(cs_engine *eng, const char *code, int line_shift, uint64_t *mark,
                        cs_error *err);
/* cs_compile_internal in three steps (begin and end [control], run [any]):
 * end gives the compile mark; line_shift as above. */
int cs_compile_job_begin(cs_engine *eng, const char *code, int line_shift, cs_compile_job **job,
                         cs_error *err);
int cs_compile_job_end(cs_compile_job *job, uint64_t *mark, cs_error *err);

/* cs_pool.c: a drained end notice of a pool slot; 1 if it was one. */
int cs_pool_voice_ended(cs_engine *eng, unsigned slot, uint64_t id, int failed);
void cs_pool_closed(cs_engine *eng, unsigned pool);
/* cs_pool_rt.c: pools being closed stop their held voices (block start). */
void cs_rt_pools_close(cs_engine *eng);

/* cs_control.c */
int cs_push_cmd(cs_engine *eng, cs_cmd *c, cs_error *err);

int cs_seterr(cs_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
