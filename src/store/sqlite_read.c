/*
 * SQLite reads: searches with keyset paging on (ts, id), counts, histograms, top values and the
 * live tail. Each builds its statement from the compiled filter (sqlite_sql.c), runs it once
 * and hands rows to the caller's callback; the raw alert handed out is the stored line's bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "store/fields.h"
#include "store/sqlite_impl.h"

#define emit tld_sql_emit

/* Steps `st` to the end, calling `row` on each row; stops at the first error. */
static int each_row(struct tld_sqlite *s, sqlite3_stmt *st, int (*row)(sqlite3_stmt *, void *),
                    void *arg)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int err = row(st, arg);
        if (err)
            return err;
    }
    return rc == SQLITE_DONE ? 0 : tld_sqlite_fail(s, rc, "query");
}

/* Prepares and runs the built statement, then frees both. */
static int run(struct tld_sqlite *s, struct tld_sql *q, int (*row)(sqlite3_stmt *, void *),
               void *arg)
{
    sqlite3_stmt *st;
    int rc = tld_sql_prepare(s, q, &st);
    if (!rc)
        rc = each_row(s, st, row, arg);
    sqlite3_finalize(st);
    tld_sql_fini(q);
    return rc;
}

/* A statement over the alerts of handle `s` (whose schema says what the SQL may use). */
static void sql_init(const struct tld_sqlite *s, struct tld_sql *q)
{
    tld_sql_init(q);
    q->id_spans = s->has_top;
}

struct hits {
    tld_store_hit_fn fn;
    void *ctx;
    size_t limit, n;
    struct tld_store_hit last;
    bool more;
};

static int hit_row(sqlite3_stmt *st, void *arg)
{
    struct hits *h = arg;
    if (h->n == h->limit) {
        h->more = true; /* the one extra row asked for */
        return 0;
    }
    struct tld_store_hit hit = {
        .id = sqlite3_column_int64(st, 0),
        .ts_ms = sqlite3_column_int64(st, 1),
        .raw = (const char *)sqlite3_column_text(st, 2),
        .raw_n = (size_t)sqlite3_column_bytes(st, 2),
    };
    h->n++;
    h->last = hit;
    return h->fn(h->ctx, &hit);
}

static int int_row(sqlite3_stmt *st, void *arg)
{
    int64_t *v = arg;
    v[0] = sqlite3_column_int64(st, 0);
    v[1] = sqlite3_column_int64(st, 1);
    v[2] = sqlite3_column_type(st, 0) != SQLITE_NULL;
    return 0;
}

/* The statement of a search page over `f` (its range may be narrower than the request's). */
static void search_sql(const struct tld_sqlite *s, struct tld_sql *sql,
                       const struct tld_store_search *q, const struct tld_store_filter *f,
                       bool count_only)
{
    const char *dir = q->ascending ? "ASC" : "DESC";
    sql_init(s, sql);
    emit(sql, count_only ? "SELECT count(*), 0 FROM (SELECT 1 FROM alerts a WHERE "
                         : "SELECT a.id, a.ts, a.raw FROM alerts a WHERE ");
    tld_sql_where(sql, f);
    if (q->after) {
        emit(sql, q->ascending ? " AND (a.ts, a.id) > (?, ?)" : " AND (a.ts, a.id) < (?, ?)");
        tld_sql_param_int(sql, q->after->ts_ms);
        tld_sql_param_int(sql, q->after->id);
    }
    if (!count_only)
        tld_sb_printf(&sql->sql, " ORDER BY a.ts %s, a.id %s", dir, dir);
    emit(sql, count_only ? " LIMIT ?)" : " LIMIT ?");
    tld_sql_param_int(sql, (int64_t)(q->limit > INT32_MAX ? INT32_MAX : q->limit + 1));
}

