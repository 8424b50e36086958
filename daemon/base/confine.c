/* confine.c - see confine.h. */
#include "daemon/base/confine.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/base/log.h"
#include "daemon/lv2/lv2.h"
#include "daemon/vst/vst.h"

static const char *home_dir(void) {
  const char *home = getenv("HOME");
  struct passwd *pw;

  if (home != NULL && home[0] == '/')
    return home;
  pw = getpwuid(getuid());
  return pw != NULL && pw->pw_dir != NULL && pw->pw_dir[0] == '/' ? pw->pw_dir : NULL;
}

static void add(file_roots *r, const char *dir) {
  if (dir != NULL && dir[0] != '\0' && file_roots_add(r, dir) != 0)
    log_warn("confine: %s not added to the %s folders (too long, or too many)", dir, r->setting);
}

static void add_under(file_roots *r, const char *home, const char *sub) {
  char dir[FILE_ROOT_LEN];

  if (home != NULL && snprintf(dir, sizeof dir, "%s/%s", home, sub) < (int)sizeof dir)
    add(r, dir);
}

void confine_init(confine *c, const options *o) {
  static const char *const standard[] = {
    "/usr/lib/vst", "/usr/lib/lxvst", "/usr/local/lib/vst", "/usr/local/lib/lxvst",
  };
  const char *home = home_dir();
  unsigned i;

  memset(c, 0, sizeof *c);
  c->files.setting = "file-root";
  c->files.any = o->allow_any_path;
  add(&c->files, getenv("STATE_DIRECTORY"));
  add(&c->files, o->state_dir);
  add(&c->files, home);
  for (i = 0; i < o->nfile_root; i++)
    add(&c->files, o->file_root[i]);

  c->plugins.setting = "plugin-path";
  c->plugins.any = o->allow_any_plugin;
  for (i = 0; i < sizeof standard / sizeof standard[0]; i++)
    add(&c->plugins, standard[i]);
  add_under(&c->plugins, home, ".vst");
  add_under(&c->plugins, home, ".lxvst");
  for (i = 0; i < o->nplugin_path; i++)
    add(&c->plugins, o->plugin_path[i]);

  /* LV2: the standard folders, ~/.lv2 and LV2_PATH's, then the same
   * --plugin-path folders. */
  c->lv2.setting = "plugin-path";
  c->lv2.any = o->allow_any_plugin;
  for (i = 0; lv2_standard_dirs[i] != NULL; i++)
    add(&c->lv2, lv2_standard_dirs[i]);
  add_under(&c->lv2, home, ".lv2");
  {
    const char *env = getenv("LV2_PATH");
    char *copy = env != NULL ? strdup(env) : NULL, *save = NULL, *dir;
    for (dir = copy != NULL ? strtok_r(copy, ":", &save) : NULL; dir != NULL;
         dir = strtok_r(NULL, ":", &save))
      add(&c->lv2, dir);
    free(copy);
  }
  for (i = 0; i < o->nplugin_path; i++)
    add(&c->lv2, o->plugin_path[i]);

  file_set_roots(&c->files);
  vst_set_roots(&c->plugins);
  lv2_set_roots(&c->lv2);
  if (c->files.any)
    log_warn("confine: --allow-any-path: clients may name files anywhere");
  if (c->plugins.any)
    log_warn("confine: --allow-any-plugin: clients may load plugins from anywhere");
  if (o->csound_unsafe)
    log_warn("confine: --csound-unsafe: Csound code may run programs and reach any file");
}
