/* Unit tests for the agent configuration loader (src/agent/config.c with the collection
 * sections of src/collect/collect_config.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/config.h"
#include "common/err.h"

#include "diag_check.h"

static int parse(struct tld_agent_config *cfg, const char *xml, struct tld_diag *d)
{
    tld_agent_config_init(cfg);
    tld_diag_init(d);
    return tld_agent_config_parse(cfg, xml, strlen(xml), "agent.conf", d);
}

/* The mission's block exactly as published, inside an ossec.conf root and on its own. */
static void mission_block(void **state)
{
    const char *block = "<localfile>\n  <log_format>syslog</log_format>\n"
                        "  <location>/var/lib/docker/containers/*/*-json.log</location>\n"
                        "</localfile>";
    char xml[1024];
    for (int wrapped = 0; wrapped < 2; wrapped++) {
        snprintf(xml, sizeof xml, wrapped ? "<ossec_config>\n%s\n</ossec_config>\n" : "%s", block);
        struct tld_agent_config cfg;
        struct tld_diag d;
        int rc = parse(&cfg, xml, &d);
        dump(&d);
        assert_int_equal(rc, 0);
        assert_int_equal(cfg.collect.nfiles, 1);
        assert_string_equal(cfg.collect.files[0].location,
                            "/var/lib/docker/containers/*/*-json.log");
        assert_int_equal(cfg.collect.files[0].format, TLD_LOGFMT_LINE);
        assert_string_equal(cfg.collect.files[0].format_name, "syslog");
        assert_true(cfg.collect.files[0].only_future);
        assert_false(cfg.collect.docker.enabled);
        tld_agent_config_fini(&cfg);
        tld_diag_fini(&d);
    }
}

static void full_configuration(void **state)
{
    const char *xml =
        "<ossec_config>\n"
        "  <client><server><address>10.0.0.5</address><port>1600</port>"
        "<protocol>TCP</protocol></server>\n"
        "    <notify_time>10</notify_time></client>\n"
        "  <global><email_notification>no</email_notification></global>\n"
        "</ossec_config>\n"
        "<threatlockdown_config>\n"
        "  <localfile>\n"
        "    <log_format>Docker</log_format>\n"
        "    <location>/var/lib/docker/containers/*/*-json.log</location>\n"
        "    <only-future-events max-size=\"2MB\">no</only-future-events>\n"
        "    <age>2h</age>\n"
        "    <exclude>/var/lib/docker/containers/abc*/*</exclude>\n"
        "  </localfile>\n"
        "  <localfile><log_format>json</log_format><location>/var/log/app.json</location>\n"
        "    <label key=\"app.name\">shop</label></localfile>\n"
        "  <wodle name=\"docker-listener\">\n"
        "    <interval>10m</interval><attempts>0</attempts><run_on_start>yes</run_on_start>\n"
        "    <socket>/run/other/docker.sock</socket><api_version>1.41</api_version>\n"
        "    <location>ThreatLockDown-Docker</location><queue_size>100</queue_size>\n"
        "    <inspect>no</inspect>\n"
        "  </wodle>\n"
        "  <wodle name=\"syscollector\"><disabled>no</disabled></wodle>\n"
        "  <logcollector><max_line_length>128KB</max_line_length>"
        "<max_message_length>1MB</max_message_length>"
        "<scan_frequency>5s</scan_frequency><max_files>50</max_files></logcollector>\n"
        "  <spool><max_size>1GB</max_size></spool>\n"
        "</threatlockdown_config>\n";
    struct tld_agent_config cfg;
    struct tld_diag d;
    int rc = parse(&cfg, xml, &d);
    dump(&d);
    assert_int_equal(rc, 0);
    assert_int_equal(cfg.nservers, 1);
    assert_string_equal(cfg.servers[0].address, "10.0.0.5");
    assert_int_equal(cfg.servers[0].port, 1600);
    assert_int_equal(cfg.collect.nfiles, 2);
    struct tld_localfile *a = &cfg.collect.files[0], *b = &cfg.collect.files[1];
    assert_int_equal(a->format, TLD_LOGFMT_DOCKER);
    assert_false(a->only_future);
    assert_int_equal(a->future_max_size, 2u << 20);
    assert_int_equal(a->age_s, 7200);
    assert_int_equal(a->nexclude, 1);
    assert_int_equal(a->line, 7);
    assert_int_equal(b->format, TLD_LOGFMT_JSON);
    assert_int_equal(b->nlabels, 1);
    assert_string_equal(b->labels[0].key, "app.name");
    assert_string_equal(b->labels[0].value, "shop");
    assert_true(cfg.collect.docker.enabled);
    assert_int_equal(cfg.collect.docker.interval_s, 600);
    assert_int_equal(cfg.collect.docker.attempts, 0);
    assert_string_equal(cfg.collect.docker.socket, "/run/other/docker.sock");
    assert_string_equal(cfg.collect.docker.api_version, "1.41");
    assert_string_equal(cfg.collect.docker.location, "ThreatLockDown-Docker");
    assert_int_equal(cfg.collect.docker.queue_size, 100);
    assert_false(cfg.collect.docker.inspect);
    assert_int_equal(cfg.collect.max_line, 128u << 10);
    assert_int_equal(cfg.collect.max_message, 1u << 20);
    assert_int_equal(cfg.collect.scan_frequency_s, 5);
    assert_int_equal(cfg.collect.max_files, 50);
    assert_int_equal(cfg.collect.spool_max_bytes, 1u << 30);
    tld_agent_config_fini(&cfg);
    tld_diag_fini(&d);
}

