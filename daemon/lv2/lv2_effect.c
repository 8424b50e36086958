/* lv2_effect.c - an LV2 plugin behind a VST2 AEffect (control side):
 * reading its ports, the host features, instantiating, the dispatcher the
 * VST2 layer calls, and freeing.
 *
 * Features given to every plugin: urid:map/unmap, options:options (sample
 * rate, min/max/nominal block length, sequence size), buf-size:
 * boundedBlockLength (each run() is at most max_block frames: the graph
 * splits longer periods, and so does lv2_process_rt.c if the VST2 layer's
 * block grew after instantiation), worker:schedule, log:log, state:
 * loadDefaultState/makePath/mapPath/freePath.  A plugin requiring anything
 * else (buf-size:fixedBlockLength, powerOf2BlockLength, instance-access,
 * ...) is refused with the feature's URI, before any of its code runs. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lv2/atom/atom.h>
#include <lv2/buf-size/buf-size.h>
#include <lv2/core/lv2.h>
#include <lv2/midi/midi.h>
#include <lv2/parameters/parameters.h>
#include <lv2/patch/patch.h>
#include <lv2/port-props/port-props.h>
#include <lv2/resize-port/resize-port.h>
#include <lv2/time/time.h>
#include <lv2/units/units.h>

#include "daemon/lv2/lv2_internal.h"

#define SEQ_DEFAULT 8192u     /* bytes of an atom port's buffer */
#define OUT_EVENTS 256u       /* MIDI out handed to the host per call */

#define fail vst_fail

lv2_fx *lv2_of(AEffect *e)
{
    extern VstIntPtr lv2_dispatch(AEffect *, VstInt32, VstInt32, VstIntPtr, void *, float);
    return e && e->dispatcher == lv2_dispatch ? lv2_fx_of(e) : NULL;
}

const char *lv2_uri(const lv2_fx *fx) { return fx->uri; }

/* ---- values ---- */

#define load_f lv2_load_f
#define store_f lv2_store_f

/* ---- holding the audio thread out ---- */

void lv2_hold(lv2_fx *fx)
{
    atomic_store(&fx->hold, 1);
    while (atomic_load(&fx->busy)) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
}

void lv2_release(lv2_fx *fx) { atomic_store(&fx->hold, 0); }

/* ---- the log feature ---- */

/* Messages from plugin code on the control side go to stderr (the
 * daemon's log); on the audio thread they are dropped: no I/O there. */
extern __thread lv2_fx *lv2_tls_rt;

static int log_vprintf(LV2_Log_Handle h, LV2_URID type, const char *fmt, va_list ap)
{
    (void)type;
    lv2_fx *fx = h;
    if (lv2_tls_rt)
        return 0;
    fprintf(stderr, "lv2: %s: ", fx->name ? fx->name : "?");
    return vfprintf(stderr, fmt, ap);
}

static int log_printf(LV2_Log_Handle h, LV2_URID type, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = log_vprintf(h, type, fmt, ap);
    va_end(ap);
    return r;
}

/* ---- ports ---- */

static void unit_symbol(LilvWorld *w, const LilvPlugin *p, const LilvPort *port, char *out,
                        size_t len)
{
    LilvNode *pred = lilv_new_uri(w, LV2_UNITS__unit);
    LilvNode *unit = lilv_port_get(p, port, pred);
    out[0] = '\0';
    if (unit) {
        LilvNode *sym_pred = lilv_new_uri(w, LV2_UNITS__symbol);
        LilvNode *sym = lilv_world_get(w, unit, sym_pred, NULL);
        if (sym)
            snprintf(out, len, "%s", lilv_node_as_string(sym));
        lilv_node_free(sym);
        lilv_node_free(sym_pred);
    }
    lilv_node_free(unit);
    lilv_node_free(pred);
}

static float node_float(const LilvNode *n, float dflt)
{
    return n && (lilv_node_is_float(n) || lilv_node_is_int(n)) ? lilv_node_as_float(n) : dflt;
}

/* The classes and properties read_ports asks about, as lilv nodes. */
enum { N_AUDIO, N_CONTROL, N_ATOM, N_INPUT, N_INTEGER, N_TOGGLED, N_ENUM, N_LOG, N_LATENCY,
       N_OPTIONAL, N_MIDI, N_TIMEPOS, N_MINSIZE, N_PATCH, N_CV, N_COUNT };

static const char *const node_uris[N_COUNT] = {
    LV2_CORE__AudioPort,   LV2_CORE__ControlPort,       LV2_ATOM__AtomPort,
    LV2_CORE__InputPort,   LV2_CORE__integer,           LV2_CORE__toggled,
    LV2_CORE__enumeration, LV2_PORT_PROPS__logarithmic, LV2_CORE__reportsLatency,
    LV2_CORE__connectionOptional, LV2_MIDI__MidiEvent,  LV2_TIME__Position,
    LV2_RESIZE_PORT__minimumSize, LV2_PATCH__Message, LV2_CORE__CVPort,
};

