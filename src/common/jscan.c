/* Bounded JSON pull scanner (see jscan.h). Skipping uses an explicit depth counter passed
 * down the recursion, so hostile nesting fails at TLD_JSCAN_MAX_DEPTH. */
#include "common/jscan.h"

#include "common/err.h"

#include <string.h>

static void ws(struct tld_jscan *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static bool eat(struct tld_jscan *j, char c)
{
    ws(j);
    if (j->p < j->end && *j->p == c) {
        j->p++;
        return true;
    }
    return false;
}

char tld_jscan_peek(struct tld_jscan *j)
{
    ws(j);
    return j->p < j->end ? *j->p : 0;
}

bool tld_jscan_object(struct tld_jscan *j)
{
    return eat(j, '{');
}

static int hexv(char h)
{
    if (h >= '0' && h <= '9')
        return h - '0';
    if (h >= 'a' && h <= 'f')
        return h - 'a' + 10;
    if (h >= 'A' && h <= 'F')
        return h - 'A' + 10;
    return -1;
}

static bool u4(struct tld_jscan *j, unsigned *v)
{
    if (j->end - j->p < 4)
        return false;
    *v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexv(j->p[i]);
        if (h < 0)
            return false;
        *v = *v << 4 | (unsigned)h;
    }
    j->p += 4;
    return true;
}

static void utf8(struct tld_sb *sb, unsigned cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp, n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xc0 | cp >> 6), b[1] = (char)(0x80 | (cp & 0x3f)), n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xe0 | cp >> 12), b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (char)(0x80 | (cp & 0x3f)), n = 3;
    } else {
        b[0] = (char)(0xf0 | cp >> 18), b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), b[3] = (char)(0x80 | (cp & 0x3f)), n = 4;
    }
    tld_sb_append(sb, b, n);
}

bool tld_jscan_string(struct tld_jscan *j, struct tld_sb *out)
{
    ws(j);
    if (j->p >= j->end || *j->p != '"')
        return false;
    j->p++;
    for (;;) {
        const char *run = j->p;
        while (j->p < j->end && *j->p != '"' && *j->p != '\\' && (unsigned char)*j->p >= 0x20)
            j->p++;
        if (out && j->p > run)
            tld_sb_append(out, run, (size_t)(j->p - run));
        if (j->p >= j->end || (unsigned char)*j->p < 0x20)
            return false;
        if (*j->p++ == '"')
            return true;
        if (j->p >= j->end)
            return false;
        char e = *j->p++;
        char lit;
        switch (e) {
        case '"':
            lit = '"';
            break;
        case '\\':
            lit = '\\';
            break;
        case '/':
            lit = '/';
            break;
        case 'b':
            lit = '\b';
            break;
        case 'f':
            lit = '\f';
            break;
        case 'n':
            lit = '\n';
            break;
        case 'r':
            lit = '\r';
            break;
        case 't':
            lit = '\t';
            break;
        case 'u':
            lit = 0;
            break;
        default:
            return false;
        }
        if (lit) {
            if (out)
                tld_sb_append_char(out, lit);
            continue;
        }
        unsigned cp, lo;
        if (!u4(j, &cp))
            return false;
        if (cp >= 0xd800 && cp <= 0xdbff && j->end - j->p >= 6 && j->p[0] == '\\' &&
            j->p[1] == 'u') {
            struct tld_jscan save = *j;
            j->p += 2;
            if (u4(j, &lo) && lo >= 0xdc00 && lo <= 0xdfff)
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            else
                *j = save;
        }
        if (cp >= 0xd800 && cp <= 0xdfff)
            cp = 0xfffd;
        if (out)
            utf8(out, cp);
    }
}

bool tld_jscan_int(struct tld_jscan *j, int64_t *out)
{
    ws(j);
    bool neg = j->p < j->end && *j->p == '-';
    if (neg)
        j->p++;
    uint64_t v = 0;
    size_t digits = 0;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
        unsigned d = (unsigned)(*j->p++ - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
        digits++;
    }
    if (!digits || v > (uint64_t)INT64_MAX)
        return false;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        size_t z = 0;
        while (j->p < j->end && *j->p == '0')
            j->p++, z++;
        if (!z)
            return false;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E' || (*j->p >= '0' && *j->p <= '9')))
        return false;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return true;
}

static bool number(struct tld_jscan *j)
{
    const char *s = j->p;
    if (j->p < j->end && *j->p == '-')
        j->p++;
    size_t d = 0;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
        j->p++, d++;
    if (!d)
        return false;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        for (d = 0; j->p < j->end && *j->p >= '0' && *j->p <= '9'; d++)
            j->p++;
        if (!d)
            return false;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        for (d = 0; j->p < j->end && *j->p >= '0' && *j->p <= '9'; d++)
            j->p++;
        if (!d)
            return false;
    }
    return j->p > s;
}

static bool word(struct tld_jscan *j, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0)
        return false;
    j->p += n;
    return true;
}

static bool skip_at(struct tld_jscan *j, unsigned depth)
{
    if (depth > TLD_JSCAN_MAX_DEPTH)
        return false;
    char c = tld_jscan_peek(j);
    if (c == '"')
        return tld_jscan_string(j, NULL);
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        j->p++;
        if (eat(j, close))
            return true;
        for (;;) {
            if (c == '{' && (!tld_jscan_string(j, NULL) || !eat(j, ':')))
                return false;
            if (!skip_at(j, depth + 1))
                return false;
            if (eat(j, ','))
                continue;
            return eat(j, close);
        }
    }
    if (c == 't')
        return word(j, "true");
    if (c == 'f')
        return word(j, "false");
    if (c == 'n')
        return word(j, "null");
    return number(j);
}

bool tld_jscan_skip(struct tld_jscan *j)
{
    return skip_at(j, 1);
}

int tld_jscan_member(struct tld_jscan *j, bool first, struct tld_sv *key, bool *got)
{
    *got = false;
    if (eat(j, '}'))
        return 0;
    if (!first && !eat(j, ','))
        return TLD_EPARSE;
    ws(j);
    const char *k = j->p + 1;
    if (!tld_jscan_string(j, NULL))
        return TLD_EPARSE;
    *key = tld_sv_make(k, (size_t)(j->p - 1 - k));
    if (!eat(j, ':'))
        return TLD_EPARSE;
    *got = true;
    return 0;
}

bool tld_jscan_done(struct tld_jscan *j)
{
    ws(j);
    return j->p == j->end;
}
