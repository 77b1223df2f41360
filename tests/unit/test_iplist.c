/* Unit tests for the <srcip>/<dstip> IP lists (src/engine/rules/iplist.c, regex.md §7). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "engine/rules/iplist.h"

/* A list from a NULL-terminated array of entries, all of which must be valid. */
static struct tld_iplist *list_of(const char *const *entries)
{
    struct tld_iplist *l = tld_iplist_new();
    assert_non_null(l);
    char err[128];
    for (; *entries; entries++)
        if (tld_iplist_add(l, *entries, strlen(*entries), err, sizeof err) != 0)
            fail_msg("entry '%s' refused: %s", *entries, err);
    return l;
}

static bool m(const struct tld_iplist *l, const char *v)
{
    return tld_iplist_match(l, v, strlen(v));
}

static void valid_and_invalid_entries(void **state)
{
    const char *good[] = {
        "1.2.3.4", "10.0.0.0/8",    "10.0.0.0/255.0.0.0", "0.0.0.0/0",           "192.168.1.7/24",
        "::1",     "2001:db8::/32", "::ffff:10.1.2.3",    "::ffff:10.1.2.0/120", "any",
        "!any",    "!1.2.3.4",      "fe80::/10",          "1.2.3.4/32",          "::/0"};
    struct tld_iplist *l = tld_iplist_new();
    char err[128];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (tld_iplist_add(l, good[i], strlen(good[i]), err, sizeof err) != 0)
            fail_msg("'%s' refused: %s", good[i], err);
    assert_int_equal(tld_iplist_count(l), sizeof good / sizeof good[0]);

    const char *bad[] = {"",
                         "1.2.3",
                         "1.2.3.256",
                         "1.2.3.4/33",
                         "1.2.3.4/024",
                         "1.2.3.4/",
                         "1.2.3.4/255.0.0",
                         "1.2.3.4/8/8",
                         "abc",
                         "::1/129",
                         "::1/",
                         "::1/1x",
                         "!",
                         "any/8",
                         " 1.2.3.4",
                         "1.2.3.4 ",
                         "ANY",
                         "::ffff:1.2.3.4/64",
                         "1.2.3.4/-1",
                         "!!1.2.3.4"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        int rc = tld_iplist_add(l, bad[i], strlen(bad[i]), err, sizeof err);
        if (rc != TLD_EPARSE)
            fail_msg("'%s' accepted (rc %d)", bad[i], rc);
        assert_true(strlen(err) > 0);
    }
    assert_int_equal(tld_iplist_count(l), sizeof good / sizeof good[0]);
    /* The reason names what is wrong. */
    tld_iplist_add(l, "1.2.3.4/33", 10, err, sizeof err);
    assert_non_null(strstr(err, "/33"));
    tld_iplist_add(l, "1.2.x.4", 7, err, sizeof err);
    assert_non_null(strstr(err, "1.2.x.4"));
    /* Embedded NUL and over-long texts. */
    assert_int_equal(tld_iplist_add(l, "1.2.3.4\0x", 9, NULL, 0), TLD_EPARSE);
    char longtxt[100];
    memset(longtxt, '1', sizeof longtxt);
    assert_int_equal(tld_iplist_add(l, longtxt, sizeof longtxt, NULL, 0), TLD_EPARSE);
    tld_iplist_free(l);
    tld_iplist_free(NULL);
}

