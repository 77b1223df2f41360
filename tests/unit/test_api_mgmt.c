/*
 * Unit tests for the API's management parts without a network or a manager: the control
 * channel client against a fake manager thread that speaks the protocol (a reply, a silent
 * peer, a broken reply, nobody there), the list semantics (range and list filters, search,
 * sort, paging, select), the ruleset as manager.conf names it (defaults, excludes, a symbolic
 * link out of a rule directory, names with paths refused, loading with one file swapped for a
 * temporary copy), the shared snapshot (kept until a file changes), and the logtest session
 * table (tokens, counters per session, ending).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/ctl_client.h"
#include "api/items.h"
#include "api/logtest.h"
#include "api/rscache.h"
#include "api/rsconf.h"
#include "common/err.h"

static void put(const char *dir, const char *rel, const char *text)
{
    char p[PATH_MAX], d[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    snprintf(d, sizeof d, "%s", p);
    for (char *s = strchr(d + strlen(dir) + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = 0;
        mkdir(d, 0700);
        *s = '/';
    }
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void tmpdir(char buf[PATH_MAX])
{
    snprintf(buf, PATH_MAX, "/tmp/tld-test-api-mgmt-XXXXXX");
    assert_non_null(mkdtemp(buf));
}

static void rm_rf(const char *dir)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- control channel --------------------------------------------------------------------------
 */

enum fake_mode { FAKE_REPLY, FAKE_SILENT, FAKE_GARBAGE };

struct fake {
    int lfd;
    enum fake_mode mode;
    char got[256];
};

static void *fake_serve(void *arg)
{
    struct fake *f = arg;
    int c = accept(f->lfd, NULL, NULL);
    if (c < 0)
        return NULL;
    size_t n = 0;
    while (n < sizeof f->got - 1 && !memchr(f->got, '\n', n)) {
        ssize_t got = read(c, f->got + n, sizeof f->got - 1 - n);
        if (got <= 0)
            break;
        n += (size_t)got;
    }
    f->got[n] = 0;
    const char *reply = f->mode == FAKE_REPLY
                            ? "{\"error\":0,\"message\":\"reloaded\",\"rules\":7}\n"
                        : f->mode == FAKE_GARBAGE ? "not json\n"
                                                  : NULL;
    if (reply)
        assert_true(write(c, reply, strlen(reply)) == (ssize_t)strlen(reply));
    else
        sleep(2); /* longer than the client's timeout below */
    close(c);
    return NULL;
}

static int fake_listen(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 4), 0);
    return fd;
}

static int call_fake(const char *path, enum fake_mode mode, int timeout_ms, cJSON **reply,
                     char why[TLD_WHY_MAX], struct fake *f)
{
    f->lfd = fake_listen(path);
    f->mode = mode;
    pthread_t t;
    pthread_create(&t, NULL, fake_serve, f);
    int rc = tld_ctl_call(path, "{\"op\":\"reload\"}", timeout_ms, reply, why);
    pthread_join(t, NULL);
    close(f->lfd);
    return rc;
}

static void test_ctl_client(void **state)
{
    (void)state;
    char dir[PATH_MAX], path[PATH_MAX + 64], why[TLD_WHY_MAX];
    tmpdir(dir);
    tld_ctl_path(dir, path, sizeof path);
    assert_string_equal(path + strlen(dir), "/var/run/tld-manager.ctl");
    snprintf(path, sizeof path, "%s/ctl", dir);
    struct fake f;
    cJSON *reply = NULL;
    /* Nobody there: said so, distinctly. */
    assert_int_equal(tld_ctl_call(path, "{\"op\":\"agents\"}", 1000, &reply, why), TLD_ECLOSED);
    assert_null(reply);
    assert_non_null(strstr(why, "not running"));
    /* A reply: one request line sent, the reply parsed. */
    assert_int_equal(call_fake(path, FAKE_REPLY, 5000, &reply, why, &f), 0);
    assert_string_equal(f.got, "{\"op\":\"reload\"}\n");
    assert_int_equal(cJSON_GetObjectItem(reply, "rules")->valueint, 7);
    cJSON_Delete(reply);
    /* A reply that is not JSON. */
    assert_int_equal(call_fake(path, FAKE_GARBAGE, 5000, &reply, why, &f), TLD_EPROTO);
    assert_null(reply);
    /* A peer that never answers: the timeout. */
    assert_int_equal(call_fake(path, FAKE_SILENT, 300, &reply, why, &f), TLD_ETIMEOUT);
    assert_non_null(strstr(why, "did not answer"));
    unlink(path);
    rm_rf(dir);
}

