/* String views and bounded builders (see str.h for the ownership rules). */
#include "common/str.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* ASCII case folding, what tolower() does in the C locale the daemons run in, without its
 * per-call locale lookup: field names are compared this way many times per event. */
static inline unsigned char fold(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c | 0x20) : c;
}

bool tld_sv_eq_nocase(struct tld_sv a, struct tld_sv b)
{
    if (a.n != b.n)
        return false;
    const unsigned char *x = (const unsigned char *)a.p, *y = (const unsigned char *)b.p;
    size_t i = 0;
    /* Names usually agree in case too: compare eight bytes at a time while they are equal. */
    for (; i + 8 <= a.n; i += 8) {
        uint64_t u, v;
        memcpy(&u, x + i, 8);
        memcpy(&v, y + i, 8);
        if (u != v)
            break;
    }
    for (; i < a.n; i++)
        if (x[i] != y[i] && fold(x[i]) != fold(y[i]))
            return false;
    return true;
}

bool tld_sv_starts_with(struct tld_sv s, struct tld_sv prefix)
{
    return s.n >= prefix.n && (prefix.n == 0 || memcmp(s.p, prefix.p, prefix.n) == 0);
}

long tld_sv_index(struct tld_sv s, char c)
{
    const char *hit = s.n ? memchr(s.p, c, s.n) : NULL;
    return hit ? (long)(hit - s.p) : -1;
}

static bool is_trim_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

struct tld_sv tld_sv_trim(struct tld_sv s)
{
    while (s.n && is_trim_space(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n && is_trim_space(s.p[s.n - 1]))
        s.n--;
    return s;
}

bool tld_sv_to_u64(struct tld_sv s, unsigned long long max, unsigned long long *out)
{
    unsigned long long v = 0;
    if (s.n == 0)
        return false;
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
        unsigned d = (unsigned)(s.p[i] - '0');
        if (v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

bool tld_sv_unhex(struct tld_sv s, uint8_t *out, size_t n)
{
    if (s.n != 2 * n)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        for (size_t k = 0; k < 2; k++) {
            char c = s.p[2 * i + k];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= (unsigned)(c - 'a' + 10);
            else
                return false;
        }
        out[i] = (uint8_t)v;
    }
    return true;
}

char *tld_sv_dup(struct tld_sv s)
{
    char *r = malloc(s.n + 1);
    if (!r)
        return NULL;
    if (s.n)
        memcpy(r, s.p, s.n);
    r[s.n] = '\0';
    return r;
}

void tld_sb_init(struct tld_sb *sb, size_t max)
{
    *sb = (struct tld_sb){.max = max};
}

void tld_sb_fini(struct tld_sb *sb)
{
    free(sb->p);
    *sb = (struct tld_sb){.max = sb->max};
}

void tld_sb_reset(struct tld_sb *sb)
{
    sb->n = 0;
    sb->truncated = false;
    if (sb->p)
        sb->p[0] = '\0';
}

static bool reserve(struct tld_sb *sb, size_t want)
{
    if (sb->oom)
        return false;
    if (want + 1 <= sb->cap)
        return true;
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < want + 1)
        cap *= 2;
    if (cap > sb->max + 1)
        cap = sb->max + 1;
    char *p = realloc(sb->p, cap);
    if (!p) {
        sb->oom = true;
        return false;
    }
    sb->p = p;
    sb->cap = cap;
    return true;
}

bool tld_sb_reserve_slow(struct tld_sb *sb, size_t extra)
{
    if (sb->oom || extra > sb->max - sb->n)
        return false;
    size_t want = sb->n + extra + 1;
    if (want <= sb->cap)
        return true;
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < want)
        cap *= 2;
    if (cap > sb->max + 1)
        cap = sb->max + 1;
    char *p = realloc(sb->p, cap);
    if (!p)
        return false; /* unlike an append, a failed reservation leaves the builder usable */
    if (!sb->p)
        p[0] = '\0';
    sb->p = p;
    sb->cap = cap;
    return true;
}

void tld_sb_append_slow(struct tld_sb *sb, const void *p, size_t n)
{
    if (n > sb->max - sb->n) {
        n = sb->max - sb->n;
        sb->truncated = true;
    }
    if (!reserve(sb, sb->n + n))
        return;
    if (n)
        memcpy(sb->p + sb->n, p, n);
    sb->n += n;
    sb->p[sb->n] = '\0';
}

void tld_sb_vprintf(struct tld_sb *sb, const char *fmt, va_list ap)
{
    char small[256];
    va_list copy;
    va_copy(copy, ap);
    int len = vsnprintf(small, sizeof small, fmt, copy);
    va_end(copy);
    if (len < 0)
        return;
    if ((size_t)len < sizeof small) {
        tld_sb_append(sb, small, (size_t)len);
        return;
    }
    char *big = malloc((size_t)len + 1);
    if (!big) {
        sb->oom = true;
        return;
    }
    vsnprintf(big, (size_t)len + 1, fmt, ap);
    tld_sb_append(sb, big, (size_t)len);
    free(big);
}

void tld_sb_printf(struct tld_sb *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tld_sb_vprintf(sb, fmt, ap);
    va_end(ap);
}

char *tld_sb_steal(struct tld_sb *sb, size_t *len)
{
    char *p = sb->p;
    if (!p) {
        p = malloc(1);
        if (p)
            p[0] = '\0';
    }
    if (len)
        *len = sb->n;
    *sb = (struct tld_sb){.max = sb->max};
    return p;
}
