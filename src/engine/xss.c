/*
 * Cross-site scripting detector.
 *
 * A value is dangerous when, pasted into a page, it makes the browser run script or load active
 * content. Three places a value can land are considered:
 *   - HTML text: the value opens a tag. Tags are lexed like a browser does (name, then attributes
 *     separated by spaces or '/', values quoted with ", ' or ` or bare) and judged: tags that run
 *     or load content (script, iframe, object, embed, base, meta, link, style, ...), any event
 *     handler attribute, attribute values holding script-bearing URLs (javascript:, vbscript:,
 *     data: documents) once character references and blanks are removed, CSS expressions and
 *     bindings in style attributes, srcdoc documents.
 *   - inside an attribute: the value closes the quote and adds a handler (" onfocus=...") or a
 *     style, or is itself a script URL.
 *   - inside a script string: the value closes the string and chains an expression that calls
 *     or assigns something ("';alert(1)//", "'-f(x)-'").
 * A whole-value normalised view (lower case, character references decoded, blanks and control
 * bytes dropped) serves the checks that obfuscation targets: script URLs, CSS expression(),
 * breakouts. That view is built in a fixed buffer window by window (WIN input bytes, windows
 * overlapping by OVL bytes), so work is linear and memory bounded.
 */
#include <stdint.h>
#include <string.h>

#include "engine/webattack.h"
#include "engine/xss_html.h"

#define WIN 1536
#define OVL 256

static const char *const exec_tags[] = {
    "script", "iframe",   "frame",  "frameset", "object", "embed",   "applet",
    "base",   "meta",     "link",   "style",    "import", "bgsound", "layer",
    "ilayer", "vmlframe", "portal", "isindex",  "xss",    NULL,
};

/* Tag names that on their own carry active content, whatever their attributes. */
static bool exec_tag(const char *name, size_t n)
{
    for (const char *const *t = exec_tags; *t; t++)
        if (strlen(*t) == n && tld_xss_ieq(name, *t, n))
            return true;
    return false;
}

/* An attribute of a lexed tag: does it by itself make the tag dangerous? */
static bool bad_attr(const struct tld_xss_attr *a, const char *s)
{
    const char *name = s + a->name_off;
    if (a->name_len >= 5 && tld_xss_ieq(name, "on", 2) &&
        tld_xss_is_letters(name + 2, a->name_len - 2))
        return true;
    if (!a->has_value)
        return false;
    char v[TLD_XSS_ATTR_NORM];
    size_t vn = tld_xss_normalize(s + a->val_off, a->val_len, v, sizeof v);
    if (tld_xss_script_url(v, vn) || tld_xss_script_url_anywhere(v, vn))
        return true;
    if (tld_xss_css_active(v, vn))
        return true;
    if (memmem(v, vn, "&{", 2))
        return true;
    if (a->name_len == 6 && tld_xss_ieq(name, "srcdoc", 6) && memchr(v, '<', vn))
        return true;
    return false;
}

/*
 * Lex the tags of s as a browser would (a '<' inside a tag belongs to an attribute); true when
 * one of them is dangerous.
 */
static bool tags(const char *s, size_t n)
{
    struct tld_xss_tag tag;
    struct tld_xss_attr a;
    size_t i = 0;
    while (i < n) {
        const char *lt = memchr(s + i, '<', n - i);
        if (!lt)
            return false;
        i = (size_t)(lt - s);
        if (!tld_xss_tag_open(s, n, i, &tag)) {
            i++;
            continue;
        }
        if (exec_tag(s + tag.name_off, tag.name_len))
            return true;
        while (tld_xss_tag_attr(&tag, &a))
            if (bad_attr(&a, s))
                return true;
        i = tag.pos > i ? tag.pos : i + 1;
    }
    return false;
}

/*
 * Active tag names wherever a '<' stands, even inside another tag: "<scr<script>ipt>" is what a
 * filter that deletes "<script>" once turns into a script tag.
 */
static bool exec_tag_anywhere(const char *s, size_t n)
{
    for (const char *lt = memchr(s, '<', n); lt;
         lt = memchr(lt + 1, '<', n - (size_t)(lt + 1 - s))) {
        size_t i = (size_t)(lt - s) + 1, j = i;
        while (j < n && j - i < 16 && (((s[j] | 0x20) >= 'a' && (s[j] | 0x20) <= 'z')))
            j++;
        if (j == i || !exec_tag(s + i, j - i))
            continue;
        if (j >= n || s[j] == '>' || s[j] == '/' || s[j] == ' ' || s[j] == '\t' || s[j] == '\n' ||
            s[j] == '\r' || s[j] == '\f' || s[j] == 0)
            return true;
    }
    return false;
}

