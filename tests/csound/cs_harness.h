/* cs_harness.h - drives the Csound engine offline for the tests: the test
 * thread plays the audio thread, block by block, and keeps the output. */
#ifndef SONOD_TESTS_CS_HARNESS_H
#define SONOD_TESTS_CS_HARNESS_H

#include "cs_engine.h"

#define H_SR     48000.0
#define H_KSMPS  32
#define H_BLOCK  256

typedef struct harness {
    cs_engine *eng;
    unsigned nch;
    float **buf;            /* per channel, the whole render */
    size_t len, cap;
    cs_notice notes[8192];
    size_t nnotes;
    char msgs[64][256];
    size_t nmsgs;
} harness;

harness *h_new(unsigned nch, unsigned max_synths);
void h_free(harness *h);
/* Renders n more frames (multiple of H_BLOCK) and drains notices/messages. */
void h_run(harness *h, size_t n);
void h_drain(harness *h);
size_t h_count(const harness *h, cs_notice_kind kind);

/* A thread that plays the audio thread flat out (cs_rt_process, one
 * channel, H_BLOCK frames at a time, output dropped) until stopped; the
 * caller drains notices and messages.  h_audio_stop returns the blocks it
 * rendered. */
typedef struct h_audio h_audio;
h_audio *h_audio_start(cs_engine *eng);
unsigned long h_audio_stop(h_audio *a);

/* Measurements on channel ch over [from, to). */
double h_freq(const harness *h, unsigned ch, size_t from, size_t to);
double h_peak(const harness *h, unsigned ch, size_t from, size_t to);
/* First index >= from with a nonzero sample, or (size_t)-1. */
size_t h_first_nonzero(const harness *h, unsigned ch, size_t from);

#endif
