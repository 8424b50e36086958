/* lv2_groups.c - port groups and designations (control side): which ports
 * belong together (a stereo pair, a side-chain input, the envelope
 * controls) and what each one is (left, right, attack, ...), read from the
 * plugin's data at load for plugin.params.  Nothing here changes how ports
 * are connected: audio ports are the graph's in_N/out_N in port order. */
#include <stdlib.h>
#include <string.h>

#include <lv2/core/lv2.h>
#include <lv2/port-groups/port-groups.h>

#include "daemon/lv2/lv2_internal.h"

#define RDFS_LABEL "http://www.w3.org/2000/01/rdf-schema#label"
#define RDF_TYPE "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"

/* The last part of a URI (after '#', else after the last '/'). */
static const char *fragment(const char *uri)
{
    const char *h = strrchr(uri, '#'), *s = strrchr(uri, '/');
    return h ? h + 1 : s ? s + 1 : uri;
}

static char *dup_or_empty(const LilvNode *n)
{
    return strdup(n ? lilv_node_as_string(n) : "");
}

/* The group with this URI, added when new; -1 when out of memory. */
static int group_of(lv2_fx *fx, LilvWorld *w, const LilvNode *g)
{
    for (unsigned k = 0; k < fx->ngroups; k++)
        if (strcmp(fx->groups[k].uri, lilv_node_as_uri(g)) == 0)
            return (int)k;
    lv2_group *grown = realloc(fx->groups, (fx->ngroups + 1) * sizeof *fx->groups);
    if (!grown)
        return -1;
    fx->groups = grown;
    lv2_group *q = &fx->groups[fx->ngroups];
    memset(q, 0, sizeof *q);
    LilvNode *sym_p = lilv_new_uri(w, LV2_CORE__symbol), *label_p = lilv_new_uri(w, RDFS_LABEL);
    LilvNode *type_p = lilv_new_uri(w, RDF_TYPE);
    LilvNode *sym = lilv_world_get(w, g, sym_p, NULL), *label = lilv_world_get(w, g, label_p, NULL);
    LilvNodes *types = lilv_world_find_nodes(w, g, type_p, NULL);
    const char *type = "", *direction = "";
    LILV_FOREACH (nodes, i, types) {
        const char *t = lilv_node_as_uri(lilv_nodes_get(types, i));
        if (!t)
            continue;
        if (strcmp(t, LV2_PORT_GROUPS__InputGroup) == 0)
            direction = "input";
        else if (strcmp(t, LV2_PORT_GROUPS__OutputGroup) == 0)
            direction = "output";
        else if (strcmp(t, LV2_PORT_GROUPS__Group) != 0 && !type[0])
            type = fragment(t);
    }
    q->uri = strdup(lilv_node_as_uri(g));
    q->symbol = dup_or_empty(sym);
    q->label = dup_or_empty(label);
    q->type = strdup(type);
    q->direction = direction;
    lilv_nodes_free(types);
    lilv_node_free(sym);
    lilv_node_free(label);
    lilv_node_free(sym_p);
    lilv_node_free(label_p);
    lilv_node_free(type_p);
    fx->ngroups++;
    return q->uri && q->symbol && q->label && q->type ? (int)fx->ngroups - 1 : -1;
}

int lv2_groups_load(lv2_fx *fx, LilvWorld *w)
{
    const LilvPlugin *p = fx->plugin;
    LilvNode *group_p = lilv_new_uri(w, LV2_PORT_GROUPS__group);
    LilvNode *desig_p = lilv_new_uri(w, LV2_CORE__designation);
    LilvNode *main_in = lilv_new_uri(w, LV2_PORT_GROUPS__mainInput);
    LilvNode *main_out = lilv_new_uri(w, LV2_PORT_GROUPS__mainOutput);
    int rc = VST_OK;
    for (uint32_t i = 0; i < fx->nports && rc == VST_OK; i++) {
        const LilvPort *port = lilv_plugin_get_port_by_index(p, i);
        lv2_port *q = &fx->ports[i];
        LilvNode *g = lilv_port_get(p, port, group_p), *d = lilv_port_get(p, port, desig_p);
        q->group = -1;
        if (g && lilv_node_is_uri(g) && (q->group = group_of(fx, w, g)) < 0)
            rc = VST_E_NOMEM;
        if (d && lilv_node_is_uri(d) && !(q->designation = strdup(fragment(lilv_node_as_uri(d)))))
            rc = VST_E_NOMEM;
        lilv_node_free(g);
        lilv_node_free(d);
    }
    /* The main input and output groups (pg:mainInput, pg:mainOutput). */
    LilvNodes *mains[2] = {lilv_plugin_get_value(p, main_in), lilv_plugin_get_value(p, main_out)};
    for (int m = 0; m < 2; m++) {
        LILV_FOREACH (nodes, i, mains[m]) {
            const LilvNode *g = lilv_nodes_get(mains[m], i);
            for (unsigned k = 0; lilv_node_is_uri(g) && k < fx->ngroups; k++)
                if (strcmp(fx->groups[k].uri, lilv_node_as_uri(g)) == 0)
                    fx->groups[k].main = true;
        }
        lilv_nodes_free(mains[m]);
    }
    lilv_node_free(group_p);
    lilv_node_free(desig_p);
    lilv_node_free(main_in);
    lilv_node_free(main_out);
    return rc;
}

void lv2_groups_free(lv2_fx *fx)
{
    for (unsigned k = 0; k < fx->ngroups; k++) {
        free(fx->groups[k].uri);
        free(fx->groups[k].symbol);
        free(fx->groups[k].label);
        free(fx->groups[k].type);
    }
    free(fx->groups);
    fx->groups = NULL;
    fx->ngroups = 0;
    for (uint32_t i = 0; fx->ports && i < fx->nports; i++) {
        free(fx->ports[i].designation);
        fx->ports[i].designation = NULL;
    }
}

int lv2_group_count(const lv2_fx *fx) { return (int)fx->ngroups; }

int lv2_group_get(const lv2_fx *fx, int i, lv2_group_info *out)
{
    if (i < 0 || (unsigned)i >= fx->ngroups)
        return VST_E_PARAM_INDEX;
    const lv2_group *g = &fx->groups[i];
    *out = (lv2_group_info){g->uri, g->symbol, g->label, g->type, g->direction, g->main};
    return VST_OK;
}

const char *lv2_port_group(const lv2_fx *fx, uint32_t port)
{
    int g = port < fx->nports ? fx->ports[port].group : -1;
    return g >= 0 && (unsigned)g < fx->ngroups ? fx->groups[g].symbol : "";
}

const char *lv2_port_designation(const lv2_fx *fx, uint32_t port)
{
    return port < fx->nports && fx->ports[port].designation ? fx->ports[port].designation : "";
}

int lv2_audio_get_info(const lv2_fx *fx, bool output, int k, lv2_audio_info *out)
{
    uint32_t n = output ? fx->naout : fx->nain;
    if (k < 0 || (uint32_t)k >= n)
        return VST_E_PARAM_INDEX;
    uint32_t port = output ? fx->aout[k] : fx->ain[k];
    out->symbol = fx->ports[port].symbol;
    out->name = fx->ports[port].name;
    out->group = lv2_port_group(fx, port);
    out->designation = lv2_port_designation(fx, port);
    out->cv = fx->ports[port].cv;
    return VST_OK;
}
