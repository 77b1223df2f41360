/*
 * SQLite retention and statistics. Alerts go oldest first, in chunks, each chunk one
 * transaction that also removes their full-text entries and key/value rows; freed pages are then
 * given back to the file system (auto_vacuum=INCREMENTAL) and the WAL is truncated, so a size
 * limit bounds the files on disk, not only the pages in use.
 */
#include <stdint.h>

#include "common/err.h"
#include "store/sqlite_impl.h"

#define CHUNK          5000
#define MAX_SIZE_CHUNK 100000

static int scalar(struct tld_sqlite *s, const char *sql, int64_t *out)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return tld_sqlite_fail(s, rc, "prepare");
    rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    int err = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : tld_sqlite_fail(s, rc, "query");
    sqlite3_finalize(st);
    return err;
}

/* Pages holding data, in bytes: what retention by size compares with its limit. */
static int used_bytes(struct tld_sqlite *s, uint64_t *bytes)
{
    int64_t pages, free_pages, page_size;
    int rc = scalar(s, "PRAGMA page_count", &pages);
    if (!rc)
        rc = scalar(s, "PRAGMA freelist_count", &free_pages);
    if (!rc)
        rc = scalar(s, "PRAGMA page_size", &page_size);
    *bytes = rc ? 0 : (uint64_t)((pages - free_pages) * page_size);
    return rc;
}

/* The ids to delete go to a temporary table so the side tables are each scanned once. */
static const char *const delete_sql =
    /* Negative counts keep the rollup's sums equal to the alerts that remain. */
    "INSERT INTO alert_rollup(ts, rule_set, rule_id, rule_level, agent_name, n)"
    "  SELECT a.ts - (((a.ts % 3600000) + 3600000) % 3600000) AS h, a.rule_set, a.rule_id,"
    "  a.rule_level, a.agent_name, -count(*) FROM alerts a JOIN temp.doomed d ON d.id = a.id"
    "  GROUP BY h, a.rule_set, a.rule_id, a.rule_level, a.agent_name;"
    "INSERT INTO alert_rollup_min(ts, rule_id, rule_level, n)"
    "  SELECT a.ts - (((a.ts % 60000) + 60000) % 60000) AS m, a.rule_id, a.rule_level, -count(*)"
    "  FROM alerts a JOIN temp.doomed d ON d.id = a.id GROUP BY m, a.rule_id, a.rule_level;"
    /* The per-value rollups' rows take the negative counts (an upsert per row). */
    "INSERT INTO alert_top(kind, ts, value, n)"
    "  SELECT 0, a.ts - (((a.ts % 3600000) + 3600000) % 3600000) AS h, a.agent_name, -count(*)"
    "  FROM alerts a JOIN temp.doomed d ON d.id = a.id WHERE a.agent_name IS NOT NULL"
    "  GROUP BY h, a.agent_name ON CONFLICT(kind, ts, value) DO UPDATE SET n = n + excluded.n;"
    "INSERT INTO alert_top(kind, ts, value, n)"
    "  SELECT 1, a.ts - (((a.ts % 60000) + 60000) % 60000) AS m, a.agent_name, -count(*)"
    "  FROM alerts a JOIN temp.doomed d ON d.id = a.id WHERE a.agent_name IS NOT NULL"
    "  GROUP BY m, a.agent_name ON CONFLICT(kind, ts, value) DO UPDATE SET n = n + excluded.n;"
    "INSERT INTO alert_top(kind, ts, value, n)"
    "  SELECT 2, a.ts - (((a.ts % 3600000) + 3600000) % 3600000) AS h, a.rule_set, -count(*)"
    "  FROM alerts a JOIN temp.doomed d ON d.id = a.id WHERE a.rule_set IS NOT NULL"
    "  GROUP BY h, a.rule_set ON CONFLICT(kind, ts, value) DO UPDATE SET n = n + excluded.n;"
    "INSERT INTO alert_top(kind, ts, value, n)"
    "  SELECT 3, a.ts - (((a.ts % 60000) + 60000) % 60000) AS m, a.rule_set, -count(*)"
    "  FROM alerts a JOIN temp.doomed d ON d.id = a.id WHERE a.rule_set IS NOT NULL"
    "  GROUP BY m, a.rule_set ON CONFLICT(kind, ts, value) DO UPDATE SET n = n + excluded.n;"
    "INSERT INTO alerts_fts(alerts_fts, rowid, full_log)"
    "  SELECT 'delete', a.id, a.full_log FROM alerts a JOIN temp.doomed d ON d.id = a.id"
    "  WHERE a.full_log IS NOT NULL;"
    "DELETE FROM alerts WHERE id IN (SELECT id FROM temp.doomed);"
    "DELETE FROM alert_events WHERE id IN (SELECT id FROM temp.doomed);"
    /* A data.* row lists the alerts of one batch: it goes with the last of them. Ids of a row
     * deleted before the others (by age, out of id order) match no alert until then. */
    "DELETE FROM alert_kv WHERE last_id < (SELECT coalesce(min(id), 9e18) FROM alerts);"
    /* Rule sets no alert refers to any more: one index probe per set, and sets are few. */
    "DELETE FROM rule_sets WHERE NOT EXISTS (SELECT 1 FROM alerts WHERE rule_set = rule_sets.id);"
    "DELETE FROM rule_set_kv WHERE set_id NOT IN (SELECT id FROM rule_sets);";

