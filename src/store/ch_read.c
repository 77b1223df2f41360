/*
 * ClickHouse reads: the same operations as the SQLite backend's, over the one alerts table.
 * Results come back in RowBinary, so the raw alert is handed out byte for byte. LIMITs and
 * histogram intervals are numbers computed here, written into the SQL as such; everything that
 * comes from a query or a caller's filter is bound through `_v`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "store/ch_impl.h"
#include "store/fields.h"

#define emit tld_chq_emit

static struct tld_chrd reader(const struct tld_ch *s)
{
    return (struct tld_chrd){(const unsigned char *)s->resp.p,
                             (const unsigned char *)s->resp.p + s->resp.n};
}

/* A read: over a Distributed table, IN subqueries run once where the query starts (their
 * tables, `_v` among them, exist only there). */
static void start(const struct tld_ch *s, struct tld_chq *q)
{
    tld_chq_init(q);
    q->global_in = s->cluster != NULL;
}

static int run(struct tld_ch *s, struct tld_chq *q)
{
    emit(q, " FORMAT RowBinary");
    int rc = tld_ch_run(s, q, NULL, 0);
    tld_chq_fini(q);
    return rc;
}

/* Rows of (id UInt64, ts_ms Int64, raw String) to the callback; the count and the last one. */
static int hits(struct tld_ch *s, size_t limit, tld_store_hit_fn fn, void *ctx, size_t *n,
                struct tld_store_hit *last, bool *more)
{
    struct tld_chrd r = reader(s);
    *n = 0;
    while (r.p < r.end) {
        uint64_t id, ts;
        struct tld_store_hit h;
        if (!tld_chrd_u64(&r, &id) || !tld_chrd_u64(&r, &ts) || !tld_chrd_str(&r, &h.raw, &h.raw_n))
            return TLD_EPROTO;
        if (*n == limit) {
            *more = true;
            break;
        }
        h.id = (int64_t)id;
        h.ts_ms = (int64_t)ts;
        (*n)++;
        *last = h;
        int rc = fn(ctx, &h);
        if (rc)
            return rc;
    }
    return 0;
}

int tld_ch_search(struct tld_store *base, const struct tld_store_search *q, tld_store_hit_fn fn,
                  void *ctx, struct tld_store_cursor *next, bool *more)
{
    struct tld_ch *s = (struct tld_ch *)base;
    struct tld_chq c;
    start(s, &c);
    /* The page's keys first, then their raw alerts: sorting reads only two small columns, and
     * the wide one is read for the page alone, through the primary key (ts_ms, id). */
    const char *dir = q->ascending ? "ASC" : "DESC";
    size_t limit = q->limit > 1000000 ? 1000000 : q->limit;
    tld_sb_printf(&c.sql,
                  "SELECT id, ts_ms, raw FROM %s WHERE (ts_ms, id) %sIN (SELECT ts_ms, id FROM %s"
                  " WHERE ",
                  s->table, c.global_in ? "GLOBAL " : "", s->table);
    tld_chq_where(&c, &q->filter);
    if (q->after) {
        emit(&c, q->ascending ? " AND (ts_ms, id) > (" : " AND (ts_ms, id) < (");
        tld_chq_int(&c, q->after->ts_ms);
        emit(&c, ", toUInt64(");
        tld_chq_int(&c, q->after->id);
        emit(&c, "))");
    }
    tld_sb_printf(&c.sql, " ORDER BY ts_ms %s, id %s LIMIT %zu) ORDER BY ts_ms %s, id %s", dir, dir,
                  limit + 1, dir, dir);
    int rc = run(s, &c);
    size_t n = 0;
    struct tld_store_hit last = {0};
    if (!rc)
        rc = hits(s, limit, fn, ctx, &n, &last, more);
    if (next) {
        next->ts_ms = n ? last.ts_ms : (q->after ? q->after->ts_ms : 0);
        next->id = n ? last.id : (q->after ? q->after->id : 0);
    }
    return rc;
}

