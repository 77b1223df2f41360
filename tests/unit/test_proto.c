/* Unit tests for src/common/proto: frame headers, field codec, messages, batches, names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/proto.h"

static void header_roundtrip_and_errors(void **state)
{
    uint8_t h[TLD_PROTO_HEADER];
    tld_proto_header_put(h, TLD_MSG_BATCH, 0x00620304);
    assert_memory_equal(h, "TL\x01\x03\x04\x03\x62\x00", 8);
    unsigned type = 0;
    size_t len = 0;
    assert_int_equal(tld_proto_header_parse(h, 8, TLD_PROTO_MAX_PAYLOAD, &type, &len), 0);
    assert_int_equal(type, TLD_MSG_BATCH);
    assert_int_equal(len, 0x00620304);
    /* Over the caller's bound. */
    assert_int_equal(tld_proto_header_parse(h, 8, 1000, &type, &len), TLD_EPROTO);
    /* Not enough bytes yet. */
    assert_int_equal(tld_proto_header_parse(h, 7, 1000, &type, &len), TLD_EAGAIN);
    /* Over the absolute bound even if the caller allows more. */
    tld_proto_header_put(h, TLD_MSG_BATCH, TLD_PROTO_MAX_PAYLOAD + 1);
    assert_int_equal(tld_proto_header_parse(h, 8, SIZE_MAX, &type, &len), TLD_EPROTO);
    /* Plaintext HTTP or a TLS ClientHello is not a frame. */
    assert_int_equal(tld_proto_header_parse("GET / HTTP/1.1", 14, 100, &type, &len), TLD_EPROTO);
    assert_int_equal(
        tld_proto_header_parse("\x16\x03\x01\x02\x00\x01\x00\x01", 8, 100, &type, &len),
        TLD_EPROTO);
    /* Version 2 is refused. */
    assert_int_equal(tld_proto_header_parse("TL\x02\x01\x00\x00\x00\x00", 8, 100, &type, &len),
                     TLD_EPROTO);
}

static void varint_edges(void **state)
{
    static const uint64_t vals[] = {0, 1, 127, 128, 300, 16383, 16384, UINT32_MAX, UINT64_MAX};
    struct tld_sb sb;
    tld_sb_init(&sb, 1000);
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++)
        tld_proto_put_v(&sb, vals[i]);
    struct tld_proto_rd rd = tld_proto_rd_make(sb.p, sb.n);
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++)
        assert_true(tld_proto_get_v(&rd) == vals[i]);
    assert_int_equal(tld_proto_rd_end(&rd), 0);
    tld_sb_fini(&sb);

    /* 11 bytes, and a tenth byte above 1: both too long for 64 bits. */
    static const uint8_t eleven[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                                     0x80, 0x80, 0x80, 0x80, 0x00};
    rd = tld_proto_rd_make(eleven, sizeof eleven);
    tld_proto_get_v(&rd);
    assert_true(rd.bad);
    static const uint8_t big[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    rd = tld_proto_rd_make(big, sizeof big);
    tld_proto_get_v(&rd);
    assert_true(rd.bad);
    /* Truncated. */
    rd = tld_proto_rd_make(big, 3);
    tld_proto_get_v(&rd);
    assert_true(rd.bad);
}

static void strings_bounds(void **state)
{
    struct tld_sb sb;
    tld_sb_init(&sb, 1000);
    tld_proto_put_s(&sb, TLD_SV_LIT("hello"));
    struct tld_proto_rd rd = tld_proto_rd_make(sb.p, sb.n);
    assert_true(tld_sv_eq_cstr(tld_proto_get_s(&rd, 5), "hello"));
    assert_int_equal(tld_proto_rd_end(&rd), 0);
    rd = tld_proto_rd_make(sb.p, sb.n);
    tld_proto_get_s(&rd, 4);
    assert_true(rd.bad);
    /* Length past the end. */
    rd = tld_proto_rd_make(sb.p, sb.n - 1);
    tld_proto_get_s(&rd, 100);
    assert_true(rd.bad);
    /* Left-over bytes make the message invalid. */
    tld_sb_append_char(&sb, 'x');
    rd = tld_proto_rd_make(sb.p, sb.n);
    tld_proto_get_s(&rd, 100);
    assert_false(rd.bad);
    assert_int_equal(tld_proto_rd_end(&rd), TLD_EPARSE);
    tld_sb_fini(&sb);
}

