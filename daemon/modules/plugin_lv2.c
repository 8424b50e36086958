/* plugin_lv2.c - see plugin_lv2.h. */
#include "daemon/modules/plugin_lv2.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <lv2/atom/atom.h>

#include "daemon/file/file.h"
#include "daemon/net/events.h"
#include "protocol/errors.h"
#include "protocol/wire.h"

#define LV2_FIELDS 10
#define POLL_BATCH 32   /* output or property changes taken at a time by the poll */

/* "group": a port group's symbol, nil when none. */
static void pack_group(msgpack_packer *pk, const char *group) {
  sono_pack_cstr(pk, "group");
  if (group != NULL && group[0] != '\0')
    sono_pack_cstr(pk, group);
  else
    msgpack_pack_nil(pk);
}

/* The node's ports: its plugin, or for an isolated one their description. */
static lv2_fx *ports_of(const pnode *n) {
  return n == NULL ? NULL : n->lv2 != NULL ? n->lv2 : n->lv2_ports;
}

bool plugin_lv2_described(const pnode *n) { return ports_of(n) != NULL; }

int plugin_lv2_param_by_symbol(const pnode *n, const char *symbol) {
  return ports_of(n) != NULL ? lv2_param_by_symbol(ports_of(n), symbol) : -1;
}

unsigned plugin_lv2_param_fields(const pnode *n) { return ports_of(n) != NULL ? LV2_FIELDS : 0; }

void plugin_lv2_pack_param(msgpack_packer *pk, pnode *n, int i, double norm) {
  lv2_fx *fx = ports_of(n);
  lv2_param_info in;

  if (fx == NULL)
    return;
  if (lv2_param_get_info(fx, i, &in) != VST_OK)
    in = (lv2_param_info){.symbol = "", .name = "", .unit = ""};
  else if (n->lv2 == NULL)
    in.value = lv2_param_plain(fx, i, (float)norm);   /* isolated: from the host's value */
  sono_pack_key_str(pk, "symbol", in.symbol);
  sono_pack_key_double(pk, "min", in.min);
  sono_pack_key_double(pk, "max", in.max);
  sono_pack_key_double(pk, "default", in.def);
  sono_pack_key_double(pk, "plain", in.value);
  sono_pack_key_str(pk, "unit", in.unit);
  sono_pack_key_bool(pk, "integer", in.integer);
  sono_pack_key_bool(pk, "toggled", in.toggled);
  sono_pack_key_bool(pk, "enumeration", in.enumeration);
  pack_group(pk, in.group);
}

/* The node's control outputs: its plugin's, or for an isolated node its
 * description, given the values its host sent after its last block (the
 * first OUTPUTS_MAX outputs; VR_CTL_OUT in daemon/vst/vst_remote.h). */
#define OUTPUTS_MAX 256

static lv2_fx *outputs_of(pnode *n) {
  lv2_fx *fx = ports_of(n);
  float v[OUTPUTS_MAX];
  unsigned k, got;

  if (fx != NULL && n->lv2 == NULL) {
    got = vst_isolated_outputs(n->inst, v, OUTPUTS_MAX);
    for (k = 0; k < got; k++)
      lv2_output_store(fx, k, v[k]);
  }
  return fx;
}

unsigned plugin_lv2_outputs(pnode *n) {
  lv2_fx *fx = outputs_of(n);

  return fx != NULL ? (unsigned)lv2_output_count(fx) : 0;
}

int plugin_lv2_output_by_symbol(pnode *n, const char *symbol) {
  lv2_fx *fx = outputs_of(n);

  return fx != NULL ? lv2_output_by_symbol(fx, symbol) : -1;
}

void plugin_lv2_poll_outputs(sonod *d, pnode *n, bool tell) {
  lv2_fx *fx = outputs_of(n);
  lv2_output_change oc[POLL_BATCH];
  unsigned got, i;

  if (fx == NULL)
    return;
  do {
    got = lv2_take_output_changes(fx, oc, POLL_BATCH);
    for (i = 0; tell && i < got; i++) {
      msgpack_sbuffer sb;
      msgpack_packer pk;
      lv2_param_info info;

      lv2_output_get_info(fx, oc[i].index, &info);
      events_begin(&sb, &pk, "plugin.output", 4);
      sono_pack_key_uint(&pk, "node", n->id);
      sono_pack_key_int(&pk, "index", oc[i].index);
      sono_pack_key_str(&pk, "symbol", info.symbol);
      sono_pack_key_double(&pk, "value", oc[i].value);
      events_emit(d, EV_PLUGIN, &sb);
    }
  } while (got == POLL_BATCH);
}

