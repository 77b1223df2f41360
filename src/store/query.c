/*
 * Query parser: recursive descent over the lexer's tokens, building the tree backends compile.
 * Precedence: not > and (also implied by juxtaposition) > or. `field:(a or b and c)` is the same
 * boolean grammar with bare values, each becoming a test of that one field. Depth is bounded so
 * hostile input cannot exhaust the stack.
 */
#include "store/query.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "common/err.h"
#include "store/query_lex.h"

#define MAX_DEPTH 64
#define MAX_NODES 4096        /* terms and operators; long value lists stay far below */
#define MAX_TEXT  (64u << 10) /* bytes of query text */

struct parser {
    struct tld_qlexer lx;
    struct tld_qtoken tok; /* the current token */
    bool value_next;       /* the next token is a value (see tld_qlex_next) */
    int depth;
    size_t nodes;
    struct tld_query_error *err;
    int rc;
};

static void node_free(struct tld_qnode *n)
{
    if (!n)
        return;
    node_free(n->a);
    node_free(n->b);
    free(n->field);
    free(n->value);
    free(n);
}

void tld_query_free(struct tld_query *q)
{
    if (!q)
        return;
    node_free(q->root);
    free(q);
}

static void error_at(struct parser *ps, size_t off, const char *fmt, ...)
{
    if (ps->rc)
        return; /* the first error is the one that explains the others */
    ps->rc = TLD_EPARSE;
    ps->err->off = off;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->err->msg, sizeof(ps->err->msg), fmt, ap);
    va_end(ap);
}

static void advance(struct parser *ps)
{
    tld_qtoken_fini(&ps->tok);
    tld_qlex_next(&ps->lx, ps->value_next, &ps->tok);
    ps->value_next = false;
    if (ps->tok.kind == TLD_QT_ERROR)
        error_at(ps, ps->tok.off, "%s", ps->tok.err);
}

static void unexpected(struct parser *ps, const char *wanted)
{
    error_at(ps, ps->tok.off, "expected %s, found %s", wanted, tld_qtok_name(ps->tok.kind));
}

int tld_query_number(const char *p, size_t n, double *out)
{
    /* Strict decimal syntax: strtod alone would also take "inf", "0x1p3" and leading blanks. */
    size_t i = 0, digits = 0;
    if (i < n && (p[i] == '-' || p[i] == '+'))
        i++;
    for (; i < n && p[i] >= '0' && p[i] <= '9'; i++)
        digits++;
    if (i < n && p[i] == '.')
        for (i++; i < n && p[i] >= '0' && p[i] <= '9'; i++)
            digits++;
    if (!digits)
        return TLD_EINVAL;
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        size_t e = ++i;
        if (i < n && (p[i] == '-' || p[i] == '+'))
            e = ++i;
        for (; i < n && p[i] >= '0' && p[i] <= '9'; i++)
            ;
        if (i == e)
            return TLD_EINVAL;
    }
    if (i != n || n > 64)
        return TLD_EINVAL;
    char buf[72];
    memcpy(buf, p, n);
    buf[n] = '\0';
    double v = strtod(buf, NULL);
    if (!isfinite(v))
        return TLD_EINVAL;
    *out = v;
    return 0;
}

bool tld_query_valid_field(const char *p, size_t n)
{
    if (!n || n > 256 || p[0] == '.' || p[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '@' || (c == '.' && p[i + 1] != '.');
        if (!ok)
            return false;
    }
    return true;
}

static struct tld_qnode *new_node(struct parser *ps, enum tld_qkind kind, size_t off)
{
    if (++ps->nodes > MAX_NODES) {
        error_at(ps, off, "query too long (at most %d terms and operators)", MAX_NODES);
        return NULL;
    }
    struct tld_qnode *n = calloc(1, sizeof(*n));
    if (!n) {
        error_at(ps, off, "out of memory");
        ps->rc = TLD_ENOMEM;
    } else {
        n->kind = kind;
        n->off = off;
    }
    return n;
}

static char *dup_bytes(const char *p, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, p, n);
        d[n] = '\0';
    }
    return d;
}

static struct tld_qnode *term(struct parser *ps, const char *field, enum tld_qop op, const char *v,
                              size_t vn, size_t off)
{
    struct tld_qnode *n = new_node(ps, TLD_Q_TERM, off);
    if (!n)
        return NULL;
    n->op = op;
    n->field = strdup(field);
    n->value = dup_bytes(v, vn);
    n->value_n = vn;
    if (!n->field || !n->value) {
        node_free(n);
        error_at(ps, off, "out of memory");
        ps->rc = TLD_ENOMEM;
        return NULL;
    }
    return n;
}

