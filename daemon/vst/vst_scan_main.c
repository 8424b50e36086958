/* vst_scan_main.c - sonod-vst-scan: load one plugin in a throwaway process.
 *
 *     sonod-vst-scan PATH
 *
 * Loads PATH with the same code the daemon uses, runs one block of silence
 * through it, and prints its description in the line format documented in
 * vst_info.c on standard output.  Exit status 0 when the description was
 * printed (including a load error, reported as status=<code>), 2 on usage
 * errors.  A crash or hang is seen by the parent (vst_scan) as a signal or
 * a timeout.
 *
 * Plugins print all sorts of things; so before loading, the real standard
 * output is moved to a private descriptor and fd 1 is pointed at stderr. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/vst/vst.h"

#define PROBE_FRAMES 64

static void probe_block(vst_instance *inst)
{
    const vst_info *info = vst_get_info(inst);
    unsigned nin = info->num_inputs > 0 ? (unsigned)info->num_inputs : 0;
    unsigned nout = info->num_outputs > 0 ? (unsigned)info->num_outputs : 0;
    float *mem = calloc((size_t)(nin + nout + 1) * PROBE_FRAMES, sizeof(float));
    const float **in = calloc(nin + 1, sizeof *in);
    float **out = calloc(nout + 1, sizeof *out);
    if (!mem || !in || !out)
        goto done;
    for (unsigned i = 0; i < nin; i++)
        in[i] = mem + (size_t)i * PROBE_FRAMES;
    for (unsigned j = 0; j < nout; j++)
        out[j] = mem + (size_t)(nin + j) * PROBE_FRAMES;
    vst_transport t = {.tempo = 120.0, .time_sig_num = 4, .time_sig_den = 4};
    vst_rt_set_transport(inst, &t);
    vst_rt_process(inst, in, nin, out, nout, PROBE_FRAMES);
done:
    free(mem);
    free(in);
    free(out);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PLUGIN.so\n", argv[0]);
        return 2;
    }
    int out = fcntl(1, F_DUPFD_CLOEXEC, 3);
    if (out < 0 || dup2(2, 1) < 0) {
        perror("sonod-vst-scan");
        return 2;
    }
    dprintf(out, "sonod-vst-scan 1\n");

    vst_config cfg;
    vst_config_init(&cfg);
    cfg.max_block = 512;
    cfg.event_capacity = 16;
    cfg.midi_out_capacity = 16;
    vst_instance *inst = NULL;
    char err[VST_ERR_LEN] = "";
    int rc = vst_load(argv[1], &cfg, &inst, err);
    if (rc != VST_OK) {
        for (char *p = err; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
        dprintf(out, "status=%d\nerror=%s\nend\n", rc, err);
        close(out);
        _exit(0);
    }
    probe_block(inst);
    dprintf(out, "status=0\n");
    vst_info_write(out, vst_get_info(inst));
    dprintf(out, "end\n");
    close(out);
    /* No unload: the description is out, and some plugins misbehave in
     * effClose/dlclose/static destructors.  The process just ends. */
    _exit(0);
}
