/*
 * Unit tests for alert store ingest and upkeep (src/store/, SQLite): the mission alerts come
 * back byte for byte and are found by the use cases' queries; replays and overlapping batches
 * store each line once; a writer killed with SIGKILL at random moments loses and duplicates
 * nothing once resumed from the stored position; odd alerts are never refused; retention by age
 * and by size removes the oldest alerts and nothing else.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "store/store.h"
#include "test_store_corpus.h"
#include "test_store_util.h"

static char *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = malloc(1 << 20);
    *n = fread(buf, 1, 1 << 20, f);
    fclose(f);
    while (*n && buf[*n - 1] == '\n')
        (*n)--; /* the line without its newline */
    return buf;
}

static uint64_t count_query(struct tld_store *s, const char *text)
{
    struct tld_query *q;
    assert_int_equal(tld_query_parse(text, strlen(text), &q, NULL), 0);
    struct tld_store_filter f = {q, 0, INT64_MAX};
    uint64_t n;
    assert_int_equal(tld_store_count(s, &f, &n), 0);
    tld_query_free(q);
    return n;
}

/*
 * A count answered by the rollup equals the same count over the alerts: the second query adds a
 * test of a field the rollup does not have (and no alert has), which forces reading alerts.
 */
static void expect_rollup_exact(struct tld_store *s, const char *text)
{
    char forced[512];
    snprintf(forced, sizeof(forced), "(%s) and not zz.none:*",
             *text ? text : "rule.id:* or not rule.id:*");
    struct tld_query *q, *q2;
    assert_int_equal(tld_query_parse(text, strlen(text), &q, NULL), 0);
    assert_int_equal(tld_query_parse(forced, strlen(forced), &q2, NULL), 0);
    struct tld_store_filter rolled = {q, 0, INT64_MAX}, exact = {q2, 0, INT64_MAX};
    uint64_t a, b;
    assert_int_equal(tld_store_count(s, &rolled, &a), 0);
    assert_int_equal(tld_store_count(s, &exact, &b), 0);
    if (a != b)
        fail_msg("'%s': %llu from the rollup, %llu from the alerts", text, (unsigned long long)a,
                 (unsigned long long)b);
    tld_query_free(q);
    tld_query_free(q2);
}

struct top {
    char v[64][64];
    uint64_t c[64];
    size_t n;
};

static int collect_top(void *ctx, const char *v, size_t n, uint64_t c)
{
    struct top *t = ctx;
    assert_true(t->n < 64 && n < 64);
    memcpy(t->v[t->n], v, n);
    t->v[t->n][n] = '\0';
    t->c[t->n++] = c;
    return 0;
}

/* Top values over [from, to) from the per-value rollups equal those counted from the alerts
 * (a query on a field outside every rollup forces the latter). */
static void expect_top_exact(struct tld_store *s, const char *field, int64_t from, int64_t to)
{
    const char *forced = "not zz.none:*";
    struct tld_query *q;
    assert_int_equal(tld_query_parse(forced, strlen(forced), &q, NULL), 0);
    struct tld_store_filter rolled = {NULL, from, to}, exact = {q, from, to};
    struct top a = {0}, b = {0};
    assert_int_equal(tld_store_terms(s, &rolled, field, 64, collect_top, &a), 0);
    assert_int_equal(tld_store_terms(s, &exact, field, 64, collect_top, &b), 0);
    assert_true(b.n > 0);
    if (a.n != b.n)
        fail_msg("top %s: %zu values from the rollups, %zu from the alerts", field, a.n, b.n);
    for (size_t i = 0; i < a.n; i++)
        if (strcmp(a.v[i], b.v[i]) || a.c[i] != b.c[i])
            fail_msg("top %s #%zu: %s=%llu from the rollups, %s=%llu from the alerts", field, i,
                     a.v[i], (unsigned long long)a.c[i], b.v[i], (unsigned long long)b.c[i]);
    tld_query_free(q);
}

static void expect_tops_exact(struct tld_store *s, int64_t from, int64_t to)
{
    expect_top_exact(s, "agent.name", from, to);
    expect_top_exact(s, "rule.mitre.technique", from, to);
    expect_top_exact(s, "rule.groups", from, to);
}

