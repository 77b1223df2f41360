/*
 * Loads the whole Wazuh ruleset (../shared/wazuh-ruleset, or $TLD_SHARED/wazuh-ruleset): every
 * .xml file of rules/ sorted by base name, its CDB lists registered as etc/lists/<relative path>,
 * and a stub decoder lookup that knows every decoder name found in the .xml files of decoders/
 * by a crude scan of name="..." attributes. Skips cleanly when the folder is absent.
 */
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>

#include "../../src/engine/rules/rule_impl.h"
#include "rules_fixture.h"

#define MAX_NAMES 4096

static char *names[MAX_NAMES];
static unsigned nnames;

static int name_lookup(void *ctx, struct tld_sv name)
{
    (void)ctx;
    for (unsigned i = 0; i < nnames; i++)
        if (tld_sv_eq_cstr(name, names[i]))
            return (int)i + 1;
    return -1;
}

/* out = a + "/" + b (b may be empty: then just a). */
static void pathcat(char *out, size_t n, const char *a, const char *b)
{
    int len = snprintf(out, n, "%s%s%s", a, b[0] ? "/" : "", b);
    assert_true(len >= 0 && (size_t)len < n);
}

static char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)size + 1);
    *n = fread(buf, 1, (size_t)size, f);
    buf[*n] = '\0';
    fclose(f);
    return buf;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted *.xml base names of a folder; returns the count. */
static unsigned xml_files(const char *dir, char **out, unsigned max)
{
    DIR *d = opendir(dir);
    unsigned n = 0;
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        size_t len = strlen(e->d_name);
        if (len > 4 && !strcmp(e->d_name + len - 4, ".xml"))
            out[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(out, n, sizeof *out, cmp_str);
    return n;
}

/* Decoders the original engine builds in (they have no XML); the real decoder set has them. */
static const char *const builtin_decoders[] = {
    "rootcheck",
    "syscollector",
    "ciscat",
    "sca",
    "windows_eventchannel",
    "hostinfo_new",
    "hostinfo_modified",
    "syscheck_new_entry",
    "syscheck_integrity_changed",
    "syscheck_deleted",
    "syscheck_registry_key_added",
    "syscheck_registry_key_deleted",
    "syscheck_registry_key_modified",
    "syscheck_registry_value_added",
    "syscheck_registry_value_deleted",
    "syscheck_registry_value_modified",
};

static void scan_decoder_names(const char *dir)
{
    for (unsigned i = 0; i < sizeof builtin_decoders / sizeof *builtin_decoders; i++)
        names[nnames++] = strdup(builtin_decoders[i]);
    char *files[512];
    unsigned n = xml_files(dir, files, 512);
    for (unsigned i = 0; i < n; i++) {
        char path[4096];
        pathcat(path, sizeof path, dir, files[i]);
        size_t len;
        char *text = read_all(path, &len);
        for (char *p = text; p && (p = strstr(p, "<decoder name=\""));) {
            p += strlen("<decoder name=\"");
            char *q = strchr(p, '"');
            if (!q)
                break;
            bool known = false;
            for (unsigned k = 0; k < nnames && !known; k++)
                known = strlen(names[k]) == (size_t)(q - p) && !strncmp(names[k], p, q - p);
            if (!known && nnames < MAX_NAMES)
                names[nnames++] = strndup(p, (size_t)(q - p));
            p = q;
        }
        free(text);
        free(files[i]);
    }
}

static void add_lists(struct tld_lists *ls, const char *root, const char *rel, struct tld_diag *d)
{
    char dir[4096];
    pathcat(dir, sizeof dir, root, rel);
    DIR *dh = opendir(dir);
    if (!dh)
        return;
    struct dirent *e;
    while ((e = readdir(dh))) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096], sub[4096];
        pathcat(path, sizeof path, dir, e->d_name);
        if (rel[0])
            pathcat(sub, sizeof sub, rel, e->d_name);
        else
            pathcat(sub, sizeof sub, e->d_name, "");
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            add_lists(ls, root, sub, d);
        } else {
            char name[4200];
            pathcat(name, sizeof name, "etc/lists", sub);
            assert_int_equal(tld_lists_add_file(ls, name, path, d), 0);
        }
    }
    closedir(dh);
}

