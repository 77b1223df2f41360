/* Unit tests for src/common: string views/builders, arena bounds, diagnostics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/diag.h"
#include "common/log.h"
#include "common/str.h"

static void sb_truncates_at_max(void **state)
{
    struct tld_sb sb;
    tld_sb_init(&sb, 5);
    tld_sb_append_cstr(&sb, "abc");
    assert_false(sb.truncated);
    tld_sb_append_cstr(&sb, "defg");
    assert_true(sb.truncated);
    assert_string_equal(tld_sb_cstr(&sb), "abcde");
    assert_int_equal(sb.n, 5);
    tld_sb_reset(&sb);
    assert_false(sb.truncated);
    tld_sb_printf(&sb, "%d-%s", 42, "xyzw");
    assert_string_equal(tld_sb_cstr(&sb), "42-xy");
    tld_sb_fini(&sb);
}

static void sb_printf_large(void **state)
{
    struct tld_sb sb;
    tld_sb_init(&sb, 100000);
    char big[1000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    tld_sb_printf(&sb, "<%s>", big);
    assert_int_equal(sb.n, 1001);
    assert_int_equal(sb.p[0], '<');
    assert_int_equal(sb.p[1000], '>');
    size_t n;
    char *s = tld_sb_steal(&sb, &n);
    assert_int_equal(n, 1001);
    assert_null(sb.p);
    free(s);
}

static void sv_helpers(void **state)
{
    unsigned long long v;
    assert_true(tld_sv_to_u64(TLD_SV_LIT("12345"), 99999, &v));
    assert_int_equal(v, 12345);
    assert_false(tld_sv_to_u64(TLD_SV_LIT("123456"), 99999, &v));
    assert_false(tld_sv_to_u64(TLD_SV_LIT("12a"), 99999, &v));
    assert_false(tld_sv_to_u64(TLD_SV_LIT(""), 99999, &v));
    assert_true(tld_sv_to_u64(TLD_SV_LIT("18446744073709551615"), ~0ULL, &v));
    assert_false(tld_sv_to_u64(TLD_SV_LIT("18446744073709551616"), ~0ULL, &v));
    struct tld_sv t = tld_sv_trim(TLD_SV_LIT(" \t a b \r\n"));
    assert_true(tld_sv_eq_cstr(t, "a b"));
    assert_true(tld_sv_eq_nocase(TLD_SV_LIT("AbC"), TLD_SV_LIT("aBc")));
    assert_int_equal(tld_sv_index(TLD_SV_LIT("a:b"), ':'), 1);
    assert_int_equal(tld_sv_index(TLD_SV_LIT("ab"), ':'), -1);
}

/* Joining the pieces with the separator gives the text back, so every byte is in one piece. */
static void sv_pieces_cover_the_text(void **state)
{
    const char *texts[] = {"", ",", "a", "a,,b", ",a,", "abc,de,f,,"};
    for (size_t k = 0; k < sizeof texts / sizeof *texts; k++) {
        struct tld_sv s = tld_sv_of(texts[k]), piece;
        char joined[32] = "";
        unsigned n = 0, commas = 0;
        for (size_t i = 0; i < s.n; i++)
            commas += s.p[i] == ',';
        for (size_t at = 0; tld_sv_next_piece(s, ',', &at, &piece); n++) {
            assert_null(memchr(piece.p, ',', piece.n));
            if (n)
                strcat(joined, ",");
            strncat(joined, piece.p, piece.n);
        }
        assert_int_equal(n, commas + 1);
        assert_string_equal(joined, texts[k]);
    }
}

/* Exactly 2n lower-case hex digits decode; other lengths, upper case and non-hex do not. */
static void sv_unhex_strict(void **state)
{
    (void)state;
    uint8_t out[4] = {0};
    assert_true(tld_sv_unhex(TLD_SV_LIT("00ff7a10"), out, 4));
    assert_int_equal(out[0], 0x00);
    assert_int_equal(out[1], 0xff);
    assert_int_equal(out[2], 0x7a);
    assert_int_equal(out[3], 0x10);
    assert_true(tld_sv_unhex(TLD_SV_LIT(""), out, 0));
    assert_false(tld_sv_unhex(TLD_SV_LIT("00ff7a1"), out, 4));
    assert_false(tld_sv_unhex(TLD_SV_LIT("00ff7a100"), out, 4));
    assert_false(tld_sv_unhex(TLD_SV_LIT("00FF7a10"), out, 4));
    assert_false(tld_sv_unhex(TLD_SV_LIT("00fg7a10"), out, 4));
    assert_false(tld_sv_unhex(TLD_SV_LIT("00 f7a10"), out, 4));
}

