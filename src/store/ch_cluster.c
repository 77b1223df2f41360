/*
 * The ClickHouse backend on a cluster: every node holds a ReplicatedMergeTree table
 * (`<table>_local`, replicas of a shard share a ZooKeeper path built from the {shard} and {replica}
 * macros) and a Distributed table (`<table>`) that reads go to. Each batch is inserted whole into
 * the local table of one shard, through one of its replicas, so it stays one part, all or nothing,
 * as on a single server. An insert whose outcome is unknown (the connection broke after sending,
 * the server answered with an error) is sent again, byte for byte, to the same shard: its replicas
 * share the block hashes of recent inserts in ZooKeeper, so a block that did get in is ignored
 * the second time. Only a refused connection, where nothing was sent, lets the batch move to
 * another shard. The stored position is the largest over the shards, each read from a replica
 * that has first fetched every part its shard committed (SYSTEM SYNC REPLICA).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "store/ch_impl.h"

#define DDL_TIMEOUT       "&distributed_ddl_task_timeout=20"
#define SYNC_TIMEOUT      "&receive_timeout=10"
#define IN_DOUBT_ROUNDS   20 /* sends of an unsure batch to its shard's replicas, 0.5 s apart */
#define IN_DOUBT_PAUSE_NS 500000000L

static struct tld_chrd reader(const struct tld_ch *s)
{
    return (struct tld_chrd){(const unsigned char *)s->resp.p,
                             (const unsigned char *)s->resp.p + s->resp.n};
}

/* Runs fixed SQL (no values) on endpoint `at`. */
static int exec_at(struct tld_ch *s, size_t at, const char *sql, const char *url_extra)
{
    struct tld_chq q;
    tld_chq_init(&q);
    q.url_extra = url_extra;
    tld_chq_emit(&q, sql);
    int rc = tld_ch_run_at(s, at, &q, NULL, 0);
    tld_chq_fini(&q);
    return rc;
}

/* The one UInt64 that fixed SQL (FORMAT RowBinary) gives on endpoint `at`. */
static int u64_at(struct tld_ch *s, size_t at, const char *sql, uint64_t *v)
{
    int rc = exec_at(s, at, sql, NULL);
    struct tld_chrd r = reader(s);
    if (!rc && !tld_chrd_u64(&r, v))
        rc = TLD_EPROTO;
    return rc;
}

/* The response as one string without its trailing newline (TabSeparated, one value). */
static int one_value(struct tld_ch *s, char *out, size_t n)
{
    size_t len = s->resp.n;
    while (len && (s->resp.p[len - 1] == '\n' || s->resp.p[len - 1] == '\r'))
        len--;
    if (!len || len >= n)
        return TLD_EPROTO;
    memcpy(out, s->resp.p, len);
    out[len] = '\0';
    return 0;
}

/* Whether this node has table `name`. */
static int has_table(struct tld_ch *s, const char *name, bool *here)
{
    char sql[512], n[16];
    snprintf(sql, sizeof(sql),
             "SELECT count() FROM system.tables WHERE database = '%s' AND name = '%s'", s->db,
             name);
    int rc = tld_ch_exec(s, sql);
    if (!rc)
        rc = one_value(s, n, sizeof(n));
    if (!rc)
        *here = !strcmp(n, "1");
    return rc;
}

/*
 * CREATE ... ON CLUSTER unless this node has the table. The statement waits at most
 * DDL_TIMEOUT for every node to run it; when a node is down it fails after that, but the
 * nodes up have run it and the others will from their queue: the table being here is enough.
 */
static int create_on_cluster(struct tld_ch *s, const char *name, const char *columns,
                             const char *engine)
{
    bool here = false;
    int rc = has_table(s, name, &here);
    if (rc || here)
        return rc;
    struct tld_chq q;
    tld_chq_init(&q);
    q.url_extra = DDL_TIMEOUT;
    tld_sb_printf(&q.sql, "CREATE TABLE IF NOT EXISTS %s.%s ON CLUSTER %s%s ENGINE = %s", s->db,
                  name, s->cluster, columns, engine);
    rc = tld_ch_run(s, &q, NULL, 0);
    tld_chq_fini(&q);
    if (rc && !has_table(s, name, &here) && here)
        rc = 0;
    return rc;
}

static int create_tables(struct tld_ch *s, const char *columns)
{
    char engine[512];
    snprintf(engine, sizeof(engine),
             "ReplicatedMergeTree('/clickhouse/tables/{shard}/%s.%s', '{replica}')"
             " ORDER BY (ts_ms, id) SETTINGS index_granularity = 8192",
             s->db, s->local);
    int rc = create_on_cluster(s, s->local, columns, engine);
    if (rc)
        return rc;
    snprintf(engine, sizeof(engine), "Distributed(%s, %s, %s, rand())", s->cluster, s->db,
             s->local);
    return create_on_cluster(s, s->table, columns, engine);
}

