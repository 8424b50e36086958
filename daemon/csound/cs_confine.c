/* cs_confine.c - the Csound opcodes refused without csound-unsafe
 * (README.md, "Threat model"; the list is in cs_engine.h, cs_confine).
 *
 * A pure function over the code text: it reads the code as Csound's lexer
 * would (comments, "strings", {{strings}}, $macros), statement by statement,
 * and looks at the names used.  It runs before Csound sees the code, on
 * whichever thread compiles.  The only thing it consults outside the text
 * is the file roots (daemon/file), for the paths of the opcodes that read
 * a named sound file. */
#include "cs_internal.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/file/file.h"

/* Run programs, compile code from strings at run time (which would hide
 * any other name), or load plugins. */
static const char *const run_ops[] = {
    "system", "system_i", "compilestr", "compileorc", "compilecsd", "evalstr",
    "pyinit", "pyrun", "pyruni", "pyrunt", "pyexec", "pyexeci", "pyexect",
    "pyeval", "pyevali", "pyevalt", "pyassign", "pyassigni", "pyassignt",
    "pycall", "pycalli", "pycallt", "lua_exec", "lua_opdef", "vstinit",
    NULL,
};

/* Write files, or read them by any name, or list folders. */
static const char *const file_ops[] = {
    "fout", "fouti", "foutir", "foutk", "fprints", "fprintks", "fiopen", "ficlose",
    "dumpk", "dumpk2", "dumpk3", "dumpk4", "ftsave", "ftsavek", "ftaudio",
    "pvsfwrite", "hdf5write", "readf", "readfi", "readk", "readk2", "readk3",
    "readk4", "readks", "ftload", "ftloadk", "fin", "fini", "fink", "directory",
    "hdf5read",
    NULL,
};

/* Read the sound (or analysis) file they name: allowed when every name on
 * the statement is a quoted absolute path inside the file roots. */
static const char *const named_ops[] = {
    "soundin", "diskin", "diskin2", "diskgrain", "mp3in", "mp3len", "pvsfread",
    "pvsdiskin", "filelen", "filesr", "filenchnls", "filepeak", "filebit",
    "filevalid", "lpread", "sfload", "fluidLoad", "ATSinfo", "ATSread",
    "ATSreadnz", "ATSbufread", "ATSinterpread", "ATSpartialtap", "ATSadd",
    "ATSaddnz", "ATSsinnoi", "ATScross",
    NULL,
};

/* Make function tables; GEN 1, 23, 28, 43 and 49 read the file named. */
static const char *const gen_ops[] = { "ftgen", "ftgenonce", "ftgentmp", NULL };
static const int file_gens[] = { 1, 23, 28, 43, 49 };
/* GENs called by name take a string that is not a file. */
static const char *const named_gens[] = {
    "tanh", "exp", "sone", "farey", "wave", "padsynth", "quadbezier", NULL,
};

/* Send score statements: an f statement there could read a file. */
static const char *const score_ops[] = {
    "scoreline", "scoreline_i", "readscore", "event", "event_i", NULL,
};

enum { T_ID, T_STR, T_NUM, T_COMMA, T_MACRO, T_MINUS, T_OTHER };

typedef struct tok {
    int kind;
    const char *s;      /* T_STR: the contents, without quotes */
    size_t len;
    int line;
    int joined;         /* starts right where the previous token ended */
} tok;

#define MAX_TOKS 4096   /* per statement; a longer one is refused */

static int in_list(const char *const *list, const char *s, size_t len)
{
    for (; *list; list++)
        if (strlen(*list) == len && !strncmp(*list, s, len))
            return 1;
    return 0;
}

static int refuse(cs_error *err, int line, const char *fmt, const char *s, size_t len)
{
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)(len < 60 ? len : 60), s);
    cs_seterr(err, CS_EDENIED, "line %d: ", line);
    if (err) {
        size_t used = strlen(err->msg);
        snprintf(err->msg + used, sizeof err->msg - used, fmt, name);
        err->line = line;
    }
    return CS_EDENIED;
}

/* A quoted path the engine may read: absolute, inside the file roots, and
 * a regular file if anything is there (Csound opens it blocking: a FIFO
 * would stop the thread that merges or inits, the audio thread). */
