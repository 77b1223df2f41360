/*
 * Deadlines on CLOCK_MONOTONIC and condition variables that wait on it. Waits measured against
 * the wall clock stretch or collapse when the clock is stepped (NTP, an operator); every timed
 * wait in the daemons goes through these instead.
 */
#ifndef TLD_COMMON_DEADLINE_H
#define TLD_COMMON_DEADLINE_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* A deadline that never passes. */
#define TLD_DEADLINE_NONE ((int64_t)-1)

/* CLOCK_MONOTONIC now, in nanoseconds. */
int64_t tld_mono_ns(void);

/* The deadline `ms` milliseconds from now; TLD_DEADLINE_NONE when ms < 0. */
int64_t tld_deadline_in(int ms);

/* Milliseconds left until `deadline` (0 once passed, rounded up so a wait never spins early);
 * -1 for TLD_DEADLINE_NONE, the poll(2) convention for "no timeout". */
int tld_deadline_left_ms(int64_t deadline);

/* `ns` as a timespec (ns >= 0). */
void tld_ns_timespec(int64_t ns, struct timespec *out);

/* Initialise `c` to measure timed waits on CLOCK_MONOTONIC. 0 or TLD_ENOMEM. */
int tld_cond_init(pthread_cond_t *c);

/*
 * Wait on `c` (initialised by tld_cond_init) with `m` held until signalled or `deadline` passes.
 * 0 when woken (possibly spuriously: re-check the predicate), TLD_ETIMEOUT once the deadline has
 * passed. TLD_DEADLINE_NONE waits without a limit.
 */
int tld_cond_wait_until(pthread_cond_t *c, pthread_mutex_t *m, int64_t deadline);

/* Retry back-off for transient errors (EMFILE, ENOSPC, EIO, ENOMEM): sleeps *ms (0 counts as
 * the first step, 10 ms), then doubles it up to 1 s for the next call. Reset *ms to 0 after a
 * success. */
#define TLD_BACKOFF_FIRST_MS 10
#define TLD_BACKOFF_MAX_MS   1000
void tld_backoff_sleep(int *ms);

#endif