int tld_ch_cluster_open(struct tld_ch *s, const char *columns)
{
    char db[80];
    int rc = tld_ch_exec(s, "SELECT currentDatabase()");
    if (!rc)
        rc = one_value(s, db, sizeof(db));
    if (!rc && !tld_ch_ident(db))
        rc = TLD_EPROTO;
    if (!rc && !(s->db = strdup(db)))
        rc = TLD_ENOMEM;
    /* Tables already here: nothing to ask of the cluster (a node that is down must not hold
     * up a restart; it ran or will run the ON CLUSTER statements from its queue). */
    return rc || s->read_only ? rc : create_tables(s, columns);
}

/* The shard index of a {shard} macro value, added if new. */
static int shard_index(struct tld_ch *s, const char *name, int *idx)
{
    for (size_t i = 0; i < s->nshards; i++)
        if (!strcmp(s->shard_names[i], name)) {
            *idx = (int)i;
            return 0;
        }
    if (s->nshards == TLD_CH_MAX_URLS)
        return TLD_ELIMIT;
    if (!(s->shard_names[s->nshards] = strdup(name)))
        return TLD_ENOMEM;
    *idx = (int)s->nshards++;
    return 0;
}

/* Learns the shard of every endpoint that answers and does not have one yet. */
static void map_endpoints(struct tld_ch *s)
{
    for (size_t i = 0; i < s->nurls; i++) {
        char name[128];
        if (s->shard_of[i] >= 0 ||
            exec_at(s, i, "SELECT substitution FROM system.macros WHERE macro = 'shard'", NULL) ||
            one_value(s, name, sizeof(name)))
            continue;
        int idx;
        if (!shard_index(s, name, &idx))
            s->shard_of[i] = idx;
    }
}

/* How many shards the cluster has, from any endpoint. */
static int cluster_shards(struct tld_ch *s, size_t *n)
{
    struct tld_chq q;
    tld_chq_init(&q);
    tld_chq_emit(&q, "SELECT uniqExact(shard_num) FROM system.clusters WHERE cluster = ");
    tld_chq_text(&q, s->cluster, strlen(s->cluster));
    tld_chq_emit(&q, " FORMAT RowBinary");
    int rc = tld_ch_run(s, &q, NULL, 0);
    tld_chq_fini(&q);
    uint64_t v;
    struct tld_chrd r = reader(s);
    if (!rc && !tld_chrd_u64(&r, &v))
        rc = TLD_EPROTO;
    if (!rc)
        *n = (size_t)v;
    return rc;
}

/* The largest position of this writer's rows and the largest id in the local table of endpoint
 * `at`, once it has caught up. */
static int replica_state(struct tld_ch *s, size_t at, struct tld_store_pos *pos, uint64_t *max_id)
{
    char sql[512];
    snprintf(sql, sizeof(sql), "SYSTEM SYNC REPLICA %s.%s", s->db, s->local);
    int rc = exec_at(s, at, sql, SYNC_TIMEOUT);
    if (rc)
        return rc;
    snprintf(sql, sizeof(sql),
             "SELECT max((if(writer = '%s', pos_gen, 0), if(writer = '%s', pos_off, 0))),"
             " max(id) FROM %s.%s FORMAT RowBinary",
             s->writer, s->writer, s->db, s->local);
    rc = exec_at(s, at, sql, NULL);
    struct tld_chrd r = reader(s);
    if (!rc &&
        (!tld_chrd_u64(&r, &pos->gen) || !tld_chrd_u64(&r, &pos->off) || !tld_chrd_u64(&r, max_id)))
        rc = TLD_EPROTO;
    return rc;
}

int tld_ch_cluster_state(struct tld_ch *s, struct tld_store_pos *pos, int64_t *next_id)
{
    size_t want;
    int rc = cluster_shards(s, &want);
    if (rc)
        return rc;
    map_endpoints(s);
    if (!want || s->nshards < want) {
        snprintf(s->err, sizeof(s->err),
                 "cluster %s: %zu shards, %zu reachable among the configured endpoints", s->cluster,
                 want, s->nshards);
        return TLD_ECLOSED; /* not TLD_EAGAIN: the store thread takes that for a rotation */
    }
    struct tld_store_pos best = {0, 0};
    uint64_t best_id = 0;
    for (size_t sh = 0; sh < s->nshards; sh++) {
        rc = TLD_ECLOSED;
        for (size_t i = 0; i < s->nurls && rc; i++) {
            struct tld_store_pos p;
            uint64_t id;
            if (s->shard_of[i] != (int)sh || (rc = replica_state(s, i, &p, &id)) != 0)
                continue;
            if (tld_store_pos_cmp(p, best) > 0)
                best = p;
            if (id > best_id)
                best_id = id;
        }
        if (rc) {
            /* Without a caught-up replica the shard's newest batch is unknown: storing on
             * could store it twice. */
            char why[sizeof(s->err)];
            memcpy(why, s->err, sizeof(why));
            snprintf(s->err, sizeof(s->err),
                     "cluster %s: shard %s: no replica has caught up: %.150s", s->cluster,
                     s->shard_names[sh], why);
            return TLD_ECLOSED;
        }
    }
    *pos = best;
    *next_id = (int64_t)best_id + 1;
    return 0;
}

