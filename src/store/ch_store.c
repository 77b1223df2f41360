/*
 * ClickHouse backend: opening (the table is created on first use; the schema works on Debian's
 * 18.16), ingest, the stored position, retention. ClickHouse has no transactions, so exactly-once
 * rests on two facts: an INSERT of one block becomes one part, all or nothing (batches are far
 * below max_insert_block_size, and the table is not partitioned, so a batch is never split
 * across parts); and every row carries the stream position it ends at, so the store's position
 * is the largest one stored and survives anything that did not lose the rows themselves. The
 * position is read from the server when a handle starts or after a failure, and kept in the
 * handle after each insert that succeeded. A cluster (ch_cluster.c) keeps the same rules per
 * shard.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/err.h"
#include "store/ch_impl.h"
#include "store/fields.h"

static const char *const schema_columns =
    " (id UInt64, ts_ms Int64, pos_gen UInt64, pos_off UInt64, writer String, ev_key String,"
    " alert_id Nullable(String), rule_id Nullable(String), rule_level Nullable(Int64),"
    " rule_desc Nullable(String), agent_id Nullable(String), agent_name Nullable(String),"
    " agent_ip Nullable(String), manager Nullable(String), decoder Nullable(String),"
    " decoder_parent Nullable(String), location Nullable(String), container_id Nullable(String),"
    " container_name Nullable(String), image Nullable(String), full_log Nullable(String),"
    " set_keys Array(String), set_values Array(String), data_keys Array(String),"
    " data_values Array(String), other_keys Array(String), other_values Array(String),"
    " raw String)";

static const char *const schema_engine =
    " ENGINE = MergeTree ORDER BY (ts_ms, id) SETTINGS index_granularity = 8192";

bool tld_ch_ident(const char *t)
{
    if (!*t || strlen(t) > 64)
        return false;
    for (const char *p = t; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return false;
    return true;
}

static void ch_close(struct tld_store *base)
{
    struct tld_ch *s = (struct tld_ch *)base;
    if (s->curl)
        curl_easy_cleanup(s->curl);
    for (size_t i = 0; i < s->nurls; i++)
        free(s->urls[i]);
    for (size_t i = 0; i < s->nshards; i++)
        free(s->shard_names[i]);
    free(s->table);
    free(s->cluster);
    free(s->local);
    free(s->db);
    free(s->writer);
    free(s->keys);
    tld_flat_fini(&s->flat);
    tld_sb_fini(&s->rows);
    tld_sb_fini(&s->resp);
    free(s);
}

/* The endpoints of `list` (separated by spaces, tabs, newlines or commas) into s->urls. */
static int split_urls(struct tld_ch *s, const char *list)
{
    const char *seps = " \t\r\n,";
    for (const char *p = list + strspn(list, seps); *p; p += strspn(p, seps)) {
        size_t n = strcspn(p, seps);
        if (s->nurls == TLD_CH_MAX_URLS)
            return TLD_ELIMIT;
        s->shard_of[s->nurls] = -1;
        if (!(s->urls[s->nurls++] = strndup(p, n)))
            return TLD_ENOMEM;
        p += n;
    }
    return s->nurls ? 0 : TLD_EINVAL;
}

static int names(struct tld_ch *s, const struct tld_store_config *cfg, const char *table)
{
    s->table = strdup(table);
    s->writer = strdup(cfg->writer ? cfg->writer : "");
    if (!s->table || !s->writer)
        return TLD_ENOMEM;
    if (!cfg->cluster)
        return 0;
    size_t n = strlen(table) + sizeof("_local");
    s->cluster = strdup(cfg->cluster);
    s->local = malloc(n);
    if (!s->cluster || !s->local)
        return TLD_ENOMEM;
    snprintf(s->local, n, "%s_local", table);
    return 0;
}

static int create_table(struct tld_ch *s)
{
    struct tld_sb ddl;
    tld_sb_init(&ddl, 8192);
    tld_sb_printf(&ddl, "CREATE TABLE IF NOT EXISTS %s%s%s", s->table, schema_columns,
                  schema_engine);
    int rc = tld_ch_exec(s, tld_sb_cstr(&ddl));
    tld_sb_fini(&ddl);
    return rc;
}

