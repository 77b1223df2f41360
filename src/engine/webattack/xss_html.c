/*
 * HTML lexing and normalisation for the XSS detector (see xss_html.h).
 */
#include <string.h>

#include "engine/webattack/xss_html.h"

static bool is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == 0;
}

static bool is_alpha(unsigned char c)
{
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

bool tld_xss_ieq(const char *s, const char *lit, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + 32);
        if (c != (unsigned char)lit[i])
            return false;
    }
    return true;
}

bool tld_xss_is_letters(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_alpha((unsigned char)s[i]))
            return false;
    return true;
}

bool tld_xss_tag_open(const char *s, size_t n, size_t i, struct tld_xss_tag *t)
{
    memset(t, 0, sizeof *t);
    t->s = s;
    t->n = n;
    if (i + 1 >= n || s[i] != '<' || !is_alpha((unsigned char)s[i + 1]))
        return false;
    size_t j = i + 1;
    while (j < n && (is_alpha((unsigned char)s[j]) || (s[j] >= '0' && s[j] <= '9') || s[j] == ':' ||
                     s[j] == '-' || s[j] == '_'))
        j++;
    t->name_off = i + 1;
    t->name_len = j - i - 1;
    t->pos = j;
    return true;
}

bool tld_xss_tag_attr(struct tld_xss_tag *t, struct tld_xss_attr *a)
{
    const char *s = t->s;
    size_t n = t->n, i = t->pos;
    memset(a, 0, sizeof *a);
    while (i < n && (is_blank((unsigned char)s[i]) || s[i] == '/'))
        i++;
    if (i >= n || s[i] == '>') {
        t->closed = i < n;
        t->pos = i < n ? i + 1 : n;
        return false;
    }
    /* name: a leading '=' belongs to it, then up to a blank, '/', '>' or '=' */
    a->name_off = i;
    i++;
    while (i < n && !is_blank((unsigned char)s[i]) && s[i] != '/' && s[i] != '>' && s[i] != '=')
        i++;
    a->name_len = i - a->name_off;
    size_t k = i;
    while (k < n && is_blank((unsigned char)s[k]))
        k++;
    if (k < n && s[k] == '=') {
        k++;
        while (k < n && is_blank((unsigned char)s[k]))
            k++;
        a->has_value = true;
        if (k < n && (s[k] == '"' || s[k] == '\'' || s[k] == '`')) {
            char q = s[k];
            const char *e = memchr(s + k + 1, q, n - k - 1);
            a->val_off = k + 1;
            a->val_len = e ? (size_t)(e - s) - k - 1 : n - k - 1;
            i = e ? (size_t)(e - s) + 1 : n;
        } else {
            a->val_off = k;
            while (k < n && !is_blank((unsigned char)s[k]) && s[k] != '>')
                k++;
            a->val_len = k - a->val_off;
            i = k;
        }
    }
    t->pos = i;
    return true;
}

/* ---- character references -------------------------------------------------------------------- */

static const struct {
    const char *name;
    unsigned char len;
    char c;
} named[] = {
    {"colon", 5, ':'},  {"lpar", 4, '('},   {"rpar", 4, ')'},   {"sol", 3, '/'},
    {"quot", 4, '"'},   {"lt", 2, '<'},     {"gt", 2, '>'},     {"amp", 3, '&'},
    {"nbsp", 4, ' '},   {"period", 6, '.'}, {"comma", 5, ','},  {"semi", 4, ';'},
    {"equals", 6, '='}, {"num", 3, '#'},    {"grave", 5, '`'},  {"lsqb", 4, '['},
    {"rsqb", 4, ']'},   {"lbrace", 6, '{'}, {"rbrace", 6, '}'}, {"excl", 4, '!'},
    {"plus", 4, '+'},   {"dollar", 6, '$'}, {"percnt", 6, '%'}, {"lowbar", 6, '_'},
    {"ast", 3, '*'},    {"quest", 5, '?'},  {"commat", 6, '@'}, {"verbar", 6, '|'},
    {"hyphen", 6, '-'}, {"dash", 4, '-'},
};

/*
 * Character reference at s[i] == '&': its character (code points above 0x7f become '?') and
 * length, or -1 when none.
 */
