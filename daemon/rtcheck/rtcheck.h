/* rtcheck.h - markers for the realtime checker.
 *
 * The audio cycle is wrapped in RT_CYCLE_BEGIN / RT_CYCLE_END (the JACK
 * callback's own code and engine_process; they nest).  Built with
 * -Drtsan=true these call into the RealtimeSanitizer runtime, which then
 * aborts the process at the first malloc, free, lock, sleep or file call made
 * on the audio thread, and into rtcheck.c, which (once armed with
 * RT_CHECK_ARM) fails it at the first system call of any kind or page fault
 * there, on the threads that enrolled with RT_CHECK_THREAD (sonod's own:
 * the null clock and the offline renderer).  Calls into code we do not own (VST plugins, Csound) are bracketed
 * with RT_FOREIGN_BEGIN / RT_FOREIGN_END: they are outside our promise, so
 * both checks are switched off around them.  The one system call the cycle
 * may make, the wake-up of the control thread, goes between
 * RT_SYSCALL_BEGIN / RT_SYSCALL_END.
 *
 * In a normal build every marker compiles to nothing. */
#ifndef SONOD_RT_RTCHECK_H
#define SONOD_RT_RTCHECK_H

#include <stdbool.h>

#ifdef SONOD_RTSAN
void __rtsan_init(void);
void __rtsan_realtime_enter(void);
void __rtsan_realtime_exit(void);
void __rtsan_off(void);
void __rtsan_on(void);
/* rtcheck.c.  faults: also fail on page faults (memory is locked). */
void rtcheck_arm(bool faults);
void rtcheck_thread(void);
void rtcheck_cycle_begin(void);
void rtcheck_cycle_end(void);
void rtcheck_foreign_begin(void);
void rtcheck_foreign_end(void);
void rtcheck_syscall_begin(void);
void rtcheck_syscall_end(void);
#define RT_CHECK_INIT()     __rtsan_init()
#define RT_CHECK_ARM(f)     rtcheck_arm(f)
#define RT_CHECK_THREAD()   rtcheck_thread()
#define RT_CYCLE_BEGIN()    (__rtsan_realtime_enter(), rtcheck_cycle_begin())
#define RT_CYCLE_END()      (rtcheck_cycle_end(), __rtsan_realtime_exit())
#define RT_FOREIGN_BEGIN()  (rtcheck_foreign_begin(), __rtsan_off())
#define RT_FOREIGN_END()    (__rtsan_on(), rtcheck_foreign_end())
#define RT_SYSCALL_BEGIN()  rtcheck_syscall_begin()
#define RT_SYSCALL_END()    rtcheck_syscall_end()
#else
#define RT_CHECK_INIT()     ((void)0)
#define RT_CHECK_ARM(f)     ((void)(f))
#define RT_CHECK_THREAD()   ((void)0)
#define RT_CYCLE_BEGIN()    ((void)0)
#define RT_CYCLE_END()      ((void)0)
#define RT_FOREIGN_BEGIN()  ((void)0)
#define RT_FOREIGN_END()    ((void)0)
#define RT_SYSCALL_BEGIN()  ((void)0)
#define RT_SYSCALL_END()    ((void)0)
#endif

#endif
