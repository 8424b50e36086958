/* plugin_lv2.h - what plugin nodes add when they host an LV2 plugin: the
 * control ports' symbols, ranges and plain values in replies.  Control
 * thread. */
#ifndef SONOD_PLUGIN_LV2_H
#define SONOD_PLUGIN_LV2_H

#include <msgpack.h>

#include "daemon/modules/plugin_ctl.h"

/* Whether the node's LV2 ports are known: an LV2 node in the daemon, or
 * an isolated one whose ports the daemon described from the plugin's data
 * (pnode.lv2_ports).  The parameter, output, group and audio-port calls
 * below work for both (an isolated node's control outputs are the values
 * its host sent after its last block), and so do the property calls (an
 * isolated node's changes go to its host and its reported values come back
 * through the shared region). */
bool plugin_lv2_described(const pnode *n);
/* The parameter (control input) with this port symbol, or -1. */
int plugin_lv2_param_by_symbol(const pnode *n, const char *symbol);
/* How many fields plugin_lv2_pack_param adds to a parameter's map: 0 for
 * a VST2 node. */
unsigned plugin_lv2_param_fields(const pnode *n);
/* symbol, min, max, default, plain (the value in the port's units: norm,
 * the 0..1 value, mapped for an isolated node), unit, integer, toggled,
 * enumeration, group (its port group's symbol or nil) of parameter
 * (control input) i. */
void plugin_lv2_pack_param(msgpack_packer *pk, pnode *n, int i, double norm);

/* An LV2 node's control output k: {index, symbol, name, value (plain),
 * min, max, unit, output: true}.  The number of outputs is
 * plugin_lv2_outputs (0 for VST2), which also brings an isolated node's
 * values up to date, as plugin_lv2_output_by_symbol does (-1: none). */
unsigned plugin_lv2_outputs(pnode *n);
int plugin_lv2_output_by_symbol(pnode *n, const char *symbol);
void plugin_lv2_pack_output(msgpack_packer *pk, pnode *n, int k);
/* The poll: a plugin.output event {node, index, symbol, value} for each
 * control output that moved since (when tell). */
void plugin_lv2_poll_outputs(sonod *d, pnode *n, bool tell);
/* An LV2 node's port groups: [{uri, symbol, label, type, direction,
 * main}]; its audio ports in graph order: [{port ("in_1", "out_2"),
 * symbol, name, group, designation}] (group and designation nil when
 * none).  Empty arrays for VST2. */
void plugin_lv2_pack_groups(msgpack_packer *pk, pnode *n);
void plugin_lv2_pack_audio(msgpack_packer *pk, pnode *n);

/* plugin.set {property, value} on an LV2 node: value a string for a
 * path, string or URI property (a path must resolve inside the file roots
 * or the LV2 path), a number otherwise; queued as patch:Set for the next
 * block.  0, or -1 with a protocol error code and message. */
int plugin_lv2_set_property(pnode *n, const char *uri, const msgpack_object *value,
                            const char **code, char *err, size_t errlen);
/* The node's properties: [{uri, label, range, writable, value}] (an empty
 * array for VST2); value as plugin_lv2_pack_property. */
void plugin_lv2_pack_properties(msgpack_packer *pk, pnode *n);
/* plugin.get {property}: the property's map {uri, label, range, writable,
 * value}: value what the plugin last reported (patch:Set on its output,
 * read now), a string, number or bool, nil before it reported one.  0, or
 * -1 with a protocol error code and message (unknown_param). */
int plugin_lv2_get_property(msgpack_packer *pk, pnode *n, const char *uri, const char **code,
                            char *err, size_t errlen);
/* The poll: a plugin.property event {node, property, value} for each
 * property the plugin reported since (when tell). */
void plugin_lv2_poll_properties(sonod *d, pnode *n, bool tell);

#endif
