/*
 * Unit tests for the manager's configuration loader (values, Wazuh sections accepted with
 * warnings, file:line errors naming the element), the enrollment rate limiter, and the own
 * events' text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/deadline.h"
#include "common/err.h"
#include "common/log.h"
#include "manager/config.h"
#include "manager/own_events.h"
#include "manager/ratelimit.h"
#include "manager/store_cmd.h"

#include "diag_check.h"

static int parse(struct tld_mgr_config *c, struct tld_diag *d, const char *text)
{
    tld_mgr_config_init(c);
    tld_diag_init(d);
    return tld_mgr_config_parse(c, text, strlen(text), "test.conf", d);
}

static void default_text_loads(void **state)
{
    struct tld_mgr_config c;
    struct tld_diag d;
    assert_int_equal(parse(&c, &d, tld_mgr_config_default_text()), 0);
    assert_int_equal(d.errors, 0);
    assert_int_equal(c.log_alert_level, 3);
    assert_int_equal(c.email_alert_level, 12);
    assert_int_equal(c.remote_port, 1514);
    assert_int_equal(c.auth_port, 1515);
    assert_true(c.use_password); /* secure by default: a password is generated at first start */
    assert_int_equal(c.global_rate, 5);
    assert_int_equal(c.lockout_failures, 10);
    assert_int_equal(c.lockout_s, 600);
    assert_int_equal(c.max_pending, 100);
    assert_int_equal(c.pending_expiry_s, 86400);
    assert_false(c.logall_json);
    assert_int_equal(c.disconnection_s, 600);
    assert_int_equal(c.decoder_dirs.n, 2);
    assert_string_equal(c.decoder_dirs.v[0], "ruleset/decoders");
    assert_string_equal(c.rule_dirs.v[1], "etc/rules");
    tld_diag_fini(&d);
    tld_mgr_config_fini(&c);
}

static void values_and_roots(void **state)
{
    struct tld_mgr_config c;
    struct tld_diag d;
    const char *t = "<threatlockdown_config>\n"
                    "  <global><logall_json>yes</logall_json>"
                    "<agents_disconnection_time>5m</agents_disconnection_time></global>\n"
                    "  <remote><port>2514</port><local_ip>127.0.0.1</local_ip>"
                    "<keepalive>30s</keepalive></remote>\n"
                    "</threatlockdown_config>\n"
                    "<ossec_config>\n"
                    "  <auth><use_password>yes</use_password><port>2515</port>"
                    "<force><enabled>yes</enabled><disconnected_time enabled=\"yes\">1h"
                    "</disconnected_time></force>"
                    "<rate_limit_requests>3</rate_limit_requests>"
                    "<rate_limit_period>2m</rate_limit_period></auth>\n"
                    "  <ruleset><list>etc/lists/audit-keys</list>"
                    "<rule_exclude>0215-policy_rules.xml</rule_exclude></ruleset>\n"
                    "  <manager><workers>4</workers><intake_max_size>64MB</intake_max_size>"
                    "<local_collection>no</local_collection></manager>\n"
                    "  <localfile><location>/var/log/x</location></localfile>\n"
                    "</ossec_config>\n";
    assert_int_equal(parse(&c, &d, t), 0);
    assert_true(c.logall_json);
    assert_int_equal(c.disconnection_s, 300);
    assert_int_equal(c.remote_port, 2514);
    assert_string_equal(c.remote_ip, "127.0.0.1");
    assert_int_equal(c.keepalive_s, 30);
    assert_true(c.use_password);
    assert_true(c.force);
    assert_int_equal(c.auth_port, 2515);
    assert_int_equal(c.rate_requests, 3);
    assert_int_equal(c.rate_period_s, 120);
    assert_string_equal(c.lists.v[0], "etc/lists/audit-keys");
    assert_string_equal(c.rule_excludes.v[0], "0215-policy_rules.xml");
    assert_int_equal(c.workers, 4);
    assert_int_equal(c.intake_max_bytes, 64u << 20);
    assert_int_equal(c.local_collection, 0);
    /* <ruleset> named only a list: the directories get their defaults. */
    tld_mgr_config_defaults(&c);
    assert_int_equal(c.rule_dirs.n, 2);
    assert_string_equal(c.password_file, "etc/authd.pass");
    tld_diag_fini(&d);
    tld_mgr_config_fini(&c);
}

