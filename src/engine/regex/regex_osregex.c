/*
 * OS_Regex: the class matcher decoders and rules inherit from OSSEC. It is not a regular
 * expression engine: quantified classes are lazy and may only backtrack through a stack of four
 * single-use slots, a mismatch restarts one byte after the first byte of the failed attempt, and
 * the reported end position depends on how the last token finished. Decoder offsets are computed
 * from that end position, so the algorithm below follows the compatibility spec (regex.md §4)
 * step by step, including its quirks; "improving" any of it changes which fields get extracted.
 *
 * Compiled form, one array per alternative (all alternatives share one allocation):
 *   literal byte (lower-cased)      1 slot, value 0..255 ('+' and '*' are plain bytes too)
 *   class escape \x                 2 slots: SL_ESC, class number
 *   '(' or ')'                      1 slot: SL_MARK + ordinal of the parenthesis in the alternative
 *   end                             SL_END, followed by padding ENDs so that every look-ahead
 *                                   the matcher performs past the end reads END.
 * A quantifier is simply the byte that follows a class escape; the matcher only ever looks for
 * '+'/'*' at that position. The leading '^' and trailing '$' become flags.
 *
 * Matching allocates nothing: the state is a few integers, the 4-slot stack and, in capturing
 * mode, a fixed array of parenthesis positions on the stack.
 */
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "common/err.h"
#include "engine/regex/regex_impl.h"

enum {
    SL_END = 0x100,
    SL_ESC = 0x101,
    SL_MARK = 0x200, /* + ordinal */
};
#define IS_MARK(v)  ((v) >= SL_MARK)
#define IS_QUANT(v) ((v) == '+' || (v) == '*')
/* END slots written after each alternative: the matcher reads at most two slots past END. */
#define PAD 4
/* Parenthesis positions recorded per alternative: enough for TLD_RX_MAX_CAPTURES captures. */
#define POS_MAX (2 * TLD_RX_MAX_CAPTURES)
#define UNSET   UINT32_MAX
#define NONE    INT64_MIN

/* ---- classes ------------------------------------------------------------------------------- */

enum {
    K_DIGIT,    /* \d */
    K_WORD,     /* \w */
    K_SPACE,    /* \s */
    K_PUNCT,    /* \p */
    K_NONWORD,  /* \W */
    K_NONDIGIT, /* \D */
    K_NONSPACE, /* \S */
    K_ANY,      /* \. */
    K_TAB,      /* \t */
    K_DOLLAR,   /* \$ */
    K_BAR,      /* \| */
    K_LT,       /* \< */
    K_BSLASH,   /* \\ */
    K_OPEN,     /* \( */
    K_CLOSE,    /* \) */
};

