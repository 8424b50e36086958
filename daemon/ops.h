/* ops.h - the table of protocol operations and their handlers. */
#ifndef SONOD_OPS_H
#define SONOD_OPS_H

#include "daemon/request.h"

extern const op_entry ops_table[];

/* ops_core.c */
void op_hello(request *r);
void op_ping(request *r);
void op_status(request *r);
void op_sync(request *r);
void op_subscribe(request *r);
void op_unsubscribe(request *r);
void op_shutdown(request *r);

/* ops_engine.c */
void op_engine_tone(request *r);
void op_render(request *r);

/* ops_plugin.c */
void op_plugin_load(request *r);
void op_plugin_unload(request *r);
void op_plugin_list(request *r);
void op_plugin_params(request *r);
void op_plugin_set(request *r);
void op_plugin_get(request *r);
void op_plugin_midi(request *r);
void op_plugin_program(request *r);
void op_plugin_programs(request *r);
void op_plugin_state_get(request *r);
void op_plugin_state_set(request *r);
void op_plugin_scan(request *r);

#endif
