/*
 * Bump allocator for data that dies together: the fields of one event, the nodes of one parsed
 * XML file. Allocations are never freed one by one; tld_arena_reset() drops them all but keeps
 * the first block so a per-event arena stops touching malloc once warm. The total size is
 * bounded: past `max` bytes every allocation fails (returns NULL) until the next reset.
 */
#ifndef TLD_COMMON_ARENA_H
#define TLD_COMMON_ARENA_H

#include <stddef.h>

#include "common/str.h"

struct tld_arena_block;

struct tld_arena {
    struct tld_arena_block *head; /* newest block first; owned */
    size_t block_size;            /* default size of a new block */
    size_t used;                  /* bytes handed out since the last reset */
    size_t max;                   /* bound on `used` */
};

void tld_arena_init(struct tld_arena *a, size_t block_size, size_t max);
void tld_arena_fini(struct tld_arena *a);
void tld_arena_reset(struct tld_arena *a);
/* 16-byte aligned memory, or NULL when the bound is reached or malloc fails. */
void *tld_arena_alloc(struct tld_arena *a, size_t n);
void *tld_arena_zalloc(struct tld_arena *a, size_t n);
/* NUL-terminated copy of the bytes; the view's p is NULL on failure. */
struct tld_sv tld_arena_dup(struct tld_arena *a, const char *p, size_t n);
char *tld_arena_strdup(struct tld_arena *a, const char *s);

#endif
