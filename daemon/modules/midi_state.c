/* midi_state.c - the live MIDI routes in the session file (STATE.md,
 * `midi`): routes to plugin nodes (midi_ctl.c) and to Csound instruments
 * (midi_cs.c), as midi.routes lists them.
 *
 * Restored in two steps.  Rank 400, before Csound (rank 500): the current
 * routes to instruments close, so that their voice pools let go of the
 * synth slots an instrument needs to be undefined and the file's routes
 * want.  Rank 600, after Csound and before the graph: the file's routes
 * replace the current ones -- plugin routes to the nodes their plugins
 * have now, Csound routes over the instruments as restored.
 * Control thread only. */
#include <stdlib.h>

#include "daemon/csound/cs_engine.h"
#include "daemon/modules/graph_plan.h"
#include "daemon/modules/graph_state.h"
#include "daemon/modules/midi_cs.h"
#include "daemon/modules/midi_ctl.h"
#include "daemon/modules/midi_state.h"
#include "protocol/wire.h"

typedef struct st_route {
  uint32_t to;                /* saved plugin node id, or GRAPH_ID_CSOUND */
  int32_t channel;            /* -1: all */
  char *instr, *note, *vel;   /* Csound routes; note, vel NULL: not passed */
  unsigned voices;
} st_route;

typedef struct staged {
  st_route *rt;
  unsigned nrt;
} staged;

static void pack_midi(sonod *d, msgpack_packer *pk) {
  (void)d;
  midi_ctl_pack_routes(pk, true);
}

static void free_midi(void *p) {
  staged *s = p;
  unsigned i;

  for (i = 0; i < s->nrt; i++) {
    free(s->rt[i].instr);
    free(s->rt[i].note);
    free(s->rt[i].vel);
  }
  free(s->rt);
  free(s);
}

/* The MIDI routes; a file without them (older sonod) has none. */
static int parse_midi(const msgpack_object *o, void **out, char *err, size_t errlen) {
  staged *s = session_calloc(1, sizeof *s);
  const msgpack_object_array *a;
  uint32_t i;

  *out = s;
  if (o == NULL || o->type == MSGPACK_OBJECT_NIL)
    return 0;
  if ((a = session_array(o)) == NULL)
    return session_bad(err, errlen, "'midi' must be nil or an array");
  s->rt = session_calloc(a->size, sizeof *s->rt);
  for (i = 0; i < a->size; i++) {
    const msgpack_object *m = &a->ptr[i], *ch, *voices;
    st_route *rt = &s->rt[s->nrt];
    int64_t v;

    if (!session_is_map(m))
      return session_bad(err, errlen, "midi[%u] must be a map", i);
    s->nrt++;
    if (!graph_state_node_id(sono_map_get(m, "to"), &rt->to) ||
        (rt->to >= GRAPH_ID_OUT && rt->to != GRAPH_ID_CSOUND))
      return session_bad(err, errlen, "midi[%u].to must be a plugin node id or \"csound\"", i);
    rt->channel = -1;
    ch = sono_map_get(m, "channel");
    if (ch != NULL && ch->type != MSGPACK_OBJECT_NIL) {
      if (!session_int(ch, 0, 15, &v))
        return session_bad(err, errlen, "midi[%u].channel must be nil or 0..15", i);
      rt->channel = (int32_t)v;
    }
    if (rt->to != GRAPH_ID_CSOUND)
      continue;
    if ((rt->instr = session_str(sono_map_get(m, "instr"))) == NULL || rt->instr[0] == '\0')
      return session_bad(err, errlen, "midi[%u].instr must be a non-empty string", i);
    if (!session_opt_str(sono_map_get(m, "note"), &rt->note) ||
        !session_opt_str(sono_map_get(m, "velocity"), &rt->vel))
      return session_bad(err, errlen, "midi[%u].note and .velocity must be nil or strings", i);
    rt->voices = CS_POOL_VOICES;
    voices = sono_map_get(m, "voices");
    if (voices != NULL && voices->type != MSGPACK_OBJECT_NIL) {
      if (!session_int(voices, 1, CS_POOL_MAX_VOICES, &v))
        return session_bad(err, errlen, "midi[%u].voices must be 1..%d", i, CS_POOL_MAX_VOICES);
      rt->voices = (unsigned)v;
    }
  }
  return 0;
}

/* Rank 400: every route to an instrument goes (their sounding synths stop
 * at the audio thread's next block; Csound's step waits for the slots). */
static void close_csound_routes(session_restore *j, void *p) {
  (void)p;
  midi_cs_clear();
  session_step_done(j);
}

/* Rank 600: the file's routes replace the current ones (the old Csound
 * routes went at rank 400). */
static void restore_routes(session_restore *j, void *p) {
  const staged *s = p;
  unsigned i;

  midi_ctl_clear();
  for (i = 0; i < s->nrt; i++) {
    const st_route *sr = &s->rt[i];
    char msg[600];
    int64_t node;

    if (sr->to == GRAPH_ID_CSOUND) {
      if (midi_cs_restore(sr->instr, sr->note, sr->vel, sr->channel, sr->voices, msg,
                          sizeof msg) != 0)
        session_failed(j, "MIDI route to Csound instrument '%s' not restored: %s", sr->instr,
                       msg);
      else
        session_count(j, "midi_routes");
      continue;
    }
    if (!session_id_now(j, "plugins", sr->to, &node))
      session_failed(j, "MIDI route to plugin node %u not restored: its plugin was not restored",
                     sr->to);
    else if (midi_ctl_set((uint32_t)node, sr->channel) != 0)
      session_failed(j, "MIDI route to plugin node %u not restored: at most %d routes", sr->to,
                     MIDI_MAX_ROUTES);
    else
      session_count(j, "midi_routes");
  }
  if (midi_ctl_commit(session_sonod(j), NULL) != 0)
    session_failed(j, "the MIDI routes to plugins were not passed to the audio thread (out of "
                   "memory or its queue full); the next midi.route does");
  session_step_done(j);
}

static unsigned total_routes(const void *p) {
  return ((const staged *)p)->nrt;
}

static const session_step steps[] = {
  { 400, close_csound_routes },
  { 600, restore_routes },
};

static const session_tally tallies[] = {
  { "midi_routes", NULL, 40, "MIDI routes", total_routes },
};

const session_section midi_state_section = {
  .key = "midi",
  .pack = pack_midi,
  .parse = parse_midi,
  .free = free_midi,
  .steps = steps,
  .nsteps = sizeof steps / sizeof steps[0],
  .tallies = tallies,
  .ntallies = sizeof tallies / sizeof tallies[0],
};