static void mission_alerts(void **state)
{
    struct store_tmp t;
    store_tmp_make(&t);
    struct tld_store *s = store_open(t.path, false);
    size_t n1, n2;
    char *docker = read_file("tests/data/mission/alert-docker-start.json", &n1);
    char *sqli = read_file("tests/data/mission/alert-sqli.json", &n2);
    /* As alerts.json holds them: one line each. */
    cJSON *j1 = cJSON_Parse(docker), *j2 = cJSON_Parse(sqli);
    char *l1 = cJSON_PrintUnformatted(j1), *l2 = cJSON_PrintUnformatted(j2);
    struct tld_store_line lines[4] = {
        {l1, strlen(l1), {1, 100}},
        {l2, strlen(l2), {1, 200}},
        {docker, n1, {1, 300}},
        {sqli, n2, {1, 400}}, /* the files' own bytes, newlines inside */
    };
    struct tld_store_batch b = {lines, 4, 0};
    size_t stored;
    assert_int_equal(tld_store_ingest(s, &b, &stored), 0);
    assert_int_equal(stored, 4);
    store_expect_bytes(s, 1, l1, strlen(l1));
    store_expect_bytes(s, 2, l2, strlen(l2));
    store_expect_bytes(s, 3, docker, n1);
    store_expect_bytes(s, 4, sqli, n2);
    assert_int_equal(count_query(s, "rule.id:(87903)"), 2);
    assert_int_equal(count_query(s, "rule.id:(31103)"), 2);
    assert_int_equal(count_query(s, "rule.groups:sql_injection and rule.mitre.id:T1190"), 2);
    assert_int_equal(count_query(s, "full_log ~ \"select+*+from\""), 2);
    assert_int_equal(count_query(s, "data.docker.Actor.Attributes.name:test-container"), 2);
    assert_int_equal(count_query(s, "rule.level >= 7 and agent.name:Ubuntu22"), 2);
    assert_int_equal(count_query(s, "data.url:*users*"), 2);
    /* The sqli alert's time: 2023-05-12T17:12:15.875+0300. */
    struct tld_query *q;
    assert_int_equal(tld_query_parse("rule.id:31103", 13, &q, NULL), 0);
    struct tld_store_filter f = {q, 1683900735875, 1683900735876};
    uint64_t n;
    assert_int_equal(tld_store_count(s, &f, &n), 0);
    assert_int_equal(n, 2);
    tld_query_free(q);
    tld_store_close(s);
    cJSON_Delete(j1);
    cJSON_Delete(j2);
    free(l1), free(l2), free(docker), free(sqli);
    store_tmp_remove(&t);
}

#define NLINES 400

static void make_lines(char **lines, unsigned n)
{
    uint64_t seed = 99;
    for (unsigned i = 0; i < n; i++)
        lines[i] = corpus_alert(&seed, i);
}

/* Which line index has this offset as its end (for resuming). */
static size_t line_after(char **lines, size_t n, uint64_t off)
{
    uint64_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (o == off)
            return i;
        o += strlen(lines[i]) + 1;
    }
    assert_true(o == off);
    return n;
}

struct seen_hits {
    char **lines;
    size_t n;
    unsigned char *seen; /* per store id - 1 */
    size_t hits;
};

static int check_hit(void *ctx, const struct tld_store_hit *h)
{
    struct seen_hits *sh = ctx;
    assert_true(h->id >= 1 && (size_t)h->id <= sh->n);
    assert_false(sh->seen[h->id - 1]);
    sh->seen[h->id - 1] = 1;
    const char *want = sh->lines[h->id - 1];
    assert_int_equal(h->raw_n, strlen(want));
    assert_memory_equal(h->raw, want, h->raw_n);
    sh->hits++;
    return 0;
}

/* The way `search --json --limit 0` reads the store: every alert once, page after page. */
static void expect_search_all(struct tld_store *s, char **lines, size_t n)
{
    const char *text = "rule.id:* or not rule.id:*";
    struct tld_query *q;
    assert_int_equal(tld_query_parse(text, strlen(text), &q, NULL), 0);
    struct seen_hits sh = {lines, n, calloc(n, 1), 0};
    struct tld_store_cursor cur;
    struct tld_store_search sq = {{q, 0, INT64_MAX}, false, 37, NULL};
    bool more = true;
    while (more) {
        assert_int_equal(tld_store_search(s, &sq, check_hit, &sh, &cur, &more), 0);
        sq.after = &cur;
    }
    assert_int_equal(sh.hits, n);
    free(sh.seen);
    tld_query_free(q);
}

/* Every line stored exactly once, in order: store id k holds line k-1. */
static void expect_each_once(struct tld_store *s, char **lines, size_t n)
{
    expect_search_all(s, lines, n);
    struct tld_store_filter f = {NULL, 0, INT64_MAX};
    uint64_t count;
    assert_int_equal(tld_store_count(s, &f, &count), 0);
    assert_int_equal(count, n);
    for (size_t i = 0; i < n; i++)
        store_expect_bytes(s, (int64_t)i + 1, lines[i], strlen(lines[i]));
}

