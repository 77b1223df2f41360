/*
 * The ClickHouse backend's part in "each alert once across managers" (docs/scaling.md, section
 * 1): an alert that carries its event's identity (identity.h) is not inserted when the store
 * already has an alert of that event, so the two alerts two managers write for an event resent
 * around a failover, or the second alert of an event a manager analysed again from its journal,
 * end up as one row. ClickHouse 18.16 has no unique keys and no insert_deduplication_token, and
 * ReplacingMergeTree would leave both rows visible until a merge (forever, across shards), so the
 * check is made before the insert: one query per batch for the batch's identities, over the
 * alerts whose time is within DEDUP_WINDOW_MS of the batch's (both alerts of an event carry the
 * receipt time at their manager, which differ by the time the agent took to reach the second
 * one). Reads go to each shard's first replica in order (ch_http.c), the one inserts go to.
 *
 * Several managers feeding one table also need their own stream positions and ids: rows carry
 * the name of the writer that stored them, a writer's position is the largest among its own rows,
 * and a named writer's ids are time-ordered with its slot (a hash of its name) in the low bits,
 * so two writers never give the same id and a live tail after an id sees both writers' newer
 * alerts within a second of each other.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/grow.h"
#include "store/ch_impl.h"

#define DEDUP_WINDOW_MS (3600 * 1000LL)
#define SLOT_BITS       6
#define COUNTER_BITS    16
#define ID_EPOCH_S      1700000000LL /* ids count seconds from here: 53 bits last to 2091 */

int tld_ch_key_add(struct tld_ch *s, const char *key, size_t off, size_t len, int64_t ts_ms)
{
    if (s->nkeys == s->keys_cap &&
        tld_grow(&s->keys, &s->keys_cap, s->nkeys + 1, sizeof(*s->keys), 256))
        return TLD_ENOMEM;
    struct tld_ch_key *k = &s->keys[s->nkeys++];
    snprintf(k->key, sizeof(k->key), "%s", key);
    k->off = off;
    k->len = len;
    k->ts_ms = ts_ms;
    k->dup = false;
    return 0;
}

static int by_key(const void *a, const void *b)
{
    const struct tld_ch_key *const *x = a, *const *y = b;
    int c = strcmp((*x)->key, (*y)->key);
    return c ? c : ((*x)->off > (*y)->off) - ((*x)->off < (*y)->off);
}

/* The notes in key order (then batch order): repeats within the batch are marked. */
static int sort_keys(struct tld_ch *s, struct tld_ch_key ***out)
{
    struct tld_ch_key **v = malloc(s->nkeys * sizeof(*v));
    if (!v)
        return TLD_ENOMEM;
    for (size_t i = 0; i < s->nkeys; i++)
        v[i] = &s->keys[i];
    qsort(v, s->nkeys, sizeof(*v), by_key);
    for (size_t i = 1; i < s->nkeys; i++)
        if (!strcmp(v[i]->key, v[i - 1]->key))
            v[i]->dup = true;
    *out = v;
    return 0;
}

/* Marks every note whose key is `key` (from the store's answer). */
static void mark_stored(struct tld_ch_key **v, size_t n, const char *key, size_t key_n)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strncmp(v[mid]->key, key, key_n);
        if (c == 0 && v[mid]->key[key_n])
            c = 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < n && strlen(v[lo]->key) == key_n && !memcmp(v[lo]->key, key, key_n); lo++)
        v[lo]->dup = true;
}