/* ---- checks on the normalised view ---------------------------------------------------------- */

static bool is_ident(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '$';
}

/* Functions and properties whose use is the point of an injected script. */
static const char *const sinks[] = {
    "alert",    "prompt",        "confirm", "eval",         "settimeout",     "setinterval",
    "function", "execscript",    "msgbox",  "fromcharcode", "document.write", "document.writeln",
    "atob",     "importscripts", "fetch",   NULL,
};
static const char *const dom_props[] = {
    "document.cookie",
    "document.domain",
    "document.location",
    "window.location",
    "top.location",
    "location.href",
    "self.location",
    ".innerhtml",
    "parent.location",
    "document.body.innerhtml",
    NULL,
};

static bool sink_at(const char *v, size_t n, size_t i, size_t *len)
{
    for (const char *const *k = sinks; *k; k++) {
        size_t l = strlen(*k);
        if (i + l <= n && memcmp(v + i, *k, l) == 0) {
            *len = l;
            return true;
        }
    }
    return false;
}

/* Properties whose assignment runs or redirects script. */
static bool sink_property(const char *v, size_t b, size_t e)
{
    static const char *const props[] = {"cookie",    "location",  "href", "domain",
                                        "innerhtml", "outerhtml", "src",  "onerror",
                                        "onload",    "action",    NULL};
    for (const char *const *p = props; *p; p++) {
        size_t l = strlen(*p);
        if (e - b >= l && memcmp(v + e - l, *p, l) == 0 &&
            (e - b == l || !is_ident((unsigned char)v[e - l - 1])))
            return true;
    }
    return false;
}

/*
 * After a breakout at v[i]: an expression that calls or assigns. Identifier chains (a.b.c,
 * a['b']) followed by '(' or '`' (call, tagged template) qualify, and assignments to the
 * properties that run or redirect script.
 */
static bool js_action_at(const char *v, size_t n, size_t i)
{
    size_t j = i;
    if (j < n && (v[j] == '(' || v[j] == '['))
        j++; /* (alert)(1), [alert][0](1) */
    if (j >= n || !is_ident((unsigned char)v[j]) || (v[j] >= '0' && v[j] <= '9'))
        return false;
    size_t idl = 0, start = j;
    while (j < n && (is_ident((unsigned char)v[j]) || v[j] == '.' || v[j] == '[' || v[j] == ']' ||
                     v[j] == '\'' || v[j] == '"' || v[j] == ')')) {
        if (is_ident((unsigned char)v[j]))
            idl++;
        j++;
        if (j - i > 64)
            break;
    }
    if (idl < 2 || j >= n)
        return false;
    if (v[j] == '(' || v[j] == '`')
        return true;
    return v[j] == '=' && (j + 1 >= n || v[j + 1] != '=') && sink_property(v, start, j);
}

/*
 * JavaScript string breakout: a quote, optional closers, an operator or ';', then an action.
 */
static bool js_breakout(const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char q = v[i];
        if (q != '\'' && q != '"' && q != '`')
            continue;
        size_t j = i + 1;
        while (j < n && (v[j] == ')' || v[j] == ']' || v[j] == '}' || v[j] == '\\'))
            j++;
        if (j >= n || !strchr(";+-*/%|&^,?:<>=", v[j]) || v[j] == 0)
            continue;
        while (j < n && v[j] != 0 && strchr(";+-*/%|&^,?:!~{}", v[j]))
            j++;
        if (js_action_at(v, n, j))
            return true;
    }
    return false;
}

/* Known sinks called from an operator position, and DOM properties. */
static bool js_sinks(const char *v, size_t n, bool breakout_chars)
{
    for (size_t i = 0; i < n; i++) {
        size_t l;
        if (v[i] == '.' || v[i] == 'd' || v[i] == 'w' || v[i] == 't' || v[i] == 'l' ||
            v[i] == 's' || v[i] == 'p') {
            for (const char *const *k = dom_props; *k; k++) {
                size_t pl = strlen(*k);
                if (i + pl <= n && memcmp(v + i, *k, pl) == 0)
                    return true;
            }
        }
        if ((i == 0 || !is_ident((unsigned char)v[i - 1])) && v[i] != '.' && sink_at(v, n, i, &l)) {
            size_t j = i + l;
            if (j < n && (v[j] == '(' || v[j] == '`')) {
                char p = i > 0 ? v[i - 1] : 0;
                if (p ? strchr(";+-*/|&,(=:!~{}[\"'`>", p) != NULL : breakout_chars)
                    return true;
            }
        }
    }
    return false;
}

