/*
 * The SQLite backend's handle and the pieces its files share: the query compiler's output
 * (SQL text with '?' placeholders plus the values to bind) and the SQL functions it relies on.
 * Private to src/store/.
 */
#ifndef TLD_STORE_SQLITE_IMPL_H
#define TLD_STORE_SQLITE_IMPL_H

#include <sqlite3.h>

#include "common/str.h"
#include "store/flatten.h"
#include "store/intern.h"
#include "store/store_impl.h"

struct tld_rollup_group;
struct tld_kv_list;
struct tld_kv_hit;

/* The data.* rows of the batch being stored, one per distinct (key, value) (sqlite_kv.c). */
struct tld_kv {
    struct tld_kv_list *lists;
    struct tld_kv_hit *hits;
    unsigned nlists, lists_cap, nhits, hits_cap;
    unsigned *order; /* flush: lists in (key, value) order */
    int64_t *sorted; /* flush: the ids of each list, together */
    unsigned order_cap, sorted_cap;
    struct tld_intern index; /* key id + value -> index in lists */
    struct tld_sb text;      /* the values */
    struct tld_sb scratch;
    struct tld_sb blob;
};

/* The rollup counts of the batch being stored (sqlite_rollup.c). */
struct tld_rollup {
    struct tld_rollup_group *groups;
    /* n stays <= the lines of one batch, which the feed counts in an unsigned */
    unsigned n, cap;
    struct tld_intern index; /* group key -> index in groups */
    struct tld_intern rows;  /* group key -> its alert_rollup rowid, across batches */
    struct tld_sb key;       /* scratch */
    bool levels_only;        /* the per-minute rollup: counts per (minute, rule id, level) */
    sqlite3_stmt *ins, *upd; /* add a row; add to a row */
};

/* The per-value rollups' counts of the batch being stored (sqlite_top.c). */
enum {
    TLD_TOP_AGENT_HOUR,
    TLD_TOP_AGENT_MINUTE,
    TLD_TOP_SET_HOUR,
    TLD_TOP_SET_MINUTE,
    TLD_TOP_IDS
};

struct tld_top_group;

struct tld_top {
    struct tld_top_group *groups;
    unsigned n, cap;
    struct tld_intern index; /* group key -> index in groups */
    struct tld_sb key;       /* scratch */
    sqlite3_stmt *add;       /* add a count to its row */
    sqlite3_stmt *span;      /* widen an hour's id span */
};

struct tld_sqlite {
    struct tld_store base;
    sqlite3 *db;
    bool read_only;
    sqlite3_stmt *ins_alert, *ins_fts, *ins_kv, *get_pos, *set_pos;
    sqlite3_stmt *get_key, *ins_key, *get_set, *ins_set, *ins_set_kv, *ins_event;
    struct tld_rollup rollup;     /* per hour and (rule set, rule id, level, agent) */
    struct tld_rollup rollup_min; /* per minute, rule id and level */
    bool minutes_by_rule;         /* the per-minute rollup has rule ids (schema 3) */
    struct tld_top top;           /* per (hour or minute) and (agent name or rule set) */
    bool has_top;                 /* the per-value rollups exist (schema 4) */
    struct tld_kv kv;
    struct tld_flat flat;
    struct tld_jtree jt;    /* the line being stored, parsed */
    struct tld_intern keys; /* data.* key name -> kv_keys.id */
    struct tld_intern sets; /* rule set body -> rule_sets.id */
    struct tld_sb body;     /* scratch: the rule set body of the alert being stored */
    char err[256];
};

enum tld_sqlp_type { TLD_SQLP_TEXT, TLD_SQLP_INT, TLD_SQLP_REAL };

struct tld_sqlp {
    enum tld_sqlp_type type;
    const char *p; /* TEXT: into the query tree or the owned strings below */
    size_t n;
    int64_t i;
    double d;
};