static int ch_open(const struct tld_store_config *cfg, struct tld_store **out)
{
    const char *table = cfg->table ? cfg->table : "tld_alerts";
    if (!cfg->url || !tld_ch_ident(table) || strlen(table) > 48 ||
        (cfg->cluster && !tld_ch_ident(cfg->cluster)) ||
        (cfg->writer && cfg->writer[0] && !tld_ch_ident(cfg->writer)))
        return TLD_EINVAL;
    struct tld_ch *s = calloc(1, sizeof(*s));
    if (!s)
        return TLD_ENOMEM;
    s->base.ops = &tld_store_clickhouse_ops;
    s->read_only = cfg->read_only;
    tld_flat_init(&s->flat);
    tld_sb_init(&s->rows, 1u << 30);
    tld_sb_init(&s->resp, 256u << 20);
    s->curl = curl_easy_init();
    int rc = s->curl ? split_urls(s, cfg->url) : TLD_ENOMEM;
    if (!rc && s->nurls > 1 && !cfg->cluster)
        rc = TLD_EINVAL; /* several servers without a cluster would each hold a part */
    if (!rc)
        rc = names(s, cfg, table);
    if (!rc && s->cluster)
        rc = tld_ch_cluster_open(s, schema_columns);
    else if (!rc && !cfg->read_only)
        rc = create_table(s);
    if (rc) {
        ch_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}

/* The stored position (the largest among this writer's rows) and the next id (after every
 * writer's). */
static int server_state(struct tld_ch *s, struct tld_store_pos *pos, int64_t *next_id)
{
    struct tld_chq q;
    tld_chq_init(&q);
    /* The writer's name was checked to be a plain name at open. */
    tld_sb_printf(&q.sql,
                  "SELECT max((if(writer = '%s', pos_gen, 0), if(writer = '%s', pos_off, 0))),"
                  " max(id) FROM %s FORMAT RowBinary",
                  s->writer, s->writer, s->table);
    int rc = tld_ch_run(s, &q, NULL, 0);
    tld_chq_fini(&q);
    if (rc)
        return rc;
    struct tld_chrd r = {(const unsigned char *)s->resp.p,
                         (const unsigned char *)s->resp.p + s->resp.n};
    uint64_t id;
    if (!tld_chrd_u64(&r, &pos->gen) || !tld_chrd_u64(&r, &pos->off) || !tld_chrd_u64(&r, &id))
        return TLD_EPROTO;
    *next_id = (int64_t)id + 1;
    return 0;
}

static int state(struct tld_ch *s, struct tld_store_pos *pos, int64_t *next_id)
{
    if (!s->known) {
        int rc = s->cluster ? tld_ch_cluster_state(s, &s->pos, &s->next_id)
                            : server_state(s, &s->pos, &s->next_id);
        if (!rc && !s->read_only)
            rc = tld_ch_writer_slot(s);
        if (rc)
            return rc;
        s->known = true;
    }
    *pos = s->pos;
    *next_id = s->next_id;
    return 0;
}

int tld_ch_position(struct tld_store *base, struct tld_store_pos *pos)
{
    int64_t next;
    return state((struct tld_ch *)base, pos, &next);
}

static int ch_last_id(struct tld_store *base, int64_t *id)
{
    struct tld_store_pos pos;
    int64_t next = 1;
    struct tld_ch *s = (struct tld_ch *)base;
    s->known = false; /* a reader's cached state is stale as soon as the writer adds a row */
    int rc = state(s, &pos, &next);
    *id = next > 0 ? next - 1 : 0;
    return rc;
}

static void varint(struct tld_sb *out, uint64_t v)
{
    while (v >= 0x80) {
        tld_sb_append_char(out, (char)(v | 0x80));
        v >>= 7;
    }
    tld_sb_append_char(out, (char)v);
}

static void put_u64(struct tld_sb *out, uint64_t v)
{
    tld_sb_append(out, &v, 8); /* RowBinary is little-endian, as is every target of this code */
}

static void put_str(struct tld_sb *out, struct tld_sv v)
{
    varint(out, v.n);
    tld_sb_append_sv(out, v);
}

static void put_nullable(struct tld_sb *out, struct tld_sv v)
{
    tld_sb_append_char(out, v.p ? 0 : 1);
    if (v.p)
        put_str(out, v);
}

/* Keys or values of the pairs [from, to) as an Array(String). */
static void put_pairs(struct tld_sb *out, const struct tld_flat *f, size_t from, size_t to,
                      bool keys)
{
    varint(out, to - from);
    for (size_t i = from; i < to; i++)
        put_str(out, keys ? tld_flat_key(f, i) : tld_flat_value(f, i));
}

static void put_row(struct tld_ch *s, int64_t id, int64_t ts, struct tld_store_pos pos,
                    const struct tld_store_line *l, const struct tld_flat *f, const char *key)
{
    struct tld_sb *o = &s->rows;
    put_u64(o, (uint64_t)id);
    put_u64(o, (uint64_t)ts);
    put_u64(o, pos.gen);
    put_u64(o, pos.off);
    put_str(o, tld_sv_of(s->writer));
    put_str(o, tld_sv_of(key));
    for (int c = 0; c < TLD_COL_COUNT; c++) {
        if (c == TLD_COL_RULE_LEVEL) {
            tld_sb_append_char(o, f && f->has_level ? 0 : 1);
            if (f && f->has_level)
                put_u64(o, (uint64_t)f->level);
        } else {
            put_nullable(o, f ? f->col[c] : (struct tld_sv){0});
        }
    }
    size_t nd = f ? f->ndata : 0, ns = f ? f->nset : 0, np = f ? f->npairs : 0;
    put_pairs(o, f, nd, ns, true);
    put_pairs(o, f, nd, ns, false);
    put_pairs(o, f, 0, nd, true);
    put_pairs(o, f, 0, nd, false);
    put_pairs(o, f, ns, np, true);
    put_pairs(o, f, ns, np, false);
    put_str(o, tld_sv_make(l->p, l->n));
}

/* Adds the row of a line; a row with an event identity is noted for tld_ch_drop_stored. */
static int add_line(struct tld_ch *s, const struct tld_store_line *l, int64_t id, int64_t now_ms)
{
    cJSON *root = cJSON_ParseWithLength(l->p, l->n);
    int rc = 0;
    if (!cJSON_IsObject(root)) {
        put_row(s, id, now_ms, l->end, l, NULL, "");
    } else {
        char key[TLD_EVENT_KEY_MAX];
        rc = tld_flat_alert(&s->flat, root);
        if (!rc)
            rc = tld_flat_other(&s->flat, root);
        bool has_key =
            !rc && tld_event_key(s->flat.col[TLD_COL_AGENT_ID], tld_sv_make(l->p, l->n), key);
        size_t at = s->rows.n;
        int64_t ts = s->flat.ts_found ? s->flat.ts_ms : now_ms;
        if (!rc)
            put_row(s, id, ts, l->end, l, &s->flat, has_key ? key : "");
        if (has_key)
            rc = tld_ch_key_add(s, key, at, s->rows.n - at, ts);
    }
    cJSON_Delete(root);
    return rc ? rc : s->rows.oom || s->rows.truncated ? TLD_ENOMEM : 0;
}

int tld_ch_ingest(struct tld_store *base, const struct tld_store_batch *b, size_t *stored)
{
    struct tld_ch *s = (struct tld_ch *)base;
    if (s->read_only)
        return TLD_EINVAL;
    struct tld_store_pos pos;
    int64_t next_id;
    int rc = state(s, &pos, &next_id);
    size_t n = 0, dropped = 0;
    struct tld_store_pos last = pos;
    int64_t id = next_id - 1;
    tld_sb_reset(&s->rows);
    s->nkeys = 0;
    for (size_t i = 0; !rc && i < b->n; i++) {
        if (tld_store_pos_cmp(b->lines[i].end, pos) <= 0)
            continue;
        id = tld_ch_next_id(s, id, b->now_ms);
        rc = add_line(s, &b->lines[i], id, b->now_ms);
        last = b->lines[i].end;
        n++;
    }
    if (!rc)
        rc = tld_ch_drop_stored(s, &dropped);
    n -= rc ? 0 : dropped;
    next_id = id + 1;
    if (!rc && n) {
        struct tld_chq q;
        tld_chq_init(&q);
        tld_sb_printf(&q.sql, "INSERT INTO %s (id, ts_ms, pos_gen, pos_off, writer, ev_key",
                      s->cluster ? s->local : s->table);
        for (int c = 0; c < TLD_COL_COUNT; c++)
            tld_sb_printf(&q.sql, ", %s", tld_field_cols[c].column);
        tld_chq_emit(&q, ", set_keys, set_values, data_keys, data_values, other_keys,"
                         " other_values, raw) FORMAT RowBinary");
        rc = s->cluster ? tld_ch_cluster_insert(s, &q) : tld_ch_run(s, &q, s->rows.p, s->rows.n);
        tld_chq_fini(&q);
    }
    if (!rc) {
        s->pos = last;
        s->next_id = next_id;
        *stored = n;
    } else {
        s->known = false; /* the batch may be stored or not: ask the servers again */
    }
    return rc;
}

/* Waits until the table's mutations are done: 18.16 runs ALTER ... DELETE in the background. */
static int wait_mutations(struct tld_ch *s)
{
    for (int i = 0; i < 600; i++) {
        struct tld_chq q;
        tld_chq_init(&q);
        tld_chq_emit(&q, "SELECT count() FROM system.mutations WHERE is_done = 0 AND table = ");
        tld_chq_text(&q, s->table, strlen(s->table));
        tld_chq_emit(&q, " FORMAT RowBinary");
        int rc = tld_ch_run(s, &q, NULL, 0);
        tld_chq_fini(&q);
        struct tld_chrd r = {(const unsigned char *)s->resp.p,
                             (const unsigned char *)s->resp.p + s->resp.n};
        uint64_t pending;
        if (rc)
            return rc;
        if (!tld_chrd_u64(&r, &pending))
            return TLD_EPROTO;
        if (!pending)
            return 0;
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
    }
    return TLD_ETIMEOUT;
}

/* Deletes the alerts older than min_ts_ms (a mutation; 18.16 runs it in the background, so
 * this waits for it). */
static int delete_older(struct tld_ch *s, int64_t min_ts_ms, uint64_t *deleted)
{
    struct tld_store_filter old = {NULL, INT64_MIN, min_ts_ms};
    uint64_t before;
    int rc = tld_ch_count(&s->base, &old, UINT64_MAX, &before);
    if (rc || !before)
        return rc;
    if (s->cluster) {
        rc = tld_ch_cluster_retain(s, min_ts_ms);
    } else {
        struct tld_chq q;
        tld_chq_init(&q);
        /* A mutation runs later, without this request's `_v`: the time goes in as a number (it
         * is the caller's integer, not query text). */
        tld_sb_printf(&q.sql, "ALTER TABLE %s DELETE WHERE ts_ms < %lld", s->table,
                      (long long)min_ts_ms);
        rc = tld_ch_run(s, &q, NULL, 0);
        tld_chq_fini(&q);
        if (!rc)
            rc = wait_mutations(s);
    }
    if (!rc)
        *deleted += before;
    return rc;
}

/* The time below which the oldest `share` (0..1) of the alerts lie. */
static int cutoff_time(struct tld_ch *s, double share, int64_t *ts)
{
    struct tld_chq q;
    tld_chq_init(&q);
    /* The share is this function's own number, not query text. */
    tld_sb_printf(&q.sql, "SELECT toInt64(quantileExact(%.6f)(ts_ms)) FROM %s FORMAT RowBinary",
                  share, s->table);
    int rc = tld_ch_run(s, &q, NULL, 0);
    tld_chq_fini(&q);
    struct tld_chrd r = {(const unsigned char *)s->resp.p,
                         (const unsigned char *)s->resp.p + s->resp.n};
    uint64_t v;
    if (!rc && !tld_chrd_u64(&r, &v))
        rc = TLD_EPROTO;
    if (!rc)
        *ts = (int64_t)v;
    return rc;
}

/*
 * Retention by size: the oldest alerts go, in the share by which the store is over the bound
 * (alerts of one store are about the same size), a few rounds at most since parts shrink only
 * as far as ClickHouse compresses. For a cluster the bound applies to the sum over every node,
 * replicas included (what the disks hold in all).
 */
static int delete_to_size(struct tld_ch *s, uint64_t max_bytes, uint64_t *deleted)
{
    for (int round = 0; round < 4; round++) {
        struct tld_store_stats st;
        int rc = tld_ch_stats(&s->base, &st);
        if (rc || st.bytes <= max_bytes || !st.alerts)
            return rc;
        double share = (double)(st.bytes - max_bytes) / (double)st.bytes;
        int64_t cut;
        if ((rc = cutoff_time(s, share, &cut)) != 0)
            return rc;
        if ((rc = delete_older(s, cut + 1, deleted)) != 0)
            return rc;
    }
    return 0;
}

int tld_ch_retain(struct tld_store *base, int64_t min_ts_ms, uint64_t max_bytes, uint64_t *deleted)
{
    struct tld_ch *s = (struct tld_ch *)base;
    *deleted = 0;
    if (s->read_only)
        return TLD_EINVAL;
    int rc = min_ts_ms > 0 ? delete_older(s, min_ts_ms, deleted) : 0;
    if (!rc && max_bytes)
        rc = delete_to_size(s, max_bytes, deleted);
    return rc;
}

static const char *ch_errmsg(const struct tld_store *base)
{
    return ((const struct tld_ch *)base)->err;
}

const struct tld_store_ops tld_store_clickhouse_ops = {
    .name = "clickhouse",
    .open = ch_open,
    .close = ch_close,
    .ingest = tld_ch_ingest,
    .position = tld_ch_position,
    .last_id = ch_last_id,
    .search = tld_ch_search,
    .count = tld_ch_count,
    .span = tld_ch_span,
    .histogram = tld_ch_histogram,
    .terms = tld_ch_terms,
    .get = tld_ch_get,
    .tail = tld_ch_tail,
    .retain = tld_ch_retain,
    .stats = tld_ch_stats,
    .errmsg = ch_errmsg,
};