#define C_DIGIT(c) ((c) >= '0' && (c) <= '9')
#define C_WORD(c)                                                                                  \
    (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z') || C_DIGIT(c) || (c) == '-' ||       \
     (c) == '@' || (c) == '_')
#define C_PUNCT(c)                                                                                 \
    (((c) >= '!' && (c) <= '.') || ((c) >= ':' && (c) <= '?') || (c) == '[' || (c) == ']' ||       \
     (c) == '{' || (c) == '|' || (c) == '}')
#define CLS(c)                                                                                     \
    (uint16_t)((C_DIGIT(c) << K_DIGIT) | (C_WORD(c) << K_WORD) | (((c) == ' ') << K_SPACE) |       \
               (C_PUNCT(c) << K_PUNCT) | ((!C_WORD(c) && (c) != 0) << K_NONWORD) |                 \
               (!C_DIGIT(c) << K_NONDIGIT) | (((c) != ' ') << K_NONSPACE) | (1 << K_ANY) |         \
               (((c) == '\t') << K_TAB) | (((c) == '$') << K_DOLLAR) | (((c) == '|') << K_BAR) |   \
               (((c) == '<') << K_LT) | (((c) == '\\') << K_BSLASH) | (((c) == '(') << K_OPEN) |   \
               (((c) == ')') << K_CLOSE))
#define CLS4(c)  CLS(c), CLS(c + 1), CLS(c + 2), CLS(c + 3)
#define CLS16(c) CLS4(c), CLS4(c + 4), CLS4(c + 8), CLS4(c + 12)
#define CLS64(c) CLS16(c), CLS16(c + 16), CLS16(c + 32), CLS16(c + 48)
/* cls[c] has bit k set when class k accepts byte c. */
static const uint16_t cls[256] = {CLS64(0), CLS64(64), CLS64(128), CLS64(192)};

static inline bool accepts(unsigned k, uint8_t c)
{
    return (cls[c] >> k) & 1u;
}

/* Escape letters in enum order: the class number is the letter's index here. */
static const char escapes[] = "dwspWDS.t$|<\\()";

static int class_of(char e)
{
    const char *p = e ? strchr(escapes, e) : NULL;
    return p ? (int)(p - escapes) : -1;
}

/* ---- compiled form ------------------------------------------------------------------------- */

struct alt {
    uint32_t off;    /* first slot of this alternative in osregex.slots */
    uint32_t nmarks; /* parentheses in this alternative (always even) */
    bool begin;      /* leading ^ */
    bool endanchor;  /* trailing $ */
    uint32_t litlen; /* > 0: only literal bytes, with or without ^ and $ (see literal_run) */
    uint32_t anchor; /* unanchored literals: the position searched for first (the rarest byte) */
};

struct osregex {
    uint16_t *slots;
    struct alt *alts;
    uint32_t nalts;
    bool capturing; /* compiled with TLD_RX_CAPTURE and some alternative has a parenthesis */
};

static void osregex_free(void *impl)
{
    struct osregex *re = impl;
    if (!re)
        return;
    free(re->slots);
    free(re->alts);
    free(re);
}

/* Validates the whole pattern (escapes, parentheses, bars) and counts what pass 2 needs. */
static int check(const char *pat, size_t n, size_t *nslots, uint32_t *nalts, bool *paren, char *err,
                 size_t errsz)
{
    bool open = false;
    size_t slots = 0;
    uint32_t alts = 1;
    *paren = false;
    for (size_t i = 0; i < n; i++) {
        char c = pat[i];
        if (c == '\\') {
            if (i + 1 == n) {
                tld_rx_set_err(err, errsz, "osregex: trailing backslash");
                return TLD_EPARSE;
            }
            if (class_of(pat[i + 1]) < 0) {
                uint8_t e = (uint8_t)pat[i + 1];
                if (e >= 0x21 && e < 0x7f)
                    tld_rx_set_err(err, errsz, "osregex: invalid escape '\\%c' at offset %zu",
                                   (char)e, i);
                else
                    tld_rx_set_err(err, errsz,
                                   "osregex: invalid escape '\\' + byte 0x%02x at offset %zu", e,
                                   i);
                return TLD_EPARSE;
            }
            slots += 2;
            i++;
            continue;
        }
        if (c == '(') {
            if (open) {
                tld_rx_set_err(err, errsz,
                               "osregex: nested '(' at offset %zu (one level of parentheses only)",
                               i);
                return TLD_EPARSE;
            }
            open = true;
            *paren = true;
        } else if (c == ')') {
            if (!open) {
                tld_rx_set_err(err, errsz, "osregex: unbalanced ')' at offset %zu", i);
                return TLD_EPARSE;
            }
            open = false;
        } else if (c == '|') {
            if (open) {
                tld_rx_set_err(err, errsz, "osregex: '|' inside parentheses at offset %zu", i);
                return TLD_EPARSE;
            }
            alts++;
            continue;
        }
        slots++;
    }
    if (open) {
        tld_rx_set_err(err, errsz, "osregex: unclosed '('");
        return TLD_EPARSE;
    }
    *nslots = slots + (size_t)alts * PAD;
    *nalts = alts;
    return 0;
}

/*
 * How common a (lower-cased) byte is in log text, roughly: an unanchored literal is searched
 * by its least common byte first, which leaves fewer places to compare the rest. Any choice
 * gives the same answer; this only decides the speed.
 */
static unsigned commonness(uint16_t b)
{
    if (b >= 0x80)
        return 1;
    if (b >= 'a' && b <= 'z')
        return strchr("etaoinsrhl", b) ? 8 : strchr("dcumfpgwyb", b) ? 5 : 3;
    if (b >= '0' && b <= '9')
        return 6;
    if (strchr(" \":,./=-_", b))
        return 9;
    return 2;
}

/* Emits the slots of one alternative text a[0..n) (already known to be valid) at out. */
static size_t emit(const char *a, size_t n, uint16_t *out, struct alt *alt)
{
    size_t k = 0;
    bool last_raw_dollar = false;
    alt->begin = n > 0 && a[0] == '^';
    for (size_t i = alt->begin ? 1 : 0; i < n; i++) {
        uint8_t c = (uint8_t)a[i];
        last_raw_dollar = false;
        if (c == '\\') {
            out[k++] = SL_ESC;
            out[k++] = (uint16_t)class_of(a[++i]);
        } else if (c == '(' || c == ')') {
            out[k++] = (uint16_t)(SL_MARK + alt->nmarks++);
        } else {
            out[k++] = tld_rx_lower[c];
            last_raw_dollar = c == '$';
        }
    }
    alt->endanchor = last_raw_dollar;
    if (last_raw_dollar)
        k--;
    /* A run of plain literals matches by comparison or search (see literal_run). */
    bool plain = k > 0;
    for (size_t i = 0; i < k && plain; i++)
        plain = out[i] < 256;
    alt->litlen = plain ? (uint32_t)k : 0;
    alt->anchor = 0;
    for (size_t i = 1; i < alt->litlen; i++)
        if (commonness(out[i]) < commonness(out[alt->anchor]))
            alt->anchor = (uint32_t)i;
    for (int p = 0; p < PAD; p++)
        out[k++] = SL_END;
    return k;
}

static int osregex_compile(const char *pat, size_t n, unsigned flags, void **impl, char *err,
                           size_t errsz)
{
    size_t nslots;
    uint32_t nalts;
    bool paren;
    int rc = check(pat, n, &nslots, &nalts, &paren, err, errsz);
    if (rc < 0)
        return rc;
    struct osregex *re = calloc(1, sizeof *re);
    if (!re)
        goto oom;
    re->slots = malloc(nslots * sizeof *re->slots);
    re->alts = calloc(nalts, sizeof *re->alts);
    if (!re->slots || !re->alts)
        goto oom;
    re->nalts = nalts;
    re->capturing = (flags & TLD_RX_CAPTURE) && paren;
    size_t at = 0, start = 0;
    uint32_t ai = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && pat[i] == '\\') {
            i++;
            continue;
        }
        if (i == n || pat[i] == '|') {
            re->alts[ai].off = (uint32_t)at;
            at += emit(pat + start, i - start, re->slots + at, &re->alts[ai]);
            ai++;
            start = i + 1;
        }
    }
    *impl = re;
    return 0;
