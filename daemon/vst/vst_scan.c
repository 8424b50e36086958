/* vst_scan.c - checking a plugin in a child process (control side).
 *
 * A plugin's entry function is arbitrary code: it can crash or never
 * return.  vst_scan runs it in sonod-vst-scan (vst_scan_main.c), reads the
 * line-format description from a pipe, and turns a signal or a timeout into
 * an error.  The child gets its own process group so that anything the
 * plugin forks dies with it.  Results are cached by path, mtime and size. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/file/file.h"
#include "daemon/vst/vst_instance.h"

#ifndef SONOD_LIBEXECDIR
#define SONOD_LIBEXECDIR "/usr/local/libexec"
#endif

#define SCANNER_NAME "sonod-vst-scan"
#define DEFAULT_TIMEOUT_MS 10000
#define MAX_OUTPUT (64 * 1024)

extern char **environ;

static pthread_mutex_t scan_lock = PTHREAD_MUTEX_INITIALIZER;
static char *binary_override;

/* ---- finding the scanner ---- */

void vst_scan_set_binary(const char *path)
{
    pthread_mutex_lock(&scan_lock);
    free(binary_override);
    binary_override = path ? strdup(path) : NULL;
    pthread_mutex_unlock(&scan_lock);
}

static bool executable(const char *path)
{
    return access(path, X_OK) == 0;
}

void vst_find_helper(const char *env_name, const char *override, const char *name, char *buf,
                     size_t len)
{
    const char *env = getenv(env_name);
    if (env && *env) {
        snprintf(buf, len, "%s", env);
        return;
    }
    if (override) {
        snprintf(buf, len, "%s", override);
        return;
    }

    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            /* Installed side by side, or the daemon's build tree layout
             * (daemon/sonod next to daemon/vst/sonod-vst-scan). */
            int w = snprintf(buf, len, "%s/%s", exe, name);
            if (w > 0 && (size_t)w < len && executable(buf))
                return;
            w = snprintf(buf, len, "%s/vst/%s", exe, name);
            if (w > 0 && (size_t)w < len && executable(buf))
                return;
        }
    }
    snprintf(buf, len, "%s/%s", SONOD_LIBEXECDIR, name);
}

static void find_scanner(char *buf, size_t len)
{
    char over[PATH_MAX];
    pthread_mutex_lock(&scan_lock);
    bool have = binary_override != NULL;
    if (have)
        snprintf(over, sizeof over, "%s", binary_override);
    pthread_mutex_unlock(&scan_lock);
    vst_find_helper("SONOD_VST_SCAN", have ? over : NULL, SCANNER_NAME, buf, len);
}

const char *vst_scan_binary(void)
{
    static __thread char buf[PATH_MAX];
    find_scanner(buf, sizeof buf);
    return buf;
}

/* ---- confinement ---- */

static const file_roots *roots;

void vst_set_roots(const file_roots *r)
{
    roots = r;
}

int vst_confine(const char *path, char *real, size_t reallen, char *err)
{
    char why[VST_ERR_LEN];
    if (file_roots_resolve(roots, path, real, reallen, why, sizeof why) != 0)
        return vst_fail(err, VST_E_DENIED, "%s", why);
    return VST_OK;
}

bool vst_confined(void)
{
    return roots != NULL && !roots->any;
}

const file_roots *vst_roots(void)
{
    return roots;
}

/* ---- the cache ---- */

typedef struct cache_entry {
    struct cache_entry *next;
    char *path;
    int64_t mtime_sec, mtime_nsec, size;
    char *output;   /* scanner output, or a synthesised one for crashes */
} cache_entry;

static cache_entry *cache_head;

static cache_entry *cache_find(const char *path, const struct stat *st)
{
    for (cache_entry *e = cache_head; e; e = e->next)
        if (strcmp(e->path, path) == 0 && e->mtime_sec == (int64_t)st->st_mtim.tv_sec &&
            e->mtime_nsec == (int64_t)st->st_mtim.tv_nsec && e->size == (int64_t)st->st_size)
            return e;
    return NULL;
}

static void cache_put(const char *path, int64_t sec, int64_t nsec, int64_t size,
                      const char *output)
{
    cache_entry **pp = &cache_head;
    while (*pp) {
        if (strcmp((*pp)->path, path) == 0) {
            cache_entry *old = *pp;
            *pp = old->next;
            free(old->path);
            free(old->output);
            free(old);
            continue;
        }
        pp = &(*pp)->next;
    }
    cache_entry *e = calloc(1, sizeof *e);
    if (!e)
        return;
    e->path = strdup(path);
    e->output = strdup(output);
    if (!e->path || !e->output) {
        free(e->path);
        free(e->output);
        free(e);
        return;
    }
    e->mtime_sec = sec;
    e->mtime_nsec = nsec;
    e->size = size;
    e->next = cache_head;
    cache_head = e;
}

