/*
 * Unit tests for the pattern engines (src/engine/regex/) against the compatibility spec
 * regex.md: every OS_Regex test vector of §4.7 (captures and end positions), every row of the
 * §4.5 tables, the consequences listed in §4.6, the OS_Match rules and examples of §3, PCRE2 (§5),
 * the group matcher (§6), compile errors, and an OS_Match cross-check against a naive model.
 *
 * End positions: the spec gives Wazuh's R; the API reports next = R+1 (R at the end of the
 * subject stays, R = -1 gives 0). Expected values below are the spec's R.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "engine/regex/regex.h"

#define NOMATCH (-100L)
#define MAXC    4

static struct tld_rx_scratch *scratch;

static int setup(void **state)
{
    scratch = tld_rx_scratch_new();
    return scratch ? 0 : -1;
}

static int teardown(void **state)
{
    tld_rx_scratch_free(scratch);
    return 0;
}

static struct tld_rx *compile_ok(enum tld_rx_kind kind, const char *pat, unsigned flags)
{
    struct tld_rx *rx = NULL;
    char err[256];
    int rc = tld_rx_compile(kind, pat, strlen(pat), flags, &rx, err, sizeof err);
    if (rc != 0)
        fail_msg("pattern '%s' did not compile: %s", pat, err);
    return rx;
}

static size_t next_of(long R, size_t len)
{
    return R < 0 ? 0 : (size_t)R >= len ? len : (size_t)R + 1;
}

/*
 * Match `in` against `pat` (OS_Regex unless said otherwise) and check the end position R and the
 * captures. caps == NULL means "do not check captures".
 */
static void check_full(enum tld_rx_kind kind, unsigned flags, const char *pat, const char *in,
                       long R, int ncap, const char *const *caps)
{
    struct tld_rx *rx = compile_ok(kind, pat, flags);
    struct tld_rx_result res;
    memset(&res, 0xa5, sizeof res);
    size_t len = strlen(in);
    bool m = tld_rx_match(rx, in, len, &res, scratch);
    if (R == NOMATCH) {
        if (m)
            fail_msg("'%s' on '%s': expected no match, got a match (next %zu)", pat, in, res.next);
        /* The boolean must not depend on whether a result is asked for. */
        assert_false(tld_rx_match(rx, in, len, NULL, scratch));
        tld_rx_free(rx);
        return;
    }
    if (!m)
        fail_msg("'%s' on '%s': expected a match (R %ld), got none", pat, in, R);
    assert_true(tld_rx_match(rx, in, len, NULL, scratch));
    if (res.next != next_of(R, len))
        fail_msg("'%s' on '%s': expected R %ld (next %zu), got next %zu", pat, in, R,
                 next_of(R, len), res.next);
    if (ncap >= 0) {
        if ((int)res.ncap != ncap)
            fail_msg("'%s' on '%s': expected %d captures, got %u", pat, in, ncap, res.ncap);
        for (int i = 0; i < ncap; i++) {
            struct tld_rx_span sp = res.cap[i];
            assert_true(sp.so <= sp.eo && sp.eo <= len);
            size_t cl = sp.eo - sp.so;
            if (cl != strlen(caps[i]) || memcmp(in + sp.so, caps[i], cl) != 0)
                fail_msg("'%s' on '%s': capture %d is '%.*s', expected '%s'", pat, in, i + 1,
                         (int)cl, in + sp.so, caps[i]);
        }
    }
    tld_rx_free(rx);
}

/* OS_Regex in capturing mode (decoder <regex>). */
static void cap(const char *pat, const char *in, long R, int ncap, ...)
{
    const char *caps[MAXC] = {0};
    va_list ap;
    va_start(ap, ncap);
    for (int i = 0; i < ncap && i < MAXC; i++)
        caps[i] = va_arg(ap, const char *);
    va_end(ap);
    check_full(TLD_RX_OSREGEX, TLD_RX_CAPTURE, pat, in, R, R == NOMATCH ? -1 : ncap, caps);
}

/* OS_Regex, non-capturing (prematch, rule regex). */
static void rx(const char *pat, const char *in, long R)
{
    check_full(TLD_RX_OSREGEX, 0, pat, in, R, R == NOMATCH ? -1 : 0, NULL);
}

static bool osm(const char *pat, const char *in)
{
    struct tld_rx *r = compile_ok(TLD_RX_OSMATCH, pat, 0);
    struct tld_rx_result res;
    bool m = tld_rx_match(r, in, strlen(in), &res, NULL);
    if (m)
        assert_int_equal(res.ncap, 0);
    tld_rx_free(r);
    return m;
}

static int compile_rc(enum tld_rx_kind kind, const char *pat, size_t n, char *err, size_t errsz)
{
    struct tld_rx *r = NULL;
    int rc = tld_rx_compile(kind, pat, n, 0, &r, err, errsz);
    if (rc == 0)
        assert_non_null(r);
    else
        assert_null(r);
    tld_rx_free(r);
    return rc;
}

/* ---- §4.7 test vectors ------------------------------------------------------------------------
 */

