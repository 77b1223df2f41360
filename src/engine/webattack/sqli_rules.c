/*
 * Statement shapes and the "anywhere" rules of the SQL injection detector (see sqli.c for the
 * overall design). Every function here looks at a bounded neighbourhood of a folded batch and
 * returns; none allocates. The shapes are deliberately demanding about what follows a keyword -
 * a select list with SQL-only material, an object kind after DROP, a variable after DECLARE -
 * because keywords alone are ordinary English words.
 */
#include <string.h>

#include "engine/webattack/sqli_fold.h"

/*
 * Tokens a shape (select list, CASE, call arguments) is followed over at most: real payloads
 * are far shorter, and the bound keeps every rule O(SHAPE_SPAN) per token.
 */
#define SHAPE_SPAN 96

static bool word_prefix(const struct sqli_fold *f, size_t k, const char *w)
{
    size_t l = strlen(w);
    if (k >= f->n || f->t[k].type != SQ_WORD || f->t[k].len < l)
        return false;
    return tld_sqli_lower_eq(f->s + f->t[k].off, w, l);
}

bool tld_sqli_is_cmp(const struct sqli_fold *f, size_t k)
{
    if (k >= f->n || f->r[k] != R_BIN)
        return false;
    const struct sqli_tok *t = &f->t[k];
    return (t->type == SQ_OP && t->sub == OPC_CMP) || (t->type == SQ_WORD && (t->wf & SW_CMP));
}

bool tld_sqli_is_logic(const struct sqli_fold *f, size_t k)
{
    if (k >= f->n || f->r[k] != R_BIN)
        return false;
    const struct sqli_tok *t = &f->t[k];
    return (t->type == SQ_OP && t->sub == OPC_LOGIC) || (t->type == SQ_WORD && (t->wf & SW_LOGIC));
}

static bool is_literal(const struct sqli_fold *f, size_t k)
{
    if (k >= f->n || f->r[k] != R_OPND)
        return false;
    const struct sqli_tok *t = &f->t[k];
    return t->type == SQ_NUM || t->type == SQ_STR || (t->type == SQ_VAR && (t->tf & SQF_SYS)) ||
           (t->type == SQ_WORD && (t->wf & SW_VALUE));
}

bool tld_sqli_literal_cmp(const struct sqli_fold *f, size_t k)
{
    if (!tld_sqli_is_cmp(f, k) || k == 0)
        return false;
    size_t a = k - 1;
    if (a > 0 && f->r[a] == R_UNARY)
        a--; /* 1 NOT LIKE 0, 1 NOT BETWEEN 0 AND 1 */
    while (a > 0 && f->r[a] == R_RP)
        a--;
    size_t b = k + 1;
    while (b < f->n && (f->r[b] == R_LP || f->r[b] == R_UNARY))
        b++;
    /* x=x: a name compared with itself is as constant as 1=1 */
    if (a < f->n && b < f->n && f->t[a].type == SQ_WORD && f->t[b].type == SQ_WORD &&
        f->r[a] == R_OPND && f->r[b] == R_OPND && f->t[a].len == f->t[b].len &&
        f->t[a].sub != '`' && memcmp(f->s + f->t[a].off, f->s + f->t[b].off, f->t[a].len) == 0)
        return true;
    if (!is_literal(f, a))
        return false;
    if (is_literal(f, b))
        return true;
    return false;
}

bool tld_sqli_wildcard_like(const struct sqli_fold *f, size_t k)
{
    /* x LIKE '%': true for every row */
    if (!tld_sqli_word_is(f, k, "like") || k + 1 >= f->n || f->t[k + 1].type != SQ_STR)
        return false;
    const struct sqli_tok *t = &f->t[k + 1];
    const char *p = f->s + t->off;
    size_t l = t->len;
    if (l >= 1 && (p[0] == '\'' || p[0] == '"'))
        p++, l--;
    if (!(t->tf & SQF_OPEN) && l >= 1)
        l--;
    if (l == 0)
        return false;
    for (size_t i = 0; i < l; i++)
        if (p[i] != '%' && p[i] != '_')
            return false;
    return true;
}

