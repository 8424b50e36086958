/* crash_log.h - what the daemon writes when it dies of a fatal signal. */
#ifndef SONOD_CRASH_LOG_H
#define SONOD_CRASH_LOG_H

#include <signal.h>

/* Loads what the report needs (backtrace's libgcc) outside any handler. */
void crash_log_prepare(void);

/* Writes to fd, from inside a signal handler (write(2), open(2), read(2)
 * only): the plugin and call the thread was in, if any, the signal and its code, the faulting address and the mapping
 * that holds it (from /proc/self/maps), the thread, and a backtrace. */
void crash_log_write(int fd, int sig, const siginfo_t *si);

#endif
