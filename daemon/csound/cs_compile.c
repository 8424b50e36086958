/* cs_compile.c - compiling code into the running Csound (control thread).
 *
 * Path: csoundCompileOrcAsync.  In 6.18 it parses and compiles in the
 * calling thread (so syntax and type errors are printed here, where our
 * capture buffer collects them) and only queues the merge of the new
 * instruments into the running engine, which Csound's perf thread (our audio
 * thread) does at the start of its next k-cycle, together with the init0 pass
 * of any global code.  No API lock is taken here.
 *
 * Parsing while perf runs: the parser uses the CSOUND struct's parser fields
 * (parserNamedInstrFlag, expanded_orc, orcLineOffset), Csound's allocator
 * (guarded by its memlock spinlock) and reads the engine state (opcode table,
 * global variables, instrument numbers) that only a merge modifies.  The perf
 * pass never touches the parser fields.  So a parse is safe as long as no
 * merge runs concurrently: we allow one compile at a time and wait for the
 * previous one's merge (a compile mark handed to the audio thread through our
 * ring) before parsing again.
 *
 * An idle offline engine runs no k-cycle, so a queued merge would wait for
 * the next render: there (cfg.hold succeeds) the audio thread is held and
 * the compile merges at once with the synchronous csoundCompileOrc, on the
 * compiling thread, and the next compile needs no wait.
 *
 * Two things Csound would do badly are refused before it sees the code:
 * - header statements (sr, kr, ksmps, nchnls, nchnls_i, 0dbfs): equal ones are
 *   blanked, different ones are an error (CS_EHEADER);
 * - #include: a missing file makes Csound's preprocessor call csoundDie,
 *   which longjmps to a jump buffer owned by the audio thread;
 * - exitnow and literal "e" score events (check_exits): they stop the
 *   engine for everyone. */
#include "cs_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int wait_merged(cs_engine *eng, cs_error *err)
{
    unsigned waited = 0;
    if (eng->job_running)
        return cs_seterr(err, CS_EBUSY, "another compile is being parsed");
    while (cs_compile_pending(eng)) {
        if (waited >= eng->cfg.compile_wait_ms)
            return cs_seterr(err, CS_EBUSY,
                             "previous compile not merged yet (is the audio thread running?)");
        struct timespec ts = { 0, 1000000 };
        nanosleep(&ts, NULL);
        waited++;
    }
    return 0;
}

int cs_compile_pending(const cs_engine *eng)
{
    return eng->job_running ||
           atomic_load_explicit(&eng->merged_mark, memory_order_acquire) < eng->compile_mark;
}

/* Finds "line N" / "Line: N" in Csound's error text (the parser prints
 * both spellings). */
static int error_line(const char *text)
{
    const char *p = text;
    while ((p = strcasestr(p, "line")) != NULL) {
        p += 4;
        while (*p == ' ' || *p == ':')
            p++;
        if (isdigit((unsigned char)*p))
            return atoi(p);
    }
    return 0;
}

const char *const cs_header_names[] = { "sr", "kr", "ksmps", "nchnls", "nchnls_i", "0dbfs", NULL };

/* Checks one line.  Returns 1 if it is a header statement agreeing with the
 * engine (caller blanks it), 0 if not a header, or an error code. */
