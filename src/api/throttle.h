/*
 * Login throttling: failed logins are counted per user name and per client address in a fixed
 * table; `max_fails` failures within `window_ms` lock that key for `window_ms` from the last
 * failure. The table is bounded (an attacker making up names or addresses evicts the oldest
 * entries, never grows memory). Shared by the request threads under its own lock.
 */
#ifndef TLD_API_THROTTLE_H
#define TLD_API_THROTTLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define TLD_THROTTLE_SLOTS 4096

struct tld_throttle_slot {
    uint64_t key; /* 0: free */
    int64_t first_ms, last_ms;
    unsigned fails;
};

struct tld_throttle {
    pthread_mutex_t mu;
    unsigned max_fails;
    int64_t window_ms;
    struct tld_throttle_slot *slots; /* owned, TLD_THROTTLE_SLOTS */
};

int tld_throttle_init(struct tld_throttle *t, unsigned max_fails, int64_t window_ms);
void tld_throttle_fini(struct tld_throttle *t);
/* Whether `kind:what` ("user", "addr") is locked out now; *retry_s: seconds left. */
bool tld_throttle_locked(struct tld_throttle *t, const char *kind, const char *what, int64_t now_ms,
                         int64_t *retry_s);
void tld_throttle_fail(struct tld_throttle *t, const char *kind, const char *what, int64_t now_ms);
/* A success forgets the key's failures. */
void tld_throttle_clear(struct tld_throttle *t, const char *kind, const char *what);

#endif
