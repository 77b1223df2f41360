/* Token buckets per address (see ratelimit.h). A linear scan over at most 4096 short keys per
 * enrollment request is cheap next to the TLS handshake that precedes it. */
#include "manager/ratelimit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

int tld_ratelimit_init(struct tld_ratelimit *rl, unsigned burst, int64_t period_s)
{
    memset(rl, 0, sizeof *rl);
    rl->slots = calloc(TLD_RATELIMIT_SLOTS, sizeof *rl->slots);
    if (!rl->slots)
        return TLD_ENOMEM;
    pthread_mutex_init(&rl->mu, NULL);
    rl->burst = burst ? burst : 1;
    rl->per_ns = rl->burst / ((double)(period_s > 0 ? period_s : 1) * 1e9);
    return 0;
}

void tld_ratelimit_set(struct tld_ratelimit *rl, unsigned burst, int64_t period_s)
{
    pthread_mutex_lock(&rl->mu);
    rl->burst = burst ? burst : 1;
    rl->per_ns = rl->burst / ((double)(period_s > 0 ? period_s : 1) * 1e9);
    for (unsigned i = 0; i < rl->n; i++)
        if (rl->slots[i].tokens > rl->burst)
            rl->slots[i].tokens = rl->burst;
    pthread_mutex_unlock(&rl->mu);
}

void tld_ratelimit_fini(struct tld_ratelimit *rl)
{
    if (!rl->slots)
        return;
    free(rl->slots);
    rl->slots = NULL;
    pthread_mutex_destroy(&rl->mu);
}

bool tld_ratelimit_take(struct tld_ratelimit *rl, const char *key, int64_t now_ns)
{
    pthread_mutex_lock(&rl->mu);
    struct tld_ratelimit_slot *s = NULL, *oldest = NULL;
    for (unsigned i = 0; i < rl->n; i++) {
        if (strcmp(rl->slots[i].key, key) == 0) {
            s = &rl->slots[i];
            break;
        }
        if (!oldest || rl->slots[i].last_ns < oldest->last_ns)
            oldest = &rl->slots[i];
    }
    if (!s) {
        s = rl->n < TLD_RATELIMIT_SLOTS ? &rl->slots[rl->n++] : oldest;
        snprintf(s->key, sizeof s->key, "%s", key);
        s->tokens = rl->burst;
        s->last_ns = now_ns;
    }
    if (now_ns > s->last_ns) {
        s->tokens += (double)(now_ns - s->last_ns) * rl->per_ns;
        if (s->tokens > rl->burst)
            s->tokens = rl->burst;
    }
    s->last_ns = now_ns > s->last_ns ? now_ns : s->last_ns;
    bool ok = s->tokens >= 1.0;
    if (ok)
        s->tokens -= 1.0;
    pthread_mutex_unlock(&rl->mu);
    return ok;
}
