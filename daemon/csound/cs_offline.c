/* cs_offline.c - rendering a whole .csd through the engine (control thread;
 * the render loop plays the audio thread's role itself, block by block).
 *
 * The .csd decides sr, ksmps, nchnls and 0dbfs: Csound compiles the file
 * before it starts, exactly as the command line does, and the engine reads
 * the values back.  Output is scaled by 1/0dbfs, like Csound's own float
 * sound file output. */
#include "cs_internal.h"

#include "daemon/file/file.h"

#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

int cs_csd_settings_read(const char *path, cs_csd_settings *s, cs_error *err)
{
    cs_config cfg = { 0 };
    cs_engine *eng;
    int rc = cs_engine_create_ex(&cfg, path, &eng, err);
    if (rc)
        return rc;
    s->sr = eng->sr;
    s->ksmps = eng->ksmps;
    s->nchnls = eng->nchnls;
    s->nchnls_i = eng->nchnls_i;
    s->zerodbfs = 1.0 / eng->out_scale;
    cs_engine_destroy(eng);
    return 0;
}

int cs_engine_finished(const cs_engine *eng)
{
    return atomic_load_explicit(&eng->finished, memory_order_acquire);
}

int cs_engine_create_csd(const char *path, cs_engine **out, cs_error *err)
{
    cs_config cfg = { 0 };
    return cs_engine_create_ex(&cfg, path, out, err);
}

/* The output's format, from its name as the csound command line reads it
 * (-o x.flac writes FLAC): float where the format has it. */
