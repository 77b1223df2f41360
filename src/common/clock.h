/*
 * Injectable time source. Code that needs "now" takes a const struct tld_clock * so tests can
 * drive time (correlation windows, backoff, rotation) without sleeping.
 */
#ifndef TLD_COMMON_CLOCK_H
#define TLD_COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

struct tld_clock {
    /* Wall-clock time in nanoseconds since the epoch. */
    int64_t (*now_ns)(const struct tld_clock *clock);
    void *ctx; /* for test clocks */
};

/* Wall-clock now in nanoseconds since the epoch, for timestamps (never for timeouts: those
 * use common/deadline.h, which a clock step cannot move). */
static inline int64_t tld_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t tld_clock_system_now(const struct tld_clock *clock)
{
    (void)clock;
    return tld_wall_ns();
}

/* The real clock. */
#define TLD_CLOCK_SYSTEM ((struct tld_clock){tld_clock_system_now, NULL})

static inline int64_t tld_clock_now(const struct tld_clock *clock)
{
    return clock->now_ns(clock);
}

#endif
