/* testgain.c - two tiny LV2 plugins for sonod's tests, in one bundle:
 *   urn:sonod:test:gain           out = in * gain (control port "gain")
 *   urn:sonod:test:needs-feature  the same code, but its data requires a
 *                                 feature no host provides, so a host
 *                                 must refuse it before instantiating. */
#include <stdlib.h>

#include <lv2/core/lv2.h>

typedef struct {
    const float *gain;
    const float *in;
    float *out;
} gain_t;

static LV2_Handle instantiate(const LV2_Descriptor *d, double rate, const char *path,
                              const LV2_Feature *const *features)
{
    (void)d;
    (void)rate;
    (void)path;
    (void)features;
    return calloc(1, sizeof(gain_t));
}

static void connect_port(LV2_Handle h, uint32_t port, void *data)
{
    gain_t *g = h;
    if (port == 0)
        g->gain = data;
    else if (port == 1)
        g->in = data;
    else if (port == 2)
        g->out = data;
}

static void run(LV2_Handle h, uint32_t n)
{
    gain_t *g = h;
    for (uint32_t i = 0; i < n; i++)
        g->out[i] = g->in[i] * *g->gain;
}

static void cleanup(LV2_Handle h) { free(h); }

static const LV2_Descriptor gain = {"urn:sonod:test:gain", instantiate, connect_port, NULL, run,
                                    NULL, cleanup, NULL};
static const LV2_Descriptor needs = {"urn:sonod:test:needs-feature", instantiate, connect_port,
                                     NULL, run, NULL, cleanup, NULL};

LV2_SYMBOL_EXPORT const LV2_Descriptor *lv2_descriptor(uint32_t index)
{
    return index == 0 ? &gain : index == 1 ? &needs : NULL;
}