static void osregex_vectors(void **state)
{
    cap("(\\w+)\\s", "abc def ghi", 3, 1, "abc");
    cap("(\\S+)$", "abc def", 4, 1, "def");
    cap("(\\w+)", "under_score@x-y!z", 0, 1, "under_score@x-y");
    cap("(\\w+):(\\d+)", "host:abc host2:80", 15, 2, "host2", "80");
    cap("user (\\S+) from (\\S+) port (\\d+)",
        "Failed password for user root from 1.2.3.4 port 22 ssh2", 48, 3, "root", "1.2.3.4", "22");
    cap("^(\\S+) (\\S+)$", "foo bar", 4, 2, "foo", "bar");
    cap("^(\\S+) (\\S+)$", "foo bar baz", NOMATCH, 0);
    cap("^(\\w+)=(\\S*) ", "key= next", 4, 2, "key", "");
    cap("\\$(\\d+)", "cost $42", 6, 1, "42");
    cap("\\<(\\d+)>", "<134>Jan", 4, 1, "134");
    cap("abc", "AXABC", 4, 0);
    cap("ab|cd", "xxcd", 3, 0);
    cap("^ab|^cd", "xxcd", NOMATCH, 0);
    cap("x\\d*y", "xy", 1, 0);
    cap("\\t\\d", "tab\t1", 4, 0);
    cap("(\\d+) (\\w+)", "12 ab", 3, 2, "12", "ab");
    cap("(\\d+)(\\w+)", "12ab", NOMATCH, 0);
    cap("\\.+a$", "-aa", NOMATCH, 0);
    cap("\\.+a$", "-aaa", 3, 0);
    cap("\\d*$", "b1", NOMATCH, 0);
    cap("\\d+$", "b1", 1, 0);
    cap("a(\\.*)b$", "xa1b2b", 5, 1, "1b2");
    cap("a(\\.*)b$", "xa1b2bc", NOMATCH, 0);

    char err[256];
    assert_int_equal(compile_rc(TLD_RX_OSREGEX, "sshd\\[\\d+\\]", 12, err, sizeof err), TLD_EPARSE);
    assert_non_null(strstr(err, "\\["));
}

/* The same vectors without captures must give the same end positions where the algorithm does
 * not depend on capturing mode (no parenthesis in the pattern, or none at the end of input). */
static void osregex_vectors_noncapturing(void **state)
{
    rx("(\\w+)\\s", "abc def ghi", 3);
    rx("(\\S+)$", "abc def", 4);
    rx("(\\w+):(\\d+)", "host:abc host2:80", 15);
    rx("user (\\S+) from (\\S+) port (\\d+)",
       "Failed password for user root from 1.2.3.4 port 22 ssh2", 48);
    rx("^(\\S+) (\\S+)$", "foo bar baz", NOMATCH);
    rx("abc", "AXABC", 4);
    rx("ab|cd", "xxcd", 3);
    rx("^ab|^cd", "xxcd", NOMATCH);
    rx("(\\d+)(\\w+)", "12ab", NOMATCH);
    rx("\\d+$", "b1", 1);
}

/* ---- §4.5 end positions -----------------------------------------------------------------------
 */

static void after_prematch(const char *pat, const char *in, long R, const char *after)
{
    rx(pat, in, R);
    size_t next = next_of(R, strlen(in));
    assert_string_equal(in + next, after);
}

static void osregex_end_positions(void **state)
{
    /* Second table: prematches and where after_prematch starts. */
    after_prematch("^foo:", "foo: bar", 3, " bar");
    after_prematch("^foo \\d+ ", "foo 123 bar", 7, "bar");
    after_prematch("^foo\\d+", "foo123 bar", 6, "bar");
    after_prematch("^foo\\d+", "foo123", 3, "23");
    after_prematch("^\\w+\\s*", "abc  def", 5, "ef");
    after_prematch("^{\\s*\"", "{\"log\":\"x\"}", 1, "log\":\"x\"}");

    /* First table, one pattern per row and column. */
    rx("^ab", "abc", 1);                 /* literal: the last matched char */
    rx("a\\d", "xa1y", 2);               /* unquantified class: same */
    rx("a\\d", "xa1", 2);                /* ... also at the end of input */
    rx("^a\\d+", "a12x", 3);             /* \x+ stopped: the stopping char */
    rx("^a\\d+", "a12", 1);              /* \x+ at end: first char of the run */
    rx("^a\\d*", "a12x", 3);             /* \x* stopped: the stopping char */
    rx("^a\\d*", "a12", 0);              /* \x* at end: the char before the run */
    cap("^a(\\d+)", "a12x", 1, 1, "12"); /* \x+) stopped: first char of the run */
    cap("^a(\\d+)", "a12", 1, 1, "12");  /* \x+) at end: first char of the run */
    cap("^a(\\d*)", "a12x", 2, 1, "12"); /* \x*) stopped: last char of the run */
    cap("^a(\\d*)", "a12", 0, 1, "12");  /* \x*) at end: the char before the run */
}

/* ---- §4.6 consequences ------------------------------------------------------------------------
 */

