/*
 * What a store backend implements: the operations of store.h, minus the argument checks that
 * store.c does once for all backends. Private to src/store/.
 */
#ifndef TLD_STORE_STORE_IMPL_H
#define TLD_STORE_STORE_IMPL_H

#include "store/store.h"

struct tld_store_ops {
    const char *name;
    int (*open)(const struct tld_store_config *cfg, struct tld_store **out);
    void (*close)(struct tld_store *s);
    int (*ingest)(struct tld_store *s, const struct tld_store_batch *b, size_t *stored);
    int (*position)(struct tld_store *s, struct tld_store_pos *pos);
    int (*last_id)(struct tld_store *s, int64_t *id);
    int (*search)(struct tld_store *s, const struct tld_store_search *q, tld_store_hit_fn fn,
                  void *ctx, struct tld_store_cursor *next, bool *more);
    /* Counts matches, stopping once `cap` are counted (UINT64_MAX: all): *count <= cap. */
    int (*count)(struct tld_store *s, const struct tld_store_filter *f, uint64_t cap,
                 uint64_t *count);
    int (*span)(struct tld_store *s, const struct tld_store_filter *f, int64_t *min_ms,
                int64_t *max_ms, bool *any);
    int (*histogram)(struct tld_store *s, const struct tld_store_filter *f, int64_t interval_ms,
                     tld_store_bucket_fn fn, void *ctx);
    int (*terms)(struct tld_store *s, const struct tld_store_filter *f, const char *field,
                 size_t size, tld_store_term_fn fn, void *ctx);
    int (*get)(struct tld_store *s, int64_t id, tld_store_hit_fn fn, void *ctx);
    int (*tail)(struct tld_store *s, const struct tld_store_filter *f, int64_t after_id,
                size_t limit, tld_store_hit_fn fn, void *ctx, int64_t *last_id);
    int (*retain)(struct tld_store *s, int64_t min_ts_ms, uint64_t max_bytes, uint64_t *deleted);
    int (*stats)(struct tld_store *s, struct tld_store_stats *st);
    const char *(*errmsg)(const struct tld_store *s);
};

/* Every backend's handle starts with this, so store.c can dispatch. */
struct tld_store {
    const struct tld_store_ops *ops;
};

extern const struct tld_store_ops tld_store_sqlite_ops;

extern const struct tld_store_ops tld_store_clickhouse_ops;

/* The WHERE clause of a filter for each backend (tld_store_explain). */
int tld_sqlite_explain(const struct tld_store_filter *f, char **sql, size_t *nparams);
int tld_ch_explain(const struct tld_store_filter *f, char **sql, size_t *nparams);

/* Position order: (gen, off). */
static inline int tld_store_pos_cmp(struct tld_store_pos a, struct tld_store_pos b)
{
    if (a.gen != b.gen)
        return a.gen < b.gen ? -1 : 1;
    return a.off < b.off ? -1 : a.off > b.off;
}

#endif
