/* Unit tests for on-disk format versions (src/common/format.c and its users): a missing version
 * is written as the current one, a newer or foreign one is refused with TLD_EFORMAT by every
 * state that is opened (spool, journal, agent registry, file positions). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect/files/positions.h"
#include "collect/spool.h"
#include "common/err.h"
#include "common/format.h"
#include "manager/agents.h"
#include "manager/journal.h"

static char dir[256];

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/tld-test-format.XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

static void write_text(const char *name, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void read_text(const char *name, char *buf, size_t n)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    size_t got = fread(buf, 1, n - 1, f);
    buf[got] = 0;
    fclose(f);
}

static void missing_is_written_as_current(void **state)
{
    char buf[64];
    assert_int_equal(tld_format_dir_check(dir, "spool", 1), 0);
    read_text(TLD_FORMAT_FILE, buf, sizeof buf);
    assert_string_equal(buf, "spool 1\n");
    /* Read back: the same release accepts it. */
    assert_int_equal(tld_format_dir_check(dir, "spool", 1), 0);
}

static void newer_or_foreign_is_refused(void **state)
{
    write_text(TLD_FORMAT_FILE, "spool 2\n");
    assert_int_equal(tld_format_dir_check(dir, "spool", 1), TLD_EFORMAT);
    write_text(TLD_FORMAT_FILE, "journal 1\n");
    assert_int_equal(tld_format_dir_check(dir, "spool", 1), TLD_EFORMAT);
    write_text(TLD_FORMAT_FILE, "garbage\n");
    assert_int_equal(tld_format_dir_check(dir, "spool", 1), TLD_EFORMAT);
    write_text(TLD_FORMAT_FILE, "spool 1\n");
    assert_int_equal(tld_format_dir_check(dir, "spool", 2), 0); /* older: migrated by the user */
}

static void spool_and_journal_check_theirs(void **state)
{
    write_text(TLD_FORMAT_FILE, "spool 9\n");
    struct tld_spool_opts so = {.dir = dir, .max_bytes = 1u << 20};
    struct tld_spool *sp = NULL;
    assert_int_equal(tld_spool_open(&so, &sp), TLD_EFORMAT);
    assert_null(sp);
    write_text(TLD_FORMAT_FILE, "journal 9\n");
    struct tld_journal_opts jo = {.dir = dir, .max_bytes = 4u << 20};
    struct tld_journal *j = NULL;
    assert_int_equal(tld_journal_open(&jo, &j), TLD_EFORMAT);
    assert_null(j);
    /* A spool of a release before versions (no FORMAT file) opens and gets one. */
    char p[512];
    snprintf(p, sizeof p, "%s/" TLD_FORMAT_FILE, dir);
    unlink(p);
    assert_int_equal(tld_spool_open(&so, &sp), 0);
    tld_spool_close(sp);
    char buf[64];
    read_text(TLD_FORMAT_FILE, buf, sizeof buf);
    assert_string_equal(buf, "spool 1\n");
}

static void registry_and_positions_check_theirs(void **state)
{
    struct tld_agents *r = NULL;
    char why[TLD_WHY_MAX];
    /* Without a format line (earlier releases): version 1, read. */
    write_text("agents", "next 1\n");
    assert_int_equal(tld_agents_open(dir, 10, &r, why), 0);
    tld_agents_close(r);
    r = NULL;
    write_text("agents", "# format 2\nnext 1\n");
    assert_int_equal(tld_agents_open(dir, 10, &r, why), TLD_EFORMAT);
    assert_non_null(strstr(why, "newer release"));
    struct tld_positions p;
    tld_positions_init(&p);
    write_text("pos.json", "{\"version\":2,\"spool_seq\":\"1\",\"files\":[]}");
    char path[512];
    snprintf(path, sizeof path, "%s/pos.json", dir);
    assert_int_equal(tld_positions_load(path, &p), TLD_EFORMAT);
    tld_positions_fini(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(missing_is_written_as_current, setup, teardown),
        cmocka_unit_test_setup_teardown(newer_or_foreign_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(spool_and_journal_check_theirs, setup, teardown),
        cmocka_unit_test_setup_teardown(registry_and_positions_check_theirs, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
