/* csd_render.c - sonod-csd-render: renders a whole .csd (orchestra and
 * score, with the file's own sr, ksmps, nchnls and 0dbfs) into a float WAV
 * through the daemon's Csound module (cs_render_csd: the offline path, block
 * by block through cs_rt_process).  No daemon is involved.
 *
 * `sonoctl render piece.csd -o out.wav` runs this program, so that sonoctl
 * itself stays a thin protocol client that does not load libcsound64
 * (clients/c/README.md says more).  Output and exit status follow sonoctl:
 * 0 ok, 1 failure ("sonoctl: CODE: message" on stderr), 2 usage. */
#include <errno.h>
#include <sndfile.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/csound/cs_engine.h"

/* The block the render loop hands to cs_rt_process: as the bench measured
 * it (bench/csound); rounded up to a multiple of the file's ksmps. */
#define BLOCK 1024

static void json_str(const char *s) {
  putchar('"');
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      printf("\\%c", *s);
    else if ((unsigned char)*s < 0x20)
      printf("\\u%04x", *s);
    else
      putchar(*s);
  }
  putchar('"');
}

int main(int argc, char **argv) {
  bool json = false;
  const char *in, *out;
  struct timespec t0, t1;
  cs_error err;
  SF_INFO info;
  SNDFILE *sf;
  double secs;
  int i = 1, rc;

  if (argc > 1 && strcmp(argv[1], "--json") == 0) {
    json = true;
    i++;
  }
  if (argc - i != 2) {
    fputs("usage: sonod-csd-render [--json] PIECE.csd OUT.wav\n", stderr);
    return 2;
  }
  in = argv[i];
  out = argv[i + 1];
  /* Csound reports a missing file only as a failed compile: say it plainly. */
  if (access(in, R_OK) != 0) {
    fprintf(stderr, "sonoctl: file_error: cannot read %s: %s\n", in, strerror(errno));
    return 1;
  }
  memset(&err, 0, sizeof err);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  rc = cs_render_csd(in, out, BLOCK, &err);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (rc != 0) {
    const char *code = rc == CS_EIO      ? "file_error"
                       : rc == CS_ENOMEM ? "out_of_memory"
                       : rc == CS_EINVAL ? "bad_value"
                                         : "csound_error";
    fprintf(stderr, "sonoctl: %s: %s\n", code, err.msg);
    return 1;
  }
  secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  memset(&info, 0, sizeof info);
  if ((sf = sf_open(out, SFM_READ, &info)) == NULL) {
    fprintf(stderr, "sonoctl: file_error: cannot read back %s: %s\n", out, sf_strerror(NULL));
    return 1;
  }
  sf_close(sf);
  if (json) {
    fputs("{\"file\":", stdout);
    json_str(out);
    printf(",\"frames\":%lld,\"sample_rate\":%d,\"channels\":%d,\"seconds\":%.6f}\n",
           (long long)info.frames, info.samplerate, info.channels, secs);
  } else {
    printf("rendered %lld frames (%.3f s of audio, %d Hz, %d channels) to %s in %.3f s\n",
           (long long)info.frames, (double)info.frames / info.samplerate, info.samplerate,
           info.channels, out, secs);
  }
  return 0;
}
