/*
 * Query tree -> SQLite WHERE clause. The SQL text is made only of fixed fragments and column
 * names from the field catalogue; every value from the query (and every pattern, JSON path or
 * full-text expression derived from one) is bound as a parameter. Under a NOT, tests are made
 * two-valued with coalesce so that a missing field reads as "does not match" rather than NULL.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/grow.h"
#include "store/fields.h"
#include "store/sql_gen.h"
#include "store/sqlite_impl.h"

#define SQL_MAX (1u << 20)

void tld_sql_init(struct tld_sql *q)
{
    memset(q, 0, sizeof(*q));
    tld_sb_init(&q->sql, SQL_MAX);
}

void tld_sql_fini(struct tld_sql *q)
{
    tld_sb_fini(&q->sql);
    free(q->params);
    for (size_t i = 0; i < q->nowned; i++)
        free(q->owned[i]);
    free(q->owned);
}

static struct tld_sqlp *new_param(struct tld_sql *q)
{
    if (q->nparams == q->cap &&
        tld_grow(&q->params, &q->cap, q->nparams + 1, sizeof(*q->params), 16)) {
        q->rc = TLD_ENOMEM;
        return NULL;
    }
    struct tld_sqlp *p = &q->params[q->nparams++];
    memset(p, 0, sizeof(*p));
    return p;
}

void tld_sql_param_text(struct tld_sql *q, const char *p, size_t n)
{
    struct tld_sqlp *v = new_param(q);
    if (v) {
        v->type = TLD_SQLP_TEXT;
        v->p = p;
        v->n = n;
    }
}

void tld_sql_param_int(struct tld_sql *q, int64_t i)
{
    struct tld_sqlp *v = new_param(q);
    if (v) {
        v->type = TLD_SQLP_INT;
        v->i = i;
    }
}

void tld_sql_param_real(struct tld_sql *q, double d)
{
    struct tld_sqlp *v = new_param(q);
    if (v) {
        v->type = TLD_SQLP_REAL;
        v->d = d;
    }
}

void tld_sql_param_owned(struct tld_sql *q, char *p, size_t n)
{
    if (!p) {
        q->rc = TLD_ENOMEM;
        return;
    }
    if (q->nowned == q->owned_cap &&
        tld_grow(&q->owned, &q->owned_cap, q->nowned + 1, sizeof(*q->owned), 8)) {
        free(p);
        q->rc = TLD_ENOMEM;
        return;
    }
    q->owned[q->nowned++] = p;
    tld_sql_param_text(q, p, n);
}

void tld_sql_emit(struct tld_sql *q, const char *s)
{
    tld_sb_append_cstr(&q->sql, s);
}

#define emit tld_sql_emit

/* A wildcard value as a GLOB pattern: '*' stays, the other GLOB metacharacters become literal. */
static void glob_param(struct tld_sql *q, const char *v, size_t n)
{
    char *g = malloc(n * 3 + 1);
    size_t m = 0;
    for (size_t i = 0; g && i < n; i++) {
        if (v[i] == '?' || v[i] == '[') {
            g[m++] = '[';
            g[m++] = v[i];
            g[m++] = ']';
        } else {
            g[m++] = v[i];
        }
    }
    if (g)
        g[m] = '\0';
    tld_sql_param_owned(q, g, m);
}

/* The JSON path of a dotted field: $."a"."b" (field names never hold quotes). */
static void path_param(struct tld_sql *q, const char *field)
{
    size_t n = strlen(field);
    char *p = malloc(n * 3 + 4);
    size_t m = 0;
    if (p) {
        p[m++] = '$';
        for (const char *s = field; *s;) {
            size_t k = strcspn(s, ".");
            p[m++] = '.';
            p[m++] = '"';
            memcpy(p + m, s, k);
            m += k;
            p[m++] = '"';
            s += k + (s[k] == '.');
        }
        p[m] = '\0';
    }
    tld_sql_param_owned(q, p, m);
}