int tld_ch_count(struct tld_store *base, const struct tld_store_filter *f, uint64_t cap,
                 uint64_t *count)
{
    struct tld_ch *s = (struct tld_ch *)base;
    struct tld_chq c;
    start(s, &c);
    bool capped = cap != UINT64_MAX;
    /* A column, not a constant: 18.16 loses a constant column of a subquery over a Distributed
     * table ("Not found column 0 in block"). */
    if (capped)
        tld_sb_printf(&c.sql, "SELECT count() FROM (SELECT id FROM %s WHERE ", s->table);
    else
        tld_sb_printf(&c.sql, "SELECT count() FROM %s WHERE ", s->table);
    tld_chq_where(&c, f);
    if (capped)
        tld_sb_printf(&c.sql, " LIMIT %llu)", (unsigned long long)cap);
    int rc = run(s, &c);
    struct tld_chrd r = reader(s);
    if (!rc && !tld_chrd_u64(&r, count))
        rc = TLD_EPROTO;
    return rc;
}

int tld_ch_span(struct tld_store *base, const struct tld_store_filter *f, int64_t *min_ms,
                int64_t *max_ms, bool *any)
{
    struct tld_ch *s = (struct tld_ch *)base;
    struct tld_chq c;
    start(s, &c);
    tld_sb_printf(&c.sql, "SELECT min(ts_ms), max(ts_ms), count() FROM %s WHERE ", s->table);
    tld_chq_where(&c, f);
    int rc = run(s, &c);
    struct tld_chrd r = reader(s);
    uint64_t lo, hi, n;
    if (!rc && (!tld_chrd_u64(&r, &lo) || !tld_chrd_u64(&r, &hi) || !tld_chrd_u64(&r, &n)))
        rc = TLD_EPROTO;
    if (!rc) {
        *min_ms = (int64_t)lo;
        *max_ms = (int64_t)hi;
        *any = n > 0;
    }
    return rc;
}

int tld_ch_histogram(struct tld_store *base, const struct tld_store_filter *f, int64_t interval_ms,
                     tld_store_bucket_fn fn, void *ctx)
{
    struct tld_ch *s = (struct tld_ch *)base;
    struct tld_chq c;
    start(s, &c);
    long long iv = (long long)interval_ms;
    tld_sb_printf(&c.sql,
                  "SELECT ts_ms - ((ts_ms %% %lld) + %lld) %% %lld AS b, count() FROM %s WHERE ",
                  iv, iv, iv, s->table);
    tld_chq_where(&c, f);
    emit(&c, " GROUP BY b ORDER BY b");
    int rc = run(s, &c);
    struct tld_chrd r = reader(s);
    while (!rc && r.p < r.end) {
        uint64_t b, n;
        if (!tld_chrd_u64(&r, &b) || !tld_chrd_u64(&r, &n))
            return TLD_EPROTO;
        rc = fn(ctx, (int64_t)b, n);
    }
    return rc;
}

int tld_ch_terms(struct tld_store *base, const struct tld_store_filter *f, const char *field,
                 size_t size, tld_store_term_fn fn, void *ctx)
{
    struct tld_ch *s = (struct tld_ch *)base;
    if (!tld_query_valid_field(field, strlen(field)))
        return TLD_EINVAL;
    struct tld_field fd;
    tld_store_field_lookup(field, &fd);
    struct tld_chq c;
    start(s, &c);
    if (fd.kind == TLD_FIELD_TEXT || fd.kind == TLD_FIELD_INT) {
        const char *col = tld_field_cols[fd.col].column;
        tld_sb_printf(&c.sql,
                      "SELECT toString(assumeNotNull(%s)) AS v, count() AS c FROM %s"
                      " WHERE isNotNull(%s) AND ",
                      col, s->table, col);
        tld_chq_where(&c, f);
    } else {
        const char *keys = fd.kind == TLD_FIELD_KV    ? "data_keys"
                           : fd.kind == TLD_FIELD_SET ? "set_keys"
                                                      : "other_keys";
        const char *vals = fd.kind == TLD_FIELD_KV    ? "data_values"
                           : fd.kind == TLD_FIELD_SET ? "set_values"
                                                      : "other_values";
        /* Each value once per alert, as the SQLite backend counts. */
        if (s->cluster) {
            /* 18.16 loses the column of a lambda over a bound value when a Distributed table
             * sends it to the shards (the shards name it after the value): ARRAY JOIN there. */
            tld_sb_printf(&c.sql,
                          "SELECT v, count() AS c FROM (SELECT DISTINCT id, v FROM %s ARRAY"
                          " JOIN %s AS k, %s AS v WHERE k = ",
                          s->table, keys, vals);
            tld_chq_text(&c, field, strlen(field));
            emit(&c, " AND ");
            tld_chq_where(&c, f);
            emit(&c, ")");
        } else {
            tld_sb_printf(&c.sql, "SELECT v, count() AS c FROM (SELECT arrayDistinct(arrayFilter("
                                  "(tv, tk) -> tk = ");
            tld_chq_text(&c, field, strlen(field));
            tld_sb_printf(&c.sql, ", %s, %s)) AS vs FROM %s WHERE ", vals, keys, s->table);
            tld_chq_where(&c, f);
            emit(&c, ") ARRAY JOIN vs AS v");
        }
    }
    tld_sb_printf(&c.sql, " GROUP BY v ORDER BY c DESC, v LIMIT %zu",
                  size > 100000 ? (size_t)100000 : size);
    int rc = run(s, &c);
    struct tld_chrd r = reader(s);
    while (!rc && r.p < r.end) {
        const char *v;
        size_t n;
        uint64_t cnt;
        if (!tld_chrd_str(&r, &v, &n) || !tld_chrd_u64(&r, &cnt))
            return TLD_EPROTO;
        rc = fn(ctx, v, n, cnt);
    }
    return rc;
}

