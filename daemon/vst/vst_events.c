/* vst_events.c - control-side half of MIDI input: event buffers, sysex
 * messages and the MIDI message builders.
 *
 * Nothing here runs on the audio thread.  Buffers and sysex messages are
 * allocated here and handed over by pointer; the audio-thread half is
 * vst_events_rt.c. */
#include <stdlib.h>
#include <string.h>

#include "daemon/queue/prefault.h"
#include "daemon/vst/vst_instance.h"

vst_event_buf *vst_event_buf_new(unsigned capacity)
{
    if (capacity == 0 || capacity > (1u << 26))
        return NULL;
    vst_event_buf *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->capacity = capacity;
    /* Every page touched here: the audio thread writes them (prefault.h). */
    b->slots = prefault_calloc(capacity, sizeof *b->slots);
    b->scratch = prefault_calloc(capacity, sizeof *b->scratch);
    b->list = prefault_calloc(1, VST2_EVENTS_SIZE(capacity < 2 ? 2 : capacity));
    if (!b->slots || !b->scratch || !b->list) {
        vst_event_buf_free(b);
        return NULL;
    }
    return b;
}

void vst_event_buf_free(vst_event_buf *b)
{
    if (!b)
        return;
    free(b->slots);
    free(b->scratch);
    free(b->list);
    free(b);
}

unsigned vst_event_buf_capacity(const vst_event_buf *b)
{
    return b->capacity;
}

vst_sysex *vst_sysex_new(const uint8_t *data, size_t len, char *err)
{
    if (!data || len < 2 || data[0] != 0xF0 || data[len - 1] != 0xF7) {
        vst_fail(err, VST_E_MIDI, "sysex must start with F0 and end with F7");
        return NULL;
    }
    if (len > INT32_MAX) {
        vst_fail(err, VST_E_MIDI, "sysex too long");
        return NULL;
    }
    for (size_t i = 1; i + 1 < len; i++) {
        if (data[i] & 0x80) {
            vst_fail(err, VST_E_MIDI, "sysex byte %zu (0x%02X) is not a data byte", i, data[i]);
            return NULL;
        }
    }
    vst_sysex *sx = malloc(sizeof *sx + len);
    if (!sx) {
        vst_fail(err, VST_E_NOMEM, "out of memory");
        return NULL;
    }
    sx->next = NULL;
    sx->len = len;
    memcpy(sx->data, data, len);
    return sx;
}

void vst_sysex_free(vst_sysex *sx)
{
    free(sx);
}

/* ---- MIDI message builders (any thread) ---- */

static const vst_midi_msg invalid_msg = {0, {0, 0, 0}};

static bool is7(int v) { return v >= 0 && v <= 127; }
static bool is_channel(int v) { return v >= 0 && v <= 15; }

static vst_midi_msg msg3(int status, int channel, int a, int b)
{
    if (!is_channel(channel) || !is7(a) || !is7(b))
        return invalid_msg;
    return (vst_midi_msg){3, {(uint8_t)(status | channel), (uint8_t)a, (uint8_t)b}};
}

static vst_midi_msg msg2(int status, int channel, int a)
{
    if (!is_channel(channel) || !is7(a))
        return invalid_msg;
    return (vst_midi_msg){2, {(uint8_t)(status | channel), (uint8_t)a, 0}};
}

vst_midi_msg vst_midi_note_on(int ch, int key, int vel) { return msg3(0x90, ch, key, vel); }
vst_midi_msg vst_midi_note_off(int ch, int key, int vel) { return msg3(0x80, ch, key, vel); }
vst_midi_msg vst_midi_poly_aftertouch(int ch, int key, int p) { return msg3(0xA0, ch, key, p); }
vst_midi_msg vst_midi_cc(int ch, int cc, int value) { return msg3(0xB0, ch, cc, value); }
vst_midi_msg vst_midi_program_change(int ch, int program) { return msg2(0xC0, ch, program); }
vst_midi_msg vst_midi_channel_aftertouch(int ch, int p) { return msg2(0xD0, ch, p); }

vst_midi_msg vst_midi_pitch_bend(int ch, int value14)
{
    if (value14 < 0 || value14 > 16383)
        return invalid_msg;
    return msg3(0xE0, ch, value14 & 0x7F, value14 >> 7);
}

vst_midi_msg vst_midi_raw(const uint8_t *bytes, size_t len)
{
    if (!bytes || len < 1 || len > 3)
        return invalid_msg;
    if (!(bytes[0] & 0x80) || bytes[0] == 0xF0 || bytes[0] == 0xF7)
        return invalid_msg;
    for (size_t i = 1; i < len; i++)
        if (bytes[i] & 0x80)
            return invalid_msg;
    vst_midi_msg m = {(uint8_t)len, {0, 0, 0}};
    memcpy(m.data, bytes, len);
    return m;
}
