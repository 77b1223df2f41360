/*
 * The store query suite, run on every backend by its own test binary (test_store_sqlite.c,
 * test_store_clickhouse.c): every query of a suite of hand-written and generated queries, and
 * every example of docs/query.md, returns on a generated corpus exactly the alerts an independent
 * model selects (test_store_model.h); paging, counts, histograms, top values and the live tail
 * agree with the model too; alerts come back byte for byte.
 */
#ifndef TLD_TEST_STORE_SUITE_H
#define TLD_TEST_STORE_SUITE_H

#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/err.h"
#include "common/str.h"
#include "store/store.h"
#include "test_store_corpus.h"
#include "test_store_model.h"
#include "test_store_util.h"

#define NALERTS 600

struct fixture {
    struct store_tmp tmp;
    struct tld_store *s;
    /* Opens another handle on the same store (a reader when `read_only`). */
    struct tld_store *(*open)(struct fixture *f, bool read_only);
    void *backend; /* the backend's own test state */
    char *lines[NALERTS];
    cJSON *json[NALERTS];
    int64_t ts[NALERTS];
};

static int64_t parse_ts(const cJSON *a)
{
    /* The corpus writes one day: 2026-11-26T..:..:.. .mmm+0000 */
    const char *t = cJSON_GetObjectItem(a, "timestamp")->valuestring;
    int h, m, s, ms;
    sscanf(t + 11, "%d:%d:%d.%d", &h, &m, &s, &ms);
    return 1795651200000LL + ((h * 60 + m) * 60 + s) * 1000LL + ms;
}

/* Generates the corpus and stores it through `f->open`. */
static void suite_fill(struct fixture *f)
{
    uint64_t seed = 7;
    for (unsigned i = 0; i < NALERTS; i++) {
        f->lines[i] = corpus_alert(&seed, i);
        f->json[i] = cJSON_Parse(f->lines[i]);
        f->ts[i] = parse_ts(f->json[i]);
    }
    f->s = f->open(f, false);
    assert_int_equal(store_feed(f->s, f->lines, 0, NALERTS, 97), NALERTS);
}

static void suite_empty(struct fixture *f)
{
    tld_store_close(f->s);
    for (unsigned i = 0; i < NALERTS; i++) {
        free(f->lines[i]);
        cJSON_Delete(f->json[i]);
    }
}

/* ---- the query suite ----------------------------------------------------------------------- */

struct collect {
    int64_t ids[NALERTS + 8];
    int64_t ts[NALERTS + 8];
    size_t n;
};

static int collect_hit(void *ctx, const struct tld_store_hit *h)
{
    struct collect *c = ctx;
    if (c->n < NALERTS + 8) {
        c->ids[c->n] = h->id;
        c->ts[c->n++] = h->ts_ms;
    }
    return 0;
}

/* All matches through pages of `page`, checking order and that pages never repeat an alert. */
static const char *current_query = "";

static void search_all(struct tld_store *s, const struct tld_store_filter *flt, bool asc,
                       size_t page, struct collect *out)
{
    out->n = 0;
    struct tld_store_cursor cur;
    bool more = true, first = true;
    while (more) {
        struct tld_store_search q = {
            .filter = *flt, .ascending = asc, .limit = page, .after = first ? NULL : &cur};
        size_t before = out->n;
        int rc = tld_store_search(s, &q, collect_hit, out, &cur, &more);
        if (rc)
            fail_msg("search: %d %.300s (query %.100s)", rc, tld_store_errmsg(s), current_query);
        assert_true(out->n - before <= page);
        first = false;
        if (out->n == before)
            break;
    }
    for (size_t i = 1; i < out->n; i++) {
        bool ordered = asc ? (out->ts[i - 1] < out->ts[i] ||
                              (out->ts[i - 1] == out->ts[i] && out->ids[i - 1] < out->ids[i]))
                           : (out->ts[i - 1] > out->ts[i] ||
                              (out->ts[i - 1] == out->ts[i] && out->ids[i - 1] > out->ids[i]));
        if (!ordered)
            fail_msg("results out of order at %zu", i);
    }
}

