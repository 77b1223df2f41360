/*
 * Unit tests for the store writer's JSON reader (src/store/jtree.c): whatever it accepts, cJSON
 * reads the same way, and flattening its tree gives exactly the columns, time and key/value
 * pairs that flattening cJSON's tree gives. Checked on the store corpus, on hand-written odd
 * lines and on many random mutations of corpus lines (bytes flipped, cut, inserted).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/err.h"
#include "store/flatten.h"
#include "store/jtree.h"
#include "test_store_corpus.h"

struct counts {
    unsigned taken, refused;
};

static void same_flat(const struct tld_flat *a, const struct tld_flat *b)
{
    assert_int_equal(a->ts_found, b->ts_found);
    if (a->ts_found)
        assert_int_equal(a->ts_ms, b->ts_ms);
    assert_int_equal(a->has_level, b->has_level);
    if (a->has_level)
        assert_int_equal(a->level, b->level);
    for (int i = 0; i < TLD_COL_COUNT; i++) {
        assert_int_equal(a->col[i].p != NULL, b->col[i].p != NULL);
        if (a->col[i].p) {
            assert_int_equal(a->col[i].n, b->col[i].n);
            assert_memory_equal(a->col[i].p, b->col[i].p, a->col[i].n);
        }
    }
    assert_int_equal(a->npairs, b->npairs);
    assert_int_equal(a->ndata, b->ndata);
    assert_int_equal(a->nset, b->nset);
    for (size_t i = 0; i < a->npairs; i++) {
        struct tld_sv ka = tld_flat_key(a, i), kb = tld_flat_key(b, i);
        struct tld_sv va = tld_flat_value(a, i), vb = tld_flat_value(b, i);
        assert_int_equal(ka.n, kb.n);
        assert_memory_equal(ka.p, kb.p, ka.n);
        assert_int_equal(va.n, vb.n);
        assert_memory_equal(va.p, vb.p, va.n);
    }
}

/* The reader on `p`: refused, or the same as cJSON in every flattened respect. */
static void check_line(const char *p, size_t n, struct counts *c)
{
    struct tld_jtree t;
    tld_jtree_init(&t);
    struct tld_flat fj, fc;
    tld_flat_init(&fj);
    tld_flat_init(&fc);
    int rc = tld_jtree_parse(&t, p, n);
    assert_true(rc == 0 || rc == TLD_EPARSE);
    if (rc) {
        c->refused++;
    } else {
        c->taken++;
        cJSON *root = cJSON_ParseWithLength(p, n);
        assert_non_null(root); /* accepted by the reader: cJSON must accept it too */
        assert_int_equal(cJSON_IsObject(root), t.nodes[0].type == TLD_J_OBJECT);
        if (cJSON_IsObject(root)) {
            assert_int_equal(tld_flat_jtree(&fj, &t), 0);
            assert_int_equal(tld_flat_alert(&fc, root), 0);
            same_flat(&fj, &fc);
        }
        cJSON_Delete(root);
    }
    tld_flat_fini(&fj);
    tld_flat_fini(&fc);
    tld_jtree_fini(&t);
}

static void corpus_lines(void **state)
{
    (void)state;
    struct counts c = {0};
    uint64_t seed = 7;
    for (unsigned i = 0; i < 3000; i++) {
        char *a = corpus_alert(&seed, i);
        check_line(a, strlen(a), &c);
        free(a);
    }
    /* Corpus alerts are plain: the reader must take them all (that is its point). */
    assert_int_equal(c.refused, 0);
}

