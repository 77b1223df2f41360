/* Unit tests for the Docker side's parsers: the JSON scanner, the events stream splitter and
 * event parser, container information from an inspect answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "collect/docker/bound.h"
#include "collect/docker/cinfo.h"
#include "collect/docker/events.h"
#include "common/err.h"
#include "common/jscan.h"

/* A real event as engine 20.10 streams it (recorded with docker-lab). */
static const char START[] =
    "{\"status\":\"start\",\"id\":\"ddcf65051d806081bff27f4c8edd1b2e4a0f03987673a590f5f19d506e1707"
    "69\",\"from\":\"httpd\",\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{\"ID\":"
    "\"ddcf6505"
    "1d806081bff27f4c8edd1b2e4a0f03987673a590f5f19d506e170769\",\"Attributes\":{\"image\":"
    "\"httpd\","
    "\"name\":\"test-container\"}},\"scope\":\"local\",\"time\":1795707400,\"timeNano\":"
    "1795707400254114947}";

static void event_fields(void **state)
{
    struct tld_docker_event ev;
    assert_int_equal(tld_docker_event_parse(tld_sv_of(START), &ev), 0);
    assert_string_equal(ev.type, "container");
    assert_string_equal(ev.action, "start");
    assert_string_equal(ev.name, "test-container");
    assert_string_equal(ev.image, "httpd");
    assert_int_equal(strlen(ev.id), 64);
    /* 19 digits, exactly: a double would have rounded it */
    assert_int_equal(ev.time_ns, 1795707400254114947LL);
    assert_true(ev.raw.p == START);
}

static void event_new_engine_and_old_engine(void **state)
{
    /* API 1.52 engines no longer send status/id/from */
    const char *new_engine =
        "{\"Type\":\"image\",\"Action\":\"delete\",\"Actor\":{\"ID\":\"sha256:ab"
        "\",\"Attributes\":{\"name\":\"sha256:ab\"}},\"scope\":\"local\","
        "\"time\":1795707401,\"timeNano\":1795707401000000001}";
    struct tld_docker_event ev;
    assert_int_equal(tld_docker_event_parse(tld_sv_of(new_engine), &ev), 0);
    assert_string_equal(ev.type, "image");
    assert_string_equal(ev.action, "delete");
    assert_int_equal(ev.time_ns, 1795707401000000001LL);
    /* engines before API 1.22: only status, id, from, time */
    const char *old = "{\"status\":\"die\",\"id\":\"abc\",\"from\":\"x\",\"time\":1400000000}";
    assert_int_equal(tld_docker_event_parse(tld_sv_of(old), &ev), 0);
    assert_string_equal(ev.type, "container");
    assert_string_equal(ev.action, "die");
    assert_string_equal(ev.id, "abc");
    assert_int_equal(ev.time_ns, 1400000000LL * 1000000000);
    /* a timeNano printed as a float (as some tools re-serialise it) is accepted */
    const char *fl =
        "{\"Type\":\"container\",\"Action\":\"x\",\"timeNano\":1683632491049788416.000000}";
    assert_int_equal(tld_docker_event_parse(tld_sv_of(fl), &ev), 0);
    assert_int_equal(ev.time_ns, 1683632491049788416LL);
    /* a label called timeNano inside Attributes does not fool the top-level one */
    const char *lab =
        "{\"Type\":\"container\",\"Action\":\"x\",\"Actor\":{\"ID\":\"i\",\"Attributes"
        "\":{\"timeNano\":\"5\",\"name\":\"n\"}},\"timeNano\":7}";
    assert_int_equal(tld_docker_event_parse(tld_sv_of(lab), &ev), 0);
    assert_int_equal(ev.time_ns, 7);
    assert_string_equal(ev.name, "n");
}

static void event_garbage(void **state)
{
    const char *bad[] = {"",
                         "garbage",
                         "[1,2]",
                         "{\"Type\":",
                         "{\"a\":1} {\"b\":2}",
                         "\"str\"",
                         "{\"Action\":\"a\\q\"}",
                         "null"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct tld_docker_event ev;
        assert_int_equal(tld_docker_event_parse(tld_sv_of(bad[i]), &ev), TLD_EPARSE);
    }
    /* valid JSON with an out-of-range time: an event without a time, not garbage */
    struct tld_docker_event ev;
    assert_int_equal(
        tld_docker_event_parse(
            TLD_SV_LIT("{\"Type\":\"container\",\"timeNano\":99999999999999999999999}"), &ev),
        0);
    assert_int_equal(ev.time_ns, 0);
}

struct lines {
    char got[16][64];
    unsigned n;
};

static bool collect(void *ctx, struct tld_sv l)
{
    struct lines *c = ctx;
    if (c->n < 16) {
        size_t n = l.n < 63 ? l.n : 63;
        memcpy(c->got[c->n], l.p, n);
        c->got[c->n][n] = 0;
    }
    c->n++;
    return true;
}