/* The bounded count: exact up to the bound, the bound and "more" past it, on every backend
 * alike (also where a rollup could count further). */
static void check_count_upto(struct tld_store *s, const struct tld_store_filter *flt,
                             const char *text, uint64_t want)
{
    uint64_t bounds[] = {0, 1, 7, want ? want - 1 : 0, want, want + 1, UINT64_MAX};
    for (size_t i = 0; i < sizeof bounds / sizeof *bounds; i++) {
        uint64_t n = 99999;
        bool exact = false;
        int rc = tld_store_count_upto(s, flt, bounds[i], &n, &exact);
        if (rc)
            fail_msg("'%s': count up to %llu: %d %s", text, (unsigned long long)bounds[i], rc,
                     tld_store_errmsg(s));
        if (exact != (want <= bounds[i]) || n != (want <= bounds[i] ? want : bounds[i]))
            fail_msg("'%s': count up to %llu gave %llu (%s), %llu match", text,
                     (unsigned long long)bounds[i], (unsigned long long)n,
                     exact ? "exact" : "lower bound", (unsigned long long)want);
    }
}

static void check_query(struct fixture *f, const char *text, int64_t from, int64_t to,
                        size_t *matched)
{
    struct tld_query *q = NULL;
    struct tld_query_error err;
    if (tld_query_parse(text, strlen(text), &q, &err))
        fail_msg("'%s': parse error at %zu: %s", text, err.off, err.msg);
    bool want[NALERTS];
    size_t nwant = 0;
    for (unsigned i = 0; i < NALERTS; i++) {
        want[i] = f->ts[i] >= from && f->ts[i] < to && model_eval(q->root, f->json[i]);
        nwant += want[i];
    }
    struct tld_store_filter flt = {q, from, to};
    struct collect got;
    current_query = text;
    search_all(f->s, &flt, (nwant & 1) != 0, 1 + nwant % 53, &got);
    bool seen[NALERTS] = {0};
    for (size_t i = 0; i < got.n; i++) {
        int64_t k = got.ids[i] - 1; /* store ids count from 1 in ingest order */
        if (k < 0 || k >= NALERTS || seen[k] || !want[k])
            fail_msg("'%s': alert %lld should not match (or came twice): %s", text, (long long)k,
                     k >= 0 && k < NALERTS ? f->lines[k] : "?");
        seen[k] = true;
    }
    for (unsigned i = 0; i < NALERTS; i++)
        if (want[i] && !seen[i])
            fail_msg("'%s': alert %u should match: %s", text, i, f->lines[i]);
    uint64_t count;
    int rc = tld_store_count(f->s, &flt, &count);
    if (rc)
        fail_msg("'%s': count: %d %s", text, rc, tld_store_errmsg(f->s));
    assert_int_equal(count, nwant);
    check_count_upto(f->s, &flt, text, nwant);
    *matched = nwant;
    tld_query_free(q);
}