static void replays_store_once(void **state)
{
    struct store_tmp t;
    store_tmp_make(&t);
    char *lines[NLINES];
    make_lines(lines, NLINES);
    struct tld_store *s = store_open(t.path, false);
    struct tld_store_pos pos;
    assert_int_equal(tld_store_position(s, &pos), 0);
    assert_true(pos.gen == 0 && pos.off == 0);
    assert_int_equal(store_feed(s, lines, 0, 150, 40), 150);
    /* Overlap: lines 100..249 again, only 150..249 are new. */
    assert_int_equal(store_feed(s, lines, 100, 250, 33), 100);
    tld_store_close(s);
    s = store_open(t.path, false);
    assert_int_equal(tld_store_position(s, &pos), 0);
    assert_int_equal(line_after(lines, NLINES, pos.off), 250);
    /* A full replay from the start stores only what is missing. */
    assert_int_equal(store_feed(s, lines, 0, NLINES, 64), NLINES - 250);
    assert_int_equal(store_feed(s, lines, 0, NLINES, 7), 0);
    expect_each_once(s, lines, NLINES);
    /* A new generation (a rotated file) orders after every offset of the old one. */
    struct tld_store_line l = {"{\"rule\":{\"id\":\"1\"}}", 19, {2, 5}};
    struct tld_store_batch b = {&l, 1, 0};
    size_t stored;
    assert_int_equal(tld_store_ingest(s, &b, &stored), 0);
    assert_int_equal(stored, 1);
    assert_int_equal(tld_store_ingest(s, &b, &stored), 0);
    assert_int_equal(stored, 0);
    tld_store_close(s);
    for (unsigned i = 0; i < NLINES; i++)
        free(lines[i]);
    store_tmp_remove(&t);
}

/* An event's alert is stored once, however many times the event was analysed. */
static void events_stored_once(void **state)
{
    (void)state;
    struct store_tmp t;
    store_tmp_make(&t);
    struct tld_store *s = store_open(t.path, false);
    store_expect_events_once(s);
    tld_store_close(s);
    /* The identities survive a reopen: a re-analysed event arriving later is still left out. */
    s = store_open(t.path, false);
    char *again = store_event_alert(7, 9);
    struct tld_store_line l = {again, strlen(again), {9, 1}};
    struct tld_store_batch b = {&l, 1, 0};
    size_t stored = 1;
    assert_int_equal(tld_store_ingest(s, &b, &stored), 0);
    assert_int_equal(stored, 0);
    free(again);
    tld_store_close(s);
    store_tmp_remove(&t);
}

/* The writer in a child: resume from the stored position and feed the rest, a few at a time
 * with pauses, so that a kill lands anywhere: inside a transaction, between two, at open. */
static void child_writer(const char *path, char **lines)
{
    struct tld_store *s = store_open(path, false);
    struct tld_store_pos pos;
    if (tld_store_position(s, &pos))
        _exit(3);
    for (size_t from = line_after(lines, NLINES, pos.off); from < NLINES; from += 4) {
        store_feed(s, lines, from, from + 4 < NLINES ? from + 4 : NLINES, 1 + from % 3);
        usleep(1000);
    }
    tld_store_close(s);
    _exit(0);
}

static void sigkill_loses_nothing(void **state)
{
    struct store_tmp t;
    store_tmp_make(&t);
    char *lines[NLINES];
    make_lines(lines, NLINES);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    unsigned seed = (unsigned)ts.tv_nsec;
    int interrupted = 0;
    unsigned idle = 0; /* rounds killed before any progress: a loaded machine, so wait longer */
    size_t done = 0;
    for (int round = 0; round < 100 && done < NLINES; round++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            child_writer(t.path, lines);
        usleep(5000 + (unsigned)rand_r(&seed) % 40000 + idle * 20000);
        kill(pid, SIGKILL);
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) == 0));
        /* Killed in the middle: some lines stored, not all. */
        struct tld_store *s = store_open(t.path, false);
        struct tld_store_pos pos;
        assert_int_equal(tld_store_position(s, &pos), 0);
        tld_store_close(s);
        size_t now = line_after(lines, NLINES, pos.off);
        interrupted += WIFSIGNALED(st) && now > done && now < NLINES;
        idle = now > done ? 0 : idle + 1;
        done = now;
    }
    assert_true(interrupted >= 3);
    /* Resume to the end in this process, then every line must be there once. */
    struct tld_store *s = store_open(t.path, false);
    struct tld_store_pos pos;
    assert_int_equal(tld_store_position(s, &pos), 0);
    store_feed(s, lines, line_after(lines, NLINES, pos.off), NLINES, 50);
    expect_each_once(s, lines, NLINES);
    /* Rollup rows written by killed writers add up to the alerts too. */
    expect_rollup_exact(s, "");
    expect_rollup_exact(s, "rule.level >= 5");
    tld_store_close(s);
    for (unsigned i = 0; i < NLINES; i++)
        free(lines[i]);
    store_tmp_remove(&t);
}

