/* confine.h - where clients' paths may lead (README.md, "Threat model").
 *
 * Two sets of roots, made once at start from the settings:
 *  - file roots: the files clients name (state.save/load, record.start,
 *    table.read) resolve inside the state directory, $HOME and each
 *    --file-root; --allow-any-path lifts it.  daemon/file applies them.
 *  - plugin roots: plugins load and scan only from the standard VST/LXVST
 *    folders and each --plugin-path; --allow-any-plugin lifts it.
 *    daemon/vst applies them, before the scanner child runs a file.
 * Control thread, at start, before any other thread exists. */
#ifndef SONOD_CONFINE_H
#define SONOD_CONFINE_H

#include "daemon/base/options.h"
#include "daemon/file/file.h"

typedef struct confine {
  file_roots files;
  file_roots plugins;
  file_roots lv2;        /* LV2 bundles: the LV2 path and the plugin paths */
} confine;

/* Fills c from o and the environment and puts both sets in force. */
void confine_init(confine *c, const options *o);

#endif