/* Deletes the alerts `pick` selects (a SELECT of ids, with one ? bound to `arg`). */
static int delete_chunk(struct tld_sqlite *s, const char *pick, int64_t arg, uint64_t *n)
{
    int rc = tld_sqlite_exec(s, "BEGIN IMMEDIATE;"
                                "CREATE TEMP TABLE IF NOT EXISTS doomed(id INTEGER PRIMARY KEY);"
                                "DELETE FROM temp.doomed;");
    sqlite3_stmt *st = NULL;
    if (!rc) {
        int src = sqlite3_prepare_v2(s->db, pick, -1, &st, NULL);
        rc = src == SQLITE_OK ? 0 : tld_sqlite_fail(s, src, "prepare");
    }
    if (!rc) {
        sqlite3_bind_int64(st, 1, arg);
        int src = sqlite3_step(st);
        rc = src == SQLITE_DONE ? 0 : tld_sqlite_fail(s, src, "pick");
        *n = (uint64_t)sqlite3_changes(s->db);
    }
    sqlite3_finalize(st);
    if (!rc && *n)
        rc = tld_sqlite_exec(s, delete_sql);
    if (!rc)
        rc = tld_sqlite_exec(s, "COMMIT");
    if (rc)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static int by_age(struct tld_sqlite *s, int64_t min_ts_ms, uint64_t *deleted)
{
    uint64_t n;
    do {
        int rc = delete_chunk(s,
                              "INSERT INTO temp.doomed SELECT id FROM alerts WHERE ts < ?"
                              " LIMIT 5000",
                              min_ts_ms, &n);
        if (rc)
            return rc;
        *deleted += n;
    } while (n == CHUNK);
    return 0;
}

static int by_size(struct tld_sqlite *s, uint64_t max_bytes, uint64_t *deleted)
{
    for (;;) {
        uint64_t used, n;
        int rc = used_bytes(s, &used);
        if (rc || used <= max_bytes)
            return rc;
        /* A share of the alerts proportional to the excess: big overshoots take few rounds,
         * and the last rounds stay small so little more than needed goes. */
        int64_t total;
        rc = scalar(s, "SELECT count(*) FROM alerts", &total);
        if (rc || !total)
            return rc;
        int64_t want = (int64_t)((double)total * (double)(used - max_bytes) / (double)used) + 1;
        if (want > MAX_SIZE_CHUNK)
            want = MAX_SIZE_CHUNK;
        rc = delete_chunk(
            s, "INSERT INTO temp.doomed SELECT id FROM alerts ORDER BY ts, id LIMIT ?", want, &n);
        if (rc)
            return rc;
        *deleted += n;
    }
}

int tld_sqlite_retain(struct tld_store *base, int64_t min_ts_ms, uint64_t max_bytes,
                      uint64_t *deleted)
{
    struct tld_sqlite *s = (struct tld_sqlite *)base;
    if (s->read_only)
        return TLD_EINVAL;
    int rc = min_ts_ms > 0 ? by_age(s, min_ts_ms, deleted) : 0;
    if (!rc && max_bytes)
        rc = by_size(s, max_bytes, deleted);
    /* The writer's cache may name rule sets that are gone now. */
    tld_intern_clear(&s->sets);
    /* Rollup rows may be gone too; a later batch must not add to a deleted row. */
    tld_rollup_forget(&s->rollup);
    tld_rollup_forget(&s->rollup_min);
    /* Hours before the oldest alert's hour sum to zero: their rows can go. Planner
     * statistics are refreshed here too, as this runs periodically. */
    if (!rc && *deleted)
        rc = tld_sqlite_exec(s,
                             "DELETE FROM alert_rollup WHERE ts < (SELECT coalesce(min(ts)"
                             " - (((min(ts) % 3600000) + 3600000) % 3600000), 9e18) FROM alerts);"
                             "DELETE FROM alert_rollup_min WHERE ts < (SELECT coalesce(min(ts)"
                             " - (((min(ts) % 60000) + 60000) % 60000), 9e18) FROM alerts);"
                             "DELETE FROM alert_top WHERE n = 0 AND kind IN (0, 2) AND ts <"
                             " (SELECT coalesce(min(ts) - (((min(ts) % 3600000) + 3600000)"
                             " % 3600000), 9e18) FROM alerts);"
                             "DELETE FROM alert_top WHERE n = 0 AND kind IN (1, 3) AND ts <"
                             " (SELECT coalesce(min(ts) - (((min(ts) % 60000) + 60000)"
                             " % 60000), 9e18) FROM alerts);"
                             /* Spans only widen: they stay a bound of what remains. */
                             "DELETE FROM alert_hour_ids WHERE ts < (SELECT coalesce(min(ts)"
                             " - (((min(ts) % 3600000) + 3600000) % 3600000), 9e18) FROM alerts);");
    if (!rc)
        rc = tld_sqlite_exec(s, "PRAGMA analysis_limit=400; ANALYZE;");
    if (!rc && *deleted)
        rc = tld_sqlite_exec(s, "PRAGMA incremental_vacuum;"
                                "PRAGMA wal_checkpoint(TRUNCATE);");
    return rc;
}

int tld_sqlite_stats(struct tld_store *base, struct tld_store_stats *st)
{
    struct tld_sqlite *s = (struct tld_sqlite *)base;
    int64_t n = 0, lo = 0, hi = 0;
    int rc = scalar(s, "SELECT count(*) FROM alerts", &n);
    if (!rc)
        rc = scalar(s, "SELECT min(ts) FROM alerts", &lo);
    if (!rc)
        rc = scalar(s, "SELECT max(ts) FROM alerts", &hi);
    if (!rc)
        rc = used_bytes(s, &st->bytes);
    st->alerts = (uint64_t)n;
    st->oldest_ms = lo;
    st->newest_ms = hi;
    return rc;
}