static void defaults(void **state)
{
    struct tld_agent_config cfg;
    struct tld_diag d;
    assert_int_equal(
        parse(&cfg, "<ossec_config><wodle name=\"docker-listener\"/></ossec_config>", &d), 0);
    assert_true(cfg.collect.docker.enabled);
    assert_string_equal(cfg.collect.docker.socket, "/var/run/docker.sock");
    assert_string_equal(cfg.collect.docker.location, "Wazuh-Docker");
    assert_null(cfg.collect.docker.api_version);
    assert_int_equal(cfg.collect.docker.attempts, 5);
    assert_int_equal(cfg.collect.max_line, 65536);
    assert_int_equal(cfg.collect.spool_max_bytes, 256u << 20);
    tld_agent_config_fini(&cfg);
    tld_diag_fini(&d);
}

/* Every mistake is reported with file:line and the element, all in one load. */
static void errors_name_the_element(void **state)
{
    const char *xml = "<ossec_config>\n"
                      "  <localfile>\n"
                      "    <log_format>eventchannel</log_format>\n"
                      "    <location>relative/path</location>\n"
                      "    <frobnicate>1</frobnicate>\n"
                      "    <ignore>x</ignore>\n"
                      "  </localfile>\n"
                      "  <localfile><location>/x</location></localfile>\n"
                      "  <wodle name=\"docker-listener\"><attempts>many</attempts>\n"
                      "    <disabled>perhaps</disabled><bogus/></wodle>\n"
                      "  <spool><max_size>12XB</max_size></spool>\n"
                      "  <localfiles/>\n"
                      "</ossec_config>\n"
                      "<agent_config/>\n";
    struct tld_agent_config cfg;
    struct tld_diag d;
    assert_int_equal(parse(&cfg, xml, &d), TLD_EPARSE);
    dump(&d);
    assert_true(has_msg(&d, "agent.conf:3: error: <log_format>: log_format 'eventchannel' is "
                            "not supported"));
    assert_true(has_msg(&d, "agent.conf:4: error: <location>: location 'relative/path' is not "
                            "an absolute path"));
    assert_true(has_msg(&d, "agent.conf:5: error: <frobnicate>: unknown element in <localfile>"));
    assert_true(has_msg(&d, "agent.conf:6: error: <ignore>: not supported by tld-agent"));
    assert_true(has_msg(&d, "agent.conf:8: error: <localfile>: missing <log_format>"));
    assert_true(has_msg(&d, "agent.conf:9: error: <attempts>: 'many' is not a number"));
    assert_true(has_msg(&d, "agent.conf:10: error: <disabled>: 'perhaps' is not yes or no"));
    assert_true(has_msg(&d, "agent.conf:10: error: <bogus>: unknown element"));
    assert_true(has_msg(&d, "agent.conf:11: error: <max_size>: '12XB' is not a size"));
    assert_true(has_msg(&d, "agent.conf:12: error: <localfiles>: unknown section"));
    assert_true(has_msg(&d, "agent.conf:14: error: <agent_config>: unknown top-level element"));
    assert_int_equal(d.errors, 11);
    tld_agent_config_fini(&cfg);
    tld_diag_fini(&d);
}

static void xml_syntax_error(void **state)
{
    struct tld_agent_config cfg;
    struct tld_diag d;
    assert_int_equal(parse(&cfg, "<ossec_config>\n<localfile>\n</ossec_config>\n", &d), TLD_EPARSE);
    assert_true(d.errors >= 1);
    assert_non_null(strstr(d.msgs[0].text, "agent.conf:"));
    tld_agent_config_fini(&cfg);
    tld_diag_fini(&d);
}

/* Durations and sizes in the shared spelling (common/conftab.h); an age of 0 is no duration. */
static void sizes_and_times(void **state)
{
    const char *xml = "<ossec_config>\n"
                      "<localfile><log_format>syslog</log_format><location>/l</location>\n"
                      "  <age>10M</age></localfile>\n"
                      "<localfile><log_format>syslog</log_format><location>/m</location>\n"
                      "  <age>0</age></localfile>\n"
                      "<logcollector><max_line_length>96k</max_line_length>"
                      "<scan_frequency>2H</scan_frequency></logcollector>\n"
                      "<spool><max_size>3gb</max_size></spool>\n"
                      "</ossec_config>\n";
    struct tld_agent_config cfg;
    struct tld_diag d;
    assert_int_equal(parse(&cfg, xml, &d), TLD_EPARSE);
    assert_int_equal(cfg.collect.files[0].age_s, 600);
    assert_int_equal(cfg.collect.files[1].age_s, 0);
    assert_true(has_msg(&d, "agent.conf:5: error: <age>: '0' is not a duration"));
    assert_int_equal(cfg.collect.max_line, 96u << 10);
    assert_int_equal(cfg.collect.scan_frequency_s, 7200);
    assert_int_equal(cfg.collect.spool_max_bytes, 3ULL << 30);
    assert_int_equal(d.errors, 1);
    tld_agent_config_fini(&cfg);
    tld_diag_fini(&d);
}

static void unreadable_file(void **state)
{
    struct tld_agent_config cfg;
    struct tld_diag d;
    tld_agent_config_init(&cfg);
    tld_diag_init(&d);
    assert_int_not_equal(tld_agent_config_load(&cfg, "/nonexistent/agent.conf", &d), 0);
    assert_non_null(strstr(d.msgs[0].text, "/nonexistent/agent.conf"));
    tld_agent_config_fini(&cfg);
    tld_diag_fini(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mission_block),    cmocka_unit_test(full_configuration),
        cmocka_unit_test(defaults),         cmocka_unit_test(errors_name_the_element),
        cmocka_unit_test(xml_syntax_error), cmocka_unit_test(sizes_and_times),
        cmocka_unit_test(unreadable_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