static int char_ref(const char *s, size_t n, size_t i, size_t *len)
{
    size_t j = i + 1;
    if (j < n && s[j] == '#') {
        j++;
        unsigned long v = 0;
        size_t d = 0;
        if (j < n && (s[j] | 0x20) == 'x') {
            j++;
            while (j < n && d < 10) {
                char c = s[j];
                int h = (c >= '0' && c <= '9')                     ? c - '0'
                        : ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') ? (c | 0x20) - 'a' + 10
                                                                   : -1;
                if (h < 0)
                    break;
                v = v * 16 + (unsigned long)h;
                j++;
                d++;
            }
        } else {
            while (j < n && d < 12 && s[j] >= '0' && s[j] <= '9') {
                v = v * 10 + (unsigned long)(s[j] - '0');
                j++;
                d++;
            }
        }
        if (d == 0)
            return -1;
        while (j < n && s[j] >= '0' && s[j] <= '9')
            j++; /* absurdly long references: skip the rest of the digits */
        if (j < n && s[j] == ';')
            j++;
        *len = j - i;
        if (v >= 0xff01 && v <= 0xff5e)
            v -= 0xfee0; /* fullwidth forms read as ASCII by some engines */
        return v < 0x80 ? (int)v : '?';
    }
    if (j >= n || !((s[j] | 0x20) >= 'a' && (s[j] | 0x20) <= 'z'))
        return -1;
    for (size_t k = 0; k < sizeof named / sizeof named[0]; k++) {
        size_t l = named[k].len;
        if ((s[j] | 0x20) == named[k].name[0] && j + l <= n &&
            tld_xss_ieq(s + j, named[k].name, l)) {
            size_t e = j + l;
            if (e < n && s[e] == ';')
                e++;
            else if (l > 4)
                continue; /* only the short legacy names work without ';' */
            *len = e - i;
            return (unsigned char)named[k].c;
        }
    }
    return -1;
}

static int hexdig(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * Backslash escape at s[i]: CSS "\28" (1-6 hex digits, one optional blank after) and
 * JavaScript "\x28", "\u0028", "\u{28}" spell characters that filters look for. Returns the
 * character (code points above 0x7f become '?') and the length, or -1.
 */
static int backslash_escape(const char *s, size_t n, size_t i, size_t *len)
{
    size_t j = i + 1, max = 6;
    if (j + 2 < n && s[j] == 'u' && s[j + 1] == '{') {
        /* ES2015 code point escape: \u{61} */
        unsigned long v = 0;
        size_t d = 0;
        j += 2;
        while (j < n && d < 6 && hexdig(s[j]) >= 0) {
            v = v * 16 + (unsigned long)hexdig(s[j]);
            j++;
            d++;
        }
        if (d == 0 || j >= n || s[j] != '}')
            return -1;
        *len = j + 1 - i;
        return v < 0x80 ? (int)v : '?';
    }
    if (j < n && (s[j] == 'x' || s[j] == 'u')) {
        max = s[j] == 'x' ? 2 : 4;
        j++;
    }
    unsigned long v = 0;
    size_t d = 0;
    while (j < n && d < max && hexdig(s[j]) >= 0) {
        v = v * 16 + (unsigned long)hexdig(s[j]);
        j++;
        d++;
    }
    if (d == 0 || (max < 6 && d != max))
        return -1;
    if (max == 6 && j < n && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n'))
        j++;
    *len = j - i;
    return v < 0x80 ? (int)v : '?';
}

size_t tld_xss_normalize(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o < cap;) {
        int c = (unsigned char)s[i];
        size_t adv = 1;
        if (c == '&') {
            size_t l;
            int r = char_ref(s, n, i, &l);
            if (r >= 0) {
                c = r;
                adv = l;
            }
        } else if (c == '\\') {
            size_t l;
            int r = backslash_escape(s, n, i, &l);
            if (r >= 0) {
                c = r;
                adv = l;
            }
        }
        i += adv;
        if (c <= 0x20 || c == 0x7f)
            continue;
        if (c >= 'A' && c <= 'Z')
            c += 32;
        out[o++] = (char)c;
    }
    return o;
}

/* ---- script-bearing URLs and CSS ------------------------------------------------------------ */

static bool js_body(const char *v, size_t n)
{
    for (size_t i = 0; i < n && i < 256; i++)
        if (v[i] == '(' || v[i] == '`' || v[i] == '=' || v[i] == '.' || v[i] == '\\')
            return true;
    return false;
}

static const char *const data_docs[] = {
    "text/html",
    "text/xml",
    "application/",
    "image/svg",
    "text/javascript",
    "text/ecmascript",
    "text/vbscript",
    ",",
    ";base64",
    "text/plain",
    "text/css",
    "text/x-",
    NULL,
};

static bool data_doc(const char *v, size_t n)
{
    for (const char *const *d = data_docs; *d; d++) {
        size_t l = strlen(*d);
        if (l <= n && memcmp(v, *d, l) == 0)
            return true;
    }
    return false;
}

/* Script URL scheme at v[i]; *body set to the index after the colon. */
static bool scheme_at(const char *v, size_t n, size_t i, size_t *body, bool *is_data)
{
    static const char *const schemes[] = {
        "javascript:", "vbscript:", "livescript:", "mocha:", NULL};
    *is_data = false;
    for (const char *const *k = schemes; *k; k++) {
        size_t l = strlen(*k);
        if (i + l <= n && memcmp(v + i, *k, l) == 0) {
            *body = i + l;
            return true;
        }
    }
    if (i + 5 <= n && memcmp(v + i, "data:", 5) == 0) {
        *body = i + 5;
        *is_data = true;
        return true;
    }
    return false;
}

bool tld_xss_script_url(const char *v, size_t n)
{
    size_t b;
    bool is_data;
    if (!scheme_at(v, n, 0, &b, &is_data))
        return false;
    return is_data ? data_doc(v + b, n - b) : true;
}

bool tld_xss_script_url_anywhere(const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i] != 'j' && v[i] != 'v' && v[i] != 'l' && v[i] != 'm' && v[i] != 'd')
            continue;
        size_t b;
        bool is_data;
        if (!scheme_at(v, n, i, &b, &is_data))
            continue;
        if (is_data) {
            char p = i > 0 ? v[i - 1] : '=';
            if (strchr("\"'`=(>,;", p) && data_doc(v + b, n - b) && b < n && v[b] != ',')
                return true;
        } else if (js_body(v + b, n - b)) {
            return true;
        }
    }
    return false;
}

