/* vst_test_util.h - shared helpers for the VST host tests. */
#ifndef SONOD_TESTS_VST_UTIL_H
#define SONOD_TESTS_VST_UTIL_H

#include <check.h>

#include "daemon/rtcheck/rtcheck.h"
#include "daemon/vst/vst.h"
#include "daemon/vst/vst2_abi.h"
#include "tests/vst/testplug.h"

/* The audio-thread calls of a test go between these, so that a build with
 * -Drtsan=true checks that our side of them never allocates or locks. */
#define VT_RT_BEGIN() RT_CYCLE_BEGIN()
#define VT_RT_END() RT_CYCLE_END()

/* Point HOME and the XDG directories at a fresh temporary directory
 * (amsynth and ZynAddSubFX write there); vt_home_cleanup removes it. */
const char *vt_home_setup(void);
void vt_home_cleanup(void);

/* Value of a required environment variable (set by meson test). */
const char *vt_env(const char *name);

vst_instance *vt_load(const char *path, double rate, unsigned max_block, unsigned events);
vst_instance *vt_load_cfg(const char *path, const vst_config *cfg);

/* The test plugin's record for this instance (testplug_stats via dlsym). */
tp_stats *vt_stats(vst_instance *inst);
const char *vt_global_log(const char *plugin_path);
void vt_global_log_reset(const char *plugin_path);

/* One audio block: transport at `frame`, then vst_rt_process. */
int vt_block(vst_instance *inst, int64_t frame, const float *const *in, unsigned nin,
             float *const *out, unsigned nout, unsigned n);

/* Make $HOME/name and its subfolder sub for a scan to walk; their paths
 * go into dir and sub. */
void vt_scan_folder(const char *name, char *dir, size_t dir_len, char *sub, size_t sub_len);

/* Copy a file (to get one whose mtime the test may change). */
void vt_copy_file(const char *from, const char *to);

/* Run a suite, return the exit status for main. */
int vt_run(Suite *s);

#endif
