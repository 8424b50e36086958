/* test_jack_rt.c - an isolated plugin's host process runs its audio thread
 * in JACK's realtime class: jackd -R -P 60 (dummy driver, private server
 * name); the host's processing thread must be SCHED_FIFO at the priority of
 * sonod's own JACK process thread, both read from /proc. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "protocol/wire.h"
#include "tests/jack/jackd_util.h"
#include "tests/support/check_main.h"
#include "tests/support/harness.h"

#define JACK_PRIO 60

static char server[64], jname[64], rigname[64], jlog[128];

/* The highest SCHED_FIFO priority among pid's threads, 0 when none is
 * SCHED_FIFO (fields 40 rt_priority and 41 policy of /proc/PID/task/T/stat). */
static int fifo_priority(pid_t pid) {
  char path[300], buf[1024];
  DIR *dir;
  struct dirent *de;
  int best = 0;

  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  ck_assert_ptr_nonnull(dir = opendir(path));
  while ((de = readdir(dir)) != NULL) {
    FILE *f;
    const char *p;
    unsigned prio = 0, policy = 0;
    int field;

    if (de->d_name[0] == '.')
      continue;
    snprintf(path, sizeof path, "/proc/%d/task/%s/stat", (int)pid, de->d_name);
    if ((f = fopen(path, "r")) == NULL)
      continue;
    if (fgets(buf, sizeof buf, f) != NULL && (p = strrchr(buf, ')')) != NULL) {
      /* p + 2 is field 3 (state); skip to field 40. */
      for (field = 3, p += 2; field < 40 && p != NULL; field++)
        if ((p = strchr(p, ' ')) != NULL)
          p++;
      if (p != NULL && sscanf(p, "%u %u", &prio, &policy) == 2 && policy == 1 &&
          (int)prio > best)
        best = (int)prio;
    }
    fclose(f);
  }
  closedir(dir);
  return best;
}

/* sonod's one child process once the load is answered: the plugin host. */
static pid_t host_of(pid_t daemon) {
  char cmd[128];
  long pid = 0;
  FILE *p;

  snprintf(cmd, sizeof cmd, "cat /proc/%d/task/*/children", (int)daemon);
  ck_assert_ptr_nonnull(p = popen(cmd, "r"));
  ck_assert_int_eq(fscanf(p, "%ld", &pid), 1);
  pclose(p);
  return (pid_t)pid;
}

START_TEST(host_thread_takes_jack_priority) {
  const char *args[] = { "--backend", "jack", "--jack-server", server, "--jack-name", jname, NULL };
  jackd_proc jd;
  daemon_proc dp;
  conn c;
  int engine, host = 0, k;

  jackd_start_rt(&jd, server, jlog, JACK_PRIO);
  daemon_start(&dp, args);
  conn_open(&c, dp.socket);
  conn_ok(&c, conn_request(&c, "plugin.load", "sb", "path", getenv("TESTPLUG"), "isolate", 1));
  engine = fifo_priority(dp.pid);
  ck_assert_msg(engine > 10, "sonod's JACK thread has SCHED_FIFO priority %d (jackd -P %d)",
                engine, JACK_PRIO);
  /* The processing thread starts as the load is answered: give it a moment. */
  for (k = 0; k < 50 && (host = fifo_priority(host_of(dp.pid))) == 0; k++)
    usleep(20000);
  ck_assert_msg(host == engine, "the plugin host's audio thread: SCHED_FIFO %d, the engine's %d",
                host, engine);
  daemon_shutdown(&dp, &c);
  jackd_stop(&jd);
}
END_TEST

static void setup_names(void) {
  jack_test_names("rt", server, jname, rigname, jlog);
}

static void teardown_names(void) {
  jackd_clean_shm(server);
}

static Suite *jack_rt_suite(void) {
  const TTest *tests[] = { host_thread_takes_jack_priority, NULL };

  return jack_suite("jack_rt", 120, setup_names, teardown_names, tests);
}

CHECK_MAIN(jack_rt_suite)
