/*
 * The store front: checks arguments once, picks the automatic histogram interval, finds an
 * alert by its alerts.json id, and hands every operation to the backend's table of operations.
 */
#include "store/store.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "store/fields.h"
#include "store/query.h"
#include "store/store_impl.h"

int tld_store_open(const struct tld_store_config *cfg, struct tld_store **out)
{
    *out = NULL;
    if (!cfg)
        return TLD_EINVAL;
    switch (cfg->backend) {
    case TLD_STORE_SQLITE:
        return tld_store_sqlite_ops.open(cfg, out);
    case TLD_STORE_CLICKHOUSE:
        return tld_store_clickhouse_ops.open(cfg, out);
    }
    return TLD_EINVAL;
}

void tld_store_close(struct tld_store *s)
{
    if (s)
        s->ops->close(s);
}

int tld_store_ingest(struct tld_store *s, const struct tld_store_batch *b, size_t *stored)
{
    *stored = 0;
    for (size_t i = 1; i < b->n; i++)
        if (tld_store_pos_cmp(b->lines[i - 1].end, b->lines[i].end) >= 0)
            return TLD_EINVAL; /* out of order: the exactly-once check would be meaningless */
    return b->n ? s->ops->ingest(s, b, stored) : 0;
}

int tld_store_position(struct tld_store *s, struct tld_store_pos *pos)
{
    return s->ops->position(s, pos);
}

int tld_store_last_id(struct tld_store *s, int64_t *id)
{
    return s->ops->last_id(s, id);
}

static int check_filter(const struct tld_store_filter *f)
{
    return f->from_ms <= f->to_ms ? 0 : TLD_EINVAL;
}

int tld_store_search(struct tld_store *s, const struct tld_store_search *q, tld_store_hit_fn fn,
                     void *ctx, struct tld_store_cursor *next, bool *more)
{
    *more = false;
    if (check_filter(&q->filter) || !q->limit)
        return TLD_EINVAL;
    return s->ops->search(s, q, fn, ctx, next, more);
}

int tld_store_count(struct tld_store *s, const struct tld_store_filter *f, uint64_t *count)
{
    *count = 0;
    return check_filter(f) ? TLD_EINVAL : s->ops->count(s, f, UINT64_MAX, count);
}

int tld_store_count_upto(struct tld_store *s, const struct tld_store_filter *f, uint64_t bound,
                         uint64_t *count, bool *exact)
{
    *count = 0;
    *exact = true;
    if (check_filter(f))
        return TLD_EINVAL;
    /* One match past the bound is enough to know there are more. */
    uint64_t n = 0;
    int rc = s->ops->count(s, f, bound == UINT64_MAX ? UINT64_MAX : bound + 1, &n);
    if (rc)
        return rc;
    *exact = n <= bound;
    *count = *exact ? n : bound;
    return 0;
}

/* Round intervals a person reads easily, in ms. */
static const int64_t nice_ms[] = {
    1000,     2000,      5000,      10000,      30000,      60000,       120000,
    300000,   600000,    1800000,   3600000,    10800000,   21600000,    43200000,
    86400000, 172800000, 604800000, 2592000000, 7776000000, 31536000000,
};

static int64_t auto_interval(int64_t span_ms)
{
    const unsigned n = sizeof(nice_ms) / sizeof(nice_ms[0]);
    for (unsigned i = 0; i < n; i++)
        if (span_ms / nice_ms[i] < 60)
            return nice_ms[i];
    /* Longer than 60 years: a multiple of a year. */
    return (span_ms / 60 / nice_ms[n - 1] + 1) * nice_ms[n - 1];
}

int tld_store_histogram(struct tld_store *s, const struct tld_store_filter *f, int64_t interval_ms,
                        tld_store_bucket_fn fn, void *ctx, int64_t *interval_used)
{
    *interval_used = 0;
    if (check_filter(f) || interval_ms < 0)
        return TLD_EINVAL;
    if (!interval_ms) {
        int64_t lo = f->from_ms, hi = f->to_ms;
        if (lo <= 0 || hi == INT64_MAX) {
            bool any;
            int64_t mn, mx;
            int rc = s->ops->span(s, f, &mn, &mx, &any);
            if (rc || !any)
                return rc;
            lo = lo <= 0 ? mn : lo;
            hi = hi == INT64_MAX ? mx + 1 : hi;
        }
        interval_ms = auto_interval(hi > lo ? hi - lo : 1);
    }
    *interval_used = interval_ms;
    return s->ops->histogram(s, f, interval_ms, fn, ctx);
}

