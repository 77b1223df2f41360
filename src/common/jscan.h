/*
 * A pull scanner over one JSON text held in a view: walk an object's members, read strings
 * and exact 64-bit integers, skip anything else while checking it is well-formed. It exists
 * because a DOM parser keeps numbers as doubles, and Docker's `timeNano` (19 digits) does not
 * survive that. Nesting is bounded (TLD_JSCAN_MAX_DEPTH); no function reads outside the view.
 * Keys are compared raw (Docker never escapes them).
 */
#ifndef TLD_COMMON_JSCAN_H
#define TLD_COMMON_JSCAN_H

#include <stdbool.h>
#include <stdint.h>

#include "common/str.h"

#define TLD_JSCAN_MAX_DEPTH 64

struct tld_jscan {
    const char *p, *end;
};

static inline struct tld_jscan tld_jscan_of(struct tld_sv s)
{
    return (struct tld_jscan){s.p, s.p + s.n};
}

/* Expect '{'. */
bool tld_jscan_object(struct tld_jscan *j);
/* Next member of the object being walked: *got true with its raw key (the scanner then stands
 * at the value, which the caller must read or skip), false at the closing '}'. 0 or
 * TLD_EPARSE on malformed input. */
int tld_jscan_member(struct tld_jscan *j, bool first, struct tld_sv *key, bool *got);
/* A string value, unescaped into out (NULL: only checked). */
bool tld_jscan_string(struct tld_jscan *j, struct tld_sb *out);
/* An integer value (a fraction of zeros, as some tools print, is accepted). */
bool tld_jscan_int(struct tld_jscan *j, int64_t *out);
/* Any value. */
bool tld_jscan_skip(struct tld_jscan *j);
/* Only whitespace left. */
bool tld_jscan_done(struct tld_jscan *j);
/* The next value's first character ('"', '{', ...) or 0 at the end. */
char tld_jscan_peek(struct tld_jscan *j);

#endif
