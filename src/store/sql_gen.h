/*
 * What every backend's query compiler shares: the walk over the query tree that writes the
 * boolean structure (and, or, not, parentheses) and hands each field test to the dialect, and
 * the reading of integer literals the way integer columns hold them.
 */
#ifndef TLD_STORE_SQL_GEN_H
#define TLD_STORE_SQL_GEN_H

#include <stdbool.h>
#include <stdint.h>

#include "store/query.h"

struct tld_sqlgen {
    void *q; /* the dialect's statement under construction */
    void (*emit)(void *q, const char *s);
    void (*term)(void *q, const struct tld_qnode *t);
    /* Optional: writes `n` itself and returns true (a dialect's shortcut for a subtree). */
    bool (*shortcut)(void *q, const struct tld_qnode *n, bool negated);
    /* The dialect's "NULL reads as false" wrapper, e.g. "coalesce((": closed by "), 0)". */
    const char *null_as_false;
};

/*
 * Writes the tree. Under a NOT each test is wrapped in null_as_false, so that a missing value
 * (NULL) makes the test false and its negation true, as in docs/query.md.
 */
void tld_sqlgen_node(const struct tld_sqlgen *g, const struct tld_qnode *n, bool negated);

/* An integer written as an integer column holds it: optional '-', no leading zeros, 15 digits
 * at most. */
bool tld_sqlgen_canonical_int(const char *v, size_t n, int64_t *out);

#endif
