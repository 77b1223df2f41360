/*
 * Unit tests for the ClickHouse alert store (src/store/ch_*.c): a clickhouse-server from
 * Debian's package, started by the test as a plain process with its own config folder and
 * loopback ports, runs the store query suite (test_store_suite.h) that the SQLite backend runs,
 * so both give the model's answers, hence each other's. Ingest stores each line once across
 * replays, and retention by age removes exactly the older alerts. With TLD_CH_CLUSTER_URLS
 * (endpoints, space-separated) and TLD_CH_CLUSTER (its name) set, the same tests run against
 * that cluster instead (tests/integration/test_store_cluster.py starts one and runs this).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "test_store_suite.h"

struct server {
    pid_t pid; /* 0: a cluster the test did not start */
    char url[1024];
    const char *cluster;
};

static const char *server_binary(void)
{
    static const char *const paths[] = {"/usr/bin/clickhouse-server", "/usr/sbin/clickhouse-server",
                                        "/usr/bin/clickhouse"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        if (access(paths[i], X_OK) == 0)
            return paths[i];
    return NULL;
}

static void write_config(const char *dir, int http, int tcp)
{
    char path[160];
    snprintf(path, sizeof(path), "%s/config.xml", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "<?xml version=\"1.0\"?>\n<yandex>\n"
            "<logger><level>warning</level><log>%s/server.log</log>"
            "<errorlog>%s/error.log</errorlog><size>10M</size><count>1</count></logger>\n"
            "<http_port>%d</http_port><tcp_port>%d</tcp_port>"
            "<listen_host>127.0.0.1</listen_host>\n"
            "<path>%s/data/</path><tmp_path>%s/tmp/</tmp_path>"
            "<user_files_path>%s/user_files/</user_files_path>"
            "<format_schema_path>%s/format_schemas/</format_schema_path>\n"
            "<users_config>%s/users.xml</users_config>"
            "<default_profile>default</default_profile><default_database>default</default_database>"
            "<mark_cache_size>104857600</mark_cache_size>\n</yandex>\n",
            dir, dir, http, tcp, dir, dir, dir, dir, dir);
    fclose(f);
    snprintf(path, sizeof(path), "%s/users.xml", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("<?xml version=\"1.0\"?>\n<yandex><profiles><default></default></profiles>"
          "<users><default><password></password><networks><ip>127.0.0.1</ip></networks>"
          "<profile>default</profile><quota>default</quota></default></users>"
          "<quotas><default></default></quotas></yandex>\n",
          f);
    fclose(f);
}

/* Starts a server on free-looking loopback ports and waits until it answers. */
static void server_start(struct server *sv, const char *dir)
{
    const char *urls = getenv("TLD_CH_CLUSTER_URLS");
    if (urls) {
        snprintf(sv->url, sizeof(sv->url), "%s", urls);
        sv->cluster = getenv("TLD_CH_CLUSTER");
        assert_non_null(sv->cluster);
        return;
    }
    const char *bin = server_binary();
    if (!bin)
        fail_msg("clickhouse-server is not installed (mk/deps.sh installs it)");
    int base = 20000 + (int)(getpid() % 20000);
    write_config(dir, base, base + 1);
    snprintf(sv->url, sizeof(sv->url), "http://127.0.0.1:%d/", base);
    char cfg[160], log[160];
    snprintf(cfg, sizeof(cfg), "--config-file=%s/config.xml", dir);
    snprintf(log, sizeof(log), "%s/stdout.log", dir);
    sv->pid = fork();
    assert_true(sv->pid >= 0);
    if (sv->pid == 0) {
        if (!freopen(log, "w", stdout) || !freopen(log, "a", stderr))
            _exit(126);
        execl(bin, bin, cfg, (char *)NULL);
        _exit(127);
    }
    struct tld_store_config c = {
        .backend = TLD_STORE_CLICKHOUSE, .url = sv->url, .table = "tld_probe", .read_only = true};
    for (int i = 0; i < 300; i++) {
        struct tld_store *s = NULL;
        struct tld_store_pos pos;
        if (tld_store_open(&c, &s) == 0) {
            int rc = tld_store_position(s, &pos);
            tld_store_close(s);
            /* The probe table does not exist: any answer but "refused" means it is up. */
            if (rc != TLD_ECLOSED)
                return;
        }
        int st;
        if (waitpid(sv->pid, &st, WNOHANG) == sv->pid)
            fail_msg("clickhouse-server exited; see %s", log);
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
    }
    fail_msg("clickhouse-server did not answer on %s", sv->url);
}

static void server_stop(struct server *sv)
{
    if (sv->pid <= 0)
        return;
    kill(sv->pid, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (waitpid(sv->pid, NULL, WNOHANG) == sv->pid)
            return;
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
    }
    kill(sv->pid, SIGKILL);
    waitpid(sv->pid, NULL, 0);
}

static struct tld_store *open_ch_table(struct server *sv, const char *table, bool read_only)
{
    struct tld_store_config c = {.backend = TLD_STORE_CLICKHOUSE,
                                 .url = sv->url,
                                 .table = table,
                                 .cluster = sv->cluster,
                                 .read_only = read_only};
    struct tld_store *s = NULL;
    int rc = tld_store_open(&c, &s);
    if (rc)
        fail_msg("open clickhouse: %d", rc);
    return s;
}

static struct tld_store *open_ch(struct fixture *f, bool read_only)
{
    return open_ch_table(f->backend, "tld_suite", read_only);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct server *sv = calloc(1, sizeof(*sv));
    store_tmp_make(&f->tmp);
    f->backend = sv;
    f->open = open_ch;
    *state = f; /* set first: teardown stops the server even if the setup fails below */
    server_start(sv, f->tmp.dir);
    suite_fill(f);
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (!f)
        return 0;
    if (f->s)
        suite_empty(f);
    server_stop(f->backend);
    free(f->backend);
    store_tmp_remove(&f->tmp);
    free(f);
    return 0;
}

static void replays_and_retention(void **state)
{
    struct fixture *f = *state;
    struct tld_store *s = open_ch_table(f->backend, "tld_replay", false);
    assert_int_equal(store_feed(s, f->lines, 0, 150, 40), 150);
    assert_int_equal(store_feed(s, f->lines, 100, 250, 33), 100);
    assert_int_equal(store_feed(s, f->lines, 0, NALERTS, 64), NALERTS - 250);
    assert_int_equal(store_feed(s, f->lines, 0, NALERTS, 7), 0);
    struct tld_store_filter all = {NULL, 0, INT64_MAX};
    uint64_t n;
    assert_int_equal(tld_store_count(s, &all, &n), 0);
    assert_int_equal(n, NALERTS);
    for (int64_t id = 1; id <= NALERTS; id += 41)
        store_expect_bytes(s, id, f->lines[id - 1], strlen(f->lines[id - 1]));
    /* A new handle resumes from the position the rows carry. */
    tld_store_close(s);
    s = open_ch_table(f->backend, "tld_replay", false);
    assert_int_equal(store_feed(s, f->lines, 0, NALERTS, 100), 0);
    /* Retention by age. */
    int64_t cut = f->ts[NALERTS / 2];
    struct tld_store_filter older = {NULL, 0, cut};
    uint64_t n_old, deleted;
    assert_int_equal(tld_store_count(s, &older, &n_old), 0);
    assert_true(n_old > 0);
    int rc = tld_store_retain(s, cut, 0, &deleted);
    if (rc)
        fail_msg("retain: %d %s", rc, tld_store_errmsg(s));
    assert_int_equal(deleted, n_old);
    assert_int_equal(tld_store_count(s, &older, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(tld_store_count(s, &all, &n), 0);
    assert_int_equal(n, NALERTS - n_old);
    /* Retention by size: half the bytes in use as the bound; the oldest alerts go. */
    struct tld_store_stats before, after;
    assert_int_equal(tld_store_stats(s, &before), 0);
    assert_true(before.bytes > 0);
    rc = tld_store_retain(s, 0, before.bytes / 2, &deleted);
    if (rc)
        fail_msg("retain by size: %d %s", rc, tld_store_errmsg(s));
    assert_true(deleted > 0);
    assert_int_equal(tld_store_stats(s, &after), 0);
    assert_int_equal(after.alerts, before.alerts - deleted);
    assert_true(after.bytes < before.bytes);
    assert_true(after.oldest_ms > before.oldest_ms);
    assert_int_equal(after.newest_ms, before.newest_ms);
    tld_store_close(s);
}

struct store_ids {
    int64_t v[200];
    size_t n;
};

static int collect_id(void *ctx, const struct tld_store_hit *h)
{
    struct store_ids *ids = ctx;
    if (ids->n < 200)
        ids->v[ids->n++] = h->id;
    return 0;
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* An event's alert is stored once (ch_dedup.c); then two named writers on one table keep their
 * own positions and give distinct ids. */
static void events_stored_once(void **state)
{
    struct fixture *f = *state;
    struct tld_store *s = open_ch_table(f->backend, "tld_events", false);
    store_expect_events_once(s);
    tld_store_close(s);
    struct server *sv = f->backend;
    struct tld_store *w[2];
    for (int i = 0; i < 2; i++) {
        struct tld_store_config c = {.backend = TLD_STORE_CLICKHOUSE,
                                     .url = sv->url,
                                     .table = "tld_writers",
                                     .cluster = sv->cluster,
                                     .writer = i ? "manager_b" : "manager_a"};
        int rc = tld_store_open(&c, &w[i]);
        if (rc)
            fail_msg("open writer %d: %d", i, rc);
    }
    /* Both feed their own alerts.json: the same positions, different lines. */
    assert_int_equal(store_feed(w[0], f->lines, 0, 100, 30), 100);
    assert_int_equal(store_feed(w[1], f->lines + 100, 0, 50, 30), 50);
    assert_int_equal(store_feed(w[1], f->lines + 100, 0, 80, 30), 30);
    assert_int_equal(store_feed(w[0], f->lines, 0, 100, 30), 0);
    struct tld_store_filter all = {NULL, 0, INT64_MAX};
    uint64_t n;
    assert_int_equal(tld_store_count(w[0], &all, &n), 0);
    assert_int_equal(n, 180);
    int64_t last_a, last_b;
    assert_int_equal(tld_store_last_id(w[0], &last_a), 0);
    tld_store_close(w[1]);
    tld_store_close(w[0]);
    struct tld_store *r = open_ch_table(f->backend, "tld_writers", true);
    struct tld_store_search q = {{NULL, 0, INT64_MAX}, true, 1000, NULL};
    struct store_ids ids = {{0}, 0};
    struct tld_store_cursor next;
    bool more;
    assert_int_equal(tld_store_search(r, &q, collect_id, &ids, &next, &more), 0);
    assert_int_equal(ids.n, 180);
    qsort(ids.v, ids.n, sizeof(ids.v[0]), cmp_id);
    for (size_t i = 1; i < ids.n; i++)
        assert_true(ids.v[i] != ids.v[i - 1]);
    assert_int_equal(tld_store_last_id(r, &last_b), 0);
    assert_int_equal(last_a, last_b);
    tld_store_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        STORE_SUITE_TESTS(suite_nothing, suite_nothing),
        cmocka_unit_test(replays_and_retention),
        cmocka_unit_test(events_stored_once),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
