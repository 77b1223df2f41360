/*
 * Unit tests for the configuration tables (src/common/conftab.c): the one spelling of
 * durations and sizes, the table walk with its file:line diagnostics, and both daemons'
 * configurations reading the same spellings with the same meaning.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/config.h"
#include "common/conftab.h"
#include "common/err.h"
#include "manager/config.h"

#include "diag_check.h"

static void durations(void **state)
{
    static const struct {
        const char *text;
        int64_t secs;
    } good[] = {
        {"0", 0},       {"90", 90},   {"30s", 30},  {"10m", 600},
        {"10M", 600},   {"1h", 3600}, {"1H", 3600}, {"2d", 172800},
        {"1w", 604800}, {"007s", 7},  {"5S", 5},    {"1099511627776", 1LL << 40},
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        int64_t t = -1;
        assert_int_equal(tld_conf_parse_duration(good[i].text, &t), 0);
        assert_int_equal(t, good[i].secs);
    }
    static const char *const bad[] = {"",
                                      "m",
                                      "5x",
                                      "-5",
                                      "5 m",
                                      " 5",
                                      "5mm",
                                      "1.5h",
                                      "10min",
                                      "5ms",
                                      "1817991w",
                                      "1099511627777",
                                      "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t t = 42;
        assert_int_equal(tld_conf_parse_duration(bad[i], &t), TLD_EINVAL);
        assert_int_equal(t, 42);
    }
}

static void sizes(void **state)
{
    static const struct {
        const char *text;
        uint64_t bytes;
    } good[] = {
        {"0", 0},
        {"10", 10},
        {"10b", 10},
        {"10B", 10},
        {"1k", 1024},
        {"10KB", 10240},
        {"3mb", 3u << 20},
        {"3M", 3u << 20},
        {"2G", 2ULL << 30},
        {"2gb", 2ULL << 30},
        {"1048576G", 1ULL << 50},
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        uint64_t s = 1;
        assert_int_equal(tld_conf_parse_size(good[i].text, &s), 0);
        assert_int_equal(s, good[i].bytes);
    }
    static const char *const bad[] = {"",     "MB",       "1TB",  "1 MB", "-1",
                                      "1.5G", "1048577G", "1kib", "1mbb", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint64_t s = 42;
        assert_int_equal(tld_conf_parse_size(bad[i], &s), TLD_EINVAL);
        assert_int_equal(s, 42);
    }
}

struct demo {
    bool on, enabled;
    int tri;
    unsigned n;
    int64_t wait_s;
    uint64_t bytes;
    char *name;
    unsigned custom_calls;
};

static void demo_custom(struct tld_conf_ctx *c, const struct tld_xml_node *n, void *obj)
{
    ((struct demo *)obj)->custom_calls++;
}

#define D(f) offsetof(struct demo, f)

static const struct tld_conf_row demo_rows[] = {
    {"on", TLD_CONF_BOOL, D(on), 0, 0, NULL, NULL, 0, NULL},
    {"disabled", TLD_CONF_NOT_BOOL, D(enabled), 0, 0, NULL, NULL, 0, NULL},
    {"mode", TLD_CONF_TRI, D(tri), 0, 0, NULL, NULL, 0, NULL},
    {"count", TLD_CONF_UINT, D(n), 1, 9, NULL, NULL, 0, NULL},
    {"wait", TLD_CONF_DURATION, D(wait_s), 1, 3600, NULL, NULL, 0, NULL},
    {"limit", TLD_CONF_SIZE, D(bytes), 1024, 1u << 20, NULL, NULL, 0, NULL},
    {"name", TLD_CONF_STR, D(name), 0, 0, NULL, NULL, 0, NULL},
    {"proto", TLD_CONF_FIXED, 0, 0, 0, "tcp|udp", NULL, 0, NULL},
    {"custom", TLD_CONF_SET, 0, 0, 0, NULL, demo_custom, TLD_CONF_NOCASE, NULL},
    {"legacy", TLD_CONF_IGNORE, 0, 0, 0, NULL, NULL, 0, NULL},
    {"compat", TLD_CONF_ACCEPT, 0, 0, 0, NULL, NULL, 0, NULL},
    {"exotic", TLD_CONF_UNSUPPORTED, 0, 0, 0, NULL, NULL, 0, NULL},
};

static int walk_demo(const char *xml, struct demo *out, struct tld_diag *d)
{
    struct tld_xml_doc *doc = NULL;
    tld_diag_init(d);
    memset(out, 0, sizeof *out);
    int rc = tld_xml_parse(xml, strlen(xml), "demo.conf", &doc, d);
    if (rc)
        return rc;
    struct tld_conf_ctx c = {d, "demo.conf", "tld-demo"};
    tld_conf_section(&c, demo_rows, sizeof demo_rows / sizeof *demo_rows, doc->roots, out, "demo");
    tld_xml_free(doc);
    return 0;
}

static void table_stores_values(void **state)
{
    const char *xml = "<demo><on>YES</on><disabled>no</disabled><mode>auto</mode>"
                      "<count>7</count><wait>2m</wait><limit>64K</limit><name>a</name>"
                      "<name> b </name><proto>UDP</proto><CUSTOM/><custom>x</custom>"
                      "<compat>anything</compat></demo>";
    struct demo v;
    struct tld_diag d;
    assert_int_equal(walk_demo(xml, &v, &d), 0);
    dump(&d);
    assert_int_equal(d.errors, 0);
    assert_int_equal(d.warnings, 0);
    assert_true(v.on);
    assert_true(v.enabled);
    assert_int_equal(v.tri, -1);
    assert_int_equal(v.n, 7);
    assert_int_equal(v.wait_s, 120);
    assert_int_equal(v.bytes, 65536);
    assert_string_equal(v.name, "b");
    assert_int_equal(v.custom_calls, 2);
    free(v.name);
    tld_diag_fini(&d);
}

/* Every bad element is reported with file:line and its name, and the walk goes on. */
static void table_reports_every_problem(void **state)
{
    const char *xml = "<demo>\n"
                      "<on>maybe</on>\n"
                      "<count>10</count>\n"
                      "<wait>0</wait>\n"
                      "<limit>2MB</limit>\n"
                      "<proto>sctp</proto>\n"
                      "<legacy>1</legacy>\n"
                      "<exotic>1</exotic>\n"
                      "<bogus>1</bogus>\n"
                      "<on flag=\"1\">yes</on>\n"
                      "<name><x/></name>\n"
                      "<mode></mode>\n"
                      "<wait>1h</wait>\n"
                      "</demo>";
    struct demo v;
    struct tld_diag d;
    assert_int_equal(walk_demo(xml, &v, &d), 0);
    dump(&d);
    assert_true(has_msg(&d, "demo.conf:2: error: <on>: 'maybe' is not yes or no"));
    assert_true(has_msg(&d, "demo.conf:3: error: <count>: '10' is not a number from 1 to 9"));
    assert_true(has_msg(&d, "demo.conf:4: error: <wait>: '0' is not a duration from 1s to 3600s"));
    assert_true(has_msg(&d, "demo.conf:5: error: <limit>: '2MB' is not a size from 1024 to"));
    assert_true(has_msg(&d, "demo.conf:6: error: <proto>: 'sctp' is not supported (only tcp|udp)"));
    assert_true(has_msg(&d, "demo.conf:7: warning: <legacy>: not used by tld-demo; ignored"));
    assert_true(has_msg(&d, "demo.conf:8: error: <exotic>: not supported by tld-demo"));
    assert_true(has_msg(&d, "demo.conf:9: error: <bogus>: unknown element in <demo>"));
    assert_true(has_msg(&d, "demo.conf:10: error: <on>: unknown attribute 'flag'"));
    assert_true(has_msg(&d, "demo.conf:11: error: <name>: expected a value, found child"));
    assert_true(has_msg(&d, "demo.conf:12: error: <mode>: empty value"));
    assert_int_equal(d.errors, 10);
    assert_int_equal(d.warnings, 1);
    assert_true(v.on); /* line 10's value is still read */
    assert_int_equal(v.wait_s, 3600);
    assert_null(v.name);
    tld_diag_fini(&d);
}