static void wazuh_sections_warn(void **state)
{
    struct tld_mgr_config c;
    struct tld_diag d;
    const char *t = "<ossec_config>\n"
                    "  <global><email_notification>no</email_notification></global>\n"
                    "  <syscheck><frequency>43200</frequency></syscheck>\n"
                    "  <cluster><name>wazuh</name></cluster>\n"
                    "  <api><port>55000</port><bogus/></api>\n" /* tld-api's: no word here */
                    "</ossec_config>\n";
    assert_int_equal(parse(&c, &d, t), 0);
    assert_int_equal(d.errors, 0);
    assert_int_equal(d.warnings, 3);
    assert_true(has_msg(&d, "test.conf:3: warning: <syscheck>: section not used"));
    assert_true(has_msg(&d, "test.conf:2: warning: <email_notification>: not used"));
    tld_diag_fini(&d);
    tld_mgr_config_fini(&c);
}

static void errors_name_file_line_element(void **state)
{
    struct tld_mgr_config c;
    struct tld_diag d;
    const char *t = "<ossec_config>\n"
                    "  <alerts>\n"
                    "    <log_alert_levle>3</log_alert_levle>\n"
                    "    <email_alert_level>99</email_alert_level>\n"
                    "  </alerts>\n"
                    "  <remote><connection>syslog</connection><port>x</port></remote>\n"
                    "  <auth><use_password>maybe</use_password></auth>\n"
                    "  <manager><intake_max_size>12XB</intake_max_size></manager>\n"
                    "  <bogus/>\n"
                    "</ossec_config>\n"
                    "<config/>\n";
    assert_int_equal(parse(&c, &d, t), TLD_EPARSE);
    /* Every problem is reported, not just the first. */
    assert_int_equal(d.errors, 8);
    assert_true(has_msg(&d, "test.conf:3: error: <log_alert_levle>: unknown element in <alerts>"));
    assert_true(has_msg(&d, "test.conf:4: error: <email_alert_level>: '99' is not a number"));
    assert_true(has_msg(&d, "test.conf:6: error: <connection>: 'syslog' is not supported"));
    assert_true(has_msg(&d, "test.conf:6: error: <port>: 'x' is not a number"));
    assert_true(has_msg(&d, "test.conf:7: error: <use_password>: 'maybe' is not yes or no"));
    assert_true(has_msg(&d, "test.conf:8: error: <intake_max_size>"));
    assert_true(has_msg(&d, "test.conf:9: error: <bogus>: unknown section"));
    assert_true(has_msg(&d, "test.conf:11: error: <config>: unknown top-level element"));
    tld_diag_fini(&d);
    tld_mgr_config_fini(&c);
}

/* <store>: defaults, the shared duration and size spellings, and a bad backend named. */
static void store_section(void **state)
{
    (void)state;
    struct tld_mgr_config c;
    struct tld_diag d;
    assert_int_equal(parse(&c, &d, "<ossec_config/>"), 0);
    tld_mgr_config_defaults(&c);
    assert_true(c.store_enabled);
    assert_string_equal(c.store_backend, "sqlite");
    assert_string_equal(c.store_path, "var/db/alerts.db");
    assert_int_equal(c.store_max_age_s, 0);
    tld_diag_fini(&d);
    tld_mgr_config_fini(&c);
    const char *t = "<ossec_config><store>\n"
                    "  <enabled>yes</enabled><backend>ClickHouse</backend>\n"
                    "  <url>http://127.0.0.1:18123/</url><database>tld</database>\n"
                    "  <table>alerts</table><max_age>30d</max_age><max_size>2G</max_size>\n"
                    "</store></ossec_config>";
    assert_int_equal(parse(&c, &d, t), 0);
    assert_string_equal(c.store_backend, "clickhouse");
    assert_string_equal(c.store_url, "http://127.0.0.1:18123/");
    assert_string_equal(c.store_database, "tld");
    assert_string_equal(c.store_table, "alerts");
    assert_int_equal(c.store_max_age_s, 30 * 86400);
    assert_int_equal(c.store_max_bytes, 2ULL << 30);
    tld_diag_fini(&d);
    tld_mgr_config_fini(&c);
    t = "<ossec_config>\n<store><backend>mysql</backend><enabled>no</enabled></store>\n"
        "</ossec_config>";
    assert_int_equal(parse(&c, &d, t), TLD_EPARSE);
    assert_false(c.store_enabled);
    assert_true(has_msg(&d, "test.conf:2: error: <backend>: 'mysql' is not a store backend"));
    tld_diag_fini(&d);
    tld_mgr_config_fini(&c);
}