static const char *const hand_queries[] = {
    "",
    "rule.id:(87903)",
    "rule.id:(31103)",
    "rule.id:31103 or rule.id:5710",
    "rule.id:(31103 or 5710 or 550)",
    "not rule.id:(31103 or 5710)",
    "rule.level >= 10",
    "rule.level > 10 and rule.level <= 12",
    "rule.level < 3",
    "rule.level:7",
    "rule.level:07",
    "rule.level:7.0",
    "rule.level:*",
    "rule.level:1*",
    "rule.level:/1[0-5]/",
    "rule.id >= 5000 and rule.id < 31102",
    "agent.name:web*",
    "agent.name:*01",
    "agent.name:\"web-01\"",
    "agent.name:WEB*",
    "agent.ip:*",
    "not agent.ip:*",
    "_exists_:agent.ip",
    "agent.id:000",
    "rule.groups:sql_injection",
    "rule.groups:(authentication_failed or authentication_failures)",
    "rule.groups:(web and attack)",
    "rule.groups:(web and not attack)",
    "rule.groups:docker and rule.groups:web",
    "not rule.groups:*",
    "rule.groups:auth*",
    "rule.groups:/.*_.*/",
    "rule.groups ~ SUCCESS",
    "rule.mitre.id:T1190",
    "rule.mitre.id:*",
    "rule.mitre.tactic:\"Initial Access\"",
    "rule.mitre.technique:\"Brute Force\" or rule.mitre.technique:\"Valid Accounts\"",
    "rule.mitre.technique ~ \"force\"",
    "rule.pci_dss:10.2.7",
    "rule.pci_dss:10.*",
    "rule.pci_dss >= 10",
    "rule.hipaa:*",
    "full_log ~ \"union select\"",
    "full_log ~ \"UNION SELECT\"",
    "full_log ~ \"select+*+from\"",
    "full_log ~ sel",
    "full_log ~ se",
    "full_log ~ \"50%\"",
    "full_log ~ \"a_b\"",
    "full_log ~ \"[x]\"",
    "full_log ~ \"quote\\\"\"",
    "full_log ~ \"back\\\\slash\"",
    "full_log ~ \"CAFÉ\"",
    "full_log ~ \"café\"",
    "full_log ~ \"über\"",
    "full_log ~ \"ÜBER\"",
    "full_log:short",
    "full_log:*password*",
    "full_log:/.*port [0-9]+ ssh2/",
    "not full_log:*",
    "select",
    "\"failed password\"",
    "data.srcip:10.0.1.5",
    "data.srcip:10.0.1.*",
    "data.srcip:*",
    "not data.srcip:*",
    "_exists_:data.dstuser",
    "data.dstuser:root",
    "data.dstuser ~ admin",
    "data.dstuser:admin",
    "data.srcport:22",
    "data.srcport > 1050",
    "data.srcport >= 1000 and data.srcport < 1010",
    "data.ratio:0.5",
    "data.ratio:1.75",
    "data.ratio > 1",
    "data.blocked:true",
    "data.blocked:false",
    "data.tags:a",
    "data.tags:1",
    "data.tags.k:x",
    "data.tags:*",
    "data.url:/page/1*",
    "data.url:/\\/page\\/[0-2]\\?id=1.*/",
    "data.id:404 and data.url:*",
    "data.docker.Action:start",
    "data.docker.Action:(start or stop or die)",
    "data.docker.Actor.Attributes.image:nginx*",
    "data.docker.Actor.Attributes.com.docker.compose.project:shop",
    "data.docker.Type:container and not data.docker.Action:pull",
    "data.integration:docker",
    "data.nothing:*",
    "container.name:shop-nginx-1",
    "container.image.name:\"nginx:1.27\"",
    "container.id:*",
    "decoder.name:sshd",
    "decoder.parent:json",
    "not decoder.parent:*",
    "location:/var/log/*",
    "location ~ docker",
    "manager.name:tld-manager",
    "id:1795707399.5",
    "id:1795707399.1*",
    "input.type:log",
    "rule.firedtimes > 40",
    "rule.firedtimes:7",
    "rule.mail:true",
    "rule.mail:false and rule.level >= 12",
    "score:*",
    "score >= 5",
    "not score:*",
    "timestamp:2026-11-26T00:1*",
    "agent:*",
    "rule.description ~ \"sql\"",
    "rule.description:\"Docker: Container started\"",
    "rule.description:Docker*",
    "(rule.level >= 12 or rule.groups:attack) and not agent.name:db-01",
    "not (agent.name:web-01 or agent.name:web-02) and data.srcip:*",
    "rule.groups:web and (data.id:404 or full_log ~ select) and not rule.level < 5",
    "not not rule.groups:sshd",
    "a.b.c:1",
    "not a.b.c:1",
};

/* A value list as a dashboard builds it for a group of agents: long, and still one query. */
static void long_value_list(struct fixture *f)
{
    struct tld_sb sb;
    tld_sb_init(&sb, 1 << 20);
    tld_sb_append_cstr(&sb, "agent.id:(000");
    for (int i = 5; i < 1500; i++)
        tld_sb_printf(&sb, " or %03d", i);
    tld_sb_append_cstr(&sb, ") or data.srcport:(22 or 1001 or 1002)");
    size_t m;
    check_query(f, tld_sb_cstr(&sb), 0, INT64_MAX, &m);
    assert_true(m > 0);
    tld_sb_fini(&sb);
}