static int read_ports(LilvWorld *w, lv2_fx *fx, char *err)
{
    const LilvPlugin *p = fx->plugin;
    uint32_t n = lilv_plugin_get_num_ports(p);
    LilvNode *u[N_COUNT];
    for (int k = 0; k < N_COUNT; k++)
        u[k] = lilv_new_uri(w, node_uris[k]);
    LilvNode *audio = u[N_AUDIO], *control = u[N_CONTROL], *atom = u[N_ATOM], *input = u[N_INPUT];
    LilvNode *integer = u[N_INTEGER], *toggled = u[N_TOGGLED], *enumeration = u[N_ENUM];
    LilvNode *logarithmic = u[N_LOG], *latency = u[N_LATENCY], *optional = u[N_OPTIONAL];
    LilvNode *midi = u[N_MIDI], *timepos = u[N_TIMEPOS], *minsize = u[N_MINSIZE];
    int rc = VST_OK;

    fx->nports = n;
    fx->ports = calloc(n ? n : 1, sizeof *fx->ports);
    fx->ain = calloc(n ? n : 1, sizeof(uint32_t));
    fx->aout = calloc(n ? n : 1, sizeof(uint32_t));
    fx->cin = calloc(n ? n : 1, sizeof(uint32_t));
    fx->cout = calloc(n ? n : 1, sizeof(uint32_t));
    fx->atin = calloc(n ? n : 1, sizeof(uint32_t));
    fx->atout = calloc(n ? n : 1, sizeof(uint32_t));
    fx->ctl = calloc(n ? n : 1, sizeof(float));
    if (!fx->ports || !fx->ain || !fx->aout || !fx->cin || !fx->cout || !fx->atin || !fx->atout ||
        !fx->ctl) {
        rc = fail(err, VST_E_NOMEM, "out of memory");
        goto out;
    }
    fx->midi_port = -1;
    fx->patch_port = -1;
    for (uint32_t i = 0; i < n; i++) {
        const LilvPort *port = lilv_plugin_get_port_by_index(p, i);
        lv2_port *q = &fx->ports[i];
        bool in = lilv_port_is_a(p, port, input);
        LilvNode *name = lilv_port_get_name(p, port);
        q->index = i;
        q->symbol = strdup(lilv_node_as_string(lilv_port_get_symbol(p, port)));
        q->name = strdup(name ? lilv_node_as_string(name) : q->symbol);
        lilv_node_free(name);
        if (!q->symbol || !q->name) {
            rc = fail(err, VST_E_NOMEM, "out of memory");
            goto out;
        }
        if (lilv_port_is_a(p, port, audio) || lilv_port_is_a(p, port, u[N_CV])) {
            /* A CV port is an audio-rate buffer of control values: a
             * graph port like an audio one (in_N / out_N, in port order). */
            q->cv = !lilv_port_is_a(p, port, audio);
            q->kind = in ? LV2P_AUDIO_IN : LV2P_AUDIO_OUT;
            if (in)
                fx->ain[fx->nain++] = i;
            else
                fx->aout[fx->naout++] = i;
        } else if (lilv_port_is_a(p, port, control)) {
            LilvNode *def = NULL, *min = NULL, *max = NULL;
            lilv_port_get_range(p, port, &def, &min, &max);
            q->toggled = lilv_port_has_property(p, port, toggled);
            q->integer = lilv_port_has_property(p, port, integer);
            q->enumeration = lilv_port_has_property(p, port, enumeration);
            q->logarithmic = lilv_port_has_property(p, port, logarithmic);
            q->latency = lilv_port_has_property(p, port, latency);
            q->min = node_float(min, q->toggled ? 0.0f : 0.0f);
            q->max = node_float(max, q->toggled ? 1.0f : 1.0f);
            if (q->max < q->min) {
                float t = q->max;
                q->max = q->min;
                q->min = t;
            }
            q->def = node_float(def, q->min);
            lilv_node_free(def);
            lilv_node_free(min);
            lilv_node_free(max);
            unit_symbol(w, p, port, q->unit, sizeof q->unit);
            fx->ctl[i] = q->def;
            q->kind = in ? LV2P_CONTROL_IN : LV2P_CONTROL_OUT;
            if (in)
                fx->cin[fx->ncin++] = i;
            else
                fx->cout[fx->ncout++] = i;
        } else if (lilv_port_is_a(p, port, atom)) {
            LilvNode *ms = lilv_port_get(p, port, minsize);
            uint32_t want = ms && lilv_node_is_int(ms) ? (uint32_t)lilv_node_as_int(ms) : 0;
            lilv_node_free(ms);
            q->seq_cap = want > SEQ_DEFAULT ? want : SEQ_DEFAULT;
            q->midi = lilv_port_supports_event(p, port, midi);
            q->time = in && lilv_port_supports_event(p, port, timepos);
            fx->has_time = fx->has_time || q->time;
            q->kind = in ? LV2P_ATOM_IN : LV2P_ATOM_OUT;
            if (in) {
                fx->atin[fx->natin++] = i;
                if (q->midi && fx->midi_port < 0)
                    fx->midi_port = (int32_t)i;
                if (fx->patch_port < 0 && lilv_port_supports_event(p, port, u[N_PATCH]))
                    fx->patch_port = (int32_t)i;
            } else {
                fx->atout[fx->natout++] = i;
            }
        } else if (lilv_port_has_property(p, port, optional)) {
            q->kind = LV2P_OTHER;
        } else {
            rc = fail(err, VST_E_UNSUPPORTED,
                      "%s: port %s is of a type sonod does not host", fx->uri, q->symbol);
            goto out;
        }
    }
out:
    for (int k = 0; k < N_COUNT; k++)
        lilv_node_free(u[k]);
    return rc;
}

