/*
 * SQLite backend: opening a database (creating its schema on first use), the statements the
 * writer reuses for every alert, and the stored stream position. The schema is described in
 * docs/store.md; its version is kept in user_version so a later layout can migrate.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "store/sqlite_impl.h"

#define SCHEMA_VERSION 4

/* Page size and auto_vacuum (retention gives freed pages back to the disk) are set before this,
 * as they only take effect on a database without tables and before WAL mode. */
static const char *const schema_sql =
    "BEGIN;"
    "CREATE TABLE IF NOT EXISTS store_state("
    "  one INTEGER PRIMARY KEY CHECK (one = 1),"
    "  gen INTEGER NOT NULL, off INTEGER NOT NULL, next_id INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO store_state VALUES (1, 0, 0, 1);"
    "CREATE TABLE IF NOT EXISTS alerts("
    "  id INTEGER PRIMARY KEY,"
    "  ts INTEGER NOT NULL,"
    "  alert_id TEXT, rule_id TEXT, rule_level INTEGER, rule_desc TEXT,"
    "  agent_id TEXT, agent_name TEXT, agent_ip TEXT, manager TEXT,"
    "  decoder TEXT, decoder_parent TEXT, location TEXT,"
    "  container_id TEXT, container_name TEXT, image TEXT,"
    "  full_log TEXT,"
    "  rule_set INTEGER,"
    "  raw TEXT NOT NULL);"
    /* In (ts, id) order like the table's time index would be, and covering the rollup's
     * columns, so the partial hours of a rollup query never read alert rows. */
    "CREATE INDEX IF NOT EXISTS alerts_time"
    "  ON alerts(ts, id, rule_set, rule_id, rule_level, agent_name);"
    "CREATE INDEX IF NOT EXISTS alerts_rule ON alerts(rule_id, ts);"
    "CREATE INDEX IF NOT EXISTS alerts_level ON alerts(rule_level, ts);"
    "CREATE INDEX IF NOT EXISTS alerts_agent ON alerts(agent_name, ts);"
    "CREATE INDEX IF NOT EXISTS alerts_container ON alerts(container_name, ts);"
    "CREATE INDEX IF NOT EXISTS alerts_rule_set ON alerts(rule_set, ts);"
    "CREATE TABLE IF NOT EXISTS kv_keys(id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE);"
    "CREATE TABLE IF NOT EXISTS alert_kv("
    "  key_id INTEGER NOT NULL, value TEXT NOT NULL, first_id INTEGER NOT NULL,"
    "  last_id INTEGER NOT NULL, n INTEGER NOT NULL, ids BLOB,"
    "  PRIMARY KEY (key_id, value, first_id)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS rule_sets(id INTEGER PRIMARY KEY, body BLOB NOT NULL UNIQUE);"
    "CREATE TABLE IF NOT EXISTS rule_set_kv("
    "  key TEXT NOT NULL, value TEXT NOT NULL, set_id INTEGER NOT NULL,"
    "  PRIMARY KEY (key, value, set_id)) WITHOUT ROWID;"
    "CREATE VIRTUAL TABLE IF NOT EXISTS alerts_fts USING fts5("
    "  full_log, content='alerts', content_rowid='id', tokenize='trigram', detail='none',"
    "  columnsize=0);"
    "CREATE TABLE IF NOT EXISTS alert_rollup("
    "  ts INTEGER NOT NULL, rule_set INTEGER, rule_id TEXT, rule_level INTEGER,"
    "  agent_name TEXT, n INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS alert_rollup_ts ON alert_rollup(ts);"
    "CREATE TABLE IF NOT EXISTS alert_rollup_min("
    "  ts INTEGER NOT NULL, rule_id TEXT, rule_level INTEGER, n INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS alert_rollup_min_ts ON alert_rollup_min(ts);"
    /* A rule.id count over a day reads that rule's minute rows only. */
    "CREATE INDEX IF NOT EXISTS alert_rollup_min_rule"
    "  ON alert_rollup_min(rule_id, ts, rule_level, n);"
    /* Per-value rollups (sqlite_top.c); value is an agent name or a rule set id by kind. */
    "CREATE TABLE IF NOT EXISTS alert_top("
    "  kind INTEGER NOT NULL, ts INTEGER NOT NULL, value NOT NULL, n INTEGER NOT NULL,"
    "  PRIMARY KEY (kind, ts, value)) WITHOUT ROWID;"
    /* Per hour, the smallest and largest id of its alerts with a full_log (sqlite_top.c). */
    "CREATE TABLE IF NOT EXISTS alert_hour_ids("
    "  ts INTEGER PRIMARY KEY, lo INTEGER NOT NULL, hi INTEGER NOT NULL);"
    /* The event identity of each alert that has one (identity.h): an event analysed twice is
     * stored once. Created on an older store too; its alerts are not in it. Keyed by the
     * alert's id so retention deletes its rows by id. */
    "CREATE TABLE IF NOT EXISTS alert_events(id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE);"
    "PRAGMA user_version=4;"
    "COMMIT;";

