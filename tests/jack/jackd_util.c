/* jackd_util.c - see jackd_util.h.  Failures abort the current Check test. */
#include "tests/jack/jackd_util.h"

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <jack/jack.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* The library reports every failed connection attempt while we poll for
 * the server; those are expected, so they go nowhere. */
static void quiet(const char *msg) {
  (void)msg;
}

static jack_client_t *open_client(const char *server, const char *name) {
  jack_status_t status;

  jack_set_error_function(quiet);
  jack_set_info_function(quiet);
  return jack_client_open(name, JackServerName | JackNoStartServer | JackUseExactName,
                          &status, server);
}

jack_client_t *jack_rig_open(const char *server, const char *name) {
  return open_client(server, name);
}

bool jack_server_answers(const char *name) {
  char cname[64];
  jack_client_t *c;

  snprintf(cname, sizeof cname, "probe-%d", (int)getpid());
  c = open_client(name, cname);
  if (c == NULL)
    return false;
  jack_client_close(c);
  return true;
}

void jackd_clean_shm(const char *name) {
  char a[128], b[128];
  DIR *dir = opendir("/dev/shm");
  struct dirent *de;

  if (dir == NULL)
    return;
  /* jack_<server>_<uid>_<n> (sockets) and jack_sem.<uid>_<server>_<client>. */
  snprintf(a, sizeof a, "jack_%s_", name);
  snprintf(b, sizeof b, "_%s_", name);
  while ((de = readdir(dir)) != NULL) {
    char path[400];
    if (strncmp(de->d_name, a, strlen(a)) != 0 &&
        !(strncmp(de->d_name, "jack_sem.", 9) == 0 && strstr(de->d_name, b) != NULL))
      continue;
    snprintf(path, sizeof path, "/dev/shm/%s", de->d_name);
    unlink(path);
  }
  closedir(dir);
}

/* Runs `jackd -n name ARGS...` (args NULL-ended, at most 30), inside the
 * network namespace of process netns_pid when it is > 0. */