static int path_ok(const tok *t)
{
    char path[PATH_MAX], real[PATH_MAX], why[PATH_MAX + 128];
    const file_roots *r = file_get_roots();
    if (t->len == 0 || t->len >= sizeof path || memchr(t->s, '\\', t->len))
        return 0;
    memcpy(path, t->s, t->len);
    path[t->len] = '\0';
    if (r == NULL || r->any)
        return file_regular_or_absent(path, why, sizeof why) == 0;
    return path[0] == '/' && file_roots_resolve(r, path, real, sizeof real, why, sizeof why) == 0 &&
           file_regular_or_absent(real, why, sizeof why) == 0;
}

/* Whether a string holds a score f statement (at its start or a line's). */
static int has_f_statement(const tok *t)
{
    for (size_t i = 0; i < t->len; i++) {
        if (i > 0 && t->s[i - 1] != '\n')
            continue;
        size_t j = i;
        while (j < t->len && isspace((unsigned char)t->s[j]))
            j++;
        if (j < t->len && t->s[j] == 'f' &&
            (j + 1 == t->len || isspace((unsigned char)t->s[j + 1]) ||
             isdigit((unsigned char)t->s[j + 1])))
            return 1;
    }
    return 0;
}

/* The index of the first token of the k-th argument (from 0) of the
 * opcode at toks[at], or n when there are fewer. */
static int arg_at(const tok *toks, int n, int at, int k)
{
    int commas = 0, i = at + 1;
    if (i < n && toks[i].kind == T_OTHER && toks[i].s[0] == '(')
        i++;
    for (; i < n && commas < k; i++)
        if (toks[i].kind == T_COMMA)
            commas++;
    return commas < k ? n : i;
}

/* The ftgen statement's GEN: its number, or 0 when the fourth argument is
 * not a literal number; *named set when it is a GEN called by name. */
static int gen_number(const tok *toks, int n, int at, int *named)
{
    int i = arg_at(toks, n, at, 3), sign = 1;
    *named = i < n && toks[i].kind == T_STR && in_list(named_gens, toks[i].s, toks[i].len);
    if (i < n && toks[i].kind == T_MINUS) {
        sign = -1;
        i++;
    }
    if (i >= n || toks[i].kind != T_NUM)
        return 0;
    return sign * atoi(toks[i].s);
}

static int check_statement(const tok *toks, int n, void *ctx, cs_error *err)
{
    (void)ctx;
    for (int i = 0; i < n; i++) {
        const tok *t = &toks[i];
        if (t->kind == T_MACRO && ((i > 0 && t->joined && (toks[i - 1].kind == T_ID ||
                                                            toks[i - 1].kind == T_MACRO)) ||
                                   (i + 1 < n && toks[i + 1].joined &&
                                    (toks[i + 1].kind == T_ID || toks[i + 1].kind == T_MACRO))))
            return refuse(err, t->line, "$%s joined to another name: a name made of macros "
                          "is refused without csound-unsafe", t->s, t->len);
        if (t->kind != T_ID)
            continue;
        if (in_list(run_ops, t->s, t->len))
            return refuse(err, t->line, "opcode %s is refused: it runs programs or code "
                          "(the daemon's csound-unsafe setting allows it)", t->s, t->len);
        if (in_list(file_ops, t->s, t->len))
            return refuse(err, t->line, "opcode %s is refused: it reads or writes files by "
                          "any name (the daemon's csound-unsafe setting allows it)", t->s, t->len);
        if (in_list(named_ops, t->s, t->len)) {
            int strings = 0;
            for (int j = 0; j < n; j++)
                if (toks[j].kind == T_STR) {
                    strings++;
                    if (!path_ok(&toks[j]))
                        return refuse(err, t->line, "opcode %s: the file must be a quoted "
                                      "absolute path inside the daemon's file roots, "
                                      "a regular file if it exists",
                                      t->s, t->len);
                }
            if (strings == 0)
                return refuse(err, t->line, "opcode %s: the file must be a quoted absolute "
                              "path inside the daemon's file roots, not a variable",
                              t->s, t->len);
        }
        if (in_list(gen_ops, t->s, t->len)) {
            int named, gen = gen_number(toks, n, i, &named), reads = 0, strings = 0;
            for (size_t g = 0; g < sizeof file_gens / sizeof file_gens[0]; g++)
                if (gen == file_gens[g] || gen == -file_gens[g])
                    reads = 1;
            for (int j = i + 1; j < n; j++)
                if (toks[j].kind == T_STR && !in_list(named_gens, toks[j].s, toks[j].len)) {
                    strings++;
                    if (!path_ok(&toks[j]))
                        return refuse(err, t->line, "opcode %s: a GEN's file must be a quoted "
                                      "absolute path inside the daemon's file roots, "
                                      "a regular file if it exists",
                                      t->s, t->len);
                }
            if ((gen == 0 && !named) || (reads && strings == 0))
                return refuse(err, t->line, "opcode %s: the GEN must be a literal number or "
                              "name, and one that reads a file must name it as a quoted "
                              "absolute path inside the daemon's file roots", t->s, t->len);
        }
        if (in_list(score_ops, t->s, t->len))
            for (int j = i + 1; j < n; j++)
                if (toks[j].kind == T_STR &&
                    ((toks[j].len == 1 && toks[j].s[0] == 'f') || has_f_statement(&toks[j])))
                    return refuse(err, t->line, "opcode %s: f statements from orchestra code "
                                  "are refused (they may read files); use csound.compile's "
                                  "ftgen", t->s, t->len);
    }
    return 0;
}

