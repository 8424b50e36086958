/* jack_probe.h - is a JACK 2 server running, asked without entering libjack. */
#ifndef SONOD_JACK_PROBE_H
#define SONOD_JACK_PROBE_H

#include <stdbool.h>
#include <stddef.h>

/* False only when libjack is JACK 2's and the named server's socket
 * (`server`, or "" for JACK's default server) is not there; its path is
 * then in `path`.  True whenever the answer is not known (another
 * libjack, such as PipeWire's): the caller opens a client and sees. */
bool jack_probe_server(const char *server, char *path, size_t pathlen);

#endif