static int check_header_line(cs_engine *eng, const char *line, size_t len, int lineno,
                             cs_error *err)
{
    char buf[256];
    if (len >= sizeof buf)
        return 0;
    memcpy(buf, line, len);
    buf[len] = '\0';
    char *c = strchr(buf, ';');
    if (c) *c = '\0';
    if ((c = strstr(buf, "//"))) *c = '\0';
    char *p = buf;
    while (isspace((unsigned char)*p)) p++;
    size_t nl = 0;
    while (isalnum((unsigned char)p[nl]) || p[nl] == '_') nl++;
    int which = -1;
    for (int i = 0; i < 6; i++)
        if (strlen(cs_header_names[i]) == nl && !strncmp(p, cs_header_names[i], nl))
            which = i;
    if (which < 0)
        return 0;
    char *q = p + nl;
    while (isspace((unsigned char)*q)) q++;
    if (*q != '=')
        return 0;
    q++;
    char *end;
    double v = strtod(q, &end);
    while (isspace((unsigned char)*end)) end++;
    if (end == q || *end) {
        cs_seterr(err, CS_EHEADER, "line %d: header statement %s must be a plain number "
                  "(the engine runs sr=%g ksmps=%u nchnls=%u nchnls_i=%u 0dbfs=1)",
                  lineno, cs_header_names[which], eng->sr, eng->ksmps, eng->nchnls, eng->nchnls_i);
        if (err) err->line = lineno;
        return CS_EHEADER;
    }
    double want = 0;
    switch (which) {
    case 0: want = eng->sr; break;
    case 1: want = eng->sr / eng->ksmps; break;
    case 2: want = eng->ksmps; break;
    case 3: want = eng->nchnls; break;
    case 4: want = eng->nchnls_i; break;
    case 5: want = 1.0; break;
    }
    if (fabs(v - want) > 1e-9 * fabs(want)) {
        cs_seterr(err, CS_EHEADER, "line %d: %s = %g disagrees with the running engine (%s = %g); "
                  "the live engine cannot change it", lineno, cs_header_names[which], v,
                  cs_header_names[which], want);
        if (err) err->line = lineno;
        return CS_EHEADER;
    }
    return 1;
}

/* Returns a malloc'd copy of code with agreeing header lines blanked. */
static int scan_code(cs_engine *eng, const char *code, char **out, cs_error *err)
{
    char *copy = strdup(code);
    if (!copy)
        return cs_seterr(err, CS_ENOMEM, "out of memory");
    int lineno = 1;
    for (char *line = copy; *line; lineno++) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        const char *t = line;
        while (t < line + len && isspace((unsigned char)*t)) t++;
        if (!strncmp(t, "#include", 8)) {
            free(copy);
            cs_seterr(err, CS_EINVAL, "line %d: #include is not allowed in live code", lineno);
            if (err) err->line = lineno;
            return CS_EINVAL;
        }
        int rc = check_header_line(eng, line, len, lineno, err);
        if (rc < 0) {
            free(copy);
            return rc;
        }
        if (rc == 1)
            memset(line, ' ', len);
        if (!nl)
            break;
        line = nl + 1;
    }
    *out = copy;
    return 0;
}

/* Whether a score string ends the performance: an "e" statement at the
 * start of the string or of a line in it (a literal \n or a newline). */
static int ends_score(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        size_t k = i;
        while (k < len && (s[k] == ' ' || s[k] == '\t'))
            k++;
        if (k < len && s[k] == 'e' && (k + 1 == len || !isalnum((unsigned char)s[k + 1])))
            return 1;
        while (i < len && s[i] != '\n' && !(s[i] == '\\' && i + 1 < len && s[i + 1] == 'n'))
            i++;
        if (i < len && s[i] == '\\')
            i++;
    }
    return 0;
}

/* Refuses what would stop the live engine for every client, where the code
 * says it in so many words: the opcode exitnow (Csound longjmps out of its
 * k-cycle), and an "e" statement in a literal score string given to event,
 * event_i, scoreline or scoreline_i.  Comments are skipped; strings are
 * looked into only for those events (code built at run time still gets
 * through: cs_process_rt.c then declares the engine dead). */
