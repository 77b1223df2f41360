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

#include "engine/webattack/webattack.h"
#include "engine/webattack/xss_html.h"

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

static bool name_is(const char *s, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    return n == l && tld_xss_ieq(s, lit, l);
}

/* Attributes that load a resource or navigate: pointing them elsewhere injects content. */
static const char *const url_attrs[] = {
    "href", "src",    "xlink:href", "action", "formaction", "background", "lowsrc", "dynsrc",
    "data", "poster", "codebase",   "code",   "to",         "from",       "values", NULL};

static bool in_names(const char *name, size_t n, const char *const *list)
{
    for (; *list; list++)
        if (name_is(name, n, *list))
            return true;
    return false;
}

/* An attribute of a lexed tag: does it by itself make the tag dangerous? */
static bool bad_attr(const char *tag, size_t tag_len, const struct tld_xss_attr *a, const char *s)
{
    const char *name = s + a->name_off;
    size_t nl = a->name_len;
    if (nl >= 5 && tld_xss_ieq(name, "on", 2)) {
        /* event handler; old parsers also cut names at punctuation ("onload!#$=...") */
        size_t l = 2;
        while (l < nl && tld_xss_is_letters(name + l, 1))
            l++;
        if (l == nl || tld_xss_event_name(name, l))
            return true;
    }
    /* data binding (datasrc/datafld/dataformatas) and XML Events handlers */
    if (name_is(name, nl, "datasrc") || name_is(name, nl, "dataformatas") ||
        name_is(name, nl, "datafld") || (nl >= 7 && tld_xss_ieq(name + nl - 7, "handler", 7)))
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
    if (name_is(name, nl, "srcdoc") && memchr(v, '<', vn))
        return true;
    if (name_is(name, nl, "style") && (memmem(v, vn, "url(", 4) || memmem(v, vn, "binding:", 8)))
        return true; /* CSS that fetches or binds */
    if (name_is(name, nl, "attributename") && memmem(v, vn, "href", 4))
        return true; /* SVG animation rewriting a link */
    if (name_is(tag, tag_len, "xml") && name_is(name, nl, "src"))
        return true; /* IE data island */
    if (in_names(name, nl, url_attrs) &&
        ((vn >= 5 && memcmp(v, "http:", 5) == 0) || (vn >= 6 && memcmp(v, "https:", 6) == 0) ||
         (vn >= 4 && memcmp(v, "ftp:", 4) == 0) ||
         (vn >= 3 && v[0] == '/' && v[1] == '/' && v[2] != '/')))
        return true; /* a link or resource pointing to another site */
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
        /* a namespace prefix does not change what a tag does: <x:script> */
        const char *name = s + tag.name_off;
        size_t nlen = tag.name_len;
        const char *colon = memchr(name, ':', nlen);
        if (nlen > 4 && tld_xss_ieq(name, "xsl:", 4))
            return true; /* an XSLT stylesheet runs whatever it transforms */
        if (colon) {
            nlen -= (size_t)(colon + 1 - name);
            name = colon + 1;
        }
        if (exec_tag(name, nlen))
            return true;
        while (tld_xss_tag_attr(&tag, &a))
            if (bad_attr(s + tag.name_off, tag.name_len, &a, s))
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
        size_t i = (size_t)(lt - s) + 1;
        if (i + 7 <= n && s[i] == '/' && tld_xss_ieq(s + i + 1, "script", 6))
            return true; /* closing a script block from inside it */
        size_t j = i;
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

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool is_ident(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '$';
}

struct lit {
    const char *s;
    size_t n;
};
#define LIT(x)                                                                                     \
    {                                                                                              \
        x, sizeof(x) - 1                                                                           \
    }

/* Functions whose call is the point of an injected script. */
static const struct lit sinks[] = {
    LIT("alert"),      LIT("prompt"),        LIT("confirm"),  LIT("eval"),
    LIT("settimeout"), LIT("setinterval"),   LIT("function"), LIT("execscript"),
    LIT("msgbox"),     LIT("fromcharcode"),  LIT("write"),    LIT("writeln"),
    LIT("atob"),       LIT("importscripts"), LIT("fetch"),    LIT("print"),
};
/* Objects and properties that reach the page, its cookies and its location. */
static const struct lit dom_objects[] = {
    LIT("document"), LIT("window"), LIT("top"), LIT("self"), LIT("parent"), LIT("location"),
};
static const struct lit dom_members[] = {
    LIT("cookie"), LIT("domain"), LIT("location"), LIT("href"), LIT("write"), LIT("writeln"),
};

static bool lit_in(const char *w, size_t n, const struct lit *l, size_t count)
{
    for (size_t k = 0; k < count; k++)
        if (l[k].n == n && memcmp(w, l[k].s, n) == 0)
            return true;
    return false;
}

/* w ends with one of the literals (blanks are gone in the normalised view, so "echo document"
 * reads "echodocument"). */
static bool lit_suffix(const char *w, size_t n, const struct lit *l, size_t count)
{
    for (size_t k = 0; k < count; k++)
        if (l[k].n <= n && memcmp(w + n - l[k].n, l[k].s, l[k].n) == 0)
            return true;
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

/* Index just past the ']' closing the '[' at v[i] (nesting honoured, 96 bytes at most), or i. */
static size_t bracket_end(const char *v, size_t n, size_t i)
{
    int depth = 0;
    for (size_t j = i; j < n && j < i + 96; j++) {
        if (v[j] == '[')
            depth++;
        else if (v[j] == ']' && --depth == 0)
            return j + 1;
    }
    return i;
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
        /* bracket access with a computed name: top['al'+'ert'], self[/x/.source+...] */
        if (v[j] == '[' && idl > 0) {
            size_t e = bracket_end(v, n, j);
            if (e > j) {
                j = e;
                continue;
            }
        }
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
        bool block = false;
        while (j < n && (v[j] == ')' || v[j] == ']' || v[j] == '}' || v[j] == '\\')) {
            block = block || v[j] == '}';
            j++;
        }
        /* "'}this['x'](1){'": a closed block, then a statement of its own */
        if (block && j < n && js_action_at(v, n, j))
            return true;
        if (j >= n || !strchr(";+-*/%|&^,?:<>=", v[j]) || v[j] == 0)
            continue;
        while (j < n && v[j] != 0 && strchr(";+-*/%|&^,?:!~{}", v[j]))
            j++;
        if (js_action_at(v, n, j))
            return true;
    }
    return false;
}

/* Names of the global object and its aliases, whose members are every global function. */
static const struct lit globals[] = {
    LIT("window"), LIT("self"),   LIT("top"),     LIT("parent"),     LIT("frames"),
    LIT("this"),   LIT("opener"), LIT("content"), LIT("globalthis"), LIT("document"),
};

/*
 * window[...](...) with a computed name: a quote, '+', '.' or '/' inside the brackets
 * (top['al'+'ert'](1), self[Object.keys(self)[5]]('1'), top[8680439..toString(30)](1)); a plain
 * index (top[10]) is not enough. v[i] is the '['.
 */
static bool global_bracket_call(const char *v, size_t n, size_t i)
{
    size_t a = i;
    while (a > 0 && is_ident((unsigned char)v[a - 1]))
        a--;
    if (!lit_in(v + a, i - a, globals, sizeof globals / sizeof globals[0]))
        return false;
    size_t e = bracket_end(v, n, i);
    if (e == i || e >= n || (v[e] != '(' && v[e] != '`'))
        return false;
    for (size_t k = i + 1; k + 1 < e; k++)
        if (v[k] == '\'' || v[k] == '"' || v[k] == '+' || v[k] == '.' || v[k] == '/' || v[k] == '`')
            return true;
    return false;
}

/* Callees that take a function and run it later: schedulers, listeners, reflection. */
static const struct lit runners[] = {
    LIT("settimeout"), LIT("setinterval"),           LIT("addeventlistener"), LIT("apply"),
    LIT("call"),       LIT("requestanimationframe"), LIT("setimmediate"),     LIT("queuemicrotask"),
};

/*
 * A sink passed as a value rather than called: an argument of a method or of a function that
 * runs callbacks ("[1].find(alert)", ".then(prompt)", "settimeout(alert,0)"), or assigned to a
 * handler or a conversion hook ("onerror=alert", "valueof=confirm"). a..e is the sink's name.
 */
static bool sink_as_value(const char *v, size_t n, size_t a, size_t e)
{
    char next = e < n ? v[e] : 0;
    char prev = a > 0 ? v[a - 1] : 0;
    if (prev == '=' && (next == ';' || next == ',' || next == 0 || next == ')' || next == '}')) {
        size_t b = a - 1;
        while (b > 0 && is_ident((unsigned char)v[b - 1]))
            b--;
        size_t l = a - 1 - b;
        if ((l > 2 && v[b] == 'o' && v[b + 1] == 'n') ||
            (l == 7 && memcmp(v + b, "valueof", 7) == 0) ||
            (l == 8 && memcmp(v + b, "tostring", 8) == 0))
            return true;
        /* a=prompt,a(): the sink under another name, then called by it */
        if (l == 0 || l > 16 || (next != ';' && next != ','))
            return false;
        for (size_t k = e + 1; k + l < n && k < e + 64; k++)
            if (memcmp(v + k, v + b, l) == 0 && v[k + l] == '(' &&
                !is_ident((unsigned char)v[k - 1]))
                return true;
        return false;
    }
    if (next != ')' && next != ',')
        return false;
    /* the '(' of the call holding this argument */
    size_t p = a;
    while (p > 0 && a - p < 64 && v[p - 1] != '(' && v[p - 1] != ';')
        p--;
    if (p == 0 || v[p - 1] != '(')
        return false;
    size_t c = p - 1, b = c;
    while (b > 0 && is_ident((unsigned char)v[b - 1]))
        b--;
    if (b == c)
        return false;
    return (b > 0 && v[b - 1] == '.') ||
           lit_in(v + b, c - b, runners, sizeof runners / sizeof runners[0]);
}

/*
 * Known sinks called from an operator position ("-alert(1)", ";prompt`1`"), and DOM objects'
 * sensitive members ("document.cookie", "x.innerhtml"). Looks back from each '(' or '`' and
 * around each '.', so ordinary text costs one pass.
 */
static bool js_sinks(const char *v, size_t n, bool breakout_chars)
{
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (c == '.') {
            size_t a = i, b = i + 1;
            while (a > 0 && is_ident((unsigned char)v[a - 1]))
                a--;
            while (b < n && is_ident((unsigned char)v[b]))
                b++;
            size_t ml = b - i - 1;
            if ((ml == 9 && (memcmp(v + i + 1, "innerhtml", 9) == 0 ||
                             memcmp(v + i + 1, "outerhtml", 9) == 0)) ||
                (lit_suffix(v + a, i - a, dom_objects,
                            sizeof dom_objects / sizeof dom_objects[0]) &&
                 lit_in(v + i + 1, ml, dom_members, sizeof dom_members / sizeof dom_members[0])))
                return true;
            continue;
        }
        if ((c == ')' || c == ',' || c == ';' || c == '}') && i > 0 &&
            is_ident((unsigned char)v[i - 1])) {
            size_t a = i;
            while (a > 0 && is_ident((unsigned char)v[a - 1]))
                a--;
            if (lit_in(v + a, i - a, sinks, sizeof sinks / sizeof sinks[0]) &&
                (sink_as_value(v, n, a, i) ||
                 /* (alert)(1): the sink in parentheses, called */
                 (c == ')' && a > 0 && v[a - 1] == '(' &&
                  (a < 2 || !is_ident((unsigned char)v[a - 2])) && i + 2 < n && v[i + 1] == '(' &&
                  (is_digit((unsigned char)v[i + 2]) || v[i + 2] == '\'' || v[i + 2] == '"' ||
                   v[i + 2] == '`'))))
                return true;
            continue;
        }
        if (c == '[' && i > 0 && is_ident((unsigned char)v[i - 1]) && global_bracket_call(v, n, i))
            return true;
        if (c != '(' && c != '`')
            continue;
        size_t a = i;
        /* import('//x.example/a.js'): a dynamic import of a module named by a string */
        if (c == '(' && i >= 6 && memcmp(v + i - 6, "import", 6) == 0 && i + 1 < n &&
            (v[i + 1] == '\'' || v[i + 1] == '"' || v[i + 1] == '`') &&
            (i == 6 || !is_ident((unsigned char)v[i - 7])))
            return true;
        /* alert.call(null,1), prompt.apply(0,[1]) */
        if (i >= 5 && (memcmp(v + i - 5, ".call", 5) == 0 || memcmp(v + i - 5, ".bind", 5) == 0 ||
                       (i >= 6 && memcmp(v + i - 6, ".apply", 6) == 0))) {
            size_t d = i - (v[i - 5] == '.' ? 5 : 6), b = d;
            while (b > 0 && is_ident((unsigned char)v[b - 1]))
                b--;
            if (lit_in(v + b, d - b, sinks, sizeof sinks / sizeof sinks[0]))
                return true;
        }
        while (a > 0 && is_ident((unsigned char)v[a - 1]))
            a--;
        if (a == i || !lit_in(v + a, i - a, sinks, sizeof sinks / sizeof sinks[0]))
            continue;
        /* called from an operator position: after a quote, '=', ';', ... or a member access */
        char p = a > 0 ? v[a - 1] : 0;
        if (p ? strchr(";+-*/|&,(=:!~{}[\"'`>.", p) != NULL : breakout_chars)
            return true;
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
        while (j < n && j - i <= 40 && (((s[j] | 0x20) >= 'a' && (s[j] | 0x20) <= 'z')))
            j++;
        size_t namelen = j - i;
        if (namelen < 5 || namelen > 40)
            continue; /* no handler name is that long; also keeps "ononon..." linear */
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

/* Which characters that matter occur in s: one pass, used to skip checks that cannot match. */
#define CH_LT    0x001u
#define CH_QUOTE 0x002u /* " ' ` and > */
#define CH_PAREN 0x004u
#define CH_AMP   0x008u
#define CH_COLON 0x010u
#define CH_EQ    0x020u
#define CH_BSL   0x040u
#define CH_PLUS  0x080u
#define CH_BRACE 0x100u
#define CH_DOT   0x200u

static const unsigned short char_bits[256] = {
    ['<'] = CH_LT,    ['>'] = CH_QUOTE, ['"'] = CH_QUOTE, ['\''] = CH_QUOTE, ['`'] = CH_QUOTE,
    ['('] = CH_PAREN, ['&'] = CH_AMP,   [':'] = CH_COLON, ['='] = CH_EQ,     ['\\'] = CH_BSL,
    ['+'] = CH_PLUS,  ['{'] = CH_BRACE, ['.'] = CH_DOT,
};

static unsigned char_mask(const char *s, size_t n)
{
    unsigned m = 0;
    for (size_t i = 0; i < n; i++)
        m |= char_bits[(unsigned char)s[i]];
    return m;
}

/*
 * Client-side template injection: "{{ ... }}" holding a call, evaluated by template engines
 * (AngularJS, Vue) that render the page ("{{constructor.constructor('alert(1)')()}}").
 */
static bool template_call(const char *v, size_t n)
{
    for (const char *p = memmem(v, n, "{{", 2); p;
         p = memmem(p + 2, n - (size_t)(p + 2 - v), "{{", 2)) {
        size_t i = (size_t)(p - v) + 2;
        size_t end = i + 256 < n ? i + 256 : n;
        bool call = false;
        for (size_t j = i; j + 1 < end; j++) {
            if (v[j] == '(')
                call = true;
            if (v[j] == '}' && v[j + 1] == '}')
                return call;
        }
        if (i + 2 > n)
            break;
    }
    return false;
}

static bool window_checks(const char *s, size_t n, bool brk)
{
    char v[WIN + 8];
    size_t vn = tld_xss_normalize(s, n, v, sizeof v);
    unsigned m = char_mask(v, vn);
    if ((m & CH_COLON) && tld_xss_script_url_anywhere(v, vn))
        return true;
    if ((m & (CH_COLON | CH_PAREN)) && tld_xss_css_active(v, vn))
        return true;
    if ((m & CH_BRACE) && memmem(v, vn, "&{", 2) && memchr(v, '}', vn))
        return true;
    if ((m & CH_BRACE) && (m & CH_PAREN) && template_call(v, vn))
        return true;
    if ((m & CH_QUOTE) && js_breakout(v, vn))
        return true;
    if ((m & (CH_PAREN | CH_EQ | CH_DOT | CH_QUOTE)) && js_sinks(v, vn, brk))
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
    unsigned m = char_mask(s, n);
    if (!(m &
          (CH_LT | CH_QUOTE | CH_PAREN | CH_AMP | CH_COLON | CH_EQ | CH_BSL | CH_PLUS | CH_BRACE)))
        return false; /* nothing markup or script could be made of */
    if ((m & CH_LT) && (tags(s, n) || exec_tag_anywhere(s, n)))
        return true;
    bool brk = (m & (CH_QUOTE | CH_LT)) != 0;
    if ((m & CH_EQ) && attr_breakout(s, n, brk))
        return true;
    if (m & (CH_QUOTE | CH_PAREN | CH_AMP | CH_COLON | CH_BSL | CH_BRACE | CH_EQ)) {
        for (size_t off = 0;; off += WIN - OVL) {
            size_t len = n - off < WIN ? n - off : WIN;
            if (window_checks(s + off, len, brk))
                return true;
            if (off + len >= n)
                break;
        }
    }
    if (depth > 0 || !(m & CH_PLUS) || (!memmem(s, n, "+AD", 3) && !memmem(s, n, "+ad", 3)))
        return false;
    char u[WIN];
    for (size_t off = 0;; off += WIN - OVL) {
        size_t len = n - off < WIN ? n - off : WIN;
        size_t un = utf7_markup(s + off, len, u, sizeof u);
        if (detect(u, un, 1))
            return true;
        if (off + len >= n)
            break;
    }
    return false;
}

bool tld_xss_detect(const char *s, size_t n)
{
    if (n == 0)
        return false;
    return detect(s, n, 0);
}