static lv2_seqbuf *seqbuf_new(uint32_t n, uint32_t cap)
{
    size_t one = (sizeof(LV2_Atom_Sequence) + cap + 7) & ~(size_t)7;
    size_t head = (sizeof(lv2_seqbuf) + n * sizeof(LV2_Atom_Sequence *) + 7) & ~(size_t)7;
    lv2_seqbuf *b = calloc(1, head + n * one);
    if (!b)
        return NULL;
    b->cap = cap;
    b->n = n;
    for (uint32_t k = 0; k < n; k++)
        b->seq[k] = (LV2_Atom_Sequence *)((uint8_t *)b + head + k * one);
    return b;
}

/* Bytes a MIDI port needs for `events` short messages per block. */
static uint32_t midi_bytes(unsigned events) { return events * 32u + 4096u; }

static int alloc_buffers(lv2_fx *fx, unsigned events)
{
    fx->target = calloc(fx->ncin ? fx->ncin : 1, sizeof *fx->target);
    fx->outval = calloc(fx->ncout ? fx->ncout : 1, sizeof *fx->outval);
    fx->reported = calloc(fx->ncout ? fx->ncout : 1, sizeof *fx->reported);
    fx->out_cap = OUT_EVENTS;
    fx->out_ev = calloc(OUT_EVENTS, sizeof *fx->out_ev);
    fx->out_list = calloc(1, sizeof(VstEvents) + OUT_EVENTS * sizeof(VstEvent *));
    if (!fx->target || !fx->outval || !fx->reported || !fx->out_ev || !fx->out_list)
        return VST_E_NOMEM;
    for (uint32_t k = 0; k < fx->ncin; k++)
        store_f(&fx->target[k], fx->ports[fx->cin[k]].def);
    /* MIDI ports share one growable allocation; other atom ports have a
     * buffer each. */
    fx->mports = calloc(fx->natin + fx->natout + 1, sizeof *fx->mports);
    if (!fx->mports)
        return VST_E_NOMEM;
    uint32_t want = midi_bytes(events);
    if (fx->midi_port >= 0)
        fx->mports[fx->nmports++] = (uint32_t)fx->midi_port;
    for (uint32_t k = 0; k < fx->natout; k++)
        if (fx->ports[fx->atout[k]].midi)
            fx->mports[fx->nmports++] = fx->atout[k];
    for (uint32_t k = 0; k < fx->nmports; k++)
        if (fx->ports[fx->mports[k]].seq_cap > want)
            want = fx->ports[fx->mports[k]].seq_cap;
    fx->midi_cap = want;
    if (fx->nmports) {
        fx->midi_buf = seqbuf_new(fx->nmports, want);
        if (!fx->midi_buf)
            return VST_E_NOMEM;
        for (uint32_t k = 0; k < fx->nmports; k++) {
            fx->ports[fx->mports[k]].seq = fx->midi_buf->seq[k];
            fx->ports[fx->mports[k]].seq_cap = want;
        }
    }
    for (uint32_t k = 0; k < fx->natin + fx->natout; k++) {
        lv2_port *q = &fx->ports[k < fx->natin ? fx->atin[k] : fx->atout[k - fx->natin]];
        if (!q->seq && !(q->seq = calloc(1, sizeof(LV2_Atom_Sequence) + q->seq_cap)))
            return VST_E_NOMEM;
    }
    return VST_OK;
}

