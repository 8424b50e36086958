/* ops_capture.c - capture.start {node, port?, frames?} / capture.stop {capture}:
 * streaming a node's audio to the client as `capture` events, on any
 * backend.  The rings, the events and the replies that follow the audio
 * thread's acknowledgements are modules/capture_ctl.c; see ARCHITECTURE.md,
 * "Capture". */
#include <string.h>

#include "daemon/modules/capture_ctl.h"
#include "daemon/modules/graph_plan.h"
#include "daemon/net/reply.h"
#include "daemon/ops/ops.h"
#include "protocol/errors.h"

void op_capture_start(request *r) {
  const char *port = NULL;
  size_t portlen = 0;
  uint64_t block = CAPTURE_BLOCK_DEFAULT;
  char label[16];
  bool inputs = false;
  unsigned channels;
  gnode *n;

  if (!arg_str(r, "port", false, &port, &portlen) || !arg_uint(r, "frames", false, &block))
    return;
  if (port != NULL) {
    if (portlen == 2 && memcmp(port, "in", 2) == 0)
      inputs = true;
    else if (!(portlen == 3 && memcmp(port, "out", 3) == 0)) {
      reply_error(r->c, true, r->id, SONO_E_BAD_VALUE,
                  "capture.start: 'port' is \"out\" (the node's outputs) or \"in\" (its inputs)");
      return;
    }
  }
  if (block < CAPTURE_BLOCK_MIN || block > CAPTURE_BLOCK_MAX) {
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE,
                "capture.start: 'frames' must be from %u to %u", CAPTURE_BLOCK_MIN,
                CAPTURE_BLOCK_MAX);
    return;
  }
  if ((n = node_arg(r)) == NULL)
    return;
  channels = inputs ? n->nin : n->nout;
  /* The out node's outputs: what goes to the backend. */
  if (n->kind == GN_OUT && !inputs)
    channels = n->nin;
  if (channels == 0) {
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE, "capture.start: node %s has no %s",
                graph_node_label(n->id, label, sizeof label), inputs ? "inputs" : "outputs");
    return;
  }
  /* An event's audio stays well inside a frame (16 MiB). */
  if ((uint64_t)channels * block * sizeof(float) > 4u * 1024 * 1024) {
    reply_error(r->c, true, r->id, SONO_E_BAD_VALUE,
                "capture.start: %u channels × %llu frames is over 4 MiB per event; ask fewer "
                "'frames'", channels, (unsigned long long)block);
    return;
  }
  capture_ctl_start(r, n->id, graph_node_label(n->id, label, sizeof label), inputs, channels,
                    (unsigned)block);
}

void op_capture_stop(request *r) {
  uint64_t id;

  /* Named `capture`: `id` is the request's own. */
  if (!arg_uint(r, "capture", true, &id))
    return;
  capture_ctl_stop(r, id);
}
