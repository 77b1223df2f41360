/*
 * Unit tests for the alert query language parser (src/store/query.c): the tree each form of
 * docs/query.md builds, operator precedence, and errors that point at the offending byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/str.h"
#include "store/query.h"

/* A compact rendering of the tree, so a test states the expected shape in one string. */
static void render(const struct tld_qnode *n, struct tld_sb *out)
{
    static const char *const ops[] = {"=", "*=", "exists", "<", "<=", ">", ">=", "~", "re"};
    switch (n->kind) {
    case TLD_Q_AND:
    case TLD_Q_OR:
        tld_sb_append_char(out, '(');
        render(n->a, out);
        tld_sb_append_cstr(out, n->kind == TLD_Q_AND ? " AND " : " OR ");
        render(n->b, out);
        tld_sb_append_char(out, ')');
        break;
    case TLD_Q_NOT:
        tld_sb_append_cstr(out, "NOT ");
        render(n->a, out);
        break;
    case TLD_Q_TERM:
        tld_sb_printf(out, "%s %s [%.*s]", n->field, ops[n->op], (int)n->value_n, n->value);
        break;
    }
}

static void expect_tree(const char *text, const char *want)
{
    struct tld_query *q = NULL;
    struct tld_query_error err;
    int rc = tld_query_parse(text, strlen(text), &q, &err);
    if (rc)
        fail_msg("'%s': error at %zu: %s", text, err.off, err.msg);
    struct tld_sb sb;
    tld_sb_init(&sb, 4096);
    if (q->root)
        render(q->root, &sb);
    if (strcmp(tld_sb_cstr(&sb), want))
        fail_msg("'%s' parsed as '%s', wanted '%s'", text, tld_sb_cstr(&sb), want);
    tld_sb_fini(&sb);
    tld_query_free(q);
}

static void expect_error(const char *text, size_t off, const char *msg_part)
{
    struct tld_query *q = NULL;
    struct tld_query_error err;
    int rc = tld_query_parse(text, strlen(text), &q, &err);
    if (rc != TLD_EPARSE)
        fail_msg("'%s' was accepted (rc %d)", text, rc);
    assert_null(q);
    if (err.off != off || !strstr(err.msg, msg_part))
        fail_msg("'%s': error at %zu '%s', wanted at %zu containing '%s'", text, err.off, err.msg,
                 off, msg_part);
}

static void field_forms(void **state)
{
    expect_tree("", "");
    expect_tree("   ", "");
    expect_tree("rule.id:31103", "rule.id = [31103]");
    expect_tree("rule.id:(87903)", "rule.id = [87903]");
    expect_tree("rule.id:(87903 or 31103)", "(rule.id = [87903] OR rule.id = [31103])");
    expect_tree("rule.groups:(web and not attack)",
                "(rule.groups = [web] AND NOT rule.groups = [attack])");
    expect_tree("agent.name:web*", "agent.name *= [web*]");
    expect_tree("agent.name:\"web*\"", "agent.name = [web*]");
    expect_tree("data.srcip:*", "data.srcip exists []");
    expect_tree("_exists_:data.srcip", "data.srcip exists []");
    expect_tree("rule.level >= 10", "rule.level >= [10]");
    expect_tree("rule.level>10", "rule.level > [10]");
    expect_tree("rule.level <3.5", "rule.level < [3.5]");
    expect_tree("rule.level <= -2", "rule.level <= [-2]");
    expect_tree("full_log ~ \"union select\"", "full_log ~ [union select]");
    expect_tree("full_log~select", "full_log ~ [select]");
    expect_tree("data.url:/.*select.*/", "data.url re [.*select.*]");
    expect_tree("data.url:/a\\/b/", "data.url re [a/b]");
    expect_tree("data.url:\"say \\\"hi\\\" \\\\\"", "data.url = [say \"hi\" \\]");
    expect_tree("@timestamp:*", "@timestamp exists []");
    expect_tree("container.image.name:nginx:1.27 and a:b",
                "(container.image.name = [nginx:1.27] AND a = [b])");
    expect_tree("timestamp:2026-11-26T00:1*", "timestamp *= [2026-11-26T00:1*]");
    expect_tree("data.docker.Actor.Attributes.com-x_y:1",
                "data.docker.Actor.Attributes.com-x_y = [1]");
}

static void precedence(void **state)
{
    expect_tree("a:1 or b:2 and c:3", "(a = [1] OR (b = [2] AND c = [3]))");
    expect_tree("(a:1 or b:2) and c:3", "((a = [1] OR b = [2]) AND c = [3])");
    expect_tree("a:1 b:2", "(a = [1] AND b = [2])");
    expect_tree("not a:1 and b:2", "(NOT a = [1] AND b = [2])");
    expect_tree("NOT not a:1", "NOT NOT a = [1]");
    expect_tree("a:1 AND b:2 OR c:3", "((a = [1] AND b = [2]) OR c = [3])");
    expect_tree("select", "full_log ~ [select]");
    expect_tree("\"union select\" and rule.level > 5",
                "(full_log ~ [union select] AND rule.level > [5])");
    expect_tree("a:\"or\"", "a = [or]");
}

