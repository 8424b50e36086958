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

#endif