static void osregex_consequences(void **state)
{
    /* Lazy captures: the shortest that lets the rest proceed. */
    cap("(\\S+)@(\\S+)", "a@b@c", 2, 2, "a", "b@c");
    cap("a(\\.*)b", "xa1b2b", 3, 1, "1");
    cap("a(\\.*)b$", "xa1b2b", 5, 1, "1b2");
    /* Backtracking into a + class whose look-ahead matched a literal needs two more chars. */
    rx("\\.+a$", "-aa", NOMATCH);
    rx("\\.+a$", "-aaa", 3);
    rx("\\.+a$", "xyza", 3);
    /* Adjacent groups never match. */
    cap("(\\d+)(\\w+)", "12ab", NOMATCH, 0);
    /* Two * classes at the end, or zero-length after a restart, fail. */
    rx("\\d*\\d*$", "b", NOMATCH);
    rx("\\d*$", "b", NOMATCH);
    rx("\\d*$", "b1", NOMATCH);
    rx("\\d+$", "b1", 1);
    rx("$", "a", NOMATCH);
    rx("", "", 0);
    rx("", "abc", 0);
    cap("", "abc", 0, 0);
    /* ^ makes the first unrecoverable mismatch final. */
    rx("^ab|^cd", "xxcd", NOMATCH);
    rx("^ab|cd", "xxcd", 3);
    /* \s is only the space. */
    rx("\\s+\\d", "tab\t1", NOMATCH);
    rx("\\t\\d", "tab\t1", 4);
    rx("\\S+\\d", "tab\t1", 4);
    /* \. is any byte, a plain dot is a dot. */
    rx("\\d+\\.\\d+", "3x5", 2);
    rx("\\d+.\\d+", "3x5", NOMATCH);
    rx("\\d+.\\d+", "3.5", 2);
    /* + and * are quantifiers only after a class. */
    rx("a+b", "a+b", 2);
    rx("a+b", "aab", NOMATCH);
    rx("a*", "a*", 1);
    rx("a*", "aa", NOMATCH);
    rx("\\d+*", "12*", 2);
    rx("\\d+*", "12", NOMATCH);
    rx("\\(+", "x((y", 3);
    /* ^ and $ are anchors only at the ends of an alternative. */
    rx("a^b", "xa^b", 3);
    rx("a$b", "xa$b", 3);
    rx("a$b", "ab", NOMATCH);
    rx("^^a", "^a", 1);
    rx("^^a", "x^a", NOMATCH);
    rx("a$$", "xa$", 2);
    rx("a$$", "xa", NOMATCH);
    rx("\\$", "a$b", 1);
    rx("a\\$", "xa$", 2);
    rx("\\\\$", "a\\", 1);
    /* Case-insensitive literals, raw classes. */
    rx("ABC", "xabc", 3);
    rx("abc", "xABC", 3);
    rx("^\\w", "Q", 0);
}

/* The nginx example checks captures only (the spec does not state its R). */
static void osregex_nginx(void **state)
{
    const char *pat = "^(\\S+) \\S+ (\\S+) \\.*[(\\S+) \\S\\d+] \"(\\w+) (\\S+)";
    const char *in = "10.0.0.1 - bob [01/Jan/2024:00:00:01 -0700] \"POST /a?b=c HTTP/2\" 500";
    const char *want[] = {"10.0.0.1", "bob", "01/Jan/2024:00:00:01", "POST", "/a?b=c"};
    struct tld_rx *r = compile_ok(TLD_RX_OSREGEX, pat, TLD_RX_CAPTURE);
    struct tld_rx_result res;
    assert_true(tld_rx_match(r, in, strlen(in), &res, NULL));
    assert_int_equal(res.ncap, 5);
    for (int i = 0; i < 5; i++) {
        size_t cl = res.cap[i].eo - res.cap[i].so;
        assert_int_equal(cl, strlen(want[i]));
        assert_memory_equal(in + res.cap[i].so, want[i], cl);
    }
    /* The pattern ends with "\S+)": R is the first char of the last run (§4.5), so the text
     * after the match starts one byte into the URL. */
    assert_string_equal(in + res.next, "a?b=c HTTP/2\" 500");
    tld_rx_free(r);
}

/* Capturing mode changes the algorithm only when the expression has a parenthesis. */
static void osregex_capturing_mode(void **state)
{
    /* End of input: capturing mode skips trailing * classes before the acceptance probes. */
    cap("(a\\d*\\s*\\w*)", "a", 0, 1, "a");
    rx("(a\\d*\\s*\\w*)", "a", NOMATCH);
    /* Without a parenthesis TLD_RX_CAPTURE changes nothing. */
    check_full(TLD_RX_OSREGEX, TLD_RX_CAPTURE, "a\\d*\\s*\\w*", "a", NOMATCH, -1, NULL);
    /* A parenthesis in any alternative makes the whole expression capturing. */
    check_full(TLD_RX_OSREGEX, TLD_RX_CAPTURE, "(zz)|a\\d*\\s*\\w*", "a", 0, 0, NULL);
    rx("(zz)|a\\d*\\s*\\w*", "a", NOMATCH);
    /* Captures belong to the alternative that matched. */
    cap("x(\\d+)y|a(\\w+)", "ab", 1, 1, "b");
    /* A capture ending before it starts fails the whole expression, later alternatives too:
     * the close is recorded at 2 in a failed attempt, the open at 4 by the end-of-input step. */
    cap("\\w(\\d*)$", "(1 b", NOMATCH, 0);
    cap("\\w(\\d*)$|b", "(1 b", NOMATCH, 0);
    rx("\\w(\\d*)$", "(1 b", 3);
    rx("\\w(\\d*)$|b", "(1 b", 3);
    /* At the end of input the opening mark is recorded but the closing one never is, so the
     * match reports no capture at all. */
    cap("x(\\d*)", "x", 0, 0);
}

/* ---- classes and escapes (§4.1) ---------------------------------------------------------------
 */

static bool in_set(const char *set, int c)
{
    return c != 0 && strchr(set, c) != NULL;
}

static bool class_expected(char e, int c)
{
    const char *digits = "0123456789";
    const char *word = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-@_";
    const char *punct = "!\"#$%&'()*+,-.:;<=>?[]{|}";
    switch (e) {
    case 'd':
        return in_set(digits, c);
    case 'w':
        return in_set(word, c);
    case 's':
        return c == ' ';
    case 'p':
        return in_set(punct, c);
    case 'W':
        return c != 0 && !in_set(word, c);
    case 'D':
        return !in_set(digits, c);
    case 'S':
        return c != ' ';
    case '.':
        return true;
    case 't':
        return c == '\t';
    case '$':
        return c == '$';
    case '|':
        return c == '|';
    case '<':
        return c == '<';
    case '\\':
        return c == '\\';
    case '(':
        return c == '(';
    case ')':
        return c == ')';
    }
    return false;
}

