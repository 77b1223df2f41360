/*
 * The compiled-rule table (see rule_compiled.h). The first five rows are the predicates the Wazuh
 * ruleset names; their behaviour, including its odd corners, is the 4.14.7 one (rules.md §3).
 * The tld_*_url rows are ours: web attack detectors (webattack.h) run on the decoded url field.
 */
#include "engine/rules/rule_compiled.h"

#include <string.h>

#include "engine/webattack/webattack.h"

/* True unless both users are set and differ. */
static bool comp_srcuser_dstuser(const struct tld_event *ev)
{
    struct tld_sv s = ev->fields[TLD_F_SRCUSER], d = ev->fields[TLD_F_DSTUSER];
    if (!s.p || !d.p)
        return true;
    return tld_sv_eq(s, d);
}

/* The id has at least 10 characters. */
static bool check_id_size(const struct tld_event *ev)
{
    return ev->fields[TLD_F_ID].p && ev->fields[TLD_F_ID].n >= 10;
}

static const char *find_in(struct tld_sv s, const char *needle)
{
    if (!s.p)
        return NULL;
    return memmem(s.p, s.n, needle, strlen(needle));
}

/*
 * Windows "Target Account Name" differs from "Caller User Name": the values after each label's
 * ':' are compared byte by byte up to a tab or two spaces; a missing label is "no".
 */
static bool comp_mswin_targetuser_calleruser_diff(const struct tld_event *ev)
{
    struct tld_sv log = ev->log;
    const char *end = log.p ? log.p + log.n : NULL;
    const char *t = find_in(log, "Target Account Name");
    const char *c = find_in(log, "Caller User Name");
    if (!t || !c)
        return false;
    t = memchr(t, ':', (size_t)(end - t));
    c = memchr(c, ':', (size_t)(end - c));
    if (!t || !c)
        return false;
    for (t++, c++; t < end && *t; t++, c++) {
        char cc = c < end ? *c : '\0';
        if (*t != cc)
            return true;
        if (*t == '\t' || (*t == ' ' && t + 1 < end && t[1] == ' '))
            break;
    }
    return false;
}

/* A request without a query: the url is "/" or holds no '?'. */
static bool is_simple_http_request(const struct tld_event *ev)
{
    struct tld_sv url = ev->fields[TLD_F_URL];
    if (!url.p)
        return false;
    return tld_sv_eq_cstr(url, "/") || tld_sv_index(url, '?') < 0;
}

/* The log starts with an address prefix of a known search-engine crawler. */
static bool is_valid_crawler(const struct tld_event *ev)
{
    static const char *const prefixes[] = {"66.249.", "72.14.", "209.85.", "65.55.",
                                           "207.46.", "74.6.",  "72.30.",  "67.195."};
    for (unsigned i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
        if (ev->log.p && tld_sv_starts_with(ev->log, tld_sv_of(prefixes[i])))
            return true;
    return false;
}

/* ---- web attacks on the url field ------------------------------------------------------------ */

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * Undo JSON string escapes (\" \\ \/ \uXXXX and the control letters) in in[0..n) into out, at
 * most cap bytes. An access line inside a Docker json-file line keeps them in the url field
 * (Docker writes <, > and & as \u003c, \u003e, \u0026), and Apache writes a quote as \" and a
 * backslash as \\ in plain files. nginx's own \xHH escapes are left for tld_webattack_scan. A
 * \uXXXX above 0x7f becomes UTF-8; surrogates are kept as they are. Returns the length written.
 */
static size_t json_unescape(const char *in, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o < cap; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c != '\\' || i + 1 >= n) {
            out[o++] = (char)c;
            continue;
        }
        static const char letters[] = "\"\\/bfnrt", values[] = "\"\\/\b\f\n\r\t";
        char e = in[i + 1];
        const char *simple = e ? strchr(letters, e) : NULL;
        if (simple) {
            out[o++] = values[simple - letters];
            i++;
            continue;
        }
        if (e == 'u' && i + 5 < n) {
            unsigned cp = 0;
            bool ok = true;
            for (int k = 2; k < 6; k++) {
                int h = hexval((unsigned char)in[i + k]);
                ok = ok && h >= 0;
                cp = cp << 4 | (unsigned)(h < 0 ? 0 : h);
            }
            if (ok && (cp < 0xd800 || cp > 0xdfff)) {
                unsigned char u[3];
                size_t l = cp < 0x80 ? 1 : cp < 0x800 ? 2 : 3;
                if (l == 1) {
                    u[0] = (unsigned char)cp;
                } else if (l == 2) {
                    u[0] = (unsigned char)(0xc0 | cp >> 6);
                    u[1] = (unsigned char)(0x80 | (cp & 0x3f));
                } else {
                    u[0] = (unsigned char)(0xe0 | cp >> 12);
                    u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
                    u[2] = (unsigned char)(0x80 | (cp & 0x3f));
                }
                if (o + l > cap)
                    break;
                memcpy(out + o, u, l);
                o += l;
                i += 5;
                continue;
            }
        }
        out[o++] = (char)c;
    }
    return o;
}

