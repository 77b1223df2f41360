/*
 * The login-failure table of throttle.h: open addressing over a short probe run, where a new key
 * takes the free or stalest slot of its run.
 */
#include "api/throttle.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/str.h"

#define PROBES 8

int tld_throttle_init(struct tld_throttle *t, unsigned max_fails, int64_t window_ms)
{
    memset(t, 0, sizeof *t);
    t->slots = calloc(TLD_THROTTLE_SLOTS, sizeof *t->slots);
    if (!t->slots)
        return TLD_ENOMEM;
    t->max_fails = max_fails;
    t->window_ms = window_ms;
    pthread_mutex_init(&t->mu, NULL);
    return 0;
}

void tld_throttle_fini(struct tld_throttle *t)
{
    if (!t->slots)
        return;
    pthread_mutex_destroy(&t->mu);
    free(t->slots);
    t->slots = NULL;
}

static uint64_t key_of(const char *kind, const char *what)
{
    uint64_t h = tld_fnv1a(TLD_FNV1A_SEED, kind, strlen(kind));
    h = tld_fnv1a(h, ":", 1);
    h = tld_fnv1a(h, what, strlen(what));
    return h ? h : 1;
}

/* The key's slot, or (create) a slot taken for it; NULL when absent and not creating. */
static struct tld_throttle_slot *slot(struct tld_throttle *t, uint64_t key, bool create)
{
    struct tld_throttle_slot *victim = NULL;
    for (unsigned i = 0; i < PROBES; i++) {
        struct tld_throttle_slot *s = &t->slots[(key + i) % TLD_THROTTLE_SLOTS];
        if (s->key == key)
            return s;
        if (s->key == 0) {
            if (!victim || victim->key != 0)
                victim = s;
        } else if (!victim || (victim->key != 0 && s->last_ms < victim->last_ms)) {
            victim = s;
        }
    }
    if (!create)
        return NULL;
    memset(victim, 0, sizeof *victim);
    victim->key = key;
    return victim;
}

bool tld_throttle_locked(struct tld_throttle *t, const char *kind, const char *what, int64_t now_ms,
                         int64_t *retry_s)
{
    pthread_mutex_lock(&t->mu);
    struct tld_throttle_slot *s = slot(t, key_of(kind, what), false);
    bool locked = s && s->fails >= t->max_fails && now_ms - s->last_ms < t->window_ms;
    if (locked)
        *retry_s = (t->window_ms - (now_ms - s->last_ms) + 999) / 1000;
    pthread_mutex_unlock(&t->mu);
    return locked;
}

void tld_throttle_fail(struct tld_throttle *t, const char *kind, const char *what, int64_t now_ms)
{
    pthread_mutex_lock(&t->mu);
    struct tld_throttle_slot *s = slot(t, key_of(kind, what), true);
    /* Failures older than the window (or a lockout that has run out) start a new count. */
    if (s->fails && now_ms - s->last_ms >= t->window_ms)
        s->fails = 0;
    if (s->fails == 0)
        s->first_ms = now_ms;
    s->fails++;
    s->last_ms = now_ms;
    pthread_mutex_unlock(&t->mu);
}

void tld_throttle_clear(struct tld_throttle *t, const char *kind, const char *what)
{
    pthread_mutex_lock(&t->mu);
    struct tld_throttle_slot *s = slot(t, key_of(kind, what), false);
    if (s)
        memset(s, 0, sizeof *s);
    pthread_mutex_unlock(&t->mu);
}