/* <store> for a ClickHouse cluster: <url> repeated into one list, each URL given the database. */
static void store_cluster_section(void **state)
{
    (void)state;
    struct tld_mgr_config c;
    struct tld_diag d;
    const char *t =
        "<ossec_config><store><backend>clickhouse</backend>\n"
        "  <url>http://127.0.0.1:18123/</url><url>http://127.0.0.1:18124/?user=x</url>\n"
        "  <cluster>tld_c1</cluster><database>tld</database>\n"
        "</store></ossec_config>";
    assert_int_equal(parse(&c, &d, t), 0);
    tld_mgr_config_defaults(&c);
    assert_string_equal(c.store_url, "http://127.0.0.1:18123/ http://127.0.0.1:18124/?user=x");
    assert_string_equal(c.store_cluster, "tld_c1");
    struct tld_mgr_store_paths p;
    struct tld_store_config sc;
    struct tld_store_feed_opts feed;
    tld_mgr_store_setup(&c, "/root", &p, &sc, &feed);
    assert_string_equal(sc.url, "http://127.0.0.1:18123/?database=tld "
                                "http://127.0.0.1:18124/?user=x&database=tld");
    assert_string_equal(sc.cluster, "tld_c1");
    tld_diag_fini(&d);
    tld_mgr_config_fini(&c);
    t = "<ossec_config>\n<store><url>http://a/ http://b/</url><cluster>a-b</cluster></store>\n"
        "</ossec_config>";
    assert_int_equal(parse(&c, &d, t), TLD_EPARSE);
    assert_true(has_msg(&d, "test.conf:2: error: <url>: 'http://a/ http://b/' is not one URL"));
    assert_true(has_msg(&d, "test.conf:2: error: <cluster>: 'a-b' is not a plain name"));
    tld_diag_fini(&d);
    tld_mgr_config_fini(&c);
}

static void rate_limit_buckets(void **state)
{
    struct tld_ratelimit rl;
    assert_int_equal(tld_ratelimit_init(&rl, 3, 60), 0);
    int64_t t = 1000000000;
    for (int i = 0; i < 3; i++)
        assert_true(tld_ratelimit_take(&rl, "10.0.0.1", t));
    assert_false(tld_ratelimit_take(&rl, "10.0.0.1", t));
    /* Another address has its own bucket. */
    assert_true(tld_ratelimit_take(&rl, "10.0.0.2", t));
    /* One token comes back every period / burst = 20 s. */
    assert_false(tld_ratelimit_take(&rl, "10.0.0.1", t + 19LL * 1000000000));
    assert_true(tld_ratelimit_take(&rl, "10.0.0.1", t + 21LL * 1000000000));
    assert_false(tld_ratelimit_take(&rl, "10.0.0.1", t + 21LL * 1000000000));
    /* Never more than the burst, however long the pause. */
    int64_t later = t + 3600LL * 1000000000;
    for (int i = 0; i < 3; i++)
        assert_true(tld_ratelimit_take(&rl, "10.0.0.1", later));
    assert_false(tld_ratelimit_take(&rl, "10.0.0.1", later));
    /* The table is bounded: filling it with other addresses forgets the oldest. */
    char key[32];
    for (int i = 0; i < TLD_RATELIMIT_SLOTS + 10; i++) {
        snprintf(key, sizeof key, "192.168.%d.%d", i / 250, i % 250);
        tld_ratelimit_take(&rl, key, later + i + 1);
    }
    assert_true(rl.n == TLD_RATELIMIT_SLOTS);
    tld_ratelimit_fini(&rl);
}