static void errors(void **state)
{
    expect_error("rule.id:", 8, "expected a value");
    expect_error("rule.id:(1 or", 13, "expected a value");
    expect_error("rule.id:(1 or 2", 15, "expected ')'");
    expect_error("(a:1", 4, "expected ')'");
    expect_error("a:1)", 3, "expected 'and', 'or'");
    expect_error("rule.level >= ten", 14, "a range needs a number");
    expect_error("rule.level >= 1e999", 14, "a range needs a number");
    expect_error("a..b:1", 0, "not a field name");
    expect_error(".a:1", 0, "not a field name");
    expect_error("a$b:1", 0, "not a field name");
    expect_error("a:\"open", 2, "unterminated string");
    expect_error("a:/open", 2, "unterminated regular expression");
    expect_error("a:/(/", 4, "bad regular expression");
    expect_error("a = 1", 2, "'=' is not an operator");
    expect_error("and", 0, "expected a field test");
    expect_error("a:1 or", 6, "expected a field test");
    expect_error("_exists_:", 9, "a field name");
    expect_error("full_log ~ \"\"", 11, "needs some text");
    expect_error("a ~ (x)", 4, "the text to look for");
}

static void depth_is_bounded(void **state)
{
    char text[4096];
    size_t n = 0;
    for (int i = 0; i < 1000; i++)
        text[n++] = '(';
    memcpy(text + n, "a:1", 3);
    n += 3;
    struct tld_query *q = NULL;
    struct tld_query_error err;
    assert_int_equal(tld_query_parse(text, n, &q, &err), TLD_EPARSE);
    assert_non_null(strstr(err.msg, "nested too deeply"));
    n = 0;
    for (int i = 0; i < 1000; i++) {
        memcpy(text + n, "not ", 4);
        n += 4;
    }
    memcpy(text + n, "a:1", 3);
    assert_int_equal(tld_query_parse(text, n + 3, &q, &err), TLD_EPARSE);
}

static int tree_depth(const struct tld_qnode *n)
{
    if (!n)
        return 0;
    int a = tree_depth(n->a), b = tree_depth(n->b);
    return 1 + (a > b ? a : b);
}

static void size_is_bounded(void **state)
{
    /* Long value lists parse into balanced trees: shallow SQL whatever their length. */
    struct tld_sb sb;
    tld_sb_init(&sb, 1 << 20);
    tld_sb_append_cstr(&sb, "agent.id:(0");
    for (int i = 1; i < 1000; i++)
        tld_sb_printf(&sb, " or %d", i);
    tld_sb_append_cstr(&sb, ") and a:1 and b:2 and c:3 or d:4");
    struct tld_query *q = NULL;
    struct tld_query_error err;
    assert_int_equal(tld_query_parse(sb.p, sb.n, &q, &err), 0);
    assert_true(tree_depth(q->root) <= 16);
    tld_query_free(q);
    expect_tree("a:1 or b:2 or c:3 or d:4", "((a = [1] OR b = [2]) OR (c = [3] OR d = [4]))");
    expect_tree("a:1 b:2 c:3", "((a = [1] AND b = [2]) AND c = [3])");
    /* Past the bounds: an error, not a stack overflow. */
    tld_sb_reset(&sb);
    tld_sb_append_cstr(&sb, "a:(0");
    for (int i = 1; i < 5000; i++)
        tld_sb_printf(&sb, " or %d", i);
    tld_sb_append_char(&sb, ')');
    assert_int_equal(tld_query_parse(sb.p, sb.n, &q, &err), TLD_EPARSE);
    assert_non_null(strstr(err.msg, "too long"));
    tld_sb_reset(&sb);
    for (int i = 0; i < 70000; i++)
        tld_sb_append_char(&sb, ' ');
    assert_int_equal(tld_query_parse(sb.p, sb.n, &q, &err), TLD_EPARSE);
    assert_int_equal(err.off, 65536);
    tld_sb_fini(&sb);
}

static void numbers(void **state)
{
    double d;
    assert_int_equal(tld_query_number("12", 2, &d), 0);
    assert_true(d == 12);
    assert_int_equal(tld_query_number("-1.5e2", 6, &d), 0);
    assert_true(d == -150);
    assert_int_equal(tld_query_number(".5", 2, &d), 0);
    const char *bad[] = {"", "-", "1e", "0x10", "inf", "nan", " 1", "1 ", "1.2.3", "e5"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (!tld_query_number(bad[i], strlen(bad[i]), &d))
            fail_msg("'%s' read as a number", bad[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(field_forms),     cmocka_unit_test(precedence),
        cmocka_unit_test(errors),          cmocka_unit_test(depth_is_bounded),
        cmocka_unit_test(size_is_bounded), cmocka_unit_test(numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