static bool has_contains(const struct tld_qnode *n)
{
    if (!n)
        return false;
    if (n->kind != TLD_Q_TERM)
        return has_contains(n->a) || has_contains(n->b);
    return n->op == TLD_QOP_CONTAINS && !strcmp(n->field, "full_log");
}

#define WINDOW_FIRST     3600000
#define WINDOW_GROWTH    16
#define WINDOW_MAX_LIMIT 1000

/*
 * A page of a contains search reads, through the trigram index, every candidate of its range
 * before sorting them; the newest page usually lies in the last hours. So the range is tried
 * from its sorted end in windows growing sixteenfold, each probed for a full page (limit + 1
 * rows, so `more` is right too); the first window that holds one gives exactly the page of the
 * whole range, since every alert outside it sorts after every alert inside. Narrows `f`'s range
 * to that window; leaves it whole when no window short of the range holds a page.
 */
static int search_window(struct tld_sqlite *s, const struct tld_store_search *q,
                         struct tld_store_filter *f)
{
    if (!s->has_top || q->limit > WINDOW_MAX_LIMIT || f->from_ms >= f->to_ms || !f->query ||
        !has_contains(f->query->root))
        return 0;
    /* Where the sorted order starts: the cursor, else the range's end, else the newest alert. */
    struct tld_sql sql;
    sql_init(s, &sql);
    /* Two subqueries: each is one index probe, where min and max together scan the index. */
    emit(&sql, "SELECT (SELECT min(ts) FROM alerts), (SELECT max(ts) FROM alerts)");
    int64_t v[3] = {0};
    int rc = run(s, &sql, int_row, v);
    if (rc || !v[2])
        return rc;
    int64_t lo = f->from_ms > v[0] ? f->from_ms : v[0];
    int64_t hi = f->to_ms - 1 < v[1] ? f->to_ms - 1 : v[1]; /* the last time in range */
    if (q->after && q->ascending && q->after->ts_ms > lo)
        lo = q->after->ts_ms;
    if (q->after && !q->ascending && q->after->ts_ms < hi)
        hi = q->after->ts_ms;
    for (int64_t size = WINDOW_FIRST; hi > lo && size < hi - lo; size *= WINDOW_GROWTH) {
        struct tld_store_filter w = *f;
        if (q->ascending)
            w.to_ms = lo + size;
        else
            w.from_ms = hi - size + 1;
        search_sql(s, &sql, q, &w, true);
        v[0] = 0;
        rc = run(s, &sql, int_row, v);
        if (rc)
            return rc;
        if ((uint64_t)v[0] > q->limit) {
            *f = w;
            return 0;
        }
        if (size > INT64_MAX / WINDOW_GROWTH)
            break;
    }
    return 0;
}

int tld_sqlite_search(struct tld_store *base, const struct tld_store_search *q, tld_store_hit_fn fn,
                      void *ctx, struct tld_store_cursor *next, bool *more)
{
    struct tld_sqlite *s = (struct tld_sqlite *)base;
    struct tld_store_filter f = q->filter;
    struct hits h = {.fn = fn, .ctx = ctx, .limit = q->limit};
    int rc = search_window(s, q, &f);
    if (!rc) {
        struct tld_sql sql;
        search_sql(s, &sql, q, &f, false);
        rc = run(s, &sql, hit_row, &h);
    }
    if (next) {
        next->ts_ms = h.n ? h.last.ts_ms : (q->after ? q->after->ts_ms : 0);
        next->id = h.n ? h.last.id : (q->after ? q->after->id : 0);
    }
    *more = h.more;
    return rc;
}

/*
 * The rollups count exactly at the cost of their rows, whatever the number of alerts; other
 * filters read alert rows, at most `cap` of them.
 */
