/*
 * libFuzzer harness for the pattern engines, the group matcher and IP lists.
 * Input: one selector byte, then the pattern, a NUL byte, and the subject (without a NUL the
 * pattern is matched against itself). Every kind is compiled with and without TLD_RX_CAPTURE and
 * matched; the harness checks the result invariants (spans inside the subject and ordered, next
 * within the subject, the verdict independent of whether a result is requested) and compares
 * OS_Match with a naive model of regex.md §3.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/rules/iplist.h"
#include "engine/regex/regex.h"

static struct tld_rx_scratch *scratch;

static bool ci_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int x = a[i], y = b[i];
        x += (x >= 'A' && x <= 'Z') ? 32 : 0;
        y += (y >= 'A' && y <= 'Z') ? 32 : 0;
        if (x != y)
            return false;
    }
    return true;
}

static bool model_osmatch(const uint8_t *pat, size_t pn, const uint8_t *s, size_t n)
{
    bool inv = pn && pat[0] == '!';
    if (inv) {
        pat++;
        pn--;
    }
    bool any = false;
    size_t st = 0;
    for (size_t i = 0; i <= pn && !any; i++) {
        if (i < pn && pat[i] != '|')
            continue;
        const uint8_t *a = pat + st;
        size_t an = i - st;
        st = i + 1;
        bool hat = an && a[0] == '^', dol = an && a[an - 1] == '$';
        const uint8_t *x = a + hat;
        size_t xn = an - hat - dol;
        if (an == 0 || (an == 1 && (hat || dol)))
            any = true;
        else if (hat && dol)
            any = xn == n && ci_eq(x, s, n);
        else if (hat)
            any = xn <= n && ci_eq(x, s, xn);
        else if (dol)
            any = xn <= n && ci_eq(x, s + n - xn, xn);
        else
            for (size_t k = 0; k + xn <= n && !any; k++)
                any = ci_eq(x, s + k, xn);
    }
    return any != inv;
}

static bool same_nocase(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    if (an != bn)
        return false;
    for (size_t i = 0; i < an; i++) {
        uint8_t x = a[i] >= 'A' && a[i] <= 'Z' ? (uint8_t)(a[i] | 0x20) : a[i];
        uint8_t y = b[i] >= 'A' && b[i] <= 'Z' ? (uint8_t)(b[i] | 0x20) : b[i];
        if (x != y)
            return false;
    }
    return true;
}

static void check_kind(enum tld_rx_kind kind, unsigned flags, const uint8_t *pat, size_t pn,
                       const uint8_t *s, size_t n)
{
    static struct tld_rx_result res;
    struct tld_rx *rx = NULL;
    char err[256];
    int rc = tld_rx_compile(kind, (const char *)pat, pn, flags, &rx, err, sizeof err);
    if (rc != 0) {
        if (rx || !err[0])
            abort(); /* a failed compile leaves nothing and always says why */
        if (kind == TLD_RX_OSMATCH || kind == TLD_RX_EXACT)
            abort(); /* these never fail below the length bound */
        return;
    }
    if (strlen(tld_rx_pattern(rx)) > pn || tld_rx_kind(rx) != kind)
        abort();
    memset(&res, 0xa5, sizeof res);
    bool m = tld_rx_match(rx, (const char *)s, n, &res, scratch);
    if (m != tld_rx_match(rx, (const char *)s, n, NULL, scratch))
        abort();
    if (m) {
        if (res.next > n || res.ncap > TLD_RX_MAX_CAPTURES)
            abort();
        for (unsigned i = 0; i < res.ncap; i++)
            if (res.cap[i].so > res.cap[i].eo || res.cap[i].eo > n)
                abort();
        if (!(flags & TLD_RX_CAPTURE) && kind == TLD_RX_OSREGEX && res.ncap != 0)
            abort();
    }
    if (kind == TLD_RX_OSMATCH && m != model_osmatch(pat, pn, s, n))
        abort();
    if (kind == TLD_RX_EXACT && m != (pn == n && memcmp(pat, s, n) == 0))
        abort();
    /* A pattern said to accept one literal matches nothing else (ASCII case aside); rules skip
     * siblings on that word. The subject and its variants with the literal's bytes: */
    const char *lit;
    size_t ln;
    if (tld_rx_only_literal(rx, &lit, &ln)) {
        if (m && !same_nocase(s, n, (const uint8_t *)lit, ln))
            abort();
        if (!tld_rx_match(rx, lit, ln, NULL, scratch))
            abort(); /* and the literal itself matches */
    }
    tld_rx_free(rx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 8192)
        return 0;
    if (!scratch && !(scratch = tld_rx_scratch_new()))
        abort();
    uint8_t sel = data[0];
    const uint8_t *pat = data + 1;
    size_t rest = size - 1;
    const uint8_t *nul = memchr(pat, 0, rest);
    size_t pn = nul ? (size_t)(nul - pat) : rest;
    const uint8_t *s = nul ? nul + 1 : pat;
    size_t n = nul ? rest - pn - 1 : rest;

    static const enum tld_rx_kind kinds[] = {TLD_RX_OSMATCH, TLD_RX_OSREGEX, TLD_RX_PCRE2,
                                             TLD_RX_EXACT};
    for (int k = 0; k < 4; k++) {
        /* PCRE2 is the slow one; skip it for a quarter of inputs to keep throughput. */
        if (kinds[k] == TLD_RX_PCRE2 && (sel & 3) == 3)
            continue;
        check_kind(kinds[k], 0, pat, pn, s, n);
        check_kind(kinds[k], TLD_RX_CAPTURE, pat, pn, s, n);
    }
    (void)tld_rx_group_match((const char *)pat, pn, (const char *)s, n);

    struct tld_iplist *l = tld_iplist_new();
    if (!l)
        abort();
    /* Entries: the pattern split on '|'; the subject is the value. */
    size_t st = 0;
    for (size_t i = 0; i <= pn; i++) {
        if (i < pn && pat[i] != '|')
            continue;
        (void)tld_iplist_add(l, (const char *)pat + st, i - st, NULL, 0);
        st = i + 1;
    }
    (void)tld_iplist_match(l, (const char *)s, n);
    tld_iplist_free(l);
    return 0;
}