/* A WHERE clause under construction. Values only ever go to `params`, never into `sql`. */
struct tld_sql {
    struct tld_sb sql;
    struct tld_sqlp *params;
    /* a query has at most a few thousand terms (query.c), so a few thousand values */
    unsigned nparams, cap;
    char **owned; /* texts made for binding (patterns, paths) */
    unsigned nowned, owned_cap;
    int rc;
    /* alert_hour_ids exists: a full-text term reads only the ids of the range's hours */
    bool id_spans;
    int64_t from_ms, to_ms; /* the range of the WHERE clause being built */
};

void tld_sql_init(struct tld_sql *q);
void tld_sql_fini(struct tld_sql *q);

/* Appends "<time range> AND <query>" over the alerts table aliased `a`. */
void tld_sql_where(struct tld_sql *q, const struct tld_store_filter *f);

/* The SQL expression of the text of raw-field value `j` (a json_each row), and its FROM item. */
void tld_sql_raw_source(struct tld_sql *q, const char *field);
#define TLD_SQL_RAW_TEXT                                                                           \
    "(CASE j.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(j.atom AS TEXT) "    \
    "END)"
#define TLD_SQL_RAW_OK "j.type NOT IN ('object','array','null') AND typeof(j.key) <> 'text'"

void tld_sql_param_text(struct tld_sql *q, const char *p, size_t n);
void tld_sql_param_int(struct tld_sql *q, int64_t v);
void tld_sql_param_real(struct tld_sql *q, double d);
/* Takes ownership of `p` (malloc'd, NUL-terminated). */
void tld_sql_param_owned(struct tld_sql *q, char *p, size_t n);

/* Appends fixed SQL text (never a value). */
void tld_sql_emit(struct tld_sql *q, const char *s);

/* Prepares the text of `q` and binds its parameters. */
int tld_sql_prepare(struct tld_sqlite *s, struct tld_sql *q, sqlite3_stmt **st);

/* The SQL functions tld_regexp(pattern, value) and tld_num(value). */
int tld_sqlite_functions(sqlite3 *db);

void tld_kv_init(struct tld_kv *kv);
void tld_kv_fini(struct tld_kv *kv);
/* Forgets the batch's rows (after a rollback too). */
void tld_kv_reset(struct tld_kv *kv);
/* Notes that alert `id` (ids only grow within a batch) holds `value` under key `key_id`. */
int tld_kv_add(struct tld_kv *kv, int64_t key_id, struct tld_sv value, int64_t id);
/* Writes the batch's alert_kv rows. */
int tld_kv_flush(struct tld_sqlite *s);

/* The table-valued function tld_ids(first_id, ids) (sqlite_ids.c). */
int tld_sqlite_ids_module(sqlite3 *db);
/* LEB128 varints: bytes written (at most 10); bytes read, 0 if `p` holds no whole varint. */
size_t tld_varint_put(unsigned char out[10], uint64_t v);
size_t tld_varint_get(const unsigned char *p, size_t avail, uint64_t *v);

void tld_rollup_init(struct tld_rollup *r);
void tld_rollup_fini(struct tld_rollup *r);
/* Forgets the batch's counts (after a rollback too). */
void tld_rollup_reset(struct tld_rollup *r);
/* Forgets which rows earlier batches wrote (after a rollback or a retention run). */
void tld_rollup_forget(struct tld_rollup *r);
/* Counts one stored alert (`f` NULL for a line that is not an alert object). */
int tld_rollup_count(struct tld_sqlite *s, int64_t ts, int64_t set, const struct tld_flat *f);
/* Appends the batch's counts to alert_rollup and alert_rollup_min. */
int tld_rollup_flush(struct tld_sqlite *s);
int64_t tld_rollup_hour(int64_t ts);
int64_t tld_rollup_minute(int64_t ts);
/* Whether a filter can be answered from the rollup: it tests rollup fields only. */
bool tld_sqlite_rollup_ok(const struct tld_store_filter *f);
/* Whether it can be answered from the per-minute rollup: it tests rule.level and rule.id only
 * (rule.level only on a store of schema 2 that its writer has not converted yet). */