static int format_for(const char *path)
{
    static const struct { const char *ext; int format; } f[] = {
        { ".wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT },
        { ".wave", SF_FORMAT_WAV | SF_FORMAT_FLOAT },
        { ".flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_24 },
        { ".aif", SF_FORMAT_AIFF | SF_FORMAT_FLOAT },
        { ".aiff", SF_FORMAT_AIFF | SF_FORMAT_FLOAT },
        { ".caf", SF_FORMAT_CAF | SF_FORMAT_FLOAT },
        { ".w64", SF_FORMAT_W64 | SF_FORMAT_FLOAT },
    };
    const char *dot = strrchr(path, '.');
    if (!dot || strchr(dot, '/'))
        return 0;
    for (size_t i = 0; i < sizeof f / sizeof *f; i++)
        if (!strcasecmp(dot, f[i].ext))
            return f[i].format;
    return 0;
}

/* The .csd's input (-i in <CsOptions>), read with libsndfile and handed to
 * cs_rt_process as the audio input, as the command line feeds it to `in`;
 * silence after its end. */
typedef struct csd_input {
    SNDFILE *sf;
    unsigned nch;
    float *inter, *planar;
    const float **ins;
} csd_input;

static int input_open(cs_engine *eng, csd_input *in, unsigned block, cs_error *err)
{
    const char *name = csoundGetInputName(eng->cs);
    memset(in, 0, sizeof *in);
    if (!name || !*name)
        return 0;
    if (!strncmp(name, "adc", 3) || !strcmp(name, "stdin") || !strcmp(name, "-"))
        return cs_seterr(err, CS_EINVAL, "-i %s: a render reads its input from a sound file, "
                         "not a device or a pipe", name);
    char why[512];
    int fd = file_open_read(name, why, sizeof why);
    if (fd < 0)
        return cs_seterr(err, CS_EIO, "-i: cannot read %s", why);
    SF_INFO info = { 0 };
    in->sf = sf_open_fd(fd, SFM_READ, &info, SF_TRUE);
    if (!in->sf) {
        close(fd);
        return cs_seterr(err, CS_EIO, "-i: cannot read %s: %s", name, sf_strerror(NULL));
    }
    if ((unsigned)info.channels != eng->nchnls_i)
        return cs_seterr(err, CS_EINVAL, "-i %s has %d channels, the orchestra's nchnls_i is %u",
                         name, info.channels, eng->nchnls_i);
    if (info.samplerate != (int)eng->sr)
        return cs_seterr(err, CS_EINVAL, "-i %s runs at %d Hz, the orchestra at %g Hz", name,
                         info.samplerate, eng->sr);
    in->nch = eng->nchnls_i;
    in->inter = malloc((size_t)block * in->nch * sizeof(float));
    in->planar = malloc((size_t)block * in->nch * sizeof(float));
    in->ins = malloc(in->nch * sizeof(float *));
    if (!in->inter || !in->planar || !in->ins)
        return cs_seterr(err, CS_ENOMEM, "out of memory");
    for (unsigned c = 0; c < in->nch; c++)
        in->ins[c] = in->planar + (size_t)c * block;
    return 0;
}

static void input_read(csd_input *in, unsigned block)
{
    if (!in->sf)
        return;
    sf_count_t got = sf_readf_float(in->sf, in->inter, block);
    if (got < 0)
        got = 0;
    for (unsigned c = 0; c < in->nch; c++)
        for (unsigned f = 0; f < block; f++)
            in->planar[(size_t)c * block + f] =
                (sf_count_t)f < got ? in->inter[(size_t)f * in->nch + c] : 0.0f;
}

static void input_close(csd_input *in)
{
    if (in->sf)
        sf_close(in->sf);
    free(in->inter); free(in->planar); free(in->ins);
}

/* Csound's errors while it performs (an opcode that cannot open its file:
 * INIT ERROR; PERF ERROR): counted as the command line counts them ("N
 * errors in performance", exit 1), the first one kept for the message. */
typedef struct csd_errors {
    unsigned count;
    char first[CS_MSG_LINE];
} csd_errors;

static void drain(cs_engine *eng, csd_errors *e)
{
    char line[CS_MSG_LINE];
    cs_notice n;
    while (cs_message_pop(eng, line, sizeof line, NULL))
        if (strstr(line, "INIT ERROR") || strstr(line, "PERF ERROR")) {
            if (!e->count++)
                snprintf(e->first, sizeof e->first, "%s", line);
        }
    while (cs_notice_pop(eng, &n))
        ;
}

int cs_render_csd(const char *csd_path, const char *out_path, unsigned block_frames,
                  cs_error *err)
{
    int format = format_for(out_path);
    if (!format)
        return cs_seterr(err, CS_EINVAL, "cannot tell the format of %s from its name: use "
                         ".wav, .flac, .aif(f), .caf or .w64", out_path);
    cs_engine *eng;
    int rc = cs_engine_create_csd(csd_path, &eng, err);
    if (rc)
        return rc;
    unsigned ks = eng->ksmps, nch = eng->nchnls;
    unsigned block = block_frames ? block_frames : 256;
    block = (block + ks - 1) / ks * ks;
    csd_errors errs = { 0 };
    /* The orchestra's global code ran in csoundStart, its text captured. */
    for (const char *l = eng->cap.buf; (l = strstr(l, "INIT ERROR")) != NULL; l++)
        if (!errs.count++)
            snprintf(errs.first, sizeof errs.first, "%.*s", (int)strcspn(l, "\n"), l);
    csd_input in;
    if ((rc = input_open(eng, &in, block, err))) {
        input_close(&in);
        cs_engine_destroy(eng);
        return rc;
    }
    SF_INFO info = { .samplerate = (int)eng->sr, .channels = (int)nch, .format = format };
    char why[512];
    int fd = file_open_write(out_path, why, sizeof why);
    if (fd < 0) {
        input_close(&in);
        cs_engine_destroy(eng);
        return cs_seterr(err, CS_EIO, "cannot write %s", why);
    }
    SNDFILE *sf = sf_open_fd(fd, SFM_WRITE, &info, SF_TRUE);
    if (!sf) {
        close(fd);
        input_close(&in);
        cs_engine_destroy(eng);
        return cs_seterr(err, CS_EIO, "cannot write %s: %s", out_path, sf_strerror(NULL));
    }
    float *planar = malloc((size_t)block * nch * sizeof(float));
    float *inter = malloc((size_t)block * nch * sizeof(float));
    float **outs = malloc(nch * sizeof(float *));
    if (!planar || !inter || !outs) {
        rc = cs_seterr(err, CS_ENOMEM, "out of memory");
        goto done;
    }
    for (unsigned c = 0; c < nch; c++)
        outs[c] = planar + (size_t)c * block;
    while (!cs_engine_finished(eng)) {
        uint64_t start = cs_engine_frame(eng);
        input_read(&in, block);
        cs_rt_process(eng, in.ins, in.nch, outs, nch, block);
        /* The score may end inside the block: the engine leaves the rest
         * silent, and we keep only whole k-cycles that Csound performed. */
        unsigned frames = block;
        if (cs_engine_finished(eng))
            frames = eng->finish_frame > start ? (unsigned)(eng->finish_frame - start) : 0;
        for (unsigned f = 0; f < frames; f++)
            for (unsigned c = 0; c < nch; c++)
                inter[(size_t)f * nch + c] = outs[c][f];
        if (sf_writef_float(sf, inter, frames) != frames && !rc)
            rc = cs_seterr(err, CS_EIO, "writing %s failed: %s", out_path, sf_strerror(sf));
        drain(eng, &errs);
    }
    drain(eng, &errs);
    if (!rc && errs.count)
        rc = cs_seterr(err, CS_EPERF, "%u errors in performance; the first: %s", errs.count,
                       errs.first);
done:
    sf_close(sf);
    free(planar); free(inter); free(outs);
    input_close(&in);
    cs_engine_destroy(eng);
    return rc;
}
