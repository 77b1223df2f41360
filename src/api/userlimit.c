/*
 * The per-user token buckets of userlimit.h. Levels are kept in integer units (60,000 per
 * request, `per_minute` gained per millisecond) so that refills never lose fractions.
 */
#include "api/userlimit.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/str.h"

#define PROBES 8
#define MINUTE 60000u /* units one request costs */

int tld_api_userlimit_init(struct tld_api_userlimit *rl, uint64_t per_minute)
{
    memset(rl, 0, sizeof *rl);
    rl->per_minute = per_minute;
    if (!per_minute)
        return 0;
    rl->slots = calloc(TLD_API_USERLIMIT_SLOTS, sizeof *rl->slots);
    if (!rl->slots)
        return TLD_ENOMEM;
    pthread_mutex_init(&rl->mu, NULL);
    return 0;
}

void tld_api_userlimit_fini(struct tld_api_userlimit *rl)
{
    if (!rl->slots)
        return;
    pthread_mutex_destroy(&rl->mu);
    free(rl->slots);
    rl->slots = NULL;
}

/* The user's bucket: found, or a free or the least recently used slot of its run, full. */
static struct tld_api_userlimit_slot *bucket(struct tld_api_userlimit *rl, uint64_t key,
                                             int64_t now_ms)
{
    struct tld_api_userlimit_slot *victim = NULL;
    for (unsigned i = 0; i < PROBES; i++) {
        struct tld_api_userlimit_slot *s = &rl->slots[(key + i) % TLD_API_USERLIMIT_SLOTS];
        if (s->key == key)
            return s;
        if (!victim || (victim->key != 0 && (s->key == 0 || s->last_ms < victim->last_ms)))
            victim = s;
    }
    victim->key = key;
    victim->last_ms = now_ms;
    victim->level = rl->per_minute * MINUTE;
    return victim;
}

void tld_api_userlimit_take(struct tld_api_userlimit *rl, const char *user, int64_t now_ms,
                            bool *allowed, int64_t *retry_s)
{
    *allowed = true;
    *retry_s = 0;
    if (!rl->slots)
        return;
    uint64_t key = tld_fnv1a(TLD_FNV1A_SEED, user, strlen(user));
    key = key ? key : 1;
    uint64_t full = rl->per_minute * MINUTE;
    pthread_mutex_lock(&rl->mu);
    struct tld_api_userlimit_slot *s = bucket(rl, key, now_ms);
    if (now_ms > s->last_ms) {
        uint64_t gain = (uint64_t)(now_ms - s->last_ms);
        s->level = gain >= MINUTE || s->level + gain * rl->per_minute >= full
                       ? full
                       : s->level + gain * rl->per_minute;
        s->last_ms = now_ms;
    }
    if (s->level >= MINUTE) {
        s->level -= MINUTE;
    } else {
        *allowed = false;
        uint64_t wait_ms = (MINUTE - s->level + rl->per_minute - 1) / rl->per_minute;
        *retry_s = (int64_t)((wait_ms + 999) / 1000);
    }
    pthread_mutex_unlock(&rl->mu);
}
