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
#include <stdlib.h>
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

int cs_render_csd(const char *csd_path, const char *out_path, unsigned block_frames,
                  cs_error *err)
{
    cs_engine *eng;
    int rc = cs_engine_create_csd(csd_path, &eng, err);
    if (rc)
        return rc;
    unsigned ks = eng->ksmps, nch = eng->nchnls;
    unsigned block = block_frames ? block_frames : 256;
    block = (block + ks - 1) / ks * ks;
    SF_INFO info = { .samplerate = (int)eng->sr, .channels = (int)nch,
                     .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT };
    char why[512];
    int fd = file_open_write(out_path, why, sizeof why);
    if (fd < 0) {
        cs_engine_destroy(eng);
        return cs_seterr(err, CS_EIO, "cannot write %s", why);
    }
    SNDFILE *sf = sf_open_fd(fd, SFM_WRITE, &info, SF_TRUE);
    if (!sf) {
        close(fd);
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
    char line[CS_MSG_LINE];
    cs_notice n;
    while (!cs_engine_finished(eng)) {
        uint64_t start = cs_engine_frame(eng);
        cs_rt_process(eng, NULL, 0, outs, nch, block);
        /* The score may end inside the block: the engine leaves the rest
         * silent, and we keep only whole k-cycles that Csound performed. */
        unsigned frames = block;
        if (cs_engine_finished(eng))
            frames = eng->finish_frame > start ? (unsigned)(eng->finish_frame - start) : 0;
        for (unsigned f = 0; f < frames; f++)
            for (unsigned c = 0; c < nch; c++)
                inter[(size_t)f * nch + c] = outs[c][f];
        sf_writef_float(sf, inter, frames);
        while (cs_message_pop(eng, line, sizeof line, NULL))
            ;
        while (cs_notice_pop(eng, &n))
            ;
    }
done:
    sf_close(sf);
    free(planar); free(inter); free(outs);
    cs_engine_destroy(eng);
    return rc;
}