static struct tld_qnode *binary(struct parser *ps, enum tld_qkind kind, struct tld_qnode *a,
                                struct tld_qnode *b, size_t off)
{
    if (!a || !b) {
        node_free(a);
        node_free(b);
        return NULL;
    }
    struct tld_qnode *n = new_node(ps, kind, off);
    if (!n) {
        node_free(a);
        node_free(b);
        return NULL;
    }
    n->a = a;
    n->b = b;
    return n;
}

/*
 * `a or b or c ...` parses left-deep; rebuilt balanced, the tree's depth (and that of the SQL
 * made from it, which SQL engines bound) grows with the log of the number of operands. The
 * chain's own nodes are reused, so this cannot fail.
 */
static struct tld_qnode *build(struct tld_qnode **ops, struct tld_qnode **shells, size_t n)
{
    if (n == 1)
        return ops[0];
    struct tld_qnode *node = shells[0];
    size_t half = n / 2;
    node->a = build(ops, shells + 1, half);
    node->b = build(ops + half, shells + half, n - half);
    return node;
}

static struct tld_qnode *balance(struct tld_qnode *n, enum tld_qkind kind)
{
    size_t count = 0;
    for (struct tld_qnode *x = n; x && x->kind == kind; x = x->a)
        count++;
    if (count < 3)
        return n;
    struct tld_qnode **ops = malloc((count + 1) * sizeof(*ops));
    struct tld_qnode **shells = malloc(count * sizeof(*shells));
    if (!ops || !shells) {
        free(ops);
        free(shells);
        return n; /* left-deep is still a correct tree */
    }
    size_t i = count;
    for (struct tld_qnode *x = n; i; x = x->a) {
        shells[--i] = x;
        ops[i + 1] = x->b;
        if (i == 0)
            ops[0] = x->a;
    }
    struct tld_qnode *root = build(ops, shells, count + 1);
    free(ops);
    free(shells);
    return root;
}

/* ---- values of one field: field:( ... ) --------------------------------------------------- */

static struct tld_qnode *value_or(struct parser *ps, const char *field);

/* A regular expression must compile here, so a bad one is reported where it was typed. */
static bool value_next(struct parser *ps, const struct tld_qtoken *t)
{
    int code;
    PCRE2_SIZE at;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)t->text, t->len, 0, &code, &at, NULL);
    if (re) {
        pcre2_code_free(re);
        return true;
    }
    PCRE2_UCHAR why[120];
    if (pcre2_get_error_message(code, why, sizeof(why)) < 0)
        snprintf((char *)why, sizeof(why), "error %d", code);
    /* The offset is in the decoded text; escapes of '/' shift it by at most their count. */
    error_at(ps, t->off + 1 + (at < t->len ? at : t->len), "bad regular expression: %s",
             (const char *)why);
    return false;
}

/* A single value after ':' for `field`; the current token is the value. */
static struct tld_qnode *value_leaf(struct parser *ps, const char *field)
{
    struct tld_qtoken *t = &ps->tok;
    struct tld_qnode *n = NULL;
    if (t->kind == TLD_QT_STRING)
        n = term(ps, field, TLD_QOP_EQ, t->text, t->len, t->off);
    else if (t->kind == TLD_QT_REGEX && value_next(ps, t))
        n = term(ps, field, TLD_QOP_REGEX, t->text, t->len, t->off);
    else if (t->kind == TLD_QT_REGEX)
        return NULL;
    else if (t->kind == TLD_QT_WORD && t->len == 1 && t->text[0] == '*')
        n = term(ps, field, TLD_QOP_EXISTS, "", 0, t->off);
    else if (t->kind == TLD_QT_WORD)
        n = term(ps, field, memchr(t->text, '*', t->len) ? TLD_QOP_WILD : TLD_QOP_EQ, t->text,
                 t->len, t->off);
    else {
        unexpected(ps, "a value");
        return NULL;
    }
    advance(ps);
    return n;
}

