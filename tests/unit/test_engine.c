/*
 * Unit tests of the engine as the manager drives it (engine.h) on hostile events: oversize
 * events are truncated and flagged; invalid UTF-8 and control bytes always give valid JSON;
 * JSON nesting, key paths and field counts are bounded and a 100,000-deep document neither
 * crashes nor takes long; the per-worker timestamp memo gives exactly the uncached text,
 * across a daylight-saving change too. A small ruleset is written to a temporary directory, so
 * nothing here needs ../shared.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/alert.h"
#include "engine/engine.h"

static const char decoders_xml[] =
    "<decoder name=\"json\">\n"
    "  <prematch>^{\\s*\"</prematch>\n"
    "  <plugin_decoder>JSON_Decoder</plugin_decoder>\n"
    "</decoder>\n"
    "<decoder name=\"sshd\">\n"
    "  <program_name>^sshd</program_name>\n"
    "</decoder>\n"
    "<decoder name=\"sshd-fail\">\n"
    "  <parent>sshd</parent>\n"
    "  <prematch>^Failed password for </prematch>\n"
    "  <regex offset=\"after_prematch\">^(\\S+) from (\\S+)</regex>\n"
    "  <order>user, srcip</order>\n"
    "</decoder>\n";

static const char rules_xml[] =
    "<group name=\"test,\">\n"
    "  <rule id=\"1\" level=\"0\" noalert=\"1\">\n"
    "    <category>syslog</category>\n"
    "    <description>Template.</description>\n"
    "  </rule>\n"
    "  <rule id=\"100001\" level=\"3\">\n"
    "    <if_sid>1</if_sid>\n"
    "    <description>Any event.</description>\n"
    "  </rule>\n"
    "  <rule id=\"100002\" level=\"5\">\n"
    "    <if_sid>100001</if_sid>\n"
    "    <decoded_as>sshd</decoded_as>\n"
    "    <description>Failure for $(dstuser) from $(srcip).</description>\n"
    "    <group>pci_dss_10.2.4,</group>\n"
    "  </rule>\n"
    "  <rule id=\"100003\" level=\"4\">\n"
    "    <if_sid>100001</if_sid>\n"
    "    <decoded_as>json</decoded_as>\n"
    "    <description>JSON event.</description>\n"
    "  </rule>\n"
    "</group>\n";

struct fixture {
    char dir[64];
    struct tld_ruleset *rs;
    struct tld_engine_state *st;
    struct tld_sb out;
};

static void write_file(const char *dir, const char *sub, const char *name, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, sub);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/%s/%s", dir, sub, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    fclose(f);
}

static int setup(void **state)
{
    setenv("TZ", "UTC", 1);
    tzset();
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/tld-test-engine.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    write_file(f->dir, "decoders", "d.xml", decoders_xml);
    write_file(f->dir, "rules", "r.xml", rules_xml);
    char dec[128], rul[128];
    snprintf(dec, sizeof dec, "%s/decoders", f->dir);
    snprintf(rul, sizeof rul, "%s/rules", f->dir);
    const char *dp[] = {dec}, *rp[] = {rul};
    struct tld_ruleset_config cfg = {
        .decoder_paths = dp, .ndecoder_paths = 1, .rule_paths = rp, .nrule_paths = 1};
    struct tld_diag diag;
    tld_diag_init(&diag);
    int err = tld_ruleset_load(&cfg, &f->rs, &diag);
    tld_diag_print(&diag, stderr);
    unsigned warnings = diag.warnings;
    tld_diag_fini(&diag);
    if (err || warnings || tld_engine_state_new(f->rs, &f->st))
        return -1;
    tld_sb_init(&f->out, (size_t)64 << 20);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char p[256];
    const char *files[] = {"decoders/d.xml", "rules/r.xml", "decoders", "rules", ""};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(p, sizeof p, "%s/%s", f->dir, files[i]);
        if (remove(p) != 0)
            return -1;
    }
    tld_sb_fini(&f->out);
    tld_engine_state_free(f->st);
    tld_ruleset_unref(f->rs);
    free(f);
    return 0;
}

static struct tld_worker *worker(struct fixture *f, size_t max_event_size)
{
    struct tld_worker *w = NULL;
    struct tld_worker_config wc = {TLD_SV_LIT("manager.example"), max_event_size};
    assert_int_equal(tld_worker_new(f->rs, f->st, &wc, &w), 0);
    return w;
}

static void process(struct tld_worker *w, const char *text, size_t n, int64_t time_ns)
{
    struct tld_engine_input in = {
        .queue = '1',
        .location = TLD_SV_LIT("/var/log/auth.log"),
        .text = tld_sv_make(text, n),
        .time_ns = time_ns,
    };
    tld_worker_process(w, &in);
}

/* Strict UTF-8: no overlongs, surrogates or code points past U+10FFFF. */
static bool utf8_ok(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t len = c < 0x80                 ? 1
                     : c >= 0xC2 && c <= 0xDF ? 2
                     : c >= 0xE0 && c <= 0xEF ? 3
                     : c >= 0xF0 && c <= 0xF4 ? 4
                                              : 0;
        if (!len || i + len > n)
            return false;
        unsigned cp = len == 1 ? c : c & (0x3F >> (len - 1));
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            return false;
        i += len;
    }
    return true;
}

