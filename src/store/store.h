/*
 * The alert store: where alerts written to alerts.json are kept for searching, counting and
 * charting. One interface, several backends (SQLite embedded by default; others plug in through
 * the same table of operations in store_impl.h). A store is fed from the alert stream in order
 * and records, in the same transaction as the rows, the position in that stream the batch ends
 * at; after a crash the feeder resumes from tld_store_position(), and a line whose position is
 * not past the stored one is skipped, so every alert is stored exactly once.
 *
 * A handle is used by one thread at a time. Readers that must not wait for the writer open their
 * own handle on the same store.
 */
#ifndef TLD_STORE_STORE_H
#define TLD_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/query.h"

struct tld_store;

enum tld_store_backend {
    TLD_STORE_SQLITE = 0,
    TLD_STORE_CLICKHOUSE,
};

struct tld_store_config {
    enum tld_store_backend backend;
    const char *path; /* SQLite: the database file (created with its schema if missing) */
    /* ClickHouse: its HTTP interface, "http://127.0.0.1:8123/"; with a cluster, the interfaces
     * of its nodes separated by spaces or commas */
    const char *url;
    const char *table;   /* ClickHouse: the table (created if missing); NULL = "tld_alerts" */
    const char *cluster; /* ClickHouse: the cluster (remote_servers) holding the store; NULL:
                          * one server */
    /* ClickHouse: the name this writer's stream position and ids are kept under when several
     * managers feed one store (letters, digits, '_'); NULL or "": the only writer */
    const char *writer;
    bool read_only;   /* a reader handle: no schema creation, no ingest */
    int busy_wait_ms; /* how long a statement waits for another connection's lock; 0 = 5000 */
};

/*
 * A place in the alert stream. `gen` tells files apart (the feeder's choice: a rotation
 * counter, a file identity), `off` is the byte offset just past a line inside it. Positions are
 * ordered by (gen, off).
 */
struct tld_store_pos {
    uint64_t gen;
    uint64_t off;
};

/* One alerts.json line: its bytes without the newline, and the position just past it. */
struct tld_store_line {
    const char *p;
    size_t n;
    struct tld_store_pos end;
};

struct tld_store_batch {
    const struct tld_store_line *lines;
    size_t n;
    /* Time given to an alert that has no readable timestamp (epoch ms); the ingest time. */
    int64_t now_ms;
};

/* Where a page of search results stopped; the next page starts strictly after it. */
struct tld_store_cursor {
    int64_t ts_ms;
    int64_t id;
};

/* One stored alert handed to a callback; the pointers live until the callback returns. */
struct tld_store_hit {
    int64_t id;    /* the store's own id: increasing in ingest order, never reused */
    int64_t ts_ms; /* the alert's timestamp, epoch ms UTC */
    const char *raw;
    size_t raw_n; /* the alerts.json line, byte for byte */
};

/* Return 0 to go on, a negative tld_err to stop (passed back to the caller). */
typedef int (*tld_store_hit_fn)(void *ctx, const struct tld_store_hit *hit);
typedef int (*tld_store_bucket_fn)(void *ctx, int64_t start_ms, uint64_t count);
typedef int (*tld_store_term_fn)(void *ctx, const char *value, size_t n, uint64_t count);

/* What to look at: a compiled query (NULL = every alert) and a time range [from_ms, to_ms). */
struct tld_store_filter {
    const struct tld_query *query;
    int64_t from_ms;
    int64_t to_ms; /* INT64_MAX for "no end" */
};

struct tld_store_search {
    struct tld_store_filter filter;
    bool ascending; /* default: newest first */
    size_t limit;
    const struct tld_store_cursor *after; /* NULL for the first page */
};

struct tld_store_stats {
    uint64_t alerts;
    uint64_t bytes; /* disk in use by the store */
    int64_t oldest_ms, newest_ms;
};

int tld_store_open(const struct tld_store_config *cfg, struct tld_store **out);
void tld_store_close(struct tld_store *s);

/*
 * Stores the lines whose end position is past the stored one, and moves the stored position to
 * the last line's end, all in one transaction. `*stored` counts the lines stored (the others were
 * already there). Lines must come in stream order. No alert is refused for its content: a line
 * that is not JSON is kept with the batch's now_ms as its time.
 */