/*
 * Signatures beside the detectors: names and idioms that only an attack puts in a URL, matched
 * case-insensitively on the whole decoded URL. They catch payloads a lexer could not read as SQL,
 * HTML or a shell command (broken or truncated ones) that still name an attack tool's target.
 */
#define SIG(text, kind)                                                                            \
    {                                                                                              \
        text, sizeof text - 1, kind                                                                \
    }
static const struct {
    const char *needle; /* lower case */
    unsigned len, kind;
} signatures[] = {
    SIG("xp_cmdshell", TLD_WEBATTACK_SQLI),      SIG("information_schema", TLD_WEBATTACK_SQLI),
    SIG("waitfor delay", TLD_WEBATTACK_SQLI),    SIG("pg_sleep(", TLD_WEBATTACK_SQLI),
    SIG("benchmark(", TLD_WEBATTACK_SQLI),       SIG("@@version", TLD_WEBATTACK_SQLI),
    SIG("load_file(", TLD_WEBATTACK_SQLI),       SIG("into outfile", TLD_WEBATTACK_SQLI),
    SIG("into dumpfile", TLD_WEBATTACK_SQLI),    SIG("dbms_pipe.", TLD_WEBATTACK_SQLI),
    SIG("utl_inaddr.", TLD_WEBATTACK_SQLI),      SIG("<script", TLD_WEBATTACK_XSS),
    SIG("<iframe", TLD_WEBATTACK_XSS),           SIG("onerror=", TLD_WEBATTACK_XSS),
    SIG("document.cookie", TLD_WEBATTACK_XSS),   SIG("/etc/passwd", TLD_WEBATTACK_TRAVERSAL),
    SIG("/etc/shadow", TLD_WEBATTACK_TRAVERSAL), SIG("/proc/self/environ", TLD_WEBATTACK_TRAVERSAL),
    SIG("win.ini", TLD_WEBATTACK_TRAVERSAL),     SIG("boot.ini", TLD_WEBATTACK_TRAVERSAL),
    SIG(";wget ", TLD_WEBATTACK_CMDI),           SIG("|wget ", TLD_WEBATTACK_CMDI),
    SIG(";curl ", TLD_WEBATTACK_CMDI),           SIG("|curl ", TLD_WEBATTACK_CMDI),
    SIG("/bin/sh -c", TLD_WEBATTACK_CMDI),       SIG("cmd.exe /c", TLD_WEBATTACK_CMDI),
    SIG("nc -e ", TLD_WEBATTACK_CMDI),
};
#undef SIG
#define NSIGNATURES (sizeof signatures / sizeof *signatures)
_Static_assert(NSIGNATURES <= 32, "signature sets are 32-bit masks");

/*
 * Signature kinds in u[0..n): log escapes undone, decoded, case-folded into the scratch, then
 * one pass over the text: each byte names the signatures that start with it (a table built on
 * the stack, a few dozen stores), so a URL costs one look-up per byte rather than one search
 * per signature.
 */