static void hello_welcome_roundtrip(void **state)
{
    struct tld_sb sb;
    tld_sb_init(&sb, 10000);
    struct tld_msg_hello h = {TLD_SV_LIT("web-01"),
                              TLD_SV_LIT("0.1.0"),
                              TLD_SV_LIT("Linux 6.1"),
                              TLD_SV_LIT("web-01.example"),
                              0xdeadbeefcafeULL,
                              5,
                              9};
    tld_msg_hello_put(&sb, &h);
    struct tld_msg_hello g;
    assert_int_equal(tld_msg_hello_get(sb.p, sb.n, &g), 0);
    assert_true(tld_sv_eq(g.name, h.name) && tld_sv_eq(g.hostname, h.hostname));
    assert_true(g.stream == h.stream && g.first_seq == 5 && g.next_seq == 9);
    /* Every prefix is invalid. */
    for (size_t n = 0; n < sb.n; n++)
        assert_int_equal(tld_msg_hello_get(sb.p, n, &g), TLD_EPARSE);
    /* Stream 0 and first > next are refused. */
    tld_sb_reset(&sb);
    h.stream = 0;
    tld_msg_hello_put(&sb, &h);
    assert_int_equal(tld_msg_hello_get(sb.p, sb.n, &g), TLD_EPARSE);
    tld_sb_reset(&sb);
    h.stream = 1;
    h.first_seq = 10;
    tld_msg_hello_put(&sb, &h);
    assert_int_equal(tld_msg_hello_get(sb.p, sb.n, &g), TLD_EPARSE);

    tld_sb_reset(&sb);
    struct tld_msg_welcome w = {TLD_SV_LIT("007"),    123456789, 10, 1024, 1 << 20,
                                TLD_SV_LIT("manager")};
    tld_msg_welcome_put(&sb, &w);
    struct tld_msg_welcome wg;
    assert_int_equal(tld_msg_welcome_get(sb.p, sb.n, &wg), 0);
    assert_true(tld_sv_eq_cstr(wg.agent_id, "007") && wg.last_seq == 123456789);
    assert_true(wg.keepalive_s == 10 && wg.max_batch_events == 1024);
    tld_sb_reset(&sb);
    w.keepalive_s = 0;
    tld_msg_welcome_put(&sb, &w);
    assert_int_equal(tld_msg_welcome_get(sb.p, sb.n, &wg), TLD_EPARSE);
    tld_sb_fini(&sb);
}

static void enroll_and_error_roundtrip(void **state)
{
    struct tld_sb sb;
    tld_sb_init(&sb, 100000);
    struct tld_msg_enroll_req r = {
        TLD_SV_LIT("host"), TLD_SV_LIT("s3cret"), TLD_SV_LIT("-----BEGIN CERTIFICATE REQUEST-----"),
        TLD_SV_LIT("0.1"),  TLD_SV_LIT("Linux"),  TLD_SV_LIT("h")};
    tld_msg_enroll_req_put(&sb, &r);
    struct tld_msg_enroll_req rg;
    assert_int_equal(tld_msg_enroll_req_get(sb.p, sb.n, &rg), 0);
    assert_true(tld_sv_eq_cstr(rg.password, "s3cret"));
    assert_true(tld_sv_eq(rg.csr_pem, r.csr_pem));
    /* A password over its bound makes the request malformed. */
    char longpw[TLD_PROTO_MAX_PASSWORD + 1];
    memset(longpw, 'p', sizeof longpw);
    r.password = tld_sv_make(longpw, sizeof longpw);
    tld_sb_reset(&sb);
    tld_msg_enroll_req_put(&sb, &r);
    assert_int_equal(tld_msg_enroll_req_get(sb.p, sb.n, &rg), TLD_EPARSE);

    tld_sb_reset(&sb);
    struct tld_msg_error e = {TLD_PCODE_BAD_PASSWORD, TLD_SV_LIT("wrong password")};
    tld_msg_error_put(&sb, &e);
    struct tld_msg_error eg;
    assert_int_equal(tld_msg_error_get(sb.p, sb.n, &eg), 0);
    assert_int_equal(eg.code, TLD_PCODE_BAD_PASSWORD);
    assert_true(tld_sv_eq_cstr(eg.reason, "wrong password"));
    assert_string_equal(tld_proto_code_str(TLD_PCODE_REMOVED_AGENT), "agent removed");

    tld_sb_reset(&sb);
    struct tld_msg_enroll_ok ok = {TLD_SV_LIT("001"), TLD_SV_LIT("host"), TLD_SV_LIT("CERT"),
                                   TLD_SV_LIT("CA")};
    tld_msg_enroll_ok_put(&sb, &ok);
    struct tld_msg_enroll_ok og;
    assert_int_equal(tld_msg_enroll_ok_get(sb.p, sb.n, &og), 0);
    assert_true(tld_sv_eq_cstr(og.agent_id, "001") && tld_sv_eq_cstr(og.ca_pem, "CA"));
    tld_sb_fini(&sb);
}

