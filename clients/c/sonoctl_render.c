/* sonoctl_render.c - `sonoctl render piece.csd -o out.wav`: renders a .csd
 * locally through sonod-csd-render, a helper program that links Csound so
 * that sonoctl itself does not load libcsound64 (README.md says why). */
#include "sonoctl.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef SONOCTL_LIBEXECDIR
#define SONOCTL_LIBEXECDIR "/usr/local/libexec"
#endif
#define RENDER_HELPER "sonod-csd-render"

int ctl_csd_render(ctl *g, const char *csd, const char *out) {
  char path[PATH_MAX], self[PATH_MAX];
  const char *env = getenv("SONOD_CSD_RENDER");
  char *args[5];
  ssize_t n;
  int k = 0;

  /* $SONOD_CSD_RENDER, then next to this sonoctl (the build tree), then
   * the installed libexec directory. */
  args[k++] = (char *)RENDER_HELPER;
  if (g->json)
    args[k++] = (char *)"--json";
  args[k++] = (char *)csd;
  args[k++] = (char *)out;
  args[k] = NULL;
  fflush(stdout);
  if (env != NULL && env[0] != '\0') {
    execv(env, args);
    fprintf(stderr, "sonoctl: not_found: cannot run $SONOD_CSD_RENDER (%s): %s\n", env,
            strerror(errno));
    return CTL_FAIL;
  }
  if ((n = readlink("/proc/self/exe", self, sizeof self - 1)) > 0) {
    char *slash;
    self[n] = '\0';
    if ((slash = strrchr(self, '/')) != NULL) {
      *slash = '\0';
      if (snprintf(path, sizeof path, "%s/%s", self, RENDER_HELPER) < (int)sizeof path &&
          access(path, X_OK) == 0)
        execv(path, args);
    }
  }
  snprintf(path, sizeof path, "%s/%s", SONOCTL_LIBEXECDIR, RENDER_HELPER);
  execv(path, args);
  fprintf(stderr, "sonoctl: not_found: cannot run %s: %s (set $SONOD_CSD_RENDER)\n", path,
          strerror(errno));
  return CTL_FAIL;
}
