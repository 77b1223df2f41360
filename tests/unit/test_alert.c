/* Unit tests for alert JSON formatting (alerts.md), with hand-built events and rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/alert.h"
#include "engine/decode/decoder.h"
#include "engine/event.h"

struct fixture {
    struct tld_arena arena;
    struct tld_dynfield dyn[TLD_EVENT_MAX_FIELDS];
    struct tld_event ev;
    struct tld_sb out;
};

static int setup(void **state)
{
    setenv("TZ", "UTC", 1);
    struct fixture *f = calloc(1, sizeof *f);
    tld_arena_init(&f->arena, 4096, 1 << 20);
    tld_event_init(&f->ev, &f->arena, f->dyn);
    tld_sb_init(&f->out, 1 << 20);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    tld_sb_fini(&f->out);
    tld_arena_fini(&f->arena);
    free(f);
    return 0;
}

static void add(struct tld_event *ev, const char *k, const char *v)
{
    tld_event_add(ev, tld_sv_of(k), tld_sv_of(v));
}

/* alerts.md §8, the Docker listener example, field for field. */
static void docker_start_alert(void **state)
{
    struct fixture *f = *state;
    struct tld_event *ev = &f->ev;
    static const struct tld_decoder json = {.name = "json", .own_name = "json"};
    ev->time_ns = 1683632491049788416LL;
    ev->agent_id = TLD_SV_LIT("000");
    ev->manager_name = TLD_SV_LIT("wazuh-server");
    ev->alert_location = TLD_SV_LIT("Wazuh-Docker");
    ev->full_log = TLD_SV_LIT("{...}");
    ev->decoder = &json;
    add(ev, "integration", "docker");
    add(ev, "docker.status", "start");
    add(ev, "docker.id", "<cid>");
    add(ev, "docker.from", "nginx");
    add(ev, "docker.Type", "container");
    add(ev, "docker.Action", "start");
    add(ev, "docker.Actor.ID", "<cid>");
    add(ev, "docker.Actor.Attributes.image", "nginx");
    add(ev, "docker.Actor.Attributes.name", "test-container");
    add(ev, "docker.scope", "local");
    add(ev, "docker.time", "1683632491");
    add(ev, "docker.timeNano", "1683632491049788416.000000");
    struct tld_alert_rule r = {
        .level = 3,
        .id = TLD_SV_LIT("87903"),
        .description = TLD_SV_LIT("Docker: Container test-container started"),
        .groups = TLD_SV_LIT("docker,"),
        .firedtimes = 1,
        .no_full_log = true,
    };
    tld_alert_format(ev, &r, TLD_SV_LIT("1683632491.48211"), NULL, &f->out);
    assert_string_equal(
        tld_sb_cstr(&f->out),
        "{\"timestamp\":\"2023-05-09T11:41:31.049+0000\",\"rule\":{\"level\":3,\"description\":"
        "\"Docker: Container test-container started\",\"id\":\"87903\",\"firedtimes\":1,"
        "\"mail\":false,\"groups\":[\"docker\"]},\"agent\":{\"id\":\"000\",\"name\":"
        "\"wazuh-server\"},\"manager\":{\"name\":\"wazuh-server\"},\"id\":\"1683632491.48211\","
        "\"decoder\":{\"name\":\"json\"},\"data\":{\"integration\":\"docker\",\"docker\":{"
        "\"status\":\"start\",\"id\":\"<cid>\",\"from\":\"nginx\",\"Type\":\"container\","
        "\"Action\":\"start\",\"Actor\":{\"ID\":\"<cid>\",\"Attributes\":{\"image\":\"nginx\","
        "\"name\":\"test-container\"}},\"scope\":\"local\",\"time\":\"1683632491\",\"timeNano\":"
        "\"1683632491049788416.000000\"}},\"location\":\"Wazuh-Docker\","
        "\"input\":{\"type\":\"log\"}}");
}