static const char *ruleset_dir(void)
{
    static char dir[4096];
    const char *base = getenv("TLD_SHARED") ? getenv("TLD_SHARED") : "../shared";
    pathcat(dir, sizeof dir, base, "wazuh-ruleset");
    struct stat st;
    return stat(dir, &st) == 0 ? dir : NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct tld_rules *g_rules;
static struct tld_lists *g_lists;

static void whole_ruleset(void **state)
{
    const char *root = ruleset_dir();
    if (!root) {
        fprintf(stderr, "wazuh-ruleset not found (set TLD_SHARED); skipping\n");
        skip();
    }
    char path[4096];
    pathcat(path, sizeof path, root, "decoders");
    scan_decoder_names(path);
    assert_true(nnames > 100);

    struct tld_diag diag;
    tld_diag_init(&diag);
    struct tld_lists *lists;
    assert_int_equal(tld_lists_new(&lists), 0);
    pathcat(path, sizeof path, root, "lists");
    add_lists(lists, path, "", &diag);
    assert_int_equal(tld_lists_count(lists), 7);

    struct tld_rules_env env = tld_rules_env_default();
    env.decoder_id = name_lookup;
    env.lists = lists;
    env.log_alert_level = 3;
    env.email_alert_level = 12;
    struct tld_rules *rs;
    assert_int_equal(tld_rules_new(&env, &rs), 0);

    char *files[512];
    pathcat(path, sizeof path, root, "rules");
    unsigned n = xml_files(path, files, 512);
    assert_true(n > 100);
    double t0 = now_s();
    for (unsigned i = 0; i < n; i++) {
        char file[4096];
        pathcat(file, sizeof file, path, files[i]);
        int err = tld_rules_load_file(rs, file, &diag);
        if (err)
            fprintf(stderr, "%s: %s\n", files[i], tld_err_str(err));
        free(files[i]);
    }
    assert_int_equal(tld_rules_finish(rs), 0);
    double t1 = now_s();
    if (diag.errors || diag.warnings > 1)
        tld_diag_print(&diag, stderr);
    assert_int_equal(diag.errors, 0);
    /* 4,515 <rule> elements are written in these files, three of them inside XML comments
     * (7425 in 0125-symantec-ws_rules.xml, 91513 and 91514 in 0905-cisco-ftd_rules.xml):
     * 4,512 rules load. The only warning is rule 91821 naming itself in its if_sid. */
    assert_int_equal(tld_rules_count(rs), 4512);
    assert_int_equal(diag.warnings, 1);
    assert_null(tld_rules_find(rs, 7425));
    assert_non_null(tld_rules_find(rs, 91821));
    fprintf(stderr, "loaded %u rules from %u files in %.3f s (%u warnings)\n", tld_rules_count(rs),
            n, t1 - t0, diag.warnings);

    /* A few facts of well-known rules. */
    const struct tld_rule *r = tld_rules_find(rs, 31103);
    assert_non_null(r);
    assert_int_equal(r->level, 7);
    assert_string_equal(r->description, "SQL injection attempt.");
    assert_int_equal(r->n_mitre_ids, 1);
    assert_string_equal(r->mitre_ids[0], "T1190");
    r = tld_rules_find(rs, 5712);
    assert_non_null(r);
    assert_true(r->correlation);
    assert_int_equal(r->frequency, 8);
    r = tld_rules_find(rs, 87903);
    assert_non_null(r);
    assert_string_equal(r->description,
                        "Docker: Container $(docker.Actor.Attributes.name) started");

    g_rules = rs;
    g_lists = lists;
    if (getenv("TLD_TREE_STATS")) {
        const struct tld_rules *x = rs;
        for (unsigned i = 0; i < x->ntop; i++) {
            const struct rnode *t = x->top[i];
            unsigned nd = 0, pats = 0;
            for (unsigned k = 0; k < t->nkids; k++) {
                nd += t->kids[k]->rule->impl->b.decoded_as >= 0;
                pats +=
                    t->kids[k]->rule->impl->b.decoded_as < 0 && t->kids[k]->rule->impl->b.ntests;
            }
            fprintf(stderr, "top %u: %u kids, %u with decoded_as, %u others with patterns\n",
                    t->rule->id, t->nkids, nd, pats);
        }
    }
    tld_diag_fini(&diag);
}

static struct tld_decoder dec(const char *name, enum tld_category type)
{
    return (struct tld_decoder){
        .name = name, .own_name = name, .id = name_lookup(NULL, tld_sv_of(name)), .type = type};
}

struct ev_buf {
    struct tld_arena arena;
    struct tld_dynfield dyn[TLD_EVENT_MAX_FIELDS];
    struct tld_event ev;
};

static struct tld_event *docker_event(struct ev_buf *b, const struct tld_decoder *json, int64_t t)
{
    static const char *const kv[][2] = {
        {"integration", "docker"},
        {"docker.status", "start"},
        {"docker.id", "abc"},
        {"docker.from", "nginx"},
        {"docker.Type", "container"},
        {"docker.Action", "start"},
        {"docker.Actor.ID", "abc"},
        {"docker.Actor.Attributes.image", "nginx"},
        {"docker.Actor.Attributes.name", "test-container"},
        {"docker.scope", "local"},
        {"docker.time", "1683632491"},
        {"docker.timeNano", "1683632491049788416.000000"},
    };
    tld_event_reset(&b->ev);
    struct tld_event *ev = &b->ev;
    ev->location = TLD_SV_LIT("Wazuh-Docker");
    ev->full_log = ev->log = TLD_SV_LIT("{\"integration\":\"docker\",\"docker\":{}}");
    ev->agent_id = TLD_SV_LIT("000");
    ev->hostname = TLD_SV_LIT("manager");
    ev->time_ns = t;
    ev->decoder = json;
    for (unsigned i = 0; i < sizeof kv / sizeof *kv; i++)
        tld_event_add(ev, tld_sv_of(kv[i][0]), tld_sv_of(kv[i][1]));
    return ev;
}

static struct tld_event *web_event(struct ev_buf *b, const struct tld_decoder *web, int64_t t,
                                   const char *url)
{
    tld_event_reset(&b->ev);
    struct tld_event *ev = &b->ev;
    ev->location = TLD_SV_LIT("/var/lib/docker/containers/x/x-json.log");
    ev->full_log = ev->log = TLD_SV_LIT("192.168.132.1 - - [12/May/2023:14:12:14 +0000] \"GET "
                                        "/users/?id=SELECT+*+FROM+users HTTP/1.1\" 404 153");
    ev->agent_id = TLD_SV_LIT("001");
    ev->hostname = TLD_SV_LIT("docker-host");
    ev->time_ns = t;
    ev->decoder = web;
    tld_event_set(ev, TLD_F_SRCIP, TLD_SV_LIT("192.168.132.1"));
    tld_event_set(ev, TLD_F_PROTOCOL, TLD_SV_LIT("GET"));
    tld_event_set(ev, TLD_F_URL, tld_sv_of(url));
    tld_event_set(ev, TLD_F_ID, TLD_SV_LIT("404"));
    return ev;
}

static struct tld_event *sshd_event(struct ev_buf *b, const struct tld_decoder *sshd, int64_t t,
                                    const char *ip)
{
    tld_event_reset(&b->ev);
    struct tld_event *ev = &b->ev;
    ev->location = TLD_SV_LIT("/var/log/auth.log");
    ev->full_log = TLD_SV_LIT("Jan  1 00:00:01 host sshd[123]: Failed password for root from "
                              "1.2.3.4 port 22 ssh2");
    ev->log = TLD_SV_LIT("Failed password for root from 1.2.3.4 port 22 ssh2");
    ev->program_name = TLD_SV_LIT("sshd");
    ev->agent_id = TLD_SV_LIT("000");
    ev->hostname = TLD_SV_LIT("host");
    ev->time_ns = t;
    ev->decoder = sshd;
    tld_event_set(ev, TLD_F_SRCIP, tld_sv_of(ip));
    tld_event_set(ev, TLD_F_DSTUSER, TLD_SV_LIT("root"));
    tld_event_set(ev, TLD_F_SRCPORT, TLD_SV_LIT("22"));
    return ev;
}

/* The mission's two events and an sshd brute force, matched with the whole ruleset. */
static void mission_events(void **state)
{
    if (!g_rules)
        skip();
    struct tld_decoder json = dec("json", TLD_CAT_SYSLOG),
                       web = dec("web-accesslog", TLD_CAT_WEB_LOG),
                       sshd = dec("sshd", TLD_CAT_SYSLOG);
    struct tld_rules_state *st;
    struct tld_rule_hit hit;
    static struct ev_buf b;
    tld_arena_init(&b.arena, 4096, 1 << 20);
    tld_event_init(&b.ev, &b.arena, b.dyn);
    assert_int_equal(tld_rules_state_new(g_rules, &st), 0);
    assert_int_equal(tld_rule_hit_init(&hit), 0);

    tld_rules_eval(g_rules, st, docker_event(&b, &json, 0), &hit);
    assert_non_null(hit.rule);
    assert_string_equal(hit.rule->id_str, "87903");
    assert_string_equal(hit.description.p, "Docker: Container test-container started");
    assert_string_equal(hit.rule->groups, "docker,");
    assert_true(hit.write_alert);
    assert_false(hit.mail);
    assert_int_equal(hit.firedtimes, 1);
    assert_true(hit.rule->options & TLD_RULE_NO_FULL_LOG);

    tld_rules_eval(g_rules, st, web_event(&b, &web, 0, "/users/?id=SELECT+*+FROM+users"), &hit);
    assert_non_null(hit.rule);
    assert_string_equal(hit.rule->id_str, "31103");
    assert_int_equal(hit.rule->level, 7);
    assert_string_equal(hit.description.p, "SQL injection attempt.");
    tld_rules_eval(g_rules, st, web_event(&b, &web, 0, "/index.html"), &hit);
    assert_non_null(hit.rule);
    assert_string_equal(hit.rule->id_str, "31101"); /* "Web server 400 error code." */

    /* eight failed passwords from one address within 120 s: the eighth is a brute force */
    for (int i = 1; i <= 8; i++) {
        tld_rules_eval(g_rules, st, sshd_event(&b, &sshd, (int64_t)i * 1000000000, "1.2.3.4"),
                       &hit);
        assert_non_null(hit.rule);
        assert_int_equal(hit.rule->id, i < 8 ? 5760 : 5763);
    }
    assert_int_equal(hit.n_previous, 7);
    assert_int_equal(tld_rule_alert_frequency(hit.rule), 8);
    tld_rule_hit_fini(&hit);
    tld_rules_state_free(st);
    tld_arena_fini(&b.arena);
}

static double elapsed_eval(const struct tld_decoder *json, const struct tld_decoder *web,
                           const struct tld_decoder *sshd, int kind, unsigned n)
{
    static struct ev_buf b;
    struct tld_rules_state *st;
    struct tld_rule_hit hit;
    tld_arena_init(&b.arena, 4096, 1 << 20);
    tld_event_init(&b.ev, &b.arena, b.dyn);
    assert_int_equal(tld_rules_state_new(g_rules, &st), 0);
    assert_int_equal(tld_rule_hit_init(&hit), 0);
    char ip[32];
    double t0 = now_s();
    for (unsigned i = 0; i < n; i++) {
        int64_t t = 1700000000000000000ll + (int64_t)i * 10000; /* 100k events/s */
        struct tld_event *ev;
        if (kind == 0)
            ev = docker_event(&b, json, t);
        else if (kind == 1)
            ev = web_event(&b, web, t, i % 10 ? "/index.html" : "/a?id=SELECT+1");
        else {
            snprintf(ip, sizeof ip, "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
            ev = sshd_event(&b, sshd, t, ip);
        }
        tld_rules_eval(g_rules, st, ev, &hit);
        assert_non_null(hit.rule);
    }
    double dt = now_s() - t0;
    tld_rule_hit_fini(&hit);
    tld_rules_state_free(st);
    tld_arena_fini(&b.arena);
    return dt;
}

/* Matching throughput over the whole ruleset (informational; decoding not included). */
static void throughput(void **state)
{
    if (!g_rules)
        skip();
    struct tld_decoder json = dec("json", TLD_CAT_SYSLOG),
                       web = dec("web-accesslog", TLD_CAT_WEB_LOG),
                       sshd = dec("sshd", TLD_CAT_SYSLOG);
    const char *names_[] = {"docker", "web", "sshd"};
    unsigned n = getenv("TLD_BENCH_EVENTS") ? (unsigned)atoi(getenv("TLD_BENCH_EVENTS")) : 20000;
    for (int kind = 0; kind < 3; kind++) {
        double dt = elapsed_eval(&json, &web, &sshd, kind, n);
        fprintf(stderr, "rule matching, %s events: %.0f events/s\n", names_[kind], n / dt);
    }
}

static int teardown(void **state)
{
    tld_rules_free(g_rules);
    tld_lists_free(g_lists);
    for (unsigned i = 0; i < nnames; i++)
        free(names[i]);
    nnames = 0;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(whole_ruleset),
        cmocka_unit_test(mission_events),
        cmocka_unit_test(throughput),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