void lv2_map_urids(lv2_fx *fx)
{
    static const char *const uris[] = {
        [U_ATOM_SEQUENCE] = LV2_ATOM__Sequence, [U_ATOM_CHUNK] = LV2_ATOM__Chunk,
        [U_ATOM_OBJECT] = LV2_ATOM__Object,     [U_ATOM_FLOAT] = LV2_ATOM__Float,
        [U_ATOM_DOUBLE] = LV2_ATOM__Double,     [U_ATOM_INT] = LV2_ATOM__Int,
        [U_ATOM_LONG] = LV2_ATOM__Long,         [U_MIDI_EVENT] = LV2_MIDI__MidiEvent,
        [U_TIME_POSITION] = LV2_TIME__Position, [U_TIME_FRAME] = LV2_TIME__frame,
        [U_TIME_SPEED] = LV2_TIME__speed,       [U_TIME_BPM] = LV2_TIME__beatsPerMinute,
        [U_TIME_BAR] = LV2_TIME__bar,           [U_TIME_BARBEAT] = LV2_TIME__barBeat,
        [U_TIME_BPB] = LV2_TIME__beatsPerBar,   [U_TIME_BEATUNIT] = LV2_TIME__beatUnit,
        [U_PATCH_SET] = LV2_PATCH__Set,         [U_PATCH_PROPERTY] = LV2_PATCH__property,
        [U_PATCH_VALUE] = LV2_PATCH__value,     [U_ATOM_URID] = LV2_ATOM__URID,
        [U_PATCH_GET] = LV2_PATCH__Get,         [U_ATOM_PATH] = LV2_ATOM__Path,
        [U_ATOM_STRING] = LV2_ATOM__String,     [U_ATOM_URI] = LV2_ATOM__URI,
        [U_ATOM_BOOL] = LV2_ATOM__Bool,
    };
    _Static_assert(sizeof uris / sizeof uris[0] <= sizeof fx->urid_cache / sizeof fx->urid_cache[0],
                   "urid_cache");
    LV2_URID_Map *m = lv2_urid_map();
    for (unsigned i = 0; i < sizeof uris / sizeof uris[0]; i++)
        fx->urid_cache[i] = m->map(m->handle, uris[i]);
    lv2_atom_forge_init(&fx->forge, m);
}

static void set_option(LV2_Options_Option *o, LV2_URID key, LV2_URID type, uint32_t size,
                       const void *value)
{
    o->context = LV2_OPTIONS_INSTANCE;
    o->subject = 0;
    o->key = key;
    o->size = size;
    o->type = type;
    o->value = value;
}

static void build_features(lv2_fx *fx)
{
    LV2_URID_Map *m = lv2_urid_map();
    fx->opt_rate = (float)fx->rate;
    fx->opt_min = 1;
    fx->opt_max = (int32_t)fx->max_block;
    fx->opt_nominal = (int32_t)fx->max_block;
    fx->opt_seq = (int32_t)SEQ_DEFAULT;
    LV2_URID tf = m->map(m->handle, LV2_ATOM__Float), ti = m->map(m->handle, LV2_ATOM__Int);
    set_option(&fx->options[0], m->map(m->handle, LV2_PARAMETERS__sampleRate), tf, sizeof(float),
               &fx->opt_rate);
    set_option(&fx->options[1], m->map(m->handle, LV2_BUF_SIZE__minBlockLength), ti,
               sizeof(int32_t), &fx->opt_min);
    set_option(&fx->options[2], m->map(m->handle, LV2_BUF_SIZE__maxBlockLength), ti,
               sizeof(int32_t), &fx->opt_max);
    set_option(&fx->options[3], m->map(m->handle, LV2_BUF_SIZE__nominalBlockLength), ti,
               sizeof(int32_t), &fx->opt_nominal);
    set_option(&fx->options[4], m->map(m->handle, LV2_BUF_SIZE__sequenceSize), ti,
               sizeof(int32_t), &fx->opt_seq);
    memset(&fx->options[5], 0, sizeof fx->options[5]);

    fx->log.handle = fx;
    fx->log.printf = log_printf;
    fx->log.vprintf = log_vprintf;
    fx->sched.handle = fx;
    fx->sched.schedule_work = lv2_worker_schedule;
    lv2_path_features(fx);

    fx->f_map = (LV2_Feature){LV2_URID__map, lv2_urid_map()};
    fx->f_unmap = (LV2_Feature){LV2_URID__unmap, lv2_urid_unmap()};
    fx->f_opts = (LV2_Feature){LV2_OPTIONS__options, fx->options};
    fx->f_bounded = (LV2_Feature){LV2_BUF_SIZE__boundedBlockLength, NULL};
    fx->f_log = (LV2_Feature){LV2_LOG__log, &fx->log};
    fx->f_sched = (LV2_Feature){LV2_WORKER__schedule, &fx->sched};
    fx->f_default = (LV2_Feature){LV2_STATE__loadDefaultState, NULL};
    fx->f_make = (LV2_Feature){LV2_STATE__makePath, &fx->make_path};
    fx->f_mappath = (LV2_Feature){LV2_STATE__mapPath, &fx->map_path};
    fx->f_freepath = (LV2_Feature){LV2_STATE__freePath, &fx->free_path};
    LV2_Feature *all[] = {&fx->f_map,   &fx->f_unmap,   &fx->f_opts,    &fx->f_bounded,
                          &fx->f_log,   &fx->f_sched,   &fx->f_default, &fx->f_make,
                          &fx->f_mappath, &fx->f_freepath, NULL};
    memcpy(fx->features, all, sizeof all);
    LV2_Feature *st[] = {&fx->f_map, &fx->f_unmap, &fx->f_opts,    &fx->f_bounded,
                         &fx->f_log, &fx->f_sched, &fx->f_default, NULL};
    memcpy(fx->state_features, st, sizeof st);
}

