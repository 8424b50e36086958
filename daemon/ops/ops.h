/* ops.h - the table of protocol operations and their handlers. */
#ifndef SONOD_OPS_H
#define SONOD_OPS_H

#include "daemon/net/request.h"

extern const op_entry ops_table[];

/* ops_core.c */
void op_hello(request *r);
void op_ping(request *r);
void op_status(request *r);
void op_sync(request *r);

/* ops_schedule.c */
void op_schedule_list(request *r);
void op_schedule_cancel(request *r);
void op_subscribe(request *r);
void op_unsubscribe(request *r);
void op_shutdown(request *r);
/* Closes what the handlers keep open on the loop (at shutdown). */
void ops_close(void);

/* ops_engine.c */
void op_engine_tone(request *r);
void op_engine_freewheel(request *r);
void op_render(request *r);

/* ops_meter.c */
void op_meter_subscribe(request *r);
void op_meter_unsubscribe(request *r);

/* ops_record.c */
void op_record_start(request *r);
void op_record_stop(request *r);

/* ops_capture.c */
void op_capture_start(request *r);
void op_capture_stop(request *r);

/* ops_plugin.c */
void op_plugin_load(request *r);
void op_plugin_unload(request *r);
void op_plugin_list(request *r);
void op_plugin_params(request *r);
void op_plugin_set(request *r);
void op_plugin_get(request *r);
void op_plugin_program(request *r);
void op_plugin_programs(request *r);
void op_plugin_state_get(request *r);
void op_plugin_state_set(request *r);
void op_plugin_scan(request *r);
void op_plugin_restart(request *r);
/* Reads "node"; replies and returns NULL when absent or unknown, busy (a
 * call into it runs off the loop) or unusable (one missed its deadline). */
struct pnode *plugin_arg_node(request *r);
/* The same, but a busy node is taken: for requests that only send to the
 * audio thread (plugin.set of a value, plugin.midi). */
struct pnode *plugin_arg_node_rt(request *r);

/* ops_plugin_midi.c */
void op_plugin_midi(request *r);

/* The live Csound engine's ops: rows of the table in cs_op.h. */
/* ops_csound.c */
void op_csound_compile(request *r);
void op_csound_event(request *r);
void op_csound_score(request *r);
/* ops_channel.c */
void op_channel_set(request *r);
void op_channel_get(request *r);
/* ops_instr.c */
void op_instr_define(request *r);
void op_instr_list(request *r);
void op_instr_undefine(request *r);
/* ops_synth.c */
void op_synth_start(request *r);
void op_synth_set(request *r);
void op_synth_automate(request *r);
void op_synth_stop(request *r);
void op_synth_list(request *r);
void op_synth_get(request *r);
/* ops_bundle.c */
void op_bundle(request *r);
/* ops_bus.c */
void op_bus_new(request *r);
void op_bus_set(request *r);
void op_bus_get(request *r);
void op_bus_free(request *r);
/* ops_table.c */
void op_table_new(request *r);
void op_table_read(request *r);
void op_table_get(request *r);
void op_table_set(request *r);
void op_table_free(request *r);

/* ops_state.c */
void op_state_save(request *r);
void op_state_load(request *r);

/* ops_transport.c */
void op_transport_set(request *r);
void op_transport_get(request *r);
void op_transport_follow(request *r);
/* transport.get's fields ({tempo, num, den, playing, frame, ppq} without
 * `full`, for status). */
void transport_pack(sonod *d, msgpack_packer *pk, bool full);

/* ops_midi.c */
void op_midi_route(request *r);
void op_midi_unroute(request *r);
void op_midi_routes(request *r);

/* ops_graph.c */
void op_graph_connect(request *r);
void op_graph_disconnect(request *r);
void op_graph_get(request *r);
/* Reads "gain" (0..16, linear); replies and returns false on error. */
bool graph_arg_gain(request *r, bool required, double *g);

/* ops_node.c */
void op_node_new(request *r);
void op_node_delete(request *r);
void op_node_bypass(request *r);
void op_node_gain(request *r);
void op_node_mute(request *r);
/* Reads "node": an id, or "out" / "in" / "csound".  Replies unknown_node
 * (or a type error) and returns NULL when there is no such node. */
struct gnode *node_arg(request *r);

#endif
