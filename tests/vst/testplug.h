/* testplug.h - what the test plugin (testplug.c) records, shared with the
 * tests.  The tests reach a plugin instance's record through the exported
 * function testplug_stats(AEffect *), found with dlsym. */
#ifndef SONOD_TESTS_VST_TESTPLUG_H
#define SONOD_TESTS_VST_TESTPLUG_H

#include <stdint.h>

#define TP_MAX_EVENTS 20000
#define TP_NUM_PARAMS 3
#define TP_NUM_PROGRAMS 4
#define TP_TIME_LOG 64
#define TP_UNIQUE_ID 0x736e7470   /* 'sntp' */

typedef struct tp_event {
    int32_t type;
    int32_t delta;
    uint8_t data[4];
    int32_t sysex_len;
    uint8_t sysex[16];
} tp_event;

typedef struct tp_stats {
    /* What the host answered inside the entry function (effect NULL). */
    intptr_t entry_version;
    char entry_product[64];
    char entry_vendor[64];
    intptr_t entry_vendor_version;
    intptr_t entry_sample_rate;
    intptr_t entry_block_size;
    /* Answers collected during effOpen. */
    intptr_t open_sample_rate;
    intptr_t open_block_size;
    intptr_t open_process_level;
    intptr_t can_do_send_events;
    intptr_t can_do_receive_midi;
    intptr_t can_do_time_info;
    intptr_t can_do_size_window;
    intptr_t can_do_bogus;
    intptr_t unknown_opcode;
    intptr_t current_id;
    /* The dispatcher calls seen, one letter each (see testplug.c). */
    char calls[64];
    int precision;
    float sample_rate;
    intptr_t block_size;
    /* Processing. */
    int process_calls;
    int process_double_calls;
    int last_nframes;
    intptr_t process_level;
    int have_time;
    double time_sample_pos, time_sample_rate, time_tempo, time_ppq, time_bar;
    int32_t time_num, time_den, time_flags;
    /* samplePos at each process call, the first TP_TIME_LOG since the test
     * last set ntime_log to 0. */
    int ntime_log;
    double time_log[TP_TIME_LOG];
    /* The events of the last effProcessEvents call. */
    int events_calls;
    int nevents;
    tp_event events[TP_MAX_EVENTS];
} tp_stats;

#endif
