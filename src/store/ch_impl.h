/*
 * The ClickHouse backend's handle and the pieces its files share. ClickHouse 18.16 (Debian's)
 * has no query parameters, so values travel beside the SQL as an external data table `_v`
 * (i UInt32, s String, n Int64, d Float64) and the SQL reads them with scalar subqueries, which
 * ClickHouse evaluates first and treats as constants. Private to src/store/.
 */
#ifndef TLD_STORE_CH_IMPL_H
#define TLD_STORE_CH_IMPL_H

#include <curl/curl.h>

#include "common/str.h"
#include "store/flatten.h"
#include "store/identity.h"
#include "store/store_impl.h"

#define TLD_CH_MAX_URLS 64

struct tld_ch {
    struct tld_store base;
    CURL *curl;
    char *urls[TLD_CH_MAX_URLS]; /* the endpoints; one unless a cluster is named */
    size_t nurls, cur;           /* reads and DDL go to urls[cur] first */
    char *table;                 /* what reads query: the table, or the cluster's Distributed one */
    char *cluster;               /* NULL: a single server */
    char *local;                 /* cluster: the ReplicatedMergeTree table on every node */
    char *db;                    /* cluster: the database, as the server names it */
    int shard_of[TLD_CH_MAX_URLS];      /* cluster: each endpoint's shard (index), -1 unknown */
    char *shard_names[TLD_CH_MAX_URLS]; /* cluster: the {shard} macro of each shard index */
    size_t nshards, next_shard;         /* shards known so far; where the next batch goes */
    char *writer;            /* this writer's name among the store's ("" when it is the only one) */
    unsigned slot;           /* writer mode: the low bits of every id this writer gives */
    bool slot_checked;       /* no other writer's rows use `slot` (checked once per handle) */
    struct tld_ch_key *keys; /* the event identities of the batch being built */
    unsigned nkeys, keys_cap;
    bool read_only;
    bool known; /* pos and next_id below are the stored state (set after each good insert) */
    struct tld_store_pos pos;
    int64_t next_id;
    struct tld_flat flat;
    struct tld_sb rows; /* RowBinary of the batch being inserted */
    struct tld_sb resp; /* the last response body */
    char err[256];
};

/* A row of the batch that carries an event identity: where its bytes are in `rows`. */
struct tld_ch_key {
    char key[TLD_EVENT_KEY_MAX];
    size_t off, len;
    int64_t ts_ms;
    bool dup;
};

/* A statement under construction: SQL text and the rows of its `_v` table. */
struct tld_chq {
    const char *url_extra; /* appended to the URL: "&setting=value" (fixed text, no values) */
    bool global_in;        /* IN subqueries as GLOBAL IN (reads of a Distributed table) */
    struct tld_sb sql;
    struct tld_sb values; /* TabSeparated rows of _v */
    unsigned nvalues;
    int rc;
};

void tld_chq_init(struct tld_chq *q);
void tld_chq_fini(struct tld_chq *q);
void tld_chq_emit(struct tld_chq *q, const char *s);
/* Appends a reference to a new bound value: "(SELECT s FROM _v WHERE i = N)" (or n, d). */
void tld_chq_text(struct tld_chq *q, const char *p, size_t n);
void tld_chq_int(struct tld_chq *q, int64_t v);
/* Adds a text row to `_v` without referring to it (a list the SQL reads whole). */
void tld_chq_text_row(struct tld_chq *q, const char *p, size_t n);
void tld_chq_real(struct tld_chq *q, double v);
/* Appends "<time range> AND <query>" over the alerts table's columns. */
void tld_chq_where(struct tld_chq *q, const struct tld_store_filter *f);

/*
 * Runs `q` (its SQL, with `_v` attached when it has values) and leaves the response body in
 * s->resp. `body`, if not NULL, is POSTed as the data of an INSERT. Tries the endpoints from
 * urls[cur] on while one cannot be reached (an INSERT: only urls[cur]).
 */
int tld_ch_run(struct tld_ch *s, struct tld_chq *q, const void *body, size_t n);
/*
 * Runs `q` on endpoint `at` only. TLD_ECLOSED: the endpoint refused the connection, so nothing
 * was sent; TLD_EPROTO: the server answered with an error; TLD_EIO, TLD_ETIMEOUT: the
 * request may or may not have reached it.
 */
