/* notify.h - telling the service manager how sonod is doing: systemd's
 * sd_notify(3) protocol (READY=1, STATUS=..., WATCHDOG=1, STOPPING=1).
 * Everything is a no-op when NOTIFY_SOCKET is not set.  Control thread. */
#ifndef SONOD_NOTIFY_H
#define SONOD_NOTIFY_H

#include <stdint.h>

/* Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID, then removes them
 * from the environment so the processes sonod starts (the plugin scanner)
 * do not speak for it.  Call once, early. */
void notify_init(void);
/* Sends one datagram of newline-separated assignments, e.g.
 * notify_send("READY=1\nSTATUS=%s", text). */
void notify_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The watchdog interval systemd asked for, in microseconds; 0 for none. */
uint64_t notify_watchdog_usec(void);

#endif