/* alerts.md §9: groups split into compliance arrays, MITRE enrichment, static data order. */
static void sqli_alert(void **state)
{
    struct fixture *f = *state;
    struct tld_event *ev = &f->ev;
    static const struct tld_decoder web = {
        .name = "web-accesslog-docker", .own_name = "web-accesslog-docker", .parent = "json"};
    ev->time_ns = 1683900735127000000LL;
    ev->agent_id = TLD_SV_LIT("001");
    ev->agent_name = TLD_SV_LIT("docker-host");
    ev->agent_ip = TLD_SV_LIT("any");
    ev->manager_name = TLD_SV_LIT("wazuh-server");
    ev->alert_location = TLD_SV_LIT("/var/lib/docker/containers/c/c-json.log");
    ev->full_log = TLD_SV_LIT("{\"log\":\"1.2.3.4 \\\"GET\\n\"}");
    ev->decoder = &web;
    tld_event_set(ev, TLD_F_URL, TLD_SV_LIT("/users/?id=SELECT+*+FROM+users"));
    tld_event_set(ev, TLD_F_ID, TLD_SV_LIT("404"));
    tld_event_set(ev, TLD_F_SRCIP, TLD_SV_LIT("192.168.132.1"));
    tld_event_set(ev, TLD_F_PROTOCOL, TLD_SV_LIT("GET"));
    static const struct tld_sv mitre[] = {TLD_SV_LIT("T1190")};
    struct tld_alert_rule r = {
        .level = 7,
        .id = TLD_SV_LIT("31103"),
        .description = TLD_SV_LIT("SQL injection attempt."),
        .groups = TLD_SV_LIT("web,accesslog,attack,sql_injection,pci_dss_6.5,pci_dss_11.4,"
                             "pci_dss_6.5.1,gdpr_IV_35.7.d,nist_800_53_SA.11,nist_800_53_SI.4,"
                             "tsc_CC6.6,tsc_CC7.1,tsc_CC8.1,tsc_CC6.1,tsc_CC6.8,tsc_CC7.2,"
                             "tsc_CC7.3,"),
        .mitre_ids = mitre,
        .nmitre_ids = 1,
        .firedtimes = 1,
    };
    tld_alert_format(ev, &r, TLD_SV_LIT("1683900735.90233"), NULL, &f->out);
    assert_string_equal(
        tld_sb_cstr(&f->out),
        "{\"timestamp\":\"2023-05-12T14:12:15.127+0000\",\"rule\":{\"level\":7,\"description\":"
        "\"SQL injection attempt.\",\"id\":\"31103\",\"mitre\":{\"id\":[\"T1190\"],\"tactic\":"
        "[\"Initial Access\"],\"technique\":[\"Exploit Public-Facing Application\"]},"
        "\"firedtimes\":1,\"mail\":false,\"groups\":[\"web\",\"accesslog\",\"attack\","
        "\"sql_injection\"],\"pci_dss\":[\"6.5\",\"11.4\",\"6.5.1\"],\"gdpr\":[\"IV_35.7.d\"],"
        "\"nist_800_53\":[\"SA.11\",\"SI.4\"],\"tsc\":[\"CC6.6\",\"CC7.1\",\"CC8.1\",\"CC6.1\","
        "\"CC6.8\",\"CC7.2\",\"CC7.3\"]},\"agent\":{\"id\":\"001\",\"name\":\"docker-host\"},"
        "\"manager\":{\"name\":\"wazuh-server\"},\"id\":\"1683900735.90233\",\"full_log\":"
        "\"{\\\"log\\\":\\\"1.2.3.4 \\\\\\\"GET\\\\n\\\"}\",\"decoder\":{\"parent\":\"json\","
        "\"name\":\"web-accesslog-docker\"},\"data\":{\"protocol\":\"GET\",\"srcip\":"
        "\"192.168.132.1\",\"id\":\"404\",\"url\":\"/users/?id=SELECT+*+FROM+users\"},"
        "\"location\":\"/var/lib/docker/containers/c/c-json.log\",\"input\":{\"type\":\"log\"}}");
}