/* The alert (or, without a rule, the archive) of the last event, parsed; valid UTF-8 too. */
static cJSON *document(struct fixture *f, struct tld_worker *w)
{
    tld_sb_reset(&f->out);
    if (!tld_worker_format_alert(w, TLD_SV_LIT("1.0"), true, &f->out))
        tld_worker_format_archive(w, TLD_SV_LIT("1.0"), &f->out);
    assert_false(f->out.truncated);
    assert_true(utf8_ok((const unsigned char *)tld_sb_cstr(&f->out), f->out.n));
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts(tld_sb_cstr(&f->out), f->out.n + 1, &end, 1);
    assert_non_null(doc);
    assert_true(cJSON_IsObject(doc));
    return doc;
}

/* The string at doc.a (or doc.a.b); fails the test when there is none. */
static const char *str_at(const cJSON *doc, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(doc, a);
    if (b)
        x = cJSON_GetObjectItemCaseSensitive(x, b);
    assert_true(cJSON_IsString(x));
    return x->valuestring;
}

/* ---- size ---------------------------------------------------------------------------------- */

/* A "\u0000" in a JSON value keeps what follows it; JSON cut at the size bound or malformed is
 * marked for the rules instead of giving no fields at all. */
static void json_nul_value_and_decode_error(void **state)
{
    struct fixture *f = *state;
    struct tld_worker *w = worker(f, 0);
    static const char nul[] = "{\"k\":\"before\\u0000<script>after\",\"a\\u0000b\":\"x\"}";
    process(w, nul, sizeof nul - 1, 0);
    const struct tld_event *ev = tld_worker_event(w);
    struct tld_sv v = tld_event_get(ev, TLD_SV_LIT("k"));
    assert_int_equal(v.n, sizeof "before\0<script>after" - 1);
    assert_memory_equal(v.p, "before\0<script>after", v.n);
    assert_non_null(tld_event_get(ev, TLD_SV_LIT("a")).p); /* keys still end at the NUL */
    assert_null(tld_event_get(ev, TLD_SV_LIT("threatlockdown.decode_error")).p);

    static const char bad[] = "{\"k\":\"v\"";
    process(w, bad, sizeof bad - 1, 0);
    v = tld_event_get(tld_worker_event(w), TLD_SV_LIT("threatlockdown.decode_error"));
    assert_true(tld_sv_eq_cstr(v, "invalid_json"));

    size_t max = TLD_EVENT_DEFAULT_MAX_SIZE;
    char *big = malloc(max + 100);
    memset(big, 'a', max + 100);
    memcpy(big, "{\"k\":\"", 6);
    memcpy(big + max + 96, "\"}", 2);
    process(w, big, max + 98, 0);
    v = tld_event_get(tld_worker_event(w), TLD_SV_LIT("threatlockdown.decode_error"));
    assert_true(tld_sv_eq_cstr(v, "truncated"));
    free(big);
    tld_worker_free(w);
}

