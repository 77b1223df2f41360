/*
 * SQL lexer shared by the SQL injection detector (sqli.c). Internal to the engine.
 *
 * The lexer is dialect-agnostic: it accepts the union of what MySQL, PostgreSQL, SQL Server,
 * Oracle and SQLite accept where it matters for injection (all comment styles, MySQL executable
 * comments, backslash and doubled-quote escapes, N'..'/X'..' prefixes, @vars and @@system vars,
 * 0x and 0b literals). It never fails: any byte becomes part of some token. It is resumable, so a
 * long value is lexed in bounded batches of tokens; each token refers back to the source by offset.
 */
#ifndef TLD_ENGINE_SQLI_LEX_H
#define TLD_ENGINE_SQLI_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sqli_type {
    SQ_NUM = 1,
    SQ_STR,  /* sub = quote char; SQF_OPEN if it runs to the end of the input */
    SQ_WORD, /* identifier or keyword; wf = enum sqli_word_flag bits */
    SQ_VAR,  /* @name or @@name */
    SQ_OP,   /* sub = enum sqli_op_class */
    SQ_LP,
    SQ_RP,
    SQ_COMMA,
    SQ_SEMI,
    SQ_DOT,
    SQ_COMMENT, /* sub = enum sqli_comment_kind */
    SQ_OTHER,
};

enum sqli_op_class {
    OPC_CMP = 1, /* = < > <= >= <> != <=> !< !> */
    OPC_LOGIC,   /* && || */
    OPC_ARITH,   /* + - * / % ^ | & << >> ~ ! and the rest */
    OPC_ASSIGN,  /* := */
};

enum sqli_comment_kind {
    CM_LINE = 1, /* -- or # up to the end of the line */
    CM_BLOCK,    /* closed slash-star comment */
    CM_OPEN,     /* slash-star comment running to the end of the input */
};

/* Token flags (sqli_tok.tf). */
#define SQF_OPEN 0x1u /* string or quoted identifier not closed before the end of the input */
#define SQF_SYS  0x2u /* @@system variable */
#define SQF_HEX  0x4u /* 0x... or x'..' literal */
#define SQF_CMT  0x8u /* an inline comment stood right before this token */

/* Word classes (sqli_tok.wf), from the keyword table. A word may carry several. */
enum sqli_word_flag {
    SW_LOGIC = 1u << 0,    /* and or xor */
    SW_NOT = 1u << 1,      /* not */
    SW_CMP = 1u << 2,      /* like, regexp, is, in, between, ... */
    SW_ARITH = 1u << 3,    /* div mod */
    SW_UNION = 1u << 4,    /* union intersect except */
    SW_SELECT = 1u << 5,   /* select */
    SW_STMT = 1u << 6,     /* starts a statement: insert, drop, exec, waitfor, ... */
    SW_CLAUSE = 1u << 7,   /* any other reserved word (from, where, order, by, as, ...) */
    SW_TAIL = 1u << 8,     /* clause that may directly follow a value: order, group, limit, ... */
    SW_VALUE = 1u << 9,    /* a literal value: null true false current_user ... */
    SW_FUNC = 1u << 10,    /* built-in function when followed by '(' */
    SW_DANGER = 1u << 11,  /* function whose mere call is an attack tell (sleep, load_file, ...) */
    SW_INFO = 1u << 12,    /* catalog / system object names (information_schema, sysobjects) */
    SW_GENERIC = 1u << 13, /* arithmetic function also found in calculators (cos, sqrt, ...) */
    SW_INFOFN = 1u << 14,  /* server information function, called with no argument: version() */
    SW_CATALOG = 1u << 15, /* catalog names no other text uses (information_schema, ...) */
};
#define SW_KEYWORD                                                                                 \
    (SW_LOGIC | SW_NOT | SW_CMP | SW_ARITH | SW_UNION | SW_SELECT | SW_STMT | SW_CLAUSE)

struct sqli_tok {
    uint32_t off, len; /* bytes of the source */
    uint16_t wf;       /* word flags (SQ_WORD) */
    uint8_t type;      /* enum sqli_type */
    uint8_t sub;       /* op class, quote char or comment kind */
    uint8_t tf;        /* SQF_* */
};

struct sqli_lexer {
    const char *s;
    size_t n;
    size_t pos;
};

/* Flags of a word (case-insensitive), 0 when it is no keyword or known function. */
unsigned tld_sqli_word_flags(const char *w, size_t n);

/* The keyword table is sorted and its hash index current; for the unit tests. */
bool tld_sqli_words_check(void);

/* Lex up to cap tokens from lx->pos on; returns the count (0 only at the end of the input). */
size_t tld_sqli_lex(struct sqli_lexer *lx, struct sqli_tok *t, size_t cap);

/*
 * Index just past the quote closing a string opened before s[start] with quote q (backslash and
 * doubled-quote escapes honoured), or 0 when the string runs to the end.
 */
size_t tld_sqli_string_end(const char *s, size_t n, size_t start, char q);

static inline bool sqli_is_space(unsigned char c)
{
    return c <= 0x20 || c == 0x7f || c == 0xa0;
}

#endif
