/*
 * Unit tests for the dashboard's file mapping (src/api/static.h): which URLs belong to it, that
 * traversal and hidden files are refused, that application pages fall back to index.html while
 * a missing asset does not, and where the web root is looked for.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/static.h"
#include "common/err.h"

static void owns_only_app(void **state)
{
    (void)state;
    assert_true(tld_api_static_owns("/app"));
    assert_true(tld_api_static_owns("/app/"));
    assert_true(tld_api_static_owns("/app/assets/x.js"));
    assert_false(tld_api_static_owns("/apps"));
    assert_false(tld_api_static_owns("/alerts"));
    assert_false(tld_api_static_owns("/"));
    assert_false(tld_api_static_owns("/application/x"));
}

static void resolves_files_and_pages(void **state)
{
    (void)state;
    struct tld_api_static_target t;
    assert_int_equal(tld_api_static_resolve("/app", &t), 0);
    assert_true(t.redirect);
    assert_int_equal(tld_api_static_resolve("/app/", &t), 0);
    assert_string_equal(t.rel, "index.html");
    assert_false(t.immutable);
    assert_int_equal(tld_api_static_resolve("/app/assets/app-3F2A9C1B.js", &t), 0);
    assert_string_equal(t.rel, "assets/app-3F2A9C1B.js");
    assert_true(t.immutable);
    assert_int_equal(tld_api_static_resolve("/app/hunting/events", &t), 0);
    assert_string_equal(t.rel, "index.html");
    assert_int_equal(tld_api_static_resolve("/app/docker/", &t), 0);
    assert_string_equal(t.rel, "index.html");
    assert_int_equal(tld_api_static_resolve("/app/favicon.svg", &t), 0);
    assert_string_equal(t.rel, "favicon.svg");
    assert_false(t.immutable);
}

static void refuses_traversal(void **state)
{
    (void)state;
    static const char *bad[] = {
        "/app/../etc/passwd", "/app/assets/../../x", "/app/..",          "/app/.hidden",
        "/app/assets/.x.js",  "/app//etc/passwd",    "/app/a\\b",        "/app/assets/%2e%2e",
        "/app/a b",           "/app/x/./y",          "/app/assets/a//b", "/alerts",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct tld_api_static_target t;
        if (tld_api_static_resolve(bad[i], &t) != TLD_EINVAL)
            fail_msg("accepted %s as %s", bad[i], t.rel);
    }
    char longp[700] = "/app/";
    memset(longp + 5, 'a', 600);
    struct tld_api_static_target t;
    assert_int_equal(tld_api_static_resolve(longp, &t), TLD_EINVAL);
}

static void finds_web_root(void **state)
{
    (void)state;
    char tmp[] = "/tmp/tld-webroot-XXXXXX";
    assert_non_null(mkdtemp(tmp));
    char p[PATH_MAX], out[PATH_MAX];
    bool found;
    /* configured, relative to the root, without an index.html yet */
    assert_int_equal(tld_api_web_root(tmp, "ui", NULL, out, sizeof out, &found), 0);
    snprintf(p, sizeof p, "%s/ui", tmp);
    assert_string_equal(out, p);
    assert_false(found);
    /* the build tree's web/dist, three levels above build/bin/tld-api */
    snprintf(p, sizeof p,
             "mkdir -p %s/tree/web/dist %s/tree/build/bin && touch "
             "%s/tree/web/dist/index.html",
             tmp, tmp, tmp);
    assert_int_equal(system(p), 0);
    char exe[PATH_MAX];
    snprintf(exe, sizeof exe, "%s/tree/build/bin/tld-api", tmp);
    assert_int_equal(tld_api_web_root(tmp, NULL, exe, out, sizeof out, &found), 0);
    snprintf(p, sizeof p, "%s/tree/web/dist", tmp);
    assert_string_equal(out, p);
    assert_true(found);
    /* an installed share/web wins */
    snprintf(p, sizeof p, "mkdir -p %s/share/web && touch %s/share/web/index.html", tmp, tmp);
    assert_int_equal(system(p), 0);
    assert_int_equal(tld_api_web_root(tmp, NULL, exe, out, sizeof out, &found), 0);
    snprintf(p, sizeof p, "%s/share/web", tmp);
    assert_string_equal(out, p);
    assert_true(found);
    snprintf(p, sizeof p, "rm -rf %s", tmp);
    assert_int_equal(system(p), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(owns_only_app),
        cmocka_unit_test(resolves_files_and_pages),
        cmocka_unit_test(refuses_traversal),
        cmocka_unit_test(finds_web_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
