/*
 * Folded token streams for the SQL injection detector: each token of a batch gets a role, and
 * the statement-shape rules (sqli_rules.c) and the reading rules (sqli.c) work on roles plus the
 * token details. Internal to the engine.
 */
#ifndef TLD_ENGINE_SQLI_FOLD_H
#define TLD_ENGINE_SQLI_FOLD_H

#include <string.h>

#include "engine/webattack/sqli_lex.h"

/* Tokens per batch, and how many of them are carried over into the next batch. */
#define SQLI_BATCH   256
#define SQLI_OVERLAP 48

enum sqli_role {
    R_END = 0, /* past the last token */
    R_OPND,    /* number, string, variable, identifier, NULL/TRUE, '*' as a column list */
    R_CALL,    /* a word followed by '(' */
    R_LP,
    R_RP,
    R_COMMA,
    R_SEMI,
    R_DOT,
    R_BIN,   /* binary operator: symbol or word (AND, LIKE, DIV, ...) */
    R_UNARY, /* NOT, or a sign in prefix position */
    R_KW,    /* any other reserved word */
    R_UNION,
    R_SELECT,
    R_STMT,    /* word that starts a statement */
    R_COMMENT, /* line comment or comment left open (closed inline ones are dropped) */
    R_OTHER,   /* a byte SQL has no use for */
};

struct sqli_fold {
    const char *s;
    size_t n;
    enum sqli_role prev0; /* role standing before t[0] (R_OPND after a closing quote) */
    struct sqli_tok t[SQLI_BATCH];
    unsigned char r[SQLI_BATCH];
};

static inline enum sqli_role sqli_role_at(const struct sqli_fold *f, size_t k)
{
    return k < f->n ? (enum sqli_role)f->r[k] : R_END;
}
static inline enum sqli_role sqli_role_before(const struct sqli_fold *f, size_t k)
{
    return k > 0 ? (enum sqli_role)f->r[k - 1] : f->prev0;
}
static inline bool sqli_ends_operand(enum sqli_role r)
{
    return r == R_OPND || r == R_RP;
}
static inline bool sqli_starts_operand(enum sqli_role r)
{
    return r == R_OPND || r == R_CALL || r == R_LP || r == R_UNARY;
}

/* Drop closed inline comments (marking the next token SQF_CMT) and assign roles; prev is the
 * role standing before the first token (R_OPND after a closing quote). */
void tld_sqli_assign_roles(struct sqli_fold *f, enum sqli_role prev);

/* The l bytes at p, ASCII letters lowered, are w (a lower-case literal). */
static inline bool tld_sqli_lower_eq(const char *p, const char *w, size_t l)
{
    for (size_t i = 0; i < l; i++) {
        char c = p[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        if (c != w[i])
            return false;
    }
    return true;
}

/* Token k is the word w (lower-case literal), in any case. Inline so strlen(w) folds. */
static inline bool tld_sqli_word_is(const struct sqli_fold *f, size_t k, const char *w)
{
    size_t l = strlen(w);
    if (k >= f->n || f->t[k].type != SQ_WORD || f->t[k].len != l)
        return false;
    return tld_sqli_lower_eq(f->s + f->t[k].off, w, l);
}
bool tld_sqli_is_cmp(const struct sqli_fold *f, size_t k);
bool tld_sqli_is_logic(const struct sqli_fold *f, size_t k);
/* Comparison at k between two literals, parentheses and signs allowed around them. */
bool tld_sqli_literal_cmp(const struct sqli_fold *f, size_t k);
/* x LIKE '%' at k (a wildcard-only pattern). */
bool tld_sqli_wildcard_like(const struct sqli_fold *f, size_t k);
/* The identifier at k, standing after an operand, is an alias (a clause boundary follows). */
bool tld_sqli_alias_ok(const struct sqli_fold *f, size_t k, enum sqli_role prev);
/* Comment token at k ends an injection: "--", a block comment, or '#' followed by no text. */
bool tld_sqli_comment_ok(const struct sqli_fold *f, size_t k);

#define SEL_SUBQ    0x1u /* inside parentheses: the select list alone suffices */
#define SEL_LENIENT 0x2u /* after UNION: tolerate sloppy lists that carry SQL material */
/* SELECT at k reads as a query. */
bool tld_sqli_select_ok(const struct sqli_fold *f, size_t k, unsigned mode);
/* UNION at k is followed by [ALL|DISTINCT] [(] SELECT and a query. */
bool tld_sqli_union_ok(const struct sqli_fold *f, size_t k);

enum sqli_stmt_pos {
    STMT_AFTER_SEMI,  /* after ';' */
    STMT_AFTER_VALUE, /* right after a closing quote or value (SQL Server accepts that) */
    STMT_ANYWHERE,    /* inside arbitrary text: only unmistakable forms */
};
/* A statement starts at k. */
bool tld_sqli_stmt_ok(const struct sqli_fold *f, size_t k, enum sqli_stmt_pos pos);

/* The anywhere rules over the whole batch. */
bool tld_sqli_anywhere(const struct sqli_fold *f);

#endif