int tld_sqlite_count(struct tld_store *base, const struct tld_store_filter *f, uint64_t cap,
                     uint64_t *count)
{
    struct tld_sql sql;
    sql_init((const struct tld_sqlite *)base, &sql);
    bool minutes = tld_sqlite_rollup_min_ok((struct tld_sqlite *)base, f);
    bool capped = false;
    if (minutes || tld_sqlite_rollup_ok(f)) {
        emit(&sql, "SELECT coalesce(sum(a.n), 0), 0 FROM ");
        tld_sqlite_rollup_source((struct tld_sqlite *)base, &sql, f, minutes);
        emit(&sql, " WHERE ");
    } else if (cap < INT64_MAX) {
        emit(&sql, "SELECT count(*), 0 FROM (SELECT 1 FROM alerts a WHERE ");
        capped = true;
    } else {
        emit(&sql, "SELECT count(*), 0 FROM alerts a WHERE ");
    }
    tld_sql_where(&sql, f);
    if (capped) {
        emit(&sql, " LIMIT ?)");
        tld_sql_param_int(&sql, (int64_t)cap);
    }
    int64_t v[3] = {0};
    int rc = run((struct tld_sqlite *)base, &sql, int_row, v);
    *count = (uint64_t)v[0] < cap ? (uint64_t)v[0] : cap;
    return rc;
}

int tld_sqlite_span(struct tld_store *base, const struct tld_store_filter *f, int64_t *min_ms,
                    int64_t *max_ms, bool *any)
{
    struct tld_sql sql;
    sql_init((const struct tld_sqlite *)base, &sql);
    emit(&sql, "SELECT min(a.ts), max(a.ts) FROM alerts a WHERE ");
    tld_sql_where(&sql, f);
    int64_t v[3] = {0};
    int rc = run((struct tld_sqlite *)base, &sql, int_row, v);
    *min_ms = v[0];
    *max_ms = v[1];
    *any = v[2];
    return rc;
}

struct buckets {
    tld_store_bucket_fn fn;
    void *ctx;
};

static int bucket_row(sqlite3_stmt *st, void *arg)
{
    struct buckets *b = arg;
    return b->fn(b->ctx, sqlite3_column_int64(st, 0), (uint64_t)sqlite3_column_int64(st, 1));
}

int tld_sqlite_histogram(struct tld_store *base, const struct tld_store_filter *f,
                         int64_t interval_ms, tld_store_bucket_fn fn, void *ctx)
{
    struct tld_sql sql;
    sql_init((const struct tld_sqlite *)base, &sql);
    /* Floor division, so times before 1970 fall in the right bucket too. */
    /* Rollup rows fall in one bucket only when buckets are whole minutes (hours). */
    bool minutes =
        interval_ms % 60000 == 0 && tld_sqlite_rollup_min_ok((struct tld_sqlite *)base, f);
    bool rollup = minutes || (interval_ms % 3600000 == 0 && tld_sqlite_rollup_ok(f));
    emit(&sql, rollup ? "SELECT a.ts - ((a.ts % ?) + ?) % ? AS b, sum(a.n) AS c FROM "
                      : "SELECT a.ts - ((a.ts % ?) + ?) % ? AS b, count(*) AS c FROM ");
    for (int i = 0; i < 3; i++)
        tld_sql_param_int(&sql, interval_ms);
    if (rollup)
        tld_sqlite_rollup_source((struct tld_sqlite *)base, &sql, f, minutes);
    else
        emit(&sql, "alerts a");
    emit(&sql, " WHERE ");
    tld_sql_where(&sql, f);
    emit(&sql, rollup ? " GROUP BY b HAVING c > 0 ORDER BY b" : " GROUP BY b ORDER BY b");
    struct buckets b = {fn, ctx};
    return run((struct tld_sqlite *)base, &sql, bucket_row, &b);
}

struct terms {
    tld_store_term_fn fn;
    void *ctx;
};

static int term_row(sqlite3_stmt *st, void *arg)
{
    struct terms *t = arg;
    const char *v = (const char *)sqlite3_column_text(st, 0);
    if (!v)
        return 0;
    return t->fn(t->ctx, v, (size_t)sqlite3_column_bytes(st, 0),
                 (uint64_t)sqlite3_column_int64(st, 1));
}