/* Attribute injection without a tag: " onfocus=..., ' style=x:expression(...) */
static bool attr_breakout(const char *s, size_t n, bool breakout_chars)
{
    for (size_t i = 0; i + 4 < n; i++) {
        if ((s[i] | 0x20) != 'o' || (s[i + 1] | 0x20) != 'n')
            continue;
        if (i > 0 && !strchr(" \t\r\n\f\v\"'`/;", s[i - 1]) && s[i - 1] != 0)
            continue;
        size_t j = i + 2;
        while (j < n && (((s[j] | 0x20) >= 'a' && (s[j] | 0x20) <= 'z')))
            j++;
        size_t namelen = j - i;
        if (namelen < 5)
            continue;
        while (j < n &&
               (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r' || s[j] == '\f'))
            j++;
        if (j >= n || s[j] != '=')
            continue;
        if (breakout_chars || tld_xss_event_name(s + i, namelen))
            return true;
        /* a bare "onfoo=" that holds a call */
        size_t e = j + 1;
        while (e < n && e < j + 200 && s[e] != ' ' && s[e] != '&') {
            if (s[e] == '(' || s[e] == '`')
                return true;
            e++;
        }
    }
    return false;
}

static bool has_breakout_chars(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '"' || s[i] == '\'' || s[i] == '>' || s[i] == '<' || s[i] == '`')
            return true;
    return false;
}

static bool window_checks(const char *s, size_t n, bool brk)
{
    char v[WIN + 8];
    size_t vn = tld_xss_normalize(s, n, v, sizeof v);
    if (tld_xss_script_url_anywhere(v, vn))
        return true;
    if (tld_xss_css_active(v, vn))
        return true;
    if (memmem(v, vn, "&{", 2) && memchr(v, '}', vn))
        return true;
    if (js_breakout(v, vn))
        return true;
    if (js_sinks(v, vn, brk))
        return true;
    return false;
}

/* UTF-7 spellings of markup characters, as once honoured by browsers for UTF-7 pages. */
static size_t utf7_markup(const char *s, size_t n, char *out, size_t cap)
{
    static const struct {
        const char *seq;
        char c;
    } map[] = {{"+adw-", '<'},  {"+ad4-", '>'}, {"+aci-", '"'},
               {"+acc-", '\''}, {"+adw", '<'},  {"+ad4", '>'}};
    size_t o = 0, i = 0;
    while (i < n && o < cap) {
        bool hit = false;
        if (s[i] == '+') {
            for (size_t k = 0; k < sizeof map / sizeof map[0]; k++) {
                size_t l = strlen(map[k].seq);
                if (i + l <= n && tld_xss_ieq(s + i, map[k].seq, l)) {
                    out[o++] = map[k].c;
                    i += l;
                    hit = true;
                    break;
                }
            }
        }
        if (!hit)
            out[o++] = s[i++];
    }
    return o;
}

static bool detect(const char *s, size_t n, int depth)
{
    if (memchr(s, '<', n) && (tags(s, n) || exec_tag_anywhere(s, n)))
        return true;
    bool brk = has_breakout_chars(s, n);
    if (attr_breakout(s, n, brk))
        return true;
    for (size_t off = 0;; off += WIN - OVL) {
        size_t len = n - off < WIN ? n - off : WIN;
        if (window_checks(s + off, len, brk))
            return true;
        if (off + len >= n)
            break;
    }
    if (depth == 0 && memmem(s, n, "+AD", 3) == NULL && memmem(s, n, "+ad", 3) == NULL)
        return false;
    if (depth == 0) {
        char u[WIN];
        for (size_t off = 0;; off += WIN - OVL) {
            size_t len = n - off < WIN ? n - off : WIN;
            size_t un = utf7_markup(s + off, len, u, sizeof u);
            if (detect(u, un, 1))
                return true;
            if (off + len >= n)
                break;
        }
    }
    return false;
}

bool tld_xss_detect(const char *s, size_t n)
{
    if (n == 0)
        return false;
    return detect(s, n, 0);
}