oom:
    osregex_free(re);
    tld_rx_set_err(err, errsz, "osregex: out of memory");
    return TLD_ENOMEM;
}

/* ---- matching ----------------------------------------------------------------------------------
 */

static inline bool lit_eq(uint16_t v, uint8_t c)
{
    /* A parenthesis slot read as a literal stands for '('. */
    return v < 256 ? v == tld_rx_lower[c] : (IS_MARK(v) && c == '(');
}

static inline void setcap(uint32_t *pos, uint16_t v, size_t at)
{
    uint32_t o = (uint32_t)(v - SL_MARK);
    if (o < POS_MAX)
        pos[o] = (uint32_t)at;
}

/*
 * One acceptance probe of run(): at *K an escape with '*', an optional mark, then the end. *K
 * keeps what the probe advanced, as the probe that follows starts from there.
 */
static inline bool star_then_end(const uint16_t *B, size_t *K)
{
    if (B[*K] != SL_ESC)
        return false;
    *K += 2;
    if (B[*K] != '*')
        return false;
    (*K)++;
    if (IS_MARK(B[*K]))
        (*K)++;
    return B[*K] == SL_END;
}

/*
 * One alternative, exactly regex.md §4.3. Returns the end position R (-1 allowed) or NONE.
 * P indexes slots, S the subject; M is "the current quantified class already took a byte";
 * E is the restart anchor. pos (capturing mode only) receives parenthesis positions.
 */
