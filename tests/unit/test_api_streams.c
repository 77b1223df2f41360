/*
 * Unit tests for the API's streamed routes without a network: CSV cells (RFC 4180 quoting and
 * the apostrophe before formula cells) and the export's parameters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "api/api.h"
#include "api/params.h"

static void cell_is(const char *in, const char *want)
{
    struct tld_sb sb;
    tld_sb_init(&sb, 1u << 16);
    tld_api_csv_cell(&sb, in, strlen(in));
    assert_string_equal(tld_sb_cstr(&sb), want);
    tld_sb_fini(&sb);
}

static void test_csv_cells(void **state)
{
    (void)state;
    cell_is("plain", "plain");
    cell_is("", "");
    cell_is("a,b", "\"a,b\"");
    cell_is("say \"hi\"", "\"say \"\"hi\"\"\"");
    cell_is("two\nlines", "\"two\nlines\"");
    cell_is("cr\rhere", "\"cr\rhere\"");
    /* Formula cells: = + - @ TAB CR first get an apostrophe, inside the quotes when quoted. */
    cell_is("=1+2", "'=1+2");
    cell_is("+1", "'+1");
    cell_is("-1", "'-1");
    cell_is("@SUM(A1)", "'@SUM(A1)");
    cell_is("\tx", "'\tx");
    cell_is("\rx", "\"'\rx\"");
    cell_is("=HYPERLINK(\"http://x\",\"y\")", "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
    cell_is("a=b", "a=b");
    cell_is(" =x", " =x");
}

static void test_export_params(void **state)
{
    (void)state;
    struct tld_api_params p;
    char why[TLD_WHY_MAX];
    tld_api_params_init(&p);
    assert_int_equal(tld_api_param_set(&p, "fields", "timestamp, rule.id,data.srcip", why), 0);
    assert_int_equal(p.nselect, 3);
    assert_string_equal(p.select[1], "rule.id");
    assert_int_equal(tld_api_param_set(&p, "fields", "rule.id,(SELECT 1)", why), TLD_EINVAL);
    assert_non_null(strstr(why, "fields:"));
    assert_int_equal(tld_api_param_set(&p, "fields", "", why), TLD_EINVAL);
    assert_int_equal(tld_api_param_set(&p, "last_event_id", "42", why), 0);
    assert_true(p.have_last_event_id);
    assert_int_equal(p.last_event_id, 42);
    assert_int_equal(tld_api_param_set(&p, "last_event_id", "-1", why), TLD_EINVAL);
    assert_int_equal(tld_api_param_set(&p, "last_event_id", "1 OR 1=1", why), TLD_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_cells),
        cmocka_unit_test(test_export_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
