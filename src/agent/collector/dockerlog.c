/*
 * json-file line parser (see dockerlog.h). A small recursive-descent reader over a view: the
 * only values it keeps are three strings; every other value is skipped with a depth bound.
 */
#include "agent/collector/dockerlog.h"

#include <string.h>

#include "common/err.h"

struct cur {
    const char *p, *end;
};

static void ws(struct cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static bool eat(struct cur *c, char ch)
{
    ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

static int hexval(char h)
{
    if (h >= '0' && h <= '9')
        return h - '0';
    if (h >= 'a' && h <= 'f')
        return h - 'a' + 10;
    if (h >= 'A' && h <= 'F')
        return h - 'A' + 10;
    return -1;
}

static bool hex4(struct cur *c, unsigned *out)
{
    if (c->end - c->p < 4)
        return false;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(c->p[i]);
        if (h < 0)
            return false;
        v = v << 4 | (unsigned)h;
    }
    c->p += 4;
    *out = v;
    return true;
}

static void put_utf8(struct tld_sb *sb, unsigned cp)
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

/*
 * A string value at c->p (after its opening quote was checked by the caller), unescaped into
 * `out` when out is not NULL. Raw control characters are refused as JSON requires.
 */
static bool string(struct cur *c, struct tld_sb *out)
{
    if (c->p >= c->end || *c->p != '"')
        return false;
    c->p++;
    for (;;) {
        const char *run = c->p;
        while (c->p < c->end && *c->p != '"' && *c->p != '\\' && (unsigned char)*c->p >= 0x20)
            c->p++;
        if (out && c->p > run)
            tld_sb_append(out, run, (size_t)(c->p - run));
        if (c->p >= c->end || (unsigned char)*c->p < 0x20)
            return false;
        if (*c->p == '"') {
            c->p++;
            return true;
        }
        c->p++; /* backslash */
        if (c->p >= c->end)
            return false;
        char e = *c->p++;
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
        case 'u': {
            unsigned cp, lo;
            if (!hex4(c, &cp))
                return false;
            if (cp >= 0xd800 && cp <= 0xdbff) {
                /* a high surrogate must be followed by \u + low surrogate to form one char */
                if (c->end - c->p >= 6 && c->p[0] == '\\' && c->p[1] == 'u') {
                    struct cur save = *c;
                    c->p += 2;
                    if (hex4(c, &lo) && lo >= 0xdc00 && lo <= 0xdfff) {
                        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    } else {
                        *c = save;
                        cp = 0xfffd;
                    }
                } else {
                    cp = 0xfffd;
                }
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                cp = 0xfffd;
            }
            if (out)
                put_utf8(out, cp);
            continue;
        }
        default:
            return false;
        }
        if (out)
            tld_sb_append_char(out, lit);
    }
}

static bool value(struct cur *c, unsigned depth);

static bool skip_container(struct cur *c, char close, unsigned depth, bool object)
{
    c->p++;
    if (eat(c, close))
        return true;
    for (;;) {
        if (object) {
            ws(c);
            if (!string(c, NULL) || !eat(c, ':'))
                return false;
        }
        if (!value(c, depth + 1))
            return false;
        if (eat(c, ','))
            continue;
        return eat(c, close);
    }
}

static bool literal(struct cur *c, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0)
        return false;
    c->p += n;
    return true;
}

static bool number(struct cur *c)
{
    const char *s = c->p;
    if (c->p < c->end && *c->p == '-')
        c->p++;
    size_t digits = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
        c->p++, digits++;
    if (!digits)
        return false;
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        digits = 0;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
            c->p++, digits++;
        if (!digits)
            return false;
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
            c->p++;
        digits = 0;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
            c->p++, digits++;
        if (!digits)
            return false;
    }
    return c->p > s;
}