/* ---- list semantics -------------------------------------------------------------------------- */

static void test_items_helpers(void **state)
{
    (void)state;
    unsigned lo, hi;
    assert_true(tld_api_parse_range("5", 16, &lo, &hi));
    assert_true(lo == 5 && hi == 5);
    assert_true(tld_api_parse_range("3-10", 16, &lo, &hi));
    assert_true(lo == 3 && hi == 10);
    assert_false(tld_api_parse_range("10-3", 16, &lo, &hi));
    assert_false(tld_api_parse_range("17", 16, &lo, &hi));
    assert_false(tld_api_parse_range("3-", 16, &lo, &hi));
    assert_false(tld_api_parse_range("x", 16, &lo, &hi));
    assert_false(tld_api_parse_range("", 16, &lo, &hi));
    assert_true(tld_api_csv_has("001, 002,003", "002"));
    assert_false(tld_api_csv_has("0010", "001"));
    cJSON *it = cJSON_Parse("{\"os\":{\"name\":\"Linux\"},\"n\":42,\"g\":[\"Web\"]}");
    assert_string_equal(tld_api_item_get(it, "os.name")->valuestring, "Linux");
    assert_null(tld_api_item_get(it, "os.name.x"));
    assert_null(tld_api_item_get(it, "nope"));
    assert_true(tld_api_item_contains(it, "linux"));
    assert_true(tld_api_item_contains(it, "web"));
    assert_true(tld_api_item_contains(it, "42"));
    assert_false(tld_api_item_contains(it, "windows"));
    cJSON_Delete(it);
}

/* items_reply through a request of its own: the answer's JSON. */
static cJSON *reply_of(const char *items, const char *const *kv, unsigned *status)
{
    struct tld_api_req r;
    memset(&r, 0, sizeof r);
    tld_sb_init(&r.out, 1u << 20);
    tld_api_params_init(&r.params);
    char why[TLD_WHY_MAX];
    for (; kv && kv[0]; kv += 2)
        assert_int_equal(tld_api_param_set(&r.params, kv[0], kv[1], why), 0);
    assert_int_equal(tld_api_items_reply(&r, cJSON_Parse(items), "things"), 0);
    *status = r.status;
    cJSON *doc = cJSON_Parse(tld_sb_cstr(&r.out));
    tld_sb_fini(&r.out);
    assert_non_null(doc);
    return doc;
}

static char *ids_of(cJSON *doc)
{
    static char buf[256];
    buf[0] = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, tld_api_item_get(doc, "data.affected_items"))
    {
        const cJSON *id = cJSON_GetObjectItem(it, "id");
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%d", buf[0] ? "," : "",
                 id ? id->valueint : -1);
    }
    return buf;
}

static void test_items_reply(void **state)
{
    (void)state;
    const char *items = "[{\"id\":1,\"level\":5,\"name\":\"b\",\"os\":{\"name\":\"x\"}},"
                        "{\"id\":2,\"level\":3,\"name\":\"a\",\"os\":{\"name\":\"y\"}},"
                        "{\"id\":3,\"level\":5,\"name\":\"c\",\"os\":{\"name\":\"z\"}}]";
    unsigned st;
    cJSON *doc = reply_of(items, NULL, &st);
    assert_int_equal(st, 200);
    assert_string_equal(ids_of(doc), "1,2,3");
    assert_int_equal(tld_api_item_get(doc, "data.total_affected_items")->valueint, 3);
    cJSON_Delete(doc);
    doc = reply_of(items, (const char *const[]){"sort", "-level,name", NULL}, &st);
    assert_string_equal(ids_of(doc), "1,3,2");
    cJSON_Delete(doc);
    doc = reply_of(
        items, (const char *const[]){"sort", "os.name", "offset", "1", "limit", "1", NULL}, &st);
    assert_string_equal(ids_of(doc), "2");
    assert_int_equal(tld_api_item_get(doc, "data.total_affected_items")->valueint, 3);
    cJSON_Delete(doc);
    doc = reply_of(items, (const char *const[]){"search", "-Y", NULL}, &st);
    assert_string_equal(ids_of(doc), "1,3");
    assert_int_equal(tld_api_item_get(doc, "data.total_affected_items")->valueint, 2);
    cJSON_Delete(doc);
    doc = reply_of(items, (const char *const[]){"select", "os.name", "limit", "1", NULL}, &st);
    char *txt = cJSON_PrintUnformatted(tld_api_item_get(doc, "data.affected_items"));
    assert_string_equal(txt, "[{\"id\":1,\"os\":{\"name\":\"x\"}}]");
    free(txt);
    cJSON_Delete(doc);
    doc = reply_of(items, (const char *const[]){"sort", "nosuch", NULL}, &st);
    assert_int_equal(st, 400);
    cJSON_Delete(doc);
    doc = reply_of(items, (const char *const[]){"select", "nosuch", NULL}, &st);
    assert_int_equal(st, 400);
    cJSON_Delete(doc);
}