bool tld_sqli_alias_ok(const struct sqli_fold *f, size_t k, enum sqli_role prev)
{
    if (f->t[k].type != SQ_WORD || (f->t[k].wf & SW_VALUE))
        return false;
    switch (sqli_role_at(f, k + 1)) {
    case R_COMMA:
    case R_KW:
    case R_UNION:
    case R_END:
    case R_COMMENT:
    case R_SEMI:
        return true;
    case R_BIN:
        return tld_sqli_is_logic(f, k + 1);
    case R_RP:
        return prev == R_RP;
    default:
        return false;
    }
}

bool tld_sqli_comment_ok(const struct sqli_fold *f, size_t k)
{
    if (k >= f->n || f->r[k] != R_COMMENT)
        return false;
    const struct sqli_tok *t = &f->t[k];
    const char *p = f->s + t->off;
    if (p[0] != '#')
        return true;
    for (size_t i = 1; i < t->len; i++) {
        unsigned char c = (unsigned char)p[i];
        if ((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
            return false;
    }
    return true;
}

/* Index just past the END closing the CASE at k (or f->n). */
static size_t skip_case(const struct sqli_fold *f, size_t k)
{
    int depth = 0;
    for (size_t j = k; j < f->n && j < k + SHAPE_SPAN; j++) {
        if (tld_sqli_word_is(f, j, "case"))
            depth++;
        else if (tld_sqli_word_is(f, j, "end") && --depth == 0)
            return j + 1;
    }
    return f->n;
}

/* ---- SELECT -----------------------------------------------------------------------------------
 */

struct select_list {
    unsigned items, viol;
    bool sql;    /* numbers, strings, NULL, '*', CASE, calls, variables */
    bool strong; /* known function calls, @@vars, CASE */
    size_t end;  /* first token after the list */
};

static void scan_select_list(const struct sqli_fold *f, size_t j, struct select_list *sl)
{
    memset(sl, 0, sizeof *sl);
    int depth = 0;
    enum sqli_role prev = R_KW;
    size_t limit = j + SHAPE_SPAN;
    while (j < f->n && j < limit) {
        enum sqli_role r = (enum sqli_role)f->r[j];
        const struct sqli_tok *t = &f->t[j];
        if (tld_sqli_word_is(f, j, "case")) {
            sl->items++;
            sl->sql = sl->strong = true;
            j = skip_case(f, j);
            prev = R_OPND;
            continue;
        }
        if (depth == 0 && (r == R_KW || r == R_UNION || r == R_COMMENT || r == R_SEMI ||
                           r == R_RP || r == R_STMT || (r == R_SELECT && sl->items > 0)))
            break;
        if (depth > 0 && tld_sqli_word_is(f, j, "from"))
            break;
        sl->items++;
        switch (r) {
        case R_OPND:
            if (sqli_ends_operand(prev) && !tld_sqli_alias_ok(f, j, prev))
                sl->viol++;
            if (t->type != SQ_WORD || (t->wf & (SW_VALUE | SW_INFO)) || f->s[t->off] == '*')
                sl->sql = true;
            if (t->type == SQ_VAR && (t->tf & SQF_SYS))
                sl->sql = sl->strong = true;
            break;
        case R_CALL:
            if (sqli_ends_operand(prev))
                sl->viol++;
            sl->sql = true;
            if ((t->wf & SW_FUNC) && !(t->wf & SW_GENERIC))
                sl->strong = true;
            break;
        case R_LP:
            depth++;
            break;
        case R_RP:
            depth--;
            break;
        case R_SELECT:
            sl->sql = true;
            break;
        case R_OTHER:
            sl->viol++;
            break;
        default:
            break;
        }
        prev = r;
        j++;
    }
    sl->end = j;
}

/* Clause keywords that can follow a FROM target or a select list without FROM. */
static bool query_clause(const struct sqli_fold *f, size_t k)
{
    static const char *const kw[] = {"where", "limit", "order", "group", "having",    "join",
                                     "inner", "left",  "union", "into",  "procedure", NULL};
    for (const char *const *w = kw; *w; w++)
        if (tld_sqli_word_is(f, k, *w))
            return true;
    return false;
}

bool tld_sqli_select_ok(const struct sqli_fold *f, size_t k, unsigned mode)
{
    size_t j = k + 1;
    while (tld_sqli_word_is(f, j, "distinct") || tld_sqli_word_is(f, j, "all") ||
           tld_sqli_word_is(f, j, "distinctrow"))
        j++;
    if (tld_sqli_word_is(f, j, "top") && sqli_role_at(f, j + 1) == R_OPND)
        j += 2;
    struct select_list sl;
    scan_select_list(f, j, &sl);
    if (sl.items == 0)
        return false;
    bool sloppy_ok = sl.strong || ((mode & SEL_LENIENT) && sl.sql);
    if (sl.viol > 0 && !sloppy_ok)
        return false;
    j = sl.end;
    if (sl.sql && (mode & (SEL_SUBQ | SEL_LENIENT)))
        return true;
    if (sl.strong)
        return true;
    if (tld_sqli_word_is(f, j, "from")) {
        size_t x = j + 1;
        if (sqli_role_at(f, x) == R_LP || sqli_role_at(f, x) == R_CALL)
            return true; /* derived table, table function */
        if (sqli_role_at(f, x) != R_OPND)
            return false;
        if ((f->t[x].wf & SW_INFO) || sl.sql || (mode & SEL_LENIENT))
            return true;
        enum sqli_role after = sqli_role_at(f, x + 1);
        if (after == R_DOT || after == R_COMMENT || after == R_SEMI)
            return true;
        if ((mode & SEL_SUBQ) && after == R_RP)
            return true; /* (select password from users) */
        return query_clause(f, x + 1) && sqli_role_at(f, x + 2) != R_END;
    }
    /* a subquery without FROM: (select x where 1=1) */
    return (mode & SEL_SUBQ) && query_clause(f, j) && sqli_starts_operand(sqli_role_at(f, j + 1));
}

/* Token k is a word written with a capital and then lower-case letters ("Union"). */
static bool title_word(const struct sqli_fold *f, size_t k)
{
    const struct sqli_tok *t = &f->t[k];
    if (t->type != SQ_WORD || t->len < 2 || f->s[t->off] < 'A' || f->s[t->off] > 'Z')
        return false;
    for (size_t i = 1; i < t->len; i++)
        if (f->s[t->off + i] < 'a' || f->s[t->off + i] > 'z')
            return false;
    return true;
}

bool tld_sqli_union_ok(const struct sqli_fold *f, size_t k)
{
    size_t j = k + 1;
    if (tld_sqli_word_is(f, j, "all") || tld_sqli_word_is(f, j, "distinct"))
        j++;
    while (sqli_role_at(f, j) == R_LP)
        j++;
    if (sqli_role_at(f, j) != R_SELECT)
        return false;
    /* "European Union Select Committee": both keywords written as in a title, after a word or
     * opening the value, read as a query only with strong evidence */
    bool title = title_word(f, k) && title_word(f, j) && (k == 0 || f->t[k - 1].type == SQ_WORD);
    if (tld_sqli_select_ok(f, j, title ? 0 : SEL_LENIENT))
        return true;
    /* "1 union select ...": right after a value, the keywords alone tell */
    return !title && sqli_ends_operand(sqli_role_before(f, k));
}

/* ---- other statements ------------------------------------------------------------------------ */

static bool next_word_in(const struct sqli_fold *f, size_t k, const char *const *list)
{
    for (; *list; list++)
        if (tld_sqli_word_is(f, k, *list))
            return true;
    return false;
}

/* Call at k (a word followed by '('): are the arguments a well-formed expression list? */
static bool args_clean(const struct sqli_fold *f, size_t k, bool *literal_cmp)
{
    size_t j = k + 2;
    int depth = 1;
    unsigned viol = 0, n = 0;
    enum sqli_role prev = R_LP;
    *literal_cmp = false;
    for (; j < f->n && j < k + SHAPE_SPAN && depth > 0; j++) {
        enum sqli_role r = (enum sqli_role)f->r[j];
        if (r == R_LP)
            depth++;
        else if (r == R_RP)
            depth--;
        if (depth == 0)
            break;
        n++;
        if ((r == R_OPND || r == R_CALL) && sqli_ends_operand(prev) &&
            !tld_sqli_alias_ok(f, j, prev))
            viol++;
        if (r == R_OTHER || r == R_COMMENT)
            viol++;
        if (r == R_BIN && tld_sqli_literal_cmp(f, j))
            *literal_cmp = true;
        prev = r;
    }
    return n > 0 && viol == 0;
}

static bool ends_statement(enum sqli_role r)
{
    return r == R_END || r == R_COMMENT || r == R_SEMI;
}

bool tld_sqli_stmt_ok(const struct sqli_fold *f, size_t k, enum sqli_stmt_pos pos)
{
    static const char *const objects[] = {"table", "database", "view",      "procedure", "function",
                                          "user",  "index",    "schema",    "trigger",   "login",
                                          "or",    "event",    "temporary", NULL};
    enum sqli_role r = sqli_role_at(f, k), r1 = sqli_role_at(f, k + 1);
    if (r == R_SELECT)
        return pos != STMT_ANYWHERE && tld_sqli_select_ok(f, k, 0);
    if (r == R_CALL && pos == STMT_AFTER_SEMI) {
        bool lit;
        return (f->t[k].wf & SW_FUNC) && args_clean(f, k, &lit);
    }
    if (r != R_STMT && !(pos == STMT_AFTER_SEMI && tld_sqli_word_is(f, k, "if")))
        return false;
    if (tld_sqli_word_is(f, k, "waitfor"))
        return (tld_sqli_word_is(f, k + 1, "delay") || tld_sqli_word_is(f, k + 1, "time")) &&
               r1 != R_END && sqli_role_at(f, k + 2) == R_OPND;
    if (tld_sqli_word_is(f, k, "exec") || tld_sqli_word_is(f, k, "execute")) {
        if (r1 == R_LP || (r1 == R_OPND && f->t[k + 1].type != SQ_WORD))
            return true;
        if (word_prefix(f, k + 1, "xp_") || word_prefix(f, k + 1, "sp_") ||
            tld_sqli_word_is(f, k + 1, "master"))
            return true;
        enum sqli_role r2 = sqli_role_at(f, k + 2);
        return pos != STMT_ANYWHERE && r1 == R_OPND &&
               (ends_statement(r2) || r2 == R_DOT || (r2 == R_OPND && f->t[k + 2].type != SQ_WORD));
    }
    if (tld_sqli_word_is(f, k, "declare"))
        return r1 == R_OPND && f->t[k + 1].type == SQ_VAR;
    if (pos == STMT_ANYWHERE)
        return false;
    if (tld_sqli_word_is(f, k, "shutdown"))
        return ends_statement(r1) || tld_sqli_word_is(f, k + 1, "with");
    if (tld_sqli_word_is(f, k, "drop") || tld_sqli_word_is(f, k, "create") ||
        tld_sqli_word_is(f, k, "alter") || tld_sqli_word_is(f, k, "rename"))
        return next_word_in(f, k + 1, objects) && sqli_role_at(f, k + 2) != R_END;
    if (tld_sqli_word_is(f, k, "insert") || tld_sqli_word_is(f, k, "delete")) {
        size_t j = k + 1;
        while (j < k + 4 &&
               (tld_sqli_word_is(f, j, "low_priority") || tld_sqli_word_is(f, j, "quick") ||
                tld_sqli_word_is(f, j, "ignore") || tld_sqli_word_is(f, j, "delayed") ||
                tld_sqli_word_is(f, j, "high_priority")))
            j++;
        return tld_sqli_word_is(f, j, tld_sqli_word_is(f, k, "insert") ? "into" : "from") &&
               sqli_role_at(f, j + 1) == R_OPND;
    }
    if (tld_sqli_word_is(f, k, "update"))
        return r1 == R_OPND && tld_sqli_word_is(f, k + 2, "set");
    if (tld_sqli_word_is(f, k, "truncate"))
        return tld_sqli_word_is(f, k + 1, "table");
    if (pos != STMT_AFTER_SEMI)
        return false;
    if (tld_sqli_word_is(f, k, "set"))
        return r1 == R_OPND && (f->t[k + 1].type == SQ_VAR || tld_sqli_is_cmp(f, k + 2));
    if (tld_sqli_word_is(f, k, "begin"))
        return r1 == R_STMT || r1 == R_SELECT || r1 == R_CALL ||
               (r1 == R_OPND && sqli_role_at(f, k + 2) == R_DOT);
    if (tld_sqli_word_is(f, k, "call")) /* CALL proc(...), CALL schema.proc(...) */
        return r1 == R_CALL || (r1 == R_OPND && sqli_role_at(f, k + 2) == R_DOT && k + 3 < f->n &&
                                f->t[k + 3].type == SQ_WORD && sqli_role_at(f, k + 4) == R_LP);
    if (tld_sqli_word_is(f, k, "do"))
        return r1 == R_LP;
    if (tld_sqli_word_is(f, k, "if")) /* T-SQL: IF <condition> <statement> */
        return r1 == R_LP || tld_sqli_literal_cmp(f, k + 2) || tld_sqli_word_is(f, k + 1, "exists");
    if (tld_sqli_word_is(f, k, "load"))
        return tld_sqli_word_is(f, k + 1, "data") || tld_sqli_word_is(f, k + 1, "xml");
    if (tld_sqli_word_is(f, k, "grant") || tld_sqli_word_is(f, k, "revoke"))
        return r1 == R_KW || r1 == R_SELECT || r1 == R_STMT;
    if (tld_sqli_word_is(f, k, "use"))
        return r1 == R_OPND && ends_statement(sqli_role_at(f, k + 2));
    return false;
}

/* ---- the anywhere rules -----------------------------------------------------------------------
 */

/* CASE WHEN <literal cmp literal> THEN: a conditional only a query builds. */
static bool case_literal(const struct sqli_fold *f, size_t k)
{
    if (!tld_sqli_word_is(f, k + 1, "when")) {
        /* CASE <expr> WHEN <v> THEN <v> [ELSE <v>] END */
        bool when = false, then = false;
        for (size_t j = k + 1; j < f->n && j < k + 32; j++) {
            if (f->r[j] == R_OTHER || f->r[j] == R_COMMENT || f->r[j] == R_SEMI)
                return false;
            when = when || tld_sqli_word_is(f, j, "when");
            then = then || (when && tld_sqli_word_is(f, j, "then"));
            if (tld_sqli_word_is(f, j, "end"))
                return then;
        }
        return false;
    }
    for (size_t j = k + 2; j < f->n && j < k + 24; j++) {
        if (tld_sqli_word_is(f, j, "then"))
            return false; /* no literal comparison in the condition */
        if (f->r[j] == R_BIN && tld_sqli_literal_cmp(f, j)) {
            for (size_t m = j; m < f->n && m < k + 24; m++)
                if (tld_sqli_word_is(f, m, "then"))
                    return true;
            return false;
        }
        if (f->r[j] == R_OTHER || f->r[j] == R_COMMENT)
            return false;
    }
    return false;
}

/*
 * SQL keywords glued to comments: an inline comment used as a blank around OR, a MySQL
 * versioned comment wrapping UNION, UNION opening the line after a '#' comment. Text never puts
 * comment markers against a keyword; evasion does.
 */
static bool keyword_evasion(const struct sqli_fold *f, size_t k)
{
    const struct sqli_tok *t = &f->t[k];
    if (t->type != SQ_WORD || !(t->wf & SW_KEYWORD))
        return false;
    enum sqli_role r = (enum sqli_role)f->r[k];
    if (r != R_BIN && r != R_KW && r != R_UNION && r != R_SELECT && r != R_STMT && r != R_UNARY)
        return false;
    if (t->tf & SQF_CMT)
        return sqli_role_at(f, k + 1) != R_END || sqli_ends_operand(sqli_role_before(f, k));
    /* a keyword opening a line after a line comment */
    return r == R_UNION && k > 0 && f->r[k - 1] == R_COMMENT && f->s[f->t[k - 1].off] != '/';
}

bool tld_sqli_anywhere(const struct sqli_fold *f)
{
    for (size_t k = 0; k < f->n; k++) {
        enum sqli_role r = (enum sqli_role)f->r[k];
        const struct sqli_tok *t = &f->t[k];
        enum sqli_role prev = k > 0 ? (enum sqli_role)f->r[k - 1] : R_END;
        bool lit;
        if (keyword_evasion(f, k))
            return true;
        switch (r) {
        case R_UNION:
            if (tld_sqli_union_ok(f, k))
                return true;
            break;
        case R_SEMI:
            if (tld_sqli_stmt_ok(f, k + 1, STMT_AFTER_SEMI))
                return true;
            break;
        case R_CALL:
            if ((t->wf & SW_DANGER) && args_clean(f, k, &lit))
                return true;
            /* version(), database(), user(): asking the server about itself */
            if ((t->wf & SW_INFOFN) && sqli_role_at(f, k + 2) == R_RP)
                return true;
            /* iif(1=2,1,1/0), elt(5=5,1): a function deciding on a literal comparison */
            if ((t->wf & SW_FUNC) && args_clean(f, k, &lit) && lit)
                return true;
            break;
        case R_OPND:
            /* dbms_lock.sleep(...), utl_inaddr.get_host_address(...) */
            if (t->type == SQ_WORD && (t->wf & SW_DANGER) && sqli_role_at(f, k + 1) == R_DOT &&
                sqli_role_at(f, k + 2) == R_CALL)
                return true;
            /* information_schema.tables, FROM sysobjects */
            if (t->type == SQ_WORD && (t->wf & SW_CATALOG) &&
                (prev == R_DOT || sqli_role_at(f, k + 1) == R_DOT ||
                 (k > 0 && tld_sqli_word_is(f, k - 1, "from"))))
                return true;
            /* @@version used as a value */
            if (t->type == SQ_VAR && (t->tf & SQF_SYS) &&
                (prev == R_LP || prev == R_COMMA || prev == R_BIN || prev == R_SELECT ||
                 sqli_role_at(f, k + 1) == R_RP || sqli_role_at(f, k + 1) == R_COMMA ||
                 sqli_role_at(f, k + 1) == R_BIN))
                return true;
            break;
        case R_LP:
            if (sqli_role_at(f, k + 1) == R_SELECT && tld_sqli_select_ok(f, k + 1, SEL_SUBQ))
                return true;
            break;
        case R_SELECT:
            if (prev != R_OPND && prev != R_LP && tld_sqli_select_ok(f, k, 0))
                return true;
            break;
        case R_STMT:
            /* x.exec('...'): a method of some object, not a statement */
            if (prev != R_DOT && tld_sqli_stmt_ok(f, k, STMT_ANYWHERE))
                return true;
            break;
        case R_KW:
            if (tld_sqli_word_is(f, k, "into") &&
                (tld_sqli_word_is(f, k + 1, "outfile") || tld_sqli_word_is(f, k + 1, "dumpfile"))) {
                enum sqli_role x = sqli_role_at(f, k + 2);
                if (x == R_OPND || x == R_LP || x == R_CALL)
                    return true;
            }
            if (tld_sqli_word_is(f, k, "case") && case_literal(f, k))
                return true;
            break;
        case R_BIN:
            /* "OR 1=1", "AND 'a'='a'": a tautology joined to what came before */
            if (tld_sqli_is_logic(f, k) && sqli_ends_operand(prev)) {
                size_t c = k + 1;
                while (c < f->n && (f->r[c] == R_LP || f->r[c] == R_UNARY))
                    c++;
                c++;
                while (c < f->n && f->r[c] == R_RP)
                    c++;
                if (tld_sqli_literal_cmp(f, c)) {
                    size_t e = c + 1;
                    while (e < f->n && (f->r[e] == R_LP || f->r[e] == R_UNARY))
                        e++;
                    e++;
                    while (e < f->n && f->r[e] == R_RP)
                        e++;
                    enum sqli_role nx = sqli_role_at(f, e);
                    if (ends_statement(nx) || nx == R_KW || tld_sqli_is_logic(f, e))
                        return true;
                }
            }
            break;
        default:
            break;
        }
    }
    return false;
}