static struct tld_qnode *value_not(struct parser *ps, const char *field)
{
    if (++ps->depth > MAX_DEPTH) {
        error_at(ps, ps->tok.off, "query nested too deeply");
        return NULL;
    }
    struct tld_qnode *n;
    size_t off = ps->tok.off;
    if (ps->tok.kind == TLD_QT_NOT) {
        ps->value_next = true;
        advance(ps);
        struct tld_qnode *a = value_not(ps, field);
        n = a ? new_node(ps, TLD_Q_NOT, off) : NULL;
        if (n)
            n->a = a;
        else
            node_free(a);
    } else if (ps->tok.kind == TLD_QT_LPAREN) {
        ps->value_next = true;
        advance(ps);
        n = value_or(ps, field);
        if (n && ps->tok.kind != TLD_QT_RPAREN) {
            unexpected(ps, "')'");
            node_free(n);
            n = NULL;
        } else if (n)
            advance(ps);
    } else
        n = value_leaf(ps, field);
    ps->depth--;
    return n;
}

static struct tld_qnode *value_and(struct parser *ps, const char *field)
{
    struct tld_qnode *n = value_not(ps, field);
    while (n && ps->tok.kind == TLD_QT_AND) {
        size_t off = ps->tok.off;
        ps->value_next = true;
        advance(ps);
        n = binary(ps, TLD_Q_AND, n, value_not(ps, field), off);
    }
    return balance(n, TLD_Q_AND);
}

static struct tld_qnode *value_or(struct parser *ps, const char *field)
{
    struct tld_qnode *n = value_and(ps, field);
    while (n && ps->tok.kind == TLD_QT_OR) {
        size_t off = ps->tok.off;
        ps->value_next = true;
        advance(ps);
        n = binary(ps, TLD_Q_OR, n, value_and(ps, field), off);
    }
    return balance(n, TLD_Q_OR);
}

/* ---- tests of fields ----------------------------------------------------------------------- */

static enum tld_qop cmp_op(enum tld_qtok k)
{
    switch (k) {
    case TLD_QT_LT:
        return TLD_QOP_LT;
    case TLD_QT_LE:
        return TLD_QOP_LE;
    case TLD_QT_GT:
        return TLD_QOP_GT;
    default:
        return TLD_QOP_GE;
    }
}

static struct tld_qnode *range(struct parser *ps, const char *field)
{
    enum tld_qop op = cmp_op(ps->tok.kind);
    advance(ps);
    struct tld_qtoken *t = &ps->tok;
    double v;
    if ((t->kind != TLD_QT_WORD && t->kind != TLD_QT_STRING) ||
        tld_query_number(t->text, t->len, &v)) {
        error_at(ps, t->off, "a range needs a number");
        return NULL;
    }
    struct tld_qnode *n = term(ps, field, op, t->text, t->len, t->off);
    if (n)
        n->num = v;
    advance(ps);
    return n;
}

static struct tld_qnode *contains(struct parser *ps, const char *field)
{
    advance(ps);
    struct tld_qtoken *t = &ps->tok;
    if (t->kind != TLD_QT_WORD && t->kind != TLD_QT_STRING) {
        unexpected(ps, "the text to look for");
        return NULL;
    }
    if (!t->len) {
        error_at(ps, t->off, "'~' needs some text");
        return NULL;
    }
    struct tld_qnode *n = term(ps, field, TLD_QOP_CONTAINS, t->text, t->len, t->off);
    advance(ps);
    return n;
}

/* _exists_:field */
static struct tld_qnode *exists(struct parser *ps)
{
    advance(ps);
    struct tld_qtoken *t = &ps->tok;
    if (t->kind != TLD_QT_WORD || !tld_query_valid_field(t->text, t->len)) {
        unexpected(ps, "a field name");
        return NULL;
    }
    char *field = dup_bytes(t->text, t->len);
    struct tld_qnode *n = field ? term(ps, field, TLD_QOP_EXISTS, "", 0, t->off) : NULL;
    free(field);
    advance(ps);
    return n;
}

/* A word that starts a term: a field followed by its test, or a bare word searched in text. */
static struct tld_qnode *field_term(struct parser *ps)
{
    struct tld_qtoken w = ps->tok;
    w.buf = NULL;
    char *name = dup_bytes(w.text, w.len);
    if (!name) {
        error_at(ps, w.off, "out of memory");
        return NULL;
    }
    advance(ps);
    struct tld_qnode *n = NULL;
    enum tld_qtok k = ps->tok.kind;
    bool is_test = k == TLD_QT_COLON || k == TLD_QT_TILDE || (k >= TLD_QT_LT && k <= TLD_QT_GE);
    if (!is_test) {
        n = term(ps, "full_log", TLD_QOP_CONTAINS, w.text, w.len, w.off);
    } else if (!tld_query_valid_field(w.text, w.len)) {
        error_at(ps, w.off, "'%s' is not a field name", name);
    } else if (k == TLD_QT_COLON && !strcmp(name, "_exists_")) {
        n = exists(ps);
    } else if (k == TLD_QT_COLON) {
        ps->value_next = true;
        advance(ps);
        n = value_not(ps, name);
    } else if (k == TLD_QT_TILDE) {
        n = contains(ps, name);
    } else {
        n = range(ps, name);
    }
    free(name);
    return n;
}

