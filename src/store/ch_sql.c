/*
 * Query tree -> ClickHouse WHERE clause. As for SQLite, the SQL text is fixed fragments and
 * column names only; every value (and every pattern or key derived from one) is a row of the
 * external table `_v`, read back with a scalar subquery. Array fields (data.*, rule arrays,
 * other fields) are parallel key/value arrays searched with arrayExists. Under a NOT, tests are
 * made two-valued with ifNull so a missing column value reads as "does not match".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "store/ch_impl.h"
#include "store/fields.h"
#include "store/sql_gen.h"

#define SQL_MAX (1u << 20)

void tld_chq_init(struct tld_chq *q)
{
    memset(q, 0, sizeof(*q));
    tld_sb_init(&q->sql, SQL_MAX);
    tld_sb_init(&q->values, 64u << 20);
}

void tld_chq_fini(struct tld_chq *q)
{
    tld_sb_fini(&q->sql);
    tld_sb_fini(&q->values);
}

void tld_chq_emit(struct tld_chq *q, const char *s)
{
    tld_sb_append_cstr(&q->sql, s);
}

#define emit tld_chq_emit

/* TabSeparated escaping of one value. */
static void tsv(struct tld_sb *out, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (p[i]) {
        case '\\':
            tld_sb_append(out, "\\\\", 2);
            break;
        case '\t':
            tld_sb_append(out, "\\t", 2);
            break;
        case '\n':
            tld_sb_append(out, "\\n", 2);
            break;
        case '\r':
            tld_sb_append(out, "\\r", 2);
            break;
        case '\0':
            tld_sb_append(out, "\\0", 2);
            break;
        case '\b':
            tld_sb_append(out, "\\b", 2);
            break;
        case '\f':
            tld_sb_append(out, "\\f", 2);
            break;
        default:
            tld_sb_append_char(out, p[i]);
        }
    }
}

static void value(struct tld_chq *q, const char *col, const char *p, size_t n, int64_t iv,
                  double dv)
{
    unsigned i = ++q->nvalues;
    tld_sb_printf(&q->values, "%u\t", i);
    tsv(&q->values, p, n);
    tld_sb_printf(&q->values, "\t%lld\t%.17g\n", (long long)iv, dv);
    tld_sb_printf(&q->sql, "(SELECT %s FROM _v WHERE i = %u)", col, i);
}

void tld_chq_text(struct tld_chq *q, const char *p, size_t n)
{
    value(q, "s", p, n, 0, 0);
}

void tld_chq_int(struct tld_chq *q, int64_t v)
{
    value(q, "n", "", 0, v, 0);
}

void tld_chq_real(struct tld_chq *q, double v)
{
    value(q, "d", "", 0, 0, v);
}

/* A wildcard value as a LIKE pattern: '*' becomes '%', LIKE's own characters are escaped. */
static void like_value(struct tld_chq *q, const char *v, size_t n)
{
    char *p = malloc(n * 2 + 1);
    if (!p) {
        q->rc = TLD_ENOMEM;
        return;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] == '*') {
            p[m++] = '%';
            continue;
        }
        if (v[i] == '%' || v[i] == '_' || v[i] == '\\')
            p[m++] = '\\';
        p[m++] = v[i];
    }
    tld_chq_text(q, p, m);
    free(p);
}

/* A regular expression that must match the whole value, as PCRE2's anchored matching does. */
static void regex_value(struct tld_chq *q, const char *v, size_t n)
{
    char *p = malloc(n + 8);
    if (!p) {
        q->rc = TLD_ENOMEM;
        return;
    }
    memcpy(p, "^(?:", 4);
    memcpy(p + 4, v, n);
    memcpy(p + 4 + n, ")$", 2);
    tld_chq_text(q, p, n + 6);
    free(p);
}

static const char *range_op(enum tld_qop op)
{
    return op == TLD_QOP_LT ? " < " : op == TLD_QOP_LE ? " <= " : op == TLD_QOP_GT ? " > " : " >= ";
}

/* A test of the string expression `x` (a column, toString(...), or a lambda's value). */
static void text_test(struct tld_chq *q, const struct tld_qnode *t, const char *x)
{
    switch (t->op) {
    case TLD_QOP_EQ:
        tld_sb_printf(&q->sql, "%s = ", x);
        tld_chq_text(q, t->value, t->value_n);
        break;
    case TLD_QOP_WILD:
        tld_sb_printf(&q->sql, "%s LIKE ", x);
        like_value(q, t->value, t->value_n);
        break;
    case TLD_QOP_EXISTS:
        tld_sb_printf(&q->sql, "isNotNull(%s)", x);
        break;
    case TLD_QOP_CONTAINS:
        tld_sb_printf(&q->sql, "positionCaseInsensitive(%s, ", x);
        tld_chq_text(q, t->value, t->value_n);
        emit(q, ") > 0");
        break;
    case TLD_QOP_REGEX:
        tld_sb_printf(&q->sql, "match(%s, ", x);
        regex_value(q, t->value, t->value_n);
        emit(q, ")");
        break;
    default:
        tld_sb_printf(&q->sql, "toFloat64OrNull(%s)%s", x, range_op(t->op));
        tld_chq_real(q, t->num);
    }
}

