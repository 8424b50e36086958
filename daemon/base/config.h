/* config.h - the config file (sonod.conf(5)): `key = value` lines whose
 * keys are the long options, checked by the same validators. */
#ifndef SONOD_CONFIG_H
#define SONOD_CONFIG_H

#include <stddef.h>

#include "daemon/base/options.h"

#define CONFIG_DEFAULT_PATH "/etc/sonod/sonod.conf"

/* Applies the settings in the file at path to o.  When required is false a
 * missing file is not an error (the default file is optional) and *loaded
 * says whether one was read.  Returns 0, or -1 with err naming the file,
 * the line and the key: "/etc/sonod/sonod.conf:3: channels: '0' is ...". */
int config_load(options *o, const char *path, int required, int *loaded, char *err,
                size_t errlen);

#endif
