/*
 * Path traversal detector.
 *
 * The value is normalised the way file APIs and lenient servers read paths: backslashes are
 * separators, hexadecimal spellings of dots and slashes ("0x2e", "0x2f", "0x5c") and overlong or
 * look-alike UTF-8 forms of them become the plain characters, case is folded. The normalised
 * path is walked segment by segment, tracking how far it climbs ("..") relative to where it
 * started. Suspicious are: climbing two or more levels, climbing above the root of an absolute
 * path, a parent step written with an encoding trick, segments made of three or more dots or of
 * ".." glued to other text (filter-evasion forms), self references inside an absolute path,
 * leading runs of slashes that are no network-path reference, file: URLs, and the names of the
 * files traversal is used to reach (passwd, boot.ini, WEB-INF/web.xml, ...). File inclusion that
 * needs no climbing - an absolute path into a system folder, a configuration file named as a path
 * segment, a stream wrapper of a scripting runtime - is recognised from the lists of
 * webattack_paths.c.
 *
 * Work is linear; the normalised text lives in a fixed window (WIN bytes, windows overlapping by
 * OVL bytes so a construct cut by a window edge is seen whole in the next one).
 */
#include <string.h>

#include "engine/webattack/webattack.h"
#include "engine/webattack/webattack_lists.h"

#define WIN 2048
#define OVL 128

struct walk {
    unsigned parent;    /* ".." segments */
    unsigned self_ref;  /* "." segments */
    unsigned odd;       /* "...", "..x" segments and long dot runs */
    bool above_root;    /* climbed above the start of an absolute path */
    bool climbed_start; /* climbed above the start of a relative one */
    bool tricks;        /* an encoded dot or slash was normalised */
    bool nul;           /* a NUL byte */
};

/* Normalise s[0..n) into out; sets w->tricks when an encoded form was rewritten. */
static size_t normalise(const char *s, size_t n, char *out, size_t cap, struct walk *w)
{
    size_t o = 0, i = 0;
    while (i < n && o < cap) {
        unsigned char c = (unsigned char)s[i];
        unsigned char c1 = i + 1 < n ? (unsigned char)s[i + 1] : 0;
        unsigned char c2 = i + 2 < n ? (unsigned char)s[i + 2] : 0;
        unsigned char c3 = i + 3 < n ? (unsigned char)s[i + 3] : 0;
        char r = 0;
        size_t adv = 1;
        if (c < 0x80 && c != '0') {
            /* the common case: no encoded form starts here */
        } else if (c == '0' && (c1 | 0x20) == 'x' && c2 == '2' &&
                   ((c3 | 0x20) == 'e' || (c3 | 0x20) == 'f')) {
            r = (c3 | 0x20) == 'e' ? '.' : '/';
            adv = 4;
        } else if (c == '0' && (c1 | 0x20) == 'x' && c2 == '5' && (c3 | 0x20) == 'c') {
            r = '/';
            adv = 4;
        } else if ((c == 0xc0 || c == 0xc1) && c1 != 0) {
            unsigned low = c1 & 0x3f;
            unsigned cp = ((unsigned)(c & 1) << 6) | low;
            if (cp == '.' || cp == '/' || cp == '\\') {
                r = cp == '.' ? '.' : '/';
                adv = 2;
            }
        } else if (c == 0xe0 && c1 == 0x80 && (c2 == 0xae || c2 == 0xaf)) {
            r = c2 == 0xae ? '.' : '/';
            adv = 3;
        } else if (c == 0xf0 && c1 == 0x80 && c2 == 0x80 && i + 3 < n &&
                   (c3 == 0xae || c3 == 0xaf)) {
            r = c3 == 0xae ? '.' : '/'; /* four-byte overlong . and / */
            adv = 4;
        } else if (c == 0xef && c1 == 0xbc && (c2 == 0x8e || c2 == 0x8f || c2 == 0xbc)) {
            r = c2 == 0x8e ? '.' : '/'; /* fullwidth . / \ */
            adv = 3;
        } else if (c == 0xe2 && c1 == 0x88 && c2 == 0x95) {
            r = '/'; /* division slash */
            adv = 3;
        }
        if (r) {
            w->tricks = true;
            out[o++] = r;
            i += adv;
            continue;
        }
        if (c == '\\')
            c = '/';
        else if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + 32);
        else if (c == 0)
            w->nul = true;
        out[o++] = (char)c;
        i++;
    }
    return o;
}

