/* vst_util.c - error messages, status names and string helpers. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "daemon/vst/vst_instance.h"
#include "protocol/utf8.h"

int vst_fail(char *err, int status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, VST_ERR_LEN, fmt, ap);
        va_end(ap);
    }
    return status;
}

const char *vst_status_name(int status)
{
    switch (status) {
    case VST_OK: return "ok";
    case VST_E_NOT_FOUND: return "not_found";
    case VST_E_NOT_SO: return "not_shared_object";
    case VST_E_DLOPEN: return "dlopen_failed";
    case VST_E_NO_ENTRY: return "no_entry";
    case VST_E_NULL_EFFECT: return "null_effect";
    case VST_E_BAD_MAGIC: return "bad_magic";
    case VST_E_NO_REPLACING: return "no_replacing";
    case VST_E_CRASHED: return "crashed";
    case VST_E_TIMEOUT: return "timeout";
    case VST_E_SCANNER: return "scanner_failed";
    case VST_E_PARAM_INDEX: return "bad_param_index";
    case VST_E_PARAM_NAME: return "bad_param_name";
    case VST_E_PARAM_VALUE: return "bad_param_value";
    case VST_E_PROGRAM: return "bad_program";
    case VST_E_STATE: return "bad_state";
    case VST_E_FULL: return "events_full";
    case VST_E_MIDI: return "bad_midi";
    case VST_E_BLOCK: return "block_too_large";
    case VST_E_NOMEM: return "out_of_memory";
    case VST_E_INVALID: return "invalid";
    case VST_E_DENIED: return "denied";
    case VST_E_UNSUPPORTED: return "unsupported";
    default: return "unknown";
    }
}

const char *vst_category_name(int32_t category)
{
    static const char *const names[] = {
        "unknown", "effect", "synth", "analysis", "mastering", "spatializer",
        "room_fx", "surround_fx", "restoration", "offline", "shell", "generator",
    };
    if (category < 0 || category >= (int32_t)(sizeof names / sizeof names[0]))
        return "unknown";
    return names[category];
}

void vst_copy_string(char *buf, size_t len, const char *src, size_t srclen)
{
    if (!buf || len == 0)
        return;
    size_t n = strnlen(src, srclen);
    while (n > 0 && src[n - 1] == ' ')
        n--;
    char fixed[2 * VST2_STRING_BUFFER];
    if (!sono_utf8_valid(src, n)) {
        /* Latin-1 (or a character cut short): every stray byte read as
         * Latin-1, never sent on as it is. */
        if (n > VST2_STRING_BUFFER)
            n = VST2_STRING_BUFFER;
        n = sono_utf8_repair(src, n, fixed);
        src = fixed;
    }
    if (n > len - 1) {
        n = len - 1;
        /* Not in the middle of a character. */
        while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
            n--;
    }
    memcpy(buf, src, n);
    buf[n] = '\0';
}