static void plain_matching(void **state)
{
    const char *e1[] = {"10.0.0.0/8", "192.168.1.0/255.255.255.0", "1.2.3.4", NULL};
    struct tld_iplist *l = list_of(e1);
    assert_true(m(l, "10.0.0.0"));
    assert_true(m(l, "10.255.255.255"));
    assert_false(m(l, "11.0.0.0"));
    assert_false(m(l, "9.255.255.255"));
    assert_true(m(l, "192.168.1.200"));
    assert_false(m(l, "192.168.2.1"));
    assert_true(m(l, "1.2.3.4"));
    assert_false(m(l, "1.2.3.5"));
    /* An IPv4-mapped value is the IPv4 host. */
    assert_true(m(l, "::ffff:10.1.2.3"));
    /* Not an IP: no match. */
    assert_false(m(l, "10.0.0.1x"));
    assert_false(m(l, "10.0.0.0/8"));
    assert_false(m(l, "host"));
    assert_false(m(l, ""));
    /* Other family: no match. */
    assert_false(m(l, "::1"));
    tld_iplist_free(l);

    /* Host bits in the entry are ignored (the entry is masked). */
    const char *e2[] = {"192.168.1.77/24", NULL};
    l = list_of(e2);
    assert_true(m(l, "192.168.1.1"));
    tld_iplist_free(l);

    const char *e3[] = {"2001:db8::/32", "::1", "::ffff:172.16.0.0/108", NULL};
    l = list_of(e3);
    assert_true(m(l, "2001:db8:ffff::1"));
    assert_true(m(l, "2001:DB8::"));
    assert_false(m(l, "2001:db9::1"));
    assert_true(m(l, "::1"));
    assert_false(m(l, "::2"));
    /* The mapped entry with an IPv6 prefix of 108 is 172.16.0.0/12. */
    assert_true(m(l, "172.31.255.255"));
    assert_false(m(l, "172.32.0.0"));
    assert_false(m(l, "1.2.3.4"));
    tld_iplist_free(l);

    const char *e4[] = {"any", NULL};
    l = list_of(e4);
    assert_true(m(l, "1.2.3.4"));
    assert_true(m(l, "fe80::1"));
    assert_false(m(l, "not-an-ip"));
    tld_iplist_free(l);

    /* The empty list never matches. */
    struct tld_iplist *empty = tld_iplist_new();
    assert_false(m(empty, "1.2.3.4"));
    tld_iplist_free(empty);
}

static void negation_polarity(void **state)
{
    const char *e1[] = {"!1.2.3.4", NULL};
    struct tld_iplist *l = list_of(e1);
    assert_false(m(l, "1.2.3.4"));
    assert_true(m(l, "5.6.7.8"));
    assert_false(m(l, "junk")); /* not an IP: still no match */
    tld_iplist_free(l);

    const char *e2[] = {"!10.0.0.0/8", "!192.168.0.0/16", NULL};
    l = list_of(e2);
    assert_false(m(l, "10.1.1.1"));
    assert_false(m(l, "192.168.3.3"));
    assert_true(m(l, "8.8.8.8"));
    tld_iplist_free(l);

    /* Mixed lists depend on the order: the flip happens when a '!' entry is reached. */
    const char *e3[] = {"1.2.3.4", "!5.6.7.8", NULL};
    l = list_of(e3);
    assert_true(m(l, "1.2.3.4"));  /* found before any '!' */
    assert_false(m(l, "5.6.7.8")); /* found after the '!' */
    assert_true(m(l, "9.9.9.9"));  /* none found, a '!' was seen */
    tld_iplist_free(l);

    const char *e4[] = {"!5.6.7.8", "1.2.3.4", NULL};
    l = list_of(e4);
    assert_false(m(l, "1.2.3.4")); /* a plain entry after a '!' one reports false */
    assert_false(m(l, "5.6.7.8"));
    assert_true(m(l, "9.9.9.9"));
    tld_iplist_free(l);

    const char *e5[] = {"!any", NULL};
    l = list_of(e5);
    assert_false(m(l, "1.2.3.4"));
    assert_false(m(l, "::1"));
    tld_iplist_free(l);
}

static void entry_limit(void **state)
{
    struct tld_iplist *l = tld_iplist_new();
    char txt[32];
    for (int i = 0; i < TLD_IPLIST_MAX; i++) {
        int n = snprintf(txt, sizeof txt, "10.%d.%d.1", i / 256, i % 256);
        assert_int_equal(tld_iplist_add(l, txt, (size_t)n, NULL, 0), 0);
    }
    assert_int_equal(tld_iplist_add(l, "1.1.1.1", 7, NULL, 0), TLD_ELIMIT);
    assert_true(m(l, "10.3.255.1"));
    assert_false(m(l, "10.4.0.1"));
    tld_iplist_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_and_invalid_entries),
        cmocka_unit_test(plain_matching),
        cmocka_unit_test(negation_polarity),
        cmocka_unit_test(entry_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
