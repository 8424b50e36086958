/* cs_msg.c - control side of Csound's messages: capture while the control
 * thread calls into Csound, and draining the audio thread's message ring. */
#include "cs_internal.h"

#include <string.h>

extern _Thread_local cs_capture *cs_tl_capture;

void cs_capture_begin_into(cs_capture *cap)
{
    cap->len = 0;
    cap->buf[0] = '\0';
    cs_tl_capture = cap;
}

void cs_capture_begin(cs_engine *eng)
{
    cs_capture_begin_into(&eng->cap);
}

void cs_capture_end(cs_engine *eng)
{
    (void)eng;
    cs_tl_capture = NULL;
}

int cs_message_pop(cs_engine *eng, char *line, size_t cap, int *attr)
{
    cs_msg_rec rec;
    if (spsc_pop(eng->msg_ring, &rec) != 0)
        return 0;
    if (cap) {
        size_t n = strnlen(rec.text, sizeof rec.text);
        if (n >= cap)
            n = cap - 1;
        memcpy(line, rec.text, n);
        line[n] = '\0';
    }
    if (attr)
        *attr = rec.attr;
    return 1;
}

uint64_t cs_messages_dropped(const cs_engine *eng)
{
    return atomic_load_explicit(&eng->msg_dropped, memory_order_relaxed);
}

uint64_t cs_messages_truncated(const cs_engine *eng)
{
    return atomic_load_explicit(&eng->msg_truncated, memory_order_relaxed);
}