static char *deep_json(int depth)
{
    char *p = malloc((size_t)depth * 8 + 64);
    size_t n = (size_t)sprintf(p, "{\"rule\":{\"id\":\"deep\"},\"data\":");
    for (int i = 0; i < depth; i++)
        n += (size_t)sprintf(p + n, "{\"a\":");
    n += (size_t)sprintf(p + n, "1");
    for (int i = 0; i < depth; i++)
        p[n++] = '}';
    p[n++] = '}';
    p[n] = '\0';
    return p;
}

static char *wide_json(int keys, size_t value_len)
{
    char *p = malloc((size_t)keys * 24 + value_len + 128);
    size_t n = (size_t)sprintf(p, "{\"rule\":{\"id\":\"wide\"},\"full_log\":\"");
    for (size_t i = 0; i < value_len; i++)
        p[n++] = (char)('a' + i % 26);
    n += (size_t)sprintf(p + n, "\",\"data\":{");
    for (int i = 0; i < keys; i++)
        n += (size_t)sprintf(p + n, "%s\"k%d\":%d", i ? "," : "", i, i);
    n += (size_t)sprintf(p + n, "}}");
    return p;
}

static void odd_alerts_are_kept(void **state)
{
    struct store_tmp t;
    store_tmp_make(&t);
    struct tld_store *s = store_open(t.path, false);
    char *deep = deep_json(5000), *wide = wide_json(5000, 200000);
    const char *odd[] = {
        "not json at all",
        "[1,2,3]",
        "",
        "{\"timestamp\":12,\"rule\":{\"level\":\"high\",\"id\":31103,\"groups\":\"web\"}}",
        "{\"timestamp\":\"yesterday\",\"agent\":{\"name\":[\"a\",\"b\"]},\"data\":\"flat\"}",
        "{\"rule\":{\"groups\":[[\"x\"],{\"y\":1},null,true,2.5]},\"data\":{\"\":1,\"a\":null}}",
        "{\"full_log\":\"\xff\xfe invalid utf-8 \xc3\",\"data\":{\"x\":\"\xe9t\xe9\"}}",
        "{\"data\":{\"n\":1e300,\"m\":-0.000001,\"big\":123456789012345678901234567890}}",
        deep,
        wide,
    };
    size_t n = sizeof(odd) / sizeof(odd[0]);
    struct tld_store_line lines[16];
    for (size_t i = 0; i < n; i++)
        lines[i] = (struct tld_store_line){odd[i], strlen(odd[i]), {1, i + 1}};
    struct tld_store_batch b = {lines, n, 1700000000000};
    size_t stored;
    int rc = tld_store_ingest(s, &b, &stored);
    if (rc)
        fail_msg("ingest: %d %s", rc, tld_store_errmsg(s));
    assert_int_equal(stored, n);
    for (size_t i = 0; i < n; i++)
        store_expect_bytes(s, (int64_t)i + 1, odd[i], strlen(odd[i]));
    /* Queries still run over them, and find what is indexable. */
    assert_int_equal(count_query(s, "rule.id:wide"), 1);
    assert_int_equal(count_query(s, "rule.id:31103"), 0);   /* a number: no string column value */
    assert_int_equal(count_query(s, "data.k4999:4999"), 0); /* past the indexed pairs */
    assert_int_equal(count_query(s, "data.k10:10"), 1);
    assert_int_equal(count_query(s, "full_log ~ \"xyzabc\""), 1);
    assert_int_equal(count_query(s, "data:flat"), 1);
    assert_int_equal(count_query(s, "rule.groups:2.5"), 1);
    assert_int_equal(count_query(s, "agent.name:a"), 0); /* not a string: no column value */
    assert_int_equal(count_query(s, "full_log ~ invalid"), 1);
    /* Without a readable timestamp an alert takes the batch's time. */
    struct tld_store_filter f = {NULL, 1700000000000, 1700000000001};
    uint64_t c;
    assert_int_equal(tld_store_count(s, &f, &c), 0);
    assert_int_equal(c, n);
    tld_store_close(s);
    free(deep);
    free(wide);
    store_tmp_remove(&t);
}