static void odd_lines(void **state)
{
    (void)state;
    static const char *const lines[] = {
        "{}",
        "[]",
        "\"just a string\"",
        "42",
        "null",
        "",
        "   ",
        "{\"a\":1}trailing",
        "{\"rule\":{\"level\":12.0,\"id\":\"5710\"},\"data\":{\"x\":[1,2.5,true,false,null,\"s\"]}"
        "}",
        "{\"rule\":{\"level\":1e3},\"data\":{\"n\":-0,\"m\":1E-7,\"big\":123456789012345678901}}",
        "{\"data\":{\"a\":{\"b\":{\"c\":[[1,[2]],{\"d\":3}]}}}}",
        "{\"data\":{\"k\":\"v\",\"k\":\"w\"},\"data\":{\"z\":1}}",
        "{\"timestamp\":5,\"@timestamp\":\"2023-05-12T17:12:15.875+0300\"}",
        "{\"timestamp\":\"2023-05-12T17:12:15.875Z\",\"data\":{\"e\":\"a\\\"b\\\\c\\/d\\n\\t\"}}",
        "{\"data\":{\"u\":\"caf\\u00e9\"}}",
        "{\"data\":{\"nul\":\"a\\u0000b\"}}",
        "{\"data\":{\"bad\":\"\\x\"}}",
        "{\"data\":{\"ctl\":\"a\x01\x1f"
        "b\"}}",
        "\xEF\xBB\xBF{\"a\":1}",
        "{\"a\":+1}",
        "{\"a\":1.}",
        "{\"a\":.5}",
        "{\"a\":01}",
        "{\"a\":1e}",
        "{\"a\":-}",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{\"a\":[1,]}",
        "{\"a\":tru}",
        "{\"a\":\"unterminated}",
        "{\x01\"a\"\x02:\x03\"b\"\x04}",
        "{\"data\":{\"d.o.t\":{\"x\":1}}}",
        /* Zone suffixes cut short or too long (one was read past its end). */
        "{\"timestamp\":\"2023-05-09T14:41:31.0331030-\"}",
        "{\"timestamp\":\"2023-05-09T14:41:31+\"}",
        "{\"timestamp\":\"2023-05-09T14:41:31+03\"}",
        "{\"timestamp\":\"2023-05-09T14:41:31+03:\"}",
        "{\"timestamp\":\"2023-05-09T14:41:31+03:001\"}",
        "{\"timestamp\":\"2023-05-09T14:41:31+03x00\"}",
        "{\"timestamp\":\"2023-05-09T14:41:31-03:30\"}",
        /* Escapes next to the quotes, in keys, in a row, in empty neighbours. */
        "{\"data\":{\"k\\\"ey\":\"\\\\\",\"x\":\"\\\"\"}}",
        "{\"data\":{\"a\":\"\\\\\\\\\\\\\",\"b\":\"q\",\"c\":\"\",\"d\":\"\\/\"}}",
        "{\"data\":{\"e\":\"\\ty\\n\",\"f\":\"\\\"\\\"\\\"\"}}",
    };
    struct counts c = {0};
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        check_line(lines[i], strlen(lines[i]), &c);
    /* A NUL inside a string (cJSON stops there), and one after the line's last quote. */
    static const char nul_in[] = "{\"data\":{\"z\":\"a\0b\",\"y\":\"c\"}}";
    static const char nul_after[] = "{\"data\":{\"z\":\"a\\nb\"}} \0";
    check_line(nul_in, sizeof(nul_in) - 1, &c);
    check_line(nul_after, sizeof(nul_after) - 1, &c);
    /* One long value of escapes and plain runs: read (and quickly) as cJSON reads it. */
    size_t n = 0, cap = 64 + 20000 * 4;
    char *big = malloc(cap);
    n += (size_t)snprintf(big, cap, "{\"data\":{\"v\":\"");
    for (int i = 0; i < 20000; i++)
        n += (size_t)snprintf(big + n, cap - n, i % 3 ? "\\n" : "ab");
    n += (size_t)snprintf(big + n, cap - n, "\",\"w\":\"x\"}}");
    unsigned before = c.taken;
    check_line(big, n, &c);
    assert_int_equal(c.taken, before + 1);
    free(big);
    assert_true(c.taken > 10);
    assert_true(c.refused > 5);
}

/* Alert times with each zone suffix the writer takes, and cut or malformed ones refused. */
static void zone_suffixes(void **state)
{
    (void)state;
    static const char *const good[] = {"2023-05-12T17:12:15.875+0300",
                                       "2023-05-12T17:12:15.875+03:00", "2023-05-12T14:12:15.875Z",
                                       "2023-05-12T14:12:15.875", "2023-05-12T11:42:15.875-02:30"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        int64_t ms = 0;
        assert_int_equal(tld_flat_parse_time(good[i], &ms), 0);
        assert_int_equal(ms, 1683900735875);
    }
    static const char *const bad[] = {
        "2023-05-12T17:12:15.875-",      "2023-05-12T17:12:15+",       "2023-05-12T17:12:15+03",
        "2023-05-12T17:12:15+03:",       "2023-05-12T17:12:15+03:001", "2023-05-12T17:12:15+03x00",
        "2023-05-12T17:12:15.875+24:00", "2023-05-12T17:12:15ZZ"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        /* Exactly sized on the heap, so a read past the end is caught by ASan. */
        char *copy = strdup(bad[i]);
        int64_t ms;
        assert_int_equal(tld_flat_parse_time(copy, &ms), TLD_EPARSE);
        free(copy);
    }
}

/* Deep nesting: refused past the reader's bound, read up to it. */
static void deep_lines(void **state)
{
    (void)state;
    for (int depth = TLD_JTREE_MAX_DEPTH - 2; depth <= TLD_JTREE_MAX_DEPTH + 2; depth++) {
        char *s = malloc((size_t)depth * 8 + 64);
        size_t n = (size_t)sprintf(s, "{\"data\":");
        for (int i = 0; i < depth; i++)
            n += (size_t)sprintf(s + n, "[");
        for (int i = 0; i < depth; i++)
            n += (size_t)sprintf(s + n, "]");
        n += (size_t)sprintf(s + n, "}");
        struct counts c = {0};
        check_line(s, n, &c);
        assert_int_equal(c.taken, depth <= TLD_JTREE_MAX_DEPTH);
        free(s);
    }
}

static void mutated_lines(void **state)
{
    (void)state;
    struct counts c = {0};
    uint64_t seed = 11, rnd = 99;
    static const char pool[] = "{}[]\",:\\ u0123456789.eE+-tfnal\x01\x7f\xc3\xa9";
    for (unsigned i = 0; i < 20000; i++) {
        char *a = corpus_alert(&seed, i % 500);
        size_t n = strlen(a);
        unsigned edits = 1 + corpus_rand(&rnd) % 3;
        for (unsigned e = 0; e < edits && n; e++) {
            size_t at = corpus_rand(&rnd) % n;
            char ch = pool[corpus_rand(&rnd) % (sizeof(pool) - 1)];
            switch (corpus_rand(&rnd) % 3) {
            case 0:
                a[at] = ch;
                break;
            case 1:
                n = at; /* cut */
                break;
            default:
                memmove(a + at, a + at + 1, n - at - 1);
                a[n - 1] = ch;
            }
        }
        check_line(a, n, &c);
        free(a);
    }
    assert_true(c.taken > 1000);
    assert_true(c.refused > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(corpus_lines),  cmocka_unit_test(odd_lines),
        cmocka_unit_test(deep_lines),    cmocka_unit_test(mutated_lines),
        cmocka_unit_test(zone_suffixes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
