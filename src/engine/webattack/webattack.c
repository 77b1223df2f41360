/*
 * URL decoding and the scan of one request URL (see webattack.h).
 *
 * The URL is first freed from the access log's own escaping, then cut into the path and the
 * query parameters exactly as an application would see them ('&' separates parameters, the
 * first '=' separates a name from its value; ';' and '#' are kept inside values because servers
 * that log them received them as data). Each piece is decoded on its own, so an encoded '&' or
 * '=' inside a value stays inside it. Detectors run on decoded pieces only.
 */
#include <string.h>

#include "engine/webattack/webattack.h"

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* UTF-8 for a %uXXXX escape; fullwidth ASCII forms become ASCII (as IIS did). */
static size_t put_unicode(unsigned cp, char *out)
{
    if (cp >= 0xff01 && cp <= 0xff5e)
        cp -= 0xfee0;
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    out[0] = (char)(0xe0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
}

/*
 * One decoding round. Safe in place (out == in): every escape is at least as long as what it
 * decodes to, so the write index never passes the read index.
 */
static size_t decode_round(const char *in, size_t n, char *out, size_t cap, bool plus,
                           bool *changed)
{
    size_t o = 0, i = 0;
    while (i < n && o < cap) {
        unsigned char c = (unsigned char)in[i];
        if (c == '%') {
            int h1 = i + 1 < n ? hexval((unsigned char)in[i + 1]) : -1;
            int h2 = i + 2 < n ? hexval((unsigned char)in[i + 2]) : -1;
            if (h1 >= 0 && h2 >= 0) {
                out[o++] = (char)(h1 * 16 + h2);
                i += 3;
                *changed = true;
                continue;
            }
            if (i + 5 < n && (in[i + 1] | 0x20) == 'u') {
                int d[4];
                bool ok = true;
                for (int k = 0; k < 4; k++) {
                    d[k] = hexval((unsigned char)in[i + 2 + k]);
                    ok = ok && d[k] >= 0;
                }
                if (ok) {
                    unsigned cp = (unsigned)(d[0] << 12 | d[1] << 8 | d[2] << 4 | d[3]);
                    char u[3];
                    size_t l = put_unicode(cp, u);
                    if (o + l > cap)
                        break;
                    memcpy(out + o, u, l);
                    o += l;
                    i += 6;
                    *changed = true;
                    continue;
                }
            }
        } else if (c == '+' && plus) {
            out[o++] = ' ';
            i++;
            *changed = true;
            continue;
        }
        out[o++] = (char)c;
        i++;
    }
    return o;
}

static size_t url_decode(const char *in, size_t n, char *out, size_t cap, bool plus)
{
    if (!memchr(in, '%', n) && !(plus && memchr(in, '+', n))) {
        size_t l = n < cap ? n : cap;
        memcpy(out, in, l);
        return l;
    }
    bool changed = false;
    size_t len = decode_round(in, n, out, cap, plus, &changed);
    for (int r = 1; r < TLD_WEBATTACK_DECODE_ROUNDS && changed; r++) {
        if (!memchr(out, '%', len))
            break;
        changed = false;
        len = decode_round(out, len, out, cap, false, &changed);
    }
    return len;
}

size_t tld_url_decode(const char *in, size_t n, char *out, size_t cap)
{
    return url_decode(in, n, out, cap, true);
}

size_t tld_url_log_unescape(const char *in, size_t n, char *out, size_t cap)
{
    size_t o = 0, i = 0;
    while (i < n && o < cap) {
        /* copy the run up to the next backslash at once */
        const char *bs = memchr(in + i, '\\', n - i);
        size_t run = (bs ? (size_t)(bs - in) : n) - i;
        if (run > cap - o)
            run = cap - o;
        memcpy(out + o, in + i, run);
        o += run;
        i += run;
        if (i >= n || o >= cap)
            break;
        if (in[i] == '\\' && i + 3 < n && in[i + 1] == 'x') {
            int h1 = hexval((unsigned char)in[i + 2]), h2 = hexval((unsigned char)in[i + 3]);
            if (h1 >= 0 && h2 >= 0) {
                out[o++] = (char)(h1 * 16 + h2);
                i += 4;
                continue;
            }
        }
        out[o++] = in[i++];
    }
    return o;
}

const char *tld_webattack_kind_name(unsigned kind)
{
    switch (kind) {
    case TLD_WEBATTACK_SQLI:
        return "sqli";
    case TLD_WEBATTACK_XSS:
        return "xss";
    case TLD_WEBATTACK_TRAVERSAL:
        return "traversal";
    case TLD_WEBATTACK_CMDI:
        return "cmdi";
    default:
        return "?";
    }
}

/*
 * Identifiers, numbers, slugs, tokens: nothing any detector looks for can be spelled with these
 * bytes alone ("--" aside, which starts an SQL comment).
 */
static bool plain(const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '@' || c == ',' || (c == '-' && !(i > 0 && v[i - 1] == '-'));
        if (!ok)
            return false;
    }
    return true;
}

