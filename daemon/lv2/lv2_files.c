/* lv2_files.c - the files an LV2 state names, kept with a session
 * (control side).
 *
 * A state (lilv's Turtle, the AEffect's chunk) names files by absolute
 * file URIs: an impulse response the user chose, a recording the plugin
 * made with state:makePath.  Saved into a session file S in folder P, each
 * file the state names is kept with the session: one inside P is written
 * as a URI relative to P; one outside P and outside the LV2 path (the
 * plugins' own data stays where it is) is first copied into the folder
 * beside the session, "S.files/node-N/", then written relative to P.
 * Restoring from a session file in folder Q reads every relative URI
 * against Q, so a session folder that moved still restores.  Text in,
 * text out: this works on the chunk of an isolated plugin too, whose
 * files live on the same machine.
 *
 * The Turtle is scanned, not parsed: IRIs (<...>) outside string
 * literals and comments are the only tokens looked at, and lilv writes
 * every IRI absolute, so a relative one is ours. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <serd/serd.h>

#include "daemon/file/file.h"
#include "daemon/lv2/lv2_internal.h"

typedef struct text {
    char *s;
    size_t len, cap;
} text;

static int put(text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *g = realloc(t->s, cap);
        if (!g)
            return -1;
        t->s = g;
        t->cap = cap;
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
    return 0;
}

/* fn(ud, out, iri, n) appends what stands for the IRI (without <>). */
typedef int (*iri_fn)(void *ud, text *out, const char *iri, size_t n);

/* Copies src to out, IRIs through fn.  Strings ("..." '...', long
 * forms """...""" '''...''', with \ escapes) and comments pass as they
 * are. */
static int each_iri(const char *src, size_t len, iri_fn fn, void *ud, text *out)
{
    size_t i = 0, from = 0;
    while (i < len) {
        char c = src[i];
        if (c == '"' || c == '\'') {
            bool longq = i + 2 < len && src[i + 1] == c && src[i + 2] == c;
            i += longq ? 3 : 1;
            while (i < len) {
                if (src[i] == '\\') {
                    i += 2;
                } else if (src[i] == c && (!longq || (i + 2 < len && src[i + 1] == c &&
                                                      src[i + 2] == c))) {
                    i += longq ? 3 : 1;
                    break;
                } else {
                    i++;
                }
            }
        } else if (c == '#') {
            while (i < len && src[i] != '\n')
                i++;
        } else if (c == '<') {
            const char *end = memchr(src + i + 1, '>', len - i - 1);
            if (!end)
                break;
            if (put(out, src + from, i + 1 - from) != 0 ||
                fn(ud, out, src + i + 1, (size_t)(end - src - i - 1)) != 0)
                return -1;
            i = (size_t)(end - src);
            from = i;
            i++;
        } else {
            i++;
        }
    }
    return put(out, src + from, len - from);
}

/* The escaped file URI of an absolute path (malloc'd). */
static char *file_uri(const char *path)
{
    SerdNode n = serd_node_new_file_uri((const uint8_t *)path, NULL, NULL, true);
    char *s = n.buf ? strdup((const char *)n.buf) : NULL;
    serd_node_free(&n);
    return s;
}

static bool under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    return strncmp(path, dir, n) == 0 && path[n] == '/';
}

/* Inside a folder LV2 bundles are read from: the plugins' own data. */
static bool in_lv2_path(const char *real)
{
    const file_roots *r = lv2_roots();
    if (r && !r->any) {
        for (unsigned i = 0; i < r->n; i++)
            if (under(real, r->dir[i]))
                return true;
        return false;
    }
    for (unsigned i = 0; lv2_standard_dirs[i]; i++)
        if (under(real, lv2_standard_dirs[i]))
            return true;
    const char *home = getenv("HOME"), *env = getenv("LV2_PATH");
    char dir[PATH_MAX];
    if (home && snprintf(dir, sizeof dir, "%s/.lv2", home) < (int)sizeof dir && under(real, dir))
        return true;
    while (env && *env) {
        const char *colon = strchr(env, ':');
        size_t n = colon ? (size_t)(colon - env) : strlen(env);
        if (n > 0 && n < sizeof dir) {
            memcpy(dir, env, n);
            dir[n] = '\0';
            if (under(real, dir))
                return true;
        }
        env = colon ? colon + 1 : NULL;
    }
    return false;
}

static int copy_file(const char *from, const char *to, const struct stat *st)
{
    int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, rc = -1;
    char buf[65536];
    ssize_t k;
    if (in < 0)
        return -1;
    out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (out < 0)
        goto done;
    while ((k = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)k) != k)
            goto done;
    if (k == 0) {
        /* The source's time: the next save sees the copy is current. */
        const struct timespec ts[2] = {st->st_atim, st->st_mtim};
        rc = futimens(out, ts);
    }
done:
    if (out >= 0 && close(out) != 0)
        rc = -1;
    close(in);
    if (rc != 0 && out >= 0)
        unlink(to);
    return rc;
}

typedef struct save_ctx {
    const char *files;     /* S.files/node-N: where copies go */
    char *dir_uri;         /* P's file URI */
    int rc;
    char *err;
} save_ctx;

/* A copy of real in ctx->files (an up-to-date one kept from an earlier
 * save, else a new one under a free name): its path, or NULL. */
