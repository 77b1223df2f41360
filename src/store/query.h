/*
 * The alert query language (docs/query.md): text typed in a search bar, parsed into a tree that
 * each backend compiles to its own SQL with bound parameters. The tree keeps every value as
 * parsed, so no backend ever has to re-read query text, and every node keeps the byte offset of
 * the text it came from, so errors can point at it.
 */
#ifndef TLD_STORE_QUERY_H
#define TLD_STORE_QUERY_H

#include <stddef.h>

enum tld_qkind {
    TLD_Q_AND,
    TLD_Q_OR,
    TLD_Q_NOT,
    TLD_Q_TERM, /* one test of one field */
};

enum tld_qop {
    TLD_QOP_EQ,     /* field:value, exact */
    TLD_QOP_WILD,   /* field:val*ue, '*' is any run of bytes */
    TLD_QOP_EXISTS, /* field:* or _exists_:field */
    TLD_QOP_LT,     /* field < number */
    TLD_QOP_LE,
    TLD_QOP_GT,
    TLD_QOP_GE,
    TLD_QOP_CONTAINS, /* field ~ "text", ASCII case-insensitive substring */
    TLD_QOP_REGEX,    /* field:/re/, PCRE2 matching the whole value */
};

struct tld_qnode {
    enum tld_qkind kind;
    struct tld_qnode *a, *b; /* AND/OR: both; NOT: a */
    /* TLD_Q_TERM */
    enum tld_qop op;
    char *field; /* owned, NUL-terminated, dotted path */
    char *value; /* owned, NUL-terminated (may hold NULs before value_n) */
    size_t value_n;
    double num; /* LT..GE: the value as a number */
    size_t off; /* byte offset in the query text */
};

struct tld_query {
    struct tld_qnode *root; /* NULL: the empty query, matching every alert */
};

struct tld_query_error {
    size_t off; /* byte offset of the offending token */
    char msg[160];
};

/* Parses `n` bytes of query text; on TLD_EPARSE, `err` says where and why. */
int tld_query_parse(const char *text, size_t n, struct tld_query **out,
                    struct tld_query_error *err);
void tld_query_free(struct tld_query *q);

/* A field name the language accepts: letters, digits, '_', '-', '@', single inner dots. */
#include <stdbool.h>
bool tld_query_valid_field(const char *p, size_t n);

/* Parses a decimal number the way range tests read field values: the whole text or nothing. */
int tld_query_number(const char *p, size_t n, double *out);

#endif