typedef int (*statement_fn)(const tok *toks, int n, void *ctx, cs_error *err);

/* Reads the code into statements (one per line outside {{strings}} and
 * comments) and hands each to fn, until fn returns nonzero. */
static int each_statement(const char *code, statement_fn fn, void *ctx, cs_error *err)
{
    tok *toks = malloc(MAX_TOKS * sizeof *toks);
    if (!toks)
        return cs_seterr(err, CS_ENOMEM, "out of memory");
    int n = 0, line = 1, rc = 0;
    const char *p = code, *prev_end = NULL;
    while (!rc) {
        char c = *p;
        int end_stmt = c == '\0' || c == '\n';
        if (end_stmt) {
            rc = fn(toks, n, ctx, err);
            n = 0;
            if (c == '\0')
                break;
            line++;
            p++;
            prev_end = NULL;
            continue;
        }
        if (c == ';' || (c == '/' && p[1] == '/')) {            /* comment to the line's end */
            while (*p && *p != '\n')
                p++;
            continue;
        }
        if (c == '/' && p[1] == '*') {                           /* block comment */
            p += 2;
            while (*p && !(p[0] == '*' && p[1] == '/'))
                line += *p++ == '\n';
            p += *p ? 2 : 0;
            continue;
        }
        if (c == '\\' && p[1] == '\n') {                        /* line continuation */
            p += 2;
            line++;
            continue;
        }
        if (isspace((unsigned char)c)) {
            p++;
            continue;
        }
        if (n == MAX_TOKS) {
            rc = refuse(err, line, "a statement of more than %s tokens", "4096", 4);
            break;
        }
        tok *t = &toks[n++];
        t->line = line;
        t->joined = prev_end == p;
        t->s = p;
        if (c == '"') {                                           /* "string" */
            t->kind = T_STR;
            t->s = ++p;
            while (*p && *p != '"' && *p != '\n')
                p += (*p == '\\' && p[1]) ? 2 : 1;
            t->len = (size_t)(p - t->s);
            p += *p == '"';
        } else if (c == '{' && p[1] == '{') {                     /* {{string}} */
            t->kind = T_STR;
            t->s = p += 2;
            while (*p && !(p[0] == '}' && p[1] == '}'))
                line += *p++ == '\n';
            t->len = (size_t)(p - t->s);
            p += *p ? 2 : 0;
        } else if (c == '$' && (isalpha((unsigned char)p[1]) || p[1] == '_')) {   /* $macro */
            t->kind = T_MACRO;
            t->s = ++p;
            while (isalnum((unsigned char)*p) || *p == '_')
                p++;
            t->len = (size_t)(p - t->s);
            p += *p == '.';    /* $NAME. ends the name explicitly */
        } else if (isalpha((unsigned char)c) || c == '_') {
            t->kind = T_ID;
            while (isalnum((unsigned char)*p) || *p == '_')
                p++;
            t->len = (size_t)(p - t->s);
        } else if (isdigit((unsigned char)c) || (c == '.' && isdigit((unsigned char)p[1]))) {
            t->kind = T_NUM;
            while (isalnum((unsigned char)*p) || *p == '.')
                p++;
            t->len = (size_t)(p - t->s);
        } else {
            t->kind = c == ',' ? T_COMMA : c == '-' ? T_MINUS : T_OTHER;
            t->len = 1;
            p++;
        }
        prev_end = p;
    }
    free(toks);
    return rc;
}

