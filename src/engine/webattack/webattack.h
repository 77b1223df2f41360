/*
 * Web attack detection on request URLs as they appear in access logs.
 *
 * tld_webattack_scan() takes one URL (path and query, possibly carrying the \xHH escapes nginx
 * writes for quotes, backslashes and non-printable bytes), splits it into the path and the query
 * parameters, decodes every piece (percent, plus, %uXXXX, repeated to undo double encoding) and
 * runs the detectors on each parameter name and value, and on the path. It returns the set of
 * attack kinds found. The detectors are real lexers, not substring lists:
 *   - SQL injection (sqli.c): the value is lexed as SQL as if it had been pasted unquoted, after
 *     an opening single quote and after an opening double quote; each token stream is folded and
 *     judged with grammar-like rules (string terminator then operator, UNION SELECT, stacked
 *     statements, comment after a terminator, calls of SQL functions, ...).
 *   - XSS (xss.c): HTML tags are lexed with their attributes; tags that run or load script, event
 *     handler attributes, script-bearing URLs (after entity decoding), CSS expressions, and
 *     breakouts from JavaScript strings are reported.
 *   - Path traversal and command injection (webattack_traversal.c, webattack_cmdi.c).
 *
 * Invariants: no allocation; all working memory is the caller's struct tld_webattack_scratch (one
 * per thread). Time is linear in the input length. Inputs longer than TLD_WEBATTACK_MAX_URL bytes
 * are scanned on their first TLD_WEBATTACK_MAX_URL bytes only (nginx refuses request lines longer
 * than 8 KiB by default, so real log lines stay far below this bound). The individual detectors
 * accept any length and bound their own work.
 */
#ifndef TLD_ENGINE_WEBATTACK_H
#define TLD_ENGINE_WEBATTACK_H

#include <stdbool.h>
#include <stddef.h>

/* Longest URL scanned; the rest of a longer one is ignored. */
#define TLD_WEBATTACK_MAX_URL 16384
/* Rounds of percent-decoding at most (defeats double and triple encoding). */
#define TLD_WEBATTACK_DECODE_ROUNDS 3

enum tld_webattack_kind {
    TLD_WEBATTACK_SQLI = 1u << 0,
    TLD_WEBATTACK_XSS = 1u << 1,
    TLD_WEBATTACK_TRAVERSAL = 1u << 2,
    TLD_WEBATTACK_CMDI = 1u << 3,
};

/* Per-thread working memory; contents are meaningless between calls. */
struct tld_webattack_scratch {
    char url[TLD_WEBATTACK_MAX_URL]; /* the URL with log escapes undone */
    char buf[TLD_WEBATTACK_MAX_URL]; /* one decoded name, value or path */
};

/*
 * Percent-decode in[0..n) into out (at most cap bytes; the result never exceeds n bytes). '+'
 * becomes a space, %XX and %uXXXX (as UTF-8) are decoded; the decoding is repeated while it
 * changes something, up to TLD_WEBATTACK_DECODE_ROUNDS rounds ('+' is only turned into a space in
 * the first round: later rounds undo encodings, not form syntax). Invalid escapes are kept as they
 * are. NUL and control bytes are copied like any other byte. Returns the decoded length.
 */
size_t tld_url_decode(const char *in, size_t n, char *out, size_t cap);

/*
 * Undo the \xHH escapes nginx writes in access logs (for ", \, bytes below 0x20 and above 0x7e);
 * any other backslash is kept. Returns the length written (<= n, <= cap).
 */
size_t tld_url_log_unescape(const char *in, size_t n, char *out, size_t cap);

/*
 * Scan one request URL ("/path?query", or a whole "GET /path?q HTTP/1.1" request line, from which
 * the target is taken). Returns a bitwise OR of enum tld_webattack_kind, 0 when nothing is found.
 */
unsigned tld_webattack_scan(const char *url, size_t n, struct tld_webattack_scratch *s);

/* Short lower-case name of one kind bit ("sqli", "xss", "traversal", "cmdi"), or "?". */
const char *tld_webattack_kind_name(unsigned kind);

/* Detectors, on one already-decoded value. */
bool tld_sqli_detect(const char *s, size_t n);
bool tld_xss_detect(const char *s, size_t n);
bool tld_traversal_detect(const char *s, size_t n);
bool tld_cmdi_detect(const char *s, size_t n);
/* A process function of a scripting language is called (system('id'), os.popen(...)). */
bool tld_cmdi_process_call(const char *s, size_t n);
/* Traversal in a request path (stricter: only climbs above the root and encoded tricks). */
bool tld_traversal_detect_path(const char *s, size_t n);

#endif
