/*
 * A JSON reader for the store writer that allocates nothing once warm: one pass over an
 * alerts.json line builds a tree of nodes in a reusable array, with every string copied,
 * unescaped and NUL-terminated, into a reusable buffer. It takes the common shape only (no
 * \u escapes, no byte order mark, depth <= TLD_JTREE_MAX_DEPTH) and refuses the rest; for what it
 * accepts it gives the tree cJSON would give (same numbers, same member order, duplicate keys
 * kept), so the caller falls back to cJSON for a refused line and stores the same thing either
 * way.
 */
#ifndef TLD_STORE_JTREE_H
#define TLD_STORE_JTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/str.h"

#define TLD_JTREE_MAX_DEPTH 200

enum tld_jtype {
    TLD_J_NULL,
    TLD_J_FALSE,
    TLD_J_TRUE,
    TLD_J_NUMBER,
    TLD_J_STRING,
    TLD_J_ARRAY,
    TLD_J_OBJECT
};

/* Node 0 is the root; 0 as a child or next index means "none". */
struct tld_jnode {
    enum tld_jtype type;
    uint32_t child, next;
    const char *key;   /* member name (NUL-terminated) in an object, else NULL */
    struct tld_sv str; /* TLD_J_STRING: NUL-terminated text */
    double num;
};

struct tld_jtree {
    struct tld_jnode *nodes;
    unsigned n, cap;
    char *text; /* the strings */
    size_t text_n, text_cap;
};

void tld_jtree_init(struct tld_jtree *t);
void tld_jtree_fini(struct tld_jtree *t);

/* Reads `p`: 0 with the tree, TLD_EPARSE for a line it does not take, TLD_ENOMEM. */
int tld_jtree_parse(struct tld_jtree *t, const char *p, size_t n);

/* The first member of object node `obj` named `key`, 0 if none (or `obj` is no object). */
uint32_t tld_jtree_get(const struct tld_jtree *t, uint32_t obj, const char *key);

#endif