int cs_confine(const char *code, cs_error *err)
{
    return each_statement(code, check_statement, NULL, err);
}

/* ---- global code (cs_global_scan) ---- */

static int is_word(const tok *t, const char *w)
{
    return t->kind == T_ID && strlen(w) == t->len && !strncmp(t->s, w, t->len);
}

/* The value of the argument starting at toks[i] when it is a literal number,
 * a power (2^22) or a product of those; -1 when it is anything else (a
 * variable, an expression, a negative size: GEN 1's size from its file). */
static double literal_size(const tok *toks, int n, int i)
{
    double v = 1;
    for (;;) {
        if (i >= n || toks[i].kind != T_NUM)
            return -1;
        double f = strtod(toks[i++].s, NULL);
        if (i < n && toks[i].kind == T_OTHER && toks[i].s[0] == '^') {
            if (++i >= n || toks[i].kind != T_NUM)
                return -1;
            f = pow(f, strtod(toks[i++].s, NULL));
        }
        v *= f;
        if (i >= n || toks[i].kind == T_COMMA)
            return v;
        if (toks[i].kind != T_OTHER || toks[i].s[0] != '*')
            return -1;
        i++;
    }
}

typedef struct global_ctx {
    int depth;                  /* inside instr..endin or opcode..endop */
    cs_global_info *info;
} global_ctx;

static int global_statement(const tok *toks, int n, void *ctx, cs_error *err)
{
    global_ctx *g = ctx;
    (void)err;
    if (n == 0)
        return 0;
    if (is_word(&toks[0], "instr") || is_word(&toks[0], "opcode")) {
        g->depth = 1;
        return 0;
    }
    if (is_word(&toks[0], "endin") || is_word(&toks[0], "endop")) {
        g->depth = 0;
        return 0;
    }
    if (g->depth)
        return 0;
    /* Header statements are the engine's own (dropped or refused). */
    if (n >= 2 && in_list(cs_header_names, toks[0].s, toks[0].len) &&
        toks[1].kind == T_OTHER && toks[1].s[0] == '=')
        return 0;
    if (g->info->statements == 0)
        g->info->first_line = toks[0].line;
    g->info->statements++;
    for (int i = 0; i < n; i++) {
        if (toks[i].kind != T_ID)
            continue;
        if (in_list(gen_ops, toks[i].s, toks[i].len)) {
            int named, gen = gen_number(toks, n, i, &named), reads = 0;
            for (size_t k = 0; k < sizeof file_gens / sizeof file_gens[0]; k++)
                if (gen == file_gens[k] || gen == -file_gens[k])
                    reads = 1;
            double size = literal_size(toks, n, arg_at(toks, n, i, 2));
            if (reads || size < 0 || size > CS_GLOBAL_TABLE_POINTS) {
                if (g->info->tables == 0)
                    g->info->table_line = toks[i].line;
                g->info->tables++;
            }
        } else if (is_word(&toks[i], "ftload") || is_word(&toks[i], "ftsamplebank")) {
            if (g->info->tables == 0)
                g->info->table_line = toks[i].line;
            g->info->tables++;
        }
    }
    return 0;
}

int cs_global_scan(const char *code, cs_global_info *info)
{
    global_ctx g = { 0, info };
    memset(info, 0, sizeof *info);
    int rc = each_statement(code, global_statement, &g, NULL);
    info->heavy = info->tables > 0 || info->statements > CS_GLOBAL_STATEMENTS;
    return rc;
}