static void query_suite_hand(void **state)
{
    struct fixture *f = *state;
    long_value_list(f);
    size_t nonempty = 0;
    for (size_t i = 0; i < sizeof(hand_queries) / sizeof(hand_queries[0]); i++) {
        size_t m;
        check_query(f, hand_queries[i], 0, INT64_MAX, &m);
        nonempty += m > 0 && m < NALERTS;
    }
    /* The suite is only worth something if most queries select a real subset. */
    assert_true(nonempty > 100);
}

struct gen_field {
    const char *name;
    const char *values[6];
};

/* Fields with values that occur in the corpus (and a few that do not). */
static const struct gen_field gen_fields[] = {
    {"rule.id", {"31103", "5710", "87903", "550", "5*", "1"}},
    {"rule.level", {"7", "12", "1*", "*", "/[0-3]/", "99"}},
    {"agent.name", {"web-01", "db*", "*0*", "mail", "Ubuntu22", "/web-0[12]/"}},
    {"rule.groups", {"web", "attack", "sshd", "docker", "auth*", "/.*_.*/"}},
    {"rule.mitre.tactic", {"\"Initial Access\"", "Persistence", "*Access", "*", "x", "P*"}},
    {"data.srcip", {"10.0.1.*", "10.0.2.3", "*", "10.0.0.1*", "/10\\.0\\.[01]\\..*/", "1"}},
    {"data.srcport", {"22", "1050", "10*", "*", "/1[0-9]+/", "0"}},
    {"data.dstuser", {"root", "Admin", "*", "r*", "admin", "/[A-Z].*/"}},
    {"data.docker.Action", {"start", "stop", "*", "exec_*", "die", "/(start|stop)/"}},
    {"full_log", {"short", "*password*", "*", "*SELECT*", "/.*ssh2/", "x"}},
    {"container.name", {"shop-nginx-2", "shop-*", "*", "x", "shop-nginx-0", "/.*1/"}},
    {"data.tags", {"a", "1", "*", "0", "2", "x"}},
    {"rule.firedtimes", {"3", "4*", "*", "10", "/[0-9]/", "x"}},
    {"score", {"3", "*", "5", "x", "/[0-4]/", "9"}},
};

/*
 * The examples of docs/query.md: every line of its ```query blocks and the example column of
 * its "Tests" table. Returns how many were checked.
 */
static size_t docs_examples(struct fixture *f)
{
    FILE *fp = fopen("docs/query.md", "r");
    assert_non_null(fp);
    char line[1024];
    bool in_block = false, in_tests = false;
    size_t n = 0, m;
    while (fgets(line, sizeof(line), fp)) {
        line[strcspn(line, "\n")] = '\0';
        if (!strncmp(line, "```", 3)) {
            in_block = !in_block && !strcmp(line, "```query");
            continue;
        }
        if (!strncmp(line, "## ", 3))
            in_tests = !strcmp(line, "## Tests");
        if (in_block && line[0]) {
            check_query(f, line, 0, INT64_MAX, &m);
            n++;
        } else if (in_tests && !strncmp(line, "| `", 3)) {
            /* The last cell: | `example` | */
            char *end = strrchr(line, '`'), *start;
            *end = '\0';
            start = strrchr(line, '`');
            assert_non_null(start);
            check_query(f, start + 1, 0, INT64_MAX, &m);
            n++;
        }
    }
    fclose(fp);
    return n;
}

static void query_docs_examples(void **state)
{
    assert_true(docs_examples(*state) >= 30);
}

static const char *gen_term(uint64_t *s, char *buf, size_t n)
{
    static const char *const ops[] = {">", ">=", "<", "<="};
    static const char *const needles[] = {"SEL", "o", "fail", "ng", "Ü", "_b"};
    const struct gen_field *fl = &PICK(s, gen_fields);
    unsigned kind = corpus_rand(s) % 10;
    if (kind < 6)
        snprintf(buf, n, "%s:%s", fl->name, PICK(s, fl->values));
    else if (kind < 8)
        snprintf(buf, n, "%s %s %u", fl->name, PICK(s, ops), corpus_rand(s) % 40);
    else if (kind < 9)
        snprintf(buf, n, "%s ~ \"%s\"", fl->name, PICK(s, needles));
    else
        snprintf(buf, n, "%s:(%s or %s)", fl->name, PICK(s, fl->values), PICK(s, fl->values));
    return buf;
}

