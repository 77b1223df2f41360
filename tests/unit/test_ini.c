/* Unit tests for the .ini test-file reader (RawConfigParser semantics, testing.md §2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common/err.h"
#include "tools/logtest/ini.h"

static const char sample[] = "; header comment\n"
                             "[three failures]\n"
                             "log 1 pass = Jan  1 00:00:01 host p[1]: a\n"
                             "LOG 1 pass: Jan  1 00:00:02 host p[1]: b\n"
                             "rule = 100101\n"
                             "alert = 10\n"
                             "decoder = \n"
                             "\n"
                             "[other]\n"
                             "log 2 fail = x = y ; not a comment\n"
                             "   continued line\n"
                             "\n"
                             "# comment\n"
                             "rule = 1\n"
                             "[three failures]\n"
                             "rule = 2\n";

static void merges_and_continuations(void **state)
{
    struct tld_ini ini;
    struct tld_diag d;
    tld_diag_init(&d);
    assert_int_equal(tld_ini_parse(sample, strlen(sample), "t.ini", &ini, &d), 0);
    assert_int_equal(ini.nsections, 2);
    const struct tld_ini_section *s = &ini.sections[0];
    assert_string_equal(s->name, "three failures");
    const struct tld_sb *log = tld_ini_get(s, "log 1 pass");
    assert_non_null(log);
    assert_string_equal(tld_sb_cstr(log),
                        "Jan  1 00:00:01 host p[1]: a\nJan  1 00:00:02 host p[1]: b");
    /* The repeated section appended to "rule". */
    assert_string_equal(tld_sb_cstr(tld_ini_get(s, "rule")), "100101\n2");
    assert_string_equal(tld_sb_cstr(tld_ini_get(s, "decoder")), "");
    const struct tld_ini_section *o = &ini.sections[1];
    assert_string_equal(tld_sb_cstr(tld_ini_get(o, "log 2 fail")),
                        "x = y ; not a comment\ncontinued line");
    assert_string_equal(tld_sb_cstr(tld_ini_get(o, "rule")), "1");
    assert_null(tld_ini_get(o, "alert"));
    tld_ini_fini(&ini);
    tld_diag_fini(&d);
}

static void malformed_lines(void **state)
{
    const char bad[] = "orphan = 1\n[s]\nno delimiter here\n";
    struct tld_ini ini;
    struct tld_diag d;
    tld_diag_init(&d);
    assert_int_equal(tld_ini_parse(bad, strlen(bad), "bad.ini", &ini, &d), TLD_EPARSE);
    assert_int_equal(d.errors, 2);
    assert_string_equal(d.msgs[0].text, "bad.ini:1: error: line before any [section]");
    assert_string_equal(d.msgs[1].text, "bad.ini:3: error: expected 'key = value'");
    tld_ini_fini(&ini);
    tld_diag_fini(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(merges_and_continuations),
        cmocka_unit_test(malformed_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