static void osregex_classes(void **state)
{
    assert_int_equal(strlen("!\"#$%&'()*+,-.:;<=>?[]{|}"), 25);
    const char *esc = "dwspWDS.t$|<\\()";
    for (const char *e = esc; *e; e++) {
        char pat[5] = {'^', '\\', *e, '$', 0};
        struct tld_rx *r = compile_ok(TLD_RX_OSREGEX, pat, 0);
        for (int c = 0; c < 256; c++) {
            char in[1] = {(char)c};
            bool got = tld_rx_match(r, in, 1, NULL, NULL);
            if (got != class_expected(*e, c))
                fail_msg("\\%c on byte 0x%02x: got %d", *e, c, got);
        }
        tld_rx_free(r);
    }
}

static void osregex_compile_errors(void **state)
{
    char err[256];
    /* Every escape outside the list is an error, including the ones people expect to work. */
    const char *valid = "dwspWDS.t$|<\\()";
    for (int c = 1; c < 256; c++) {
        char pat[3] = {'\\', (char)c, 0};
        int rc = compile_rc(TLD_RX_OSREGEX, pat, 2, err, sizeof err);
        if (strchr(valid, c))
            assert_int_equal(rc, 0);
        else if (rc != TLD_EPARSE)
            fail_msg("escape \\%c (0x%02x) accepted", c, c);
    }
    const char *bad[] = {"\\[", "\\]", "\\-", "\\/",   "\\:",   "\\\"",   "\\>",
                         "\\_", "\\n", "a\\", "\\",    "((a))", "(a(b))", "(a|b)",
                         "(a",  "a)",  ")(",  "(a)b)", "x|(y",  "\\(a)",  "(a\\)"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        int rc = compile_rc(TLD_RX_OSREGEX, bad[i], strlen(bad[i]), err, sizeof err);
        if (rc != TLD_EPARSE)
            fail_msg("'%s' compiled (rc %d)", bad[i], rc);
        assert_true(strlen(err) > 0);
    }
    compile_rc(TLD_RX_OSREGEX, "((a))", 5, err, sizeof err);
    assert_non_null(strstr(err, "nested"));
    compile_rc(TLD_RX_OSREGEX, "(a|b)", 5, err, sizeof err);
    assert_non_null(strstr(err, "'|' inside parentheses"));
    compile_rc(TLD_RX_OSREGEX, "a)", 2, err, sizeof err);
    assert_non_null(strstr(err, "unbalanced"));
    compile_rc(TLD_RX_OSREGEX, "(a", 2, err, sizeof err);
    assert_non_null(strstr(err, "unclosed"));
    compile_rc(TLD_RX_OSREGEX, "a\\", 2, err, sizeof err);
    assert_non_null(strstr(err, "trailing"));
    /* Fine: literal specials, a group per alternative, empty alternatives, err == NULL. */
    const char *good[] = {"[a]{1}?-/.", "(a)|(b)", "a||b",  "",     "^", "$",
                          "^$",         "()",      "(\\()", "\\)+", "|"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_int_equal(compile_rc(TLD_RX_OSREGEX, good[i], strlen(good[i]), NULL, 0), 0);
    /* An empty alternative matches everything. */
    rx("zz||yy", "abc", 0);
    rx("^$", "", 0);
    rx("^$", "a", NOMATCH);
}

static void pattern_limit(void **state)
{
    char *p = malloc(TLD_RX_MAX_PATTERN + 2);
    memset(p, 'a', TLD_RX_MAX_PATTERN + 1);
    p[TLD_RX_MAX_PATTERN + 1] = 0;
    char err[256];
    const enum tld_rx_kind kinds[] = {TLD_RX_OSMATCH, TLD_RX_OSREGEX, TLD_RX_PCRE2, TLD_RX_EXACT};
    for (int k = 0; k < 4; k++) {
        assert_int_equal(compile_rc(kinds[k], p, TLD_RX_MAX_PATTERN, err, sizeof err), 0);
        assert_int_equal(compile_rc(kinds[k], p, TLD_RX_MAX_PATTERN + 1, err, sizeof err),
                         TLD_ELIMIT);
        assert_non_null(strstr(err, "20480"));
    }
    free(p);
    /* The longest pattern still matches correctly. */
    struct tld_rx *r = NULL;
    char *s = malloc(TLD_RX_MAX_PATTERN + 1);
    memset(s, 'A', TLD_RX_MAX_PATTERN);
    s[TLD_RX_MAX_PATTERN] = 0;
    char *q = malloc(TLD_RX_MAX_PATTERN + 1);
    memset(q, 'a', TLD_RX_MAX_PATTERN);
    assert_int_equal(tld_rx_compile(TLD_RX_OSREGEX, q, TLD_RX_MAX_PATTERN, 0, &r, NULL, 0), 0);
    assert_true(tld_rx_match(r, s, TLD_RX_MAX_PATTERN, NULL, NULL));
    assert_false(tld_rx_match(r, s, TLD_RX_MAX_PATTERN - 1, NULL, NULL));
    tld_rx_free(r);
    free(q);
    free(s);
}

/* More than TLD_RX_MAX_CAPTURES groups: the first 256 are reported. Groups are separated by a
 * literal since adjacent groups never match. */
static void osregex_many_groups(void **state)
{
    char pat[4 * 300], in[2 * 300];
    size_t pn = 0, n = 0;
    for (int i = 0; i < 300; i++) {
        if (i) {
            pat[pn++] = 'x';
            in[n++] = 'x';
        }
        memcpy(pat + pn, "(a)", 3);
        pn += 3;
        in[n++] = 'a';
    }
    pat[pn] = 0;
    in[n] = 0;
    struct tld_rx *r = compile_ok(TLD_RX_OSREGEX, pat, TLD_RX_CAPTURE);
    struct tld_rx_result res;
    assert_true(tld_rx_match(r, in, n, &res, NULL));
    assert_int_equal(res.ncap, TLD_RX_MAX_CAPTURES);
    for (int i = 0; i < TLD_RX_MAX_CAPTURES; i++) {
        assert_int_equal(res.cap[i].so, 2 * i);
        assert_int_equal(res.cap[i].eo, 2 * i + 1);
    }
    assert_int_equal(res.next, n);
    tld_rx_free(r);
}

/* ---- OS_Match (§3) ----------------------------------------------------------------------------
 */

static void osmatch_rules(void **state)
{
    /* Examples of §3. */
    assert_true(osm("a|", "zzz"));
    assert_true(osm("a|", ""));
    assert_true(osm("\\.", "x\\.y"));
    assert_false(osm("\\.", "x.y"));
    assert_true(osm("FOO$", "xfoo"));
    assert_false(osm("FOO$", "foox"));
    assert_true(osm("^abc$|^def", "ABC"));
    assert_true(osm("^abc$|^def", "defg"));
    assert_false(osm("^abc$|^def", "xdef"));
    assert_false(osm("^abc$|^def", "abcd"));
    /* Empty alternatives anywhere, and the bare anchors, are always true. */
    assert_true(osm("", "x"));
    assert_true(osm("|a", "x"));
    assert_true(osm("a||b", "x"));
    assert_true(osm("^", "x"));
    assert_true(osm("$", "x"));
    assert_true(osm("zz|^|yy", "x"));
    /* ^$ is an empty input. */
    assert_true(osm("^$", ""));
    assert_false(osm("^$", "a"));
    /* Case-insensitive both ways, anchors only at the ends. */
    assert_true(osm("Failed Password", "sshd: FAILED password for x"));
    assert_true(osm("a^b", "xA^By"));
    assert_true(osm("a$b", "xa$b"));
    assert_false(osm("a$b", "ab"));
    assert_true(osm("^^a", "^ab"));
    assert_false(osm("^^a", "ab"));
    assert_true(osm("a$$", "xa$"));
    assert_false(osm("a$$", "xa"));
    assert_true(osm("^a$b$", "a$b"));
    /* Metacharacters are literal bytes. */
    assert_true(osm("a.*b", "xa.*b"));
    assert_false(osm("a.*b", "axxb"));
    assert_true(osm("(x)", "((x))"));
    assert_true(osm("[", "["));
    /* Not found, longer than the input. */
    assert_false(osm("abcdef", "abcde"));
    assert_false(osm("^abcdef", "abcde"));
    assert_false(osm("abcdef$", "bcdef"));
    assert_false(osm("x", ""));
    /* Bytes >= 0x80 compare exactly; only ASCII letters fold. */
    assert_true(osm("\xc3\xa9t\xc3\xa9", "\xc3\xa9T\xc3\xa9"));
    assert_false(osm("\xc3\xa9", "\xc3\x89"));
    /* '@' (0x40) and '`' (0x60), '[' and '{' differ only in bit 5 like letters: never equal. */
    assert_false(osm("@", "`"));
    assert_false(osm("`", "@"));
    assert_false(osm("{", "["));
    assert_false(osm("a{", "A["));
}

static void osmatch_negation(void **state)
{
    assert_false(osm("!foo", "xfoo"));
    assert_true(osm("!foo", "bar"));
    assert_false(osm("!foo|bar", "bar"));
    assert_true(osm("!foo|bar", "baz"));
    assert_false(osm("!", "x")); /* inverted always-true */
    assert_false(osm("!a|", "x"));
    assert_true(osm("!^$", "x"));
    assert_true(osm("a!", "xa!")); /* '!' is literal elsewhere */
    assert_true(osm("!!", "a"));   /* inverted "!" */
    assert_false(osm("!!", "a!b"));
    /* Only the first byte inverts, so a '!' alternative after a bar is literal. */
    assert_true(osm("x|!y", "!y"));
}

/* Long lists take the multi-needle path; results must not depend on the path. */
static void osmatch_31103(void **state)
{
    /* rule 31103's <url> pieces, concatenated */
    const char *url = "=select%20|select+|insert%20|%20from%20|%20where%20|union%20|"
                      "union+|where+|null,null|xp_cmdshell";
    assert_true(osm(url, "/index.php?id=1%20UNION%20SELECT%201"));
    assert_true(osm(url, "/a?q=1;EXEC%20XP_CMDSHELL"));
    assert_true(osm(url, "/a?x=null,null"));
    assert_true(osm(url, "/a?x=whERE+1"));
    assert_false(osm(url, "/index.php?id=1"));
    assert_false(osm(url, "/selec"));
    assert_false(osm(url, ""));
    /* A one-byte needle in a long list, at the very end. */
    assert_true(osm("aaaa|bbbb|cccc|dddd|eeee|ffff|gggg|#", "xyz#"));
    assert_false(osm("aaaa|bbbb|cccc|dddd|eeee|ffff|gggg|#", "xyz"));
    assert_true(osm("aaaa|bbbb|cccc|dddd|eeee|ffff|gggg|#|^q$", "Q"));
}

/* Naive model of §3 written from the text, for the cross-check below. */
static bool model_ci_eq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z')
            x += 32;
        if (y >= 'A' && y <= 'Z')
            y += 32;
        if (x != y)
            return false;
    }
    return true;
}

