/*
 * Bounded, sanitising rewrite of a Docker event (see bound.h). Recursion stops at
 * TLD_BOUND_DEPTH_MAX; anything nested deeper is skipped by a loop, so no input can exhaust the
 * stack.
 */
#include "collect/docker/bound.h"

#include <stdio.h>
#include <string.h>

#include "common/err.h"

#define REPLACEMENT "\\ufffd"

struct bw {
    const unsigned char *s;
    size_t n, i;
    struct tld_sb *out;
    size_t base;   /* out->n when the rewrite began */
    unsigned mute; /* > 0: inside a dropped member, nothing is written */
    bool trimmed;
};

/* Members the rules and the listener read: never dropped for count or budget. */
static const char *const keep[] = {
    "Type", "Action", "Actor", "ID",       "Attributes", "name",   "image",     "id",  "status",
    "from", "scope",  "time",  "timeNano", "exitCode",   "signal", "container", "type"};

static void emit(struct bw *b, const void *p, size_t n)
{
    if (!b->mute)
        tld_sb_append(b->out, p, n);
}

static void ws(struct bw *b)
{
    while (b->i < b->n &&
           (b->s[b->i] == ' ' || b->s[b->i] == '\t' || b->s[b->i] == '\n' || b->s[b->i] == '\r'))
        b->i++;
}

static bool hex4(struct bw *b, unsigned *cp)
{
    if (b->n - b->i < 4)
        return false;
    unsigned v = 0;
    for (size_t k = 0; k < 4; k++) {
        unsigned char c = b->s[b->i + k];
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 16u;
        if (d == 16)
            return false;
        v = v << 4 | d;
    }
    b->i += 4;
    *cp = v;
    return true;
}

/* Length of the valid UTF-8 sequence at s[i], 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n, size_t i)
{
    unsigned char c = s[i];
    size_t len = c >= 0xc2 && c <= 0xdf   ? 2
                 : c >= 0xe0 && c <= 0xef ? 3
                 : c >= 0xf0 && c <= 0xf4 ? 4
                                          : 0;
    if (!len || n - i < len)
        return 0;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c == 0xe0)
        lo = 0xa0;
    else if (c == 0xed)
        hi = 0x9f;
    else if (c == 0xf0)
        lo = 0x90;
    else if (c == 0xf4)
        hi = 0x8f;
    if (s[i + 1] < lo || s[i + 1] > hi)
        return 0;
    for (size_t k = 2; k < len; k++)
        if (s[i + k] < 0x80 || s[i + k] > 0xbf)
            return 0;
    return len;
}

/* The escape after a backslash (b->i past it) as valid JSON text in unit. */
static size_t escape(struct bw *b, char unit[16])
{
    unsigned char e = b->s[b->i++];
    if (e && strchr("\"\\/bfnrt", e)) {
        unit[0] = '\\';
        unit[1] = (char)e;
        return 2;
    }
    size_t at = b->i;
    unsigned cp, lo;
    if (e != 'u' || !hex4(b, &cp) || (cp >= 0xdc00 && cp <= 0xdfff))
        goto bad;
    if (cp >= 0xd800 && cp <= 0xdbff) {
        size_t save = b->i;
        if (b->n - b->i >= 6 && b->s[b->i] == '\\' && b->s[b->i + 1] == 'u') {
            b->i += 2;
            if (hex4(b, &lo) && lo >= 0xdc00 && lo <= 0xdfff) {
                memcpy(unit, b->s + at - 2, 12);
                return 12;
            }
        }
        b->i = save;
        goto bad;
    }
    memcpy(unit, b->s + at - 2, 6);
    return 6;
bad:
    b->trimmed = true;
    memcpy(unit, REPLACEMENT, 6);
    return 6;
}

/* A string at b->i, written with at most `limit` bytes of content. */
static bool string(struct bw *b, size_t limit)
{
    if (b->i >= b->n || b->s[b->i] != '"')
        return false;
    b->i++;
    emit(b, "\"", 1);
    size_t used = 0;
    bool cut = false;
    for (;;) {
        if (b->i >= b->n)
            return false;
        unsigned char c = b->s[b->i];
        char unit[16];
        size_t un;
        if (c == '"') {
            b->i++;
            break;
        }
        if (c == '\\') {
            if (b->i + 1 >= b->n)
                return false;
            b->i++;
            un = escape(b, unit);
        } else if (c < 0x20) {
            un = (size_t)snprintf(unit, sizeof unit, "\\u%04x", c);
            b->i++;
        } else if (c < 0x80) {
            unit[0] = (char)c;
            un = 1;
            b->i++;
        } else if ((un = utf8_len(b->s, b->n, b->i)) != 0) {
            memcpy(unit, b->s + b->i, un);
            b->i += un;
        } else {
            b->trimmed = true;
            memcpy(unit, REPLACEMENT, 6);
            un = 6;
            b->i++;
        }
        if (!cut && used + un > limit)
            cut = b->trimmed = true;
        if (!cut) {
            emit(b, unit, un);
            used += un;
        }
    }
    emit(b, "\"", 1);
    return true;
}

