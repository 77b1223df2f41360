/* The configured alert store, `store rebuild` and `search` (see store_cmd.h). */
#include "manager/store_cmd.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/conftab.h"
#include "common/daemon.h"
#include "common/err.h"
#include "manager/store_thread.h"
#include "store/query.h"

#define SEARCH_LIMIT 100
#define PAGE         500

static void under_root(char *out, size_t n, const char *root, const char *rel)
{
    if (rel[0] == '/')
        snprintf(out, n, "%s", rel);
    else
        snprintf(out, n, "%s/%s", root, rel);
}

void tld_mgr_store_setup(const struct tld_mgr_config *cfg, const char *root,
                         struct tld_mgr_store_paths *p, struct tld_store_config *store,
                         struct tld_store_feed_opts *feed)
{
    under_root(p->db, sizeof p->db, root, cfg->store_path);
    under_root(p->alerts_dir, sizeof p->alerts_dir, root, "logs/alerts");
    under_root(p->ckpt, sizeof p->ckpt, root, "queue/intake/output.ckpt");
    /* The database goes in each URL: ClickHouse's HTTP interface takes it as a parameter. */
    size_t used = 0;
    p->url[0] = '\0';
    for (const char *u = cfg->store_url; *u && used < sizeof p->url;) {
        size_t n = strcspn(u, " ");
        int k = snprintf(p->url + used, sizeof p->url - used, "%s%.*s", used ? " " : "", (int)n, u);
        if (k > 0 && cfg->store_database && (size_t)k < sizeof p->url - used)
            k += snprintf(p->url + used + k, sizeof p->url - used - k, "%cdatabase=%s",
                          memchr(u, '?', n) ? '&' : '?', cfg->store_database);
        used += k > 0 ? (size_t)k : 0;
        u += n + strspn(u + n, " ");
    }
    memset(store, 0, sizeof *store);
    store->backend =
        strcmp(cfg->store_backend, "clickhouse") == 0 ? TLD_STORE_CLICKHOUSE : TLD_STORE_SQLITE;
    store->path = p->db;
    store->url = p->url;
    store->table = cfg->store_table;
    store->cluster = cfg->store_cluster;
    store->writer = cfg->store_writer;
    memset(feed, 0, sizeof *feed);
    feed->alerts_dir = p->alerts_dir;
    feed->ckpt = p->ckpt;
}

/* ---- store rebuild -----------------------------------------------------------------------------
 */

static int parse_day(const char *s, int *day)
{
    int y, m, d, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || s[n] || m < 1 || m > 12 || d < 1 ||
        d > 31)
        return TLD_EINVAL;
    *day = y * 10000 + m * 100 + d;
    return 0;
}

static int remove_sqlite(const char *db)
{
    static const char *const suffixes[] = {"-wal", "-shm", ""};
    for (size_t i = 0; i < 3; i++) {
        char path[PATH_MAX + 8];
        snprintf(path, sizeof path, "%s%s", db, suffixes[i]);
        if (unlink(path) != 0 && errno != ENOENT) {
            fprintf(stderr, "tld-manager: cannot remove %s: %s\n", path, strerror(errno));
            return TLD_EIO;
        }
    }
    return 0;
}

static int rebuild(const struct tld_mgr_config *cfg, const char *root, int since_day)
{
    struct tld_mgr_store_paths p;
    struct tld_store_config sc;
    struct tld_store_feed_opts fo;
    tld_mgr_store_setup(cfg, root, &p, &sc, &fo);
    fo.since_day = since_day;
    /* One writer: a running manager would feed the files being replaced. */
    char pidfile[PATH_MAX];
    under_root(pidfile, sizeof pidfile, root, "var/run/tld-manager.pid");
    int pid_fd = -1;
    if (tld_daemon_lock_pid(pidfile, "tld-manager", &pid_fd) != 0) {
        fprintf(stderr, "tld-manager: stop the manager before rebuilding its store\n");
        return 1;
    }
    int rc = sc.backend == TLD_STORE_SQLITE ? remove_sqlite(p.db) : 0;
    struct tld_store *s = NULL;
    if (rc == 0)
        rc = tld_store_thread_open_store(&sc, &s);
    uint64_t stored = 0;
    if (rc == 0)
        rc = tld_store_feed_run(s, &fo, &stored);
    if (rc)
        fprintf(stderr, "tld-manager: store rebuild: %s%s%s\n", tld_err_str(rc),
                s && *tld_store_errmsg(s) ? ": " : "", s ? tld_store_errmsg(s) : "");
    else
        printf("store rebuilt: %" PRIu64 " alerts stored\n", stored);
    tld_store_close(s);
    close(pid_fd);
    unlink(pidfile);
    return rc ? 1 : 0;
}

int tld_mgr_cmd_store(const struct tld_mgr_config *cfg, const char *root, int argc, char **argv)
{
    int since_day = 0;
    if (argc < 1 || strcmp(argv[0], "rebuild") != 0)
        goto usage;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--since") == 0 && i + 1 < argc &&
            parse_day(argv[i + 1], &since_day) == 0)
            i++;
        else
            goto usage;
    }
    return rebuild(cfg, root, since_day);
