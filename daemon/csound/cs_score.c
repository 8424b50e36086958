/* cs_score.c - raw score lines and blocks (control thread).
 *
 * Lines are parsed here into numeric p-fields, put in Csound's score order
 * and handed to the audio thread in one block; there each event is given to
 * Csound in the k-cycle of its start sample, with p2 counted from the
 * engine's start (cs_process_rt.c apply_events), so that Csound's own
 * --sample-accurate arithmetic treats it as it treats the same line of a
 * score: the same start sample, p3 and end.
 * Supported statements: i, f, q.  Strings in p-fields are not (the C event
 * API takes numbers only); "e" would end the live performance and is refused. */
#include "cs_internal.h"
#include "cs_core.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PFIELDS 1998    /* Csound's PMAX */

/* Csound's score order (Engine/sort.c): start time, then the statement's
 * precedence (q, i with negative p1, f, i), then for two i statements the
 * instrument number and p3, then the order of the lines. */
typedef struct ev_key {
    double p2, p3;
    int preced, insno;
    unsigned line;
    uint32_t type, first, count;
} ev_key;

static int ev_key_cmp(const void *a, const void *b)
{
    const ev_key *x = a, *y = b;
    if (x->p2 != y->p2)
        return x->p2 < y->p2 ? -1 : 1;
    if (x->preced != y->preced)
        return x->preced < y->preced ? -1 : 1;
    if (x->type == 'i' && y->type == 'i') {
        if (x->insno != y->insno)
            return x->insno < y->insno ? -1 : 1;
        if (x->p3 != y->p3)
            return x->p3 < y->p3 ? -1 : 1;
    }
    return x->line < y->line ? -1 : x->line > y->line;
}

static int sort_events(cs_events *e, cs_error *err)
{
    const double *vals = cs_events_vals(e);
    ev_key *k = malloc(e->nevents * sizeof *k);
    if (!k)
        return cs_seterr(err, CS_ENOMEM, "out of memory");
    for (unsigned i = 0; i < e->nevents; i++) {
        const double *p = vals + e->ev[i].first;
        unsigned n = e->ev[i].count;
        char t = (char)e->ev[i].type;
        k[i] = (ev_key){ .p2 = n > 1 ? p[1] : 0, .p3 = n > 2 ? p[2] : 0, .line = i,
                         .insno = (int16_t)p[0], .type = e->ev[i].type,
                         .first = e->ev[i].first, .count = n };
        k[i].preced = t == 'q' ? 0 : t == 'f' ? 2 : p[0] < 0 ? 1 : 3;
    }
    qsort(k, e->nevents, sizeof *k, ev_key_cmp);
    for (unsigned i = 0; i < e->nevents; i++) {
        e->ev[i].type = k[i].type;
        e->ev[i].first = k[i].first;
        e->ev[i].count = k[i].count;
    }
    free(k);
    return 0;
}