struct target {
    const char *s;
    size_t n;
};
#define T(x)                                                                                       \
    {                                                                                              \
        x, sizeof(x) - 1                                                                           \
    }

/*
 * Files and folders that traversal and file inclusion go after. '/' matches any run of '/'
 * (zero included: payloads that lost their separators still name the file). Grouped by first
 * byte; first_group() gives each group's range.
 */
static const struct target targets[] = {
    T(".htpasswd"),        T(".htaccess"),        T(".ssh/"),          T(".bash_history"), /* 0 */
    T(".aws/credentials"), T("/var/log/"),                                                 /* 4 */
    T("boot.ini"),                                                                         /* 6 */
    T("etc/passwd"),       T("etc/shadow"),       T("etc/group"),      T("etc/hosts"),     /* 7 */
    T("etc/issue"),                                                                        /* 11 */
    T("global.asa"),                                                                       /* 12 */
    T("id_rsa"),           T("inetpub/wwwroot"),                                           /* 13 */
    T("meta-inf/"),                                                                        /* 15 */
    T("proc/self/"),       T("proc/version"),                                              /* 16 */
    T("system.ini"),       T("system32"),                                                  /* 18 */
    T("win.ini"),          T("windows/system32"), T("winnt/system32"), T("web-inf/"),      /* 20 */
    T("wp-config.php"),                                                                    /* 24 */
};

static bool first_group(unsigned char c, size_t *from, size_t *to)
{
    switch (c) {
    case '.':
        *from = 0, *to = 5;
        return true;
    case '/':
        *from = 5, *to = 6;
        return true;
    case 'b':
        *from = 6, *to = 7;
        return true;
    case 'e':
        *from = 7, *to = 12;
        return true;
    case 'g':
        *from = 12, *to = 13;
        return true;
    case 'i':
        *from = 13, *to = 15;
        return true;
    case 'm':
        *from = 15, *to = 16;
        return true;
    case 'p':
        *from = 16, *to = 18;
        return true;
    case 's':
        *from = 18, *to = 20;
        return true;
    case 'w':
        *from = 20, *to = 25;
        return true;
    default:
        return false;
    }
}

/* In a request path only these count (no climbing needed to reach them there). */
static const bool path_target[sizeof targets / sizeof targets[0]] = {
    [6] = true, [7] = true, [8] = true, [16] = true, [19] = true, [20] = true,
};

static bool target_at(const char *b, size_t m, size_t i, const struct target *t)
{
    size_t j = i;
    for (size_t k = 0; k < t->n; k++) {
        if (t->s[k] == '/') {
            while (j < m && b[j] == '/')
                j++;
            continue;
        }
        if (j >= m || b[j] != t->s[k])
            return false;
        j++;
    }
    return true;
}

static bool has_target(const char *b, size_t m, bool path)
{
    for (size_t i = 0; i < m; i++) {
        size_t from, to;
        if (!first_group((unsigned char)b[i], &from, &to))
            continue;
        for (size_t k = from; k < to; k++)
            if ((!path || path_target[k]) &&
                (i + 1 >= m || b[i + 1] == targets[k].s[1] || targets[k].s[1] == '/') &&
                target_at(b, m, i, &targets[k]))
                return true;
    }
    return false;
}

/*
 * Inside a segment of an absolute path: four or more dots in a row, or two or more dots ending
 * the segment or followed by a byte no file name has ("name..", "x....{file}"). Windows drops
 * trailing dots from names, and runs of dots are what traversal filters are probed with.
 */
static bool inner_dots(const char *p, size_t len)
{
    for (size_t i = 0; i < len;) {
        if (p[i] != '.') {
            i++;
            continue;
        }
        size_t j = i;
        while (j < len && p[j] == '.')
            j++;
        size_t run = j - i;
        if (run >= 4)
            return true;
        if (run >= 2) {
            char c = j < len ? p[j] : 0;
            bool namechar = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                            c == '-' || (unsigned char)c >= 0x80;
            if (!namechar)
                return true;
        }
        i = j;
    }
    return false;
}