static void gen_query(uint64_t *s, int depth, char *out, size_t n)
{
    char a[512], b[512];
    unsigned k = depth > 2 ? 0 : corpus_rand(s) % 5;
    if (k <= 1) {
        gen_term(s, out, n);
        return;
    }
    gen_query(s, depth + 1, a, sizeof(a));
    if (k == 2) {
        snprintf(out, n, "not (%s)", a);
        return;
    }
    gen_query(s, depth + 1, b, sizeof(b));
    snprintf(out, n, "(%s) %s (%s)", a, k == 3 ? "and" : "or", b);
}

/*
 * 400 generated queries from a fixed seed; TLD_QUERY_SEED and TLD_QUERY_COUNT make it a fuzz
 * run (`make fuzz-store` runs both backends with a fresh seed, which it prints first so a
 * failure can be replayed): every backend is held to the same independent model, query by query.
 */
static void query_suite_generated(void **state)
{
    struct fixture *f = *state;
    const char *seed_env = getenv("TLD_QUERY_SEED"), *count_env = getenv("TLD_QUERY_COUNT");
    uint64_t seed = seed_env ? strtoull(seed_env, NULL, 10) : 2026;
    int count = count_env ? atoi(count_env) : 400;
    if (seed_env)
        print_message("generated queries: seed %s, %d queries\n", seed_env, count);
    size_t nonempty = 0;
    for (int i = 0; i < count; i++) {
        char q[2048];
        gen_query(&seed, 0, q, sizeof(q));
        /* A time range on a third of them. */
        int64_t from = 0, to = INT64_MAX;
        if (i % 3 == 0) {
            from = f->ts[corpus_rand(&seed) % NALERTS];
            to = from + 1 + corpus_rand(&seed) % 2000000;
        } else if (i % 3 == 1) {
            /* Whole minutes: counts may come from the per-minute rollup. */
            from = f->ts[corpus_rand(&seed) % NALERTS] / 60000 * 60000;
            to = from + 60000 * (1 + corpus_rand(&seed) % 30);
        }
        size_t m;
        check_query(f, q, from, to, &m);
        nonempty += m > 0;
    }
    if (nonempty < (size_t)count / 2)
        fail_msg("only %zu of %d generated queries matched something", nonempty, count);
}

/* ---- aggregations -------------------------------------------------------------------------- */

struct buckets {
    int64_t start[200];
    uint64_t count[200];
    size_t n;
};

static int collect_bucket(void *ctx, int64_t start, uint64_t count)
{
    struct buckets *b = ctx;
    assert_true(b->n < 200);
    b->start[b->n] = start;
    b->count[b->n++] = count;
    return 0;
}