/* ---- the ruleset of manager.conf ------------------------------------------------------------- */

static const char TEMPLATE[] = "<group name=\"syslog,\"><rule id=\"1\" level=\"0\" noalert=\"1\">"
                               "<category>syslog</category><description>t</description></rule>"
                               "</group>\n";
static const char LOCAL[] = "<group name=\"local,\"><rule id=\"100001\" level=\"5\">"
                            "<if_sid>1</if_sid><match>x</match><description>l</description>"
                            "</rule></group>\n";

static void test_rsconf(void **state)
{
    (void)state;
    char root[PATH_MAX], p[PATH_MAX + 64];
    tmpdir(root);
    put(root, "ruleset/rules/0010-t.xml", TEMPLATE);
    put(root, "ruleset/rules/0900-old.xml", "<group name=\"o,\"></group>\n");
    put(root, "ruleset/decoders/0001-d.xml",
        "<decoder name=\"d\"><prematch>^d</prematch>"
        "</decoder>\n");
    put(root, "etc/rules/local_rules.xml", LOCAL);
    put(root, "etc/decoders/local_decoder.xml", "<!-- none -->\n");
    put(root, "outside.xml", "<group name=\"secret,\"></group>\n");
    put(root, "etc/lists/users", "root:x\n");
    snprintf(p, sizeof p, "%s/outside.xml", root);
    char link[PATH_MAX + 64];
    snprintf(link, sizeof link, "%s/etc/rules/link.xml", root);
    assert_int_equal(symlink(p, link), 0);

    struct tld_api_rsconf c;
    struct tld_diag diag;
    tld_diag_init(&diag);
    static const char conf[] = "<ossec_config><ruleset><rule_exclude>0900-old.xml</rule_exclude>"
                               "</ruleset><alerts><log_alert_level>3</log_alert_level></alerts>"
                               "<api><port>1</port></api></ossec_config>";
    assert_int_equal(tld_api_rsconf_parse(conf, sizeof conf - 1, "m.conf", &c, &diag), 0);
    /* The manager's defaults when <ruleset> names no directory. */
    assert_int_equal(c.rule_dirs.n, 2);
    assert_string_equal(c.rule_dirs.v[1], "etc/rules");
    assert_int_equal(c.log_alert_level, 3);
    struct tld_api_rs_file *files = NULL;
    size_t n = 0;
    assert_int_equal(tld_api_rs_files(&c, root, TLD_API_RS_RULES, &files, &n), 0);
    assert_int_equal(n, 3); /* the link out of etc/rules is not a ruleset file */
    assert_string_equal(files[0].name, "0010-t.xml");
    assert_string_equal(files[0].reldir, "ruleset/rules");
    assert_true(files[0].enabled);
    assert_string_equal(files[1].name, "0900-old.xml");
    assert_false(files[1].enabled);
    assert_string_equal(files[2].reldir, "etc/rules");
    assert_non_null(tld_api_rs_find(files, n, "local_rules.xml"));
    assert_null(tld_api_rs_find(files, n, "link.xml"));
    assert_null(tld_api_rs_find(files, n, "../etc/rules/local_rules.xml"));
    assert_null(tld_api_rs_find(files, n, "etc/rules/local_rules.xml"));
    assert_null(tld_api_rs_find(files, n, ""));

    unlink(link); /* the engine would read it, as the manager would */
    struct tld_ruleset *rs = NULL;
    int rc = tld_api_rs_load(&c, root, NULL, &rs, &diag);
    if (rc)
        tld_diag_print(&diag, stderr);
    assert_int_equal(rc, 0);
    assert_int_equal(tld_rules_count(rs->rules), 2);
    tld_ruleset_unref(rs);
    /* A swapped file: the copy loads in the original's place; the original is not read. */
    put(root, "tmp/local_rules.xml",
        "<group name=\"local,\"><rule id=\"100002\" level=\"5\">"
        "<if_sid>1</if_sid><description>n</description></rule>"
        "</group>\n");
    char orig[PATH_MAX + 64], repl[PATH_MAX + 64];
    snprintf(orig, sizeof orig, "%s/etc/rules/local_rules.xml", root);
    snprintf(repl, sizeof repl, "%s/tmp/local_rules.xml", root);
    struct tld_api_rs_swap swap = {TLD_API_RS_RULES, orig, repl};
    assert_int_equal(tld_api_rs_load(&c, root, &swap, &rs, &diag), 0);
    assert_int_equal(tld_rules_count(rs->rules), 2);
    assert_non_null(tld_rules_find(rs->rules, 100002));
    assert_null(tld_rules_find(rs->rules, 100001));
    tld_ruleset_unref(rs);
    /* A broken copy: the load fails with the copy's name and line. */
    put(root, "tmp/local_rules.xml",
        "<group name=\"x,\">\n<rule id=\"100003\" level=\"99\">"
        "<match>x</match><description>n</description></rule>"
        "</group>\n");
    assert_int_equal(tld_api_rs_load(&c, root, &swap, &rs, &diag), TLD_EPARSE);
    assert_null(rs);
    bool named = false;
    for (unsigned i = 0; i < diag.kept; i++)
        named = named || (strstr(diag.msgs[i].text, repl) && strstr(diag.msgs[i].text, ":2:"));
    assert_true(named);
    struct tld_ruleset_list *lists = NULL;
    unsigned nl = 0;
    assert_int_equal(tld_api_rs_lists(&c, root, &lists, &nl, &diag), 0);
    assert_int_equal(nl, 1);
    assert_string_equal(lists[0].name, "etc/lists/users");
    tld_ruleset_lists_free(lists, nl);
    free(files);
    tld_api_rsconf_fini(&c);
    tld_diag_fini(&diag);
    rm_rf(root);
}

