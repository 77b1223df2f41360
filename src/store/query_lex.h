/*
 * Tokens of the query language. The lexer is driven by the parser one token at a time because
 * one character means different things by position: '/' opens a regular expression and ':'
 * belongs to a word only where a value is expected, and a word is a field name only when ':', '~'
 * or a comparison follows.
 */
#ifndef TLD_STORE_QUERY_LEX_H
#define TLD_STORE_QUERY_LEX_H

#include <stdbool.h>
#include <stddef.h>

enum tld_qtok {
    TLD_QT_EOF,
    TLD_QT_LPAREN,
    TLD_QT_RPAREN,
    TLD_QT_COLON,
    TLD_QT_TILDE,
    TLD_QT_LT,
    TLD_QT_LE,
    TLD_QT_GT,
    TLD_QT_GE,
    TLD_QT_AND,
    TLD_QT_OR,
    TLD_QT_NOT,
    TLD_QT_WORD,   /* unquoted; '*' in it is a wildcard */
    TLD_QT_STRING, /* "quoted", escapes \" and \\ decoded */
    TLD_QT_REGEX,  /* /re/, \/ decoded to / */
    TLD_QT_ERROR,
};

struct tld_qlexer {
    const char *p;
    size_t n, pos;
};

struct tld_qtoken {
    enum tld_qtok kind;
    size_t off;       /* where the token starts */
    const char *text; /* WORD: points into the query; STRING/REGEX: owned by `buf` */
    size_t len;
    char *buf;       /* decoded text of STRING/REGEX, freed by tld_qtoken_fini */
    const char *err; /* TLD_QT_ERROR: why */
};

/*
 * The next token. `value` says a value is expected: there '/' opens a regular expression and
 * ':' is part of a word.
 */
void tld_qlex_next(struct tld_qlexer *lx, bool value, struct tld_qtoken *tok);
void tld_qtoken_fini(struct tld_qtoken *tok);
const char *tld_qtok_name(enum tld_qtok kind);

#endif
