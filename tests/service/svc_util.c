/* svc_util.c - see svc_util.h.  Failures abort the current Check test. */
#include "tests/service/svc_util.h"
#include "tests/support/harness.h"

#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

long svc_now_ms(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

void svc_tmpdir(char *dir, size_t size) {
  tmp_dir_make(dir, size, "svc");
}

void svc_write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");

  ck_assert_msg(f != NULL, "cannot write %s", path);
  fputs(text, f);
  fclose(f);
}

char *svc_read_file(const char *path) {
  FILE *f = fopen(path, "r");
  char *buf = malloc(1 << 20);
  size_t n = 0;

  ck_assert_ptr_nonnull(buf);
  if (f != NULL) {
    n = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
  }
  buf[n] = '\0';
  return buf;
}

pid_t svc_spawn(const char *const *argv, const char *const *env, const int *keep,
                const char *log) {
  pid_t pid = fork();

  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    int logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int n = 0, i, moved[16];
    char self[32];

    dup2(logfd, 1);
    dup2(logfd, 2);
    /* Above the target range first, so moving one cannot clobber another. */
    for (n = 0; keep != NULL && keep[n] >= 0 && n < 16; n++)
      moved[n] = fcntl(keep[n], F_DUPFD_CLOEXEC, 100);
    for (i = 0; i < n; i++)
      dup2(moved[i], 3 + i);   /* dup2 clears close-on-exec */
    snprintf(self, sizeof self, "%ld", (long)getpid());
    for (; env != NULL && *env != NULL; env++) {
      char kv[4096];
      char *eq;

      snprintf(kv, sizeof kv, "%s", *env);
      eq = strchr(kv, '=');
      if (eq == NULL)
        continue;
      *eq = '\0';
      setenv(kv, strcmp(eq + 1, "self") == 0 ? self : eq + 1, 1);
    }
    execv(argv[0], (char *const *)argv);
    perror("execv");
    _exit(127);
  }
  return pid;
}

int svc_wait(pid_t pid, int timeout_ms) {
  long deadline = svc_now_ms() + timeout_ms;
  int status;

  while (waitpid(pid, &status, WNOHANG) != pid) {
    if (svc_now_ms() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      ck_abort_msg("process %ld did not exit within %d ms", (long)pid, timeout_ms);
    }
    usleep(5000);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

bool svc_wait_path(const char *path, int timeout_ms) {
  long deadline = svc_now_ms() + timeout_ms;
  struct stat st;

  while (stat(path, &st) != 0) {
    if (svc_now_ms() > deadline)
      return false;
    usleep(5000);
  }
  return true;
}
