/*
 * Unit tests for the API's streamed routes without a network: CSV cells (RFC 4180 quoting and
 * the apostrophe before formula cells), the export's parameters, and the store's last id that
 * a live stream starts after.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static int count_hit(void *ctx, const struct tld_store_hit *h)
{
    (void)h;
    ++*(size_t *)ctx;
    return 0;
}

static void test_store_last_id(void **state)
{
    (void)state;
    char dir[] = "/tmp/tld_api_streams_XXXXXX", path[128];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/a.db", dir);
    struct tld_store_config cfg = {.backend = TLD_STORE_SQLITE, .path = path};
    struct tld_store *w, *r;
    assert_int_equal(tld_store_open(&cfg, &w), 0);
    int64_t id = -1;
    assert_int_equal(tld_store_last_id(w, &id), 0);
    assert_int_equal(id, 0);
    static const char *const lines[] = {
        "{\"timestamp\":\"2026-05-12T10:00:00.000+0000\",\"rule\":{\"id\":\"1\"}}",
        "{\"timestamp\":\"2026-05-12T09:00:00.000+0000\",\"rule\":{\"id\":\"2\"}}",
        "{\"timestamp\":\"2026-05-12T11:00:00.000+0000\",\"rule\":{\"id\":\"1\"}}",
    };
    struct tld_store_line l[3];
    uint64_t off = 0;
    for (size_t i = 0; i < 3; i++) {
        off += strlen(lines[i]) + 1;
        l[i] = (struct tld_store_line){lines[i], strlen(lines[i]), {1, off}};
    }
    struct tld_store_batch b = {l, 3, 0};
    size_t stored = 0;
    assert_int_equal(tld_store_ingest(w, &b, &stored), 0);
    assert_int_equal(stored, 3);
    /* A reader sees the writer's last id: ingest order, whatever the timestamps. */
    cfg.read_only = true;
    assert_int_equal(tld_store_open(&cfg, &r), 0);
    assert_int_equal(tld_store_last_id(r, &id), 0);
    assert_int_equal(id, 3);
    size_t n = 0;
    int64_t last = 1;
    assert_int_equal(tld_store_tail(r, &(struct tld_store_filter){NULL, 0, INT64_MAX}, 1, 10,
                                    count_hit, &n, &last),
                     0);
    assert_int_equal(n, 2);
    assert_int_equal(last, 3);
    tld_store_close(r);
    tld_store_close(w);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_cells),
        cmocka_unit_test(test_export_params),
        cmocka_unit_test(test_store_last_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