/* ---- logtest sessions ------------------------------------------------------------------------ */

struct lt_ctx {
    const char *root;
    unsigned loads;
    uint64_t firedtimes;
};

static int lt_load(void *ctx, struct tld_ruleset **out)
{
    struct lt_ctx *c = ctx;
    struct tld_api_rsconf cfg;
    struct tld_diag diag;
    tld_diag_init(&diag);
    static const char conf[] = "<ossec_config></ossec_config>";
    assert_int_equal(tld_api_rsconf_parse(conf, sizeof conf - 1, "m.conf", &cfg, &diag), 0);
    int rc = tld_api_rs_load(&cfg, c->root, NULL, out, &diag);
    tld_api_rsconf_fini(&cfg);
    tld_diag_fini(&diag);
    c->loads++;
    return rc;
}

static void lt_show(void *ctx, struct tld_worker *w)
{
    struct lt_ctx *c = ctx;
    const struct tld_rule_hit *hit = tld_worker_hit(w);
    c->firedtimes = hit->rule ? hit->firedtimes : 0;
}

static void test_logtest_sessions(void **state)
{
    (void)state;
    char root[PATH_MAX];
    tmpdir(root);
    put(root, "ruleset/rules/0010-t.xml", TEMPLATE);
    put(root, "etc/rules/local_rules.xml", LOCAL);
    put(root, "ruleset/decoders/0001-d.xml", "<!-- none -->\n");
    put(root, "etc/decoders/local_decoder.xml", "<!-- none -->\n");
    struct tld_api_logtest *lt = NULL;
    assert_int_equal(tld_api_logtest_new(&lt), 0);
    struct lt_ctx c = {root, 0, 0};
    struct tld_logtest_run run = {NULL, TLD_SV_LIT("a x b"), TLD_SV_LIT("stdin"), "mgr", lt_load,
                                  &c};
    char tok[TLD_LOGTEST_TOKEN + 1], tok2[TLD_LOGTEST_TOKEN + 1];
    bool renewed;
    assert_int_equal(tld_api_logtest_run(lt, &run, 1000, lt_show, tok, &renewed), 0);
    assert_true(renewed);
    assert_int_equal(strlen(tok), TLD_LOGTEST_TOKEN);
    assert_int_equal(c.firedtimes, 1);
    run.token = tok;
    assert_int_equal(tld_api_logtest_run(lt, &run, 2000, lt_show, tok2, &renewed), 0);
    assert_false(renewed);
    assert_string_equal(tok, tok2);
    assert_int_equal(c.firedtimes, 2);
    assert_int_equal(c.loads, 1); /* a session takes its snapshot once */
    /* A new session counts from one. */
    run.token = NULL;
    assert_int_equal(tld_api_logtest_run(lt, &run, 3000, lt_show, tok2, &renewed), 0);
    assert_true(renewed);
    assert_string_not_equal(tok, tok2);
    assert_int_equal(c.firedtimes, 1);
    assert_int_equal(c.loads, 2);
    /* An idle session expires; an ended one is gone. */
    run.token = tok;
    assert_int_equal(tld_api_logtest_run(lt, &run, 2000 + TLD_LOGTEST_IDLE_S * 1000 + 1, lt_show,
                                         tok2, &renewed),
                     0);
    assert_true(renewed);
    bool found;
    tld_api_logtest_end(lt, tok2, &found);
    assert_true(found);
    tld_api_logtest_end(lt, tok2, &found);
    assert_false(found);
    /* Bounded: more sessions than slots end the least recently used. */
    run.token = NULL;
    for (unsigned i = 0; i < TLD_LOGTEST_SESSIONS + 5; i++)
        assert_int_equal(tld_api_logtest_run(lt, &run, 10000000 + i, lt_show, tok2, &renewed), 0);
    tld_api_logtest_free(lt);
    rm_rf(root);
}

