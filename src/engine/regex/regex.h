/*
 * Pattern engines used by decoders and rules, behind one small interface:
 *   OS_Match  (TLD_RX_OSMATCH)  case-insensitive literal alternatives with ^/$ anchors and `!`;
 *   OS_Regex  (TLD_RX_OSREGEX)  Wazuh's lazy, 4-slot-backtracking class matcher, with captures;
 *   PCRE2     (TLD_RX_PCRE2)    real regular expressions, JIT-compiled, no flags;
 *   exact     (TLD_RX_EXACT)    whole-string, case-sensitive equality (rule <action> default).
 * The exact behaviour of each is specified in the compatibility spec (regex.md); matches must be
 * bit-for-bit what Wazuh decides, including end positions, because decoder offsets depend on them.
 * The implementations live in regex.c (dispatch table, exact), regex_osmatch.c, regex_osregex.c,
 * regex_pcre2.c and regex_group.c.
 *
 * A compiled struct tld_rx is immutable and may be shared by any number of threads. Matching
 * needs per-thread working memory (PCRE2 match data), given as a struct tld_rx_scratch that each
 * worker owns. Inputs are length-delimited (no NUL needed).
 */
#ifndef TLD_ENGINE_REGEX_H
#define TLD_ENGINE_REGEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tld_rx_kind {
    TLD_RX_OSMATCH,
    TLD_RX_OSREGEX,
    TLD_RX_PCRE2,
    TLD_RX_EXACT,
};

/* Compile for extraction: captures are recorded (decoder <regex> only). */
#define TLD_RX_CAPTURE 0x1u

/* Longest pattern accepted, any kind (the OS_Match/OS_Regex limit of regex.md §1). */
#define TLD_RX_MAX_PATTERN 20480
/* Captures reported at most (a decoder uses at most 256 fields). */
#define TLD_RX_MAX_CAPTURES 256

struct tld_rx;
struct tld_rx_scratch;

struct tld_rx_span {
    uint32_t so, eo; /* [so, eo) byte offsets into the subject */
};

struct tld_rx_result {
    /* Offset where "the text after the match" starts, as decoders use it for after_prematch /
     * after_regex / after_parent: Wazuh's end position R plus one, or the subject length when R
     * is the end of the subject; 0 when the match consumed nothing. */
    size_t next;
    unsigned ncap; /* captures recorded (<= TLD_RX_MAX_CAPTURES) */
    struct tld_rx_span cap[TLD_RX_MAX_CAPTURES];
};

/*
 * Compile `pat[0..n)`. On failure returns TLD_EPARSE (or TLD_ELIMIT for an over-long pattern,
 * TLD_ENOMEM) and writes a one-line reason into err (which may be NULL). The length bound
 * TLD_RX_MAX_PATTERN applies to every kind (element texts cannot be longer anyway).
 * TLD_RX_CAPTURE matters for OS_Regex (capturing mode changes the algorithm, see regex.md §4.2)
 * and PCRE2 (groups reported); the other kinds ignore it.
 */
int tld_rx_compile(enum tld_rx_kind kind, const char *pat, size_t n, unsigned flags,
                   struct tld_rx **out, char *err, size_t errsz);
void tld_rx_free(struct tld_rx *rx);
enum tld_rx_kind tld_rx_kind(const struct tld_rx *rx);
/* The pattern text as given (NUL-terminated), for diagnostics and logtest output. */
const char *tld_rx_pattern(const struct tld_rx *rx);

/*
 * True when `rx` matches `s[0..n)`. When `res` is not NULL it receives the end position and (for
 * patterns compiled with TLD_RX_CAPTURE) the captures; OS_Match and exact report next = 0 and no
 * captures. `scratch` may be NULL only for kinds other than PCRE2 (a PCRE2 pattern without a
 * scratch never matches). Subjects of 4 GiB or more never match (spans are 32-bit).
 * Allocates nothing.
 */
bool tld_rx_match(const struct tld_rx *rx, const char *s, size_t n, struct tld_rx_result *res,
                  struct tld_rx_scratch *scratch);

/*
 * When every subject rx can match equals one literal, ignoring ASCII case, points *lit at it
 * (inside rx, *n bytes, no NUL) and returns true: "^create$" as OS_Match or OS_Regex, any exact
 * pattern. Returns false for every other shape, and whenever it is unsure, so callers may use it
 * to skip work but never to decide a match.
 */
bool tld_rx_only_literal(const struct tld_rx *rx, const char **lit, size_t *n);

/* Per-thread working memory (PCRE2 match data, JIT stack); NULL when out of memory. */
struct tld_rx_scratch *tld_rx_scratch_new(void);
void tld_rx_scratch_free(struct tld_rx_scratch *scratch);

/*
 * The group-name matcher that attaches `if_group` children (regex.md §6): `expr` is a list of
 * alternatives separated by '|'; one starting with '^' must be a prefix of `groups`, any other
 * must occur somewhere in it; case-insensitive (ASCII), no '$', an empty alternative is true.
 * Used at load time only; allocates nothing.
 */
bool tld_rx_group_match(const char *expr, size_t en, const char *groups, size_t gn);

#endif
