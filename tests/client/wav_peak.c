/* wav_peak FILE [FROM TO] - prints "FRAMES RATE CHANNELS PEAK" for a sound
 * file: PEAK is the largest |sample| of any channel in frames [FROM, TO)
 * (default: the whole file).  For the shell tests, which check where a
 * render is silent and where it sounds. */
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  SF_INFO info;
  SNDFILE *f;
  float buf[4096];
  sf_count_t from = 0, to, pos = 0, n;
  double peak = 0;

  if (argc != 2 && argc != 4) {
    fputs("usage: wav_peak FILE [FROM TO]\n", stderr);
    return 2;
  }
  memset(&info, 0, sizeof info);
  if ((f = sf_open(argv[1], SFM_READ, &info)) == NULL) {
    fprintf(stderr, "wav_peak: %s: %s\n", argv[1], sf_strerror(NULL));
    return 1;
  }
  to = info.frames;
  if (argc == 4) {
    from = atoll(argv[2]);
    to = atoll(argv[3]);
  }
  while ((n = sf_readf_float(f, buf, (sf_count_t)(sizeof buf / sizeof buf[0]) / info.channels)) > 0) {
    for (sf_count_t i = 0; i < n; i++, pos++)
      if (pos >= from && pos < to)
        for (int c = 0; c < info.channels; c++)
          peak = fmax(peak, fabs(buf[i * info.channels + c]));
  }
  sf_close(f);
  printf("%lld %d %d %.6f\n", (long long)info.frames, info.samplerate, info.channels, peak);
  return 0;
}