static int64_t run(const uint16_t *B, const struct alt *a, const uint8_t *s, size_t len, bool capm,
                   uint32_t *pos)
{
    size_t P = 0, S = 0, E = SIZE_MAX;
    int64_t R = 0;
    bool M = false;
    size_t sp[4], ss[4]; /* backtrack stack: saved P and S */
    unsigned used = 0;   /* bit i set = stack slot i occupied */
    const bool endanchor = a->endanchor;

    while (S < len) {
        const uint8_t c = s[S];
        uint16_t b = B[P];
        if (b == SL_END) {
            if (!endanchor)
                return R;
        } else if (IS_MARK(b)) {
            if (capm)
                setcap(pos, b, S);
            b = B[++P];
            if (b == SL_END && !endanchor)
                return R;
        }

        if (b == SL_ESC) {
            const unsigned k = B[P + 1];
            const uint16_t q = B[P + 2];
            if (accepts(k, c)) {
                if (!IS_QUANT(q)) {
                    P += 2;
                    if (E == SIZE_MAX)
                        E = S;
                    R = (int64_t)S;
                    S++;
                    continue;
                }
                if (q == '*')
                    M = true;
                if (M) {
                    /* Lazy: does the byte also start what follows the class? */
                    size_t L = P + 3;
                    bool skipped = false;
                    if (IS_MARK(B[L])) {
                        L++;
                        skipped = true;
                    }
                    const uint16_t bl = B[L];
                    int ok = -1;
                    if (bl == SL_END) {
                        ok = 1;
                    } else if (bl == SL_ESC) {
                        if (accepts(B[L + 1], c))
                            ok = IS_QUANT(B[L + 2]) ? 0 : 2;
                    } else if (lit_eq(bl, c)) {
                        M = false;
                        ok = 1;
                    }
                    if (ok >= 0) {
                        if (bl == SL_END) {
                            /* The class runs to the end of the pattern: each further byte it
                             * accepts repeats this step (M stays 1, R untouched, the skipped
                             * mark moves to S+1), so take the whole run at once. */
                            S++;
                            while (S < len && accepts(k, s[S]))
                                S++;
                            if (capm && skipped)
                                setcap(pos, B[L - 1], S);
                            continue;
                        }
                        if (capm && skipped)
                            setcap(pos, B[L - 1], (M && ok == 1) ? S + 1 : S);
                        if (used != 0xFu) {
                            unsigned i = (unsigned)__builtin_ctz(~used & 0xFu);
                            sp[i] = P;
                            ss[i] = S;
                            used |= 1u << i;
                        }
                        P = L + (size_t)ok;
                    } else {
                        /* Nothing follows yet: every further byte that the class accepts and
                         * that cannot start the next token repeats this step (R = S), so run
                         * through them here; the first other byte goes back to the loop. */
                        S++;
                        while (S < len) {
                            const uint8_t d = s[S];
                            if (!accepts(k, d) ||
                                (bl == SL_ESC ? accepts(B[L + 1], d) : lit_eq(bl, d)))
                                break;
                            S++;
                        }
                        R = (int64_t)S - 1;
                        continue;
                    }
                } else {
                    if (capm && IS_MARK(B[P + 3]))
                        setcap(pos, B[P + 3], S + 1 == len ? S + 1 : S);
                    M = true;
                }
                R = (int64_t)S;
                S++;
                continue;
            }
            /* The class rejects c. B[P+3] is END whenever B[P+2] is (padding). */
            if (B[P + 3] == SL_END && M && R != NONE) {
                R = (int64_t)S;
                if (!endanchor)
                    return R;
            } else if (q == '+' && M) {
                P += 3;
                M = false;
                continue;
            } else if (q == '*') {
                P += 3;
                R = (int64_t)S - 1;
                M = false;
                continue;
            }
            M = false;
        } else if (lit_eq(b, c)) {
            P++;
            if (E == SIZE_MAX)
                E = S;
            R = (int64_t)S;
            S++;
            continue;
        } else if (P == 0 && b < 256 && !a->begin && !used && E == SIZE_MAX) {
            /* First literal missed with nothing to resume: each further miss would only restart
             * again (stack empty, E unset), so jump to the next byte that can start a match. */
            S++;
            while (S < len && tld_rx_lower[s[S]] != b)
                S++;
            R = NONE;
            continue;
        }

        /* Mismatch. */
        if (used) {
            unsigned i = 31u - (unsigned)__builtin_clz(used);
            used &= ~(1u << i);
            P = sp[i];
            S = ss[i] + 1;
            continue;
        }
        if (a->begin)
            return NONE;
        if (E != SIZE_MAX) {
            S = E;
            E = SIZE_MAX;
        }
        P = 0;
        R = NONE;
        S++;
    }

    /* End of the subject. */
    if (capm) {
        while (B[P] == SL_ESC && B[P + 2] == '*')
            P += 3;
        if (IS_MARK(B[P]))
            setcap(pos, B[P], len);
    }
    /* Acceptance probes; K keeps what each probe advanced. */
    size_t K = P;
    if (IS_MARK(B[K]))
        K++;
    if (B[K] == SL_END)
        return R;
    if (B[K] == SL_ESC && M) {
        K += 2;
        if (IS_QUANT(B[K])) {
            K++;
            if (IS_MARK(B[K]))
                K++;
            if (B[K] == SL_END)
                return R;
            if (star_then_end(B, &K))
                return R;
        }
    }
    if (star_then_end(B, &K))
        return R;
    return NONE;
}

