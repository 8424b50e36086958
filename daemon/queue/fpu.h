/* fpu.h - AUDIO THREAD.  Denormal floats flushed to zero.
 *
 * A decaying filter or reverb tail that reaches the denormal range (below
 * about 1e-38) costs up to a hundred times the cycles of a normal number on
 * x86.  Every thread that runs the engine (JACK's process thread, the null
 * clock thread, the offline renderer) gets FTZ (results flushed) and DAZ
 * (inputs read as zero) at the start of every cycle, from engine_process:
 * so it holds on whichever thread calls it, and a plugin that clears the
 * bits gets them back at the next cycle.  An isolated plugin's processing
 * thread (sonod-plugin-host) sets them before every call it runs.  Here in
 * the bottom layer so that both the engine and the plugin host use it.  One register read per cycle, and a
 * write only when something changed them. */
#ifndef SONOD_QUEUE_FPU_H
#define SONOD_QUEUE_FPU_H

#include <stdbool.h>
#include <stdint.h>

#if defined(__x86_64__) || defined(__i386__)
#define RT_FPU_FTZ_DAZ 0x8040u   /* MXCSR bit 15 FTZ, bit 6 DAZ */

static inline void rt_fpu_flush_denormals(void) {
  unsigned csr = __builtin_ia32_stmxcsr();

  if ((csr & RT_FPU_FTZ_DAZ) != RT_FPU_FTZ_DAZ)
    __builtin_ia32_ldmxcsr(csr | RT_FPU_FTZ_DAZ);
}

/* Tests: are both set on this thread; clear them (a fresh thread's state). */
static inline bool rt_fpu_flushing(void) {
  return (__builtin_ia32_stmxcsr() & RT_FPU_FTZ_DAZ) == RT_FPU_FTZ_DAZ;
}

static inline void rt_fpu_clear(void) {
  __builtin_ia32_ldmxcsr(__builtin_ia32_stmxcsr() & ~RT_FPU_FTZ_DAZ);
}
#elif defined(__aarch64__)
#define RT_FPU_FZ (1ull << 24)   /* FPCR.FZ: flushes inputs and results */

static inline uint64_t rt_fpu_fpcr(void) {
  uint64_t r;
  __asm__ volatile("mrs %0, fpcr" : "=r"(r));
  return r;
}

static inline void rt_fpu_set_fpcr(uint64_t r) {
  __asm__ volatile("msr fpcr, %0" : : "r"(r));
}

static inline void rt_fpu_flush_denormals(void) {
  uint64_t r = rt_fpu_fpcr();

  if (!(r & RT_FPU_FZ))
    rt_fpu_set_fpcr(r | RT_FPU_FZ);
}

static inline bool rt_fpu_flushing(void) {
  return (rt_fpu_fpcr() & RT_FPU_FZ) != 0;
}

static inline void rt_fpu_clear(void) {
  rt_fpu_set_fpcr(rt_fpu_fpcr() & ~RT_FPU_FZ);
}
#else
static inline void rt_fpu_flush_denormals(void) {}
static inline bool rt_fpu_flushing(void) { return true; }
static inline void rt_fpu_clear(void) {}
#endif

#endif