void plugin_lv2_pack_output(msgpack_packer *pk, pnode *n, int k) {
  lv2_param_info in;

  if (ports_of(n) == NULL || lv2_output_get_info(ports_of(n), k, &in) != VST_OK)
    in = (lv2_param_info){.symbol = "", .name = "", .unit = ""};
  msgpack_pack_map(pk, 9);
  sono_pack_key_int(pk, "index", k);
  sono_pack_key_str(pk, "symbol", in.symbol);
  sono_pack_key_str(pk, "name", in.name);
  sono_pack_key_double(pk, "value", in.value);
  sono_pack_key_double(pk, "min", in.min);
  sono_pack_key_double(pk, "max", in.max);
  sono_pack_key_str(pk, "unit", in.unit);
  sono_pack_key_bool(pk, "output", true);
  pack_group(pk, in.group);
}

void plugin_lv2_pack_groups(msgpack_packer *pk, pnode *n) {
  lv2_fx *fx = ports_of(n);
  int i, count = fx != NULL ? lv2_group_count(fx) : 0;
  lv2_group_info g;

  msgpack_pack_array(pk, (uint32_t)count);
  for (i = 0; i < count; i++) {
    lv2_group_get(fx, i, &g);
    msgpack_pack_map(pk, 6);
    sono_pack_key_str(pk, "uri", g.uri);
    sono_pack_key_str(pk, "symbol", g.symbol);
    sono_pack_key_str(pk, "label", g.label);
    sono_pack_key_str(pk, "type", g.type);
    sono_pack_key_str(pk, "direction", g.direction);
    sono_pack_key_bool(pk, "main", g.main);
  }
}

void plugin_lv2_pack_audio(msgpack_packer *pk, pnode *n) {
  const vst_info *info = vst_get_info(n->inst);
  int nin = info->num_inputs > 0 ? info->num_inputs : 0;
  int nout = info->num_outputs > 0 ? info->num_outputs : 0;
  lv2_audio_info a;
  char port[32];

  lv2_fx *fx = ports_of(n);

  msgpack_pack_array(pk, fx != NULL ? (uint32_t)(nin + nout) : 0);
  for (int k = 0; fx != NULL && k < nin + nout; k++) {
    bool out = k >= nin;
    int j = out ? k - nin : k;

    if (lv2_audio_get_info(fx, out, j, &a) != VST_OK)
      a = (lv2_audio_info){"", "", "", "", false};
    snprintf(port, sizeof port, "%s_%d", out ? "out" : "in", j + 1);
    msgpack_pack_map(pk, 6);
    sono_pack_key_str(pk, "port", port);
    sono_pack_key_str(pk, "symbol", a.symbol);
    sono_pack_key_str(pk, "name", a.name);
    sono_pack_key_bool(pk, "cv", a.cv);
    pack_group(pk, a.group);
    sono_pack_cstr(pk, "designation");
    if (a.designation[0] != '\0')
      sono_pack_cstr(pk, a.designation);
    else
      msgpack_pack_nil(pk);
  }
}

/* The node's properties: its plugin's, or for an isolated node its
 * description, given the values its host reported since (messages through
 * the shared region, read here). */
static lv2_fx *props_of(pnode *n) {
  lv2_fx *fx = ports_of(n);
  unsigned char msg[VST_ISOLATED_MSG_MAX];
  uint32_t len;

  if (fx != NULL && n->lv2 == NULL)
    while ((len = vst_isolated_receive(n->inst, msg, sizeof msg)) > 0)
      lv2_property_message(fx, msg, len);
  return fx;
}

/* The change to property i, to the plugin (in the daemon: its ring to the
 * audio thread; isolated: a message to its host, through the region). */
static int send_property(pnode *n, lv2_fx *fx, int i, const char *str, double num, char *verr) {
  unsigned char msg[VST_ISOLATED_MSG_MAX];
  uint32_t len;
  int rc;

  if (n->lv2 != NULL)
    return lv2_patch_set(n->lv2, i, str, num, verr);
  if ((rc = lv2_patch_message(fx, i, str, num, msg, sizeof msg, &len, verr)) != VST_OK)
    return rc;
  rc = vst_isolated_send(n->inst, msg, len, verr);
  return rc == VST_E_INVALID ? VST_E_PARAM_VALUE : rc;
}

