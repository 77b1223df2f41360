/*
 * Request rate limits per user: a token bucket for each authenticated user (whatever number of
 * tokens the user holds, so logging in again does not reset it). A bucket holds a minute's
 * allowance and refills continuously, so `per_minute` requests a minute go through whatever
 * their rhythm, and a burst may use up to a minute's worth at once. The table is bounded like
 * the login throttle's: a user pushed out starts again with a full bucket. Shared by the request
 * threads under its own lock.
 */
#ifndef TLD_API_USERLIMIT_H
#define TLD_API_USERLIMIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define TLD_API_USERLIMIT_SLOTS 1024

struct tld_api_userlimit_slot {
    uint64_t key; /* 0: free */
    int64_t last_ms;
    uint64_t level; /* units left; a request costs 60000, a ms refills per_minute */
};

struct tld_api_userlimit {
    pthread_mutex_t mu;
    uint64_t per_minute;                  /* 0: no limit */
    struct tld_api_userlimit_slot *slots; /* owned, TLD_API_USERLIMIT_SLOTS; NULL without a limit */
};

int tld_api_userlimit_init(struct tld_api_userlimit *rl, uint64_t per_minute);
void tld_api_userlimit_fini(struct tld_api_userlimit *rl);
/*
 * Takes one request from `user`'s bucket at `now_ms`. *allowed false when it is empty, with
 * *retry_s the whole seconds until the next request will go through.
 */
void tld_api_userlimit_take(struct tld_api_userlimit *rl, const char *user, int64_t now_ms,
                            bool *allowed, int64_t *retry_s);

#endif