static void splitter_across_chunks(void **state)
{
    const char stream[] = "{\"a\":1}\n{\"b\":2}\r\n\n{\"c\":3}\n{\"partial";
    /* every way of cutting the stream in two gives the same lines */
    for (size_t cut = 0; cut <= sizeof stream - 1; cut++) {
        struct tld_events_splitter s;
        tld_events_splitter_init(&s);
        struct lines c = {0};
        assert_true(tld_events_feed(&s, stream, cut, collect, &c));
        assert_true(tld_events_feed(&s, stream + cut, sizeof stream - 1 - cut, collect, &c));
        assert_int_equal(c.n, 3);
        assert_string_equal(c.got[0], "{\"a\":1}");
        assert_string_equal(c.got[1], "{\"b\":2}");
        assert_string_equal(c.got[2], "{\"c\":3}");
        assert_int_equal(s.buf.n, strlen("{\"partial"));
        tld_events_splitter_fini(&s);
    }
}

static void splitter_bounds_long_lines(void **state)
{
    struct tld_events_splitter s;
    tld_events_splitter_init(&s);
    struct lines c = {0};
    size_t big = TLD_EVENTS_MAX_LINE + 10;
    char *p = malloc(big);
    memset(p, 'x', big);
    /* an over-long line arrives in pieces; it is dropped and counted, the next one is fine */
    assert_true(tld_events_feed(&s, p, big / 2, collect, &c));
    assert_true(tld_events_feed(&s, p, big - big / 2, collect, &c));
    assert_true(tld_events_feed(&s, "yyy\n{\"ok\":1}\n", 13, collect, &c));
    assert_int_equal(c.n, 1);
    assert_string_equal(c.got[0], "{\"ok\":1}");
    assert_int_equal(s.garbage, 1);
    assert_true(s.buf.cap <= TLD_EVENTS_MAX_LINE + 1);
    free(p);
    tld_events_splitter_fini(&s);
}

static void jscan_integers(void **state)
{
    int64_t v;
    struct tld_jscan j = tld_jscan_of(TLD_SV_LIT("9223372036854775807"));
    assert_true(tld_jscan_int(&j, &v));
    assert_int_equal(v, INT64_MAX);
    j = tld_jscan_of(TLD_SV_LIT("9223372036854775808"));
    assert_false(tld_jscan_int(&j, &v));
    j = tld_jscan_of(TLD_SV_LIT("-5"));
    assert_true(tld_jscan_int(&j, &v) && v == -5);
    j = tld_jscan_of(TLD_SV_LIT("1.5"));
    assert_false(tld_jscan_int(&j, &v));
    j = tld_jscan_of(TLD_SV_LIT("1e3"));
    assert_false(tld_jscan_int(&j, &v));
    j = tld_jscan_of(TLD_SV_LIT(""));
    assert_false(tld_jscan_int(&j, &v));
}

static void cinfo_from_inspect(void **state)
{
    const char *js =
        "{\"Id\":\"ddcf65051d806081bff27f4c8edd1b2e4a0f03987673a590f5f19d506e170769\","
        "\"Name\":\"/web-1\",\"Config\":{\"Image\":\"nginx:1.25\",\"Labels\":{"
        "\"com.docker.compose.service\":\"web\",\"z\":\"last\",\"com.docker.compose.project\":"
        "\"shop\",\"a\":\"first\"}}}";
    cJSON *j = cJSON_Parse(js);
    struct tld_cinfo *ci = tld_cinfo_new_inspect(j);
    cJSON_Delete(j);
    assert_non_null(ci);
    assert_string_equal(ci->name, "web-1");
    assert_string_equal(ci->image, "nginx:1.25");
    assert_string_equal(ci->project, "shop");
    assert_string_equal(ci->service, "web");
    assert_int_equal(ci->nlabels, 4);
    assert_true(tld_sv_eq_cstr(ci->labels[0].key, "a")); /* sorted: stable output */
    assert_true(tld_sv_eq_cstr(ci->labels[3].key, "z"));
    struct tld_cinfo *r = tld_cinfo_ref(ci);
    tld_cinfo_unref(ci);
    struct tld_evrec_container c;
    tld_cinfo_to_evrec(r, &c);
    assert_true(tld_sv_eq_cstr(c.name, "web-1"));
    tld_cinfo_unref(r);

    /* no usable Id: nothing */
    j = cJSON_Parse("{\"message\":\"No such container: x\"}");
    assert_null(tld_cinfo_new_inspect(j));
    cJSON_Delete(j);
    assert_true(
        tld_cinfo_is_id("ddcf65051d806081bff27f4c8edd1b2e4a0f03987673a590f5f19d506e170769", 64));
    assert_false(
        tld_cinfo_is_id("DDCF65051d806081bff27f4c8edd1b2e4a0f03987673a590f5f19d506e170769", 64));
}

/* Rewrite `in` and check it is valid JSON for cJSON; returns the parsed tree. */
static cJSON *bound_ok(const char *in, size_t n, bool *trimmed, size_t *outlen)
{
    struct tld_sb sb;
    tld_sb_init(&sb, 1u << 22);
    assert_int_equal(tld_docker_event_bound(tld_sv_make(in, n), &sb, trimmed), 0);
    *outlen = sb.n;
    cJSON *j = cJSON_ParseWithLength(tld_sb_cstr(&sb), sb.n);
    assert_non_null(j);
    struct tld_docker_event ev;
    assert_int_equal(tld_docker_event_parse(tld_sb_view(&sb), &ev), 0);
    tld_sb_fini(&sb);
    return j;
}

