/* Unit tests for src/common/deadline: monotonic deadline arithmetic and timed waits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdbool.h>

#include "common/deadline.h"
#include "common/err.h"

static void deadline_math(void **state)
{
    int64_t a = tld_mono_ns();
    int64_t d = tld_deadline_in(250);
    int64_t b = tld_mono_ns();
    assert_true(b >= a);
    assert_true(d >= a + 250000000LL && d <= b + 250000000LL);
    assert_int_equal(tld_deadline_in(-1), TLD_DEADLINE_NONE);
    assert_int_equal(tld_deadline_left_ms(TLD_DEADLINE_NONE), -1);
    int left = tld_deadline_left_ms(d);
    assert_true(left > 0 && left <= 250);
    /* rounded up: a deadline 1 ns away still leaves 1 ms, a passed one 0 */
    assert_int_equal(tld_deadline_left_ms(tld_mono_ns() + 1000000000LL), 1000);
    assert_int_equal(tld_deadline_left_ms(tld_mono_ns() - 1), 0);
    assert_int_equal(tld_deadline_left_ms(tld_deadline_in(0)), 0);
    struct timespec ts;
    tld_ns_timespec(3999999999LL, &ts);
    assert_int_equal(ts.tv_sec, 3);
    assert_int_equal(ts.tv_nsec, 999999999);
    tld_ns_timespec(5000000000LL, &ts);
    assert_int_equal(ts.tv_sec, 5);
    assert_int_equal(ts.tv_nsec, 0);
}

static void cond_wait_expires(void **state)
{
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t c;
    assert_int_equal(tld_cond_init(&c), 0);
    pthread_mutex_lock(&mu);
    int64_t start = tld_mono_ns();
    int rc;
    do
        rc = tld_cond_wait_until(&c, &mu, start + 50000000LL);
    while (rc == 0);
    int64_t took = tld_mono_ns() - start;
    pthread_mutex_unlock(&mu);
    assert_int_equal(rc, TLD_ETIMEOUT);
    /* it waited until the deadline and not (much) longer: a wall-clock based wait on a
     * monotonic deadline would return at once or hang for years */
    assert_true(took >= 50000000LL);
    assert_true(took < 2000000000LL);
    /* a deadline already passed returns at once */
    pthread_mutex_lock(&mu);
    assert_int_equal(tld_cond_wait_until(&c, &mu, tld_mono_ns() - 1000), TLD_ETIMEOUT);
    pthread_mutex_unlock(&mu);
    pthread_cond_destroy(&c);
}

struct waker {
    pthread_mutex_t mu;
    pthread_cond_t c;
    bool flag;
};

static void *wake(void *arg)
{
    struct waker *w = arg;
    pthread_mutex_lock(&w->mu);
    w->flag = true;
    pthread_cond_signal(&w->c);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void cond_wait_wakes_before_deadline(void **state)
{
    struct waker w = {.mu = PTHREAD_MUTEX_INITIALIZER};
    assert_int_equal(tld_cond_init(&w.c), 0);
    int64_t start = tld_mono_ns();
    int64_t until = start + 30000000000LL;
    pthread_mutex_lock(&w.mu);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, wake, &w), 0);
    int rc = 0;
    while (!w.flag && rc == 0)
        rc = tld_cond_wait_until(&w.c, &w.mu, until);
    pthread_mutex_unlock(&w.mu);
    pthread_join(t, NULL);
    assert_int_equal(rc, 0);
    assert_true(w.flag);
    assert_true(tld_mono_ns() - start < 10000000000LL);
    /* no deadline: woken by the signal alone */
    w.flag = false;
    pthread_mutex_lock(&w.mu);
    assert_int_equal(pthread_create(&t, NULL, wake, &w), 0);
    while (!w.flag)
        assert_int_equal(tld_cond_wait_until(&w.c, &w.mu, TLD_DEADLINE_NONE), 0);
    pthread_mutex_unlock(&w.mu);
    pthread_join(t, NULL);
    pthread_cond_destroy(&w.c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(deadline_math),
        cmocka_unit_test(cond_wait_expires),
        cmocka_unit_test(cond_wait_wakes_before_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