/* Dotted names nest case-insensitively, first wins, empty values are skipped, arrays embed. */
static void data_nesting_rules(void **state)
{
    struct fixture *f = *state;
    struct tld_event *ev = &f->ev;
    ev->manager_name = TLD_SV_LIT("m");
    ev->full_log = TLD_SV_LIT("x");
    tld_event_set(ev, TLD_F_SRCIP, TLD_SV_LIT(""));
    add(ev, "srcIP", "dropped: static srcip exists");
    add(ev, "Docker.a", "1");
    add(ev, "docker.b", "2");
    add(ev, "DOCKER.A", "dropped: first wins");
    add(ev, "empty", "");
    add(ev, "docker.a.deeper", "dropped: prefix is a string");
    add(ev, "list", "[\"a\", 1, 2.5, true, null]");
    add(ev, "notlist", "[1, 2] trailing");
    tld_alert_format(ev, NULL, TLD_SV_LIT("1.0"), NULL, &f->out);
    assert_non_null(strstr(tld_sb_cstr(&f->out),
                           "\"data\":{\"srcip\":\"\",\"Docker\":{\"a\":\"1\",\"b\":\"2\"},"
                           "\"list\":[\"a\",1,2.5,true,null],\"notlist\":\"[1, 2] trailing\"}"));
}

/* Control bytes and invalid UTF-8 never break the JSON; valid UTF-8 stays raw. */
static void escaping(void **state)
{
    struct fixture *f = *state;
    struct tld_sv in = TLD_SV_LIT("a\"b\\c\x01\x1f\t\xc3\xa9\xff\xc3");
    tld_alert_json_string(&f->out, in);
    assert_string_equal(tld_sb_cstr(&f->out),
                        "\"a\\\"b\\\\c\\u0001\\u001f\\t\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\"");
}

/* The escaping of one string, a byte at a time: the model the vectorised code must agree with. */
static void model_escape(const unsigned char *p, size_t n, struct tld_sb *out)
{
    tld_sb_append_char(out, '"');
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        size_t len = 0;
        if (c >= 0x80) {
            /* Valid UTF-8 (no overlongs, surrogates or values past U+10FFFF) stays raw. */
            unsigned need = c >= 0xC2 && c <= 0xDF   ? 2
                            : c >= 0xE0 && c <= 0xEF ? 3
                            : c >= 0xF0 && c <= 0xF4 ? 4
                                                     : 0;
            if (need && i + need <= n) {
                unsigned cp = c & (need == 2 ? 0x1F : need == 3 ? 0x0F : 0x07);
                bool ok = true;
                for (unsigned k = 1; k < need && ok; k++) {
                    ok = (p[i + k] & 0xC0) == 0x80;
                    cp = cp << 6 | (p[i + k] & 0x3F);
                }
                if (ok && !(need == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) &&
                    !(need == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
                    len = need;
            }
            if (len)
                tld_sb_append(out, p + i, len);
            else
                tld_sb_append_cstr(out, "\xef\xbf\xbd");
            i += len ? len : 1;
            continue;
        }
        char esc[8];
        if (c == '"' || c == '\\')
            snprintf(esc, sizeof esc, "\\%c", c);
        else if (c == '\n' || c == '\t' || c == '\r' || c == '\b' || c == '\f')
            snprintf(esc, sizeof esc, "\\%c",
                     c == '\n'   ? 'n'
                     : c == '\t' ? 't'
                     : c == '\r' ? 'r'
                     : c == '\b' ? 'b'
                                 : 'f');
        else if (c < 0x20)
            snprintf(esc, sizeof esc, "\\u%04x", c);
        else
            snprintf(esc, sizeof esc, "%c", c);
        tld_sb_append_cstr(out, esc);
        i++;
    }
    tld_sb_append_char(out, '"');
}

/* Strings of every length around the 16-byte blocks, with the bytes that need escaping (and
 * UTF-8 sequences) at every position, also across a block's end: the same text as the model. */
static void escaping_matches_model(void **state)
{
    (void)state;
    static const unsigned char alphabet[] = {'a',  'Z',  ' ',  '"',  '\\', '\n', 0x01, 0x1f,
                                             0x7f, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xff, 0x80};
    unsigned seed = 7;
    unsigned char buf[80];
    for (int round = 0; round < 20000; round++) {
        seed = seed * 1103515245u + 12345u;
        size_t n = (seed >> 8) % 70;
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            /* mostly plain letters, so runs of verbatim bytes reach the block ends */
            buf[i] = (seed >> 12) % 4 ? (unsigned char)('a' + (seed >> 16) % 26)
                                      : alphabet[(seed >> 16) % sizeof alphabet];
        }
        struct tld_sb got, want;
        tld_sb_init(&got, 1 << 16);
        tld_sb_init(&want, 1 << 16);
        tld_alert_json_string(&got, tld_sv_make((const char *)buf, n));
        model_escape(buf, n, &want);
        assert_int_equal(got.n, want.n);
        assert_memory_equal(got.p, want.p, want.n);
        tld_sb_fini(&got);
        tld_sb_fini(&want);
    }
}