static char *keep(save_ctx *c, const char *real, const struct stat *st)
{
    const char *base = strrchr(real, '/') ? strrchr(real, '/') + 1 : real;
    char path[PATH_MAX];
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", c->files);
    char *slash = strrchr(parent, '/');
    if (slash) {
        *slash = '\0';
        (void)mkdir(parent, 0777);
    }
    if (mkdir(c->files, 0777) != 0 && errno != EEXIST) {
        c->rc = vst_fail(c->err, VST_E_DENIED, "cannot make %s: %s", c->files, strerror(errno));
        return NULL;
    }
    for (int k = 1; k < 1000; k++) {
        struct stat have;
        if (k == 1)
            snprintf(path, sizeof path, "%s/%s", c->files, base);
        else
            snprintf(path, sizeof path, "%s/%d-%s", c->files, k, base);
        if (stat(path, &have) != 0) {
            if (copy_file(real, path, st) != 0) {
                c->rc = vst_fail(c->err, VST_E_DENIED, "cannot copy %s into %s: %s", real,
                                 c->files, strerror(errno));
                return NULL;
            }
            return strdup(path);
        }
        if (have.st_size == st->st_size && have.st_mtim.tv_sec == st->st_mtim.tv_sec &&
            have.st_mtim.tv_nsec == st->st_mtim.tv_nsec)
            return strdup(path);   /* copied by an earlier save */
    }
    c->rc = vst_fail(c->err, VST_E_FULL, "too many files named %s in %s", base, c->files);
    return NULL;
}

static int to_session(void *ud, text *out, const char *iri, size_t n)
{
    save_ctx *c = ud;
    char *uri = strndup(iri, n), *path = NULL, *real = NULL, *kept = NULL, *rel_uri = NULL;
    struct stat st;
    int rc = -1;
    if (!uri)
        return -1;
    if (strncmp(uri, "file:", 5) != 0 ||
        !(path = (char *)serd_file_uri_parse((const uint8_t *)uri, NULL)) ||
        !(real = realpath(path, NULL)) || stat(real, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = put(out, iri, n);   /* not a file, or none there now: as it is */
        goto done;
    }
    size_t dl = strlen(c->dir_uri);
    char *abs_uri = file_uri(real);
    if (abs_uri && !(strncmp(abs_uri, c->dir_uri, dl) == 0 && abs_uri[dl] == '/') &&
        !in_lv2_path(real) && (kept = keep(c, real, &st))) {
        free(abs_uri);
        abs_uri = file_uri(kept);
    }
    if (c->rc != VST_OK || !abs_uri) {
        free(abs_uri);
        goto done;
    }
    if (strncmp(abs_uri, c->dir_uri, dl) == 0 && abs_uri[dl] == '/')
        rel_uri = strdup(abs_uri + dl + 1);
    free(abs_uri);
    rc = rel_uri ? put(out, rel_uri, strlen(rel_uri)) : put(out, iri, n);
done:
    free(uri);
    serd_free(path);
    free(real);
    free(kept);
    free(rel_uri);
    return rc;
}

typedef struct load_ctx {
    char *dir_uri;
} load_ctx;

static int from_session(void *ud, text *out, const char *iri, size_t n)
{
    load_ctx *c = ud;
    char *uri = strndup(iri, n);
    int rc;
    if (!uri)
        return -1;
    if (n == 0 || serd_uri_string_has_scheme((const uint8_t *)uri) || uri[0] == '/')
        rc = put(out, iri, n);
    else if ((rc = put(out, c->dir_uri, strlen(c->dir_uri))) == 0 && (rc = put(out, "/", 1)) == 0)
        rc = put(out, iri, n);
    free(uri);
    return rc;
}

/* The session file's folder, real, as a file URI. */
static char *folder_uri(const char *session_path, char *err)
{
    char *copy = strdup(session_path), *slash, *real = NULL, *uri = NULL;
    if (!copy)
        return NULL;
    slash = strrchr(copy, '/');
    if (slash == copy)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    real = realpath(slash ? copy : ".", NULL);
    if (!real)
        vst_fail(err, VST_E_NOT_FOUND, "the session's folder: %s", strerror(errno));
    else
        uri = file_uri(real);
    free(copy);
    free(real);
    return uri;
}

int lv2_state_to_session(const char *state, size_t len, const char *session_path,
                         unsigned node, char **out, size_t *out_len, char *err)
{
    char files[PATH_MAX];
    text t = {0};
    save_ctx c = {.files = files, .rc = VST_OK, .err = err};
    *out = NULL;
    if ((size_t)snprintf(files, sizeof files, "%s.files/node-%u", session_path, node) >=
        sizeof files)
        return vst_fail(err, VST_E_INVALID, "the session's path is too long");
    if (!(c.dir_uri = folder_uri(session_path, err)))
        return VST_E_NOT_FOUND;
    int rc = each_iri(state, len, to_session, &c, &t);
    free(c.dir_uri);
    if (c.rc != VST_OK || rc != 0) {
        free(t.s);
        return c.rc != VST_OK ? c.rc : vst_fail(err, VST_E_NOMEM, "out of memory");
    }
    *out = t.s;
    *out_len = t.len;
    return VST_OK;
}

int lv2_state_from_session(const char *state, size_t len, const char *session_path, char **out,
                           size_t *out_len, char *err)
{
    text t = {0};
    load_ctx c;
    *out = NULL;
    if (!(c.dir_uri = folder_uri(session_path, err)))
        return VST_E_NOT_FOUND;
    int rc = each_iri(state, len, from_session, &c, &t);
    free(c.dir_uri);
    if (rc != 0) {
        free(t.s);
        return vst_fail(err, VST_E_NOMEM, "out of memory");
    }
    *out = t.s;
    *out_len = t.len;
    return VST_OK;
}
