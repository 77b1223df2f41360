/*
 * Unit tests for the manager's hot reload checks and its control channel: which configuration
 * changes a reload refuses (by name), a broken ruleset reported with file, line and element, the
 * reply shapes, and the channel's framing and refusals (unknown op, garbage, oversized request,
 * a request cut short, the agents operations on a registry), and the enrollment limits a reload
 * changes in place.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "manager/agents.h"
#include "manager/config.h"
#include "manager/ctl.h"
#include "manager/ctl_ops.h"
#include "manager/lockout.h"
#include "manager/ratelimit.h"
#include "manager/reload.h"

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(p);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void parse(struct tld_mgr_config *c, const char *text)
{
    struct tld_diag d;
    tld_mgr_config_init(c);
    tld_diag_init(&d);
    assert_int_equal(tld_mgr_config_parse(c, text, strlen(text), "test.conf", &d), 0);
    tld_diag_fini(&d);
    tld_mgr_config_defaults(c);
}

static void fixed_changes_named(void **state)
{
    static const struct {
        const char *a, *b, *name; /* name NULL: a live change */
    } cases[] = {
        {"<remote><port>1514</port></remote>", "<remote><port>1600</port></remote>",
         "<remote><port>"},
        {"<remote><local_ip>127.0.0.1</local_ip></remote>", "<remote></remote>",
         "<remote><local_ip>"},
        {"<store><backend>sqlite</backend></store>", "<store><backend>clickhouse</backend></store>",
         "<store><backend>"},
        {"<manager><workers>2</workers></manager>", "<manager><workers>3</workers></manager>",
         "<manager><workers>"},
        {"<auth><force><enabled>no</enabled></force></auth>",
         "<auth><force><enabled>yes</enabled></force></auth>", "<auth><force><enabled>"},
        {"<localfile><location>/a</location><log_format>syslog</log_format></localfile>",
         "<localfile><location>/b</location><log_format>syslog</log_format></localfile>",
         "local collection"},
        {"<ruleset><rule_dir>etc/rules</rule_dir></ruleset>",
         "<ruleset><rule_dir>etc/rules</rule_dir><rule>etc/x.xml</rule></ruleset>", NULL},
        {"<alerts><log_alert_level>3</log_alert_level></alerts>",
         "<alerts><log_alert_level>5</log_alert_level></alerts>", NULL},
        {"<global><agents_disconnection_time>10m</agents_disconnection_time></global>",
         "<global><agents_disconnection_time>20m</agents_disconnection_time></global>", NULL},
        {"<auth><max_pending_agents>5</max_pending_agents></auth>",
         "<auth><max_pending_agents>50</max_pending_agents></auth>", NULL},
        {"<auth><rate_limit_requests>5</rate_limit_requests><lockout_time>1m</lockout_time></auth>",
         "<auth><rate_limit_requests>9</rate_limit_requests><lockout_time>2m</lockout_time></auth>",
         NULL},
        {"<auth><cert_days>10</cert_days></auth>", "<auth><cert_days>20</cert_days></auth>",
         "<auth><cert_days>"},
        {"<remote><port>1514</port></remote>", "<remote>\n  <port>1514</port>\n</remote>", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char ta[512], tb[512], name[160] = "";
        snprintf(ta, sizeof ta, "<ossec_config>%s</ossec_config>", cases[i].a);
        snprintf(tb, sizeof tb, "<ossec_config>%s</ossec_config>", cases[i].b);
        struct tld_mgr_config a, b;
        parse(&a, ta);
        parse(&b, tb);
        bool fixed = tld_mgr_config_fixed_change(&a, &b, name, sizeof name);
        if (cases[i].name) {
            assert_true(fixed);
            assert_non_null(strstr(name, cases[i].name));
        } else {
            assert_false(fixed);
        }
        tld_mgr_config_fini(&a);
        tld_mgr_config_fini(&b);
    }
}

/* An installation root with a configuration naming etc/rules only. */
struct root {
    char dir[128], conf[200], rules[200];
};