/* ---- freeing ---- */

static void fx_free(lv2_fx *fx)
{
    if (!fx)
        return;
    lv2_worker_stop(fx);
    if (fx->instance) {
        if (fx->active)
            lilv_instance_deactivate(fx->instance);
        lilv_instance_free(fx->instance);
    }
    lv2_presets_free(fx);
    lv2_patch_free(fx);
    lv2_groups_free(fx);
    lv2_path_cleanup(fx);
    lv2_reclaim(fx);
    lv2_seqbuf *pending = atomic_exchange(&fx->next_midi, NULL);
    free(pending);
    for (uint32_t i = 0; fx->ports && i < fx->nports; i++) {
        lv2_port *q = &fx->ports[i];
        bool shared = false;
        for (uint32_t k = 0; k < fx->nmports; k++)
            shared = shared || fx->mports[k] == i;
        free(q->symbol);
        free(q->name);
        if (!shared)
            free(q->seq);
    }
    free(fx->mports);
    free(fx->midi_buf);
    free(fx->ports);
    free(fx->ain);
    free(fx->aout);
    free(fx->cin);
    free(fx->cout);
    free(fx->atin);
    free(fx->atout);
    free(fx->ctl);
    free(fx->target);
    free(fx->outval);
    free(fx->reported);
    free(fx->out_ev);
    free(fx->out_list);
    free(fx->features);
    free(fx->state_features);
    free(fx->chunk);
    free(fx->uri);
    free(fx->name);
    free(fx->vendor);
    free(fx);
}

/* ---- the dispatcher ---- */

static void copy_out(void *ptr, const char *s)
{
    if (ptr)
        snprintf(ptr, VST2_STRING_BUFFER, "%s", s ? s : "");
}

static void param_display(lv2_fx *fx, int index, char *out)
{
    const lv2_port *q = &fx->ports[fx->cin[index]];
    float v = lv2_to_plain(q, lv2_to_norm(q, load_f(&fx->target[index])));
    if (q->enumeration || q->toggled) {
        LilvWorld *w = lv2_world_lock();
        const LilvPort *port = lilv_plugin_get_port_by_index(fx->plugin, q->index);
        LilvScalePoints *sp = lilv_port_get_scale_points(fx->plugin, port);
        bool done = false;
        LILV_FOREACH (scale_points, i, sp) {
            const LilvScalePoint *pt = lilv_scale_points_get(sp, i);
            if (fabsf(lilv_node_as_float(lilv_scale_point_get_value(pt)) - v) < 1e-6f) {
                snprintf(out, VST2_STRING_BUFFER, "%s",
                         lilv_node_as_string(lilv_scale_point_get_label(pt)));
                done = true;
                break;
            }
        }
        lilv_scale_points_free(sp);
        lv2_world_unlock();
        (void)w;
        if (done)
            return;
        if (q->toggled) {
            snprintf(out, VST2_STRING_BUFFER, "%s", v >= 0.5f ? "on" : "off");
            return;
        }
    }
    if (q->integer || q->enumeration)
        snprintf(out, VST2_STRING_BUFFER, "%d", (int)v);
    else
        snprintf(out, VST2_STRING_BUFFER, "%.4g", (double)v);
}

VstIntPtr lv2_dispatch(AEffect *e, VstInt32 op, VstInt32 index, VstIntPtr value, void *ptr,
                       float opt);
