/* svc_util.h - helpers for the service suite: temporary files, and
 * running a program with extra environment and its output in a file. */
#ifndef SONOD_TESTS_SVC_UTIL_H
#define SONOD_TESTS_SVC_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A fresh directory under /tmp, removed by nothing: the tests leave their
 * files behind for inspection when they fail. */
void svc_tmpdir(char *dir, size_t size);
void svc_write_file(const char *path, const char *text);
/* The whole file, NUL-terminated, malloc'd ("" when it cannot be read). */
char *svc_read_file(const char *path);

/* Starts argv[0] with stdout and stderr to log.  env holds extra "KEY=VALUE"
 * entries (NULL-terminated, may be NULL); a value of "self" is replaced by
 * the child's own pid, for LISTEN_PID and WATCHDOG_PID.  Descriptors in
 * keep[] (ending with -1, may be NULL) are moved to 3, 4, ... in order. */
pid_t svc_spawn(const char *const *argv, const char *const *env, const int *keep,
                const char *log);
/* Waits for pid; returns its exit status, or -signal.  Kills it and fails
 * the test after timeout_ms. */
int svc_wait(pid_t pid, int timeout_ms);
/* Waits until path exists; false after timeout_ms. */
bool svc_wait_path(const char *path, int timeout_ms);
long svc_now_ms(void);

#endif