/* Sends the batch to the replicas of `shard`; *sent says if any send may have reached one. */
static int insert_shard(struct tld_ch *s, struct tld_chq *q, size_t shard, bool *sent)
{
    int rc = TLD_ECLOSED;
    for (size_t at = 0; at < s->nurls; at++) {
        if (s->shard_of[at] != (int)shard)
            continue;
        rc = tld_ch_run_at(s, at, q, s->rows.p, s->rows.n);
        if (!rc)
            return 0;
        if (rc != TLD_ECLOSED)
            *sent = true;
    }
    return rc;
}

int tld_ch_cluster_insert(struct tld_ch *s, struct tld_chq *q)
{
    /* The state read before the first insert mapped a replica of every shard; an endpoint
     * that was down then waits for the next one (asking it at every batch could cost a
     * connect timeout each time). */
    if (!s->nshards)
        map_endpoints(s);
    if (!s->nshards)
        return TLD_ECLOSED;
    int rc = TLD_ECLOSED;
    bool sent = false;
    size_t shard = s->next_shard % s->nshards;
    /* Shards in turn while nothing reached any replica. */
    for (size_t k = 0; k < s->nshards && !sent; k++) {
        shard = (s->next_shard + k) % s->nshards;
        rc = insert_shard(s, q, shard, &sent);
        if (!rc) {
            s->next_shard = shard + 1;
            return 0;
        }
    }
    if (!sent)
        return rc;
    /* The batch may be in `shard`: the same bytes go there again until one replica accepts
     * them (stored once: the copy that got in makes this one a duplicate block). */
    for (int round = 0; round < IN_DOUBT_ROUNDS; round++) {
        struct timespec ts = {0, IN_DOUBT_PAUSE_NS};
        nanosleep(&ts, NULL);
        bool again = false;
        rc = insert_shard(s, q, shard, &again);
        if (!rc) {
            s->next_shard = shard + 1;
            return 0;
        }
    }
    return rc == TLD_EPROTO ? TLD_EIO : rc;
}

int tld_ch_cluster_wait_mutations(struct tld_ch *s)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT count() FROM system.mutations WHERE NOT is_done AND database = '%s'"
             " AND table = '%s' FORMAT RowBinary",
             s->db, s->local);
    for (size_t i = 0; i < s->nurls; i++) {
        for (int k = 0;; k++) {
            uint64_t pending;
            int rc = u64_at(s, i, sql, &pending);
            if (rc == TLD_EPROTO)
                return rc;
            if (rc || !pending)
                break; /* a node that is down runs the mutation when it is back */
            if (k == 600)
                return TLD_ETIMEOUT;
            struct timespec ts = {0, 100000000};
            nanosleep(&ts, NULL);
        }
    }
    return 0;
}

int tld_ch_cluster_retain(struct tld_ch *s, int64_t min_ts_ms)
{
    struct tld_chq q;
    tld_chq_init(&q);
    q.url_extra = DDL_TIMEOUT;
    /* A number computed by the caller, not query text: see tld_ch_retain. */
    tld_sb_printf(&q.sql, "ALTER TABLE %s.%s ON CLUSTER %s DELETE WHERE ts_ms < %lld", s->db,
                  s->local, s->cluster, (long long)min_ts_ms);
    int rc = tld_ch_run(s, &q, NULL, 0);
    tld_chq_fini(&q);
    return rc ? rc : tld_ch_cluster_wait_mutations(s);
}

int tld_ch_cluster_bytes(struct tld_ch *s, uint64_t *bytes)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT sum(bytes) FROM system.parts WHERE active AND database = '%s'"
             " AND table = '%s' FORMAT RowBinary",
             s->db, s->local);
    *bytes = 0;
    for (size_t i = 0; i < s->nurls; i++) {
        uint64_t v;
        if (!u64_at(s, i, sql, &v)) /* a node that is down: its copy is not counted */
            *bytes += v;
    }
    return 0;
}