/* Top values of a column: from the rollup when it can answer, else from the alerts. */
static void terms_column(const struct tld_sqlite *s, struct tld_sql *sql,
                         const struct tld_store_filter *f, int col)
{
    const char *name = tld_field_cols[col].column;
    if (col == TLD_COL_AGENT_NAME && tld_sqlite_top_ok(s, f)) {
        emit(sql, "SELECT t.v AS v, sum(t.c) AS c FROM ");
        tld_sqlite_top_source(sql, f, false);
        emit(sql, " GROUP BY v HAVING c > 0");
        return;
    }
    bool rollup = tld_sqlite_rollup_ok(f) && (col == TLD_COL_RULE_ID || col == TLD_COL_RULE_LEVEL ||
                                              col == TLD_COL_AGENT_NAME);
    tld_sb_printf(&sql->sql,
                  rollup ? "SELECT CAST(a.%s AS TEXT) AS v, sum(a.n) AS c FROM "
                         : "SELECT CAST(a.%s AS TEXT) AS v, count(*) AS c FROM ",
                  name);
    if (rollup)
        tld_sqlite_rollup_source(s, sql, f, false);
    else
        emit(sql, "alerts a");
    tld_sb_printf(&sql->sql, " WHERE a.%s IS NOT NULL AND ", name);
    tld_sql_where(sql, f);
    emit(sql, rollup ? " GROUP BY v HAVING c > 0" : " GROUP BY v");
}

/*
 * A bounded time range first finds the smallest and largest id of its alerts, so that rows of
 * batches wholly outside it are passed over without expanding their ids.
 */
static void terms_kv(struct tld_sql *sql, const struct tld_store_filter *f, const char *field)
{
    if (f->from_ms > 0 || f->to_ms != INT64_MAX) {
        emit(sql, "SELECT k.value AS v, count(*) AS c FROM (SELECT min(id) AS lo, max(id) AS hi"
                  " FROM alerts WHERE ts >= ? AND ts < ?) r"
                  " JOIN alert_kv k ON k.last_id >= r.lo AND k.first_id <= r.hi,");
        tld_sql_param_int(sql, f->from_ms);
        tld_sql_param_int(sql, f->to_ms);
    } else {
        emit(sql, "SELECT k.value AS v, count(*) AS c FROM alert_kv k,");
    }
    emit(sql, " tld_ids(k.first_id, k.ids) p JOIN alerts a ON a.id = p.id"
              " WHERE k.key_id = (SELECT id FROM kv_keys WHERE key = ?) AND ");
    tld_sql_param_text(sql, field, strlen(field));
    tld_sql_where(sql, f);
    emit(sql, " GROUP BY v");
}

/* Counts alerts per rule set first: a handful of sets stand for millions of alerts. */
static void terms_set(const struct tld_sqlite *s, struct tld_sql *sql,
                      const struct tld_store_filter *f, const char *field)
{
    if (tld_sqlite_top_ok(s, f)) {
        emit(sql, "SELECT r.value AS v, sum(x.c) AS c FROM (SELECT t.v AS rs, sum(t.c) AS c FROM ");
        tld_sqlite_top_source(sql, f, true);
        emit(sql, " GROUP BY rs) x JOIN rule_set_kv r ON r.set_id = x.rs WHERE r.key = ?");
        tld_sql_param_text(sql, field, strlen(field));
        emit(sql, " GROUP BY v HAVING c > 0");
        return;
    }
    bool rollup = tld_sqlite_rollup_ok(f);
    emit(sql, rollup ? "SELECT r.value AS v, sum(x.c) AS c FROM (SELECT a.rule_set AS rs,"
                       " sum(a.n) AS c FROM "
                     : "SELECT r.value AS v, sum(x.c) AS c FROM (SELECT a.rule_set AS rs,"
                       " count(*) AS c FROM ");
    if (rollup)
        tld_sqlite_rollup_source(s, sql, f, false);
    else
        emit(sql, "alerts a");
    emit(sql, " WHERE a.rule_set IS NOT NULL AND ");
    tld_sql_where(sql, f);
    emit(sql, " GROUP BY a.rule_set) x JOIN rule_set_kv r ON r.set_id = x.rs WHERE r.key = ?");
    tld_sql_param_text(sql, field, strlen(field));
    emit(sql, " GROUP BY v HAVING c > 0");
}