static void histogram_matches_model(void **state)
{
    struct fixture *f = *state;
    const char *text = "rule.groups:web or rule.level >= 8";
    struct tld_query *q;
    assert_int_equal(tld_query_parse(text, strlen(text), &q, NULL), 0);
    struct tld_store_filter flt = {q, 0, INT64_MAX};
    struct buckets b = {0};
    int64_t iv;
    assert_int_equal(tld_store_histogram(f->s, &flt, 0, collect_bucket, &b, &iv), 0);
    assert_true(iv > 0);
    assert_true(b.n > 5 && b.n <= 61);
    uint64_t total = 0;
    for (size_t i = 0; i < b.n; i++) {
        uint64_t want = 0;
        for (unsigned k = 0; k < NALERTS; k++)
            want += f->ts[k] >= b.start[i] && f->ts[k] < b.start[i] + iv &&
                    model_eval(q->root, f->json[k]);
        assert_int_equal(b.count[i], want);
        assert_int_equal(b.start[i] % iv, 0);
        if (i)
            assert_true(b.start[i] > b.start[i - 1]);
        total += b.count[i];
    }
    uint64_t count;
    assert_int_equal(tld_store_count(f->s, &flt, &count), 0);
    assert_int_equal(total, count);
    /* Whole-hour buckets come from the hourly rollup where the range covers whole hours; they
     * equal the buckets of the same query forced to read alerts (a test of a field the rollup
     * lacks), over ranges with and without partial hours at the ends. */
    const char *forced_text = "(rule.groups:web or rule.level >= 8) and not zz.none:*";
    struct tld_query *forced;
    assert_int_equal(tld_query_parse(forced_text, strlen(forced_text), &forced, NULL), 0);
    int64_t ranges[][2] = {{0, INT64_MAX}, {f->ts[100] + 1, f->ts[500] - 3}, {f->ts[3], f->ts[9]}};
    for (size_t k = 0; k < 3; k++) {
        struct tld_store_filter rolled = {q, ranges[k][0], ranges[k][1]};
        struct tld_store_filter exact = {forced, ranges[k][0], ranges[k][1]};
        struct buckets r = {0};
        b.n = 0;
        assert_int_equal(tld_store_histogram(f->s, &rolled, 3600000, collect_bucket, &b, &iv), 0);
        assert_int_equal(iv, 3600000);
        assert_int_equal(tld_store_histogram(f->s, &exact, 3600000, collect_bucket, &r, &iv), 0);
        assert_int_equal(b.n, r.n);
        for (size_t i = 0; i < b.n; i++) {
            assert_int_equal(b.start[i], r.start[i]);
            assert_int_equal(b.count[i], r.count[i]);
        }
        assert_true(k == 2 || b.n >= 3);
    }
    tld_query_free(forced);
    tld_query_free(q);
    /* Rule ids and levels only: whole minutes come from the per-minute rollup. */
    const char *by_rule = "rule.id:(5710 or 31103) or rule.level >= 10";
    assert_int_equal(tld_query_parse(by_rule, strlen(by_rule), &q, NULL), 0);
    for (size_t k = 0; k < 3; k++) {
        struct tld_store_filter flt_k = {q, ranges[k][0], ranges[k][1]};
        b.n = 0;
        assert_int_equal(tld_store_histogram(f->s, &flt_k, 1800000, collect_bucket, &b, &iv), 0);
        uint64_t sum = 0;
        for (size_t i = 0; i < b.n; i++) {
            uint64_t want = 0;
            for (unsigned a = 0; a < NALERTS; a++)
                want += f->ts[a] >= ranges[k][0] && f->ts[a] < ranges[k][1] &&
                        f->ts[a] >= b.start[i] && f->ts[a] < b.start[i] + 1800000 &&
                        model_eval(q->root, f->json[a]);
            assert_int_equal(b.count[i], want);
            sum += want;
        }
        uint64_t n;
        assert_int_equal(tld_store_count(f->s, &flt_k, &n), 0);
        assert_int_equal(n, sum);
        assert_true(k == 2 || sum > 10);
    }
    tld_query_free(q);
}

struct terms {
    char v[32][128];
    uint64_t c[32];
    size_t n;
};

static int collect_term(void *ctx, const char *v, size_t n, uint64_t c)
{
    struct terms *t = ctx;
    assert_true(t->n < 32 && n < 128);
    memcpy(t->v[t->n], v, n);
    t->v[t->n][n] = '\0';
    t->c[t->n++] = c;
    return 0;
}

struct tally {
    char *v[512];
    uint64_t c[512];
    size_t n;
};

