/* testgain.c - three tiny LV2 plugins for sonod's tests, in one bundle:
 *   urn:sonod:test:gain           out = in * gain (control port "gain")
 *   urn:sonod:test:needs-feature  the same code, but its data requires a
 *                                 feature no host provides, so a host
 *                                 must refuse it before instantiating.
 *   urn:sonod:test:cv-gain        CV ports: out = in * gain_cv (a CV input,
 *                                 port 0) and a CV output, port 3, twice
 *                                 gain_cv. */
#include <stdlib.h>

#include <lv2/core/lv2.h>

/* gain: port 0 a control value; cv-gain: port 0 a CV buffer, port 3 a CV
 * output. */
typedef struct {
    const float *gain;
    const float *in;
    float *out, *cv_out;
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
    else if (port == 3)
        g->cv_out = data;
}

static void run(LV2_Handle h, uint32_t n)
{
    gain_t *g = h;
    for (uint32_t i = 0; i < n; i++)
        g->out[i] = g->in[i] * *g->gain;
}

static void cv_run(LV2_Handle h, uint32_t n)
{
    gain_t *g = h;
    for (uint32_t i = 0; i < n; i++) {
        g->out[i] = g->in[i] * g->gain[i];
        g->cv_out[i] = 2.0f * g->gain[i];
    }
}

static void cleanup(LV2_Handle h) { free(h); }

static const LV2_Descriptor gain = {"urn:sonod:test:gain", instantiate, connect_port, NULL, run,
                                    NULL, cleanup, NULL};
static const LV2_Descriptor needs = {"urn:sonod:test:needs-feature", instantiate, connect_port,
                                     NULL, run, NULL, cleanup, NULL};

static const LV2_Descriptor cv = {"urn:sonod:test:cv-gain", instantiate, connect_port, NULL,
                                  cv_run, NULL, cleanup, NULL};

LV2_SYMBOL_EXPORT const LV2_Descriptor *lv2_descriptor(uint32_t index)
{
    return index == 0 ? &gain : index == 1 ? &needs : index == 2 ? &cv : NULL;
}
