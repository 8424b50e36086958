/* cs_instr.c - instrument templates with named parameters (control thread).
 *
 * A template is a body of Csound code plus named parameters.  For each
 * priority it is used at, it is compiled as an instrument numbered in that
 * priority's band (cs_internal.h: CS_INSTR_BASE + (priority-1)*CS_INSTR_BAND
 * + k, the first k free) with a generated prologue and epilogue:
 *
 *   instr 20003
 *   isonod_slot__ = p4                      ; the synth's slot (host memory)
 *   ksonod_stop__ sonod_synth isonod_slot__ ; start offset, stop, end notice
 *   kfreq sonod_param isonod_slot__, 0      ; one line per named parameter
 *   <init code>
 *   <body>
 *   if ksonod_stop__ != 0 then
 *     turnoff
 *   endif
 *   endin
 *
 * Parameter names starting with k are k-rate (settable and automatable while
 * the synth runs), names starting with i are read once at init. */
#include "cs_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cs_template_find(const cs_engine *eng, const char *name)
{
    for (int t = 1; t <= CS_MAX_TEMPLATES; t++)
        if (eng->tmpl[t].name && !strcmp(eng->tmpl[t].name, name))
            return t;
    return 0;
}

static int valid_param_name(const char *n)
{
    if (!n || (n[0] != 'k' && n[0] != 'i') || !isalpha((unsigned char)n[1]))
        return 0;
    for (const char *p = n; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_')
            return 0;
    return strlen(n) < 64 && !strstr(n, "sonod_");
}

static int count_lines(const char *s)
{
    int n = 0;
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        n += *s == '\n';
    return n + 1;
}

/* Parses "|kfreq=440, kamp=0.1|" from the first line of body into tp and
 * returns the body with that line blanked (same line numbers). */
static int parse_inline(cs_template *tp, const char *body, char **out, cs_error *err)
{
    const char *p = body;
    while (*p == ' ' || *p == '\t') p++;
    *out = strdup(body);
    if (!*out)
        return cs_seterr(err, CS_ENOMEM, "out of memory");
    if (*p != '|')
        return 0;
    const char *close = strchr(p + 1, '|');
    const char *nl = strchr(p, '\n');
    if (!close || (nl && close > nl))
        return cs_seterr(err, CS_EINVAL, "line 1: unterminated |param=value, ...| list");
    char list[1024];
    size_t len = (size_t)(close - p - 1);
    if (len >= sizeof list)
        return cs_seterr(err, CS_EINVAL, "line 1: parameter list too long");
    memcpy(list, p + 1, len);
    list[len] = '\0';
    char *save = NULL;
    for (char *item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        char name[64];
        double v = 0;
        char *nm = item;
        while (isspace((unsigned char)*nm)) nm++;
        size_t nlen = eq ? (size_t)(eq - nm) : strlen(nm);
        while (nlen && isspace((unsigned char)nm[nlen - 1])) nlen--;
        if (nlen == 0 || nlen >= sizeof name)
            return cs_seterr(err, CS_EINVAL, "line 1: bad parameter '%s'", item);
        memcpy(name, nm, nlen);
        name[nlen] = '\0';
        if (eq) {
            char *end;
            v = strtod(eq + 1, &end);
            while (isspace((unsigned char)*end)) end++;
            if (end == eq + 1 || *end)
                return cs_seterr(err, CS_EINVAL, "line 1: default of %s is not a number", name);
        }
        if (tp->nparams == CS_MAX_PARAMS)
            return cs_seterr(err, CS_EINVAL, "more than %d parameters", CS_MAX_PARAMS);
        tp->pname[tp->nparams] = strdup(name);
        tp->pdef[tp->nparams++] = v;
    }
    /* Blank the list, keep the rest of the line and the line count. */
    memset(*out + (p - body), ' ', (size_t)(close - p + 1));
    return 0;
}

/* Takes a number in priority prio's band for template tp; -1 when the band
 * is full. */
static int number_take(cs_engine *eng, cs_template *tp, int prio)
{
    for (int k = 0; k < CS_INSTR_BAND; k++)
        if (!eng->instr_used[prio][k]) {
            eng->instr_used[prio][k] = 1;
            tp->num[prio] = CS_INSTR_BASE + (prio - 1) * CS_INSTR_BAND + k;
            return 0;
        }
    return -1;
}

static void number_give_back(cs_engine *eng, cs_template *tp, int prio)
{
    if (tp->num[prio])
        eng->instr_used[prio][tp->num[prio] - CS_INSTR_BASE - (prio - 1) * CS_INSTR_BAND] = 0;
    tp->num[prio] = 0;
}

static void template_clear(cs_template *tp)
{
    free(tp->name); free(tp->body); free(tp->init);
    for (unsigned i = 0; i < tp->nparams; i++)
        free(tp->pname[i]);
    memset(tp, 0, sizeof *tp);
}

/* The code of template tp at priority prio, with its number there (taken
 * now when it had none: *fresh). */
static int template_code(cs_engine *eng, cs_template *tp, int prio, char **out, int *shift,
                         int *fresh, cs_error *err)
{
    *fresh = tp->num[prio] == 0;
    if (*fresh && number_take(eng, tp, prio))
        return cs_seterr(err, CS_ELIMIT, "%d instruments are already compiled at priority %d "
                         "(its Csound instrument numbers are used up); undefine some or use "
                         "another priority", CS_INSTR_BAND, prio);
    size_t cap = strlen(tp->body) + (tp->init ? strlen(tp->init) : 0) + 256 + 96 * tp->nparams;
    char *code = malloc(cap);
    if (!code) {
        if (*fresh)
            number_give_back(eng, tp, prio);
        return cs_seterr(err, CS_ENOMEM, "out of memory");
    }
    int n = snprintf(code, cap, "instr %d\nisonod_slot__ = p4\n"
                     "ksonod_stop__ sonod_synth isonod_slot__\n", tp->num[prio]);
    for (unsigned i = 0; i < tp->nparams; i++)
        n += snprintf(code + n, cap - (size_t)n, "%s %s isonod_slot__, %u\n", tp->pname[i],
                      tp->pname[i][0] == 'k' ? "sonod_param" : "sonod_parami", i);
    *shift = 3 + (int)tp->nparams;
    if (tp->init && *tp->init) {
        n += snprintf(code + n, cap - (size_t)n, "%s\n", tp->init);
        *shift += count_lines(tp->init);
    }
    /* No blank line after the body: Csound reports a syntax error at the
     * end of a line on the last of a run of newlines. */
    size_t bl = strlen(tp->body);
    snprintf(code + n, cap - (size_t)n, "%s%sif ksonod_stop__ != 0 then\nturnoff\nendif\nendin\n",
             tp->body, bl && tp->body[bl - 1] == '\n' ? "" : "\n");
    *out = code;
    return 0;
}

/* The compile of template tp at priority prio, begun (cs_compile.c's three
 * steps); *fresh as template_code says. */
static int template_job_begin(cs_engine *eng, cs_template *tp, int prio, int *fresh,
                              cs_compile_job **job, cs_error *err)
{
    char *code = NULL;
    int shift = 0;
    int rc = template_code(eng, tp, prio, &code, &shift, fresh, err);
    if (rc)
        return rc;
    rc = cs_compile_job_begin(eng, code, shift, job, err);
    free(code);
    if (rc && *fresh)
        number_give_back(eng, tp, prio);
    return rc;
}

/* Its end: the compile's mark into tp, or the number it took given back. */
static int template_job_end(cs_engine *eng, cs_template *tp, int prio, int fresh,
                            cs_compile_job *job, cs_error *err)
{
    uint64_t mark = 0;
    int rc = cs_compile_job_end(job, &mark, err);
    if (rc == 0)
        tp->compiled[prio] = mark;
    else if (fresh)
        number_give_back(eng, tp, prio);
    return rc;
}

/* Compiles template t at priority prio, here. */
int cs_template_compile(cs_engine *eng, int t, int prio, cs_error *err)
{
    cs_template *tp = &eng->tmpl[t];
    cs_compile_job *job;
    int fresh;
    int rc = template_job_begin(eng, tp, prio, &fresh, &job, err);
    if (rc)
        return rc;
    cs_compile_run(job);
    return template_job_end(eng, tp, prio, fresh, job, err);
}

static int same_text(const char *a, const char *b)
{
    return !strcmp(a ? a : "", b ? b : "");
}

/* Same generated code: body, init and parameter names (defaults live on
 * the host side and are not in the code). */
static int same_code(const cs_template *a, const cs_template *b)
{
    if (!same_text(a->body, b->body) || !same_text(a->init, b->init) || a->nparams != b->nparams)
        return 0;
    for (unsigned i = 0; i < a->nparams; i++)
        if (strcmp(a->pname[i], b->pname[i]))
            return 0;
    return 1;
}

/* An instr.define whose code is being parsed: the new template waits here
 * and takes index t's place at the end. */
struct cs_define_job {
    cs_engine *eng;
    int t, prio, fresh;
    cs_template tp;
    cs_compile_job *job;
};

/* Compiles tp at prio for index t (tp is the job's, or cleared on failure). */
static int define_job_begin(cs_engine *eng, int t, int prio, cs_template *tp,
                            cs_define_job **job, cs_error *err)
{
    cs_define_job *j = calloc(1, sizeof *j);
    if (!j) {
        template_clear(tp);
        return cs_seterr(err, CS_ENOMEM, "out of memory");
    }
    j->eng = eng;
    j->t = t;
    j->prio = prio;
    j->tp = *tp;
    int rc = template_job_begin(eng, &j->tp, prio, &j->fresh, &j->job, err);
    if (rc) {
        template_clear(&j->tp);
        free(j);
        return rc;
    }
    eng->defining = j;
    *job = j;
    return 0;
}

int cs_instr_define_begin(cs_engine *eng, const char *name, const char *body,
                          const cs_param *params, unsigned nparams, const char *init,
                          int priority, cs_define_job **job, cs_error *err)
{
    *job = NULL;
    if (!name || !*name || !body)
        return cs_seterr(err, CS_EINVAL, "instr.define needs a name and a body");
    if (priority == 0)
        priority = 1;
    if (priority < 1 || priority > CS_MAX_PRIORITY)
        return cs_seterr(err, CS_EINVAL, "priority must be 1..%d", CS_MAX_PRIORITY);
    if (eng->defining && !strcmp(eng->defining->tp.name, name))
        return cs_seterr(err, CS_EBUSY, "instrument '%s' is being defined", name);
    cs_template tp = { 0 };
    tp.priority = priority;
    char *clean = NULL;
    int rc = parse_inline(&tp, body, &clean, err);
    if (!rc && nparams && tp.nparams)
        rc = cs_seterr(err, CS_EINVAL, "parameters given both inline and as params");
    for (unsigned i = 0; !rc && i < nparams; i++) {
        if (tp.nparams == CS_MAX_PARAMS) {
            rc = cs_seterr(err, CS_EINVAL, "more than %d parameters", CS_MAX_PARAMS);
            break;
        }
        if (!isfinite(params[i].value)) {
            rc = cs_seterr(err, CS_EINVAL, "default of %s is not a finite number",
                           params[i].name ? params[i].name : "?");
            break;
        }
        tp.pname[tp.nparams] = strdup(params[i].name ? params[i].name : "");
        tp.pdef[tp.nparams++] = params[i].value;
    }
    for (unsigned i = 0; !rc && i < tp.nparams; i++) {
        if (!valid_param_name(tp.pname[i]))
            rc = cs_seterr(err, CS_EINVAL, "bad parameter name '%s' (k... for k-rate, i... "
                           "for init-time; letters, digits, _)", tp.pname[i]);
        for (unsigned j = 0; !rc && j < i; j++)
            if (!strcmp(tp.pname[i], tp.pname[j]))
                rc = cs_seterr(err, CS_EINVAL, "parameter %s given twice", tp.pname[i]);
    }
    int t = cs_template_find(eng, name);
    if (!rc && !t) {
        /* The first free index, not the one a definition being parsed will take. */
        for (t = 1; t <= CS_MAX_TEMPLATES && (eng->tmpl[t].name ||
                                              (eng->defining && eng->defining->t == t)); t++)
            ;
        if (t > CS_MAX_TEMPLATES)
            rc = cs_seterr(err, CS_EAGAIN, "too many instruments (max %d)", CS_MAX_TEMPLATES);
    }
    if (rc) {
        free(clean);
        template_clear(&tp);
        return rc;
    }
    tp.name = strdup(name);
    tp.body = clean;
    tp.init = init ? strdup(init) : NULL;
    cs_template *cur = &eng->tmpl[t];
    if (cur->name && same_code(cur, &tp)) {
        if (cur->compiled[priority]) {
            /* The very same code, compiled at this priority already: the
             * new defaults and priority, nothing compiled (each compile
             * costs Csound ~240 kB it never returns, for identical code). */
            memcpy(cur->pdef, tp.pdef, sizeof tp.pdef);
            cur->priority = priority;
            template_clear(&tp);
            return 0;
        }
        /* Compiled elsewhere: kept there, compiled at this priority too. */
        memcpy(tp.compiled, cur->compiled, sizeof tp.compiled);
    }
    /* A redefinition keeps the old one's Csound numbers: its next compile
     * at a priority replaces the old code there.  The old template serves
     * until the new one is compiled; a failed compile keeps it. */
    memcpy(tp.num, cur->num, sizeof tp.num);
    return define_job_begin(eng, t, priority, &tp, job, err);
}

/* A copy of template src that owns its strings; -1 when out of memory. */
static int template_copy(cs_template *dst, const cs_template *src)
{
    int ok = 1;
    *dst = *src;
    dst->name = strdup(src->name);
    dst->body = strdup(src->body);
    dst->init = src->init ? strdup(src->init) : NULL;
    ok = dst->name && dst->body && (!src->init || dst->init);
    for (unsigned i = 0; i < src->nparams; i++)
        ok = (dst->pname[i] = strdup(src->pname[i])) != NULL && ok;
    if (!ok)
        template_clear(dst);
    return ok ? 0 : -1;
}

int cs_instr_use_begin(cs_engine *eng, const char *name, int priority, cs_define_job **job,
                       cs_error *err)
{
    int t = name ? cs_template_find(eng, name) : 0;
    *job = NULL;
    if (!t)
        return 0;
    if (priority == 0)
        priority = eng->tmpl[t].priority;
    if (priority < 1 || priority > CS_MAX_PRIORITY || eng->tmpl[t].compiled[priority])
        return 0;
    if (eng->defining && eng->defining->t == t)
        return cs_seterr(err, CS_EBUSY, "instrument '%s' is being defined", name);
    cs_template tp;
    if (template_copy(&tp, &eng->tmpl[t]))
        return cs_seterr(err, CS_ENOMEM, "out of memory");
    return define_job_begin(eng, t, priority, &tp, job, err);
}

void cs_instr_define_run(cs_define_job *j)
{
    cs_compile_run(j->job);
}

int cs_instr_define_end(cs_define_job *j, cs_error *err)
{
    cs_engine *eng = j->eng;
    eng->defining = NULL;
    int rc = template_job_end(eng, &j->tp, j->prio, j->fresh, j->job, err);
    if (rc) {
        template_clear(&j->tp);
    } else {
        /* A changed body replaces the other priorities lazily: they are
         * forgotten (not compiled in tp). */
        cs_template old = eng->tmpl[j->t];
        eng->tmpl[j->t] = j->tp;
        template_clear(&old);
    }
    free(j);
    return rc;
}

void cs_instr_define_discard(cs_define_job *j)
{
    cs_compile_discard(j->job);
    template_clear(&j->tp);
    free(j);
}

int cs_instr_define(cs_engine *eng, const char *name, const char *body,
                    const cs_param *params, unsigned nparams, const char *init,
                    int priority, cs_error *err)
{
    cs_define_job *j;
    int rc = cs_instr_define_begin(eng, name, body, params, nparams, init, priority, &j, err);
    if (rc || !j)
        return rc;
    cs_instr_define_run(j);
    return cs_instr_define_end(j, err);
}

int cs_instr_undefine(cs_engine *eng, const char *name, cs_error *err)
{
    int t = cs_template_find(eng, name);
    if (!t)
        return cs_seterr(err, CS_ENOENT, "no instrument named '%s'", name);
    if (eng->defining && eng->defining->t == t)
        return cs_seterr(err, CS_EBUSY, "instrument '%s' is being redefined", name);
    for (unsigned s = 0; s < eng->nslots; s++)
        if (eng->slot_ctl[s] && eng->slot_tmpl[s] == t)
            return cs_seterr(err, CS_EBUSY, "instrument '%s' has live synths or a MIDI route",
                             name);
    /* The Csound instruments stay compiled (6.18 cannot remove them safely
     * while running); the index and the numbers are reused by the next
     * definitions (their compiles replace the code). */
    for (int p = 1; p <= CS_MAX_PRIORITY; p++)
        number_give_back(eng, &eng->tmpl[t], p);
    template_clear(&eng->tmpl[t]);
    return 0;
}

const char *cs_instr_name(const cs_engine *eng, unsigned i)
{
    unsigned k = 0;
    for (int t = 1; t <= CS_MAX_TEMPLATES; t++)
        if (eng->tmpl[t].name && k++ == i)
            return eng->tmpl[t].name;
    return NULL;
}

int cs_instr_param(const cs_engine *eng, const char *name, unsigned i,
                   const char **pname, double *def)
{
    int t = cs_template_find(eng, name);
    if (!t)
        return CS_ENOENT;
    if (i >= eng->tmpl[t].nparams)
        return CS_ENOENT;
    *pname = eng->tmpl[t].pname[i];
    *def = eng->tmpl[t].pdef[i];
    return 0;
}

bool cs_instr_exists(const cs_engine *eng, const char *name) {
  const char *n;
  unsigned i;

  for (i = 0; (n = cs_instr_name(eng, i)) != NULL; i++)
    if (strcmp(n, name) == 0)
      return true;
  return false;
}

bool cs_instr_has_param(const cs_engine *eng, const char *name, const char *param) {
  const char *pn;
  double def;
  unsigned i;

  for (i = 0; cs_instr_param(eng, name, i, &pn, &def) == 0; i++)
    if (strcmp(pn, param) == 0)
      return true;
  return false;
}