/* Skip the object or array at b->i without recursion. */
static bool skip_nested(struct bw *b)
{
    size_t depth = 0;
    while (b->i < b->n) {
        unsigned char c = b->s[b->i++];
        if (c == '"') {
            while (b->i < b->n && b->s[b->i] != '"')
                b->i += b->s[b->i] == '\\' ? 2 : 1;
            if (b->i >= b->n)
                return false;
            b->i++;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                return false;
            if (--depth == 0)
                return true;
        }
    }
    return false;
}

static bool is_keep(struct bw *b)
{
    size_t start = b->i + 1, end = start;
    while (end < b->n && b->s[end] != '"' && b->s[end] != '\\')
        end++;
    for (size_t k = 0; k < sizeof keep / sizeof *keep; k++)
        if (strlen(keep[k]) == end - start && !memcmp(keep[k], b->s + start, end - start))
            return true;
    return false;
}

static size_t key_len(struct bw *b)
{
    size_t end = b->i + 1;
    while (end < b->n && b->s[end] != '"')
        end += b->s[end] == '\\' ? 2 : 1;
    return end - b->i - 1;
}

static bool value(struct bw *b, unsigned depth);

/* An object (obj) or array at b->i, one level below depth. */
static bool container(struct bw *b, unsigned depth, bool obj)
{
    char open = obj ? '{' : '[', close = obj ? '}' : ']';
    if (depth >= TLD_BOUND_DEPTH_MAX) {
        b->trimmed = true;
        emit(b, "\"(nested too deep)\"", 19);
        return skip_nested(b);
    }
    b->i++;
    emit(b, &open, 1);
    ws(b);
    if (b->i < b->n && b->s[b->i] == close) {
        b->i++;
        emit(b, &close, 1);
        return true;
    }
    unsigned count = 0;
    bool first = true;
    for (;;) {
        ws(b);
        bool drop = count++ >= TLD_BOUND_MEMBERS_MAX || b->out->n - b->base > TLD_BOUND_BUDGET;
        if (obj) {
            if (b->i >= b->n || b->s[b->i] != '"')
                return false;
            drop = (drop || key_len(b) > TLD_BOUND_KEY_MAX) && !is_keep(b);
        }
        if (drop) {
            b->trimmed = true;
            b->mute++;
        } else if (!first) {
            emit(b, ",", 1);
        }
        if (obj) {
            if (!string(b, TLD_BOUND_KEY_MAX))
                return false;
            ws(b);
            if (b->i >= b->n || b->s[b->i] != ':')
                return false;
            b->i++;
            emit(b, ":", 1);
        }
        if (!value(b, depth + 1))
            return false;
        if (drop)
            b->mute--;
        else
            first = false;
        ws(b);
        if (b->i < b->n && b->s[b->i] == ',') {
            b->i++;
            continue;
        }
        if (b->i < b->n && b->s[b->i] == close) {
            b->i++;
            emit(b, &close, 1);
            return true;
        }
        return false;
    }
}

static bool literal(struct bw *b, const char *w)
{
    size_t k = strlen(w);
    if (b->n - b->i < k || memcmp(b->s + b->i, w, k))
        return false;
    b->i += k;
    emit(b, w, k);
    return true;
}

static bool value(struct bw *b, unsigned depth)
{
    ws(b);
    if (b->i >= b->n)
        return false;
    unsigned char c = b->s[b->i];
    if (c == '"')
        return string(b, TLD_BOUND_VALUE_MAX);
    if (c == '{' || c == '[')
        return container(b, depth, c == '{');
    if (c == 't')
        return literal(b, "true");
    if (c == 'f')
        return literal(b, "false");
    if (c == 'n')
        return literal(b, "null");
    if (c != '-' && (c < '0' || c > '9'))
        return false;
    size_t start = b->i;
    while (b->i < b->n && b->i - start < 64 && strchr("+-.eE0123456789", b->s[b->i]) && b->s[b->i])
        b->i++;
    emit(b, b->s + start, b->i - start);
    return true;
}

int tld_docker_event_bound(struct tld_sv raw, struct tld_sb *out, bool *trimmed)
{
    struct bw b = {.s = (const unsigned char *)raw.p, .n = raw.n, .out = out, .base = out->n};
    *trimmed = false;
    ws(&b);
    if (b.i >= b.n || b.s[b.i] != '{' || !container(&b, 0, true))
        return TLD_EPARSE;
    ws(&b);
    if (b.i != b.n)
        return TLD_EPARSE;
    if (b.trimmed && out->n >= 2 && out->p[out->n - 1] == '}') {
        bool empty = out->p[out->n - 2] == '{';
        out->n--;
        tld_sb_append_cstr(out, empty ? "\"truncated\":true}" : ",\"truncated\":true}");
    }
    *trimmed = b.trimmed;
    return 0;
}
