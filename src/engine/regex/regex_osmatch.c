/*
 * OS_Match: a list of literal alternatives separated by '|', each optionally anchored with a
 * leading '^' and/or trailing '$', compared case-insensitively (ASCII); a leading '!' inverts the
 * whole result (regex.md §3). There is no escaping: every other byte is literal.
 *
 * It runs hundreds of times per event, so everything is decided at compile time: texts are
 * lower-cased once, an always-true alternative (empty, "^", "$") short-circuits the whole
 * pattern, anchored alternatives are checked first (constant time), and the unanchored ones are
 * found with a SIMD first/last-byte filter (one needle) or, for long lists, with one scan of the
 * subject through a two-byte filter and per-first-byte buckets. The result of OS_Match does not
 * depend on which alternative matched, so the order of evaluation is free.
 */
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "common/err.h"
#include "engine/regex/regex_impl.h"

enum akind { A_EXACT, A_PREFIX, A_SUFFIX };

struct anch {
    uint32_t off, len; /* in osmatch.lit */
    enum akind kind;
};

struct needle {
    uint32_t off, len; /* in osmatch.lit, len >= 1 */
    uint8_t first, last;
    uint8_t first_or, last_or; /* 0x20 when that byte is a letter: (c | 0x20) == letter */
};

/* Unanchored lists at least this long are scanned once through a filter instead of once per
 * needle. Measured with bench/bench_regex.c: the filter scan costs about 1.1 ns per subject byte,
 * one SIMD needle search about 0.16 ns per byte, so the filter wins from about 7 needles on. */
#define MULTI_MIN 8

struct multi {
    uint64_t pair[65536 / 64]; /* raw byte pairs (s[i] | s[i+1] << 8) that may start a needle */
    uint64_t one[4];           /* raw bytes that are, in some case, a whole one-byte needle */
    uint32_t bucket[257];      /* needles starting with lowered byte b: order[bucket[b]..[b+1]) */
    uint32_t *order;           /* indices of needles longer than one byte, by first byte */
};

struct osmatch {
    bool invert;
    bool always; /* an alternative is true for every input */
    uint8_t *lit;
    struct anch *anch;
    uint32_t nanch;
    struct needle *sub;
    uint32_t nsub;
    struct multi *multi;
};

static void osmatch_free(void *impl)
{
    struct osmatch *m = impl;
    if (!m)
        return;
    if (m->multi)
        free(m->multi->order);
    free(m->multi);
    free(m->lit);
    free(m->anch);
    free(m->sub);
    free(m);
}

static inline void set_bit(uint64_t *bits, unsigned i)
{
    bits[i >> 6] |= 1ull << (i & 63);
}

static inline bool get_bit(const uint64_t *bits, unsigned i)
{
    return (bits[i >> 6] >> (i & 63)) & 1u;
}

/* The byte values that lower to `b` (one, or two for a letter). */
static unsigned variants(uint8_t b, uint8_t v[2])
{
    v[0] = b;
    if (b >= 'a' && b <= 'z') {
        v[1] = (uint8_t)(b - 32);
        return 2;
    }
    return 1;
}

static int build_multi(struct osmatch *m)
{
    struct multi *mu = calloc(1, sizeof *mu);
    if (!mu)
        return TLD_ENOMEM;
    m->multi = mu;
    mu->order = malloc(m->nsub * sizeof *mu->order);
    if (!mu->order)
        return TLD_ENOMEM;
    uint32_t count[256] = {0};
    for (uint32_t i = 0; i < m->nsub; i++) {
        const struct needle *nd = &m->sub[i];
        uint8_t v0[2], v1[2];
        unsigned n0 = variants(nd->first, v0);
        if (nd->len == 1) {
            for (unsigned a = 0; a < n0; a++) {
                set_bit(mu->one, v0[a]);
                for (unsigned b = 0; b < 256; b++)
                    set_bit(mu->pair, v0[a] | b << 8);
            }
            continue;
        }
        unsigned n1 = variants(m->lit[nd->off + 1], v1);
        for (unsigned a = 0; a < n0; a++)
            for (unsigned b = 0; b < n1; b++)
                set_bit(mu->pair, v0[a] | (unsigned)v1[b] << 8);
        count[nd->first]++;
    }
    uint32_t at = 0;
    for (unsigned b = 0; b < 256; b++) {
        mu->bucket[b] = at;
        at += count[b];
    }
    mu->bucket[256] = at;
    uint32_t fill[256];
    memcpy(fill, mu->bucket, sizeof fill);
    for (uint32_t i = 0; i < m->nsub; i++)
        if (m->sub[i].len > 1)
            mu->order[fill[m->sub[i].first]++] = i;
    return 0;
}