bool tld_xss_css_active(const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (v[i]) {
        case 'e':
            if (i + 11 <= n && memcmp(v + i, "expression(", 11) == 0) {
                char p = i > 0 ? v[i - 1] : ':';
                if ((p == ':' || p == '{' || p == ';' || p == '"' || p == '\'' || p == '/') &&
                    js_body(v + i + 11, n - i - 11))
                    return true;
            }
            break;
        case 'b': /* behavior:url(x.htc), behaviour: */
            if ((i + 9 <= n && memcmp(v + i, "behavior:", 9) == 0) ||
                (i + 10 <= n && memcmp(v + i, "behaviour:", 10) == 0))
                return true;
            break;
        case '-':
            if (i + 17 <= n && memcmp(v + i, "-moz-binding:url(", 17) == 0)
                return true;
            break;
        default:
            break;
        }
    }
    return false;
}

/* ---- event handler names -------------------------------------------------------------------- */

static const char *const events[] = {
    "abort",
    "activate",
    "afterprint",
    "afterscriptexecute",
    "afterupdate",
    "animation",
    "auxclick",
    "beforeactivate",
    "beforecopy",
    "beforecut",
    "beforedeactivate",
    "beforeeditfocus",
    "beforeinput",
    "beforepaste",
    "beforeprint",
    "beforescriptexecute",
    "beforetoggle",
    "beforeunload",
    "beforeupdate",
    "begin",
    "blur",
    "bounce",
    "cancel",
    "canplay",
    "cellchange",
    "change",
    "click",
    "close",
    "contextmenu",
    "controlselect",
    "copy",
    "cuechange",
    "cut",
    "dataavailable",
    "datasetchanged",
    "datasetcomplete",
    "dblclick",
    "deactivate",
    "drag",
    "drop",
    "durationchange",
    "emptied",
    "end",
    "ended",
    "error",
    "errorupdate",
    "filterchange",
    "finish",
    "focus",
    "formchange",
    "formdata",
    "forminput",
    "fullscreenchange",
    "hashchange",
    "help",
    "input",
    "invalid",
    "key",
    "layoutcomplete",
    "load",
    "losecapture",
    "message",
    "mouse",
    "move",
    "offline",
    "online",
    "page",
    "paste",
    "pause",
    "play",
    "pointer",
    "popstate",
    "progress",
    "propertychange",
    "ratechange",
    "readystatechange",
    "repeat",
    "reset",
    "resize",
    "rowenter",
    "rowexit",
    "rowsdelete",
    "rowsinserted",
    "scroll",
    "search",
    "seek",
    "select",
    "show",
    "stalled",
    "start",
    "stop",
    "storage",
    "submit",
    "suspend",
    "timeupdate",
    "toggle",
    "touch",
    "transition",
    "unhandledrejection",
    "unload",
    "volumechange",
    "waiting",
    "webkit",
    "wheel",
    NULL,
};

bool tld_xss_event_name(const char *name, size_t n)
{
    if (n < 4 || !tld_xss_ieq(name, "on", 2))
        return false;
    for (const char *const *e = events; *e; e++) {
        size_t l = strlen(*e);
        if (l <= n - 2 && tld_xss_ieq(name + 2, *e, l))
            return true;
    }
    return false;
}