/* Asks the store which of the batch's identities it has already. */
static int lookup(struct tld_ch *s, struct tld_ch_key **v)
{
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    struct tld_chq q;
    tld_chq_init(&q);
    for (size_t i = 0; i < s->nkeys; i++) {
        if (v[i]->dup)
            continue;
        lo = v[i]->ts_ms < lo ? v[i]->ts_ms : lo;
        hi = v[i]->ts_ms > hi ? v[i]->ts_ms : hi;
        tld_chq_text_row(&q, v[i]->key, strlen(v[i]->key));
    }
    /* The bounds are this function's numbers, not query text; the keys are bound values. */
    tld_sb_printf(&q.sql,
                  "SELECT ev_key FROM %s WHERE ts_ms >= %lld AND ts_ms <= %lld AND ev_key %sIN"
                  " (SELECT s FROM _v) FORMAT RowBinary",
                  s->table, (long long)(lo - DEDUP_WINDOW_MS), (long long)(hi + DEDUP_WINDOW_MS),
                  s->cluster ? "GLOBAL " : "");
    int rc = q.nvalues ? tld_ch_run(s, &q, NULL, 0) : 0;
    if (q.nvalues && !rc) {
        struct tld_chrd r = {(const unsigned char *)s->resp.p,
                             (const unsigned char *)s->resp.p + s->resp.n};
        const char *k;
        size_t n;
        while (!rc && r.p < r.end) {
            if (!tld_chrd_str(&r, &k, &n))
                rc = TLD_EPROTO;
            else
                mark_stored(v, s->nkeys, k, n);
        }
    }
    tld_chq_fini(&q);
    return rc;
}

/* Removes the rows of the marked notes from s->rows, keeping the others in order. */
static size_t compact(struct tld_ch *s)
{
    size_t dropped = 0, cut = 0; /* bytes removed so far */
    for (size_t i = 0; i < s->nkeys; i++) {
        const struct tld_ch_key *k = &s->keys[i];
        if (!k->dup)
            continue;
        dropped++;
        size_t at = k->off - cut;
        memmove(s->rows.p + at, s->rows.p + at + k->len, s->rows.n - at - k->len);
        s->rows.n -= k->len;
        cut += k->len;
    }
    return dropped;
}

int tld_ch_drop_stored(struct tld_ch *s, size_t *dropped)
{
    *dropped = 0;
    if (!s->nkeys)
        return 0;
    struct tld_ch_key **v = NULL;
    int rc = sort_keys(s, &v);
    if (!rc)
        rc = lookup(s, v);
    free(v);
    if (!rc)
        *dropped = compact(s);
    s->nkeys = 0;
    return rc;
}

static unsigned name_slot(const char *name)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h & ((1u << SLOT_BITS) - 1);
}

int tld_ch_writer_slot(struct tld_ch *s)
{
    if (!s->writer[0] || s->slot_checked)
        return 0;
    s->slot = name_slot(s->writer);
    struct tld_chq q;
    tld_chq_init(&q);
    /* The writer's name is a plain name (checked at open) and the slot a number of ours. */
    tld_sb_printf(&q.sql,
                  "SELECT count() FROM %s WHERE writer != '' AND writer != '%s' AND id %% %u = %u"
                  " FORMAT RowBinary",
                  s->table, s->writer, 1u << SLOT_BITS, s->slot);
    int rc = tld_ch_run(s, &q, NULL, 0);
    tld_chq_fini(&q);
    struct tld_chrd r = {(const unsigned char *)s->resp.p,
                         (const unsigned char *)s->resp.p + s->resp.n};
    uint64_t others;
    if (!rc && !tld_chrd_u64(&r, &others))
        rc = TLD_EPROTO;
    if (!rc && others) {
        snprintf(s->err, sizeof(s->err),
                 "store writer '%s': another writer's ids use its slot %u; choose another name",
                 s->writer, s->slot);
        rc = TLD_EEXIST;
    }
    s->slot_checked = !rc;
    return rc;
}

int64_t tld_ch_next_id(const struct tld_ch *s, int64_t last, int64_t now_ms)
{
    if (!s->writer[0])
        return last + 1;
    int64_t secs = now_ms / 1000 - ID_EPOCH_S;
    int64_t floor = secs > 0 ? secs << COUNTER_BITS : 0;
    int64_t tick = (last >> SLOT_BITS) + 1;
    if (tick < floor)
        tick = floor;
    return (tick << SLOT_BITS) | (int64_t)s->slot;
}