static const char *attr(cJSON *j, const char *name)
{
    cJSON *a = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "Actor"),
                                                "Attributes");
    cJSON *v = cJSON_GetObjectItemCaseSensitive(a, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void bound_keeps_rule_fields(void **state)
{
    (void)state;
    /* 70 KB label sorted before image and name, and 200 more labels after them */
    struct tld_sb in;
    tld_sb_init(&in, 1u << 22);
    tld_sb_append_cstr(&in, "{\"status\":\"create\",\"Type\":\"container\",\"Action\":\"create\","
                            "\"Actor\":{\"ID\":\"abc\",\"Attributes\":{\"aaa\":\"");
    for (int i = 0; i < 70000; i++)
        tld_sb_append_char(&in, 'x');
    tld_sb_append_cstr(&in, "\",\"image\":\"alpine\",\"name\":\"big\"");
    for (int i = 0; i < 200; i++)
        tld_sb_printf(&in, ",\"z%03d\":\"%0500d\"", i, i);
    tld_sb_append_cstr(
        &in, "}},\"scope\":\"local\",\"time\":1795707400,\"timeNano\":1795707400254114947}");
    bool trimmed;
    size_t n;
    cJSON *j = bound_ok(in.p, in.n, &trimmed, &n);
    assert_true(trimmed);
    assert_true(n < 40000);
    assert_string_equal(attr(j, "name"), "big");
    assert_string_equal(attr(j, "image"), "alpine");
    assert_int_equal(strlen(attr(j, "aaa")), TLD_BOUND_VALUE_MAX);
    assert_null(attr(j, "z199"));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "truncated")));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "Action")->valuestring, "create");
    cJSON_Delete(j);
    tld_sb_fini(&in);
}

static void bound_sanitizes(void **state)
{
    (void)state;
    bool trimmed;
    size_t n;
    /* a lone surrogate, a bad escape, invalid UTF-8 and a raw control byte */
    const char bad[] = "{\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{\"ID\":\"abc\","
                       "\"Attributes\":{\"l\":\"a\\ud800b\\q\xff\x01\",\"name\":\"n\"}}}";
    cJSON *j = bound_ok(bad, sizeof bad - 1, &trimmed, &n);
    assert_true(trimmed);
    assert_string_equal(attr(j, "l"), "a\xef\xbf\xbd"
                                      "b\xef\xbf\xbd\xef\xbf\xbd\x01");
    assert_string_equal(attr(j, "name"), "n");
    cJSON_Delete(j);
    /* a valid pair and \u0000 are kept as they are; nothing trimmed */
    const char good[] = "{\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{\"ID\":\"abc\","
                        "\"Attributes\":{\"l\":\"\\ud83d\\ude00\\u0000z\",\"name\":\"n\"}}}";
    j = bound_ok(good, sizeof good - 1, &trimmed, &n);
    assert_false(trimmed);
    assert_int_equal(n, sizeof good - 1);
    cJSON_Delete(j);
    /* nesting far deeper than any parser's bound */
    struct tld_sb in;
    tld_sb_init(&in, 1u << 22);
    tld_sb_append_cstr(&in, "{\"Type\":\"container\",\"Action\":\"create\",\"deep\":");
    for (int i = 0; i < 100000; i++)
        tld_sb_append_char(&in, '[');
    tld_sb_append_cstr(&in, "\"]\"");
    for (int i = 0; i < 100000; i++)
        tld_sb_append_char(&in, ']');
    tld_sb_append_cstr(&in, ",\"Actor\":{\"ID\":\"abc\",\"Attributes\":{\"name\":\"n\"}}}");
    j = bound_ok(in.p, in.n, &trimmed, &n);
    assert_true(trimmed);
    assert_string_equal(attr(j, "name"), "n");
    cJSON_Delete(j);
    tld_sb_fini(&in);
    struct tld_sb out;
    tld_sb_init(&out, 1024);
    assert_int_equal(tld_docker_event_bound(TLD_SV_LIT("{\"a\":\"x}"), &out, &trimmed), TLD_EPARSE);
    tld_sb_reset(&out);
    assert_int_equal(tld_docker_event_bound(TLD_SV_LIT("[1]"), &out, &trimmed), TLD_EPARSE);
    tld_sb_fini(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(event_fields),
        cmocka_unit_test(event_new_engine_and_old_engine),
        cmocka_unit_test(event_garbage),
        cmocka_unit_test(splitter_across_chunks),
        cmocka_unit_test(splitter_bounds_long_lines),
        cmocka_unit_test(jscan_integers),
        cmocka_unit_test(cinfo_from_inspect),
        cmocka_unit_test(bound_keeps_rule_fields),
        cmocka_unit_test(bound_sanitizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