VstIntPtr lv2_dispatch(AEffect *e, VstInt32 op, VstInt32 index, VstIntPtr value, void *ptr,
                       float opt)
{
    lv2_fx *fx = lv2_fx_of(e);
    (void)opt;
    bool param_ok = index >= 0 && (uint32_t)index < fx->ncin;
    switch (op) {
    case effProcessEvents:   /* audio thread, before processReplacing */
        lv2_rt_events(fx, ptr);
        return 1;
    case effClose:
        fx_free(fx);
        return 0;
    case effMainsChanged:
        if (value && !fx->active) {
            lv2_hold(fx);
            lilv_instance_activate(fx->instance);
            fx->active = true;
            lv2_release(fx);
        } else if (!value && fx->active) {
            lv2_hold(fx);
            lilv_instance_deactivate(fx->instance);
            fx->active = false;
            lv2_release(fx);
        }
        for (uint32_t k = 0; k < fx->ncout; k++)
            if (fx->ports[fx->cout[k]].latency)
                e->initialDelay = (VstInt32)load_f(&fx->outval[k]);
        return 0;
    case effSetProgram:
        if (value >= 0 && value < fx->npresets && lv2_preset_apply(fx, (int)value) == VST_OK)
            atomic_store(&fx->program, (int)value);
        return 0;
    case effGetProgram:
        return atomic_load(&fx->program);
    case effGetProgramName: {
        int cur = atomic_load(&fx->program);
        copy_out(ptr, cur >= 0 && cur < fx->npresets ? fx->preset_names[cur] : "");
        return 0;
    }
    case effGetProgramNameIndexed:
        if (index < 0 || index >= fx->npresets)
            return 0;
        copy_out(ptr, fx->preset_names[index]);
        return 1;
    case effGetParamName:
        copy_out(ptr, param_ok ? fx->ports[fx->cin[index]].name : "");
        return 0;
    case effGetParamLabel:
        copy_out(ptr, param_ok ? fx->ports[fx->cin[index]].unit : "");
        return 0;
    case effGetParamDisplay:
        if (param_ok && ptr)
            param_display(fx, index, ptr);
        return 0;
    case effGetParameterProperties:
        if (!param_ok || !ptr)
            return 0;
        {
            VstParameterProperties *pp = ptr;
            const lv2_port *q = &fx->ports[fx->cin[index]];
            memset(pp, 0, sizeof *pp);
            snprintf(pp->label, sizeof pp->label, "%s", q->name);
            snprintf(pp->shortLabel, sizeof pp->shortLabel, "%s", q->symbol);
        }
        return 1;
    case effCanBeAutomated:
        return param_ok ? 1 : 0;
    case effGetChunk:
        return lv2_chunk_get(fx, ptr);
    case effSetChunk:
        return lv2_chunk_set(fx, ptr, (size_t)value);
    case effGetEffectName:
    case effGetProductString:
        copy_out(ptr, fx->name);
        return 1;
    case effGetVendorString:
        copy_out(ptr, fx->vendor);
        return 1;
    case effGetPlugCategory:
        return (e->flags & effFlagsIsSynth) ? kPlugCategSynth : kPlugCategEffect;
    case effGetVstVersion:
        return 2400;
    case effCanDo:
        if (ptr && fx->midi_port >= 0 &&
            (strcmp(ptr, "receiveVstEvents") == 0 || strcmp(ptr, "receiveVstMidiEvent") == 0))
            return 1;
        return 0;
    default:
        /* effOpen, effSetSampleRate (fixed at instantiation: a new rate
         * needs a new load), effSetBlockSize (longer blocks are split into
         * runs of the instantiated maximum), effStart/StopProcess: nothing
         * to do. */
        return 0;
    }
}

/* ---- the opener ---- */

