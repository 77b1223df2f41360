/* Failure counting and lockout per key (see lockout.h). A linear scan, as in ratelimit.c: it
 * runs once per enrollment request, after a TLS handshake that costs far more. */
#include "manager/lockout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

int tld_lockout_init(struct tld_lockout *lo, unsigned failures, int64_t lock_s)
{
    memset(lo, 0, sizeof *lo);
    lo->slots = calloc(TLD_LOCKOUT_SLOTS, sizeof *lo->slots);
    if (!lo->slots)
        return TLD_ENOMEM;
    pthread_mutex_init(&lo->mu, NULL);
    lo->threshold = failures;
    lo->lock_ns = (lock_s > 0 ? lock_s : 1) * 1000000000LL;
    return 0;
}

void tld_lockout_set(struct tld_lockout *lo, unsigned failures, int64_t lock_s)
{
    pthread_mutex_lock(&lo->mu);
    lo->threshold = failures;
    lo->lock_ns = (lock_s > 0 ? lock_s : 1) * 1000000000LL;
    pthread_mutex_unlock(&lo->mu);
}

void tld_lockout_params(struct tld_lockout *lo, unsigned *failures, int64_t *lock_s)
{
    pthread_mutex_lock(&lo->mu);
    *failures = lo->threshold;
    *lock_s = lo->lock_ns / 1000000000LL;
    pthread_mutex_unlock(&lo->mu);
}

void tld_lockout_fini(struct tld_lockout *lo)
{
    if (!lo->slots)
        return;
    free(lo->slots);
    lo->slots = NULL;
    pthread_mutex_destroy(&lo->mu);
}

static struct tld_lockout_slot *lookup(struct tld_lockout *lo, const char *key)
{
    for (unsigned i = 0; i < lo->n; i++)
        if (strcmp(lo->slots[i].key, key) == 0)
            return &lo->slots[i];
    return NULL;
}

/* A slot for a new key: a free one, else the unlocked one with the oldest window. */
static struct tld_lockout_slot *claim(struct tld_lockout *lo, int64_t now_ns)
{
    if (lo->n < TLD_LOCKOUT_SLOTS)
        return &lo->slots[lo->n++];
    struct tld_lockout_slot *oldest = NULL;
    for (unsigned i = 0; i < lo->n; i++) {
        struct tld_lockout_slot *s = &lo->slots[i];
        if (s->until_ns > now_ns)
            continue;
        if (!oldest || s->first_ns < oldest->first_ns)
            oldest = s;
    }
    return oldest;
}

bool tld_lockout_locked(struct tld_lockout *lo, const char *key, int64_t now_ns)
{
    pthread_mutex_lock(&lo->mu);
    const struct tld_lockout_slot *s = lookup(lo, key);
    bool locked = s && s->until_ns > now_ns;
    pthread_mutex_unlock(&lo->mu);
    return locked;
}

void tld_lockout_fail(struct tld_lockout *lo, const char *key, int64_t now_ns, bool *locked_now)
{
    *locked_now = false;
    if (!lo->threshold)
        return;
    pthread_mutex_lock(&lo->mu);
    struct tld_lockout_slot *s = lookup(lo, key);
    if (!s && (s = claim(lo, now_ns)) != NULL) {
        memset(s, 0, sizeof *s);
        snprintf(s->key, sizeof s->key, "%s", key);
        s->first_ns = now_ns;
    }
    if (s && s->until_ns <= now_ns) {
        if (now_ns - s->first_ns >= lo->lock_ns || s->until_ns) {
            s->failures = 0;
            s->first_ns = now_ns;
            s->until_ns = 0;
        }
        if (++s->failures >= lo->threshold) {
            s->until_ns = now_ns + lo->lock_ns;
            *locked_now = true;
        }
    }
    pthread_mutex_unlock(&lo->mu);
}
