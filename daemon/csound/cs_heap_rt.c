/* cs_heap_rt.c - the audio thread's timed command queue.  AUDIO THREAD code.
 *
 * A binary min-heap over (frame, seq) in storage allocated at creation: no
 * allocation here.  seq is the arrival order, so commands for the same frame
 * come out in the order the control thread sent them (a chord in one bundle
 * starts in order, a set after a start applies after it). */
#include "cs_heap_rt.h"

static int before(const cs_cmd *a, const cs_cmd *b)
{
    return a->frame < b->frame || (a->frame == b->frame && a->seq < b->seq);
}

int cs_heap_push(cs_engine *eng, const cs_cmd *c)
{
    if (eng->heap_len == eng->heap_cap)
        return 0;
    size_t i = eng->heap_len++;
    cs_cmd *h = eng->heap;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(c, &h[parent]))
            break;
        h[i] = h[parent];
        i = parent;
    }
    h[i] = *c;
    return 1;
}

void cs_heap_pop(cs_engine *eng, cs_cmd *out)
{
    cs_cmd *h = eng->heap;
    *out = h[0];
    cs_cmd last = h[--eng->heap_len];
    size_t n = eng->heap_len, i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const cs_cmd *best = &last;
        if (l < n && before(&h[l], best)) { m = l; best = &h[l]; }
        if (r < n && before(&h[r], best)) { m = r; }
        if (m == i)
            break;
        h[i] = h[m];
        i = m;
    }
    if (n)
        h[i] = last;
}