int plugin_lv2_set_property(pnode *n, const char *uri, const msgpack_object *value,
                            const char **code, char *err, size_t errlen) {
  char verr[VST_ERR_LEN], str[PATH_MAX], real[PATH_MAX], why[256];
  lv2_fx *fx = props_of(n);
  lv2_property pr;
  double num = 0;
  bool is_str;
  int i;

  *code = SONO_E_UNKNOWN_PARAM;
  if (fx == NULL || (i = lv2_property_find(fx, uri)) < 0) {
    snprintf(err, errlen, "node %u has no property %s (plugin.params lists them)", n->id, uri);
    return -1;
  }
  lv2_property_get(fx, i, &pr);
  *code = SONO_E_BAD_VALUE;
  is_str = value != NULL && value->type == MSGPACK_OBJECT_STR;
  if (value == NULL || (!is_str && value->type != MSGPACK_OBJECT_FLOAT64 &&
                        value->type != MSGPACK_OBJECT_FLOAT32 &&
                        value->type != MSGPACK_OBJECT_POSITIVE_INTEGER &&
                        value->type != MSGPACK_OBJECT_NEGATIVE_INTEGER &&
                        value->type != MSGPACK_OBJECT_BOOLEAN)) {
    snprintf(err, errlen, "'value' must be a string or a number");
    return -1;
  }
  if (is_str) {
    if (value->via.str.size >= sizeof str || memchr(value->via.str.ptr, 0, value->via.str.size)) {
      snprintf(err, errlen, "'value' is too long or holds a NUL");
      return -1;
    }
    memcpy(str, value->via.str.ptr, value->via.str.size);
    str[value->via.str.size] = '\0';
    if (strcmp(pr.range, LV2_ATOM__Path) == 0) {
      /* A file the plugin will open: inside the file roots or the LV2
       * path, like every file a client names. */
      if (file_roots_resolve(file_get_roots(), str, real, sizeof real, why, sizeof why) != 0 &&
          lv2_confine(str, real, sizeof real, verr) != VST_OK) {
        *code = SONO_E_DENIED;
        snprintf(err, errlen, "%s", why);
        return -1;
      }
      snprintf(str, sizeof str, "%s", real);
    }
  } else if (value->type == MSGPACK_OBJECT_BOOLEAN) {
    num = value->via.boolean ? 1 : 0;
  } else if (value->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
    num = (double)value->via.u64;
  } else if (value->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
    num = (double)value->via.i64;
  } else {
    num = value->via.f64;
  }
  int rc = send_property(n, fx, i, is_str ? str : NULL, num, verr);
  if (rc != VST_OK) {
    *code = rc == VST_E_FULL ? SONO_E_QUEUE_FULL : SONO_E_BAD_VALUE;
    snprintf(err, errlen, "%s", verr);
    return -1;
  }
  return 0;
}

static void pack_value(msgpack_packer *pk, const lv2_property *pr) {
  sono_pack_cstr(pk, "value");
  if (pr->kind == LV2V_STRING)
    sono_pack_cstr(pk, pr->str);
  else if (pr->kind == LV2V_BOOL)
    pr->num != 0 ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
  else if (pr->kind == LV2V_NUMBER)
    msgpack_pack_double(pk, pr->num);
  else
    msgpack_pack_nil(pk);
}

static void pack_property(msgpack_packer *pk, const lv2_property *pr) {
  msgpack_pack_map(pk, 5);
  sono_pack_key_str(pk, "uri", pr->uri);
  sono_pack_key_str(pk, "label", pr->label);
  sono_pack_key_str(pk, "range", pr->range);
  sono_pack_key_bool(pk, "writable", pr->writable);
  pack_value(pk, pr);
}

/* What the plugin reported since the last look; events when tell. */
static void take_changes(sonod *d, pnode *n, bool tell) {
  int changed[POLL_BATCH];
  unsigned got, k;
  lv2_property pr;
  lv2_fx *fx = props_of(n);

  if (fx == NULL)
    return;
  do {
    got = lv2_take_property_changes(fx, changed, POLL_BATCH);
    for (k = 0; tell && k < got; k++) {
      msgpack_sbuffer sb;
      msgpack_packer pk;

      lv2_property_get(fx, changed[k], &pr);
      events_begin(&sb, &pk, "plugin.property", 3);
      sono_pack_key_uint(&pk, "node", n->id);
      sono_pack_key_str(&pk, "property", pr.uri);
      pack_value(&pk, &pr);
      events_emit(d, EV_PLUGIN, &sb);
    }
  } while (got == POLL_BATCH);
}

void plugin_lv2_poll_properties(sonod *d, pnode *n, bool tell) { take_changes(d, n, tell); }

int plugin_lv2_get_property(msgpack_packer *pk, pnode *n, const char *uri, const char **code,
                            char *err, size_t errlen) {
  lv2_fx *fx = props_of(n);
  lv2_property pr;
  int i;

  *code = SONO_E_UNKNOWN_PARAM;
  if (fx == NULL || (i = lv2_property_find(fx, uri)) < 0) {
    snprintf(err, errlen, "node %u has no property %s (plugin.params lists them)", n->id, uri);
    return -1;
  }
  /* Read what it reported so far; the poll still sends the events. */
  (void)lv2_take_property_changes(fx, NULL, 0);
  lv2_property_get(fx, i, &pr);
  pack_property(pk, &pr);
  return 0;
}

void plugin_lv2_pack_properties(msgpack_packer *pk, pnode *n) {
  lv2_fx *fx = props_of(n);
  int i, count = fx != NULL ? lv2_property_count(fx) : 0;
  lv2_property pr;

  msgpack_pack_array(pk, (uint32_t)count);
  for (i = 0; i < count; i++) {
    lv2_property_get(fx, i, &pr);
    pack_property(pk, &pr);
  }
}
