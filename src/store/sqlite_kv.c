/*
 * The data.* rows of a batch. Rather than one row per (key, value, alert), which made most of
 * the rows and most of the ingest time, a batch gathers in memory the alerts of each distinct
 * (key, value) and writes one alert_kv row per pair: the first id, the last id, how many, and the
 * other ids as varint deltas (NULL when there is only one). Values repeat a lot within a batch
 * (an action, a user, an image), so a batch writes a fraction of the rows; tld_ids()
 * (sqlite_ids.c) turns a row back into its alerts at query time. Rows are written sorted by
 * (key, value), so consecutive inserts land on the same pages.
 */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/grow.h"
#include "store/sqlite_impl.h"

/* One distinct (key, value) of the batch. */
struct tld_kv_list {
    int64_t key_id;
    size_t val_off, val_n; /* into the batch's text */
    int64_t first, last;
    unsigned n;
    unsigned at; /* where its ids start in the sorted id array (flush) */
};

/* One (list, alert) occurrence, in ingest order. */
struct tld_kv_hit {
    unsigned list;
    int64_t id;
};

void tld_kv_init(struct tld_kv *kv)
{
    memset(kv, 0, sizeof(*kv));
    tld_intern_init(&kv->index);
    tld_sb_init(&kv->text, 1u << 30);
    tld_sb_init(&kv->scratch, TLD_FLAT_MAX_VALUE + 64);
    tld_sb_init(&kv->blob, 1u << 30);
}

void tld_kv_reset(struct tld_kv *kv)
{
    kv->nlists = 0;
    kv->nhits = 0;
    tld_sb_reset(&kv->text);
    tld_intern_clear(&kv->index);
}

void tld_kv_fini(struct tld_kv *kv)
{
    tld_kv_reset(kv);
    free(kv->lists);
    free(kv->hits);
    free(kv->order);
    free(kv->sorted);
    tld_sb_fini(&kv->text);
    tld_sb_fini(&kv->scratch);
    tld_sb_fini(&kv->blob);
}

static int new_list(struct tld_kv *kv, int64_t key_id, struct tld_sv value, int64_t *idx)
{
    if (kv->nlists == kv->lists_cap &&
        tld_grow(&kv->lists, &kv->lists_cap, kv->nlists + 1, sizeof(*kv->lists), 1024))
        return TLD_ENOMEM;
    struct tld_kv_list *l = &kv->lists[kv->nlists];
    *l =
        (struct tld_kv_list){.key_id = key_id, .val_off = kv->text.n, .val_n = value.n, .last = -1};
    tld_sb_append_sv(&kv->text, value);
    if (kv->text.oom || kv->text.truncated)
        return TLD_ENOMEM;
    *idx = (int64_t)kv->nlists++;
    return tld_intern_put(&kv->index, kv->scratch.p, kv->scratch.n, *idx);
}

int tld_kv_add(struct tld_kv *kv, int64_t key_id, struct tld_sv value, int64_t id)
{
    struct tld_sb *k = &kv->scratch;
    tld_sb_reset(k);
    tld_sb_append(k, &key_id, sizeof(key_id));
    tld_sb_append_sv(k, value);
    if (k->oom || k->truncated)
        return TLD_ENOMEM;
    int64_t idx = tld_intern_get(&kv->index, k->p, k->n);
    if (idx < 0) {
        int rc = new_list(kv, key_id, value, &idx);
        if (rc)
            return rc;
    }
    struct tld_kv_list *l = &kv->lists[idx];
    if (l->last == id)
        return 0; /* the same value twice in one alert (an array): one row, as before */
    if (kv->nhits == kv->hits_cap &&
        tld_grow(&kv->hits, &kv->hits_cap, kv->nhits + 1, sizeof(*kv->hits), 4096))
        return TLD_ENOMEM;
    kv->hits[kv->nhits++] = (struct tld_kv_hit){(unsigned)idx, id};
    if (!l->n)
        l->first = id;
    l->last = id;
    l->n++;
    return 0;
}

static int by_key_value(const void *a, const void *b, void *arg)
{
    const struct tld_kv *kv = arg;
    const struct tld_kv_list *x = &kv->lists[*(const unsigned *)a];
    const struct tld_kv_list *y = &kv->lists[*(const unsigned *)b];
    if (x->key_id != y->key_id)
        return x->key_id < y->key_id ? -1 : 1;
    size_t n = x->val_n < y->val_n ? x->val_n : y->val_n;
    int c = memcmp(kv->text.p + x->val_off, kv->text.p + y->val_off, n);
    if (c)
        return c;
    return x->val_n < y->val_n ? -1 : x->val_n > y->val_n;
}

/* Puts each list's ids together (ascending, as they were added) and the lists in key order. */
static int arrange(struct tld_kv *kv)
{
    if (!kv->nlists)
        return 0; /* a batch without data.* fields */
    if (tld_grow(&kv->order, &kv->order_cap, kv->nlists, sizeof(*kv->order), 1024) ||
        tld_grow(&kv->sorted, &kv->sorted_cap, kv->nhits, sizeof(*kv->sorted), 4096))
        return TLD_ENOMEM;
    unsigned at = 0;
    for (unsigned i = 0; i < kv->nlists; i++) {
        kv->lists[i].at = at;
        at += kv->lists[i].n;
    }
    for (unsigned i = 0; i < kv->nhits; i++) {
        struct tld_kv_list *l = &kv->lists[kv->hits[i].list];
        kv->sorted[l->at++] = kv->hits[i].id;
    }
    for (unsigned i = 0; i < kv->nlists; i++) {
        kv->lists[i].at -= kv->lists[i].n;
        kv->order[i] = i;
    }
    qsort_r(kv->order, kv->nlists, sizeof(*kv->order), by_key_value, kv);
    return 0;
}

static int write_list(struct tld_sqlite *s, const struct tld_kv_list *l)
{
    struct tld_kv *kv = &s->kv;
    sqlite3_stmt *st = s->ins_kv;
    sqlite3_bind_int64(st, 1, l->key_id);
    sqlite3_bind_text(st, 2, kv->text.p + l->val_off, (int)l->val_n, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, l->first);
    sqlite3_bind_int64(st, 4, l->last);
    sqlite3_bind_int64(st, 5, l->n);
    if (l->n > 1) {
        tld_sb_reset(&kv->blob);
        const int64_t *ids = kv->sorted + l->at;
        for (unsigned i = 1; i < l->n; i++) {
            unsigned char v[10];
            tld_sb_append(&kv->blob, v, tld_varint_put(v, (uint64_t)(ids[i] - ids[i - 1])));
        }
        if (kv->blob.oom || kv->blob.truncated)
            return TLD_ENOMEM;
        sqlite3_bind_blob(st, 6, kv->blob.p, (int)kv->blob.n, SQLITE_STATIC);
    } else {
        sqlite3_bind_null(st, 6);
    }
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : tld_sqlite_fail(s, rc, "insert field");
}

int tld_kv_flush(struct tld_sqlite *s)
{
    struct tld_kv *kv = &s->kv;
    int rc = arrange(kv);
    for (unsigned i = 0; !rc && i < kv->nlists; i++)
        rc = write_list(s, &kv->lists[kv->order[i]]);
    tld_kv_reset(kv);
    return rc;
}
