/*
 * Unit tests for the SQLite alert store (src/store/): the store query suite
 * (test_store_suite.h) on a SQLite database in a scratch folder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_store_suite.h"

static struct tld_store *open_sqlite(struct fixture *f, bool read_only)
{
    return store_open(f->tmp.path, read_only);
}

/* One store for the whole suite: filling it is the slow part, and no test changes it. */
static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    store_tmp_make(&f->tmp);
    f->open = open_sqlite;
    suite_fill(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    suite_empty(f);
    store_tmp_remove(&f->tmp);
    free(f);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {STORE_SUITE_TESTS(suite_nothing, suite_nothing)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
