/* Block-chained bump allocator; see arena.h. The first block survives resets. */
#include "common/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct tld_arena_block {
    struct tld_arena_block *next;
    size_t size; /* usable bytes in data[] */
    size_t off;  /* next free byte */
    _Alignas(16) unsigned char data[];
};

void tld_arena_init(struct tld_arena *a, size_t block_size, size_t max)
{
    *a = (struct tld_arena){.block_size = block_size ? block_size : 4096, .max = max};
}

void tld_arena_fini(struct tld_arena *a)
{
    struct tld_arena_block *b = a->head;
    while (b) {
        struct tld_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->used = 0;
}

void tld_arena_reset(struct tld_arena *a)
{
    if (!a->head)
        return;
    /* Keep only the oldest block (the last in the chain): it is the steady-state size. */
    struct tld_arena_block *b = a->head, *keep = NULL;
    while (b) {
        struct tld_arena_block *next = b->next;
        if (!next)
            keep = b;
        else
            free(b);
        b = next;
    }
    keep->off = 0;
    keep->next = NULL;
    a->head = keep;
    a->used = 0;
}

void *tld_arena_alloc(struct tld_arena *a, size_t n)
{
    size_t need = (n + 15) & ~(size_t)15;
    if (need < n || need > a->max - a->used || a->used > a->max)
        return NULL;
    struct tld_arena_block *b = a->head;
    if (!b || b->size - b->off < need) {
        size_t size = need > a->block_size ? need : a->block_size;
        b = malloc(sizeof *b + size);
        if (!b)
            return NULL;
        b->size = size;
        b->off = 0;
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->off;
    b->off += need;
    a->used += need;
    return p;
}

void *tld_arena_zalloc(struct tld_arena *a, size_t n)
{
    void *p = tld_arena_alloc(a, n);
    if (p)
        memset(p, 0, n);
    return p;
}

struct tld_sv tld_arena_dup(struct tld_arena *a, const char *p, size_t n)
{
    char *d = tld_arena_alloc(a, n + 1);
    if (!d)
        return (struct tld_sv){NULL, 0};
    if (n)
        memcpy(d, p, n);
    d[n] = '\0';
    return (struct tld_sv){d, n};
}

char *tld_arena_strdup(struct tld_arena *a, const char *s)
{
    return (char *)tld_arena_dup(a, s, strlen(s)).p;
}