AEffect *lv2_open_effect(void *ctx, const char *uri, const vst_config *cfg, vst_host_fn host,
                         int *rc, char *err)
{
    char why[VST_ERR_LEN];
    (void)ctx;
    LilvWorld *w = lv2_world_lock();
    if (!w) {
        lv2_world_unlock();
        *rc = fail(err, VST_E_NOMEM, "cannot create the LV2 world");
        return NULL;
    }
    const LilvPlugin *p = lv2_world_plugin(w, uri);
    if (!p) {
        lv2_world_unlock();
        *rc = fail(err, VST_E_NOT_FOUND, "no LV2 plugin with the URI %s in the LV2 path", uri);
        return NULL;
    }
    if (lv2_unsupported(w, p, why, sizeof why)) {
        lv2_world_unlock();
        *rc = fail(err, VST_E_UNSUPPORTED, "%s: %s", uri, why);
        return NULL;
    }
    lv2_fx *fx = calloc(1, sizeof *fx);
    if (!fx) {
        lv2_world_unlock();
        *rc = fail(err, VST_E_NOMEM, "out of memory");
        return NULL;
    }
    atomic_init(&fx->next_midi, NULL);
    atomic_init(&fx->reclaim, NULL);
    atomic_init(&fx->program, 0);
    fx->plugin = p;
    fx->rate = cfg->sample_rate;
    fx->max_block = cfg->max_block;
    fx->offline = cfg->offline;
    fx->host = host;
    vst_info info;
    lv2_describe(w, p, &info);
    fx->uri = strdup(uri);
    fx->name = strdup(info.name);
    fx->vendor = strdup(info.vendor);
    fx->features = calloc(12, sizeof *fx->features);
    fx->state_features = calloc(12, sizeof *fx->state_features);
    *rc = VST_E_NOMEM;
    if (!fx->uri || !fx->name || !fx->vendor || !fx->features || !fx->state_features) {
        fail(err, VST_E_NOMEM, "out of memory");
        goto fail;
    }
    if ((*rc = read_ports(w, fx, err)) != VST_OK)
        goto fail;
    if ((*rc = alloc_buffers(fx, cfg->event_capacity ? cfg->event_capacity : 1024)) != VST_OK) {
        fail(err, VST_E_NOMEM, "out of memory");
        goto fail;
    }
    lv2_map_urids(fx);
    build_features(fx);
    if ((*rc = lv2_presets_load(fx, w)) != VST_OK || (*rc = lv2_patch_load(fx, w)) != VST_OK ||
        (*rc = lv2_groups_load(fx, w)) != VST_OK) {
        fail(err, *rc, "out of memory");
        goto fail;
    }
    fx->instance = lilv_plugin_instantiate(p, fx->rate, (const LV2_Feature *const *)fx->features);
    if (!fx->instance) {
        *rc = fail(err, VST_E_DLOPEN, "%s: the plugin could not be instantiated", uri);
        goto fail;
    }
    for (uint32_t i = 0; i < fx->nports; i++) {
        lv2_port *q = &fx->ports[i];
        if (q->kind == LV2P_CONTROL_IN || q->kind == LV2P_CONTROL_OUT)
            lilv_instance_connect_port(fx->instance, i, &fx->ctl[i]);
        else if (q->kind == LV2P_ATOM_IN || q->kind == LV2P_ATOM_OUT)
            lilv_instance_connect_port(fx->instance, i, q->seq);
        else
            lilv_instance_connect_port(fx->instance, i, NULL);
    }
    if ((*rc = lv2_worker_start(fx, err)) != VST_OK)
        goto fail;
    lv2_world_unlock();

    AEffect *e = &fx->fx;
    e->magic = kEffectMagic;
    e->dispatcher = lv2_dispatch;
    e->setParameter = lv2_rt_set_param;
    e->getParameter = lv2_rt_get_param;
    e->processReplacing = lv2_rt_process;
    e->numPrograms = fx->npresets;
    e->numParams = (VstInt32)fx->ncin;
    e->numInputs = (VstInt32)fx->nain;
    e->numOutputs = (VstInt32)fx->naout;
    e->flags = effFlagsCanReplacing | effFlagsProgramChunks | (info.is_synth ? effFlagsIsSynth : 0);
    e->uniqueID = 0;
    e->version = 0;
    e->object = fx;
    *rc = VST_OK;
    return e;
fail:
    lv2_world_unlock();
    fx_free(fx);
    return NULL;
}

/* ---- a description without an instance ---- */

lv2_fx *lv2_describe_ports(const char *uri, char *err)
{
    LilvWorld *w = lv2_world_lock();
    const LilvPlugin *p = w ? lv2_world_plugin(w, uri) : NULL;
    lv2_fx *fx = p ? calloc(1, sizeof *fx) : NULL;
    int rc = VST_E_NOMEM;
    if (!p) {
        lv2_world_unlock();
        fail(err, VST_E_NOT_FOUND, "no LV2 plugin with the URI %s in the LV2 path", uri);
        return NULL;
    }
    if (fx) {
        fx->plugin = p;
        fx->uri = strdup(uri);
        rc = fx->uri ? read_ports(w, fx, err) : VST_E_NOMEM;
        if (rc == VST_OK)
            rc = lv2_groups_load(fx, w);
        /* Properties: the values an isolated host reports
         * (lv2_property_message), changes checked here first. */
        if (rc == VST_OK) {
            lv2_map_urids(fx);
            rc = lv2_patch_describe(fx, w);
        }
        if (rc == VST_OK && !(fx->target = calloc(fx->ncin ? fx->ncin : 1, sizeof *fx->target)))
            rc = VST_E_NOMEM;
        /* Control outputs: the values an isolated host sends back
         * (lv2_output_store). */
        if (rc == VST_OK && (!(fx->outval = calloc(fx->ncout ? fx->ncout : 1, sizeof *fx->outval)) ||
                             !(fx->reported = calloc(fx->ncout ? fx->ncout : 1, sizeof *fx->reported))))
            rc = VST_E_NOMEM;
        for (uint32_t k = 0; rc == VST_OK && k < fx->ncin; k++)
            lv2_store_f(&fx->target[k], fx->ports[fx->cin[k]].def);
    }
    lv2_world_unlock();
    if (rc != VST_OK) {
        fx_free(fx);
        fail(err, rc, "%s: cannot describe its ports", uri);
        return NULL;
    }
    return fx;
}

void lv2_describe_free(lv2_fx *fx) { fx_free(fx); }

float lv2_param_plain(const lv2_fx *fx, int index, float norm)
{
    if (index < 0 || (uint32_t)index >= fx->ncin)
        return 0.0f;
    return lv2_to_plain(&fx->ports[fx->cin[index]], norm);
}

/* ---- the library's own calls ---- */

