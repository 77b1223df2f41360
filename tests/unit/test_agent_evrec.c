/* Unit tests for the event record (src/common/evrec.c): round trip, strict decoding, JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/err.h"
#include "common/evrec.h"

static struct tld_evrec full_record(struct tld_evrec_label *labels)
{
    labels[0] =
        (struct tld_evrec_label){TLD_SV_LIT("com.docker.compose.project"), TLD_SV_LIT("shop")};
    labels[1] = (struct tld_evrec_label){TLD_SV_LIT("tier"), TLD_SV_LIT("front \"end\"")};
    struct tld_evrec r = {
        .queue = '1',
        .location = TLD_SV_LIT("/var/lib/docker/containers/abc/abc-json.log"),
        .text = TLD_SV_LIT("GET /x HTTP/1.1\t\"quoted\"\\"),
        .read_time_ns = 1795707399926312375LL,
        .flags = TLD_EVREC_TRUNCATED | TLD_EVREC_CONTAINER | TLD_EVREC_DOCKER_LOG |
                 TLD_EVREC_FILE_POS | TLD_EVREC_DOCKER_CURSOR,
        .partials = 7,
        .container = {.id = TLD_SV_LIT("abc"),
                      .name = TLD_SV_LIT("web"),
                      .image = TLD_SV_LIT("nginx:latest"),
                      .compose_project = TLD_SV_LIT("shop"),
                      .compose_service = TLD_SV_LIT("front"),
                      .labels = labels,
                      .nlabels = 2},
        .docker_stream = TLD_SV_LIT("stdout"),
        .docker_time = TLD_SV_LIT("2026-11-26T15:36:42.123456789Z"),
        .file_dev = 2049,
        .file_ino = 1234567890123ULL,
        .file_offset = (1ULL << 40) + 5,
        .docker_cursor_ns = 1795707400254114947LL,
        .docker_event_hash = 0x0123456789abcdefULL,
    };
    return r;
}

static void round_trip(void **state)
{
    struct tld_evrec_label labels[2];
    struct tld_evrec r = full_record(labels);
    struct tld_sb sb;
    tld_sb_init(&sb, TLD_EVREC_MAX_ENCODED);
    assert_int_equal(tld_evrec_encode(&r, &sb), 0);

    struct tld_evrec d;
    struct tld_evrec_labels lb;
    assert_int_equal(tld_evrec_decode(sb.p, sb.n, &d, &lb), 0);
    assert_int_equal(d.queue, '1');
    assert_true(tld_sv_eq(d.location, r.location));
    assert_true(tld_sv_eq(d.text, r.text));
    assert_int_equal(d.read_time_ns, r.read_time_ns);
    assert_int_equal(d.flags, r.flags);
    assert_int_equal(d.partials, 7);
    assert_true(tld_sv_eq(d.container.id, r.container.id));
    assert_true(tld_sv_eq(d.container.name, r.container.name));
    assert_true(tld_sv_eq(d.container.image, r.container.image));
    assert_true(tld_sv_eq(d.container.compose_project, r.container.compose_project));
    assert_true(tld_sv_eq(d.container.compose_service, r.container.compose_service));
    assert_int_equal(d.container.nlabels, 2);
    assert_true(tld_sv_eq(d.container.labels[1].value, labels[1].value));
    assert_true(tld_sv_eq(d.docker_stream, r.docker_stream));
    assert_true(tld_sv_eq(d.docker_time, r.docker_time));
    assert_int_equal(d.file_dev, 2049);
    assert_int_equal(d.file_ino, r.file_ino);
    assert_int_equal(d.file_offset, r.file_offset);
    assert_int_equal(d.docker_cursor_ns, r.docker_cursor_ns);
    assert_int_equal(d.docker_event_hash, r.docker_event_hash);
    tld_sb_fini(&sb);
}

static void minimal_record_is_small(void **state)
{
    struct tld_evrec r = {.queue = '1', .location = TLD_SV_LIT("x"), .text = TLD_SV_LIT("y")};
    struct tld_sb sb;
    tld_sb_init(&sb, 100);
    assert_int_equal(tld_evrec_encode(&r, &sb), 0);
    assert_int_equal(sb.n, 1 + 1 + 2 + 8 + 2 + 2);
    struct tld_evrec d;
    struct tld_evrec_labels lb;
    assert_int_equal(tld_evrec_decode(sb.p, sb.n, &d, &lb), 0);
    assert_true(tld_sv_eq_cstr(d.text, "y"));
    tld_sb_fini(&sb);
}

/* The source kind travels in the header; a file record keeps the previous release's bytes, and
 * a record that does not say is a file line. */
