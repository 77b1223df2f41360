/*
 * The hourly rollup of the SQLite store: alert counts per (hour, rule set, rule id, rule level,
 * agent name), and the per-minute one per (minute, rule id, rule level), kept in the same
 * transaction as the alerts they count. Dashboard panels (counts,
 * level evolution, top agents, top MITRE values) over a day of millions of alerts then read the
 * rollup for the whole hours of the range and only the alerts of the partial hours at its ends
 * (tld_sqlite_rollup_source). The writer counts a batch in memory and appends one row per group;
 * retention appends negative rows for what it deletes, so sums stay exact without rewriting.
 *
 * The rollup table deliberately uses the alerts table's column names (ts holding the hour), so
 * the query compiler's WHERE clause runs on it unchanged; tld_sqlite_rollup_ok says when a filter
 * only uses those columns.
 */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/grow.h"
#include "store/fields.h"
#include "store/sqlite_impl.h"

#define HOUR   3600000
#define MINUTE 60000

struct tld_rollup_group {
    int64_t hour, set, level;
    bool has_level;
    struct tld_sv rule_id, agent; /* into the group's own copy, NULL .p when absent */
    struct tld_sv key;            /* the group key, also in the copy */
    char *copy;
    int64_t n;
    int64_t rowid; /* its alert_rollup row from an earlier batch, -1 if none known */
};

/* Row ids kept for merging are forgotten past this many groups (a new row is then added). */
#define MAX_ROWS 200000

int64_t tld_rollup_hour(int64_t ts)
{
    return ts - (((ts % HOUR) + HOUR) % HOUR);
}

static void put_sv(struct tld_sb *key, struct tld_sv v)
{
    /* Presence byte, then length, then bytes: unambiguous for any content. */
    tld_sb_append_char(key, v.p ? 1 : 0);
    uint32_t n = (uint32_t)v.n;
    tld_sb_append(key, &n, sizeof(n));
    tld_sb_append_sv(key, v);
}

int64_t tld_rollup_minute(int64_t ts)
{
    return ts - (((ts % MINUTE) + MINUTE) % MINUTE);
}

static int count_one(struct tld_rollup *r, int64_t ts, int64_t set, const struct tld_flat *f)
{
    bool all = !r->levels_only;
    struct tld_sv rule_id = f ? f->col[TLD_COL_RULE_ID] : (struct tld_sv){0};
    struct tld_sv agent = f && all ? f->col[TLD_COL_AGENT_NAME] : (struct tld_sv){0};
    bool has_level = f && f->has_level;
    int64_t level = has_level ? f->level : 0;
    int64_t hour = all ? tld_rollup_hour(ts) : tld_rollup_minute(ts);
    if (!all)
        set = -1;
    struct tld_sb *key = &r->key;
    tld_sb_reset(key);
    tld_sb_append(key, &hour, sizeof(hour));
    tld_sb_append(key, &set, sizeof(set));
    tld_sb_append_char(key, has_level);
    tld_sb_append(key, &level, sizeof(level));
    put_sv(key, rule_id);
    put_sv(key, agent);
    if (key->truncated || key->oom)
        return TLD_ENOMEM;
    int64_t i = tld_intern_get(&r->index, key->p, key->n);
    if (i >= 0) {
        r->groups[i].n++;
        return 0;
    }
    if (r->n == r->cap && tld_grow(&r->groups, &r->cap, r->n + 1, sizeof(*r->groups), 256))
        return TLD_ENOMEM;
    struct tld_rollup_group *g = &r->groups[r->n];
    *g = (struct tld_rollup_group){
        .hour = hour, .set = set, .level = level, .has_level = has_level, .n = 1};
    g->copy = malloc(rule_id.n + agent.n + 2 + key->n);
    if (!g->copy)
        return TLD_ENOMEM;
    memcpy(g->copy, rule_id.p ? rule_id.p : "", rule_id.n);
    memcpy(g->copy + rule_id.n + 1, agent.p ? agent.p : "", agent.n);
    memcpy(g->copy + rule_id.n + agent.n + 2, key->p, key->n);
    g->key = tld_sv_make(g->copy + rule_id.n + agent.n + 2, key->n);
    g->rowid = tld_intern_get(&r->rows, key->p, key->n);
    g->rule_id = rule_id.p ? tld_sv_make(g->copy, rule_id.n) : (struct tld_sv){0};
    g->agent = agent.p ? tld_sv_make(g->copy + rule_id.n + 1, agent.n) : (struct tld_sv){0};
    int rc = tld_intern_put(&r->index, key->p, key->n, (int64_t)r->n);
    if (rc) {
        free(g->copy);
        return rc;
    }
    r->n++;
    return 0;
}

