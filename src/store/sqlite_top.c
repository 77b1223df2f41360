/*
 * The per-value rollups of the SQLite store (schema 4): alert counts per (hour, agent name),
 * (minute, agent name), (hour, rule set) and (minute, rule set), in one table alert_top keyed by
 * (kind, ts, value). They serve the dashboard's top agents and top rule array values (MITRE,
 * groups, compliance) over a range with no query: the whole hours of the range come from hour
 * rows, the whole minutes at its ends from minute rows, and only the alerts of the partial
 * minutes at its two ends are read. The wide hourly rollup (sqlite_rollup.c) holds a row per
 * (rule set, rule id, level, agent) and the partial hours of a day hold tens of thousands of
 * alerts at ten million stored; these hold one row per value.
 *
 * The writer counts a batch in memory and adds each count to its row (an upsert, so an hour
 * keeps one row per value however many batches it took); retention adds negative counts.
 *
 * alert_hour_ids keeps, per hour, the smallest and largest id of its alerts with a full_log.
 * A contains search over full_log finds its candidates in the trigram index, then reads each
 * candidate's alert row to test it exactly; a time range bounds the candidates' ids with the
 * spans of its hours, so a day of a week-long store reads a day's candidates, not a week's.
 */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/grow.h"
#include "store/fields.h"
#include "store/sqlite_impl.h"

#define HOUR   3600000
#define MINUTE 60000

struct tld_top_group {
    int kind;
    int64_t ts, set;
    struct tld_sv agent; /* into `copy` for the agent kinds */
    char *copy;
    int64_t n;
    int64_t lo, hi; /* TLD_TOP_IDS: the span */
};

void tld_top_init(struct tld_top *t)
{
    memset(t, 0, sizeof(*t));
    tld_intern_init(&t->index);
    tld_sb_init(&t->key, 4096);
}

void tld_top_reset(struct tld_top *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->groups[i].copy);
    t->n = 0;
    tld_intern_clear(&t->index);
}

void tld_top_fini(struct tld_top *t)
{
    sqlite3_finalize(t->add);
    sqlite3_finalize(t->span);
    tld_top_reset(t);
    tld_intern_fini(&t->index);
    free(t->groups);
    tld_sb_fini(&t->key);
}

static int count_one(struct tld_top *t, int kind, int64_t ts, int64_t set, struct tld_sv agent,
                     int64_t id)
{
    struct tld_sb *key = &t->key;
    tld_sb_reset(key);
    tld_sb_append_char(key, (char)kind);
    tld_sb_append(key, &ts, sizeof(ts));
    if (kind == TLD_TOP_AGENT_HOUR || kind == TLD_TOP_AGENT_MINUTE)
        tld_sb_append_sv(key, agent);
    else
        tld_sb_append(key, &set, sizeof(set));
    if (key->truncated || key->oom)
        return TLD_ENOMEM;
    int64_t i = tld_intern_get(&t->index, key->p, key->n);
    if (i >= 0) {
        t->groups[i].n++;
        t->groups[i].hi = id; /* ids grow within a batch */
        return 0;
    }
    if (t->n == t->cap && tld_grow(&t->groups, &t->cap, t->n + 1, sizeof(*t->groups), 256))
        return TLD_ENOMEM;
    struct tld_top_group *g = &t->groups[t->n];
    *g = (struct tld_top_group){.kind = kind, .ts = ts, .set = set, .n = 1, .lo = id, .hi = id};
    if (kind == TLD_TOP_AGENT_HOUR || kind == TLD_TOP_AGENT_MINUTE) {
        g->copy = malloc(agent.n + 1);
        if (!g->copy)
            return TLD_ENOMEM;
        memcpy(g->copy, agent.p, agent.n);
        g->agent = tld_sv_make(g->copy, agent.n);
    }
    int rc = tld_intern_put(&t->index, key->p, key->n, (int64_t)t->n);
    if (rc) {
        free(g->copy);
        return rc;
    }
    t->n++;
    return 0;
}

int tld_top_count(struct tld_sqlite *s, int64_t ts, int64_t set, const struct tld_flat *f,
                  int64_t id)
{
    int64_t hour = tld_rollup_hour(ts), minute = tld_rollup_minute(ts);
    struct tld_sv agent = f->col[TLD_COL_AGENT_NAME];
    int rc = 0;
    if (agent.p) {
        rc = count_one(&s->top, TLD_TOP_AGENT_HOUR, hour, 0, agent, id);
        if (!rc)
            rc = count_one(&s->top, TLD_TOP_AGENT_MINUTE, minute, 0, agent, id);
    }
    if (!rc && set >= 0) {
        rc = count_one(&s->top, TLD_TOP_SET_HOUR, hour, set, agent, id);
        if (!rc)
            rc = count_one(&s->top, TLD_TOP_SET_MINUTE, minute, set, agent, id);
    }
    if (!rc && f->col[TLD_COL_FULL_LOG].p)
        rc = count_one(&s->top, TLD_TOP_IDS, hour, 0, agent, id);
    return rc;
}