static int check_exits(const char *code, int line_shift, cs_error *err)
{
    int lineno = 1, in_comment = 0, want_string = 0;
    const char *why = NULL;
    for (const char *p = code; *p && !why; p++) {
        if (*p == '\n') {
            lineno++;
            want_string = 0;
        } else if (in_comment) {
            if (p[0] == '*' && p[1] == '/')
                in_comment = 0, p++;
        } else if (p[0] == '/' && p[1] == '*') {
            in_comment = 1, p++;
        } else if (*p == ';' || (p[0] == '/' && p[1] == '/')) {
            while (p[1] && p[1] != '\n')
                p++;
        } else if (*p == '"') {
            const char *s = ++p;
            while (*p && *p != '"' && *p != '\n')
                p += (*p == '\\' && p[1]) ? 2 : 1;
            if (want_string && ends_score(s, (size_t)(p - s)))
                why = "an \"e\" score event would end the live engine's performance";
            want_string = 0;
            if (!*p)
                break;
            if (*p == '\n')
                lineno++;
        } else if (isalpha((unsigned char)*p) || *p == '_') {
            const char *w = p;
            while (isalnum((unsigned char)p[1]) || p[1] == '_')
                p++;
            size_t n = (size_t)(p - w + 1);
            if (n == 7 && !strncmp(w, "exitnow", 7))
                why = "exitnow would stop Csound, and the live engine with it";
            else if ((n == 5 && !strncmp(w, "event", 5)) || (n == 7 && !strncmp(w, "event_i", 7)) ||
                     (n == 9 && !strncmp(w, "scoreline", 9)) ||
                     (n == 11 && !strncmp(w, "scoreline_i", 11)))
                want_string = 1;
        }
    }
    if (!why)
        return 0;
    lineno -= line_shift;
    cs_seterr(err, CS_EINVAL, "line %d: %s for every client; not allowed in live code",
              lineno, why);
    if (err) err->line = lineno;
    return CS_EINVAL;
}

static int check_instr_numbers(const char *code, cs_error *err);

/* A compile in three steps, so that the parse (the long part: seconds for
 * 10^5 lines) can run on another thread than the control thread. */
struct cs_compile_job {
    cs_engine *eng;
    char *clean;            /* the code Csound gets */
    int line_shift;
    int rc;                 /* csoundCompileOrc(Async)'s result */
    int held;               /* audio thread held: merge synchronously */
    cs_capture cap;         /* what Csound printed meanwhile */
};

int cs_compile_job_begin(cs_engine *eng, const char *code, int line_shift, cs_compile_job **out,
                         cs_error *err)
{
    int rc = wait_merged(eng, err);
    if (rc)
        return rc;
    if (spsc_space(eng->cmd_ring) < 1)
        return cs_seterr(err, CS_EAGAIN, "command ring full");
    if (eng->cfg.confined && (rc = cs_confine(code, err))) {
        if (err && err->line > line_shift)
            err->line -= line_shift;
        return rc;
    }
    cs_compile_job *j = calloc(1, sizeof *j);
    if (!j)
        return cs_seterr(err, CS_ENOMEM, "out of memory");
    if ((rc = check_exits(code, line_shift, err)) || (rc = scan_code(eng, code, &j->clean, err))) {
        free(j);
        return rc;
    }
    j->eng = eng;
    j->line_shift = line_shift;
    j->held = eng->cfg.hold != NULL && eng->cfg.hold(eng->cfg.hold_ctx);
    eng->job_running = 1;
    *out = j;
    return 0;
}

/* Parse and compile; Csound queues the merge for the audio thread, or
 * merges here while it is held.  Csound's parser state is used by one
 * compile at a time (job_running, merges awaited); its allocator is safe
 * from any thread (cs_alloc.c). */
void cs_compile_run(cs_compile_job *j)
{
    cs_engine *eng = j->eng;
    cs_capture_begin_into(&j->cap);
    j->rc = j->held ? csoundCompileOrc(eng->cs, j->clean) : csoundCompileOrcAsync(eng->cs, j->clean);
    cs_capture_end(eng);
    if (j->held)
        eng->cfg.release(eng->cfg.hold_ctx);
}

int cs_compile_job_end(cs_compile_job *j, uint64_t *mark, cs_error *err)
{
    cs_engine *eng = j->eng;
    int rc = 0;
    eng->job_running = 0;
    if (j->rc != 0) {
        int line = error_line(j->cap.buf);
        if (line > j->line_shift)
            line -= j->line_shift;
        rc = cs_seterr(err, CS_ECOMPILE, "%s", j->cap.len ? j->cap.buf : "csound compile failed");
        if (err) err->line = line;
    } else if (j->held) {
        /* Merged already; no mark is in flight (wait_merged), so the audio
         * thread leaves merged_mark alone. */
        atomic_store_explicit(&eng->merged_mark, ++eng->compile_mark, memory_order_release);
        if (mark)
            *mark = eng->compile_mark;
    } else {
        /* Only this (control) thread pushes; the space was there at begin. */
        cs_cmd c = { .type = CMD_COMPILE_MARK, .id = ++eng->compile_mark };
        if (cs_push_cmd(eng, &c, err) == 0) {
            if (mark)
                *mark = c.id;
        } else {
            rc = CS_EAGAIN;
        }
    }
    free(j->clean);
    free(j);
    return rc;
}