int tld_ch_run_at(struct tld_ch *s, size_t at, struct tld_chq *q, const void *body, size_t n);
/* Runs a statement with no values. */
int tld_ch_exec(struct tld_ch *s, const char *sql);

/* RowBinary readers over s->resp: each returns false past the end. */
struct tld_chrd {
    const unsigned char *p, *end;
};
bool tld_chrd_u64(struct tld_chrd *r, uint64_t *v);
bool tld_chrd_str(struct tld_chrd *r, const char **p, size_t *n);

/* Identifiers spliced into SQL (tables, database, cluster): letters, digits, '_'. */
bool tld_ch_ident(const char *t);

/* Event identities (ch_dedup.c). */
/* Notes row [off, off+len) of s->rows as the alert of event `key` (time ts_ms). */
int tld_ch_key_add(struct tld_ch *s, const char *key, size_t off, size_t len, int64_t ts_ms);
/*
 * Drops from s->rows the noted rows whose event already has an alert in the store, or an
 * earlier row of the batch; *dropped counts them. Forgets the notes.
 */
int tld_ch_drop_stored(struct tld_ch *s, size_t *dropped);
/* Writer mode: the writer's slot (from its name); TLD_EEXIST when another writer's rows use it. */
int tld_ch_writer_slot(struct tld_ch *s);
/* The id after `last` for this handle's writer (writer mode: time-ordered, in its slot). */
int64_t tld_ch_next_id(const struct tld_ch *s, int64_t last, int64_t now_ms);

/* Cluster mode (ch_cluster.c): the tables on every node, the stored state read from one
 * caught-up replica of every shard, and an insert routed whole to one shard. */
/* Learns the database; a writer also creates the tables (ON CLUSTER) if this node lacks them. */
int tld_ch_cluster_open(struct tld_ch *s, const char *columns);
int tld_ch_cluster_state(struct tld_ch *s, struct tld_store_pos *pos, int64_t *next_id);
int tld_ch_cluster_insert(struct tld_ch *s, struct tld_chq *q);
/* Retention by age on every shard: ALTER ... DELETE ON CLUSTER, waited for on every node up. */
int tld_ch_cluster_retain(struct tld_ch *s, int64_t min_ts_ms);
int tld_ch_cluster_wait_mutations(struct tld_ch *s);
/* The bytes of the local table's parts on every node that answers (replicas included). */
int tld_ch_cluster_bytes(struct tld_ch *s, uint64_t *bytes);

int tld_ch_ingest(struct tld_store *base, const struct tld_store_batch *b, size_t *stored);
int tld_ch_position(struct tld_store *base, struct tld_store_pos *pos);
int tld_ch_search(struct tld_store *base, const struct tld_store_search *q, tld_store_hit_fn fn,
                  void *ctx, struct tld_store_cursor *next, bool *more);
int tld_ch_count(struct tld_store *base, const struct tld_store_filter *f, uint64_t cap,
                 uint64_t *count);
int tld_ch_span(struct tld_store *base, const struct tld_store_filter *f, int64_t *min_ms,
                int64_t *max_ms, bool *any);
int tld_ch_histogram(struct tld_store *base, const struct tld_store_filter *f, int64_t interval_ms,
                     tld_store_bucket_fn fn, void *ctx);
int tld_ch_terms(struct tld_store *base, const struct tld_store_filter *f, const char *field,
                 size_t size, tld_store_term_fn fn, void *ctx);
int tld_ch_get(struct tld_store *base, int64_t id, tld_store_hit_fn fn, void *ctx);
int tld_ch_tail(struct tld_store *base, const struct tld_store_filter *f, int64_t after_id,
                size_t limit, tld_store_hit_fn fn, void *ctx, int64_t *last_id);
int tld_ch_retain(struct tld_store *base, int64_t min_ts_ms, uint64_t max_bytes, uint64_t *deleted);
int tld_ch_stats(struct tld_store *base, struct tld_store_stats *st);

#endif
