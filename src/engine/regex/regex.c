/*
 * Pattern dispatcher: one table of backends indexed by enum tld_rx_kind, the common checks every
 * kind shares (pattern length bound, subject length that fits 32-bit spans), the copy of the
 * pattern text kept for diagnostics, and the per-thread scratch. The exact-string kind is small
 * enough to live here as its own backend.
 *
 * Invariant: after tld_rx_compile returns, a struct tld_rx and everything it points to are
 * read-only, so one compiled pattern may be matched from many threads at once.
 */
#include "engine/regex/regex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "engine/regex/regex_impl.h"

struct tld_rx {
    const struct tld_rx_backend *be;
    void *impl;
    enum tld_rx_kind kind;
    char *pattern; /* NUL-terminated copy of the text as given */
    /* First-byte filter (see first_bytes): when `filtered`, a subject whose first byte is not
     * in `first` (or an empty one, unless `empty_ok`) cannot match. */
    bool filtered, empty_ok;
    uint64_t first[4];
};

/* ---- first-byte filter --------------------------------------------------------------------- */

static void allow(struct tld_rx *rx, uint8_t c)
{
    uint8_t lo = tld_rx_lower[c], up = (lo >= 'a' && lo <= 'z') ? (uint8_t)(lo - 32) : lo;
    rx->first[lo >> 6] |= 1ull << (lo & 63);
    rx->first[up >> 6] |= 1ull << (up & 63);
}

/*
 * Many rules and decoder prematches are anchored literals ("^Installed|^Updated" as OS_Match,
 * "^hpiod: " as OS_Regex) tried against every event of their kind. When every alternative is
 * "^" followed by a literal byte, only subjects starting with one of those bytes (in either case)
 * can match, and the others are turned away before the backend runs. OS_Match: alternatives
 * split at every '|', no escapes, a leading '!' inverts (no filter then); "^$" matches only the
 * empty subject. OS_Regex: alternatives split at '|' outside escapes; after '^' a literal byte is
 * anything but '\', '(', ')' and a final '$'. Any other shape gets no filter.
 */
static void first_bytes(struct tld_rx *rx, const char *pat, size_t n)
{
    if (rx->kind != TLD_RX_OSMATCH && rx->kind != TLD_RX_OSREGEX)
        return;
    if (n == 0 || (rx->kind == TLD_RX_OSMATCH && pat[0] == '!'))
        return;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && rx->kind == TLD_RX_OSREGEX && pat[i] == '\\') {
            i++;
            continue;
        }
        if (i < n && pat[i] != '|')
            continue;
        const char *a = pat + start;
        size_t an = (i > n ? n : i) - start;
        start = i + 1;
        if (an < 2 || a[0] != '^') {
            memset(rx->first, 0, sizeof rx->first);
            return; /* unanchored, empty or "^": any subject may match */
        }
        char c = a[1];
        if (rx->kind == TLD_RX_OSMATCH && an == 2 && c == '$') {
            rx->empty_ok = true;
            continue;
        }
        if (rx->kind == TLD_RX_OSREGEX &&
            (c == '\\' || c == '(' || c == ')' || (c == '$' && an == 2))) {
            memset(rx->first, 0, sizeof rx->first);
            rx->empty_ok = false;
            return;
        }
        allow(rx, (uint8_t)c);
    }
    rx->filtered = true;
}

/* ---- exact: whole-string, case-sensitive equality ------------------------------------------ */

struct exact {
    size_t n;
    uint8_t p[]; /* the pattern bytes */
};

static int exact_compile(const char *pat, size_t n, unsigned flags, void **impl, char *err,
                         size_t errsz)
{
    struct exact *x = malloc(sizeof *x + n + 1);
    if (!x) {
        tld_rx_set_err(err, errsz, "exact: out of memory");
        return TLD_ENOMEM;
    }
    x->n = n;
    if (n)
        memcpy(x->p, pat, n);
    *impl = x;
    return 0;
}

static void exact_free(void *impl)
{
    free(impl);
}

static bool exact_match(const void *impl, const uint8_t *s, size_t n, struct tld_rx_result *res,
                        struct tld_rx_scratch *scratch)
{
    const struct exact *x = impl;
    if (n != x->n || (n && memcmp(s, x->p, n) != 0))
        return false;
    if (res) {
        res->next = 0;
        res->ncap = 0;
    }
    return true;
}

static const struct tld_rx_backend exact_backend = {
    .name = "exact",
    .compile = exact_compile,
    .free = exact_free,
    .match = exact_match,
};

/* ---- dispatch ----------------------------------------------------------------------------------
 */

static const struct tld_rx_backend *const backends[] = {
    [TLD_RX_OSMATCH] = &tld_rx_osmatch_backend,
    [TLD_RX_OSREGEX] = &tld_rx_osregex_backend,
    [TLD_RX_PCRE2] = &tld_rx_pcre2_backend,
    [TLD_RX_EXACT] = &exact_backend,
};