static bool value(struct cur *c, unsigned depth)
{
    if (depth > TLD_DOCKERLOG_MAX_DEPTH)
        return false;
    ws(c);
    if (c->p >= c->end)
        return false;
    switch (*c->p) {
    case '"':
        return string(c, NULL);
    case '{':
        return skip_container(c, '}', depth, true);
    case '[':
        return skip_container(c, ']', depth, false);
    case 't':
        return literal(c, "true");
    case 'f':
        return literal(c, "false");
    case 'n':
        return literal(c, "null");
    default:
        return number(c);
    }
}

/* A short string member into a fixed buffer; false when not a string or too long. */
static bool short_string(struct cur *c, char *buf, size_t max, size_t *n)
{
    struct tld_sb sb;
    tld_sb_init(&sb, max);
    bool ok = string(c, &sb) && !sb.truncated && !sb.oom;
    if (ok) {
        memcpy(buf, tld_sb_cstr(&sb), sb.n);
        buf[sb.n] = 0;
        *n = sb.n;
    }
    tld_sb_fini(&sb);
    return ok;
}

int tld_dockerlog_parse(struct tld_sv line, struct tld_dockerlog_line *out, struct tld_sb *log)
{
    struct cur c = {line.p, line.p + line.n};
    size_t start = log->n;
    bool start_trunc = log->truncated, have_log = false;
    out->stream_n = out->time_n = 0;
    out->stream[0] = out->time[0] = 0;
    out->partial = false;
    if (!eat(&c, '{'))
        goto bad;
    if (!eat(&c, '}')) {
        for (;;) {
            char key[8];
            size_t kn = 0;
            ws(&c);
            /* Keys we want are short; longer ones are read (and skipped) without a copy. */
            struct cur save = c;
            if (!short_string(&c, key, sizeof key - 1, &kn)) {
                c = save;
                if (!string(&c, NULL))
                    goto bad;
                key[0] = 0, kn = 0;
            }
            if (!eat(&c, ':'))
                goto bad;
            ws(&c);
            if (kn == 3 && memcmp(key, "log", 3) == 0 && !have_log) {
                if (!string(&c, log))
                    goto bad;
                have_log = true;
                /* The piece is complete when its raw text ends in the escape "\n", i.e. an
                 * odd run of backslashes then 'n' just before the closing quote; judged on
                 * the raw bytes so a piece cut by the bound is still classified right. */
                size_t end = (size_t)(c.p - line.p), bs = 0;
                bool nl = end >= 3 && line.p[end - 2] == 'n';
                while (nl && bs + 3 <= end && line.p[end - 3 - bs] == '\\')
                    bs++;
                out->partial = !(nl && bs % 2 == 1);
            } else if (kn == 6 && memcmp(key, "stream", 6) == 0) {
                if (!short_string(&c, out->stream, TLD_DOCKERLOG_MAX_STREAM, &out->stream_n))
                    goto bad;
            } else if (kn == 4 && memcmp(key, "time", 4) == 0) {
                if (!short_string(&c, out->time, TLD_DOCKERLOG_MAX_TIME, &out->time_n))
                    goto bad;
            } else if (!value(&c, 1)) {
                goto bad;
            }
            if (eat(&c, ','))
                continue;
            if (eat(&c, '}'))
                break;
            goto bad;
        }
    }
    ws(&c);
    if (c.p != c.end || !have_log || log->oom)
        goto bad;
    return 0;
bad:
    log->n = start;
    log->truncated = start_trunc;
    if (log->p)
        log->p[start] = 0;
    return TLD_EPARSE;
}

void tld_dockerlog_asm_init(struct tld_dockerlog_asm *a, size_t max_message)
{
    memset(a, 0, sizeof *a);
    tld_sb_init(&a->text, max_message);
}

void tld_dockerlog_asm_fini(struct tld_dockerlog_asm *a)
{
    tld_sb_fini(&a->text);
}

void tld_dockerlog_asm_reset(struct tld_dockerlog_asm *a)
{
    tld_sb_reset(&a->text);
    a->pieces = 0;
    a->active = false;
    a->time_n = 0;
    a->time[0] = 0;
}