static void oversize_event_truncated_and_flagged(void **state)
{
    struct fixture *f = *state;
    struct tld_worker *w = worker(f, 0);
    size_t max = TLD_EVENT_DEFAULT_MAX_SIZE;
    char *big = malloc(max + 5000);
    const char *head = "Nov 26 15:36:42 web01 sshd[42]: Failed password for root from 10.1.2.3 x";
    memset(big, 'a', max + 5000);
    memcpy(big, head, strlen(head));

    /* One byte over the maximum: cut at the maximum and flagged, in the event and the alert. */
    process(w, big, max + 1, 0);
    const struct tld_event *ev = tld_worker_event(w);
    assert_true(ev->truncated);
    assert_int_equal(ev->full_log.n, max);
    cJSON *doc = document(f, w);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "truncated")));
    assert_int_equal(strlen(str_at(doc, "full_log", NULL)), max);
    /* The cut event still decodes and matches. */
    assert_string_equal(str_at(doc, "rule", "id"), "100002");
    assert_string_equal(str_at(doc, "data", "srcip"), "10.1.2.3");
    cJSON_Delete(doc);

    /* Exactly the maximum is not truncated, and says nothing about it. */
    process(w, big, max, 0);
    assert_false(tld_worker_event(w)->truncated);
    doc = document(f, w);
    assert_null(cJSON_GetObjectItemCaseSensitive(doc, "truncated"));
    assert_int_equal(strlen(str_at(doc, "full_log", NULL)), max);
    cJSON_Delete(doc);
    tld_worker_free(w);

    /* A configured maximum applies the same way. */
    w = worker(f, 100);
    process(w, big, 101, 0);
    assert_true(tld_worker_event(w)->truncated);
    doc = document(f, w);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "truncated")));
    assert_int_equal(strlen(str_at(doc, "full_log", NULL)), 100);
    cJSON_Delete(doc);
    tld_worker_free(w);
    free(big);
}

/* ---- bytes --------------------------------------------------------------------------------- */

static void every_byte_gives_valid_json(void **state)
{
    struct fixture *f = *state;
    struct tld_worker *w = worker(f, 0);
    /* Each byte value in the log, in a decoded field and in a JSON string value. */
    for (unsigned c = 0; c < 256; c++) {
        char line[128];
        int n = snprintf(line, sizeof line,
                         "Nov 26 15:36:42 web01 sshd[42]: Failed password for u%cx from 10.0.0.1",
                         c ? (char)c : 'z');
        line[n - 16] = (char)c; /* the byte after "u" (NUL included) */
        process(w, line, (size_t)n, 0);
        cJSON_Delete(document(f, w));
        n = snprintf(line, sizeof line, "{\"integration\":\"t\",\"v\":\"a%cb\"}", 'z');
        line[n - 4] = (char)c;
        process(w, line, (size_t)n, 0);
        cJSON_Delete(document(f, w));
    }
    tld_worker_free(w);
}

static void invalid_utf8_and_controls(void **state)
{
    struct fixture *f = *state;
    struct tld_worker *w = worker(f, 0);
    static const char *const cases[] = {
        "\xC0\x80 overlong NUL",        "\xED\xA0\x80 surrogate",
        "\xF4\x90\x80\x80 past 10FFFF", "cut at the end \xE2\x82",
        "\x80 lone continuation",       "\xFE\xFF never in UTF-8",
        "\x1b[31mred\x1b[0m \x7f \x01", "caf\xC3\xA9 \xE2\x82\xAC ok",
        "tab\tcr\rlf\nnul\0after",
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char line[256];
        size_t len = strlen(cases[i]) + (i == 8 ? 6 : 0); /* the last one holds a NUL */
        int n = snprintf(line, sizeof line, "Nov 26 15:36:42 web01 sshd[42]: Failed password for ");
        memcpy(line + n, cases[i], len);
        process(w, line, (size_t)n + len, 0);
        cJSON *doc = document(f, w);
        if (i == 7) /* valid multi-byte characters are kept as they are */
            assert_non_null(strstr(str_at(doc, "full_log", NULL), "caf\xC3\xA9 \xE2\x82\xAC ok"));
        cJSON_Delete(doc);
        /* The same bytes inside JSON strings and keys, raw and as \u escapes. */
        char json[512];
        n = snprintf(json, sizeof json, "{\"k\":\"%s\",\"\\u0000x\":\"\\ud800\\u0041\",\"%s\":1}",
                     cases[i], cases[i]);
        process(w, json, (size_t)n, 0);
        cJSON_Delete(document(f, w));
    }
    /* Random bytes, deterministic. */
    uint32_t seed = 12345;
    char buf[600];
    for (int round = 0; round < 2000; round++) {
        size_t n = 1 + round % (sizeof buf - 1);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            buf[i] = (char)(seed >> 16);
        }
        if (round % 2)
            buf[0] = '{';
        process(w, buf, n, 0);
        cJSON_Delete(document(f, w));
    }
    tld_worker_free(w);
}

