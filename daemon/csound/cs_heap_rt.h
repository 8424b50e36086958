/* cs_heap_rt.h - timed command queue of the audio thread (see cs_heap_rt.c). */
#ifndef SONOD_CSOUND_CS_HEAP_RT_H
#define SONOD_CSOUND_CS_HEAP_RT_H

#include "cs_internal.h"

int cs_heap_push(cs_engine *eng, const cs_cmd *c);   /* 0 when full */
void cs_heap_pop(cs_engine *eng, cs_cmd *out);        /* heap_len > 0 */
static inline const cs_cmd *cs_heap_top(const cs_engine *eng)
{
    return eng->heap_len ? &eng->heap[0] : NULL;
}

#endif