static bool model_osmatch(const char *pat, size_t pn, const char *s, size_t n)
{
    bool inv = pn && pat[0] == '!';
    if (inv) {
        pat++;
        pn--;
    }
    bool any = false;
    size_t st = 0;
    for (size_t i = 0; i <= pn && !any; i++) {
        if (i < pn && pat[i] != '|')
            continue;
        const char *a = pat + st;
        size_t an = i - st;
        st = i + 1;
        bool hat = an && a[0] == '^';
        bool dol = an && a[an - 1] == '$';
        const char *x = a + hat;
        size_t xn = an - hat - dol;
        if (an == 0 || (an == 1 && (hat || dol)))
            any = true;
        else if (hat && dol)
            any = xn == n && model_ci_eq(x, s, n);
        else if (hat)
            any = xn <= n && model_ci_eq(x, s, xn);
        else if (dol)
            any = xn <= n && model_ci_eq(x, s + n - xn, xn);
        else
            for (size_t k = 0; k + xn <= n && !any; k++)
                any = model_ci_eq(x, s + k, xn);
    }
    return any != inv;
}

static void osmatch_cross_check(void **state)
{
    /* Small alphabet so that needles are found often; every other pattern is a list of 8 to 15
     * plain needles, which takes the filter path. Deterministic LCG. */
    const char alpha[] = "aAbB^$|!x";
    uint32_t seed = 12345;
    char pat[128], s[80];
    for (int iter = 0; iter < 40000; iter++) {
        size_t pn = 0;
        seed = seed * 1103515245u + 12345u;
        if (iter & 1) {
            size_t k = 8 + (seed >> 16) % 8;
            if ((seed >> 28) & 1)
                pat[pn++] = '!';
            for (size_t j = 0; j < k; j++) {
                seed = seed * 1103515245u + 12345u;
                size_t len = 1 + (seed >> 16) % 4;
                for (size_t i = 0; i < len; i++) {
                    seed = seed * 1103515245u + 12345u;
                    pat[pn++] = "aAbBx"[(seed >> 16) % 5];
                }
                if (j + 1 < k)
                    pat[pn++] = '|';
            }
        } else {
            pn = (seed >> 16) % 40;
            for (size_t i = 0; i < pn; i++) {
                seed = seed * 1103515245u + 12345u;
                pat[i] = alpha[(seed >> 16) % (sizeof alpha - 1)];
            }
        }
        seed = seed * 1103515245u + 12345u;
        size_t n = (seed >> 16) % 70;
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            s[i] = alpha[(seed >> 16) % 5 + ((seed >> 24) % 3 == 0 ? 4 : 0)];
        }
        struct tld_rx *r = NULL;
        assert_int_equal(tld_rx_compile(TLD_RX_OSMATCH, pat, pn, 0, &r, NULL, 0), 0);
        bool got = tld_rx_match(r, s, n, NULL, NULL);
        bool want = model_osmatch(pat, pn, s, n);
        if (got != want)
            fail_msg("osmatch '%.*s' on '%.*s': got %d want %d", (int)pn, pat, (int)n, s, got,
                     want);
        tld_rx_free(r);
    }
}