/* One element of each daemon's configuration read with the same text, and where its value
 * lands. */
struct both {
    const char *agent_xml, *agent_elem; /* agent_xml has one %s for the text */
    const char *mgr_xml, *mgr_elem;
    int64_t (*agent_value)(const struct tld_agent_config *a);
    int64_t (*mgr_value)(const struct tld_mgr_config *m);
};

/* want < 0: both refuse the text, naming file:line and the element. */
static void check_both(const struct both *b, const char *text, int64_t want)
{
    char xml[512], elem[128];
    struct tld_diag da, dm;
    struct tld_agent_config a;
    struct tld_mgr_config m;
    snprintf(xml, sizeof xml, b->agent_xml, text);
    tld_agent_config_init(&a);
    tld_diag_init(&da);
    int ra = tld_agent_config_parse(&a, xml, strlen(xml), "agent.conf", &da);
    snprintf(xml, sizeof xml, b->mgr_xml, text);
    tld_mgr_config_init(&m);
    tld_diag_init(&dm);
    int rm = tld_mgr_config_parse(&m, xml, strlen(xml), "manager.conf", &dm);
    dump(&da);
    dump(&dm);
    if (want < 0) {
        assert_int_equal(ra, TLD_EPARSE);
        assert_int_equal(rm, TLD_EPARSE);
        snprintf(elem, sizeof elem, "agent.conf:1: error: <%s>: '%s' is not a", b->agent_elem,
                 text);
        assert_true(has_msg(&da, elem));
        snprintf(elem, sizeof elem, "manager.conf:1: error: <%s>: '%s' is not a", b->mgr_elem,
                 text);
        assert_true(has_msg(&dm, elem));
    } else {
        assert_int_equal(ra, 0);
        assert_int_equal(rm, 0);
        assert_int_equal(b->agent_value(&a), want);
        assert_int_equal(b->mgr_value(&m), want);
    }
    tld_agent_config_fini(&a);
    tld_mgr_config_fini(&m);
    tld_diag_fini(&da);
    tld_diag_fini(&dm);
}

