/* Unit tests for the collector's parts that need no files: the json-file line parser, the
 * checkpoint file, container ids in paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect/files/collector.h"
#include "collect/files/dockerlog.h"
#include "collect/files/positions.h"
#include "common/err.h"

static int parse(const char *line, struct tld_dockerlog_line *dl, struct tld_sb *log)
{
    return tld_dockerlog_parse(tld_sv_of(line), dl, log);
}

static void dockerlog_plain_line(void **state)
{
    struct tld_sb log;
    tld_sb_init(&log, 1024);
    struct tld_dockerlog_line dl;
    assert_int_equal(parse("{\"log\":\"GET / HTTP/1.1\\\" 200\\n\",\"stream\":\"stdout\","
                           "\"time\":\"2026-11-26T15:36:42.123456789Z\"}",
                           &dl, &log),
                     0);
    assert_string_equal(log.p, "GET / HTTP/1.1\" 200\n");
    assert_string_equal(dl.stream, "stdout");
    assert_string_equal(dl.time, "2026-11-26T15:36:42.123456789Z");
    assert_false(dl.partial);
    tld_sb_fini(&log);
}

static void dockerlog_partial_and_escapes(void **state)
{
    struct tld_sb log;
    tld_sb_init(&log, 1024);
    struct tld_dockerlog_line dl;
    /* no trailing newline: a piece of a longer line */
    assert_int_equal(parse("{\"log\":\"abc\",\"stream\":\"stderr\",\"time\":\"t\"}", &dl, &log), 0);
    assert_true(dl.partial);
    /* an escaped backslash followed by n is not a newline */
    tld_sb_reset(&log);
    assert_int_equal(parse("{\"log\":\"x\\\\n\",\"stream\":\"stdout\"}", &dl, &log), 0);
    assert_true(dl.partial);
    assert_string_equal(log.p, "x\\n");
    /* ... but an odd run of backslashes before n ends with a real one */
    tld_sb_reset(&log);
    assert_int_equal(parse("{\"log\":\"x\\\\\\n\"}", &dl, &log), 0);
    assert_false(dl.partial);
    assert_string_equal(log.p, "x\\\n");
    /* unicode escapes, surrogate pairs, a lone surrogate, attrs skipped */
    tld_sb_reset(&log);
    assert_int_equal(parse("{\"attrs\":{\"a\":[1,2.5e3,null,true]},\"log\":\"\\u00e9\\ud83d\\ude00"
                           "\\udc00\\t\\n\"}",
                           &dl, &log),
                     0);
    assert_string_equal(log.p, "\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbd\t\n");
    tld_sb_fini(&log);
}

static void dockerlog_rejects(void **state)
{
    const char *bad[] = {
        "",
        "not json",
        "{\"stream\":\"stdout\"}",                                       /* no log */
        "{\"log\":\"a\"",                                                /* unterminated */
        "{\"log\":\"a\"} trailing",                                      /* text after the object */
        "{\"log\":\"a\nb\"}",                                            /* raw control character */
        "{\"log\":\"\\x\"}",                                             /* bad escape */
        "{\"log\":\"\\u12\"}",                                           /* short unicode escape */
        "{\"log\":1}",                                                   /* not a string */
        "{\"log\":\"a\",\"stream\":\"a-very-long-stream-name-indeed\"}", /* over the bound */
        "[\"log\"]",
        "{\"log\":\"a\",}",
    };
    struct tld_sb log;
    tld_sb_init(&log, 1024);
    tld_sb_append_cstr(&log, "kept");
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct tld_dockerlog_line dl;
        assert_int_equal(parse(bad[i], &dl, &log), TLD_EPARSE);
        /* a failed parse leaves what the builder held before */
        assert_string_equal(log.p, "kept");
    }
    /* nesting beyond the bound is refused, not recursed into */
    struct tld_sb deep;
    tld_sb_init(&deep, 100000);
    tld_sb_append_cstr(&deep, "{\"x\":");
    for (int i = 0; i < 100; i++)
        tld_sb_append_char(&deep, '[');
    for (int i = 0; i < 100; i++)
        tld_sb_append_char(&deep, ']');
    tld_sb_append_cstr(&deep, ",\"log\":\"a\"}");
    struct tld_dockerlog_line dl;
    assert_int_equal(parse(deep.p, &dl, &log), TLD_EPARSE);
    tld_sb_fini(&deep);
    tld_sb_fini(&log);
}

