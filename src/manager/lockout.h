/*
 * Lockout after repeated enrollment failures: each key (a source address, or one shared key for
 * the whole server) counts its failures within a window; reaching `failures` locks the key for
 * `lock_s` seconds, during which every request under that key is refused before any password
 * check. This bounds password guessing where a token bucket alone does not: an attacker who
 * waits for tokens still cannot make more than `failures` guesses per window and key.
 * Bound: TLD_LOCKOUT_SLOTS keys; when full, the key with the oldest activity that is not locked
 * is forgotten (a locked key is kept so a flood of new addresses cannot unlock it).
 * Time is passed in by the caller (tests drive it). Thread-safe.
 */
#ifndef TLD_MANAGER_LOCKOUT_H
#define TLD_MANAGER_LOCKOUT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define TLD_LOCKOUT_SLOTS 4096
#define TLD_LOCKOUT_KEY   64

struct tld_lockout_slot {
    char key[TLD_LOCKOUT_KEY];
    unsigned failures;
    int64_t first_ns; /* start of the current counting window */
    int64_t until_ns; /* locked until (0: not locked) */
};

struct tld_lockout {
    pthread_mutex_t mu;
    unsigned threshold; /* 0: never lock */
    int64_t lock_ns;    /* also the counting window */
    struct tld_lockout_slot *slots;
    unsigned n;
};

int tld_lockout_init(struct tld_lockout *lo, unsigned failures, int64_t lock_s);
void tld_lockout_fini(struct tld_lockout *lo);
/* New limits (a reload): lockouts in force keep their end; counts go on under the new threshold. */
void tld_lockout_set(struct tld_lockout *lo, unsigned failures, int64_t lock_s);
/* The limits in force. */
void tld_lockout_params(struct tld_lockout *lo, unsigned *failures, int64_t *lock_s);
/* Whether `key` is locked at now_ns. */
bool tld_lockout_locked(struct tld_lockout *lo, const char *key, int64_t now_ns);
/* Count a failure for `key`; *locked_now is true when this failure started a lockout. */
void tld_lockout_fail(struct tld_lockout *lo, const char *key, int64_t now_ns, bool *locked_now);

#endif
