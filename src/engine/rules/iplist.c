/*
 * IP lists (see iplist.h). Addresses are kept as 16 bytes plus a 16-byte mask, already masked,
 * so a test is two 64-bit compares. IPv4 uses the first 4 bytes; IPv4-mapped IPv6 addresses
 * (entries and event values alike) are folded to IPv4 so `::ffff:10.0.0.1` and `10.0.0.1` are
 * the same host. Entries of one family never match values of the other; `any` matches both.
 */
#include "engine/rules/iplist.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/grow.h"

struct ipent {
    uint8_t addr[16]; /* already masked */
    uint8_t mask[16];
    bool v6;
    bool any;
    bool neg;
};

struct tld_iplist {
    struct ipent *e;
    unsigned n, cap; /* n <= TLD_IPLIST_MAX */
};

struct ipaddr {
    uint8_t b[16];
    bool v6;
};

static void set_err(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errsz, const char *fmt, ...)
{
    if (!err || !errsz)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
}

struct tld_iplist *tld_iplist_new(void)
{
    return calloc(1, sizeof(struct tld_iplist));
}

void tld_iplist_free(struct tld_iplist *list)
{
    if (!list)
        return;
    free(list->e);
    free(list);
}

size_t tld_iplist_count(const struct tld_iplist *list)
{
    return list->n;
}

/* Parses a bare address (NUL-terminated); mapped IPv6 becomes IPv4. */
static bool parse_addr(const char *s, struct ipaddr *out)
{
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, s, out->b) == 1)
        return true;
    struct in6_addr a6;
    if (inet_pton(AF_INET6, s, &a6) != 1)
        return false;
    if (IN6_IS_ADDR_V4MAPPED(&a6)) {
        memcpy(out->b, a6.s6_addr + 12, 4);
        return true;
    }
    memcpy(out->b, a6.s6_addr, 16);
    out->v6 = true;
    return true;
}

/* Decimal prefix of 1..maxdigits digits, value <= maxval; -1 otherwise. */
static int parse_prefix(const char *s, size_t maxdigits, int maxval)
{
    size_t len = strlen(s);
    if (len == 0 || len > maxdigits)
        return -1;
    int v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v <= maxval ? v : -1;
}

static void prefix_mask(uint8_t mask[16], int bits)
{
    memset(mask, 0, 16);
    for (int i = 0; i < bits; i++)
        mask[i / 8] |= (uint8_t)(0x80u >> (i % 8));
}

int tld_iplist_add(struct tld_iplist *list, const char *text, size_t n, char *err, size_t errsz)
{
    char buf[TLD_IPLIST_TEXT_MAX + 1];
    if (n > TLD_IPLIST_TEXT_MAX) {
        set_err(err, errsz, "invalid IP entry: longer than %d bytes", TLD_IPLIST_TEXT_MAX);
        return TLD_EPARSE;
    }
    if (list->n >= TLD_IPLIST_MAX) {
        set_err(err, errsz, "too many IP entries (limit %d)", TLD_IPLIST_MAX);
        return TLD_ELIMIT;
    }
    memcpy(buf, text, n);
    buf[n] = 0;
    if (strlen(buf) != n) {
        set_err(err, errsz, "invalid IP entry: contains a NUL byte");
        return TLD_EPARSE;
    }
    struct ipent e;
    memset(&e, 0, sizeof e);
    char *p = buf;
    if (*p == '!') {
        e.neg = true;
        p++;
    }
    if (strcmp(p, "any") == 0) {
        e.any = true;
    } else {
        char *slash = strchr(p, '/');
        if (slash)
            *slash = 0;
        struct ipaddr a;
        if (!parse_addr(p, &a)) {
            set_err(err, errsz, "invalid IP address '%s'", p);
            return TLD_EPARSE;
        }
        e.v6 = a.v6;
        memcpy(e.addr, a.b, 16);
        const char *m = slash ? slash + 1 : NULL;
        if (a.v6) {
            int bits = m ? parse_prefix(m, 3, 128) : 128;
            if (bits < 0) {
                set_err(err, errsz, "invalid IPv6 prefix '/%s' (0 to 128)", m);
                return TLD_EPARSE;
            }
            prefix_mask(e.mask, bits);
        } else if (!m) {
            prefix_mask(e.mask, 32);
        } else if (strchr(m, '.')) {
            struct in_addr nm;
            if (inet_pton(AF_INET, m, &nm) != 1) {
                set_err(err, errsz, "invalid IPv4 netmask '/%s'", m);
                return TLD_EPARSE;
            }
            memcpy(e.mask, &nm, 4);
        } else {
            /* A mapped entry written as ::ffff:a.b.c.d/NN keeps NN as the IPv6 prefix. */
            bool mapped = strchr(p, ':') != NULL;
            int bits = mapped ? parse_prefix(m, 3, 128) : parse_prefix(m, 2, 32);
            if (mapped && bits >= 0)
                bits = bits >= 96 ? bits - 96 : -1;
            if (bits < 0) {
                set_err(err, errsz, "invalid IPv4 prefix '/%s' (0 to 32%s)", m,
                        mapped ? ", or 96 to 128 on a mapped address" : "");
                return TLD_EPARSE;
            }
            prefix_mask(e.mask, bits);
        }
        for (int i = 0; i < 16; i++)
            e.addr[i] &= e.mask[i];
    }
    if (tld_grow(&list->e, &list->cap, list->n + 1, sizeof *list->e, 4)) {
        set_err(err, errsz, "out of memory");
        return TLD_ENOMEM;
    }
    list->e[list->n++] = e;
    return 0;
}

static bool ent_match(const struct ipent *e, const struct ipaddr *a)
{
    if (e->any)
        return true;
    if (e->v6 != a->v6)
        return false;
    for (int i = 0; i < 16; i++)
        if ((a->b[i] & e->mask[i]) != e->addr[i])
            return false;
    return true;
}

bool tld_iplist_match(const struct tld_iplist *list, const char *value, size_t n)
{
    char buf[TLD_IPLIST_TEXT_MAX + 1];
    if (!value || n == 0 || n > TLD_IPLIST_TEXT_MAX)
        return false;
    memcpy(buf, value, n);
    buf[n] = 0;
    struct ipaddr a;
    if (strlen(buf) != n || !parse_addr(buf, &a))
        return false;
    bool verdict = true;
    for (size_t i = 0; i < list->n; i++) {
        if (list->e[i].neg)
            verdict = false;
        if (ent_match(&list->e[i], &a))
            return verdict;
    }
    return !verdict;
}