static unsigned signature_kinds(const char *u, size_t n, struct tld_webattack_scratch *s)
{
    size_t un = tld_url_log_unescape(u, n, s->url, sizeof s->url);
    size_t dn = tld_url_decode(s->url, un, s->buf, sizeof s->buf);
    for (size_t i = 0; i < dn; i++)
        if (s->buf[i] >= 'A' && s->buf[i] <= 'Z')
            s->buf[i] = (char)(s->buf[i] | 0x20);
    uint32_t starts[256] = {0};
    for (unsigned i = 0; i < NSIGNATURES; i++)
        starts[(unsigned char)signatures[i].needle[0]] |= 1u << i;
    unsigned kinds = 0;
    for (size_t at = 0; at < dn; at++) {
        for (uint32_t m = starts[(unsigned char)s->buf[at]]; m; m &= m - 1) {
            unsigned i = (unsigned)__builtin_ctz(m);
            if (!(kinds & signatures[i].kind) && dn - at >= signatures[i].len &&
                memcmp(s->buf + at, signatures[i].needle, signatures[i].len) == 0)
                kinds |= signatures[i].kind;
        }
    }
    return kinds;
}

/*
 * The attack kinds found in the url field (enum tld_webattack_kind bits): the detectors' verdict
 * on every decoded piece, plus the signatures above. Runs on the caller's stack: about 48 KiB of
 * scratch (a URL-sized buffer and the detectors' working memory), so nothing is allocated and no
 * state is shared between threads.
 */
static unsigned url_attack_kinds(const struct tld_event *ev)
{
    struct tld_sv url = ev->fields[TLD_F_URL];
    if (!url.p || url.n == 0)
        return 0;
    struct tld_webattack_scratch scratch;
    char plain[TLD_WEBATTACK_MAX_URL];
    const char *u = url.p;
    size_t n = url.n < sizeof plain ? url.n : sizeof plain;
    if (memchr(u, '\\', n)) {
        n = json_unescape(u, n, plain, sizeof plain);
        u = plain;
    }
    unsigned kinds = signature_kinds(u, n, &scratch);
    return kinds | tld_webattack_scan(u, n, &scratch);
}

static bool tld_sqli_url(const struct tld_event *ev)
{
    return url_attack_kinds(ev) & TLD_WEBATTACK_SQLI;
}

static bool tld_xss_url(const struct tld_event *ev)
{
    return url_attack_kinds(ev) & TLD_WEBATTACK_XSS;
}

static bool tld_traversal_url(const struct tld_event *ev)
{
    return url_attack_kinds(ev) & TLD_WEBATTACK_TRAVERSAL;
}

static bool tld_cmdi_url(const struct tld_event *ev)
{
    return url_attack_kinds(ev) & TLD_WEBATTACK_CMDI;
}

/* Rule 31104 "Common web attack": path traversal or command injection. */
static bool tld_common_attack_url(const struct tld_event *ev)
{
    return url_attack_kinds(ev) & (TLD_WEBATTACK_TRAVERSAL | TLD_WEBATTACK_CMDI);
}

static const struct {
    const char *name;
    tld_rule_compiled_fn fn;
} table[] = {
    {"comp_srcuser_dstuser", comp_srcuser_dstuser},
    {"check_id_size", check_id_size},
    {"comp_mswin_targetuser_calleruser_diff", comp_mswin_targetuser_calleruser_diff},
    {"is_simple_http_request", is_simple_http_request},
    {"is_valid_crawler", is_valid_crawler},
    {"tld_sqli_url", tld_sqli_url},
    {"tld_xss_url", tld_xss_url},
    {"tld_traversal_url", tld_traversal_url},
    {"tld_cmdi_url", tld_cmdi_url},
    {"tld_common_attack_url", tld_common_attack_url},
};

tld_rule_compiled_fn tld_rule_compiled_find(struct tld_sv name)
{
    for (unsigned i = 0; i < sizeof table / sizeof *table; i++)
        if (tld_sv_eq_cstr(name, table[i].name))
            return table[i].fn;
    return NULL;
}

const char *tld_rule_compiled_name(unsigned i)
{
    return i < sizeof table / sizeof *table ? table[i].name : NULL;
}