/* Version 1 kept one alert_kv row per (key, value, alert): each becomes a row of one id. It had
 * no per-minute rollup (it is counted from the alerts), and a time index on ts alone (the
 * schema below creates its successor). */
static const char *const migrate_v1_sql =
    "BEGIN;"
    "ALTER TABLE alert_kv RENAME TO alert_kv_v1;"
    "CREATE TABLE alert_kv("
    "  key_id INTEGER NOT NULL, value TEXT NOT NULL, first_id INTEGER NOT NULL,"
    "  last_id INTEGER NOT NULL, n INTEGER NOT NULL, ids BLOB,"
    "  PRIMARY KEY (key_id, value, first_id)) WITHOUT ROWID;"
    "INSERT INTO alert_kv SELECT key_id, value, id, id, 1, NULL FROM alert_kv_v1;"
    "DROP TABLE alert_kv_v1;"
    "DROP INDEX alerts_ts;"
    "CREATE TABLE alert_rollup_min(ts INTEGER NOT NULL, rule_level INTEGER, n INTEGER NOT NULL);"
    "INSERT INTO alert_rollup_min SELECT ts - (((ts % 60000) + 60000) % 60000) AS m, rule_level,"
    "  count(*) FROM alerts GROUP BY m, rule_level;"
    "CREATE INDEX alert_rollup_min_ts ON alert_rollup_min(ts);"
    "PRAGMA user_version=2;"
    "COMMIT;";

/* Version 2's per-minute rollup counted per level only: it is counted again from the alerts per
 * rule id and level (one pass over the time index, which covers both columns). */
static const char *const migrate_v2_sql =
    "BEGIN;"
    "DROP TABLE alert_rollup_min;"
    "CREATE TABLE alert_rollup_min("
    "  ts INTEGER NOT NULL, rule_id TEXT, rule_level INTEGER, n INTEGER NOT NULL);"
    "INSERT INTO alert_rollup_min SELECT ts - (((ts % 60000) + 60000) % 60000) AS m, rule_id,"
    "  rule_level, count(*) FROM alerts GROUP BY m, rule_id, rule_level;"
    "CREATE INDEX alert_rollup_min_ts ON alert_rollup_min(ts);"
    "PRAGMA user_version=3;"
    "COMMIT;";

/* Version 3 had no per-value rollups and no per-hour id spans: the rollups' hour rows are
 * summed from the hourly rollup, their minute rows and the spans counted from the alerts. The
 * schema below then adds the per-minute rollup's rule index. */
static const char *const migrate_v3_sql =
    "BEGIN;"
    "CREATE TABLE alert_top("
    "  kind INTEGER NOT NULL, ts INTEGER NOT NULL, value NOT NULL, n INTEGER NOT NULL,"
    "  PRIMARY KEY (kind, ts, value)) WITHOUT ROWID;"
    "INSERT INTO alert_top SELECT 0, ts, agent_name, sum(n) AS c FROM alert_rollup"
    "  WHERE agent_name IS NOT NULL GROUP BY ts, agent_name HAVING c <> 0;"
    "INSERT INTO alert_top SELECT 2, ts, rule_set, sum(n) AS c FROM alert_rollup"
    "  WHERE rule_set IS NOT NULL GROUP BY ts, rule_set HAVING c <> 0;"
    "INSERT INTO alert_top SELECT 1, ts - (((ts % 60000) + 60000) % 60000) AS m, agent_name,"
    "  count(*) FROM alerts WHERE agent_name IS NOT NULL GROUP BY m, agent_name;"
    "INSERT INTO alert_top SELECT 3, ts - (((ts % 60000) + 60000) % 60000) AS m, rule_set,"
    "  count(*) FROM alerts WHERE rule_set IS NOT NULL GROUP BY m, rule_set;"
    "CREATE TABLE alert_hour_ids("
    "  ts INTEGER PRIMARY KEY, lo INTEGER NOT NULL, hi INTEGER NOT NULL);"
    "INSERT INTO alert_hour_ids SELECT ts - (((ts % 3600000) + 3600000) % 3600000) AS h, min(id),"
    "  max(id) FROM alerts WHERE full_log IS NOT NULL GROUP BY h;"
    "PRAGMA user_version=4;"
    "COMMIT;";

