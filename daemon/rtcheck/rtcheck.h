/* rtcheck.h - markers for the realtime checker.
 *
 * The audio cycle is wrapped in RT_CYCLE_BEGIN / RT_CYCLE_END.  Built with
 * -Drtsan=true these call into the RealtimeSanitizer runtime, which then
 * aborts the process at the first malloc, free, lock, sleep or file call made
 * on the audio thread.  Calls into code we do not own (VST plugins, Csound)
 * are bracketed with RT_FOREIGN_BEGIN / RT_FOREIGN_END: they are outside our
 * promise, so the checker is switched off around them.
 *
 * In a normal build every marker compiles to nothing. */
#ifndef SONOD_RT_RTCHECK_H
#define SONOD_RT_RTCHECK_H

#ifdef SONOD_RTSAN
void __rtsan_init(void);
void __rtsan_realtime_enter(void);
void __rtsan_realtime_exit(void);
void __rtsan_off(void);
void __rtsan_on(void);
#define RT_CHECK_INIT()     __rtsan_init()
#define RT_CYCLE_BEGIN()    __rtsan_realtime_enter()
#define RT_CYCLE_END()      __rtsan_realtime_exit()
#define RT_FOREIGN_BEGIN()  __rtsan_off()
#define RT_FOREIGN_END()    __rtsan_on()
#else
#define RT_CHECK_INIT()     ((void)0)
#define RT_CYCLE_BEGIN()    ((void)0)
#define RT_CYCLE_END()      ((void)0)
#define RT_FOREIGN_BEGIN()  ((void)0)
#define RT_FOREIGN_END()    ((void)0)
#endif

#endif
