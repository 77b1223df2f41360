/*
 * Monotonic deadlines and condition variables bound to CLOCK_MONOTONIC (see deadline.h).
 */
#include "common/deadline.h"

#include <errno.h>

#include "common/err.h"

#define NS_PER_S  1000000000LL
#define NS_PER_MS 1000000LL

int64_t tld_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

int64_t tld_deadline_in(int ms)
{
    return ms < 0 ? TLD_DEADLINE_NONE : tld_mono_ns() + (int64_t)ms * NS_PER_MS;
}

int tld_deadline_left_ms(int64_t deadline)
{
    if (deadline < 0)
        return -1;
    int64_t left = deadline - tld_mono_ns();
    if (left <= 0)
        return 0;
    int64_t ms = (left + NS_PER_MS - 1) / NS_PER_MS;
    return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

void tld_ns_timespec(int64_t ns, struct timespec *out)
{
    out->tv_sec = (time_t)(ns / NS_PER_S);
    out->tv_nsec = (long)(ns % NS_PER_S);
}

int tld_cond_init(pthread_cond_t *c)
{
    pthread_condattr_t a;
    if (pthread_condattr_init(&a) != 0)
        return TLD_ENOMEM;
    int rc = pthread_condattr_setclock(&a, CLOCK_MONOTONIC) == 0 && pthread_cond_init(c, &a) == 0
                 ? 0
                 : TLD_ENOMEM;
    pthread_condattr_destroy(&a);
    return rc;
}

int tld_cond_wait_until(pthread_cond_t *c, pthread_mutex_t *m, int64_t deadline)
{
    if (deadline < 0) {
        pthread_cond_wait(c, m);
        return 0;
    }
    struct timespec ts;
    tld_ns_timespec(deadline, &ts);
    return pthread_cond_timedwait(c, m, &ts) == ETIMEDOUT ? TLD_ETIMEOUT : 0;
}

void tld_backoff_sleep(int *ms)
{
    if (*ms < TLD_BACKOFF_FIRST_MS)
        *ms = TLD_BACKOFF_FIRST_MS;
    struct timespec d = {*ms / 1000, (long)(*ms % 1000) * 1000000L};
    while (nanosleep(&d, &d) != 0 && errno == EINTR) {
    }
    *ms = *ms * 2 > TLD_BACKOFF_MAX_MS ? TLD_BACKOFF_MAX_MS : *ms * 2;
}