void vst_scan_cache_clear(void)
{
    pthread_mutex_lock(&scan_lock);
    while (cache_head) {
        cache_entry *e = cache_head;
        cache_head = e->next;
        free(e->path);
        free(e->output);
        free(e);
    }
    pthread_mutex_unlock(&scan_lock);
}

/* File: for each entry a line "entry <sec> <nsec> <size> <path>" followed by
 * the scanner output (header ... end). */
int vst_scan_cache_save(const char *file, char *err)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.tmp", file);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return vst_fail(err, VST_E_INVALID, "cannot write %s: %s", tmp, strerror(errno));
    pthread_mutex_lock(&scan_lock);
    for (cache_entry *e = cache_head; e; e = e->next)
        fprintf(f, "entry %lld %lld %lld %s\n%s", (long long)e->mtime_sec,
                (long long)e->mtime_nsec, (long long)e->size, e->path, e->output);
    pthread_mutex_unlock(&scan_lock);
    if (fclose(f) != 0 || rename(tmp, file) != 0) {
        unlink(tmp);
        return vst_fail(err, VST_E_INVALID, "cannot write %s: %s", file, strerror(errno));
    }
    return VST_OK;
}

int vst_scan_cache_load(const char *file, char *err)
{
    FILE *f = fopen(file, "r");
    if (!f)
        return vst_fail(err, VST_E_NOT_FOUND, "cannot read %s: %s", file, strerror(errno));
    char line[PATH_MAX + 128];
    char *out = NULL;
    size_t out_len = 0;
    char path[PATH_MAX] = "";
    long long sec = 0, nsec = 0, size = 0;
    bool in_entry = false;
    int rc = VST_OK;
    while (fgets(line, sizeof line, f)) {
        if (!in_entry) {
            int pos = 0;
            if (sscanf(line, "entry %lld %lld %lld %n", &sec, &nsec, &size, &pos) != 3 || !pos) {
                rc = vst_fail(err, VST_E_INVALID, "%s: malformed cache file", file);
                break;
            }
            snprintf(path, sizeof path, "%s", line + pos);
            path[strcspn(path, "\n")] = '\0';
            in_entry = true;
            out_len = 0;
            continue;
        }
        size_t n = strlen(line);
        char *grown = realloc(out, out_len + n + 1);
        if (!grown) {
            rc = vst_fail(err, VST_E_NOMEM, "out of memory");
            break;
        }
        out = grown;
        memcpy(out + out_len, line, n + 1);
        out_len += n;
        if (strcmp(line, "end\n") == 0) {
            vst_info info;
            int status;
            vst_info_parse(out, &info, &status, NULL);
            if (status != VST_E_SCANNER) {
                pthread_mutex_lock(&scan_lock);
                cache_put(path, sec, nsec, size, out);
                pthread_mutex_unlock(&scan_lock);
            }
            in_entry = false;
        }
    }
    free(out);
    fclose(f);
    return rc;
}

/* ---- running the child ---- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void kill_child(pid_t pid)
{
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

static int spawn_scanner(const char *bin, const char *path, pid_t *pid, int *fd, char *err)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return vst_fail(err, VST_E_SCANNER, "pipe: %s", strerror(errno));

    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    if (!getenv("SONOD_VST_SCAN_STDERR"))
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);

    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                        POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);

    char *argv[] = {(char *)bin, (char *)path, NULL};
    int rc = posix_spawn(pid, bin, &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(p[1]);
    if (rc != 0) {
        close(p[0]);
        return vst_fail(err, VST_E_SCANNER, "cannot run the plugin scanner %s: %s", bin,
                        strerror(rc));
    }
    *fd = p[0];
    return VST_OK;
}

/* Runs the scanner; on success *output holds its (malloc'd) stdout.  A
 * crash is reported as VST_E_CRASHED with *output set to a synthesised
 * record so that the caller can cache it. */