int lv2_param_count(const lv2_fx *fx) { return (int)fx->ncin; }
int lv2_output_count(const lv2_fx *fx) { return (int)fx->ncout; }
bool lv2_has_worker(const lv2_fx *fx) { return fx->worker != NULL; }

static void fill_info(const lv2_fx *fx, const lv2_port *q, float value, lv2_param_info *out)
{
    out->symbol = q->symbol;
    out->name = q->name;
    out->unit = q->unit;
    out->min = q->min;
    out->max = q->max;
    out->def = q->def;
    out->value = value;
    out->integer = q->integer;
    out->toggled = q->toggled;
    out->enumeration = q->enumeration;
    out->logarithmic = q->logarithmic;
    out->group = q->group >= 0 && (unsigned)q->group < fx->ngroups ? fx->groups[q->group].symbol : "";
    out->designation = q->designation ? q->designation : "";
}

int lv2_param_get_info(lv2_fx *fx, int index, lv2_param_info *out)
{
    if (index < 0 || (uint32_t)index >= fx->ncin)
        return VST_E_PARAM_INDEX;
    fill_info(fx, &fx->ports[fx->cin[index]], load_f(&fx->target[index]), out);
    return VST_OK;
}

int lv2_output_get_info(lv2_fx *fx, int index, lv2_param_info *out)
{
    if (index < 0 || (uint32_t)index >= fx->ncout)
        return VST_E_PARAM_INDEX;
    fill_info(fx, &fx->ports[fx->cout[index]], load_f(&fx->outval[index]), out);
    return VST_OK;
}

static int by_symbol(const lv2_fx *fx, const uint32_t *list, uint32_t n, const char *symbol)
{
    for (uint32_t k = 0; k < n; k++)
        if (strcmp(fx->ports[list[k]].symbol, symbol) == 0)
            return (int)k;
    return -1;
}

int lv2_param_by_symbol(const lv2_fx *fx, const char *s) { return by_symbol(fx, fx->cin, fx->ncin, s); }
int lv2_output_by_symbol(const lv2_fx *fx, const char *s)
{
    return by_symbol(fx, fx->cout, fx->ncout, s);
}

int lv2_param_normalise(const lv2_fx *fx, int index, double plain, float *norm)
{
    if (index < 0 || (uint32_t)index >= fx->ncin)
        return VST_E_PARAM_INDEX;
    const lv2_port *q = &fx->ports[fx->cin[index]];
    if (!(plain >= q->min && plain <= q->max))
        return VST_E_PARAM_VALUE;
    *norm = lv2_to_norm(q, (float)plain);
    return VST_OK;
}

int lv2_reserve_events(lv2_fx *fx, unsigned events)
{
    if (fx->nmports == 0)
        return VST_OK;
    if (events > (UINT32_MAX / 4 - 4096u) / 32u)
        return VST_E_NOMEM;
    uint32_t want = midi_bytes(events);
    if (want <= fx->midi_cap)
        return VST_OK;
    lv2_seqbuf *b = seqbuf_new(fx->nmports, want);
    if (!b)
        return VST_E_NOMEM;
    fx->midi_cap = want;
    /* Whoever exchanges a buffer out owns it: a bigger one not yet taken
     * by the audio thread is replaced and freed here. */
    free(atomic_exchange(&fx->next_midi, b));
    return VST_OK;
}

unsigned lv2_reclaim(lv2_fx *fx)
{
    unsigned n = 0;
    lv2_seqbuf *b = atomic_exchange(&fx->reclaim, NULL);
    while (b) {
        lv2_seqbuf *next = b->next;
        free(b);
        b = next;
        n++;
    }
    return n;
}

uint32_t lv2_take_overflow(lv2_fx *fx) { return (uint32_t)atomic_exchange(&fx->overflow, 0); }
uint32_t lv2_take_worker_dropped(lv2_fx *fx)
{
    return (uint32_t)atomic_exchange(&fx->worker_dropped, 0);
}

unsigned lv2_output_values(struct AEffect *e, float *out, unsigned max)
{
    lv2_fx *fx = lv2_of(e);
    unsigned n = 0;

    for (; fx && n < fx->ncout && n < max; n++)
        out[n] = load_f(&fx->outval[n]);
    return n;
}

void lv2_output_store(lv2_fx *fx, unsigned index, float value)
{
    if (index < fx->ncout)
        store_f(&fx->outval[index], value);
}

unsigned lv2_take_output_changes(lv2_fx *fx, lv2_output_change *out, unsigned max)
{
    unsigned n = 0;
    for (uint32_t k = 0; k < fx->ncout && n < max; k++) {
        float v = load_f(&fx->outval[k]);
        if (v == fx->reported[k] || (v != v && fx->reported[k] != fx->reported[k]))
            continue;
        fx->reported[k] = v;
        out[n].index = (int)k;
        out[n].value = v;
        n++;
    }
    return n;
}
