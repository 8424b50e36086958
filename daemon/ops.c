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
  { "plugin.load", op_plugin_load },
  { "plugin.unload", op_plugin_unload },
  { "plugin.list", op_plugin_list },
  { "plugin.params", op_plugin_params },
  { "plugin.set", op_plugin_set },
  { "plugin.get", op_plugin_get },
  { "plugin.midi", op_plugin_midi },
  { "plugin.program", op_plugin_program },
  { "plugin.programs", op_plugin_programs },
  { "plugin.state.get", op_plugin_state_get },
  { "plugin.state.set", op_plugin_state_set },
  { "plugin.scan", op_plugin_scan },
  { NULL, NULL },
};