usage:
    fprintf(stderr, "usage: tld-manager [-r ROOT] store rebuild [--since YYYY-MM-DD]\n");
    return 2;
}

/* ---- search ------------------------------------------------------------------------------------
 */

struct search_out {
    bool json;
    uint64_t shown;
};

static const char *json_text(const cJSON *o, const char *a, const char *b, char *buf, size_t n)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b)
        v = cJSON_GetObjectItemCaseSensitive(v, b);
    if (cJSON_IsString(v))
        return v->valuestring;
    if (cJSON_IsNumber(v)) {
        snprintf(buf, n, "%.0f", v->valuedouble);
        return buf;
    }
    return "-";
}

static int print_hit(void *ctx, const struct tld_store_hit *h)
{
    struct search_out *o = ctx;
    o->shown++;
    if (o->json) {
        fwrite(h->raw, 1, h->raw_n, stdout);
        putchar('\n');
        return 0;
    }
    char when[32], b1[32], b2[32];
    time_t t = (time_t)(h->ts_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    cJSON *a = cJSON_ParseWithLength(h->raw, h->raw_n);
    printf("%-19s  %-8s %5s  %-16.16s  %s\n", when, json_text(a, "rule", "id", b1, sizeof b1),
           json_text(a, "rule", "level", b2, sizeof b2), json_text(a, "agent", "name", NULL, 0),
           json_text(a, "rule", "description", NULL, 0));
    cJSON_Delete(a);
    return 0;
}

/* "1h" back from now, or a day "YYYY-MM-DD" (UTC midnight), in epoch ms. */
static int parse_since(const char *s, int64_t *from_ms)
{
    int64_t secs;
    int day;
    if (tld_conf_parse_duration(s, &secs) == 0) {
        *from_ms = ((int64_t)time(NULL) - secs) * 1000;
        return 0;
    }
    if (parse_day(s, &day) != 0)
        return TLD_EINVAL;
    struct tm tm = {
        .tm_year = day / 10000 - 1900, .tm_mon = day / 100 % 100 - 1, .tm_mday = day % 100};
    *from_ms = (int64_t)timegm(&tm) * 1000;
    return 0;
}

static int run_search(struct tld_store *s, const struct tld_query *q, int64_t from_ms,
                      uint64_t limit, struct search_out *out)
{
    struct tld_store_cursor cur;
    struct tld_store_search sq = {{q, from_ms, INT64_MAX}, false, PAGE, NULL};
    bool more = true;
    int rc = 0;
    while (rc == 0 && more && (!limit || out->shown < limit)) {
        uint64_t left = limit ? limit - out->shown : PAGE;
        sq.limit = left < PAGE ? (size_t)left : PAGE;
        rc = tld_store_search(s, &sq, print_hit, out, &cur, &more);
        sq.after = &cur;
    }
    return rc;
}

int tld_mgr_cmd_search(const struct tld_mgr_config *cfg, const char *root, int argc, char **argv)
{
    const char *text = NULL;
    int64_t from_ms = 0;
    unsigned long long limit = SEARCH_LIMIT;
    struct search_out out = {false, 0};
    for (int i = 0; i < argc; i++) {
        char *end;
        if (strcmp(argv[i], "--json") == 0)
            out.json = true;
        else if (strcmp(argv[i], "--since") == 0 && i + 1 < argc &&
                 parse_since(argv[i + 1], &from_ms) == 0)
            i++;
        else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc &&
                 (limit = strtoull(argv[i + 1], &end, 10), *argv[i + 1] && !*end))
            i++;
        else if (!text && argv[i][0] != '-')
            text = argv[i];
        else
            goto usage;
    }
    if (!text)
        goto usage;
    struct tld_query *q = NULL;
    struct tld_query_error qe;
    if (tld_query_parse(text, strlen(text), &q, &qe) != 0) {
        fprintf(stderr, "tld-manager: query: %s\n  %s\n  %*s^\n", qe.msg, text, (int)qe.off, "");
        return 2;
    }
    struct tld_mgr_store_paths p;
    struct tld_store_config sc;
    struct tld_store_feed_opts fo;
    tld_mgr_store_setup(cfg, root, &p, &sc, &fo);
    sc.read_only = true;
    struct tld_store *s = NULL;
    int rc = tld_store_open(&sc, &s);
    if (rc == 0)
        rc = run_search(s, q, from_ms, limit, &out);
    if (rc)
        fprintf(stderr, "tld-manager: search: %s%s%s\n", tld_err_str(rc),
                s && *tld_store_errmsg(s) ? ": " : "", s ? tld_store_errmsg(s) : "");
    else if (!out.json)
        fprintf(stderr, "%" PRIu64 " alerts\n", out.shown);
    tld_store_close(s);
    tld_query_free(q);
    return rc ? 1 : 0;
usage:
    fprintf(stderr, "usage: tld-manager [-r ROOT] search QUERY [--since 1h|YYYY-MM-DD] [--json] "
                    "[--limit N (0: all)]\n");
    return 2;
}
