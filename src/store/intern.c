/*
 * String-to-id map for the store writer (see intern.h): open addressing with linear probing,
 * hashes kept per slot so a probe compares bytes only on a hash match. The hash reads eight
 * bytes at a time: keys are rule set bodies of hundreds of bytes, looked up once per alert.
 */
#include "store/intern.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/str.h"

struct tld_intern_slot {
    uint64_t hash;
    char *p; /* owned; NULL: empty slot */
    size_t n;
    int64_t id;
};

static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n, w;
    for (; n >= 8; p += 8, n -= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    w = 0;
    if (n)
        memcpy(&w, p, n);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 29);
}

void tld_intern_init(struct tld_intern *m)
{
    memset(m, 0, sizeof(*m));
}

void tld_intern_clear(struct tld_intern *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].p);
    free(m->slots);
    tld_intern_init(m);
}

void tld_intern_fini(struct tld_intern *m)
{
    tld_intern_clear(m);
}

static struct tld_intern_slot *find(const struct tld_intern *m, uint64_t h, const char *p, size_t n)
{
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        struct tld_intern_slot *s = &m->slots[i];
        if (!s->p || (s->hash == h && s->n == n && !memcmp(s->p, p, n)))
            return s;
    }
}

int64_t tld_intern_get(const struct tld_intern *m, const char *p, size_t n)
{
    if (!m->cap)
        return -1;
    struct tld_intern_slot *s = find(m, hash_bytes(p, n), p, n);
    return s->p ? s->id : -1;
}

static int grow(struct tld_intern *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    struct tld_intern_slot *slots = calloc(cap, sizeof(*slots));
    if (!slots)
        return TLD_ENOMEM;
    struct tld_intern old = *m;
    m->slots = slots;
    m->cap = cap;
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].p)
            *find(m, old.slots[i].hash, old.slots[i].p, old.slots[i].n) = old.slots[i];
    free(old.slots);
    return 0;
}

int tld_intern_put(struct tld_intern *m, const char *p, size_t n, int64_t id)
{
    if ((m->n + 1) * 2 > m->cap && grow(m))
        return TLD_ENOMEM;
    uint64_t h = hash_bytes(p, n);
    struct tld_intern_slot *s = find(m, h, p, n);
    if (s->p) {
        s->id = id;
        return 0;
    }
    char *copy = malloc(n ? n : 1);
    if (!copy)
        return TLD_ENOMEM;
    memcpy(copy, p, n);
    *s = (struct tld_intern_slot){h, copy, n, id};
    m->n++;
    return 0;
}
