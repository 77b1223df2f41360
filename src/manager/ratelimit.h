/*
 * Per-address rate limit for enrollment requests: a token bucket per source address holding at
 * most `burst` tokens and regaining `burst` tokens per `period_s`; each request takes one.
 * Bound: TLD_RATELIMIT_SLOTS addresses; when the table is full, the address seen longest ago
 * is forgotten (it would have regained tokens by then in all but pathological floods, and a
 * flood from many addresses is bounded by the server's connection limit instead).
 * Time is passed in by the caller (tests drive it). Thread-safe.
 */
#ifndef TLD_MANAGER_RATELIMIT_H
#define TLD_MANAGER_RATELIMIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define TLD_RATELIMIT_SLOTS 4096
#define TLD_RATELIMIT_KEY   64

struct tld_ratelimit_slot {
    char key[TLD_RATELIMIT_KEY];
    double tokens;
    int64_t last_ns;
};

struct tld_ratelimit {
    pthread_mutex_t mu;
    double burst;
    double per_ns; /* tokens regained per nanosecond */
    struct tld_ratelimit_slot *slots;
    unsigned n;
};

int tld_ratelimit_init(struct tld_ratelimit *rl, unsigned burst, int64_t period_s);
void tld_ratelimit_fini(struct tld_ratelimit *rl);
/* New limits (a reload): buckets keep their tokens, cut to the new burst. */
void tld_ratelimit_set(struct tld_ratelimit *rl, unsigned burst, int64_t period_s);
/* Take a token for `key` at time now_ns: true if allowed. */
bool tld_ratelimit_take(struct tld_ratelimit *rl, const char *key, int64_t now_ns);

#endif