static void test_rscache(void **state)
{
    (void)state;
    char root[PATH_MAX], conf[PATH_MAX + 32];
    tmpdir(root);
    put(root, "ruleset/rules/0010-t.xml", TEMPLATE);
    put(root, "etc/rules/local_rules.xml", LOCAL);
    put(root, "ruleset/decoders/0001-d.xml", "<!-- none -->\n");
    put(root, "etc/decoders/local_decoder.xml", "<!-- none -->\n");
    put(root, "etc/manager.conf", "<ossec_config></ossec_config>\n");
    snprintf(conf, sizeof conf, "%s/etc/manager.conf", root);
    struct tld_api_rsconf cfg;
    struct tld_diag diag;
    tld_diag_init(&diag);
    assert_int_equal(tld_api_rsconf_load(conf, &cfg, &diag), 0);
    struct tld_api_rscache *c = NULL;
    assert_int_equal(tld_api_rscache_new(&c), 0);
    struct tld_ruleset *a = NULL, *b = NULL;
    assert_int_equal(tld_api_rscache_get(c, &cfg, root, conf, &a, &diag), 0);
    assert_int_equal(tld_api_rscache_get(c, &cfg, root, conf, &b, &diag), 0);
    assert_ptr_equal(a, b); /* nothing changed: the same snapshot */
    tld_ruleset_unref(b);
    /* A changed file: a new snapshot; the old one stays valid for who holds it. */
    put(root, "etc/rules/local_rules.xml",
        "<group name=\"local,\"><rule id=\"100009\" "
        "level=\"3\"><if_sid>1</if_sid><description>x"
        "</description></rule></group>\n");
    assert_int_equal(tld_api_rscache_get(c, &cfg, root, conf, &b, &diag), 0);
    assert_ptr_not_equal(a, b);
    assert_non_null(tld_rules_find(b->rules, 100009));
    assert_non_null(tld_rules_find(a->rules, 100001));
    tld_ruleset_unref(a);
    tld_ruleset_unref(b);
    /* A broken file: an error, no snapshot. */
    put(root, "etc/rules/local_rules.xml", "<group name=\"local,\"><rule id=\"1x\">");
    assert_int_equal(tld_api_rscache_get(c, &cfg, root, conf, &b, &diag), TLD_EPARSE);
    assert_null(b);
    tld_api_rscache_free(c);
    tld_api_rsconf_fini(&cfg);
    tld_diag_fini(&diag);
    rm_rf(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ctl_client),       cmocka_unit_test(test_items_helpers),
        cmocka_unit_test(test_items_reply),      cmocka_unit_test(test_rsconf),
        cmocka_unit_test(test_logtest_sessions), cmocka_unit_test(test_rscache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
