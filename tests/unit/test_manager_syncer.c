/*
 * Unit tests for the receiver's journal syncer: a request returns at once and the records are
 * durable when `done` runs; requests made while a sync runs are served by a later one; nothing
 * runs after free.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "common/deadline.h"
#include "common/err.h"
#include "manager/journal.h"
#include "manager/syncer.h"

struct fx {
    char dir[256];
    struct tld_log log;
    struct tld_journal *j;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned done;
    uint64_t durable_at_done; /* the journal's synced index seen by the last `done` */
};

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(p);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/tld-test-syncer-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    tld_log_init(&f->log, "test", stderr, TLD_LOG_ERROR + 1);
    struct tld_journal_opts o = {f->dir, 16u << 20, 0, 64 * 1024, &f->log};
    assert_int_equal(tld_journal_open(&o, &f->j), 0);
    pthread_mutex_init(&f->mu, NULL);
    tld_cond_init(&f->cv);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    tld_journal_close(f->j);
    tld_log_fini(&f->log);
    nftw(f->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(f);
    return 0;
}

static void on_done(void *ctx)
{
    struct fx *f = ctx;
    pthread_mutex_lock(&f->mu);
    f->done++;
    f->durable_at_done = tld_journal_synced(f->j);
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

/* Wait until `done` ran with at least `index` durable (5 s at most). */
static void wait_durable(struct fx *f, uint64_t index)
{
    int64_t until = tld_deadline_in(5000);
    pthread_mutex_lock(&f->mu);
    while (f->durable_at_done < index)
        if (tld_cond_wait_until(&f->cv, &f->mu, until) != 0)
            break;
    uint64_t got = f->durable_at_done;
    pthread_mutex_unlock(&f->mu);
    assert_true(got >= index);
}

static uint64_t append(struct fx *f, unsigned agent, uint64_t seq)
{
    struct tld_journal_entry e = {agent, 7, seq, 1, TLD_SV_LIT("10.0.0.1"), TLD_SV_LIT("event")};
    uint64_t sync_to;
    unsigned dups;
    assert_int_equal(tld_journal_append(f->j, &e, 1, 0, &sync_to, &dups), 0);
    return sync_to;
}

static void request_makes_durable_then_calls_done(void **state)
{
    struct fx *f = *state;
    struct tld_syncer *s;
    assert_int_equal(tld_syncer_new(f->j, on_done, f, &s), 0);
    uint64_t last = 0;
    for (uint64_t seq = 1; seq <= 3; seq++)
        last = append(f, 1, seq);
    assert_int_equal(tld_journal_synced(f->j), 0);
    tld_syncer_request(s, last);
    wait_durable(f, last);
    /* Many requests in a row, each for a later record: the last one is covered in the end. */
    for (uint64_t seq = 4; seq <= 200; seq++)
        tld_syncer_request(s, last = append(f, 1, seq));
    wait_durable(f, last);
    assert_int_equal(tld_syncer_failures(s), 0);
    /* A request for what is already durable starts no sync. */
    pthread_mutex_lock(&f->mu);
    unsigned before = f->done;
    pthread_mutex_unlock(&f->mu);
    tld_syncer_request(s, 2);
    tld_syncer_free(s);
    pthread_mutex_lock(&f->mu);
    assert_int_equal(f->done, before);
    pthread_mutex_unlock(&f->mu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(request_makes_durable_then_calls_done, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