void tld_rx_set_err(char *err, size_t errsz, const char *fmt, ...)
{
    if (!err || errsz == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
}

int tld_rx_compile(enum tld_rx_kind kind, const char *pat, size_t n, unsigned flags,
                   struct tld_rx **out, char *err, size_t errsz)
{
    *out = NULL;
    if (err && errsz)
        err[0] = 0;
    if ((unsigned)kind >= sizeof backends / sizeof backends[0]) {
        tld_rx_set_err(err, errsz, "unknown pattern kind %d", (int)kind);
        return TLD_EINVAL;
    }
    const struct tld_rx_backend *be = backends[kind];
    if (n > TLD_RX_MAX_PATTERN) {
        tld_rx_set_err(err, errsz, "%s: pattern is %zu bytes long, the limit is %d", be->name, n,
                       TLD_RX_MAX_PATTERN);
        return TLD_ELIMIT;
    }
    if (!pat) {
        if (n) {
            tld_rx_set_err(err, errsz, "%s: no pattern text", be->name);
            return TLD_EINVAL;
        }
        pat = "";
    }
    struct tld_rx *rx = calloc(1, sizeof *rx);
    char *copy = malloc(n + 1);
    if (!rx || !copy) {
        free(rx);
        free(copy);
        tld_rx_set_err(err, errsz, "%s: out of memory", be->name);
        return TLD_ENOMEM;
    }
    if (n)
        memcpy(copy, pat, n);
    copy[n] = 0;
    int rc = be->compile(pat, n, flags, &rx->impl, err, errsz);
    if (rc < 0) {
        free(copy);
        free(rx);
        return rc;
    }
    rx->be = be;
    rx->kind = kind;
    rx->pattern = copy;
    first_bytes(rx, pat, n);
    *out = rx;
    return 0;
}

void tld_rx_free(struct tld_rx *rx)
{
    if (!rx)
        return;
    rx->be->free(rx->impl);
    free(rx->pattern);
    free(rx);
}

enum tld_rx_kind tld_rx_kind(const struct tld_rx *rx)
{
    return rx->kind;
}

const char *tld_rx_pattern(const struct tld_rx *rx)
{
    return rx->pattern;
}

/* Bytes that stand for themselves in an OS_Regex pattern between "^" and "$", kept to the
 * plainly literal ones (no escape, group, alternative or repetition character). */
static bool osregex_plain(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("_-.:/@ ,=", c));
}

bool tld_rx_only_literal(const struct tld_rx *rx, const char **lit, size_t *n)
{
    const char *p = rx->pattern;
    size_t len = strlen(p);
    if (rx->kind == TLD_RX_EXACT) {
        if (((const struct exact *)rx->impl)->n != len)
            return false; /* a NUL inside the pattern */
        *lit = p;
        *n = len;
        return true;
    }
    if ((rx->kind != TLD_RX_OSMATCH && rx->kind != TLD_RX_OSREGEX) || len < 2 || p[0] != '^' ||
        p[len - 1] != '$')
        return false;
    for (size_t i = 1; i + 1 < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 0x80 || (rx->kind == TLD_RX_OSMATCH ? c == '|' : !osregex_plain(c)))
            return false;
    }
    *lit = p + 1;
    *n = len - 2;
    return true;
}

bool tld_rx_match(const struct tld_rx *rx, const char *s, size_t n, struct tld_rx_result *res,
                  struct tld_rx_scratch *scratch)
{
    /* Spans are 32-bit; events are far smaller, so a larger subject is refused, not truncated. */
    if (n >= UINT32_MAX)
        return false;
    if (!s)
        s = "";
    if (rx->filtered &&
        (n ? !((rx->first[(uint8_t)s[0] >> 6] >> ((uint8_t)s[0] & 63)) & 1) : !rx->empty_ok)) {
#ifdef TLD_FUZZING
        /* The fuzzers check every turned-away subject against the backend. */
        if (rx->be->match(rx->impl, (const uint8_t *)s, n, NULL, scratch))
            __builtin_trap();
#endif
        return false;
    }
    return rx->be->match(rx->impl, (const uint8_t *)s, n, res, scratch);
}

struct tld_rx_scratch *tld_rx_scratch_new(void)
{
    struct tld_rx_scratch *sc = calloc(1, sizeof *sc);
    if (!sc)
        return NULL;
    sc->pcre2 = tld_rx_pcre2_scratch_new();
    if (!sc->pcre2) {
        free(sc);
        return NULL;
    }
    return sc;
}

void tld_rx_scratch_free(struct tld_rx_scratch *scratch)
{
    if (!scratch)
        return;
    tld_rx_pcre2_scratch_free(scratch->pcre2);
    free(scratch);
}
