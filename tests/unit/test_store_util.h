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

/*
 * An alert of agent `agent`'s event `seq` (stream 0xab) as the manager writes it, the event's
 * identity last; seq 0: an alert without identity (the text is the same for every call).
 */
static inline char *store_event_alert(unsigned agent, unsigned seq)
{
    char *p = malloc(512);
    int n = snprintf(p, 512,
                     "{\"timestamp\":\"2026-11-26T10:00:%02u.000+0000\",\"rule\":{\"level\":5,"
                     "\"id\":\"5501\"},\"agent\":{\"id\":\"%03u\",\"name\":\"a%u\"},"
                     "\"manager\":{\"name\":\"m\"},\"id\":\"1795687200.%u\",\"full_log\":\"x\"",
                     seq % 60, agent, agent, seq);
    if (seq)
        snprintf(p + n, 512 - (size_t)n, ",\"event\":{\"stream\":\"00000000000000ab\",\"seq\":%u}}",
                 seq);
    else
        snprintf(p + n, 512 - (size_t)n, "}");
    return p;
}

/*
 * Alerts of events already stored (another manager's copy, a re-analysis: other lines, later
 * positions) are left out, also twice in one batch; alerts without identity are all kept, and
 * the same sequence number of another agent is another event. `s` is an empty store.
 */
static inline void store_expect_events_once(struct tld_store *s)
{
    static const unsigned plan[][2] = {
        /* batch 1: ten events of agent 7 */
        {7, 1},
        {7, 2},
        {7, 3},
        {7, 4},
        {7, 5},
        {7, 6},
        {7, 7},
        {7, 8},
        {7, 9},
        {7, 10},
        /* batch 2: five again, four new, one new twice, four without identity, agent 8's 1 */
        {7, 3},
        {7, 11},
        {7, 4},
        {7, 12},
        {7, 5},
        {7, 13},
        {7, 6},
        {7, 14},
        {7, 7},
        {7, 11},
        {7, 0},
        {7, 0},
        {8, 0},
        {8, 0},
        {8, 1}};
    enum { N = sizeof(plan) / sizeof(plan[0]) };
    char *lines[N];
    for (size_t i = 0; i < N; i++)
        lines[i] = store_event_alert(plan[i][0], plan[i][1]);
    assert_int_equal(store_feed(s, lines, 0, 10, 10), 10);
    assert_int_equal(store_feed(s, lines, 10, N, N - 10), 9);
    assert_int_equal(store_feed(s, lines, 0, N, 7), 0); /* a replay: positions */
    struct tld_store_filter all = {NULL, 0, INT64_MAX};
    uint64_t n;
    assert_int_equal(tld_store_count(s, &all, &n), 0);
    assert_int_equal(n, 19);
    for (size_t i = 0; i < N; i++)
        free(lines[i]);
}

#endif