static int run_scanner(const char *path, unsigned timeout_ms, char **output, char *err)
{
    char bin[PATH_MAX];
    find_scanner(bin, sizeof bin);
    *output = NULL;
    if (!executable(bin))
        return vst_fail(err, VST_E_SCANNER, "plugin scanner not found at %s (set SONOD_VST_SCAN)",
                        bin);
    pid_t pid = -1;
    int fd = -1;
    int rc = spawn_scanner(bin, path, &pid, &fd, err);
    if (rc != VST_OK)
        return rc;

    int64_t deadline = now_ms() + timeout_ms;
    char *buf = malloc(MAX_OUTPUT + 1);
    size_t len = 0;
    bool eof = false;
    int status = 0;
    bool exited = false;
    if (!buf) {
        kill_child(pid);
        close(fd);
        return vst_fail(err, VST_E_NOMEM, "out of memory");
    }

    while (!exited) {
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            kill_child(pid);
            close(fd);
            free(buf);
            return vst_fail(err, VST_E_TIMEOUT,
                            "%s did not finish loading within %u ms; the scan was killed", path,
                            timeout_ms);
        }
        if (!eof) {
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            int pr = poll(&pfd, 1, (int)(left < 50 ? left : 50));
            if (pr > 0) {
                ssize_t n = read(fd, buf + len, MAX_OUTPUT - len);
                if (n > 0)
                    len += (size_t)n;
                else if (n == 0 || (errno != EINTR && errno != EAGAIN))
                    eof = true;
                if (len == MAX_OUTPUT)
                    eof = true;   /* ignore the rest; the parser wants "end" */
            }
        } else {
            struct timespec ts = {0, 5 * 1000000};
            nanosleep(&ts, NULL);
        }
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            exited = true;
    }
    /* The child is gone: collect whatever is still in the pipe. */
    for (;;) {
        if (len == MAX_OUTPUT)
            break;
        ssize_t n = read(fd, buf + len, MAX_OUTPUT - len);
        if (n > 0)
            len += (size_t)n;
        else if (n < 0 && errno == EINTR)
            continue;
        else
            break;
    }
    close(fd);
    buf[len] = '\0';

    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        rc = vst_fail(err, VST_E_CRASHED, "%s crashed while loading (signal %d, %s)", path, sig,
                      strsignal(sig));
        char msg[VST_ERR_LEN];
        snprintf(msg, sizeof msg, "crashed while loading (signal %d, %s)", sig, strsignal(sig));
        snprintf(buf, MAX_OUTPUT + 1, "sonod-vst-scan 1\nstatus=%d\nerror=%s: %s\nend\n",
                 VST_E_CRASHED, path, msg);
        *output = buf;
        return rc;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0 && !strstr(buf, "\nend\n")) {
        free(buf);
        return vst_fail(err, VST_E_SCANNER, "the plugin scanner exited with status %d for %s",
                        WEXITSTATUS(status), path);
    }
    *output = buf;
    return VST_OK;
}

int vst_scan(const char *path, unsigned timeout_ms, vst_info *info, char *err)
{
    vst_info scratch;
    if (!info)
        info = &scratch;
    memset(info, 0, sizeof *info);
    if (!path || !*path)
        return vst_fail(err, VST_E_INVALID, "no plugin path given");
    if (timeout_ms == 0)
        timeout_ms = DEFAULT_TIMEOUT_MS;

    /* Before anything runs: the child would run the file's constructors. */
    char confined[PATH_MAX];
    int crc = vst_confine(path, confined, sizeof confined, err);
    if (crc != VST_OK)
        return crc;
    path = confined;

    struct stat st;
    if (stat(path, &st) != 0)
        return vst_fail(err, VST_E_NOT_FOUND, "no plugin file at %s", path);
    char *full = realpath(path, NULL);
    if (!full)
        return vst_fail(err, VST_E_NOT_FOUND, "cannot resolve %s: %s", path, strerror(errno));

    pthread_mutex_lock(&scan_lock);
    cache_entry *hit = cache_find(full, &st);
    char *cached = hit ? strdup(hit->output) : NULL;
    pthread_mutex_unlock(&scan_lock);

    char *output = cached;
    int rc = VST_OK;
    if (!output) {
        rc = run_scanner(full, timeout_ms, &output, err);
        if (!output) {
            free(full);
            return rc;
        }
    }
    int status;
    rc = vst_info_parse(output, info, &status, err);
    /* Only answers about the plugin are remembered, not scanner trouble. */
    if (!cached && rc != VST_E_SCANNER) {
        pthread_mutex_lock(&scan_lock);
        cache_put(full, (int64_t)st.st_mtim.tv_sec, (int64_t)st.st_mtim.tv_nsec,
                  (int64_t)st.st_size, output);
        pthread_mutex_unlock(&scan_lock);
    }
    free(full);
    free(output);
    return rc;
}
