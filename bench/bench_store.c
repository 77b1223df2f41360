/*
 * Alert store benchmark: ingest rate on one core with every index and the full-text index in
 * place, disk bytes per alert, and the time of the queries the dashboard runs. The corpus is
 * made from template alerts (alerts.json files given on the command line): each generated alert
 * is a template with its own time (spread over `--days`), agent, alert id, container and, for
 * web logs, source address, so indexes see realistic cardinalities. Alerts are generated batch by
 * batch while ingesting (so 10 million need no more memory than one batch), and only the ingest
 * calls are timed.
 *
 * Build (after `make`; bench/store.sh does this):
 *   cc -O2 -Isrc bench/bench_store.c build/lib/libtld_store.a build/lib/libtld_common.a \
 *      $(pkg-config --cflags --libs libcjson sqlite3 libpcre2-8 libcurl) -lm -o build/bench_store
 * Run:
 *   build/bench_store --db /tmp/b.db --count 200000 FILE.alerts.json...
 *   build/bench_store --clickhouse http://127.0.0.1:8123/ --count 200000 FILE.alerts.json...
 *   build/bench_store --db /tmp/b.db --queries-only --reps 20   (queries on an existing store)
 * (ClickHouse: a fresh table tld_bench_PID on a server started beforehand.) With --json, every
 * figure is also printed as one JSON object per line, for bench/store_report.py.
 */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"

/* The parts of a template alert that each generated alert gets its own value for. */
enum var { V_TS, V_ID, V_AGENT_ID, V_AGENT_NAME, V_AGENT_IP, V_SRCIP, V_CONTAINER, V_COUNT };

static const char *const markers[V_COUNT] = {"\177T", "\177I", "\177A", "\177N",
                                             "\177P", "\177S", "\177C"};

/* A template cut at its variable parts: text[0] var[0] text[1] var[1] ... text[nvar]. */
struct tmpl {
    char **text;
    size_t *text_n;
    enum var *var;
    char *container; /* the template's container name, for V_CONTAINER */
    size_t nvar;
};

struct opts {
    const char *db, *ch_url;
    size_t count, batch, reps;
    int days, agents;
    bool json, queries_only;
};

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p)
        abort();
    return p;
}

static void mark(cJSON *obj, const char *key, enum var v)
{
    cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsString(it))
        cJSON_SetValuestring(it, markers[v]);
}

/* Cuts the printed template at the markers (DEL, which alerts do not hold and cJSON prints as is).
 */
static void cut(struct tmpl *t, const char *s)
{
    for (;;) {
        const char *m = strchr(s, '\x7f');
        size_t n = m ? (size_t)(m - s) : strlen(s);
        t->text = xrealloc(t->text, (t->nvar + 1) * sizeof(*t->text));
        t->text_n = xrealloc(t->text_n, (t->nvar + 1) * sizeof(*t->text_n));
        t->text[t->nvar] = strndup(s, n);
        t->text_n[t->nvar] = n;
        if (!m)
            return;
        enum var v = V_TS;
        while (markers[v][1] != m[1])
            v++;
        t->var = xrealloc(t->var, (t->nvar + 1) * sizeof(*t->var));
        t->var[t->nvar++] = v;
        s = m + 2;
    }
}

static bool make_template(const char *line, struct tmpl *t)
{
    memset(t, 0, sizeof(*t));
    cJSON *a = cJSON_Parse(line);
    if (!cJSON_IsObject(a)) {
        cJSON_Delete(a);
        return false;
    }
    mark(a, "timestamp", V_TS);
    mark(a, "id", V_ID);
    cJSON *ag = cJSON_GetObjectItemCaseSensitive(a, "agent");
    mark(ag, "id", V_AGENT_ID);
    mark(ag, "name", V_AGENT_NAME);
    mark(ag, "ip", V_AGENT_IP);
    mark(cJSON_GetObjectItemCaseSensitive(a, "data"), "srcip", V_SRCIP);
    cJSON *ct = cJSON_GetObjectItemCaseSensitive(a, "container");
    cJSON *cn = cJSON_GetObjectItemCaseSensitive(ct, "name");
    if (cJSON_IsString(cn)) {
        t->container = strdup(cn->valuestring);
        mark(ct, "name", V_CONTAINER);
    }
    char *s = cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    cut(t, s);
    free(s);
    return true;
}

static void read_templates(const char *path, struct tmpl **ts, size_t *n)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        exit(2);
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] == '\n')
            line[len - 1] = '\0';
        *ts = xrealloc(*ts, (*n + 1) * sizeof(**ts));
        if (make_template(line, &(*ts)[*n]))
            ++*n;
    }
    free(line);
    fclose(f);
}