static struct tld_qnode *or_expr(struct parser *ps);

static struct tld_qnode *primary(struct parser *ps)
{
    struct tld_qtoken *t = &ps->tok;
    if (t->kind == TLD_QT_LPAREN) {
        advance(ps);
        struct tld_qnode *n = or_expr(ps);
        if (n && ps->tok.kind != TLD_QT_RPAREN) {
            unexpected(ps, "')'");
            node_free(n);
            return NULL;
        }
        if (n)
            advance(ps);
        return n;
    }
    if (t->kind == TLD_QT_STRING) {
        if (!t->len) {
            error_at(ps, t->off, "an empty string searches nothing");
            return NULL;
        }
        struct tld_qnode *n = term(ps, "full_log", TLD_QOP_CONTAINS, t->text, t->len, t->off);
        advance(ps);
        return n;
    }
    if (t->kind == TLD_QT_WORD)
        return field_term(ps);
    unexpected(ps, "a field test or '('");
    return NULL;
}

static struct tld_qnode *not_expr(struct parser *ps)
{
    if (++ps->depth > MAX_DEPTH) {
        error_at(ps, ps->tok.off, "query nested too deeply");
        return NULL;
    }
    struct tld_qnode *n;
    if (ps->tok.kind == TLD_QT_NOT) {
        size_t off = ps->tok.off;
        advance(ps);
        struct tld_qnode *a = not_expr(ps);
        n = a ? new_node(ps, TLD_Q_NOT, off) : NULL;
        if (n)
            n->a = a;
        else
            node_free(a);
    } else {
        n = primary(ps);
    }
    ps->depth--;
    return n;
}

static bool starts_operand(enum tld_qtok k)
{
    return k == TLD_QT_NOT || k == TLD_QT_LPAREN || k == TLD_QT_WORD || k == TLD_QT_STRING;
}

static struct tld_qnode *and_expr(struct parser *ps)
{
    struct tld_qnode *n = not_expr(ps);
    while (n && (ps->tok.kind == TLD_QT_AND || starts_operand(ps->tok.kind))) {
        size_t off = ps->tok.off;
        if (ps->tok.kind == TLD_QT_AND)
            advance(ps);
        n = binary(ps, TLD_Q_AND, n, not_expr(ps), off);
    }
    return balance(n, TLD_Q_AND);
}

static struct tld_qnode *or_expr(struct parser *ps)
{
    if (++ps->depth > MAX_DEPTH) {
        error_at(ps, ps->tok.off, "query nested too deeply");
        return NULL;
    }
    struct tld_qnode *n = and_expr(ps);
    while (n && ps->tok.kind == TLD_QT_OR) {
        size_t off = ps->tok.off;
        advance(ps);
        n = binary(ps, TLD_Q_OR, n, and_expr(ps), off);
    }
    ps->depth--;
    return balance(n, TLD_Q_OR);
}

int tld_query_parse(const char *text, size_t n, struct tld_query **out, struct tld_query_error *err)
{
    struct tld_query_error scratch;
    struct parser ps = {.lx = {.p = text, .n = n}, .err = err ? err : &scratch};
    ps.err->off = 0;
    ps.err->msg[0] = '\0';
    *out = NULL;
    if (n > MAX_TEXT) {
        ps.err->off = MAX_TEXT;
        snprintf(ps.err->msg, sizeof(ps.err->msg), "query too long (at most %u bytes)", MAX_TEXT);
        return TLD_EPARSE;
    }
    struct tld_query *q = calloc(1, sizeof(*q));
    if (!q)
        return TLD_ENOMEM;
    advance(&ps);
    if (!ps.rc && ps.tok.kind != TLD_QT_EOF) {
        q->root = or_expr(&ps);
        if (!ps.rc && ps.tok.kind != TLD_QT_EOF)
            unexpected(&ps, "'and', 'or' or the end of the query");
    }
    tld_qtoken_fini(&ps.tok);
    if (ps.rc) {
        tld_query_free(q);
        return ps.rc;
    }
    *out = q;
    return 0;
}