/* ---- JSON bounds --------------------------------------------------------------------------- */

static char *nested(const char *open, const char *leaf, const char *close, size_t depth,
                    size_t *len)
{
    size_t o = strlen(open), l = strlen(leaf), c = strlen(close);
    char *s = malloc(depth * (o + c) + l + 1);
    size_t at = 0;
    for (size_t i = 0; i < depth; i++, at += o)
        memcpy(s + at, open, o);
    memcpy(s + at, leaf, l);
    at += l;
    for (size_t i = 0; i < depth; i++, at += c)
        memcpy(s + at, close, c);
    s[at] = '\0';
    *len = at;
    return s;
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void deep_json_bounded(void **state)
{
    struct fixture *f = *state;
    /* A maximum large enough that the whole document reaches the parser. */
    struct tld_worker *w = worker(f, 4 << 20);
    size_t len;

    /* 1000 nested objects parse (a.a.a...: 1999 bytes of key path, under its 4096 bound). */
    char *s = nested("{\"a\":", "7", "}", 1000, &len);
    process(w, s, len, 0);
    const struct tld_event *ev = tld_worker_event(w);
    assert_int_equal(ev->ndyn, 1);
    assert_int_equal(ev->dyn[0].name.n, 1999);
    assert_true(tld_sv_eq_cstr(ev->dyn[0].value, "7"));
    free(s);
    /* The alert's "data" nests as deep; checked where cJSON's own limit still reads it. */
    s = nested("{\"a\":", "7", "}", 990, &len);
    process(w, s, len, 0);
    assert_int_equal(tld_worker_event(w)->ndyn, 1);
    cJSON_Delete(document(f, w));
    free(s);

    /* One more level is past the nesting limit: the document is refused, no field but the
     * mark that it could not be decoded. */
    s = nested("{\"a\":", "7", "}", 1001, &len);
    process(w, s, len, 0);
    assert_int_equal(tld_worker_event(w)->ndyn, 1);
    assert_true(tld_sv_eq_cstr(
        tld_event_get(tld_worker_event(w), TLD_SV_LIT("threatlockdown.decode_error")),
        "invalid_json"));
    assert_non_null(tld_worker_event(w)->decoder); /* decoded as json, with nothing in it */
    cJSON_Delete(document(f, w));
    free(s);

    /* 100,000 levels of arrays and of objects: no crash, and quickly. */
    const char *shapes[][3] = {{"[", "1", "]"}, {"{\"a\":", "1", "}"}, {"{\"k\":[", "1", "]}"}};
    for (size_t i = 0; i < 3; i++) {
        char *inner = nested(shapes[i][0], shapes[i][1], shapes[i][2], 100000, &len);
        char *doc = malloc(len + 32);
        int n = snprintf(doc, len + 32, "{\"deep\":%s}", inner);
        double t0 = seconds();
        process(w, doc, (size_t)n, 0);
        assert_true(seconds() - t0 < 1.0);
        assert_int_equal(tld_worker_event(w)->ndyn, 1); /* only threatlockdown.decode_error */
        cJSON_Delete(document(f, w));
        free(doc);
        free(inner);
    }
    tld_worker_free(w);
}

static void json_fields_and_key_paths_bounded(void **state)
{
    struct fixture *f = *state;
    struct tld_worker *w = worker(f, 1 << 20);
    /* More members than an event may hold: capped and flagged, alert still valid. */
    struct tld_sb doc;
    tld_sb_init(&doc, 1 << 20);
    tld_sb_append_cstr(&doc, "{");
    for (int i = 0; i < 1000; i++)
        tld_sb_printf(&doc, "%s\"k%d\":%d", i ? "," : "", i, i);
    tld_sb_append_cstr(&doc, "}");
    process(w, tld_sb_cstr(&doc), doc.n, 0);
    const struct tld_event *ev = tld_worker_event(w);
    assert_true(ev->fields_overflow);
    assert_int_equal(ev->ndyn, TLD_EVENT_MAX_FIELDS);
    cJSON_Delete(document(f, w));

    /* A key path longer than 4096 bytes is skipped; its siblings are kept. */
    tld_sb_reset(&doc);
    tld_sb_append_cstr(&doc, "{\"a\":{\"");
    for (int i = 0; i < 5000; i++)
        tld_sb_append_char(&doc, 'k');
    tld_sb_append_cstr(&doc, "\":1,\"short\":2}}");
    process(w, tld_sb_cstr(&doc), doc.n, 0);
    ev = tld_worker_event(w);
    assert_int_equal(ev->ndyn, 1);
    assert_true(tld_sv_eq_cstr(ev->dyn[0].name, "a.short"));
    cJSON_Delete(document(f, w));
    tld_sb_fini(&doc);
    tld_worker_free(w);
}

/* ---- the timestamp memo -------------------------------------------------------------------- */

static void timestamp_memo_matches_localtime(void **state)
{
    struct fixture *f = *state;
    /* Europe/Paris leaves summer time at 2026-10-25 01:00 UTC; the ruleset's zone is UTC. */
    setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
    tzset();
    struct tld_worker *w = worker(f, 0);
    const int64_t change = 1792890000LL * 1000000000; /* 2026-10-25T01:00:00Z */
    const char *line = "Nov 26 15:36:42 web01 sshd[42]: Failed password for root from 10.0.0.1";
    int seen_offsets = 0;
    char last_zone[16] = "";
    /* Every 250 ms for 20 minutes around the change, then some far-apart instants. */
    for (int64_t t = change - 600000000000LL; t < change + 600000000000LL; t += 250000000) {
        process(w, line, strlen(line), t);
        cJSON *doc = document(f, w);
        char want[32];
        tld_alert_timestamp(t, want);
        assert_string_equal(str_at(doc, "timestamp", NULL), want);
        if (strcmp(want + 23, last_zone) != 0) {
            seen_offsets++;
            snprintf(last_zone, sizeof last_zone, "%s", want + 23);
        }
        cJSON_Delete(doc);
    }
    assert_int_equal(seen_offsets, 2); /* +0200 then +0100 */
    const int64_t far[] = {0, 999, 1683632491049788416LL, 4102444800LL * 1000000000 + 999999999};
    for (size_t i = 0; i < sizeof far / sizeof *far; i++) {
        process(w, line, strlen(line), far[i]);
        cJSON *doc = document(f, w);
        char want[32];
        tld_alert_timestamp(far[i], want);
        assert_string_equal(str_at(doc, "timestamp", NULL), want);
        cJSON_Delete(doc);
    }
    tld_worker_free(w);
    setenv("TZ", "UTC", 1);
    tzset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(oversize_event_truncated_and_flagged, setup, teardown),
        cmocka_unit_test_setup_teardown(json_nul_value_and_decode_error, setup, teardown),
        cmocka_unit_test_setup_teardown(every_byte_gives_valid_json, setup, teardown),
        cmocka_unit_test_setup_teardown(invalid_utf8_and_controls, setup, teardown),
        cmocka_unit_test_setup_teardown(deep_json_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(json_fields_and_key_paths_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(timestamp_memo_matches_localtime, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