static int64_t agent_interval(const struct tld_agent_config *a)
{
    return a->collect.docker.interval_s;
}

static int64_t mgr_disconnection(const struct tld_mgr_config *m)
{
    return m->disconnection_s;
}

static int64_t agent_spool(const struct tld_agent_config *a)
{
    return (int64_t)a->collect.spool_max_bytes;
}

static int64_t mgr_intake(const struct tld_mgr_config *m)
{
    return (int64_t)m->intake_max_bytes;
}

/* The same spellings, read by the agent's and by the manager's configuration, mean the same
 * thing; a spelling one refuses, the other refuses too. */
static void both_daemons_read_the_same_spellings(void **state)
{
    static const struct both duration = {
        "<ossec_config><wodle name=\"docker-listener\"><interval>%s</interval></wodle>"
        "</ossec_config>",
        "interval",
        "<ossec_config><global><agents_disconnection_time>%s</agents_disconnection_time>"
        "</global></ossec_config>",
        "agents_disconnection_time",
        agent_interval,
        mgr_disconnection,
    };
    static const struct both size = {
        "<ossec_config><spool><max_size>%s</max_size></spool></ossec_config>",
        "max_size",
        "<ossec_config><manager><intake_max_size>%s</intake_max_size></manager></ossec_config>",
        "intake_max_size",
        agent_spool,
        mgr_intake,
    };
    static const struct {
        const struct both *where;
        const char *text;
        int64_t want;
    } cases[] = {
        {&duration, "90", 90},
        {&duration, "30s", 30},
        {&duration, "10m", 600},
        {&duration, "10M", 600},
        {&duration, "1h", 3600},
        {&duration, "1d", 86400},
        {&duration, "1w", 604800},
        {&duration, "5x", -1},
        {&duration, "10 m", -1},
        {&duration, "1.5h", -1},
        {&size, "1073741824", 1LL << 30},
        {&size, "1073741824B", 1LL << 30},
        {&size, "1048576K", 1LL << 30},
        {&size, "1024MB", 1LL << 30},
        {&size, "1024m", 1LL << 30},
        {&size, "1G", 1LL << 30},
        {&size, "1gb", 1LL << 30},
        {&size, "1TB", -1},
        {&size, "1 G", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check_both(cases[i].where, cases[i].text, cases[i].want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(durations),
        cmocka_unit_test(sizes),
        cmocka_unit_test(table_stores_values),
        cmocka_unit_test(table_reports_every_problem),
        cmocka_unit_test(both_daemons_read_the_same_spellings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