static void source_kind_travels_in_the_header(void **state)
{
    struct tld_evrec_labels lb;
    struct tld_evrec d;
    struct tld_sb sb;
    tld_sb_init(&sb, 100);
    for (unsigned k = 0; k < TLD_SOURCE_COUNT; k++) {
        struct tld_evrec r = {.queue = '1',
                              .source = (enum tld_source)k,
                              .location = TLD_SV_LIT("x"),
                              .text = TLD_SV_LIT("y")};
        tld_sb_reset(&sb);
        assert_int_equal(tld_evrec_encode(&r, &sb), 0);
        assert_int_equal(sb.n, 16 + (k != TLD_SOURCE_FILE));
        assert_int_equal(tld_evrec_decode(sb.p, sb.n, &d, &lb), 0);
        assert_int_equal(d.source, k);
        assert_int_equal(!!(d.flags & TLD_EVREC_SOURCE), k != TLD_SOURCE_FILE);
    }
    /* The last encoding is an own event: its kind byte may not say "file" or an unknown kind. */
    sb.p[sb.n - 1] = TLD_SOURCE_FILE;
    assert_int_equal(tld_evrec_decode(sb.p, sb.n, &d, &lb), TLD_EPARSE);
    sb.p[sb.n - 1] = TLD_SOURCE_COUNT;
    assert_int_equal(tld_evrec_decode(sb.p, sb.n, &d, &lb), TLD_EPARSE);
    /* Without the flag bit and the byte it is a record of the previous release: a file line. */
    sb.p[2] &= (char)~TLD_EVREC_SOURCE;
    assert_int_equal(tld_evrec_decode(sb.p, sb.n - 1, &d, &lb), 0);
    assert_int_equal(d.source, TLD_SOURCE_FILE);
    /* A kind out of range is refused on encode. */
    struct tld_evrec bad = {.queue = '1', .source = TLD_SOURCE_ANY, .location = TLD_SV_LIT("x")};
    tld_sb_reset(&sb);
    assert_int_equal(tld_evrec_encode(&bad, &sb), TLD_EINVAL);
    /* The JSON rendering names a kind other than file. */
    struct tld_evrec dk = {.queue = '1', .source = TLD_SOURCE_DOCKER, .location = TLD_SV_LIT("x")};
    tld_sb_reset(&sb);
    tld_evrec_to_json(&dk, 1, &sb);
    assert_non_null(strstr(tld_sb_cstr(&sb), "\"queue\":\"1\",\"source\":\"docker\","));
    tld_sb_fini(&sb);
}

/* Every prefix of a valid encoding and every extension of it must be refused. */
static void decode_is_strict(void **state)
{
    struct tld_evrec_label labels[2];
    struct tld_evrec r = full_record(labels);
    struct tld_sb sb;
    tld_sb_init(&sb, TLD_EVREC_MAX_ENCODED);
    assert_int_equal(tld_evrec_encode(&r, &sb), 0);
    struct tld_evrec d;
    struct tld_evrec_labels lb;
    for (size_t n = 0; n < sb.n; n++)
        assert_int_equal(tld_evrec_decode(sb.p, n, &d, &lb), TLD_EPARSE);
    tld_sb_append_char(&sb, 0);
    assert_int_equal(tld_evrec_decode(sb.p, sb.n, &d, &lb), TLD_EPARSE);
    sb.n--;
    /* unknown flag bit */
    sb.p[3] = (char)0x80;
    assert_int_equal(tld_evrec_decode(sb.p, sb.n, &d, &lb), TLD_EPARSE);
    /* wrong version */
    sb.p[3] = 0;
    sb.p[0] = 2;
    assert_int_equal(tld_evrec_decode(sb.p, sb.n, &d, &lb), TLD_EPARSE);
    tld_sb_fini(&sb);

    /* A location length over its bound is refused even if the bytes are there. */
    struct tld_sb big;
    tld_sb_init(&big, 10000);
    unsigned char hdr[12] = {1, '1', 0, 0};
    tld_sb_append(&big, hdr, sizeof hdr);
    tld_sb_append(&big, "\x81\x20", 2); /* varint 4097 */
    for (int i = 0; i < 4097; i++)
        tld_sb_append_char(&big, 'a');
    tld_sb_append_char(&big, 0);
    assert_int_equal(tld_evrec_decode(big.p, big.n, &d, &lb), TLD_EPARSE);
    /* overlong varint: 11 continuation bytes */
    tld_sb_reset(&big);
    tld_sb_append(&big, hdr, sizeof hdr);
    for (int i = 0; i < 11; i++)
        tld_sb_append_char(&big, (char)0x80);
    tld_sb_append_char(&big, 0);
    assert_int_equal(tld_evrec_decode(big.p, big.n, &d, &lb), TLD_EPARSE);
    tld_sb_fini(&big);
}