static int parse_score(const char *text, cs_events **out, cs_error *err)
{
    /* Upper bounds: one event per line, one value per 2 characters. */
    unsigned maxev = 1, maxvals = 1;
    for (const char *p = text; *p; p++) {
        maxev += *p == '\n';
        maxvals++;
    }
    maxvals = maxvals / 2 + 1;
    cs_events *e = malloc(sizeof *e + maxev * sizeof e->ev[0] + maxvals * sizeof(double));
    if (!e)
        return cs_seterr(err, CS_ENOMEM, "out of memory");
    e->nevents = maxev;     /* cs_events_vals depends on it while filling */
    double *vals = cs_events_vals(e);
    unsigned nev = 0, nv = 0, lineno = 0;
    const char *p = text;
    while (*p) {
        lineno++;
        const char *eol = strchr(p, '\n');
        if (!eol) eol = p + strlen(p);
        const char *q = p;
        while (q < eol && isspace((unsigned char)*q)) q++;
        if (q < eol && *q != ';') {
            char type = *q++;
            if (type != 'i' && type != 'f' && type != 'q') {
                free(e);
                return cs_seterr(err, CS_EINVAL, "line %u: score statement '%c' not supported "
                                 "(i, f, q only)", lineno, type);
            }
            unsigned first = nv;
            while (q < eol) {
                while (q < eol && isspace((unsigned char)*q)) q++;
                if (q >= eol || *q == ';')
                    break;
                char *end;
                double v = strtod(q, &end);
                if (end == q || end > eol || !isfinite(v)) {
                    free(e);
                    return cs_seterr(err, CS_EINVAL, "line %u: p-field %u is not a number "
                                     "(strings are not supported)", lineno, nv - first + 1);
                }
                if (nv - first >= MAX_PFIELDS) {
                    free(e);
                    return cs_seterr(err, CS_EINVAL, "line %u: more than %d p-fields", lineno,
                                     MAX_PFIELDS);
                }
                vals[nv++] = v;
                q = end;
            }
            if (type == 'i' && nv - first < 3) {
                free(e);
                return cs_seterr(err, CS_EINVAL, "line %u: i needs p1 p2 p3", lineno);
            }
            if (type == 'i' && vals[first + 1] < 0) {
                free(e);
                return cs_seterr(err, CS_EINVAL, "line %u: negative start time", lineno);
            }
            e->ev[nev].type = type;
            e->ev[nev].first = first;
            e->ev[nev].count = nv - first;
            nev++;
        }
        p = *eol ? eol + 1 : eol;
    }
    if (nev == 0) {
        free(e);
        return cs_seterr(err, CS_EINVAL, "no score statements");
    }
    /* Compact: move the values right after the used event records. */
    double *dst = (double *)(void *)&e->ev[nev];
    memmove(dst, vals, nv * sizeof(double));
    e->nevents = nev;
    e->nvals = nv;
    e->base = 0;
    e->next = e->based = 0;
    int rc = sort_events(e, err);
    if (rc) {
        free(e);
        return rc;
    }
    *out = e;
    return 0;
}

/* An i or q statement for an instrument Csound does not have would only
 * reach a monitor as Csound's "invalid instrument number": refused here.
 * Known only while no merge can run: no compile pending, and no code that
 * compiles more at run time (compilestr, allowed by --csound-unsafe only). */
static int check_instrs(cs_engine *eng, const cs_events *e, cs_error *err)
{
    if (!eng->cfg.confined || cs_compile_pending(eng))
        return 0;
    const double *vals = cs_events_vals((cs_events *)e);
    for (unsigned i = 0; i < e->nevents; i++) {
        if (e->ev[i].type != 'i' && e->ev[i].type != 'q')
            continue;
        double p1 = fabs(vals[e->ev[i].first]);
        if (p1 < 1 || p1 >= 65536 || !cs_core_instr_defined(eng->cs, (int)p1))
            return cs_seterr(err, CS_ENOENT, "instr %d is not defined (csound.compile it "
                             "first)%s", (int)p1,
                             e->nevents > 1 ? "; nothing of this score was queued" : "");
    }
    return 0;
}

int cs_score_ex(cs_engine *eng, const char *text, uint64_t at, bool spread, cs_error *err)
{
    cs_events *e = NULL;
    if (!text)
        return cs_seterr(err, CS_EINVAL, "empty score");
    int rc = parse_score(text, &e, err);
    if (rc)
        return rc;
    if ((rc = check_instrs(eng, e, err))) {
        free(e);
        return rc;
    }
    cs_cmd c = { .type = CMD_EVENTS, .frame = at, .ptr = e, .b = spread ? CS_CMD_SPREAD : 0 };
    if ((rc = cs_push_cmd(eng, &c, err)))
        free(e);
    return rc;
}

int cs_score(cs_engine *eng, const char *text, uint64_t at, cs_error *err)
{
    return cs_score_ex(eng, text, at, false, err);
}

int cs_event_ex(cs_engine *eng, const char *line, uint64_t at, bool spread, cs_error *err)
{
    if (line && strchr(line, '\n') && strchr(line, '\n')[1])
        return cs_seterr(err, CS_EINVAL, "csound.event takes one line; use csound.score");
    return cs_score_ex(eng, line, at, spread, err);
}

int cs_event(cs_engine *eng, const char *line, uint64_t at, cs_error *err)
{
    return cs_event_ex(eng, line, at, false, err);
}