static void terms_field(struct fixture *f, const char *field, const char *text, size_t size,
                        int64_t from, int64_t to)
{
    struct tld_query *q;
    assert_int_equal(tld_query_parse(text, strlen(text), &q, NULL), 0);
    /* The model: distinct values per alert, counted over matching alerts. */
    struct tally t = {0};
    for (unsigned i = 0; i < NALERTS; i++) {
        if (f->ts[i] < from || f->ts[i] >= to || !model_eval(q->root, f->json[i]))
            continue;
        struct model_values mv;
        model_values_of(f->json[i], field, &mv);
        for (size_t k = 0; k < mv.n; k++) {
            bool dup = false;
            for (size_t j = 0; j < k; j++)
                dup |= !strcmp(mv.v[j], mv.v[k]);
            if (dup)
                continue;
            size_t j = 0;
            while (j < t.n && strcmp(t.v[j], mv.v[k]))
                j++;
            if (j == t.n) {
                assert_true(t.n < 512);
                t.v[t.n++] = strdup(mv.v[k]);
            }
            t.c[j]++;
        }
        model_free(&mv);
    }
    /* Most frequent first, ties by value bytes. */
    for (size_t i = 0; i < t.n; i++)
        for (size_t j = i + 1; j < t.n; j++)
            if (t.c[j] > t.c[i] || (t.c[j] == t.c[i] && strcmp(t.v[j], t.v[i]) < 0)) {
                char *v = t.v[i];
                uint64_t c = t.c[i];
                t.v[i] = t.v[j], t.c[i] = t.c[j];
                t.v[j] = v, t.c[j] = c;
            }
    struct terms got = {0};
    struct tld_store_filter flt = {q, from, to};
    int rc = tld_store_terms(f->s, &flt, field, size, collect_term, &got);

    if (rc)
        fail_msg("terms %s: %d %s", field, rc, tld_store_errmsg(f->s));
    size_t want = t.n < size ? t.n : size;
    if (got.n != want)
        fail_msg("terms %s / '%s': %zu values, wanted %zu", field, text, got.n, want);
    for (size_t i = 0; i < want; i++)
        if (strcmp(got.v[i], t.v[i]) || got.c[i] != t.c[i])
            fail_msg("terms %s #%zu: %s=%llu, wanted %s=%llu", field, i, got.v[i],
                     (unsigned long long)got.c[i], t.v[i], (unsigned long long)t.c[i]);
    for (size_t i = 0; i < t.n; i++)
        free(t.v[i]);
    tld_query_free(q);
}

static void terms_match_model(void **state)
{
    struct fixture *f = *state;
    const char *fields[] = {"agent.name",
                            "rule.level",
                            "rule.id",
                            "rule.groups",
                            "rule.mitre.technique",
                            "rule.mitre.tactic",
                            "rule.pci_dss",
                            "data.srcip",
                            "data.docker.Action",
                            "data.tags",
                            "container.name",
                            "input.type",
                            "rule.firedtimes",
                            "score",
                            "data.nothing"};
    /* A range in the middle of the store, as dashboards ask (its ends are alert times). */
    int64_t from = f->ts[NALERTS / 3], to = f->ts[2 * NALERTS / 3];
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        terms_field(f, fields[i], "", 5, 0, INT64_MAX);
        terms_field(f, fields[i], "rule.level >= 6 and not agent.name:mail", 10, 0, INT64_MAX);
        terms_field(f, fields[i], "rule.groups:web", 30, 0, INT64_MAX);
        terms_field(f, fields[i], "", 8, from, to);
        terms_field(f, fields[i], "rule.level >= 6", 8, from, to);
    }
}

static void tail_after_cursor(void **state)
{
    struct fixture *f = *state;
    const char *text = "rule.groups:docker";
    struct tld_query *q;
    assert_int_equal(tld_query_parse(text, strlen(text), &q, NULL), 0);
    struct tld_store_filter flt = {q, 0, INT64_MAX};
    int64_t last = 450;
    struct collect got = {0};
    while (1) {
        size_t before = got.n;
        assert_int_equal(tld_store_tail(f->s, &flt, last, 4, collect_hit, &got, &last), 0);
        if (got.n == before)
            break;
    }
    size_t k = 0;
    for (unsigned i = 450; i < NALERTS; i++) {
        if (!model_eval(q->root, f->json[i]))
            continue;
        assert_true(k < got.n);
        assert_int_equal(got.ids[k++], i + 1);
    }
    assert_int_equal(k, got.n);
    tld_query_free(q);
}