/* ---- exact, PCRE2 (§5) ------------------------------------------------------------------------
 */

static void exact_kind(void **state)
{
    struct tld_rx *r = compile_ok(TLD_RX_EXACT, "DROP", 0);
    assert_true(tld_rx_match(r, "DROP", 4, NULL, NULL));
    assert_false(tld_rx_match(r, "drop", 4, NULL, NULL));
    assert_false(tld_rx_match(r, "DROPx", 5, NULL, NULL));
    assert_false(tld_rx_match(r, "DRO", 3, NULL, NULL));
    assert_int_equal(tld_rx_kind(r), TLD_RX_EXACT);
    assert_string_equal(tld_rx_pattern(r), "DROP");
    tld_rx_free(r);
    r = compile_ok(TLD_RX_EXACT, "", 0);
    assert_true(tld_rx_match(r, "", 0, NULL, NULL));
    assert_false(tld_rx_match(r, "a", 1, NULL, NULL));
    tld_rx_free(r);
}

static void pcre2_kind(void **state)
{
    /* Case-sensitive, no flags. */
    check_full(TLD_RX_PCRE2, 0, "abc", "xABC", NOMATCH, -1, NULL);
    check_full(TLD_RX_PCRE2, 0, "abc", "xabcy", 3, 0, NULL);
    /* '.' excludes newline; ^ and $ are whole-subject. */
    check_full(TLD_RX_PCRE2, 0, "a.b", "a\nb", NOMATCH, -1, NULL);
    check_full(TLD_RX_PCRE2, 0, "^b", "a\nb", NOMATCH, -1, NULL);
    check_full(TLD_RX_PCRE2, 0, "a$", "a\nb", NOMATCH, -1, NULL);
    /* Captures, end = last byte of the whole match. */
    const char *c2[] = {"12", "34"};
    check_full(TLD_RX_PCRE2, TLD_RX_CAPTURE, "(\\d+)-(\\d+)", "x 12-34 y", 6, 2, c2);
    check_full(TLD_RX_PCRE2, 0, "(\\d+)-(\\d+)", "x 12-34 y", 6, 0, NULL);
    /* Groups up to the highest that took part; a middle one that did not is empty. */
    const char *ca[] = {"a"};
    check_full(TLD_RX_PCRE2, TLD_RX_CAPTURE, "(a)|(b)", "a", 0, 1, ca);
    const char *cb[] = {"", "b"};
    check_full(TLD_RX_PCRE2, TLD_RX_CAPTURE, "(a)|(b)", "b", 0, 2, cb);
    /* Empty match at 0 → next 0; empty match later → next at the match. */
    check_full(TLD_RX_PCRE2, 0, "x*", "abc", -1, 0, NULL);
    check_full(TLD_RX_PCRE2, 0, "$", "ab", 1, 0, NULL);
    /* A leading '!' is literal. */
    check_full(TLD_RX_PCRE2, 0, "!a", "b", NOMATCH, -1, NULL);
    check_full(TLD_RX_PCRE2, 0, "!a", "!a", 1, 0, NULL);
    /* Bytes, not UTF-8: an invalid UTF-8 subject is fine. */
    check_full(TLD_RX_PCRE2, 0, "\\xff", "a\xff", 1, 0, NULL);
    /* Compile error with a reason; no scratch → no match. */
    char err[256];
    assert_int_equal(compile_rc(TLD_RX_PCRE2, "a(b", 3, err, sizeof err), TLD_EPARSE);
    assert_non_null(strstr(err, "pcre2:"));
    struct tld_rx *r = compile_ok(TLD_RX_PCRE2, "a", 0);
    assert_false(tld_rx_match(r, "a", 1, NULL, NULL));
    tld_rx_free(r);
}

