/*
 * Group-name matcher for `if_group` attachment (regex.md §6): case-insensitive substring or, for
 * an alternative starting with '^', prefix test of each '|'-separated alternative against a
 * rule's whole group string. Load-time only, so it works straight on the texts without a
 * compiled form and without allocating.
 */
#include "engine/regex/regex.h"

#include "engine/regex/regex_impl.h"

static bool eq_nocase(const uint8_t *a, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (tld_rx_lower[a[i]] != tld_rx_lower[b[i]])
            return false;
    return true;
}

static bool alt_match(const uint8_t *a, size_t an, const uint8_t *g, size_t gn)
{
    if (an > 0 && a[0] == '^')
        return an - 1 <= gn && eq_nocase(a + 1, g, an - 1);
    if (an > gn)
        return false;
    for (size_t i = 0; i + an <= gn; i++)
        if (eq_nocase(a, g + i, an))
            return true;
    return false;
}

bool tld_rx_group_match(const char *expr, size_t en, const char *groups, size_t gn)
{
    const uint8_t *e = (const uint8_t *)(expr ? expr : "");
    const uint8_t *g = (const uint8_t *)(groups ? groups : "");
    size_t start = 0;
    for (size_t i = 0; i <= en; i++) {
        if (i < en && e[i] != '|')
            continue;
        if (alt_match(e + start, i - start, g, gn))
            return true;
        start = i + 1;
    }
    return false;
}