/* Run the detectors not yet satisfied on one decoded query piece. */
static unsigned scan_piece(const char *v, size_t n, unsigned found)
{
    if (n == 0 || plain(v, n))
        return 0;
    unsigned k = 0;
    if (!(found & TLD_WEBATTACK_SQLI) && tld_sqli_detect(v, n))
        k |= TLD_WEBATTACK_SQLI;
    if (!(found & TLD_WEBATTACK_XSS) && tld_xss_detect(v, n))
        k |= TLD_WEBATTACK_XSS;
    if (!(found & TLD_WEBATTACK_TRAVERSAL) && tld_traversal_detect(v, n))
        k |= TLD_WEBATTACK_TRAVERSAL;
    if (!(found & TLD_WEBATTACK_CMDI) && tld_cmdi_detect(v, n))
        k |= TLD_WEBATTACK_CMDI;
    /* exec('ls') is T-SQL and PHP alike; a call of a process function with a command is the
     * script's, so the value is reported as command injection alone */
    if ((k & TLD_WEBATTACK_SQLI) && (k & TLD_WEBATTACK_CMDI) && tld_cmdi_process_call(v, n))
        k &= ~(unsigned)TLD_WEBATTACK_SQLI;
    return k;
}

/* The request target inside a request line or absolute URL: [*off, *off + *len). */
static void request_target(const char *u, size_t n, size_t *off, size_t *len)
{
    size_t i = 0;
    while (i < n && i < 16 && u[i] >= 'A' && u[i] <= 'Z')
        i++;
    size_t b = 0, e = n;
    if (i > 0 && i < n && u[i] == ' ') {
        b = i + 1;
        /* drop a trailing " HTTP/x.y" */
        for (size_t k = n; k > b + 5; k--) {
            if (u[k - 1] == ' ' && k + 5 <= n && memcmp(u + k, "HTTP/", 5) == 0) {
                e = k - 1;
                break;
            }
            if (n - k > 16)
                break;
        }
    }
    if (e - b > 8 && (memcmp(u + b, "http://", 7) == 0 || memcmp(u + b, "https://", 8) == 0)) {
        size_t h = b + (u[b + 4] == 's' ? 8 : 7);
        const char *sl = memchr(u + h, '/', e - h);
        const char *qm = memchr(u + h, '?', e - h);
        if (qm && (!sl || qm < sl))
            sl = qm;
        b = sl ? (size_t)(sl - u) : e;
    }
    *off = b;
    *len = e - b;
}

unsigned tld_webattack_scan(const char *url, size_t n, struct tld_webattack_scratch *s)
{
    if (n > TLD_WEBATTACK_MAX_URL)
        n = TLD_WEBATTACK_MAX_URL;
    size_t un = tld_url_log_unescape(url, n, s->url, sizeof s->url);
    size_t off, len;
    request_target(s->url, un, &off, &len);
    const char *u = s->url + off;
    const char *qm = memchr(u, '?', len);
    size_t plen = qm ? (size_t)(qm - u) : len;
    unsigned found = 0;

    size_t dn = url_decode(u, plen, s->buf, sizeof s->buf, false);
    if (tld_traversal_detect_path(s->buf, dn))
        found |= TLD_WEBATTACK_TRAVERSAL;
    if (memchr(s->buf, '<', dn) || memchr(s->buf, '"', dn) || memchr(s->buf, '\'', dn)) {
        if (tld_xss_detect(s->buf, dn))
            found |= TLD_WEBATTACK_XSS;
    }
    if (!qm)
        return found;

    const char *q = qm + 1, *end = u + len;
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *pe = amp ? amp : end;
        const char *eq = memchr(q, '=', (size_t)(pe - q));
        const char *ne = eq ? eq : pe;
        if (ne > q) {
            dn = url_decode(q, (size_t)(ne - q), s->buf, sizeof s->buf, true);
            found |= scan_piece(s->buf, dn, found);
        }
        if (eq && pe > eq + 1) {
            dn = url_decode(eq + 1, (size_t)(pe - eq - 1), s->buf, sizeof s->buf, true);
            found |= scan_piece(s->buf, dn, found);
        }
        q = pe + 1;
    }
    return found;
}