int tld_ch_get(struct tld_store *base, int64_t id, tld_store_hit_fn fn, void *ctx)
{
    struct tld_ch *s = (struct tld_ch *)base;
    struct tld_chq c;
    start(s, &c);
    tld_sb_printf(&c.sql, "SELECT id, ts_ms, raw FROM %s WHERE id = toUInt64(", s->table);
    tld_chq_int(&c, id);
    emit(&c, ") LIMIT 1");
    int rc = run(s, &c);
    size_t n = 0;
    bool more = false;
    struct tld_store_hit last;
    if (!rc)
        rc = hits(s, 1, fn, ctx, &n, &last, &more);
    return rc ? rc : n ? 0 : TLD_ENOTFOUND;
}

int tld_ch_tail(struct tld_store *base, const struct tld_store_filter *f, int64_t after_id,
                size_t limit, tld_store_hit_fn fn, void *ctx, int64_t *last_id)
{
    struct tld_ch *s = (struct tld_ch *)base;
    struct tld_chq c;
    start(s, &c);
    tld_sb_printf(&c.sql, "SELECT id, ts_ms, raw FROM %s WHERE id > toUInt64(", s->table);
    tld_chq_int(&c, after_id < 0 ? 0 : after_id);
    emit(&c, ") AND ");
    tld_chq_where(&c, f);
    if (limit > 1000000)
        limit = 1000000;
    tld_sb_printf(&c.sql, " ORDER BY id LIMIT %zu", limit);
    int rc = run(s, &c);
    size_t n = 0;
    bool more = false;
    struct tld_store_hit last;
    if (!rc)
        rc = hits(s, limit, fn, ctx, &n, &last, &more);
    if (n)
        *last_id = last.id;
    return rc;
}

int tld_ch_stats(struct tld_store *base, struct tld_store_stats *st)
{
    struct tld_ch *s = (struct tld_ch *)base;
    struct tld_store_filter all = {NULL, INT64_MIN, INT64_MAX};
    bool any;
    memset(st, 0, sizeof(*st));
    int rc = tld_ch_count(base, &all, UINT64_MAX, &st->alerts);
    if (!rc)
        rc = tld_ch_span(base, &all, &st->oldest_ms, &st->newest_ms, &any);
    if (rc)
        return rc;
    if (s->cluster)
        return tld_ch_cluster_bytes(s, &st->bytes);
    struct tld_chq c;
    start(s, &c);
    emit(&c, "SELECT sum(bytes) FROM system.parts WHERE active AND table = ");
    tld_chq_text(&c, s->table, strlen(s->table));
    rc = run(s, &c);
    struct tld_chrd r = reader(s);
    if (!rc && !tld_chrd_u64(&r, &st->bytes))
        rc = TLD_EPROTO;
    return rc;
}