int tld_top_flush(struct tld_sqlite *s)
{
    struct tld_top *t = &s->top;
    sqlite3_stmt *st = t->add;
    int err = 0;
    for (size_t i = 0; !err && i < t->n; i++) {
        const struct tld_top_group *g = &t->groups[i];
        if (g->kind == TLD_TOP_IDS) {
            sqlite3_bind_int64(t->span, 1, g->ts);
            sqlite3_bind_int64(t->span, 2, g->lo);
            sqlite3_bind_int64(t->span, 3, g->hi);
            int rc = sqlite3_step(t->span);
            sqlite3_reset(t->span);
            if (rc != SQLITE_DONE)
                err = tld_sqlite_fail(s, rc, "id spans");
            continue;
        }
        sqlite3_bind_int(st, 1, g->kind);
        sqlite3_bind_int64(st, 2, g->ts);
        if (g->copy)
            sqlite3_bind_text(st, 3, g->agent.p, (int)g->agent.n, SQLITE_STATIC);
        else
            sqlite3_bind_int64(st, 3, g->set);
        sqlite3_bind_int64(st, 4, g->n);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            err = tld_sqlite_fail(s, rc, "top rollup");
    }
    tld_top_reset(t);
    return err;
}

bool tld_sqlite_top_ok(const struct tld_sqlite *s, const struct tld_store_filter *f)
{
    return s->has_top && (!f->query || !f->query->root) && f->from_ms < f->to_ms;
}

static int64_t floor_to(int64_t x, int64_t unit)
{
    return x - (((x % unit) + unit) % unit);
}

/* Times this close to the ends of int64 stand for "unbounded": they count as whole units. */
static bool extreme(int64_t x)
{
    return x <= INT64_MIN + HOUR || x >= INT64_MAX - HOUR;
}

static int64_t ceil_to(int64_t x, int64_t unit)
{
    int64_t f = floor_to(x, unit);
    return f < x ? f + unit : f;
}

/*
 * Cuts [from, to) into from <= m0 <= h0 <= h1 <= m1 <= to: alerts in [from, m0) and [m1, to),
 * minute rows in [m0, h0) and [h1, m1), hour rows in [h0, h1).
 */
static void cut_range(int64_t from, int64_t to, int64_t b[4])
{
    int64_t m0 = extreme(from) ? from : ceil_to(from, MINUTE);
    int64_t m1 = extreme(to) ? to : floor_to(to, MINUTE);
    if (m1 < m0) {
        /* Within one minute: alerts only. */
        b[0] = b[1] = b[2] = b[3] = to;
        return;
    }
    int64_t h0 = extreme(m0) ? m0 : ceil_to(m0, HOUR);
    int64_t h1 = extreme(m1) ? m1 : floor_to(m1, HOUR);
    if (h1 < h0)
        h0 = h1 = m1; /* no whole hour: minute rows for [m0, m1) */
    b[0] = m0, b[1] = h0, b[2] = h1, b[3] = m1;
}

void tld_sqlite_top_source(struct tld_sql *q, const struct tld_store_filter *f, bool sets)
{
    int64_t b[4];
    cut_range(f->from_ms, f->to_ms, b);
    const char *col = sets ? "rule_set" : "agent_name";
    int hour = sets ? TLD_TOP_SET_HOUR : TLD_TOP_AGENT_HOUR;
    int minute = sets ? TLD_TOP_SET_MINUTE : TLD_TOP_AGENT_MINUTE;
    tld_sb_printf(&q->sql,
                  "(SELECT value AS v, n AS c FROM alert_top WHERE kind = ? AND ts >= ? AND ts < ?"
                  " UNION ALL SELECT value, n FROM alert_top WHERE kind = ? AND ts >= ? AND ts < ?"
                  " UNION ALL SELECT value, n FROM alert_top WHERE kind = ? AND ts >= ? AND ts < ?"
                  " UNION ALL SELECT %s, 1 FROM alerts WHERE ts >= ? AND ts < ? AND %s IS NOT NULL"
                  " UNION ALL SELECT %s, 1 FROM alerts WHERE ts >= ? AND ts < ? AND %s IS NOT NULL"
                  ") t",
                  col, col, col, col);
    const int64_t p[] = {hour, b[1], b[2],       minute, b[0], b[1],    minute,
                         b[2], b[3], f->from_ms, b[0],   b[3], f->to_ms};
    for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++)
        tld_sql_param_int(q, p[i]);
}

void tld_sqlite_id_span(struct tld_sql *q, int64_t from_ms, int64_t to_ms)
{
    /* The hour of `from` holds alerts before it too: a bound, not an exact span. */
    int64_t h0 = extreme(from_ms) ? INT64_MIN : floor_to(from_ms, HOUR);
    tld_sql_emit(q, "rowid >= (SELECT coalesce(min(lo), 0) FROM alert_hour_ids"
                    " WHERE ts >= ? AND ts < ?) AND rowid <= (SELECT coalesce(max(hi), -1) FROM"
                    " alert_hour_ids WHERE ts >= ? AND ts < ?)");
    tld_sql_param_int(q, h0);
    tld_sql_param_int(q, to_ms);
    tld_sql_param_int(q, h0);
    tld_sql_param_int(q, to_ms);
}
