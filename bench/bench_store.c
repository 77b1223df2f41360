/*
 * Alert store benchmark: ingest rate on one core with every index and the full-text index in
 * place, disk bytes per alert, and the time of the queries the dashboard runs. The corpus is
 * made from template alerts (alerts.json files given on the command line): each generated alert
 * is a template with its own time (spread over `--days`), agent, alert id and, for web logs, a
 * varied source address, so indexes see realistic cardinalities. Generation is not timed.
 *
 * Build (after `make`):
 *   cc -O2 -Isrc bench/bench_store.c build/lib/libtld_store.a build/lib/libtld_common.a \
 *      $(pkg-config --cflags --libs libcjson sqlite3 libpcre2-8 libcurl) -lm -o build/bench_store
 * Run:
 *   build/bench_store --db /tmp/b.db --count 200000 FILE.alerts.json...
 *   build/bench_store --clickhouse http://127.0.0.1:8123/ --count 200000 FILE.alerts.json...
 * (ClickHouse: a fresh table tld_bench_PID on a server started beforehand.)
 */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"

struct corpus {
    char **lines;
    size_t *lens;
    size_t n, cap;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void push(struct corpus *c, char *line)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 1024;
        c->lines = realloc(c->lines, c->cap * sizeof(*c->lines));
        c->lens = realloc(c->lens, c->cap * sizeof(*c->lens));
        if (!c->lines || !c->lens)
            abort();
    }
    c->lens[c->n] = strlen(line);
    c->lines[c->n++] = line;
}

static void read_templates(const char *path, struct corpus *t)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        exit(2);
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] == '\n')
            line[n - 1] = '\0';
        push(t, strdup(line));
    }
    free(line);
    fclose(f);
}

static void set_string(cJSON *obj, const char *key, const char *v)
{
    if (!obj)
        return;
    cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
    cJSON_AddStringToObject(obj, key, v);
}

/* One generated alert from template `t`: its own time, agent, id and source address. */
static char *generate(const char *t, size_t i, size_t count, int days, unsigned *seed)
{
    cJSON *a = cJSON_Parse(t);
    if (!a)
        return strdup(t);
    time_t base = 1795000000 - (time_t)days * 86400;
    time_t ts = base + (time_t)((double)i / (double)count * days * 86400);
    struct tm tm;
    gmtime_r(&ts, &tm);
    char buf[64];
    snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03d+0000", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(i % 1000));
    set_string(a, "timestamp", buf);
    snprintf(buf, sizeof(buf), "%ld.%zu", (long)ts, i);
    set_string(a, "id", buf);
    unsigned agent = (unsigned)rand_r(seed) % 50;
    cJSON *ag = cJSON_GetObjectItemCaseSensitive(a, "agent");
    snprintf(buf, sizeof(buf), "%03u", agent + 1);
    set_string(ag, "id", buf);
    snprintf(buf, sizeof(buf), "host-%02u", agent);
    set_string(ag, "name", buf);
    cJSON *data = cJSON_GetObjectItemCaseSensitive(a, "data");
    if (cJSON_GetObjectItemCaseSensitive(data, "srcip")) {
        unsigned r = (unsigned)rand_r(seed);
        snprintf(buf, sizeof(buf), "10.%u.%u.%u", r % 7, (r >> 8) % 250, (r >> 16) % 250);
        set_string(data, "srcip", buf);
    }
    char *out = cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    return out;
}

static int nop_hit(void *ctx, const struct tld_store_hit *h)
{
    (void)h;
    ++*(size_t *)ctx;
    return 0;
}

static int nop_term(void *ctx, const char *v, size_t n, uint64_t c)
{
    (void)v, (void)n, (void)c;
    ++*(size_t *)ctx;
    return 0;
}

static int nop_bucket(void *ctx, int64_t s, uint64_t c)
{
    (void)s, (void)c;
    ++*(size_t *)ctx;
    return 0;
}

static void time_query(struct tld_store *s, const char *label, const char *text, int kind,
                       int64_t from, int64_t to)
{
    struct tld_query *q = NULL;
    struct tld_query_error err;
    if (tld_query_parse(text, strlen(text), &q, &err)) {
        printf("%s: parse error at %zu: %s\n", label, err.off, err.msg);
        return;
    }
    struct tld_store_filter f = {q, from, to};
    size_t n = 0;
    uint64_t cnt = 0;
    double t0 = now_s();
    int rc = 0;
    if (kind == 0) {
        struct tld_store_search se = {.filter = f, .limit = 50};
        struct tld_store_cursor next;
        bool more;
        rc = tld_store_search(s, &se, nop_hit, &n, &next, &more);
    } else if (kind == 1) {
        rc = tld_store_count(s, &f, &cnt);
        n = (size_t)cnt;
    } else if (kind == 2) {
        int64_t iv;
        rc = tld_store_histogram(s, &f, 0, nop_bucket, &n, &iv);
    } else {
        rc = tld_store_terms(s, &f, text + strlen(text) + 1, 10, nop_term, &n);
    }
    printf("  %-44s %8.1f ms  (%zu results)%s\n", label, (now_s() - t0) * 1e3, n,
           rc ? " ERROR" : "");
    tld_query_free(q);
}