static int osmatch_compile(const char *pat, size_t n, unsigned flags, void **impl, char *err,
                           size_t errsz)
{
    struct osmatch *m = calloc(1, sizeof *m);
    if (!m)
        goto oom;
    const uint8_t *p = (const uint8_t *)pat;
    if (n > 0 && p[0] == '!') {
        m->invert = true;
        p++;
        n--;
    }
    size_t nalts = 1;
    for (size_t i = 0; i < n; i++)
        nalts += p[i] == '|';
    m->lit = malloc(n + 1);
    m->anch = malloc(nalts * sizeof *m->anch);
    m->sub = malloc(nalts * sizeof *m->sub);
    if (!m->lit || !m->anch || !m->sub)
        goto oom;
    for (size_t i = 0; i < n; i++)
        m->lit[i] = tld_rx_lower[p[i]];

    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && p[i] != '|')
            continue;
        size_t a = start, e = i; /* the alternative is lit[a..e) */
        start = i + 1;
        bool hat = e > a && p[a] == '^';
        bool dollar = e > a && p[e - 1] == '$'; /* never the same byte as the '^' */
        if (hat)
            a++;
        if (dollar)
            e--;
        if (e == a && (!hat || !dollar)) {
            /* "", "^", "$": true for every input; "^$" alone asks for an empty input. */
            m->always = true;
            continue;
        }
        if (!hat && !dollar) {
            struct needle *nd = &m->sub[m->nsub++];
            nd->off = (uint32_t)a;
            nd->len = (uint32_t)(e - a);
            nd->first = m->lit[a];
            nd->last = m->lit[e - 1];
            nd->first_or = (nd->first >= 'a' && nd->first <= 'z') ? 0x20 : 0;
            nd->last_or = (nd->last >= 'a' && nd->last <= 'z') ? 0x20 : 0;
            continue;
        }
        struct anch *an = &m->anch[m->nanch++];
        an->off = (uint32_t)a;
        an->len = (uint32_t)(e - a);
        an->kind = hat && dollar ? A_EXACT : hat ? A_PREFIX : A_SUFFIX;
    }
    if (!m->always && m->nsub >= MULTI_MIN && build_multi(m) < 0)
        goto oom;
    *impl = m;
    return 0;
oom:
    osmatch_free(m);
    tld_rx_set_err(err, errsz, "osmatch: out of memory");
    return TLD_ENOMEM;
}

/* ---- matching ----------------------------------------------------------------------------------
 */

/* Case-insensitive equality of s[0..n) with the lower-cased p[0..n). */
static inline bool eq_ci(const uint8_t *s, const uint8_t *p, size_t n)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    while (n >= 8) {
        uint64_t x, y;
        memcpy(&x, s, 8);
        memcpy(&y, p, 8);
        /* Set 0x20 in every byte that is 'A'..'Z' (bytes >= 0x80 excluded). */
        uint64_t h = x & ~high;
        uint64_t ge_a = h + (0x80 - 'A') * ones;
        uint64_t gt_z = h + (0x80 - 'Z' - 1) * ones;
        uint64_t upper = ge_a & ~gt_z & ~x & high;
        if ((x | (upper >> 2)) != y)
            return false;
        s += 8;
        p += 8;
        n -= 8;
    }
    for (size_t i = 0; i < n; i++)
        if (tld_rx_lower[s[i]] != p[i])
            return false;
    return true;
}