static void column_term(struct tld_chq *q, const struct tld_qnode *t, const struct tld_field *f)
{
    const char *col = tld_field_cols[f->col].column;
    char x[64];
    int64_t iv;
    if (f->kind == TLD_FIELD_INT && t->op == TLD_QOP_EQ) {
        if (tld_sqlgen_canonical_int(t->value, t->value_n, &iv)) {
            tld_sb_printf(&q->sql, "%s = ", col);
            tld_chq_int(q, iv);
        } else {
            emit(q, "0");
        }
        return;
    }
    if (f->kind == TLD_FIELD_INT && t->op >= TLD_QOP_LT && t->op <= TLD_QOP_GE) {
        tld_sb_printf(&q->sql, "%s%s", col, range_op(t->op));
        tld_chq_real(q, t->num);
        return;
    }
    if (f->kind == TLD_FIELD_INT && t->op != TLD_QOP_EXISTS)
        snprintf(x, sizeof(x), "toString(%s)", col);
    else
        snprintf(x, sizeof(x), "%s", col);
    text_test(q, t, x);
}

static void array_term(struct tld_chq *q, const struct tld_qnode *t, const char *keys,
                       const char *vals)
{
    if (t->op == TLD_QOP_EXISTS) {
        tld_sb_printf(&q->sql, "has(%s, ", keys);
        tld_chq_text(q, t->field, strlen(t->field));
        emit(q, ")");
        return;
    }
    /* A lambda must give UInt8: range tests on non-numbers are NULL, hence the ifNull. Its
     * parameters are named so no alias of the enclosing SELECT (v, c, b) can capture them. */
    emit(q, "arrayExists((lk, lv) -> lk = ");
    tld_chq_text(q, t->field, strlen(t->field));
    emit(q, " AND ifNull(");
    text_test(q, t, "lv");
    tld_sb_printf(&q->sql, ", 0), %s, %s)", keys, vals);
}

static void term_sql(struct tld_chq *q, const struct tld_qnode *t)
{
    struct tld_field f;
    tld_store_field_lookup(t->field, &f);
    switch (f.kind) {
    case TLD_FIELD_TEXT:
    case TLD_FIELD_INT:
        column_term(q, t, &f);
        break;
    case TLD_FIELD_KV:
        array_term(q, t, "data_keys", "data_values");
        break;
    case TLD_FIELD_SET:
        array_term(q, t, "set_keys", "set_values");
        break;
    case TLD_FIELD_RAW:
        array_term(q, t, "other_keys", "other_values");
        break;
    }
}

/* Whether `n` is an OR of exact values of the text column `col` (a value list). */
static bool value_list(const struct tld_qnode *n, const char *field)
{
    if (n->kind == TLD_Q_OR)
        return value_list(n->a, field) && value_list(n->b, field);
    return n->kind == TLD_Q_TERM && n->op == TLD_QOP_EQ && !strcmp(n->field, field);
}

void tld_chq_text_row(struct tld_chq *q, const char *p, size_t n)
{
    unsigned i = ++q->nvalues;
    tld_sb_printf(&q->values, "%u\t", i);
    tsv(&q->values, p, n);
    tld_sb_append_cstr(&q->values, "\t0\t0\n");
}

static void list_values(struct tld_chq *q, const struct tld_qnode *n)
{
    if (n->kind == TLD_Q_OR) {
        list_values(q, n->a);
        list_values(q, n->b);
        return;
    }
    tld_chq_text_row(q, n->value, n->value_n);
}

/*
 * `rule.id:(a or b or ...)` as one IN over a range of `_v` rows: the request's URL (where
 * ClickHouse 18.16 wants the SQL when values come as external data) stays short for long lists.
 */
static bool in_list(void *qv, const struct tld_qnode *n, bool negated)
{
    struct tld_chq *q = qv;
    if (negated || n->kind != TLD_Q_OR)
        return false;
    const struct tld_qnode *first = n;
    while (first->kind == TLD_Q_OR)
        first = first->a;
    if (n->kind != TLD_Q_OR || first->kind != TLD_Q_TERM)
        return false;
    struct tld_field f;
    tld_store_field_lookup(first->field, &f);
    if (f.kind != TLD_FIELD_TEXT || !value_list(n, first->field))
        return false;
    unsigned from = q->nvalues + 1;
    list_values(q, n);
    tld_sb_printf(&q->sql, "(%s %sIN (SELECT s FROM _v WHERE i >= %u AND i <= %u))",
                  tld_field_cols[f.col].column, q->global_in ? "GLOBAL " : "", from, q->nvalues);
    return true;
}

static void gen_emit(void *q, const char *s)
{
    tld_chq_emit(q, s);
}

static void gen_term(void *q, const struct tld_qnode *t)
{
    term_sql(q, t);
}

void tld_chq_where(struct tld_chq *q, const struct tld_store_filter *f)
{
    const struct tld_sqlgen gen = {q, gen_emit, gen_term, in_list, "ifNull(("};
    emit(q, "ts_ms >= ");
    tld_chq_int(q, f->from_ms);
    emit(q, " AND ts_ms < ");
    tld_chq_int(q, f->to_ms);
    if (f->query && f->query->root) {
        emit(q, " AND ");
        tld_sqlgen_node(&gen, f->query->root, false);
    }
}

int tld_ch_explain(const struct tld_store_filter *f, char **sql, size_t *nparams)
{
    struct tld_chq q;
    tld_chq_init(&q);
    tld_chq_where(&q, f);
    int rc = q.rc ? q.rc : q.sql.oom ? TLD_ENOMEM : q.sql.truncated ? TLD_ELIMIT : 0;
    if (!rc) {
        *nparams = q.nvalues;
        *sql = tld_sb_steal(&q.sql, NULL);
        rc = *sql ? 0 : TLD_ENOMEM;
    }
    tld_chq_fini(&q);
    return rc;
}
