/* ops.c - every operation the daemon answers, by name. */
#include "daemon/ops.h"

const op_entry ops_table[] = {
  { "hello", op_hello },
  { "ping", op_ping },
  { "status", op_status },
  { "sync", op_sync },
  { "subscribe", op_subscribe },
  { "unsubscribe", op_unsubscribe },
  { "shutdown", op_shutdown },
  { "engine.tone", op_engine_tone },
  { "render", op_render },
  { NULL, NULL },
};