int tld_store_terms(struct tld_store *s, const struct tld_store_filter *f, const char *field,
                    size_t size, tld_store_term_fn fn, void *ctx)
{
    if (check_filter(f) || !field || !*field || !size)
        return TLD_EINVAL;
    return s->ops->terms(s, f, field, size, fn, ctx);
}

int tld_store_get(struct tld_store *s, int64_t id, tld_store_hit_fn fn, void *ctx)
{
    return s->ops->get(s, id, fn, ctx);
}

/* Digits, at most one dot, neither first nor last. */
static bool alert_id_ok(const char *id, size_t n)
{
    size_t dots = 0;
    for (size_t i = 0; i < n; i++) {
        if (id[i] == '.')
            dots++;
        else if (id[i] < '0' || id[i] > '9')
            return false;
    }
    return n > 0 && n <= 64 && dots <= 1 && id[0] != '.' && id[n - 1] != '.';
}

struct found {
    tld_store_hit_fn fn;
    void *ctx;
    bool any;
};

static int on_found(void *ctx, const struct tld_store_hit *h)
{
    struct found *f = ctx;
    f->any = true;
    return f->fn(f->ctx, h);
}

/* Half the width of the time window an alert id is looked up in first. */
#define ID_WINDOW_MS 120000

/*
 * The id's seconds are when the manager received the event, which is the alert's time but for
 * clock steps: the minutes around them are searched first, on the time index (a lookup by id
 * alone reads every alert); the whole store only when that misses.
 */
int tld_store_get_by_alert_id(struct tld_store *s, const char *alert_id, tld_store_hit_fn fn,
                              void *ctx)
{
    size_t n = strlen(alert_id);
    if (!alert_id_ok(alert_id, n))
        return TLD_EINVAL;
    char text[80];
    snprintf(text, sizeof text, "id:\"%s\"", alert_id);
    struct tld_query *q = NULL;
    struct tld_query_error err;
    int rc = tld_query_parse(text, strlen(text), &q, &err);
    if (rc)
        return rc;
    int64_t secs = strtoll(alert_id, NULL, 10);
    struct found found = {fn, ctx, false};
    struct tld_store_search search = {{q, 0, INT64_MAX}, false, 1, NULL};
    struct tld_store_cursor next;
    bool more;
    if (secs < INT64_MAX / 1000 - ID_WINDOW_MS) {
        search.filter.from_ms = secs * 1000 - ID_WINDOW_MS;
        search.filter.to_ms = secs * 1000 + ID_WINDOW_MS;
        rc = tld_store_search(s, &search, on_found, &found, &next, &more);
        search.filter.from_ms = 0;
        search.filter.to_ms = INT64_MAX;
    }
    if (rc == 0 && !found.any)
        rc = tld_store_search(s, &search, on_found, &found, &next, &more);
    tld_query_free(q);
    return rc ? rc : found.any ? 0 : TLD_ENOTFOUND;
}

int tld_store_tail(struct tld_store *s, const struct tld_store_filter *f, int64_t after_id,
                   size_t limit, tld_store_hit_fn fn, void *ctx, int64_t *last_id)
{
    *last_id = after_id;
    if (check_filter(f) || !limit)
        return TLD_EINVAL;
    return s->ops->tail(s, f, after_id, limit, fn, ctx, last_id);
}

int tld_store_retain(struct tld_store *s, int64_t min_ts_ms, uint64_t max_bytes, uint64_t *deleted)
{
    *deleted = 0;
    return s->ops->retain(s, min_ts_ms, max_bytes, deleted);
}

int tld_store_stats(struct tld_store *s, struct tld_store_stats *st)
{
    return s->ops->stats(s, st);
}

int tld_store_explain(enum tld_store_backend backend, const struct tld_store_filter *f, char **sql,
                      size_t *nparams)
{
    *sql = NULL;
    *nparams = 0;
    switch (backend) {
    case TLD_STORE_SQLITE:
        return tld_sqlite_explain(f, sql, nparams);
    case TLD_STORE_CLICKHOUSE:
        return tld_ch_explain(f, sql, nparams);
    }
    return TLD_EINVAL;
}

const char *tld_store_errmsg(const struct tld_store *s)
{
    return s ? s->ops->errmsg(s) : "";
}