int tld_sqlite_fail(struct tld_sqlite *s, int sqlite_rc, const char *what)
{
    snprintf(s->err, sizeof(s->err), "%s: %s", what, s->db ? sqlite3_errmsg(s->db) : "no database");
    switch (sqlite_rc & 0xff) {
    case SQLITE_NOMEM:
        return TLD_ENOMEM;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return TLD_EAGAIN;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return TLD_ECORRUPT;
    case SQLITE_FULL:
        return TLD_ELIMIT;
    case SQLITE_ERROR:
    case SQLITE_RANGE:
    case SQLITE_MISUSE:
        return TLD_EINVAL;
    default:
        return TLD_EIO;
    }
}

int tld_sqlite_exec(struct tld_sqlite *s, const char *sql)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : tld_sqlite_fail(s, rc, "exec");
}

static int prepare(struct tld_sqlite *s, const char *sql, sqlite3_stmt **st)
{
    int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
    return rc == SQLITE_OK ? 0 : tld_sqlite_fail(s, rc, "prepare");
}

static int prepare_writer(struct tld_sqlite *s)
{
    int rc = prepare(s,
                     "INSERT INTO alerts(id, ts, alert_id, rule_id, rule_level, rule_desc,"
                     " agent_id, agent_name, agent_ip, manager, decoder, decoder_parent, location,"
                     " container_id, container_name, image, full_log, rule_set, raw)"
                     " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                     &s->ins_alert);
    if (!rc)
        rc = prepare(s, "INSERT INTO alerts_fts(rowid, full_log) VALUES (?, ?)", &s->ins_fts);
    if (!rc)
        rc = prepare(s,
                     "INSERT INTO alert_kv(key_id, value, first_id, last_id, n, ids)"
                     " VALUES (?, ?, ?, ?, ?, ?)",
                     &s->ins_kv);
    if (!rc)
        rc = prepare(s, "SELECT id FROM kv_keys WHERE key = ?", &s->get_key);
    if (!rc)
        rc = prepare(s, "INSERT INTO kv_keys(key) VALUES (?)", &s->ins_key);
    if (!rc)
        rc = prepare(s, "SELECT id FROM rule_sets WHERE body = ?", &s->get_set);
    if (!rc)
        rc = prepare(s, "INSERT INTO rule_sets(body) VALUES (?)", &s->ins_set);
    if (!rc)
        rc = prepare(s, "INSERT OR IGNORE INTO rule_set_kv(key, value, set_id) VALUES (?, ?, ?)",
                     &s->ins_set_kv);
    if (!rc)
        rc = prepare(s,
                     "INSERT INTO alert_rollup(ts, rule_set, rule_id, rule_level, agent_name, n)"
                     " VALUES (?, ?, ?, ?, ?, ?)",
                     &s->rollup.ins);
    if (!rc)
        rc = prepare(s, "UPDATE alert_rollup SET n = n + ? WHERE rowid = ?", &s->rollup.upd);
    if (!rc)
        rc = prepare(s,
                     "INSERT INTO alert_rollup_min(ts, rule_id, rule_level, n) VALUES (?, ?, ?, ?)",
                     &s->rollup_min.ins);
    if (!rc)
        rc =
            prepare(s, "UPDATE alert_rollup_min SET n = n + ? WHERE rowid = ?", &s->rollup_min.upd);
    if (!rc)
        rc = prepare(s,
                     "INSERT INTO alert_top(kind, ts, value, n) VALUES (?, ?, ?, ?)"
                     " ON CONFLICT(kind, ts, value) DO UPDATE SET n = n + excluded.n",
                     &s->top.add);
    if (!rc)
        rc = prepare(s,
                     "INSERT INTO alert_hour_ids(ts, lo, hi) VALUES (?, ?, ?) ON CONFLICT(ts)"
                     " DO UPDATE SET lo = min(lo, excluded.lo), hi = max(hi, excluded.hi)",
                     &s->top.span);
    if (!rc)
        rc = prepare(s, "INSERT OR IGNORE INTO alert_events(id, key) VALUES (?, ?)", &s->ins_event);
    if (!rc)
        rc = prepare(s, "UPDATE store_state SET gen = ?, off = ?, next_id = ? WHERE one = 1",
                     &s->set_pos);
    return rc;
}

/* Brings a database of an earlier schema version to this one. */
static int migrate(struct tld_sqlite *s)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return tld_sqlite_fail(s, rc, "schema version");
    rc = sqlite3_step(st);
    int64_t version = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    int err = rc == SQLITE_ROW ? 0 : tld_sqlite_fail(s, rc, "schema version");
    sqlite3_finalize(st);
    if (!err && version == 1)
        err = tld_sqlite_exec(s, migrate_v1_sql);
    if (!err && version >= 1 && version <= 2)
        err = tld_sqlite_exec(s, migrate_v2_sql);
    if (!err && version >= 1 && version <= 3)
        err = tld_sqlite_exec(s, migrate_v3_sql);
    if (err)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return err;
}