static void get_returns_stored_bytes(void **state)
{
    struct fixture *f = *state;
    for (int64_t id = 1; id <= NALERTS; id += 37) {
        store_expect_bytes(f->s, id, f->lines[id - 1], strlen(f->lines[id - 1]));
    }
    struct store_raw r = {0};
    assert_int_equal(tld_store_get(f->s, NALERTS + 1, store_copy_raw, &r), TLD_ENOTFOUND);
}

/* Every alert by its alerts.json id: the corpus's ids all carry one second of the day, so a few
 * alerts lie in the minutes around it and most hours away (found by the whole-store search). */
static void get_by_alert_id(void **state)
{
    struct fixture *f = *state;
    for (unsigned i = 0; i < NALERTS; i += 7) {
        const char *aid = cJSON_GetObjectItem(f->json[i], "id")->valuestring;
        struct store_raw r = {0};
        assert_int_equal(tld_store_get_by_alert_id(f->s, aid, store_copy_raw, &r), 0);
        assert_int_equal(r.n, strlen(f->lines[i]));
        assert_memory_equal(r.p, f->lines[i], r.n);
        free(r.p);
    }
    struct store_raw r = {0};
    assert_int_equal(tld_store_get_by_alert_id(f->s, "1795707399.999999", store_copy_raw, &r),
                     TLD_ENOTFOUND);
    const char *bad[] = {"", ".5", "5.", "1.2.3", "1;2", "1\" or 1=1", "12a"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(tld_store_get_by_alert_id(f->s, bad[i], store_copy_raw, &r), TLD_EINVAL);
    assert_null(r.p);
}

static void reader_handle_sees_alerts(void **state)
{
    struct fixture *f = *state;
    struct tld_store *ro = f->open(f, true);
    struct tld_store_filter flt = {NULL, 0, INT64_MAX};
    uint64_t n;
    assert_int_equal(tld_store_count(ro, &flt, &n), 0);
    assert_int_equal(n, NALERTS);
    size_t stored;
    struct tld_store_line l = {"{}", 2, {9, 9}};
    struct tld_store_batch b = {&l, 1, 0};
    assert_int_not_equal(tld_store_ingest(ro, &b, &stored), 0);
    tld_store_close(ro);
}

static void bad_arguments(void **state)
{
    struct fixture *f = *state;
    struct tld_store_filter flt = {NULL, 10, 5};
    uint64_t n;
    assert_int_equal(tld_store_count(f->s, &flt, &n), TLD_EINVAL);
    struct terms t = {0};
    flt.from_ms = 0;
    assert_int_equal(tld_store_terms(f->s, &flt, "bad field!", 5, collect_term, &t), TLD_EINVAL);
    struct tld_store_line ls[2] = {{"{}", 2, {1, 10}}, {"{}", 2, {1, 5}}};
    struct tld_store_batch b = {ls, 2, 0};
    size_t stored;
    assert_int_equal(tld_store_ingest(f->s, &b, &stored), TLD_EINVAL);
}

/* Per-test setup and teardown of the suite's tests: the group's fixture serves them all. */
static int suite_nothing(void **state)
{
    (void)state;
    return 0;
}

#define STORE_SUITE_TESTS(setup, teardown)                                                         \
    cmocka_unit_test_setup_teardown(query_suite_hand, setup, teardown),                            \
        cmocka_unit_test_setup_teardown(query_suite_generated, setup, teardown),                   \
        cmocka_unit_test_setup_teardown(query_docs_examples, setup, teardown),                     \
        cmocka_unit_test_setup_teardown(histogram_matches_model, setup, teardown),                 \
        cmocka_unit_test_setup_teardown(terms_match_model, setup, teardown),                       \
        cmocka_unit_test_setup_teardown(tail_after_cursor, setup, teardown),                       \
        cmocka_unit_test_setup_teardown(get_returns_stored_bytes, setup, teardown),                \
        cmocka_unit_test_setup_teardown(get_by_alert_id, setup, teardown),                         \
        cmocka_unit_test_setup_teardown(reader_handle_sees_alerts, setup, teardown),               \
        cmocka_unit_test_setup_teardown(bad_arguments, setup, teardown)

#endif