int tld_rollup_count(struct tld_sqlite *s, int64_t ts, int64_t set, const struct tld_flat *f)
{
    int rc = count_one(&s->rollup, ts, set, f);
    return rc ? rc : count_one(&s->rollup_min, ts, set, f);
}

void tld_rollup_reset(struct tld_rollup *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->groups[i].copy);
    r->n = 0;
    tld_intern_clear(&r->index);
}

void tld_rollup_forget(struct tld_rollup *r)
{
    tld_intern_clear(&r->rows);
}

void tld_rollup_fini(struct tld_rollup *r)
{
    sqlite3_finalize(r->ins);
    sqlite3_finalize(r->upd);
    tld_rollup_reset(r);
    tld_intern_fini(&r->rows);
    free(r->groups);
    tld_sb_fini(&r->key);
}

void tld_rollup_init(struct tld_rollup *r)
{
    memset(r, 0, sizeof(*r));
    tld_intern_init(&r->index);
    tld_intern_init(&r->rows);
    tld_sb_init(&r->key, 4096);
}

static void bind_opt(sqlite3_stmt *st, int i, struct tld_sv v)
{
    if (v.p)
        sqlite3_bind_text(st, i, v.p, (int)v.n, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* Adds a group's count to the row an earlier batch wrote for it. */
static int merge(struct tld_sqlite *s, struct tld_rollup *r, const struct tld_rollup_group *g,
                 bool *done)
{
    sqlite3_stmt *st = r->upd;
    sqlite3_bind_int64(st, 1, g->n);
    sqlite3_bind_int64(st, 2, g->rowid);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    *done = rc == SQLITE_DONE && sqlite3_changes(s->db) == 1;
    return rc == SQLITE_DONE ? 0 : tld_sqlite_fail(s, rc, "rollup");
}

static void bind_level(sqlite3_stmt *st, int i, const struct tld_rollup_group *g)
{
    if (g->has_level)
        sqlite3_bind_int64(st, i, g->level);
    else
        sqlite3_bind_null(st, i);
}

static int add_row(struct tld_sqlite *s, struct tld_rollup *r, const struct tld_rollup_group *g)
{
    sqlite3_stmt *st = r->ins;
    sqlite3_bind_int64(st, 1, g->hour);
    if (r->levels_only) {
        bind_opt(st, 2, g->rule_id);
        bind_level(st, 3, g);
        sqlite3_bind_int64(st, 4, g->n);
    } else {
        if (g->set >= 0)
            sqlite3_bind_int64(st, 2, g->set);
        else
            sqlite3_bind_null(st, 2);
        bind_opt(st, 3, g->rule_id);
        bind_level(st, 4, g);
        bind_opt(st, 5, g->agent);
        sqlite3_bind_int64(st, 6, g->n);
    }
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return tld_sqlite_fail(s, rc, "rollup");
    if (r->rows.n >= MAX_ROWS)
        tld_intern_clear(&r->rows);
    return tld_intern_put(&r->rows, g->key.p, g->key.n, sqlite3_last_insert_rowid(s->db));
}

/*
 * Groups seen in an earlier batch of this handle add to that batch's row, so an hour keeps about
 * one row per group however many batches it took; the others get a new row.
 */
static int flush_one(struct tld_sqlite *s, struct tld_rollup *r)
{
    int err = 0;
    for (size_t i = 0; !err && i < r->n; i++) {
        const struct tld_rollup_group *g = &r->groups[i];
        bool done = false;
        if (g->rowid >= 0)
            err = merge(s, r, g, &done);
        if (!err && !done)
            err = add_row(s, r, g);
    }
    tld_rollup_reset(r);
    return err;
}

int tld_rollup_flush(struct tld_sqlite *s)
{
    int rc = flush_one(s, &s->rollup);
    int rc2 = flush_one(s, &s->rollup_min);
    return rc ? rc : rc2;
}

static bool node_ok(const struct tld_qnode *n)
{
    if (!n)
        return true;
    if (n->kind != TLD_Q_TERM)
        return node_ok(n->a) && node_ok(n->b);
    struct tld_field f;
    tld_store_field_lookup(n->field, &f);
    if (f.kind == TLD_FIELD_SET)
        return true;
    return (f.kind == TLD_FIELD_TEXT || f.kind == TLD_FIELD_INT) &&
           (f.col == TLD_COL_RULE_ID || f.col == TLD_COL_RULE_LEVEL || f.col == TLD_COL_AGENT_NAME);
}

bool tld_sqlite_rollup_ok(const struct tld_store_filter *f)
{
    return node_ok(f->query ? f->query->root : NULL);
}

static bool minute_ok(const struct tld_qnode *n, bool by_rule)
{
    if (!n)
        return true;
    if (n->kind != TLD_Q_TERM)
        return minute_ok(n->a, by_rule) && minute_ok(n->b, by_rule);
    struct tld_field f;
    tld_store_field_lookup(n->field, &f);
    if (f.kind == TLD_FIELD_INT && f.col == TLD_COL_RULE_LEVEL)
        return true;
    return by_rule && (f.kind == TLD_FIELD_TEXT || f.kind == TLD_FIELD_INT) &&
           f.col == TLD_COL_RULE_ID;
}

bool tld_sqlite_rollup_min_ok(const struct tld_sqlite *s, const struct tld_store_filter *f)
{
    return minute_ok(f->query ? f->query->root : NULL, s->minutes_by_rule);
}

void tld_sqlite_rollup_source(const struct tld_sqlite *s, struct tld_sql *q,
                              const struct tld_store_filter *f, bool minutes)
{
    int64_t unit = minutes ? MINUTE : HOUR;
    /* Whole units inside [from, to): [h0, h1). Empty when the range has none. */
    int64_t h0 = f->from_ms <= INT64_MIN + unit ? INT64_MIN
                 : minutes                      ? tld_rollup_minute(f->from_ms)
                                                : tld_rollup_hour(f->from_ms);
    if (h0 < f->from_ms)
        h0 += unit;
    int64_t h1 = f->to_ms == INT64_MAX ? INT64_MAX
                 : minutes             ? tld_rollup_minute(f->to_ms)
                                       : tld_rollup_hour(f->to_ms);
    if (h1 < h0)
        h1 = h0;
    /* Schema 2's per-minute rollup has no rule ids (minute_ok kept rule.id out of the filter). */
    const char *min_rule = s->minutes_by_rule ? "rule_id" : "NULL";
    if (minutes)
        tld_sb_printf(&q->sql,
                      "(SELECT ts, %s AS rule_id, rule_level, n FROM alert_rollup_min"
                      " WHERE ts >= ? AND ts < ? UNION ALL"
                      " SELECT ts, rule_id, rule_level, 1 FROM alerts WHERE ts >= ? AND ts < ?"
                      " UNION ALL"
                      " SELECT ts, rule_id, rule_level, 1 FROM alerts WHERE ts >= ? AND ts < ?) a",
                      min_rule);
    else
        tld_sql_emit(q, "(SELECT ts, rule_set, rule_id, rule_level, agent_name, n FROM"
                        " alert_rollup WHERE ts >= ? AND ts < ? UNION ALL"
                        " SELECT ts, rule_set, rule_id, rule_level, agent_name, 1 FROM alerts"
                        " WHERE ts >= ? AND ts < ? UNION ALL"
                        " SELECT ts, rule_set, rule_id, rule_level, agent_name, 1 FROM alerts"
                        " WHERE ts >= ? AND ts < ?) a");
    tld_sql_param_int(q, h0);
    tld_sql_param_int(q, h1);
    /* Two ranges in two SELECTs: joined by OR, the planner reads everything between them. */
    tld_sql_param_int(q, f->from_ms);
    tld_sql_param_int(q, h0);
    tld_sql_param_int(q, h1);
    tld_sql_param_int(q, f->to_ms);
}