/* A store written by a newer release is refused, never written with this release's schema. A
 * new database has user_version 0 until the schema sets it. */
static int check_version(struct tld_sqlite *s)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return tld_sqlite_fail(s, rc, "user_version");
    int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    /* A reader of a store its writer has not converted yet reads the older rollup. */
    s->minutes_by_rule = version == 0 || version >= 3;
    s->has_top = version == 0 || version >= 4;
    if (version <= SCHEMA_VERSION)
        return 0;
    snprintf(s->err, sizeof s->err,
             "schema version %d is newer than this release's %d: written by a newer release",
             version, SCHEMA_VERSION);
    return TLD_EFORMAT;
}

static int configure(struct tld_sqlite *s, const struct tld_store_config *cfg)
{
    sqlite3_busy_timeout(s->db, cfg->busy_wait_ms ? cfg->busy_wait_ms : 5000);
    sqlite3_extended_result_codes(s->db, 1);
    int rc = tld_sqlite_functions(s->db);
    if (rc == SQLITE_OK)
        rc = tld_sqlite_ids_module(s->db);
    if (rc != SQLITE_OK)
        return tld_sqlite_fail(s, rc, "functions");
    /* WAL: readers never block the writer. NORMAL: alerts.json is the durable record; a power
     * loss costs at most the last transactions, which the position makes us ingest again. */
    if (!cfg->read_only)
        rc = tld_sqlite_exec(s, "PRAGMA page_size=16384; PRAGMA auto_vacuum=INCREMENTAL;"
                                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
    /* A reader handle lives for one API request (or one live tail) and there may be many at
     * once: its cache stays small, the OS page cache keeps what is read often. */
    if (!rc)
        rc = tld_sqlite_exec(s, cfg->read_only
                                    ? "PRAGMA cache_size=-16384; PRAGMA temp_store=MEMORY;"
                                    : "PRAGMA cache_size=-262144; PRAGMA temp_store=MEMORY;");
    if (!rc)
        rc = check_version(s);
    if (!rc && !cfg->read_only && (rc = migrate(s)) == 0)
        s->minutes_by_rule = s->has_top = true;
    if (!rc && !cfg->read_only)
        rc = tld_sqlite_exec(s, schema_sql);
    if (!rc)
        rc = prepare(s, "SELECT gen, off, next_id FROM store_state WHERE one = 1", &s->get_pos);
    if (!rc && !cfg->read_only)
        rc = prepare_writer(s);
    return rc;
}

static void sqlite_close(struct tld_store *base)
{
    struct tld_sqlite *s = (struct tld_sqlite *)base;
    sqlite3_finalize(s->ins_alert);
    sqlite3_finalize(s->ins_fts);
    sqlite3_finalize(s->ins_kv);
    sqlite3_finalize(s->get_pos);
    sqlite3_finalize(s->set_pos);
    sqlite3_finalize(s->get_key);
    sqlite3_finalize(s->ins_key);
    sqlite3_finalize(s->get_set);
    sqlite3_finalize(s->ins_set);
    sqlite3_finalize(s->ins_set_kv);
    sqlite3_finalize(s->ins_event);
    tld_rollup_fini(&s->rollup);
    tld_rollup_fini(&s->rollup_min);
    tld_top_fini(&s->top);
    tld_kv_fini(&s->kv);
    tld_intern_fini(&s->keys);
    tld_intern_fini(&s->sets);
    tld_sb_fini(&s->body);
    sqlite3_close(s->db);
    tld_flat_fini(&s->flat);
    tld_jtree_fini(&s->jt);
    free(s);
}

static pthread_once_t library_once = PTHREAD_ONCE_INIT;

/*
 * SQLite's memory statistics take one process-wide mutex on every allocation: with many reader
 * handles at work at once (API requests) their sorts and group-bys queued on it. Nothing here
 * reads those statistics. It only takes effect before the library's first use, hence once, here.
 */
static void library_init(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    (void)sqlite3_initialize();
}

static int sqlite_open(const struct tld_store_config *cfg, struct tld_store **out)
{
    pthread_once(&library_once, library_init);
    if (!cfg->path)
        return TLD_EINVAL;
    struct tld_sqlite *s = calloc(1, sizeof(*s));
    if (!s)
        return TLD_ENOMEM;
    s->base.ops = &tld_store_sqlite_ops;
    s->read_only = cfg->read_only;
    tld_flat_init(&s->flat);
    tld_jtree_init(&s->jt);
    tld_intern_init(&s->keys);
    tld_intern_init(&s->sets);
    tld_rollup_init(&s->rollup);
    tld_rollup_init(&s->rollup_min);
    s->rollup_min.levels_only = true;
    tld_top_init(&s->top);
    tld_kv_init(&s->kv);
    tld_sb_init(&s->body, 1u << 20);
    int flags = cfg->read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    int src = sqlite3_open_v2(cfg->path, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
    int rc = src == SQLITE_OK ? configure(s, cfg) : tld_sqlite_fail(s, src, "open");
    if (rc) {
        sqlite_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}

/* Reads the stored position and the next id to give. */
int tld_sqlite_state(struct tld_sqlite *s, struct tld_store_pos *pos, int64_t *next_id)
{
    sqlite3_stmt *st = s->get_pos;
    int rc = sqlite3_step(st);
    int err = 0;
    if (rc == SQLITE_ROW) {
        pos->gen = (uint64_t)sqlite3_column_int64(st, 0);
        pos->off = (uint64_t)sqlite3_column_int64(st, 1);
        *next_id = sqlite3_column_int64(st, 2);
    } else {
        err = rc == SQLITE_DONE ? TLD_ECORRUPT : tld_sqlite_fail(s, rc, "position");
    }
    sqlite3_reset(st);
    return err;
}

int tld_sqlite_position(struct tld_store *base, struct tld_store_pos *pos)
{
    int64_t next;
    return tld_sqlite_state((struct tld_sqlite *)base, pos, &next);
}

static int sqlite_last_id(struct tld_store *base, int64_t *id)
{
    struct tld_store_pos pos;
    int64_t next = 1;
    int rc = tld_sqlite_state((struct tld_sqlite *)base, &pos, &next);
    *id = next > 0 ? next - 1 : 0;
    return rc;
}

static const char *sqlite_errmsg(const struct tld_store *base)
{
    return ((const struct tld_sqlite *)base)->err;
}

const struct tld_store_ops tld_store_sqlite_ops = {
    .name = "sqlite",
    .open = sqlite_open,
    .close = sqlite_close,
    .ingest = tld_sqlite_ingest,
    .position = tld_sqlite_position,
    .last_id = sqlite_last_id,
    .search = tld_sqlite_search,
    .count = tld_sqlite_count,
    .span = tld_sqlite_span,
    .histogram = tld_sqlite_histogram,
    .terms = tld_sqlite_terms,
    .get = tld_sqlite_get,
    .tail = tld_sqlite_tail,
    .retain = tld_sqlite_retain,
    .stats = tld_sqlite_stats,
    .errmsg = sqlite_errmsg,
};