/* A growing text buffer for one batch of generated lines. */
struct buf {
    char *p;
    size_t n, cap;
};

static void put(struct buf *b, const char *s, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

/* Alert k of `count`: template k % ntemplates with its own variable parts. */
static void generate(const struct opts *o, const struct tmpl *t, size_t k, unsigned *seed,
                     struct buf *b)
{
    time_t end = 1795000000, start = end - (time_t)o->days * 86400;
    double frac = (double)k / (double)o->count;
    time_t ts = start + (time_t)(frac * o->days * 86400);
    unsigned agent = (unsigned)rand_r(seed) % (unsigned)o->agents;
    unsigned r = (unsigned)rand_r(seed);
    for (size_t i = 0; i <= t->nvar; i++) {
        put(b, t->text[i], t->text_n[i]);
        if (i == t->nvar)
            break;
        char v[128];
        int n = 0;
        struct tm tm;
        switch (t->var[i]) {
        case V_TS:
            gmtime_r(&ts, &tm);
            n = snprintf(v, sizeof(v), "%04d-%02d-%02dT%02d:%02d:%02d.%03d+0000", tm.tm_year + 1900,
                         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                         (int)(k % 1000));
            break;
        case V_ID:
            n = snprintf(v, sizeof(v), "%ld.%zu", (long)ts, k);
            break;
        case V_AGENT_ID:
            n = snprintf(v, sizeof(v), "%03u", agent + 1);
            break;
        case V_AGENT_NAME:
            n = snprintf(v, sizeof(v), "host-%02u", agent);
            break;
        case V_AGENT_IP:
            n = snprintf(v, sizeof(v), "192.168.%u.%u", 10 + agent / 200, 10 + agent % 200);
            break;
        case V_SRCIP:
            n = snprintf(v, sizeof(v), "10.%u.%u.%u", r % 7, (r >> 8) % 250, (r >> 16) % 250);
            break;
        case V_CONTAINER:
            /* Each host runs its own replicas of the template's containers. */
            n = snprintf(v, sizeof(v), "%.80s-h%02u", t->container, agent);
            break;
        case V_COUNT:
            break;
        }
        put(b, v, (size_t)n);
    }
    put(b, "\n", 1);
}

struct ingest_result {
    size_t alerts;
    uint64_t bytes_in;
    double wall, cpu;
};

static int ingest(const struct opts *o, struct tld_store *s, const struct tmpl *t, size_t nt,
                  struct ingest_result *res)
{
    struct tld_store_line *lines = calloc(o->batch, sizeof(*lines));
    struct buf b = {0};
    unsigned seed = 1;
    uint64_t off = 0;
    memset(res, 0, sizeof(*res));
    double next_note = mono_s() + 10;
    for (size_t k = 0; k < o->count; k += o->batch) {
        size_t m = o->count - k < o->batch ? o->count - k : o->batch;
        size_t *ends = calloc(m, sizeof(*ends));
        b.n = 0;
        for (size_t j = 0; j < m; j++) {
            generate(o, &t[(k + j) % nt], k + j, &seed, &b);
            ends[j] = b.n;
        }
        for (size_t j = 0, at = 0; j < m; j++) {
            off += ends[j] - at;
            lines[j] = (struct tld_store_line){b.p + at, ends[j] - at - 1, {1, off}};
            at = ends[j];
        }
        free(ends);
        res->bytes_in += b.n;
        struct tld_store_batch batch = {lines, m, 0};
        size_t stored;
        double w0 = mono_s(), c0 = cpu_s();
        int rc = tld_store_ingest(s, &batch, &stored);
        res->wall += mono_s() - w0;
        res->cpu += cpu_s() - c0;
        if (rc) {
            fprintf(stderr, "ingest: %d %s\n", rc, tld_store_errmsg(s));
            free(lines);
            free(b.p);
            return 1;
        }
        res->alerts += stored;
        if (mono_s() > next_note) {
            fprintf(stderr, "  %zu alerts, %.0f/s per CPU second so far\n", res->alerts,
                    res->alerts / res->cpu);
            next_note = mono_s() + 30;
        }
    }
    free(lines);
    free(b.p);
    return 0;
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

enum qkind { Q_SEARCH, Q_COUNT, Q_HISTOGRAM, Q_TERMS };

struct bench_query {
    const char *name; /* short name for the report */
    const char *label;
    const char *text;
    enum qkind kind;
    const char *field; /* Q_TERMS */
    bool last_day;     /* else the whole store */
};

static const struct bench_query queries[] = {
    {"rule_31103", "rule.id:31103, newest 50", "rule.id:31103", Q_SEARCH, NULL, false},
    {"rule_87903", "rule.id:(87903), newest 50", "rule.id:(87903)", Q_SEARCH, NULL, false},
    {"rule_31103_24h", "rule.id:31103, 24 h, newest 50", "rule.id:31103", Q_SEARCH, NULL, true},
    {"rule_5710_count_24h", "rule.id:5710, count 24 h", "rule.id:5710", Q_COUNT, NULL, true},
    {"events_page", "first Events page, 24 h", "", Q_SEARCH, NULL, true},
    {"count_24h", "count 24 h", "", Q_COUNT, NULL, true},
    {"count_level12_24h", "count level >= 12, 24 h", "rule.level >= 12", Q_COUNT, NULL, true},
    {"count_authfail_24h", "count authentication failures, 24 h",
     "rule.groups:(authentication_failed or authentication_failures)", Q_COUNT, NULL, true},
    {"histogram_24h", "histogram 24 h", "", Q_HISTOGRAM, NULL, true},
    {"histogram_level12_24h", "histogram level >= 12, 24 h", "rule.level >= 12", Q_HISTOGRAM, NULL,
     true},
    {"top_mitre_24h", "top MITRE techniques 24 h", "", Q_TERMS, "rule.mitre.technique", true},
    {"top_agents_24h", "top agents 24 h", "", Q_TERMS, "agent.name", true},
    {"top_srcip_24h", "top data.srcip 24 h", "", Q_TERMS, "data.srcip", true},
    {"contains_select_24h", "full_log ~ \"select\", count 24 h", "full_log ~ \"select\"", Q_COUNT,
     NULL, true},
    {"contains_select", "full_log ~ \"select\", count", "full_log ~ \"select\"", Q_COUNT, NULL,
     false},
    {"contains_union_select", "full_log ~ \"union select\", newest 50",
     "full_log ~ \"union select\"", Q_SEARCH, NULL, false},
    {"contains_passwd", "full_log ~ \"etc/passwd\", newest 50", "full_log ~ \"etc/passwd\"",
     Q_SEARCH, NULL, false},
    {"srcip_prefix_count", "data.srcip:10.1.*, count", "data.srcip:10.1.*", Q_COUNT, NULL, false},
};

static int run_query(struct tld_store *s, const struct bench_query *bq, struct tld_query *q,
                     int64_t from, int64_t to, size_t *n)
{
    struct tld_store_filter f = {q, from, to};
    *n = 0;
    switch (bq->kind) {
    case Q_SEARCH: {
        struct tld_store_search se = {.filter = f, .limit = 50};
        struct tld_store_cursor next;
        bool more;
        return tld_store_search(s, &se, nop_hit, n, &next, &more);
    }
    case Q_COUNT: {
        uint64_t c;
        int rc = tld_store_count(s, &f, &c);
        *n = (size_t)c;
        return rc;
    }
    case Q_HISTOGRAM: {
        int64_t iv;
        return tld_store_histogram(s, &f, 0, nop_bucket, n, &iv);
    }
    case Q_TERMS:
        return tld_store_terms(s, &f, bq->field, 10, nop_term, n);
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Runs each query `reps` times (first run included: a dashboard opened cold counts too). */
static void time_queries(const struct opts *o, struct tld_store *s, int64_t newest_ms)
{
    /* Dashboard ranges are whole minutes, as a time picker gives them. */
    int64_t hi = (newest_ms / 60000 + 1) * 60000, day = hi - 86400000;
    double *t = calloc(o->reps, sizeof(*t));
    for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
        const struct bench_query *bq = &queries[i];
        struct tld_query *q = NULL;
        struct tld_query_error err;
        if (tld_query_parse(bq->text, strlen(bq->text), &q, &err)) {
            printf("%s: parse error at %zu: %s\n", bq->label, err.off, err.msg);
            continue;
        }
        size_t n = 0, runs = 0;
        int rc = 0;
        double spent = 0;
        /* A slow query (seconds) stops after three runs once it has taken 20 s. */
        for (; runs < o->reps && !rc && (runs < 3 || spent < 20e3); runs++) {
            double t0 = mono_s();
            rc = run_query(s, bq, q, bq->last_day ? day : 0, bq->last_day ? hi : INT64_MAX, &n);
            t[runs] = (mono_s() - t0) * 1e3;
            spent += t[runs];
        }
        tld_query_free(q);
        qsort(t, runs, sizeof(*t), cmp_double);
        double med = t[runs / 2], p95 = t[(runs * 95 + 99) / 100 - 1];
        printf("  %-44s median %8.1f ms  p95 %8.1f ms  (%zu results, %zu runs)%s\n", bq->label, med,
               p95, n, runs, rc ? " ERROR" : "");
        if (o->json)
            printf("{\"query\": \"%s\", \"median_ms\": %.3f, \"p95_ms\": %.3f, \"max_ms\": %.3f,"
                   " \"results\": %zu, \"runs\": %zu, \"error\": %d}\n",
                   bq->name, med, p95, t[runs - 1], n, runs, rc);
        fflush(stdout);
    }
    free(t);
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_store [--db F | --clickhouse URL] [--count N] [--batch N]"
                    " [--days N] [--agents N] [--reps N] [--json] [--queries-only]"
                    " ALERTS.json...\n");
    exit(2);
}

static void remove_db(const char *db)
{
    char path[4096];
    const char *sfx[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s%s", db, sfx[i]);
        unlink(path);
    }
}

int main(int argc, char **argv)
{
    struct opts o = {.db = "/tmp/bench_store.db",
                     .count = 200000,
                     .batch = 10000,
                     .reps = 10,
                     .days = 7,
                     .agents = 50};
    struct tmpl *t = NULL;
    size_t nt = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--json"))
            o.json = true;
        else if (!strcmp(a, "--queries-only"))
            o.queries_only = true;
        else if (a[0] == '-' && a[1] == '-' && !v)
            usage();
        else if (!strcmp(a, "--db"))
            o.db = argv[++i];
        else if (!strcmp(a, "--clickhouse"))
            o.ch_url = argv[++i];
        else if (!strcmp(a, "--count"))
            o.count = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--batch"))
            o.batch = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--reps"))
            o.reps = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--days"))
            o.days = atoi(argv[++i]);
        else if (!strcmp(a, "--agents"))
            o.agents = atoi(argv[++i]);
        else if (a[0] == '-' && a[1] == '-')
            usage();
        else
            read_templates(a, &t, &nt);
    }
    if ((!nt && !o.queries_only) || !o.batch || !o.reps || o.days < 1 || o.agents < 1)
        usage();
    char table[64];
    snprintf(table, sizeof(table), "tld_bench_%d", (int)getpid());
    struct tld_store_config cfg = {.backend = TLD_STORE_SQLITE, .path = o.db};
    if (o.ch_url)
        cfg = (struct tld_store_config){
            .backend = TLD_STORE_CLICKHOUSE, .url = o.ch_url, .table = table};
    else if (!o.queries_only)
        remove_db(o.db);
    struct tld_store *s;
    if (tld_store_open(&cfg, &s)) {
        fprintf(stderr, "open failed\n");
        return 1;
    }
    if (!o.queries_only) {
        struct ingest_result r;
        if (ingest(&o, s, t, nt, &r))
            return 1;
        printf("ingest: %zu alerts (%.0f B each) in %.2f s wall, %.2f s CPU: %.0f alerts/s wall,"
               " %.0f alerts/s per CPU second\n",
               r.alerts, (double)r.bytes_in / r.alerts, r.wall, r.cpu, r.alerts / r.wall,
               r.alerts / r.cpu);
        if (o.json)
            printf(
                "{\"ingest_alerts\": %zu, \"bytes_in\": %llu, \"wall_s\": %.3f, \"cpu_s\": %.3f}\n",
                r.alerts, (unsigned long long)r.bytes_in, r.wall, r.cpu);
    }
    struct tld_store_stats st;
    tld_store_stats(s, &st);
    /* The periodic upkeep (retention with no limits) refreshes the planner's statistics. */
    uint64_t deleted;
    double u0 = mono_s();
    if (!o.ch_url && !o.queries_only)
        tld_store_retain(s, 0, 0, &deleted);
    double upkeep = mono_s() - u0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("store: %llu alerts, %.0f bytes/alert; upkeep %.0f ms; peak RSS %.1f MB\n",
           (unsigned long long)st.alerts, (double)st.bytes / (st.alerts ? st.alerts : 1),
           upkeep * 1e3, ru.ru_maxrss / 1024.0);
    if (o.json)
        printf("{\"stored_alerts\": %llu, \"store_bytes\": %llu, \"upkeep_ms\": %.1f,"
               " \"rss_kib\": %ld}\n",
               (unsigned long long)st.alerts, (unsigned long long)st.bytes, upkeep * 1e3,
               ru.ru_maxrss);
    fflush(stdout);
    time_queries(&o, s, st.newest_ms);
    tld_store_close(s);
    return 0;
}
