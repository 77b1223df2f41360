/* Unit tests for src/common/grow: doubling, first capacity, overflow and failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/grow.h"

struct pair {
    int a;
    double b;
};

/* Appending one by one starts at first_cap, doubles, and keeps every element. */
static void test_doubles_and_keeps(void **state)
{
    (void)state;
    struct pair *v = NULL;
    unsigned n = 0, cap = 0;
    unsigned seen[8] = {0}, nseen = 0;
    for (int i = 0; i < 100; i++) {
        unsigned before = cap;
        assert_int_equal(tld_grow(&v, &cap, n + 1, sizeof *v, 4), 0);
        if (cap != before)
            seen[nseen++] = cap;
        assert_true(cap >= n + 1);
        v[n++] = (struct pair){i, i * 0.5};
    }
    assert_int_equal(nseen, 6);
    unsigned want[] = {4, 8, 16, 32, 64, 128};
    for (unsigned i = 0; i < 6; i++)
        assert_int_equal(seen[i], want[i]);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(v[i].a, i);
        assert_true(v[i].b == i * 0.5);
    }
    free(v);
}

/* Enough room: neither the pointer nor the capacity moves. */
static void test_no_growth_when_room(void **state)
{
    (void)state;
    int *v = NULL;
    unsigned cap = 0;
    assert_int_equal(tld_grow(&v, &cap, 1, sizeof *v, 16), 0);
    int *before = v;
    assert_int_equal(cap, 16);
    assert_int_equal(tld_grow(&v, &cap, 16, sizeof *v, 16), 0);
    assert_ptr_equal(v, before);
    assert_int_equal(cap, 16);
    assert_int_equal(tld_grow(&v, &cap, 0, sizeof *v, 16), 0);
    assert_int_equal(cap, 16);
    free(v);
}

/* A need far past the doubled capacity doubles until it fits. */
static void test_jumps_to_need(void **state)
{
    (void)state;
    char *v = NULL;
    unsigned cap = 0;
    assert_int_equal(tld_grow(&v, &cap, 1000, 1, 8), 0);
    assert_int_equal(cap, 1024);
    memset(v, 'x', 1000);
    assert_int_equal(tld_grow(&v, &cap, 1025, 1, 8), 0);
    assert_int_equal(cap, 2048);
    assert_int_equal(v[999], 'x');
    free(v);
}

/* A first capacity of 0 still grows. */
static void test_zero_first_cap(void **state)
{
    (void)state;
    long *v = NULL;
    unsigned cap = 0;
    assert_int_equal(tld_grow(&v, &cap, 3, sizeof *v, 0), 0);
    assert_int_equal(cap, 4);
    free(v);
}

/* Capacities or byte sizes that do not fit fail with TLD_ENOMEM and leave the array alone. */
static void test_overflow_leaves_array(void **state)
{
    (void)state;
    int *v = NULL;
    unsigned cap = 0;
    assert_int_equal(tld_grow(&v, &cap, 2, sizeof *v, 2), 0);
    v[0] = 7;
    v[1] = 9;
    int *before = v;
    assert_int_equal(tld_grow(&v, &cap, UINT_MAX, sizeof *v, 2), TLD_ENOMEM);
    assert_ptr_equal(v, before);
    assert_int_equal(cap, 2);
    assert_int_equal(tld_grow(&v, &cap, 3, SIZE_MAX / 2, 2), TLD_ENOMEM);
    assert_ptr_equal(v, before);
    assert_int_equal(cap, 2);
    assert_int_equal(tld_grow(&v, &cap, 3, 0, 2), TLD_ENOMEM);
    assert_int_equal(cap, 2);
    assert_int_equal(v[0], 7);
    assert_int_equal(v[1], 9);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_doubles_and_keeps),     cmocka_unit_test(test_no_growth_when_room),
        cmocka_unit_test(test_jumps_to_need),         cmocka_unit_test(test_zero_first_cap),
        cmocka_unit_test(test_overflow_leaves_array),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
