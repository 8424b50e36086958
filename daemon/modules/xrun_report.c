/* xrun_report.c - see xrun_report.h.
 *
 * JACK's xrun callback (its notification thread) only bumps the backend's
 * counter and wakes the control thread, which calls xrun_report_poll.  The
 * window is measured with uv_hrtime, the same clock as the events' spacing,
 * so two events are never closer than XRUN_EVENT_NS.  A periodic check
 * alone would not do: the loop's timers run on a millisecond clock that may
 * lag uv_hrtime, so a 100 ms tick often finds the window a hair short of
 * over and waits a whole tick more. */
#include "daemon/modules/xrun_report.h"

#include "daemon/backend/backend.h"
#include "daemon/net/events.h"
#include "protocol/wire.h"

static void send_event(sonod *d, uint64_t total) {
  msgpack_sbuffer sb;
  msgpack_packer pk;

  events_begin(&sb, &pk, "xrun", 2);
  sono_pack_key_uint(&pk, "xruns", total);
  sono_pack_key_uint(&pk, "new", total - d->xruns_reported);
  events_emit(d, EV_XRUN, &sb);
  d->xruns_reported = total;
  d->last_xrun_event_ns = sonod_now_ns();
}

static void on_window_end(uv_timer_t *t) {
  xrun_report_poll(t->data);
}

void xrun_report_init(sonod *d) {
  uv_timer_init(d->loop, &d->xrun_window);
  d->xrun_window.data = d;
}

void xrun_report_poll(sonod *d) {
  uint64_t total = atomic_load(&d->be->xruns);
  uint64_t since;

  if (total == d->xruns_reported || d->stopping)
    return;
  since = sonod_now_ns() - d->last_xrun_event_ns;
  if (since >= XRUN_EVENT_NS) {
    send_event(d, total);
    return;
  }
  /* Rounded up; should the loop's clock still call it early, the next
   * poll arms it again for what is left. */
  if (!uv_is_active((uv_handle_t *)&d->xrun_window))
    uv_timer_start(&d->xrun_window, on_window_end, (XRUN_EVENT_NS - since + 999999) / 1000000, 0);
}

void xrun_report_close(sonod *d) {
  uv_close((uv_handle_t *)&d->xrun_window, NULL);
}