static void make_root(struct root *r, const char *conf_extra)
{
    snprintf(r->dir, sizeof r->dir, "/tmp/tld-test-reload-XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    char sub[200];
    snprintf(sub, sizeof sub, "%s/etc", r->dir);
    mkdir(sub, 0755);
    snprintf(sub, sizeof sub, "%s/etc/rules", r->dir);
    mkdir(sub, 0755);
    snprintf(sub, sizeof sub, "%s/etc/decoders", r->dir);
    mkdir(sub, 0755);
    snprintf(r->conf, sizeof r->conf, "%s/etc/manager.conf", r->dir);
    snprintf(r->rules, sizeof r->rules, "%s/etc/rules/local_rules.xml", r->dir);
    char text[1024];
    snprintf(text, sizeof text,
             "<ossec_config><ruleset><rule_dir>etc/rules</rule_dir><decoder_dir>etc/decoders"
             "</decoder_dir></ruleset>%s</ossec_config>\n",
             conf_extra);
    write_file(r->conf, text);
}

static const char good_rules[] = "<group name=\"syslog,\">\n"
                                 "  <rule id=\"1\" level=\"0\" noalert=\"1\">\n"
                                 "    <category>syslog</category>\n"
                                 "    <description>template</description>\n"
                                 "  </rule>\n"
                                 "</group>\n"
                                 "<group name=\"test,\">\n"
                                 "  <rule id=\"100001\" level=\"5\">\n"
                                 "    <match>attack</match>\n"
                                 "    <description>attack</description>\n"
                                 "  </rule>\n"
                                 "</group>\n";

static void check_running(struct root *r, struct tld_mgr_config *running)
{
    struct tld_collect_config acfg;
    struct tld_diag d;
    bool local;
    tld_diag_init(&d);
    assert_int_equal(tld_mgr_config_read(r->conf, running, &acfg, &local, &d), 0);
    tld_diag_fini(&d);
    tld_collect_config_fini(&acfg);
}

static void reload_checks(void **state)
{
    struct root r;
    make_root(&r, "<remote><port>1514</port></remote>");
    write_file(r.rules, good_rules);
    struct tld_mgr_config running, ncfg;
    check_running(&r, &running);

    /* Valid: the new ruleset is handed out. */
    struct tld_reload_result res;
    struct tld_ruleset *rs;
    tld_reload_result_init(&res);
    assert_int_equal(tld_mgr_reload_check(&running, r.conf, r.dir, &ncfg, &rs, &res), 0);
    assert_int_equal(res.outcome, TLD_RELOAD_OK);
    assert_non_null(rs);
    assert_int_equal(res.rules, 2);
    struct tld_sb out;
    tld_sb_init(&out, 1 << 20);
    tld_reload_result_json(&res, r.dir, &out);
    assert_string_equal(tld_sb_cstr(&out),
                        "{\"error\":0,\"message\":\"reloaded\",\"rules\":2,\"decoders\":0,"
                        "\"lists\":0}");
    tld_ruleset_unref(rs);
    tld_mgr_config_fini(&ncfg);
    tld_reload_result_fini(&res);

    /* A broken rule: outcome 1, file relative to the root, its line and element. */
    write_file(r.rules, "<group name=\"test,\">\n"
                        "  <rule id=\"100001\" level=\"5\">\n"
                        "    <match>attack</match>\n"
                        "    <bogus>x</bogus>\n"
                        "  </rule>\n"
                        "</group>\n");
    tld_reload_result_init(&res);
    assert_int_equal(tld_mgr_reload_check(&running, r.conf, r.dir, &ncfg, &rs, &res), 0);
    assert_int_equal(res.outcome, TLD_RELOAD_INVALID);
    assert_null(rs);
    tld_sb_reset(&out);
    tld_reload_result_json(&res, r.dir, &out);
    assert_non_null(strstr(tld_sb_cstr(&out), "{\"error\":1,\"message\":\"etc/rules/"
                                              "local_rules.xml:4: "));
    assert_non_null(strstr(tld_sb_cstr(&out), "\"errors\":[{\"file\":\"etc/rules/"
                                              "local_rules.xml\",\"line\":4,\"element\":"
                                              "\"bogus\",\"message\":\""));
    tld_reload_result_fini(&res);

    /* A port change: outcome 2 naming it, nothing handed out. */
    write_file(r.rules, good_rules);
    write_file(r.conf, "<ossec_config><ruleset><rule_dir>etc/rules</rule_dir><decoder_dir>"
                       "etc/decoders</decoder_dir></ruleset><remote><port>1600</port></remote>"
                       "</ossec_config>\n");
    tld_reload_result_init(&res);
    assert_int_equal(tld_mgr_reload_check(&running, r.conf, r.dir, &ncfg, &rs, &res), 0);
    assert_int_equal(res.outcome, TLD_RELOAD_RESTART);
    assert_null(rs);
    assert_string_equal(res.message, "<remote><port> cannot change without a restart");
    tld_sb_reset(&out);
    tld_reload_result_json(&res, r.dir, &out);
    assert_non_null(strstr(tld_sb_cstr(&out),
                           "{\"error\":2,\"message\":\"<remote><port> cannot "
                           "change without a restart\",\"errors\":[{\"file\":\"etc/manager.conf\","
                           "\"line\":0,\"element\":\"port\""));
    tld_reload_result_fini(&res);
    tld_sb_fini(&out);
    tld_mgr_config_fini(&running);
    nftw(r.dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- the channel ----------------------------------------------------------------------------- */

struct chan {
    struct root r;
    char sock[200];
    struct tld_log log;
    struct tld_agents *agents;
    struct tld_ctl_ops ops;
    struct tld_ctl *ctl;
    unsigned removed[4], nremoved, reloads;
};

static void fake_reload(void *mgr, struct tld_sb *reply)
{
    struct chan *c = mgr;
    c->reloads++;
    tld_sb_append_cstr(reply, "{\"error\":0,\"message\":\"reloaded\"}");
}

static void fake_status(void *mgr, struct tld_sb *reply)
{
    tld_sb_append_cstr(reply, "{\"error\":0,\"pid\":1}");
}

static void note_removed(void *mgr, unsigned id)
{
    struct chan *c = mgr;
    if (c->nremoved < 4)
        c->removed[c->nremoved++] = id;
}

static int issue_dummy(void *ctx, const char *id, uint8_t fp[32])
{
    memset(fp, 7, 32);
    return 0;
}

static int chan_setup(void **state)
{
    struct chan *c = calloc(1, sizeof *c);
    make_root(&c->r, "");
    snprintf(c->sock, sizeof c->sock, "%s/ctl", c->r.dir);
    tld_log_init(&c->log, "test", stderr, TLD_LOG_ERROR + 1);
    char why[TLD_WHY_MAX];
    assert_int_equal(tld_agents_open(c->r.dir, 100, &c->agents, why), 0);
    unsigned id, rep;
    assert_int_equal(
        tld_agents_enroll(c->agents, "web-01", "10.1.1.1", false, issue_dummy, NULL, &id, &rep), 0);
    c->ops = (struct tld_ctl_ops){c->agents, fake_reload, fake_status, note_removed, c};
    struct tld_ctl_opts o = {c->sock, &c->log, tld_ctl_ops_handle, &c->ops};
    assert_int_equal(tld_ctl_start(&o, &c->ctl, why), 0);
    *state = c;
    return 0;
}

static int chan_teardown(void **state)
{
    struct chan *c = *state;
    tld_ctl_stop(c->ctl);
    tld_agents_close(c->agents);
    tld_log_fini(&c->log);
    nftw(c->r.dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(c);
    return 0;
}

/* Send `len` bytes (then shut the sending side when `shut`), read the reply until the manager
 * closes. Returns a malloc'ed NUL-terminated reply. */
static char *exchange(struct chan *c, const char *req, size_t len, bool shut)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    assert_true(strlen(c->sock) < sizeof sa.sun_path);
    memcpy(sa.sun_path, c->sock, strlen(c->sock) + 1);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    struct timeval tv = {30, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    for (size_t off = 0; off < len;) {
        ssize_t n = send(fd, req + off, len - off, MSG_NOSIGNAL);
        if (n <= 0)
            break; /* the manager may stop reading (too large) */
        off += (size_t)n;
    }
    if (shut)
        shutdown(fd, SHUT_WR);
    size_t cap = 1 << 16, got = 0;
    char *buf = malloc(cap);
    for (ssize_t n; (n = recv(fd, buf + got, cap - got - 1, 0)) > 0;)
        got += (size_t)n;
    buf[got] = 0;
    close(fd);
    return buf;
}

static void expect(struct chan *c, const char *req, const char *want)
{
    char *got = exchange(c, req, strlen(req), false);
    assert_string_equal(got, want);
    free(got);
}

static void channel_framing(void **state)
{
    struct chan *c = *state;
    struct stat st;
    assert_int_equal(stat(c->sock, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0660);
    expect(c, "{\"op\":\"status\"}\n", "{\"error\":0,\"pid\":1}\n");
    expect(c, "{\"op\":\"frobnicate\"}\n",
           "{\"error\":22,\"message\":\"unknown op 'frobnicate'\"}\n");
    expect(c, "not json at all\n",
           "{\"error\":22,\"message\":\"malformed request: not one JSON object\"}\n");
    expect(c, "{\"op\":\"status\"} trailing\n",
           "{\"error\":22,\"message\":\"malformed request: not one JSON object\"}\n");
    expect(c, "{\"op\":12}\n",
           "{\"error\":22,\"message\":\"malformed request: no \\\"op\\\" "
           "string\"}\n");
    expect(c, "{\"x\":[1,2,{\"y\":null}],\"op\":\"reload\"}\n",
           "{\"error\":0,\"message\":\"reloaded\"}\n");
    assert_int_equal(c->reloads, 1);
    /* The end of sending completes a request without its newline. */
    char *got = exchange(c, "{\"op\":\"status\"}", 15, true);
    assert_string_equal(got, "{\"error\":0,\"pid\":1}\n");
    free(got);
    /* Over 4 MiB: refused, and the channel still answers afterwards. */
    size_t big = TLD_CTL_MAX_REQUEST + 100;
    char *req = malloc(big);
    memset(req, 'a', big);
    req[0] = '"';
    got = exchange(c, req, big, true);
    assert_string_equal(got, "{\"error\":7,\"message\":\"request larger than 4 MiB\"}\n");
    free(got);
    free(req);
    expect(c, "{\"op\":\"status\"}\n", "{\"error\":0,\"pid\":1}\n");
}

static void channel_agents(void **state)
{
    struct chan *c = *state;
    char *got = exchange(c, "{\"op\":\"agents\"}\n", 16, false);
    assert_non_null(strstr(got, "{\"error\":0,\"agents\":[{\"id\":\"001\",\"name\":\"web-01\","
                                "\"ip\":\"10.1.1.1\",\"register_ip\":\"10.1.1.1\",\"status\":"
                                "\"never_connected\",\"date_add\":"));
    assert_non_null(strstr(got, "\"last_keepalive\":0,\"version\":\"\",\"os\":\"\",\"hostname\":"
                                "\"\",\"events\":0}]}\n"));
    free(got);
    expect(c, "{\"op\":\"agent_remove\",\"id\":\"002\"}\n",
           "{\"error\":2,\"message\":\"no agent 002\"}\n");
    expect(c, "{\"op\":\"agent_remove\"}\n",
           "{\"error\":22,\"message\":\"agent_remove needs an agent \\\"id\\\" (\\\"001\\\")\"}\n");
    expect(c, "{\"op\":\"agent_remove\",\"id\":\"001\"}\n",
           "{\"error\":0,\"message\":\"agent 001 removed\"}\n");
    assert_int_equal(c->nremoved, 1);
    assert_int_equal(c->removed[0], 1);
    expect(c, "{\"op\":\"agent_remove\",\"id\":\"001\"}\n",
           "{\"error\":2,\"message\":\"no agent 001\"}\n");
    expect(c, "{\"op\":\"agents\"}\n", "{\"error\":0,\"agents\":[]}\n");
    struct tld_agent_info a;
    assert_int_equal(tld_agents_get(c->agents, 1, &a), 0);
    assert_true(a.removed);
}

/* The enrollment limits a reload changes: buckets keep their tokens up to the new burst, lockouts
 * count on under the new threshold. */
static void limits_change_in_place(void **state)
{
    struct tld_ratelimit rl;
    assert_int_equal(tld_ratelimit_init(&rl, 5, 60), 0);
    int64_t t = 1000000000LL;
    for (int i = 0; i < 5; i++)
        assert_true(tld_ratelimit_take(&rl, "10.0.0.1", t));
    assert_false(tld_ratelimit_take(&rl, "10.0.0.1", t));
    assert_true(tld_ratelimit_take(&rl, "10.0.0.2", t)); /* 4 left */
    tld_ratelimit_set(&rl, 2, 1);                        /* 2 per second */
    assert_true(tld_ratelimit_take(&rl, "10.0.0.2", t));
    assert_true(tld_ratelimit_take(&rl, "10.0.0.2", t));
    assert_false(tld_ratelimit_take(&rl, "10.0.0.2", t));
    assert_true(tld_ratelimit_take(&rl, "10.0.0.1", t + 500000000LL)); /* one back in 0.5 s */
    tld_ratelimit_fini(&rl);

    struct tld_lockout lo;
    assert_int_equal(tld_lockout_init(&lo, 5, 60), 0);
    bool locked;
    tld_lockout_fail(&lo, "a", t, &locked);
    tld_lockout_fail(&lo, "a", t, &locked);
    assert_false(locked);
    tld_lockout_set(&lo, 3, 120);
    unsigned n;
    int64_t secs;
    tld_lockout_params(&lo, &n, &secs);
    assert_int_equal(n, 3);
    assert_int_equal(secs, 120);
    tld_lockout_fail(&lo, "a", t, &locked);
    assert_true(locked);
    assert_true(tld_lockout_locked(&lo, "a", t + 119000000000LL));
    assert_false(tld_lockout_locked(&lo, "a", t + 121000000000LL));
    tld_lockout_fini(&lo);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fixed_changes_named),
        cmocka_unit_test(reload_checks),
        cmocka_unit_test(limits_change_in_place),
        cmocka_unit_test_setup_teardown(channel_framing, chan_setup, chan_teardown),
        cmocka_unit_test_setup_teardown(channel_agents, chan_setup, chan_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