bool tld_sqlite_rollup_min_ok(const struct tld_sqlite *s, const struct tld_store_filter *f);
/*
 * Emits the FROM item "(...) a" giving rows (ts, rule_set, rule_id, rule_level, agent_name, n)
 * whose n add up, per value, to the alerts of the filter's range: rollup rows for its whole
 * hours, one row per alert for the rest. ts is an hour for the former. With `minutes`, the rows
 * are (ts, rule_id, rule_level, n) from the per-minute rollup and the alerts of the partial
 * minutes.
 */
void tld_sqlite_rollup_source(const struct tld_sqlite *s, struct tld_sql *q,
                              const struct tld_store_filter *f, bool minutes);

void tld_top_init(struct tld_top *t);
void tld_top_fini(struct tld_top *t);
/* Forgets the batch's counts (after a rollback too). */
void tld_top_reset(struct tld_top *t);
/* Counts one stored alert object of rule set `set` (-1 for none), of id `id`. */
int tld_top_count(struct tld_sqlite *s, int64_t ts, int64_t set, const struct tld_flat *f,
                  int64_t id);
/* Adds the batch's counts to alert_top and its id spans to alert_hour_ids. */
int tld_top_flush(struct tld_sqlite *s);
/* Whether top values of agent.name or of a rule array field can come from alert_top: the store
 * has it and the filter is a time range only. */
bool tld_sqlite_top_ok(const struct tld_sqlite *s, const struct tld_store_filter *f);
/*
 * Emits the FROM item "(...) t" giving rows (v, c) whose c add up, per value v, to the alerts of
 * the filter's range with that agent name (`sets`: that rule set id): alert_top rows for its
 * whole hours and minutes, one row per alert for the partial minutes at its ends.
 */
void tld_sqlite_top_source(struct tld_sql *q, const struct tld_store_filter *f, bool sets);
/* The SQL conditions "rowid >= ? AND rowid <= ?" bounding the ids of the alerts of [from, to)
 * that have a full_log, from the per-hour id spans. */
void tld_sqlite_id_span(struct tld_sql *q, int64_t from_ms, int64_t to_ms);

/* Records SQLite's message for the log and maps its code to a tld_err. */
int tld_sqlite_fail(struct tld_sqlite *s, int sqlite_rc, const char *what);

int tld_sqlite_exec(struct tld_sqlite *s, const char *sql);

/* The stored position and the next id to give. */
int tld_sqlite_state(struct tld_sqlite *s, struct tld_store_pos *pos, int64_t *next_id);

int tld_sqlite_search(struct tld_store *base, const struct tld_store_search *q, tld_store_hit_fn fn,
                      void *ctx, struct tld_store_cursor *next, bool *more);
int tld_sqlite_count(struct tld_store *base, const struct tld_store_filter *f, uint64_t cap,
                     uint64_t *count);
int tld_sqlite_span(struct tld_store *base, const struct tld_store_filter *f, int64_t *min_ms,
                    int64_t *max_ms, bool *any);
int tld_sqlite_histogram(struct tld_store *base, const struct tld_store_filter *f,
                         int64_t interval_ms, tld_store_bucket_fn fn, void *ctx);
int tld_sqlite_terms(struct tld_store *base, const struct tld_store_filter *f, const char *field,
                     size_t size, tld_store_term_fn fn, void *ctx);
int tld_sqlite_get(struct tld_store *base, int64_t id, tld_store_hit_fn fn, void *ctx);
int tld_sqlite_tail(struct tld_store *base, const struct tld_store_filter *f, int64_t after_id,
                    size_t limit, tld_store_hit_fn fn, void *ctx, int64_t *last_id);
int tld_sqlite_ingest(struct tld_store *base, const struct tld_store_batch *b, size_t *stored);
int tld_sqlite_position(struct tld_store *base, struct tld_store_pos *pos);
int tld_sqlite_retain(struct tld_store *base, int64_t min_ts_ms, uint64_t max_bytes,
                      uint64_t *deleted);
int tld_sqlite_stats(struct tld_store *base, struct tld_store_stats *st);

#endif