static bool find_one(const struct needle *nd, const uint8_t *lit, const uint8_t *s, size_t n)
{
    const size_t m = nd->len;
    if (m > n)
        return false;
    const uint8_t *p = lit + nd->off;
    const size_t last = n - m; /* last candidate start */
    size_t i = 0;
#ifdef __SSE2__
    const __m128i f = _mm_set1_epi8((char)nd->first), l = _mm_set1_epi8((char)nd->last);
    const __m128i fo = _mm_set1_epi8((char)nd->first_or), lo = _mm_set1_epi8((char)nd->last_or);
    /* Candidates i..i+15 read s[i..i+16) and s[i+m-1..i+m+15), both inside s when i+15 <= last. */
    for (; i + 15 <= last; i += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(s + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(s + i + m - 1));
        __m128i hit = _mm_and_si128(_mm_cmpeq_epi8(_mm_or_si128(a, fo), f),
                                    _mm_cmpeq_epi8(_mm_or_si128(b, lo), l));
        unsigned bits = (unsigned)_mm_movemask_epi8(hit);
        while (bits) {
            unsigned k = (unsigned)__builtin_ctz(bits);
            if (m <= 2 || eq_ci(s + i + k + 1, p + 1, m - 2))
                return true;
            bits &= bits - 1;
        }
    }
#endif
    for (; i <= last; i++)
        if (tld_rx_lower[s[i]] == nd->first && tld_rx_lower[s[i + m - 1]] == nd->last &&
            (m <= 2 || eq_ci(s + i + 1, p + 1, m - 2)))
            return true;
    return false;
}

static bool find_multi(const struct osmatch *m, const uint8_t *s, size_t n)
{
    const struct multi *mu = m->multi;
    if (n == 0)
        return false;
    for (size_t i = 0; i + 1 < n; i++) {
        if (!get_bit(mu->pair, s[i] | (unsigned)s[i + 1] << 8))
            continue;
        if (get_bit(mu->one, s[i]))
            return true;
        uint8_t c0 = tld_rx_lower[s[i]];
        for (uint32_t j = mu->bucket[c0]; j < mu->bucket[c0 + 1]; j++) {
            const struct needle *nd = &m->sub[mu->order[j]];
            if (nd->len <= n - i && eq_ci(s + i + 1, m->lit + nd->off + 1, nd->len - 1))
                return true;
        }
    }
    return get_bit(mu->one, s[n - 1]);
}

static bool decide(const struct osmatch *m, const uint8_t *s, size_t n)
{
    if (m->always)
        return true;
    for (uint32_t i = 0; i < m->nanch; i++) {
        const struct anch *an = &m->anch[i];
        const uint8_t *p = m->lit + an->off;
        switch (an->kind) {
        case A_EXACT:
            if (n == an->len && eq_ci(s, p, n))
                return true;
            break;
        case A_PREFIX:
            if (n >= an->len && eq_ci(s, p, an->len))
                return true;
            break;
        case A_SUFFIX:
            if (n >= an->len && eq_ci(s + n - an->len, p, an->len))
                return true;
            break;
        }
    }
    if (m->multi)
        return find_multi(m, s, n);
    for (uint32_t i = 0; i < m->nsub; i++)
        if (find_one(&m->sub[i], m->lit, s, n))
            return true;
    return false;
}

static bool osmatch_match(const void *impl, const uint8_t *s, size_t n, struct tld_rx_result *res,
                          struct tld_rx_scratch *scratch)
{
    const struct osmatch *m = impl;
    if (decide(m, s, n) == m->invert)
        return false;
    if (res) {
        res->next = 0;
        res->ncap = 0;
    }
    return true;
}

const struct tld_rx_backend tld_rx_osmatch_backend = {
    .name = "osmatch",
    .compile = osmatch_compile,
    .free = osmatch_free,
    .match = osmatch_match,
};