static void retention_by_age_and_size(void **state)
{
    struct store_tmp t;
    store_tmp_make(&t);
    enum { N = 3000 };
    char **lines = malloc(N * sizeof(*lines));
    uint64_t seed = 5;
    for (unsigned i = 0; i < N; i++)
        lines[i] = corpus_alert(&seed, i);
    struct tld_store *s = store_open(t.path, false);
    assert_int_equal(store_feed(s, lines, 0, N, 500), N);
    struct tld_store_stats st;
    assert_int_equal(tld_store_stats(s, &st), 0);
    assert_int_equal(st.alerts, N);
    /* By age: everything before the median time goes. */
    int64_t cut = st.oldest_ms + (st.newest_ms - st.oldest_ms) / 2;
    struct tld_store_filter older = {NULL, 0, cut}, newer = {NULL, cut, INT64_MAX};
    uint64_t n_old, n_new, deleted;
    assert_int_equal(tld_store_count(s, &older, &n_old), 0);
    assert_int_equal(tld_store_count(s, &newer, &n_new), 0);
    assert_true(n_old > 0 && n_new > 0);
    assert_int_equal(tld_store_retain(s, cut, 0, &deleted), 0);
    assert_int_equal(deleted, n_old);
    assert_int_equal(tld_store_count(s, &older, &n_old), 0);
    assert_int_equal(n_old, 0);
    uint64_t n_after;
    assert_int_equal(tld_store_count(s, &newer, &n_after), 0);
    assert_int_equal(n_after, n_new);
    /* Side tables follow: no query finds a deleted alert. */
    assert_int_equal(count_query(s, "data.srcip:*") + count_query(s, "not data.srcip:*"), n_new);
    expect_rollup_exact(s, "");
    expect_rollup_exact(s, "rule.groups:web or rule.level >= 8");
    expect_rollup_exact(s, "agent.name:web* and not rule.id:5710");
    expect_tops_exact(s, 0, INT64_MAX);
    expect_tops_exact(s, cut - 4000007, cut + 5400013);
    /* By size: down to a third of what is used, keeping the newest. */
    assert_int_equal(tld_store_stats(s, &st), 0);
    uint64_t limit = st.bytes / 3;
    int64_t newest = st.newest_ms;
    assert_int_equal(tld_store_retain(s, 0, limit, &deleted), 0);
    assert_true(deleted > 0);
    assert_int_equal(tld_store_stats(s, &st), 0);
    if (st.bytes > limit)
        fail_msg("%llu bytes used, limit %llu", (unsigned long long)st.bytes,
                 (unsigned long long)limit);
    assert_true(st.alerts > 0 && st.alerts < n_new);
    assert_int_equal(st.newest_ms, newest);
    struct tld_store_filter before_oldest = {NULL, 0, st.oldest_ms};
    assert_int_equal(tld_store_count(s, &before_oldest, &n_old), 0);
    assert_int_equal(n_old, 0);
    expect_rollup_exact(s, "");
    expect_rollup_exact(s, "rule.mitre.tactic:* and rule.level < 9");
    expect_tops_exact(s, 0, INT64_MAX);
    expect_tops_exact(s, st.oldest_ms - 61001, st.oldest_ms + 7200000 + 59999);
    /* The file shrank too (auto_vacuum), and new alerts still go in with fresh ids. */
    struct stat sb;
    assert_int_equal(stat(t.path, &sb), 0);
    assert_true((uint64_t)sb.st_size <= limit + (1u << 20));
    struct tld_store_line l = {"{\"rule\":{\"id\":\"after\"}}", 23, {2, 1}};
    struct tld_store_batch b = {&l, 1, 0};
    size_t stored;
    assert_int_equal(tld_store_ingest(s, &b, &stored), 0);
    store_expect_bytes(s, N + 1, l.p, l.n);
    tld_store_close(s);
    for (unsigned i = 0; i < N; i++)
        free(lines[i]);
    free(lines);
    store_tmp_remove(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mission_alerts),      cmocka_unit_test(replays_store_once),
        cmocka_unit_test(events_stored_once),  cmocka_unit_test(sigkill_loses_nothing),
        cmocka_unit_test(odd_alerts_are_kept), cmocka_unit_test(retention_by_age_and_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