static inline bool literals_at(const uint16_t *B, const uint8_t *s, size_t m)
{
    for (size_t i = 0; i < m; i++)
        if (B[i] != tld_rx_lower[s[i]])
            return false;
    return true;
}

/*
 * An alternative made only of literal bytes (with or without ^ and $) is what many rules and
 * prematches are ("^start$", "\"integration\":\"ms-graph\""). The matcher above then takes one
 * literal per byte; a mismatch restarts one byte after the first byte of the attempt, and so
 * does a complete match that "$" rejects because bytes follow; anchored, it gives up instead;
 * the subject ending inside an attempt fails, since no later start could fit the literals. So
 * the answer is the first place where the literals occur, bytes compared lower-cased: at 0
 * with ^, at the end with $, anywhere otherwise; R is the last byte of that occurrence.
 */
static int64_t literal_run(const uint16_t *B, const struct alt *a, const uint8_t *s, size_t len)
{
    size_t m = a->litlen;
    if (len < m)
        return NONE;
    if (a->begin) {
        if (a->endanchor && len != m)
            return NONE;
        return literals_at(B, s, m) ? (int64_t)m - 1 : NONE;
    }
    if (a->endanchor)
        return literals_at(B, s + len - m, m) ? (int64_t)len - 1 : NONE;
    /* Candidates come from the anchor byte, left to right, so the first one that compares
     * equal is the leftmost occurrence. */
    const size_t ai = a->anchor, last = len - m; /* last possible start */
    const uint8_t want = (uint8_t)B[ai];
    size_t j = 0;
#ifdef __SSE2__
    const bool letter = want >= 'a' && want <= 'z';
    const __m128i fold = _mm_set1_epi8(letter ? 0x20 : 0), target = _mm_set1_epi8((char)want);
    for (; j + 16 <= last + 1; j += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(s + j + ai));
        unsigned mask = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_or_si128(x, fold), target));
        while (mask) {
            size_t c = j + (unsigned)__builtin_ctz(mask);
            mask &= mask - 1;
            if (literals_at(B, s + c, m))
                return (int64_t)(c + m) - 1;
        }
    }
#endif
    for (; j <= last; j++)
        if (tld_rx_lower[s[j + ai]] == want && literals_at(B, s + j, m))
            return (int64_t)(j + m) - 1;
    return NONE;
}

static bool osregex_match(const void *impl, const uint8_t *s, size_t n, struct tld_rx_result *res,
                          struct tld_rx_scratch *scratch)
{
    const struct osregex *re = impl;
    const bool capm = re->capturing;
    uint32_t pos[POS_MAX];

    for (uint32_t ai = 0; ai < re->nalts; ai++) {
        const struct alt *a = &re->alts[ai];
        uint32_t nrec = a->nmarks < POS_MAX ? a->nmarks : POS_MAX;
        if (capm)
            memset(pos, 0xff, nrec * sizeof pos[0]);
        int64_t R;
        if (a->litlen) {
            R = literal_run(re->slots + a->off, a, s, n);
#ifdef TLD_FUZZING
            /* The fuzzers check the shortcut against the general matcher. */
            if (R != run(re->slots + a->off, a, s, n, capm, pos))
                __builtin_trap();
#endif
        } else {
            R = run(re->slots + a->off, a, s, n, capm, pos);
        }
        if (R == NONE)
            continue;
        unsigned ncap = 0;
        if (capm) {
            for (uint32_t j = 0; j + 1 < nrec; j += 2) {
                if (pos[j] == UNSET || pos[j + 1] == UNSET)
                    break;
                if (pos[j + 1] < pos[j])
                    return false; /* a capture ending before it starts fails the expression */
                if (res)
                    res->cap[ncap] = (struct tld_rx_span){pos[j], pos[j + 1]};
                ncap++;
            }
        }
        if (res) {
            /* R+1, except that R at the end of the subject stays there; R = -1 gives 0. */
            res->next = (uint64_t)(R + 1) > n ? n : (size_t)(R + 1);
            res->ncap = ncap;
        }
        return true;
    }
    return false;
}

const struct tld_rx_backend tld_rx_osregex_backend = {
    .name = "osregex",
    .compile = osregex_compile,
    .free = osregex_free,
    .match = osregex_match,
};