static void terms_raw(struct tld_sql *sql, const struct tld_store_filter *f, const char *field)
{
    emit(sql, "SELECT v, count(*) AS c FROM (SELECT DISTINCT a.id, " TLD_SQL_RAW_TEXT
              " AS v FROM alerts a, ");
    tld_sql_raw_source(sql, field);
    emit(sql, " WHERE " TLD_SQL_RAW_OK " AND ");
    tld_sql_where(sql, f);
    emit(sql, ") GROUP BY v");
}

int tld_sqlite_terms(struct tld_store *base, const struct tld_store_filter *f, const char *field,
                     size_t size, tld_store_term_fn fn, void *ctx)
{
    if (!tld_query_valid_field(field, strlen(field)))
        return TLD_EINVAL;
    const struct tld_sqlite *s = (const struct tld_sqlite *)base;
    struct tld_field fd;
    tld_store_field_lookup(field, &fd);
    struct tld_sql sql;
    sql_init((const struct tld_sqlite *)base, &sql);
    switch (fd.kind) {
    case TLD_FIELD_TEXT:
    case TLD_FIELD_INT:
        terms_column(s, &sql, f, fd.col);
        break;
    case TLD_FIELD_KV:
        terms_kv(&sql, f, field);
        break;
    case TLD_FIELD_SET:
        terms_set(s, &sql, f, field);
        break;
    case TLD_FIELD_RAW:
        terms_raw(&sql, f, field);
        break;
    }
    emit(&sql, " ORDER BY c DESC, v LIMIT ?");
    tld_sql_param_int(&sql, (int64_t)(size > INT32_MAX ? INT32_MAX : size));
    struct terms t = {fn, ctx};
    return run((struct tld_sqlite *)base, &sql, term_row, &t);
}

int tld_sqlite_get(struct tld_store *base, int64_t id, tld_store_hit_fn fn, void *ctx)
{
    struct tld_sql sql;
    sql_init((const struct tld_sqlite *)base, &sql);
    emit(&sql, "SELECT a.id, a.ts, a.raw FROM alerts a WHERE a.id = ?");
    tld_sql_param_int(&sql, id);
    struct hits h = {.fn = fn, .ctx = ctx, .limit = 1};
    int rc = run((struct tld_sqlite *)base, &sql, hit_row, &h);
    return rc ? rc : h.n ? 0 : TLD_ENOTFOUND;
}

int tld_sqlite_tail(struct tld_store *base, const struct tld_store_filter *f, int64_t after_id,
                    size_t limit, tld_store_hit_fn fn, void *ctx, int64_t *last_id)
{
    struct tld_sql sql;
    sql_init((const struct tld_sqlite *)base, &sql);
    emit(&sql, "SELECT a.id, a.ts, a.raw FROM alerts a WHERE a.id > ? AND ");
    tld_sql_param_int(&sql, after_id);
    tld_sql_where(&sql, f);
    emit(&sql, " ORDER BY a.id LIMIT ?");
    tld_sql_param_int(&sql, (int64_t)(limit > INT32_MAX ? INT32_MAX : limit));
    struct hits h = {.fn = fn, .ctx = ctx, .limit = limit};
    int rc = run((struct tld_sqlite *)base, &sql, hit_row, &h);
    if (h.n)
        *last_id = h.last.id;
    return rc;
}
