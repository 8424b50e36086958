/* cs_msg_rt.c - Csound's message callback.  AUDIO THREAD code.
 *
 * Csound prints from whichever thread calls into it.  We take its messages
 * as a format and a va_list (csoundSetMessageCallback) and format each on
 * the thread that prints it, into that thread's own buffer: Csound's string
 * callback would first format into one buffer in the CSOUND struct shared
 * by every thread, so a compile error printed on the control thread while
 * the audio thread printed came back with the audio thread's text in it.
 * On the control thread every call into Csound is bracketed by
 * cs_capture_begin/end, which points a thread-local capture buffer at the
 * engine: text printed there (parse errors, start-up messages) is appended
 * to that buffer so the caller can return it.  Anywhere else the caller is
 * the audio thread, and the text is assembled into lines and pushed to a
 * lock-free ring drained by the control side.  No allocation, no lock, no
 * I/O (vsnprintf into a fixed thread-local buffer): a message longer than
 * the buffer or a line longer than a record is cut (counted in
 * msg_truncated), a line that finds the ring full is dropped (counted in
 * msg_dropped).  This runs inside Csound's perf pass, i.e. inside an
 * RT_FOREIGN section, but it is our code and keeps the rule. */
#include "cs_internal.h"

#include <stdio.h>
#include <string.h>

_Thread_local cs_capture *cs_tl_capture;

static void flush_line(cs_engine *eng)
{
    cs_msg_rec rec;
    rec.attr = eng->msg_attr;
    memcpy(rec.text, eng->msg_acc, eng->msg_len);
    rec.text[eng->msg_len] = '\0';
    if (spsc_push(eng->msg_ring, &rec) != 0)
        atomic_fetch_add_explicit(&eng->msg_dropped, 1, memory_order_relaxed);
    eng->msg_len = 0;
    eng->msg_attr = 0;
}

static void capture_append(cs_capture *cap, const char *str)
{
    size_t n = strlen(str);
    size_t room = sizeof cap->buf - 1 - cap->len;
    if (n > room)
        n = room;
    memcpy(cap->buf + cap->len, str, n);
    cap->len += n;
    cap->buf[cap->len] = '\0';
}

/* Csound's own limit for one message (MAX_MESSAGE_STR in csound.c). */
#define CS_MSG_FORMAT 1024

void cs_msg_callback(CSOUND *cs, int attr, const char *format, va_list args)
{
    static _Thread_local char text[CS_MSG_FORMAT];
    cs_engine *eng = csoundGetHostData(cs);
    if (!eng || !format)
        return;
    int n = vsnprintf(text, sizeof text, format, args);
    if (n < 0)
        return;
    const char *str = text;
    if ((size_t)n >= sizeof text)
        atomic_fetch_add_explicit(&eng->msg_truncated, 1, memory_order_relaxed);
    if (cs_tl_capture) {
        capture_append(cs_tl_capture, str);
        return;
    }
    if (eng->msg_len == 0)
        eng->msg_attr = attr;
    for (const char *p = str; *p; p++) {
        if (*p == '\n') {
            flush_line(eng);
            continue;
        }
        if (eng->msg_len == CS_MSG_LINE - 1) {
            /* Cut here, keep the start; the rest of the line is skipped. */
            atomic_fetch_add_explicit(&eng->msg_truncated, 1, memory_order_relaxed);
            flush_line(eng);
            while (p[1] && p[1] != '\n')
                p++;
            eng->msg_len = 0;
            if (p[1] == '\n')
                p++;
            continue;
        }
        eng->msg_acc[eng->msg_len++] = *p;
    }
}
