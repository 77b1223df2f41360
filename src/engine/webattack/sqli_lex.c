/*
 * SQL lexer (see sqli_lex.h). One pass, no backtracking beyond a token: every call consumes at
 * least one byte per token, so lexing is linear in the input. Comment handling follows what
 * servers do rather than one dialect: "--" and "#" run to the end of the line, a slash-star
 * comment runs to its closing star-slash, and MySQL's executable comments have their payload
 * lexed as code (the opening marker and version digits are skipped; a stray closing marker is
 * whitespace).
 */
#include "engine/webattack/sqli_lex.h"

static inline bool is_digit(unsigned char c)
{
    return (unsigned)(c - '0') < 10;
}
static inline bool is_alpha(unsigned char c)
{
    return (unsigned)((c | 0x20) - 'a') < 26 || c == '_';
}
static inline bool is_word(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || c == '$' || (c >= 0x80 && c != 0xa0);
}
static inline bool is_hex(unsigned char c)
{
    return is_digit(c) || (unsigned)((c | 0x20) - 'a') < 6;
}

size_t tld_sqli_string_end(const char *s, size_t n, size_t start, char q)
{
    size_t i = start;
    while (i < n) {
        char c = s[i];
        if (c == '\\' && q != '`') {
            i += 2;
            continue;
        }
        if (c == q) {
            if (i + 1 < n && s[i + 1] == q) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i++;
    }
    return 0;
}

static size_t word_end(const char *s, size_t n, size_t i)
{
    while (i < n && is_word((unsigned char)s[i]))
        i++;
    return i;
}

/* Length of the number at s[i], 0 when none starts there. */
static size_t number_len(const char *s, size_t n, size_t i, unsigned *tf)
{
    size_t j = i;
    if (j + 2 < n && s[j] == '0' && (s[j + 1] | 0x20) == 'x' && is_hex((unsigned char)s[j + 2])) {
        j += 2;
        while (j < n && is_hex((unsigned char)s[j]))
            j++;
        *tf |= SQF_HEX;
        return j - i;
    }
    if (j + 2 < n && s[j] == '0' && (s[j + 1] | 0x20) == 'b' &&
        (s[j + 2] == '0' || s[j + 2] == '1')) {
        j += 2;
        while (j < n && (s[j] == '0' || s[j] == '1'))
            j++;
        return j - i;
    }
    while (j < n && is_digit((unsigned char)s[j]))
        j++;
    if (j < n && s[j] == '.') {
        j++;
        while (j < n && is_digit((unsigned char)s[j]))
            j++;
    }
    if (j == i || (j == i + 1 && s[i] == '.'))
        return 0;
    if (j + 1 < n && (s[j] | 0x20) == 'e') {
        size_t k = j + 1;
        if (k < n && (s[k] == '+' || s[k] == '-'))
            k++;
        if (k < n && is_digit((unsigned char)s[k])) {
            while (k < n && is_digit((unsigned char)s[k]))
                k++;
            j = k;
        }
    }
    return j - i;
}

static struct sqli_tok mk(size_t off, size_t len, unsigned type, unsigned sub)
{
    struct sqli_tok t = {(uint32_t)off, (uint32_t)len, 0, (uint8_t)type, (uint8_t)sub, 0};
    return t;
}

/* The token type of a one-byte punctuation token; 0 when c starts none. */
static unsigned punct_type(unsigned char c)
{
    switch (c) {
    case '(':
        return SQ_LP;
    case ')':
        return SQ_RP;
    case ',':
        return SQ_COMMA;
    case ';':
        return SQ_SEMI;
    case '.':
        return SQ_DOT;
    default:
        return 0;
    }
}

/* Operators by longest match; returns the length (0 when s[i] starts none). */
static size_t op_len(const char *s, size_t n, size_t i, unsigned *cls)
{
    char c = s[i], d = i + 1 < n ? s[i + 1] : 0, e = i + 2 < n ? s[i + 2] : 0;
    *cls = OPC_ARITH;
    switch (c) {
    case '<':
        *cls = OPC_CMP;
        if (d == '=' && e == '>')
            return 3;
        if (d == '<') {
            *cls = OPC_ARITH;
            return 2;
        }
        return d == '>' || d == '=' ? 2 : 1;
    case '>':
        if (d == '>')
            return 2;
        *cls = OPC_CMP;
        return d == '=' ? 2 : 1;
    case '!':
        if (d == '=' || d == '<' || d == '>') {
            *cls = OPC_CMP;
            return 2;
        }
        return 1;
    case '=':
        *cls = OPC_CMP;
        return d == '=' ? 2 : 1;
    case '|':
    case '&':
        if (d == c) {
            *cls = OPC_LOGIC;
            return 2;
        }
        return 1;
    case ':':
        if (d == '=') {
            *cls = OPC_ASSIGN;
            return 2;
        }
        return d == ':' ? 2 : 0;
    case '-':
        if (d == '>')
            return e == '>' ? 3 : 2;
        return 1;
    case '+':
    case '*':
    case '/':
    case '%':
    case '^':
    case '~':
        return 1;
    default:
        return 0;
    }
}

static size_t line_end(const char *s, size_t n, size_t i)
{
    while (i < n && s[i] != '\n' && s[i] != '\r')
        i++;
    return i;
}

/* One token at lx->pos (which is not whitespace); advances lx->pos. */
static struct sqli_tok lex_one(struct sqli_lexer *lx)
{
    const char *s = lx->s;
    size_t n = lx->n, i = lx->pos;
    unsigned char c = (unsigned char)s[i];
    unsigned char d = i + 1 < n ? (unsigned char)s[i + 1] : 0;
    struct sqli_tok t;

    if (c == '\'' || c == '"' || c == '`') {
        size_t e = tld_sqli_string_end(s, n, i + 1, (char)c);
        t = mk(i, (e ? e : n) - i, c == '`' ? SQ_WORD : SQ_STR, c);
        if (!e)
            t.tf |= SQF_OPEN;
        lx->pos = e ? e : n;
        return t;
    }
    if ((c == '-' && d == '-') || c == '#') {
        size_t e = line_end(s, n, i);
        lx->pos = e;
        return mk(i, e - i, SQ_COMMENT, CM_LINE);
    }
    if (c == '/' && d == '*') {
        size_t j = i + 2;
        while (j + 1 < n && !(s[j] == '*' && s[j + 1] == '/'))
            j++;
        if (j + 1 >= n) {
            lx->pos = n;
            return mk(i, n - i, SQ_COMMENT, CM_OPEN);
        }
        lx->pos = j + 2;
        return mk(i, j + 2 - i, SQ_COMMENT, CM_BLOCK);
    }
    if (is_digit(c) || (c == '.' && is_digit(d))) {
        unsigned tf = 0;
        size_t l = number_len(s, n, i, &tf);
        size_t we = word_end(s, n, i + l);
        if (we > i + l) {
            /* "1union": split when the letters that follow form a keyword; "3rd" is one word. */
            unsigned wf = tld_sqli_word_flags(s + i + l, we - i - l);
            if (!(wf & SW_KEYWORD)) {
                t = mk(i, we - i, SQ_WORD, 0);
                lx->pos = we;
                return t;
            }
        }
        t = mk(i, l, SQ_NUM, 0);
        t.tf = (uint8_t)tf;
        lx->pos = i + l;
        return t;
    }
    if (c == '@') {
        size_t j = i + 1;
        unsigned tf = 0;
        if (j < n && s[j] == '@') {
            j++;
            tf = SQF_SYS;
        }
        if (j < n && (s[j] == '\'' || s[j] == '"' || s[j] == '`')) {
            size_t e = tld_sqli_string_end(s, n, j + 1, s[j]);
            j = e ? e : n;
        } else {
            while (j < n && (is_word((unsigned char)s[j]) || s[j] == '.'))
                j++;
        }
        if (j == i + 1 + (tf ? 1 : 0)) {
            lx->pos = j;
            return mk(i, j - i, SQ_OTHER, 0);
        }
        t = mk(i, j - i, SQ_VAR, 0);
        t.tf = (uint8_t)tf;
        lx->pos = j;
        return t;
    }
    if (is_alpha(c) || c >= 0x80 || c == '$') {
        size_t e = word_end(s, n, i);
        size_t l = e - i;
        /* N'..', X'..', B'..', E'..' and _charset'..' prefix a string literal. */
        if (e < n && s[e] == '\'' &&
            ((l == 1 &&
              ((c | 0x20) == 'n' || (c | 0x20) == 'x' || (c | 0x20) == 'b' || (c | 0x20) == 'e')) ||
             c == '_')) {
            size_t q = tld_sqli_string_end(s, n, e + 1, '\'');
            t = mk(i, (q ? q : n) - i, SQ_STR, '\'');
            if (!q)
                t.tf |= SQF_OPEN;
            if ((c | 0x20) == 'x')
                t.tf |= SQF_HEX;
            lx->pos = q ? q : n;
            return t;
        }
        t = mk(i, l, SQ_WORD, 0);
        t.wf = (uint16_t)tld_sqli_word_flags(s + i, l);
        lx->pos = e;
        return t;
    }
    if (c == '\\' && (d == 'N' || d == 'n') && !(i + 2 < n && is_word((unsigned char)s[i + 2]))) {
        t = mk(i, 2, SQ_WORD, 0); /* MySQL's \N is NULL */
        t.wf = SW_VALUE;
        lx->pos = i + 2;
        return t;
    }
    unsigned pt = punct_type(c);
    if (pt) {
        lx->pos = i + 1;
        return mk(i, 1, pt, 0);
    }
    unsigned cls = 0;
    size_t l = op_len(s, n, i, &cls);
    if (l) {
        lx->pos = i + l;
        return mk(i, l, SQ_OP, cls);
    }
    lx->pos = i + 1;
    return mk(i, 1, SQ_OTHER, 0);
}

size_t tld_sqli_lex(struct sqli_lexer *lx, struct sqli_tok *t, size_t cap)
{
    size_t k = 0;
    bool cmt = false; /* an executable comment marker was skipped: flag the next token */
    while (k < cap) {
        const char *s = lx->s;
        size_t n = lx->n, i = lx->pos;
        while (i < n && sqli_is_space((unsigned char)s[i]))
            i++;
        /* MySQL executable comment: skip the marker and version, lex the payload. */
        if (i + 2 < n && s[i] == '/' && s[i + 1] == '*' && s[i + 2] == '!') {
            i += 3;
            while (i < n && s[i] >= '0' && s[i] <= '9')
                i++;
            lx->pos = i;
            cmt = true;
            continue;
        }
        if (i + 1 < n && s[i] == '*' && s[i + 1] == '/') {
            lx->pos = i + 2;
            cmt = true;
            continue;
        }
        lx->pos = i;
        if (i >= n)
            break;
        t[k] = lex_one(lx);
        if (cmt)
            t[k].tf |= SQF_CMT;
        cmt = false;
        k++;
    }
    return k;
}