static void pcre2_many_groups(void **state)
{
    /* 300 groups: the match data holds 256; the match still counts and reports 256. */
    char pat[3 * 300 + 1];
    for (int i = 0; i < 300; i++)
        memcpy(pat + 3 * i, "(a)", 3);
    pat[900] = 0;
    char in[301];
    memset(in, 'a', 300);
    in[300] = 0;
    struct tld_rx *r = compile_ok(TLD_RX_PCRE2, pat, TLD_RX_CAPTURE);
    struct tld_rx_result res;
    assert_true(tld_rx_match(r, in, 300, &res, scratch));
    assert_int_equal(res.ncap, TLD_RX_MAX_CAPTURES);
    assert_int_equal(res.next, 300);
    assert_int_equal(res.cap[255].so, 255);
    tld_rx_free(r);
}

/* ---- group matcher (§6) -----------------------------------------------------------------------
 */

static bool grp(const char *e, const char *g)
{
    return tld_rx_group_match(e, strlen(e), g, strlen(g));
}

static void group_matcher(void **state)
{
    assert_true(grp("web", "web-log,"));
    assert_true(grp("web", "webserver,"));
    assert_true(grp("web", "apache,web,"));
    assert_true(grp("WEB", "apache,Web,"));
    assert_false(grp("web", "apache,accesslog,"));
    assert_true(grp("^web", "web-log,attack,"));
    assert_false(grp("^web", "apache,web,"));
    assert_true(grp("sshd|web", "apache,web,"));
    assert_true(grp("^sshd|^web", "web,"));
    assert_false(grp("web$", "web"));
    assert_true(grp("web$", "xweb$y"));
    assert_true(grp("zz|", "anything"));
    assert_true(grp("^", "anything"));
    assert_false(grp("longer-than-groups", "short"));
}

/* ---- sharing between threads ------------------------------------------------------------------
 */

#define NPAT 6
struct shared_case {
    struct tld_rx *rx[NPAT];
    const char *in[3];
    bool want[NPAT][3];
    size_t next[NPAT][3];
    bool ok;
};

static void *worker(void *arg)
{
    struct shared_case *sc = arg;
    struct tld_rx_scratch *own = tld_rx_scratch_new();
    struct tld_rx_result res;
    sc->ok = own != NULL;
    for (int round = 0; round < 3000 && sc->ok; round++)
        for (int p = 0; p < NPAT; p++)
            for (int i = 0; i < 3; i++) {
                bool m = tld_rx_match(sc->rx[p], sc->in[i], strlen(sc->in[i]), &res, own);
                if (m != sc->want[p][i] || (m && res.next != sc->next[p][i]))
                    sc->ok = false;
            }
    tld_rx_scratch_free(own);
    return NULL;
}

/* Compiled patterns are read-only: two threads with their own scratch agree with one thread. */
static void shared_between_threads(void **state)
{
    static struct shared_case cases[2];
    const char *pats[NPAT] = {"(\\S+) from (\\S+)", "from|port",       "^(\\w+) (\\d+)",
                              "from (\\S+) port",   "Failed password", "user (\\S+)$"};
    const enum tld_rx_kind kinds[NPAT] = {TLD_RX_OSREGEX, TLD_RX_OSMATCH, TLD_RX_PCRE2,
                                          TLD_RX_PCRE2,   TLD_RX_OSMATCH, TLD_RX_OSREGEX};
    struct shared_case base = {
        .in = {"Accepted key from 10.0.0.1 port 22", "abc 123", "Failed password for user root"}};
    for (int p = 0; p < NPAT; p++) {
        base.rx[p] = compile_ok(kinds[p], pats[p], TLD_RX_CAPTURE);
        for (int i = 0; i < 3; i++) {
            struct tld_rx_result res;
            base.want[p][i] =
                tld_rx_match(base.rx[p], base.in[i], strlen(base.in[i]), &res, scratch);
            base.next[p][i] = base.want[p][i] ? res.next : 0;
        }
    }
    pthread_t th[2];
    for (int t = 0; t < 2; t++) {
        cases[t] = base;
        assert_int_equal(pthread_create(&th[t], NULL, worker, &cases[t]), 0);
    }
    for (int t = 0; t < 2; t++) {
        pthread_join(th[t], NULL);
        assert_true(cases[t].ok);
    }
    for (int p = 0; p < NPAT; p++)
        tld_rx_free(base.rx[p]);
}