int tld_store_ingest(struct tld_store *s, const struct tld_store_batch *b, size_t *stored);

/* The position the store has everything up to ({0,0} for a new store). */
int tld_store_position(struct tld_store *s, struct tld_store_pos *pos);

/*
 * The id of the last alert stored (0 for a new store): a live tail that starts now continues
 * after it with tld_store_tail.
 */
int tld_store_last_id(struct tld_store *s, int64_t *id);

/*
 * Up to `limit` alerts matching, sorted by (time, id) descending (or ascending), starting after
 * `after`. `*next` is the cursor of the last alert handed out; `*more` says if another page may
 * follow. Pages never get slower with depth: they continue from the cursor, not an offset.
 */
int tld_store_search(struct tld_store *s, const struct tld_store_search *q, tld_store_hit_fn fn,
                     void *ctx, struct tld_store_cursor *next, bool *more);

int tld_store_count(struct tld_store *s, const struct tld_store_filter *f, uint64_t *count);

/*
 * A count that stays cheap on a large store: matching alerts are counted exactly up to
 * `bound`. When at most `bound` match, `*count` is their number and `*exact` is true; when more
 * match, `*count` is `bound` and `*exact` false (a lower bound). The same on every backend, even
 * where a backend could count further cheaply. UINT64_MAX counts all (as tld_store_count).
 */
int tld_store_count_upto(struct tld_store *s, const struct tld_store_filter *f, uint64_t bound,
                         uint64_t *count, bool *exact);

/*
 * Alert counts per time bucket, buckets in ascending order, empty ones left out. interval_ms 0
 * picks a round interval giving at most about 60 buckets over the range (the matching alerts'
 * own span when the range is open); the interval used is put in `*interval_used`.
 */
int tld_store_histogram(struct tld_store *s, const struct tld_store_filter *f, int64_t interval_ms,
                        tld_store_bucket_fn fn, void *ctx, int64_t *interval_used);

/*
 * The `size` most frequent values of a field among matching alerts, most frequent first (ties
 * by value). An array field counts each of its values once per alert.
 */
int tld_store_terms(struct tld_store *s, const struct tld_store_filter *f, const char *field,
                    size_t size, tld_store_term_fn fn, void *ctx);

/* The alert with that store id; TLD_ENOTFOUND if there is none. */
int tld_store_get(struct tld_store *s, int64_t id, tld_store_hit_fn fn, void *ctx);

/*
 * The alert whose alerts.json "id" is `alert_id` ("<seconds>.<offset>"); TLD_ENOTFOUND if there
 * is none, TLD_EINVAL if it is not of that form.
 */
int tld_store_get_by_alert_id(struct tld_store *s, const char *alert_id, tld_store_hit_fn fn,
                              void *ctx);

/*
 * Alerts stored after id `after_id` (ingest order), matching the filter, at most `limit`; for a
 * live tail. `*last_id` is the id to continue after (unchanged when nothing new came).
 */
int tld_store_tail(struct tld_store *s, const struct tld_store_filter *f, int64_t after_id,
                   size_t limit, tld_store_hit_fn fn, void *ctx, int64_t *last_id);

/*
 * Deletes alerts older than `min_ts_ms` (0: no age limit), then the oldest ones until the store
 * uses at most `max_bytes` (0: no size limit). `*deleted` counts the alerts removed.
 */
int tld_store_retain(struct tld_store *s, int64_t min_ts_ms, uint64_t max_bytes, uint64_t *deleted);

int tld_store_stats(struct tld_store *s, struct tld_store_stats *st);

/*
 * The WHERE clause `backend` runs for a filter, with '?' where values are bound and the number
 * of bound values; for logs, debugging and the tests that prove no value reaches the SQL text.
 * `*sql` is malloc'd, the caller frees it.
 */
int tld_store_explain(enum tld_store_backend backend, const struct tld_store_filter *f, char **sql,
                      size_t *nparams);

/* The backend's last error text, for logs ("" when there is none). */
const char *tld_store_errmsg(const struct tld_store *s);

#endif