static void fnv1a_known_vectors(void **state)
{
    (void)state;
    /* Published FNV-1a 64 vectors, from the published offset basis. */
    const uint64_t basis = 0xcbf29ce484222325ull;
    assert_true(tld_fnv1a(basis, NULL, 0) == 0xcbf29ce484222325ull);
    assert_true(tld_fnv1a(basis, "a", 1) == 0xaf63dc4c8601ec8cull);
    assert_true(tld_fnv1a(basis, "foobar", 6) == 0x85944171f73967e8ull);
    /* Hashing in pieces continues from the seed it is given. */
    assert_true(tld_fnv1a(tld_fnv1a(basis, "foo", 3), "bar", 3) == 0x85944171f73967e8ull);
    /* The project's own seed: hashes kept on disk were made from it, so it must not move. */
    assert_true(tld_fnv1a(TLD_FNV1A_SEED, NULL, 0) == 0x14650fb0739d0383ull);
    assert_true(tld_fnv1a(TLD_FNV1A_SEED, "a", 1) == 0x44bd8ad473cd9906ull);
    assert_true(tld_fnv1a(TLD_FNV1A_SEED, "foobar", 6) == 0x88fad7c0a8ff07f2ull);
}

static void arena_bound_and_reset(void **state)
{
    struct tld_arena a;
    tld_arena_init(&a, 64, 256);
    void *p1 = tld_arena_alloc(&a, 100);
    assert_non_null(p1);
    assert_int_equal((uintptr_t)p1 % 16, 0);
    assert_non_null(tld_arena_alloc(&a, 100));
    assert_null(tld_arena_alloc(&a, 100)); /* 112+112+112 > 256 */
    tld_arena_reset(&a);
    assert_int_equal(a.used, 0);
    struct tld_sv d = tld_arena_dup(&a, "hello", 5);
    assert_string_equal(d.p, "hello");
    tld_arena_fini(&a);
}

static void diag_formats_location(void **state)
{
    struct tld_diag d;
    tld_diag_init(&d);
    tld_diag_error(&d, "rules.xml", 12, "unknown element <%s>", "foo");
    tld_diag_warn(&d, "x.xml", 0, "hmm");
    assert_int_equal(d.errors, 1);
    assert_int_equal(d.warnings, 1);
    assert_string_equal(d.msgs[0].text, "rules.xml:12: error: unknown element <foo>");
    assert_string_equal(d.msgs[1].text, "x.xml: warning: hmm");
    tld_diag_fini(&d);
}

static unsigned count_lines(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[512];
    unsigned n = 0;
    while (fgets(line, sizeof line, f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

/* One call site flooding: a burst passes, the rest is counted; the log rotates by size. */
static void log_rate_limited_and_rotated(void **state)
{
    char dir[] = "/tmp/tld-log-XXXXXX", path[64], old[80];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/x.log", dir);
    struct tld_log log;
    assert_int_equal(tld_log_open(&log, "test", path, TLD_LOG_INFO), 0);
    tld_log_set_rotation(&log, 0, 0);
    for (int i = 0; i < 1000; i++)
        tld_log_warn(&log, "refused %d", i);
    tld_log_info(&log, "another site");
    unsigned passed = count_lines(path, "refused"); /* a slow machine refills a token or two */
    assert_true(passed >= TLD_LOG_BURST && passed <= TLD_LOG_BURST + 2);
    assert_int_equal(count_lines(path, "another site"), 1);
    tld_log_fini(&log);

    assert_int_equal(tld_log_open(&log, "test", path, TLD_LOG_INFO), 0);
    tld_log_set_rotation(&log, 2000, 2);
    for (int i = 0; i < 200; i++) /* distinct sites are not limited: two formats alternate */
        (i % 2) ? tld_log_info(&log, "line %d of some length to fill the file", i)
                : tld_log_info(&log, "row %d of some length to fill the file", i);
    tld_log_fini(&log);
    snprintf(old, sizeof old, "%s.1", path);
    assert_int_equal(access(old, F_OK), 0);
    snprintf(old, sizeof old, "%s.2", path);
    assert_int_equal(access(old, F_OK), 0);
    snprintf(old, sizeof old, "%s.3", path);
    assert_int_not_equal(access(old, F_OK), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size < 2200);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sb_truncates_at_max),
        cmocka_unit_test(sb_printf_large),
        cmocka_unit_test(sv_helpers),
        cmocka_unit_test(sv_pieces_cover_the_text),
        cmocka_unit_test(sv_unhex_strict),
        cmocka_unit_test(fnv1a_known_vectors),
        cmocka_unit_test(arena_bound_and_reset),
        cmocka_unit_test(diag_formats_location),
        cmocka_unit_test(log_rate_limited_and_rotated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