/* A builder too small for the escaped string holds exactly its first bytes, and says so. */
static void escaping_at_the_bound(void **state)
{
    struct fixture *f = *state;
    struct tld_sv in = TLD_SV_LIT("0123456789abcdef\"x\x01y\xc3\xa9z\xff 0123456789abcdef!");
    tld_alert_json_string(&f->out, in);
    const char *full = tld_sb_cstr(&f->out);
    size_t n = f->out.n;
    for (size_t max = 0; max <= n + 1; max++) {
        struct tld_sb small;
        tld_sb_init(&small, max);
        tld_alert_json_string(&small, in);
        size_t want = max < n ? max : n;
        assert_int_equal(small.n, want);
        assert_memory_equal(tld_sb_cstr(&small), full, want);
        assert_int_equal(small.truncated, max < n);
        tld_sb_fini(&small);
    }
}

/* Container metadata is added after location; predecoder appears for syslog headers. */
static void container_and_predecoder(void **state)
{
    struct fixture *f = *state;
    struct tld_event *ev = &f->ev;
    static const struct tld_label labels[] = {
        {TLD_SV_LIT("com.docker.compose.service"), TLD_SV_LIT("web")}};
    static const struct tld_container_meta c = {TLD_SV_LIT("abc"), TLD_SV_LIT("test-container"),
                                                TLD_SV_LIT("nginx"), labels, 1};
    ev->manager_name = TLD_SV_LIT("m");
    ev->full_log = TLD_SV_LIT("Dec 29 10:00:01 myhost sshd[12]: hello");
    ev->program_name = TLD_SV_LIT("sshd");
    ev->timestamp = TLD_SV_LIT("Dec 29 10:00:01");
    ev->alert_location = TLD_SV_LIT("/var/log/auth.log");
    ev->container = &c;
    tld_alert_format(ev, NULL, TLD_SV_LIT("1.0"), NULL, &f->out);
    assert_non_null(strstr(
        tld_sb_cstr(&f->out),
        "\"predecoder\":{\"program_name\":\"sshd\",\"timestamp\":\"Dec 29 "
        "10:00:01\",\"hostname\":\"myhost\"},\"decoder\":{},"
        "\"location\":\"/var/log/auth.log\",\"container\":{\"id\":\"abc\","
        "\"name\":\"test-container\",\"image\":{\"name\":\"nginx\"},"
        "\"labels\":{\"com.docker.compose.service\":\"web\"}},\"input\":{\"type\":\"log\"}}"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(docker_start_alert, setup, teardown),
        cmocka_unit_test_setup_teardown(sqli_alert, setup, teardown),
        cmocka_unit_test_setup_teardown(data_nesting_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(escaping, setup, teardown),
        cmocka_unit_test_setup_teardown(escaping_at_the_bound, setup, teardown),
        cmocka_unit_test(escaping_matches_model),
        cmocka_unit_test_setup_teardown(container_and_predecoder, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