static pid_t spawn(const char *name, const char *log, pid_t netns_pid, const char *const *args) {
  const char *argv[34] = { "jackd", "-n", name };
  int n = 3;

  for (; *args != NULL && n < 33; args++)
    argv[n++] = *args;
  argv[n] = NULL;
  pid_t pid = fork();

  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    /* A test that dies before stopping its server must not leave it running;
     * SIGTERM lets jackd remove its files. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    dup2(fd, 1);
    dup2(fd, 2);
    if (netns_pid > 0) {
      char path[64];
      int ns;

      snprintf(path, sizeof path, "/proc/%d/ns/net", (int)netns_pid);
      ns = open(path, O_RDONLY | O_CLOEXEC);
      if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) {
        perror("jackd_util: entering the network namespace");
        _exit(126);
      }
      close(ns);
    }
    execvp("jackd", (char *const *)argv);
    _exit(127);
  }
  return pid;
}

static pid_t spawn_dummy(const char *name, const char *log, int prio) {
  const char *rt[] = { "-R", "-P", NULL, "-d", "dummy", "-r", "48000", "-p", "256", NULL };
  const char *nort[] = { "-r", "-d", "dummy", "-r", "48000", "-p", "256", NULL };
  char p[16];

  snprintf(p, sizeof p, "%d", prio);
  rt[2] = p;
  return spawn(name, log, 0, prio > 0 ? rt : nort);
}

/* 0 once the server answers, -1 if jackd exited or 10 s passed. */
static int wait_ready(jackd_proc *j) {
  long deadline = now_ms() + 10000;
  int status;

  while (now_ms() < deadline) {
    if (jack_server_answers(j->name))
      return 0;
    if (waitpid(j->pid, &status, WNOHANG) == j->pid) {
      j->pid = 0;
      return -1;
    }
    usleep(50000);
  }
  return -1;
}

/* JACK keeps 8 server slots in /dev/shm/jack-shm-registry and frees one
 * only when a server of the same name starts again; every test server has
 * a name of its own, so each one killed hard (SIGKILL after a test timed
 * out) kept its slot until no server could start ("Too many servers
 * already active").  Before a start, slots whose process is no jackd are
 * freed, under JACK's own lock (its SysV semaphore).  Layout of jack2's
 * jack_shm_header_t: 24 bytes, then 8 x {pid_t pid; char name[257]} in
 * 264-byte entries. */
#define REG_HDR 24
#define REG_ENTRY 264
#define REG_SERVERS 8
#define REG_SEM_KEY 0x282929

static bool is_jackd(pid_t pid) {
  char path[64], comm[32] = "";
  FILE *f;

  snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
  if ((f = fopen(path, "r")) == NULL)
    return false;
  if (fgets(comm, sizeof comm, f) == NULL)
    comm[0] = '\0';
  fclose(f);
  return strncmp(comm, "jackd", 5) == 0;
}

static void reclaim_slots(void) {
  int fd = open("/dev/shm/jack-shm-registry", O_RDWR | O_CLOEXEC), sem;
  struct sembuf op = { 0, -1, SEM_UNDO };
  size_t size = REG_HDR + REG_SERVERS * REG_ENTRY;
  unsigned char *p;
  struct stat st;

  if (fd < 0)
    return;
  if (fstat(fd, &st) != 0 || (size_t)st.st_size < size ||
      (p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
    close(fd);
    return;
  }
  close(fd);
  sem = semget(REG_SEM_KEY, 1, 0);
  if (sem >= 0 && semop(sem, &op, 1) != 0)
    sem = -1;
  for (int i = 0; i < REG_SERVERS; i++) {
    unsigned char *e = p + REG_HDR + (size_t)i * REG_ENTRY;
    pid_t pid;

    memcpy(&pid, e, sizeof pid);
    if (pid != 0 && !is_jackd(pid))
      memset(e, 0, REG_ENTRY);
  }
  if (sem >= 0) {
    op.sem_op = 1;
    semop(sem, &op, 1);
  }
  munmap(p, size);
}

void jackd_start(jackd_proc *j, const char *name, const char *log) {
  jackd_start_rt(j, name, log, 0);
}

void jackd_start_rt(jackd_proc *j, const char *name, const char *log, int prio) {
  reclaim_slots();
  memset(j, 0, sizeof *j);
  snprintf(j->name, sizeof j->name, "%s", name);
  snprintf(j->log, sizeof j->log, "%s", log);
  j->pid = spawn_dummy(name, log, prio);
  if (wait_ready(j) == 0)
    return;
  /* Stale files of an earlier server with this name are the usual cause. */
  jackd_stop(j);
  jackd_clean_shm(name);
  j->pid = spawn_dummy(name, log, prio);
  if (wait_ready(j) != 0) {
    jackd_stop(j);
    ck_abort_msg("jackd -n %s did not answer within 10 s (see %s)", name, log);
  }
}

void jackd_spawn_in(jackd_proc *j, const char *name, const char *log, pid_t netns_pid,
                    const char *const *args) {
  reclaim_slots();
  jackd_clean_shm(name);
  memset(j, 0, sizeof *j);
  snprintf(j->name, sizeof j->name, "%s", name);
  snprintf(j->log, sizeof j->log, "%s", log);
  j->pid = spawn(name, log, netns_pid, args);
}

void jackd_wait_ready(jackd_proc *j) {
  if (wait_ready(j) != 0) {
    jackd_stop(j);
    ck_abort_msg("jackd -n %s did not answer within 10 s (see %s)", j->name, j->log);
  }
}

void jackd_stop(jackd_proc *j) {
  long deadline = now_ms() + 10000;
  int status;

  if (j->pid <= 0)
    return;
  kill(j->pid, SIGTERM);
  while (waitpid(j->pid, &status, WNOHANG) != j->pid) {
    if (now_ms() > deadline) {
      kill(j->pid, SIGKILL);
      waitpid(j->pid, &status, 0);
      jackd_clean_shm(j->name);
      break;
    }
    usleep(10000);
  }
  j->pid = 0;
}

int jack_list_ports(const char *server, const char *regex, char *buf, size_t len) {
  char cname[64];
  jack_client_t *c;
  const char **ports;
  int n = 0;

  snprintf(cname, sizeof cname, "lister-%d", (int)getpid());
  c = open_client(server, cname);
  ck_assert_msg(c != NULL, "cannot connect to JACK server %s", server);
  buf[0] = '\0';
  ports = jack_get_ports(c, regex, NULL, 0);
  for (; ports != NULL && ports[n] != NULL; n++) {
    size_t used = strlen(buf);
    snprintf(buf + used, len - used, "%s%s", n ? " " : "", ports[n]);
  }
  jack_free(ports);
  jack_client_close(c);
  return n;
}

void jack_client_leave(jack_client_t *c, _Atomic bool *recording) {
  if (recording != NULL) {
    atomic_store(recording, false);
    usleep(50000);
  }
  jack_deactivate(c);
  jack_client_close(c);
}

/* ---- capture ---- */

#define CAPTURE_MAX (48000 * 10)

static float cap_buf[CAPTURE_MAX];
static _Atomic size_t cap_len;
static _Atomic unsigned cap_xruns;
static _Atomic bool cap_on;   /* appending; cleared before deactivating */
static jack_client_t *cap_client;
static jack_port_t *cap_port;

/* JACK's process thread: append, never wait. */
static int cap_process(jack_nframes_t nframes, void *arg) {
  const float *in = jack_port_get_buffer(cap_port, nframes);
  size_t len = atomic_load_explicit(&cap_len, memory_order_relaxed);
  size_t n = nframes;

  (void)arg;
  if (!atomic_load(&cap_on))
    return 0;
  if (len + n > CAPTURE_MAX)
    n = CAPTURE_MAX - len;
  memcpy(cap_buf + len, in, n * sizeof(float));
  atomic_store_explicit(&cap_len, len + n, memory_order_release);
  return 0;
}

static int cap_xrun(void *arg) {
  (void)arg;
  atomic_fetch_add(&cap_xruns, 1);
  return 0;
}

void capture_start(const char *server, const char *client_name, const char *source) {
  char dest[160];

  ck_assert_ptr_null(cap_client);
  cap_client = open_client(server, client_name);
  ck_assert_msg(cap_client != NULL, "cannot open JACK client %s on %s", client_name, server);
  cap_port = jack_port_register(cap_client, "in", JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
  ck_assert_ptr_nonnull(cap_port);
  atomic_store(&cap_len, 0);
  atomic_store(&cap_xruns, 0);
  atomic_store(&cap_on, true);
  jack_set_process_callback(cap_client, cap_process, NULL);
  jack_set_xrun_callback(cap_client, cap_xrun, NULL);
  ck_assert_int_eq(jack_activate(cap_client), 0);
  snprintf(dest, sizeof dest, "%s:in", jack_get_client_name(cap_client));
  ck_assert_msg(jack_connect(cap_client, source, dest) == 0, "cannot connect %s to %s",
                source, dest);
}

unsigned capture_xruns(void) {
  return atomic_load(&cap_xruns);
}

size_t capture_count(void) {
  return atomic_load_explicit(&cap_len, memory_order_acquire);
}

const float *capture_stop(size_t *n) {
  ck_assert_ptr_nonnull(cap_client);
  jack_client_leave(cap_client, &cap_on);
  cap_client = NULL;
  *n = atomic_load(&cap_len);
  return cap_buf;
}

void jack_test_names(const char *tag, char server[64], char jname[64], char client[64],
                     char log[128]) {
  int pid = (int)getpid();

  snprintf(server, 64, "sonod-%s-test-%d", tag, pid);
  snprintf(jname, 64, "sonod-%s-it-%d", tag, pid);
  snprintf(client, 64, "%s-rig-%d", tag, pid);
  snprintf(log, 128, "/tmp/sonod-jackd-%s-%d.log", tag, pid);
  setenv("JACK_NO_START_SERVER", "1", 1);
  setenv("JACK_NO_AUDIO_RESERVATION", "1", 1);
  unlink(log);
}

Suite *jack_suite(const char *name, int timeout, void (*setup)(void), void (*teardown)(void),
                  const TTest *const *tests) {
  Suite *s = suite_create(name);
  TCase *tc = tcase_create("jackd");

  tcase_add_unchecked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, timeout);
  for (; *tests != NULL; tests++)
    tcase_add_test(tc, *tests);
  suite_add_tcase(s, tc);
  return s;
}
