/* vst_scan_dir.c - finding plugin files and scanning each (control side).
 *
 * Directories are walked recursively in name order (deterministic output),
 * following symlinks; real paths are remembered so that a plugin reachable
 * twice (Debian links /usr/lib/vst/iem.at to the real directory) and
 * symlink loops are visited once. */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/file/file.h"
#include "daemon/vst/vst_instance.h"

#define MAX_DEPTH 8

void vst_standard_paths(char *buf, size_t len)
{
    const char *vst = getenv("VST_PATH");
    const char *lxvst = getenv("LXVST_PATH");
    if ((vst && *vst) || (lxvst && *lxvst)) {
        snprintf(buf, len, "%s%s%s", vst && *vst ? vst : "",
                 (vst && *vst && lxvst && *lxvst) ? ":" : "", lxvst && *lxvst ? lxvst : "");
        return;
    }
    const char *home = getenv("HOME");
    if (home && *home)
        snprintf(buf, len,
                 "%s/.vst:%s/.lxvst:/usr/local/lib/vst:/usr/local/lib/lxvst:/usr/lib/vst:"
                 "/usr/lib/lxvst",
                 home, home);
    else
        snprintf(buf, len, "/usr/local/lib/vst:/usr/local/lib/lxvst:/usr/lib/vst:/usr/lib/lxvst");
}

typedef struct walk {
    unsigned timeout_ms;
    vst_scan_cb cb;
    void *ud;
    int count;
    char **seen;
    size_t nseen, capseen;
} walk;

/* Returns true the first time a real path is seen. */
static bool first_visit(walk *w, const char *real)
{
    for (size_t i = 0; i < w->nseen; i++)
        if (strcmp(w->seen[i], real) == 0)
            return false;
    if (w->nseen == w->capseen) {
        size_t cap = w->capseen ? w->capseen * 2 : 64;
        char **grown = realloc(w->seen, cap * sizeof *grown);
        if (!grown)
            return true;   /* worst case: a duplicate report */
        w->seen = grown;
        w->capseen = cap;
    }
    char *copy = strdup(real);
    if (copy)
        w->seen[w->nseen++] = copy;
    return true;
}

static bool has_so_suffix(const char *name)
{
    size_t n = strlen(name);
    return n > 3 && strcmp(name + n - 3, ".so") == 0;
}

static void scan_file(walk *w, const char *path)
{
    vst_info info;
    char err[VST_ERR_LEN] = "";
    int rc = vst_scan(path, w->timeout_ms, &info, err);
    w->count++;
    if (w->cb)
        w->cb(w->ud, path, rc, rc == VST_OK ? &info : NULL, rc == VST_OK ? NULL : err);
}

/* Under confinement, what leads outside the plugin roots is passed over:
 * the walk says nothing of it. */
static bool inside(const char *path)
{
    char real[PATH_MAX], err[VST_ERR_LEN];
    return !vst_confined() || vst_confine(path, real, sizeof real, err) == VST_OK;
}

static void walk_dir(walk *w, const char *dir, int depth)
{
    char real[PATH_MAX];
    if (depth > MAX_DEPTH || !realpath(dir, real) || !inside(real) || !first_visit(w, real))
        return;
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    if (n < 0)
        return;
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        if (name[0] == '.') {
            free(names[i]);
            continue;
        }
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        struct stat st;
        if (stat(path, &st) == 0) {
            if (S_ISDIR(st.st_mode)) {
                walk_dir(w, path, depth + 1);
            } else if (S_ISREG(st.st_mode) && has_so_suffix(name)) {
                char file_real[PATH_MAX];
                if (realpath(path, file_real) && inside(file_real) && first_visit(w, file_real))
                    scan_file(w, path);
            }
        }
        free(names[i]);
    }
    free(names);
}

int vst_scan_dir(const char *dir, unsigned timeout_ms, vst_scan_cb cb, void *ud)
{
    walk w = {.timeout_ms = timeout_ms, .cb = cb, .ud = ud};
    const file_roots *r = vst_roots();
    if (dir) {
        walk_dir(&w, dir, 0);
    } else if (vst_confined()) {
        for (unsigned i = 0; i < r->n; i++)
            walk_dir(&w, r->dir[i], 0);
    } else {
        char paths[8192];
        vst_standard_paths(paths, sizeof paths);
        char *save = NULL;
        for (char *p = strtok_r(paths, ":", &save); p; p = strtok_r(NULL, ":", &save))
            walk_dir(&w, p, 0);
    }
    for (size_t i = 0; i < w.nseen; i++)
        free(w.seen[i]);
    free(w.seen);
    return w.count;
}