static void own_event_text(void **state)
{
    struct tld_own_agent a = {"001", "web \"01\"", "10.0.0.5"};
    struct tld_own_field f[] = {{"reason", "closed by the agent", 0, 0}, {"count", NULL, 42, 1}};
    char *s = tld_own_text("agent_disconnected", &a, f, 2);
    assert_string_equal(s, "{\"integration\":\"threatlockdown\",\"threatlockdown\":{"
                           "\"event\":\"agent_disconnected\",\"agent\":{\"id\":\"001\","
                           "\"name\":\"web \\\"01\\\"\",\"ip\":\"10.0.0.5\"},"
                           "\"reason\":\"closed by the agent\",\"count\":42}}");
    free(s);
}

/* Own events collected by a test sink. */
struct captured {
    unsigned n;
    char text[8][512];
};

static void capture(void *ctx, struct tld_sv text)
{
    struct captured *c = ctx;
    if (c->n < 8)
        snprintf(c->text[c->n], sizeof c->text[0], "%.*s", (int)text.n, text.p);
    c->n++;
}

static void refusals_folded_per_source(void **state)
{
    struct captured c = {0};
    struct tld_own_agg agg;
    tld_own_agg_init(&agg, 60);
    struct tld_own_sink sink = {capture, &c, &agg};
    struct tld_own_agent a = {NULL, NULL, "10.0.0.9"}, b = {NULL, NULL, "10.0.0.10"};
    struct tld_own_field f[] = {{"reason", "bad password", 0, 0}};
    for (int i = 0; i < 1000; i++)
        tld_own_emit_refusal(&sink, "enrollment_refused", &a, f, 1, "bad password");
    tld_own_emit_refusal(&sink, "enrollment_refused", &b, f, 1, "bad password");
    tld_own_emit_refusal(&sink, "agent_refused", &a, f, 1, "unknown agent");
    assert_int_equal(c.n, 3); /* the first of each source and kind */
    assert_int_equal(agg.folded, 999);
    tld_own_agg_flush(&sink, tld_mono_ns()); /* the interval is not over: nothing */
    assert_int_equal(c.n, 3);
    tld_own_agg_flush(&sink, tld_mono_ns() + 61000000000LL);
    assert_int_equal(c.n, 4);
    assert_non_null(strstr(c.text[3], "\"event\":\"enrollment_refused\""));
    assert_non_null(strstr(c.text[3], "\"ip\":\"10.0.0.9\""));
    assert_non_null(strstr(c.text[3], "\"repeated\":999"));
    tld_own_agg_flush(&sink, tld_mono_ns() + 122000000000LL); /* reported once */
    assert_int_equal(c.n, 4);
    tld_own_agg_fini(&agg);
}

static void stall_reported_once(void **state)
{
    struct captured c = {0};
    struct tld_own_sink sink = {capture, &c, NULL};
    struct tld_log log;
    FILE *devnull = fopen("/dev/null", "w");
    tld_log_init(&log, "test", devnull, TLD_LOG_INFO);
    struct tld_own_stall st = {.stage = "output"};
    for (int i = 0; i < 5; i++)
        tld_own_stall_fail(&sink, &log, &st, TLD_EIO);
    assert_int_equal(c.n, 1);
    assert_non_null(strstr(c.text[0], "\"event\":\"stage_stalled\",\"stage\":\"output\""));
    tld_own_stall_ok(&sink, &log, &st); /* working again, not yet for long */
    assert_int_equal(c.n, 1);
    tld_own_stall_fail(&sink, &log, &st, TLD_EIO); /* the same stall */
    tld_own_stall_ok(&sink, &log, &st);
    assert_int_equal(c.n, 1);
    st.ok_since_ns -= (TLD_OWN_STALL_SETTLE_MS + 1) * 1000000LL;
    tld_own_stall_ok(&sink, &log, &st);
    assert_int_equal(c.n, 2);
    tld_own_stall_ok(&sink, &log, &st);
    assert_int_equal(c.n, 2);
    assert_non_null(strstr(c.text[1], "\"retries\":6"));
    tld_log_fini(&log);
    fclose(devnull);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_text_loads),
        cmocka_unit_test(values_and_roots),
        cmocka_unit_test(wazuh_sections_warn),
        cmocka_unit_test(errors_name_file_line_element),
        cmocka_unit_test(rate_limit_buckets),
        cmocka_unit_test(own_event_text),
        cmocka_unit_test(refusals_folded_per_source),
        cmocka_unit_test(stall_reported_once),
        cmocka_unit_test(store_section),
        cmocka_unit_test(store_cluster_section),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