static void batch_roundtrip_and_rules(void **state)
{
    struct tld_batch_writer w;
    tld_batch_writer_init(&w, 200);
    assert_int_equal(tld_batch_writer_add(&w, 5, TLD_SV_LIT("alpha")), 0);
    assert_int_equal(tld_batch_writer_add(&w, 5, TLD_SV_LIT("dup")), TLD_EINVAL);
    assert_int_equal(tld_batch_writer_add(&w, 9, TLD_SV_LIT("")), 0);
    assert_int_equal(tld_batch_writer_add(&w, 0, TLD_SV_LIT("zero")), TLD_EINVAL);
    char big[300];
    memset(big, 'b', sizeof big);
    /* Later records only while under the byte bound. */
    assert_int_equal(tld_batch_writer_add(&w, 10, tld_sv_make(big, sizeof big)), TLD_ELIMIT);
    struct tld_sb out;
    tld_sb_init(&out, TLD_PROTO_MAX_PAYLOAD);
    tld_batch_writer_finish(&w, &out);
    struct tld_batch_iter it;
    assert_int_equal(tld_batch_iter_init(&it, out.p, out.n), 0);
    uint64_t seq;
    struct tld_sv rec;
    assert_int_equal(tld_batch_iter_next(&it, &seq, &rec), 0);
    assert_true(seq == 5 && tld_sv_eq_cstr(rec, "alpha"));
    assert_int_equal(tld_batch_iter_next(&it, &seq, &rec), 0);
    assert_true(seq == 9 && rec.n == 0);
    assert_int_equal(tld_batch_iter_next(&it, &seq, &rec), TLD_ECLOSED);

    /* The first record of a batch may exceed the soft bound. */
    tld_batch_writer_reset(&w);
    assert_int_equal(tld_batch_writer_add(&w, 11, tld_sv_make(big, sizeof big)), 0);

    /* Decreasing sequence numbers on the wire are refused. */
    tld_sb_reset(&out);
    tld_proto_put_v(&out, 2);
    tld_proto_put_v(&out, 7);
    tld_proto_put_s(&out, TLD_SV_LIT("a"));
    tld_proto_put_v(&out, 7);
    tld_proto_put_s(&out, TLD_SV_LIT("b"));
    assert_int_equal(tld_batch_iter_init(&it, out.p, out.n), 0);
    assert_int_equal(tld_batch_iter_next(&it, &seq, &rec), 0);
    assert_int_equal(tld_batch_iter_next(&it, &seq, &rec), TLD_EPARSE);
    /* Count 0 and trailing bytes. */
    tld_sb_reset(&out);
    tld_proto_put_v(&out, 0);
    assert_int_equal(tld_batch_iter_init(&it, out.p, out.n), TLD_EPARSE);
    tld_sb_reset(&out);
    tld_proto_put_v(&out, 1);
    tld_proto_put_v(&out, 1);
    tld_proto_put_s(&out, TLD_SV_LIT("a"));
    tld_sb_append_char(&out, 0);
    assert_int_equal(tld_batch_iter_init(&it, out.p, out.n), 0);
    assert_int_equal(tld_batch_iter_next(&it, &seq, &rec), 0);
    assert_int_equal(tld_batch_iter_next(&it, &seq, &rec), TLD_EPARSE);
    tld_sb_fini(&out);
    tld_batch_writer_fini(&w);
}

static void batch_count_bound(void **state)
{
    struct tld_batch_writer w;
    tld_batch_writer_init(&w, TLD_PROTO_MAX_PAYLOAD);
    for (uint64_t i = 1; i <= TLD_PROTO_MAX_BATCH; i++)
        assert_int_equal(tld_batch_writer_add(&w, i, TLD_SV_LIT("x")), 0);
    assert_int_equal(tld_batch_writer_add(&w, TLD_PROTO_MAX_BATCH + 1, TLD_SV_LIT("x")),
                     TLD_ELIMIT);
    tld_batch_writer_fini(&w);
}

static void names(void **state)
{
    assert_true(tld_proto_name_valid(TLD_SV_LIT("web-01.example_A")));
    assert_false(tld_proto_name_valid(TLD_SV_LIT("")));
    assert_false(tld_proto_name_valid(TLD_SV_LIT("..")));
    assert_false(tld_proto_name_valid(TLD_SV_LIT("a b")));
    assert_false(tld_proto_name_valid(TLD_SV_LIT("a/b")));
    assert_false(tld_proto_name_valid(TLD_SV_LIT("caf\xc3\xa9")));
    char n[TLD_PROTO_MAX_NAME + 1];
    memset(n, 'a', sizeof n);
    assert_true(tld_proto_name_valid(tld_sv_make(n, TLD_PROTO_MAX_NAME)));
    assert_false(tld_proto_name_valid(tld_sv_make(n, sizeof n)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(header_roundtrip_and_errors),
        cmocka_unit_test(varint_edges),
        cmocka_unit_test(strings_bounds),
        cmocka_unit_test(hello_welcome_roundtrip),
        cmocka_unit_test(enroll_and_error_roundtrip),
        cmocka_unit_test(batch_roundtrip_and_rules),
        cmocka_unit_test(batch_count_bound),
        cmocka_unit_test(names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