/* Walk the segments of the normalised path b[0..m). */
static void walk_segments(const char *b, size_t m, struct walk *w)
{
    bool abs = m > 0 && b[0] == '/';
    long depth = 0;
    size_t i = 0;
    while (i <= m) {
        size_t e = i;
        while (e < m && b[e] != '/')
            e++;
        size_t len = e - i, dots = 0;
        while (dots < len && b[i + dots] == '.')
            dots++;
        bool last = e >= m;
        if (len == 0) {
            /* empty segment: "//" */
        } else if (dots == len && len == 1) {
            w->self_ref++;
        } else if (dots == len && len == 2) {
            w->parent++;
            if (--depth < 0) {
                if (abs)
                    w->above_root = true;
                else
                    w->climbed_start = true;
            }
        } else if (dots == len) {
            if (!last || abs)
                w->odd++;
        } else if (dots == 2) {
            char c = b[i + 2];
            if (c == ';' || c == 0) {
                w->parent++; /* "..;/" (servlet path parameters), "..\0" */
                depth--;
            } else if (abs || !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
                w->odd++;
            }
        } else if (dots >= 6 || (dots >= 3 && (abs || !last))) {
            w->odd++;
        } else {
            depth++;
            if (abs && inner_dots(b + i, len))
                w->odd++;
        }
        i = e + 1;
    }
}

static bool leading_slashes(const char *b, size_t m)
{
    if (m >= 3 && b[0] == '/' && b[1] == '/' && b[2] == '/')
        return true;
    if (m >= 3 && b[0] == '/' && b[1] == '/') {
        char c = b[2];
        return !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '[');
    }
    return false;
}

static bool window_value(const char *s, size_t n, bool first)
{
    char b[WIN];
    struct walk w;
    memset(&w, 0, sizeof w);
    size_t m = normalise(s, n, b, sizeof b, &w);
    walk_segments(b, m, &w);
    if (w.parent >= 2 || w.above_root || w.odd > 0)
        return true;
    if (w.parent >= 1 && (w.tricks || w.nul))
        return true;
    bool abs = m > 0 && b[0] == '/';

    if (first && abs && w.self_ref > 0)
        return true;
    if (first && leading_slashes(b, m))
        return true;
    if (first && m >= 6 && memcmp(b, "file:", 5) == 0 && (b[5] == '/' || b[5] == '.'))
        return true;
    if (first) {
        size_t d = 0;
        while (d < m && b[d] == '.')
            d++;
        if (d >= 6 && (memchr(b + d, '.', m - d) || memchr(b + d, '/', m - d)))
            return true; /* "........etc/x", "......boot.ini" with its letters cut */
    }
    if (has_target(b, m, false))
        return true;
    /* file inclusion without climbing: an absolute path or a wrapper names the file itself */
    return first && (tld_webattack_sensitive_path(b, m) || tld_webattack_stream_wrapper(b, m));
}

/* Bytes a traversal needs: a dot, a separator, the 0x spelling, or an overlong UTF-8 lead. */
static bool may_traverse(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.' || c == '/' || c == '\\' || c >= 0xc0 ||
            ((c | 0x20) == 'x' && i > 0 && s[i - 1] == '0'))
            return true;
    }
    return false;
}

bool tld_traversal_detect(const char *s, size_t n)
{
    if (!may_traverse(s, n))
        return false;
    for (size_t off = 0;; off += WIN - OVL) {
        size_t len = n - off < WIN ? n - off : WIN;
        if (window_value(s + off, len, off == 0))
            return true;
        if (off + len >= n)
            return false;
    }
}

bool tld_traversal_detect_path(const char *s, size_t n)
{
    if (!may_traverse(s, n))
        return false;
    for (size_t off = 0;; off += WIN - OVL) {
        size_t len = n - off < WIN ? n - off : WIN;
        char b[WIN];
        struct walk w;
        memset(&w, 0, sizeof w);
        size_t m = normalise(s + off, len, b, sizeof b, &w);
        walk_segments(b, m, &w);
        if ((off == 0 && w.above_root) || w.odd > 0 || (w.parent >= 1 && (w.tricks || w.nul)))
            return true;
        if (w.parent >= 1 && has_target(b, m, true))
            return true;
        if (off + len >= n)
            return false;
    }
}