/* Length of the valid UTF-8 character at `p`, 0 if it is not one. */
static size_t utf8_char(const unsigned char *p, size_t n)
{
    size_t len = p[0] < 0x80             ? 1
                 : (p[0] & 0xE0) == 0xC0 ? 2
                 : (p[0] & 0xF0) == 0xE0 ? 3
                 : (p[0] & 0xF8) == 0xF0 ? 4
                                         : 0;
    if (!len || len > n || (len == 2 && p[0] < 0xC2))
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

#define MAX_PIECES 16

/*
 * Cuts `v` into whole three-character pieces (at most MAX_PIECES) for the trigram index;
 * returns how many, 0 if `v` is not valid UTF-8 without NUL or is shorter than three characters.
 */
static size_t pieces(const char *v, size_t n, size_t start[MAX_PIECES], size_t end[MAX_PIECES])
{
    size_t np = 0, chars = 0;
    for (size_t i = 0; i < n; chars++) {
        size_t len = utf8_char((const unsigned char *)v + i, n - i);
        if (!len || !v[i])
            return 0;
        if (chars % 3 == 0 && np < MAX_PIECES)
            start[np] = i;
        i += len;
        if (chars % 3 == 2 && np < MAX_PIECES)
            end[np++] = i;
    }
    return np;
}

/*
 * A full-text expression that every text containing `v` satisfies: the needle's pieces, each
 * one token of the trigram index, joined by AND. It only narrows the candidates; the exact
 * case-insensitive test runs on them afterwards.
 */
static void fts_param(struct tld_sql *q, const char *v, size_t n, const size_t start[],
                      const size_t end[], size_t np)
{
    char *e = malloc(n * 2 + np * 8 + 1);
    size_t m = 0;
    for (size_t k = 0; e && k < np; k++) {
        if (k) {
            memcpy(e + m, " AND ", 5);
            m += 5;
        }
        e[m++] = '"';
        for (size_t i = start[k]; i < end[k]; i++) {
            if (v[i] == '"')
                e[m++] = '"';
            e[m++] = v[i];
        }
        e[m++] = '"';
    }
    if (e)
        e[m] = '\0';
    tld_sql_param_owned(q, e, m);
}

/* Binds a term's value for a test of the text expression already emitted (`x`). */
static void text_test(struct tld_sql *q, const struct tld_qnode *t, const char *x)
{
    switch (t->op) {
    case TLD_QOP_EQ:
        tld_sb_printf(&q->sql, "%s = ?", x);
        tld_sql_param_text(q, t->value, t->value_n);
        break;
    case TLD_QOP_WILD:
        tld_sb_printf(&q->sql, "%s GLOB ?", x);
        glob_param(q, t->value, t->value_n);
        break;
    case TLD_QOP_EXISTS:
        tld_sb_printf(&q->sql, "%s IS NOT NULL", x);
        break;
    case TLD_QOP_CONTAINS:
        tld_sb_printf(&q->sql, "instr(lower(%s), lower(?)) > 0", x);
        tld_sql_param_text(q, t->value, t->value_n);
        break;
    case TLD_QOP_REGEX:
        tld_sb_printf(&q->sql, "tld_regexp(?, %s)", x);
        tld_sql_param_text(q, t->value, t->value_n);
        break;
    default: {
        static const char *const ops[] = {
            [TLD_QOP_LT] = "<", [TLD_QOP_LE] = "<=", [TLD_QOP_GT] = ">", [TLD_QOP_GE] = ">="};
        tld_sb_printf(&q->sql, "tld_num(%s) %s ?", x, ops[t->op]);
        tld_sql_param_real(q, t->num);
    }
    }
}

static void column_term(struct tld_sql *q, const struct tld_qnode *t, const struct tld_field *f)
{
    char x[64];
    const char *col = tld_field_cols[f->col].column;
    int64_t iv;
    if (f->kind == TLD_FIELD_INT && t->op == TLD_QOP_EQ) {
        /* Only an integer written as the column holds it can equal it; bind it as a number so
         * the index serves it. */
        if (tld_sqlgen_canonical_int(t->value, t->value_n, &iv)) {
            tld_sb_printf(&q->sql, "a.%s = ?", col);
            tld_sql_param_int(q, iv);
        } else {
            emit(q, "0");
        }
        return;
    }
    bool range = t->op >= TLD_QOP_LT && t->op <= TLD_QOP_GE;
    if (f->kind == TLD_FIELD_INT && range) {
        tld_sb_printf(&q->sql, "a.%s %s ?", col,
                      t->op == TLD_QOP_LT   ? "<"
                      : t->op == TLD_QOP_LE ? "<="
                      : t->op == TLD_QOP_GT ? ">"
                                            : ">=");
        tld_sql_param_real(q, t->num);
        return;
    }
    if (f->kind == TLD_FIELD_INT && t->op != TLD_QOP_EXISTS)
        snprintf(x, sizeof(x), "CAST(a.%s AS TEXT)", col);
    else
        snprintf(x, sizeof(x), "a.%s", col);
    size_t start[MAX_PIECES], end[MAX_PIECES], np;
    if (f->col == TLD_COL_FULL_LOG && t->op == TLD_QOP_CONTAINS &&
        (np = pieces(t->value, t->value_n, start, end))) {
        emit(q, "a.id IN (SELECT rowid FROM alerts_fts WHERE alerts_fts MATCH ?");
        fts_param(q, t->value, t->value_n, start, end, np);
        if (q->id_spans) {
            emit(q, " AND ");
            tld_sqlite_id_span(q, q->from_ms, q->to_ms);
        }
        emit(q, ") AND ");
    }
    text_test(q, t, x);
}

static void kv_term(struct tld_sql *q, const struct tld_qnode *t)
{
    emit(q, "a.id IN (SELECT p.id FROM alert_kv k, tld_ids(k.first_id, k.ids) p"
            " WHERE k.key_id = (SELECT id FROM kv_keys WHERE key = ?)");
    tld_sql_param_text(q, t->field, strlen(t->field));
    if (t->op != TLD_QOP_EXISTS) {
        emit(q, " AND ");
        text_test(q, t, "k.value");
    }
    emit(q, ")");
}

static void set_term(struct tld_sql *q, const struct tld_qnode *t)
{
    emit(q, "a.rule_set IN (SELECT r.set_id FROM rule_set_kv r WHERE r.key = ?");
    tld_sql_param_text(q, t->field, strlen(t->field));
    if (t->op != TLD_QOP_EXISTS) {
        emit(q, " AND ");
        text_test(q, t, "r.value");
    }
    emit(q, ")");
}

void tld_sql_raw_source(struct tld_sql *q, const char *field)
{
    emit(q, "json_each(CASE WHEN json_valid(a.raw) THEN a.raw ELSE '{}' END, ?) j");
    path_param(q, field);
}

static void raw_term(struct tld_sql *q, const struct tld_qnode *t)
{
    emit(q, "EXISTS (SELECT 1 FROM ");
    tld_sql_raw_source(q, t->field);
    emit(q, " WHERE " TLD_SQL_RAW_OK);
    if (t->op != TLD_QOP_EXISTS) {
        emit(q, " AND ");
        text_test(q, t, TLD_SQL_RAW_TEXT);
    }
    emit(q, ")");
}

static void term_sql(struct tld_sql *q, const struct tld_qnode *t)
{
    struct tld_field f;
    tld_store_field_lookup(t->field, &f);
    switch (f.kind) {
    case TLD_FIELD_TEXT:
    case TLD_FIELD_INT:
        column_term(q, t, &f);
        break;
    case TLD_FIELD_KV:
        kv_term(q, t);
        break;
    case TLD_FIELD_SET:
        set_term(q, t);
        break;
    case TLD_FIELD_RAW:
        raw_term(q, t);
        break;
    }
}

static void gen_emit(void *q, const char *s)
{
    tld_sql_emit(q, s);
}

static void gen_term(void *q, const struct tld_qnode *t)
{
    term_sql(q, t);
}

void tld_sql_where(struct tld_sql *q, const struct tld_store_filter *f)
{
    const struct tld_sqlgen gen = {q, gen_emit, gen_term, NULL, "coalesce(("};
    q->from_ms = f->from_ms;
    q->to_ms = f->to_ms;
    emit(q, "a.ts >= ? AND a.ts < ?");
    tld_sql_param_int(q, f->from_ms);
    tld_sql_param_int(q, f->to_ms);
    if (f->query && f->query->root) {
        emit(q, " AND ");
        tld_sqlgen_node(&gen, f->query->root, false);
    }
}

int tld_sql_prepare(struct tld_sqlite *s, struct tld_sql *q, sqlite3_stmt **st)
{
    *st = NULL;
    if (!q->rc && q->sql.oom)
        q->rc = TLD_ENOMEM;
    if (!q->rc && q->sql.truncated)
        q->rc = TLD_ELIMIT;
    if (q->rc)
        return q->rc;
    int src = sqlite3_prepare_v2(s->db, tld_sb_cstr(&q->sql), (int)q->sql.n, st, NULL);
    int rc = src == SQLITE_OK ? 0 : tld_sqlite_fail(s, src, "prepare");
    for (size_t i = 0; !rc && i < q->nparams; i++) {
        const struct tld_sqlp *p = &q->params[i];
        int b;
        if (p->type == TLD_SQLP_TEXT)
            b = sqlite3_bind_text(*st, (int)i + 1, p->p, (int)p->n, SQLITE_STATIC);
        else if (p->type == TLD_SQLP_INT)
            b = sqlite3_bind_int64(*st, (int)i + 1, p->i);
        else
            b = sqlite3_bind_double(*st, (int)i + 1, p->d);
        if (b != SQLITE_OK)
            rc = tld_sqlite_fail(s, b, "bind");
    }
    if (rc && *st) {
        sqlite3_finalize(*st);
        *st = NULL;
    }
    return rc;
}

int tld_sqlite_explain(const struct tld_store_filter *f, char **sql, size_t *nparams)
{
    struct tld_sql q;
    tld_sql_init(&q);
    tld_sql_where(&q, f);
    int rc = q.rc ? q.rc : q.sql.oom ? TLD_ENOMEM : q.sql.truncated ? TLD_ELIMIT : 0;
    if (!rc) {
        *nparams = q.nparams;
        *sql = tld_sb_steal(&q.sql, NULL);
        rc = *sql ? 0 : TLD_ENOMEM;
    }
    tld_sql_fini(&q);
    return rc;
}
