/*
 * Helpers the store test binaries share: a scratch folder for a database, opening a store,
 * feeding lines with cumulative byte positions as the alerts.json tailer will, and checking
 * that an alert comes back byte for byte.
 */
#ifndef TLD_TEST_STORE_UTIL_H
#define TLD_TEST_STORE_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

struct store_tmp {
    char dir[64], path[96];
};

static inline void store_tmp_make(struct store_tmp *t)
{
    strcpy(t->dir, "/tmp/tld-store-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->path, sizeof(t->path), "%s/alerts.db", t->dir);
}

static inline void store_tmp_remove(struct store_tmp *t)
{
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
    assert_int_equal(system(cmd), 0);
}

static inline struct tld_store *store_open(const char *path, bool read_only)
{
    struct tld_store_config cfg = {
        .backend = TLD_STORE_SQLITE, .path = path, .read_only = read_only};
    struct tld_store *s = NULL;
    int rc = tld_store_open(&cfg, &s);
    if (rc)
        fail_msg("open %s: %d", path, rc);
    return s;
}

/* Feeds lines [from, to) in batches; positions are cumulative byte offsets (newline included)
 * in generation 1. Returns how many lines the store took. */
static inline size_t store_feed(struct tld_store *s, char **lines, size_t from, size_t to,
                                size_t batch)
{
    uint64_t off = 0;
    for (size_t i = 0; i < from; i++)
        off += strlen(lines[i]) + 1;
    size_t total = 0;
    struct tld_store_line *ls = calloc(batch, sizeof(*ls));
    for (size_t i = from; i < to; i += batch) {
        size_t n = to - i < batch ? to - i : batch;
        for (size_t k = 0; k < n; k++) {
            off += strlen(lines[i + k]) + 1;
            ls[k] = (struct tld_store_line){lines[i + k], strlen(lines[i + k]), {1, off}};
        }
        struct tld_store_batch b = {ls, n, 42};
        size_t stored;
        int rc = tld_store_ingest(s, &b, &stored);
        if (rc)
            fail_msg("ingest: %d %s", rc, tld_store_errmsg(s));
        total += stored;
    }
    free(ls);
    return total;
}

struct store_raw {
    char *p;
    size_t n;
};

static inline int store_copy_raw(void *ctx, const struct tld_store_hit *h)
{
    struct store_raw *r = ctx;
    free(r->p);
    r->p = malloc(h->raw_n + 1);
    memcpy(r->p, h->raw, h->raw_n);
    r->n = h->raw_n;
    return 0;
}

static inline void store_expect_bytes(struct tld_store *s, int64_t id, const char *p, size_t n)
{
    struct store_raw r = {0};
    int rc = tld_store_get(s, id, store_copy_raw, &r);
    if (rc)
        fail_msg("get %lld: %d", (long long)id, rc);
    assert_int_equal(r.n, n);
    assert_memory_equal(r.p, p, n);
    free(r.p);
}

#endif