static void dockerlog_bound_cuts_and_flags(void **state)
{
    struct tld_sb log;
    tld_sb_init(&log, 8);
    struct tld_dockerlog_line dl;
    assert_int_equal(parse("{\"log\":\"0123456789abcdef\\n\"}", &dl, &log), 0);
    assert_true(log.truncated);
    assert_int_equal(log.n, 8);
    assert_false(dl.partial); /* judged on the raw text, not on what the bound kept */
    tld_sb_fini(&log);
}

static void positions_round_trip(void **state)
{
    char path[] = "/tmp/tld-test-positions.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    struct tld_positions p;
    tld_positions_init(&p);
    p.spool_seq = 18446744073709551000ULL;
    struct tld_position *a = tld_positions_get(&p, "/var/log/a \"quoted\".log", true);
    a->dev = 2049;
    a->ino = 1ULL << 60;
    a->off = (1ULL << 53) + 1; /* not representable as a double */
    a->head_len = 256;
    a->head_hash = tld_positions_hash("abc", 3);
    assert_int_equal(tld_positions_add_pattern(&p, "/var/lib/docker/containers/*/*-json.log"), 0);
    assert_int_equal(tld_positions_save(path, &p), 0);
    tld_positions_fini(&p);

    struct tld_positions q;
    tld_positions_init(&q);
    assert_int_equal(tld_positions_load(path, &q), 0);
    assert_int_equal(q.spool_seq, 18446744073709551000ULL);
    struct tld_position *b = tld_positions_get(&q, "/var/log/a \"quoted\".log", false);
    assert_non_null(b);
    assert_int_equal(b->ino, 1ULL << 60);
    assert_int_equal(b->off, (1ULL << 53) + 1);
    assert_int_equal(b->head_hash, tld_positions_hash("abc", 3));
    assert_true(tld_positions_has_pattern(&q, "/var/lib/docker/containers/*/*-json.log"));
    tld_positions_del(&q, "/var/log/a \"quoted\".log");
    assert_null(tld_positions_get(&q, "/var/log/a \"quoted\".log", false));
    tld_positions_fini(&q);

    /* damaged files are reported, not half-loaded */
    FILE *f = fopen(path, "w");
    fputs("{\"version\":1,\"spool_seq\":\"12\",\"files\":[{\"path\":\"/x\"}]}", f);
    fclose(f);
    tld_positions_init(&q);
    assert_int_equal(tld_positions_load(path, &q), TLD_EPARSE);
    assert_int_equal(q.n, 0);
    tld_positions_fini(&q);
    unlink(path);
    assert_int_equal(tld_positions_load(path, &q), TLD_ENOTFOUND);
}

static void container_ids_in_paths(void **state)
{
    const char *id = "ddcf65051d806081bff27f4c8edd1b2e4a0f03987673a590f5f19d506e170769";
    char path[512], got[65];
    snprintf(path, sizeof path, "/var/lib/docker/containers/%s/%s-json.log", id, id);
    assert_true(tld_collector_container_id(path, got));
    assert_string_equal(got, id);
    snprintf(path, sizeof path, "/srv/docker/containers/%s/%s-json.log.1", id, id);
    assert_true(tld_collector_container_id(path, got));
    snprintf(path, sizeof path, "/var/lib/docker/containers/%s/other-json.log", id);
    assert_false(tld_collector_container_id(path, got));
    assert_false(tld_collector_container_id("/var/log/syslog", got));
    assert_false(tld_collector_container_id("x", got));
    snprintf(path, sizeof path, "/c/%.63sX/%.63sX-json.log", id, id);
    assert_false(tld_collector_container_id(path, got));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dockerlog_plain_line), cmocka_unit_test(dockerlog_partial_and_escapes),
        cmocka_unit_test(dockerlog_rejects),    cmocka_unit_test(dockerlog_bound_cuts_and_flags),
        cmocka_unit_test(positions_round_trip), cmocka_unit_test(container_ids_in_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
