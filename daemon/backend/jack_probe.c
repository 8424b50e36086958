/* jack_probe.c - is a JACK 2 server running, asked without entering libjack.
 *
 * Why not just call jack_client_open and see: JACK 2's libjack opens its
 * metadata database (Berkeley DB, /dev/shm/jack_db-UID) in every client,
 * even when no server answers, and every jackd removes and re-creates that
 * database as it starts and stops.  A process that opens it while another
 * is creating it can map a file not yet grown and die of SIGBUS; seen in
 * our tests, where jackds start and stop beside a sonod starting without
 * one.  With no server there is nothing to gain from entering libjack, so
 * sonod looks for the server's socket first, the way JACK 2 names it:
 * /dev/shm/jack_NAME_UID_0.  It also keeps the reconnect attempts of a
 * daemon whose server went away out of libjack until a server is back. */
#include "daemon/backend/jack_probe.h"

#include <jack/jack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* JACK 2's compiled-in folder for its sockets and shared memory on Linux. */
#define JACK2_SERVER_DIR "/dev/shm"

static bool is_jack2(void) {
  const char *v = jack_get_version_string();

  return v != NULL && strncmp(v, "1.9.", 4) == 0;
}

bool jack_probe_server(const char *server, char *path, size_t pathlen) {
  const char *name = server;
  struct stat st;
  int n;

  /* Another libjack (PipeWire's, JACK 1) has its own ways; a promiscuous
   * JACK 2 server is named by group, not user. */
  if (!is_jack2() || getenv("JACK_PROMISCUOUS_SERVER") != NULL)
    return true;
  if (name == NULL || name[0] == '\0')
    name = getenv("JACK_DEFAULT_SERVER");
  if (name == NULL || name[0] == '\0')
    name = "default";
  n = snprintf(path, pathlen, "%s/jack_%s_%u_0", JACK2_SERVER_DIR, name, (unsigned)geteuid());
  if (n < 0 || (size_t)n >= pathlen)
    return true;
  return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}