static void encode_refuses_out_of_bounds(void **state)
{
    struct tld_sb sb;
    tld_sb_init(&sb, TLD_EVREC_MAX_ENCODED);
    char *loc = malloc(TLD_EVREC_MAX_LOCATION + 1);
    memset(loc, 'l', TLD_EVREC_MAX_LOCATION + 1);
    struct tld_evrec r = {.queue = '1', .location = {loc, TLD_EVREC_MAX_LOCATION + 1}};
    assert_int_equal(tld_evrec_encode(&r, &sb), TLD_EINVAL);
    r.location.n = TLD_EVREC_MAX_LOCATION;
    assert_int_equal(tld_evrec_encode(&r, &sb), 0);
    r.flags = 0x100;
    assert_int_equal(tld_evrec_encode(&r, &sb), TLD_EINVAL);
    free(loc);

    struct tld_evrec_label many[TLD_EVREC_MAX_LABELS + 1];
    for (unsigned i = 0; i <= TLD_EVREC_MAX_LABELS; i++)
        many[i] = (struct tld_evrec_label){TLD_SV_LIT("k"), TLD_SV_LIT("v")};
    struct tld_evrec c = {.queue = '1', .flags = TLD_EVREC_CONTAINER};
    c.container.labels = many;
    c.container.nlabels = TLD_EVREC_MAX_LABELS + 1;
    assert_int_equal(tld_evrec_encode(&c, &sb), TLD_EINVAL);
    c.container.nlabels = TLD_EVREC_MAX_LABELS;
    assert_int_equal(tld_evrec_encode(&c, &sb), 0);

    /* A builder too small leaves its content unchanged and says so. */
    struct tld_sb small;
    tld_sb_init(&small, 8);
    struct tld_evrec m = {.queue = '1', .text = TLD_SV_LIT("hello world")};
    assert_int_equal(tld_evrec_encode(&m, &small), TLD_ELIMIT);
    assert_int_equal(small.n, 0);
    tld_sb_fini(&small);
    tld_sb_fini(&sb);
}

static void json_rendering(void **state)
{
    struct tld_evrec_label labels[2];
    struct tld_evrec r = full_record(labels);
    struct tld_sb sb;
    tld_sb_init(&sb, 1 << 20);
    tld_evrec_to_json(&r, 42, &sb);
    cJSON *j = cJSON_Parse(sb.p);
    assert_non_null(j);
    assert_int_equal(cJSON_GetObjectItem(j, "seq")->valuedouble, 42);
    assert_string_equal(cJSON_GetObjectItem(j, "text")->valuestring,
                        "GET /x HTTP/1.1\t\"quoted\"\\");
    assert_string_equal(cJSON_GetObjectItem(j, "read_time")->valuestring,
                        "2026-11-26T15:36:39.926312375Z");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "truncated")));
    cJSON *c = cJSON_GetObjectItem(j, "container");
    assert_string_equal(cJSON_GetObjectItem(c, "name")->valuestring, "web");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(c, "image"), "name")->valuestring,
                        "nginx:latest");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(c, "labels"), "tier")->valuestring,
                        "front \"end\"");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(c, "compose"), "service")->valuestring, "front");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(j, "docker"), "stream")->valuestring, "stdout");
    cJSON_Delete(j);
    tld_sb_fini(&sb);
}

static void json_escapes_bad_utf8_and_controls(void **state)
{
    struct tld_sb sb;
    tld_sb_init(&sb, 1000);
    const char in[] = "a\x01\xc3\xa9\xff\xe2\x82\x00z\xf0\x9f\x98\x80";
    tld_evrec_json_string(&sb, tld_sv_make(in, sizeof in - 1));
    assert_string_equal(sb.p, "\"a\\u0001\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\\u0000z"
                              "\xf0\x9f\x98\x80\"");
    /* overlong encoding and a surrogate are not UTF-8 either */
    tld_sb_reset(&sb);
    tld_evrec_json_string(&sb, TLD_SV_LIT("\xc0\xaf\xed\xa0\x80"));
    assert_string_equal(sb.p, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
    tld_sb_fini(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(minimal_record_is_small),
        cmocka_unit_test(source_kind_travels_in_the_header),
        cmocka_unit_test(decode_is_strict),
        cmocka_unit_test(encode_refuses_out_of_bounds),
        cmocka_unit_test(json_rendering),
        cmocka_unit_test(json_escapes_bad_utf8_and_controls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
