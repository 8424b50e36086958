/* cs_score.c - raw score lines and blocks (control thread).
 *
 * Lines are parsed here into numeric p-fields and handed to the audio thread
 * in one block; there each event is given to Csound with the synchronous
 * csoundScoreEvent at the k-cycle containing `at`, with p2 shifted by the
 * sub-cycle offset so --sample-accurate starts it on the exact sample.
 * Supported statements: i, f, q.  Strings in p-fields are not (the C event
 * API takes numbers only); "e" would end the live performance and is refused. */
#include "cs_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PFIELDS 1998    /* Csound's PMAX */

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
    *out = e;
    return 0;
}

int cs_score(cs_engine *eng, const char *text, uint64_t at, cs_error *err)
{
    cs_events *e = NULL;
    if (!text)
        return cs_seterr(err, CS_EINVAL, "empty score");
    int rc = parse_score(text, &e, err);
    if (rc)
        return rc;
    cs_cmd c = { .type = CMD_EVENTS, .frame = at, .ptr = e };
    if ((rc = cs_push_cmd(eng, &c, err)))
        free(e);
    return rc;
}

int cs_event(cs_engine *eng, const char *line, uint64_t at, cs_error *err)
{
    if (line && strchr(line, '\n') && strchr(line, '\n')[1])
        return cs_seterr(err, CS_EINVAL, "csound.event takes one line; use csound.score");
    return cs_score(eng, line, at, err);
}