/* ASCII case-insensitive equality, as tld_rx_only_literal promises. */
static bool equal_nocase(const char *a, size_t an, const char *b, size_t bn)
{
    if (an != bn)
        return false;
    for (size_t i = 0; i < an; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x + 32);
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y + 32);
        if (x != y)
            return false;
    }
    return true;
}

/* Rules skip siblings by the literal a pattern accepts: which shapes give one, and on random
 * subjects near it, a pattern with a literal never matches anything that is not that literal. */
static void only_literal(void **state)
{
    static const struct {
        enum tld_rx_kind kind;
        const char *pat, *lit; /* lit NULL: no literal */
    } cases[] = {
        {TLD_RX_OSREGEX, "^create$", "create"},
        {TLD_RX_OSREGEX, "^exec_start: bash$", "exec_start: bash"},
        {TLD_RX_OSREGEX, "^a.b$", "a.b"},
        {TLD_RX_OSREGEX, "^create", NULL},
        {TLD_RX_OSREGEX, "create$", NULL},
        {TLD_RX_OSREGEX, "^kill$|^die$", NULL},
        {TLD_RX_OSREGEX, "^\\d+$", NULL},
        {TLD_RX_OSREGEX, "^a+$", NULL},
        {TLD_RX_OSREGEX, "^(a)$", NULL},
        {TLD_RX_OSMATCH, "^start$", "start"},
        {TLD_RX_OSMATCH, "^a\\b(c)*$", "a\\b(c)*"},
        {TLD_RX_OSMATCH, "^$", ""},
        {TLD_RX_OSMATCH, "^a$|^b$", NULL},
        {TLD_RX_OSMATCH, "!^a$", NULL},
        {TLD_RX_OSMATCH, "start", NULL},
        {TLD_RX_EXACT, "Start", "Start"},
        {TLD_RX_EXACT, "", ""},
        {TLD_RX_PCRE2, "^start$", NULL},
    };
    static const char alphabet[] = "abcABC.:-_ \\\n";
    unsigned seed = 12345;
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        struct tld_rx *rx = compile_ok(cases[c].kind, cases[c].pat, 0);
        const char *lit = NULL;
        size_t n = 0;
        bool got = tld_rx_only_literal(rx, &lit, &n);
        assert_int_equal(got, cases[c].lit != NULL);
        if (!got) {
            tld_rx_free(rx);
            continue;
        }
        assert_int_equal(n, strlen(cases[c].lit));
        assert_memory_equal(lit, cases[c].lit, n);
        /* The literal itself matches; near misses (case changes, one byte added, removed or
         * changed, random strings over the literal's bytes) match only when equal. */
        assert_true(tld_rx_match(rx, lit, n, NULL, scratch));
        char buf[64];
        for (int round = 0; round < 4000; round++) {
            size_t m = n < sizeof buf - 2 ? n : sizeof buf - 2;
            memcpy(buf, lit, m);
            seed = seed * 1103515245u + 12345u;
            unsigned op = (seed >> 16) % 4, at = m ? (seed >> 8) % (unsigned)(m + 1) : 0;
            char ch = alphabet[(seed >> 20) % (sizeof alphabet - 1)];
            if (op == 0 && at < m)
                buf[at] = (char)(buf[at] ^ 0x20); /* case flip (or another byte) */
            else if (op == 1) {
                memmove(buf + at + 1, buf + at, m - at);
                buf[at] = ch;
                m++;
            } else if (op == 2 && at < m) {
                memmove(buf + at, buf + at + 1, m - at - 1);
                m--;
            } else if (at < m) {
                buf[at] = ch;
            }
            bool match = tld_rx_match(rx, buf, m, NULL, scratch);
            if (match)
                assert_true(cases[c].kind == TLD_RX_EXACT ? m == n && memcmp(buf, lit, n) == 0
                                                          : equal_nocase(buf, m, lit, n));
        }
        tld_rx_free(rx);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(osregex_vectors),
        cmocka_unit_test(osregex_vectors_noncapturing),
        cmocka_unit_test(osregex_end_positions),
        cmocka_unit_test(osregex_consequences),
        cmocka_unit_test(osregex_nginx),
        cmocka_unit_test(osregex_capturing_mode),
        cmocka_unit_test(osregex_classes),
        cmocka_unit_test(osregex_compile_errors),
        cmocka_unit_test(pattern_limit),
        cmocka_unit_test(osregex_many_groups),
        cmocka_unit_test(osmatch_rules),
        cmocka_unit_test(osmatch_negation),
        cmocka_unit_test(osmatch_31103),
        cmocka_unit_test(osmatch_cross_check),
        cmocka_unit_test(exact_kind),
        cmocka_unit_test(pcre2_kind),
        cmocka_unit_test(pcre2_many_groups),
        cmocka_unit_test(group_matcher),
        cmocka_unit_test(shared_between_threads),
        cmocka_unit_test(only_literal),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
