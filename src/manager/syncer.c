/*
 * Journal syncer (see syncer.h). Requests only raise a target; the thread syncs to the highest
 * one it has seen, so requests made while a sync runs are served together by the next one.
 */
#include "manager/syncer.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "common/err.h"

struct tld_syncer {
    struct tld_journal *j;
    void (*done)(void *ctx);
    void *ctx;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t want; /* highest index asked for */
    uint64_t failures;
    bool stop;
};

static void *run(void *arg)
{
    struct tld_syncer *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->stop && s->want <= tld_journal_synced(s->j))
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->stop)
            break;
        uint64_t want = s->want;
        pthread_mutex_unlock(&s->mu);
        int rc = tld_journal_sync(s->j, want);
        pthread_mutex_lock(&s->mu);
        if (rc) {
            s->failures++;
            /* Not retried by itself: the waiting sessions are closed and their agents resend,
             * and the next request tries again. */
            if (s->want == want)
                s->want = 0;
        }
        pthread_mutex_unlock(&s->mu);
        s->done(s->ctx);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int tld_syncer_new(struct tld_journal *j, void (*done)(void *ctx), void *ctx,
                   struct tld_syncer **out)
{
    *out = NULL;
    struct tld_syncer *s = calloc(1, sizeof *s);
    if (!s)
        return TLD_ENOMEM;
    *s = (struct tld_syncer){.j = j, .done = done, .ctx = ctx};
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (pthread_create(&s->thread, NULL, run, s) != 0) {
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return TLD_EIO;
    }
    *out = s;
    return 0;
}

void tld_syncer_request(struct tld_syncer *s, uint64_t index)
{
    pthread_mutex_lock(&s->mu);
    if (index > s->want) {
        s->want = index;
        pthread_cond_signal(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
}

uint64_t tld_syncer_failures(struct tld_syncer *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t n = s->failures;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void tld_syncer_free(struct tld_syncer *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