/* Compiles without waiting for the merge; line_shift is subtracted from the
 * line numbers Csound reports (generated prologue lines). */
int cs_compile_internal(cs_engine *eng, const char *code, int line_shift, uint64_t *mark,
                        cs_error *err)
{
    cs_compile_job *j;
    int rc = cs_compile_job_begin(eng, code, line_shift, &j, err);
    if (rc)
        return rc;
    cs_compile_run(j);
    return cs_compile_job_end(j, mark, err);
}

int cs_compile_begin(cs_engine *eng, const char *code, cs_compile_job **job, cs_error *err)
{
    if (!code)
        return cs_seterr(err, CS_EINVAL, "no code");
    int rc = check_instr_numbers(code, err);
    return rc ? rc : cs_compile_job_begin(eng, code, 0, job, err);
}

int cs_compile_end(cs_compile_job *job, cs_error *err)
{
    return cs_compile_job_end(job, NULL, err);
}

void cs_compile_discard(cs_compile_job *job)
{
    free(job->clean);
    free(job);
}

/* Refuses user instruments numbered in the templates' range (cs_internal.h)
 * or beyond Csound's 16-bit instrument numbers: one would replace a
 * template's code, the other crashes Csound at the instrument's first init.
 * Looks at `instr` statements outside comments; names and macros pass. */
static int check_instr_numbers(const char *code, cs_error *err)
{
    int lineno = 1, in_comment = 0;
    for (const char *line = code; *line; lineno++) {
        const char *nl = strchr(line, '\n');
        const char *end = nl ? nl : line + strlen(line);
        const char *t = line;
        while (t < end && isspace((unsigned char)*t)) t++;
        const char *open = NULL;
        for (const char *q = line; q + 1 < end; q++)
            if (q[0] == '/' && q[1] == '*')
                open = open ? open : q;
        if (in_comment) {
            for (const char *q = line; q + 1 < end; q++)
                if (q[0] == '*' && q[1] == '/')
                    in_comment = 0;
        } else if (end - t > 5 && !strncmp(t, "instr", 5) && isspace((unsigned char)t[5])) {
            for (const char *q = t + 5; q < end && *q != ';' && *q != '/';) {
                while (q < end && (isspace((unsigned char)*q) || *q == ',')) q++;
                if (q < end && isdigit((unsigned char)*q)) {
                    long n = strtol(q, NULL, 10);
                    if (n >= CS_INSTR_BASE) {
                        cs_seterr(err, CS_EINVAL, "line %d: instr %ld: user instruments are "
                                  "numbered 1..%d (%d..%d are sonod's instr.define templates, "
                                  "and Csound's numbers end at %d)", lineno, n,
                                  CS_INSTR_BASE - 1, CS_INSTR_BASE, CS_INSTR_TOP, CS_INSTR_TOP);
                        if (err) err->line = lineno;
                        return CS_EINVAL;
                    }
                }
                while (q < end && !isspace((unsigned char)*q) && *q != ',') q++;
            }
        }
        if (open && !in_comment) {
            in_comment = 1;
            for (const char *q = open + 2; q + 1 < end; q++)
                if (q[0] == '*' && q[1] == '/')
                    in_comment = 0;
        }
        if (!nl)
            break;
        line = nl + 1;
    }
    return 0;
}

int cs_compile(cs_engine *eng, const char *code, cs_error *err)
{
    if (!code)
        return cs_seterr(err, CS_EINVAL, "no code");
    int rc = check_instr_numbers(code, err);
    return rc ? rc : cs_compile_internal(eng, code, 0, NULL, err);
}
