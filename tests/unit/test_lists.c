/* Unit tests for the CDB list registry (src/engine/rules/lists.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "engine/rules/lists.h"

static const struct tld_list *add(struct tld_lists *ls, const char *name, const char *text)
{
    assert_int_equal(tld_lists_add_buf(ls, name, text, strlen(text)), 0);
    const struct tld_list *l = tld_lists_find(ls, tld_sv_of(name));
    assert_non_null(l);
    return l;
}

static bool get(const struct tld_list *l, const char *key, const char *want_value)
{
    struct tld_sv v;
    if (!tld_list_get(l, tld_sv_of(key), &v))
        return false;
    if (want_value && !tld_sv_eq_cstr(v, want_value)) {
        fprintf(stderr, "key %s: value '%.*s', want '%s'\n", key, (int)v.n, v.p, want_value);
        return false;
    }
    return true;
}

static void parsing(void **state)
{
    struct tld_lists *ls;
    assert_int_equal(tld_lists_new(&ls), 0);
    const struct tld_list *l = add(ls, "etc/lists/x",
                                   "plain:value\n"
                                   "empty:\n"
                                   "dup:first\n"
                                   "dup:second\n"
                                   "\"a0:b1:c2\":mac\n"
                                   "\"q\"junk:after\n"
                                   "user:\"quoted value\" tail\n"
                                   "  padded  :  v  \n"
                                   "no colon here\n"
                                   "\"unclosed:x\n"
                                   "k:\"unclosed value\n"
                                   "crlf:val\r\n"
                                   "multi:a:b\n"
                                   ":emptykey\n"
                                   "last:noeol");
    assert_true(get(l, "plain", "value"));
    assert_true(get(l, "empty", ""));
    assert_true(get(l, "dup", "first"));
    assert_true(get(l, "a0:b1:c2", "mac"));
    assert_true(get(l, "q", "after"));
    assert_true(get(l, "user", "quoted value"));
    assert_true(get(l, "  padded  ", "  v  "));
    assert_false(get(l, "padded", NULL));
    assert_false(get(l, "no colon here", NULL));
    assert_false(get(l, "unclosed", NULL));
    assert_false(get(l, "k", NULL));
    assert_true(get(l, "crlf", "val"));
    assert_true(get(l, "multi", "a:b"));
    assert_true(get(l, "", "emptykey"));
    assert_true(get(l, "last", "noeol"));
    assert_int_equal(tld_list_size(l), 12); /* dup counted twice; lookups see the first */
    tld_lists_free(ls);
}

static void addresses_and_names(void **state)
{
    struct tld_lists *ls;
    assert_int_equal(tld_lists_new(&ls), 0);
    const struct tld_list *l = add(ls, "etc/lists/ips", "10.:ten\n10.1.:ten-one\n10.1.2.3:host\n");
    struct tld_sv v;
    assert_true(tld_list_get_address(l, tld_sv_of("10.1.2.3"), &v));
    assert_true(tld_sv_eq_cstr(v, "host"));
    assert_true(tld_list_get_address(l, tld_sv_of("10.1.9.9"), &v));
    assert_true(tld_sv_eq_cstr(v, "ten-one")); /* longest prefix first */
    assert_true(tld_list_get_address(l, tld_sv_of("10.200.0.1"), &v));
    assert_true(tld_sv_eq_cstr(v, "ten"));
    assert_false(tld_list_get_address(l, tld_sv_of("11.0.0.1"), &v));
    assert_false(tld_list_get(l, tld_sv_of("10.1.9.9"), NULL));
    /* names: exact, or with/without .cdb on either side */
    assert_ptr_equal(tld_lists_find(ls, tld_sv_of("etc/lists/ips.cdb")), l);
    add(ls, "etc/lists/other.cdb", "a:b\n");
    assert_non_null(tld_lists_find(ls, tld_sv_of("etc/lists/other")));
    assert_null(tld_lists_find(ls, tld_sv_of("lists/ips")));
    assert_null(tld_lists_find(ls, tld_sv_of("etc/lists/ip")));
    assert_int_equal(tld_lists_add_buf(ls, "etc/lists/ips", "x:y", 3), TLD_EEXIST);
    assert_int_equal(tld_lists_count(ls), 2);
    assert_string_equal(tld_list_name(l), "etc/lists/ips");
    tld_lists_free(ls);
}

static void big_list_and_file(void **state)
{
    struct tld_lists *ls;
    assert_int_equal(tld_lists_new(&ls), 0);
    char path[] = "/tmp/tld_list_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    for (int i = 0; i < 50000; i++)
        fprintf(f, "key%d:value%d\n", i, i * 2);
    fclose(f);
    struct tld_diag d;
    tld_diag_init(&d);
    assert_int_equal(tld_lists_add_file(ls, "etc/lists/big", path, &d), 0);
    const struct tld_list *l = tld_lists_find(ls, tld_sv_of("etc/lists/big"));
    assert_int_equal(tld_list_size(l), 50000);
    char k[32], v[32];
    for (int i = 0; i < 50000; i += 997) {
        snprintf(k, sizeof k, "key%d", i);
        snprintf(v, sizeof v, "value%d", i * 2);
        assert_true(get(l, k, v));
    }
    assert_false(get(l, "key50000", NULL));
    unlink(path);
    assert_int_equal(tld_lists_add_file(ls, "etc/lists/none", path, &d), TLD_EIO);
    assert_int_equal(d.errors, 1);
    assert_non_null(strstr(d.msgs[0].text, "cannot read list"));
    tld_diag_fini(&d);
    tld_lists_free(ls);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parsing),
        cmocka_unit_test(addresses_and_names),
        cmocka_unit_test(big_list_and_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
