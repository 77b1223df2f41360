/*
 * Unit tests for the SQLite alert store (src/store/): the store query suite
 * (test_store_suite.h) on a SQLite database in a scratch folder, and stores of earlier schema
 * versions read as they are, then converted by their writer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "test_store_suite.h"

static struct tld_store *open_sqlite(struct fixture *f, bool read_only)
{
    return store_open(f->tmp.path, read_only);
}

/* One store for the whole suite: filling it is the slow part, and no test changes it. */
static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    store_tmp_make(&f->tmp);
    f->open = open_sqlite;
    suite_fill(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    suite_empty(f);
    store_tmp_remove(&f->tmp);
    free(f);
    return 0;
}

/* Schema 2's per-minute rollup: counts per minute and level only; no per-value rollups. */
static const char *const to_schema2 =
    "DROP TABLE alert_top;"
    "DROP TABLE alert_hour_ids;"
    "DROP TABLE alert_rollup_min;"
    "CREATE TABLE alert_rollup_min(ts INTEGER NOT NULL, rule_level INTEGER, n INTEGER NOT NULL);"
    "INSERT INTO alert_rollup_min SELECT ts - (((ts % 60000) + 60000) % 60000) AS m, rule_level,"
    "  count(*) FROM alerts GROUP BY m, rule_level;"
    "CREATE INDEX alert_rollup_min_ts ON alert_rollup_min(ts);"
    "PRAGMA user_version=2;";

/* Schema 3: no per-value rollups, no id spans, no rule index on the per-minute rollup. */
static const char *const to_schema3 = "DROP TABLE alert_top;"
                                      "DROP TABLE alert_hour_ids;"
                                      "DROP INDEX alert_rollup_min_rule;"
                                      "PRAGMA user_version=3;";

static int user_version(const char *path)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* Half-hour buckets of a rule.id query, each checked against the model of the first `stored`
 * alerts. */
static void rule_histogram_is_right(struct fixture *f, struct tld_store *s, unsigned stored)
{
    const char *text = "rule.id:(5710 or 87903)";
    struct tld_query *q;
    assert_int_equal(tld_query_parse(text, strlen(text), &q, NULL), 0);
    struct tld_store_filter flt = {q, f->ts[50] + 7, f->ts[550] - 11};
    struct buckets b = {0};
    int64_t iv;
    assert_int_equal(tld_store_histogram(s, &flt, 1800000, collect_bucket, &b, &iv), 0);
    uint64_t sum = 0;
    for (size_t i = 0; i < b.n; i++) {
        uint64_t want = 0;
        for (unsigned a = 0; a < stored; a++)
            want += f->ts[a] >= flt.from_ms && f->ts[a] < flt.to_ms && f->ts[a] >= b.start[i] &&
                    f->ts[a] < b.start[i] + 1800000 && model_eval(q->root, f->json[a]);
        assert_int_equal(b.count[i], want);
        sum += want;
    }
    assert_true(sum > 10);
    tld_query_free(q);
}

/* Top agents and top MITRE techniques over a range whose ends fall inside minutes and hours, and
 * a contains search over it, checked against the model of the first `stored` alerts. */
static void top_values_are_right(struct fixture *f, struct tld_store *s, unsigned stored)
{
    int64_t from = f->ts[40] + 7, to = f->ts[stored - 30] - 11;
    const char *fields[] = {"agent.name", "rule.mitre.technique", "rule.groups"};
    for (size_t k = 0; k < 3; k++) {
        struct tally want = {0};
        for (unsigned a = 0; a < stored; a++) {
            if (f->ts[a] < from || f->ts[a] >= to)
                continue;
            struct model_values mv;
            model_values_of(f->json[a], fields[k], &mv);
            for (size_t i = 0; i < mv.n; i++) {
                bool dup = false;
                for (size_t j = 0; j < i; j++)
                    dup |= !strcmp(mv.v[j], mv.v[i]);
                size_t j = 0;
                while (!dup && j < want.n && strcmp(want.v[j], mv.v[i]))
                    j++;
                if (dup)
                    continue;
                if (j == want.n)
                    want.v[want.n++] = strdup(mv.v[i]);
                want.c[j]++;
            }
            model_free(&mv);
        }
        struct tld_store_filter flt = {NULL, from, to};
        struct terms got = {0};
        assert_int_equal(tld_store_terms(s, &flt, fields[k], 32, collect_term, &got), 0);
        assert_true(want.n > 1 && got.n == want.n);
        for (size_t i = 0; i < got.n; i++) {
            size_t j = 0;
            while (j < want.n && strcmp(want.v[j], got.v[i]))
                j++;
            assert_true(j < want.n);
            if (got.c[i] != want.c[j])
                fail_msg("%s %s: %llu, wanted %llu", fields[k], got.v[i],
                         (unsigned long long)got.c[i], (unsigned long long)want.c[j]);
        }
        for (size_t i = 0; i < want.n; i++)
            free(want.v[i]);
    }
    /* A contains search over the range: its candidates are bounded by the hours' id spans. */
    const char *text = "full_log ~ sel or full_log ~ \"union select\"";
    struct tld_query *q;
    assert_int_equal(tld_query_parse(text, strlen(text), &q, NULL), 0);
    uint64_t want = 0, got;
    for (unsigned a = 0; a < stored; a++)
        want += f->ts[a] >= from && f->ts[a] < to && model_eval(q->root, f->json[a]);
    struct tld_store_filter flt = {q, from, to};
    assert_int_equal(tld_store_count(s, &flt, &got), 0);
    assert_true(want > 0);
    assert_int_equal(got, want);
    tld_query_free(q);
}

/* A store of an older schema (made by `downgrade`): a reader reads it as it is (without the
 * rollups that schema lacks), its writer converts it to schema 4, and all answer alike, before
 * and after alerts stored since the conversion. */
static void read_then_converted(struct fixture *f, const char *downgrade, int version)
{
    struct store_tmp old;
    store_tmp_make(&old);
    struct tld_store *w = store_open(old.path, false);
    assert_int_equal(store_feed(w, f->lines, 0, NALERTS / 2, 101), NALERTS / 2);
    tld_store_close(w);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(old.path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, downgrade, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(user_version(old.path), version);
    struct tld_store *r = store_open(old.path, true);
    top_values_are_right(f, r, NALERTS / 2);
    rule_histogram_is_right(f, r, NALERTS / 2);
    tld_store_close(r);
    assert_int_equal(user_version(old.path), version);
    w = store_open(old.path, false);
    assert_int_equal(user_version(old.path), 4);
    top_values_are_right(f, w, NALERTS / 2);
    rule_histogram_is_right(f, w, NALERTS / 2);
    assert_int_equal(store_feed(w, f->lines, NALERTS / 2, NALERTS, 101), NALERTS - NALERTS / 2);
    tld_store_close(w);
    r = store_open(old.path, true);
    top_values_are_right(f, r, NALERTS);
    rule_histogram_is_right(f, r, NALERTS);
    tld_store_close(r);
    store_tmp_remove(&old);
}

/* Schema 2 (no rule ids in the per-minute rollup) and schema 3 (no per-value rollups). */
static void schema2_read_then_converted(void **state)
{
    read_then_converted(*state, to_schema2, 2);
}

static void schema3_read_then_converted(void **state)
{
    read_then_converted(*state, to_schema3, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        STORE_SUITE_TESTS(suite_nothing, suite_nothing),
        cmocka_unit_test_setup_teardown(schema2_read_then_converted, suite_nothing, suite_nothing),
        cmocka_unit_test_setup_teardown(schema3_read_then_converted, suite_nothing, suite_nothing)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