int main(int argc, char **argv)
{
    const char *db = "/tmp/bench_store.db", *ch_url = NULL;
    size_t count = 200000, batch = 10000;
    int days = 7, i;
    bool as_is = false;
    struct corpus t = {0};
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--db") && i + 1 < argc)
            db = argv[++i];
        else if (!strcmp(argv[i], "--count") && i + 1 < argc)
            count = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            batch = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--clickhouse") && i + 1 < argc)
            ch_url = argv[++i];
        else if (!strcmp(argv[i], "--as-is"))
            as_is = true; /* the templates themselves, cycled: for profiling ingest alone */
        else if (!strcmp(argv[i], "--days") && i + 1 < argc)
            days = atoi(argv[++i]);
        else
            read_templates(argv[i], &t);
    }
    if (!t.n) {
        fprintf(stderr, "usage: bench_store [--db F] [--count N] [--batch N] ALERTS.json...\n");
        return 2;
    }
    struct corpus c = {0};
    unsigned seed = 1;
    for (size_t k = 0; k < count; k++)
        push(&c,
             as_is ? strdup(t.lines[k % t.n]) : generate(t.lines[k % t.n], k, count, days, &seed));
    uint64_t bytes_in = 0;
    for (size_t k = 0; k < c.n; k++)
        bytes_in += c.lens[k] + 1;

    char path[4096];
    for (const char *sfx = ""; sfx; sfx = !*sfx ? "-wal" : !strcmp(sfx, "-wal") ? "-shm" : NULL) {
        snprintf(path, sizeof(path), "%s%s", db, sfx);
        unlink(path);
    }
    char table[64];
    snprintf(table, sizeof(table), "tld_bench_%d", (int)getpid());
    struct tld_store_config cfg = {.backend = TLD_STORE_SQLITE, .path = db};
    if (ch_url)
        cfg = (struct tld_store_config){
            .backend = TLD_STORE_CLICKHOUSE, .url = ch_url, .table = table};
    struct tld_store *s;
    if (tld_store_open(&cfg, &s)) {
        fprintf(stderr, "open failed\n");
        return 1;
    }
    struct tld_store_line *lines = calloc(batch, sizeof(*lines));
    uint64_t off = 0;
    clock_t cpu0 = clock();
    double t0 = now_s();
    for (size_t k = 0; k < c.n; k += batch) {
        size_t m = c.n - k < batch ? c.n - k : batch;
        for (size_t j = 0; j < m; j++) {
            off += c.lens[k + j] + 1;
            lines[j] = (struct tld_store_line){c.lines[k + j], c.lens[k + j], {1, off}};
        }
        struct tld_store_batch b = {lines, m, 0};
        size_t stored;
        int rc = tld_store_ingest(s, &b, &stored);
        if (rc) {
            fprintf(stderr, "ingest: %d %s\n", rc, tld_store_errmsg(s));
            return 1;
        }
    }
    double secs = now_s() - t0;
    double cpu = (double)(clock() - cpu0) / CLOCKS_PER_SEC;
    struct tld_store_stats st;
    tld_store_stats(s, &st);
    /* The periodic upkeep (retention with no limits) refreshes the planner's statistics. */
    uint64_t deleted;
    double u0 = now_s();
    if (!ch_url)
        tld_store_retain(s, 0, 0, &deleted);
    double upkeep = now_s() - u0;
    printf("ingest: %zu alerts (%.0f B each) in %.2f s wall, %.2f s CPU: %.0f alerts/s wall, "
           "%.0f alerts/s per CPU second; %.0f bytes/alert in the store\n",
           c.n, (double)bytes_in / c.n, secs, cpu, c.n / secs, c.n / cpu,
           (double)st.bytes / st.alerts);
    printf("upkeep: %.0f ms\n", upkeep * 1e3);
    /* Dashboard ranges are whole minutes, as a time picker gives them. */
    int64_t hi = (st.newest_ms / 60000 + 1) * 60000, day = hi - 86400000;
    time_query(s, "rule.id:31103, newest 50", "rule.id:31103", 0, 0, INT64_MAX);
    time_query(s, "rule.id:(87903), newest 50", "rule.id:(87903)", 0, 0, INT64_MAX);
    time_query(s, "first Events page, 24 h", "", 0, day, hi);
    time_query(s, "count 24 h", "", 1, day, hi);
    time_query(s, "count level >= 12, 24 h", "rule.level >= 12", 1, day, hi);
    time_query(s, "count authentication_failed, 24 h",
               "rule.groups:(authentication_failed or authentication_failures)", 1, day, hi);
    time_query(s, "histogram 24 h", "", 2, day, hi);
    time_query(s, "top MITRE techniques 24 h", "\0rule.mitre.technique", 3, day, hi);
    time_query(s, "top agents 24 h", "\0agent.name", 3, day, hi);
    time_query(s, "top data.srcip 24 h", "\0data.srcip", 3, day, hi);
    time_query(s, "full_log ~ \"select\", count", "full_log ~ \"select\"", 1, 0, INT64_MAX);
    time_query(s, "full_log ~ \"union select\", newest 50", "full_log ~ \"union select\"", 0, 0,
               INT64_MAX);
    time_query(s, "data.srcip:10.1.*, count", "data.srcip:10.1.*", 1, 0, INT64_MAX);
    tld_store_close(s);
    return 0;
}
